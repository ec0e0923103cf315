//! The Sigstore bundle (protobuf-specs `sigstore_bundle.proto`, `dev.sigstore.bundle.v1`):
//! verification material (a certificate, a chain or a key hint; transparency log entries; RFC
//! 3161 timestamps) and the signed content (a message signature or a DSSE envelope).
//!
//! Parsing is strict, as sigstore-python's is and as the client spec asks (§5: "Clients SHOULD
//! NOT accept other variants"): an unknown media type, an unknown field, malformed base64, a
//! negative index, or a shape the bundle version does not allow is an error naming its field.
//! The per-version rules are those of protobuf-specs and sigstore-go's `Bundle.validate`:
//! v0.1 entries carry an inclusion promise; from v0.2 they carry an inclusion proof; v0.3 has a
//! single `certificate` and no chain.

use serde::{Serialize, Serializer};
use serde_json::Value;
use thiserror::Error;

use crate::common::{Bytes, HashOutput};
use crate::dsse::Envelope;
use crate::protojson::{type_name, FieldError, Object};
use crate::rekor_v2::{Checkpoint, InclusionPromise, InclusionProof, KindVersion, TransparencyLogEntry};

/// Media type of v0.1 bundles.
pub const MEDIA_TYPE_V0_1: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// Media type of v0.2 bundles.
pub const MEDIA_TYPE_V0_2: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// The first media type of v0.3 bundles.
pub const MEDIA_TYPE_V0_3_LEGACY: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// The media type of v0.3 bundles in the current form; what signet writes.
pub const MEDIA_TYPE_V0_3: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The most transparency log entries and timestamps a bundle may carry; far above what any
/// client writes, it bounds the work a hostile bundle can ask of a verifier.
pub const MAX_TLOG_ENTRIES: usize = 32;
/// See [`MAX_TLOG_ENTRIES`].
pub const MAX_TIMESTAMPS: usize = 32;
/// The most certificates accepted in a v0.1/v0.2 `x509CertificateChain`.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;
/// The most audit-path hashes in an inclusion proof (a tree of 2^64 leaves needs 64).
pub const MAX_PROOF_HASHES: usize = 64;

/// A bundle format version, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BundleVersion {
    V0_1,
    V0_2,
    V0_3,
}

impl BundleVersion {
    /// The version a media type names, if signet reads it.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            MEDIA_TYPE_V0_1 => Some(BundleVersion::V0_1),
            MEDIA_TYPE_V0_2 => Some(BundleVersion::V0_2),
            MEDIA_TYPE_V0_3 | MEDIA_TYPE_V0_3_LEGACY => Some(BundleVersion::V0_3),
            _ => None,
        }
    }

    /// The version as people write it (`v0.3`).
    pub fn as_str(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => "v0.1",
            BundleVersion::V0_2 => "v0.2",
            BundleVersion::V0_3 => "v0.3",
        }
    }

    /// The media type signet writes for this version.
    pub fn media_type(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => MEDIA_TYPE_V0_1,
            BundleVersion::V0_2 => MEDIA_TYPE_V0_2,
            BundleVersion::V0_3 => MEDIA_TYPE_V0_3,
        }
    }
}

impl std::fmt::Display for BundleVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a bundle was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    #[error("bundle is not valid JSON: {0}")]
    Json(String),
    /// A field is missing, of the wrong type, unknown, not base64, or otherwise malformed.
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("unknown bundle mediaType {found:?}; expected {MEDIA_TYPE_V0_1}, {MEDIA_TYPE_V0_2}, {MEDIA_TYPE_V0_3_LEGACY} or {MEDIA_TYPE_V0_3}")]
    MediaType { found: String },
    #[error("{field}: a {version} bundle carries {expected}, but this one carries {found}")]
    VersionShape {
        field: String,
        version: BundleVersion,
        found: &'static str,
        expected: &'static str,
    },
    #[error("{field}: {reason}")]
    InvalidValue { field: String, reason: String },
}

/// `Bundle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The media type as written (two spellings name v0.3).
    pub media_type: String,
    pub version: BundleVersion,
    pub verification_material: VerificationMaterial,
    pub content: BundleContent,
}

