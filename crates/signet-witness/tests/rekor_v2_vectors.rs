//! The witness on the public Sigstore staging instance's Rekor v2 checkpoints, as the
//! sigstore-conformance bundles carry them (log `log2025-alpha1.rekor.sigstage.dev`,
//! Ed25519): checkpoints with foreign witness cosignatures and ECDSA signatures under the
//! log's name are accepted on the log's own signature; three consecutive checkpoints (tree
//! sizes 29473, 29474, 29475, from three bundles) are cosigned in sequence with consistency
//! proofs rebuilt from the bundles' inclusion proofs; a checkpoint it cannot be given a
//! proof for is refused (422) without moving the witness.
//!
//! Reads `$SIGNET_VECTORS` or `../shared/vectors` beside the workspace; skips with one line
//! when neither exists. Vector files are read in place, never copied into the repository.

use std::collections::HashMap;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_tlog::{
    leaf_hash, node_hash, Checkpoint, CosignatureSigner, Hash, HashReader, NoteVerifier, ProofError, Prover,
};
use signet_witness::sqlite::SqliteStore;
use signet_witness::{AddCheckpointRequest, AddError, Logs, Witness, WitnessService};

const ORIGIN: &str = "log2025-alpha1.rekor.sigstage.dev";

fn vectors_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors")));
    let dir = dir.join("sigstore-conformance/bundle-verify");
    dir.is_dir().then_some(dir)
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().expect("base64 string"))
        .expect("base64")
}

/// A case's bundle and trusted root.
struct Case {
    bundle: Value,
    root: Value,
}

impl Case {
    fn read(dir: &std::path::Path, name: &str) -> Case {
        let read = |f: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(dir.join(name).join(f)).unwrap()).unwrap()
        };
        Case {
            bundle: read("bundle.sigstore.json"),
            root: read("trusted_root.json"),
        }
    }
    fn entry(&self) -> &Value {
        &self.bundle["verificationMaterial"]["tlogEntries"][0]
    }
    fn checkpoint(&self) -> String {
        self.entry()["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn size(&self) -> u64 {
        Checkpoint::from_note_unverified(&self.checkpoint()).unwrap().size
    }
    /// The log's verifier from the trusted root (its `baseUrl` host is the origin).
    fn log_key(&self) -> NoteVerifier {
        let tlog = self.root["tlogs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["baseUrl"] == format!("https://{ORIGIN}"))
            .expect("the log is in the trusted root");
        assert_eq!(tlog["publicKey"]["keyDetails"], "PKIX_ED25519");
        let key = PublicKey::from_spki_der(&b64(&tlog["publicKey"]["rawBytes"])).unwrap();
        NoteVerifier::new(ORIGIN, key).unwrap()
    }

    /// The consistency proof from `size - 1` to `size`, rebuilt from this entry, which is the
    /// last leaf of its tree: the inclusion proof of leaf `n-1` in a tree of `n` leaves holds
    /// exactly the complete subtrees of the tree of `n-1` leaves (one per set bit of `n-1`,
    /// lowest first), and the leaf's own hash is the canonicalized body's.
    fn proof_from_previous_size(&self) -> Vec<Hash> {
        let entry = self.entry();
        let proof = &entry["inclusionProof"];
        let n: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
        let index: u64 = proof["logIndex"].as_str().unwrap().parse().unwrap();
        assert_eq!(index, n - 1, "the entry is the last leaf of its checkpoint");
        let mut known = HashMap::new();
        known.insert((0u8, index), leaf_hash(&b64(&entry["canonicalizedBody"])));
        let mut hashes = proof["hashes"].as_array().unwrap().iter();
        for level in 0..64u8 {
            if (n - 1) & (1 << level) != 0 {
                let start = (n - 1) >> (level + 1) << (level + 1);
                let h: Hash = b64(hashes.next().unwrap()).try_into().unwrap();
                known.insert((level, start >> level), h);
            }
        }
        assert!(
            hashes.next().is_none(),
            "inclusion proof of the last leaf has popcount(n-1) hashes"
        );
        Prover::new(Nodes(known), n)
            .unwrap()
            .consistency_proof(n - 1)
            .unwrap()
    }
}

/// Subtree hashes from a set of known nodes, parents hashed from their children.
struct Nodes(HashMap<(u8, u64), Hash>);

impl HashReader for Nodes {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        if let Some(h) = self.0.get(&(level, index)) {
            return Ok(*h);
        }
        if level == 0 {
            return Err(ProofError::NodeUnavailable {
                level,
                index,
                reason: "not in the bundles".into(),
            });
        }
        Ok(node_hash(
            &self.node(level - 1, 2 * index)?,
            &self.node(level - 1, 2 * index + 1)?,
        ))
    }
}

