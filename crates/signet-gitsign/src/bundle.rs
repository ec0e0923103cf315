//! A git signature as a Sigstore bundle, and back, so that one verifier (signet-verify, the
//! client specification's checks in its order) judges both.
//!
//! The CMS signature is a Sigstore message signature in other clothes: the ECDSA signature is
//! over the DER of the signed attributes, and gitsign logs exactly that as a hashedrekord
//! whose artifact is those bytes. So the bundle is
//!
//! - verification material: the leaf certificate; the embedded log entry, its
//!   `canonicalizedBody` rebuilt; the RFC 3161 token;
//! - content: a message signature, digest SHA-256(DER(signedAttrs)), the SignerInfo signature;
//!
//! and the artifact verified is DER(signedAttrs). What the bundle cannot say — that the signed
//! attributes' `messageDigest` is the digest of the git payload — the caller checks with
//! [`crate::SignedAttributes::covers`] ([`crate::verify::verify`] does both).
//!
//! ## The body, stripped and rebuilt
//!
//! gitsign leaves the body out of the embedded entry (it repeats the certificate and
//! signature) and rebuilds it when verifying. signet does the same for both log versions:
//!
//! - **hashedrekord 0.0.1** (Rekor v1): the body Rekor stores for a proposed entry of
//!   {sha256 digest, signature, the certificate as PEM}, in canonical JSON
//!   ([`signet_formats::rekor_v1::entry_from_proposed`]);
//! - **hashedrekord 0.0.2** (Rekor v2): the entry `{data: SHA2_256 digest, signature: {content,
//!   verifier: {x509Certificate, keyDetails: PKIX_ECDSA_P256_SHA_256}}}` in RFC 8785 canonical
//!   JSON, the body Rekor v2's spec fixes and sigstore-go also rebuilds from a bundle.
//!
//! A rebuilt body that is not the one the log recorded fails the inclusion proof (and, on
//! Rekor v1, the signed entry timestamp): nothing is trusted because it was rebuilt. An entry
//! that carries its body keeps it, and the verifier compares it with the signature.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;
use signet_crypto::{HashAlgorithm, PublicKeyDetails};
use signet_formats::bundle::{
    Bundle, BundleContent, BundleVersion, MessageSignature, TimestampVerificationData, VerificationMaterial,
    VerificationMaterialContent,
};
use signet_formats::common::HashOutput;
use signet_formats::rekor_v2::{
    Entry, HashedRekordLogEntryV002, Signature, Spec, TransparencyLogEntry, Verifier, VerifierKey,
};
use thiserror::Error;

use crate::signature::GitSignature;
use crate::tle;

/// Why a signature could not become a bundle (or the reverse).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    #[error("the signature carries no transparency-log entry (gitsign's offline format embeds one)")]
    NoLogEntry,
    #[error(transparent)]
    Entry(#[from] tle::TleError),
    #[error("the embedded log entry is a {kind} {version} entry; a git signature is logged as hashedrekord 0.0.1 or 0.0.2")]
    EntryKind { kind: String, version: String },
    #[error("the embedded log entry's body cannot be rebuilt: {0}")]
    Body(String),
    #[error("the bundle {0}")]
    Shape(String),
    #[error("the timestamp does not parse: {0}")]
    Timestamp(String),
}