/// `VerificationMaterial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationMaterial {
    pub content: VerificationMaterialContent,
    pub tlog_entries: Vec<TransparencyLogEntry>,
    pub timestamp_verification_data: TimestampVerificationData,
}

/// The `content` oneof of `VerificationMaterial`: who signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationMaterialContent {
    /// v0.1 and v0.2: DER certificates, leaf first.
    X509CertificateChain(Vec<Vec<u8>>),
    /// v0.3: the DER leaf certificate alone.
    Certificate(Vec<u8>),
    /// A key the verifier must already hold; `hint` is unauthenticated.
    PublicKey { hint: String },
}

impl VerificationMaterialContent {
    /// The leaf certificate, if the signer is identified by one.
    pub fn leaf_certificate(&self) -> Option<&[u8]> {
        match self {
            VerificationMaterialContent::X509CertificateChain(chain) => chain.first().map(Vec::as_slice),
            VerificationMaterialContent::Certificate(der) => Some(der),
            VerificationMaterialContent::PublicKey { .. } => None,
        }
    }
}

/// `TimestampVerificationData`: RFC 3161 time-stamp tokens (`signedTimestamp`, DER).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimestampVerificationData {
    pub rfc3161_timestamps: Vec<Vec<u8>>,
}

/// The `content` oneof of `Bundle`: what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleContent {
    MessageSignature(MessageSignature),
    DsseEnvelope(Envelope),
}

impl BundleContent {
    /// The signature bytes a timestamp authority time-stamps: the message signature, or the
    /// DSSE envelope's (first) signature.
    pub fn signature_bytes(&self) -> Option<&[u8]> {
        match self {
            BundleContent::MessageSignature(m) => Some(&m.signature),
            BundleContent::DsseEnvelope(e) => e.signatures.first().map(|s| s.sig.as_slice()),
        }
    }
}

/// `MessageSignature`: a signature over an artifact, with its digest as an unauthenticated hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    pub message_digest: Option<HashOutput>,
    pub signature: Vec<u8>,
}

impl Bundle {
    /// Parses a bundle strictly (see the module documentation).
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        let value: Value = serde_json::from_slice(json).map_err(|e| BundleError::Json(e.to_string()))?;
        Self::from_value(value)
    }

    /// Parses a bundle already read as JSON.
    pub fn from_value(value: Value) -> Result<Self, BundleError> {
        let mut o = Object::new("", value)?;
        let media_type = o.string("mediaType")?;
        let version = BundleVersion::from_media_type(&media_type).ok_or_else(|| BundleError::MediaType {
            found: media_type.clone(),
        })?;
        let verification_material = read_material(o.required_object("verificationMaterial")?, version)?;
        let message = o.object("messageSignature")?;
        let dsse = o.object("dsseEnvelope")?;
        o.finish()?;
        let content = match (message, dsse) {
            (Some(m), None) => BundleContent::MessageSignature(read_message_signature(m)?),
            (None, Some(d)) => BundleContent::DsseEnvelope(read_envelope(d)?),
            (Some(_), Some(_)) => {
                return Err(FieldError::OneofConflict {
                    field: "content".into(),
                    found: "messageSignature and dsseEnvelope".into(),
                }
                .into())
            }
            (None, None) => {
                return Err(FieldError::MissingField {
                    field: "messageSignature or dsseEnvelope".into(),
                }
                .into())
            }
        };
        Ok(Bundle {
            media_type,
            version,
            verification_material,
            content,
        })
    }

    /// The bundle as protobuf-JSON: camelCase names, base64 bytes, 64-bit integers as strings,
    /// `logIndex` and `hashes` present even when zero or empty (sigstore-python requires them).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("bundle serialisation cannot fail")
    }
}

