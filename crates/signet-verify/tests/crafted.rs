//! Crafted failures on real bundles: a good public-instance bundle, changed in one respect at a
//! time, must be refused by the check responsible. Reads the conformance vectors in place and
//! skips (one line) when they are absent.

use std::path::{Path, PathBuf};

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::bundle::Bundle;
use signet_formats::common::{TimeRange, Timestamp};
use signet_formats::trust::TrustedRoot;
use signet_verify::certificate::CertificateError;
use signet_verify::entry_body::BodyError;
use signet_verify::identity::IdentityError;
use signet_verify::tlog::TlogError;
use signet_verify::{
    verify, Artifact, ArtifactDigest, ArtifactError, IdentityPolicy, Matcher, Policy, PreparedTrust,
    SignerPolicy, VerificationError, VerifiedSigner,
};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";
const NOW: i64 = 1_780_000_000;

struct Fixture {
    suite: PathBuf,
    public: PreparedTrust,
    artifact: Vec<u8>,
}

fn fixture() -> Option<Fixture> {
    let vectors = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let suite = vectors.join("sigstore-conformance/bundle-verify");
    if !suite.is_dir() {
        println!("SKIP crafted bundle tests: {} not found", suite.display());
        return None;
    }
    let root = TrustedRoot::from_json(&std::fs::read(vectors.join("public-good/trusted_root.json")).unwrap())
        .unwrap();
    Some(Fixture {
        artifact: std::fs::read(suite.join("a.txt")).unwrap(),
        public: PreparedTrust::from_trusted_root(&root),
        suite,
    })
}

impl Fixture {
    fn bundle(&self, case: &str) -> Bundle {
        Bundle::from_json(&std::fs::read(self.suite.join(case).join("bundle.sigstore.json")).unwrap())
            .unwrap()
    }

    fn root(&self, case: &str) -> PreparedTrust {
        let json = std::fs::read(self.suite.join(case).join("trusted_root.json")).unwrap();
        PreparedTrust::from_trusted_root(&TrustedRoot::from_json(&json).unwrap())
    }

    fn verify(
        &self,
        bundle: &Bundle,
        signer: SignerPolicy,
        trust: &PreparedTrust,
    ) -> Result<(), VerificationError> {
        verify(
            bundle,
            &Policy::new(Artifact::Bytes(&self.artifact), signer),
            trust,
            NOW,
        )
        .map(|_| ())
    }
}

fn exact() -> SignerPolicy {
    SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, ISSUER))
}

#[test]
fn identity_policies() {
    let Some(f) = fixture() else { return };
    let b = f.bundle("happy-path-v0.3");
    f.verify(&b, exact(), &f.public).unwrap();

    let wrong_san = SignerPolicy::Identity(IdentityPolicy::exact("someone@example.com", ISSUER));
    assert!(matches!(
        f.verify(&b, wrong_san, &f.public),
        Err(VerificationError::Identity(
            IdentityError::SubjectAlternativeName { .. }
        ))
    ));
    let wrong_issuer = SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, "https://accounts.google.com"));
    assert!(matches!(
        f.verify(&b, wrong_issuer, &f.public),
        Err(VerificationError::Identity(IdentityError::Issuer { .. }))
    ));
    let regex = |san: &str| {
        SignerPolicy::Identity(IdentityPolicy {
            subject_alternative_name: Matcher::regex(san).unwrap(),
            issuer: Matcher::Exact(ISSUER.into()),
            extensions: vec![],
        })
    };
    f.verify(&b, regex("^https://github.com/sigstore-conformance/"), &f.public)
        .unwrap();
    assert!(matches!(
        f.verify(&b, regex("^https://github.com/someone-else/"), &f.public),
        Err(VerificationError::Identity(
            IdentityError::SubjectAlternativeName { .. }
        ))
    ));

    // The unsafe policy accepts any identity and reports the one it found.
    let policy = Policy::new(
        Artifact::Bytes(&f.artifact),
        SignerPolicy::UnsafeAnyCertificateIdentity,
    );
    let v = verify(&b, &policy, &f.public, NOW).unwrap();
    let VerifiedSigner::Certificate { identity, .. } = &v.signer else {
        panic!("certificate signer")
    };
    assert_eq!(identity.san.value(), IDENTITY);
    assert_eq!(v.signing_times.len(), 1);
    assert_eq!(v.log_entries.len(), 1);
    assert!(!v.scts.is_empty());
}

