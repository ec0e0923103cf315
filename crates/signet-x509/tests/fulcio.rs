//! The Fulcio profile: CA chain and leaves issued, parsed back and checked field by field; the
//! RFC 6962 precertificate/final TBS invariant; `read_identity` round trips and rejections.

use der::asn1::{Ia5String, ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Any, Decode, Encode, Tag, Tagged};
use signet_crypto::{sha256, KeyKind, PublicKey, SigningKey};
use signet_formats::common::DistinguishedName;
use signet_x509::profile::{CertificateParams, ProfileError};
use signet_x509::{
    check_leaf_key, fulcio_intermediate_certificate, fulcio_root_certificate, oid, read_identity, sct,
    CertificateIdentity, FulcioError, FulcioExtensions, FulcioLeaf, ParsedCertificate,
    SubjectAlternativeName,
};
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

const NOW: i64 = 1_750_000_000;

pub struct Chain {
    pub root_key: SigningKey,
    pub root: Vec<u8>,
    pub intermediate_key: SigningKey,
    pub intermediate: Vec<u8>,
}

fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName {
        organization: "signet.test".into(),
        common_name: cn.into(),
    }
}

fn chain(root_kind: KeyKind, intermediate_kind: KeyKind, now: i64) -> Chain {
    let root_key = SigningKey::generate(root_kind).unwrap();
    let intermediate_key = SigningKey::generate(intermediate_kind).unwrap();
    let (root_dn, intermediate_dn) = (dn("signet-fulcio-root"), dn("signet-fulcio-intermediate"));
    let root = fulcio_root_certificate(
        &root_key,
        &CertificateParams {
            subject: &root_dn,
            serial: &[0x11; 16],
            not_before: now - 3600,
            not_after: now + 365 * 86_400,
        },
    )
    .unwrap();
    let intermediate = fulcio_intermediate_certificate(
        &root_key,
        &root,
        intermediate_key.public_key(),
        &CertificateParams {
            subject: &intermediate_dn,
            serial: &[0x22; 16],
            not_before: now - 3600,
            not_after: now + 180 * 86_400,
        },
    )
    .unwrap();
    Chain {
        root_key,
        root,
        intermediate_key,
        intermediate,
    }
}

fn github_identity() -> CertificateIdentity {
    let repo = "octo-org/octo-repo";
    let sha = "af785b6d3b0fa0c0aa1305faee7ce6036e8d90c4";
    let workflow = format!("https://github.com/{repo}/.github/workflows/release.yml@refs/heads/main");
    CertificateIdentity {
        san: SubjectAlternativeName::Uri(workflow.clone()),
        extensions: FulcioExtensions {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            github_workflow_trigger: Some("push".into()),
            github_workflow_sha: Some(sha.into()),
            github_workflow_name: Some("Release ✓".into()),
            github_workflow_repository: Some(repo.into()),
            github_workflow_ref: Some("refs/heads/main".into()),
            build_signer_uri: Some(workflow.clone()),
            build_signer_digest: Some(sha.into()),
            runner_environment: Some("github-hosted".into()),
            source_repository_uri: Some(format!("https://github.com/{repo}")),
            source_repository_digest: Some(sha.into()),
            source_repository_ref: Some("refs/heads/main".into()),
            source_repository_identifier: Some("632596897".into()),
            source_repository_owner_uri: Some("https://github.com/octo-org".into()),
            source_repository_owner_identifier: Some("131804563".into()),
            build_config_uri: Some(workflow),
            build_config_digest: Some(sha.into()),
            build_trigger: Some("push".into()),
            run_invocation_uri: Some(format!("https://github.com/{repo}/actions/runs/1/attempts/1")),
            source_repository_visibility_at_signing: Some("public".into()),
            deployment_environment: Some("production".into()),
        },
    }
}

fn email_identity() -> CertificateIdentity {
    CertificateIdentity {
        san: SubjectAlternativeName::Email("alice@example.com".into()),
        extensions: FulcioExtensions {
            issuer: Some("https://accounts.example.com".into()),
            ..FulcioExtensions::default()
        },
    }
}

