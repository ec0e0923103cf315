//! Search over the Rekor v1 and CT logs (issue 17) against a real `signet server --dev-oidc`:
//! Fulcio certificates issued by the server's CA (each one a precertificate in its CT log),
//! Rekor v1 hashedrekord entries signed with them (and one with a bare key), then
//!
//! - Rekor v1's `POST /rekor1/api/v1/index/retrieve` with the requests rekor-cli and
//!   sigstore clients send (rekor `openapi.yaml` `SearchIndex`): entry UUIDs in Rekor's
//!   80-digit sharded form, each of which `GET /rekor1/api/v1/log/entries/{uuid}` serves;
//!   bad input is a 4xx `{"code", "message"}` as Rekor answers;
//! - `GET /api/v1/search` over every log, each result's inclusion proof checked against its
//!   checkpoint's root;
//! - the v1 and CT indexes deleted while stopped, and rebuilt from the logs at the next start,
//!   answer exactly as the incrementally kept ones did.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use common::{dev_token, get, post, Reply, Server};
use serde_json::{json, Value};
use signet_crypto::{KeyKind, SigningKey};

/// A Fulcio certificate for `email` on `key`, from the server's CA: its leaf, PEM.
fn fulcio_leaf(server: &Server, email: &str, key: &SigningKey) -> String {
    common::fulcio_leaf(&server.url, &dev_token(&server.url, email), key)
}

/// Logs a hashedrekord in the Rekor v1 log; returns the entry's UUID (64 digits).
fn log_v1(server: &Server, key: &SigningKey, verifier_pem: &str, artifact: &[u8]) -> String {
    common::log_v1(&server.url, key, verifier_pem, artifact).0
}

fn retrieve(server: &Server, query: &Value) -> Reply {
    post(
        &format!("{}/rekor1/api/v1/index/retrieve", server.url),
        query.to_string().as_bytes(),
    )
}

