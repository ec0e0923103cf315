//! `signet server --dev-oidc` with every service's key in a SoftHSM2 token (CA intermediate,
//! CT log, Rekor v2 checkpoints, Rekor v1, TSA, TUF): keyless sign and verify through it, on
//! both logs; start-up faults (wrong PIN, absent token, absent object, a key of the wrong
//! type, another key on a later start); and the token lost mid-run (503 with a JSON error,
//! then service again once it is back).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::Server;
use signet_pkcs11::softhsm;
use signet_pkcs11::{generate_key_pair, KeygenType, Pkcs11Uri};

/// A fresh token directory for this test with one token `label` holding the service keys,
/// and the server flags that put every service on it. The server process gets the directory
/// through `SOFTHSM2_CONF` (set for this test process, which the server inherits).
struct Tokens {
    label: &'static str,
    pin_file: PathBuf,
    _tmp: tempfile::TempDir,
}

const KEYS: [(&str, u8, KeygenType); 6] = [
    ("ca", 1, KeygenType::EcdsaP256),
    ("ct", 2, KeygenType::EcdsaP256),
    ("log", 3, KeygenType::Ed25519),
    ("rekor1", 4, KeygenType::EcdsaP256),
    ("tsa", 5, KeygenType::EcdsaP384),
    ("tuf", 6, KeygenType::EcdsaP256),
];

impl Tokens {
    fn new() -> Tokens {
        // One token made at a time: this process's SoftHSM must not rescan a token that
        // softhsm2-util has half-made.
        static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _making = MAKING.lock().unwrap_or_else(|p| p.into_inner());
        let tmp = tempfile::tempdir().unwrap();
        let dir = softhsm::process_tokens();
        // One process-wide directory (SoftHSM reads SOFTHSM2_CONF once per process); the
        // label keeps this test's token apart.
        let label: &'static str = Box::leak(softhsm::unique_label("server").into_boxed_str());
        dir.init_token(label).unwrap();
        let pin_file = tmp.path().join("pin");
        std::fs::write(&pin_file, format!("{}\n", softhsm::PIN)).unwrap();
        let tokens = Tokens {
            label,
            pin_file,
            _tmp: tmp,
        };
        for (object, id, kind) in KEYS {
            generate_key_pair(&Pkcs11Uri::parse(&tokens.uri(object, id)).unwrap(), kind).unwrap();
        }
        tokens
    }

    /// The URI of `object`, its PIN in a file (as an operator would give it).
    fn uri(&self, object: &str, id: u8) -> String {
        format!(
            "pkcs11:token={};object={object};id=%{id:02X}?module-path={}&pin-source=file:{}",
            self.label,
            softhsm::MODULE,
            self.pin_file.display()
        )
    }

    fn flags(&self) -> Vec<String> {
        let mut flags = vec!["--dev-oidc".to_string()];
        for (object, id, _) in KEYS {
            flags.push(format!("--{object}-key-uri"));
            flags.push(self.uri(object, id));
        }
        flags
    }

    /// The token's directory under SoftHSM's token directory.
    fn token_path(&self) -> PathBuf {
        for entry in std::fs::read_dir(&softhsm::process_tokens().tokens).unwrap() {
            let path = entry.unwrap().path();
            let object = std::fs::read(path.join("token.object")).unwrap_or_default();
            if object
                .windows(self.label.len())
                .any(|w| w == self.label.as_bytes())
            {
                return path;
            }
        }
        panic!("no token directory holds {}", self.label);
    }
}

fn signet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn start(data: &Path, flags: &[String]) -> Result<Server, String> {
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::try_start_with(data, &flags)
}

/// Keyless sign-blob then verify-blob against `server`, with `trust` (a trust config file).
fn keyless_round_trip(server: &Server, trust: &Path, work: &Path, name: &str) -> Output {
    let artifact = work.join(format!("{name}.txt"));
    std::fs::write(&artifact, format!("artifact {name}\n")).unwrap();
    let bundle = work.join(format!("{name}.sigstore.json"));
    let token = common::dev_token(&server.url, "alice@example.com");
    let out = signet(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--identity-token",
        &token,
        "--trust-config",
        s(trust),
    ]);
    if !out.status.success() {
        return out;
    }
    verify_keyless(server, trust, &artifact, &bundle)
}

/// `signet verify-blob` of a keyless bundle by alice@example.com from `server`'s development
/// provider, with `trust` (a trust config file).
fn verify_keyless(server: &Server, trust: &Path, artifact: &Path, bundle: &Path) -> Output {
    signet(&[
        "verify-blob",
        s(artifact),
        "--bundle",
        s(bundle),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &format!("{}/oidc", server.url),
        "--trust-config",
        s(trust),
    ])
}

