//! End-to-end tests of the transparency log against a real `signet server` process.

mod common;

use std::collections::HashMap;

use common::*;
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_tlog::{Hash, NoteVerifier};

/// The log's checkpoint verifier and ID, read from the trusted_root.json the server wrote.
struct LogTrust {
    origin: String,
    verifier: NoteVerifier,
    log_id: Vec<u8>,
}

fn log_trust(server: &Server) -> LogTrust {
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap();
    let tlog = &root["tlogs"][0];
    assert_eq!(tlog["baseUrl"], server.log_url());
    assert_eq!(tlog["publicKey"]["keyDetails"], "PKIX_ED25519");
    let key = PublicKey::from_spki_der(&b64(tlog["publicKey"]["rawBytes"].as_str().unwrap())).unwrap();
    // The origin is fixed at first start (the port may differ on a later start).
    let note = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    let origin = note.lines().next().unwrap().to_string();
    let log_id = b64(tlog["logId"]["keyId"].as_str().unwrap());
    assert_eq!(
        log_id,
        signet_tlog::rekor_log_id(&origin, &key).to_vec(),
        "logId is Rekor v2's key ID"
    );
    let verifier = NoteVerifier::new(&origin, key.clone()).unwrap();
    LogTrust {
        origin,
        verifier,
        log_id,
    }
}

/// Checks a TransparencyLogEntry response field by field and returns (index, size, root).
fn check_entry(trust: &LogTrust, tle: &serde_json::Value, kind: &str) -> (u64, u64, Hash) {
    let keys: Vec<&str> = tle.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "canonicalizedBody",
            "inclusionProof",
            "kindVersion",
            "logId",
            "logIndex"
        ],
        "{tle}"
    );
    let index: u64 = tle["logIndex"]
        .as_str()
        .expect("logIndex is a string")
        .parse()
        .unwrap();
    assert_eq!(b64(tle["logId"]["keyId"].as_str().unwrap()), trust.log_id);
    assert_eq!(tle["kindVersion"]["kind"], kind);
    assert_eq!(tle["kindVersion"]["version"], "0.0.2");
    let proof = &tle["inclusionProof"];
    let mut pkeys: Vec<&str> = proof.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    pkeys.sort();
    assert_eq!(
        pkeys,
        ["checkpoint", "hashes", "logIndex", "rootHash", "treeSize"]
    );
    assert_eq!(proof["logIndex"].as_str().unwrap(), index.to_string());
    let size: u64 = proof["treeSize"]
        .as_str()
        .expect("treeSize is a string")
        .parse()
        .unwrap();
    let root: Hash = b64(proof["rootHash"].as_str().unwrap()).try_into().unwrap();
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| b64(h.as_str().unwrap()).try_into().unwrap())
        .collect();
    let cp = signet_tlog::verify_checkpoint(
        proof["checkpoint"]["envelope"].as_str().unwrap(),
        &trust.origin,
        std::slice::from_ref(&trust.verifier),
    )
    .expect("checkpoint verifies with the trusted key");
    assert_eq!((cp.size, cp.root_hash), (size, root));
    let body = b64(tle["canonicalizedBody"].as_str().unwrap());
    let leaf = signet_tlog::leaf_hash(&body);
    signet_tlog::verify_inclusion(&leaf, index, size, &hashes, &root).expect("inclusion proof verifies");
    (index, size, root)
}

