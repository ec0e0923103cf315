//! Certificate profiles signet issues, and the building blocks they share. Here the timestamp
//! authority's chain: a self-signed ECDSA root and a leaf with the critical `timeStamping` EKU
//! that RFC 3161 §2.3 requires. The Fulcio chain and leaves are in [`crate::fulcio`].

use std::time::Duration;

use der::asn1::{Any, BitString, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Decode, Encode, Tag};
use signet_crypto::{sha256, PublicKey};
use signet_formats::common::DistinguishedName;
use spki::SubjectPublicKeyInfoOwned;
use thiserror::Error;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use crate::algorithm::signature_algorithm_identifier;
use crate::certificate::ParsedCertificate;
use crate::oid;
use signet_crypto::Signer;

/// Why a certificate could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("encoding the certificate: {0}")]
    Encoding(#[from] der::Error),
    #[error(transparent)]
    Signer(#[from] signet_crypto::SignerError),
    #[error("unsupported key for a certificate signer: {0}")]
    UnsupportedKey(String),
    #[error("issuer certificate does not parse or has no usable key: {0}")]
    Issuer(String),
    #[error("validity window {not_before}..{not_after} is empty or out of range")]
    Validity { not_before: i64, not_after: i64 },
}

/// What every certificate of a profile needs from the caller. The serial is a parameter (the
/// core draws no random numbers); RFC 5280 §4.1.2.2 wants it unique per issuer and at most
/// 20 bytes, so give 16 random bytes.
#[derive(Debug, Clone)]
pub struct CertificateParams<'a> {
    pub subject: &'a DistinguishedName,
    pub serial: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
}

/// A self-signed CA certificate for a timestamp authority (BasicConstraints cA critical,
/// KeyUsage keyCertSign+cRLSign critical, SKI, AKI).
pub fn tsa_root_certificate(
    signer: &dyn Signer,
    params: &CertificateParams<'_>,
) -> Result<Vec<u8>, ProfileError> {
    let name = name(params.subject)?;
    let ski = key_identifier(signer.public_key());
    let extensions = vec![
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
            true,
            &name,
        )?,
        extension(
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            true,
            &name,
        )?,
        extension(
            &SubjectKeyIdentifier(OctetString::new(ski.clone())?),
            false,
            &name,
        )?,
        extension(&authority_key_id(ski)?, false, &name)?,
    ];
    issue(
        signer,
        name.clone(),
        name,
        signer.public_key(),
        params,
        extensions,
    )
}

/// A timestamping leaf certificate issued by `issuer` (KeyUsage digitalSignature critical,
/// ExtendedKeyUsage exactly timeStamping and critical, SKI, AKI = the issuer's key id).
pub fn tsa_leaf_certificate(
    issuer: &dyn Signer,
    issuer_cert_der: &[u8],
    leaf_key: &PublicKey,
    params: &CertificateParams<'_>,
) -> Result<Vec<u8>, ProfileError> {
    let issuer = IssuerCertificate::new(issuer, issuer_cert_der)?;
    let subject = name(params.subject)?;
    let extensions = vec![
        extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true, &subject)?,
        extension(&ExtendedKeyUsage(vec![oid::ID_KP_TIME_STAMPING]), true, &subject)?,
        extension(
            &SubjectKeyIdentifier(OctetString::new(key_identifier(leaf_key))?),
            false,
            &subject,
        )?,
        extension(&authority_key_id(issuer.key_id.clone())?, false, &subject)?,
    ];
    issue(issuer.signer, issuer.name, subject, leaf_key, params, extensions)
}

/// The CA certificate and key a certificate is issued under, checked to belong together.
pub(crate) struct IssuerCertificate<'a> {
    pub signer: &'a dyn Signer,
    /// The issuer's subject: the new certificate's issuer name.
    pub name: Name,
    /// The issuer's SubjectKeyIdentifier if it has one, else [`key_identifier`] of its key:
    /// the new certificate's AuthorityKeyIdentifier (RFC 5280 §4.2.1.1).
    pub key_id: Vec<u8>,
}

