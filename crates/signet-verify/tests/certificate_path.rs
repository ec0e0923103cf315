//! The certificate checks against Go's `x509.ParseCertificate` and `Certificate.Verify`, which
//! sigstore-go runs (with an authority's last certificate as root and the others as
//! intermediates): critical extensions nothing processes are refused on the leaf and on the
//! authority's chain (RFC 5280 §4.2), a BasicConstraints / keyUsage / extKeyUsage that does not
//! decode is an error rather than "absent", and a leaf may be issued by any certificate of the
//! chain, the path then running from that certificate to the root. Certificates are built here.

#[path = "support/cas.rs"]
mod cas;

use std::path::{Path, PathBuf};

use cas::{
    extension, intermediate, leaf, leaf_with_sct_issuer, parse_chain, replace, resign, root, since, tamper,
    Ca, CtLog,
};
use der::asn1::{Ia5String, ObjectIdentifier};
use der::{Any, Encode, Tag};
use signet_formats::trust::TrustedRoot;
use signet_verify::certificate::{check_leaf_profile, verify_chain, CertificateError};
use signet_verify::sct::verify_scts;
use signet_verify::{CertificateAuthority, PreparedTrust, SigningTime, TimeSource};
use signet_x509::ExtensionError;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{NameConstraints, SubjectAltName};
use x509_cert::name::Name;

const T0: i64 = 1_767_225_600; // 2026-01-01
const DAY: i64 = 86_400;
const KEY_USAGE: &str = "2.5.29.15";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const EXT_KEY_USAGE: &str = "2.5.29.37";
const FULCIO_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";

fn at(t: i64) -> Vec<SigningTime> {
    vec![SigningTime {
        unix: t,
        source: TimeSource::IntegratedTime {
            log_base_url: "https://log.example".into(),
            log_index: 0,
        },
    }]
}

/// A root and an intermediate valid a year around T0, and a CT log.
struct Pki {
    root: Ca,
    inter: Ca,
    ct: CtLog,
}

fn pki() -> Pki {
    let root = root("signet-root", T0 - DAY, T0 + 365 * DAY);
    let inter = intermediate(&root, "signet-intermediate", T0 - DAY, T0 + 365 * DAY);
    Pki {
        root,
        inter,
        ct: CtLog::new(),
    }
}

fn authority(chain: &[&[u8]], valid_from: i64) -> CertificateAuthority {
    CertificateAuthority::new("signet.test/ca".into(), parse_chain(chain), since(valid_from)).unwrap()
}

fn leaf_extension_error(result: Result<(), CertificateError>) -> ExtensionError {
    match result {
        Err(CertificateError::LeafExtension(e)) => e,
        other => panic!("expected a refused leaf extension, got {other:?}"),
    }
}

fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new(s).unwrap()
}

