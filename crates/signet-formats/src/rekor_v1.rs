//! Rekor v1 entry bodies (`canonicalizedBody` of a v1 log entry, rekor `pkg/types/*`): the
//! kinds a verifier compares with a bundle — hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.1 and
//! 0.0.2. Fields a verifier does not compare are ignored on input (Rekor has added optional
//! ones over time); the ones it compares are typed, decoded and checked here.
//!
//! [`entry_from_proposed`] turns what a client proposes into the body the log stores.
//!
//! Encoding quirks kept from Rekor: keys and certificates are base64 of PEM; intoto 0.0.2
//! stores envelope signatures and the payload base64-encoded twice; digests are hex.

use serde::Deserialize;
use serde_json::Value;
use signet_crypto::HashAlgorithm;
use thiserror::Error;

use crate::protojson;

mod proposed;
pub use proposed::{entry_from_proposed, ProposedEntry, Verifier, MAX_SIGNATURES};

/// Why a Rekor v1 body was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RekorV1Error {
    #[error("entry body does not parse as {kind} {api_version}: {detail}")]
    Json {
        kind: String,
        api_version: String,
        detail: String,
    },
    #[error("unsupported Rekor v1 entry kind {kind:?} version {api_version:?}")]
    UnknownKind { kind: String, api_version: String },
    #[error("{field}: {reason}")]
    InvalidValue { field: &'static str, reason: String },
    /// A field of a proposed entry, named with its index (`...signatures[1].sig`).
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("{field}: signature does not verify with the given key or certificate")]
    UnverifiedSignature { field: String },
}

/// A parsed Rekor v1 entry body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RekorV1Entry {
    HashedRekordV001(HashedRekordV001),
    DsseV001(DsseV001),
    IntotoV001(IntotoV001),
    IntotoV002(IntotoV002),
}

/// A digest as Rekor v1 writes it: an algorithm name (`sha256`) and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexDigest {
    pub algorithm: HashAlgorithm,
    pub digest: Vec<u8>,
}

/// `hashedrekord` 0.0.1: a signature over an artifact digest, and the key or certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekordV001 {
    /// `spec.data.hash`.
    pub data_hash: HexDigest,
    /// `spec.signature.content`.
    pub signature: Vec<u8>,
    /// `spec.signature.publicKey.content`: PEM of a certificate or a public key.
    pub public_key_pem: Vec<u8>,
}

/// `dsse` 0.0.1 as stored: hashes of the envelope and payload, and the verified signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseV001 {
    /// SHA-256 of the envelope JSON as submitted.
    pub envelope_hash: Option<HexDigest>,
    pub payload_hash: Option<HexDigest>,
    pub signatures: Vec<DsseV001Signature>,
}

/// One signature of a `dsse` 0.0.1 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseV001Signature {
    pub signature: Vec<u8>,
    /// PEM of the certificate or key that verified it.
    pub verifier_pem: Vec<u8>,
}

/// `intoto` 0.0.1: the envelope's hash, the payload's hash and the one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntotoV001 {
    pub hash: Option<HexDigest>,
    pub payload_hash: Option<HexDigest>,
    pub public_key_pem: Vec<u8>,
}

/// `intoto` 0.0.2 as stored: the envelope (payload usually removed) and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntotoV002 {
    pub payload_type: String,
    /// The payload, when the log kept it.
    pub payload: Option<Vec<u8>>,
    pub signatures: Vec<IntotoV002Signature>,
    /// SHA-256 of the envelope as submitted.
    pub hash: Option<HexDigest>,
    pub payload_hash: Option<HexDigest>,
}

/// One envelope signature of an `intoto` 0.0.2 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntotoV002Signature {
    pub sig: Vec<u8>,
    pub public_key_pem: Vec<u8>,
}

