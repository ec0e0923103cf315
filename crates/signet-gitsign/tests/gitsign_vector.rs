//! A real commit signed by gitsign (offline mode, Rekor v1) against the public Sigstore
//! instance in June 2023, from `../shared/vectors/gitsign/offline.commit` (or
//! `$SIGNET_VECTORS/gitsign/`), verified with signet's built-in public-good trusted root: its
//! certificate expired ten minutes after signing, so time comes from the log entry.

use std::path::PathBuf;

use signet_formats::trust::TrustedRoot;
use signet_gitsign::{split_commit, verify, GitSignature, GitVerifyError, ObjectFormat};
use signet_verify::{IdentityPolicy, Matcher, PreparedTrust, SignerPolicy};

const IDENTITY: &str = "billy@chainguard.dev";
const ISSUER: &str = "https://accounts.google.com";
/// 2026-12-07: long after the certificate expired.
const NOW: i64 = 1_796_601_600;

fn commit() -> Option<Vec<u8>> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let path = dir.join("gitsign/offline.commit");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            println!(
                "skipped: no gitsign vector at {} (set SIGNET_VECTORS or add ../shared/vectors)",
                path.display()
            );
            None
        }
    }
}

fn trust() -> PreparedTrust {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../signet-client/trust/public-good/trusted_root.json");
    let root = TrustedRoot::from_json(&std::fs::read(path).unwrap()).unwrap();
    PreparedTrust::from_trusted_root(&root)
}

fn policy(identity: &str, issuer: &str) -> SignerPolicy {
    SignerPolicy::Identity(IdentityPolicy {
        subject_alternative_name: Matcher::Exact(identity.into()),
        issuer: Matcher::Exact(issuer.into()),
        extensions: Vec::new(),
    })
}

#[test]
fn gitsign_commit_verifies_for_its_signer_and_no_other() {
    let Some(raw) = commit() else { return };
    let object = split_commit(&raw, ObjectFormat::Sha1).unwrap();
    let trust = trust();
    let verified = verify(
        &object.payload,
        &object.signature,
        &policy(IDENTITY, ISSUER),
        &trust,
        NOW,
    )
    .unwrap();
    assert_eq!(verified.identity.san.value(), IDENTITY);
    // The time is the log's integration time (2023-06-05), not now.
    let at = verified.signed_at().unwrap();
    assert!((1_685_981_400..1_685_981_600).contains(&at), "{at}");
    assert_eq!(verified.verified.log_entries.len(), 1);

    let err = verify(
        &object.payload,
        &object.signature,
        &policy("mallory@example.com", ISSUER),
        &trust,
        NOW,
    )
    .unwrap_err();
    assert!(err.is_identity_mismatch() && err.is_bad_signature(), "{err}");
    let err = verify(
        &object.payload,
        &object.signature,
        &policy(IDENTITY, "https://github.com/login/oauth"),
        &trust,
        NOW,
    )
    .unwrap_err();
    assert!(err.is_identity_mismatch(), "{err}");
}

#[test]
fn any_changed_byte_of_the_commit_fails() {
    let Some(raw) = commit() else { return };
    let object = split_commit(&raw, ObjectFormat::Sha1).unwrap();
    let trust = trust();
    for i in (0..object.payload.len()).step_by(7) {
        let mut payload = object.payload.clone();
        payload[i] ^= 0x01;
        let err = verify(
            &payload,
            &object.signature,
            &policy(IDENTITY, ISSUER),
            &trust,
            NOW,
        )
        .unwrap_err();
        assert!(matches!(err, GitVerifyError::OtherContent), "byte {i}: {err}");
    }
}

#[test]
fn a_changed_signature_or_entry_fails() {
    let Some(raw) = commit() else { return };
    let object = split_commit(&raw, ObjectFormat::Sha1).unwrap();
    let sig = GitSignature::from_armored(&object.signature).unwrap();
    let trust = trust();
    let check = |s: GitSignature| {
        signet_gitsign::verify_parsed(&object.payload, s, &policy(IDENTITY, ISSUER), &trust, NOW)
    };
    check(sig.clone()).unwrap();

    let mut bad = sig.clone();
    let n = bad.signature.len();
    bad.signature[n - 3] ^= 1;
    assert!(check(bad).is_err());

    // An entry's integrated time moved: the signed entry timestamp no longer verifies.
    let mut entry = signet_gitsign::tle::decode(sig.tlog_entry.as_ref().unwrap()).unwrap();
    entry.integrated_time = entry.integrated_time.map(|t| t + 1);
    let mut moved = sig.clone();
    moved.tlog_entry = Some(signet_gitsign::tle::encode(&entry, false));
    assert!(check(moved).is_err());

    // No entry at all: nothing vouches for the time, and gitsign's offline format has one.
    let mut none = sig.clone();
    none.tlog_entry = None;
    assert!(matches!(check(none), Err(GitVerifyError::Bundle(_))));
}

#[test]
fn signet_reencodes_gitsign_der_byte_for_byte() {
    let Some(raw) = commit() else { return };
    let object = split_commit(&raw, ObjectFormat::Sha1).unwrap();
    let der = signet_gitsign::armor::dearmor(&object.signature).unwrap();
    let sig = GitSignature::from_der(&der).unwrap();
    assert_eq!(sig.to_der().unwrap(), der);
    assert!(sig.signed_attributes.covers(&object.payload));
    assert_eq!(sig.signed_attributes.signing_time(), Some(1_685_981_479));
}
