//! The client against a real `signet server`: key-based signing (log + timestamp authority),
//! and keyless signing with a token from the development OpenID provider, each verified
//! afterwards with the client's own verify commands.
//!
//! Keyless needs the server's CA and `--dev-oidc`: until those are in this build, that test
//! prints one skip line and passes.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use signet_crypto::{KeyKind, SigningKey};

/// A `signet server --dev-oidc`, or why it could not start.
struct DevServer {
    child: Child,
    url: String,
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Every path either waits on the child or moves it into `DevServer`, whose Drop waits.
#[allow(clippy::zombie_processes)]
fn start_dev_server(dir: &Path) -> Result<DevServer, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["server", "--dev-oidc", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("SIGNET_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => {
            let mut stderr = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = stderr.read_to_end(&mut sink);
            });
            let url = line.strip_prefix("listening on ").unwrap_or(&line).to_string();
            Ok(DevServer { child, url })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            let mut err = String::new();
            child.stderr.take().expect("stderr").read_to_string(&mut err).ok();
            Err(err.lines().next().unwrap_or("no output").to_string())
        }
    }
}

fn signet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .output()
        .expect("run signet")
}

fn assert_ok(out: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{what} failed: {stderr}");
    assert!(out.stdout.is_empty(), "{what} wrote to stdout");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Files {
    artifact: PathBuf,
    trust: PathBuf,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

fn files(server_dir: &Path) -> Files {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let artifact = dir.join("release.tar.gz");
    std::fs::write(&artifact, b"the artifact bytes\n").unwrap();
    Files {
        artifact,
        trust: server_dir.join("trust_config.json"),
        _tmp: tmp,
        dir,
    }
}

/// Key-based signing needs only the log and the timestamp authority, which `signet server`
/// always runs.
#[test]
fn key_based_sign_and_verify_against_signet_server() {
    let data = tempfile::tempdir().unwrap();
    let _server = common::Server::start(data.path());
    let f = files(data.path());
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let key_path = f.dir.join("cosign.key");
    let pub_path = f.dir.join("cosign.pub");
    std::fs::write(&key_path, key.to_pkcs8_pem()).unwrap();
    std::fs::write(&pub_path, key.public_key().to_pem()).unwrap();
    let bundle = f.dir.join("release.sigstore.json");

    let out = signet(&[
        "sign-blob",
        s(&f.artifact),
        "--bundle",
        s(&bundle),
        "--key",
        s(&key_path),
        "--trust-config",
        s(&f.trust),
    ]);
    assert_ok(&out, "sign-blob --key");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(json["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert!(json["verificationMaterial"]["publicKey"]["hint"].is_string());
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["version"],
        "0.0.2"
    );
    assert_eq!(
        json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let verify = |artifact: &Path, bundle: &Path| {
        signet(&[
            "verify-blob",
            s(artifact),
            "--bundle",
            s(bundle),
            "--key",
            s(&pub_path),
            "--trust-config",
            s(&f.trust),
        ])
    };
    let stderr = assert_ok(&verify(&f.artifact, &bundle), "verify-blob --key");
    assert_eq!(stderr.trim(), "Verified OK");
    let other = f.dir.join("other");
    std::fs::write(&other, b"something else").unwrap();
    assert!(!verify(&other, &bundle).status.success());

    // The same key as cosign's encrypted key file, its password in $SIGNET_PASSWORD or
    // $COSIGN_PASSWORD (signet's own variable first), as generate-key-pair reads it.
    let encrypted = signet_crypto::cosign_key::encrypt_private_key_with(
        &key,
        b"correct horse",
        signet_crypto::cosign_key::ScryptParams {
            n: 1 << 10,
            r: 8,
            p: 1,
        },
    )
    .unwrap();
    let enc_path = f.dir.join("encrypted.key");
    std::fs::write(&enc_path, encrypted).unwrap();
    let enc_bundle = f.dir.join("enc.sigstore.json");
    let sign_encrypted = |passwords: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
        command
            .args([
                "sign-blob",
                s(&f.artifact),
                "--bundle",
                s(&enc_bundle),
                "--key",
                s(&enc_path),
            ])
            .args(["--trust-config", s(&f.trust)])
            .env_remove("SIGNET_PASSWORD")
            .env_remove("COSIGN_PASSWORD")
            .stdin(std::process::Stdio::null());
        for (name, value) in passwords {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let refused = |out: &std::process::Output, needle: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!enc_bundle.exists());
    };
    refused(&sign_encrypted(&[("COSIGN_PASSWORD", "wrong")]), "wrong password");
    refused(
        &sign_encrypted(&[("SIGNET_PASSWORD", "wrong"), ("COSIGN_PASSWORD", "correct horse")]),
        "wrong password",
    );
    // No variable and no terminal: the empty password is tried, and the error says what to set.
    refused(&sign_encrypted(&[]), "set $SIGNET_PASSWORD or $COSIGN_PASSWORD");
    for password in [
        ("COSIGN_PASSWORD", "correct horse"),
        ("SIGNET_PASSWORD", "correct horse"),
    ] {
        std::fs::remove_file(&enc_bundle).ok();
        assert_ok(&sign_encrypted(&[password]), "sign-blob with an encrypted key");
        assert_ok(
            &verify(&f.artifact, &enc_bundle),
            "verify-blob of the encrypted key's bundle",
        );
    }

    // An attestation about the same artifact, as a DSSE envelope logged with dsseRequestV002.
    let predicate = f.dir.join("predicate.json");
    std::fs::write(&predicate, br#"{"buildType":"https://example.com/build/v1"}"#).unwrap();
    let att = f.dir.join("release.att.json");
    let out = signet(&[
        "attest-blob",
        s(&f.artifact),
        "--predicate",
        s(&predicate),
        "--type",
        "slsaprovenance1",
        "--bundle",
        s(&att),
        "--key",
        s(&key_path),
        "--trust-config",
        s(&f.trust),
    ]);
    assert_ok(&out, "attest-blob --key");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&att).unwrap()).unwrap();
    assert_eq!(
        json["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    // Logged as sigstore-python logs attestations on Rekor v2: hashedrekord over the PAE.
    assert_eq!(
        json["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"],
        "hashedrekord"
    );
    let verify_att = |kind: &str| {
        signet(&[
            "verify-blob-attestation",
            s(&f.artifact),
            "--bundle",
            s(&att),
            "--type",
            kind,
            "--key",
            s(&pub_path),
            "--trust-config",
            s(&f.trust),
        ])
    };
    assert_ok(&verify_att("slsaprovenance1"), "verify-blob-attestation");
    let wrong = verify_att("cyclonedx");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("predicate type"));
}

/// Keys of every type `generate-key-pair` makes sign blobs and attestations on both of the
/// server's logs, and the bundles verify: P-384 signs SHA-384 digests, Ed25519 signs blobs as
/// Ed25519ph over SHA-512 (hashedrekord's Ed25519 scheme) and envelopes in pure Ed25519.
#[test]
fn every_key_type_signs_blobs_and_attestations_on_rekor_v2_and_v1() {
    let data = tempfile::tempdir().unwrap();
    let _server = common::Server::start(data.path());
    let f = files(data.path());
    // The same instance with only its Rekor v1 log to sign with.
    let mut v1_only: serde_json::Value = serde_json::from_slice(&std::fs::read(&f.trust).unwrap()).unwrap();
    let logs = v1_only["signingConfig"]["rekorTlogUrls"].as_array_mut().unwrap();
    logs.retain(|l| l["majorApiVersion"] == 1);
    assert_eq!(logs.len(), 1, "the server lists one Rekor v1 log");
    let v1_trust = f.dir.join("v1-trust.json");
    std::fs::write(&v1_trust, serde_json::to_vec(&v1_only).unwrap()).unwrap();
    let predicate = f.dir.join("predicate.json");
    std::fs::write(&predicate, br#"{"buildType":"https://example.com/build/v1"}"#).unwrap();

    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
        let key = SigningKey::generate(kind).unwrap();
        let key_path = f.dir.join(format!("{kind}.key"));
        let pub_path = f.dir.join(format!("{kind}.pub"));
        std::fs::write(&key_path, key.to_pkcs8_pem()).unwrap();
        std::fs::write(&pub_path, key.public_key().to_pem()).unwrap();
        for (log, trust) in [("Rekor v2", &f.trust), ("Rekor v1", &v1_trust)] {
            let what = format!("{kind} on {log}");
            let bundle = f.dir.join(format!("{kind}-{log}.sigstore.json"));
            let out = signet(&[
                "sign-blob",
                s(&f.artifact),
                "--bundle",
                s(&bundle),
                "--key",
                s(&key_path),
                "--trust-config",
                s(trust),
            ]);
            assert_ok(&out, &format!("sign-blob, {what}"));
            let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
            let expected = match kind {
                KeyKind::EcdsaP384 => "SHA2_384",
                KeyKind::Ed25519 => "SHA2_512",
                _ => "SHA2_256",
            };
            assert_eq!(
                json["messageSignature"]["messageDigest"]["algorithm"], expected,
                "{what}"
            );
            let out = signet(&[
                "verify-blob",
                s(&f.artifact),
                "--bundle",
                s(&bundle),
                "--key",
                s(&pub_path),
                "--trust-config",
                s(&f.trust),
            ]);
            assert_ok(&out, &format!("verify-blob, {what}"));

            let att = f.dir.join(format!("{kind}-{log}.att.json"));
            let out = signet(&[
                "attest-blob",
                s(&f.artifact),
                "--predicate",
                s(&predicate),
                "--type",
                "slsaprovenance1",
                "--bundle",
                s(&att),
                "--key",
                s(&key_path),
                "--trust-config",
                s(trust),
            ]);
            assert_ok(&out, &format!("attest-blob, {what}"));
            let out = signet(&[
                "verify-blob-attestation",
                s(&f.artifact),
                "--bundle",
                s(&att),
                "--key",
                s(&pub_path),
                "--trust-config",
                s(&f.trust),
            ]);
            assert_ok(&out, &format!("verify-blob-attestation, {what}"));
        }
    }
}

/// Mints a token from the development provider, or `None` when the server has none (404).
fn dev_token(server: &str, email: &str) -> Option<String> {
    let reply = common::post(
        &format!("{server}/oidc/dev/token"),
        serde_json::json!({ "email": email }).to_string().as_bytes(),
    );
    if reply.status == 404 {
        return None;
    }
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    Some(reply.json()["id_token"].as_str().expect("id_token").to_string())
}

fn claim(token: &str, name: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims[name].as_str().unwrap().to_string()
}

#[test]
fn keyless_sign_and_verify_against_signet_server() {
    let data = tempfile::tempdir().unwrap();
    let server = match start_dev_server(data.path()) {
        Ok(s) => s,
        Err(why) => {
            eprintln!(
                "skipping keyless e2e: `signet server --dev-oidc` does not start in this build ({why})"
            );
            return;
        }
    };
    let Some(token) = dev_token(&server.url, "alice@example.com") else {
        eprintln!("skipping keyless e2e: the server has no development OpenID provider (404)");
        return;
    };
    let f = files(data.path());
    let issuer = claim(&token, "iss");
    let bundle = f.dir.join("release.sigstore.json");

    let out = signet(&[
        "sign-blob",
        s(&f.artifact),
        "--bundle",
        s(&bundle),
        "--identity-token",
        &token,
        "--trust-config",
        s(&f.trust),
    ]);
    assert_ok(&out, "sign-blob (keyless)");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert!(json["verificationMaterial"]["certificate"]["rawBytes"].is_string());

    let verify = |identity: &str| {
        signet(&[
            "verify-blob",
            s(&f.artifact),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            &issuer,
            "--trust-config",
            s(&f.trust),
        ])
    };
    assert_ok(&verify("alice@example.com"), "verify-blob (keyless)");
    assert!(!verify("mallory@example.com").status.success());

    // The conformance protocol's commands, with the trust material as two files.
    let root = data.path().join("trusted_root.json");
    let sc = data.path().join("signing_config.json");
    let conf_bundle = f.dir.join("conformance.json");
    let out = signet(&[
        "sign-bundle",
        "--identity-token",
        &token,
        "--bundle",
        s(&conf_bundle),
        "--trusted-root",
        s(&root),
        "--signing-config",
        s(&sc),
        s(&f.artifact),
    ]);
    assert_ok(&out, "sign-bundle");
    let digest = format!(
        "sha256:{}",
        hex::encode(signet_crypto::sha256(&std::fs::read(&f.artifact).unwrap()))
    );
    let out = signet(&[
        "verify-bundle",
        "--bundle",
        s(&conf_bundle),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        s(&root),
        &digest,
    ]);
    assert_ok(&out, "verify-bundle by digest");
}
