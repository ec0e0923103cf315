//! The CT log end to end, in process and through its HTTP routes: SCTs that verify when
//! embedded in the final Fulcio certificate, signed tree heads, proofs checked with
//! signet-tlog, entries, the static-ct-api read path, rejections, and restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::{Decode, Encode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use signet_crypto::{sha256, KeyKind, PublicKey, SigningKey};
use signet_ct::tile_leaf::{decode_data_tile, TileLeaf};
use signet_ct::{router, CtError, CtLog, SignedTreeHead};
use signet_formats::common::DistinguishedName;
use signet_keyfile::KeyFileError;
use signet_log::storage::Database;
use signet_tlog::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use signet_x509::fulcio::{fulcio_intermediate_certificate, fulcio_root_certificate, FulcioLeaf};
use signet_x509::profile::CertificateParams;
use signet_x509::sct::tls::Reader;
use signet_x509::sct::{
    decode_merkle_tree_leaf, verify_embedded_scts, CtLogKey, DigitallySigned, LogEntry, OwnedLogEntry,
    SignedCertificateTimestamp,
};
use signet_x509::{CertificateIdentity, FulcioExtensions, SubjectAlternativeName};
use tower::ServiceExt;

const ORIGIN: &str = "localhost/ct";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("signet-ct-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A Fulcio-shaped CA (root and intermediate) that issues precertificates and final leaves.
struct Ca {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    intermediate_key: SigningKey,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let root_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let intermediate_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let dn = |cn: &str| DistinguishedName {
            organization: "signet-test".into(),
            common_name: format!("{name}-{cn}"),
        };
        let (root_dn, int_dn) = (dn("root"), dn("intermediate"));
        let params = |subject| CertificateParams {
            subject,
            serial: &[7, 7, 7],
            not_before: now() - 60,
            not_after: now() + 86_400,
        };
        let root = fulcio_root_certificate(&root_key, &params(&root_dn)).unwrap();
        let intermediate = fulcio_intermediate_certificate(
            &root_key,
            &root,
            intermediate_key.public_key(),
            &params(&int_dn),
        )
        .unwrap();
        Ca {
            root,
            intermediate,
            intermediate_key,
        }
    }

    fn intermediate_spki(&self) -> Vec<u8> {
        self.intermediate_key.public_key().spki_der().to_vec()
    }

    /// A leaf description; `serial` makes each distinct.
    fn leaf<'a>(
        &'a self,
        key: &'a PublicKey,
        identity: &'a CertificateIdentity,
        serial: &'a [u8],
    ) -> FulcioLeaf<'a> {
        FulcioLeaf {
            issuer_cert_der: &self.intermediate,
            subject_key: key,
            identity,
            serial,
            not_before: now(),
            not_after: now() + 600,
        }
    }
}

fn identity() -> CertificateIdentity {
    CertificateIdentity {
        san: SubjectAlternativeName::Email("alice@example.com".into()),
        extensions: FulcioExtensions {
            issuer: Some("https://issuer.example.com".into()),
            ..Default::default()
        },
    }
}

fn open(dir: &Path, ca: &Ca) -> Arc<CtLog> {
    Arc::new(CtLog::open_or_create(dir, &Database::Sqlite, ORIGIN, vec![ca.root.clone()], now()).unwrap())
}