#[test]
fn wrong_artifact_or_digest() {
    // A wrong artifact is reported as one, before any log entry is compared with the bundle.
    let Some(f) = fixture() else { return };
    let b = f.bundle("happy-path-v0.3");
    let digest = Artifact::Digest(ArtifactDigest::sha256(signet_crypto::sha256(b"something else")));
    assert!(matches!(
        verify(&b, &Policy::new(digest, exact()), &f.public, NOW),
        Err(VerificationError::Artifact(ArtifactError::DigestMismatch { .. }))
    ));
    let sha512 = Artifact::Digest(ArtifactDigest::parse(&format!("sha512:{}", "00".repeat(64))).unwrap());
    assert!(matches!(
        verify(&b, &Policy::new(sha512, exact()), &f.public, NOW),
        Err(VerificationError::Artifact(ArtifactError::DigestAlgorithm { .. }))
    ));
}

#[test]
fn tampered_signature_and_body() {
    let Some(f) = fixture() else { return };
    let good = f.bundle("happy-path-v0.3");
    let mut b = good.clone();
    let signet_formats::bundle::BundleContent::MessageSignature(m) = &mut b.content else {
        panic!("message signature")
    };
    let i = m.signature.len() - 3;
    m.signature[i] ^= 1;
    assert!(matches!(
        f.verify(&b, exact(), &f.public),
        Err(VerificationError::EntryBody {
            source: BodyError::SignatureMismatch { .. },
            ..
        })
    ));
    // A changed body breaks the SET before anything reads it.
    let mut b = good.clone();
    b.verification_material.tlog_entries[0].canonicalized_body[5] ^= 1;
    assert!(matches!(
        f.verify(&b, exact(), &f.public),
        Err(VerificationError::Tlog {
            source: TlogError::InvalidSignedEntryTimestamp { .. },
            ..
        })
    ));
}

#[test]
fn trust_material_failures() {
    let Some(f) = fixture() else { return };
    let b = f.bundle("happy-path-v0.3");

    let mut no_logs = f.public.clone();
    no_logs.transparency_logs.clear();
    assert!(matches!(
        f.verify(&b, exact(), &no_logs),
        Err(VerificationError::Tlog {
            source: TlogError::UnknownLog { .. },
            ..
        })
    ));

    // The CA's trusted-root validity ends before the signing time: an expired CA.
    let mut expired = f.public.clone();
    for ca in &mut expired.certificate_authorities {
        ca.valid_for = TimeRange {
            start: Some(Timestamp::from_unix(0)),
            end: Some(Timestamp::from_unix(1_600_000_000)),
        };
    }
    assert!(matches!(
        f.verify(&b, exact(), &expired),
        Err(VerificationError::Certificate(
            CertificateError::AuthorityNotValidAt { .. }
        ))
    ));

    let mut no_ct = f.public.clone();
    no_ct.ct_logs.clear();
    assert!(matches!(
        f.verify(&b, exact(), &no_ct),
        Err(VerificationError::Sct(_))
    ));

    // A log whose key is trusted only from after the integrated time.
    let mut late = f.public.clone();
    for l in &mut late.transparency_logs {
        l.valid_for = TimeRange::starting(Timestamp::from_unix(1_900_000_000));
    }
    assert!(matches!(
        f.verify(&b, exact(), &late),
        Err(VerificationError::Tlog {
            source: TlogError::LogKeyNotValid { .. },
            ..
        })
    ));
}

