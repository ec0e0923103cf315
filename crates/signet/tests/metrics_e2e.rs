//! Every service's Prometheus endpoint against a real `signet server --dev-oidc`: each answers
//! 200 in the text exposition format with its metric families (HELP and TYPE lines), and the
//! counters move as certificates are issued and refused, timestamps granted and refused, CT
//! and transparency log entries added and refused.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::{add_entry, get, hashedrekord, post, Server};
use serde_json::json;
use signet_crypto::{KeyKind, SigningKey};

/// The families each endpoint exposes.
const CA_FAMILIES: &[&str] = &[
    "signet_ca_issued_total",
    "signet_ca_rejected_total",
    "signet_ca_failed_total",
    "signet_ca_issuance_seconds",
    "signet_ca_jwks_fetches_total",
];
const CT_FAMILIES: &[&str] = &[
    "signet_ct_tree_size",
    "signet_ct_pending_entries",
    "signet_ct_entries_total",
    "signet_ct_duplicates_total",
    "signet_ct_batches_total",
    "signet_ct_failed_batches_total",
    "signet_ct_commit_seconds_total",
    "signet_ct_accepted_total",
    "signet_ct_rejected_total",
    "signet_ct_failed_total",
];
const TSA_FAMILIES: &[&str] = &["signet_tsa_granted_total", "signet_tsa_rejected_total"];
const LOG_FAMILIES: &[&str] = &[
    "signet_log_tree_size",
    "signet_log_pending_entries",
    "signet_log_entries_total",
    "signet_log_duplicates_total",
    "signet_log_batches_total",
    "signet_log_failed_batches_total",
    "signet_log_commit_seconds_total",
    "signet_log_rejected_total",
];

/// The exposition at `path`, checked for status, content type and `families`.
fn scrape(server: &Server, path: &str, families: &[&str]) -> Metrics {
    let reply = get(&format!("{}{path}", server.url));
    assert_eq!(reply.status, 200, "{path}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4"),
        "{path}"
    );
    let text = String::from_utf8(reply.body).expect("UTF-8 exposition");
    for family in families {
        for line in ["# HELP", "# TYPE"] {
            assert!(
                text.contains(&format!("{line} {family} ")),
                "{path} lacks {line} {family}:\n{text}"
            );
        }
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("{path}: bad sample {line:?}"));
        assert!(name.starts_with("signet_"), "{path}: {name}");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("{path}: bad value in {line:?}"));
    }
    Metrics(text)
}

struct Metrics(String);

impl Metrics {
    /// The value of the sample named exactly `sample` (with its labels, if any).
    fn value(&self, sample: &str) -> f64 {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no sample {sample} in:\n{}", self.0))
            .parse()
            .unwrap()
    }
}

fn token(server: &Server, email: &str) -> String {
    let reply = post(
        &format!("{}/oidc/dev/token", server.url),
        json!({ "email": email }).to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["id_token"].as_str().unwrap().to_string()
}

fn signing_cert(server: &Server, token: &str, key: &SigningKey, signed: &str) -> common::Reply {
    let body = json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": B64.encode(key.sign(signed.as_bytes()).unwrap()),
        }
    });
    post(
        &format!("{}/api/v2/signingCert", server.url),
        body.to_string().as_bytes(),
    )
}

