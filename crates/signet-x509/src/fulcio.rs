//! The Fulcio code-signing certificate profile: reading a signer's identity out of a leaf
//! ([`read_identity`]), and issuing the CA chain and leaves the way Fulcio does, so that
//! sigstore-python (pyca/cryptography's webpki policy), sigstore-js and sigstore-rs accept
//! them.
//!
//! The leaf follows RFC 6962's precertificate flow: [`FulcioLeaf::precertificate`] is sent to
//! the CT log, and [`FulcioLeaf::certificate`] embeds the log's SCTs in a certificate whose
//! TBS is the precertificate's with the poison swapped for the SCT list (RFC 6962 §3.1–3.3),
//! so that [`sct::precert_tbs`] of the one equals the TBS [`sct::embedded_scts`] rebuilds from
//! the other. The CT encodings themselves are in [`crate::sct`].
//!
//! Extension encodings are Fulcio's `docs/oid-info.md`: 1.3.6.1.4.1.57264.1.1 to .1.6 carry
//! the raw UTF-8 bytes of the value as extnValue contents; .1.8 onward carry a DER UTF8String.

use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Any, Decode, Encode, Tag};
use signet_crypto::{KeyKind, PublicKey};
use thiserror::Error;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::Certificate;

use crate::identity::{CertificateIdentity, FulcioExtensions, SubjectAlternativeName};
use crate::oid;
use crate::profile::{
    authority_key_id, extension, issue, key_identifier, name, sign_tbs, tbs_certificate, validity,
    CertificateParams, IssuerCertificate, ProfileError,
};
use crate::sct;
use signet_crypto::Signer;

