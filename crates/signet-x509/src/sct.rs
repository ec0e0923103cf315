//! RFC 6962 signed certificate timestamps: the TLS-encoded structures (§3.2, §3.3), the bytes
//! a log signs and hashes (§3.2, §3.4), precertificate TBS extraction, and verification of the
//! SCTs a certificate embeds.
//!
//! The TLS presentation language (RFC 5246 §4) is read and written by hand: the structures are
//! few and flat, and a parser of untrusted bytes is easiest to review when it is this short.

use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use signet_crypto::{sha256, PublicKey, PublicKeyDetails};
use thiserror::Error;
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use crate::algorithm::verify_signature;
use crate::oid;
use signet_crypto::{Signer, SignerError};
use tls::{put_u16_vec, put_u24_vec, Reader};

/// RFC 6962 §3.3: the X.509v3 extension carrying a `SignedCertificateTimestampList`.
pub const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// RFC 6962 §3.1: the critical extension that makes a certificate a precertificate.
pub const PRECERT_POISON_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");

/// RFC 5246 §7.4.1.4.1 `HashAlgorithm` values.
pub mod hash_algorithm {
    pub const SHA256: u8 = 4;
    pub const SHA384: u8 = 5;
    pub const SHA512: u8 = 6;
    /// RFC 8422 §5.1.3: the "hash" byte of Ed25519 (the scheme hashes internally).
    pub const INTRINSIC: u8 = 8;
}

/// RFC 5246 §7.4.1.4.1 `SignatureAlgorithm` values (and RFC 8422's Ed25519).
pub mod signature_algorithm {
    pub const RSA: u8 = 1;
    pub const ECDSA: u8 = 3;
    pub const ED25519: u8 = 7;
}

/// RFC 6962 §3.1 `LogEntryType`.
const X509_ENTRY: u16 = 0;
const PRECERT_ENTRY: u16 = 1;

/// The largest `opaque<..2^16-1>` and `opaque<..2^24-1>` bodies.
const MAX_U16: usize = 0xffff;
const MAX_U24: usize = 0xff_ffff;

/// Why an SCT could not be read, made or verified.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SctError {
    #[error("{what} is truncated: needs {needed} more bytes, {left} left")]
    Truncated {
        what: &'static str,
        needed: usize,
        left: usize,
    },
    #[error("{what} has {count} trailing bytes")]
    TrailingBytes { what: &'static str, count: usize },
    #[error("{what} is empty; RFC 6962 requires at least one byte")]
    Empty { what: &'static str },
    #[error("{what} is {len} bytes; at most {max} fit")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("SCT version {0} is not v1 (0)")]
    UnsupportedVersion(u8),
    #[error("{what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("{what} {value} is not defined by RFC 6962")]
    UnknownValue { what: &'static str, value: u64 },
    #[error("certificate does not parse or re-encode: {0}")]
    Certificate(String),
    #[error("certificate has no precertificate poison extension ({PRECERT_POISON_OID})")]
    NotPrecertificate,
    #[error("precertificate poison extension is not a critical ASN.1 NULL")]
    MalformedPoison,
    #[error("certificate has no embedded SCT list extension ({SCT_LIST_OID})")]
    NoSctList,
    #[error("certificate has {0} SCT list extensions; at most one is allowed")]
    DuplicateSctList(usize),
    #[error("issuer public key does not parse: {0}")]
    IssuerKey(String),
    #[error("signing scheme {0} has no TLS DigitallySigned encoding")]
    UnsupportedScheme(String),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("SCT from log {log_id} (timestamp {timestamp} ms) does not verify: {reason}")]
    BadSignature {
        log_id: String,
        timestamp: u64,
        reason: String,
    },
    #[error("none of the {count} embedded SCTs verified with a trusted log: {reasons}")]
    NoVerifiedSct { count: usize, reasons: String },
}

/// RFC 5246 §4.7 `digitally-signed`: the algorithm pair and the signature (DER for ECDSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitallySigned {
    pub hash_algorithm: u8,
    pub signature_algorithm: u8,
    pub signature: Vec<u8>,
}

