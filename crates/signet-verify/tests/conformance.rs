//! The sigstore-conformance `bundle-verify` suite as the judge: every case folder is verified
//! twice (artifact bytes, then its `sha256:` digest) and must succeed exactly when its name does
//! not end in `_fail`. Inputs are read in place from `../shared/vectors` (or
//! `$SIGNET_VECTORS`); nothing is copied into the repository.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use signet_crypto::PublicKey;
use signet_formats::trust::TrustedRoot;
use signet_verify::{
    verify_json, Artifact, ArtifactDigest, IdentityPolicy, Policy, PreparedTrust, SignerPolicy,
    VerificationError, Verifier,
};

/// The identity and issuer the conformance harness uses when a case gives none
/// (sigstore-conformance `test/client.py`).
const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn vectors_dir() -> PathBuf {
    match std::env::var_os("SIGNET_VECTORS") {
        Some(v) => PathBuf::from(v),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Case {
    name: String,
    bundle: Vec<u8>,
    trust: PreparedTrust,
    /// Whether the case brings its own trusted root (else the public instance's).
    own_root: bool,
    artifact: Vec<u8>,
    signer: SignerPolicy,
}

fn load_case(dir: &Path, suite: &Path, public_root: &PreparedTrust) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let read = |f: &str| std::fs::read(dir.join(f)).ok();
    let bundle = read("bundle.sigstore.json").expect("bundle.sigstore.json");
    let own_root = dir.join("trusted_root.json").is_file();
    let trust = match read("trusted_root.json") {
        Some(json) => PreparedTrust::from_trusted_root(
            &TrustedRoot::from_json(&json).unwrap_or_else(|e| panic!("{name}: trusted_root.json: {e}")),
        ),
        None => public_root.clone(),
    };
    let artifact = read("artifact").unwrap_or_else(|| std::fs::read(suite.join("a.txt")).expect("a.txt"));
    let text = |f: &str| read(f).map(|b| String::from_utf8(b).unwrap().trim().to_string());
    let signer = match read("key.pub") {
        // A key that does not parse (managed-key-wrong-key_fail) is the verifier's refusal too.
        Some(pem) => match PublicKey::from_pem(std::str::from_utf8(&pem).unwrap()) {
            Ok(key) => SignerPolicy::PublicKey(key),
            Err(_) => SignerPolicy::Identity(IdentityPolicy::exact("unparseable key.pub", "-")),
        },
        None => SignerPolicy::Identity(IdentityPolicy::exact(
            text("identity").unwrap_or_else(|| DEFAULT_IDENTITY.into()),
            text("issuer").unwrap_or_else(|| DEFAULT_ISSUER.into()),
        )),
    };
    Case {
        name,
        bundle,
        trust,
        own_root,
        artifact,
        signer,
    }
}

fn run(case: &Case, artifact: Artifact<'_>) -> Result<(), VerificationError> {
    let policy = Policy::new(artifact, case.signer.clone());
    verify_json(&case.bundle, &policy, &case.trust, now()).map(|_| ())
}

/// The same through a `Verifier` whose memos other cases (and this one, twice) have filled:
/// the outcome must not change.
fn run_cached(verifier: &Verifier, case: &Case, artifact: Artifact<'_>) -> Result<(), String> {
    let policy = Policy::new(artifact, case.signer.clone());
    let first = verifier.verify_json(&case.bundle, &policy, now()).map(|_| ());
    let second = verifier.verify_json(&case.bundle, &policy, now()).map(|_| ());
    match (first, second) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(a), Err(b)) if a.to_string() == b.to_string() => Err(a.to_string()),
        (a, b) => panic!(
            "{}: a cached second run changed the outcome: {a:?} then {b:?}",
            case.name
        ),
    }
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let vectors = vectors_dir();
    let suite = vectors.join("sigstore-conformance/bundle-verify");
    if !suite.is_dir() {
        println!(
            "SKIP sigstore-conformance bundle-verify: {} not found",
            suite.display()
        );
        return;
    }
    let public_root = PreparedTrust::from_trusted_root(
        &TrustedRoot::from_json(&std::fs::read(vectors.join("public-good/trusted_root.json")).unwrap())
            .unwrap(),
    );
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases in {}", suite.display());

    // One verifier for every case on the public root, so memos from happy paths are warm when
    // the crafted failures (same certificates, same logs) come.
    let shared = Verifier::new(public_root.clone());
    let mut wrong = Vec::new();
    let mut passed = 0;
    let mut errors = std::collections::BTreeMap::new();
    for dir in &dirs {
        let case = load_case(dir, &suite, &public_root);
        let expect_ok = !case.name.ends_with("_fail");
        let digest = ArtifactDigest::sha256(signet_crypto::sha256(&case.artifact));
        for (mode, artifact) in [
            ("bytes", Artifact::Bytes(&case.artifact)),
            ("digest", Artifact::Digest(digest)),
        ] {
            let own;
            let verifier = if case.own_root {
                own = Verifier::new(case.trust.clone());
                &own
            } else {
                &shared
            };
            let cached = run_cached(verifier, &case, artifact.clone());
            let result = run(&case, artifact);
            if let (Err(one_shot), Err(cached)) = (&result, &cached) {
                assert_eq!(
                    &one_shot.to_string(),
                    cached,
                    "{}: the Verifier refused for another reason",
                    case.name
                );
            }
            assert_eq!(
                result.is_ok(),
                cached.is_ok(),
                "{} ({mode}): Verifier and verify disagree",
                case.name
            );
            let ok = result.is_ok() == expect_ok;
            let outcome = match &result {
                Ok(()) => "verified".to_string(),
                Err(e) => format!("refused: {e}"),
            };
            println!(
                "{} {:<60} {:<6} {}",
                if ok { "ok  " } else { "FAIL" },
                case.name,
                mode,
                outcome
            );
            if ok {
                passed += 1;
            } else {
                wrong.push(format!("{} ({mode}): {outcome}", case.name));
            }
            if let Err(e) = result {
                errors.insert(format!("{}/{mode}", case.name), e);
            }
        }
    }
    println!("{passed} of {} runs as expected", dirs.len() * 2);
    assert!(
        wrong.is_empty(),
        "cases that went the wrong way:\n{}",
        wrong.join("\n")
    );

    // Fail cases must fail for the reason they were built for, not by accident.
    let reason = |case: &str| {
        errors
            .get(&format!("{case}/bytes"))
            .unwrap_or_else(|| panic!("{case} did not fail"))
    };
    use signet_verify::certificate::CertificateError;
    use signet_verify::tlog::TlogError;
    type Plausible = fn(&VerificationError) -> bool;
    let checks: Vec<(&str, Plausible)> = vec![
        ("bundle-malformed-json_fail", |e| {
            matches!(e, VerificationError::Bundle(_))
        }),
        ("bundle-unknown-version_fail", |e| {
            matches!(e, VerificationError::Bundle(_))
        }),
        ("bundle-negative-log-index_fail", |e| {
            matches!(e, VerificationError::Bundle(_))
        }),
        ("bundle-invalid-base64-signature_fail", |e| {
            matches!(e, VerificationError::Bundle(_))
        }),
        ("bundle-with-root-cert_fail", |e| {
            matches!(
                e,
                VerificationError::Certificate(CertificateError::RootInBundleChain { .. })
            )
        }),
        ("set-invalid-signature_fail", |e| {
            matches!(
                e,
                VerificationError::Tlog {
                    source: TlogError::InvalidSignedEntryTimestamp { .. },
                    ..
                }
            )
        }),
        ("checkpoint-wrong-roothash_fail", |e| {
            matches!(
                e,
                VerificationError::Tlog {
                    source: TlogError::CheckpointMismatch { .. },
                    ..
                }
            )
        }),
        ("inclusion-proof-corrupted-hash_fail", |e| {
            matches!(
                e,
                VerificationError::Tlog {
                    source: TlogError::InclusionProof { .. },
                    ..
                }
            )
        }),
        // The log recorded the original signature, so the entry comparison refuses first.
        ("signature-mismatch_fail", |e| {
            matches!(
                e,
                VerificationError::EntryBody { .. } | VerificationError::Signature(_)
            )
        }),
        ("wrong-hashedrekord-entry_fail", |e| {
            matches!(
                e,
                VerificationError::EntryBody { .. } | VerificationError::Tlog { .. }
            )
        }),
        ("rekor2-no-timestamp_fail", |e| {
            matches!(e, VerificationError::SigningTime(_))
        }),
        // A v0.3 bundle's entries must carry a proof: refused when parsed.
        ("rekor2-no-inclusion-proof_fail", |e| {
            matches!(
                e,
                VerificationError::Bundle(_)
                    | VerificationError::Tlog {
                        source: TlogError::MissingInclusionProof { .. },
                        ..
                    }
            )
        }),
        ("rekor2-timestamp-with-incorrect-time_fail", |e| {
            matches!(
                e,
                VerificationError::Certificate(CertificateError::NotValidAt { .. })
            )
        }),
        ("trust-root-tlog-missing-validity-start_fail", |e| {
            matches!(
                e,
                VerificationError::Tlog {
                    source: TlogError::LogKeyNotValid { .. },
                    ..
                }
            )
        }),
        ("intoto-tsa-timestamp-outside-cert-validity_fail", |e| {
            matches!(
                e,
                VerificationError::Certificate(CertificateError::NotValidAt { .. })
            )
        }),
        // A valid bundle for another file: reported as a wrong file.
        ("wrong-material_fail", |e| {
            matches!(
                e,
                VerificationError::Artifact(signet_verify::ArtifactError::DigestMismatch { .. })
            )
        }),
        ("managed-key-no-key_fail", |e| {
            matches!(e, VerificationError::Material(_))
        }),
        ("dsse-mismatch-sig_fail", |e| {
            matches!(e, VerificationError::EntryBody { .. })
        }),
        ("message-digest-mismatch_fail", |e| {
            matches!(
                e,
                VerificationError::EntryBody { .. } | VerificationError::Signature(_)
            )
        }),
    ];
    let mut implausible = Vec::new();
    for (case, plausible) in checks {
        let e = reason(case);
        if !plausible(e) {
            implausible.push(format!("{case}: {e:?}"));
        }
    }
    assert!(
        implausible.is_empty(),
        "fail cases refused for an unexpected reason:\n{}",
        implausible.join("\n")
    );
}
