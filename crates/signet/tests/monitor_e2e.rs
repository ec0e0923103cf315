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
        let trust = self.trust.clone();
        self.sign_with(email, &trust)
    }

    /// The trust config as JSON.
    fn trust_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.trust).unwrap()).unwrap()
    }

    /// The base URL of the log the signing config lists with API version `version`.
    fn tlog_url(&self, version: u64) -> String {
        self.trust_json()["signingConfig"]["rekorTlogUrls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["majorApiVersion"] == version)
            .unwrap()["url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn ct_url(&self) -> String {
        self.trust_json()["trustedRoot"]["ctlogs"][0]["baseUrl"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A trust config whose signing config lists only the Rekor v1 log, so signing logs there.
    fn trust_for_v1(&self) -> PathBuf {
        let mut json = self.trust_json();
        json["signingConfig"]["rekorTlogUrls"]
            .as_array_mut()
            .unwrap()
            .retain(|s| s["majorApiVersion"] == 1);
        let path = self.dir.join("trust_v1.json");
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    /// Signs a fresh blob as `email` with the trust config `trust`; returns its log index.
    fn sign_with(&mut self, email: &str, trust: &Path) -> u64 {
        self.signed += 1;
        let blob = self.dir.join(format!("blob{}", self.signed));
        std::fs::write(&blob, format!("artifact {}", self.signed)).unwrap();
        let token = dev_token(&self.server.url, email);
        common::sign_blob(&blob, &token, trust)
    }

    fn monitor(&self, extra: &[&str]) -> Output {
        self.monitor_in(&self.state, extra)
    }

    /// `signet monitor --once` with its state in `state`.
    fn monitor_in(&self, state: &Path, extra: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(["monitor", "--once"])
            .arg("--trust-config")
            .arg(&self.trust)
            .arg("--config")
            .arg(&self.watch)
            .arg("--state-dir")
            .arg(state)
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

/// The matches of one log (its state key: `rekor-v1:`/`ct:` prefixed for those kinds).
fn matched_in(out: &Output, key: &str) -> Vec<u64> {
    lines(out)
        .iter()
        .filter(|l| l["type"] == "match" && l["id"].as_str().unwrap().rsplit_once('/').unwrap().0 == key)
        .map(|l| l["index"].as_u64().unwrap())
        .collect()
}

/// A base URL without its scheme: a log's origin.
fn origin(url: &str) -> &str {
    url.split_once("://").unwrap().1
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

    // By default every current log of the trust config is followed: the v2 log from index 0,
    // the v1 and CT logs from their current size (so only CT certificates issued later show).
    let v2 = origin(&f.tlog_url(2)).to_string();
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
        seen.extend(matched_in(&out, &v2));
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

/// A split view: two copies of one log (same key, same origin: a copied data directory) that
/// diverge after four entries, served in turn at the same address, as a log would show one
/// view to some and another to others. The monitor verifies the first view, is then shown
/// the second, and reports a fork with both signed checkpoints as evidence (exit 3).
#[test]
fn a_split_view_is_reported_with_both_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Server::start(&dir_a);
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let add = |log_url: &str, label: &str, n: usize| {
        for i in 0..n {
            let reply = common::add_entry(
                log_url,
                &common::hashedrekord(&key, format!("{label} {i}").as_bytes()),
            );
            assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
        }
    };
    add(&a.log_url(), "shared", 4);
    assert!(a.terminate().success());
    let status = Command::new("cp")
        .arg("-a")
        .arg(&dir_a)
        .arg(&dir_b)
        .status()
        .unwrap();
    assert!(status.success());

    // View A, at some address.
    let mut a = Server::start(&dir_a);
    let address = a.url.trim_start_matches("http://").to_string();
    add(&a.log_url(), "only in a", 3);
    let state = tmp.path().join("state");
    let trust = dir_a.join("trust_config.json");
    let monitor = || {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(["monitor", "--once", "--trust-config"])
            .arg(&trust)
            .arg("--state-dir")
            .arg(&state)
            .env("SIGNET_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = monitor();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(a.terminate().success());

    // View B, at the same address: same key and origin, other entries after the fourth.
    let mut b = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["server", "--listen", &address, "--data-dir"])
        .arg(&dir_b)
        .env("SIGNET_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(b.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("listening on "), "{first}");
    }
    let b_log = format!("http://{address}/rekor");
    add(&b_log, "only in b", 3);
    let out = monitor();
    let _ = b.kill();
    let _ = b.wait();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let alert = lines(&out)
        .into_iter()
        .find(|l| l["type"] == "alert")
        .expect("an alert line");
    assert_eq!(alert["check"], "root_changed", "{alert}");
    let evidence = alert["evidence"].as_array().expect("evidence");
    assert_eq!(evidence.len(), 2);
    let (before, now) = (evidence[0].as_str().unwrap(), evidence[1].as_str().unwrap());
    assert_ne!(before, now);
    // Both views are size 7 and both are signed: each verifies with the log's key.
    assert_eq!(before.lines().nth(1), Some("7"), "{before}");
    assert_eq!(now.lines().nth(1), Some("7"), "{now}");
}

#[test]
fn follows_the_v1_log_and_reports_exactly_the_watched_identity_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut f = Fixture::new(tmp.path());
    let trust_v1 = f.trust_for_v1();
    let v1 = f.tlog_url(1);
    let key = format!("rekor-v1:{}", origin(&v1));
    let sign = |f: &mut Fixture, emails: &[&str]| {
        let mut alice = Vec::new();
        for email in emails {
            let index = f.sign_with(email, &trust_v1);
            if email.starts_with("alice") {
                alice.push(index);
            }
        }
        alice
    };
    let alice = sign(
        &mut f,
        &[
            "alice@example.com",
            "bob@example.com",
            "alice@example.com",
            "carol@example.com",
        ],
    );
    assert_eq!(alice, [0, 2]);

    let out = f.monitor(&["--log", &v1, "--start", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(matched_in(&out, &key), alice, "{stderr}");
    for line in lines(&out) {
        assert_eq!(line["identity"], "alice@example.com");
        assert_eq!(line["issuer"], format!("{}/oidc", f.server.url));
        assert_eq!(line["kind"], "hashedrekord");
        assert_eq!(line["log_url"], v1);
        // A Rekor v1 checkpoint: "<origin> - <tree id>".
        let envelope = line["inclusion_proof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap();
        assert!(envelope.starts_with(&format!("{} - ", origin(&v1))), "{envelope}");
    }
    let out = f.monitor(&["--log", &v1]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // More entries; runs stopped after one entry each still report every new one, once.
    let more = sign(
        &mut f,
        &["bob@example.com", "alice@example.com", "alice@example.com"],
    );
    let mut seen = Vec::new();
    for _ in 0..5 {
        let out = f.monitor(&["--log", &v1, "--max-entries", "1"]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        seen.extend(matched_in(&out, &key));
    }
    assert_eq!(seen, more);
}

/// Waits until the CT log's get-sth says `size` (the CA's precertificates are integrated in
/// batches, after the SCT is returned).
fn wait_for_ct(ct: &str, size: u64) {
    for _ in 0..100 {
        let sth = common::get(&format!("{ct}/ct/v1/get-sth")).json();
        if sth["tree_size"].as_u64() >= Some(size) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the CT log never reached size {size}");
}

#[test]
fn follows_the_ct_log_through_rfc6962_and_static_ct_api_across_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut f = Fixture::new(tmp.path());
    let ct = f.ct_url();
    let key = format!("ct:{}", origin(&ct));
    // One precertificate per signature, logged in signing order.
    for email in [
        "alice@example.com",
        "bob@example.com",
        "alice@example.com",
        "carol@example.com",
    ] {
        f.sign(email);
    }
    wait_for_ct(&ct, 4);

    // Each API alone, from scratch: alice's two certificates.
    for protocol in ["rfc6962", "static-ct-api"] {
        let state = tmp.path().join(format!("state-{protocol}"));
        let out = f.monitor_in(&state, &["--log", &ct, "--start", "0", "--ct-protocol", protocol]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{protocol}: {stderr}");
        assert_eq!(matched_in(&out, &key), [0, 2], "{protocol}: {stderr}");
        for line in lines(&out) {
            assert_eq!(line["identity"], "alice@example.com");
            assert_eq!(line["issuer"], format!("{}/oidc", f.server.url));
            assert_eq!(line["kind"], "precert_entry");
            assert!(line["certificate"].is_string());
        }
    }

    // One state, runs stopped after one entry each, the API switching between runs: every
    // watched certificate once.
    let mut seen = Vec::new();
    for run in 0..6 {
        let protocol = ["rfc6962", "static-ct-api", "auto"][run % 3];
        let out = f.monitor(&[
            "--log",
            &ct,
            "--start",
            "0",
            "--ct-protocol",
            protocol,
            "--max-entries",
            "1",
        ]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{protocol}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        seen.extend(matched_in(&out, &key));
        if run == 3 {
            f.sign("alice@example.com");
            wait_for_ct(&ct, 5);
        }
    }
    assert_eq!(seen, [0, 2, 4]);
}