impl RekorV1Entry {
    /// The kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            RekorV1Entry::HashedRekordV001(_) => "hashedrekord",
            RekorV1Entry::DsseV001(_) => "dsse",
            RekorV1Entry::IntotoV001(_) | RekorV1Entry::IntotoV002(_) => "intoto",
        }
    }

    /// The kind's version.
    pub fn api_version(&self) -> &'static str {
        match self {
            RekorV1Entry::HashedRekordV001(_) | RekorV1Entry::DsseV001(_) | RekorV1Entry::IntotoV001(_) => {
                "0.0.1"
            }
            RekorV1Entry::IntotoV002(_) => "0.0.2",
        }
    }

    /// Parses a stored entry body.
    pub fn from_json(body: &[u8]) -> Result<Self, RekorV1Error> {
        let raw: RawEntry = crate::protojson::from_json_object(body).map_err(|e| RekorV1Error::Json {
            kind: "a Rekor v1 entry".into(),
            api_version: String::new(),
            detail: e.to_string(),
        })?;
        let err = |detail: serde_json::Error| RekorV1Error::Json {
            kind: raw.kind.clone(),
            api_version: raw.api_version.clone(),
            detail: detail.to_string(),
        };
        if !raw.spec.is_object() {
            return Err(err(<serde_json::Error as serde::de::Error>::custom(
                "spec must be a JSON object",
            )));
        }
        match (raw.kind.as_str(), raw.api_version.as_str()) {
            ("hashedrekord", "0.0.1") => {
                let s: HashedRekordSpec = crate::strict_value::from_value(&raw.spec).map_err(err)?;
                Ok(RekorV1Entry::HashedRekordV001(HashedRekordV001 {
                    data_hash: s.data.hash.decode("spec.data.hash")?,
                    signature: s.signature.content,
                    public_key_pem: s.signature.public_key.content,
                }))
            }
            ("dsse", "0.0.1") => {
                let s: DsseSpec = crate::strict_value::from_value(&raw.spec).map_err(err)?;
                Ok(RekorV1Entry::DsseV001(DsseV001 {
                    envelope_hash: s
                        .envelope_hash
                        .map(|h| h.decode("spec.envelopeHash"))
                        .transpose()?,
                    payload_hash: s.payload_hash.map(|h| h.decode("spec.payloadHash")).transpose()?,
                    signatures: s
                        .signatures
                        .into_iter()
                        .map(|s| DsseV001Signature {
                            signature: s.signature,
                            verifier_pem: s.verifier,
                        })
                        .collect(),
                }))
            }
            ("intoto", "0.0.1") => {
                let s: IntotoV001Spec = crate::strict_value::from_value(&raw.spec).map_err(err)?;
                Ok(RekorV1Entry::IntotoV001(IntotoV001 {
                    hash: s
                        .content
                        .hash
                        .map(|h| h.decode("spec.content.hash"))
                        .transpose()?,
                    payload_hash: s
                        .content
                        .payload_hash
                        .map(|h| h.decode("spec.content.payloadHash"))
                        .transpose()?,
                    public_key_pem: s.public_key,
                }))
            }
            ("intoto", "0.0.2") => {
                let s: IntotoV002Spec = crate::strict_value::from_value(&raw.spec).map_err(err)?;
                let env = s.content.envelope;
                let payload = env.payload.map(decode_inner);
                let signatures = env
                    .signatures
                    .into_iter()
                    .map(|s| IntotoV002Signature {
                        sig: decode_inner(s.sig),
                        public_key_pem: s.public_key,
                    })
                    .collect();
                Ok(RekorV1Entry::IntotoV002(IntotoV002 {
                    payload_type: env.payload_type,
                    payload,
                    signatures,
                    hash: s
                        .content
                        .hash
                        .map(|h| h.decode("spec.content.hash"))
                        .transpose()?,
                    payload_hash: s
                        .content
                        .payload_hash
                        .map(|h| h.decode("spec.content.payloadHash"))
                        .transpose()?,
                }))
            }
            _ => Err(RekorV1Error::UnknownKind {
                kind: raw.kind,
                api_version: raw.api_version,
            }),
        }
    }
}

/// Rekor's intoto 0.0.2 base64-encodes signatures and the payload once more inside the
/// (base64) JSON field, so the field decodes to base64 text, which decodes to the bytes. Some
/// writers encode once; their bytes are not base64 text (a DER signature holds 0x02 bytes), so
/// the two forms cannot be confused, and both are read.
fn decode_inner(once: Vec<u8>) -> Vec<u8> {
    std::str::from_utf8(&once)
        .ok()
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
        })
        .and_then(|t| protojson::decode_bytes(t).ok())
        .unwrap_or(once)
}

#[derive(Deserialize)]
struct RawEntry {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    spec: Value,
}

#[derive(Deserialize)]
struct RawHash {
    algorithm: String,
    value: String,
}