/// With SoftHSM installed (else one skip line): a fresh token holding the service keys, a data
/// directory and a work directory.
fn fixture(test: &str) -> Option<(Tokens, tempfile::TempDir, tempfile::TempDir)> {
    if !softhsm::available_or_skip(test) {
        return None;
    }
    Some((
        Tokens::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    ))
}

#[test]
fn every_service_on_a_token_signs_keyless_bundles_that_verify() {
    let Some((tokens, data, work)) = fixture("every_service_on_a_token_signs_keyless_bundles_that_verify")
    else {
        return;
    };
    let server = start(data.path(), &tokens.flags()).unwrap_or_else(|e| panic!("server: {e}"));
    let trust = data.path().join("trust_config.json");

    // No service wrote a private key file: the keys are in the token.
    for file in [
        "keys/log-ed25519.pem",
        "rekor1/rekor-v1-key.pem",
        "ct/ct-key.pem",
        "ca/ca-intermediate.key",
        "tsa/tsa-leaf.key",
        "tuf/keys/root.pem",
    ] {
        assert!(!data.path().join(file).exists(), "{file} was written");
    }
    let trusted_root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("trusted_root.json")).unwrap()).unwrap();
    // The trust root names the token keys (the log's is the token's Ed25519 key).
    let log_key = Pkcs11Uri::parse(&tokens.uri("log", 3)).unwrap();
    let log_signer = signet_pkcs11::Pkcs11Signer::open(log_key).unwrap();
    let listed = trusted_root["tlogs"][0]["publicKey"]["rawBytes"]
        .as_str()
        .unwrap();
    assert_eq!(
        common::b64(listed),
        signet_crypto::Signer::public_key(&log_signer).spki_der()
    );

    ok(
        &keyless_round_trip(&server, &trust, work.path(), "v2"),
        "keyless on Rekor v2",
    );
    // The same through the Rekor v1 log only.
    let mut v1_only: serde_json::Value = serde_json::from_slice(&std::fs::read(&trust).unwrap()).unwrap();
    v1_only["signingConfig"]["rekorTlogUrls"]
        .as_array_mut()
        .unwrap()
        .retain(|l| l["majorApiVersion"] == 1);
    let v1_trust = work.path().join("v1-trust.json");
    std::fs::write(&v1_trust, serde_json::to_vec(&v1_only).unwrap()).unwrap();
    ok(
        &keyless_round_trip(&server, &v1_trust, work.path(), "v1"),
        "keyless on Rekor v1",
    );

    // The TUF repository is signed by the token key: a client bootstraps from it.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args([
            "trust",
            "init",
            "--instance",
            &format!("{}/tuf", server.url),
            "--root",
        ])
        .arg(data.path().join("tuf/root.json"))
        .env("SIGNET_HOME", work.path().join("signet-home"))
        .output()
        .unwrap();
    ok(&out, "trust init from the token-signed TUF repository");
    drop(server);

    // A later start with the same token keys reuses everything.
    let server = start(data.path(), &tokens.flags()).unwrap_or_else(|e| panic!("restart: {e}"));
    ok(
        &keyless_round_trip(&server, &trust, work.path(), "again"),
        "keyless after a restart",
    );
    drop(server);

    // A later start with another key for a service is refused, naming the URI.
    let uri = Pkcs11Uri::parse(&tokens.uri("ca2", 9)).unwrap();
    generate_key_pair(&uri, KeygenType::EcdsaP256).unwrap();
    let mut flags = tokens.flags();
    let at = flags.iter().position(|f| f == "--ca-key-uri").unwrap();
    flags[at + 1] = tokens.uri("ca2", 9);
    let err = start(data.path(), &flags)
        .err()
        .expect("another CA key must be refused");
    assert!(err.contains("object=ca2") && err.contains("refusing"), "{err}");
    assert!(!err.contains(&format!("pin-value={}", softhsm::PIN)), "{err}");
    // And the file key back in place of a token key is refused too.
    let err = start(data.path(), &["--dev-oidc".to_string()])
        .err()
        .expect("file keys must be refused");
    assert!(err.contains("refusing"), "{err}");
}