#[test]
fn a_leaf_with_a_critical_extension_nothing_processes_is_refused() {
    let p = pki();
    let good = leaf(&p.inter, &p.ct, T0, 1);
    check_leaf_profile(&good).unwrap();

    // An unknown extension: accepted when not critical, refused when critical (RFC 5280 §4.2;
    // Go's Verify: UnhandledCriticalExtension).
    let unknown = tamper(&good.der, |e| {
        e.push(extension("1.2.3.4.5", false, &[0x05, 0x00]))
    });
    check_leaf_profile(&unknown).unwrap();
    let unknown = tamper(&good.der, |e| e.push(extension("1.2.3.4.5", true, &[0x05, 0x00])));
    let err = leaf_extension_error(check_leaf_profile(&unknown));
    assert!(
        matches!(err, ExtensionError::UnhandledCritical { oid: o, .. } if o == oid("1.2.3.4.5")),
        "{err}"
    );
    let message = CertificateError::LeafExtension(err).to_string();
    assert!(
        message.contains("1.2.3.4.5") && message.contains("critical"),
        "{message}"
    );

    // A Fulcio extension marked critical: Fulcio never does, and Go would refuse it.
    let fulcio = tamper(&good.der, |exts| {
        let ext = exts
            .iter_mut()
            .find(|e| e.extn_id == oid(FULCIO_ISSUER_V2))
            .unwrap();
        ext.critical = true;
    });
    assert!(matches!(
        leaf_extension_error(check_leaf_profile(&fulcio)),
        ExtensionError::UnhandledCritical { oid: o, .. } if o == oid(FULCIO_ISSUER_V2)
    ));

    // Policy processing extensions: Go runs RFC 5280 §6.1 policy processing on them, signet
    // does not, so they cannot be critical (policyConstraints requireExplicitPolicy 0 here).
    let policy = tamper(&good.der, |e| {
        e.push(extension("2.5.29.36", true, &[0x30, 0x03, 0x80, 0x01, 0x00]))
    });
    assert!(matches!(
        leaf_extension_error(check_leaf_profile(&policy)),
        ExtensionError::UnhandledCritical { .. }
    ));

    // Extensions Go processes may be critical: cRLDistributionPoints, certificatePolicies, and
    // the SAN (critical in every Fulcio leaf, whose subject is empty).
    let handled = tamper(&good.der, |e| {
        e.push(extension("2.5.29.31", true, &[0x30, 0x00]));
        e.push(extension("2.5.29.32", true, &[0x30, 0x00]));
    });
    check_leaf_profile(&handled).unwrap();

    // nameConstraints on a leaf: Go handles dNSName / rfc822Name / iPAddress / URI subtrees and
    // leaves any other form unhandled.
    let constraints = |base: GeneralName| {
        NameConstraints {
            permitted_subtrees: Some(vec![GeneralSubtree {
                base,
                minimum: 0,
                maximum: None,
            }]),
            excluded_subtrees: None,
        }
        .to_der()
        .unwrap()
    };
    let dns = constraints(GeneralName::DnsName(Ia5String::new("example.com").unwrap()));
    check_leaf_profile(&tamper(&good.der, |e| e.push(extension("2.5.29.30", true, &dns)))).unwrap();
    let directory = constraints(GeneralName::DirectoryName(Name::default()));
    assert!(matches!(
        leaf_extension_error(check_leaf_profile(&tamper(&good.der, |e| {
            e.push(extension("2.5.29.30", true, &directory))
        }))),
        ExtensionError::UnhandledCritical { .. }
    ));

    // subjectKeyIdentifier marked critical: RFC 5280 §4.2.1.2 forbids it and Go's parser
    // refuses the certificate.
    let ski = tamper(&good.der, |exts| {
        let ext = exts.iter_mut().find(|e| e.extn_id == oid("2.5.29.14")).unwrap();
        ext.critical = true;
    });
    assert!(matches!(
        leaf_extension_error(check_leaf_profile(&ski)),
        ExtensionError::MustNotBeCritical { .. }
    ));

    // The same extension twice.
    let twice = tamper(&good.der, |exts| {
        let ku = exts.iter().find(|e| e.extn_id == oid(KEY_USAGE)).unwrap().clone();
        exts.push(ku);
    });
    assert!(matches!(
        leaf_extension_error(check_leaf_profile(&twice)),
        ExtensionError::Duplicate { oid: o } if o == oid(KEY_USAGE)
    ));
}

