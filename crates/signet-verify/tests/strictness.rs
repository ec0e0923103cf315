//! The verifier is exactly as strict as the client spec and sigstore-go: each test builds a
//! bundle on a private instance that differs from a good one in one respect, and asserts the
//! specific error (or that a bundle the references accept verifies). The reference each case
//! follows is named beside it.

#[path = "support/pki.rs"]
mod pki;

use pki::*;
use signet_crypto::{sha256, HashAlgorithm, KeyKind, PublicKeyDetails, SigningKey};
use signet_formats::bundle::BundleContent;
use signet_formats::intoto::{ResourceDescriptor, Statement};
use signet_formats::rekor_v2::{self, DsseRequestV002, VerifierKey};
use signet_verify::entry_body::BodyError;
use signet_verify::signature::SignatureError;
use signet_verify::tlog::TlogError;
use signet_verify::ArtifactError;
use signet_verify::{verify, VerificationError};

const ARTIFACT: &[u8] = b"release artifact\n";

fn body_error(r: Result<signet_verify::VerifiedBundle, VerificationError>) -> BodyError {
    match r {
        Err(VerificationError::EntryBody { source, .. }) => source,
        other => panic!("expected an entry body error, got {other:?}"),
    }
}

#[test]
fn the_good_bundle_verifies() {
    let pki = Pki::new();
    verify(&good_v2(&pki, ARTIFACT), &policy(ARTIFACT), &pki.trust(), NOW).unwrap();
}

// Rekor v2 hashedrekord bodies must be exactly what the bundle implies (Rekor v2 spec §6.1.4;
// sigstore-go rebuilds the body with the key's default keyDetails and hash).

#[test]
fn rekor_v2_message_signature_entry_with_another_scheme_is_refused() {
    let pki = Pki::new();
    let signed = pki.sign_blob(ARTIFACT);
    let (leaf, digest, signature) = (&signed.leaf, &signed.digest, &signed.signature);
    let verify_body = |body: Vec<u8>| {
        let entry = pki.v2_entry("hashedrekord", body);
        let b = signed.bundle(vec![entry], vec![signed.token(&pki)]);
        verify(&b, &policy(ARTIFACT), &pki.trust(), NOW)
    };
    // P-384 keyDetails for a P-256 certificate.
    let e = body_error(verify_body(hashedrekord_v2_raw(
        leaf,
        "SHA2_256",
        "PKIX_ECDSA_P384_SHA_384",
        digest,
        signature,
    )));
    assert!(
        matches!(
            e,
            BodyError::KeyDetails {
                found: "PKIX_ECDSA_P384_SHA_384",
                expected: "PKIX_ECDSA_P256_SHA_256",
                ..
            }
        ),
        "{e}"
    );
    // The right keyDetails, but the artifact's SHA-512 recorded.
    let e = body_error(verify_body(hashedrekord_v2_raw(
        leaf,
        "SHA2_512",
        "PKIX_ECDSA_P256_SHA_256",
        &HashAlgorithm::Sha2_512.digest(ARTIFACT),
        signature,
    )));
    assert!(
        matches!(e, BodyError::EntryDigestAlgorithm { found: "SHA-512", .. }),
        "{e}"
    );
    // The canonical body verifies.
    verify_body(signed.v2_body()).unwrap();
}

