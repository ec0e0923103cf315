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