/// RFC 6962 §3.2 `SignedCertificateTimestamp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// `sct_version`; 0 is v1, the only version defined.
    pub version: u8,
    /// `LogID.key_id`: SHA-256 of the log's SubjectPublicKeyInfo DER.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// `CtExtensions`, opaque (none are defined for v1).
    pub extensions: Vec<u8>,
    pub signature: DigitallySigned,
}

impl SignedCertificateTimestamp {
    /// The TLS encoding; `extensions` and the signature must each fit in 65535 bytes (every
    /// SCT read by [`Self::decode`] or made by [`sign_sct`] does).
    pub fn encode(&self) -> Result<Vec<u8>, SctError> {
        let mut out = Vec::with_capacity(47 + self.extensions.len() + self.signature.signature.len());
        out.push(self.version);
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        put_u16_checked(&mut out, &self.extensions, "SCT extensions")?;
        out.extend_from_slice(&self.signature.encode()?);
        Ok(out)
    }

    /// Reads one TLS-encoded v1 SCT, refusing trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, SctError> {
        let mut r = Reader::new(bytes);
        let sct = Self::read(&mut r)?;
        r.finish("SCT")?;
        Ok(sct)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, SctError> {
        let version = r.u8("SCT version")?;
        if version != 0 {
            return Err(SctError::UnsupportedVersion(version));
        }
        let log_id = r.array::<32>("SCT log id")?;
        let timestamp = r.u64("SCT timestamp")?;
        let extensions = r.u16_vec("SCT extensions")?.to_vec();
        let signature = DigitallySigned::read(r)?;
        Ok(SignedCertificateTimestamp {
            version,
            log_id,
            timestamp,
            extensions,
            signature,
        })
    }
}

/// RFC 6962 §3.3 `SignedCertificateTimestampList`: a u16-length list of u16-length SCTs. The
/// list must hold at least one SCT (as [`decode_sct_list`] requires) and fit in 65535 bytes.
pub fn encode_sct_list(scts: &[SignedCertificateTimestamp]) -> Result<Vec<u8>, SctError> {
    if scts.is_empty() {
        return Err(SctError::Empty { what: "SCT list" });
    }
    let mut body = Vec::new();
    for sct in scts {
        put_u16_checked(&mut body, &sct.encode()?, "SCT")?;
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    put_u16_checked(&mut out, &body, "SCT list")?;
    Ok(out)
}

/// `opaque<0..2^16-1>`, or [`SctError::TooLong`] naming `what`.
fn put_u16_checked(out: &mut Vec<u8>, body: &[u8], what: &'static str) -> Result<(), SctError> {
    put_u16_vec(out, body).ok_or(SctError::TooLong {
        what,
        len: body.len(),
        max: 0xffff,
    })
}

/// Reads a `SignedCertificateTimestampList`; the list and each SCT must be non-empty.
pub fn decode_sct_list(bytes: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, SctError> {
    let mut outer = Reader::new(bytes);
    let list = outer.u16_vec("SCT list")?;
    outer.finish("SCT list")?;
    if list.is_empty() {
        return Err(SctError::Empty { what: "SCT list" });
    }
    let mut r = Reader::new(list);
    let mut scts = Vec::new();
    while !r.is_empty() {
        let serialized = r.u16_vec("serialized SCT")?;
        if serialized.is_empty() {
            return Err(SctError::Empty {
                what: "serialized SCT",
            });
        }
        scts.push(SignedCertificateTimestamp::decode(serialized)?);
    }
    Ok(scts)
}

/// What a log entry (and so an SCT) is about: RFC 6962 §3.1 `LogEntryType` with its
/// `signed_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntry<'a> {
    /// `x509_entry`: a final certificate, DER.
    X509 { certificate: &'a [u8] },
    /// `precert_entry`: SHA-256 of the issuer's SPKI DER and the precertificate's TBS with the
    /// poison removed.
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: &'a [u8],
    },
}

impl LogEntry<'_> {
    fn entry_type(&self) -> u16 {
        match self {
            LogEntry::X509 { .. } => X509_ENTRY,
            LogEntry::Precert { .. } => PRECERT_ENTRY,
        }
    }
}