/// The bundle equivalent of `sig` (see the module docs), verified over
/// `sig.signed_attributes.der()`.
pub fn to_bundle(sig: &GitSignature) -> Result<Bundle, BundleError> {
    let raw = sig.tlog_entry.as_deref().ok_or(BundleError::NoLogEntry)?;
    let mut entry = tle::decode(raw)?;
    let digest = signet_crypto::sha256(sig.signed_attributes.der()).to_vec();
    if entry.canonicalized_body.is_empty() {
        entry.canonicalized_body = rebuild_body(&entry, &sig.certificate, &digest, &sig.signature)?;
    }
    // v0.3 requires an inclusion proof; a Rekor v1 entry of an older gitsign may carry only
    // its signed entry timestamp, which bundle v0.1 allows.
    let version = if entry.inclusion_proof.is_some() {
        BundleVersion::V0_3
    } else {
        BundleVersion::V0_1
    };
    let content = match version {
        BundleVersion::V0_3 => VerificationMaterialContent::Certificate(sig.certificate.clone()),
        _ => VerificationMaterialContent::X509CertificateChain(vec![sig.certificate.clone()]),
    };
    Ok(Bundle {
        media_type: version.media_type().to_string(),
        version,
        verification_material: VerificationMaterial {
            content,
            tlog_entries: vec![entry],
            timestamp_verification_data: TimestampVerificationData {
                rfc3161_timestamps: sig.timestamp_token.iter().cloned().collect(),
            },
        },
        content: BundleContent::MessageSignature(MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest,
            }),
            signature: sig.signature.clone(),
        }),
    })
}

/// The log entry and timestamp of `bundle` (made by signing `signed_attributes.der()` as a
/// message) moved into the signature: the entry encoded without its body, the first RFC 3161
/// timestamp as the token the `id-aa-timeStampToken` attribute holds.
pub fn attach_from_bundle(sig: &mut GitSignature, bundle: &Bundle) -> Result<(), BundleError> {
    let [entry] = bundle.verification_material.tlog_entries.as_slice() else {
        return Err(BundleError::Shape(format!(
            "has {} log entries; a git signature embeds one",
            bundle.verification_material.tlog_entries.len()
        )));
    };
    sig.tlog_entry = Some(tle::encode(entry, false));
    sig.timestamp_token = bundle
        .verification_material
        .timestamp_verification_data
        .rfc3161_timestamps
        .first()
        .map(|der| timestamp_token(der))
        .transpose()?;
    Ok(())
}

/// The `TimeStampToken` of a `TimeStampResp` (a bundle may hold either).
fn timestamp_token(der: &[u8]) -> Result<Vec<u8>, BundleError> {
    use der::{Decode, Encode};
    if let Ok(resp) = signet_x509::rfc3161::TimeStampResp::from_der(der) {
        let token = resp
            .time_stamp_token
            .ok_or_else(|| BundleError::Timestamp("the response holds no token".into()))?;
        return token.to_der().map_err(|e| BundleError::Timestamp(e.to_string()));
    }
    cms::content_info::ContentInfo::from_der(der)
        .map(|_| der.to_vec())
        .map_err(|e| BundleError::Timestamp(e.to_string()))
}

fn rebuild_body(
    entry: &TransparencyLogEntry,
    certificate: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, BundleError> {
    let kv = &entry.kind_version;
    match (kv.kind.as_str(), kv.version.as_str()) {
        ("hashedrekord", "0.0.1") => {
            let pem = pem::encode_config(
                &pem::Pem::new("CERTIFICATE", certificate.to_vec()),
                pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
            );
            let proposed = json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                    "signature": {
                        "content": B64.encode(signature),
                        "publicKey": {"content": B64.encode(pem)},
                    },
                },
            });
            let body = serde_json::to_vec(&proposed).map_err(|e| BundleError::Body(e.to_string()))?;
            signet_formats::rekor_v1::entry_from_proposed(&body)
                .map(|e| e.canonical_body)
                .map_err(|e| BundleError::Body(e.to_string()))
        }
        ("hashedrekord", "0.0.2") => Ok(Entry {
            spec: Spec::HashedRekordV002(HashedRekordLogEntryV002 {
                data: HashOutput {
                    algorithm: HashAlgorithm::Sha2_256,
                    digest: digest.to_vec(),
                },
                signature: Signature {
                    content: signature.to_vec(),
                    verifier: Verifier {
                        key: VerifierKey::X509Certificate(certificate.to_vec()),
                        key_details: PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                    },
                },
            }),
        }
        .canonical_json()),
        (kind, version) => Err(BundleError::EntryKind {
            kind: kind.into(),
            version: version.into(),
        }),
    }
}