fn read_material(mut o: Object, version: BundleVersion) -> Result<VerificationMaterial, BundleError> {
    let chain = o.object("x509CertificateChain")?;
    let certificate = o.object("certificate")?;
    let public_key = o.object("publicKey")?;
    let entries_path = o.path("tlogEntries");
    let entries = o.array("tlogEntries", MAX_TLOG_ENTRIES)?;
    let tsd = o.object("timestampVerificationData")?;
    let content_path = o.path("content");
    o.finish()?;

    let content = match (chain, certificate, public_key) {
        (Some(mut c), None, None) => {
            if version >= BundleVersion::V0_3 {
                return Err(BundleError::VersionShape {
                    field: "verificationMaterial.x509CertificateChain".into(),
                    version,
                    found: "a certificate chain",
                    expected: "the signing certificate alone (certificate)",
                });
            }
            let path = c.path("certificates");
            let certs = c.array("certificates", MAX_CHAIN_CERTIFICATES)?;
            c.finish()?;
            if certs.is_empty() {
                return Err(FieldError::MissingField { field: path }.into());
            }
            let certs = certs
                .into_iter()
                .enumerate()
                .map(|(i, v)| read_certificate(Object::new(format!("{path}[{i}]"), v)?))
                .collect::<Result<_, _>>()?;
            VerificationMaterialContent::X509CertificateChain(certs)
        }
        (None, Some(c), None) => {
            if version < BundleVersion::V0_3 {
                return Err(BundleError::VersionShape {
                    field: "verificationMaterial.certificate".into(),
                    version,
                    found: "a single certificate (certificate, new in v0.3)",
                    expected: "a certificate chain (x509CertificateChain)",
                });
            }
            VerificationMaterialContent::Certificate(read_certificate(c)?)
        }
        (None, None, Some(mut k)) => {
            let hint = k.string("hint")?;
            k.finish()?;
            VerificationMaterialContent::PublicKey { hint }
        }
        (None, None, None) => {
            return Err(FieldError::MissingField {
                field: format!("{content_path} (x509CertificateChain, certificate or publicKey)"),
            }
            .into())
        }
        _ => {
            return Err(FieldError::OneofConflict {
                field: content_path,
                found: "more than one of x509CertificateChain, certificate, publicKey".into(),
            }
            .into())
        }
    };

    let tlog_entries = entries
        .into_iter()
        .enumerate()
        .map(|(i, v)| read_tlog_entry(Object::new(format!("{entries_path}[{i}]"), v)?, version))
        .collect::<Result<Vec<_>, _>>()?;

    let timestamp_verification_data = match tsd {
        None => TimestampVerificationData::default(),
        Some(mut t) => {
            let path = t.path("rfc3161Timestamps");
            let items = t.array("rfc3161Timestamps", MAX_TIMESTAMPS)?;
            t.finish()?;
            let rfc3161_timestamps = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut ts = Object::new(format!("{path}[{i}]"), v)?;
                    let der = required_bytes(&mut ts, "signedTimestamp")?;
                    ts.finish()?;
                    Ok(der)
                })
                .collect::<Result<_, BundleError>>()?;
            TimestampVerificationData { rfc3161_timestamps }
        }
    };

    Ok(VerificationMaterial {
        content,
        tlog_entries,
        timestamp_verification_data,
    })
}

fn read_certificate(mut o: Object) -> Result<Vec<u8>, BundleError> {
    let der = required_bytes(&mut o, "rawBytes")?;
    o.finish()?;
    Ok(der)
}

fn read_message_signature(mut o: Object) -> Result<MessageSignature, BundleError> {
    let message_digest = o.object("messageDigest")?.map(HashOutput::read).transpose()?;
    let signature = required_bytes(&mut o, "signature")?;
    o.finish()?;
    Ok(MessageSignature {
        message_digest,
        signature,
    })
}

fn read_envelope(o: Object) -> Result<Envelope, BundleError> {
    let type_path = o.path("payloadType");
    let sigs_path = o.path("signatures");
    let envelope = Envelope::read(o, MAX_TLOG_ENTRIES)?;
    if envelope.payload_type.is_empty() {
        return Err(FieldError::MissingField { field: type_path }.into());
    }
    if envelope.signatures.is_empty() {
        return Err(FieldError::MissingField { field: sigs_path }.into());
    }
    if let Some(i) = envelope.signatures.iter().position(|s| s.sig.is_empty()) {
        return Err(FieldError::MissingField {
            field: format!("{sigs_path}[{i}].sig"),
        }
        .into());
    }
    Ok(envelope)
}