#[test]
fn a_leaf_basic_constraints_that_does_not_decode_is_an_error_not_a_leaf() {
    let p = pki();
    let good = leaf(&p.inter, &p.ct, T0, 1);
    let with_bc = |value: &[u8]| tamper(&good.der, |e| e.push(extension(BASIC_CONSTRAINTS, true, value)));

    // cA TRUE in BER (01 instead of FF): DER-invalid, so Go's parser refuses the certificate;
    // read as "no BasicConstraints" it would pass as a leaf.
    let ber = with_bc(&[0x30, 0x03, 0x01, 0x01, 0x01]);
    assert!(ber.is_ca().is_err());
    let err = leaf_extension_error(check_leaf_profile(&ber));
    assert!(
        matches!(
            err,
            ExtensionError::Malformed {
                name: "basicConstraints",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("basicConstraints"), "{err}");
    for garbage in [
        &[0x04, 0x00][..],
        &[0xff],
        &[],
        &[0x30, 0x03, 0x01, 0x01, 0xff, 0x00],
    ] {
        assert!(
            matches!(
                leaf_extension_error(check_leaf_profile(&with_bc(garbage))),
                ExtensionError::Malformed {
                    name: "basicConstraints",
                    ..
                }
            ),
            "{garbage:02x?}"
        );
    }
    // A negative pathLenConstraint (Go reads it as an unsigned INTEGER and refuses).
    assert!(with_bc(&[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0xff])
        .is_ca()
        .is_err());

    // What decodes: an empty SEQUENCE and an explicit cA FALSE (a DEFAULT value DER omits,
    // which Go accepts too) are a leaf; cA TRUE is a CA.
    check_leaf_profile(&with_bc(&[0x30, 0x00])).unwrap();
    check_leaf_profile(&with_bc(&[0x30, 0x03, 0x01, 0x01, 0x00])).unwrap();
    assert!(matches!(
        check_leaf_profile(&with_bc(&[0x30, 0x03, 0x01, 0x01, 0xff])),
        Err(CertificateError::LeafIsCa)
    ));
    // pathLenConstraint beyond 255 decodes (Go takes any non-negative int).
    let long_path = with_bc(&[0x30, 0x07, 0x01, 0x01, 0xff, 0x02, 0x02, 0x01, 0x2c]);
    assert_eq!(
        long_path
            .basic_constraints()
            .unwrap()
            .unwrap()
            .path_len_constraint,
        Some(300)
    );
}

#[test]
fn a_leaf_key_usage_or_extended_key_usage_that_does_not_decode_fails_closed() {
    let p = pki();
    let good = leaf(&p.inter, &p.ct, T0, 1);
    for (id, name) in [(KEY_USAGE, "keyUsage"), (EXT_KEY_USAGE, "extKeyUsage")] {
        for garbage in [&[0x05, 0x00][..], &[0x03, 0x02, 0x09]] {
            let bad = tamper(&good.der, |e| replace(e, id, extension(id, true, garbage)));
            let err = leaf_extension_error(check_leaf_profile(&bad));
            assert!(
                matches!(err, ExtensionError::Malformed { name: n, .. } if n == name),
                "{name} {garbage:02x?}: {err}"
            );
        }
    }
}

/// `p.inter` with its extensions changed, re-signed by the root; the key stays the
/// intermediate's, so leaves it issues verify.
fn changed_intermediate(p: &Pki, change: impl FnOnce(&mut Vec<x509_cert::ext::Extension>)) -> Ca {
    p.inter
        .with_certificate(resign(&p.inter.der, &p.root.key, change))
}

fn authority_chain_error(
    result: Result<signet_verify::certificate::VerifiedChain, CertificateError>,
) -> String {
    match result {
        Err(CertificateError::AuthorityChain { reason, .. }) => reason,
        other => panic!("expected the authority's chain refused, got {other:?}"),
    }
}

#[test]
fn a_ca_with_a_critical_extension_nothing_processes_or_malformed_constraints_does_not_verify() {
    let p = pki();
    let good = leaf(&p.inter, &p.ct, T0, 1);
    verify_chain(
        &good,
        &[authority(&[&p.inter.der, &p.root.der], T0 - DAY)],
        &at(T0),
    )
    .unwrap();

    let refused = |inter: &Ca, root_der: &[u8]| {
        let leaf = leaf(inter, &p.ct, T0, 2);
        authority_chain_error(verify_chain(
            &leaf,
            &[authority(&[&inter.der, root_der], T0 - DAY)],
            &at(T0),
        ))
    };

    // An unknown critical extension on the intermediate, then on the root.
    let inter = changed_intermediate(&p, |e| e.push(extension("1.2.3.4.5", true, &[0x05, 0x00])));
    let reason = refused(&inter, &p.root.der);
    assert!(reason.contains("1.2.3.4.5"), "{reason}");
    let root = resign(&p.root.der, &p.root.key, |e| {
        e.push(extension("1.2.3.4.5", true, &[0x05, 0x00]))
    });
    // (The intermediate's signature is over its TBS, which names the root only by subject,
    // so it still verifies under the re-signed root.)
    let reason = refused(&p.inter, &root);
    assert!(
        reason.contains("1.2.3.4.5") && reason.contains("signet-root"),
        "{reason}"
    );

    // BasicConstraints that does not decode (BER cA TRUE): not a CA, and not "not a CA" either.
    let inter = changed_intermediate(&p, |e| {
        replace(
            e,
            BASIC_CONSTRAINTS,
            extension(BASIC_CONSTRAINTS, true, &[0x30, 0x03, 0x01, 0x01, 0x01]),
        )
    });
    let reason = refused(&inter, &p.root.der);
    assert!(reason.contains("basicConstraints"), "{reason}");
    // keyUsage that does not decode.
    let inter = changed_intermediate(&p, |e| {
        replace(e, KEY_USAGE, extension(KEY_USAGE, true, &[0x05, 0x00]))
    });
    assert!(refused(&inter, &p.root.der).contains("keyUsage"));

    // Critical nameConstraints on a CA: Go enforces them on what the CA issues; signet does
    // not, so it refuses rather than ignore them.
    let dns = NameConstraints {
        permitted_subtrees: Some(vec![GeneralSubtree {
            base: GeneralName::DnsName(Ia5String::new("example.com").unwrap()),
            minimum: 0,
            maximum: None,
        }]),
        excluded_subtrees: None,
    }
    .to_der()
    .unwrap();
    let inter = changed_intermediate(&p, |e| e.push(extension("2.5.29.30", true, &dns)));
    assert!(refused(&inter, &p.root.der).contains("nameConstraints"));

    // A critical SAN on a CA: handled by Go when it holds a URI, unhandled when it holds only
    // an otherName (sigstore-go drops the SAN from the unhandled list for the leaf only).
    let san = |name: GeneralName| SubjectAltName(vec![name]).to_der().unwrap();
    let uri = san(GeneralName::UniformResourceIdentifier(
        Ia5String::new("https://ca.example").unwrap(),
    ));
    let inter = changed_intermediate(&p, |e| e.push(extension("2.5.29.17", true, &uri)));
    let leaf_under = leaf(&inter, &p.ct, T0, 3);
    verify_chain(
        &leaf_under,
        &[authority(&[&inter.der, &p.root.der], T0 - DAY)],
        &at(T0),
    )
    .unwrap();
    let other = san(GeneralName::OtherName(OtherName {
        type_id: ObjectIdentifier::new("1.3.6.1.4.1.57264.1.7").unwrap(),
        value: Any::new(Tag::Utf8String, b"ca".as_slice()).unwrap(),
    }));
    let inter = changed_intermediate(&p, |e| e.push(extension("2.5.29.17", true, &other)));
    assert!(refused(&inter, &p.root.der).contains("subjectAltName"));
}

#[test]
fn a_leaf_issued_by_the_root_of_the_chain_verifies_with_the_root_as_its_sct_issuer() {
    let p = pki();
    let cas = [authority(&[&p.inter.der, &p.root.der], T0 - DAY)];
    let by_root = leaf(&p.root, &p.ct, T0, 1);
    check_leaf_profile(&by_root).unwrap();
    let chain = verify_chain(&by_root, &cas, &at(T0)).unwrap();
    assert_eq!((chain.authority, chain.issuer), (0, 1));
    assert_eq!(chain.issuer_spki, p.root.spki());
    verify_scts(&by_root.der, &chain.issuer_spki, &[p.ct.trusted()]).unwrap();

    // The SCT must name the certificate that issued the leaf: one logged with the
    // intermediate as issuer does not verify.
    let wrong_sct = leaf_with_sct_issuer(&p.root, &p.inter.spki(), &p.ct, T0, 2);
    let chain = verify_chain(&wrong_sct, &cas, &at(T0)).unwrap();
    assert!(verify_scts(&wrong_sct.der, &chain.issuer_spki, &[p.ct.trusted()]).is_err());

    // The usual leaf still names the intermediate.
    let by_inter = leaf(&p.inter, &p.ct, T0, 3);
    let chain = verify_chain(&by_inter, &cas, &at(T0)).unwrap();
    assert_eq!((chain.issuer, chain.issuer_spki), (0, p.inter.spki()));
}

#[test]
fn the_path_from_a_later_issuer_checks_only_the_certificates_on_it() {
    let root = root("signet-root", T0 - 10 * DAY, T0 + 365 * DAY);
    // An intermediate that expired before T0.
    let expired = intermediate(&root, "signet-intermediate", T0 - 10 * DAY, T0 - DAY);
    let ct = CtLog::new();
    let cas = [authority(&[&expired.der, &root.der], T0 - 10 * DAY)];

    // Issued by the root, the leaf's path is [leaf, root]: the expired intermediate is not on it.
    let by_root = leaf(&root, &ct, T0, 1);
    assert_eq!(verify_chain(&by_root, &cas, &at(T0)).unwrap().issuer, 1);
    // Issued by the intermediate, the path includes it.
    let by_inter = leaf(&expired, &ct, T0, 2);
    assert!(matches!(
        verify_chain(&by_inter, &cas, &at(T0)),
        Err(CertificateError::NotValidAt { subject, .. }) if subject.contains("signet-intermediate")
    ));

    // The root itself must be valid at every signing time, and the authority's validFor must
    // cover it.
    let short_root = cas::root("signet-root", T0 - 10 * DAY, T0 + 300);
    let inter = intermediate(&short_root, "signet-intermediate", T0 - 10 * DAY, T0 + 365 * DAY);
    let by_short_root = leaf(&short_root, &ct, T0 + 200, 3);
    let cas = [authority(&[&inter.der, &short_root.der], T0 - 10 * DAY)];
    verify_chain(&by_short_root, &cas, &at(T0 + 200)).unwrap();
    assert!(matches!(
        verify_chain(&by_short_root, &cas, &[at(T0 + 200), at(T0 + 400)].concat()),
        Err(CertificateError::NotValidAt { subject, .. }) if subject.contains("signet-root")
    ));
    let late = [authority(&[&inter.der, &short_root.der], T0 + 250)];
    assert!(matches!(
        verify_chain(&by_short_root, &late, &at(T0 + 200)),
        Err(CertificateError::AuthorityNotValidAt { .. })
    ));
}

#[test]
fn two_chain_certificates_with_one_subject_are_told_apart_by_signature() {
    // A re-keyed CA: the intermediate has the root's subject, under another key.
    let root = root("signet-ca", T0 - DAY, T0 + 365 * DAY);
    let rekeyed = intermediate(&root, "signet-ca", T0 - DAY, T0 + 365 * DAY);
    let ct = CtLog::new();
    let cas = [authority(&[&rekeyed.der, &root.der], T0 - DAY)];
    let by_root = leaf(&root, &ct, T0, 1);
    let chain = verify_chain(&by_root, &cas, &at(T0)).unwrap();
    assert_eq!((chain.issuer, chain.issuer_spki.clone()), (1, root.spki()));
    verify_scts(&by_root.der, &chain.issuer_spki, &[ct.trusted()]).unwrap();
    let by_rekeyed = leaf(&rekeyed, &ct, T0, 2);
    assert_eq!(verify_chain(&by_rekeyed, &cas, &at(T0)).unwrap().issuer, 0);
}

fn vectors_dir() -> PathBuf {
    std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
}

/// Every trusted root the vectors hold (the public-good and staging instances, and each
/// conformance case's own): the authority chains pass the stricter extension checks, so the
/// new rules refuse nothing real.
#[test]
fn every_vector_authority_chain_still_verifies() {
    let vectors = vectors_dir();
    if !vectors.is_dir() {
        println!("SKIP: {} not found", vectors.display());
        return;
    }
    let mut roots = vec![vectors.join("public-good/trusted_root.json")];
    for dir in ["staging", "sigstore-conformance/bundle-verify"] {
        let Ok(entries) = std::fs::read_dir(vectors.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            for candidate in [entry.path(), entry.path().join("trusted_root.json")] {
                if candidate.is_file() && candidate.extension().is_some_and(|e| e == "json") {
                    roots.push(candidate);
                }
            }
        }
    }
    let mut authorities = 0;
    for path in &roots {
        let Ok(root) = TrustedRoot::from_json(&std::fs::read(path).unwrap()) else {
            continue;
        };
        for ca in PreparedTrust::from_trusted_root(&root).certificate_authorities {
            assert_eq!(ca.chain_error(), None, "{}: {}", path.display(), ca.name);
            authorities += 1;
        }
    }
    println!("{authorities} authority chains in {} trusted roots", roots.len());
    assert!(authorities >= 2, "only {authorities} authorities found");
}

#[test]
fn a_path_longer_than_a_ca_allows_is_refused() {
    // The root allows no intermediate below it (BasicConstraints cA TRUE, pathLen 0).
    let p = pki();
    let root_der = resign(&p.root.der, &p.root.key, |e| {
        replace(
            e,
            "2.5.29.19",
            extension(
                "2.5.29.19",
                true,
                &[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00],
            ),
        )
    });
    let ca = authority(&[&p.inter.der, &root_der], T0 - DAY);
    let through_intermediate = leaf(&p.inter, &p.ct, T0, 3);
    let r = verify_chain(&through_intermediate, std::slice::from_ref(&ca), &at(T0));
    assert!(
        matches!(
            r,
            Err(CertificateError::PathLength {
                path_len: 0,
                below: 1,
                ..
            })
        ),
        "{r:?}"
    );
    // A leaf the root issued itself has no intermediate on its path.
    let root = p.root.with_certificate(root_der.clone());
    let direct = leaf(&root, &p.ct, T0, 4);
    verify_chain(&direct, &[ca], &at(T0)).unwrap();
}

#[test]
fn a_ca_restricted_to_other_usages_cannot_issue_code_signing_certificates() {
    // An intermediate whose extended key usage is timeStamping only (Go's Verify, asked for
    // code signing as sigstore-go asks, refuses the chain).
    let p = pki();
    let time_stamping_only = [
        0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
    ];
    let inter = changed_intermediate(&p, |e| {
        e.retain(|x| x.extn_id != oid("2.5.29.37"));
        e.push(extension("2.5.29.37", false, &time_stamping_only));
    });
    let leaf = leaf(&inter, &p.ct, T0, 5);
    let r = verify_chain(&leaf, &[authority(&[&inter.der, &p.root.der], T0 - DAY)], &at(T0));
    assert!(
        matches!(r, Err(CertificateError::AuthorityKeyUsage { .. })),
        "{r:?}"
    );
}