#[test]
fn rekor_v2_dsse_as_hashedrekord_is_over_the_keys_hash_of_the_pae() {
    let pki = Pki::new();
    let t = T0 + 100;
    let (key, leaf) = pki.leaf(t);
    let env = envelope(&key, &statement_about(ARTIFACT));
    let sig = env.signatures[0].sig.clone();
    let verify_body = |body: Vec<u8>| {
        let entry = pki.v2_entry("hashedrekord", body);
        let b = bundle(
            leaf.clone(),
            vec![entry],
            vec![pki.token(&sig, t + 1)],
            BundleContent::DsseEnvelope(env.clone()),
        );
        verify(&b, &policy(ARTIFACT), &pki.trust(), NOW)
    };
    // SHA-512(PAE) and P-384 keyDetails for a P-256 signer.
    let e = body_error(verify_body(hashedrekord_v2_raw(
        &leaf,
        "SHA2_512",
        "PKIX_ECDSA_P384_SHA_384",
        &HashAlgorithm::Sha2_512.digest(&env.pae()),
        &sig,
    )));
    assert!(matches!(e, BodyError::KeyDetails { .. }), "{e}");
    // SHA-512(PAE) under the right keyDetails.
    let e = body_error(verify_body(hashedrekord_v2_raw(
        &leaf,
        "SHA2_512",
        "PKIX_ECDSA_P256_SHA_256",
        &HashAlgorithm::Sha2_512.digest(&env.pae()),
        &sig,
    )));
    assert!(matches!(e, BodyError::EntryDigestAlgorithm { .. }), "{e}");
    // SHA-256(PAE), as sigstore-python logs it.
    verify_body(hashedrekord_v2(
        &leaf,
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
        &sha256(&env.pae()),
        &sig,
    ))
    .unwrap();
}

#[test]
fn rekor_v2_dsse_entries_are_accepted_with_a_sha256_payload_hash() {
    // dsse 0.0.2 is not in the Rekor v2 spec, but sigstore-js v5 logs attestations so
    // (INTEROP.md), and every field it records is compared.
    let pki = Pki::new();
    let t = T0 + 100;
    let (key, leaf) = pki.leaf(t);
    let env = envelope(&key, &statement_about(ARTIFACT));
    let sig = env.signatures[0].sig.clone();
    let body = DsseRequestV002 {
        envelope: env.clone(),
        verifiers: vec![rekor_v2::Verifier {
            key: VerifierKey::X509Certificate(leaf.clone()),
            key_details: PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
        }],
    }
    .to_entry()
    .unwrap()
    .canonical_json();
    let build = |body: Vec<u8>| {
        bundle(
            leaf.clone(),
            vec![pki.v2_entry("dsse", body)],
            vec![pki.token(&sig, t + 1)],
            BundleContent::DsseEnvelope(env.clone()),
        )
    };
    verify(&build(body.clone()), &policy(ARTIFACT), &pki.trust(), NOW).unwrap();

    // The same entry recording the payload's SHA-384: refused (SHA-256 is the only payload
    // hash sigstore-go and sigstore-python compare).
    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let spec = &mut value["spec"]["dsseV002"];
    spec["payloadHash"]["algorithm"] = "SHA2_384".into();
    spec["payloadHash"]["digest"] = b64(&HashAlgorithm::Sha2_384.digest(&env.payload)).into();
    let e = body_error(verify(
        &build(serde_json::to_vec(&value).unwrap()),
        &policy(ARTIFACT),
        &pki.trust(),
        NOW,
    ));
    assert!(
        matches!(e, BodyError::DigestAlgorithm { found: "SHA-384", .. }),
        "{e}"
    );
}

#[test]
fn intoto_v001_entries_are_refused() {
    // They record no signature (client spec §4.4 check 1); neither reference accepts them.
    let pki = Pki::new();
    let t = T0 + 100;
    let (key, leaf) = pki.leaf(t);
    let env = envelope(&key, &statement_about(ARTIFACT));
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", leaf.clone()));
    let body = format!(
        r#"{{"apiVersion":"0.0.1","kind":"intoto","spec":{{"content":{{"payloadHash":{{"algorithm":"sha256","value":"{}"}}}},"publicKey":"{}"}}}}"#,
        hex(&sha256(&env.payload)),
        b64(pem.as_bytes())
    );
    let entry = pki.v1_entry("intoto", "0.0.1", body.into_bytes(), Some(t + 2), true);
    let b = bundle(leaf, vec![entry], vec![], BundleContent::DsseEnvelope(env));
    let e = body_error(verify(&b, &policy(ARTIFACT), &pki.trust(), NOW));
    assert!(
        matches!(
            e,
            BodyError::Unsupported {
                kind: "intoto",
                version: "0.0.1",
                ..
            }
        ),
        "{e}"
    );
}

