//! Client spec §4.5: the signature over the artifact (or its digest), or over the DSSE PAE,
//! verifies with the signer's key. That the artifact is the one signed (a digest the bundle
//! names, a subject of the in-toto statement) is [`crate::artifact`]'s check.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails};
use signet_formats::bundle::MessageSignature;
use signet_formats::dsse::Envelope;
use signet_formats::intoto::{self, Statement, StatementError};
use thiserror::Error;

pub use crate::artifact::ArtifactDigests;
use crate::artifact::{check_subject, ArtifactError};
use crate::describe;
use crate::policy::to_hex;

/// Why the signature check failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the bundle's message digest {found} is not the artifact's {algorithm} digest {expected}")]
    MessageDigestMismatch {
        algorithm: &'static str,
        expected: String,
        found: String,
    },
    #[error("the artifact is given as a {given} digest, but the signature is over its {needed} digest: verify against the file itself, or against its {needed} digest")]
    DigestAlgorithm {
        given: &'static str,
        needed: &'static str,
    },
    #[error("a {key} signature over an artifact needs the artifact's bytes, not its digest")]
    NeedsArtifactBytes { key: String },
    #[error("the signature does not verify with the signer's {key} key ({scheme})")]
    Invalid { key: String, scheme: String },
    #[error("a {key} key does not sign {hash} digests")]
    UnsupportedScheme { key: String, hash: &'static str },
    #[error("the DSSE envelope has {0} signatures; a Sigstore bundle's has exactly one")]
    DsseSignatureCount(usize),
    #[error("the DSSE envelope's payloadType is {found:?}; only {expected} payloads can be matched to an artifact", expected = intoto::PAYLOAD_TYPE)]
    PayloadType { found: String },
    #[error("the DSSE payload is not an in-toto statement: {0}")]
    Statement(StatementError),
    /// The artifact is not a subject of the statement ([`verify_dsse`] only; the verifier
    /// reports it as [`crate::VerificationError::Artifact`]).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

/// The artifact's digest under `algorithm`, or why there is none (only a digest under another
/// algorithm was given).
fn digest_or_err<'d>(
    artifact: &'d ArtifactDigests<'_>,
    algorithm: HashAlgorithm,
) -> Result<&'d [u8], SignatureError> {
    artifact
        .digest(algorithm)
        .ok_or_else(|| SignatureError::DigestAlgorithm {
            given: artifact.given_algorithm().map_or("unknown", describe::hash),
            needed: describe::hash(algorithm),
        })
}

/// The digest a key signs with when nothing says otherwise.
fn default_hash(key: &PublicKey) -> HashAlgorithm {
    signing_hashes(key)[0]
}

/// The digests a key's signatures may be over, its default first. As sigstore-go verifies
/// bundles v0.1-v0.3: the key's default scheme (P-256 with SHA-256, P-384 with SHA-384, P-521
/// with SHA-512, RSA with SHA-256, Ed25519 with SHA-512 as Ed25519ph), and for P-384 and P-521
/// also SHA-256, which older clients signed with. Any other pairing is refused, whatever the
/// bundle's `messageDigest` says: that field is an unauthenticated hint (protobuf-specs: "Clients
/// MUST NOT attempt to use this digest to verify the associated signature").
pub fn signing_hashes(key: &PublicKey) -> &'static [HashAlgorithm] {
    use HashAlgorithm::*;
    match key.kind() {
        KeyKind::EcdsaP256 | KeyKind::Rsa(_) => &[Sha2_256],
        KeyKind::EcdsaP384 => &[Sha2_384, Sha2_256],
        KeyKind::EcdsaP521 => &[Sha2_512, Sha2_256],
        KeyKind::Ed25519 => &[Sha2_512],
    }
}