/// Decodes a protojson `bytes` value as Go's protojson does, which (through `encoding/base64`)
/// skips `\r` and `\n`: a timestamp pasted from `base64` output with line breaks still reads.
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    if text.contains(['\r', '\n']) {
        let joined: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        crate::protojson::decode_bytes(&joined)
    } else {
        crate::protojson::decode_bytes(text)
    }
}

/// Takes a `bytes` field that must be set and non-empty (see [`decode_base64`]).
fn required_bytes(o: &mut Object, camel: &str) -> Result<Vec<u8>, BundleError> {
    let field = o.path(camel);
    let bytes = match o.take(camel)? {
        None => Vec::new(),
        Some(Value::String(s)) => decode_base64(&s).map_err(|e| FieldError::Base64 {
            field: field.clone(),
            detail: e.to_string(),
        })?,
        Some(other) => {
            return Err(FieldError::WrongType {
                field,
                expected: "a base64 string",
                found: type_name(&other),
            }
            .into())
        }
    };
    if bytes.is_empty() {
        return Err(FieldError::MissingField { field }.into());
    }
    Ok(bytes)
}

/// Reads a protojson 64-bit integer field (a decimal string or a JSON number); unset is `None`.
fn int64(o: &mut Object, camel: &str) -> Result<Option<i64>, BundleError> {
    let field = o.path(camel);
    let Some(v) = o.take(camel)? else {
        return Ok(None);
    };
    let parsed = match &v {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        other => {
            return Err(FieldError::WrongType {
                field,
                expected: "a 64-bit integer",
                found: type_name(other),
            }
            .into())
        }
    };
    parsed.map(Some).ok_or_else(|| BundleError::InvalidValue {
        field,
        reason: format!("{v} is not a 64-bit integer"),
    })
}

/// Reads a field that must be a non-negative 64-bit integer (a log index or a tree size). A
/// negative value is refused here: Rekor's indices are `int64` on the wire but never negative.
fn non_negative(o: &mut Object, camel: &str, required: bool) -> Result<u64, BundleError> {
    let field = o.path(camel);
    match int64(o, camel)? {
        Some(n) if n >= 0 => Ok(n as u64),
        Some(n) => Err(BundleError::InvalidValue {
            field,
            reason: format!("{n} is negative; expected an index or size >= 0"),
        }),
        None if required => Err(FieldError::MissingField { field }.into()),
        // protojson drops zero-valued fields, so an absent index is 0.
        None => Ok(0),
    }
}

fn read_tlog_entry(mut o: Object, version: BundleVersion) -> Result<TransparencyLogEntry, BundleError> {
    let log_index = non_negative(&mut o, "logIndex", false)?;
    let mut log_id = o.required_object("logId")?;
    let key_id = required_bytes(&mut log_id, "keyId")?;
    log_id.finish()?;
    let mut kv = o.required_object("kindVersion")?;
    let kind = kv.string("kind")?;
    let kind_version = kv.string("version")?;
    if kind.is_empty() || kind_version.is_empty() {
        return Err(FieldError::MissingField {
            field: kv.path("kind/version"),
        }
        .into());
    }
    kv.finish()?;
    let integrated_time = int64(&mut o, "integratedTime")?;
    let promise_path = o.path("inclusionPromise");
    let inclusion_promise = match o.object("inclusionPromise")? {
        Some(mut p) => {
            let signed_entry_timestamp = required_bytes(&mut p, "signedEntryTimestamp")?;
            p.finish()?;
            Some(InclusionPromise {
                signed_entry_timestamp,
            })
        }
        None => None,
    };
    let proof_path = o.path("inclusionProof");
    let inclusion_proof = o
        .object("inclusionProof")?
        .map(read_inclusion_proof)
        .transpose()?;
    let canonicalized_body = required_bytes(&mut o, "canonicalizedBody")?;
    o.finish()?;

    // protobuf-specs: v0.1 bundles rely on the SET; from v0.2 an inclusion proof is required.
    if version == BundleVersion::V0_1 && inclusion_promise.is_none() {
        return Err(FieldError::MissingField { field: promise_path }.into());
    }
    if version >= BundleVersion::V0_2 && inclusion_proof.is_none() {
        return Err(FieldError::MissingField { field: proof_path }.into());
    }
    Ok(TransparencyLogEntry {
        log_index,
        log_id: crate::common::LogId { key_id },
        kind_version: KindVersion {
            kind,
            version: kind_version,
        },
        integrated_time,
        inclusion_promise,
        inclusion_proof,
        canonicalized_body,
    })
}

