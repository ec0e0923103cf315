//! Verifying a time-stamp token over a signature against the `timestampAuthorities` of a
//! trusted root, as sigstore-go's `VerifySignedTimestamp` and timestamp-authority's
//! `VerifyTimestampResponse` do. One function per check, run in the order below; each failure
//! has its own [`TimestampError`] variant.

use std::borrow::Cow;
use std::sync::OnceLock;

use cms::cert::CertificateChoices;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use signet_crypto::{HashAlgorithm, PublicKey};
use signet_formats::common::TimeRange;
use signet_formats::trust::{CertificateAuthority, TrustedRoot};
use thiserror::Error;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

use super::ess::{IssuerSerial, SigningCertificate, SigningCertificateV2};
use super::request::unsigned_bytes;
use super::token::TimestampToken;
use super::PkiStatus;
use crate::algorithm::{hash_from_oid, verify_signature};
use crate::certificate::{CertificateRole, ParsedCertificate};
use crate::oid;

/// Why a timestamp was not accepted.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimestampError {
    #[error("timestamp does not parse: {0}")]
    Malformed(String),
    #[error("timestamp response status is {status:?}, not granted")]
    NotGranted { status: PkiStatus },
    #[error("{what} is {found}; expected a time-stamp token (signedData / id-ct-TSTInfo)")]
    ContentType { what: &'static str, found: String },
    #[error("timestamp has {0} SignerInfos; expected exactly one")]
    SignerCount(usize),
    #[error("{what} hash algorithm {oid} is not SHA-256, SHA-384 or SHA-512")]
    UnsupportedHash { what: &'static str, oid: String },
    #[error("TSTInfo messageImprint is not the {algorithm} of the signature being time-stamped")]
    ImprintMismatch { algorithm: &'static str },
    #[error("SignerInfo has no signed attributes")]
    MissingSignedAttributes,
    #[error("signed attribute {0} is missing or has more than one value")]
    MissingAttribute(&'static str),
    #[error("content-type signed attribute is {found}; expected id-ct-TSTInfo")]
    ContentTypeAttribute { found: String },
    #[error("message-digest signed attribute is not the {algorithm} of the TSTInfo")]
    MessageDigestMismatch { algorithm: &'static str },
    #[error("the trusted root lists no timestamp authorities")]
    NoAuthorities,
    #[error("trusted timestamp authority {authority:?}: {reason}")]
    TrustedChain { authority: String, reason: String },
    #[error("no signer certificate: the token embeds none and the trusted chain has no leaf")]
    NoSignerCertificate,
    #[error("the token's embedded certificate {subject} is not the trusted TSA leaf")]
    EmbeddedCertificateNotTrusted { subject: String },
    #[error("the token's embedded certificate {subject} cannot be classed as signer or CA: {source}")]
    EmbeddedCertificateExtension {
        subject: String,
        source: Box<crate::certificate::ExtensionError>,
    },
    #[error("TSA certificate {subject}'s extensions are refused: {source}")]
    CertificateExtension {
        subject: String,
        source: Box<crate::certificate::ExtensionError>,
    },
    #[error("SignerInfo's signer identifier does not name the TSA certificate {subject}")]
    SignerIdentifierMismatch { subject: String },
    #[error("CMS signature over the signed attributes: {0}")]
    Signature(String),
    #[error("TSA certificate extended key usage: {0}")]
    ExtendedKeyUsage(String),
    #[error("certificate {subject} is not validly issued by the next in the chain: {reason}")]
    ChainSignature { subject: String, reason: String },
    #[error("genTime {gen_time} is outside certificate {subject}'s validity [{not_before}, {not_after}]")]
    OutsideCertificateValidity {
        subject: String,
        gen_time: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("genTime {gen_time} is outside the trusted root's validFor of the TSA ({valid_for})")]
    OutsideAuthorityValidity { gen_time: i64, valid_for: String },
    #[error("signing-certificate attribute does not match the TSA certificate: {0}")]
    SigningCertificateMismatch(String),
    #[error("no trusted timestamp authority verified the timestamp: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    NoAuthorityVerified(Vec<TimestampError>),
}

/// One `timestampAuthorities` entry of a trusted root, parsed, with what verification needs
/// from it worked out once: the trusted leaf's key, extended key usage and hash, the first CA
/// certificate's key, and (on first use) the trusted chain's own signatures. A verifier keeps
/// its `TsaTrust`s and pays per token only for what the token brings.
#[derive(Debug, Clone)]
pub struct TsaTrust {
    /// Private: what is derived from it below must not go stale.
    chain: Vec<ParsedCertificate>,
    pub valid_for: TimeRange,
    pub name: String,
    signer: TrustedSigner,
    /// [`check_chain`] over `chain`: the links between trusted certificates, the same for
    /// every token; checked once, on first use (each link is a signature verification).
    chain_check: OnceLock<Result<(), TimestampError>>,
}

impl TsaTrust {
    pub fn from_authority(ca: &CertificateAuthority) -> Result<Self, TimestampError> {
        let name = format!("{}/{}", ca.subject.organization, ca.subject.common_name);
        let chain = ca
            .cert_chain
            .certificates
            .iter()
            .map(|c| ParsedCertificate::from_der(&c.raw_bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TimestampError::TrustedChain {
                authority: name.clone(),
                reason: format!("certificate does not parse: {e}"),
            })?;
        let Some(first) = chain.first() else {
            return Err(TimestampError::TrustedChain {
                authority: name,
                reason: "empty certChain".into(),
            });
        };
        // A malformed BasicConstraints says neither "CA" nor "TSA leaf": the authority is
        // unusable (Go's parser refuses the certificate).
        let first_is_ca = first.is_ca().map_err(|e| TimestampError::TrustedChain {
            authority: name.clone(),
            reason: format!("{}: {e}", first.subject()),
        })?;
        let signer = if first_is_ca {
            TrustedSigner::Embedded {
                issuer_key: first.public_key(),
            }
        } else {
            TrustedSigner::Leaf(Box::new(SignerCertificate::new(first.clone())))
        };
        Ok(TsaTrust {
            signer,
            chain,
            valid_for: ca.valid_for.clone(),
            name,
            chain_check: OnceLock::new(),
        })
    }

    pub fn from_trusted_root(root: &TrustedRoot) -> Result<Vec<Self>, TimestampError> {
        root.timestamp_authorities
            .iter()
            .map(Self::from_authority)
            .collect()
    }

    /// The certificates as the trusted root lists them: [leaf, …, root], or CA certificates only.
    pub fn chain(&self) -> &[ParsedCertificate] {
        &self.chain
    }

    fn chain_check(&self) -> Result<(), TimestampError> {
        self.chain_check
            .get_or_init(|| check_chain(&self.chain.iter().collect::<Vec<_>>()))
            .clone()
    }
}

/// Which certificate may sign a token, by what the trusted chain starts with.
#[derive(Debug, Clone)]
enum TrustedSigner {
    /// A non-CA certificate: the trusted root names the TSA's own certificate, and every token
    /// must be signed by it.
    Leaf(Box<SignerCertificate>),
    /// A CA certificate: the token must embed its signer, issued by this first certificate,
    /// whose key is kept here.
    Embedded { issuer_key: Result<PublicKey, String> },
}

impl TrustedSigner {
    fn leaf(&self) -> Option<&SignerCertificate> {
        match self {
            TrustedSigner::Leaf(leaf) => Some(leaf),
            TrustedSigner::Embedded { .. } => None,
        }
    }
}

/// A TSA certificate with what the per-token checks read from it, parsed once.
#[derive(Debug, Clone)]
struct SignerCertificate {
    cert: ParsedCertificate,
    key: Result<PublicKey, String>,
    extended_key_usage: Result<(), TimestampError>,
    /// SHA-256 of the DER, the default ESSCertIDv2 hash.
    sha256: Vec<u8>,
    /// Whether encoding the parsed form gives back `cert.der`: only then may an embedded
    /// certificate be compared to this one in parsed form instead of as bytes.
    round_trips: bool,
}

impl SignerCertificate {
    fn new(cert: ParsedCertificate) -> Self {
        SignerCertificate {
            key: cert.public_key(),
            extended_key_usage: check_extended_key_usage(&cert),
            sha256: HashAlgorithm::Sha2_256.digest(&cert.der),
            round_trips: cert.cert.to_der().is_ok_and(|der| der == cert.der),
            cert,
        }
    }
}

/// What a verified timestamp says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// genTime, Unix seconds.
    pub gen_time: i64,
    pub hash_algorithm: HashAlgorithm,
    pub serial_number: Vec<u8>,
    pub nonce: Option<Vec<u8>>,
    pub policy: ObjectIdentifier,
    /// Index into the `authorities` passed in.
    pub authority: usize,
    /// The TSA certificate that signed.
    pub signer_certificate: Vec<u8>,
}

/// Verifies `token_or_response_der` (a `TimeStampResp` or a bare `TimeStampToken`) as a
/// timestamp over `signature` (the bundle's signature bytes) issued by one of `authorities`.
pub fn verify_timestamp(
    token_or_response_der: &[u8],
    signature: &[u8],
    authorities: &[TsaTrust],
) -> Result<VerifiedTimestamp, TimestampError> {
    let token = TimestampToken::from_response_or_token(token_or_response_der)?;
    let hash_algorithm = check_message_imprint(&token, signature)?;
    let signer_info = single_signer(&token)?;
    check_signed_attributes(&token, signer_info)?;
    if authorities.is_empty() {
        return Err(TimestampError::NoAuthorities);
    }
    let mut errors = Vec::new();
    for (index, authority) in authorities.iter().enumerate() {
        match verify_with_authority(&token, signer_info, authority) {
            Ok(signer) => {
                return Ok(VerifiedTimestamp {
                    gen_time: token.gen_time(),
                    hash_algorithm,
                    serial_number: unsigned_bytes(&token.tst_info.serial_number)
                        .unwrap_or_else(|| token.tst_info.serial_number.as_bytes().to_vec()),
                    nonce: token.tst_info.nonce.as_ref().and_then(unsigned_bytes),
                    policy: token.tst_info.policy,
                    authority: index,
                    signer_certificate: signer,
                })
            }
            Err(e) => errors.push(e),
        }
    }
    Err(if errors.len() == 1 {
        errors.remove(0)
    } else {
        TimestampError::NoAuthorityVerified(errors)
    })
}

/// RFC 3161 §2.4.2: messageImprint is the hash of the time-stamped data, here the signature.
fn check_message_imprint(token: &TimestampToken, signature: &[u8]) -> Result<HashAlgorithm, TimestampError> {
    let imprint = &token.tst_info.message_imprint;
    let hash = hash_from_oid(&imprint.hash_algorithm.oid).ok_or(TimestampError::UnsupportedHash {
        what: "messageImprint",
        oid: imprint.hash_algorithm.oid.to_string(),
    })?;
    if hash.digest(signature) != imprint.hashed_message.as_bytes() {
        return Err(TimestampError::ImprintMismatch {
            algorithm: hash.proto_name(),
        });
    }
    Ok(hash)
}

fn single_signer(token: &TimestampToken) -> Result<&SignerInfo, TimestampError> {
    let infos = &token.signed_data.signer_infos.0;
    match infos.len() {
        1 => Ok(infos.iter().next().expect("one element")),
        n => Err(TimestampError::SignerCount(n)),
    }
}

/// The single value of signed attribute `id`.
fn attribute(signer_info: &SignerInfo, id: ObjectIdentifier) -> Option<&der::Any> {
    let attr = signer_info.signed_attrs.as_ref()?.iter().find(|a| a.oid == id)?;
    (attr.values.len() == 1)
        .then(|| attr.values.iter().next())
        .flatten()
}

/// RFC 5652 §5.3/§11: content-type must be the eContentType, message-digest the digest of
/// the eContent.
fn check_signed_attributes(token: &TimestampToken, signer_info: &SignerInfo) -> Result<(), TimestampError> {
    if signer_info.signed_attrs.is_none() {
        return Err(TimestampError::MissingSignedAttributes);
    }
    let content_type: ObjectIdentifier = attribute(signer_info, oid::ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as().ok())
        .ok_or(TimestampError::MissingAttribute("content-type"))?;
    if content_type != oid::ID_CT_TST_INFO {
        return Err(TimestampError::ContentTypeAttribute {
            found: content_type.to_string(),
        });
    }
    let digest: OctetString = attribute(signer_info, oid::ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as().ok())
        .ok_or(TimestampError::MissingAttribute("message-digest"))?;
    let hash = hash_from_oid(&signer_info.digest_alg.oid).ok_or(TimestampError::UnsupportedHash {
        what: "SignerInfo digestAlgorithm",
        oid: signer_info.digest_alg.oid.to_string(),
    })?;
    if hash.digest(&token.tst_info_der) != digest.as_bytes() {
        return Err(TimestampError::MessageDigestMismatch {
            algorithm: hash.proto_name(),
        });
    }
    Ok(())
}

/// Everything that depends on which TSA is trusted; returns the signer certificate's DER. The
/// checks run in this order whether their result was worked out for this token or once for
/// the authority, so a token meets the same error either way.
fn verify_with_authority(
    token: &TimestampToken,
    signer_info: &SignerInfo,
    authority: &TsaTrust,
) -> Result<Vec<u8>, TimestampError> {
    let signer = select_signer_certificate(token, authority)?;
    check_signer_identifier(signer_info, &signer.cert)?;
    check_signature(signer_info, &signer)?;
    signer.extended_key_usage.clone()?;
    // The path is the trusted chain when the signer is its leaf, else [signer, chain…]: then
    // the first link depends on the token and is checked here, the rest once per authority.
    let path: Vec<&ParsedCertificate> = match &signer {
        Cow::Borrowed(_) => authority.chain.iter().collect(),
        Cow::Owned(embedded) => {
            let issuer = &authority.chain[0];
            match &authority.signer {
                TrustedSigner::Embedded { issuer_key } => {
                    check_issued_by(&embedded.cert, issuer, issuer_key)?
                }
                TrustedSigner::Leaf(_) => check_issued_by(&embedded.cert, issuer, &issuer.public_key())?,
            }
            std::iter::once(&embedded.cert)
                .chain(authority.chain.iter())
                .collect()
        }
    };
    authority.chain_check()?;
    let gen_time = token.gen_time();
    check_validity(&path, gen_time)?;
    check_authority_validity(authority, gen_time)?;
    check_signing_certificate(signer_info, &signer)?;
    Ok(signer.cert.der.clone())
}

/// The signer is the embedded non-CA certificate if there is one (and then it must be the
/// trusted leaf, when the trusted root names a leaf), else the trusted leaf. Borrowed exactly
/// when it is the trusted leaf.
fn select_signer_certificate<'a>(
    token: &TimestampToken,
    authority: &'a TsaTrust,
) -> Result<Cow<'a, SignerCertificate>, TimestampError> {
    let mut embedded = token
        .signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert),
            CertificateChoices::Other(_) => None,
        })
        .peekable();
    // The common case without re-encoding: no embedded certificate, or the trusted leaf first.
    // Equal parsed forms encode alike, so this is the byte comparison below.
    let trusted_leaf = authority.signer.leaf();
    if let Some(leaf) = trusted_leaf {
        match embedded.peek() {
            None => return Ok(Cow::Borrowed(leaf)),
            Some(&first) if leaf.round_trips && *first == leaf.cert.cert => return Ok(Cow::Borrowed(leaf)),
            Some(_) => {}
        }
    }
    let mut signer = None;
    for cert in embedded.filter_map(|cert| {
        let der = cert.to_der().ok()?;
        ParsedCertificate::from_der(&der).ok()
    }) {
        // An embedded certificate whose BasicConstraints does not decode could be the signer
        // or a CA; it is refused rather than guessed at.
        let is_ca = cert
            .is_ca()
            .map_err(|source| TimestampError::EmbeddedCertificateExtension {
                subject: cert.subject(),
                source: Box::new(source),
            })?;
        if !is_ca {
            signer = Some(cert);
            break;
        }
    }
    let embedded = signer;
    if let Some(cert) = &embedded {
        check_certificate_extensions(cert)?;
    }
    match (embedded, trusted_leaf) {
        (Some(e), Some(t)) if e.der != t.cert.der => {
            Err(TimestampError::EmbeddedCertificateNotTrusted { subject: e.subject() })
        }
        (_, Some(t)) => Ok(Cow::Borrowed(t)),
        (Some(e), None) => Ok(Cow::Owned(SignerCertificate::new(e))),
        (None, None) => Err(TimestampError::NoSignerCertificate),
    }
}