/// Why a Fulcio certificate could not be read or issued.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FulcioError {
    #[error("certificate is not DER X.509: {0}")]
    Certificate(der::Error),
    #[error("certificate has no subjectAltName extension; a Fulcio leaf has exactly one")]
    MissingSubjectAltName,
    #[error("subjectAltName does not parse: {0}")]
    MalformedSubjectAltName(der::Error),
    #[error("subjectAltName has {0} entries; a Fulcio leaf has exactly one")]
    SubjectAltNameCount(usize),
    #[error("subjectAltName entry is a {0}; expected rfc822Name, uniformResourceIdentifier or otherName")]
    UnsupportedSubjectAltName(&'static str),
    #[error("subjectAltName otherName has type-id {0}; expected 1.3.6.1.4.1.57264.1.7 (username)")]
    UnsupportedOtherName(der::asn1::ObjectIdentifier),
    #[error("subjectAltName otherName value is not a UTF8String: {0}")]
    MalformedOtherName(der::Error),
    #[error("extension {0} appears more than once (RFC 5280 §4.2)")]
    DuplicateExtension(der::asn1::ObjectIdentifier),
    #[error("Fulcio extension {oid} is malformed: expected {expected}")]
    MalformedExtension {
        oid: der::asn1::ObjectIdentifier,
        expected: &'static str,
    },
    #[error("a Fulcio leaf cannot certify a {seen} key; accepted: ECDSA P-256, ECDSA P-384, Ed25519, RSA 2048 to 4096 bits")]
    UnsupportedLeafKey { seen: String },
    #[error("a Fulcio leaf serial must be 1 to 20 bytes (RFC 5280 §4.1.2.2), got {0}")]
    Serial(usize),
    #[error("SAN value {0:?} is not an IA5String (ASCII)")]
    SanNotAscii(String),
    #[error("SignedCertificateTimestampList for the final certificate: {0}")]
    SctList(sct::SctError),
    #[error("encoding the certificate: {0}")]
    Encoding(#[from] der::Error),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// How a Fulcio extension's value sits in extnValue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// .1.1–.1.6: the UTF-8 bytes themselves.
    Raw,
    /// .1.8 onward: a DER UTF8String.
    Utf8String,
}

impl Encoding {
    fn of(arc: u32) -> Encoding {
        if arc <= 6 {
            Encoding::Raw
        } else {
            Encoding::Utf8String
        }
    }
}

/// The last arc signet knows; .1.7 is the otherName SAN type, not an extension.
const LAST_ARC: u32 = 23;

/// The field of `ext` that 1.3.6.1.4.1.57264.1.`arc` holds; both issuer arcs (.1.1, .1.8) map
/// to `issuer`. The one mapping the reader and the writer share.
fn field(ext: &mut FulcioExtensions, arc: u32) -> Option<&mut Option<String>> {
    Some(match arc {
        1 | 8 => &mut ext.issuer,
        2 => &mut ext.github_workflow_trigger,
        3 => &mut ext.github_workflow_sha,
        4 => &mut ext.github_workflow_name,
        5 => &mut ext.github_workflow_repository,
        6 => &mut ext.github_workflow_ref,
        9 => &mut ext.build_signer_uri,
        10 => &mut ext.build_signer_digest,
        11 => &mut ext.runner_environment,
        12 => &mut ext.source_repository_uri,
        13 => &mut ext.source_repository_digest,
        14 => &mut ext.source_repository_ref,
        15 => &mut ext.source_repository_identifier,
        16 => &mut ext.source_repository_owner_uri,
        17 => &mut ext.source_repository_owner_identifier,
        18 => &mut ext.build_config_uri,
        19 => &mut ext.build_config_digest,
        20 => &mut ext.build_trigger,
        21 => &mut ext.run_invocation_uri,
        22 => &mut ext.source_repository_visibility_at_signing,
        23 => &mut ext.deployment_environment,
        _ => return None,
    })
}

/// The signer identity a DER Fulcio leaf states: its one SAN and its Fulcio extensions.
pub fn read_identity(cert_der: &[u8]) -> Result<CertificateIdentity, FulcioError> {
    let cert = Certificate::from_der(cert_der).map_err(FulcioError::Certificate)?;
    read_identity_from_certificate(&cert)
}

/// [`read_identity`] on a parsed certificate. The issuer is .1.8 when present, else .1.1.
/// Extensions in Fulcio's arc that signet does not know are skipped, so a newer Fulcio's
/// certificates still read; a known one that is malformed or repeated is an error.
pub fn read_identity_from_certificate(cert: &Certificate) -> Result<CertificateIdentity, FulcioError> {
    read_identity_from_tbs(&cert.tbs_certificate)
}

/// [`read_identity`] on a `TBSCertificate` alone: what a CT log's precertificate entry holds.
pub fn read_identity_from_tbs(tbs: &TbsCertificate) -> Result<CertificateIdentity, FulcioError> {
    let extensions: &[Extension] = tbs.extensions.as_deref().unwrap_or(&[]);
    for (i, ext) in extensions.iter().enumerate() {
        if extensions[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(FulcioError::DuplicateExtension(ext.extn_id));
        }
    }

    let san = extensions
        .iter()
        .find(|e| e.extn_id == oid::ID_CE_SUBJECT_ALT_NAME)
        .ok_or(FulcioError::MissingSubjectAltName)?;
    let san = read_san(san.extn_value.as_bytes())?;

    let mut fulcio = FulcioExtensions::default();
    let mut issuer_v1 = None;
    for ext in extensions {
        if ext.extn_id.parent() != Some(oid::FULCIO_ARC) {
            continue;
        }
        let Some(arc) = ext.extn_id.arc(ext.extn_id.len() - 1) else {
            continue;
        };
        let Some(slot) = field(&mut fulcio, arc) else {
            continue;
        };
        let value = decode_value(ext, Encoding::of(arc))?;
        if arc == 1 {
            issuer_v1 = Some(value);
        } else {
            *slot = Some(value);
        }
    }
    if fulcio.issuer.is_none() {
        fulcio.issuer = issuer_v1;
    }
    Ok(CertificateIdentity {
        san,
        extensions: fulcio,
    })
}

fn decode_value(ext: &Extension, encoding: Encoding) -> Result<String, FulcioError> {
    let bytes = ext.extn_value.as_bytes();
    let malformed = |expected| FulcioError::MalformedExtension {
        oid: ext.extn_id,
        expected,
    };
    match encoding {
        Encoding::Raw => String::from_utf8(bytes.to_vec()).map_err(|_| malformed("raw UTF-8 bytes")),
        Encoding::Utf8String => Utf8StringRef::from_der(bytes)
            .map(|s| s.as_str().to_owned())
            .map_err(|_| malformed("a DER UTF8String")),
    }
}

fn read_san(value: &[u8]) -> Result<SubjectAlternativeName, FulcioError> {
    let names = SubjectAltName::from_der(value)
        .map_err(FulcioError::MalformedSubjectAltName)?
        .0;
    let [name] = names.as_slice() else {
        return Err(FulcioError::SubjectAltNameCount(names.len()));
    };
    Ok(match name {
        GeneralName::Rfc822Name(v) => SubjectAlternativeName::Email(v.as_str().to_owned()),
        GeneralName::UniformResourceIdentifier(v) => SubjectAlternativeName::Uri(v.as_str().to_owned()),
        GeneralName::OtherName(other) => {
            if other.type_id != oid::FULCIO_OTHERNAME_SAN {
                return Err(FulcioError::UnsupportedOtherName(other.type_id));
            }
            let value = Utf8StringRef::try_from(&other.value).map_err(FulcioError::MalformedOtherName)?;
            SubjectAlternativeName::OtherName(value.as_str().to_owned())
        }
        GeneralName::DnsName(_) => return Err(FulcioError::UnsupportedSubjectAltName("dNSName")),
        GeneralName::DirectoryName(_) => return Err(FulcioError::UnsupportedSubjectAltName("directoryName")),
        GeneralName::EdiPartyName(_) => return Err(FulcioError::UnsupportedSubjectAltName("ediPartyName")),
        GeneralName::IpAddress(_) => return Err(FulcioError::UnsupportedSubjectAltName("iPAddress")),
        GeneralName::RegisteredId(_) => return Err(FulcioError::UnsupportedSubjectAltName("registeredID")),
    })
}

/// Refuses a CA key other than ECDSA P-256 or P-384: pyca/cryptography's webpki policy (what
/// sigstore-python verifies with) rejects an Ed25519 CA, and those two are what Fulcio uses.
fn check_ca_key(key: &PublicKey) -> Result<(), ProfileError> {
    match key.kind() {
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 => Ok(()),
        other => Err(ProfileError::UnsupportedKey(format!(
            "a Fulcio CA key must be ECDSA P-256 or P-384 (pyca/cryptography rejects other CA keys), got {other}"
        ))),
    }
}

/// A self-signed Fulcio root: BasicConstraints cA (critical), KeyUsage keyCertSign|cRLSign
/// (critical), SKI, AKI. The signer's key must be ECDSA P-256 or P-384.
pub fn fulcio_root_certificate(
    signer: &dyn Signer,
    params: &CertificateParams<'_>,
) -> Result<Vec<u8>, ProfileError> {
    check_ca_key(signer.public_key())?;
    let subject = name(params.subject)?;
    let key_id = key_identifier(signer.public_key());
    let extensions = ca_extensions(&subject, None, None, key_id.clone(), key_id)?;
    issue(
        signer,
        subject.clone(),
        subject,
        signer.public_key(),
        params,
        extensions,
    )
}

/// A Fulcio intermediate for `key`, issued by `issuer` (whose certificate is `issuer_cert_der`),
/// shaped like Fulcio's own: BasicConstraints cA pathLen 0 (critical), KeyUsage
/// keyCertSign|cRLSign (critical), ExtendedKeyUsage codeSigning (not critical), SKI, AKI = the
/// issuer's key id. Both keys must be ECDSA P-256 or P-384.
pub fn fulcio_intermediate_certificate(
    issuer: &dyn Signer,
    issuer_cert_der: &[u8],
    key: &PublicKey,
    params: &CertificateParams<'_>,
) -> Result<Vec<u8>, ProfileError> {
    check_ca_key(issuer.public_key())?;
    check_ca_key(key)?;
    let issuer = IssuerCertificate::new(issuer, issuer_cert_der)?;
    let subject = name(params.subject)?;
    let extensions = ca_extensions(
        &subject,
        Some(0),
        Some(oid::ID_KP_CODE_SIGNING),
        key_identifier(key),
        issuer.key_id,
    )?;
    issue(issuer.signer, issuer.name, subject, key, params, extensions)
}

fn ca_extensions(
    subject: &Name,
    path_len: Option<u8>,
    eku: Option<der::asn1::ObjectIdentifier>,
    key_id: Vec<u8>,
    authority_key_id_: Vec<u8>,
) -> Result<Vec<Extension>, der::Error> {
    let mut extensions = vec![
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
            true,
            subject,
        )?,
        extension(
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            true,
            subject,
        )?,
    ];
    if let Some(eku) = eku {
        extensions.push(extension(&ExtendedKeyUsage(vec![eku]), false, subject)?);
    }
    extensions.push(extension(
        &SubjectKeyIdentifier(OctetString::new(key_id)?),
        false,
        subject,
    )?);
    extensions.push(extension(&authority_key_id(authority_key_id_)?, false, subject)?);
    Ok(extensions)
}