/// Verifies `signature` over a message of which `digest` (under `hash`) is known. Any curve
/// pairs with any SHA-2 here; the callers allow only the key's [`signing_hashes`].
fn verify_prehashed(
    key: &PublicKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    use HashAlgorithm::*;
    let alg: &'static dyn VerificationAlgorithm = match (key.kind(), hash) {
        (KeyKind::EcdsaP256, Sha2_256) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeyKind::EcdsaP256, Sha2_384) => &sig::ECDSA_P256_SHA384_ASN1,
        (KeyKind::EcdsaP384, Sha2_256) => &sig::ECDSA_P384_SHA256_ASN1,
        (KeyKind::EcdsaP384, Sha2_384) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeyKind::EcdsaP521, Sha2_256) => &sig::ECDSA_P521_SHA256_ASN1,
        (KeyKind::EcdsaP521, Sha2_384) => &sig::ECDSA_P521_SHA384_ASN1,
        (KeyKind::EcdsaP521, Sha2_512) => &sig::ECDSA_P521_SHA512_ASN1,
        (KeyKind::Rsa(_), Sha2_256) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::Rsa(_), Sha2_384) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::Rsa(_), Sha2_512) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (KeyKind::Ed25519, Sha2_512) => {
            // Ed25519ph: the prehashed variant Rekor accepts for hashedrekord.
            return key
                .verify_digest(PublicKeyDetails::PKIX_ED25519_PH, digest, signature)
                .map_err(|_| SignatureError::Invalid {
                    key: key.kind().to_string(),
                    scheme: "Ed25519ph".into(),
                });
        }
        (kind, hash) => {
            return Err(SignatureError::UnsupportedScheme {
                key: kind.to_string(),
                hash: describe::hash(hash),
            })
        }
    };
    let aws_hash = match hash {
        Sha2_256 => &aws_lc_rs::digest::SHA256,
        Sha2_384 => &aws_lc_rs::digest::SHA384,
        Sha2_512 => &aws_lc_rs::digest::SHA512,
    };
    let invalid = || SignatureError::Invalid {
        key: key.kind().to_string(),
        scheme: format!("{} with {}", key.kind(), describe::hash(hash)),
    };
    let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, aws_hash).map_err(|_| invalid())?;
    UnparsedPublicKey::new(alg, key.raw_bytes())
        .verify_digest(&digest, signature)
        .map_err(|_| invalid())
}

/// Verifies a signature over a whole message (a DSSE PAE): pure Ed25519 over the bytes,
/// anything else over the message's digest under one of the key's [`signing_hashes`].
fn verify_message(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    if key.kind() == KeyKind::Ed25519 {
        return key
            .verify(PublicKeyDetails::PKIX_ED25519, message, signature)
            .map_err(|_| SignatureError::Invalid {
                key: "Ed25519".into(),
                scheme: "Ed25519".into(),
            });
    }
    let mut result = Ok(());
    for &hash in signing_hashes(key) {
        result = verify_prehashed(key, hash, &hash.digest(message), signature);
        if result.is_ok() {
            break;
        }
    }
    result
}

/// A message signature: the `messageDigest` hint, if present, must be the artifact's digest
/// under one of the key's [`signing_hashes`]; the signature must verify over the artifact's
/// digest under that algorithm (the key's default without a hint). Ed25519 message signatures
/// are Ed25519ph over SHA-512, as hashedrekord entries carry them (sigstore-go verifies them
/// so too; a pure Ed25519 signature over a blob cannot be logged as a hashedrekord).
pub fn verify_message_signature(
    key: &PublicKey,
    message: &MessageSignature,
    artifact: &ArtifactDigests<'_>,
) -> Result<(), SignatureError> {
    let hash = message
        .message_digest
        .as_ref()
        .map_or_else(|| default_hash(key), |d| d.algorithm);
    if !signing_hashes(key).contains(&hash) {
        return Err(SignatureError::UnsupportedScheme {
            key: key.kind().to_string(),
            hash: describe::hash(hash),
        });
    }
    let digest = digest_or_err(artifact, hash)?;
    if let Some(hint) = &message.message_digest {
        if digest != hint.digest.as_slice() {
            return Err(SignatureError::MessageDigestMismatch {
                algorithm: describe::hash(hint.algorithm),
                expected: to_hex(digest),
                found: to_hex(&hint.digest),
            });
        }
    }
    verify_prehashed(key, hash, digest, &message.signature)
}

/// A DSSE envelope: its one signature verifies over the PAE with `key`, and the payload is an
/// in-toto statement with the artifact among its subjects ([`crate::artifact::check_subject`]).
/// Returns the statement.
pub fn verify_dsse(
    key: &PublicKey,
    envelope: &Envelope,
    artifact: &ArtifactDigests<'_>,
) -> Result<Statement, SignatureError> {
    let statement = verify_dsse_envelope(key, envelope)?;
    check_subject(&statement, artifact)?;
    Ok(statement)
}

