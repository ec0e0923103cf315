//! Crash safety: SIGKILL the server in the middle of a load, restart it, and check that every
//! acknowledged entry is in the tree with a valid inclusion proof and that the new checkpoint
//! is consistent with every checkpoint handed out before the crash.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_tlog::{Hash, NoteVerifier};

/// What one client saw: (index, leaf hash) of each acknowledged entry, and the checkpoints.
type ClientLog = (Vec<(u64, Hash)>, Vec<String>);

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let log = server.log_url();
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let acked = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    // Clients: each records (index, leaf hash) and the checkpoint of every acknowledged entry.
    let results: Vec<ClientLog> = std::thread::scope(|s| {
        let clients: Vec<_> = (0..16)
            .map(|t| {
                let (log, key, acked, stop) = (&log, &key, &acked, &stop);
                s.spawn(move || {
                    let mut entries = Vec::new();
                    let mut checkpoints = Vec::new();
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let req = hashedrekord(key, format!("crash-{t}-{i}").as_bytes());
                        let Some(r) =
                            try_post(&format!("{log}/api/v2/log/entries"), req.to_string().as_bytes())
                        else {
                            break; // the server is gone
                        };
                        if r.status != 201 {
                            continue; // not acknowledged (e.g. the connection was cut mid-answer)
                        }
                        let tle = r.json();
                        let body = b64(tle["canonicalizedBody"].as_str().unwrap());
                        entries.push((
                            tle["logIndex"].as_str().unwrap().parse().unwrap(),
                            signet_tlog::leaf_hash(&body),
                        ));
                        checkpoints.push(
                            tle["inclusionProof"]["checkpoint"]["envelope"]
                                .as_str()
                                .unwrap()
                                .to_string(),
                        );
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    (entries, checkpoints)
                })
            })
            .collect();
        // Kill while the load is running.
        let start = Instant::now();
        while acked.load(Ordering::Relaxed) < 400 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        stop.store(true, Ordering::Relaxed);
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let entries: Vec<(u64, Hash)> = results.iter().flat_map(|(e, _)| e.iter().copied()).collect();
    assert!(
        entries.len() >= 400,
        "only {} entries acknowledged before the kill",
        entries.len()
    );

    let server = Server::start(dir.path());
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("trusted_root.json")).unwrap()).unwrap();
    let key =
        PublicKey::from_spki_der(&b64(root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap())).unwrap();
    let origin = server.log_url().strip_prefix("http://").unwrap().to_string();
    // The port changed, but the origin was fixed at first start.
    let first_origin = signet_tlog::Checkpoint::from_note_unverified(
        &results.iter().find(|r| !r.1.is_empty()).unwrap().1[0],
    )
    .unwrap()
    .origin;
    let verifier = NoteVerifier::new(&first_origin, key.clone()).unwrap();
    let _ = origin;
    let cp_text = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    let now =
        signet_tlog::verify_checkpoint(&cp_text, &first_origin, std::slice::from_ref(&verifier)).unwrap();

    let tiles = HttpTiles::new(&server.log_url(), now.size);
    let prover = signet_tlog::Prover::over_tiles(&tiles, now.size).unwrap();
    for (index, leaf) in &entries {
        assert!(
            *index < now.size,
            "acknowledged entry {index} is beyond the recovered tree size {}",
            now.size
        );
        let proof = prover.inclusion_proof(*index).unwrap();
        signet_tlog::verify_inclusion(leaf, *index, now.size, &proof, &now.root_hash)
            .unwrap_or_else(|e| panic!("acknowledged entry {index} is not in the recovered tree: {e}"));
    }
    let mut seen: BTreeMap<u64, Hash> = BTreeMap::new();
    for text in results.iter().flat_map(|(_, c)| c) {
        let cp =
            signet_tlog::verify_checkpoint(text, &first_origin, std::slice::from_ref(&verifier)).unwrap();
        if let Some(prev) = seen.insert(cp.size, cp.root_hash) {
            assert_eq!(
                prev, cp.root_hash,
                "two different roots handed out for size {}",
                cp.size
            );
        }
    }
    for (size, root) in &seen {
        let proof = prover.consistency_proof(*size).unwrap();
        signet_tlog::verify_consistency(*size, now.size, root, &now.root_hash, &proof).unwrap_or_else(|e| {
            panic!("checkpoint of size {size} is not consistent with the recovered tree: {e}")
        });
    }
    eprintln!(
        "{} acknowledged entries and {} checkpoints survived the crash",
        entries.len(),
        seen.len()
    );
}