#[test]
fn hashedrekord_is_logged_with_a_verifiable_proof_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let trust = log_trust(&server);
    assert_eq!(
        trust.origin, "127.0.0.1",
        "the origin is the log URL's host name, as sigstore-go verifies it"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("keys/log-ed25519.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the log key is private");
    for f in ["trusted_root.json", "signing_config.json", "trust_config.json"] {
        assert!(dir.path().join(f).exists(), "{f} written on first start");
    }
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();

    let first = add_entry(&server.log_url(), &hashedrekord(&key, b"artifact one"));
    assert_eq!(first.status, 201, "{}", String::from_utf8_lossy(&first.body));
    let (i0, _, _) = check_entry(&trust, &first.json(), "hashedrekord");
    assert_eq!(i0, 0);

    let second = add_entry(&server.log_url(), &hashedrekord(&key, b"artifact two"));
    assert_eq!(second.status, 201);
    let (i1, size, _) = check_entry(&trust, &second.json(), "hashedrekord");
    assert_eq!((i1, size), (1, 2));

    // The same entry again: same index, a fresh proof, nothing new in the tree.
    let again = add_entry(&server.log_url(), &first.json_request_of(&key, b"artifact one"));
    assert_eq!(again.status, 200);
    assert_eq!(again.header("x-log-index"), Some("0"));
    let (i, size, _) = check_entry(&trust, &again.json(), "hashedrekord");
    assert_eq!((i, size), (0, 2));

    // The stored body is the canonical Rekor v2 entry.
    let body: serde_json::Value =
        serde_json::from_slice(&b64(first.json()["canonicalizedBody"].as_str().unwrap())).unwrap();
    assert_eq!(body["apiVersion"], "0.0.2");
    assert_eq!(body["spec"]["hashedRekordV002"]["data"]["algorithm"], "SHA2_256");
}

trait RequestOf {
    fn json_request_of(&self, key: &SigningKey, data: &[u8]) -> serde_json::Value;
}
impl RequestOf for Reply {
    /// ECDSA signatures are randomised: re-sending the *same* entry means re-sending the same
    /// signature, so rebuild the request from the logged body.
    fn json_request_of(&self, _key: &SigningKey, _data: &[u8]) -> serde_json::Value {
        let body: serde_json::Value =
            serde_json::from_slice(&b64(self.json()["canonicalizedBody"].as_str().unwrap())).unwrap();
        let spec = &body["spec"]["hashedRekordV002"];
        serde_json::json!({"hashedRekordRequestV002": {"digest": spec["data"]["digest"], "signature": spec["signature"]}})
    }
}