fn check_signer_identifier(
    signer_info: &SignerInfo,
    signer: &ParsedCertificate,
) -> Result<(), TimestampError> {
    let tbs = &signer.cert.tbs_certificate;
    let matches = match &signer_info.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == der::oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .and_then(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|own| own == *ski),
    };
    if matches {
        Ok(())
    } else {
        Err(TimestampError::SignerIdentifierMismatch {
            subject: signer.subject(),
        })
    }
}

/// RFC 5652 §5.4: the signature is over the DER of the signed attributes as a SET OF.
fn check_signature(signer_info: &SignerInfo, signer: &SignerCertificate) -> Result<(), TimestampError> {
    let attrs = signer_info
        .signed_attrs
        .as_ref()
        .ok_or(TimestampError::MissingSignedAttributes)?
        .to_der()
        .map_err(|e| TimestampError::Malformed(e.to_string()))?;
    let key = signer
        .key
        .as_ref()
        .map_err(|e| TimestampError::Signature(e.clone()))?;
    verify_signature(
        key,
        &signer_info.signature_algorithm.oid,
        hash_from_oid(&signer_info.digest_alg.oid),
        &attrs,
        signer_info.signature.as_bytes(),
    )
    .map_err(TimestampError::Signature)
}

/// RFC 3161 §2.3: the TSA certificate has exactly one EKU, timeStamping, marked critical.
fn check_extended_key_usage(signer: &ParsedCertificate) -> Result<(), TimestampError> {
    match signer.extended_key_usage() {
        None => Err(TimestampError::ExtendedKeyUsage(
            "no extendedKeyUsage extension".into(),
        )),
        Some((false, _)) => Err(TimestampError::ExtendedKeyUsage(
            "extension is not critical".into(),
        )),
        Some((true, usages)) if usages != [oid::ID_KP_TIME_STAMPING] => Err(
            TimestampError::ExtendedKeyUsage(format!("usages are {usages:?}; expected only timeStamping")),
        ),
        Some(_) => Ok(()),
    }
}