fn read_inclusion_proof(mut o: Object) -> Result<InclusionProof, BundleError> {
    let log_index = non_negative(&mut o, "logIndex", false)?;
    let root_hash = required_bytes(&mut o, "rootHash")?;
    let tree_size = non_negative(&mut o, "treeSize", true)?;
    let path = o.path("hashes");
    let hashes = o
        .array("hashes", MAX_PROOF_HASHES)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("{path}[{i}]");
            match v {
                Value::String(s) => decode_base64(&s).map_err(|e| {
                    BundleError::Field(FieldError::Base64 {
                        field,
                        detail: e.to_string(),
                    })
                }),
                other => Err(FieldError::WrongType {
                    field,
                    expected: "a base64 string",
                    found: type_name(&other),
                }
                .into()),
            }
        })
        .collect::<Result<_, _>>()?;
    let checkpoint = match o.object("checkpoint")? {
        Some(mut c) => {
            let envelope = c.string("envelope")?;
            if envelope.is_empty() {
                return Err(FieldError::MissingField {
                    field: c.path("envelope"),
                }
                .into());
            }
            c.finish()?;
            Some(Checkpoint { envelope })
        }
        None => None,
    };
    o.finish()?;
    Ok(InclusionProof {
        log_index,
        root_hash,
        tree_size,
        hashes,
        checkpoint,
    })
}

// Serialisation: members in the order protobuf-specs declares them, as the clients write them.

impl Serialize for Bundle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Bundle", 3)?;
        st.serialize_field("mediaType", &self.media_type)?;
        st.serialize_field("verificationMaterial", &self.verification_material)?;
        match &self.content {
            BundleContent::MessageSignature(m) => st.serialize_field("messageSignature", m)?,
            BundleContent::DsseEnvelope(e) => st.serialize_field("dsseEnvelope", e)?,
        }
        st.end()
    }
}

impl Serialize for VerificationMaterial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        #[derive(Serialize)]
        struct Cert<'a> {
            #[serde(rename = "rawBytes")]
            raw_bytes: Bytes<'a>,
        }
        #[derive(Serialize)]
        struct Chain<'a> {
            certificates: Vec<Cert<'a>>,
        }
        #[derive(Serialize)]
        struct Hint<'a> {
            hint: &'a str,
        }
        #[derive(Serialize)]
        struct Signed<'a> {
            #[serde(rename = "signedTimestamp")]
            signed_timestamp: Bytes<'a>,
        }
        #[derive(Serialize)]
        struct Tsd<'a> {
            #[serde(rename = "rfc3161Timestamps")]
            rfc3161_timestamps: Vec<Signed<'a>>,
        }
        let mut st = s.serialize_struct("VerificationMaterial", 3)?;
        match &self.content {
            VerificationMaterialContent::X509CertificateChain(chain) => st.serialize_field(
                "x509CertificateChain",
                &Chain {
                    certificates: chain.iter().map(|c| Cert { raw_bytes: Bytes(c) }).collect(),
                },
            )?,
            VerificationMaterialContent::Certificate(der) => st.serialize_field(
                "certificate",
                &Cert {
                    raw_bytes: Bytes(der),
                },
            )?,
            VerificationMaterialContent::PublicKey { hint } => {
                st.serialize_field("publicKey", &Hint { hint })?
            }
        }
        st.serialize_field("tlogEntries", &self.tlog_entries)?;
        let ts = &self.timestamp_verification_data.rfc3161_timestamps;
        if !ts.is_empty() {
            st.serialize_field(
                "timestampVerificationData",
                &Tsd {
                    rfc3161_timestamps: ts
                        .iter()
                        .map(|t| Signed {
                            signed_timestamp: Bytes(t),
                        })
                        .collect(),
                },
            )?;
        }
        st.end()
    }
}