#[test]
fn metrics_endpoints_answer_and_counters_move() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--dev-oidc"]);

    let ca = scrape(&server, "/metrics", CA_FAMILIES);
    let ct = scrape(&server, "/ct/metrics", CT_FAMILIES);
    let tsa = scrape(&server, "/tsa/metrics", TSA_FAMILIES);
    let log = scrape(&server, "/rekor/metrics", LOG_FAMILIES);
    assert_eq!(ca.value("signet_ca_issued_total"), 0.0);
    assert_eq!(ca.value("signet_ca_issuance_seconds_count"), 0.0);
    assert_eq!(
        ca.value("signet_ca_jwks_fetches_total"),
        0.0,
        "the dev issuer is in process"
    );
    assert_eq!(ct.value("signet_ct_tree_size"), 0.0);
    assert_eq!(tsa.value("signet_tsa_granted_total"), 0.0);
    assert_eq!(log.value("signet_log_entries_total"), 0.0);

    // A certificate issued: the CA counts it and its latency, the CT log the precertificate.
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let alice = token(&server, "alice@example.com");
    let issued = signing_cert(&server, &alice, &key, "alice@example.com");
    assert_eq!(issued.status, 201, "{}", String::from_utf8_lossy(&issued.body));
    let ca = scrape(&server, "/metrics", CA_FAMILIES);
    assert_eq!(ca.value("signet_ca_issued_total"), 1.0);
    assert_eq!(ca.value("signet_ca_issuance_seconds_count"), 1.0);
    assert_eq!(ca.value("signet_ca_issuance_seconds_bucket{le=\"+Inf\"}"), 1.0);
    assert!(ca.value("signet_ca_issuance_seconds_sum") > 0.0);
    let ct = scrape(&server, "/ct/metrics", CT_FAMILIES);
    assert_eq!(
        ct.value("signet_ct_accepted_total{endpoint=\"add-pre-chain\"}"),
        1.0
    );
    assert_eq!(ct.value("signet_ct_entries_total"), 1.0);
    assert_eq!(ct.value("signet_ct_tree_size"), 1.0);
    assert!(ct.value("signet_ct_batches_total") >= 1.0);

    // Refusals, each under its reason; nothing more is issued.
    let bad_token = signing_cert(&server, "not.a.token", &key, "alice@example.com");
    assert_eq!(bad_token.status, 400);
    let bad_proof = signing_cert(&server, &alice, &key, "someone-else@example.com");
    assert_eq!(bad_proof.status, 400);
    let no_proof = post(
        &format!("{}/api/v2/signingCert", server.url),
        json!({ "credentials": { "oidcIdentityToken": alice } })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(no_proof.status, 400);
    let ca = scrape(&server, "/metrics", CA_FAMILIES);
    assert_eq!(ca.value("signet_ca_issued_total"), 1.0);
    assert_eq!(ca.value("signet_ca_rejected_total{reason=\"token\"}"), 1.0);
    assert_eq!(ca.value("signet_ca_rejected_total{reason=\"proof\"}"), 1.0);
    assert_eq!(ca.value("signet_ca_rejected_total{reason=\"request\"}"), 1.0);
    assert_eq!(ca.value("signet_ca_rejected_total{reason=\"key\"}"), 0.0);
    assert_eq!(ca.value("signet_ca_failed_total"), 0.0);

    // A chain the CT log refuses.
    let refused = post(
        &format!("{}/ct/ct/v1/add-chain", server.url),
        json!({ "chain": [B64.encode(b"not a certificate")] })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(refused.status, 400);
    let ct = scrape(&server, "/ct/metrics", CT_FAMILIES);
    assert_eq!(ct.value("signet_ct_rejected_total{endpoint=\"add-chain\"}"), 1.0);
    assert_eq!(ct.value("signet_ct_accepted_total{endpoint=\"add-chain\"}"), 0.0);
    assert_eq!(ct.value("signet_ct_tree_size"), 1.0);

    // A timestamp granted, one refused for its hash algorithm.
    let digest = signet_crypto::sha256(b"signature bytes");
    let granted = post(
        &format!("{}/tsa/api/v1/timestamp", server.url),
        json!({ "artifactHash": B64.encode(digest), "hashAlgorithm": "sha256" })
            .to_string()
            .as_bytes(),
    );
    assert_eq!(granted.status, 200);
    let bad_alg = post(
        &format!("{}/tsa/api/v1/timestamp", server.url),
        br#"{"artifactHash":"AAAA","hashAlgorithm":"md5"}"#,
    );
    assert_eq!(bad_alg.status, 400);
    let tsa = scrape(&server, "/tsa/metrics", TSA_FAMILIES);
    assert_eq!(tsa.value("signet_tsa_granted_total"), 1.0);
    assert_eq!(tsa.value("signet_tsa_rejected_total{reason=\"badAlg\"}"), 1.0);
    assert_eq!(
        tsa.value("signet_tsa_rejected_total{reason=\"systemFailure\"}"),
        0.0
    );

    // The transparency log's figures, through the same writer.
    let entry = add_entry(&server.log_url(), &hashedrekord(&key, b"artifact"));
    assert_eq!(entry.status, 201, "{}", String::from_utf8_lossy(&entry.body));
    let refused = post(&format!("{}/api/v2/log/entries", server.log_url()), b"{}");
    assert_eq!(refused.status, 400);
    let log = scrape(&server, "/rekor/metrics", LOG_FAMILIES);
    assert_eq!(log.value("signet_log_entries_total"), 1.0);
    assert_eq!(log.value("signet_log_tree_size"), 1.0);
    assert_eq!(log.value("signet_log_rejected_total"), 1.0);
}

#[test]
fn metrics_follow_only_the_services_that_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--only", "tsa"]);
    scrape(&server, "/tsa/metrics", TSA_FAMILIES);
    for absent in ["/metrics", "/ct/metrics", "/rekor/metrics"] {
        assert_eq!(get(&format!("{}{absent}", server.url)).status, 404, "{absent}");
    }
}