/// Each certificate is signed by the next; the last is the trust anchor, trusted as listed.
fn check_chain(path: &[&ParsedCertificate]) -> Result<(), TimestampError> {
    // Each certificate's extensions as Go's x509 reads them (the TSA chain is verified with
    // `Certificate.Verify` by sigstore-go's timestamp verification): a critical extension
    // nothing processes, or a constraint that does not decode, refuses the chain.
    for cert in path {
        check_certificate_extensions(cert)?;
    }
    for pair in path.windows(2) {
        let (cert, issuer) = (pair[0], pair[1]);
        check_issued_by(cert, issuer, &issuer.public_key())?;
    }
    Ok(())
}

/// [`ParsedCertificate::check_extensions`] for a TSA certificate: an authority's if it is a
/// CA, an end entity's otherwise.
fn check_certificate_extensions(cert: &ParsedCertificate) -> Result<(), TimestampError> {
    let refused = |source| TimestampError::CertificateExtension {
        subject: cert.subject(),
        source: Box::new(source),
    };
    let role = if cert.is_ca().map_err(refused)? {
        CertificateRole::Authority
    } else {
        CertificateRole::EndEntity
    };
    cert.check_extensions(role).map_err(refused)
}

/// One link of [`check_chain`], with the issuer's key parsed by the caller.
fn check_issued_by(
    cert: &ParsedCertificate,
    issuer: &ParsedCertificate,
    issuer_key: &Result<PublicKey, String>,
) -> Result<(), TimestampError> {
    let fail = |reason| TimestampError::ChainSignature {
        subject: cert.subject(),
        reason,
    };
    if !issuer
        .is_ca()
        .map_err(|e| fail(format!("issuer {}: {e}", issuer.subject())))?
    {
        return Err(fail(format!("issuer {} is not a CA", issuer.subject())));
    }
    // As `ParsedCertificate::verify_issued_by`: names first, then the signature.
    if cert.cert.tbs_certificate.issuer != issuer.cert.tbs_certificate.subject {
        return Err(fail(format!(
            "issuer {} is not the subject {}",
            cert.cert.tbs_certificate.issuer,
            issuer.subject()
        )));
    }
    let key = issuer_key.as_ref().map_err(|e| fail(e.clone()))?;
    cert.verify_signature_by(key).map_err(fail)
}

