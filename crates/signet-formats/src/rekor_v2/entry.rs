//! Turning a request into the entry the log stores: validation, signature checks, and the
//! canonical body (rekor-tiles `pkg/types/hashedrekord`, and `pkg/types/dsse` before it was
//! dropped upstream in #744).
//!
//! The log deduplicates by the leaf hash of the canonical body, so the body depends only on
//! the request's meaning: bytes are decoded and re-encoded, names normalised, and members
//! written in RFC 8785 order.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::Value;
use signet_crypto::{CryptoError, HashAlgorithm, PublicKey, PublicKeyDetails};

use super::request::{
    CreateEntryRequest, DsseRequestV002, HashedRekordRequestV002, Signature, Verifier, VerifierKey,
    MAX_SIGNATURES, MAX_VERIFIERS,
};
use super::EntryError;
use crate::common::HashOutput;
use crate::protojson::Object;

/// The kind name of hashedrekord entries.
pub const HASHEDREKORD: &str = "hashedrekord";
/// The kind name of DSSE entries.
pub const DSSE: &str = "dsse";
/// The entry version Rekor v2 writes for both kinds.
pub const API_VERSION_V002: &str = "0.0.2";

/// A validated entry, ready to be sequenced: its kind and version, and the canonical body
/// whose RFC 6962 leaf hash the log stores and deduplicates by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub canonical_body: Vec<u8>,
}

/// Parses and validates a `CreateEntryRequest` body and builds its log entry: the structure is
/// checked, the verifier parsed, and every signature verified.
pub fn entry_from_request(body: &[u8]) -> Result<LogEntry, EntryError> {
    CreateEntryRequest::from_json(body)?.to_log_entry()
}

/// `Entry`: the stored body of a Rekor v2 log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub spec: Spec,
}

/// The `spec` oneof of `Entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    HashedRekordV002(HashedRekordLogEntryV002),
    DsseV002(DsseLogEntryV002),
}

/// `HashedRekordLogEntryV002`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedRekordLogEntryV002 {
    pub data: HashOutput,
    pub signature: Signature,
}

/// `DSSELogEntryV002`: the payload's SHA-256 and the verified signatures, sorted by their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsseLogEntryV002 {
    pub payload_hash: HashOutput,
    pub signatures: Vec<Signature>,
}

impl Entry {
    pub fn kind(&self) -> &'static str {
        match self.spec {
            Spec::HashedRekordV002(_) => HASHEDREKORD,
            Spec::DsseV002(_) => DSSE,
        }
    }

    pub fn api_version(&self) -> &'static str {
        API_VERSION_V002
    }

    /// The RFC 8785 canonical JSON of the entry: the log entry's body.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Every Serialize impl of the entry writes its members in canonical order and the
        // values are strings without characters JCS escapes differently, so serde_json's
        // compact output is already canonical (checked against `canonical_json` in tests).
        serde_json::to_vec(self).expect("entry serialisation cannot fail")
    }

    pub fn to_log_entry(&self) -> LogEntry {
        LogEntry {
            kind: self.kind(),
            api_version: self.api_version(),
            canonical_body: self.canonical_json(),
        }
    }

    /// Parses a stored body (a `canonicalizedBody`), checking that `kind` and `apiVersion`
    /// agree with the spec. Signatures are not verified.
    pub fn from_json(body: &[u8]) -> Result<Self, EntryError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| EntryError::Json(e.to_string()))?;
        let mut o = Object::new("", value)?;
        let kind = o.string("kind")?;
        let api_version = o.string("apiVersion")?;
        let mut spec = o.required_object("spec")?;
        o.finish()?;
        let hashed = spec.object("hashedRekordV002")?;
        let dsse = spec.object("dsseV002")?;
        if let Some(found) = spec.remaining_key() {
            return Err(EntryError::UnknownKind {
                found: found.to_string(),
            });
        }
        let spec = match (hashed, dsse) {
            (Some(mut h), None) => {
                let data = HashOutput::read(h.required_object("data")?)?;
                let signature = Signature::read(h.required_object("signature")?)?;
                h.finish()?;
                Spec::HashedRekordV002(HashedRekordLogEntryV002 { data, signature })
            }
            (None, Some(mut d)) => {
                let payload_hash = HashOutput::read(d.required_object("payloadHash")?)?;
                let path = d.path("signatures");
                let signatures = d
                    .array("signatures", MAX_SIGNATURES)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| Signature::read(Object::new(format!("{path}[{i}]"), v)?))
                    .collect::<Result<_, _>>()?;
                d.finish()?;
                Spec::DsseV002(DsseLogEntryV002 {
                    payload_hash,
                    signatures,
                })
            }
            (Some(_), Some(_)) => return Err(EntryError::MultipleKinds),
            (None, None) => return Err(EntryError::NoKind),
        };
        let entry = Entry { spec };
        if kind != entry.kind() || api_version != entry.api_version() {
            return Err(EntryError::KindMismatch {
                kind,
                api_version,
                spec: match entry.spec {
                    Spec::HashedRekordV002(_) => "hashedRekordV002",
                    Spec::DsseV002(_) => "dsseV002",
                },
            });
        }
        Ok(entry)
    }
}

