//! The `Verifier`'s memos: a remembered success must never let a different input through. Each
//! test warms the memo with a good bundle, then presents one changed in a single respect that
//! the memo's key covers (or that is checked outside it) and expects the one-shot refusal.

#[path = "support/corpus.rs"]
mod corpus;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use corpus::{build_corpus, build_corpus_issued_by, Corpus, LeafIssuer, IDENTITY, ISSUER, T0};
use signet_formats::bundle::{Bundle, BundleContent, VerificationMaterialContent};
use signet_formats::trust::TrustedRoot;
use signet_verify::certificate::CertificateError;
use signet_verify::tlog::TlogError;
use signet_verify::{
    verify, Artifact, IdentityPolicy, Policy, PreparedTrust, SignerPolicy, VerificationError, Verifier,
};

const NOW: i64 = T0 + 86_400;

struct Fixture {
    corpus: Corpus,
    trust: PreparedTrust,
    bundles: Vec<Bundle>,
}

fn fixture() -> Fixture {
    // Four bundles of one log batch: they share a checkpoint.
    fixture_of(build_corpus(4, 0))
}

fn fixture_of(corpus: Corpus) -> Fixture {
    let trust = PreparedTrust::from_trusted_root(&TrustedRoot::from_json(&corpus.root_json).unwrap());
    let bundles = corpus
        .bundles
        .iter()
        .map(|j| Bundle::from_json(j).unwrap())
        .collect();
    Fixture {
        corpus,
        trust,
        bundles,
    }
}

impl Fixture {
    fn policy(&self, i: usize) -> Policy<'_> {
        Policy::new(
            Artifact::Bytes(&self.corpus.artifacts[i]),
            SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, ISSUER)),
        )
    }

    /// Verifies through `verifier` and one-shot; both must agree, and the error is returned.
    fn check(&self, verifier: &Verifier, bundle: &Bundle, i: usize) -> Result<(), VerificationError> {
        let cached = verifier.verify(bundle, &self.policy(i), NOW).map(|_| ());
        let one_shot = verify(bundle, &self.policy(i), &self.trust, NOW).map(|_| ());
        assert_eq!(
            cached.as_ref().map_err(|e| e.to_string()),
            one_shot.as_ref().map_err(|e| e.to_string()),
            "the Verifier and one-shot verify disagree"
        );
        cached
    }
}

fn envelope(bundle: &mut Bundle) -> &mut String {
    &mut bundle.verification_material.tlog_entries[0]
        .inclusion_proof
        .as_mut()
        .unwrap()
        .checkpoint
        .as_mut()
        .unwrap()
        .envelope
}

fn leaf(bundle: &mut Bundle) -> &mut Vec<u8> {
    match &mut bundle.verification_material.content {
        VerificationMaterialContent::Certificate(der) => der,
        _ => panic!("a v0.3 certificate bundle"),
    }
}

#[test]
fn the_corpus_verifies_and_the_memos_fill() {
    let f = fixture();
    let verifier = Verifier::new(f.trust.clone());
    for (i, b) in f.bundles.iter().enumerate() {
        f.check(&verifier, b, i).unwrap();
    }
    assert_eq!(verifier.cached(), (1, 4), "one shared checkpoint, four leaves");
    // Again, from the memos.
    for (i, b) in f.bundles.iter().enumerate() {
        f.check(&verifier, b, i).unwrap();
    }
    // Off: the same outcomes, nothing kept.
    let off = Verifier::with_capacity(f.trust.clone(), 0, 0);
    for (i, b) in f.bundles.iter().enumerate() {
        f.check(&off, b, i).unwrap();
    }
    assert_eq!(off.cached(), (0, 0));
}