async fn call(log: &Arc<CtLog>, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = router(log.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    (
        status,
        resp.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

async fn get(log: &Arc<CtLog>, uri: &str) -> (StatusCode, Vec<u8>) {
    call(log, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_json(log: &Arc<CtLog>, uri: &str) -> Value {
    let (status, body) = get(log, uri).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

async fn post(log: &Arc<CtLog>, uri: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let (status, body) = call(
        log,
        Request::post(uri)
            .header("content-type", "application/json")
            .body(body.into())
            .unwrap(),
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn chain_json(chain: &[&[u8]]) -> String {
    json!({ "chain": chain.iter().map(|c| B64.encode(c)).collect::<Vec<_>>() }).to_string()
}

fn b64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h).try_into().unwrap())
        .collect()
}

/// Parses an RFC 6962 §4.1 add-chain response back into an SCT.
fn sct_from_json(v: &Value) -> SignedCertificateTimestamp {
    let bytes = b64(&v["signature"]);
    let mut r = Reader::new(&bytes);
    let signature = DigitallySigned::read(&mut r).unwrap();
    r.finish("signature").unwrap();
    SignedCertificateTimestamp {
        version: v["sct_version"].as_u64().unwrap() as u8,
        log_id: b64(&v["id"]).try_into().unwrap(),
        timestamp: v["timestamp"].as_u64().unwrap(),
        extensions: b64(&v["extensions"]),
        signature,
    }
}

fn sth_from_json(v: &Value) -> SignedTreeHead {
    let sig = b64(&v["tree_head_signature"]);
    let mut r = Reader::new(&sig);
    let tree_head_signature = DigitallySigned::read(&mut r).unwrap();
    r.finish("tree_head_signature").unwrap();
    SignedTreeHead {
        tree_size: v["tree_size"].as_u64().unwrap(),
        timestamp: v["timestamp"].as_u64().unwrap(),
        sha256_root_hash: b64(&v["sha256_root_hash"]).try_into().unwrap(),
        tree_head_signature,
    }
}

#[tokio::test]
async fn sct_from_add_pre_chain_verifies_in_the_final_certificate() {
    let dir = scratch("embed");
    let ca = Ca::new("embed");
    let log = open(&dir, &ca);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = identity();
    let leaf = ca.leaf(key.public_key(), &identity, &[1, 2, 3]);
    let precert = leaf.precertificate(&ca.intermediate_key).unwrap();

    let sct = log
        .add_pre_chain(vec![precert.clone(), ca.intermediate.clone(), ca.root.clone()])
        .await
        .unwrap();
    assert_eq!(sct.log_id, sha256(log.public_key().spki_der()));
    assert_eq!(sct.log_id, log.log_id());
    assert_eq!(
        (sct.signature.hash_algorithm, sct.signature.signature_algorithm),
        (4, 3)
    );

    let final_cert = leaf
        .certificate(&ca.intermediate_key, std::slice::from_ref(&sct))
        .unwrap();
    let logs = [CtLogKey::new(log.public_key().clone())];
    let verified = verify_embedded_scts(&final_cert, &ca.intermediate_spki(), &logs).unwrap();
    assert_eq!(verified[0].timestamp, sct.timestamp);
    // The SCT binds the issuer: with the root as issuer it fails.
    assert!(verify_embedded_scts(&final_cert, log.public_key().spki_der(), &logs).is_err());

    // The trusted-root entry names the same key and log id.
    let entry = log.trusted_root_entry();
    assert_eq!(entry.log_id.key_id, sct.log_id.to_vec());
    assert_eq!(
        entry.public_key.raw_bytes.as_deref(),
        Some(log.public_key().spki_der())
    );
    assert_eq!(entry.public_key.key_details, "PKIX_ECDSA_P256_SHA_256");

    // A chain without the root is completed with it.
    let precert2 = ca
        .leaf(key.public_key(), &identity, &[4, 5, 6])
        .precertificate(&ca.intermediate_key)
        .unwrap();
    log.add_pre_chain(vec![precert2, ca.intermediate.clone()])
        .await
        .unwrap();
    let entries = log.entries(1, 1).await.unwrap();
    let extra = &entries[0].1;
    let mut r = Reader::new(extra);
    r.u24_vec("pre_certificate").unwrap();
    let chain = r.u24_vec("chain").unwrap();
    r.finish("extra_data").unwrap();
    let mut r = Reader::new(chain);
    assert_eq!(r.u24_vec("intermediate").unwrap(), &ca.intermediate[..]);
    assert_eq!(r.u24_vec("root").unwrap(), &ca.root[..]);
    assert!(r.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn http_add_pre_chain_sth_proofs_and_entries() {
    let dir = scratch("http");
    let ca = Ca::new("http");
    let log = open(&dir, &ca);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = identity();

    let sth0 = sth_from_json(&get_json(&log, "/ct/v1/get-sth").await);
    assert_eq!(sth0.tree_size, 0);
    sth0.verify(log.public_key()).unwrap();

    // Three entries, concurrently, through HTTP.
    let mut submissions = Vec::new();
    for i in 0..3u8 {
        let serial = [9, i];
        let leaf = ca.leaf(key.public_key(), &identity, &serial);
        let precert = leaf.precertificate(&ca.intermediate_key).unwrap();
        let body = chain_json(&[&precert, &ca.intermediate, &ca.root]);
        let log = log.clone();
        submissions.push(tokio::spawn(async move {
            let (status, v) = post(&log, "/ct/v1/add-pre-chain", body).await;
            assert_eq!(status, StatusCode::OK, "{v}");
            (precert, sct_from_json(&v))
        }));
    }
    let mut added = Vec::new();
    for s in submissions {
        added.push(s.await.unwrap());
    }

    // Each SCT verifies embedded in its final certificate.
    let logs = [CtLogKey::new(log.public_key().clone())];
    for (i, (_, sct)) in added.iter().enumerate() {
        let serial = [9, i as u8];
        let leaf = ca.leaf(key.public_key(), &identity, &serial);
        let cert = leaf
            .certificate(&ca.intermediate_key, std::slice::from_ref(sct))
            .unwrap();
        verify_embedded_scts(&cert, &ca.intermediate_spki(), &logs).unwrap();
    }

    // get-sth: RFC 6962 §3.5 TreeHeadSignature verifies, and matches /checkpoint.
    let sth = sth_from_json(&get_json(&log, "/ct/v1/get-sth").await);
    assert_eq!(sth.tree_size, 3);
    sth.verify(log.public_key()).unwrap();
    assert!(sth.timestamp >= added.iter().map(|(_, s)| s.timestamp).max().unwrap());
    let mut forged = sth.clone();
    forged.tree_size = 4;
    assert!(forged.verify(log.public_key()).is_err());
    let (status, note) = get(&log, "/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    let note = String::from_utf8(note).unwrap();
    assert!(note.starts_with(&format!("{ORIGIN}\n3\n")), "{note}");
    assert_eq!(
        SignedTreeHead::from_checkpoint(&note, ORIGIN, &log.log_id()).unwrap(),
        sth
    );

    // get-proof-by-hash for each entry, verified with signet-tlog.
    let issuer_key_hash = sha256(&ca.intermediate_spki());
    for (precert, sct) in &added {
        let tbs = signet_x509::sct::precert_tbs(precert).unwrap();
        let entry = LogEntry::Precert {
            issuer_key_hash,
            tbs_certificate: &tbs,
        };
        let hash = leaf_hash(&signet_x509::sct::merkle_tree_leaf(sct.timestamp, &entry, &[]));
        // Deliberately leave '+' unescaped, as some clients do.
        let uri = format!("/ct/v1/get-proof-by-hash?hash={}&tree_size=3", B64.encode(hash));
        let v = get_json(&log, &uri).await;
        let index = v["leaf_index"].as_u64().unwrap();
        verify_inclusion(&hash, index, 3, &hashes(&v["audit_path"]), &sth.sha256_root_hash).unwrap();

        // get-entries returns that leaf.
        let e = get_json(&log, &format!("/ct/v1/get-entries?start={index}&end={index}")).await;
        let got = &e["entries"][0];
        let leaf = decode_merkle_tree_leaf(&b64(&got["leaf_input"])).unwrap();
        assert_eq!(leaf.timestamp, sct.timestamp);
        assert_eq!(leaf.entry.as_entry(), entry);
        let extra = b64(&got["extra_data"]);
        let mut r = Reader::new(&extra);
        assert_eq!(r.u24_vec("pre_certificate").unwrap(), &precert[..]);
    }
    let unknown = B64.encode([0u8; 32]);
    let (status, _) = get(
        &log,
        &format!("/ct/v1/get-proof-by-hash?hash={unknown}&tree_size=3"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // get-sth-consistency between an old and the new tree head.
    let key2 = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    for i in 0..2u8 {
        let precert = ca
            .leaf(key2.public_key(), &identity, &[8, i])
            .precertificate(&ca.intermediate_key)
            .unwrap();
        log.add_pre_chain(vec![precert, ca.intermediate.clone()])
            .await
            .unwrap();
    }
    let sth5 = sth_from_json(&get_json(&log, "/ct/v1/get-sth").await);
    assert_eq!(sth5.tree_size, 5);
    let v = get_json(&log, "/ct/v1/get-sth-consistency?first=3&second=5").await;
    verify_consistency(
        3,
        5,
        &sth.sha256_root_hash,
        &sth5.sha256_root_hash,
        &hashes(&v["consistency"]),
    )
    .unwrap();
    let v = get_json(&log, "/ct/v1/get-sth-consistency?first=5&second=5").await;
    assert!(v["consistency"].as_array().unwrap().is_empty());
    for bad in [
        "first=4&second=3",
        "first=1&second=6",
        "first=x&second=3",
        "second=3",
    ] {
        let (status, body) = get(&log, &format!("/ct/v1/get-sth-consistency?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(serde_json::from_slice::<Value>(&body).unwrap()["message"].is_string());
    }

    // get-entries caps the range at the tree.
    let e = get_json(&log, "/ct/v1/get-entries?start=0&end=1000").await;
    assert_eq!(e["entries"].as_array().unwrap().len(), 5);
    for bad in ["start=5&end=6", "start=2&end=1", "start=-1&end=2"] {
        let (status, _) = get(&log, &format!("/ct/v1/get-entries?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // get-roots.
    let roots = get_json(&log, "/ct/v1/get-roots").await;
    assert_eq!(b64(&roots["certificates"][0]), ca.root);

    // static-ct-api: the level-0 tile holds the leaf hashes, the data tile the TileLeafs.
    let (status, tile) = get(&log, "/tile/0/000.p/5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tile.len(), 5 * 32);
    let (status, data) = get(&log, "/tile/data/000.p/5").await;
    assert_eq!(status, StatusCode::OK);
    let leaves = decode_data_tile(&data).unwrap();
    assert_eq!(leaves.len(), 5);
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(&tile[i * 32..i * 32 + 32], &leaf_hash(&l.merkle_tree_leaf()));
        assert!(matches!(l.timestamped_entry.entry, OwnedLogEntry::Precert { .. }));
        assert_eq!(TileLeaf::decode(&l.encode().unwrap()).unwrap(), *l);
    }
    let (status, narrower) = get(&log, "/tile/data/000.p/2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(data.starts_with(&narrower));
    for missing in [
        "/tile/0/000.p/6",
        "/tile/0/000",
        "/tile/data/000",
        "/tile/entries/000.p/5",
        "/tile/x",
    ] {
        assert_eq!(get(&log, missing).await.0, StatusCode::NOT_FOUND, "{missing}");
    }
    let fp = leaves[0].certificate_chain[1];
    assert_eq!(fp, sha256(&ca.root));
    let hex: String = fp.iter().map(|b| format!("{b:02x}")).collect();
    let (status, root) = get(&log, &format!("/issuer/{hex}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(root, ca.root);
    assert_eq!(
        get(&log, &format!("/issuer/{}", "0".repeat(64))).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_submissions_are_refused_and_nothing_is_logged() {
    let dir = scratch("reject");
    let ca = Ca::new("reject");
    let other = Ca::new("other");
    let log = open(&dir, &ca);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = identity();
    let leaf = ca.leaf(key.public_key(), &identity, &[1]);
    let precert = leaf.precertificate(&ca.intermediate_key).unwrap();
    let good = log
        .add_pre_chain(vec![precert.clone(), ca.intermediate.clone()])
        .await
        .unwrap();
    let final_cert = leaf.certificate(&ca.intermediate_key, &[good]).unwrap();
    let other_precert = other
        .leaf(key.public_key(), &identity, &[2])
        .precertificate(&other.intermediate_key)
        .unwrap();
    let size = log.checkpoint().size;
    assert_eq!(size, 1);

    let cases: Vec<(&str, &str, String)> = vec![
        (
            "chain not ending at an accepted root",
            "/ct/v1/add-pre-chain",
            chain_json(&[&other_precert, &other.intermediate, &other.root]),
        ),
        (
            "final certificate to add-pre-chain",
            "/ct/v1/add-pre-chain",
            chain_json(&[&final_cert, &ca.intermediate]),
        ),
        (
            "precertificate to add-chain",
            "/ct/v1/add-chain",
            chain_json(&[&precert, &ca.intermediate]),
        ),
        (
            "issuer out of order",
            "/ct/v1/add-pre-chain",
            chain_json(&[&precert, &ca.root, &ca.intermediate]),
        ),
        (
            "garbage base64",
            "/ct/v1/add-pre-chain",
            r#"{"chain":["%%%not base64"]}"#.into(),
        ),
        ("empty chain", "/ct/v1/add-pre-chain", r#"{"chain":[]}"#.into()),
        ("not JSON", "/ct/v1/add-pre-chain", "chain".into()),
        (
            "not a certificate",
            "/ct/v1/add-pre-chain",
            chain_json(&[b"hello"]),
        ),
        ("a root alone", "/ct/v1/add-chain", chain_json(&[&ca.root])),
    ];
    for (what, uri, body) in cases {
        let (status, v) = post(&log, uri, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {v}");
        assert!(v["message"].is_string(), "{what}: {v}");
        assert_eq!(log.checkpoint().size, size, "{what}");
    }

    let (status, _) = post(
        &log,
        "/ct/v1/add-pre-chain",
        vec![b'x'; signet_ct::MAX_REQUEST_BYTES + 1],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // In process, the same refusals are typed.
    let err = log
        .add_pre_chain(vec![final_cert.clone(), ca.intermediate.clone()])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CtError::Chain(signet_ct::ChainError::NotPrecertificate)),
        "{err}"
    );
    assert!(err.is_client_error());
    assert_eq!(log.checkpoint().size, size);

    // A final certificate is accepted by add-chain.
    log.add_chain(vec![final_cert, ca.intermediate.clone(), ca.root.clone()])
        .await
        .unwrap();
    assert_eq!(log.checkpoint().size, size + 1);
}

#[tokio::test]
async fn restart_keeps_key_and_entries_and_half_written_is_refused() {
    let dir = scratch("restart");
    let ca = Ca::new("restart");
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = identity();
    let precert = ca
        .leaf(key.public_key(), &identity, &[3])
        .precertificate(&ca.intermediate_key)
        .unwrap();
    let (log_id, sth) = {
        let log = open(&dir, &ca);
        log.add_pre_chain(vec![precert.clone(), ca.intermediate.clone()])
            .await
            .unwrap();
        (log.log_id(), log.signed_tree_head().unwrap())
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("ct-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let log = open(&dir, &ca);
    assert_eq!(log.log_id(), log_id);
    let again = log.signed_tree_head().unwrap();
    assert_eq!(again, sth);
    let entries = log.entries(0, 0).await.unwrap();
    let mut r = Reader::new(&entries[0].1);
    assert_eq!(r.u24_vec("pre_certificate").unwrap(), &precert[..]);
    // New entries after the restart get later tree heads.
    let precert2 = ca
        .leaf(key.public_key(), &identity, &[4])
        .precertificate(&ca.intermediate_key)
        .unwrap();
    log.add_pre_chain(vec![precert2, ca.intermediate.clone()])
        .await
        .unwrap();
    let sth2 = log.signed_tree_head().unwrap();
    assert_eq!(sth2.tree_size, 2);
    assert!(sth2.timestamp >= sth.timestamp);
    drop(log);

    // Another origin is refused.
    let err = CtLog::open_or_create(
        &dir,
        &Database::Sqlite,
        "elsewhere/ct",
        vec![ca.root.clone()],
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, CtError::Setup(_)), "{err}");

    // A directory with the database but no key is refused.
    std::fs::remove_file(dir.join("ct-key.pem")).unwrap();
    let err =
        CtLog::open_or_create(&dir, &Database::Sqlite, ORIGIN, vec![ca.root.clone()], now()).unwrap_err();
    assert!(
        matches!(err, CtError::Files(KeyFileError::HalfWritten { .. })),
        "{err}"
    );

    // A bad origin or root is refused up front.
    let fresh = scratch("restart-fresh");
    assert!(CtLog::open_or_create(&fresh, &Database::Sqlite, "has space", vec![], now()).is_err());
    assert!(CtLog::open_or_create(&fresh, &Database::Sqlite, ORIGIN, vec![b"junk".to_vec()], now()).is_err());
}

#[test]
fn tile_leaf_parsers_never_panic() {
    use proptest::prelude::*;
    proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..400))| {
        let _ = TileLeaf::decode(&bytes);
        let _ = decode_data_tile(&bytes);
        let _ = SignedTreeHead::from_checkpoint(&String::from_utf8_lossy(&bytes), ORIGIN, &[0; 32]);
    });
}

#[test]
fn chain_der_round_trip_helper_is_sane() {
    // The CA helper builds certificates x509-cert parses, and the intermediate is a CA.
    let ca = Ca::new("sanity");
    let int = x509_cert::Certificate::from_der(&ca.intermediate).unwrap();
    assert_eq!(int.to_der().unwrap(), ca.intermediate);
}

/// The sample named exactly `sample` in a Prometheus text exposition.
fn metric(text: &str, sample: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {sample} in:\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_entries_and_submissions() {
    let dir = scratch("metrics");
    let ca = Ca::new("metrics");
    let log = open(&dir, &ca);
    let scrape = || async {
        let (status, body) = get(&log, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body).unwrap()
    };
    let text = scrape().await;
    for family in [
        "signet_ct_tree_size",
        "signet_ct_pending_entries",
        "signet_ct_entries_total",
        "signet_ct_duplicates_total",
        "signet_ct_batches_total",
        "signet_ct_commit_seconds_total",
        "signet_ct_accepted_total",
        "signet_ct_rejected_total",
        "signet_ct_failed_total",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}:\n{text}");
        assert!(text.contains(&format!("# TYPE {family} ")), "{family}:\n{text}");
    }
    assert_eq!(metric(&text, "signet_ct_tree_size"), 0);

    // One precertificate over HTTP, one in process (as the CA submits).
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let identity = identity();
    let precert = |serial: &[u8]| {
        ca.leaf(key.public_key(), &identity, serial)
            .precertificate(&ca.intermediate_key)
            .unwrap()
    };
    let first = precert(&[1]);
    let (status, v) = post(
        &log,
        "/ct/v1/add-pre-chain",
        chain_json(&[&first, &ca.intermediate]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    log.add_pre_chain(vec![precert(&[2]), ca.intermediate.clone()])
        .await
        .unwrap();
    // Refusals: a precertificate at add-chain, a body that is no chain.
    let (status, _) = post(
        &log,
        "/ct/v1/add-chain",
        chain_json(&[&precert(&[3]), &ca.intermediate]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(&log, "/ct/v1/add-pre-chain", "{\"chain\": 1}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let text = scrape().await;
    assert_eq!(metric(&text, "signet_ct_tree_size"), 2);
    assert_eq!(metric(&text, "signet_ct_entries_total"), 2);
    assert_eq!(metric(&text, "signet_ct_duplicates_total"), 0);
    assert!(metric(&text, "signet_ct_batches_total") >= 2);
    assert_eq!(
        metric(&text, "signet_ct_accepted_total{endpoint=\"add-pre-chain\"}"),
        2
    );
    assert_eq!(
        metric(&text, "signet_ct_accepted_total{endpoint=\"add-chain\"}"),
        0
    );
    assert_eq!(
        metric(&text, "signet_ct_rejected_total{endpoint=\"add-chain\"}"),
        1
    );
    assert_eq!(
        metric(&text, "signet_ct_rejected_total{endpoint=\"add-pre-chain\"}"),
        1
    );
    assert_eq!(
        metric(&text, "signet_ct_failed_total{endpoint=\"add-pre-chain\"}"),
        0
    );
    assert_eq!(log.stats().accepted(signet_ct::Submission::AddPreChain), 2);
}

#[test]
fn issuer_links_are_verified_once_and_a_forged_link_still_fails() {
    let ca = Ca::new("links");
    let other = Ca::new("other");
    let roots = vec![signet_x509::ParsedCertificate::from_der(&ca.root).unwrap()];
    let links = signet_ct::LinkCache::default();
    let identity = identity();
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    for serial in [[1u8], [2u8]] {
        let precert = ca
            .leaf(key.public_key(), &identity, &serial)
            .precertificate(&ca.intermediate_key)
            .unwrap();
        let chain = vec![precert, ca.intermediate.clone(), ca.root.clone()];
        signet_ct::validate_chain(&chain, true, &roots, &links).unwrap();
        assert_eq!(links.len(), 1, "only the intermediate → root link is remembered");
    }
    // Another CA's intermediate presented under our root: a different link, verified in full.
    let precert = other
        .leaf(key.public_key(), &identity, &[3])
        .precertificate(&other.intermediate_key)
        .unwrap();
    let chain = vec![precert, other.intermediate.clone(), ca.root.clone()];
    let err = signet_ct::validate_chain(&chain, true, &roots, &links).unwrap_err();
    assert!(
        matches!(err, signet_ct::ChainError::NotSignedByNext { index: 1, .. }),
        "{err}"
    );
    assert_eq!(links.len(), 1);
}

#[test]
fn a_tile_leaf_with_an_empty_precertificate_is_refused() {
    // timestamp, entry_type precert_entry, issuer_key_hash, tbs_certificate<1..2^24-1>,
    // extensions<0..2^16-1>, then pre_certificate<1..2^24-1> empty and an empty chain.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
    bytes.extend_from_slice(&[0, 1]);
    bytes.extend_from_slice(&[0xaa; 32]);
    bytes.extend_from_slice(&[0, 0, 2, 0x30, 0x00]);
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&[0, 0, 0]);
    bytes.extend_from_slice(&[0, 0]);
    let err = TileLeaf::read(&mut Reader::new(&bytes)).unwrap_err();
    assert!(err.to_string().contains("pre_certificate is empty"), "{err}");
}
