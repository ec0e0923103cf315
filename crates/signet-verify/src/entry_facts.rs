//! What a log entry says about who signed what: the artifact digest, and for each signature
//! the certificate's identity (SAN, OIDC issuer, extensions) and fingerprints, or the public
//! key's fingerprint. Three readers, one per kind of log: [`read_entry`] (Rekor v2
//! hashedrekord/dsse 0.0.2), [`read_v1_entry`] (Rekor v1 hashedrekord 0.0.1, dsse 0.0.1,
//! intoto 0.0.1/0.0.2, the kinds signet's v1 log accepts) and [`read_ct_entry`] (an RFC 6962
//! `MerkleTreeLeaf`: the certificate or precertificate a CA logged). Signatures are not
//! verified: the log did that on entry, and the question is only whose name appears in the
//! log. One reading of entries for every reader of logs: the monitor's watch rules and the
//! search index's postings (`signet-index`) both use it.

use der::asn1::{Ia5StringRef, ObjectIdentifier, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use signet_formats::common::Timestamp;
use signet_formats::rekor_v1::{RekorV1Entry, RekorV1Error};
use signet_formats::rekor_v2::{Entry, EntryError, Spec, VerifierKey};
use signet_x509::fulcio::read_identity_from_tbs;
use signet_x509::sct::{decode_merkle_tree_leaf, OwnedLogEntry};
use signet_x509::CertificateIdentity;
use thiserror::Error;
use x509_cert::certificate::TbsCertificate;
use x509_cert::Certificate;

/// Why an entry could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EntryParseError {
    #[error("entry body is not a Rekor v2 hashedrekord/dsse 0.0.2 entry: {0}")]
    Body(#[from] EntryError),
    #[error("signature {signature}: certificate is not DER X.509: {reason}")]
    Certificate { signature: usize, reason: String },
    #[error("entry body is not a Rekor v1 entry: {0}")]
    V1Body(RekorV1Error),
    #[error("signature {signature}: verifier is not a PEM certificate or public key: {reason}")]
    Pem { signature: usize, reason: String },
    #[error("CT leaf is not an RFC 6962 MerkleTreeLeaf: {0}")]
    CtLeaf(String),
    #[error("CT leaf's {what} is not DER X.509: {reason}")]
    CtCertificate { what: &'static str, reason: String },
}

/// The facts of one entry a watch rule can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFacts {
    /// `hashedrekord`, `dsse` or `intoto`; for CT `x509_entry` or `precert_entry`.
    pub kind: &'static str,
    /// The signed artifact's digest (`sha256:<hex>`): hashedrekord's `data`, dsse's and
    /// intoto's payload hash (empty when a v1 entry records none); for CT the SHA-256 of the
    /// logged certificate (or precertificate TBSCertificate) DER.
    pub digest: String,
    pub signers: Vec<Signer>,
    /// For CT: the logged certificate's DER (x509_entry) or the precertificate's
    /// TBSCertificate DER (precert_entry), as the leaf holds it.
    pub certificate: Option<Vec<u8>>,
}

/// One signature's verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Certificate(CertificateFacts),
    /// A bare public key: its SHA-256 fingerprint over the DER SubjectPublicKeyInfo.
    PublicKey {
        key_fingerprint: String,
    },
}

/// What a certificate says about its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// The SAN value, when the certificate reads as a Fulcio leaf.
    pub san: Option<String>,
    /// The OIDC issuer (1.3.6.1.4.1.57264.1.8, else .1.1).
    pub issuer: Option<String>,
    /// Why the certificate does not read as a Fulcio leaf (e.g. two SANs), if it does not.
    pub identity_error: Option<String>,
    /// Hex SHA-256 of the DER certificate (empty for a CT precertificate entry: the log
    /// holds only its TBSCertificate, so no certificate's fingerprint can be known).
    pub cert_fingerprint: String,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub key_fingerprint: String,
    /// The certificate's notBefore (Unix seconds): when Fulcio issued it, minutes before
    /// signing.
    pub not_before: u64,
    /// The extensions [`Wanted`] asks for whose value is a string: (OID, value).
    pub extensions: Vec<(ObjectIdentifier, String)>,
}

impl CertificateFacts {
    /// notBefore as RFC 3339.
    pub fn not_before_rfc3339(&self) -> String {
        Timestamp::from_unix(i64::try_from(self.not_before).unwrap_or(i64::MAX))
            .as_str()
            .to_string()
    }
}

