//! The signature itself: a detached CMS `SignedData` (RFC 5652 §5) as gitsign writes it.
//!
//! ```text
//! ContentInfo { signedData, SignedData {
//!   version 1, digestAlgorithms { sha256 },
//!   encapContentInfo { id-data, eContent absent },          -- detached: git keeps the payload
//!   certificates { the Fulcio leaf },
//!   signerInfos { SignerInfo {
//!     version 1, sid IssuerAndSerialNumber, sha256,
//!     signedAttrs { contentType id-data, signingTime, messageDigest sha256(payload) },
//!     ecdsa-with-SHA256, signature over DER(signedAttrs as a SET),
//!     unsignedAttrs { 1.3.6.1.4.1.57264.3.1 OCTET STRING TransparencyLogEntry (protobuf),
//!                     id-aa-timeStampToken TimeStampToken over the signature } } } } }
//! ```
//!
//! Parsing is strict where a signature depends on it: one signer, found among the
//! certificates by issuer and serial; SHA-256 and ECDSA with SHA-256 only (what Fulcio's P-256
//! keys and gitsign use); exactly one `contentType` (id-data) and one `messageDigest`; the
//! content detached. The ECDSA signature is checked over the DER of the signed attributes as a
//! `SET OF` in DER order, as RFC 5652 §5.4 defines the message digest input; a signer that
//! wrote them out of DER order fails rather than verifying over bytes signet did not parse.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes as CmsSignedAttributes, SignedData,
    SignerIdentifier, SignerInfo, SignerInfos, UnsignedAttributes,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tagged};
use spki::AlgorithmIdentifierOwned;
use thiserror::Error;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;
use x509_cert::Certificate;

use crate::armor;