/// Refuses a leaf subject key Fulcio would not certify. Accepted: ECDSA P-256 and P-384,
/// Ed25519, and RSA of 2048 to 4096 bits.
pub fn check_leaf_key(key: &PublicKey) -> Result<(), FulcioError> {
    match key.kind() {
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::Ed25519 => Ok(()),
        KeyKind::Rsa(bits) if (2048..=4096).contains(&bits) => Ok(()),
        other => Err(FulcioError::UnsupportedLeafKey {
            seen: other.to_string(),
        }),
    }
}

/// A Fulcio code-signing leaf, before it is signed. The CA first signs
/// [`precertificate`](Self::precertificate), logs it in CT, then signs
/// [`certificate`](Self::certificate) with the SCTs it got back.
///
/// Profile (Fulcio's, and what pyca/cryptography's webpki policy requires): v3, the caller's
/// serial, an empty subject, the issuer's subject as issuer, and extensions in this order:
/// KeyUsage digitalSignature (critical); ExtendedKeyUsage codeSigning (not critical: pyca rejects
/// a critical one); SKI; AKI (pyca rejects a leaf without one); SubjectAltName (critical, RFC
/// 5280 §4.2.1.6, as the subject is empty); the Fulcio extensions set in the identity, in OID
/// order, the issuer as both .1.1 and .1.8; and last the CT poison or SCT list.
#[derive(Debug, Clone)]
pub struct FulcioLeaf<'a> {
    /// The DER certificate of the CA that signs (Fulcio's intermediate).
    pub issuer_cert_der: &'a [u8],
    /// The key being certified: checked by [`check_leaf_key`].
    pub subject_key: &'a PublicKey,
    pub identity: &'a CertificateIdentity,
    /// 1 to 20 random bytes (RFC 5280 §4.1.2.2); the top bit is cleared to keep it positive.
    pub serial: &'a [u8],
    /// Unix seconds. Fulcio issues for 10 minutes.
    pub not_before: i64,
    pub not_after: i64,
}

