//! Comparing the monitor's view of a log with witnesses' cosigned checkpoints: consistent
//! views of every size pass, a split view is an alert with both checkpoints as evidence, and
//! what a witness serves wrong (no cosignature, not the log's signature, unreachable) is an
//! error that names the witness.

use std::collections::HashMap;

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::rekor_v2::VerifierKey;
use signet_monitor::report::Check;
use signet_monitor::source::SourceError;
use signet_monitor::testlog::{hashedrekord_body, MemoryLog};
use signet_monitor::witnesses::{compare, Comparison, Witness, WitnessSource};
use signet_monitor::{follow_log, Context, FollowOptions, Rules, Store};
use signet_tlog::{CosignatureSigner, Note};

/// Witnesses in memory: what each serves for the log.
struct Served(HashMap<String, Result<Option<String>, SourceError>>);

impl WitnessSource for Served {
    fn latest(&self, witness: &Witness, _origin: &str) -> Result<Option<String>, SourceError> {
        self.0.get(&witness.name).cloned().unwrap_or(Ok(None))
    }
}

fn cosigner(name: &str) -> CosignatureSigner {
    CosignatureSigner::new(name, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap()
}

fn witness(signer: &CosignatureSigner) -> Witness {
    Witness {
        name: signer.name().to_string(),
        verifier: signer.verifier().clone(),
        url: format!("https://{}.example", signer.name()),
    }
}

fn cosign(envelope: &str, by: &CosignatureSigner) -> String {
    let mut note = Note::parse(envelope).unwrap();
    let sig = by.cosign(note.text(), 1_700_000_000).unwrap();
    note.add_signature(sig).unwrap();
    note.to_envelope()
}

fn fill(log: &mut MemoryLog, n: u64) {
    let key = VerifierKey::PublicKey(log.public_key().spki_der().to_vec());
    for _ in 0..n {
        let i = log.size();
        log.append(hashedrekord_body(
            signet_crypto::sha256(&i.to_be_bytes()),
            key.clone(),
        ));
    }
}

/// The monitor has followed `log` to its published size.
fn followed(log: &MemoryLog) -> Store {
    let mut store = Store::in_memory().unwrap();
    let rules = Rules::default();
    let options = FollowOptions::default();
    let now = || "2026-01-01T00:00:00Z".to_string();
    let ctx = Context {
        rules: &rules,
        options: &options,
        now: &now,
    };
    let mut lines: Vec<String> = Vec::new();
    let o = follow_log(&log.target(), log, &mut store, &ctx, &mut lines);
    assert_eq!((o.alerts, o.errors), (0, 0), "{lines:?}");
    store
}

fn run(
    log: &MemoryLog,
    store: &Store,
    w: &Witness,
    served: Result<Option<String>, SourceError>,
) -> (Comparison, Vec<serde_json::Value>) {
    let fetch = Served(HashMap::from([(w.name.clone(), served)]));
    let mut lines: Vec<String> = Vec::new();
    let c = compare(
        &log.target(),
        store,
        log,
        std::slice::from_ref(w),
        &fetch,
        &mut lines,
    );
    let json = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    (c, json)
}

#[test]
fn consistent_checkpoints_of_every_size_pass() {
    let mut log = MemoryLog::new("log.example/a").unwrap();
    let signer = cosigner("w1");
    let w = witness(&signer);
    fill(&mut log, 300);
    log.publish_at(Some(40));
    let at_40 = log.checkpoint_note();
    log.publish_at(Some(260));
    let store = followed(&log);
    // Behind the monitor, level with it, ahead of it (the log has grown since), and empty.
    log.publish_at(Some(40));
    let behind = log.checkpoint_note();
    log.publish_at(Some(260));
    let level = log.checkpoint_note();
    log.publish_at(None);
    let ahead = log.checkpoint_note();
    for envelope in [
        behind,
        level,
        ahead,
        log.sign_view(0, signet_tlog::empty_root()),
        at_40,
    ] {
        let (c, lines) = run(&log, &store, &w, Ok(Some(cosign(&envelope, &signer))));
        assert_eq!(
            c,
            Comparison {
                checked: 1,
                alerts: 0,
                errors: 0
            },
            "{envelope}: {lines:?}"
        );
        assert!(lines.is_empty());
    }
    // A witness that has not seen the log: nothing to compare, nothing said.
    let (c, lines) = run(&log, &store, &w, Ok(None));
    assert_eq!(c, Comparison::default());
    assert!(lines.is_empty());
}

#[test]
fn a_split_view_is_an_alert_with_both_checkpoints() {
    let mut log = MemoryLog::new("log.example/b").unwrap();
    let signer = cosigner("w1");
    let w = witness(&signer);
    fill(&mut log, 100);
    log.publish_at(Some(70));
    let store = followed(&log);
    // The checkpoint as the monitor verified it (ECDSA signatures differ at each signing).
    let ours = store.load(&log.origin).unwrap().unwrap().verified.envelope;
    let other_root = [7u8; 32];
    // The same size with another root; a smaller tree that is not a prefix; a larger tree
    // that does not extend the monitor's (the log's own tiles give another root).
    for (size, why) in [(70, "split view"), (30, "not consistent"), (90, "give root")] {
        let theirs = cosign(&log.sign_view(size, other_root), &signer);
        let (c, lines) = run(&log, &store, &w, Ok(Some(theirs.clone())));
        assert_eq!((c.alerts, c.errors), (1, 0), "{size}: {lines:?}");
        let alert = &lines[0];
        assert_eq!(alert["type"], "alert");
        assert_eq!(alert["check"], "witness_fork");
        let message = alert["message"].as_str().unwrap();
        assert!(
            message.contains("witness w1") && message.contains(why),
            "{message}"
        );
        assert_eq!(
            alert["evidence"],
            serde_json::json!([ours, theirs]),
            "both signed checkpoints, the monitor's first"
        );
    }
}

#[test]
fn what_a_witness_serves_wrong_is_an_error_naming_it() {
    let mut log = MemoryLog::new("log.example/c").unwrap();
    let signer = cosigner("w1");
    let w = witness(&signer);
    fill(&mut log, 50);
    let store = followed(&log);
    let honest = log.checkpoint_note();
    let other_log = MemoryLog::new("log.example/c").unwrap();
    let cases = [
        // The log's checkpoint without the witness's cosignature.
        (Ok(Some(honest.clone())), Check::WitnessCheckpoint, "cosignature"),
        // Cosigned by another witness key of the same name.
        (
            Ok(Some(cosign(&honest, &cosigner("w1")))),
            Check::WitnessCheckpoint,
            "cosignature",
        ),
        // Cosigned, but not signed by the log's key: says nothing about the log.
        (
            Ok(Some(cosign(&other_log.sign_view(50, [1; 32]), &signer))),
            Check::WitnessCheckpoint,
            "not the log's",
        ),
        (
            Err(SourceError::Unreachable {
                path: "https://w1.example/x/checkpoint".into(),
                reason: "connection refused".into(),
            }),
            Check::WitnessFetch,
            "connection refused",
        ),
    ];
    for (served, check, why) in cases {
        let (c, lines) = run(&log, &store, &w, served);
        assert_eq!((c.alerts, c.errors, c.checked), (0, 1, 0), "{lines:?}");
        assert_eq!(lines[0]["type"], "error");
        assert_eq!(lines[0]["check"], serde_json::to_value(check).unwrap());
        let message = lines[0]["message"].as_str().unwrap();
        assert!(
            message.contains("witness w1") && message.contains(why),
            "{message}"
        );
    }
    // Ahead of what the log serves (its tiles stop at 50): cannot be checked yet, an error.
    let ahead = cosign(&log.sign_view(80, [2; 32]), &signer);
    let (c, lines) = run(&log, &store, &w, Ok(Some(ahead)));
    assert_eq!((c.alerts, c.errors), (0, 1), "{lines:?}");
    assert_eq!(lines[0]["check"], "tile");
}