/// Which facts are worth computing: hashing and decoding what no rule reads is most of the
/// cost of a certificate (BENCHMARKS.md, "Monitor").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// Certificate and key fingerprints (empty strings when not wanted).
    pub fingerprints: bool,
    /// The extensions to read; `None`: every one.
    pub extensions: Option<Vec<ObjectIdentifier>>,
}

impl Wanted {
    /// Every fact.
    pub fn everything() -> Self {
        Wanted {
            fingerprints: true,
            extensions: None,
        }
    }
}

/// The Fulcio arc; .1.1 to .1.6 hold the raw UTF-8 bytes, later arcs a DER UTF8String.
const FULCIO_ARC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1");

/// Reads the facts of an entry body (the `canonicalizedBody` the log stores): the SAN and
/// issuer always, the rest as `wanted` says.
pub fn read_entry(body: &[u8], wanted: &Wanted) -> Result<EntryFacts, EntryParseError> {
    let entry = Entry::from_json(body)?;
    let (kind, digest, signatures) = match &entry.spec {
        Spec::HashedRekordV002(h) => ("hashedrekord", &h.data, std::slice::from_ref(&h.signature)),
        Spec::DsseV002(d) => ("dsse", &d.payload_hash, d.signatures.as_slice()),
    };
    let digest = format!(
        "{}:{}",
        digest_name(digest.algorithm),
        hex::encode(&digest.digest)
    );
    let signers = signatures
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.verifier.key {
            VerifierKey::PublicKey(spki) => Ok(Signer::PublicKey {
                key_fingerprint: fingerprint(wanted, spki),
            }),
            VerifierKey::X509Certificate(der) => read_certificate(der, wanted)
                .map(Signer::Certificate)
                .map_err(|reason| EntryParseError::Certificate { signature: i, reason }),
        })
        .collect::<Result<_, _>>()?;
    Ok(EntryFacts {
        kind,
        digest,
        signers,
        certificate: None,
    })
}

/// Reads the facts of a Rekor v1 entry body. `Ok(None)` for a kind the monitor does not read
/// (rekord, rpm, jar, helm, ... in the public-good log): such an entry is hashed into the tree
/// and skipped, not an error.
pub fn read_v1_entry(body: &[u8], wanted: &Wanted) -> Result<Option<EntryFacts>, EntryParseError> {
    let entry = match RekorV1Entry::from_json(body) {
        Ok(e) => e,
        Err(RekorV1Error::UnknownKind { .. }) => return Ok(None),
        Err(e) => return Err(EntryParseError::V1Body(e)),
    };
    let name = |d: &signet_formats::rekor_v1::HexDigest| {
        format!("{}:{}", digest_name(d.algorithm), hex::encode(&d.digest))
    };
    let (digest, pems): (Option<String>, Vec<&[u8]>) = match &entry {
        RekorV1Entry::HashedRekordV001(h) => (Some(name(&h.data_hash)), vec![&h.public_key_pem]),
        RekorV1Entry::DsseV001(d) => (
            d.payload_hash.as_ref().or(d.envelope_hash.as_ref()).map(name),
            d.signatures.iter().map(|s| s.verifier_pem.as_slice()).collect(),
        ),
        RekorV1Entry::IntotoV001(i) => (
            i.payload_hash.as_ref().or(i.hash.as_ref()).map(name),
            vec![&i.public_key_pem],
        ),
        RekorV1Entry::IntotoV002(i) => (
            i.payload_hash.as_ref().or(i.hash.as_ref()).map(name),
            i.signatures.iter().map(|s| s.public_key_pem.as_slice()).collect(),
        ),
    };
    let signers = pems
        .iter()
        .enumerate()
        .map(|(i, p)| {
            read_pem_verifier(p, wanted).map_err(|reason| EntryParseError::Pem { signature: i, reason })
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(EntryFacts {
        kind: entry.kind(),
        digest: digest.unwrap_or_default(),
        signers,
        certificate: None,
    }))
}

/// A v1 verifier: PEM of a certificate or of a public key (SubjectPublicKeyInfo).
fn read_pem_verifier(text: &[u8], wanted: &Wanted) -> Result<Signer, String> {
    let block = pem::parse(text).map_err(|e| e.to_string())?;
    match block.tag() {
        "CERTIFICATE" => read_certificate(block.contents(), wanted).map(Signer::Certificate),
        "PUBLIC KEY" => Ok(Signer::PublicKey {
            key_fingerprint: fingerprint(wanted, block.contents()),
        }),
        other => Err(format!("PEM block {other:?}")),
    }
}

/// Reads the facts of an RFC 6962 `MerkleTreeLeaf` (a CT log's `leaf_input`): the logged
/// certificate, or the precertificate's TBSCertificate, as the one signer.
pub fn read_ct_entry(leaf_input: &[u8], wanted: &Wanted) -> Result<EntryFacts, EntryParseError> {
    let entry = decode_merkle_tree_leaf(leaf_input).map_err(|e| EntryParseError::CtLeaf(e.to_string()))?;
    let (kind, der, facts) = match entry.entry {
        OwnedLogEntry::X509 { certificate } => {
            let facts =
                read_certificate(&certificate, wanted).map_err(|reason| EntryParseError::CtCertificate {
                    what: "certificate",
                    reason,
                })?;
            ("x509_entry", certificate, facts)
        }
        OwnedLogEntry::Precert { tbs_certificate, .. } => {
            let tbs =
                TbsCertificate::from_der(&tbs_certificate).map_err(|e| EntryParseError::CtCertificate {
                    what: "precertificate TBSCertificate",
                    reason: e.to_string(),
                })?;
            let facts = read_tbs(&tbs, None, wanted).map_err(|reason| EntryParseError::CtCertificate {
                what: "precertificate TBSCertificate",
                reason,
            })?;
            ("precert_entry", tbs_certificate, facts)
        }
    };
    Ok(EntryFacts {
        kind,
        digest: format!("sha256:{}", hex::encode(signet_crypto::sha256(&der))),
        signers: vec![Signer::Certificate(facts)],
        certificate: Some(der),
    })
}

fn digest_name(algorithm: signet_crypto::HashAlgorithm) -> &'static str {
    use signet_crypto::HashAlgorithm::*;
    match algorithm {
        Sha2_256 => "sha256",
        Sha2_384 => "sha384",
        Sha2_512 => "sha512",
        #[allow(unreachable_patterns)]
        _ => "unknown",
    }
}

