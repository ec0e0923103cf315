//! OIDC identity tokens: `UnverifiedToken::parse` and `verify_token_with_keys` against a fixed
//! issuer set (one issuer of each type, and a meta issuer) and an Ed25519 key made at start-up,
//! on two kinds of input chosen by the first byte:
//!
//! - even: the rest is a compact JWS as is. It cannot carry a valid signature by the start-up
//!   key, so verification must refuse it (and `parse` must never panic);
//! - odd: the rest is a claims set; the target signs it with the start-up key, so the claim
//!   checks and each issuer type's identity mapping run on arbitrary claims. The signature
//!   check must pass, and a token that verifies must say what its claims say.

#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use signet_crypto::{KeyKind, SigningKey};
use signet_oidc::{
    verify_token_with_keys, Algorithm, IssuerConfig, IssuerSet, IssuerType, KeySet, TokenError,
    UnverifiedToken, VerificationKey,
};

const NOW: i64 = 1_767_225_600;
const SKEW: i64 = 60;
const KID: &str = "fuzz-key";

struct Fixture {
    issuers: IssuerSet,
    keys: KeySet,
    key: SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let add = |set: IssuerSet, config| set.with_issuer(config).expect("valid issuer");
        let mut issuers = IssuerSet::new();
        issuers = add(
            issuers,
            IssuerConfig::new("https://accounts.example.com", IssuerType::Email),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://oauth2.example.dev/auth", IssuerType::Email)
                .with_issuer_claim("$.federated_claims.connector_id"),
        );
        issuers = add(
            issuers,
            IssuerConfig::new(
                "https://token.actions.githubusercontent.com",
                IssuerType::GithubWorkflow,
            ),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://gitlab.com", IssuerType::GitlabPipeline),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://spire.example.org", IssuerType::Spiffe)
                .with_spiffe_trust_domain("example.org"),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://kubernetes.default.svc", IssuerType::Kubernetes),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://ci.example.com", IssuerType::Uri)
                .with_subject_domain("https://ci.example.com"),
        );
        issuers = add(
            issuers,
            IssuerConfig::new("https://users.example.com", IssuerType::Username)
                .with_subject_domain("example.com"),
        );
        let issuers = issuers
            .with_meta_issuer(
                "https://oidc.eks.*.amazonaws.com/id/*",
                IssuerConfig::new("", IssuerType::Kubernetes),
            )
            .expect("valid meta issuer");
        let key = SigningKey::generate(KeyKind::Ed25519).expect("key generation");
        let verification = VerificationKey::from_spki_der(key.public_key().spki_der())
            .expect("an Ed25519 key")
            .with_kid(KID);
        Fixture {
            issuers,
            keys: KeySet::new(vec![verification]),
            key,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    if mode & 1 == 0 {
        let Some(token) = signet_fuzz::text(rest) else {
            return;
        };
        if let Ok(parsed) = UnverifiedToken::parse(token) {
            let alg = parsed.header().alg;
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        let result = verify_token_with_keys(token, &f.issuers, &f.keys, NOW, SKEW);
        assert!(result.is_err(), "a token the fuzzer wrote verified: {result:?}");
        return;
    }

    // Sign the fuzzer's claims with the start-up key.
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"EdDSA","kid":"{KID}","typ":"JWT"}}"#));
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(rest));
    let signature = f.key.sign(signing_input.as_bytes()).expect("signing");
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    match verify_token_with_keys(&token, &f.issuers, &f.keys, NOW, SKEW) {
        Ok(verified) => {
            let claims = UnverifiedToken::parse(&token).expect("a verified token parses");
            let claims = claims.unverified_claims();
            assert_eq!(claims.required_string("iss").ok(), Some(verified.issuer.as_str()));
            assert_eq!(
                claims.required_string("sub").ok(),
                Some(verified.subject.as_str())
            );
            assert_eq!(verified.key_id.as_deref(), Some(KID));
            assert!(f.issuers.lookup(&verified.issuer).is_some());
            assert!(verified.expires_at + SKEW >= NOW, "an expired token verified");
            assert!(
                verified.issued_at - SKEW <= NOW,
                "a token issued in the future verified"
            );
        }
        Err(
            e @ (TokenError::UnknownKey { .. }
            | TokenError::KeyAlgorithmMismatch { .. }
            | TokenError::KeyDeclaredForOtherAlgorithm { .. }
            | TokenError::SignatureLength { .. }
            | TokenError::BadSignature { .. }),
        ) => panic!("a token signed with the issuer's key failed its signature check: {e}"),
        Err(_) => {}
    }
});