#[test]
fn a_remembered_checkpoint_does_not_pass_a_forged_signature() {
    let f = fixture();
    let verifier = Verifier::new(f.trust.clone());
    f.check(&verifier, &f.bundles[0], 0).unwrap();
    assert_eq!(verifier.cached().0, 1);

    // Same checkpoint text, a different signature (one bit of it flipped).
    let mut forged = f.bundles[1].clone();
    let env = envelope(&mut forged);
    let split = env.rfind("\n\n").unwrap() + 2;
    let (text, line) = env.split_at(split);
    let (name, b64) = line.trim_end().rsplit_once(' ').unwrap();
    let mut raw = STANDARD.decode(b64).unwrap();
    *raw.last_mut().unwrap() ^= 1;
    *env = format!("{text}{name} {}\n", STANDARD.encode(raw));
    let err = f.check(&verifier, &forged, 1).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::Tlog {
                source: TlogError::Checkpoint { .. },
                ..
            }
        ),
        "{err}"
    );

    // The signature that was remembered, over a different text (a larger tree).
    let mut forged = f.bundles[1].clone();
    let env = envelope(&mut forged);
    let mut lines: Vec<String> = env.split('\n').map(str::to_string).collect();
    lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
    *env = lines.join("\n");
    let err = f.check(&verifier, &forged, 1).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::Tlog {
                source: TlogError::Checkpoint { .. },
                ..
            }
        ),
        "{err}"
    );
    // The good one still verifies, and nothing forged was remembered.
    f.check(&verifier, &f.bundles[1], 1).unwrap();
    assert_eq!(verifier.cached().0, 1);
}

#[test]
fn a_remembered_leaf_does_not_pass_a_tampered_one_or_skip_the_per_bundle_checks() {
    let f = fixture();
    let verifier = Verifier::new(f.trust.clone());
    f.check(&verifier, &f.bundles[0], 0).unwrap();
    assert_eq!(verifier.cached().1, 1);

    // The same leaf with one bit of its CA signature flipped: another key, a full check.
    let mut tampered = f.bundles[0].clone();
    let der = leaf(&mut tampered);
    *der.last_mut().unwrap() ^= 1;
    let err = f.check(&verifier, &tampered, 0).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::Certificate(CertificateError::UntrustedIssuer { .. })
        ),
        "{err}"
    );

    // The remembered leaf, with a timestamp outside its 10-minute validity: the validity at the
    // signing times is checked for every bundle.
    let mut late = f.bundles[0].clone();
    let signature = late.content.signature_bytes().unwrap().to_vec();
    late.verification_material
        .timestamp_verification_data
        .rfc3161_timestamps = vec![f.corpus.pki.token(&signature, T0 + 10_000)];
    let err = f.check(&verifier, &late, 0).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::Certificate(CertificateError::NotValidAt { .. })
        ),
        "{err}"
    );

    // The remembered leaf over another signature: the artifact signature is never remembered.
    let mut other = f.bundles[0].clone();
    let BundleContent::MessageSignature(m) = &mut other.content else {
        panic!("message signature")
    };
    let i = m.signature.len() - 3;
    m.signature[i] ^= 1;
    assert!(f.check(&verifier, &other, 0).is_err());

    // The remembered leaf under another identity policy: identity is checked every time.
    let wrong = Policy::new(
        Artifact::Bytes(&f.corpus.artifacts[0]),
        SignerPolicy::Identity(IdentityPolicy::exact("someone@example.com", ISSUER)),
    );
    assert!(matches!(
        verifier.verify(&f.bundles[0], &wrong, NOW),
        Err(VerificationError::Identity(_))
    ));
    assert_eq!(verifier.cached().1, 1, "nothing tampered was remembered");
}

#[test]
fn one_verifier_serves_many_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Verifier>();
    let f = fixture();
    let verifier = Verifier::new(f.trust.clone());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for (i, b) in f.bundles.iter().enumerate() {
                    verifier.verify(b, &f.policy(i), NOW).unwrap();
                }
            });
        }
    });
    assert_eq!(verifier.cached(), (1, 4));
}

#[test]
fn leaves_issued_by_the_root_of_the_chain_verify_and_are_remembered() {
    // The trusted chain is [intermediate, root] and the root signs the leaves (and is named as
    // the SCTs' issuer): Go's Verify, so sigstore-go, accepts that path.
    let f = fixture_of(build_corpus_issued_by(4, 0, LeafIssuer::Root));
    let verifier = Verifier::new(f.trust.clone());
    for (i, b) in f.bundles.iter().enumerate() {
        f.check(&verifier, b, i).unwrap();
    }
    assert_eq!(verifier.cached(), (1, 4));
    for (i, b) in f.bundles.iter().enumerate() {
        f.check(&verifier, b, i).unwrap();
    }
    // Remembered or not, a leaf whose CA signature is broken is refused.
    let mut tampered = f.bundles[0].clone();
    *leaf(&mut tampered).last_mut().unwrap() ^= 1;
    let err = f.check(&verifier, &tampered, 0).unwrap_err();
    assert!(
        matches!(
            err,
            VerificationError::Certificate(CertificateError::UntrustedIssuer { .. })
        ),
        "{err}"
    );
}