// The signature's hash is the key's, never the bundle's unauthenticated messageDigest
// (protobuf-specs; sigstore-go's LoadDefaultVerifier plus SHA-256 for P-384/P-521).

/// A Rekor v1 bundle (SET-timed) over `artifact`'s `algorithm` digest, signed by `key` over
/// that digest.
fn v1_message_bundle(
    pki: &Pki,
    key: &SigningKey,
    algorithm: HashAlgorithm,
    sign_over: &[u8],
) -> signet_formats::bundle::Bundle {
    let t = T0 + 100;
    let leaf = pki.leaf_for(key, t, false, &[0], |_| {});
    let digest = algorithm.digest(ARTIFACT);
    let signature = key.sign_digest(sign_over).unwrap();
    let name = match algorithm {
        HashAlgorithm::Sha2_256 => "sha256",
        HashAlgorithm::Sha2_384 => "sha384",
        HashAlgorithm::Sha2_512 => "sha512",
    };
    let body = hashedrekord_v1(&leaf, name, &digest, &signature);
    let entry = pki.v1_entry("hashedrekord", "0.0.1", body, Some(t + 2), true);
    bundle(leaf, vec![entry], vec![], message(&digest, algorithm, signature))
}

#[test]
fn a_p256_signature_over_sha384_is_refused_whatever_messagedigest_says() {
    let pki = Pki::new();
    let key = p256();
    // ECDSA over SHA-384 with a P-256 key signs the digest's leftmost 256 bits (FIPS 186-5).
    let d384 = HashAlgorithm::Sha2_384.digest(ARTIFACT);
    let b = v1_message_bundle(&pki, &key, HashAlgorithm::Sha2_384, &d384[..32]);
    let r = verify(&b, &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(
        matches!(
            r,
            Err(VerificationError::EntryBody {
                source: BodyError::EntryDigestAlgorithm { found: "SHA-384", .. },
                ..
            })
        ),
        "{r:?}"
    );
    // The same signature check on its own, with no log entry in the way.
    let BundleContent::MessageSignature(m) = &b.content else {
        unreachable!()
    };
    let a = signet_verify::Artifact::Bytes(ARTIFACT);
    let e = signet_verify::signature::verify_message_signature(
        key.public_key(),
        m,
        &signet_verify::signature::ArtifactDigests::new(&a),
    )
    .unwrap_err();
    assert!(
        matches!(e, SignatureError::UnsupportedScheme { hash: "SHA-384", .. }),
        "{e}"
    );
    // SHA-256 verifies.
    let b = v1_message_bundle(&pki, &key, HashAlgorithm::Sha2_256, &sha256(ARTIFACT));
    verify(&b, &policy(ARTIFACT), &pki.trust(), NOW).unwrap();
}

#[test]
fn p384_keys_sign_with_sha384_or_sha256() {
    let pki = Pki::new();
    let key = SigningKey::generate(KeyKind::EcdsaP384).unwrap();
    let d384 = HashAlgorithm::Sha2_384.digest(ARTIFACT);
    verify(
        &v1_message_bundle(&pki, &key, HashAlgorithm::Sha2_384, &d384),
        &policy(ARTIFACT),
        &pki.trust(),
        NOW,
    )
    .unwrap();
}

// Log entries.

#[test]
fn an_integrated_time_outside_the_certificate_is_refused_even_without_a_set() {
    // sigstore-go: "integrated time outside certificate validity".
    let pki = Pki::new();
    let signed = pki.sign_blob(ARTIFACT);
    let t = Signed::TIME;
    let build = |integrated: i64| {
        let entry = pki.v1_entry("hashedrekord", "0.0.1", signed.v1_body(), Some(integrated), false);
        signed.bundle(vec![entry], vec![signed.token(&pki)])
    };
    let r = verify(&build(t + 5_000), &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(
        matches!(
            r,
            Err(VerificationError::Tlog {
                source: TlogError::IntegratedTimeOutsideCertificate { .. },
                ..
            })
        ),
        "{r:?}"
    );
    verify(&build(t + 5), &policy(ARTIFACT), &pki.trust(), NOW).unwrap();
}

#[test]
fn one_entry_twice_is_refused() {
    // Client spec §4.6: entries of one log must not count twice; sigstore-go refuses them.
    let pki = Pki::new();
    let mut b = good_v2(&pki, ARTIFACT);
    let e = b.verification_material.tlog_entries[0].clone();
    b.verification_material.tlog_entries.push(e);
    let r = verify(&b, &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(
        matches!(
            r,
            Err(VerificationError::TlogThreshold(TlogError::DuplicateEntry { .. }))
        ),
        "{r:?}"
    );
}

#[test]
fn rekor_v1_checkpoints_are_verified_by_key_not_by_name() {
    // A Rekor v1 server names its checkpoints by its own hostname (rekor's default is
    // os.Hostname()); rekor's VerifyCheckpointSignature and sigstore-python check only the
    // key hint and signature.
    let pki = Pki::new();
    let signed = pki.sign_blob(ARTIFACT);
    let t = Signed::TIME;
    let entry = pki.v1_entry_named(
        "rekor-server-7f9c",
        "hashedrekord",
        "0.0.1",
        signed.v1_body(),
        Some(t + 2),
        true,
    );
    let b = signed.bundle(vec![entry.clone()], vec![]);
    verify(&b, &policy(ARTIFACT), &pki.trust(), NOW).unwrap();

    // The same checkpoint signed by another key under the log's name is refused.
    let stranger = Pki::new();
    let mut forged = entry;
    let other = stranger.v1_entry_named(
        V1_NAME,
        "hashedrekord",
        "0.0.1",
        forged.canonicalized_body.clone(),
        Some(t + 2),
        false,
    );
    forged.inclusion_proof = other.inclusion_proof;
    let b = signed.bundle(vec![forged], vec![]);
    let r = verify(&b, &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(
        matches!(
            r,
            Err(VerificationError::Tlog {
                source: TlogError::Checkpoint { .. },
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn rekor_v2_checkpoint_origin_is_the_host_name() {
    // sigstore-go verifies a Rekor v2 checkpoint under url.Hostname() of the log's baseUrl.
    let pki = Pki::with_v2_log("http://127.0.0.1:3000/rekor", "127.0.0.1");
    verify(&good_v2(&pki, ARTIFACT), &policy(ARTIFACT), &pki.trust(), NOW).unwrap();

    // Earlier signet servers named the log by its whole URL without the scheme: accepted.
    let legacy = Pki::with_v2_log("http://127.0.0.1:3000/rekor", "127.0.0.1:3000/rekor");
    verify(
        &good_v2(&legacy, ARTIFACT),
        &policy(ARTIFACT),
        &legacy.trust(),
        NOW,
    )
    .unwrap();

    // Any other origin is refused, even signed by the log's key.
    let signed = pki.sign_blob(ARTIFACT);
    let entry = pki.v2_entry_signed_as("127.0.0.1:3000", "hashedrekord", signed.v2_body());
    let b = signed.bundle(vec![entry], vec![signed.token(&pki)]);
    let r = verify(&b, &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(
        matches!(
            r,
            Err(VerificationError::Tlog {
                source: TlogError::CheckpointOrigin { .. },
                ..
            })
        ),
        "{r:?}"
    );
}

// In-toto subjects.

#[test]
fn subjects_named_by_sha512_match_the_artifact_bytes() {
    // sigstore-go hashes the artifact with every algorithm the subjects use.
    let pki = Pki::new();
    let subject = ResourceDescriptor {
        name: "artifact".into(),
        digest: [(
            "sha512".to_string(),
            hex(&HashAlgorithm::Sha2_512.digest(ARTIFACT)),
        )]
        .into(),
        ..Default::default()
    };
    let b = dsse_v2(
        &pki,
        &Statement::new(vec![subject], "https://example.com/p", None),
    );
    let not_a_subject = |policy: &signet_verify::Policy<'_>, algorithm| {
        let r = verify(&b, policy, &pki.trust(), NOW);
        assert!(
            matches!(
                &r,
                Err(VerificationError::Artifact(ArtifactError::NoSubject { artifact, .. }))
                    if artifact.algorithm == algorithm
            ),
            "{r:?}"
        );
    };
    verify(&b, &policy(ARTIFACT), &pki.trust(), NOW).unwrap();
    // Given its SHA-512 digest (as npm provenance names it), written or parsed, the artifact
    // is that subject.
    let sha512 = HashAlgorithm::Sha2_512;
    verify(
        &b,
        &policy_by_digest(sha512, sha512.digest(ARTIFACT)),
        &pki.trust(),
        NOW,
    )
    .unwrap();
    let parsed =
        signet_verify::ArtifactDigest::parse(&format!("sha512:{}", hex(&sha512.digest(ARTIFACT)))).unwrap();
    verify(
        &b,
        &policy_by_digest(parsed.algorithm, parsed.digest),
        &pki.trust(),
        NOW,
    )
    .unwrap();
    not_a_subject(&policy_by_digest(sha512, sha512.digest(b"other")), sha512);
    // Another artifact is not a subject.
    not_a_subject(&policy(b"other"), sha512);
    // Given only its SHA-256 digest, the artifact cannot be matched to a SHA-512 subject.
    let sha256_digest = policy_by_digest(HashAlgorithm::Sha2_256, sha256(ARTIFACT).to_vec());
    not_a_subject(&sha256_digest, HashAlgorithm::Sha2_256);
}

#[test]
fn a_message_signature_given_a_digest_it_did_not_sign_says_which_it_signed() {
    // The bundle signs the artifact's SHA-256 digest; its SHA-512 digest cannot be checked
    // against it, and the error says which digest to give instead.
    let pki = Pki::new();
    let b = good_v2(&pki, ARTIFACT);
    let p = policy_by_digest(HashAlgorithm::Sha2_512, HashAlgorithm::Sha2_512.digest(ARTIFACT));
    let e = verify(&b, &p, &pki.trust(), NOW).unwrap_err();
    assert!(
        matches!(
            &e,
            VerificationError::Artifact(ArtifactError::DigestAlgorithm {
                artifact,
                signed: HashAlgorithm::Sha2_256,
            }) if artifact.algorithm == HashAlgorithm::Sha2_512
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "the artifact digest sha512:{} cannot be compared with the bundle, which signed the \
             artifact's SHA-256 digest: verify against the file itself, or against its sha256:<hex> digest",
            hex(&HashAlgorithm::Sha2_512.digest(ARTIFACT))
        )
    );
}

// Choices the client spec makes that the references relax.

#[test]
fn a_timestamp_that_does_not_verify_fails_the_bundle() {
    // Client spec §4.2.1: "If verification or timestamp parsing fails, the Verifier MUST
    // abort." (sigstore-go and sigstore-python skip such a token when another time verifies.)
    let pki = Pki::new();
    let untrusted = Pki::new();
    let mut b = good_v2(&pki, ARTIFACT);
    let BundleContent::MessageSignature(m) = &b.content else {
        unreachable!()
    };
    let token = untrusted.token(&m.signature, T0 + 101);
    b.verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .push(token);
    let r = verify(&b, &policy(ARTIFACT), &pki.trust(), NOW);
    assert!(matches!(r, Err(VerificationError::SigningTime(_))), "{r:?}");
}
