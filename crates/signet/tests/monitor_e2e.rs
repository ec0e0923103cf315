//! `signet monitor` against a real `signet server --dev-oidc`: blobs signed by several
//! identities through `signet sign-blob`, a watch list for one of them, and what `--once`
//! reports across runs (exactly the watched entries, once each, even when runs stop part-way).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{dev_token, Server};

struct Fixture {
    server: Server,
    dir: PathBuf,
    trust: PathBuf,
    watch: PathBuf,
    state: PathBuf,
    signed: u32,
}

impl Fixture {
    fn new(tmp: &Path) -> Fixture {
        let server = Server::start_with(&tmp.join("data"), &["--dev-oidc"]);
        let trust = tmp.join("data/trust_config.json");
        let watch = tmp.join("watch.yaml");
        // rekor-monitor's format, regexes escaped as its users write them.
        let issuer = regex_escape(&format!("{}/oidc", server.url));
        std::fs::write(
            &watch,
            format!(
                "monitoredValues:\n  certIdentities:\n    - certSubject: ^alice@example\\.com$\n      issuers:\n        - ^{issuer}$\noutputIdentities: identities.txt\n"
            ),
        )
        .unwrap();
        Fixture {
            server,
            dir: tmp.to_path_buf(),
            trust,
            watch,
            state: tmp.join("state"),
            signed: 0,
        }
    }

    /// Signs a fresh blob as `email`; returns its log index.
    fn sign(&mut self, email: &str) -> u64 {
        self.signed += 1;
        let blob = self.dir.join(format!("blob{}", self.signed));
        std::fs::write(&blob, format!("artifact {}", self.signed)).unwrap();
        let bundle = blob.with_extension("sigstore.json");
        let token = dev_token(&self.server.url, email);
        let out = Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("sign-blob")
            .arg(&blob)
            .arg("--bundle")
            .arg(&bundle)
            .args(["--identity-token", &token])
            .arg("--trust-config")
            .arg(&self.trust)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
        json["verificationMaterial"]["tlogEntries"][0]["logIndex"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn monitor(&self, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(["monitor", "--once"])
            .arg("--trust-config")
            .arg(&self.trust)
            .arg("--config")
            .arg(&self.watch)
            .arg("--state-dir")
            .arg(&self.state)
            .args(extra)
            .env("SIGNET_LOG", "warn")
            .output()
            .unwrap()
    }
}

/// The one metacharacter an issuer URL holds.
fn regex_escape(s: &str) -> String {
    s.replace('.', "\\.")
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn matched(out: &Output) -> Vec<u64> {
    lines(out)
        .iter()
        .filter(|l| l["type"] == "match")
        .map(|l| l["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn once_reports_the_watched_identity_exactly_once_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut f = Fixture::new(tmp.path());
    let mut alice = Vec::new();
    for email in [
        "alice@example.com",
        "bob@example.com",
        "alice@example.com",
        "carol@example.com",
    ] {
        let index = f.sign(email);
        if email.starts_with("alice") {
            alice.push(index);
        }
    }

    let out = f.monitor(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a match exits 1: {stderr}");
    assert_eq!(matched(&out), alice, "{stderr}");
    for line in lines(&out) {
        assert_eq!(line["identity"], "alice@example.com");
        assert_eq!(line["issuer"], format!("{}/oidc", f.server.url));
        assert_eq!(line["kind"], "hashedrekord");
        assert!(line["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(line["inclusion_proof"]["checkpoint"]["envelope"].is_string());
    }

    // Nothing new: nothing reported, exit 0.
    let out = f.monitor(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lines(&out).is_empty());

    // More signatures; runs that stop after one entry each still report every new one, once.
    let mut more = Vec::new();
    for email in ["alice@example.com", "bob@example.com", "alice@example.com"] {
        let index = f.sign(email);
        if email.starts_with("alice") {
            more.push(index);
        }
    }
    let mut seen = Vec::new();
    for _ in 0..10 {
        let out = f.monitor(&["--max-entries", "1"]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        seen.extend(matched(&out));
    }
    assert_eq!(seen, more);
}

#[test]
fn usage_and_config_errors_exit_2_and_say_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let f = Fixture::new(tmp.path());
    std::fs::write(
        &f.watch,
        "monitoredValues:\n  certIdentities:\n    - certSubject: \"(unclosed\"\n",
    )
    .unwrap();
    let out = f.monitor(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("certIdentities[0].certSubject"), "{stderr}");
    assert!(stderr.contains("(unclosed"), "{stderr}");

    std::fs::write(&f.watch, "monitoredValues: {}\n").unwrap();
    let out = f.monitor(&["--log", "https://elsewhere.example"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("elsewhere.example"), "{stderr}");
}