impl CreateEntryRequest {
    /// Validates the request and builds the entry to store.
    pub fn to_entry(&self) -> Result<Entry, EntryError> {
        match self {
            CreateEntryRequest::HashedRekordRequestV002(r) => r.to_entry(),
            CreateEntryRequest::DsseRequestV002(r) => r.to_entry(),
        }
    }

    pub fn to_log_entry(&self) -> Result<LogEntry, EntryError> {
        Ok(self.to_entry()?.to_log_entry())
    }
}

impl HashedRekordRequestV002 {
    /// Checks the verifier fits `keyDetails`, the digest has that scheme's hash length, and the
    /// signature verifies over the digest (prehashed), as rekor-tiles' `hashedrekord.ToLogEntry`.
    pub fn to_entry(&self) -> Result<Entry, EntryError> {
        const AT: &str = "hashedRekordRequestV002";
        if self.digest.is_empty() {
            return Err(EntryError::missing(format!("{AT}.digest")));
        }
        if self.signature.content.is_empty() {
            return Err(EntryError::missing(format!("{AT}.signature.content")));
        }
        let verifier = &self.signature.verifier;
        let key = parse_verifier(verifier, &format!("{AT}.signature.verifier"))?;
        let details = verifier.key_details;
        if details == PublicKeyDetails::PKIX_ED25519 {
            return Err(EntryError::UnsupportedAlgorithm {
                field: format!("{AT}.signature.verifier.keyDetails"),
                detail: "PKIX_ED25519 signs whole messages, but hashedrekord has only a digest; \
                         expected a prehash scheme"
                    .into(),
            });
        }
        let hash = details.hash_algorithm();
        if self.digest.len() != hash.output_len() {
            return Err(EntryError::DigestLength {
                field: format!("{AT}.digest"),
                key_details: details,
                algorithm: hash.proto_name(),
                expected: hash.output_len(),
                got: self.digest.len(),
            });
        }
        key.verify_digest(details, &self.digest, &self.signature.content)
            .map_err(|e| {
                signature_error(
                    e,
                    format!("{AT}.signature.content"),
                    format!("{AT}.signature.verifier.keyDetails"),
                )
            })?;
        Ok(Entry {
            spec: Spec::HashedRekordV002(HashedRekordLogEntryV002 {
                data: HashOutput {
                    algorithm: hash,
                    digest: self.digest.clone(),
                },
                signature: self.signature.clone(),
            }),
        })
    }
}