impl FulcioLeaf<'_> {
    /// The RFC 6962 §3.1 precertificate: the leaf with the critical poison extension last.
    pub fn precertificate(&self, signer: &dyn Signer) -> Result<Vec<u8>, FulcioError> {
        Ok(sign_tbs(signer, self.tbs(signer, sct::poison_extension())?)?)
    }

    /// The final leaf: the precertificate's TBS with the poison replaced by the RFC 6962 §3.3
    /// SCT list extension (not critical), whose extnValue holds an OCTET STRING wrapping the
    /// TLS-encoded `SignedCertificateTimestampList` of `scts` (at least one).
    pub fn certificate(
        &self,
        signer: &dyn Signer,
        scts: &[sct::SignedCertificateTimestamp],
    ) -> Result<Vec<u8>, FulcioError> {
        let extension = sct::sct_list_extension(scts).map_err(FulcioError::SctList)?;
        Ok(sign_tbs(signer, self.tbs(signer, extension)?)?)
    }

    fn tbs(&self, signer: &dyn Signer, last: Extension) -> Result<TbsCertificate, FulcioError> {
        check_ca_key(signer.public_key())?;
        check_leaf_key(self.subject_key)?;
        if self.serial.is_empty() || self.serial.len() > 20 {
            return Err(FulcioError::Serial(self.serial.len()));
        }
        let issuer = IssuerCertificate::new(signer, self.issuer_cert_der)?;
        let subject = Name::default();
        let mut extensions = vec![
            extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true, &subject)?,
            extension(&ExtendedKeyUsage(vec![oid::ID_KP_CODE_SIGNING]), false, &subject)?,
            extension(
                &SubjectKeyIdentifier(OctetString::new(key_identifier(self.subject_key))?),
                false,
                &subject,
            )?,
            extension(&authority_key_id(issuer.key_id.clone())?, false, &subject)?,
            extension(
                &SubjectAltName(vec![general_name(&self.identity.san)?]),
                true,
                &subject,
            )?,
        ];
        extensions.extend(fulcio_extensions(&self.identity.extensions)?);
        extensions.push(last);
        Ok(tbs_certificate(
            signer,
            issuer.name,
            subject,
            self.subject_key,
            self.serial,
            validity(self.not_before, self.not_after)?,
            extensions,
        )?)
    }
}

