//! The Rekor v1 log end to end through its routes (in process, tower `oneshot`), mounted at
//! `/rekor1` as the server mounts it: each kind logged and read back, SETs and inclusion
//! proofs checked with signet-verify's Rekor v1 checks, a whole bundle built from a reply
//! verified with `signet_verify::verify`, duplicates, rejections, restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use signet_crypto::{sha256, HashAlgorithm, KeyKind, PublicKey, PublicKeyDetails, SigningKey};
use signet_formats::bundle::Bundle;
use signet_formats::dsse::pae;
use signet_formats::rekor_v1::RekorV1Entry;
use signet_formats::rekor_v2::TransparencyLogEntry;
use signet_formats::trust::{TrustedRoot, TRUSTED_ROOT_MEDIA_TYPE};
use signet_log::storage::Database;
use signet_log::v1::{router_v1, set_payload, RekorV1};
use signet_tlog::{verify_consistency, Hash, Note};
use signet_verify::{Artifact, PreparedTrust, SignerPolicy, TransparencyLog};
use tower::ServiceExt;

const ORIGIN: &str = "127.0.0.1:3000/rekor1";
const BASE_URL: &str = "http://127.0.0.1:3000/rekor1";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("signet-v1-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

struct Fixture {
    log: Arc<RekorV1>,
    app: Router,
}

impl Fixture {
    fn open(dir: &Path) -> Fixture {
        let log = Arc::new(RekorV1::open_or_create(dir, &Database::Sqlite, ORIGIN, now() - 60).unwrap());
        let app = Router::new().nest("/rekor1", router_v1(log.clone()));
        Fixture { log, app }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Option<String>, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(format!("/rekor1{path}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let location = resp
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        (status, location, body)
    }

    async fn json(&self, method: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let (status, _, bytes) = self
            .call(method, path, body.map(|b| serde_json::to_vec(b).unwrap()))
            .await;
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {status} {e}: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn tree_size(&self) -> u64 {
        self.json("GET", "/api/v1/log", None).await.1["treeSize"]
            .as_u64()
            .unwrap()
    }

    /// The log as signet-verify sees it through a trusted root with our base URL.
    fn trusted_log(&self) -> (TrustedRoot, TransparencyLog) {
        let mut entry = self.log.trusted_root_entry();
        entry.base_url = BASE_URL.into();
        let root = TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
            tlogs: vec![entry],
            certificate_authorities: vec![],
            ctlogs: vec![],
            timestamp_authorities: vec![],
        };
        let log = PreparedTrust::from_trusted_root(&root)
            .transparency_logs
            .remove(0);
        (root, log)
    }
}

fn hashedrekord(key: &SigningKey, artifact: &[u8]) -> Value {
    json!({
        "apiVersion": "0.0.1", "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex(&sha256(artifact))}},
            "signature": {
                "content": b64(&key.sign(artifact).unwrap()),
                "publicKey": {"content": b64(key.public_key().to_pem().as_bytes())},
            },
        },
    })
}

fn statement() -> Vec<u8> {
    json!({"_type": "https://in-toto.io/Statement/v1", "subject": [], "predicateType": "x", "predicate": {}})
        .to_string()
        .into_bytes()
}

fn dsse(key: &SigningKey, payload: &[u8]) -> Value {
    let envelope = json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": b64(payload),
        "signatures": [{"sig": b64(&key.sign(&pae(PAYLOAD_TYPE, payload)).unwrap()), "keyid": ""}],
    });
    json!({
        "apiVersion": "0.0.1", "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope.to_string(),
            "verifiers": [b64(key.public_key().to_pem().as_bytes())],
        }},
    })
}

