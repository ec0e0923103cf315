//! Request → token → verification with a freshly made chain, and the failures each check
//! must catch.

use std::sync::Arc;

use proptest::prelude::*;
use signet_crypto::{HashAlgorithm, KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::{
    oid, rejection_response, verify_timestamp, FailureInfo, PkiStatus, RequestError, TimestampError,
    TimestampRequest, TimestampResponse, TimestampToken, TokenIssuer, TsaTrust,
};

const NOW: i64 = 1_750_000_000;

struct Fixture {
    issuer: TokenIssuer,
    root: Vec<u8>,
    leaf: Vec<u8>,
}

fn fixture(kind: KeyKind) -> Fixture {
    let root_key = SigningKey::generate(kind).unwrap();
    let leaf_key = Arc::new(SigningKey::generate(kind).unwrap());
    let dn = |cn: &str| DistinguishedName {
        organization: "signet".into(),
        common_name: cn.into(),
    };
    let (root_dn, leaf_dn) = (dn("signet-tsa-root"), dn("signet-tsa"));
    let params = |subject, serial| CertificateParams {
        subject,
        serial,
        not_before: NOW - 3600,
        not_after: NOW + 86_400,
    };
    let root = tsa_root_certificate(&root_key, &params(&root_dn, &[1; 16])).unwrap();
    let leaf = tsa_leaf_certificate(
        &root_key,
        &root,
        leaf_key.public_key(),
        &params(&leaf_dn, &[2; 16]),
    )
    .unwrap();
    let issuer = TokenIssuer::new(leaf_key, &leaf, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
    Fixture { issuer, root, leaf }
}

fn authority(chain: &[&[u8]], valid_for: TimeRange) -> TsaTrust {
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
        valid_for,
        operator: None,
    })
    .unwrap()
}

fn since(t: i64) -> TimeRange {
    TimeRange::starting(Timestamp::from_unix(t))
}

fn request(signature: &[u8], cert_req: bool) -> TimestampRequest {
    let mut req =
        TimestampRequest::new(HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_256.digest(signature)).unwrap();
    req.nonce = Some(vec![0x12, 0x34, 0x56]);
    req.cert_req = cert_req;
    req
}

#[test]
fn issued_tokens_verify_with_and_without_embedded_certificate() {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
        let f = fixture(kind);
        let trust = [authority(&[&f.leaf, &f.root], since(NOW - 3600))];
        for cert_req in [true, false] {
            let req = TimestampRequest::from_der(&request(b"sig", cert_req).to_der().unwrap()).unwrap();
            let resp = f.issuer.issue(&req, &[0xab; 16], NOW).unwrap();
            let v = verify_timestamp(&resp, b"sig", &trust).unwrap();
            assert_eq!(v.gen_time, NOW);
            assert_eq!(v.nonce.as_deref(), Some(&[0x12, 0x34, 0x56][..]));
            assert_eq!(v.policy, oid::SIGSTORE_TSA_POLICY);
            assert_eq!(v.signer_certificate, f.leaf);
            let token = TimestampResponse::from_der(&resp).unwrap().token.unwrap();
            let embedded = token.signed_data.certificates.as_ref().map_or(0, |c| c.0.len());
            assert_eq!(embedded, usize::from(cert_req));
            // A trust root listing only the CA works when the leaf is embedded.
            let ca_only = [authority(&[&f.root], since(NOW - 3600))];
            assert_eq!(verify_timestamp(&resp, b"sig", &ca_only).is_ok(), cert_req);
        }
    }
}

