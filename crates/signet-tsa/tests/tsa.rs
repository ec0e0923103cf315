//! The TSA end to end: its directory, its responses checked by signet's verifier and by
//! OpenSSL, and its HTTP routes driven in process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use signet_crypto::HashAlgorithm;
use signet_tsa::{router, Tsa, TsaError, MAX_REQUEST_BYTES};
use signet_x509::{verify_timestamp, FailureInfo, PkiStatus, TimestampRequest, TimestampResponse, TsaTrust};
use tower::ServiceExt;

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A fresh directory under the target dir, removed first if a previous run left it.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("signet-tsa-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn request_der(signature: &[u8], cert_req: bool) -> Vec<u8> {
    let mut req =
        TimestampRequest::new(HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_256.digest(signature)).unwrap();
    req.nonce = Some(vec![0x01, 0x02, 0x03, 0x04]);
    req.cert_req = cert_req;
    req.to_der().unwrap()
}

#[test]
fn directory_is_created_reused_and_half_written_is_refused() {
    let dir = scratch("dir");
    let tsa = Tsa::open_or_create(&dir, now()).unwrap();
    #[cfg(unix)]
    for key in ["tsa-root.key", "tsa-leaf.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(key)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let again = Tsa::open_or_create(&dir, now() + 1000).unwrap();
    assert_eq!(tsa.chain_pem(), again.chain_pem());
    let entry = tsa.trusted_root_entry();
    assert_eq!(entry.cert_chain.certificates.len(), 2);
    assert_eq!(entry.subject.organization, "signet");
    assert_eq!(entry.subject.common_name, "signet-tsa-root");
    assert!(entry.valid_for.start.is_some());
    assert_eq!(tsa.chain_pem().matches("BEGIN CERTIFICATE").count(), 2);

    std::fs::remove_file(dir.join("tsa-leaf.pem")).unwrap();
    let err = Tsa::open_or_create(&dir, now()).unwrap_err();
    assert!(
        matches!(err, TsaError::Files(signet_keyfile::KeyFileError::HalfWritten { ref missing, .. }) if missing == &["tsa-leaf.pem"]),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn responses_verify_with_the_trusted_root_entry() {
    let dir = scratch("verify");
    let tsa = Tsa::open_or_create(&dir, now()).unwrap();
    let trust = [TsaTrust::from_authority(&tsa.trusted_root_entry()).unwrap()];
    for cert_req in [true, false] {
        let resp = tsa
            .respond_der(&request_der(b"signature", cert_req), now())
            .unwrap();
        let v = verify_timestamp(&resp, b"signature", &trust).unwrap();
        assert_eq!(v.nonce.as_deref(), Some(&[1, 2, 3, 4][..]));
        assert!((v.gen_time - now()).abs() < 5);
    }
    // Serial numbers differ per token.
    let serial = |r: Vec<u8>| verify_timestamp(&r, b"s", &trust).unwrap().serial_number;
    let a = serial(tsa.respond_der(&request_der(b"s", false), now()).unwrap());
    let b = serial(tsa.respond_der(&request_der(b"s", false), now()).unwrap());
    assert_ne!(a, b);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_requests_get_rfc3161_rejections() {
    let dir = scratch("bad");
    let tsa = Tsa::open_or_create(&dir, now()).unwrap();
    let failure = |der: &[u8]| {
        let rejected = tsa.respond_der(der, now()).unwrap_err();
        let parsed = TimestampResponse::from_der(&rejected.response).unwrap();
        assert_eq!(parsed.status, PkiStatus::Rejection);
        assert_eq!(parsed.failure_info, vec![rejected.failure]);
        rejected.failure
    };
    assert_eq!(failure(b""), FailureInfo::BadDataFormat);
    assert_eq!(failure(b"\x30\x80garbage"), FailureInfo::BadDataFormat);
    let mut sha224 = request_der(b"x", false);
    let pos = sha224
        .windows(9)
        .position(|w| w == [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])
        .unwrap();
    sha224[pos + 8] = 0x04;
    assert_eq!(failure(&sha224), FailureInfo::BadAlg);
    // SHA-256 OID with a 31-byte imprint: hand-encode the request.
    let mut short = vec![0x30, 0x33, 0x02, 0x01, 0x01, 0x30, 0x2e, 0x30, 0x0d, 0x06, 0x09];
    short.extend_from_slice(&[
        0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x1d,
    ]);
    short.extend_from_slice(&[0xaa; 0x1d]);
    assert_eq!(failure(&short), FailureInfo::BadDataFormat);
    let mut policy = TimestampRequest::from_der(&request_der(b"x", false)).unwrap();
    policy.policy = Some("1.2.3.4".parse().unwrap());
    assert_eq!(
        tsa.respond(&policy, now()).unwrap_err().failure,
        FailureInfo::UnacceptedPolicy
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// OpenSSL, an independent implementation, parses and verifies signet's responses.
#[test]
fn openssl_accepts_responses() {
    if Command::new("openssl").arg("version").output().is_err() {
        println!("skipping: openssl is not installed");
        return;
    }
    let dir = scratch("openssl");
    let tsa = Tsa::open_or_create(&dir, now()).unwrap();
    let data = dir.join("data.bin");
    std::fs::write(&data, b"the signature bytes").unwrap();
    let pems: Vec<String> = tsa
        .chain_der()
        .iter()
        .map(|d| pem::encode(&pem::Pem::new("CERTIFICATE", d.clone())))
        .collect();
    std::fs::write(dir.join("leaf.pem"), &pems[0]).unwrap();
    std::fs::write(dir.join("root.pem"), &pems[1]).unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
        text
    };
    // A request made by OpenSSL, answered by signet.
    openssl(&[
        "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "req.tsq",
    ]);
    let req = std::fs::read(dir.join("req.tsq")).unwrap();
    for (name, request) in [
        ("with-cert.tsr", req),
        ("no-cert.tsr", request_der(b"the signature bytes", false)),
    ] {
        let resp = tsa.respond_der(&request, now()).unwrap();
        std::fs::write(dir.join(name), resp).unwrap();
        let text = openssl(&["ts", "-reply", "-in", name, "-text"]);
        assert!(text.contains("Status: Granted."), "{text}");
        assert!(text.contains("Policy OID: 1.3.6.1.4.1.57264.2"), "{text}");
        assert!(text.contains("Accuracy: 0x01 seconds"), "{text}");
        let text = openssl(&[
            "ts",
            "-verify",
            "-data",
            "data.bin",
            "-in",
            name,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "leaf.pem",
        ]);
        assert!(text.contains("Verification: OK"), "{text}");
    }
    // The request's own nonce and certReq are checked when OpenSSL verifies against it.
    let text = openssl(&[
        "ts",
        "-verify",
        "-queryfile",
        "req.tsq",
        "-in",
        "with-cert.tsr",
        "-CAfile",
        "root.pem",
    ]);
    assert!(text.contains("Verification: OK"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ctype, body)
}

fn post(content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/api/v1/timestamp")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn router_serves_both_request_forms_and_refuses_bad_input() {
    let dir = scratch("router");
    let tsa = Arc::new(Tsa::open_or_create(&dir, now()).unwrap());
    let trust = [TsaTrust::from_authority(&tsa.trusted_root_entry()).unwrap()];
    let app = router(tsa.clone());

    let (status, ctype, body) = call(
        app.clone(),
        post("application/timestamp-query", request_der(b"sig", true)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some("application/timestamp-reply"));
    verify_timestamp(&body, b"sig", &trust).unwrap();

    use base64::Engine;
    let hash = base64::engine::general_purpose::STANDARD.encode(HashAlgorithm::Sha2_384.digest(b"sig"));
    let json = serde_json::json!({"artifactHash": hash, "hashAlgorithm": "sha384", "nonce": 42, "certificates": true});
    let (status, _, body) = call(
        app.clone(),
        post("application/json", json.to_string().into_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v = verify_timestamp(&body, b"sig", &trust).unwrap();
    assert_eq!(v.hash_algorithm, HashAlgorithm::Sha2_384);
    assert_eq!(v.nonce, Some(vec![42]));

    let (status, ctype, body) = call(
        app.clone(),
        Request::get("/api/v1/timestamp/certchain")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype.as_deref(), Some("application/pem-certificate-chain"));
    assert_eq!(String::from_utf8(body).unwrap(), tsa.chain_pem());

    // Malformed DER: an RFC 3161 rejection with badDataFormat.
    let (status, ctype, body) = call(
        app.clone(),
        post("application/timestamp-query", b"\x30\x05nope".to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(ctype.as_deref(), Some("application/timestamp-reply"));
    assert_eq!(
        TimestampResponse::from_der(&body).unwrap().failure_info,
        vec![FailureInfo::BadDataFormat]
    );

    // JSON errors: a 400 with a JSON message.
    for bad in [
        serde_json::json!({"artifactHash": hash, "hashAlgorithm": "md5"}).to_string(),
        serde_json::json!({"artifactHash": hash, "hashAlgorithm": "sha256"}).to_string(), // 48 bytes for sha256
        serde_json::json!({"artifactHash": "***", "hashAlgorithm": "sha256"}).to_string(),
        "{not json".to_string(),
    ] {
        let (status, ctype, body) =
            call(app.clone(), post("application/json", bad.clone().into_bytes())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(ctype.as_deref(), Some("application/json"));
        let msg: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(msg["message"].as_str().is_some(), "{msg}");
    }

    // Oversized body: refused before it is read, as a client error.
    let (status, _, _) = call(
        app.clone(),
        post("application/timestamp-query", vec![0x30; MAX_REQUEST_BYTES + 1]),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn metrics_count_grants_and_rejections_by_failure() {
    let dir = scratch("metrics");
    let tsa = Arc::new(Tsa::open_or_create(&dir, now()).unwrap());
    let send = |req| call(router(tsa.clone()), req);
    let der = "application/timestamp-query";

    let (status, _, _) = send(post(der, request_der(b"granted", true))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(post(der, b"not DER".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json = br#"{"artifactHash":"AAAA","hashAlgorithm":"md5"}"#.to_vec();
    let (status, _, _) = send(post("application/json", json)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut policy = TimestampRequest::from_der(&request_der(b"x", false)).unwrap();
    policy.policy = Some("1.2.3.4".parse().unwrap());
    assert!(
        tsa.respond(&policy, now()).is_err(),
        "in-process requests count too"
    );

    let (status, content_type, body) = send(Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4"));
    let text = String::from_utf8(body).unwrap();
    for line in [
        "# HELP signet_tsa_granted_total ",
        "# TYPE signet_tsa_granted_total counter\n",
        "# HELP signet_tsa_rejected_total ",
        "# TYPE signet_tsa_rejected_total counter\n",
        "\nsignet_tsa_granted_total 1\n",
        "\nsignet_tsa_rejected_total{reason=\"badDataFormat\"} 1\n",
        "\nsignet_tsa_rejected_total{reason=\"badAlg\"} 1\n",
        "\nsignet_tsa_rejected_total{reason=\"unacceptedPolicy\"} 1\n",
        "\nsignet_tsa_rejected_total{reason=\"systemFailure\"} 0\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    assert_eq!(tsa.stats.granted_count(), 1);
    assert_eq!(tsa.stats.rejected_count(FailureInfo::BadAlg), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
