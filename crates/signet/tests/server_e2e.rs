//! `signet server` as a whole: `--only` runs a subset of the services, `--tls-cert/--tls-key`
//! serves HTTPS (a keyless sign and verify over it, trusting the certificate through
//! `$SSL_CERT_FILE`), and what it prints is what a user needs next.

mod common;

use std::process::Command;

use common::{get, Server};
use signet_formats::trust::TrustedRoot;

fn trusted_root(server: &Server) -> TrustedRoot {
    TrustedRoot::from_json(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap()
}

#[test]
fn only_tsa_serves_and_lists_just_the_tsa() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--only", "tsa"]);
    let chain = get(&format!("{}/tsa/api/v1/timestamp/certchain", server.url));
    assert_eq!(chain.status, 200);
    assert_eq!(get(&format!("{}/api/v2/trustBundle", server.url)).status, 404);
    assert_eq!(get(&format!("{}/rekor/checkpoint", server.url)).status, 404);
    assert_eq!(get(&format!("{}/ct/ct/v1/get-sth", server.url)).status, 404);
    let root = trusted_root(&server);
    assert_eq!(root.timestamp_authorities.len(), 1);
    assert!(root.tlogs.is_empty() && root.ctlogs.is_empty() && root.certificate_authorities.is_empty());
}

#[test]
fn only_log_and_ct_without_ca() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--only", "log,ct"]);
    assert_eq!(get(&format!("{}/rekor/checkpoint", server.url)).status, 200);
    assert_eq!(get(&format!("{}/rekor1/api/v1/log", server.url)).status, 200);
    assert_eq!(get(&format!("{}/ct/ct/v1/get-sth", server.url)).status, 200);
    assert_eq!(get(&format!("{}/api/v2/trustBundle", server.url)).status, 404);
    let root = trusted_root(&server);
    // The Rekor v2 log and the Rekor v1 log, and the CT log.
    assert_eq!((root.tlogs.len(), root.ctlogs.len()), (2, 1));
    let urls: Vec<&str> = root.tlogs.iter().map(|t| t.base_url.as_str()).collect();
    assert_eq!(
        urls,
        vec![format!("{}/rekor", server.url), format!("{}/rekor1", server.url)]
    );
    assert!(root.certificate_authorities.is_empty());
}

#[test]
fn only_ca_without_its_ct_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Server::try_start_with(dir.path(), &["--only", "ca"])
        .err()
        .expect("refused");
    assert!(err.contains("--only ca needs ct"), "{err}");
}

#[test]
fn keyless_sign_and_verify_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(tls.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(tls.join("key.pem"), key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let cert_path = tls.join("cert.pem");
    let key_path = tls.join("key.pem");
    let server = Server::start_with(
        &data,
        &[
            "--dev-oidc",
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let signet = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .env("SSL_CERT_FILE", &cert_path)
            .env_remove("SIGNET_TRUST_CONFIG")
            .env_remove("SIGSTORE_ID_TOKEN")
            .output()
            .unwrap()
    };
    let out = signet(&["dev-token", "--server", &server.url, "--email", "tls@example.com"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let artifact = dir.path().join("a.txt");
    std::fs::write(&artifact, b"over https").unwrap();
    let bundle = dir.path().join("a.sigstore.json");
    let trust_config = data.join("trust_config.json");
    let out = signet(&[
        "sign-blob",
        artifact.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--identity-token",
        &token,
        "--trust-config",
        trust_config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let issuer = format!("{}/oidc", server.url);
    let out = signet(&[
        "verify-blob",
        artifact.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "tls@example.com",
        "--certificate-oidc-issuer",
        &issuer,
        "--trust-config",
        trust_config.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Without the certificate trusted, the client refuses to talk to the server.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["dev-token", "--server", &server.url, "--email", "tls@example.com"])
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_client_trickling_its_request_head_is_disconnected() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--only", "tsa"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    // The rest of the head never comes; the server must close the connection (the header read
    // timeout is 10 s), not hold it open forever.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut buf = Vec::new();
    let result = stream.read_to_end(&mut buf);
    assert!(result.is_ok(), "connection still open after 30 s: {result:?}");
    // A normal request on a new connection is still served.
    assert_eq!(get(&format!("{}/healthz", server.url)).status, 200);
}