fn fingerprint(wanted: &Wanted, der: &[u8]) -> String {
    if wanted.fingerprints {
        hex::encode(signet_crypto::sha256(der))
    } else {
        String::new()
    }
}

fn read_certificate(der: &[u8], wanted: &Wanted) -> Result<CertificateFacts, String> {
    let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
    read_tbs(&cert.tbs_certificate, Some(der), wanted)
}

/// The facts of a certificate's TBSCertificate; `der` is the whole certificate, when there is
/// one, for its fingerprint.
fn read_tbs(tbs: &TbsCertificate, der: Option<&[u8]>, wanted: &Wanted) -> Result<CertificateFacts, String> {
    let (san, issuer, identity_error) = match read_identity_from_tbs(tbs) {
        Ok(CertificateIdentity { san, extensions }) => {
            (Some(san.value().to_string()), extensions.issuer, None)
        }
        Err(e) => (None, None, Some(e.to_string())),
    };
    let key_fingerprint = if wanted.fingerprints {
        let spki = tbs.subject_public_key_info.to_der().map_err(|e| e.to_string())?;
        fingerprint(wanted, &spki)
    } else {
        String::new()
    };
    let extensions = tbs
        .extensions
        .iter()
        .flatten()
        .filter(|ext| {
            wanted
                .extensions
                .as_ref()
                .is_none_or(|w| w.contains(&ext.extn_id))
        })
        .filter_map(|ext| {
            let bytes = ext.extn_value.as_bytes();
            let raw = ext.extn_id.parent() == Some(FULCIO_ARC)
                && ext.extn_id.arc(ext.extn_id.len() - 1).is_some_and(|a| a <= 6);
            let value = if raw {
                std::str::from_utf8(bytes).ok().map(str::to_string)
            } else {
                der_string(bytes)
            };
            value.map(|v| (ext.extn_id, v))
        })
        .collect();
    Ok(CertificateFacts {
        san,
        issuer,
        identity_error,
        cert_fingerprint: der.map(|d| fingerprint(wanted, d)).unwrap_or_default(),
        key_fingerprint,
        not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
        extensions,
    })
}

/// An extension value that is one DER string (as Go's `asn1.Unmarshal` into a `string` reads:
/// UTF8String, PrintableString or IA5String).
fn der_string(bytes: &[u8]) -> Option<String> {
    Utf8StringRef::from_der(bytes)
        .map(|s| s.as_str().to_string())
        .or_else(|_| PrintableStringRef::from_der(bytes).map(|s| s.as_str().to_string()))
        .or_else(|_| Ia5StringRef::from_der(bytes).map(|s| s.as_str().to_string()))
        .ok()
}
