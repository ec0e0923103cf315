//! RFC 3161 responses and tokens: `TimestampResponse::from_der` and `verify_timestamp` against
//! a TSA made at start-up ([leaf, root] trusted, P-256), on two kinds of input chosen by the
//! first byte:
//!
//! - even: the rest is a response or token as is. It cannot carry a valid signature by the
//!   start-up TSA, so `verify_timestamp` must refuse it;
//! - odd: the rest is a list of edits (`signet_fuzz::apply_edits`) to a valid response the TSA
//!   issued at start-up, so the checks behind the parser run on near-valid tokens. An edited
//!   response that still verifies must say exactly what the original says: everything
//!   `VerifiedTimestamp` reports is signed.

#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use signet_crypto::{sha256, HashAlgorithm, KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::{
    oid, verify_timestamp, PkiStatus, TimestampRequest, TimestampResponse, TimestampToken, TokenIssuer,
    TsaTrust, VerifiedTimestamp,
};

const NOW: i64 = 1_767_225_600;
/// The bundle signature the token stamps.
const SIGNATURE: &[u8] = b"a signature over an artifact, as a bundle carries it";

struct Tsa {
    trust: TsaTrust,
    response: Vec<u8>,
    verified: VerifiedTimestamp,
}

fn tsa() -> &'static Tsa {
    static TSA: OnceLock<Tsa> = OnceLock::new();
    TSA.get_or_init(|| {
        let root_key = SigningKey::generate(KeyKind::EcdsaP256).expect("key generation");
        let leaf_key = Arc::new(SigningKey::generate(KeyKind::EcdsaP256).expect("key generation"));
        let dn = |cn: &str| DistinguishedName {
            organization: "signet-fuzz".into(),
            common_name: cn.into(),
        };
        let (root_dn, leaf_dn) = (dn("fuzz-tsa-root"), dn("fuzz-tsa"));
        let params = |subject, serial| CertificateParams {
            subject,
            serial,
            not_before: NOW - 3600,
            not_after: NOW + 86_400,
        };
        let root = tsa_root_certificate(&root_key, &params(&root_dn, &[1; 16])).expect("root");
        let leaf = tsa_leaf_certificate(
            &root_key,
            &root,
            leaf_key.public_key(),
            &params(&leaf_dn, &[2; 16]),
        )
        .expect("leaf");
        let issuer = TokenIssuer::new(leaf_key, &leaf, oid::SIGSTORE_TSA_POLICY, 1).expect("issuer");
        let trust = TsaTrust::from_authority(&CertificateAuthority {
            subject: leaf_dn,
            uri: None,
            cert_chain: X509CertificateChain {
                certificates: [&leaf, &root]
                    .iter()
                    .map(|c| X509Certificate {
                        raw_bytes: c.to_vec(),
                    })
                    .collect(),
            },
            valid_for: TimeRange::starting(Timestamp::from_unix(NOW - 60)),
            operator: None,
        })
        .expect("TSA trust");
        let mut request =
            TimestampRequest::new(HashAlgorithm::Sha2_256, sha256(SIGNATURE).to_vec()).expect("request");
        request.nonce = Some(vec![0x12, 0x34, 0x56, 0x78]);
        request.cert_req = true;
        let response = issuer.issue(&request, &[9; 8], NOW).expect("issue");
        let verified = verify_timestamp(&response, SIGNATURE, std::slice::from_ref(&trust))
            .expect("the start-up token must verify");
        Tsa {
            trust,
            response,
            verified,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let tsa = tsa();
    let edited;
    let input = if mode & 1 == 0 {
        rest
    } else {
        edited = signet_fuzz::apply_edits(&tsa.response, rest);
        &edited
    };

    if let Ok(response) = TimestampResponse::from_der(input) {
        // A granted response with a token is what `from_response_or_token` takes the token of.
        let granted = matches!(response.status, PkiStatus::Granted | PkiStatus::GrantedWithMods);
        if granted && response.token.is_some() {
            let token = TimestampToken::from_response_or_token(input).expect("granted response with a token");
            assert_eq!(Some(token.tst_info_der), response.token.map(|t| t.tst_info_der));
        }
    }
    if let Ok(token) = TimestampToken::from_der(input) {
        let _ = token.gen_time();
    }

    let result = verify_timestamp(input, SIGNATURE, std::slice::from_ref(&tsa.trust));
    if mode & 1 == 0 {
        assert!(result.is_err(), "a token the fuzzer wrote verified: {result:?}");
    } else if let Ok(verified) = result {
        assert_eq!(
            verified, tsa.verified,
            "an edited token verified but says something else"
        );
    }
});
