//! A JOSE header and Fulcio's issuer configuration are JSON objects; serde's derived structs
//! would also take a JSON array of the fields in order (found by the fuzz targets in `fuzz/`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use signet_oidc::{IssuerSet, TokenError, UnverifiedToken};

#[test]
fn a_header_that_is_an_array_is_malformed() {
    let header = B64URL.encode(br#"["ES256"]"#);
    let payload = B64URL.encode(br#"{"iss":"https://issuer.example","sub":"x"}"#);
    let token = format!("{header}.{payload}.{}", B64URL.encode([0u8; 64]));
    match UnverifiedToken::parse(&token) {
        Err(TokenError::MalformedHeader { .. }) => {}
        other => panic!("expected MalformedHeader, got {other:?}"),
    }
}

#[test]
fn an_issuer_config_that_is_an_array_is_refused() {
    assert!(IssuerSet::from_json(br#"[{}]"#).is_err());
    assert!(IssuerSet::from_json(br#"{}"#).is_ok());
}
