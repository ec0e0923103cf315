//! The README's quick start, run as written against a fresh `signet server --dev-oidc`: the
//! commands between `<!-- quickstart -->` and `<!-- /quickstart -->` go to bash unchanged except
//! for what differs in a test — the server's port (the README assumes the default 3000, a test
//! takes a free one, given to `signet dev-token` through `$SIGNET_SERVER`) and where the built
//! binary is (`cargo build --release` is skipped; the test's own build of `signet` is used).

mod common;
#[path = "../../signet-client/tests/support/registry.rs"]
mod registry_support;

use std::path::Path;
use std::process::Command;

use common::Server;

fn quickstart_script() -> String {
    readme_script("quickstart")
}

/// The commands between `<!-- NAME -->` and `<!-- /NAME -->` in the README.
fn readme_script(name: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let start = readme
        .find(&format!("<!-- {name} -->"))
        .unwrap_or_else(|| panic!("{name} marker"));
    let end = readme
        .find(&format!("<!-- /{name} -->"))
        .unwrap_or_else(|| panic!("end of {name} marker"));
    readme[start..end]
        .lines()
        .filter(|l| !l.starts_with("```") && !l.starts_with("<!--"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn readme_quickstart_signs_and_verifies() {
    let script = quickstart_script();
    assert!(
        script.contains("signet sign-blob") && script.contains("signet verify-blob"),
        "{script}"
    );
    let work = tempfile::tempdir().unwrap();
    let server = Server::start_with(&work.path().join("signet-data"), &["--dev-oidc"]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let script = script
        .lines()
        .filter(|l| l.trim() != "cargo build --release")
        .collect::<Vec<_>>()
        .join("\n")
        .replace("$PWD/target/release", bin_dir.to_str().unwrap())
        .replace("http://127.0.0.1:3000", &server.url);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("SIGNET_SERVER", &server.url)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "quick start failed:\n{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(work.path().join("hello.txt.sigstore.json").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verified OK"));

    // The same bundle does not verify for another identity.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .current_dir(work.path())
        .args([
            "verify-blob",
            "hello.txt",
            "--bundle",
            "hello.txt.sigstore.json",
            "--trust-config",
            "signet-data/trust_config.json",
            "--certificate-identity",
            "someone-else@example.com",
            "--certificate-oidc-issuer",
            &format!("{}/oidc", server.url),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The README's container-image quick start, run as written against a fresh `signet server
/// --dev-oidc` and Debian's docker-registry holding one image: only the ports differ (the
/// registry's and the server's are free ones here).
#[test]
fn readme_image_quickstart_signs_attests_saves_and_verifies() {
    let script = readme_script("image-quickstart");
    for step in [
        "signet sign ",
        "signet attest ",
        "signet verify ",
        "--policy",
        "signet save ",
        "--local-image",
    ] {
        assert!(script.contains(step), "{step}: {script}");
    }
    let Some(registry) = registry_support::start() else {
        return;
    };
    let http = signet_client::http::Http::new().unwrap();
    let client = signet_client::oci::Registry::new(&http, &registry.host, &Default::default()).unwrap();
    registry_support::push_image(&client, "team/app", "1.0", b"the README's image");
    let work = tempfile::tempdir().unwrap();
    let server = Server::start_with(&work.path().join("signet-data"), &["--dev-oidc"]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let script = script
        .replace("127.0.0.1:5000", &registry.host)
        .replace("http://127.0.0.1:3000", &server.url);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("SIGNET_SERVER", &server.url)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", work.path())
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("COSIGN_REPOSITORY")
        .output()
        .expect("bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "image quick start failed:\n{script}\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout),
    );
    // Two verifications of the signature (online, offline) and one of the attestation.
    assert_eq!(stderr.matches("Verification for ").count(), 3, "{stderr}");
    assert!(work.path().join("app-layout/index.json").exists());
}

/// The README's git quick start, run as written against a fresh `signet server --dev-oidc`
/// with `signet` and `signet-git` on PATH; only the server's port differs.
#[test]
fn readme_git_quickstart_signs_and_verifies_commits_and_tags() {
    let script = readme_script("git-quickstart");
    for step in [
        "git commit",
        "git tag -s",
        "git verify-commit",
        "signet git verify",
    ] {
        assert!(script.contains(step), "{step}: {script}");
    }
    if Command::new("git").arg("--version").output().is_err() {
        println!("skipped: no git on PATH");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let server = Server::start_with(&work.path().join("signet-data"), &["--dev-oidc"]);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = script.replace("http://127.0.0.1:3000", &server.url);
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("SIGNET_SERVER", &server.url)
        .env("SIGNET_GIT_AGENT_SOCK", work.path().join("agent/sock"))
        .env("SIGNET_GIT_AGENT_IDLE_EXIT", "60")
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "git quick start failed:\n{script}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("G you@example.com"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verified OK"));
    // The commit and the tag were signed with one certificate, kept by the agent; stop it.
    let stopped = Command::new(bin_dir.join("signet-git"))
        .arg("--agent-stop")
        .env("SIGNET_GIT_AGENT_SOCK", work.path().join("agent/sock"))
        .output()
        .unwrap();
    assert!(stopped.status.success());
}