/// A TLS SignedCertificateTimestampList holding one well-formed (but unsigned-by-anyone) SCT.
fn sct_list() -> Vec<u8> {
    let mut sct = vec![0u8]; // v1
    sct.extend([0xAB; 32]); // log_id
    sct.extend(1_750_000_000_000u64.to_be_bytes());
    sct.extend([0, 0]); // no extensions
    sct.extend([4, 3]); // sha256, ecdsa
    let signature = [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
    sct.extend((signature.len() as u16).to_be_bytes());
    sct.extend(signature);
    let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend((sct.len() as u16).to_be_bytes());
    list.extend(sct);
    list
}

/// [`sct_list`] decoded: what `FulcioLeaf::certificate` takes.
fn scts() -> Vec<sct::SignedCertificateTimestamp> {
    sct::decode_sct_list(&sct_list()).unwrap()
}

fn leaf<'a>(
    chain: &'a Chain,
    key: &'a PublicKey,
    identity: &'a CertificateIdentity,
    now: i64,
) -> FulcioLeaf<'a> {
    FulcioLeaf {
        issuer_cert_der: &chain.intermediate,
        subject_key: key,
        identity,
        serial: &[0xF3; 20],
        not_before: now,
        not_after: now + 600,
    }
}

fn extensions(cert: &Certificate) -> &[Extension] {
    cert.tbs_certificate.extensions.as_deref().unwrap()
}

fn ext<'a>(cert: &'a Certificate, id: &ObjectIdentifier) -> &'a Extension {
    extensions(cert).iter().find(|e| e.extn_id == *id).unwrap()
}

fn ski(cert: &Certificate) -> Vec<u8> {
    SubjectKeyIdentifier::from_der(
        ext(cert, &oid::ID_CE_SUBJECT_KEY_IDENTIFIER)
            .extn_value
            .as_bytes(),
    )
    .unwrap()
    .0
    .into_bytes()
}

fn aki(cert: &Certificate) -> Vec<u8> {
    AuthorityKeyIdentifier::from_der(
        ext(cert, &oid::ID_CE_AUTHORITY_KEY_IDENTIFIER)
            .extn_value
            .as_bytes(),
    )
    .unwrap()
    .key_identifier
    .unwrap()
    .into_bytes()
}

fn key_usage(cert: &Certificate) -> KeyUsage {
    KeyUsage::from_der(ext(cert, &oid::ID_CE_KEY_USAGE).extn_value.as_bytes()).unwrap()
}

fn ids(cert: &Certificate) -> Vec<(String, bool)> {
    extensions(cert)
        .iter()
        .map(|e| (e.extn_id.to_string(), e.critical))
        .collect()
}

fn fulcio_oid(arc: u32) -> String {
    format!("1.3.6.1.4.1.57264.1.{arc}")
}