#[test]
fn x509_certificate_verifier_and_dsse_entries_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let trust = log_trust(&server);

    // A certificate whose key signs the digest.
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let kp = rcgen::KeyPair::try_from(key.pkcs8_der()).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["signer.example".to_string()])
        .unwrap()
        .self_signed(&kp)
        .unwrap();
    let digest = signet_crypto::sha256(b"cert-signed artifact");
    let req = serde_json::json!({"hashedRekordRequestV002": {
        "digest": base64_of(&digest),
        "signature": {"content": base64_of(&key.sign_digest(&digest).unwrap()),
            "verifier": {"x509Certificate": {"rawBytes": base64_of(cert.der())}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}});
    let r = add_entry(&server.log_url(), &req);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    check_entry(&trust, &r.json(), "hashedrekord");

    // A DSSE envelope signed over its PAE.
    let payload =
        br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}"#;
    let payload_type = "application/vnd.in-toto+json";
    let pae = [
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .as_bytes(),
        payload,
    ]
    .concat();
    let sig = key.sign(&pae).unwrap();
    let req = serde_json::json!({"dsseRequestV002": {
        "envelope": {"payload": base64_of(payload), "payloadType": payload_type, "signatures": [{"sig": base64_of(&sig), "keyid": ""}]},
        "verifiers": [{"publicKey": {"rawBytes": base64_of(key.public_key().spki_der())}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}]}});
    let r = add_entry(&server.log_url(), &req);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let (index, _, _) = check_entry(&trust, &r.json(), "dsse");
    assert_eq!(index, 1);
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[test]
fn bad_requests_get_a_4xx_json_error_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let log = server.log_url();
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let good = hashedrekord(&key, b"x");
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed JSON", b"{\"hashedRekordRequestV002\": ".to_vec()),
        ("not an object", b"[1,2,3]".to_vec()),
        ("unknown kind", br#"{"rekordRequestV001": {}}"#.to_vec()),
        ("empty object", b"{}".to_vec()),
    ];
    let mut wrong_len = good.clone();
    wrong_len["hashedRekordRequestV002"]["digest"] = base64_of(&[1u8; 31]).into();
    cases.push(("wrong-length digest", wrong_len.to_string().into_bytes()));
    let mut bad_sig = good.clone();
    bad_sig["hashedRekordRequestV002"]["signature"]["content"] =
        base64_of(&other.sign_digest(&signet_crypto::sha256(b"x")).unwrap()).into();
    cases.push(("bad signature", bad_sig.to_string().into_bytes()));
    let mut bad_key = good.clone();
    bad_key["hashedRekordRequestV002"]["signature"]["verifier"]["publicKey"]["rawBytes"] =
        base64_of(b"not a key").into();
    cases.push(("unparsable key", bad_key.to_string().into_bytes()));
    let mut bad_cert = good.clone();
    bad_cert["hashedRekordRequestV002"]["signature"]["verifier"] = serde_json::json!({"x509Certificate": {"rawBytes": base64_of(b"not a cert")}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"});
    cases.push(("unparsable certificate", bad_cert.to_string().into_bytes()));
    let mut bad_details = good.clone();
    bad_details["hashedRekordRequestV002"]["signature"]["verifier"]["keyDetails"] = "PKIX_ED25519".into();
    cases.push((
        "key details not matching the key",
        bad_details.to_string().into_bytes(),
    ));
    let mut bad_b64 = good.clone();
    bad_b64["hashedRekordRequestV002"]["digest"] = "!!not base64!!".into();
    cases.push(("bad base64", bad_b64.to_string().into_bytes()));
    cases.push(("oversized body", vec![b' '; 5 << 20]));

    let n_cases = cases.len() as f64;
    for (what, body) in cases {
        let r = post(&format!("{log}/api/v2/log/entries"), &body);
        assert!(
            (400..500).contains(&r.status),
            "{what}: status {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        let err = r.json();
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {err}"
        );
    }
    let cp = get(&format!("{log}/checkpoint"));
    assert_eq!(cp.status, 200);
    let text = String::from_utf8(cp.body).unwrap();
    assert_eq!(text.lines().nth(1), Some("0"), "nothing was logged: {text}");

    // A good one still works afterwards.
    assert_eq!(add_entry(&log, &good).status, 201);

    // The refusals and the one entry show in the metrics.
    let metrics = String::from_utf8(get(&format!("{log}/metrics")).body).unwrap();
    let value = |name: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}"));
        line.split(' ').nth(1).unwrap().parse().unwrap()
    };
    assert_eq!(value("signet_log_rejected_total"), n_cases, "{metrics}");
    assert_eq!(value("signet_log_entries_total"), 1.0);
    assert_eq!(value("signet_log_tree_size"), 1.0);
}

