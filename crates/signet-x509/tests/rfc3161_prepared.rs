//! What `TsaTrust` and `TokenIssuer` work out once must not change a result: a `TsaTrust`
//! reused for many tokens answers exactly as a fresh one does (its trusted chain is checked on
//! first use and remembered, failures included), and a token assembled from pre-encoded parts
//! is the DER its ASN.1 types encode to.

use std::sync::Arc;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::{Decode, Encode};
use signet_crypto::{HashAlgorithm, KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::rfc3161::TimeStampResp;
use signet_x509::{oid, verify_timestamp, TimestampError, TimestampRequest, TokenIssuer, TsaTrust};

const NOW: i64 = 1_750_000_000;

struct Fixture {
    issuer: TokenIssuer,
    root: Vec<u8>,
    leaf: Vec<u8>,
}

/// A TSA root and leaf; two fixtures share names and serials, so only keys tell them apart.
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

fn authority(chain: &[&[u8]]) -> TsaTrust {
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
        valid_for: TimeRange::starting(Timestamp::from_unix(NOW - 10)),
        operator: None,
    })
    .unwrap()
}

fn request(hash: HashAlgorithm, cert_req: bool) -> TimestampRequest {
    let mut req = TimestampRequest::new(hash, hash.digest(b"sig")).unwrap();
    req.nonce = Some(vec![0x80, 0x01]);
    req.cert_req = cert_req;
    req
}

#[test]
fn a_reused_authority_answers_as_a_fresh_one() {
    let f = fixture(KeyKind::EcdsaP256);
    let other = fixture(KeyKind::EcdsaP256);
    let chains: [&[&[u8]]; 6] = [
        &[&f.leaf, &f.root],
        &[&f.root],
        &[&f.leaf],
        // The right leaf under a root that did not issue it: the trusted chain is broken.
        &[&f.leaf, &other.root],
        &[&other.leaf, &other.root],
        &[&other.root],
    ];
    let tokens: Vec<Vec<u8>> = [true, false]
        .into_iter()
        .flat_map(|cert_req| {
            [&f, &other].map(|x| {
                x.issuer
                    .issue(&request(HashAlgorithm::Sha2_256, cert_req), &[9; 8], NOW)
                    .unwrap()
            })
        })
        .collect();
    for chain in chains {
        let reused = [authority(chain)];
        for round in 0..2 {
            for token in &tokens {
                let fresh = verify_timestamp(token, b"sig", &[authority(chain)]);
                assert_eq!(verify_timestamp(token, b"sig", &reused), fresh, "round {round}");
            }
        }
    }
    // The broken trusted chain is reported on every token, not only the first.
    let broken = [authority(&[&f.leaf, &other.root])];
    for _ in 0..2 {
        let e = verify_timestamp(&tokens[0], b"sig", &broken).unwrap_err();
        assert!(
            matches!(&e, TimestampError::ChainSignature { subject, .. } if subject.contains("signet-tsa")),
            "{e:?}"
        );
    }
}

#[test]
fn an_embedded_signer_must_chain_to_a_ca_only_authority() {
    let f = fixture(KeyKind::EcdsaP256);
    let other = fixture(KeyKind::EcdsaP256);
    let token = f
        .issuer
        .issue(&request(HashAlgorithm::Sha2_256, true), &[1], NOW)
        .unwrap();
    let own = [authority(&[&f.root])];
    let foreign = [authority(&[&other.root])];
    for _ in 0..2 {
        assert_eq!(
            verify_timestamp(&token, b"sig", &own).unwrap().signer_certificate,
            f.leaf
        );
        // Same issuer name, another key: the first link, checked per token, fails.
        let e = verify_timestamp(&token, b"sig", &foreign).unwrap_err();
        assert!(
            matches!(&e, TimestampError::ChainSignature { subject, .. } if subject.contains("CN=signet-tsa,")),
            "{e:?}"
        );
    }
}

/// Decoding and encoding again gives the same bytes at every level that `der` sorts or
/// frames: the response, the SignedData (SET OFs of algorithms, certificates, SignerInfos and
/// signed attributes, which `der` sorts as it decodes) and the TSTInfo.
#[test]
fn issued_tokens_are_the_der_of_their_types() {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
        let f = fixture(kind);
        for hash in [
            HashAlgorithm::Sha2_256,
            HashAlgorithm::Sha2_384,
            HashAlgorithm::Sha2_512,
        ] {
            for cert_req in [true, false] {
                let der = f
                    .issuer
                    .issue(&request(hash, cert_req), &[0xff; 20], NOW)
                    .unwrap();
                let resp = TimeStampResp::from_der(&der).unwrap();
                assert_eq!(resp.to_der().unwrap(), der);
                let content_info: ContentInfo = resp.time_stamp_token.unwrap();
                let signed_data: SignedData = content_info.content.decode_as().unwrap();
                assert_eq!(
                    signed_data.to_der().unwrap(),
                    content_info.content.to_der().unwrap()
                );
                let tst_info = signed_data.encap_content_info.econtent.as_ref().unwrap();
                let tst_info = tst_info.decode_as::<der::asn1::OctetString>().unwrap();
                let decoded = signet_x509::rfc3161::TstInfo::from_der(tst_info.as_bytes()).unwrap();
                assert_eq!(decoded.to_der().unwrap(), tst_info.as_bytes());
                let certificates = signed_data.certificates.as_ref().map_or(0, |c| c.0.len());
                assert_eq!(certificates, usize::from(cert_req));
                verify_timestamp(&der, b"sig", &[authority(&[&f.leaf, &f.root])]).unwrap();
            }
        }
    }
}