/// As the sigstore-js CLI proposes it: payload and signature base64-encoded twice.
fn intoto(key: &SigningKey, payload: &[u8]) -> Value {
    let sig = key.sign(&pae(PAYLOAD_TYPE, payload)).unwrap();
    json!({
        "apiVersion": "0.0.2", "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": PAYLOAD_TYPE,
                "payload": b64(b64(payload).as_bytes()),
                "signatures": [{"sig": b64(b64(&sig).as_bytes()), "publicKey": b64(key.public_key().to_pem().as_bytes())}],
            },
            "hash": {"algorithm": "sha256", "value": hex(&sha256(b"the envelope as the client wrote it"))},
            "payloadHash": {"algorithm": "sha256", "value": hex(&sha256(payload))},
        }},
    })
}

/// The one `{uuid: entry}` of a reply.
fn only(reply: &Value) -> (String, Value) {
    let map = reply.as_object().unwrap();
    assert_eq!(map.len(), 1, "{reply}");
    let (k, v) = map.iter().next().unwrap();
    (k.clone(), v.clone())
}

/// A reply entry as a bundle's `TransparencyLogEntry` (protobuf-JSON: base64, int64 strings).
fn tlog_entry_json(entry: &Value, kind: &str, version: &str) -> Value {
    let proof = &entry["verification"]["inclusionProof"];
    json!({
        "logIndex": entry["logIndex"].as_u64().unwrap().to_string(),
        "logId": {"keyId": b64(&unhex(entry["logID"].as_str().unwrap()))},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": entry["integratedTime"].as_i64().unwrap().to_string(),
        "inclusionPromise": {"signedEntryTimestamp": entry["verification"]["signedEntryTimestamp"]},
        "inclusionProof": {
            "logIndex": proof["logIndex"].as_u64().unwrap().to_string(),
            "rootHash": b64(&unhex(proof["rootHash"].as_str().unwrap())),
            "treeSize": proof["treeSize"].as_u64().unwrap().to_string(),
            "hashes": proof["hashes"].as_array().unwrap().iter()
                .map(|h| b64(&unhex(h.as_str().unwrap()))).collect::<Vec<_>>(),
            "checkpoint": {"envelope": proof["checkpoint"]},
        },
        "canonicalizedBody": entry["body"],
    })
}

/// Checks an entry with signet-verify's Rekor v1 checks: the SET, and the inclusion proof
/// against the signed checkpoint.
fn check_entry(f: &Fixture, entry: &Value, kind: &str, version: &str) -> TransparencyLogEntry {
    let (_, log) = f.trusted_log();
    let tle: TransparencyLogEntry = serde_json::from_value(tlog_entry_json(entry, kind, version)).unwrap();
    let t = signet_verify::tlog::verify_inclusion_promise(&tle, &log, now() + 5).unwrap();
    assert_eq!(t, entry["integratedTime"].as_i64());
    let proved = signet_verify::tlog::verify_inclusion_proof(&tle, &log, Some("test"))
        .unwrap()
        .unwrap();
    assert_eq!(proved.leaf_index, tle.log_index);
    tle
}