impl<'a> IssuerCertificate<'a> {
    pub fn new(signer: &'a dyn Signer, cert_der: &[u8]) -> Result<Self, ProfileError> {
        let cert = ParsedCertificate::from_der(cert_der).map_err(|e| ProfileError::Issuer(e.to_string()))?;
        let key = cert.public_key().map_err(ProfileError::Issuer)?;
        if &key != signer.public_key() {
            return Err(ProfileError::Issuer(
                "the signer's key is not the issuer certificate's key".into(),
            ));
        }
        let ski = cert
            .cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .map(|e| SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()))
            .transpose()
            .map_err(|e| ProfileError::Issuer(format!("SubjectKeyIdentifier: {e}")))?;
        Ok(IssuerCertificate {
            signer,
            name: cert.cert.tbs_certificate.subject,
            key_id: match ski {
                Some(ski) => ski.0.into_bytes(),
                None => key_identifier(&key),
            },
        })
    }
}

pub(crate) fn issue(
    signer: &dyn Signer,
    issuer: Name,
    subject: Name,
    subject_key: &PublicKey,
    params: &CertificateParams<'_>,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, ProfileError> {
    let tbs = tbs_certificate(
        signer,
        issuer,
        subject,
        subject_key,
        params.serial,
        validity(params.not_before, params.not_after)?,
        extensions,
    )?;
    sign_tbs(signer, tbs)
}

/// A v3 TBSCertificate whose `signature` field names `signer`'s algorithm.
pub(crate) fn tbs_certificate(
    signer: &dyn Signer,
    issuer: Name,
    subject: Name,
    subject_key: &PublicKey,
    serial: &[u8],
    validity: Validity,
    extensions: Vec<Extension>,
) -> Result<TbsCertificate, ProfileError> {
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&positive(serial))?,
        signature: signature_algorithm_identifier(signer.details()).map_err(ProfileError::UnsupportedKey)?,
        issuer,
        validity,
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(subject_key.spki_der())?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

/// Signs `tbs` with `signer` into a DER certificate.
pub(crate) fn sign_tbs(signer: &dyn Signer, tbs: TbsCertificate) -> Result<Vec<u8>, ProfileError> {
    let signature = signer.sign(&tbs.to_der()?)?;
    let cert = Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(cert.to_der()?)
}

/// `O=<organization>, CN=<commonName>` as UTF8Strings, in that order.
pub fn name(subject: &DistinguishedName) -> Result<Name, der::Error> {
    let rdn = |oid, value: &str| -> Result<RelativeDistinguishedName, der::Error> {
        Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![
            AttributeTypeAndValue {
                oid,
                value: Any::new(Tag::Utf8String, value.as_bytes())?,
            },
        ])?))
    };
    let mut rdns = Vec::new();
    if !subject.organization.is_empty() {
        rdns.push(rdn(const_oid_o(), &subject.organization)?);
    }
    rdns.push(rdn(const_oid_cn(), &subject.common_name)?);
    Ok(RdnSequence(rdns))
}

fn const_oid_o() -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap("2.5.4.10")
}

fn const_oid_cn() -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3")
}

/// RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits.
pub(crate) fn key_identifier(key: &PublicKey) -> Vec<u8> {
    sha256(key.raw_bytes())[..20].to_vec()
}

pub(crate) fn authority_key_id(key_id: Vec<u8>) -> Result<AuthorityKeyIdentifier, der::Error> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

pub(crate) fn extension<T: AsExtension>(
    value: &T,
    critical: bool,
    subject: &Name,
) -> Result<Extension, der::Error> {
    let mut ext = value.to_extension(subject, &[])?;
    ext.critical = critical;
    Ok(ext)
}

/// Serial bytes as a positive INTEGER: the top bit cleared, never all zero.
pub(crate) fn positive(serial: &[u8]) -> Vec<u8> {
    let mut s: Vec<u8> = serial.iter().copied().skip_while(|b| *b == 0).collect();
    if s.is_empty() {
        s.push(1);
    }
    s[0] &= 0x7f;
    if s[0] == 0 {
        s[0] = 1;
    }
    s
}

/// `notBefore`..`notAfter` from Unix seconds; an empty or negative window is an error.
pub(crate) fn validity(not_before: i64, not_after: i64) -> Result<Validity, ProfileError> {
    let bad = || ProfileError::Validity {
        not_before,
        not_after,
    };
    if not_after <= not_before {
        return Err(bad());
    }
    Ok(Validity {
        not_before: time(not_before).ok_or_else(bad)?,
        not_after: time(not_after).ok_or_else(bad)?,
    })
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. `None` if `unix` is
/// outside what X.509 times can say.
pub(crate) fn time(unix: i64) -> Option<Time> {
    let secs = u64::try_from(unix).ok()?;
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs)).ok()?;
    Some(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt).ok()?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}
