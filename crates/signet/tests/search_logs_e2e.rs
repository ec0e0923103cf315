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
    let body = json!({
        "credentials": { "oidcIdentityToken": dev_token(&server.url, email) },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": B64.encode(key.sign(email.as_bytes()).unwrap()),
        }
    });
    let reply = post(
        &format!("{}/api/v2/signingCert", server.url),
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_string()
}

/// Logs a hashedrekord 0.0.1 of `artifact` signed by `key`, verified by `verifier_pem` (its
/// certificate or its public key), in the Rekor v1 log; returns the entry's UUID (64 digits).
fn log_v1(server: &Server, key: &SigningKey, verifier_pem: &str, artifact: &[u8]) -> String {
    let digest = signet_crypto::sha256(artifact);
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": B64.encode(key.sign_digest(&digest).unwrap()),
                "publicKey": { "content": B64.encode(verifier_pem) }
            },
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } }
        }
    });
    let reply = post(
        &format!("{}/rekor1/api/v1/log/entries", server.url),
        proposed.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    reply.json().as_object().unwrap().keys().next().unwrap().clone()
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