#[test]
fn root_and_intermediate_have_fulcios_ca_profile() {
    for (root_kind, intermediate_kind) in [
        (KeyKind::EcdsaP256, KeyKind::EcdsaP256),
        (KeyKind::EcdsaP384, KeyKind::EcdsaP256),
        (KeyKind::EcdsaP256, KeyKind::EcdsaP384),
    ] {
        let chain = chain(root_kind, intermediate_kind, NOW);
        let root = ParsedCertificate::from_der(&chain.root).unwrap();
        let intermediate = ParsedCertificate::from_der(&chain.intermediate).unwrap();
        root.verify_issued_by(&root).unwrap();
        intermediate.verify_issued_by(&root).unwrap();

        let expected_alg = match root_kind {
            KeyKind::EcdsaP256 => oid::ECDSA_WITH_SHA256,
            _ => oid::ECDSA_WITH_SHA384,
        };
        for c in [&root.cert, &intermediate.cert] {
            assert_eq!(c.tbs_certificate.version, Version::V3);
            assert_eq!(c.signature_algorithm.oid, expected_alg);
            assert_eq!(c.tbs_certificate.signature.oid, expected_alg);
            assert!(c.signature_algorithm.parameters.is_none());
            assert_eq!(key_usage(c).0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        }

        let r = &root.cert;
        assert_eq!(
            ids(r),
            [
                ("2.5.29.19".into(), true),
                ("2.5.29.15".into(), true),
                ("2.5.29.14".into(), false),
                ("2.5.29.35".into(), false),
            ]
        );
        let bc =
            BasicConstraints::from_der(ext(r, &oid::ID_CE_BASIC_CONSTRAINTS).extn_value.as_bytes()).unwrap();
        assert!(bc.ca && bc.path_len_constraint.is_none());
        assert_eq!(
            r.tbs_certificate.subject.to_string(),
            "CN=signet-fulcio-root,O=signet.test"
        );
        assert_eq!(ski(r), aki(r));
        assert_eq!(ski(r), sha256(chain.root_key.public_key().raw_bytes())[..20]);
        assert_eq!(r.tbs_certificate.serial_number.as_bytes(), [0x11; 16]);
        assert_eq!(root.validity(), (NOW - 3600, NOW + 365 * 86_400));

        let i = &intermediate.cert;
        assert_eq!(
            ids(i),
            [
                ("2.5.29.19".into(), true),
                ("2.5.29.15".into(), true),
                ("2.5.29.37".into(), false),
                ("2.5.29.14".into(), false),
                ("2.5.29.35".into(), false),
            ]
        );
        let bc =
            BasicConstraints::from_der(ext(i, &oid::ID_CE_BASIC_CONSTRAINTS).extn_value.as_bytes()).unwrap();
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        assert_eq!(
            intermediate.extended_key_usage(),
            Some((false, vec![oid::ID_KP_CODE_SIGNING]))
        );
        assert_eq!(i.tbs_certificate.issuer, r.tbs_certificate.subject);
        assert_eq!(aki(i), ski(r));
        assert_eq!(
            ski(i),
            sha256(chain.intermediate_key.public_key().raw_bytes())[..20]
        );
        assert_eq!(
            intermediate.public_key().unwrap(),
            *chain.intermediate_key.public_key()
        );
    }
}

#[test]
fn ca_certificates_refuse_keys_other_than_p256_and_p384() {
    let ed = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let subject = dn("ed");
    let params = CertificateParams {
        subject: &subject,
        serial: &[1; 16],
        not_before: NOW,
        not_after: NOW + 60,
    };
    let err = fulcio_root_certificate(&ed, &params).unwrap_err();
    assert!(
        matches!(err, ProfileError::UnsupportedKey(ref m) if m.contains("Ed25519")),
        "{err}"
    );

    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let err =
        fulcio_intermediate_certificate(&chain.root_key, &chain.root, ed.public_key(), &params).unwrap_err();
    assert!(
        matches!(err, ProfileError::UnsupportedKey(ref m) if m.contains("Ed25519")),
        "{err}"
    );

    // The signer must hold the issuer certificate's key.
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let err = fulcio_intermediate_certificate(&other, &chain.root, other.public_key(), &params).unwrap_err();
    assert!(matches!(err, ProfileError::Issuer(_)), "{err}");
}

#[test]
fn leaf_has_fulcios_profile_with_sct_list_last() {
    for (intermediate_kind, alg) in [
        (KeyKind::EcdsaP256, oid::ECDSA_WITH_SHA256),
        (KeyKind::EcdsaP384, oid::ECDSA_WITH_SHA384),
    ] {
        let chain = chain(KeyKind::EcdsaP256, intermediate_kind, NOW);
        let subject_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let identity = github_identity();
        let template = leaf(&chain, subject_key.public_key(), &identity, NOW);
        let list = sct_list();
        let der = template.certificate(&chain.intermediate_key, &scts()).unwrap();

        let parsed = ParsedCertificate::from_der(&der).unwrap();
        let intermediate = ParsedCertificate::from_der(&chain.intermediate).unwrap();
        parsed.verify_issued_by(&intermediate).unwrap();
        let c = &parsed.cert;
        let tbs = &c.tbs_certificate;
        assert_eq!(tbs.version, Version::V3);
        // 20 bytes of 0xF3 with the top bit cleared: positive, still 20 bytes.
        let mut serial = vec![0xF3; 20];
        serial[0] = 0x73;
        assert_eq!(tbs.serial_number.as_bytes(), serial);
        assert!(tbs.subject.0.is_empty(), "subject {}", tbs.subject);
        assert_eq!(tbs.issuer, intermediate.cert.tbs_certificate.subject);
        assert_eq!(parsed.validity(), (NOW, NOW + 600));
        assert_eq!(parsed.public_key().unwrap(), *subject_key.public_key());
        assert_eq!(c.signature_algorithm.oid, alg);
        assert_eq!(tbs.signature.oid, alg);

        let mut expected: Vec<(String, bool)> = vec![
            ("2.5.29.15".into(), true),
            ("2.5.29.37".into(), false),
            ("2.5.29.14".into(), false),
            ("2.5.29.35".into(), false),
            ("2.5.29.17".into(), true),
        ];
        expected.extend((1..=23).filter(|a| *a != 7).map(|a| (fulcio_oid(a), false)));
        expected.push(("1.3.6.1.4.1.11129.2.4.2".into(), false));
        assert_eq!(ids(c), expected);

        assert_eq!(
            key_usage(c).0,
            der::flagset::FlagSet::from(KeyUsages::DigitalSignature)
        );
        assert_eq!(
            parsed.extended_key_usage(),
            Some((false, vec![oid::ID_KP_CODE_SIGNING]))
        );
        assert_eq!(ski(c), sha256(subject_key.public_key().raw_bytes())[..20]);
        assert_eq!(aki(c), ski(&intermediate.cert));
        let san =
            SubjectAltName::from_der(ext(c, &oid::ID_CE_SUBJECT_ALT_NAME).extn_value.as_bytes()).unwrap();
        assert_eq!(
            san.0,
            [GeneralName::UniformResourceIdentifier(
                Ia5String::new(identity.san.value()).unwrap()
            )]
        );

        // .1.1 to .1.6 are the raw bytes; .1.8 onward a DER UTF8String.
        let value = |arc: u32| {
            let id = ObjectIdentifier::new(&fulcio_oid(arc)).unwrap();
            ext(c, &id).extn_value.as_bytes().to_vec()
        };
        let issuer = identity.extensions.issuer.as_deref().unwrap();
        assert_eq!(value(1), issuer.as_bytes());
        assert_eq!(value(4), "Release ✓".as_bytes());
        assert_eq!(value(8), Utf8StringRef::new(issuer).unwrap().to_der().unwrap());
        assert_eq!(value(8)[0], 0x0C);
        assert_eq!(
            value(23),
            Utf8StringRef::new("production").unwrap().to_der().unwrap()
        );

        // The SCT list extension wraps the TLS bytes in one more OCTET STRING.
        let scts = &extensions(c).last().unwrap().extn_value;
        assert_eq!(OctetString::from_der(scts.as_bytes()).unwrap().as_bytes(), list);

        assert_eq!(read_identity(&der).unwrap(), identity);
    }
}

#[test]
fn precertificate_carries_the_poison_last_and_the_same_tbs() {
    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let subject_key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let identity = email_identity();
    let template = leaf(&chain, subject_key.public_key(), &identity, NOW);
    let pre_der = template.precertificate(&chain.intermediate_key).unwrap();
    let final_der = template.certificate(&chain.intermediate_key, &scts()).unwrap();

    let pre = Certificate::from_der(&pre_der).unwrap();
    let fin = Certificate::from_der(&final_der).unwrap();
    let poison = extensions(&pre).last().unwrap();
    assert_eq!(poison.extn_id, sct::PRECERT_POISON_OID);
    assert!(poison.critical);
    assert_eq!(poison.extn_value.as_bytes(), [0x05, 0x00]);
    assert!(!extensions(&pre).iter().any(|e| e.extn_id == sct::SCT_LIST_OID));
    assert!(!extensions(&fin)
        .iter()
        .any(|e| e.extn_id == sct::PRECERT_POISON_OID));
    let intermediate = ParsedCertificate::from_der(&chain.intermediate).unwrap();
    ParsedCertificate::from_der(&pre_der)
        .unwrap()
        .verify_issued_by(&intermediate)
        .unwrap();

    // RFC 6962 §3.2: the SCT signs the precertificate's TBS without the poison; the verifier
    // rebuilds it from the final certificate without the SCT list. They must be equal.
    let strip_last = |c: &Certificate| {
        let mut tbs = c.tbs_certificate.clone();
        tbs.extensions.as_mut().unwrap().pop();
        tbs.to_der().unwrap()
    };
    assert_eq!(strip_last(&pre), strip_last(&fin));
    // And the same through `sct`, as the CT log and the verifier compute them.
    assert_eq!(sct::precert_tbs(&pre_der).unwrap(), strip_last(&pre));
    let (embedded, tbs) = sct::embedded_scts(&final_der).unwrap();
    assert_eq!(tbs, strip_last(&pre));
    assert_eq!(sct::encode_sct_list(&embedded).unwrap(), sct_list());
    assert_ne!(
        pre.tbs_certificate.to_der().unwrap(),
        fin.tbs_certificate.to_der().unwrap()
    );

    // A different leaf does not collide with it.
    let other = FulcioLeaf {
        not_after: NOW + 601,
        ..template.clone()
    };
    let other = other.certificate(&chain.intermediate_key, &scts()).unwrap();
    assert_ne!(sct::embedded_scts(&other).unwrap().1, strip_last(&pre));
}

#[test]
fn read_identity_round_trips_each_san_kind() {
    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let key = SigningKey::generate(KeyKind::EcdsaP384).unwrap();
    let mut identities = vec![email_identity(), github_identity()];
    identities.push(CertificateIdentity {
        san: SubjectAlternativeName::Uri("spiffe://example.org/ns/default/sa/builder".into()),
        extensions: FulcioExtensions {
            issuer: Some("https://spiffe.example.org".into()),
            ..Default::default()
        },
    });
    identities.push(CertificateIdentity {
        san: SubjectAlternativeName::OtherName("alice!example.com".into()),
        extensions: FulcioExtensions {
            issuer: Some("https://username.example.com".into()),
            ..Default::default()
        },
    });
    identities.push(CertificateIdentity {
        san: SubjectAlternativeName::Email("nobody@example.com".into()),
        extensions: FulcioExtensions::default(),
    });
    for identity in &identities {
        let template = leaf(&chain, key.public_key(), identity, NOW);
        for der in [
            template.precertificate(&chain.intermediate_key).unwrap(),
            template.certificate(&chain.intermediate_key, &scts()).unwrap(),
        ] {
            assert_eq!(&read_identity(&der).unwrap(), identity);
        }
    }

    // The username SAN is an otherName 1.3.6.1.4.1.57264.1.7 holding a UTF8String.
    let der = leaf(&chain, key.public_key(), &identities[3], NOW)
        .precertificate(&chain.intermediate_key)
        .unwrap();
    let cert = Certificate::from_der(&der).unwrap();
    let san =
        SubjectAltName::from_der(ext(&cert, &oid::ID_CE_SUBJECT_ALT_NAME).extn_value.as_bytes()).unwrap();
    let GeneralName::OtherName(other) = &san.0[0] else {
        panic!("{san:?}")
    };
    assert_eq!(other.type_id.to_string(), "1.3.6.1.4.1.57264.1.7");
    assert_eq!(other.value.tag(), Tag::Utf8String);
    // Only .1.1 and .1.8 for an identity with just an issuer.
    let fulcio: Vec<_> = ids(&cert)
        .into_iter()
        .filter(|(id, _)| id.starts_with("1.3.6.1.4.1.57264"))
        .collect();
    assert_eq!(fulcio, [(fulcio_oid(1), false), (fulcio_oid(8), false)]);
}

/// A leaf's certificate with its extensions changed by `edit` (the signature is then stale,
/// which `read_identity` does not look at).
fn edited(edit: impl FnOnce(&mut Vec<Extension>)) -> Vec<u8> {
    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = github_identity();
    let der = leaf(&chain, key.public_key(), &identity, NOW)
        .certificate(&chain.intermediate_key, &scts())
        .unwrap();
    let mut cert = Certificate::from_der(&der).unwrap();
    edit(cert.tbs_certificate.extensions.as_mut().unwrap());
    cert.to_der().unwrap()
}

fn set(exts: &mut [Extension], id: &str, value: Vec<u8>) {
    let id = ObjectIdentifier::new(id).unwrap();
    exts.iter_mut().find(|e| e.extn_id == id).unwrap().extn_value = OctetString::new(value).unwrap();
}

fn san_value(names: Vec<GeneralName>) -> Vec<u8> {
    SubjectAltName(names).to_der().unwrap()
}

#[test]
fn read_identity_prefers_issuer_v2_and_falls_back_to_v1() {
    let der = edited(|e| set(e, "1.3.6.1.4.1.57264.1.1", b"https://v1.example".to_vec()));
    assert_eq!(
        read_identity(&der).unwrap().extensions.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    let der = edited(|e| {
        set(e, "1.3.6.1.4.1.57264.1.1", b"https://v1.example".to_vec());
        e.retain(|x| x.extn_id.to_string() != "1.3.6.1.4.1.57264.1.8");
    });
    assert_eq!(
        read_identity(&der).unwrap().extensions.issuer.as_deref(),
        Some("https://v1.example")
    );
    // Unknown extensions in Fulcio's arc (a newer Fulcio) are skipped.
    let der = edited(|e| {
        e.push(Extension {
            extn_id: ObjectIdentifier::new("1.3.6.1.4.1.57264.1.99").unwrap(),
            critical: false,
            extn_value: OctetString::new(vec![0xFF]).unwrap(),
        })
    });
    assert!(read_identity(&der).is_ok());
}

#[test]
fn read_identity_rejects_malformed_certificates() {
    let malformed = |arc: u32| move |e: &FulcioError| matches!(e, FulcioError::MalformedExtension { oid, .. } if oid.to_string() == fulcio_oid(arc));
    type Case = (Vec<u8>, Box<dyn Fn(&FulcioError) -> bool>);
    let cases: Vec<Case> = vec![
        // .1.9 must be a UTF8String, not raw bytes.
        (
            edited(|e| set(e, "1.3.6.1.4.1.57264.1.9", b"https://x".to_vec())),
            Box::new(malformed(9)),
        ),
        // .1.8 as an IA5String is not a UTF8String either.
        (
            edited(|e| {
                set(
                    e,
                    "1.3.6.1.4.1.57264.1.8",
                    Ia5String::new("https://x").unwrap().to_der().unwrap(),
                )
            }),
            Box::new(malformed(8)),
        ),
        // A UTF8String with trailing bytes.
        (
            edited(|e| set(e, "1.3.6.1.4.1.57264.1.23", vec![0x0C, 0x01, b'a', 0x00])),
            Box::new(malformed(23)),
        ),
        // .1.1 raw bytes that are not UTF-8.
        (
            edited(|e| set(e, "1.3.6.1.4.1.57264.1.1", vec![0xC3, 0x28])),
            Box::new(malformed(1)),
        ),
        (
            edited(|e| set(e, "1.3.6.1.4.1.57264.1.6", vec![0xFF])),
            Box::new(malformed(6)),
        ),
        (
            edited(|e| {
                let dup = e[5].clone();
                e.push(dup)
            }),
            Box::new(|e| matches!(e, FulcioError::DuplicateExtension(id) if *id == oid::FULCIO_ISSUER_V1)),
        ),
        (
            edited(|e| e.retain(|x| x.extn_id != oid::ID_CE_SUBJECT_ALT_NAME)),
            Box::new(|e| matches!(e, FulcioError::MissingSubjectAltName)),
        ),
        (
            edited(|e| {
                let uri = GeneralName::UniformResourceIdentifier(Ia5String::new("https://a").unwrap());
                set(e, "2.5.29.17", san_value(vec![uri.clone(), uri]))
            }),
            Box::new(|e| matches!(e, FulcioError::SubjectAltNameCount(2))),
        ),
        (
            edited(|e| set(e, "2.5.29.17", vec![0x30, 0x00])),
            Box::new(|e| matches!(e, FulcioError::SubjectAltNameCount(0))),
        ),
        (
            edited(|e| {
                let dns = GeneralName::DnsName(Ia5String::new("example.com").unwrap());
                set(e, "2.5.29.17", san_value(vec![dns]))
            }),
            Box::new(|e| matches!(e, FulcioError::UnsupportedSubjectAltName("dNSName"))),
        ),
        (
            edited(|e| {
                let other = GeneralName::OtherName(OtherName {
                    type_id: ObjectIdentifier::new("1.3.6.1.4.1.311.20.2.3").unwrap(),
                    value: Any::new(Tag::Utf8String, b"upn@example.com".as_slice()).unwrap(),
                });
                set(e, "2.5.29.17", san_value(vec![other]))
            }),
            Box::new(|e| matches!(e, FulcioError::UnsupportedOtherName(_))),
        ),
        (
            edited(|e| {
                let other = GeneralName::OtherName(OtherName {
                    type_id: oid::FULCIO_OTHERNAME_SAN,
                    value: Any::new(Tag::Ia5String, b"alice!example.com".as_slice()).unwrap(),
                });
                set(e, "2.5.29.17", san_value(vec![other]))
            }),
            Box::new(|e| matches!(e, FulcioError::MalformedOtherName(_))),
        ),
        (
            edited(|e| set(e, "2.5.29.17", vec![0x30, 0x03, 0x86])),
            Box::new(|e| matches!(e, FulcioError::MalformedSubjectAltName(_))),
        ),
        (
            b"not a certificate".to_vec(),
            Box::new(|e| matches!(e, FulcioError::Certificate(_))),
        ),
    ];
    for (i, (der, expected)) in cases.iter().enumerate() {
        let err = read_identity(der).expect_err(&format!("case {i} was accepted"));
        assert!(expected(&err), "case {i}: unexpected error {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn leaf_keys_fulcio_certifies() {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        check_leaf_key(SigningKey::generate(kind).unwrap().public_key()).unwrap();
    }
    // A P-521 key (SPKI from RFC 5480 with a fixed point): parsed by signet, refused by Fulcio.
    let p521 = p521_public_key();
    let err = check_leaf_key(&p521).unwrap_err();
    assert!(err.to_string().contains("ECDSA P-521"), "{err}");
    assert!(err.to_string().contains("Ed25519"), "{err}");

    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let identity = email_identity();
    let template = leaf(&chain, &p521, &identity, NOW);
    assert!(matches!(
        template.precertificate(&chain.intermediate_key),
        Err(FulcioError::UnsupportedLeafKey { .. })
    ));
}

/// A P-521 public key, generated by signet's provider through a PKCS#8 round trip is not
/// possible (no P-521 generation), so this is the SPKI of a fixed key: the generator point.
fn p521_public_key() -> PublicKey {
    let gx = "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66";
    let gy = "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650";
    let mut point = vec![0x04];
    point.extend(hex(gx));
    point.extend(hex(gy));
    let spki = spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: oid::ID_EC_PUBLIC_KEY,
            parameters: Some(Any::from(&ObjectIdentifier::new("1.3.132.0.35").unwrap())),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&point).unwrap(),
    };
    PublicKey::from_spki_der(&spki.to_der().unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn leaf_inputs_are_checked() {
    let chain = chain(KeyKind::EcdsaP256, KeyKind::EcdsaP256, NOW);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = email_identity();
    let template = leaf(&chain, key.public_key(), &identity, NOW);
    let signer = &chain.intermediate_key;

    let long = [1u8; 21];
    let err = FulcioLeaf {
        serial: &long,
        ..template.clone()
    }
    .precertificate(signer)
    .unwrap_err();
    assert!(matches!(err, FulcioError::Serial(21)), "{err}");
    let err = FulcioLeaf {
        serial: &[],
        ..template.clone()
    }
    .precertificate(signer)
    .unwrap_err();
    assert!(matches!(err, FulcioError::Serial(0)), "{err}");
    let err = FulcioLeaf {
        not_after: NOW,
        ..template.clone()
    }
    .precertificate(signer)
    .unwrap_err();
    assert!(
        matches!(err, FulcioError::Profile(ProfileError::Validity { .. })),
        "{err}"
    );

    // A final certificate needs at least one SCT.
    let err = template.certificate(signer, &[]).unwrap_err();
    assert!(matches!(err, FulcioError::SctList(_)), "{err}");

    // Only the issuer certificate's own key signs, and it must be a CA key Fulcio uses.
    let err = template.precertificate(&chain.root_key).unwrap_err();
    assert!(
        matches!(err, FulcioError::Profile(ProfileError::Issuer(_))),
        "{err}"
    );
    let ed = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let err = template.precertificate(&ed).unwrap_err();
    assert!(
        matches!(err, FulcioError::Profile(ProfileError::UnsupportedKey(_))),
        "{err}"
    );

    let bad_san = CertificateIdentity {
        san: SubjectAlternativeName::Email("ålice@example.com".into()),
        extensions: FulcioExtensions::default(),
    };
    let err = leaf(&chain, key.public_key(), &bad_san, NOW)
        .precertificate(signer)
        .unwrap_err();
    assert!(matches!(err, FulcioError::SanNotAscii(_)), "{err}");
}

/// openssl as an outside judge: it must print the leaf and verify root → intermediate → leaf.
#[test]
fn openssl_parses_and_verifies_the_chain() {
    use std::process::Command;
    if Command::new("openssl").arg("version").output().is_err() {
        println!("skipping: openssl is not on PATH");
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let dir = std::env::temp_dir().join(format!("signet-fulcio-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, der: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))).unwrap();
        path.to_string_lossy().into_owned()
    };
    let run = |args: &[&str]| Command::new("openssl").args(args).output().unwrap();

    for (root_kind, intermediate_kind, leaf_kind) in [
        (KeyKind::EcdsaP256, KeyKind::EcdsaP256, KeyKind::EcdsaP256),
        (KeyKind::EcdsaP384, KeyKind::EcdsaP384, KeyKind::Ed25519),
    ] {
        let chain = chain(root_kind, intermediate_kind, now);
        let key = SigningKey::generate(leaf_kind).unwrap();
        let identity = github_identity();
        let template = FulcioLeaf {
            not_before: now - 60,
            not_after: now + 540,
            ..leaf(&chain, key.public_key(), &identity, now)
        };
        let root = write("root.pem", &chain.root);
        let intermediate = write("intermediate.pem", &chain.intermediate);
        let leaf = write(
            "leaf.pem",
            &template.certificate(&chain.intermediate_key, &scts()).unwrap(),
        );
        let pre = write(
            "pre.pem",
            &template.precertificate(&chain.intermediate_key).unwrap(),
        );

        let text = run(&["x509", "-in", &leaf, "-text", "-noout"]);
        assert!(text.status.success(), "{text:?}");
        let text = String::from_utf8(text.stdout).unwrap();
        for needle in [
            "Subject: \n",
            "X509v3 Key Usage: critical",
            "Digital Signature",
            "X509v3 Extended Key Usage: \n",
            "Code Signing",
            "X509v3 Subject Alternative Name: critical",
            "URI:https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
            "1.3.6.1.4.1.57264.1.1: \n                https://token.actions.githubusercontent.com",
            "1.3.6.1.4.1.57264.1.23:",
            "Signed Certificate Timestamp:",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }

        let verify = run(&["verify", "-CAfile", &root, "-untrusted", &intermediate, &leaf]);
        assert!(
            verify.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        // The same chain without the intermediate must not verify: the check is real.
        let alone = run(&["verify", "-CAfile", &root, &leaf]);
        assert!(!alone.status.success());
        let pre_text = run(&["x509", "-in", &pre, "-text", "-noout"]);
        assert!(String::from_utf8_lossy(&pre_text.stdout).contains("CT Precertificate Poison: critical"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