#[tokio::test]
async fn hashedrekord_reply_makes_a_bundle_that_verifies() {
    let dir = scratch("bundle");
    let f = Fixture::open(&dir);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    // Index 0 first, so the entry under test is at index 1 (see INTEROP point 14).
    f.call(
        "POST",
        "/api/v1/log/entries",
        Some(hashedrekord(&key, b"zero").to_string().into_bytes()),
    )
    .await;
    let artifact = b"hello, rekor v1";
    let proposed = hashedrekord(&key, artifact);
    let (status, location, body) = f
        .call(
            "POST",
            "/api/v1/log/entries",
            Some(proposed.to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let reply: Value = serde_json::from_slice(&body).unwrap();
    let (uuid, entry) = only(&reply);
    assert_eq!(location.unwrap(), format!("/rekor1/api/v1/log/entries/{uuid}"));
    assert_eq!(entry["logIndex"], 1);
    assert_eq!(entry["logID"], hex(&f.log.log_id()));
    let t = entry["integratedTime"].as_i64().unwrap();
    assert!((now() - t).abs() < 5, "integratedTime {t}");
    let body = B64.decode(entry["body"].as_str().unwrap()).unwrap();
    assert_eq!(uuid, hex(&signet_tlog::leaf_hash(&body)));

    // The SET by hand: the log key over the canonical {body, integratedTime, logID, logIndex}.
    let set = B64
        .decode(entry["verification"]["signedEntryTimestamp"].as_str().unwrap())
        .unwrap();
    f.log
        .public_key()
        .verify(
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            &set_payload(&body, t, &f.log.log_id(), 1),
            &set,
        )
        .unwrap();
    check_entry(&f, &entry, "hashedrekord", "0.0.1");

    // Rekor v1's checkpoint: origin "<name> - <tree ID>", signer <name>, hint logID[:4].
    let cp = entry["verification"]["inclusionProof"]["checkpoint"]
        .as_str()
        .unwrap();
    assert!(
        cp.starts_with(&format!("{ORIGIN} - {}\n2\n", f.log.tree_id())),
        "{cp}"
    );
    let note = Note::parse(cp).unwrap();
    let sig = &note.signatures()[0];
    assert_eq!(sig.name, ORIGIN);
    assert_eq!(sig.key_hash.to_be_bytes(), f.log.log_id()[..4]);

    // A whole v0.3 bundle, verified as any signet client would.
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": ""},
            "tlogEntries": [tlog_entry_json(&entry, "hashedrekord", "0.0.1")],
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&sha256(artifact))},
            "signature": proposed["spec"]["signature"]["content"],
        },
    });
    let bundle = Bundle::from_json(bundle.to_string().as_bytes()).unwrap();
    let (root, _) = f.trusted_log();
    let trust = PreparedTrust::from_trusted_root(&root);
    let policy = |artifact: &'static [u8], key: &PublicKey| {
        signet_verify::Policy::new(Artifact::Bytes(artifact), SignerPolicy::PublicKey(key.clone()))
    };
    let verified =
        signet_verify::verify(&bundle, &policy(artifact, key.public_key()), &trust, now() + 5).unwrap();
    assert_eq!(verified.log_entries.len(), 1, "{verified:?}");
    assert!(signet_verify::verify(
        &bundle,
        &policy(b"another artifact", key.public_key()),
        &trust,
        now() + 5
    )
    .is_err());
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    assert!(
        signet_verify::verify(&bundle, &policy(artifact, other.public_key()), &trust, now() + 5).is_err()
    );
}