#[test]
fn tiles_alone_prove_every_entry_and_restart_keeps_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let trust = log_trust(&server);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    // Cross a tile boundary, from several threads so batches hold many entries.
    let n = 300u64;
    let log = server.log_url();
    let leaves: Vec<(u64, Hash)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let (log, key) = (&log, &key);
                s.spawn(move || {
                    (0..n / 6)
                        .map(|i| {
                            let r = add_entry(log, &hashedrekord(key, format!("{t}-{i}").as_bytes()));
                            assert_eq!(r.status, 201);
                            let tle = r.json();
                            let body = b64(tle["canonicalizedBody"].as_str().unwrap());
                            (
                                tle["logIndex"].as_str().unwrap().parse().unwrap(),
                                signet_tlog::leaf_hash(&body),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut indices: Vec<u64> = leaves.iter().map(|(i, _)| *i).collect();
    indices.sort();
    assert_eq!(
        indices,
        (0..n).collect::<Vec<_>>(),
        "indices are dense and unique"
    );

    let cp_text = String::from_utf8(get(&format!("{log}/checkpoint")).body).unwrap();
    let cp = signet_tlog::verify_checkpoint(&cp_text, &trust.origin, std::slice::from_ref(&trust.verifier))
        .unwrap();
    assert_eq!(cp.size, n);
    let tiles = HttpTiles::new(&log, n);
    let prover = signet_tlog::Prover::over_tiles(&tiles, n).unwrap();
    for (index, leaf) in &leaves {
        let proof = prover.inclusion_proof(*index).unwrap();
        signet_tlog::verify_inclusion(leaf, *index, n, &proof, &cp.root_hash).unwrap();
    }
    // Entry bundles hold the bodies in order.
    let bundle = get(&format!("{log}/tile/entries/000"));
    assert_eq!(bundle.status, 200);
    let bodies = signet_tlog::decode_entry_bundle(&bundle.body).unwrap();
    assert_eq!(bodies.len(), 256);
    let by_index: HashMap<u64, Hash> = leaves.iter().copied().collect();
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(signet_tlog::leaf_hash(body), by_index[&(i as u64)]);
    }
    assert_eq!(get(&format!("{log}/tile/entries/001.p/44")).status, 200);
    assert_eq!(get(&format!("{log}/tile/entries/001.p/45")).status, 404);
    assert_eq!(get(&format!("{log}/tile/entries/001")).status, 404);
    assert_eq!(get(&format!("{log}/tile/0/002")).status, 404);
    assert_eq!(
        get(&format!("{log}/tile/0/x000/000")).status,
        404,
        "non-canonical path"
    );
    assert_eq!(
        get(&format!("{log}/tile/0/0000")).status,
        404,
        "non-canonical path"
    );
    assert_eq!(get(&format!("{log}/tile/0/000.p/300")).status, 404);

    // A clean restart keeps the log: same origin and key, the checkpoint carries on.
    assert!(server.terminate().success());
    let server = Server::start(dir.path());
    let trust2 = log_trust(&server);
    assert_eq!(trust2.log_id, trust.log_id);
    let r = add_entry(&server.log_url(), &hashedrekord(&key, b"after restart"));
    assert_eq!(r.status, 201);
    let (index, size, root) = check_entry(&trust2, &r.json(), "hashedrekord");
    assert_eq!((index, size), (n, n + 1));
    let tiles = HttpTiles::new(&server.log_url(), size);
    let proof = signet_tlog::Prover::over_tiles(&tiles, size)
        .unwrap()
        .consistency_proof(n)
        .unwrap();
    signet_tlog::verify_consistency(n, size, &cp.root_hash, &root, &proof).unwrap();
}

#[test]
fn a_data_directory_in_use_or_damaged_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let err = Server::try_start(dir.path())
        .err()
        .expect("second server must be refused");
    assert!(err.contains("in use by another signet server"), "{err}");
    drop(server);

    // The log key gone: starting would fork the log, so refuse.
    std::fs::rename(
        dir.path().join("keys/log-ed25519.pem"),
        dir.path().join("moved.pem"),
    )
    .unwrap();
    let err = Server::try_start(dir.path())
        .err()
        .expect("must refuse without the key");
    assert!(err.contains("log key") && err.contains("missing"), "{err}");
    std::fs::rename(
        dir.path().join("moved.pem"),
        dir.path().join("keys/log-ed25519.pem"),
    )
    .unwrap();

    // Garbage in place of the database.
    std::fs::write(
        dir.path().join("signet.db"),
        b"this is not a database, just some bytes....",
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.path().join("signet.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("signet.db-shm"));
    let err = Server::try_start(dir.path())
        .err()
        .expect("must refuse a corrupt database");
    assert!(err.contains("signet.db"), "{err}");
}