/// The UUIDs a retrieve answers, sorted.
fn uuids(server: &Server, query: Value) -> Vec<String> {
    let reply = retrieve(server, &query);
    assert_eq!(
        reply.status,
        200,
        "{query}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    let mut out: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(signet_crypto::sha256(data))
}

/// `(log, logIndex)` of every result of an all-logs search, following `next`, each result's
/// proof checked against its checkpoint's root.
fn search_all(server: &Server, query: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let reply = get(&format!("{}/api/v1/search?{query}{cursor}", server.url));
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let v = reply.json();
        for r in v["results"].as_array().unwrap() {
            let index: u64 = r["logIndex"].as_str().unwrap().parse().unwrap();
            let p = &r["inclusionProof"];
            let size: u64 = p["treeSize"].as_str().unwrap().parse().unwrap();
            let root: [u8; 32] = B64
                .decode(p["rootHash"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let hashes: Vec<[u8; 32]> = p["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap())
                .collect();
            let leaf = B64.decode(r["leaf"].as_str().unwrap()).unwrap();
            signet_tlog::verify_inclusion(&signet_tlog::leaf_hash(&leaf), index, size, &hashes, &root)
                .unwrap_or_else(|e| panic!("{r}: {e}"));
            let checkpoint =
                signet_tlog::Checkpoint::from_note_unverified(p["checkpoint"].as_str().unwrap()).unwrap();
            assert_eq!((checkpoint.size, checkpoint.root_hash), (size, root));
            out.push((r["log"].as_str().unwrap().to_string(), index));
        }
        match v["next"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// Waits until every log's index holds its whole tree.
fn wait_indexed(server: &Server) {
    let start = Instant::now();
    loop {
        let v = get(&format!("{}/api/v1/search?identity=x", server.url)).json();
        let logs = v["logs"].as_array().unwrap();
        if logs.len() == 3
            && logs.iter().all(|l| l["indexedSize"] == l["treeSize"])
            && logs
                .iter()
                .filter(|l| l["log"] != "rekor2")
                .all(|l| l["treeSize"] != "0")
        {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "not indexed: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn rekor_v1_index_retrieve_and_the_all_logs_search() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with(&data, &["--dev-oidc"]);
    let tree_id: i64 = get(&format!("{}/rekor1/api/v1/log", server.url)).json()["treeID"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let sharded = |uuid: &str| format!("{tree_id:016x}{uuid}");

    let (alice_key, bob_key, bare_key) = (
        SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
        SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
        SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
    );
    let alice_cert = fulcio_leaf(&server, "alice@example.com", &alice_key);
    let bob_cert = fulcio_leaf(&server, "bob@example.com", &bob_key);
    let a1 = log_v1(&server, &alice_key, &alice_cert, b"artifact one");
    let a2 = log_v1(&server, &alice_key, &alice_cert, b"artifact two");
    let b2 = log_v1(&server, &bob_key, &bob_cert, b"artifact two");
    let k3 = log_v1(
        &server,
        &bare_key,
        &bare_key.public_key().to_pem(),
        b"artifact three",
    );
    wait_indexed(&server);

    // The indexes' metrics: caught up (no lag), holding every entry of each log.
    let metrics = String::from_utf8(get(&format!("{}/search/metrics", server.url)).body).unwrap();
    for sample in [
        "signet_index_lag_entries{log=\"rekor1\"} 0",
        "signet_index_lag_entries{log=\"ct\"} 0",
        "signet_index_lag_entries{log=\"rekor2\"} 0",
        "signet_index_indexed_entries{log=\"rekor1\"} 4",
        "signet_index_indexed_entries{log=\"ct\"} 2",
    ] {
        assert!(
            metrics.lines().any(|l| l == sample),
            "{sample} not in:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("# TYPE signet_index_file_bytes gauge"),
        "{metrics}"
    );

    // Rekor's answers: sharded UUIDs (the tree ID in 16 hex digits, then the leaf hash).
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let alice = sorted(vec![sharded(&a1), sharded(&a2)]);
    assert_eq!(uuids(&server, json!({"email": "alice@example.com"})), alice);
    // Rekor lower-cases the query; the log holds the SAN as Fulcio wrote it.
    assert_eq!(uuids(&server, json!({"email": "Alice@Example.COM"})), alice);
    assert_eq!(uuids(&server, json!({"subject": "alice@example.com"})), alice);
    let two = sha256_hex(b"artifact two");
    let by_two = sorted(vec![sharded(&a2), sharded(&b2)]);
    // rekor-cli sends `sha256:<hex>`; Rekor also takes the bare hex (PrefixSHA).
    assert_eq!(uuids(&server, json!({"hash": format!("sha256:{two}")})), by_two);
    assert_eq!(uuids(&server, json!({"hash": two.to_uppercase()})), by_two);
    assert_eq!(
        uuids(
            &server,
            json!({"email": "alice@example.com", "hash": format!("sha256:{two}"), "operator": "and"})
        ),
        vec![sharded(&a2)]
    );
    assert_eq!(
        uuids(
            &server,
            json!({"email": "bob@example.com", "hash": sha256_hex(b"artifact one"), "operator": "or"})
        ),
        sorted(vec![sharded(&a1), sharded(&b2)])
    );
    // Keys as rekor-cli sends them: the file's bytes, base64 (`format: byte`).
    let x509 = |pem: &str| json!({"publicKey": {"format": "x509", "content": B64.encode(pem)}});
    assert_eq!(uuids(&server, x509(&bob_cert)), vec![sharded(&b2)]);
    assert_eq!(
        uuids(&server, x509(&bare_key.public_key().to_pem())),
        vec![sharded(&k3)]
    );
    // A key whose certificates signed: found by the key too.
    assert_eq!(uuids(&server, x509(&alice_key.public_key().to_pem())), alice);
    assert!(uuids(&server, json!({"email": "mallory@example.com"})).is_empty());
    assert!(uuids(&server, json!({"subject": "' OR 1=1; DROP TABLE postings;--"})).is_empty());
    assert!(uuids(&server, json!({})).is_empty());
    assert!(uuids(
        &server,
        json!({"publicKey": {"format": "ssh", "content": "AAAA"}})
    )
    .is_empty());

    // Every UUID is served by the log's own entry route, as the entry it names.
    for uuid in alice.iter().chain(&by_two) {
        let reply = get(&format!("{}/rekor1/api/v1/log/entries/{uuid}", server.url));
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        assert!(reply.json().get(&uuid[16..]).is_some(), "{uuid}");
    }

    // Bad input: Rekor's statuses (422 for what the OpenAPI schema refuses, 400 for what does
    // not parse, 413 for a huge body), each a JSON error.
    for (query, status) in [
        (json!({"hash": "sha256:abc"}), 422),
        (json!({"hash": format!("md5:{two}")}), 422),
        (json!({"email": "alice@example.com", "operator": "xor"}), 422),
        (json!({"email": "not an email"}), 422),
        (json!({"subject": "a".repeat(513)}), 422),
        (json!({"publicKey": {"format": "gpg", "content": "AAAA"}}), 422),
        (
            json!({"publicKey": {"format": "x509", "content": B64.encode("not a key")}}),
            400,
        ),
        (
            json!({"publicKey": {"format": "x509", "url": "http://169.254.169.254/"}}),
            400,
        ),
        (json!({"hash": 7}), 400),
        (json!(["email"]), 400),
    ] {
        let reply = retrieve(&server, &query);
        assert_eq!(
            reply.status,
            status,
            "{query}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["code"], status, "{query}");
    }
    let huge = format!(r#"{{"email": "{}@example.com"}}"#, "a".repeat(100_000));
    let reply = post(
        &format!("{}/rekor1/api/v1/index/retrieve", server.url),
        huge.as_bytes(),
    );
    assert_eq!(reply.status, 413, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.json()["code"], 413);

    // The all-logs search: alice's two v1 entries and her certificate's precertificate in the
    // CT log (Fulcio logs one per certificate), one page at a time.
    let query = "identity=alice%40example.com&limit=1";
    let found = search_all(&server, query);
    let logs: Vec<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(logs, vec!["rekor1", "rekor1", "ct"], "{found:?}");
    let issuer = format!("{}/oidc", server.url);
    let by_issuer = search_all(
        &server,
        &format!(
            "identity=bob%40example.com&issuer={}",
            url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>()
        ),
    );
    assert_eq!(
        by_issuer.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        vec!["rekor1", "ct"]
    );
    // signet search --all-logs verifies every result against its log's key and prints them.
    let trust = data.join("trust_config.json");
    let cli = |server_url: &str, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_signet"))
            .arg("search")
            .args(["--all-logs", "--server-url", server_url, "--trust-config"])
            .arg(&trust)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(
        &server.url,
        &[
            "--identity",
            "alice@example.com",
            "--all",
            "--limit",
            "1",
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, u64)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["log"].as_str().unwrap().to_string(),
                r["logIndex"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, found);
    assert_eq!(v["results"][2]["kind"], "precert_entry");
    assert_eq!(v["results"][0]["signers"][0]["issuer"], json!(issuer));
    let out = cli(&server.url, &["--digest", &format!("sha256:{two}")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("alice@example.com") && table.contains("bob@example.com"),
        "{table}"
    );
    // A tampered proof (one hash changed in transit) is an error, not a row.
    let proxy = common::proof_tampering_proxy(server.url.clone());
    let out = cli(&proxy, &["--identity", "alice@example.com"]);
    assert!(
        !out.status.success(),
        "tampered answer accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not verify"), "{err}");

    for bad in [
        "identity=a&cursor=i1",
        "identity=a&cursor=rekor9.i1",
        "digest=sha256:zz",
        "",
    ] {
        let reply = get(&format!("{}/api/v1/search?{bad}", server.url));
        assert_eq!(
            reply.status,
            400,
            "{bad}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }

    // Rebuilt from the logs (the v1 and CT index files deleted while stopped): the same
    // answers.
    let queries = [
        json!({"email": "alice@example.com"}),
        json!({"hash": two}),
        x509(&bob_cert),
    ];
    let before: Vec<Vec<String>> = queries.iter().map(|q| uuids(&server, q.clone())).collect();
    let before_all = search_all(&server, query);
    let mut server = server;
    server.terminate();
    let mut removed = BTreeSet::new();
    for dir in ["rekor1", "ct"] {
        for name in ["index.db", "index.db-wal", "index.db-shm"] {
            if std::fs::remove_file(data.join(dir).join(name)).is_ok() {
                removed.insert(format!("{dir}/{name}"));
            }
        }
    }
    assert!(
        removed.contains("rekor1/index.db") && removed.contains("ct/index.db"),
        "{removed:?}"
    );
    let server = Server::start_with(&data, &["--dev-oidc"]);
    wait_indexed(&server);
    let after: Vec<Vec<String>> = queries.iter().map(|q| uuids(&server, q.clone())).collect();
    assert_eq!(before, after);
    assert_eq!(before_all, search_all(&server, query));
    assert!(Path::new(&data.join("rekor1/index.db")).exists());
}

/// Load on all three logs from `clients` threads until `during` returns: Rekor v2 and v1
/// entries with bare keys, and every fourth round a Fulcio certificate (a CT entry) and a v1
/// entry signed with it. Requests the server does not acknowledge (it is being killed) are
/// dropped. Returns how many rounds were acknowledged.
fn load(server_url: &str, clients: usize, during: impl FnOnce(&std::sync::atomic::AtomicUsize)) -> usize {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let acked = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..clients {
            let (acked, stop) = (&acked, &stop);
            s.spawn(move || {
                let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
                let pem = key.public_key().to_pem();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let artifact = format!("load {t} {i} {}", std::process::id());
                    let v2 = common::hashedrekord(&key, artifact.as_bytes());
                    let Some(r) = common::try_post(
                        &format!("{server_url}/rekor/api/v2/log/entries"),
                        v2.to_string().as_bytes(),
                    ) else {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    if r.status != 201 {
                        continue;
                    }
                    let mut verifier = pem.clone();
                    if i % 4 == 0 {
                        // Even clients sign as an email, odd ones as a GitHub workflow: its
                        // certificate carries the Fulcio workflow extensions, postings too.
                        let (issuer, claims) = if t % 2 == 0 {
                            ("oidc", json!({ "email": format!("load{t}@example.com") }))
                        } else {
                            (
                                "oidc/github",
                                json!({ "repository": format!("load/app{t}"), "ref": format!("refs/tags/v{i}") }),
                            )
                        };
                        let token = common::try_post(
                            &format!("{server_url}/{issuer}/dev/token"),
                            claims.to_string().as_bytes(),
                        );
                        let Some(token) = token.filter(|r| r.status == 200) else {
                            continue;
                        };
                        let token = token.json()["id_token"].as_str().unwrap().to_string();
                        let body = json!({
                            "credentials": { "oidcIdentityToken": token },
                            "publicKeyRequest": {
                                "publicKey": { "algorithm": "ECDSA", "content": pem },
                                "proofOfPossession": common::proof_of_possession(&token, &key),
                            }
                        });
                        let cert = common::try_post(
                            &format!("{server_url}/api/v2/signingCert"),
                            body.to_string().as_bytes(),
                        );
                        let Some(cert) = cert.filter(|r| r.status == 201) else {
                            continue;
                        };
                        verifier = cert.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
                            .as_str()
                            .unwrap()
                            .to_string();
                    }
                    let v1 = common::hashedrekord_v1(&key, &verifier, artifact.as_bytes());
                    let r = common::try_post(
                        &format!("{server_url}/rekor1/api/v1/log/entries"),
                        v1.to_string().as_bytes(),
                    );
                    if r.is_some_and(|r| r.status == 201) {
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stopping = StopOnDrop(&stop);
        during(&acked);
    });
    acked.load(Ordering::Relaxed)
}

/// Each log's index as the server kept it, and the same rebuilt from the log's store in
/// memory: equal, and covering the whole log.
fn assert_rebuilt_equals_incremental(data: &Path, when: &str) {
    use signet_index::{catch_up, IndexDb, LogFormat};
    use signet_log::sqlite::SqliteStore;
    for (format, store, index) in [
        (LogFormat::RekorV2, "signet.db", "index.db"),
        (LogFormat::RekorV1, "rekor1/rekor-v1.db", "rekor1/index.db"),
        (LogFormat::Ct, "ct/ct.db", "ct/index.db"),
    ] {
        let mut store = SqliteStore::open(&data.join(store), false).unwrap();
        let kept = IndexDb::open(&data.join(index), false).unwrap();
        let mut rebuilt = IndexDb::in_memory().unwrap();
        let size = catch_up(format, &mut store, &mut rebuilt, u64::MAX).unwrap();
        assert!(size > 0, "{when}: the {} log is empty", format.name());
        assert_eq!(kept.indexed_size().unwrap(), size, "{when}: {}", format.name());
        let (kept, rebuilt) = (kept.dump().unwrap(), rebuilt.dump().unwrap());
        assert!(
            kept == rebuilt,
            "{when}: the {} index differs from its rebuild",
            format.name()
        );
        // The Fulcio workflow extensions of the GitHub-signed certificates are among them
        // (the Rekor v2 load entries are key-signed).
        if format != LogFormat::RekorV2 {
            let repository = signet_index::Field::Fulcio(5).code();
            assert!(
                kept.iter()
                    .any(|(field, value, _)| *field == repository && value.starts_with("load/app")),
                "{when}: no github_workflow_repository postings in the {} index",
                format.name()
            );
        }
        eprintln!(
            "{when}: {} index of {size} entries ({} postings) equals its rebuild",
            format.name(),
            kept.len()
        );
    }
}

#[test]
fn rebuilt_indexes_equal_the_incremental_ones_after_load_and_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start_with(&data, &["--dev-oidc"]);
    // Killed mid-load: the indexes (and the logs) stop wherever they were.
    let url = server.url.clone();
    let before_kill = load(&url, 4, |acked| {
        while acked.load(std::sync::atomic::Ordering::Relaxed) < 150 {
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill();
    });
    assert!(before_kill >= 150);
    let mut server = Server::start_with(&data, &["--dev-oidc"]);
    wait_indexed(&server);
    assert_rebuilt_equals_incremental(&data, "after SIGKILL mid-load");
    // More load, then a clean stop.
    let url = server.url.clone();
    load(&url, 4, |acked| {
        while acked.load(std::sync::atomic::Ordering::Relaxed) < 150 {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    wait_indexed(&server);
    server.terminate();
    assert_rebuilt_equals_incremental(&data, "after a load test");
}
