//! Real Rekor v2 checkpoints and inclusion proofs from the sigstore-conformance bundles.
//!
//! Reads `$SIGNET_VECTORS` or `../shared/vectors` beside the workspace; skips with one line when
//! neither exists. Vector files are read in place, never copied into the repository.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;
use signet_crypto::PublicKey;
use signet_tlog::{
    leaf_hash, rekor_log_id, verify_checkpoint, verify_inclusion, CheckpointError, Hash, NoteError,
    NoteVerifier, ProofError,
};

fn vectors_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors")));
    dir.is_dir().then_some(dir)
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().expect("a base64 string"))
        .expect("valid base64")
}

fn num(v: &Value) -> u64 {
    v.as_str().expect("an int64 string").parse().expect("a decimal")
}

/// What a case's checkpoint and inclusion proof give.
#[derive(Debug)]
#[allow(dead_code)] // the errors are read through Debug in assertion messages
enum Outcome {
    Verified,
    Checkpoint(CheckpointError),
    Proof(ProofError),
    NoProof,
}

fn run_case(dir: &Path) -> Outcome {
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let root: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("trusted_root.json")).unwrap()).unwrap();
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let log_id = b64(&entry["logId"]["keyId"]);
    let tlog = root["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| b64(&t["logId"]["keyId"]) == log_id)
        .expect("the entry's log is in the trusted root");
    let base_url = tlog["baseUrl"].as_str().unwrap();
    let origin = base_url
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let key = PublicKey::from_spki_der(&b64(&tlog["publicKey"]["rawBytes"])).unwrap();
    assert_eq!(
        rekor_log_id(origin, &key).to_vec(),
        log_id,
        "{}: logId.keyId is the note key hash of {origin}",
        dir.display()
    );
    let verifier = NoteVerifier::new(origin, key).unwrap();

    let proof = &entry["inclusionProof"];
    if proof.is_null() {
        return Outcome::NoProof;
    }
    let envelope = proof["checkpoint"]["envelope"].as_str().unwrap();
    let checkpoint = match verify_checkpoint(envelope, origin, &[verifier]) {
        Ok(c) => c,
        Err(e) => return Outcome::Checkpoint(e),
    };
    assert_eq!(checkpoint.size, num(&proof["treeSize"]), "{}", dir.display());
    assert_eq!(
        checkpoint.root_hash.to_vec(),
        b64(&proof["rootHash"]),
        "{}",
        dir.display()
    );
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h).try_into().unwrap())
        .collect();
    let leaf = leaf_hash(&b64(&entry["canonicalizedBody"]));
    match verify_inclusion(
        &leaf,
        num(&proof["logIndex"]),
        checkpoint.size,
        &hashes,
        &checkpoint.root_hash,
    ) {
        Ok(()) => Outcome::Verified,
        Err(e) => Outcome::Proof(e),
    }
}

#[test]
fn rekor_v2_conformance_checkpoints() {
    let Some(root) = vectors_dir() else {
        println!("skipped: no test vectors (set SIGNET_VECTORS or add ../shared/vectors)");
        return;
    };
    let dir = root.join("sigstore-conformance/bundle-verify");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("rekor2-"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no rekor2-* cases in {}", dir.display());
    let (mut passed, mut failed_as_expected) = (0, 0);
    for name in &names {
        let outcome = run_case(&dir.join(name));
        if !name.ends_with("_fail") {
            assert!(matches!(outcome, Outcome::Verified), "{name}: {outcome:?}");
            passed += 1;
            continue;
        }
        if !name.starts_with("rekor2-checkpoint-") {
            // These fail for reasons outside the checkpoint (signatures, timestamps, ...).
            continue;
        }
        let ok = match name.as_str() {
            "rekor2-checkpoint-missing-log-signature_fail" => matches!(
                outcome,
                Outcome::Checkpoint(CheckpointError::Note(NoteError::NoSignatures))
            ),
            "rekor2-checkpoint-missing-origin_fail"
            | "rekor2-checkpoint-missing-root-hash_fail"
            | "rekor2-checkpoint-missing-size_fail" => matches!(
                outcome,
                Outcome::Checkpoint(CheckpointError::MissingLines { got: 2 })
            ),
            "rekor2-checkpoint-no-matching-signature_fail" => matches!(
                outcome,
                Outcome::Checkpoint(CheckpointError::OriginMismatch { .. })
            ),
            _ => matches!(outcome, Outcome::Checkpoint(_) | Outcome::Proof(_)),
        };
        assert!(ok, "{name}: unexpected outcome {outcome:?}");
        failed_as_expected += 1;
    }
    println!("rekor v2 vectors: {passed} verified, {failed_as_expected} checkpoint failures as expected");
    assert!(passed >= 8, "only {passed} valid cases verified");
    assert!(
        failed_as_expected >= 5,
        "only {failed_as_expected} checkpoint failures checked"
    );
}

/// The staging Rekor v2 log `log2025-alpha3` checkpoint in `rekor2-dsse-happy-path` carries
/// cosignatures by three independent witnesses of the witness network (Geomys's Sunlight,
/// Mullvad's and TrustFabric's omniwitness): signet's `cosignature/v1` verifier must accept each
/// with the witness's published vkey, read the same timestamp its bytes hold, and refuse it
/// when the checkpoint is changed.
#[test]
fn staging_witness_cosignatures_verify() {
    use signet_tlog::{CosignatureVerifier, Note};
    // Published verifier keys (witness-network.org staging list; the log's own from its
    // operator), public constants rather than vector data.
    const LOG: &str =
        "log2025-alpha3.rekor.sigstage.dev+d3d3a70c+AZQ93VXPMmj9uZj7U/7CefQ9yy8RgYFv6mKzOseipjqp";
    const WITNESSES: [&str; 3] = [
        "witness.navigli.sunlight.geomys.org+a3e00fe2+BNy/co4C1Hn1p+INwJrfUlgz7W55dSZReusH/GhUhJ/G",
        "witness.stagemole.eu+67f7aea0+BEqSG3yu9YrmcM3BHvQYTxwFj3uSWakQepafafpUqklv",
        "staging.witness.transparency.goog/ring-any-bells+2e1a8dc9+BG5JTpLc3FJtwzgh1Uv+Qelz9qeOH2bfWjS1s0s+y4rL",
    ];
    let Some(dir) = vectors_dir() else {
        println!("skipped: no test vectors (set SIGNET_VECTORS or add ../shared/vectors)");
        return;
    };
    let path = dir.join("sigstore-conformance/bundle-verify/rekor2-dsse-happy-path/bundle.sigstore.json");
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let envelope = bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
        ["envelope"]
        .as_str()
        .unwrap();
    let log = NoteVerifier::from_vkey(LOG).unwrap();
    verify_checkpoint(envelope, "log2025-alpha3.rekor.sigstage.dev", &[log]).unwrap();
    let note = Note::parse(envelope).unwrap();
    for vkey in WITNESSES {
        let witness = CosignatureVerifier::from_vkey(vkey).unwrap();
        let sig = note
            .signatures()
            .iter()
            .find(|s| witness.is_signer_of(s))
            .unwrap_or_else(|| panic!("no cosignature by {vkey}"));
        let timestamp = witness.verify(note.text(), sig).unwrap();
        assert_eq!(timestamp.to_be_bytes(), sig.signature[..8]);
        assert!(timestamp > 1_750_000_000, "{vkey}: timestamp {timestamp}");
        let other = note.text().replace("4026479\n", "4026478\n");
        assert!(
            witness.verify(&other, sig).is_err(),
            "{vkey} verified a changed checkpoint"
        );
    }
}
