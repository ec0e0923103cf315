//! Certificate extensions read as Go's `x509.ParseCertificate` reads them: a BasicConstraints
//! that does not decode is an error, never "not a CA"; duplicates and critical extensions
//! nothing processes are refused (RFC 5280 §4.2), with which critical extensions are processed
//! depending on whether the certificate is an end entity or a CA.

use der::asn1::{Ia5String, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode, Tag};
use signet_crypto::{KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::{CertificateRole, ExtensionError, ParsedCertificate, TimestampError, TsaTrust};
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::Extension;
use x509_cert::Certificate;

const NOW: i64 = 1_750_000_000;
const BASIC_CONSTRAINTS: &str = "2.5.29.19";

struct Tsa {
    root: Vec<u8>,
    leaf: Vec<u8>,
    root_key: SigningKey,
    leaf_key: std::sync::Arc<SigningKey>,
}

fn tsa() -> Tsa {
    let dn = |cn: &str| DistinguishedName {
        organization: "signet.test".into(),
        common_name: cn.into(),
    };
    let params = |subject, serial| CertificateParams {
        subject,
        serial,
        not_before: NOW - 3600,
        not_after: NOW + 86_400,
    };
    let (root_key, leaf_key) = (
        SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
        std::sync::Arc::new(SigningKey::generate(KeyKind::EcdsaP256).unwrap()),
    );
    let (root_dn, leaf_dn) = (dn("tsa root"), dn("tsa"));
    let root = tsa_root_certificate(&root_key, &params(&root_dn, &[1; 16])).unwrap();
    let leaf = tsa_leaf_certificate(
        &root_key,
        &root,
        leaf_key.public_key(),
        &params(&leaf_dn, &[2; 16]),
    )
    .unwrap();
    Tsa {
        root,
        leaf,
        root_key,
        leaf_key,
    }
}

fn extension(oid: &str, critical: bool, value: &[u8]) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new(oid).unwrap(),
        critical,
        extn_value: OctetString::new(value.to_vec()).unwrap(),
    }
}

/// `der` with `change` applied to its extensions; the signature is left stale.
fn tamper(der: &[u8], change: impl FnOnce(&mut Vec<Extension>)) -> Vec<u8> {
    let mut cert = Certificate::from_der(der).unwrap();
    change(cert.tbs_certificate.extensions.get_or_insert_with(Vec::new));
    cert.to_der().unwrap()
}

/// `der` with its BasicConstraints (added if absent) holding `value`.
fn with_basic_constraints(der: &[u8], value: &[u8]) -> ParsedCertificate {
    let id = ObjectIdentifier::new(BASIC_CONSTRAINTS).unwrap();
    let der = tamper(der, |exts| {
        exts.retain(|e| e.extn_id != id);
        exts.push(extension(BASIC_CONSTRAINTS, true, value));
    });
    ParsedCertificate::from_der(&der).unwrap()
}

#[test]
fn basic_constraints_decode_as_go_reads_them_or_are_an_error() {
    let t = tsa();
    let root = ParsedCertificate::from_der(&t.root).unwrap();
    assert_eq!(root.is_ca(), Ok(true));
    let leaf = ParsedCertificate::from_der(&t.leaf).unwrap();
    assert_eq!(leaf.is_ca(), Ok(false), "no BasicConstraints: not a CA");

    for (value, ca, path_len) in [
        (&[0x30, 0x00][..], false, None),
        // An explicit DEFAULT FALSE: not DER, but Go's parser accepts it, so it is read.
        (&[0x30, 0x03, 0x01, 0x01, 0x00], false, None),
        (&[0x30, 0x03, 0x01, 0x01, 0xff], true, None),
        (&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00], true, Some(0)),
        // Go takes any non-negative int; x509-cert's own type would stop at 255.
        (
            &[0x30, 0x07, 0x01, 0x01, 0xff, 0x02, 0x02, 0x01, 0x2c],
            true,
            Some(300),
        ),
    ] {
        let cert = with_basic_constraints(&t.leaf, value);
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert_eq!((bc.ca, bc.path_len_constraint), (ca, path_len), "{value:02x?}");
        assert_eq!(cert.is_ca(), Ok(ca));
    }
    for value in [
        // cA TRUE in BER (01, not FF): Go's parser refuses it.
        &[0x30, 0x03, 0x01, 0x01, 0x01][..],
        // A negative pathLenConstraint.
        &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff],
        &[],
        &[0x04, 0x00],
        &[0x30, 0x03, 0x01, 0x01],
    ] {
        let cert = with_basic_constraints(&t.leaf, value);
        let err = cert.is_ca().unwrap_err();
        assert!(
            matches!(
                err,
                ExtensionError::Malformed {
                    name: "basicConstraints",
                    ..
                }
            ),
            "{value:02x?}: {err}"
        );
        assert!(err.to_string().contains("2.5.29.19"), "{err}");
        for role in [CertificateRole::EndEntity, CertificateRole::Authority] {
            assert_eq!(cert.check_extensions(role), Err(err.clone()));
        }
    }
}