impl RawHash {
    fn decode(self, field: &'static str) -> Result<HexDigest, RekorV1Error> {
        let algorithm = match self.algorithm.as_str() {
            "sha256" => HashAlgorithm::Sha2_256,
            "sha384" => HashAlgorithm::Sha2_384,
            "sha512" => HashAlgorithm::Sha2_512,
            other => {
                return Err(RekorV1Error::InvalidValue {
                    field,
                    reason: format!("algorithm {other:?}; expected sha256, sha384 or sha512"),
                })
            }
        };
        let digest = decode_hex(&self.value).ok_or_else(|| RekorV1Error::InvalidValue {
            field,
            reason: format!("value {:?} is not hex", self.value),
        })?;
        if digest.len() != algorithm.output_len() {
            return Err(RekorV1Error::InvalidValue {
                field,
                reason: format!(
                    "{} bytes; {} has {}",
                    digest.len(),
                    self.algorithm,
                    algorithm.output_len()
                ),
            });
        }
        Ok(HexDigest { algorithm, digest })
    }
}

/// Lowercase hex, as Rekor v1 writes digests, log IDs and entry UUIDs.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Deserialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Deserialize)]
struct HashedRekordData {
    hash: RawHash,
}

#[derive(Deserialize)]
struct HashedRekordSignature {
    #[serde(with = "protojson::bytes")]
    content: Vec<u8>,
    #[serde(rename = "publicKey")]
    public_key: PemContent,
}

#[derive(Deserialize)]
struct PemContent {
    #[serde(with = "protojson::bytes")]
    content: Vec<u8>,
}

#[derive(Deserialize)]
struct DsseSpec {
    #[serde(rename = "envelopeHash", default)]
    envelope_hash: Option<RawHash>,
    #[serde(rename = "payloadHash", default)]
    payload_hash: Option<RawHash>,
    #[serde(default)]
    signatures: Vec<DsseSig>,
}

#[derive(Deserialize)]
struct DsseSig {
    #[serde(with = "protojson::bytes")]
    signature: Vec<u8>,
    #[serde(with = "protojson::bytes")]
    verifier: Vec<u8>,
}

#[derive(Deserialize)]
struct IntotoV001Spec {
    content: IntotoV001Content,
    #[serde(rename = "publicKey", with = "protojson::bytes")]
    public_key: Vec<u8>,
}

#[derive(Deserialize)]
struct IntotoV001Content {
    #[serde(default)]
    hash: Option<RawHash>,
    #[serde(rename = "payloadHash", default)]
    payload_hash: Option<RawHash>,
}

#[derive(Deserialize)]
struct IntotoV002Spec {
    content: IntotoV002Content,
}

#[derive(Deserialize)]
struct IntotoV002Content {
    envelope: IntotoV002Envelope,
    #[serde(default)]
    hash: Option<RawHash>,
    #[serde(rename = "payloadHash", default)]
    payload_hash: Option<RawHash>,
}

#[derive(Deserialize)]
struct IntotoV002Envelope {
    #[serde(default, with = "protojson::opt_bytes")]
    payload: Option<Vec<u8>>,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: Vec<IntotoV002Sig>,
}

#[derive(Deserialize)]
struct IntotoV002Sig {
    #[serde(with = "protojson::bytes")]
    sig: Vec<u8>,
    #[serde(rename = "publicKey", with = "protojson::bytes")]
    public_key: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hashedrekord() {
        let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}},"signature":{"content":"AAE=","publicKey":{"content":"LS0t"}}}}"#;
        let RekorV1Entry::HashedRekordV001(h) = RekorV1Entry::from_json(body).unwrap() else {
            panic!("kind")
        };
        assert_eq!(h.data_hash.algorithm, HashAlgorithm::Sha2_256);
        assert_eq!(h.data_hash.digest[0], 0xa0);
        assert_eq!(h.signature, [0, 1]);
        assert_eq!(h.public_key_pem, b"---");
    }

    #[test]
    fn refuses_unknown_kinds_and_bad_hex() {
        assert!(matches!(
            RekorV1Entry::from_json(br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#),
            Err(RekorV1Error::UnknownKind { .. })
        ));
        let body = br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"zz"}},"signature":{"content":"AAE=","publicKey":{"content":"LS0t"}}}}"#;
        assert!(matches!(
            RekorV1Entry::from_json(body),
            Err(RekorV1Error::InvalidValue { .. })
        ));
    }

    #[test]
    fn intoto_v002_decodes_twice() {
        // sig "AAE=" base64-encoded again is "QUFFPQ==".
        let body = br#"{"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"envelope":{"payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"QUFFPQ==","publicKey":"LS0t"}]},"payloadHash":{"algorithm":"sha256","value":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}}}}"#;
        let RekorV1Entry::IntotoV002(i) = RekorV1Entry::from_json(body).unwrap() else {
            panic!("kind")
        };
        assert_eq!(i.signatures[0].sig, [0, 1]);
        assert!(i.payload.is_none());
    }
}