/// The `TimestampedEntry` fields both the signed struct and the leaf share after their first two
/// bytes: `timestamp`, `entry_type`, `signed_entry`, `extensions`.
fn timestamped_entry(
    out: &mut Vec<u8>,
    timestamp: u64,
    entry: &LogEntry<'_>,
    extensions: &[u8],
) -> Result<(), SctError> {
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&entry.entry_type().to_be_bytes());
    match entry {
        LogEntry::X509 { certificate } => put_u24_vec(out, certificate, "ASN.1Cert")?,
        LogEntry::Precert {
            issuer_key_hash,
            tbs_certificate,
        } => {
            out.extend_from_slice(issuer_key_hash);
            put_u24_vec(out, tbs_certificate, "TBSCertificate")?;
        }
    }
    put_u16_vec(out, extensions).ok_or(SctError::TooLong {
        what: "CtExtensions",
        len: extensions.len(),
        max: MAX_U16,
    })
}

/// Two zero bytes, then the `TimestampedEntry`. In v1 this is both the SCT's signed struct
/// (`sct_version` v1 = 0, `signature_type` certificate_timestamp = 0) and the `MerkleTreeLeaf`
/// (`version` v1 = 0, `leaf_type` timestamped_entry = 0).
fn entry_bytes(timestamp: u64, entry: &LogEntry<'_>, extensions: &[u8]) -> Result<Vec<u8>, SctError> {
    let mut out = vec![0, 0];
    timestamped_entry(&mut out, timestamp, entry, extensions)?;
    Ok(out)
}

/// RFC 6962 §3.2: the `digitally-signed struct` an SCT's signature covers (`sct_version` v1,
/// `signature_type` certificate_timestamp, then the entry). Oversized fields (a certificate of
/// 16 MiB, extensions of 64 KiB) cannot be encoded and give an empty vector, which no log signs.
pub fn signature_input(timestamp: u64, entry: &LogEntry<'_>, extensions: &[u8]) -> Vec<u8> {
    entry_bytes(timestamp, entry, extensions).unwrap_or_default()
}

/// RFC 6962 §3.4: the `MerkleTreeLeaf` (`version` v1, `leaf_type` timestamped_entry, then the
/// entry) whose RFC 6962 leaf hash goes into the log. Byte for byte this equals
/// [`signature_input`], since both leading enums are 0 in v1. Oversized fields give an empty
/// vector, as there.
pub fn merkle_tree_leaf(timestamp: u64, entry: &LogEntry<'_>, extensions: &[u8]) -> Vec<u8> {
    entry_bytes(timestamp, entry, extensions).unwrap_or_default()
}

/// The TLS `(hash, signature)` pair a scheme signs SCTs with.
pub fn digitally_signed_algorithms(details: PublicKeyDetails) -> Result<(u8, u8), SctError> {
    use hash_algorithm as h;
    use signature_algorithm as s;
    Ok(match details {
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256 => (h::SHA256, s::ECDSA),
        PublicKeyDetails::PKIX_ECDSA_P384_SHA_384 => (h::SHA384, s::ECDSA),
        PublicKeyDetails::PKIX_ECDSA_P521_SHA_512 => (h::SHA512, s::ECDSA),
        PublicKeyDetails::PKIX_ED25519 => (h::INTRINSIC, s::ED25519),
        PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256
        | PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256
        | PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256 => (h::SHA256, s::RSA),
        other @ PublicKeyDetails::PKIX_ED25519_PH => {
            return Err(SctError::UnsupportedScheme(other.to_string()))
        }
    })
}

/// Signs an SCT for `entry` at `timestamp` (ms) as the log `log_id`.
pub fn sign_sct(
    signer: &dyn Signer,
    log_id: [u8; 32],
    timestamp: u64,
    entry: &LogEntry<'_>,
    extensions: &[u8],
) -> Result<SignedCertificateTimestamp, SctError> {
    let message = entry_bytes(timestamp, entry, extensions)?;
    Ok(SignedCertificateTimestamp {
        version: 0,
        log_id,
        timestamp,
        extensions: extensions.to_vec(),
        signature: sign_digitally_signed(signer, &message)?,
    })
}

/// Checks `sct` was signed over `entry` by `key`, per its `DigitallySigned` algorithms.
pub fn verify_sct(
    sct: &SignedCertificateTimestamp,
    entry: &LogEntry<'_>,
    key: &PublicKey,
) -> Result<(), SctError> {
    let bad = |reason: String| SctError::BadSignature {
        log_id: hex(&sct.log_id),
        timestamp: sct.timestamp,
        reason,
    };
    let message = entry_bytes(sct.timestamp, entry, &sct.extensions).map_err(|e| bad(e.to_string()))?;
    verify_digitally_signed(&sct.signature, key, &message).map_err(bad)
}

