//! The timestamp authority as mounted in `signet server`: a timestamp over some signature
//! bytes verifies against the trusted_root.json and signing_config.json the server wrote.

mod common;

use common::*;

#[test]
fn server_timestamps_verify_against_its_trusted_root() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let root_json = std::fs::read(dir.path().join("trusted_root.json")).unwrap();
    let root = signet_formats::trust::TrustedRoot::from_json(&root_json).unwrap();
    assert_eq!(root.timestamp_authorities.len(), 1);
    let config = signet_formats::trust::SigningConfig::from_json(
        &std::fs::read(dir.path().join("signing_config.json")).unwrap(),
    )
    .unwrap();
    let tsa_url = &config.tsa_urls[0].url;
    assert_eq!(
        tsa_url,
        &format!("{}/tsa/api/v1/timestamp", server.url),
        "full endpoint, used as written"
    );
    assert_eq!(config.tsa_urls[0].major_api_version, 1);

    let signature = b"signature bytes of some bundle";
    let request = serde_json::json!({
        "artifactHash": base64_of(&signet_crypto::sha256(signature)),
        "hashAlgorithm": "sha256",
        "nonce": 1234,
        "certificates": true,
    });
    let r = post(tsa_url, request.to_string().as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/timestamp-reply"));
    let trust = signet_x509::rfc3161::TsaTrust::from_trusted_root(&root).unwrap();
    let verified =
        signet_x509::rfc3161::verify_timestamp(&r.body, signature, &trust).expect("timestamp verifies");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((verified.gen_time - now).abs() < 60, "genTime is now");
    assert!(signet_x509::rfc3161::verify_timestamp(&r.body, b"other bytes", &trust).is_err());

    let chain = get(&format!("{}/tsa/api/v1/timestamp/certchain", server.url));
    assert_eq!(chain.status, 200);
    assert_eq!(
        String::from_utf8(chain.body)
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );

    let bad = post(tsa_url, br#"{"artifactHash":"AAAA","hashAlgorithm":"md5"}"#);
    assert_eq!(bad.status, 400);
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}