fn general_name(san: &SubjectAlternativeName) -> Result<GeneralName, FulcioError> {
    let ia5 = |v: &str| Ia5String::new(v).map_err(|_| FulcioError::SanNotAscii(v.to_owned()));
    Ok(match san {
        SubjectAlternativeName::Email(v) => GeneralName::Rfc822Name(ia5(v)?),
        SubjectAlternativeName::Uri(v) => GeneralName::UniformResourceIdentifier(ia5(v)?),
        SubjectAlternativeName::OtherName(v) => GeneralName::OtherName(OtherName {
            type_id: oid::FULCIO_OTHERNAME_SAN,
            value: Any::new(Tag::Utf8String, v.as_bytes())?,
        }),
    })
}

/// The Fulcio extensions `ext` sets, in OID order, encoded as `docs/oid-info.md` says.
fn fulcio_extensions(ext: &FulcioExtensions) -> Result<Vec<Extension>, der::Error> {
    let mut ext = ext.clone();
    let mut out = Vec::new();
    for arc in 1..=LAST_ARC {
        let Some(value) = field(&mut ext, arc).and_then(|v| v.clone()) else {
            continue;
        };
        let bytes = match Encoding::of(arc) {
            Encoding::Raw => value.into_bytes(),
            Encoding::Utf8String => Utf8StringRef::new(&value)?.to_der()?,
        };
        out.push(Extension {
            extn_id: oid::fulcio(arc),
            critical: false,
            extn_value: OctetString::new(bytes)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `oid::FULCIO_FIELDS` names each arc as the reader stores it: the search parameter
    /// `name` is the `FulcioExtensions` field that arc fills.
    #[test]
    fn fulcio_fields_agree_with_the_reader() {
        for f in oid::FULCIO_FIELDS {
            let mut ext = FulcioExtensions::default();
            *field(&mut ext, f.arc).expect("a known arc") = Some("v".into());
            let debug = format!("{ext:?}");
            assert!(
                debug.contains(&format!("{}: Some(\"v\")", f.name)),
                "{}: {debug}",
                f.arc
            );
            assert_eq!(f.flag.replace('-', "_"), {
                let n = f.name;
                format!("certificate_{n}")
            });
        }
        assert_eq!(
            oid::FULCIO_FIELDS.len(),
            (2..=23).filter(|a| ![7, 8].contains(a)).count()
        );
    }
}