#[test]
fn start_up_faults_are_one_clear_error() {
    if !softhsm::available_or_skip("start_up_faults_are_one_clear_error") {
        return;
    }
    let tokens = Tokens::new();
    let cases: [(String, &str); 4] = [
        (
            format!(
                "pkcs11:token={};object=ca?module-path={}&pin-value=0000",
                tokens.label,
                softhsm::MODULE
            ),
            "wrong PIN",
        ),
        (
            tokens.uri("ca", 1).replace(tokens.label, "no-such-token"),
            "no token",
        ),
        (tokens.uri("absent", 42), "no private key"),
        // The transparency log signs Ed25519 checkpoints: a P-256 key is refused.
        (tokens.uri("ca", 1), "Ed25519"),
    ];
    for (i, (uri, expected)) in cases.into_iter().enumerate() {
        let data = tempfile::tempdir().unwrap();
        let flag = if i == 3 { "--log-key-uri" } else { "--ca-key-uri" };
        let out = Command::new(env!("CARGO_BIN_EXE_signet"))
            .args([
                "server",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                s(data.path()),
                flag,
                &uri,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{uri}: started");
        assert!(
            stderr.contains(expected) && stderr.contains(flag.trim_start_matches("--")),
            "{uri}: {stderr}"
        );
        assert!(
            !stderr.contains("0000") && !stderr.contains("panicked"),
            "{stderr}"
        );
        // Nothing was created for a server that did not start.
        assert!(
            !data.path().join("signet.db").exists(),
            "{uri}: created a database"
        );
    }
}

/// Posts a CSR-less signing request to the CA (`/api/v2/signingCert`), as the client does.
fn ca_request(server: &Server) -> common::Reply {
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let token = common::dev_token(&server.url, "alice@example.com");
    let proof = key.sign(b"alice@example.com").unwrap();
    use base64::Engine;
    let body = serde_json::json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": base64::engine::general_purpose::STANDARD.encode(proof),
        }
    });
    common::post(
        &format!("{}/api/v2/signingCert", server.url),
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_token_lost_mid_run_answers_503_then_recovers() {
    if !softhsm::available_or_skip("a_token_lost_mid_run_answers_503_then_recovers") {
        return;
    }
    let tokens = Tokens::new();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &tokens.flags()).unwrap_or_else(|e| panic!("server: {e}"));
    let issued = ca_request(&server);
    assert_eq!(issued.status, 201, "{}", String::from_utf8_lossy(&issued.body));

    // The token goes away (its directory removed from SoftHSM's token directory).
    let path = tokens.token_path();
    let away = tokens.pin_file.with_file_name("token.away");
    std::fs::rename(&path, &away).unwrap();
    let reply = ca_request(&server);
    assert_eq!(reply.status, 503, "{}", String::from_utf8_lossy(&reply.body));
    let message = reply.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("unavailable"), "{message}");
    assert!(
        !message.contains(softhsm::PIN) || !message.contains("pin-value"),
        "{message}"
    );
    // The transparency log's checkpoint key is gone too: an entry is refused with 503, not
    // acknowledged.
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let entry = common::add_entry(
        &server.log_url(),
        &common::hashedrekord(&key, b"while the token is away"),
    );
    assert_eq!(entry.status, 503, "{}", String::from_utf8_lossy(&entry.body));
    assert!(entry.json()["message"].is_string());
    // So are the Rekor v1 log's and the TSA's: 503 with a JSON error, nothing acknowledged.
    let v1 = common::post(
        &format!("{}/rekor1/api/v1/log/entries", server.url),
        common::hashedrekord_v1(&key, &key.public_key().to_pem(), b"v1 while the token is away")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(v1.status, 503, "{}", String::from_utf8_lossy(&v1.body));
    assert!(
        v1.json()["message"].is_string(),
        "{}",
        String::from_utf8_lossy(&v1.body)
    );
    let timestamp = || {
        common::reply(
            common::agent()
                .post(&format!("{}/tsa/api/v1/timestamp", server.url))
                .set("Content-Type", "application/json")
                .send_string(
                    &serde_json::json!({
                        "artifactHash": B64.encode(signet_crypto::sha256(b"stamp me")),
                        "hashAlgorithm": "sha256",
                    })
                    .to_string(),
                ),
        )
    };
    let tsa = timestamp();
    assert_eq!(tsa.status, 503, "{}", String::from_utf8_lossy(&tsa.body));
    assert!(tsa.json()["message"].as_str().unwrap().contains("retry"));

    // It comes back: within the reconnection backoff the CA issues again.
    std::fs::rename(&away, &path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = ca_request(&server);
        if reply.status == 201 {
            break;
        }
        assert_eq!(reply.status, 503, "{}", String::from_utf8_lossy(&reply.body));
        assert!(
            Instant::now() < deadline,
            "the CA did not recover: {}",
            String::from_utf8_lossy(&reply.body)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Each key reconnects on its own backoff: the TSA and the Rekor v1 log come back too.
    let eventually = |what: &str, ok: u16, request: &dyn Fn() -> common::Reply| loop {
        let reply = request();
        if reply.status == ok {
            break;
        }
        assert_eq!(
            reply.status,
            503,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(Instant::now() < deadline, "{what} did not recover");
        std::thread::sleep(Duration::from_millis(300));
    };
    eventually("the TSA", 200, &timestamp);
    eventually("the Rekor v1 log", 201, &|| {
        common::post(
            &format!("{}/rekor1/api/v1/log/entries", server.url),
            common::hashedrekord_v1(&key, &key.public_key().to_pem(), b"v1 after the token is back")
                .to_string()
                .as_bytes(),
        )
    });
    let entry = common::add_entry(
        &server.log_url(),
        &common::hashedrekord(&key, b"after the token is back"),
    );
    assert!(
        entry.status == 201 || entry.status == 200,
        "{}",
        String::from_utf8_lossy(&entry.body)
    );
}

/// `signet sign-blob --key pkcs11:…` (as cosign's `--key` takes a URI), then `verify-blob
/// --key pub.pem` with the public key the token gave at keygen; and a DSSE attestation.
#[test]
fn the_client_signs_with_a_token_key() {
    let Some((tokens, data, work)) = fixture("the_client_signs_with_a_token_key") else {
        return;
    };
    let _server = Server::start(data.path());
    let trust = data.path().join("trust_config.json");
    let uri = tokens.uri("client", 20);
    // `signet pkcs11 keygen` makes the key in the token and prints its public key.
    let out = signet(&["pkcs11", "keygen", "--uri", &uri, "--type", "ecdsa-p256"]);
    ok(&out, "signet pkcs11 keygen");
    let pub_pem = work.path().join("token.pub");
    std::fs::write(&pub_pem, &out.stdout).unwrap();
    signet_crypto::PublicKey::from_pem(&String::from_utf8_lossy(&out.stdout)).unwrap();
    // The same label again is refused (it would make the URI ambiguous).
    let again = signet(&["pkcs11", "keygen", "--uri", &uri, "--type", "ecdsa-p256"]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let artifact = work.path().join("release.tar.gz");
    std::fs::write(&artifact, b"signed in hardware\n").unwrap();
    let bundle = work.path().join("release.sigstore.json");
    let out = signet(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--key",
        &uri,
        "--trust-config",
        s(&trust),
    ]);
    ok(&out, "sign-blob --key pkcs11:");
    let verify = |artifact: &Path| {
        signet(&[
            "verify-blob",
            s(artifact),
            "--bundle",
            s(&bundle),
            "--key",
            s(&pub_pem),
            "--trust-config",
            s(&trust),
        ])
    };
    ok(&verify(&artifact), "verify-blob --key token.pub");
    let other = work.path().join("other");
    std::fs::write(&other, b"not what was signed\n").unwrap();
    assert!(!verify(&other).status.success());

    // A wrong PIN is one line naming the URI without the PIN, and a non-zero exit.
    let wrong = uri.replace(
        &format!("pin-source=file:{}", tokens.pin_file.display()),
        "pin-value=4321",
    );
    let out = signet(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--key",
        &wrong,
        "--trust-config",
        s(&trust),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("wrong PIN") && !stderr.contains("4321"),
        "{stderr}"
    );
}

/// sigstore-python, the reference client, signs and verifies through the server whose every
/// key is in the token (its trust config is the only input it gets).
#[test]
fn sigstore_python_signs_and_verifies_through_the_token_server() {
    let Some(sigstore) = common::sigstore_python() else {
        return;
    };
    let Some((tokens, data, work)) = fixture("sigstore_python_signs_and_verifies_through_the_token_server")
    else {
        return;
    };
    let server = start(data.path(), &tokens.flags()).unwrap_or_else(|e| panic!("server: {e}"));
    let trust = data.path().join("trust_config.json");
    let artifact = work.path().join("py.txt");
    std::fs::write(
        &artifact,
        b"signed by sigstore-python through a token-keyed signet\n",
    )
    .unwrap();
    let bundle = work.path().join("py.sigstore.json");
    let python = |args: &[&str]| {
        Command::new(&sigstore)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", work.path())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .arg("--trust-config")
            .arg(&trust)
            .args(args)
            .output()
            .unwrap()
    };
    let token = common::dev_token(&server.url, "alice@example.com");
    ok(
        &python(&[
            "sign",
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&artifact),
        ]),
        "sigstore sign",
    );
    let issuer = format!("{}/oidc", server.url);
    let verify = |identity: &str| {
        python(&[
            "verify",
            "identity",
            "--bundle",
            s(&bundle),
            "--cert-identity",
            identity,
            "--cert-oidc-issuer",
            &issuer,
            s(&artifact),
        ])
    };
    ok(&verify("alice@example.com"), "sigstore verify identity");
    assert!(!verify("mallory@example.com").status.success());
    // And signet verifies what the reference client made.
    ok(
        &verify_keyless(&server, &trust, &artifact, &bundle),
        "signet verify-blob of sigstore-python's bundle",
    );
}

#[test]
fn every_token_key_rotates_to_another_token_key() {
    let Some((tokens, data, work)) = fixture("every_token_key_rotates_to_another_token_key") else {
        return;
    };
    // One port throughout: the public URL (and so the new shard's origin) stays the same.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = |data: &Path, flags: &[String]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
        command
            .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data)
            .args(flags)
            .env("SIGNET_LOG", "warn");
        Server::spawn(command, data)
    };
    let mut server = start(data.path(), &tokens.flags()).unwrap_or_else(|e| panic!("server: {e}"));
    let trust = data.path().join("trust_config.json");
    ok(
        &keyless_round_trip(&server, &trust, work.path(), "before"),
        "before the rotation",
    );
    // Stopped hard (a rotation follows a crash as well as a clean stop).
    server.kill();

    // New keys in the token, one per rotated service; each rotation takes its URI.
    let new_keys = [
        ("log", 17, KeygenType::Ed25519),
        ("ct", 18, KeygenType::EcdsaP256),
        ("tsa", 19, KeygenType::EcdsaP256),
        ("ca", 20, KeygenType::EcdsaP384),
    ];
    let mut flags = tokens.flags();
    for (service, id, kind) in new_keys {
        let object = format!("{service}-2");
        let uri = tokens.uri(&object, id);
        generate_key_pair(&Pkcs11Uri::parse(&uri).unwrap(), kind).unwrap();
        // A key of the wrong type is refused before anything is written.
        if service == "log" {
            let out = signet(&[
                "admin",
                "rotate",
                "log",
                "--data-dir",
                s(data.path()),
                "--key-uri",
                &tokens.uri("ct", 2),
            ]);
            assert!(
                !out.status.success(),
                "an ECDSA key for the Rekor v2 log was taken"
            );
            assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be the log's key"));
        }
        std::thread::sleep(Duration::from_millis(50));
        let out = signet(&[
            "admin",
            "rotate",
            service,
            "--data-dir",
            s(data.path()),
            "--key-uri",
            &uri,
        ]);
        ok(&out, &format!("signet admin rotate {service} --key-uri"));
        flags.push(format!("--{service}-key-uri"));
        flags.push(uri);
    }
    for file in [
        "log-shards/2/log-ed25519.pem",
        "ct/shards/2/ct-key.pem",
        "tsa/generations/2/tsa-leaf.key",
        "ca/generations/2/ca-intermediate.key",
    ] {
        assert!(!data.path().join(file).exists(), "{file} was written");
    }

    // Without the new shard's key the server does not start, and says which flag it needs.
    let err = start(data.path(), &tokens.flags())
        .err()
        .expect("started without the new keys");
    assert!(err.contains("--log-key-uri"), "{err}");
    // A key that is no generation's is refused too.
    let mut stray = flags.clone();
    stray.extend(["--tsa-key-uri".to_string(), tokens.uri("rekor1", 4)]);
    let err = start(data.path(), &stray)
        .err()
        .expect("started with a stray key");
    assert!(err.contains("no generation"), "{err}");

    let server = start(data.path(), &flags).unwrap_or_else(|e| panic!("server after rotation: {e}"));
    ok(
        &keyless_round_trip(&server, &trust, work.path(), "after"),
        "after the rotation",
    );
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("trusted_root.json")).unwrap()).unwrap();
    // The new generations are the token's new keys.
    let log2 =
        signet_pkcs11::Pkcs11Signer::open(Pkcs11Uri::parse(&tokens.uri("log-2", 17)).unwrap()).unwrap();
    assert_eq!(
        common::b64(root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap()),
        signet_crypto::Signer::public_key(&log2).spki_der()
    );
    assert_eq!(root["certificateAuthorities"].as_array().unwrap().len(), 2);
    assert_eq!(root["timestampAuthorities"].as_array().unwrap().len(), 2);
    assert_eq!(root["ctlogs"].as_array().unwrap().len(), 2);
    // The bundle from before still verifies under the new trust root.
    ok(
        &verify_keyless(
            &server,
            &trust,
            &work.path().join("before.txt"),
            &work.path().join("before.sigstore.json"),
        ),
        "the bundle from before the rotation",
    );
}