fn service(log: NoteVerifier) -> (tempfile::TempDir, WitnessService) {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&tmp.path().join("w.db"), true).unwrap();
    let mut logs = Logs::default();
    logs.add(ORIGIN, log).unwrap();
    let signer =
        CosignatureSigner::new("witness.test", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    (
        tmp,
        WitnessService::new(Witness::new(signer, logs), Box::new(store)),
    )
}

fn body(old: u64, proof: Vec<Hash>, checkpoint: String) -> Vec<u8> {
    AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint,
    }
    .to_bytes()
}

const NOW: u64 = 1_760_000_000;

#[test]
fn consecutive_staging_checkpoints_are_cosigned_with_proofs_from_the_bundles() {
    let Some(dir) = vectors_dir() else {
        println!("skipped: no test vectors (set SIGNET_VECTORS or add ../shared/vectors)");
        return;
    };
    let cases: Vec<Case> = [
        "rekor2-timestamp-without-embedded-cert",
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
    ]
    .iter()
    .map(|name| Case::read(&dir, name))
    .collect();
    assert_eq!(
        cases.iter().map(Case::size).collect::<Vec<_>>(),
        [29473, 29474, 29475]
    );
    let (_tmp, witness) = service(cases[0].log_key());
    witness
        .add_checkpoint(&body(0, vec![], cases[0].checkpoint()), NOW)
        .unwrap();
    for pair in cases.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let proof = new.proof_from_previous_size();
        // The proof leads from the previous bundle's checkpoint: the witness checks that.
        witness
            .add_checkpoint(&body(old.size(), proof, new.checkpoint()), NOW)
            .unwrap_or_else(|e| panic!("{} → {}: {e}", old.size(), new.size()));
    }
    // A later checkpoint of the same log, with no proof it could be given: refused, and the
    // witness stays at 29475.
    let later = Case::read(&dir, "rekor2-timestamp-with-expired-cert-chain");
    let err = witness
        .add_checkpoint(&body(29475, vec![[0; 32]; 4], later.checkpoint()), NOW)
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    let err = witness
        .add_checkpoint(&body(0, vec![], later.checkpoint()), NOW)
        .unwrap_err();
    assert!(matches!(err, AddError::Conflict { latest: 29475, .. }), "{err}");
}

#[test]
fn foreign_cosignatures_and_unknown_same_name_keys_are_ignored() {
    let Some(dir) = vectors_dir() else {
        println!("skipped: no test vectors (set SIGNET_VECTORS or add ../shared/vectors)");
        return;
    };
    let happy = Case::read(&dir, "rekor2-happy-path");
    let (_tmp, witness) = service(happy.log_key());
    witness
        .add_checkpoint(&body(0, vec![], happy.checkpoint()), NOW)
        .unwrap();
    // The same tree head with other witnesses' cosignatures, a second (ECDSA) signature under
    // the log's name, or the log's signature second: each is the log's checkpoint.
    for name in [
        "rekor2-checkpoint-cosigned",
        "rekor2-checkpoint-multiple-cosigs",
        "rekor2-checkpoint-two-sigs-from-origin",
        "rekor2-checkpoint-two-sigs-cosigned",
        "rekor2-checkpoint-origin-not-first",
    ] {
        let case = Case::read(&dir, name);
        assert_eq!(case.size(), 736);
        witness
            .add_checkpoint(&body(736, vec![], case.checkpoint()), NOW)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Only a foreign witness's cosignature, not the log's: 403.
    let cosigned = Case::read(&dir, "rekor2-checkpoint-cosigned").checkpoint();
    let foreign_only: String = cosigned
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(&format!("\u{2014} {ORIGIN} ")))
        .collect();
    let err = witness
        .add_checkpoint(&body(736, vec![], foreign_only), NOW)
        .unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    // No signature line at all (not a signed note) and no origin line: 400. Another
    // origin: 404.
    for (name, status) in [
        ("rekor2-checkpoint-missing-log-signature_fail", 400),
        ("rekor2-checkpoint-no-matching-signature_fail", 404),
        ("rekor2-checkpoint-missing-origin_fail", 400),
    ] {
        let case = Case::read(&dir, name);
        let err = witness
            .add_checkpoint(&body(736, vec![], case.checkpoint()), NOW)
            .unwrap_err();
        assert_eq!(err.status(), status, "{name}: {err}");
    }
}