/// Checks a TLS `digitally-signed` value over `message` with `key`: ECDSA or RSA PKCS#1 v1.5
/// with SHA-256/384/512, or Ed25519, and the key must be of the named kind.
pub fn verify_digitally_signed(
    signed: &DigitallySigned,
    key: &PublicKey,
    message: &[u8],
) -> Result<(), String> {
    let algorithm = match (signed.hash_algorithm, signed.signature_algorithm) {
        (hash_algorithm::SHA256, signature_algorithm::ECDSA) => oid::ECDSA_WITH_SHA256,
        (hash_algorithm::SHA384, signature_algorithm::ECDSA) => oid::ECDSA_WITH_SHA384,
        (hash_algorithm::SHA512, signature_algorithm::ECDSA) => oid::ECDSA_WITH_SHA512,
        (hash_algorithm::SHA256, signature_algorithm::RSA) => oid::SHA256_WITH_RSA,
        (hash_algorithm::SHA384, signature_algorithm::RSA) => oid::SHA384_WITH_RSA,
        (hash_algorithm::SHA512, signature_algorithm::RSA) => oid::SHA512_WITH_RSA,
        (hash_algorithm::INTRINSIC, signature_algorithm::ED25519) => oid::ID_ED25519,
        (h, s) => return Err(format!("unsupported DigitallySigned algorithms ({h}, {s})")),
    };
    verify_signature(key, &algorithm, None, message, &signed.signature)
}

/// Signs `message` as a TLS `digitally-signed` value with the signer's scheme.
pub fn sign_digitally_signed(signer: &dyn Signer, message: &[u8]) -> Result<DigitallySigned, SctError> {
    let (hash_algorithm, signature_algorithm) = digitally_signed_algorithms(signer.details())?;
    let signature = signer.sign(message)?;
    if signature.len() > MAX_U16 {
        return Err(SctError::TooLong {
            what: "DigitallySigned signature",
            len: signature.len(),
            max: MAX_U16,
        });
    }
    Ok(DigitallySigned {
        hash_algorithm,
        signature_algorithm,
        signature,
    })
}

impl DigitallySigned {
    /// The TLS encoding: hash and signature algorithm bytes, then `opaque signature<0..2^16-1>`
    /// (every signature read by [`Self::read`] or made by [`sign_digitally_signed`] fits).
    pub fn encode(&self) -> Result<Vec<u8>, SctError> {
        let mut out = vec![self.hash_algorithm, self.signature_algorithm];
        put_u16_checked(&mut out, &self.signature, "signature")?;
        Ok(out)
    }

    /// Reads one from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, SctError> {
        Ok(DigitallySigned {
            hash_algorithm: r.u8("DigitallySigned hash algorithm")?,
            signature_algorithm: r.u8("DigitallySigned signature algorithm")?,
            signature: r.u16_vec("DigitallySigned signature")?.to_vec(),
        })
    }
}

/// A CT log's key as a verifier trusts it.
#[derive(Debug, Clone)]
pub struct CtLogKey {
    /// SHA-256 of the key's SPKI DER (see [`CtLogKey::new`]).
    pub log_id: [u8; 32],
    pub key: PublicKey,
    /// Unix seconds; SCTs timestamped before this are not accepted from this key.
    pub valid_from: Option<i64>,
    /// Unix seconds, inclusive.
    pub valid_until: Option<i64>,
}

impl CtLogKey {
    /// A key valid at all times, with its log id computed from the key.
    pub fn new(key: PublicKey) -> Self {
        CtLogKey {
            log_id: sha256(key.spki_der()),
            key,
            valid_from: None,
            valid_until: None,
        }
    }

    /// Whether an SCT timestamp (ms) lies in the key's closed validity window.
    pub fn valid_at(&self, timestamp_ms: u64) -> bool {
        let secs = i64::try_from(timestamp_ms / 1000).unwrap_or(i64::MAX);
        self.valid_from.is_none_or(|from| from <= secs) && self.valid_until.is_none_or(|until| secs <= until)
    }
}

