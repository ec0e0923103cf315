//! The PKCS#11 signer against a real SoftHSM2 token: keys made in the token (by signet's
//! keygen and by OpenSC's pkcs11-tool) sign, signet-crypto and openssl verify, start-up
//! faults are clear, sessions serve parallel signers, and a token lost mid-run is reported
//! as unavailable and reconnected when it is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use signet_crypto::{PublicKey, Signer, SignerError};
use signet_pkcs11::softhsm::{self, process_tokens, unique_label, PIN};
use signet_pkcs11::{generate_key_pair, KeygenType, Pkcs11Error, Pkcs11Signer, Pkcs11Uri};

/// One test at a time: SoftHSM in this process lists tokens as they were at its last
/// initialisation, and a test that re-initialises it (a lost token) must not catch another
/// test's token half-made by softhsm2-util.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new token in this process's token directory, with keys made by signet's keygen.
fn token_with(keys: &[(&str, u8, KeygenType)]) -> String {
    let dir = process_tokens();
    let label = unique_label("unit");
    dir.init_token(&label).unwrap();
    for (object, id, kind) in keys {
        let uri = Pkcs11Uri::parse(&dir.uri(&label, object, *id)).unwrap();
        generate_key_pair(&uri, *kind).unwrap();
    }
    label
}

fn openssl_verifies(public: &PublicKey, message: &[u8], signature: &[u8], dir: &Path) -> bool {
    let pubfile = dir.join("pub.pem");
    let msgfile = dir.join("msg");
    let sigfile = dir.join("sig");
    std::fs::write(&pubfile, public.to_pem()).unwrap();
    std::fs::write(&msgfile, message).unwrap();
    std::fs::write(&sigfile, signature).unwrap();
    let mut cmd = Command::new("openssl");
    match public.kind() {
        signet_crypto::KeyKind::Ed25519 => cmd
            .args(["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey"])
            .arg(&pubfile)
            .arg("-in")
            .arg(&msgfile)
            .arg("-sigfile")
            .arg(&sigfile),
        signet_crypto::KeyKind::EcdsaP384 => cmd
            .args(["dgst", "-sha384", "-verify"])
            .arg(&pubfile)
            .arg("-signature")
            .arg(&sigfile)
            .arg(&msgfile),
        _ => cmd
            .args(["dgst", "-sha256", "-verify"])
            .arg(&pubfile)
            .arg("-signature")
            .arg(&sigfile)
            .arg(&msgfile),
    };
    cmd.output().unwrap().status.success()
}