/// `id-signedData` (RFC 5652 §5.1).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-data` (RFC 5652 §4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// `id-contentType` (RFC 5652 §11.1).
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` (RFC 5652 §11.2).
pub const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `id-signingTime` (RFC 5652 §11.3).
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// `id-aa-timeStampToken` (RFC 3161 Appendix A): an RFC 3161 token over the signature value.
pub const ID_AA_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// gitsign's unsigned attribute holding the transparency-log entry (Sigstore's OID arc
/// 1.3.6.1.4.1.57264.3, "Rekor"; gitsign `internal/rekor/oid`).
pub const ID_TLOG_ENTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.3.1");
/// SHA-256 (NIST).
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `ecdsa-with-SHA256` (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Why a signature could not be read or written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the signature is not armored as a SIGNED MESSAGE: {0}")]
    Armor(String),
    #[error("the signature is not CMS: {0}")]
    NotCms(String),
    #[error("the CMS content is {0}, not SignedData")]
    NotSignedData(String),
    #[error("the CMS SignedData is {what}; gitsign's format has {expected}")]
    Unsupported { what: String, expected: &'static str },
    #[error("the CMS SignedData has {0} signers; a git signature has exactly one")]
    SignerCount(usize),
    #[error("no certificate in the signature matches its signer (issuer and serial number)")]
    NoSignerCertificate,
    #[error("the signed attributes {0}")]
    SignedAttributes(String),
    #[error("the unsigned attributes {0}")]
    UnsignedAttributes(String),
    #[error("the signing certificate does not parse: {0}")]
    Certificate(String),
    #[error("encoding the signature: {0}")]
    Encode(String),
}

/// The signed attributes: what the signature is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttributes {
    /// DER of the attributes as a `SET OF` (tag 0x31): the bytes ECDSA signs, and the artifact
    /// of the hashedrekord log entry.
    der: Vec<u8>,
    message_digest: [u8; 32],
    signing_time: Option<i64>,
}

impl SignedAttributes {
    /// gitsign's three attributes for `payload` (the bytes git hands over) signed at
    /// `signing_time` (Unix seconds, the signer's clock; unauthenticated).
    pub fn new(payload: &[u8], signing_time: i64) -> Result<Self, SignatureError> {
        let digest = signet_crypto::sha256(payload);
        let time = unix_to_time(signing_time)?;
        let attrs = vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
            attribute(ID_SIGNING_TIME, Any::encode_from(&time)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(digest.to_vec()).map_err(encode_err)?)?,
            )?,
        ];
        let set = SetOfVec::try_from(attrs).map_err(encode_err)?;
        Self::from_set(&set)
    }

    fn from_set(set: &CmsSignedAttributes) -> Result<Self, SignatureError> {
        let bad = |m: String| SignatureError::SignedAttributes(m);
        let mut content_type = None;
        let mut message_digest = None;
        let mut signing_time = None;
        for attr in set.iter() {
            let slot_name = if attr.oid == ID_CONTENT_TYPE {
                "contentType"
            } else if attr.oid == ID_MESSAGE_DIGEST {
                "messageDigest"
            } else if attr.oid == ID_SIGNING_TIME {
                "signingTime"
            } else {
                // Other signed attributes are covered by the signature and change nothing
                // signet relies on.
                continue;
            };
            let value = single_value(attr)
                .map_err(|n| bad(format!("have {n} {slot_name} values; RFC 5652 §11 allows one")))?;
            let duplicate = || bad(format!("have two {slot_name} attributes"));
            if attr.oid == ID_CONTENT_TYPE {
                let oid: ObjectIdentifier = value
                    .decode_as()
                    .map_err(|e| bad(format!("contentType does not parse: {e}")))?;
                if content_type.replace(oid).is_some() {
                    return Err(duplicate());
                }
            } else if attr.oid == ID_MESSAGE_DIGEST {
                let digest: OctetString = value
                    .decode_as()
                    .map_err(|e| bad(format!("messageDigest does not parse: {e}")))?;
                let digest: [u8; 32] = digest.as_bytes().try_into().map_err(|_| {
                    bad(format!(
                        "messageDigest is {} bytes, not a SHA-256 digest",
                        digest.as_bytes().len()
                    ))
                })?;
                if message_digest.replace(digest).is_some() {
                    return Err(duplicate());
                }
            } else {
                let time = value
                    .to_der()
                    .and_then(|der| Time::from_der(&der))
                    .map_err(|e| bad(format!("signingTime does not parse: {e}")))?;
                let unix = i64::try_from(time.to_unix_duration().as_secs())
                    .map_err(|_| bad("signingTime is out of range".into()))?;
                if signing_time.replace(unix).is_some() {
                    return Err(duplicate());
                }
            }
        }
        match content_type {
            Some(oid) if oid == ID_DATA => {}
            Some(oid) => return Err(bad(format!("name content type {oid}, not id-data"))),
            None => return Err(bad("have no contentType (RFC 5652 §5.3 requires it)".into())),
        }
        let message_digest =
            message_digest.ok_or_else(|| bad("have no messageDigest (RFC 5652 §5.3 requires it)".into()))?;
        Ok(SignedAttributes {
            der: set.to_der().map_err(encode_err)?,
            message_digest,
            signing_time,
        })
    }

    /// DER of the attributes as a `SET OF`: what the signature and the log entry are over.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The `messageDigest`: SHA-256 of the signed payload.
    pub fn message_digest(&self) -> &[u8; 32] {
        &self.message_digest
    }

    /// The `signingTime` the signer claimed (its own clock: not evidence of anything).
    pub fn signing_time(&self) -> Option<i64> {
        self.signing_time
    }

    /// Whether `payload` is what these attributes were made for.
    pub fn covers(&self, payload: &[u8]) -> bool {
        signet_crypto::sha256(payload) == self.message_digest
    }

    fn to_cms(&self) -> Result<CmsSignedAttributes, SignatureError> {
        CmsSignedAttributes::from_der(&self.der).map_err(encode_err)
    }
}

/// A git signature: gitsign's detached CMS, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSignature {
    /// The signer's certificate (DER), the one the signer identifier names.
    pub certificate: Vec<u8>,
    /// What the signature is over.
    pub signed_attributes: SignedAttributes,
    /// ECDSA (DER) over [`SignedAttributes::der`] with SHA-256.
    pub signature: Vec<u8>,
    /// The transparency-log entry: a protobuf `dev.sigstore.rekor.v1.TransparencyLogEntry`
    /// without its body ([`crate::tle`]).
    pub tlog_entry: Option<Vec<u8>>,
    /// An RFC 3161 `TimeStampToken` (DER `ContentInfo`) over [`GitSignature::signature`].
    pub timestamp_token: Option<Vec<u8>>,
}

impl GitSignature {
    /// Parses DER `ContentInfo`.
    pub fn from_der(bytes: &[u8]) -> Result<Self, SignatureError> {
        let info = ContentInfo::from_der(bytes).map_err(|e| SignatureError::NotCms(e.to_string()))?;
        if info.content_type != ID_SIGNED_DATA {
            return Err(SignatureError::NotSignedData(info.content_type.to_string()));
        }
        let data: SignedData = info
            .content
            .decode_as()
            .map_err(|e| SignatureError::NotCms(format!("SignedData does not parse: {e}")))?;
        let unsupported = |what: String, expected| SignatureError::Unsupported { what, expected };
        if data.encap_content_info.econtent_type != ID_DATA {
            return Err(unsupported(
                format!("over content type {}", data.encap_content_info.econtent_type),
                "id-data",
            ));
        }
        if data.encap_content_info.econtent.is_some() {
            return Err(unsupported(
                "not detached (it carries its content)".into(),
                "the content detached, as git keeps it",
            ));
        }
        let signers: Vec<&SignerInfo> = data.signer_infos.0.iter().collect();
        let [signer] = signers[..] else {
            return Err(SignatureError::SignerCount(signers.len()));
        };
        check_algorithm(&signer.digest_alg, ID_SHA256, "digest algorithm", "SHA-256")?;
        check_algorithm(
            &signer.signature_algorithm,
            ECDSA_WITH_SHA256,
            "signature algorithm",
            "ecdsa-with-SHA256",
        )?;
        let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
            return Err(unsupported(
                "a signer named by subject key identifier".into(),
                "the signer named by issuer and serial number",
            ));
        };
        let certificate = data
            .certificates
            .as_ref()
            .into_iter()
            .flat_map(|set| set.0.iter())
            .find_map(|choice| match choice {
                CertificateChoices::Certificate(cert)
                    if cert.tbs_certificate.issuer == sid.issuer
                        && cert.tbs_certificate.serial_number == sid.serial_number =>
                {
                    Some(cert)
                }
                _ => None,
            })
            .ok_or(SignatureError::NoSignerCertificate)?;
        let signed_attrs = signer.signed_attrs.as_ref().ok_or_else(|| {
            SignatureError::SignedAttributes("are absent; gitsign signs a messageDigest attribute".into())
        })?;
        let signed_attributes = SignedAttributes::from_set(signed_attrs)?;

        let mut tlog_entry = None;
        let mut timestamp_token = None;
        for attr in signer.unsigned_attrs.iter().flat_map(|set| set.iter()) {
            let bad = |m: String| SignatureError::UnsignedAttributes(m);
            let (slot, name) = if attr.oid == ID_TLOG_ENTRY {
                (&mut tlog_entry, "transparency-log entry")
            } else if attr.oid == ID_AA_TIME_STAMP_TOKEN {
                (&mut timestamp_token, "timestamp")
            } else {
                continue;
            };
            let value =
                single_value(attr).map_err(|n| bad(format!("have {n} {name} values; signet reads one")))?;
            let bytes = if attr.oid == ID_TLOG_ENTRY {
                let octets: OctetString = value
                    .decode_as()
                    .map_err(|e| bad(format!("{name} is not an OCTET STRING: {e}")))?;
                octets.into_bytes()
            } else {
                value.to_der().map_err(encode_err)?
            };
            if slot.replace(bytes).is_some() {
                return Err(bad(format!("have two {name} attributes")));
            }
        }
        Ok(GitSignature {
            certificate: certificate.to_der().map_err(encode_err)?,
            signed_attributes,
            signature: signer.signature.as_bytes().to_vec(),
            tlog_entry,
            timestamp_token,
        })
    }

    /// Parses the armored form git stores (`-----BEGIN SIGNED MESSAGE-----`).
    pub fn from_armored(text: &[u8]) -> Result<Self, SignatureError> {
        let der = armor::dearmor(text).map_err(|e| SignatureError::Armor(e.to_string()))?;
        Self::from_der(&der)
    }

    /// DER `ContentInfo`, gitsign's layout.
    pub fn to_der(&self) -> Result<Vec<u8>, SignatureError> {
        let cert = Certificate::from_der(&self.certificate)
            .map_err(|e| SignatureError::Certificate(e.to_string()))?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let mut unsigned = Vec::new();
        if let Some(entry) = &self.tlog_entry {
            let octets = OctetString::new(entry.clone()).map_err(encode_err)?;
            unsigned.push(attribute(ID_TLOG_ENTRY, Any::encode_from(&octets)?)?);
        }
        if let Some(token) = &self.timestamp_token {
            unsigned.push(attribute(
                ID_AA_TIME_STAMP_TOKEN,
                Any::from_der(token)
                    .map_err(|e| SignatureError::Encode(format!("the timestamp token: {e}")))?,
            )?);
        }
        let unsigned_attrs: Option<UnsignedAttributes> = if unsigned.is_empty() {
            None
        } else {
            Some(SetOfVec::try_from(unsigned).map_err(encode_err)?)
        };
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate.issuer.clone(),
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(self.signed_attributes.to_cms()?),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            signature: OctetString::new(self.signature.clone()).map_err(encode_err)?,
            unsigned_attrs,
        };
        let data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(encode_err)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(cert)]).map_err(encode_err)?,
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(encode_err)?),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&data)?,
        }
        .to_der()
        .map_err(encode_err)
    }

    /// The armored form git stores.
    pub fn to_armored(&self) -> Result<String, SignatureError> {
        Ok(armor::armor(&self.to_der()?))
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, SignatureError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(encode_err)?,
    })
}

/// The attribute's one value, or how many it has.
fn single_value(attr: &Attribute) -> Result<&Any, usize> {
    match attr.values.as_slice() {
        [value] => Ok(value),
        values => Err(values.len()),
    }
}

fn check_algorithm(
    alg: &AlgorithmIdentifierOwned,
    expected: ObjectIdentifier,
    what: &str,
    name: &'static str,
) -> Result<(), SignatureError> {
    // RFC 5754 §2: SHA-2 parameters are absent (or, from old encoders, NULL); RFC 5758 §3.2:
    // ECDSA's are absent.
    let params_ok = match &alg.parameters {
        None => true,
        Some(p) => expected == ID_SHA256 && p.tag() == der::Tag::Null && p.value().is_empty(),
    };
    if alg.oid != expected || !params_ok {
        return Err(SignatureError::Unsupported {
            what: format!("signed with {what} {}", alg.oid),
            expected: name,
        });
    }
    Ok(())
}

fn unix_to_time(unix: i64) -> Result<Time, SignatureError> {
    let secs = u64::try_from(unix)
        .map_err(|_| SignatureError::Encode(format!("signing time {unix} is before 1970")))?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_err(encode_err)?;
    // RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    Ok(match der::asn1::UtcTime::from_date_time(dt) {
        Ok(utc) => Time::UtcTime(utc),
        Err(_) => Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt)),
    })
}

fn encode_err(e: der::Error) -> SignatureError {
    SignatureError::Encode(e.to_string())
}

impl From<der::Error> for SignatureError {
    fn from(e: der::Error) -> Self {
        encode_err(e)
    }
}