impl Serialize for MessageSignature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("MessageSignature", 2)?;
        if let Some(d) = &self.message_digest {
            st.serialize_field("messageDigest", d)?;
        }
        st.serialize_field("signature", &Bytes(&self.signature))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "MIIBAg==";

    fn v3(content: &str) -> String {
        format!(
            r#"{{"mediaType":"{MEDIA_TYPE_V0_3}","verificationMaterial":{{"certificate":{{"rawBytes":"{CERT}"}},"tlogEntries":[{{"logIndex":"0","logId":{{"keyId":"AAE="}},"kindVersion":{{"kind":"hashedrekord","version":"0.0.2"}},"inclusionProof":{{"logIndex":"0","rootHash":"AAE=","treeSize":"1","hashes":[],"checkpoint":{{"envelope":"x\n"}}}},"canonicalizedBody":"e30="}}],"timestampVerificationData":{{"rfc3161Timestamps":[{{"signedTimestamp":"AAE="}}]}}}},{content}}}"#
        )
    }

    #[test]
    fn round_trips_a_v03_bundle() {
        let json = v3(
            r#""messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":"AAE="},"signature":"AAE="}"#,
        );
        let b = Bundle::from_json(json.as_bytes()).unwrap();
        assert_eq!(b.version, BundleVersion::V0_3);
        assert_eq!(b.verification_material.tlog_entries[0].log_index, 0);
        let out = b.to_json();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains(r#""logIndex":"0""#) && text.contains(r#""hashes":[]"#),
            "{text}"
        );
        assert_eq!(Bundle::from_json(&out).unwrap(), b);
    }

    #[test]
    fn refuses_bad_shapes() {
        let ok = v3(r#""messageSignature":{"signature":"AAE="}"#);
        assert!(Bundle::from_json(ok.as_bytes()).is_ok());
        let cases = [
            ok.replace(MEDIA_TYPE_V0_3, "application/vnd.dev.sigstore.bundle+json;version=99.9"),
            ok.replace(r#""signature":"AAE=""#, r#""signature":"!!""#),
            ok.replace(r#""logIndex":"0","logId""#, r#""logIndex":"-1","logId""#),
            ok.replace(r#""certificate":{"rawBytes":"MIIBAg=="}"#, r#""x509CertificateChain":{"certificates":[{"rawBytes":"MIIBAg=="}]}"#),
            ok.replace(r#","inclusionProof":{"logIndex":"0","rootHash":"AAE=","treeSize":"1","hashes":[],"checkpoint":{"envelope":"x\n"}}"#, ""),
            ok.replace(r#""signature":"AAE=""#, r#""signature":"AAE=","extra":1"#),
            ok.replace(r#""messageSignature":{"signature":"AAE="}"#, r#""messageSignature":{"signature":"AAE="},"dsseEnvelope":{}"#),
            ok[..ok.len() - 3].to_string(),
        ];
        for c in cases {
            assert!(Bundle::from_json(c.as_bytes()).is_err(), "{c}");
        }
    }

    #[test]
    fn a_shape_the_version_does_not_allow_is_named_in_words() {
        let ok = v3(r#""messageSignature":{"signature":"AAE="}"#);
        let chain = ok.replace(
            r#""certificate":{"rawBytes":"MIIBAg=="}"#,
            r#""x509CertificateChain":{"certificates":[{"rawBytes":"MIIBAg=="}]}"#,
        );
        let e = Bundle::from_json(chain.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            e,
            "verificationMaterial.x509CertificateChain: a v0.3 bundle carries the signing \
             certificate alone (certificate), but this one carries a certificate chain"
        );
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = Bundle::from_json(&bytes);
        }

        #[test]
        fn parsing_mutated_bundles_never_panics(at in 0usize..600, byte in proptest::num::u8::ANY) {
            let mut json = v3(r#""dsseEnvelope":{"payload":"aGk=","payloadType":"t","signatures":[{"sig":"AAE="}]}"#).into_bytes();
            let i = at % json.len();
            json[i] = byte;
            let _ = Bundle::from_json(&json);
        }
    }
}
