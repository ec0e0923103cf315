//! The RFC 3161 timestamps of sigstore-conformance's bundle-verify cases, checked against
//! each case's trusted root.
//!
//! Classification (cases carrying `rfc3161Timestamps`):
//! - `TIMESTAMP_REJECTED`: the case fails because of the timestamp or its authority, so
//!   `verify_timestamp` itself must refuse it.
//! - `SIGNING_CERT_WINDOW`: the timestamp is a valid token, but its genTime lies outside the
//!   *signing* (Fulcio) certificate's lifetime. `verify_timestamp` accepts the token; the test
//!   asserts genTime falls outside that certificate's validity, which is how the bundle
//!   verifier rejects it.
//! - Every other case (valid ones, and `_fail` ones failing for reasons unrelated to the
//!   timestamp: inclusion proofs, checkpoints, SETs, DSSE, keys, trust-root tlog entries) must
//!   have a timestamp that verifies.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use signet_formats::trust::TrustedRoot;
use signet_x509::{certificate_validity, verify_timestamp, TimestampError, TsaTrust};

const TIMESTAMP_REJECTED: &[&str] = &[
    "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
    "rekor2-timestamp-outside-tsa-cert-validity_fail",
    "rekor2-timestamp-payload-mismatch_fail",
    "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
    "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
];

const SIGNING_CERT_WINDOW: &[&str] = &[
    "intoto-tsa-timestamp-outside-cert-validity_fail",
    "rekor2-timestamp-with-incorrect-time_fail",
];

fn vectors() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors").into());
    let dir = dir.join("sigstore-conformance/bundle-verify");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "skipping: no conformance vectors at {} (set SIGNET_VECTORS)",
            dir.display()
        );
        None
    }
}

/// Base64 as the bundles hold it (some wrap lines).
fn b64(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(clean).unwrap()
}

struct Case {
    name: String,
    timestamps: Vec<Vec<u8>>,
    signature: Vec<u8>,
    signing_cert: Option<Vec<u8>>,
    authorities: Vec<TsaTrust>,
}

fn load(dir: &std::path::Path) -> Option<Case> {
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).ok()?).ok()?;
    let vm = &bundle["verificationMaterial"];
    let timestamps: Vec<Vec<u8>> = vm["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()?
        .iter()
        .filter_map(|t| t["signedTimestamp"].as_str())
        .map(b64)
        .collect();
    if timestamps.is_empty() {
        return None;
    }
    let signature = bundle["messageSignature"]["signature"]
        .as_str()
        .or_else(|| bundle["dsseEnvelope"]["signatures"][0]["sig"].as_str())?;
    let signing_cert = vm["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
        .map(b64);
    let root: TrustedRoot =
        serde_json::from_slice(&std::fs::read(dir.join("trusted_root.json")).ok()?).unwrap();
    Some(Case {
        name: dir.file_name()?.to_string_lossy().into_owned(),
        timestamps,
        signature: b64(signature),
        signing_cert,
        authorities: TsaTrust::from_trusted_root(&root).unwrap(),
    })
}

#[test]
fn conformance_timestamps() {
    let Some(root) = vectors() else { return };
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let (mut accepted, mut rejected, mut window) = (0, 0, 0);
    for dir in dirs {
        let Some(case) = load(&dir) else { continue };
        let results: Vec<Result<_, TimestampError>> = case
            .timestamps
            .iter()
            .map(|t| verify_timestamp(t, &case.signature, &case.authorities))
            .collect();
        if TIMESTAMP_REJECTED.contains(&case.name.as_str()) {
            for r in &results {
                let err = r.as_ref().expect_err(&case.name);
                println!("{}: rejected: {err}", case.name);
            }
            rejected += 1;
        } else {
            for r in &results {
                let ok = r.as_ref().unwrap_or_else(|e| panic!("{}: {e}", case.name));
                if SIGNING_CERT_WINDOW.contains(&case.name.as_str()) {
                    let (nb, na) = certificate_validity(case.signing_cert.as_ref().unwrap()).unwrap();
                    assert!(
                        ok.gen_time < nb || ok.gen_time > na,
                        "{}: genTime inside the signing certificate's validity",
                        case.name
                    );
                }
            }
            if SIGNING_CERT_WINDOW.contains(&case.name.as_str()) {
                window += 1;
            } else {
                accepted += 1;
            }
        }
    }
    println!("accepted {accepted}, rejected {rejected}, outside signing cert {window}");
    assert_eq!(rejected, TIMESTAMP_REJECTED.len());
    assert_eq!(window, SIGNING_CERT_WINDOW.len());
    assert!(accepted >= 20, "only {accepted} accepted cases found");
}

/// The specific check each rejected case trips.
#[test]
fn conformance_rejections_name_the_failed_check() {
    let Some(root) = vectors() else { return };
    let check = |name: &str, pred: fn(&TimestampError) -> bool| {
        let case = load(&root.join(name)).unwrap();
        let err = verify_timestamp(&case.timestamps[0], &case.signature, &case.authorities).unwrap_err();
        assert!(pred(&err), "{name}: unexpected error {err:?}");
    };
    check("rekor2-timestamp-payload-mismatch_fail", |e| {
        matches!(e, TimestampError::ImprintMismatch { .. })
    });
    check("rekor2-timestamp-outside-trust-root-tsa-validity_fail", |e| {
        matches!(e, TimestampError::OutsideAuthorityValidity { .. })
    });
    check("rekor2-timestamp-outside-tsa-cert-validity_fail", |e| {
        matches!(e, TimestampError::OutsideCertificateValidity { .. })
    });
    check("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail", |e| {
        matches!(e, TimestampError::EmbeddedCertificateNotTrusted { .. })
    });
    check("rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail", |e| {
        matches!(
            e,
            TimestampError::Signature(_) | TimestampError::SignerIdentifierMismatch { .. }
        )
    });
}
