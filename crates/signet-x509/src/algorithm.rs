//! Digest and signature algorithm identifiers, and signature checks over them.
//!
//! Verification goes to aws-lc-rs directly (not `PublicKey::verify`) because X.509 and CMS
//! pair keys and digests freely: Sigstore's TSA signs with a P-384 key and
//! `ecdsa-with-SHA256`, a combination no `PublicKeyDetails` names.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use der::asn1::ObjectIdentifier;
use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails};
use spki::AlgorithmIdentifierOwned;

use crate::oid;

/// The hash a digest `AlgorithmIdentifier` names, if it is one signet accepts.
pub fn hash_from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    match *oid {
        oid::ID_SHA256 => Some(HashAlgorithm::Sha2_256),
        oid::ID_SHA384 => Some(HashAlgorithm::Sha2_384),
        oid::ID_SHA512 => Some(HashAlgorithm::Sha2_512),
        _ => None,
    }
}

pub fn hash_oid(hash: HashAlgorithm) -> ObjectIdentifier {
    match hash {
        HashAlgorithm::Sha2_256 => oid::ID_SHA256,
        HashAlgorithm::Sha2_384 => oid::ID_SHA384,
        HashAlgorithm::Sha2_512 => oid::ID_SHA512,
    }
}

/// A digest `AlgorithmIdentifier` with absent parameters (RFC 5754 §2: SHOULD be absent).
pub fn digest_algorithm_identifier(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash_oid(hash),
        parameters: None,
    }
}

/// The `signatureAlgorithm` a signet signer writes for `details` (ECDSA only: the CMS and X.509
/// profiles signet issues are ECDSA, which every Sigstore client accepts).
pub fn signature_algorithm_identifier(details: PublicKeyDetails) -> Result<AlgorithmIdentifierOwned, String> {
    let oid = match details {
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256 => oid::ECDSA_WITH_SHA256,
        PublicKeyDetails::PKIX_ECDSA_P384_SHA_384 => oid::ECDSA_WITH_SHA384,
        PublicKeyDetails::PKIX_ECDSA_P521_SHA_512 => oid::ECDSA_WITH_SHA512,
        other => return Err(format!("signing with {other}")),
    };
    // RFC 5758 §3.2: the parameters of ecdsa-with-SHA* MUST be absent.
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

/// The hash a `signatureAlgorithm` fixes, if it fixes one.
fn signature_hash(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    match *oid {
        oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA => Some(HashAlgorithm::Sha2_256),
        oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA => Some(HashAlgorithm::Sha2_384),
        oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA => Some(HashAlgorithm::Sha2_512),
        _ => None,
    }
}

/// Checks `signature` over `message` made by `key` with `algorithm`. CMS may name the bare key
/// algorithm (`id-ecPublicKey`, `rsaEncryption`) and leave the hash to the digest algorithm, so
/// that is passed as `digest_hint`.
pub fn verify_signature(
    key: &PublicKey,
    algorithm: &ObjectIdentifier,
    digest_hint: Option<HashAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let hash = signature_hash(algorithm).or(match *algorithm {
        oid::ID_EC_PUBLIC_KEY | oid::RSA_ENCRYPTION => digest_hint,
        _ => None,
    });
    use HashAlgorithm::*;
    let alg: &'static dyn VerificationAlgorithm = match (key.kind(), *algorithm, hash) {
        (KeyKind::Ed25519, oid::ID_ED25519, _) => &sig::ED25519,
        (KeyKind::EcdsaP256, _, Some(Sha2_256)) => &sig::ECDSA_P256_SHA256_ASN1,
        (KeyKind::EcdsaP256, _, Some(Sha2_384)) => &sig::ECDSA_P256_SHA384_ASN1,
        (KeyKind::EcdsaP384, _, Some(Sha2_256)) => &sig::ECDSA_P384_SHA256_ASN1,
        (KeyKind::EcdsaP384, _, Some(Sha2_384)) => &sig::ECDSA_P384_SHA384_ASN1,
        (KeyKind::EcdsaP521, _, Some(Sha2_256)) => &sig::ECDSA_P521_SHA256_ASN1,
        (KeyKind::EcdsaP521, _, Some(Sha2_384)) => &sig::ECDSA_P521_SHA384_ASN1,
        (KeyKind::EcdsaP521, _, Some(Sha2_512)) => &sig::ECDSA_P521_SHA512_ASN1,
        (KeyKind::Rsa(_), _, Some(Sha2_256)) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::Rsa(_), _, Some(Sha2_384)) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::Rsa(_), _, Some(Sha2_512)) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (kind, alg, _) => return Err(format!("signature algorithm {alg} with a {kind} key")),
    };
    let is_ec = matches!(
        key.kind(),
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
    );
    let alg_fits = match *algorithm {
        oid::ECDSA_WITH_SHA256 | oid::ECDSA_WITH_SHA384 | oid::ECDSA_WITH_SHA512 | oid::ID_EC_PUBLIC_KEY => {
            is_ec
        }
        oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA | oid::RSA_ENCRYPTION => {
            matches!(key.kind(), KeyKind::Rsa(_))
        }
        oid::ID_ED25519 => key.kind() == KeyKind::Ed25519,
        _ => false,
    };
    if !alg_fits {
        return Err(format!(
            "signature algorithm {algorithm} with a {} key",
            key.kind()
        ));
    }
    UnparsedPublicKey::new(alg, key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| "signature does not verify".to_string())
}
