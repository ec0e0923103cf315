//! Certificate profiles signet issues. For now the timestamp authority's chain: a self-signed
//! ECDSA root and a leaf with the critical `timeStamping` EKU that RFC 3161 §2.3 requires.

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
use crate::signer::Signer;

/// Why a certificate could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error("encoding the certificate: {0}")]
    Encoding(#[from] der::Error),
    #[error(transparent)]
    Signer(#[from] crate::signer::SignerError),
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
    let issuer_cert =
        ParsedCertificate::from_der(issuer_cert_der).map_err(|e| ProfileError::Issuer(e.to_string()))?;
    let issuer_key = issuer_cert.public_key().map_err(ProfileError::Issuer)?;
    if &issuer_key != issuer.public_key() {
        return Err(ProfileError::Issuer(
            "the signer's key is not the issuer certificate's key".into(),
        ));
    }
    let subject = name(params.subject)?;
    let issuer_name = issuer_cert.cert.tbs_certificate.subject.clone();
    let extensions = vec![
        extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true, &subject)?,
        extension(&ExtendedKeyUsage(vec![oid::ID_KP_TIME_STAMPING]), true, &subject)?,
        extension(
            &SubjectKeyIdentifier(OctetString::new(key_identifier(leaf_key))?),
            false,
            &subject,
        )?,
        extension(&authority_key_id(key_identifier(&issuer_key))?, false, &subject)?,
    ];
    issue(issuer, issuer_name, subject, leaf_key, params, extensions)
}

fn issue(
    signer: &dyn Signer,
    issuer: Name,
    subject: Name,
    subject_key: &PublicKey,
    params: &CertificateParams<'_>,
    extensions: Vec<Extension>,
) -> Result<Vec<u8>, ProfileError> {
    let signature_algorithm =
        signature_algorithm_identifier(signer.details()).map_err(ProfileError::UnsupportedKey)?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&positive(params.serial))?,
        signature: signature_algorithm.clone(),
        issuer,
        validity: Validity {
            not_before: time(params.not_before, params)?,
            not_after: time(params.not_after, params)?,
        },
        subject,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(subject_key.spki_der())?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = signer.sign(&tbs.to_der()?)?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm,
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
fn key_identifier(key: &PublicKey) -> Vec<u8> {
    sha256(key.raw_bytes())[..20].to_vec()
}

fn authority_key_id(key_id: Vec<u8>) -> Result<AuthorityKeyIdentifier, der::Error> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_id)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

fn extension<T: AsExtension>(value: &T, critical: bool, subject: &Name) -> Result<Extension, der::Error> {
    let mut ext = value.to_extension(subject, &[])?;
    ext.critical = critical;
    Ok(ext)
}

/// Serial bytes as a positive INTEGER: the top bit cleared, never all zero.
fn positive(serial: &[u8]) -> Vec<u8> {
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

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn time(unix: i64, params: &CertificateParams<'_>) -> Result<Time, ProfileError> {
    let bad = || ProfileError::Validity {
        not_before: params.not_before,
        not_after: params.not_after,
    };
    if params.not_after <= params.not_before {
        return Err(bad());
    }
    let secs = u64::try_from(unix).map_err(|_| bad())?;
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs)).map_err(|_| bad())?;
    Ok(if dt.year() < 2050 {
        Time::UtcTime(UtcTime::from_date_time(dt)?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(dt))
    })
}