/// An SCT that verified: which log, and when (ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSct {
    pub log_id: [u8; 32],
    pub timestamp: u64,
}

/// The SCT list a certificate embeds, and its TBSCertificate DER with that extension removed:
/// the `tbs_certificate` a precert entry for it carries (RFC 6962 §3.2).
pub fn embedded_scts(cert_der: &[u8]) -> Result<(Vec<SignedCertificateTimestamp>, Vec<u8>), SctError> {
    let cert = Certificate::from_der(cert_der).map_err(|e| SctError::Certificate(e.to_string()))?;
    let mut tbs = cert.tbs_certificate;
    let (mut removed, rest) = take_extensions(tbs.extensions.take(), &SCT_LIST_OID);
    tbs.extensions = rest;
    let ext = match removed.len() {
        0 => return Err(SctError::NoSctList),
        1 => removed.remove(0),
        n => return Err(SctError::DuplicateSctList(n)),
    };
    // The extension value is an OCTET STRING holding the TLS list (RFC 6962 §3.3).
    let list = OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|e| SctError::Certificate(format!("SCT list extension: {e}")))?;
    let scts = decode_sct_list(list.as_bytes())?;
    let tbs_der = tbs.to_der().map_err(|e| SctError::Certificate(e.to_string()))?;
    Ok((scts, tbs_der))
}

/// Verifies the SCTs embedded in `cert_der`, issued by the holder of `issuer_spki_der`, against
/// `logs`. An SCT from a log not in `logs`, or outside its key's validity, is skipped; a bad
/// signature from a known log is an error naming the log. At least one SCT must verify.
pub fn verify_embedded_scts(
    cert_der: &[u8],
    issuer_spki_der: &[u8],
    logs: &[CtLogKey],
) -> Result<Vec<VerifiedSct>, SctError> {
    let (scts, tbs) = embedded_scts(cert_der)?;
    let entry = LogEntry::Precert {
        issuer_key_hash: sha256(issuer_spki_der),
        tbs_certificate: &tbs,
    };
    let mut verified = Vec::new();
    let mut skipped = Vec::new();
    for sct in &scts {
        let known: Vec<&CtLogKey> = logs.iter().filter(|l| l.log_id == sct.log_id).collect();
        if known.is_empty() {
            skipped.push(format!("log {} is not trusted", hex(&sct.log_id)));
            continue;
        }
        let Some(log) = known.iter().find(|l| l.valid_at(sct.timestamp)) else {
            skipped.push(format!(
                "timestamp {} ms is outside the validity of log {}",
                sct.timestamp,
                hex(&sct.log_id)
            ));
            continue;
        };
        verify_sct(sct, &entry, &log.key)?;
        verified.push(VerifiedSct {
            log_id: sct.log_id,
            timestamp: sct.timestamp,
        });
    }
    if verified.is_empty() {
        return Err(SctError::NoVerifiedSct {
            count: scts.len(),
            reasons: skipped.join("; "),
        });
    }
    Ok(verified)
}

/// RFC 6962 §3.2: the precertificate's TBSCertificate DER with the poison extension removed,
/// for a precertificate signed directly by the final issuer. The poison must be present,
/// critical, and an ASN.1 NULL (§3.1).
pub fn precert_tbs(precert_der: &[u8]) -> Result<Vec<u8>, SctError> {
    let cert = Certificate::from_der(precert_der).map_err(|e| SctError::Certificate(e.to_string()))?;
    let mut tbs = cert.tbs_certificate;
    let (removed, rest) = take_extensions(tbs.extensions.take(), &PRECERT_POISON_OID);
    match removed.as_slice() {
        [] => return Err(SctError::NotPrecertificate),
        [poison] if is_poison(poison) => {}
        _ => return Err(SctError::MalformedPoison),
    }
    tbs.extensions = rest;
    tbs.to_der().map_err(|e| SctError::Certificate(e.to_string()))
}

/// Whether a DER certificate carries the precertificate poison extension.
pub fn is_precertificate(cert_der: &[u8]) -> Result<bool, SctError> {
    let cert = Certificate::from_der(cert_der).map_err(|e| SctError::Certificate(e.to_string()))?;
    Ok(cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .any(|e| e.extn_id == PRECERT_POISON_OID))
}