#[test]
fn critical_extensions_are_processed_by_role_or_refused() {
    let t = tsa();
    let check = |change: &dyn Fn(&mut Vec<Extension>), role| {
        let der = tamper(&t.root, change);
        ParsedCertificate::from_der(&der).unwrap().check_extensions(role)
    };
    use CertificateRole::{Authority, EndEntity};
    for role in [EndEntity, Authority] {
        assert_eq!(check(&|_| {}, role), Ok(()));
        assert_eq!(
            check(&|e| e.push(extension("1.2.3.4", false, &[0x05, 0x00])), role),
            Ok(())
        );
        assert!(matches!(
            check(&|e| e.push(extension("1.2.3.4", true, &[0x05, 0x00])), role),
            Err(ExtensionError::UnhandledCritical { .. })
        ));
        assert!(matches!(
            check(
                &|e| e.push(extension("1.3.6.1.4.1.57264.1.8", true, &[0x0c, 0x00])),
                role
            ),
            Err(ExtensionError::UnhandledCritical { .. })
        ));
        for policy in ["2.5.29.33", "2.5.29.36", "2.5.29.54"] {
            assert!(matches!(
                check(&|e| e.push(extension(policy, true, &[0x30, 0x00])), role),
                Err(ExtensionError::UnhandledCritical { .. })
            ));
        }
        // authorityInfoAccess marked critical: RFC 5280 §4.2.2.1, and Go refuses it.
        assert!(matches!(
            check(
                &|e| e.push(extension("1.3.6.1.5.5.7.1.1", true, &[0x30, 0x00])),
                role
            ),
            Err(ExtensionError::MustNotBeCritical { .. })
        ));
        assert!(matches!(
            check(&|e| e.push(extension("2.5.29.19", false, &[0x30, 0x00])), role),
            Err(ExtensionError::Duplicate { .. })
        ));
    }
    // A SAN holding only an otherName: the leaf's identity check reads it (sigstore-go drops the
    // SAN from Go's unhandled list for the leaf), but on a CA Go leaves it unhandled.
    let other = SubjectAltName(vec![GeneralName::OtherName(OtherName {
        type_id: ObjectIdentifier::new("1.3.6.1.4.1.57264.1.7").unwrap(),
        value: Any::new(Tag::Utf8String, b"name".as_slice()).unwrap(),
    })])
    .to_der()
    .unwrap();
    let add_other = |e: &mut Vec<Extension>| e.push(extension("2.5.29.17", true, &other));
    assert_eq!(check(&add_other, EndEntity), Ok(()));
    assert!(matches!(
        check(&add_other, Authority),
        Err(ExtensionError::UnhandledCritical { .. })
    ));
    let uri = SubjectAltName(vec![GeneralName::UniformResourceIdentifier(
        Ia5String::new("https://tsa.example").unwrap(),
    )])
    .to_der()
    .unwrap();
    assert_eq!(
        check(&|e| e.push(extension("2.5.29.17", true, &uri)), Authority),
        Ok(())
    );
}

fn trusted(chain: &[&[u8]]) -> Result<TsaTrust, TimestampError> {
    TsaTrust::from_authority(&CertificateAuthority {
        subject: DistinguishedName::default(),
        uri: None,
        cert_chain: X509CertificateChain {
            certificates: chain
                .iter()
                .map(|c| X509Certificate {
                    raw_bytes: c.to_vec(),
                })
                .collect(),
        },
        valid_for: TimeRange::starting(Timestamp::from_unix(NOW - 3600)),
        operator: None,
    })
}

#[test]
fn a_tsa_chain_starting_with_a_malformed_basic_constraints_is_refused() {
    let t = tsa();
    trusted(&[&t.leaf, &t.root]).unwrap();
    // The first certificate decides whether tokens embed their signer (a CA first) or are
    // signed by it (a leaf first): a BasicConstraints that does not decode says neither.
    let ber = with_basic_constraints(&t.leaf, &[0x30, 0x03, 0x01, 0x01, 0x01]);
    let err = trusted(&[&ber.der, &t.root]).unwrap_err();
    assert!(
        matches!(&err, TimestampError::TrustedChain { reason, .. } if reason.contains("basicConstraints")),
        "{err}"
    );
}

/// A TSA leaf with an extension nothing processes marked critical, re-signed by its root so
/// that only the extension is wrong: tokens it signs do not verify (Go's `Verify`, which
/// sigstore-go's timestamp verification calls, refuses the chain).
#[test]
fn a_tsa_certificate_with_an_unprocessed_critical_extension_is_refused() {
    use signet_crypto::HashAlgorithm;
    use signet_x509::{oid, verify_timestamp, TimestampRequest, TokenIssuer};
    let Tsa {
        root,
        leaf,
        root_key,
        leaf_key,
    } = tsa();
    let mut cert = Certificate::from_der(&leaf).unwrap();
    cert.tbs_certificate
        .extensions
        .get_or_insert_with(Vec::new)
        .push(extension("1.2.3.4.5", true, &[0x05, 0x00]));
    let tbs = cert.tbs_certificate.to_der().unwrap();
    cert.signature = der::asn1::BitString::from_bytes(&root_key.sign(&tbs).unwrap()).unwrap();
    let bad_leaf = cert.to_der().unwrap();

    let signature = b"the bundle's signature";
    let token = |leaf_der: &[u8]| {
        let issuer = TokenIssuer::new(leaf_key.clone(), leaf_der, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
        let request =
            TimestampRequest::new(HashAlgorithm::Sha2_256, signet_crypto::sha256(signature).to_vec())
                .unwrap();
        issuer.issue(&request, &[1; 8], NOW).unwrap()
    };
    let good = trusted(&[&leaf, &root]).unwrap();
    verify_timestamp(&token(&leaf), signature, std::slice::from_ref(&good)).unwrap();
    let bad = trusted(&[&bad_leaf, &root]).unwrap();
    let err = verify_timestamp(&token(&bad_leaf), signature, std::slice::from_ref(&bad)).unwrap_err();
    assert!(format!("{err}").contains("1.2.3.4.5"), "{err}");
}
