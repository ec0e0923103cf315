//! RFC 3161 §2.3: "The corresponding certificate MUST contain only one instance of the extended
//! key usage field extension ... with KeyPurposeID having value id-kp-timeStamping. This
//! extension MUST be critical." A token signed under a leaf that breaks this must not verify,
//! even though its signature, chain and validity are fine.
//!
//! The leaves are built here from x509-cert types (not with `signet_x509::profile`, which only
//! makes correct TSA leaves), so each differs from a good leaf in its EKU alone; a control leaf
//! built the same way with the right EKU verifies.

use std::sync::Arc;

use der::asn1::{BitString, ObjectIdentifier};
use der::{Decode, Encode};
use signet_crypto::{HashAlgorithm, KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_root_certificate, CertificateParams};
use signet_x509::{oid, verify_timestamp, TimestampError, TimestampRequest, TokenIssuer, TsaTrust};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use x509_cert::Certificate;

const NOW: i64 = 1_750_000_000;
/// RFC 5280 §4.2.1.12 id-kp-codeSigning.
const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// RFC 5758 §3.2 ecdsa-with-SHA256.
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The EKU extension a test leaf carries: `None` for none, else (critical, usages).
type Eku = Option<(bool, Vec<ObjectIdentifier>)>;

struct Chain {
    root: Vec<u8>,
    leaf: Vec<u8>,
    leaf_key: Arc<SigningKey>,
}

/// A P-256 root made by signet's TSA root profile, and a leaf under it built by hand with the
/// given EKU and no other extension.
fn chain(eku: Eku) -> Chain {
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let root_dn = DistinguishedName {
        organization: "signet test".into(),
        common_name: "tsa eku root".into(),
    };
    let root = tsa_root_certificate(
        &root_key,
        &CertificateParams {
            subject: &root_dn,
            serial: &[1; 16],
            not_before: NOW - 3600,
            not_after: NOW + 86_400,
        },
    )
    .unwrap();
    let root_cert = Certificate::from_der(&root).unwrap();

    let leaf_key = Arc::new(SigningKey::generate(KeyKind::EcdsaP256).unwrap());
    let extensions = eku.map(|(critical, usages)| {
        vec![Extension {
            extn_id: oid::ID_CE_EXT_KEY_USAGE,
            critical,
            extn_value: der::asn1::OctetString::new(ExtendedKeyUsage(usages).to_der().unwrap()).unwrap(),
        }]
    });
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[2; 16]).unwrap(),
        signature: AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
        issuer: root_cert.tbs_certificate.subject.clone(),
        validity: Validity {
            not_before: time(NOW - 3600),
            not_after: time(NOW + 86_400),
        },
        subject: "CN=tsa eku leaf,O=signet test".parse::<Name>().unwrap(),
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(leaf_key.public_key().spki_der())
            .unwrap(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions,
    };
    let signature = root_key.sign(&tbs.to_der().unwrap()).unwrap();
    let leaf = Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&signature).unwrap(),
    }
    .to_der()
    .unwrap();
    Chain { root, leaf, leaf_key }
}

fn time(unix: i64) -> x509_cert::time::Time {
    let when = std::time::Duration::from_secs(unix as u64);
    x509_cert::time::Time::UtcTime(der::asn1::UtcTime::from_unix_duration(when).unwrap())
}

/// A token over `signature` issued under `chain`'s leaf, verified against [leaf, root].
fn issue_and_verify(chain: &Chain, cert_req: bool) -> Result<(), TimestampError> {
    let signature = b"signature bytes";
    let issuer = TokenIssuer::new(chain.leaf_key.clone(), &chain.leaf, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
    let mut request =
        TimestampRequest::new(HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_256.digest(signature)).unwrap();
    request.cert_req = cert_req;
    let response = issuer.issue(&request, &[7; 16], NOW).unwrap();
    let trust = TsaTrust::from_authority(&CertificateAuthority {
        subject: DistinguishedName::default(),
        uri: None,
        cert_chain: X509CertificateChain {
            certificates: [&chain.leaf, &chain.root]
                .into_iter()
                .map(|der| X509Certificate {
                    raw_bytes: der.clone(),
                })
                .collect(),
        },
        valid_for: TimeRange::starting(Timestamp::from_unix(NOW - 3600)),
        operator: None,
    })
    .unwrap();
    verify_timestamp(&response, signature, &[trust]).map(|_| ())
}

/// The `ExtendedKeyUsage` reason, or a panic naming the error that came instead.
fn eku_reason(result: Result<(), TimestampError>) -> String {
    match result {
        Err(TimestampError::ExtendedKeyUsage(reason)) => reason,
        other => panic!("expected TimestampError::ExtendedKeyUsage, got {other:?}"),
    }
}

#[test]
fn control_leaf_with_critical_time_stamping_verifies() {
    let good = chain(Some((true, vec![oid::ID_KP_TIME_STAMPING])));
    issue_and_verify(&good, true).unwrap();
    issue_and_verify(&good, false).unwrap();
}

#[test]
fn leaf_without_eku_is_rejected() {
    let no_eku = chain(None);
    for cert_req in [true, false] {
        let reason = eku_reason(issue_and_verify(&no_eku, cert_req));
        assert_eq!(reason, "no extendedKeyUsage extension");
    }
}

#[test]
fn non_critical_time_stamping_eku_is_rejected() {
    let non_critical = chain(Some((false, vec![oid::ID_KP_TIME_STAMPING])));
    let reason = eku_reason(issue_and_verify(&non_critical, true));
    assert_eq!(reason, "extension is not critical");
}

#[test]
fn wrong_or_extra_usage_is_rejected() {
    let code_signing = chain(Some((true, vec![ID_KP_CODE_SIGNING])));
    let reason = eku_reason(issue_and_verify(&code_signing, true));
    assert!(reason.contains("expected only timeStamping"), "{reason}");

    // timeStamping must be the only usage (RFC 3161 §2.3).
    let extra = chain(Some((true, vec![oid::ID_KP_TIME_STAMPING, ID_KP_CODE_SIGNING])));
    let reason = eku_reason(issue_and_verify(&extra, true));
    assert!(reason.contains("expected only timeStamping"), "{reason}");
}