/// The critical poison extension (RFC 6962 §3.1: `extnValue` holds an ASN.1 NULL).
pub fn poison_extension() -> Extension {
    Extension {
        extn_id: PRECERT_POISON_OID,
        critical: true,
        extn_value: OctetString::new(Null.to_der().expect("NULL encodes")).expect("two bytes fit"),
    }
}

/// The non-critical SCT list extension for a final certificate (RFC 6962 §3.3).
pub fn sct_list_extension(scts: &[SignedCertificateTimestamp]) -> Result<Extension, SctError> {
    let list = encode_sct_list(scts)?;
    let inner = OctetString::new(list)
        .and_then(|o| o.to_der())
        .map_err(|e| SctError::Certificate(e.to_string()))?;
    Ok(Extension {
        extn_id: SCT_LIST_OID,
        critical: false,
        extn_value: OctetString::new(inner).map_err(|e| SctError::Certificate(e.to_string()))?,
    })
}

fn is_poison(ext: &Extension) -> bool {
    ext.critical && ext.extn_value.as_bytes() == [0x05, 0x00]
}

/// Splits `extensions` into those with `id` and the rest; no extensions left gives `None`, so
/// the TBS re-encodes without an empty `[3]`.
fn take_extensions(
    extensions: Option<Vec<Extension>>,
    id: &ObjectIdentifier,
) -> (Vec<Extension>, Option<Vec<Extension>>) {
    let (taken, rest): (Vec<_>, Vec<_>) = extensions.into_iter().flatten().partition(|e| e.extn_id == *id);
    (taken, (!rest.is_empty()).then_some(rest))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 8446 §3 presentation-language helpers: fixed-width big-endian integers and
/// length-prefixed vectors, shared by the SCT, leaf and CT log structures.
pub mod tls {
    use super::{SctError, MAX_U24};

    /// Appends `opaque<0..2^16-1>`; `None` if it does not fit.
    pub fn put_u16_vec(out: &mut Vec<u8>, body: &[u8]) -> Option<()> {
        let len = u16::try_from(body.len()).ok()?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        Some(())
    }

    pub fn put_u24_vec(out: &mut Vec<u8>, body: &[u8], what: &'static str) -> Result<(), SctError> {
        if body.is_empty() {
            return Err(SctError::Empty { what });
        }
        if body.len() > MAX_U24 {
            return Err(SctError::TooLong {
                what,
                len: body.len(),
                max: MAX_U24,
            });
        }
        out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        Ok(())
    }

    /// A cursor over TLS-encoded bytes that never reads past the end; each read names what it
    /// reads, for the error.
    pub struct Reader<'a> {
        bytes: &'a [u8],
    }

    impl<'a> Reader<'a> {
        pub fn new(bytes: &'a [u8]) -> Self {
            Reader { bytes }
        }

        pub fn is_empty(&self) -> bool {
            self.bytes.is_empty()
        }

        pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], SctError> {
            if self.bytes.len() < n {
                return Err(SctError::Truncated {
                    what,
                    needed: n,
                    left: self.bytes.len(),
                });
            }
            let (head, tail) = self.bytes.split_at(n);
            self.bytes = tail;
            Ok(head)
        }

        /// Reads `N` bytes.
        pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SctError> {
            let mut out = [0u8; N];
            out.copy_from_slice(self.take(N, what)?);
            Ok(out)
        }

        pub fn u8(&mut self, what: &'static str) -> Result<u8, SctError> {
            Ok(self.take(1, what)?[0])
        }

        pub fn u16(&mut self, what: &'static str) -> Result<u16, SctError> {
            Ok(u16::from_be_bytes(self.array(what)?))
        }

        pub fn u64(&mut self, what: &'static str) -> Result<u64, SctError> {
            Ok(u64::from_be_bytes(self.array(what)?))
        }

        pub fn u16_vec(&mut self, what: &'static str) -> Result<&'a [u8], SctError> {
            let len = self.u16(what)?;
            self.take(usize::from(len), what)
        }

        pub fn u24_vec(&mut self, what: &'static str) -> Result<&'a [u8], SctError> {
            let [a, b, c] = self.array::<3>(what)?;
            let len = u32::from_be_bytes([0, a, b, c]) as usize;
            self.take(len, what)
        }

        pub fn finish(&self, what: &'static str) -> Result<(), SctError> {
            if self.bytes.is_empty() {
                Ok(())
            } else {
                Err(SctError::TrailingBytes {
                    what,
                    count: self.bytes.len(),
                })
            }
        }
    }
}

/// RFC 6962 §3.4 `TimestampedEntry`, owned: what a CT log stores and serves for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampedEntry {
    pub timestamp: u64,
    /// `X509 { certificate }` or `Precert { issuer_key_hash, tbs_certificate }`, owned.
    pub entry: OwnedLogEntry,
    pub extensions: Vec<u8>,
}