#[tokio::test]
async fn each_kind_is_logged_and_read_back() {
    let dir = scratch("kinds");
    let f = Fixture::open(&dir);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let payload = statement();
    let cases = [
        (hashedrekord(&key, b"artifact"), "hashedrekord", "0.0.1"),
        (dsse(&key, &payload), "dsse", "0.0.1"),
        (intoto(&key, &payload), "intoto", "0.0.2"),
    ];
    let mut uuids = Vec::new();
    for (i, (proposed, kind, version)) in cases.iter().enumerate() {
        let (status, reply) = f.json("POST", "/api/v1/log/entries", Some(proposed)).await;
        assert_eq!(status, StatusCode::CREATED, "{kind}: {reply}");
        let (uuid, entry) = only(&reply);
        assert_eq!(entry["logIndex"], i as u64);
        check_entry(&f, &entry, kind, version);
        let body = B64.decode(entry["body"].as_str().unwrap()).unwrap();
        // Stored as Rekor stores it: canonical JSON the verifier's parser reads.
        assert_eq!(signet_formats::canonical_json::canonicalize(&body).unwrap(), body);
        let parsed = RekorV1Entry::from_json(&body).unwrap();
        assert_eq!((parsed.kind(), parsed.api_version()), (*kind, *version));
        match parsed {
            RekorV1Entry::DsseV001(d) => {
                assert_eq!(d.payload_hash.unwrap().digest, sha256(&payload));
                assert_eq!(
                    d.signatures[0].verifier_pem,
                    signet_crypto::cosign_key::public_key_pem(key.public_key()).as_bytes()
                );
            }
            RekorV1Entry::IntotoV002(i) => {
                assert!(i.payload.is_none());
                assert_eq!(i.payload_hash.unwrap().digest, sha256(&payload));
            }
            RekorV1Entry::HashedRekordV001(h) => {
                assert_eq!(h.data_hash.algorithm, HashAlgorithm::Sha2_256);
            }
            other => panic!("{other:?}"),
        }
        uuids.push((uuid, body));
    }

    // Read back by UUID (plain and with a tree ID prefix) and by index; proofs against the
    // latest checkpoint.
    for (i, (uuid, body)) in uuids.iter().enumerate() {
        for path in [
            format!("/api/v1/log/entries/{uuid}"),
            format!("/api/v1/log/entries/{:016x}{uuid}", f.log.tree_id()),
            format!("/api/v1/log/entries?logIndex={i}"),
        ] {
            let (status, reply) = f.json("GET", &path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {reply}");
            let (got, entry) = only(&reply);
            assert_eq!(&got, uuid);
            assert_eq!(B64.decode(entry["body"].as_str().unwrap()).unwrap(), *body);
            assert_eq!(entry["verification"]["inclusionProof"]["treeSize"], 3);
            let (kind, version) = (cases[i].1, cases[i].2);
            check_entry(&f, &entry, kind, version);
        }
    }

    // Retrieve: by proposed entry (sigstore-python, with its trailing slash), UUID and index.
    let query = json!({"entries": [cases[0].0, hashedrekord(&key, b"never logged")]});
    let (status, found) = f
        .json("POST", "/api/v1/log/entries/retrieve/", Some(&query))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(only(&found[0]).0, uuids[0].0);
    let query = json!({"entryUUIDs": [uuids[1].0, hex(&[7; 32])], "logIndexes": [2, 99]});
    let (_, found) = f.json("POST", "/api/v1/log/entries/retrieve", Some(&query)).await;
    let got: Vec<String> = found.as_array().unwrap().iter().map(|e| only(e).0).collect();
    assert_eq!(got, vec![uuids[1].0.clone(), uuids[2].0.clone()]);

    // Unknown entries.
    let (status, _) = f
        .json("GET", &format!("/api/v1/log/entries/{}", hex(&[7; 32])), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f.json("GET", "/api/v1/log/entries?logIndex=3", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f.json("GET", "/api/v1/log/entries/nothex", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn duplicates_are_409_with_the_existing_location() {
    let dir = scratch("dup");
    let f = Fixture::open(&dir);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let proposed = serde_json::to_vec(&dsse(&key, &statement())).unwrap();
    let (status, first_location, first) = f
        .call("POST", "/api/v1/log/entries", Some(proposed.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let first: Value = serde_json::from_slice(&first).unwrap();
    let (status, location, body) = f.call("POST", "/api/v1/log/entries", Some(proposed)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(location, first_location);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], 409);
    // sigstore-js follows the Location to fetch the entry.
    let path = location.unwrap().strip_prefix("/rekor1").unwrap().to_string();
    let (status, again) = f.json("GET", &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only(&again).1["integratedTime"], only(&first).1["integratedTime"]);
    assert_eq!(f.tree_size().await, 1);
}

#[tokio::test]
async fn bad_requests_are_400_and_log_nothing() {
    let dir = scratch("bad");
    let f = Fixture::open(&dir);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let mut wrong_sig = hashedrekord(&key, b"artifact");
    wrong_sig["spec"]["data"]["hash"]["value"] = json!(hex(&sha256(b"other artifact")));
    let mut dsse_wrong_key = dsse(&key, &statement());
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    dsse_wrong_key["spec"]["proposedContent"]["verifiers"] =
        json!([b64(other.public_key().to_pem().as_bytes())]);
    let mut intoto_tampered = intoto(&key, &statement());
    intoto_tampered["spec"]["content"]["envelope"]["payload"] = json!(b64(b64(b"{}").as_bytes()));
    let bodies: Vec<Vec<u8>> = vec![
        wrong_sig.to_string().into_bytes(),
        dsse_wrong_key.to_string().into_bytes(),
        intoto_tampered.to_string().into_bytes(),
        br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#.to_vec(),
        br#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}"#.to_vec(),
        b"\xff\x00 garbage".to_vec(),
        b"{}".to_vec(),
        Vec::new(),
    ];
    for body in bodies {
        let (status, _, reply) = f.call("POST", "/api/v1/log/entries", Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let err: Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(err["code"], 400);
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    let huge = vec![b' '; signet_log::v1::MAX_REQUEST_BYTES + 1];
    let (status, _, _) = f.call("POST", "/api/v1/log/entries", Some(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(f.tree_size().await, 0);
}

#[tokio::test]
async fn restart_keeps_entries_key_and_tree_id() {
    let dir = scratch("restart");
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let (uuid, log_id, tree_id, pem) = {
        let f = Fixture::open(&dir);
        let mut uuid = String::new();
        for i in 0..3u8 {
            let (status, reply) = f
                .json("POST", "/api/v1/log/entries", Some(&hashedrekord(&key, &[i])))
                .await;
            assert_eq!(status, StatusCode::CREATED);
            uuid = only(&reply).0;
        }
        let (_, _, pem) = f.call("GET", "/api/v1/log/publicKey", None).await;
        (uuid, f.log.log_id(), f.log.tree_id(), pem)
    };
    let f = Fixture::open(&dir);
    assert_eq!((f.log.log_id(), f.log.tree_id()), (log_id, tree_id));
    let (_, _, pem_again) = f.call("GET", "/api/v1/log/publicKey", None).await;
    assert_eq!(pem, pem_again);
    assert_eq!(
        PublicKey::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap(),
        *f.log.public_key()
    );
    let (status, reply) = f.json("GET", &format!("/api/v1/log/entries/{uuid}"), None).await;
    assert_eq!(status, StatusCode::OK);
    check_entry(&f, &only(&reply).1, "hashedrekord", "0.0.1");
    let (status, reply) = f
        .json("POST", "/api/v1/log/entries", Some(&hashedrekord(&key, b"after")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(only(&reply).1["logIndex"], 3);

    // Another origin for the same directory is refused.
    drop(f);
    assert!(RekorV1::open_or_create(&dir, &Database::Sqlite, "elsewhere/rekor1", now()).is_err());
}

#[tokio::test]
async fn log_info_and_consistency_proofs() {
    let dir = scratch("proof");
    let f = Fixture::open(&dir);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let mut heads: Vec<(u64, Hash)> = Vec::new();
    for i in 0..5u8 {
        f.json("POST", "/api/v1/log/entries", Some(&hashedrekord(&key, &[i])))
            .await;
        let (status, info) = f.json("GET", "/api/v1/log", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["treeID"], f.log.tree_id().to_string());
        let size = info["treeSize"].as_u64().unwrap();
        let root: Hash = unhex(info["rootHash"].as_str().unwrap()).try_into().unwrap();
        // The signed tree head is a checkpoint the verifier accepts, for this root.
        let (_, log) = f.trusted_log();
        let cp = signet_verify::tlog::verify_log_checkpoint(info["signedTreeHead"].as_str().unwrap(), &log)
            .unwrap();
        assert_eq!((cp.size, cp.root_hash), (size, root));
        heads.push((size, root));
    }
    for &(first, first_root) in &heads {
        let (last, last_root) = heads[4];
        let (status, proof) = f
            .json(
                "GET",
                &format!("/api/v1/log/proof?firstSize={first}&lastSize={last}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        assert_eq!(proof["rootHash"], hex(&last_root));
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| unhex(h.as_str().unwrap()).try_into().unwrap())
            .collect();
        verify_consistency(first, last, &first_root, &last_root, &hashes).unwrap();
    }
    let (status, _) = f
        .json("GET", "/api/v1/log/proof?firstSize=3&lastSize=9", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = f.json("GET", "/api/v1/log/proof?firstSize=x", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