impl DsseRequestV002 {
    /// Checks every envelope signature verifies over the DSSE PAE with one of the (distinct)
    /// verifiers, as rekor-tiles' `dsse.ToLogEntry` did. The body lists each distinct signature
    /// once, sorted by its bytes, with the first verifier (in request order) that accepts it.
    pub fn to_entry(&self) -> Result<Entry, EntryError> {
        const AT: &str = "dsseRequestV002";
        if self.verifiers.is_empty() {
            return Err(EntryError::missing(format!("{AT}.verifiers")));
        }
        if self.verifiers.len() > MAX_VERIFIERS {
            return Err(EntryError::too_many(
                format!("{AT}.verifiers"),
                MAX_VERIFIERS,
                self.verifiers.len(),
            ));
        }
        let sigs = &self.envelope.signatures;
        if sigs.is_empty() {
            return Err(EntryError::missing(format!("{AT}.envelope.signatures")));
        }
        if sigs.len() > MAX_SIGNATURES {
            return Err(EntryError::too_many(
                format!("{AT}.envelope.signatures"),
                MAX_SIGNATURES,
                sigs.len(),
            ));
        }
        if let Some(i) = sigs.iter().position(|s| s.sig.is_empty()) {
            return Err(EntryError::missing(format!("{AT}.envelope.signatures[{i}].sig")));
        }
        for (i, v) in self.verifiers.iter().enumerate() {
            let raw = v.key.raw_bytes();
            if self.verifiers[..i].iter().any(|w| w.key.raw_bytes() == raw) {
                return Err(EntryError::DuplicateVerifier {
                    field: format!("{AT}.verifiers[{i}]"),
                });
            }
        }
        let keys = self
            .verifiers
            .iter()
            .enumerate()
            .map(|(i, v)| parse_verifier(v, &format!("{AT}.verifiers[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;

        let pae = self.envelope.pae();
        let mut verified: BTreeMap<&[u8], &Verifier> = BTreeMap::new();
        for (i, s) in sigs.iter().enumerate() {
            let mut by = None;
            for (j, (key, verifier)) in keys.iter().zip(&self.verifiers).enumerate() {
                match key.verify(verifier.key_details, &pae, &s.sig) {
                    Ok(()) => {
                        by = Some(verifier);
                        break;
                    }
                    Err(CryptoError::BadSignature) => continue,
                    Err(e) => {
                        return Err(signature_error(
                            e,
                            format!("{AT}.envelope.signatures[{i}]"),
                            format!("{AT}.verifiers[{j}].keyDetails"),
                        ))
                    }
                }
            }
            let by = by.ok_or_else(|| EntryError::UnverifiedSignature {
                field: format!("{AT}.envelope.signatures[{i}]"),
            })?;
            verified.entry(&s.sig).or_insert(by);
        }

        Ok(Entry {
            spec: Spec::DsseV002(DsseLogEntryV002 {
                // SHA-256 whatever the signature schemes, as Rekor does; clients must not use it
                // to verify signatures.
                payload_hash: HashOutput {
                    algorithm: HashAlgorithm::Sha2_256,
                    digest: signet_crypto::sha256(&self.envelope.payload).to_vec(),
                },
                signatures: verified
                    .into_iter()
                    .map(|(sig, v)| Signature {
                        content: sig.to_vec(),
                        verifier: v.clone(),
                    })
                    .collect(),
            }),
        })
    }
}

/// Parses a verifier's key or certificate and checks its `keyDetails` fits the key.
fn parse_verifier(v: &Verifier, field: &str) -> Result<PublicKey, EntryError> {
    let key = match &v.key {
        VerifierKey::PublicKey(der) => {
            PublicKey::from_spki_der(der).map_err(|source| EntryError::InvalidPublicKey {
                field: format!("{field}.publicKey.rawBytes"),
                source,
            })?
        }
        VerifierKey::X509Certificate(der) => {
            PublicKey::from_certificate_der(der).map_err(|source| EntryError::InvalidCertificate {
                field: format!("{field}.x509Certificate.rawBytes"),
                source,
            })?
        }
    };
    key.check_details(v.key_details)
        .map_err(|_| EntryError::KeyDetailsMismatch {
            field: format!("{field}.keyDetails"),
            key_details: v.key_details,
            key: key.kind().to_string(),
        })?;
    Ok(key)
}

/// Maps a verification failure to the error naming its cause.
fn signature_error(e: CryptoError, sig_field: String, details_field: String) -> EntryError {
    match e {
        CryptoError::BadSignature => EntryError::InvalidSignature { field: sig_field },
        CryptoError::UnsupportedKey(detail) => EntryError::UnsupportedAlgorithm {
            field: details_field,
            detail: format!("unsupported: {detail}"),
        },
        source => EntryError::Crypto {
            field: sig_field,
            source,
        },
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Entry", 3)?;
        st.serialize_field("apiVersion", self.api_version())?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("spec", &self.spec)?;
        st.end()
    }
}

impl Serialize for Spec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Spec::HashedRekordV002(h) => m.serialize_entry("hashedRekordV002", h)?,
            Spec::DsseV002(d) => m.serialize_entry("dsseV002", d)?,
        }
        m.end()
    }
}

impl Serialize for HashedRekordLogEntryV002 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("HashedRekordLogEntryV002", 2)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("signature", &self.signature)?;
        st.end()
    }
}

impl Serialize for DsseLogEntryV002 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("DSSELogEntryV002", 2)?;
        st.serialize_field("payloadHash", &self.payload_hash)?;
        st.serialize_field("signatures", &self.signatures)?;
        st.end()
    }
}
