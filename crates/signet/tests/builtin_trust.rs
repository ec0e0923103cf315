//! The trust material compiled into signet (`crates/signet-client/trust/`) is what Sigstore's TUF
//! repositories signed, and it is what commands use when given no trust flags.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use signet_formats::trust::{SigningConfig, TrustedRoot};
use signet_tuf::{LocalMetadata, TrustedSet};

fn trust_dir(instance: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../signet-client/trust")
        .join(instance)
}

fn read(instance: &str, name: &str) -> Vec<u8> {
    std::fs::read(trust_dir(instance).join(name)).unwrap()
}

fn local(instance: &str) -> LocalMetadata {
    LocalMetadata {
        root: read(instance, "root.json"),
        timestamp: Some(read(instance, "timestamp.json")),
        snapshot: Some(read(instance, "snapshot.json")),
        targets: Some(read(instance, "targets.json")),
    }
}

fn signet(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env("SIGNET_HOME", home)
        .env("HOME", home)
        .output()
        .expect("run signet")
}

/// Each built-in target is listed, with its length and hashes, in a targets.json that a
/// threshold of the built-in root's keys signed, and the timestamp and snapshot agree.
#[test]
fn builtin_targets_are_signed_by_the_sigstore_root() {
    for instance in ["public-good", "staging"] {
        let trusted =
            TrustedSet::verify_offline(&local(instance)).unwrap_or_else(|e| panic!("{instance}: {e}"));
        for target in ["trusted_root.json", "signing_config.v0.2.json"] {
            trusted
                .check_target(target, &read(instance, target))
                .unwrap_or_else(|e| panic!("{instance} {target}: {e}"));
        }
        TrustedRoot::from_json(&read(instance, "trusted_root.json")).unwrap();
        SigningConfig::from_json(&read(instance, "signing_config.v0.2.json")).unwrap();

        // One changed byte in a target, or in the signed targets metadata, is caught.
        let mut tampered = read(instance, "trusted_root.json");
        let at = tampered.len() / 2;
        tampered[at] ^= 1;
        assert!(trusted.check_target("trusted_root.json", &tampered).is_err());
        let mut bad = local(instance);
        let targets = bad.targets.as_mut().unwrap();
        let text = String::from_utf8(targets.clone()).unwrap();
        *targets = text.replacen("\"length\": ", "\"length\": 1", 1).into_bytes();
        assert!(TrustedSet::verify_offline(&bad).is_err(), "{instance}");
    }
}

#[test]
fn trust_show_reports_the_builtin_copy() {
    let home = tempfile::tempdir().unwrap();
    let out = signet(home.path(), &["trust", "show"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("source: built into signet"), "{stdout}");
    assert!(stdout.contains("signatures and hashes verified"), "{stdout}");
    assert!(
        stdout.contains("certificate authority: https://fulcio.sigstore.dev"),
        "{stdout}"
    );
    assert!(
        stdout.contains("transparency log: https://rekor.sigstore.dev"),
        "{stdout}"
    );
    let out = signet(home.path(), &["trust", "show", "--staging"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("fulcio.sigstage.dev"), "{stdout}");
    // Nothing was written: show only reads.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}

#[test]
fn a_custom_instance_needs_init() {
    let home = tempfile::tempdir().unwrap();
    let out = signet(
        home.path(),
        &[
            "verify-blob",
            "--instance",
            "https://tuf.example.com",
            "--bundle",
            "b.json",
            "--key",
            "k.pub",
            "f",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("signet trust init --instance https://tuf.example.com"),
        "{stderr}"
    );
    let out = signet(home.path(), &["trust", "update", "--instance", "file:///etc"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("http(s) URL"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A bundle whose CA the built-in root does not know fails with a hint to update.
#[test]
fn unknown_authority_with_builtin_root_suggests_update() {
    let vectors = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    let case = vectors.join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let staging_root = vectors.join("staging/trusted_root.json");
    if !case.exists() || !staging_root.exists() {
        eprintln!(
            "skipped: no sigstore-conformance vectors at {}",
            vectors.display()
        );
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // A public-good bundle checked against the built-in staging root: its CA is unknown there.
    let artifact = case.parent().unwrap().join("a.txt");
    let out = signet(
        home.path(),
        &[
            "verify-bundle",
            "--staging",
            "--bundle",
            case.join("bundle.sigstore.json").to_str().unwrap(),
            "--certificate-identity",
            "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
            artifact.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("built-in copy of the staging instance"),
        "{stderr}"
    );
    assert!(stderr.contains("signet trust update"), "{stderr}");
}
