//! The token parser and the pure verification path never panic, whatever the input.

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use signet_oidc::{verify_token_with_keys, IssuerConfig, IssuerSet, IssuerType, KeySet, UnverifiedToken};

fn setup() -> (IssuerSet, KeySet) {
    let issuers = IssuerSet::new()
        .with_issuer(IssuerConfig::new("https://issuer.example", IssuerType::Email))
        .unwrap();
    let keys = KeySet::from_jwks_json(jwks().to_string().as_bytes()).unwrap();
    (issuers, keys)
}

/// JSON-ish fragments, so the generated headers and claims get past the first checks often.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        prop_oneof![
            Just("RS256".to_owned()),
            Just("ES256".to_owned()),
            Just("EdDSA".to_owned()),
            Just("es256".to_owned()),
            Just("https://issuer.example".to_owned()),
            Just("sigstore".to_owned()),
            ".{0,12}",
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("alg".to_owned()),
                    Just("kid".to_owned()),
                    Just("typ".to_owned()),
                    Just("iss".to_owned()),
                    Just("aud".to_owned()),
                    Just("exp".to_owned()),
                    Just("iat".to_owned()),
                    Just("sub".to_owned()),
                    Just("email".to_owned()),
                    Just("email_verified".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,400}") {
        let (issuers, keys) = setup();
        let _ = UnverifiedToken::parse(&s);
        let _ = verify_token_with_keys(&s, &issuers, &keys, NOW, 60);
    }

    #[test]
    fn arbitrary_segments_never_panic(
        header in json_value(),
        claims in json_value(),
        sig in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let (issuers, keys) = setup();
        let token = format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64(&sig));
        if let Err(e) = verify_token_with_keys(&token, &issuers, &keys, NOW, 60) {
            let status = e.http_status();
            prop_assert!(status == 400 || status == 401, "{e}: {status}");
        }
    }

    #[test]
    fn signed_tokens_with_arbitrary_claims_never_panic(claims in json_value(), which in 0usize..4) {
        let (issuers, keys) = setup();
        let k = common::keys();
        let (key, kid) = [(&k.rsa, "rsa"), (&k.es256, "es256"), (&k.es384, "es384"), (&k.ed25519, "ed25519")][which];
        let mut claims = claims;
        if let Some(map) = claims.as_object_mut() {
            map.insert("iss".into(), json!("https://issuer.example"));
        }
        let _ = verify_token_with_keys(&token(key, kid, &claims), &issuers, &keys, NOW, 60);
    }

    #[test]
    fn arbitrary_jwks_never_panic(doc in json_value()) {
        let _ = KeySet::from_jwks_json(json!({"keys": [doc.clone()]}).to_string().as_bytes());
        let _ = KeySet::from_jwks_json(doc.to_string().as_bytes());
    }
}