/// The chain must be valid when the timestamp was made (not now: TSA certificates may have
/// expired since, and the timestamp stays good).
fn check_validity(path: &[&ParsedCertificate], gen_time: i64) -> Result<(), TimestampError> {
    for cert in path {
        let (not_before, not_after) = cert.validity();
        if gen_time < not_before || gen_time > not_after {
            return Err(TimestampError::OutsideCertificateValidity {
                subject: cert.subject(),
                gen_time,
                not_before,
                not_after,
            });
        }
    }
    Ok(())
}

/// The trusted root's `validFor` is a closed interval and needs a start.
fn check_authority_validity(authority: &TsaTrust, gen_time: i64) -> Result<(), TimestampError> {
    if authority.valid_for.contains(gen_time) {
        return Ok(());
    }
    let bound = |t: &Option<signet_formats::common::Timestamp>| {
        t.as_ref().map_or("unbounded".to_string(), |t| t.to_string())
    };
    Err(TimestampError::OutsideAuthorityValidity {
        gen_time,
        valid_for: format!(
            "start {}, end {}",
            authority
                .valid_for
                .start
                .as_ref()
                .map_or("missing".to_string(), |t| t.to_string()),
            bound(&authority.valid_for.end)
        ),
    })
}

/// RFC 5035 / RFC 2634: if the token names its signing certificate, it must be this one.
fn check_signing_certificate(
    signer_info: &SignerInfo,
    signer: &SignerCertificate,
) -> Result<(), TimestampError> {
    let mismatch = |what: &str| Err(TimestampError::SigningCertificateMismatch(what.to_string()));
    if let Some(value) = attribute(signer_info, oid::ID_AA_SIGNING_CERTIFICATE_V2) {
        let sc: SigningCertificateV2 = value
            .decode_as()
            .map_err(|e| TimestampError::Malformed(format!("SigningCertificateV2: {e}")))?;
        let Some(first) = sc.certs.first() else {
            return mismatch("SigningCertificateV2 lists no certificate");
        };
        let hash = match &first.hash_algorithm {
            None => HashAlgorithm::Sha2_256,
            Some(alg) => hash_from_oid(&alg.oid).ok_or(TimestampError::UnsupportedHash {
                what: "ESSCertIDv2",
                oid: alg.oid.to_string(),
            })?,
        };
        let digest = match hash {
            HashAlgorithm::Sha2_256 => Cow::Borrowed(&signer.sha256),
            other => Cow::Owned(other.digest(&signer.cert.der)),
        };
        if digest.as_slice() != first.cert_hash.as_bytes() {
            return mismatch("ESSCertIDv2 certHash is not the hash of the TSA certificate");
        }
        return check_issuer_serial(first.issuer_serial.as_ref(), &signer.cert);
    }
    if let Some(value) = attribute(signer_info, oid::ID_AA_SIGNING_CERTIFICATE) {
        let sc: SigningCertificate = value
            .decode_as()
            .map_err(|e| TimestampError::Malformed(format!("SigningCertificate: {e}")))?;
        let Some(first) = sc.certs.first() else {
            return mismatch("SigningCertificate lists no certificate");
        };
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &signer.cert.der);
        if sha1.as_ref() != first.cert_hash.as_bytes() {
            return mismatch("ESSCertID certHash is not the SHA-1 of the TSA certificate");
        }
        return check_issuer_serial(first.issuer_serial.as_ref(), &signer.cert);
    }
    Ok(())
}

fn check_issuer_serial(
    issuer_serial: Option<&IssuerSerial>,
    signer: &ParsedCertificate,
) -> Result<(), TimestampError> {
    match issuer_serial {
        Some(is) if is.serial_number != signer.cert.tbs_certificate.serial_number => {
            Err(TimestampError::SigningCertificateMismatch(
                "issuerSerial serial number is not the TSA certificate's".into(),
            ))
        }
        _ => Ok(()),
    }
}
