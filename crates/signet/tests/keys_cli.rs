//! `signet generate-key-pair` as a user runs it: the built binary, the password from
//! `$SIGNET_PASSWORD`, files with the right modes, no silent overwrite, and a private key that
//! decrypts to the public key written beside it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use signet_crypto::cosign_key::SIGSTORE_PRIVATE_KEY_PEM_TYPE;
use signet_crypto::{decrypt_private_key, KeyKind, PublicKey};

const PASSWORD: &str = "test password";

/// Runs `signet generate-key-pair <args>` in `dir` with `env` and no other password source.
fn generate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .arg("generate-key-pair")
        .args(args)
        .current_dir(dir)
        .env_remove("SIGNET_PASSWORD")
        .env_remove("COSIGN_PASSWORD")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The key pair at `prefix` decrypts with `password` to the public key beside it.
fn check_pair(prefix: &Path, password: &str, kind: KeyKind) {
    let key_pem = std::fs::read_to_string(prefix.with_extension("key")).unwrap();
    assert!(key_pem.starts_with(&format!("-----BEGIN {SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----")));
    let key = decrypt_private_key(&key_pem, password.as_bytes()).unwrap();
    let public =
        PublicKey::from_pem(&std::fs::read_to_string(prefix.with_extension("pub")).unwrap()).unwrap();
    assert_eq!(key.public_key(), &public);
    assert_eq!(public.kind(), kind);
}

#[test]
fn writes_a_cosign_key_pair_and_never_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &[], &[("SIGNET_PASSWORD", PASSWORD)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (key, public) = (dir.path().join("cosign.key"), dir.path().join("cosign.pub"));
    assert_eq!(mode(&key), 0o600);
    assert_eq!(
        mode(&public) & 0o022,
        0,
        "the public key is not group or world writable"
    );
    check_pair(&dir.path().join("cosign"), PASSWORD, KeyKind::EcdsaP256);
    // Nothing but the two files: no temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    // A second run refuses, in one line, and leaves the first pair as it was.
    let before = std::fs::read(&key).unwrap();
    let out = generate(dir.path(), &[], &[("SIGNET_PASSWORD", "other")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // --force replaces both, still 0600.
    let out = generate(dir.path(), &["--force"], &[("SIGNET_PASSWORD", "other")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_ne!(std::fs::read(&key).unwrap(), before);
    assert_eq!(mode(&key), 0o600);
    check_pair(&dir.path().join("cosign"), "other", KeyKind::EcdsaP256);
}

#[test]
fn prefix_key_type_and_cosign_password_variable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    let out = generate(
        dir.path(),
        &["--output-key-prefix", "keys/release", "--key-type", "ed25519"],
        &[("COSIGN_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&dir.path().join("keys/release.key")), 0o600);
    check_pair(&dir.path().join("keys/release"), PASSWORD, KeyKind::Ed25519);

    // $SIGNET_PASSWORD wins over $COSIGN_PASSWORD.
    let out = generate(
        dir.path(),
        &["--output-key-prefix", "p384", "--key-type", "ecdsa-p384"],
        &[("SIGNET_PASSWORD", "signet's"), ("COSIGN_PASSWORD", "cosign's")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_pair(&dir.path().join("p384"), "signet's", KeyKind::EcdsaP384);
}

#[test]
fn no_password_and_no_terminal_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), &[], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SIGNET_PASSWORD"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file written"
    );

    let out = generate(
        dir.path(),
        &["--key-type", "rsa"],
        &[("SIGNET_PASSWORD", PASSWORD)],
    );
    assert!(!out.status.success());
}