#[test]
fn token_keys_sign_and_signet_and_openssl_verify() {
    if !softhsm::available_or_skip("token_keys_sign_and_signet_and_openssl_verify") {
        return;
    }
    let _serial = serial();
    let label = token_with(&[
        ("p256", 1, KeygenType::EcdsaP256),
        ("p384", 2, KeygenType::EcdsaP384),
        ("ed", 3, KeygenType::Ed25519),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    for (object, id, kind) in [
        ("p256", 1, "ECDSA P-256"),
        ("p384", 2, "ECDSA P-384"),
        ("ed", 3, "Ed25519"),
    ] {
        let signer = Pkcs11Signer::open_uri(&process_tokens().uri(&label, object, id)).unwrap();
        assert_eq!(signer.public_key().kind().to_string(), kind);
        for message in [&b""[..], b"hello", &[7u8; 5000]] {
            let signature = signer.sign(message).unwrap();
            signer.public_key().verify_default(message, &signature).unwrap();
            // (OpenSSL 3.0's pkeyutl cannot read an empty message for Ed25519.)
            if !(message.is_empty() && object == "ed") {
                assert!(
                    openssl_verifies(signer.public_key(), message, &signature, tmp.path()),
                    "{object}"
                );
            }
            // A changed message does not verify: the signature is over this message.
            assert!(signer.public_key().verify_default(b"other", &signature).is_err());
        }
        // The URI in messages and Debug never carries the PIN.
        assert!(!format!("{signer:?} {}", signer.uri()).contains(&format!("pin-value={PIN}")));
    }
}

#[test]
fn keys_made_by_pkcs11_tool_work() {
    if !softhsm::available_or_skip("keys_made_by_pkcs11_tool_work") {
        return;
    }
    let _serial = serial();
    if Command::new("pkcs11-tool").arg("--help").output().is_err() {
        assert!(
            std::env::var_os("SIGNET_REQUIRE_SOFTHSM").is_none(),
            "pkcs11-tool (opensc) is missing"
        );
        eprintln!("skipping keys_made_by_pkcs11_tool_work: pkcs11-tool (opensc) is not installed");
        return;
    }
    let label = token_with(&[]);
    for (key_type, object, id) in [
        ("EC:prime256v1", "tool-p256", "11"),
        ("EC:edwards25519", "tool-ed", "12"),
    ] {
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &process_tokens().conf)
            .args([
                "--module",
                softhsm::MODULE,
                "--token-label",
                &label,
                "--login",
                "--pin",
                PIN,
            ])
            .args([
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                object,
                "--id",
                id,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let uri = process_tokens().uri(&label, object, u8::from_str_radix(id, 16).unwrap());
        let signer = Pkcs11Signer::open_uri(&uri).unwrap();
        let signature = signer.sign(b"made by pkcs11-tool").unwrap();
        signer
            .public_key()
            .verify_default(b"made by pkcs11-tool", &signature)
            .unwrap();
    }
}

#[test]
fn start_up_faults_are_clear_and_never_show_the_pin() {
    if !softhsm::available_or_skip("start_up_faults_are_clear_and_never_show_the_pin") {
        return;
    }
    let _serial = serial();
    let label = token_with(&[("k", 1, KeygenType::EcdsaP256)]);
    let dir = process_tokens();
    let module = softhsm::MODULE;
    let open = |uri: String| Pkcs11Signer::open_uri(&uri).unwrap_err();

    let err = open(format!(
        "pkcs11:token={label};object=k?module-path={module}&pin-value=9999"
    ));
    assert!(matches!(err, Pkcs11Error::WrongPin { .. }), "{err}");
    assert!(
        err.to_string().contains("wrong PIN") && !err.to_string().contains("9999"),
        "{err}"
    );
    assert!(err.to_string().contains(&format!("token={label}")), "{err}");

    let err = open(dir.uri("no-such-token", "k", 1));
    assert!(matches!(err, Pkcs11Error::TokenNotFound { .. }), "{err}");
    assert!(!err.to_string().contains(PIN), "{err}");

    let err = open(dir.uri(&label, "absent", 9));
    assert!(matches!(err, Pkcs11Error::ObjectNotFound { .. }), "{err}");

    let err = open(format!("pkcs11:token={label};object=k?module-path={module}"));
    assert!(matches!(err, Pkcs11Error::NoPin { .. }), "{err}");

    let err = open(format!(
        "pkcs11:token={label};object=k;type=cert?module-path={module}&pin-value={PIN}"
    ));
    assert!(matches!(err, Pkcs11Error::NotPrivate { .. }), "{err}");

    let err = open(format!(
        "pkcs11:token={label};object=k?module-path=/nonexistent/module.so&pin-value={PIN}"
    ));
    assert!(matches!(err, Pkcs11Error::Module { .. }), "{err}");

    let err = open(format!("pkcs11:token={label};object=k"));
    assert!(matches!(err, Pkcs11Error::NoModule { .. }), "{err}");

    // A PIN from a file: the right one opens, a missing file is named.
    let tmp = tempfile::tempdir().unwrap();
    let pin_file = tmp.path().join("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    Pkcs11Signer::open_uri(&format!(
        "pkcs11:token={label};object=k?module-path={module}&pin-source=file:{}",
        pin_file.display()
    ))
    .unwrap();
    let err = open(format!(
        "pkcs11:token={label};object=k?module-path={module}&pin-source=file:/nonexistent/pin"
    ));
    assert!(matches!(err, Pkcs11Error::PinSource { .. }), "{err}");
}

#[test]
fn one_signer_serves_many_threads() {
    if !softhsm::available_or_skip("one_signer_serves_many_threads") {
        return;
    }
    let _serial = serial();
    let label = token_with(&[("k", 1, KeygenType::EcdsaP256)]);
    let signer = Arc::new(Pkcs11Signer::open_uri(&process_tokens().uri(&label, "k", 1)).unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let signer = signer.clone();
            std::thread::spawn(move || {
                for i in 0..50u8 {
                    let message = [t, i];
                    let signature = signer.sign(&message).unwrap();
                    signer.public_key().verify_default(&message, &signature).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// The directory SoftHSM keeps the token labelled `label` in.
fn token_path(label: &str) -> PathBuf {
    for entry in std::fs::read_dir(&process_tokens().tokens).unwrap() {
        let path = entry.unwrap().path();
        let object = std::fs::read(path.join("token.object")).unwrap_or_default();
        if object.windows(label.len()).any(|w| w == label.as_bytes()) {
            return path;
        }
    }
    panic!("no token directory holds {label}");
}

/// Waits out the reconnection backoff (at most 5 s) until a signature succeeds.
fn sign_when_back(signer: &Pkcs11Signer) -> Result<Vec<u8>, SignerError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match signer.sign(b"back") {
            Err(e) if e.is_unavailable() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            other => return other,
        }
    }
}

#[test]
fn a_token_lost_mid_run_is_unavailable_then_reconnected() {
    if !softhsm::available_or_skip("a_token_lost_mid_run_is_unavailable_then_reconnected") {
        return;
    }
    let _serial = serial();
    let label = token_with(&[("k", 1, KeygenType::Ed25519)]);
    let signer = Pkcs11Signer::open_uri(&process_tokens().uri(&label, "k", 1)).unwrap();
    signer.sign(b"before").unwrap();

    // The token's directory disappears (the device is pulled): signing fails as unavailable,
    // never as a signature or a panic.
    let path = token_path(&label);
    let away = process_tokens().dir.join(format!("{label}.away"));
    std::fs::rename(&path, &away).unwrap();
    let err = signer.sign(b"while gone").unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        err.to_string().contains(&format!("token={label}")) && !err.to_string().contains(PIN),
        "{err}"
    );

    // It comes back: after the backoff the signer reconnects, logs in again and signs.
    std::fs::rename(&away, &path).unwrap();
    let signature = sign_when_back(&signer).unwrap();
    signer.public_key().verify_default(b"back", &signature).unwrap();
}

#[test]
fn a_token_replaced_by_another_key_is_refused() {
    if !softhsm::available_or_skip("a_token_replaced_by_another_key_is_refused") {
        return;
    }
    let _serial = serial();
    let label = token_with(&[("k", 1, KeygenType::EcdsaP256)]);
    let signer = Pkcs11Signer::open_uri(&process_tokens().uri(&label, "k", 1)).unwrap();
    signer.sign(b"before").unwrap();
    // The token is wiped and made again with the same label and a new key of the same name.
    let path = token_path(&label);
    std::fs::remove_dir_all(&path).unwrap();
    let err = signer.sign(b"while gone").unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    process_tokens().init_token(&label).unwrap();
    // The new token is seen once the module is re-initialised (the signer does that itself).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let message = loop {
        let err = signer.sign(b"after").unwrap_err();
        assert!(err.is_unavailable(), "{err}");
        if err.to_string().contains("private keys match") {
            let uri = Pkcs11Uri::parse(&process_tokens().uri(&label, "k", 1)).unwrap();
            generate_key_pair(&uri, KeygenType::EcdsaP256).unwrap();
        }
        if err.to_string().contains("another key") || std::time::Instant::now() > deadline {
            break err.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(message.contains("another key"), "{message}");
}