/// [`LogEntry`] with its bytes owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedLogEntry {
    X509 {
        certificate: Vec<u8>,
    },
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: Vec<u8>,
    },
}

impl OwnedLogEntry {
    pub fn as_entry(&self) -> LogEntry<'_> {
        match self {
            OwnedLogEntry::X509 { certificate } => LogEntry::X509 { certificate },
            OwnedLogEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => LogEntry::Precert {
                issuer_key_hash: *issuer_key_hash,
                tbs_certificate,
            },
        }
    }
}

impl TimestampedEntry {
    /// The RFC 6962 §3.4 `TimestampedEntry` encoding (the `MerkleTreeLeaf` after its two
    /// leading bytes).
    pub fn encode(&self) -> Result<Vec<u8>, SctError> {
        let mut out = Vec::new();
        timestamped_entry(&mut out, self.timestamp, &self.entry.as_entry(), &self.extensions)?;
        Ok(out)
    }

    /// Reads a `TimestampedEntry` from the front of `r`, leaving what follows.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, SctError> {
        let timestamp = r.u64("TimestampedEntry timestamp")?;
        let entry = match r.u16("TimestampedEntry entry_type")? {
            X509_ENTRY => OwnedLogEntry::X509 {
                certificate: non_empty(r.u24_vec("ASN.1Cert")?, "ASN.1Cert")?.to_vec(),
            },
            PRECERT_ENTRY => OwnedLogEntry::Precert {
                issuer_key_hash: r.array::<32>("PreCert issuer_key_hash")?,
                tbs_certificate: non_empty(r.u24_vec("TBSCertificate")?, "TBSCertificate")?.to_vec(),
            },
            other => {
                return Err(SctError::UnknownValue {
                    what: "TimestampedEntry entry_type",
                    value: other.into(),
                })
            }
        };
        let extensions = r.u16_vec("CtExtensions")?.to_vec();
        Ok(TimestampedEntry {
            timestamp,
            entry,
            extensions,
        })
    }

    /// The `MerkleTreeLeaf` holding this entry.
    pub fn merkle_tree_leaf(&self) -> Vec<u8> {
        merkle_tree_leaf(self.timestamp, &self.entry.as_entry(), &self.extensions)
    }
}

/// RFC 6962 §3.1 declares `ASN.1Cert<1..2^24-1>` and `TBSCertificate<1..2^24-1>`: an empty one
/// is refused, as `put_u24_vec` refuses to write it (else a decoded entry would not encode,
/// and its `merkle_tree_leaf` would be empty).
fn non_empty<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a [u8], SctError> {
    if bytes.is_empty() {
        return Err(SctError::Empty { what });
    }
    Ok(bytes)
}

/// Reads a v1 `MerkleTreeLeaf` with a `timestamped_entry`, refusing trailing bytes.
pub fn decode_merkle_tree_leaf(bytes: &[u8]) -> Result<TimestampedEntry, SctError> {
    let mut r = Reader::new(bytes);
    let version = r.u8("MerkleTreeLeaf version")?;
    if version != 0 {
        return Err(SctError::UnsupportedVersion(version));
    }
    let leaf_type = r.u8("MerkleTreeLeaf leaf_type")?;
    if leaf_type != 0 {
        return Err(SctError::UnknownValue {
            what: "MerkleTreeLeaf leaf_type",
            value: leaf_type.into(),
        });
    }
    let entry = TimestampedEntry::read(&mut r)?;
    r.finish("MerkleTreeLeaf")?;
    Ok(entry)
}