#[test]
fn rekor_v2_checkpoint_by_a_wrong_key() {
    let Some(f) = fixture() else { return };
    let b = f.bundle("rekor2-happy-path");
    let trust = f.root("rekor2-happy-path");
    f.verify(&b, exact(), &trust).unwrap();
    let mut wrong = trust.clone();
    let stranger = SigningKey::generate(KeyKind::Ed25519).unwrap();
    for l in &mut wrong.transparency_logs {
        l.note_verifiers =
            vec![signet_tlog::NoteVerifier::new(&l.origin, stranger.public_key().clone()).unwrap()];
    }
    assert!(matches!(
        f.verify(&b, exact(), &wrong),
        Err(VerificationError::Tlog {
            source: TlogError::Checkpoint { .. },
            ..
        })
    ));
    // Without timestamp authorities, the v2 bundle has no signing time.
    let mut no_tsa = trust.clone();
    no_tsa.timestamp_authorities.clear();
    assert!(matches!(
        f.verify(&b, exact(), &no_tsa),
        Err(VerificationError::SigningTime(_))
    ));
}

#[test]
fn key_policies() {
    let Some(f) = fixture() else { return };
    let b = f.bundle("managed-key-happy-path");
    let pem = std::fs::read_to_string(f.suite.join("managed-key-happy-path/key.pub")).unwrap();
    let key = signet_crypto::PublicKey::from_pem(&pem).unwrap();
    f.verify(&b, SignerPolicy::PublicKey(key), &f.public).unwrap();
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    assert!(matches!(
        f.verify(&b, SignerPolicy::PublicKey(other.public_key().clone()), &f.public),
        Err(VerificationError::EntryBody {
            source: BodyError::VerifierMismatch { .. },
            ..
        })
    ));
    // A certificate bundle under a key policy.
    let cert_bundle = f.bundle("happy-path-v0.3");
    assert!(matches!(
        f.verify(
            &cert_bundle,
            SignerPolicy::PublicKey(other.public_key().clone()),
            &f.public
        ),
        Err(VerificationError::Material(_))
    ));
}

#[test]
fn trusted_root_itself_is_trust_material() {
    let Some(f) = fixture() else { return };
    let vectors = f.suite.parent().unwrap().parent().unwrap();
    let root = TrustedRoot::from_json(&std::fs::read(vectors.join("public-good/trusted_root.json")).unwrap())
        .unwrap();
    let b = f.bundle("happy-path-v0.2");
    verify(
        &b,
        &Policy::new(Artifact::Bytes(&f.artifact), exact()),
        &root,
        NOW,
    )
    .unwrap();
}

#[test]
fn every_vector_bundle_round_trips() {
    let Some(f) = fixture() else { return };
    let mut n = 0;
    for entry in std::fs::read_dir(&f.suite).unwrap() {
        let path = entry.unwrap().path().join("bundle.sigstore.json");
        let Ok(json) = std::fs::read(&path) else { continue };
        let Ok(bundle) = Bundle::from_json(&json) else {
            continue;
        };
        let out = bundle.to_json();
        assert_eq!(Bundle::from_json(&out).unwrap(), bundle, "{}", path.display());
        n += 1;
    }
    assert!(n > 50, "only {n} bundles parsed");
}

#[test]
fn certificate_profile_and_bundle_chain() {
    use signet_verify::certificate::{check_bundle_chain, check_leaf_profile};
    use signet_x509::ParsedCertificate;
    let Some(f) = fixture() else { return };
    let b = f.bundle("bundle-with-root-cert_fail");
    let signet_formats::bundle::VerificationMaterialContent::X509CertificateChain(chain) =
        &b.verification_material.content
    else {
        panic!("chain")
    };
    // [leaf, root, intermediate]: the leaf is a code-signing leaf, the root is refused, the
    // intermediate alone is ignored (the path comes from the trusted root).
    check_leaf_profile(&ParsedCertificate::from_der(&chain[0]).unwrap()).unwrap();
    assert!(matches!(
        check_leaf_profile(&ParsedCertificate::from_der(&chain[2]).unwrap()),
        Err(CertificateError::LeafIsCa)
    ));
    assert!(matches!(
        check_bundle_chain(&chain[1..]),
        Err(CertificateError::RootInBundleChain { .. })
    ));
    check_bundle_chain(&chain[2..]).unwrap();
}