/// [`verify_dsse`] without the subjects: the signature and the statement, which the verifier
/// then matches against the artifact as its own step (so that a wrong file is reported as
/// [`crate::VerificationError::Artifact`], as it is for a message signature).
pub fn verify_dsse_envelope(key: &PublicKey, envelope: &Envelope) -> Result<Statement, SignatureError> {
    let [signature] = envelope.signatures.as_slice() else {
        return Err(SignatureError::DsseSignatureCount(envelope.signatures.len()));
    };
    verify_message(key, &envelope.pae(), &signature.sig)?;
    if envelope.payload_type != intoto::PAYLOAD_TYPE {
        return Err(SignatureError::PayloadType {
            found: envelope.payload_type.clone(),
        });
    }
    Statement::from_json(&envelope.payload).map_err(SignatureError::Statement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Artifact, ArtifactDigest};
    use signet_crypto::SigningKey;
    use signet_formats::common::HashOutput;
    use signet_formats::intoto::ResourceDescriptor;

    fn message(key: &SigningKey, artifact: &[u8]) -> MessageSignature {
        MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: signet_crypto::sha256(artifact).to_vec(),
            }),
            signature: key.sign(artifact).unwrap(),
        }
    }

    #[test]
    fn message_signatures() {
        let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let m = message(&k, b"hello");
        let bytes = Artifact::Bytes(b"hello");
        let digest = Artifact::Digest(ArtifactDigest::sha256(signet_crypto::sha256(b"hello")));
        verify_message_signature(k.public_key(), &m, &ArtifactDigests::new(&bytes)).unwrap();
        verify_message_signature(k.public_key(), &m, &ArtifactDigests::new(&digest)).unwrap();

        // Wrong artifact: the digest hint disagrees first.
        let other = Artifact::Bytes(b"hellO");
        assert!(matches!(
            verify_message_signature(k.public_key(), &m, &ArtifactDigests::new(&other)),
            Err(SignatureError::MessageDigestMismatch { .. })
        ));
        // Tampered signature.
        let mut bad = m.clone();
        let last = bad.signature.len() - 2;
        bad.signature[last] ^= 1;
        assert!(matches!(
            verify_message_signature(k.public_key(), &bad, &ArtifactDigests::new(&bytes)),
            Err(SignatureError::Invalid { .. })
        ));
        // Another key.
        let k2 = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        assert!(matches!(
            verify_message_signature(k2.public_key(), &m, &ArtifactDigests::new(&bytes)),
            Err(SignatureError::Invalid { .. })
        ));
    }

    #[test]
    fn dsse_signatures_and_subjects() {
        let k = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let statement = Statement::new(
            vec![ResourceDescriptor::sha256(
                "a",
                &signet_crypto::sha256(b"artifact"),
            )],
            "https://example.com/p",
            None,
        );
        let mut env = Envelope {
            payload: statement.to_json(),
            payload_type: intoto::PAYLOAD_TYPE.into(),
            signatures: vec![],
        };
        let sig = k.sign(&env.pae()).unwrap();
        env.signatures.push(signet_formats::dsse::Signature {
            sig,
            keyid: String::new(),
        });
        let a = Artifact::Bytes(b"artifact");
        assert_eq!(
            verify_dsse(k.public_key(), &env, &ArtifactDigests::new(&a)).unwrap(),
            statement
        );
        assert_eq!(verify_dsse_envelope(k.public_key(), &env).unwrap(), statement);
        let wrong = Artifact::Bytes(b"other");
        assert!(matches!(
            verify_dsse(k.public_key(), &env, &ArtifactDigests::new(&wrong)),
            Err(SignatureError::Artifact(ArtifactError::NoSubject { .. }))
        ));
        let mut tampered = env.clone();
        tampered.payload_type = "text/plain".into();
        assert!(matches!(
            verify_dsse(k.public_key(), &tampered, &ArtifactDigests::new(&a)),
            Err(SignatureError::Invalid { .. })
        ));
    }
}