#[test]
fn each_check_rejects() {
    let f = fixture(KeyKind::EcdsaP256);
    let other = fixture(KeyKind::EcdsaP256);
    let resp = f.issuer.issue(&request(b"sig", true), &[1; 16], NOW).unwrap();
    let trust = |valid_for| [authority(&[&f.leaf, &f.root], valid_for)];

    let e = verify_timestamp(&resp, b"other signature", &trust(since(NOW - 10))).unwrap_err();
    assert!(matches!(e, TimestampError::ImprintMismatch { .. }), "{e:?}");

    let e = verify_timestamp(&resp, b"sig", &trust(since(NOW + 1))).unwrap_err();
    assert!(
        matches!(e, TimestampError::OutsideAuthorityValidity { .. }),
        "{e:?}"
    );
    let e = verify_timestamp(&resp, b"sig", &trust(TimeRange::default())).unwrap_err();
    assert!(
        matches!(e, TimestampError::OutsideAuthorityValidity { .. }),
        "{e:?}"
    );
    let end_inclusive = TimeRange {
        start: Some(Timestamp::from_unix(NOW - 10)),
        end: Some(Timestamp::from_unix(NOW)),
    };
    verify_timestamp(&resp, b"sig", &trust(end_inclusive)).unwrap();

    let late = f
        .issuer
        .issue(&request(b"sig", true), &[1; 16], NOW + 2 * 86_400)
        .unwrap();
    let e = verify_timestamp(&late, b"sig", &trust(since(NOW - 10))).unwrap_err();
    assert!(
        matches!(e, TimestampError::OutsideCertificateValidity { .. }),
        "{e:?}"
    );

    let foreign = [authority(&[&other.leaf, &other.root], since(NOW - 10))];
    let e = verify_timestamp(&resp, b"sig", &foreign).unwrap_err();
    assert!(
        matches!(e, TimestampError::EmbeddedCertificateNotTrusted { .. }),
        "{e:?}"
    );
    let bare = f.issuer.issue(&request(b"sig", false), &[1; 16], NOW).unwrap();
    let e = verify_timestamp(&bare, b"sig", &foreign).unwrap_err();
    // Same names and serials in both fixtures, so the identifier matches and the key does not.
    assert!(matches!(e, TimestampError::Signature(_)), "{e:?}");
    // The wrong root under the right leaf: the chain does not verify.
    let e = verify_timestamp(
        &bare,
        b"sig",
        &[authority(&[&f.leaf, &other.root], since(NOW - 10))],
    )
    .unwrap_err();
    assert!(matches!(e, TimestampError::ChainSignature { .. }), "{e:?}");
    // Two authorities, neither right: both reasons are reported.
    let e = verify_timestamp(&bare, b"sig", &[foreign[0].clone(), foreign[0].clone()]).unwrap_err();
    assert!(
        matches!(e, TimestampError::NoAuthorityVerified(ref v) if v.len() == 2),
        "{e:?}"
    );
    // The right one among several is found.
    let v = verify_timestamp(
        &bare,
        b"sig",
        &[foreign[0].clone(), trust(since(NOW - 10))[0].clone()],
    )
    .unwrap();
    assert_eq!(v.authority, 1);
    assert_eq!(
        verify_timestamp(&bare, b"sig", &[]).unwrap_err(),
        TimestampError::NoAuthorities
    );

    // A CA certificate (here one without the timeStamping EKU) is never taken as the signer.
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let dn = DistinguishedName {
        organization: "x".into(),
        common_name: "y".into(),
    };
    let root = tsa_root_certificate(
        &root_key,
        &CertificateParams {
            subject: &dn,
            serial: &[3],
            not_before: NOW - 10,
            not_after: NOW + 10,
        },
    )
    .unwrap();
    let no_eku = TokenIssuer::new(Arc::new(root_key), &root, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
    let resp = no_eku.issue(&request(b"sig", false), &[1], NOW).unwrap();
    let e = verify_timestamp(&resp, b"sig", &[authority(&[&root], since(NOW - 10))]).unwrap_err();
    assert!(matches!(e, TimestampError::NoSignerCertificate), "{e:?}");
}

#[test]
fn tampering_is_caught() {
    let f = fixture(KeyKind::EcdsaP256);
    let trust = [authority(&[&f.leaf, &f.root], since(NOW - 10))];
    let resp = f.issuer.issue(&request(b"sig", false), &[1; 16], NOW).unwrap();
    let mut caught = 0;
    for i in 0..resp.len() {
        let mut bad = resp.clone();
        bad[i] ^= 0x01;
        if verify_timestamp(&bad, b"sig", &trust).is_err() {
            caught += 1;
        }
    }
    // Only flips inside non-signed, non-checked bytes (e.g. unused bits) may pass.
    assert!(
        caught * 100 / resp.len() > 95,
        "caught {caught} of {}",
        resp.len()
    );
    // The serial number lives in the signed TSTInfo: flipping it breaks message-digest.
    let token = TimestampResponse::from_der(&resp).unwrap().token.unwrap();
    let pos = resp.windows(16).position(|w| w == [1; 16]).unwrap();
    let mut bad = resp.clone();
    bad[pos] = 2;
    let e = verify_timestamp(&bad, b"sig", &trust).unwrap_err();
    assert!(matches!(e, TimestampError::MessageDigestMismatch { .. }), "{e:?}");
    assert_eq!(token.gen_time(), NOW);
}

#[test]
fn requests_are_validated() {
    let good = request(b"sig", true);
    assert_eq!(TimestampRequest::from_der(&good.to_der().unwrap()).unwrap(), good);
    assert!(matches!(
        TimestampRequest::new(HashAlgorithm::Sha2_384, vec![0; 32]),
        Err(RequestError::ImprintLength {
            expected: 48,
            got: 32,
            ..
        })
    ));
    let mut der = good.to_der().unwrap();
    // Swap SHA-256's OID for SHA-224 (2.16.840.1.101.3.4.2.4).
    let pos = der
        .windows(9)
        .position(|w| w == [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])
        .unwrap();
    der[pos + 8] = 0x04;
    let e = TimestampRequest::from_der(&der).unwrap_err();
    assert!(matches!(e, RequestError::UnsupportedHash { .. }));
    assert_eq!(e.failure_info(), FailureInfo::BadAlg);
    let e = TimestampRequest::from_der(b"\x30\x03\x02\x01\x01").unwrap_err();
    assert_eq!(e.failure_info(), FailureInfo::BadDataFormat);
}

#[test]
fn rejections_parse() {
    let resp = rejection_response(FailureInfo::BadAlg, "unknown hash");
    let parsed = TimestampResponse::from_der(&resp).unwrap();
    assert_eq!(parsed.status, PkiStatus::Rejection);
    assert_eq!(parsed.failure_info, vec![FailureInfo::BadAlg]);
    assert_eq!(parsed.status_text, vec!["unknown hash".to_string()]);
    assert!(parsed.token.is_none());
    let e = verify_timestamp(&resp, b"sig", &[]).unwrap_err();
    assert_eq!(
        e,
        TimestampError::NotGranted {
            status: PkiStatus::Rejection
        }
    );
    let parsed = TimestampResponse::from_der(&rejection_response(FailureInfo::SystemFailure, "")).unwrap();
    assert_eq!(parsed.failure_info, vec![FailureInfo::SystemFailure]);
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = TimestampRequest::from_der(&bytes);
        let _ = TimestampResponse::from_der(&bytes);
        let _ = TimestampToken::from_response_or_token(&bytes);
        let _ = verify_timestamp(&bytes, b"sig", &[]);
        let _ = signet_x509::certificate_validity(&bytes);
    }

    #[test]
    fn mutated_responses_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        thread_local!(static F: (Vec<u8>, Vec<u8>, Vec<u8>) = {
            let f = fixture(KeyKind::EcdsaP256);
            (f.issuer.issue(&request(b"sig", true), &[1; 16], NOW).unwrap(), f.leaf, f.root)
        });
        F.with(|(resp, leaf, root)| {
            let trust = [authority(&[leaf, root], since(NOW - 10))];
            let mut bad = resp.clone();
            for (i, b) in flips {
                let n = bad.len();
                bad[i % n] ^= b;
            }
            let _ = verify_timestamp(&bad, b"sig", &trust);
        });
    }
}
