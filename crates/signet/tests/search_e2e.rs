//! Search (issue 17) against a real `signet server --dev-oidc`: blobs signed by several
//! identities through `signet sign-blob`, then `GET /rekor/api/v2/search` and `signet search`
//! return exactly their entries with proofs that verify; a tampered answer is refused; bad
//! queries are 400 JSON; and an index rebuilt from the log answers as the incremental one did.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{dev_token, get, Server};

struct Fixture {
    server: Server,
    dir: PathBuf,
    trust: PathBuf,
    signed: u32,
}

impl Fixture {
    /// Signs `content` as `email`; returns its log index.
    fn sign(&mut self, email: &str, content: &str) -> u64 {
        self.signed += 1;
        let blob = self.dir.join(format!("blob{}", self.signed));
        std::fs::write(&blob, content).unwrap();
        let token = dev_token(&self.server.url, email);
        common::sign_blob(&blob, &token, &self.trust)
    }

    fn search(&self, log_url: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("search")
            .args(args)
            .args(["--log-url", log_url])
            .arg("--trust-config")
            .arg(&self.trust)
            .output()
            .unwrap()
    }
}

fn digest(content: &str) -> String {
    format!(
        "sha256:{}",
        hex::encode(signet_crypto::sha256(content.as_bytes()))
    )
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The log indices of a search answer, following `next` to the end.
fn api_indices(log_url: &str, query: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = get(&format!("{log_url}/api/v2/search?{query}{cursor}"));
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let v = reply.json();
        for e in v["entries"].as_array().unwrap() {
            out.push(e["logIndex"].as_str().unwrap().parse().unwrap());
        }
        match v["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// Waits until the index holds `size` leaves.
fn wait_indexed(log_url: &str, size: u64) {
    let start = Instant::now();
    loop {
        let v = get(&format!("{log_url}/api/v2/search?identity=x")).json();
        if v["indexedSize"].as_str().unwrap().parse::<u64>().unwrap() >= size {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "index stuck at {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn search_finds_exactly_the_signed_entries_and_verifies_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &["--dev-oidc"]);
    let mut f = Fixture {
        trust: data.join("trust_config.json"),
        dir: tmp.path().to_path_buf(),
        server,
        signed: 0,
    };
    let a1 = f.sign("alice@example.com", "artifact one");
    let b2 = f.sign("bob@example.com", "artifact two");
    let a3 = f.sign("alice@example.com", "artifact three");
    let c2 = f.sign("carol@example.com", "artifact two");
    let log = f.server.log_url();
    wait_indexed(&log, c2 + 1);
    let issuer = format!("{}/oidc", f.server.url);

    // The API: exactly the right entries, paged one at a time.
    let alice = format!("identity={}", enc("alice@example.com"));
    assert_eq!(api_indices(&log, &format!("{alice}&limit=1")), vec![a1, a3]);
    assert_eq!(
        api_indices(&log, &format!("issuer={}", enc(&issuer))),
        vec![a1, b2, a3, c2]
    );
    assert_eq!(
        api_indices(&log, &format!("digest={}", enc(&digest("artifact two")))),
        vec![b2, c2]
    );
    assert_eq!(
        api_indices(
            &log,
            &format!("{alice}&digest={}", enc(&digest("artifact three")))
        ),
        vec![a3]
    );
    assert!(api_indices(&log, &format!("{alice}&issuer={}", enc("https://elsewhere"))).is_empty());
    assert!(api_indices(
        &log,
        &format!("identity={}", enc("' OR 1=1; DROP TABLE postings;--"))
    )
    .is_empty());

    // signet search verifies and prints the same entries.
    let out = f.search(
        &log,
        &[
            "--identity",
            "alice@example.com",
            "--output",
            "json",
            "--all",
            "--limit",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["logIndex"].as_u64().unwrap())
        .collect();
    assert_eq!(got, vec![a1, a3]);
    assert_eq!(v["results"][0]["signers"][0]["issuer"], serde_json::json!(issuer));
    let out = f.search(&log, &["--digest", &digest("artifact two")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("bob@example.com") && table.contains("carol@example.com"),
        "{table}"
    );

    // A tampered answer is an error, not a row.
    let proxy = common::proof_tampering_proxy(f.server.url.clone());
    let out = f.search(&format!("{proxy}/rekor"), &["--identity", "alice@example.com"]);
    assert!(
        !out.status.success(),
        "tampered answer accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not verify"), "{err}");

    // Bad input: 400 with a JSON error, never 5xx.
    let long = "a".repeat(5000);
    for query in [
        "digest=sha256:zz".to_string(),
        "digest=notadigest".into(),
        format!("identity={long}"),
        "identity=a&limit=1000000".into(),
        "identity=a&limit=-5".into(),
        "identity=a&cursor=%27%3B--".into(),
        "identity=a&identity=b".into(),
        "nosuch=1".into(),
        "".into(),
    ] {
        let reply = get(&format!("{log}/api/v2/search?{query}"));
        assert_eq!(
            reply.status,
            400,
            "{query}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["code"], 3, "{query}");
    }

    // A broken percent-escape is read literally (as form decoding does): no such identity.
    assert!(api_indices(&log, "identity=%ZZ").is_empty());

    // Rebuilt from the log (index.db deleted while stopped): the same answers.
    let queries = [
        alice.clone(),
        format!("issuer={}", enc(&issuer)),
        format!("digest={}", enc(&digest("artifact two"))),
    ];
    let before: Vec<Vec<u64>> = queries.iter().map(|q| api_indices(&log, q)).collect();
    let mut server = f.server;
    server.terminate();
    for name in ["index.db", "index.db-wal", "index.db-shm"] {
        let _ = std::fs::remove_file(data.join(name));
    }
    let server = Server::start_with(&data, &["--dev-oidc"]);
    let log = server.log_url();
    wait_indexed(&log, c2 + 1);
    let after: Vec<Vec<u64>> = queries.iter().map(|q| api_indices(&log, q)).collect();
    assert_eq!(before, after);
    assert!(Path::new(&data.join("index.db")).exists());
}

/// The Fulcio workflow extensions (issue 17): blobs signed keylessly with GitHub-Actions-shaped
/// tokens from the development provider are found by repository, ref and the current fields,
/// alone or with identity and issuer, over the Rekor v2 route, the all-logs search (with the
/// CT log's precertificates) and `signet search`'s cosign-like flags; values are exact (no
/// patterns), and bad values are 400 JSON.
#[test]
fn github_workflow_fields_are_search_terms() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &["--dev-oidc"]);
    let trust = data.join("trust_config.json");
    let mut n = 0;
    let mut sign = |token: String, content: &str| {
        n += 1;
        let blob = tmp.path().join(format!("gh{n}"));
        std::fs::write(&blob, content).unwrap();
        common::sign_blob(&blob, &token, &trust)
    };
    let gh = |repository: &str, git_ref: &str| {
        common::github_dev_token(
            &server.url,
            &serde_json::json!({ "repository": repository, "ref": git_ref }),
        )
    };
    let app_v1 = sign(gh("acme/app", "refs/tags/v1"), "app v1");
    let app_main = sign(gh("acme/app", "refs/heads/main"), "app main");
    let other_v1 = sign(gh("acme/other", "refs/tags/v1"), "other v1");
    let by_email = sign(dev_token(&server.url, "dev@example.com"), "by email");
    let log = server.log_url();
    wait_indexed(&log, by_email + 1);

    let app = format!("github_workflow_repository={}", enc("acme/app"));
    assert_eq!(api_indices(&log, &app), vec![app_v1, app_main]);
    assert_eq!(
        api_indices(
            &log,
            &format!("{app}&github_workflow_ref={}", enc("refs/tags/v1"))
        ),
        vec![app_v1]
    );
    assert_eq!(
        api_indices(
            &log,
            &format!(
                "source_repository_uri={}&source_repository_ref={}",
                enc("https://github.com/acme/app"),
                enc("refs/tags/v1")
            )
        ),
        vec![app_v1]
    );
    assert_eq!(
        api_indices(&log, "runner_environment=github-hosted&limit=1"),
        vec![app_v1, app_main, other_v1]
    );
    // With identity and issuer (AND).
    let san = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";
    let github_issuer = format!("{}/oidc/github", server.url);
    assert_eq!(
        api_indices(
            &log,
            &format!("identity={}&issuer={}&{app}", enc(san), enc(&github_issuer))
        ),
        vec![app_v1]
    );
    let email_issuer = format!("{}/oidc", server.url);
    assert!(api_indices(&log, &format!("issuer={}&{app}", enc(&email_issuer))).is_empty());
    // Exact values: wildcards, patterns and SQL are text that no certificate holds.
    for value in [
        "acme/*",
        "acme/.*",
        "%",
        "acme/app' OR '1'='1",
        "ACME/APP",
        "acme/app ",
    ] {
        assert!(
            api_indices(&log, &format!("github_workflow_repository={}", enc(value))).is_empty(),
            "{value}"
        );
    }
    let long = "r".repeat(5000);
    for query in [
        format!("github_workflow_repository={long}"),
        format!("source_repository_ref={}", "r".repeat(1025)),
        "github_workflow_repository=".into(),
        format!("{app}&{app}"),
        "github_workflow_repo=acme%2Fapp".into(),
    ] {
        let reply = get(&format!("{log}/api/v2/search?{query}"));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["code"], 3, "{query}");
        let reply = get(&format!("{}/api/v1/search?{query}", server.url));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["code"], 3, "{query}");
    }

    // Over all logs: each keyless signing also logged its precertificate in the CT log.
    let start = Instant::now();
    let logs_of = |v: &serde_json::Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["log"].as_str().unwrap().to_string())
            .collect()
    };
    loop {
        let v = get(&format!("{}/api/v1/search?{app}", server.url)).json();
        if logs_of(&v) == ["rekor2", "rekor2", "ct", "ct"] {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{v}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // signet search with cosign's flag names, verifying what it prints.
    let search = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("search")
            .args(args)
            .arg("--trust-config")
            .arg(&trust)
            .args(["--output", "json", "--all"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = search(&[
        "--log-url",
        &log,
        "--certificate-github-workflow-repository",
        "acme/app",
        "--certificate-github-workflow-ref",
        "refs/tags/v1",
    ]);
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["results"][0]["logIndex"], app_v1);
    let signer = &v["results"][0]["signers"][0];
    assert_eq!(signer["identity"], san);
    assert_eq!(signer["extensions"]["github_workflow_repository"], "acme/app");
    assert_eq!(signer["extensions"]["source_repository_ref"], "refs/tags/v1");
    let v = search(&[
        "--all-logs",
        "--server-url",
        &server.url,
        "--certificate-source-repository-uri",
        "https://github.com/acme/app",
        "--certificate-runner-environment",
        "github-hosted",
    ]);
    assert_eq!(logs_of(&v), ["rekor2", "rekor2", "ct", "ct"], "{v}");
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["search", "--log-url", &log, "--trust-config"])
        .arg(&trust)
        .args(["--certificate-github-workflow-repository", "acme/*"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 entries"));
}
