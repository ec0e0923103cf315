//! Certificate authorities and Fulcio leaves built in the tests (the whole private instance,
//! with logs and a TSA, is `pki.rs`), for the certificate checks:
//! chains of any shape (a leaf issued by the root, two certificates sharing a subject), CA
//! certificates with extensions changed and re-signed, and leaves with an embedded SCT from a
//! CT log the trust material holds. Used by the integration tests and, through `#[path]`, by
//! the verifier's own unit tests.

#![allow(dead_code)] // each including target uses part of it

use der::{Decode, Encode};
use signet_crypto::{sha256, KeyKind, SigningKey};
use signet_formats::common::{DistinguishedName, TimeRange, Timestamp};
use signet_x509::profile::CertificateParams;
use signet_x509::sct::{precert_tbs, sign_sct, CtLogKey, LogEntry};
use signet_x509::{
    fulcio_intermediate_certificate, fulcio_root_certificate, CertificateIdentity, FulcioExtensions,
    FulcioLeaf, ParsedCertificate, SubjectAlternativeName,
};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

pub const IDENTITY: &str = "https://github.com/example/release/.github/workflows/release.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A CA certificate and its key.
pub struct Ca {
    pub key: SigningKey,
    pub der: Vec<u8>,
}

impl Ca {
    /// The same key under another certificate (`der`, e.g. this one re-signed with changed
    /// extensions).
    pub fn with_certificate(&self, der: Vec<u8>) -> Ca {
        Ca {
            key: SigningKey::from_pkcs8_der(self.key.pkcs8_der()).unwrap(),
            der,
        }
    }

    pub fn parsed(&self) -> ParsedCertificate {
        ParsedCertificate::from_der(&self.der).unwrap()
    }

    pub fn spki(&self) -> Vec<u8> {
        self.parsed()
            .cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap()
    }
}

pub fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName {
        organization: "signet.test".into(),
        common_name: cn.into(),
    }
}

fn p256() -> SigningKey {
    SigningKey::generate(KeyKind::EcdsaP256).unwrap()
}

/// A self-signed Fulcio-profile root named `cn`, valid `not_before..not_after`.
pub fn root(cn: &str, not_before: i64, not_after: i64) -> Ca {
    let key = p256();
    let der = fulcio_root_certificate(
        &key,
        &CertificateParams {
            subject: &dn(cn),
            serial: &[0x11; 16],
            not_before,
            not_after,
        },
    )
    .unwrap();
    Ca { key, der }
}

/// A Fulcio-profile intermediate named `cn`, issued by `issuer`, valid `not_before..not_after`.
pub fn intermediate(issuer: &Ca, cn: &str, not_before: i64, not_after: i64) -> Ca {
    let key = p256();
    let der = fulcio_intermediate_certificate(
        &issuer.key,
        &issuer.der,
        key.public_key(),
        &CertificateParams {
            subject: &dn(cn),
            serial: &[0x22; 16],
            not_before,
            not_after,
        },
    )
    .unwrap();
    Ca { key, der }
}

/// `der` with its extensions changed by `change`, signed again by `signer` (the issuer's key,
/// or the certificate's own for a root), so that only the extensions differ.
pub fn resign(der: &[u8], signer: &SigningKey, change: impl FnOnce(&mut Vec<Extension>)) -> Vec<u8> {
    let mut cert = Certificate::from_der(der).unwrap();
    change(cert.tbs_certificate.extensions.get_or_insert_with(Vec::new));
    let signature = signer.sign(&cert.tbs_certificate.to_der().unwrap()).unwrap();
    cert.signature = der::asn1::BitString::from_bytes(&signature).unwrap();
    cert.to_der().unwrap()
}

/// `der` with its extensions changed by `change` and the signature left as it was (for checks
/// that read the certificate but not its signature).
pub fn tamper(der: &[u8], change: impl FnOnce(&mut Vec<Extension>)) -> ParsedCertificate {
    let mut cert = Certificate::from_der(der).unwrap();
    change(cert.tbs_certificate.extensions.get_or_insert_with(Vec::new));
    ParsedCertificate::from_der(&cert.to_der().unwrap()).unwrap()
}

/// An extension with the raw `value` as extnValue contents.
pub fn extension(oid: &str, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: der::asn1::ObjectIdentifier::new(oid).unwrap(),
        critical,
        extn_value: der::asn1::OctetString::new(value.to_vec()).unwrap(),
    }
}

/// Replaces the extension `oid` in `extensions` by `replacement` (same position).
pub fn replace(extensions: &mut [Extension], oid: &str, replacement: Extension) {
    let id = der::asn1::ObjectIdentifier::new(oid).unwrap();
    let slot = extensions.iter_mut().find(|e| e.extn_id == id).unwrap();
    *slot = replacement;
}

/// A CT log key.
pub struct CtLog {
    pub key: SigningKey,
}

impl CtLog {
    pub fn new() -> Self {
        CtLog { key: p256() }
    }

    pub fn log_id(&self) -> [u8; 32] {
        sha256(self.key.public_key().spki_der())
    }

    pub fn trusted(&self) -> CtLogKey {
        CtLogKey::new(self.key.public_key().clone())
    }
}

/// A Fulcio leaf for a fresh key, issued by `issuer`, valid `not_before..not_before + 600`,
/// with an embedded SCT from `ct` naming `issuer` as the precertificate's issuer.
pub fn leaf(issuer: &Ca, ct: &CtLog, not_before: i64, serial: u8) -> ParsedCertificate {
    leaf_with_sct_issuer(issuer, &issuer.spki(), ct, not_before, serial)
}

/// [`leaf`], with the SCT's `issuer_key_hash` that of `sct_issuer_spki` (which a correct CA
/// makes its own SPKI).
pub fn leaf_with_sct_issuer(
    issuer: &Ca,
    sct_issuer_spki: &[u8],
    ct: &CtLog,
    not_before: i64,
    serial: u8,
) -> ParsedCertificate {
    let identity = CertificateIdentity {
        san: SubjectAlternativeName::Uri(IDENTITY.into()),
        extensions: FulcioExtensions {
            issuer: Some(ISSUER.into()),
            ..Default::default()
        },
    };
    let key = p256();
    let serial = [serial; 16];
    let template = FulcioLeaf {
        issuer_cert_der: &issuer.der,
        subject_key: key.public_key(),
        identity: &identity,
        serial: &serial,
        not_before,
        not_after: not_before + 600,
    };
    let precert = template.precertificate(&issuer.key).unwrap();
    let tbs = precert_tbs(&precert).unwrap();
    let entry = LogEntry::Precert {
        issuer_key_hash: sha256(sct_issuer_spki),
        tbs_certificate: &tbs,
    };
    let sct = sign_sct(&ct.key, ct.log_id(), (not_before * 1000) as u64, &entry, &[]).unwrap();
    ParsedCertificate::from_der(&template.certificate(&issuer.key, &[sct]).unwrap()).unwrap()
}

/// `chain` (leaf-issuing end first) parsed, for `CertificateAuthority::new`.
pub fn parse_chain(chain: &[&[u8]]) -> Vec<ParsedCertificate> {
    chain
        .iter()
        .map(|der| ParsedCertificate::from_der(der).unwrap())
        .collect()
}

/// Trusted from `t` on, without end.
pub fn since(t: i64) -> TimeRange {
    TimeRange::starting(Timestamp::from_unix(t))
}
