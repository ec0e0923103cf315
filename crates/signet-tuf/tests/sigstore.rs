//! The client against Sigstore's real TUF metadata: the public-good root history
//! (tests/data/sigstore, see SOURCE there) chains from version 1 to 15, the HEAD metadata
//! verifies offline for public-good and staging, and a full refresh against an in-memory copy
//! of the CDN's layout downloads trusted_root.json. The HEAD metadata and targets are the one
//! copy the `signet` binary compiles in (crates/signet-client/trust, see its README), read from there
//! so that the two can never drift apart.

mod common;

use common::{MemFetcher, MemStore};
use serde_json::Value;
use signet_tuf::{Expires, LocalMetadata, RoleType, TrustedSet, TufError, Updater, UpdaterConfig};

/// The root history, kept for these tests only.
const HISTORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sigstore/");
/// HEAD metadata and targets per instance: the copy built into `signet`.
const HEAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../signet-client/trust/");
const METADATA_URL: &str = "https://tuf-repo-cdn.sigstore.dev/";
const TARGETS_URL: &str = "https://tuf-repo-cdn.sigstore.dev/targets/";
/// sha256 of public-good's trusted_root.json, as targets.json v14 lists it.
const TRUSTED_ROOT_SHA256: &str = "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

fn read_from(dir: &str, path: &str) -> Vec<u8> {
    std::fs::read(format!("{dir}{path}")).unwrap_or_else(|e| panic!("{dir}{path}: {e}"))
}

/// `<instance>/<file>` of the HEAD metadata.
fn read(path: &str) -> Vec<u8> {
    read_from(HEAD, path)
}

fn history(version: u64) -> Vec<u8> {
    read_from(HISTORY, &format!("public-good/root_history/{version}.root.json"))
}

fn head(instance: &str) -> LocalMetadata {
    LocalMetadata {
        root: read(&format!("{instance}/root.json")),
        timestamp: Some(read(&format!("{instance}/timestamp.json"))),
        snapshot: Some(read(&format!("{instance}/snapshot.json"))),
        targets: Some(read(&format!("{instance}/targets.json"))),
    }
}

fn unix(rfc3339: &str) -> i64 {
    Expires::parse(rfc3339).unwrap().unix_seconds()
}

/// When the public-good HEAD was signed (the commit time in SOURCE): everything is current.
fn head_time() -> i64 {
    unix("2026-08-21T19:25:56Z")
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Root `version`'s `roles.root.keyids`.
fn root_keyids(version: u64) -> Vec<String> {
    json(&history(version))["signed"]["roles"]["root"]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// `bytes` with its signature entries filtered.
fn keep_signatures(bytes: &[u8], mut keep: impl FnMut(&str, &str) -> bool) -> Vec<u8> {
    let mut v = json(bytes);
    let sigs = v["signatures"].as_array_mut().unwrap();
    sigs.retain(|s| keep(s["keyid"].as_str().unwrap(), s["sig"].as_str().unwrap()));
    serde_json::to_vec_pretty(&v).unwrap()
}

/// Tries one hop: trusting root `from`, the repository serves `next` as `from+1`.
/// Returns the error the refresh stopped at and the root version reached.
fn hop(from: u64, next: Vec<u8>) -> (TufError, u64) {
    let local = LocalMetadata {
        root: history(from),
        ..LocalMetadata::default()
    };
    let mut updater = Updater::new(&local, METADATA_URL, TARGETS_URL, UpdaterConfig::default()).unwrap();
    let mut fetcher = MemFetcher::default();
    fetcher.put(&format!("{METADATA_URL}{}.root.json", from + 1), next);
    // now = 0: no root is expired yet, so a verified hop stops at the missing timestamp.
    let err = updater
        .refresh(&mut fetcher, &mut MemStore::default(), 0)
        .unwrap_err();
    (err, updater.trusted().root_version())
}

/// Root v1 is the earliest root: it signs itself with 5 of its 5 keys (threshold 3).
#[test]
fn root_v1_is_self_signed() {
    let local = LocalMetadata {
        root: history(1),
        ..LocalMetadata::default()
    };
    let updater = Updater::new(&local, METADATA_URL, TARGETS_URL, UpdaterConfig::default()).unwrap();
    assert_eq!(updater.trusted().root_version(), 1);
    assert!(!updater.trusted().root().consistent_snapshot);
    // Its keys are hex SEC1 points with keytype "ecdsa-sha2-nistp256".
    let key = updater.trusted().root().keys.values().next().unwrap();
    assert_eq!(key.keytype, "ecdsa-sha2-nistp256");
    assert!(key.public.starts_with("04") && key.is_usable());
}

/// Every hop of public-good's history (1→2 … 14→15) verifies: each N+1.root.json is signed by
/// a threshold of root N's root keys and by a threshold of its own.
#[test]
fn public_good_history_chains_from_1_to_15() {
    for n in 1..15 {
        let (err, reached) = hop(n, history(n + 1));
        assert_eq!(reached, n + 1, "hop {n} -> {}: {err}", n + 1);
        assert!(
            matches!(err, TufError::MetadataNotFound { ref url } if url.ends_with("timestamp.json")),
            "{err}"
        );
    }
}

/// Each hop needs root N's threshold: with only the signatures by keys root N does not give
/// the root role, or with only two of those it does, the hop is refused by root N's check.
#[test]
fn every_hop_needs_the_old_roots_threshold() {
    for n in 1..15 {
        let old = root_keyids(n);
        let none_old = keep_signatures(&history(n + 1), |id, _| !old.iter().any(|k| k == id));
        match hop(n, none_old) {
            (
                TufError::ThresholdNotMet {
                    role: RoleType::Root,
                    version,
                    signing_root,
                    valid: 0,
                    threshold: 3,
                },
                r,
            ) => {
                assert_eq!((version, signing_root, r), (n + 1, n, n));
            }
            (e, _) => panic!("hop {n}: {e}"),
        }
        let mut kept = 0;
        let two_old = keep_signatures(&history(n + 1), |id, sig| {
            let keep = old.iter().any(|k| k == id) && !sig.is_empty() && kept < 2;
            kept += usize::from(keep);
            keep
        });
        match hop(n, two_old) {
            (
                TufError::ThresholdNotMet {
                    signing_root,
                    valid,
                    threshold: 3,
                    ..
                },
                r,
            ) => {
                assert_eq!((signing_root, r), (n, n), "hop {n}");
                assert!(valid <= 2);
            }
            (e, _) => panic!("hop {n}: {e}"),
        }
    }
}

/// Root 12 carries five signature entries of which two are empty strings (keys 6f260089 and
/// 22f4caec did not sign): exactly the threshold of 3 is met, so each of the three real
/// signatures is needed, and the empty entries count zero rather than failing the parse.
#[test]
fn root_12_is_signed_by_exactly_its_threshold() {
    let root12 = history(12);
    let sigs: Vec<(String, String)> = json(&root12)["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["keyid"].as_str().unwrap().to_string(),
                s["sig"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let empty: Vec<&str> = sigs
        .iter()
        .filter(|(_, s)| s.is_empty())
        .map(|(k, _)| &k[..8])
        .collect();
    assert_eq!(empty, vec!["6f260089", "22f4caec"]);
    let signed: Vec<&String> = sigs
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(signed.len(), 3);
    for dropped in signed {
        let without = keep_signatures(&root12, |id, _| id != dropped);
        match hop(11, without) {
            (
                TufError::ThresholdNotMet {
                    signing_root: 11,
                    valid: 2,
                    threshold: 3,
                    ..
                },
                11,
            ) => {}
            (e, r) => panic!("without {dropped}: {e} (root {r})"),
        }
    }
}

/// Where the root keys were all replaced (4→5, 8→9, 9→10: YubiKey rotations and the move to
/// tuf-on-ci), the new root's own threshold is checked too: with only the old keys'
/// signatures, root N's check passes and root N+1's refuses.
#[test]
fn full_key_rotations_need_the_new_roots_threshold() {
    let rotations: Vec<u64> = (1..15)
        .filter(|&n| {
            let old = root_keyids(n);
            root_keyids(n + 1).iter().all(|k| !old.contains(k))
        })
        .collect();
    assert_eq!(rotations, vec![4, 8, 9]);
    for n in rotations {
        let old = root_keyids(n);
        let only_old = keep_signatures(&history(n + 1), |id, _| old.iter().any(|k| k == id));
        match hop(n, only_old) {
            (
                TufError::ThresholdNotMet {
                    role: RoleType::Root,
                    version,
                    signing_root,
                    valid: 0,
                    ..
                },
                r,
            ) => {
                assert_eq!((version, signing_root, r), (n + 1, n + 1, n));
            }
            (e, _) => panic!("hop {n}: {e}"),
        }
    }
}

/// Skipping a version is refused: root 3 served as 2.root.json.
#[test]
fn a_skipped_version_is_refused() {
    match hop(1, history(3)) {
        (
            TufError::RootVersionMismatch {
                expected: 2,
                found: 3,
            },
            1,
        ) => {}
        (e, r) => panic!("{e} (root {r})"),
    }
}

#[test]
fn head_metadata_verifies_offline() {
    for (instance, versions) in [
        ("public-good", (15, 762, 165, 14)),
        ("staging", (14, 703, 25, 28)),
    ] {
        let set = TrustedSet::verify_offline(&head(instance)).unwrap_or_else(|e| panic!("{instance}: {e}"));
        assert_eq!(
            (
                set.root_version(),
                set.timestamp_version(),
                set.snapshot_version(),
                set.targets_version()
            ),
            (versions.0, Some(versions.1), Some(versions.2), Some(versions.3)),
            "{instance}"
        );
        set.check_target(
            "trusted_root.json",
            &read(&format!("{instance}/trusted_root.json")),
        )
        .unwrap_or_else(|e| panic!("{instance}: {e}"));
        // The registry.npmjs.org delegation is parsed; its targets are not searched.
        let delegations = set.targets().unwrap().delegations.as_ref().unwrap();
        assert_eq!(delegations.roles[0].name, "registry.npmjs.org");
        assert!(matches!(
            set.check_target("registry.npmjs.org/keys.json", b"{}"),
            Err(TufError::UnknownTarget { .. })
        ));
    }
    let set = TrustedSet::verify_offline(&head("public-good")).unwrap();
    // The timestamp (expires 2026-08-28T19:25:56Z) is the earliest expiry.
    assert_eq!(set.expires(), (unix("2026-08-28T19:25:56Z"), RoleType::Timestamp));
    let target = set.target("trusted_root.json").unwrap();
    assert_eq!(
        (target.length, target.hashes["sha256"].as_str()),
        (6787, TRUSTED_ROOT_SHA256)
    );
}

#[test]
fn tampering_with_head_metadata_is_caught() {
    for instance in ["public-good", "staging"] {
        let set = TrustedSet::verify_offline(&head(instance)).unwrap();
        // One flipped byte in the target.
        let mut bytes = read(&format!("{instance}/trusted_root.json"));
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        assert!(
            matches!(set.check_target("trusted_root.json", &bytes), Err(TufError::HashMismatch { ref algorithm, .. }) if algorithm == "sha256"),
            "{instance}"
        );
        bytes.push(b'\n');
        assert!(matches!(
            set.check_target("trusted_root.json", &bytes),
            Err(TufError::LengthMismatch { .. })
        ));

        // One changed byte in targets.json's signed part (the first digit of a length): the
        // snapshot lists only targets' version, so the signatures are what catch it.
        let mut local = head(instance);
        let text = String::from_utf8(local.targets.take().unwrap()).unwrap();
        let at = text.find("\"length\": ").unwrap() + "\"length\": ".len();
        let mut tampered = text.into_bytes();
        tampered[at] = if tampered[at] == b'9' {
            b'8'
        } else {
            tampered[at] + 1
        };
        local.targets = Some(tampered);
        assert!(
            matches!(
                TrustedSet::verify_offline(&local),
                Err(TufError::ThresholdNotMet {
                    role: RoleType::Targets,
                    valid: 0,
                    ..
                })
            ),
            "{instance}"
        );

        // One flipped hex digit in the timestamp's only signature (threshold 1).
        let mut local = head(instance);
        local.timestamp = Some(flip_signature_digits(local.timestamp.as_ref().unwrap(), 1));
        assert!(
            matches!(
                TrustedSet::verify_offline(&local),
                Err(TufError::ThresholdNotMet {
                    role: RoleType::Timestamp,
                    valid: 0,
                    threshold: 1,
                    ..
                })
            ),
            "{instance}"
        );
    }

    // public-good's targets are signed by 5 of 5 keys with threshold 3: two bad signatures are
    // tolerated, a third is not.
    let mut local = head("public-good");
    local.targets = Some(flip_signature_digits(local.targets.as_ref().unwrap(), 2));
    TrustedSet::verify_offline(&local).unwrap();
    let mut local = head("public-good");
    local.targets = Some(flip_signature_digits(local.targets.as_ref().unwrap(), 3));
    assert!(matches!(
        TrustedSet::verify_offline(&local),
        Err(TufError::ThresholdNotMet {
            role: RoleType::Targets,
            valid: 2,
            threshold: 3,
            ..
        })
    ));

    // Whitespace is not signed: the same metadata re-serialised compactly still verifies.
    let mut local = head("public-good");
    local.targets = Some(serde_json::to_vec(&json(local.targets.as_ref().unwrap())).unwrap());
    TrustedSet::verify_offline(&local).unwrap();

    // Mix and match: staging's targets under public-good's root, timestamp and snapshot.
    let mut local = head("public-good");
    local.targets = head("staging").targets;
    assert!(matches!(
        TrustedSet::verify_offline(&local),
        Err(TufError::ThresholdNotMet {
            role: RoleType::Targets,
            valid: 0,
            ..
        })
    ));
}

/// Changes one hex digit in each of the first `count` signatures.
fn flip_signature_digits(bytes: &[u8], count: usize) -> Vec<u8> {
    let mut v = json(bytes);
    for s in v["signatures"].as_array_mut().unwrap().iter_mut().take(count) {
        let sig = s["sig"].as_str().unwrap();
        // The last digit: inside the DER integer s, so the DER stays well formed.
        let (head, last) = sig.split_at(sig.len() - 1);
        let flipped = if last == "0" { "1" } else { "0" };
        s["sig"] = Value::String(format!("{head}{flipped}"));
    }
    serde_json::to_vec_pretty(&v).unwrap()
}

/// The CDN's layout at the public-good HEAD: every root version, the timestamp, versioned
/// snapshot and targets, and trusted_root.json under its sha256.
fn cdn() -> MemFetcher {
    let mut files: Vec<(String, Vec<u8>)> =
        (1..=15).map(|n| (format!("{n}.root.json"), history(n))).collect();
    files.push(("timestamp.json".into(), read("public-good/timestamp.json")));
    files.push(("165.snapshot.json".into(), read("public-good/snapshot.json")));
    files.push(("14.targets.json".into(), read("public-good/targets.json")));
    files.push((
        format!("targets/{TRUSTED_ROOT_SHA256}.trusted_root.json"),
        read("public-good/trusted_root.json"),
    ));
    MemFetcher::serving(METADATA_URL, files)
}

#[test]
fn full_refresh_against_the_cdn_layout() {
    let config = UpdaterConfig::default();
    let local = LocalMetadata {
        root: history(1),
        ..LocalMetadata::default()
    };
    let mut updater = Updater::new(&local, METADATA_URL, TARGETS_URL, config.clone()).unwrap();
    let mut fetcher = cdn();
    let mut store = MemStore::default();
    updater.refresh(&mut fetcher, &mut store, head_time()).unwrap();

    let trusted = updater.trusted();
    assert_eq!(trusted.root_version(), 15);
    assert_eq!(trusted.timestamp_version(), Some(762));
    assert_eq!(trusted.snapshot_version(), Some(165));
    assert_eq!(trusted.targets_version(), Some(14));

    let bytes = updater
        .download_target(&mut fetcher, "trusted_root.json")
        .unwrap();
    assert_eq!(bytes, read("public-good/trusted_root.json"));

    // What was asked, in order, with which limits.
    let mut expected: Vec<(String, u64)> = (2..=16)
        .map(|n| (format!("{METADATA_URL}{n}.root.json"), config.root_max_len))
        .collect();
    expected.push((format!("{METADATA_URL}timestamp.json"), config.timestamp_max_len));
    expected.push((
        format!("{METADATA_URL}165.snapshot.json"),
        config.snapshot_max_len,
    ));
    expected.push((format!("{METADATA_URL}14.targets.json"), config.targets_max_len));
    expected.push((
        format!("{TARGETS_URL}{TRUSTED_ROOT_SHA256}.trusted_root.json"),
        6787,
    ));
    assert_eq!(fetcher.requests, expected);

    // The store holds exactly the verified bytes; root.json was written once per hop.
    assert_eq!(store.files["root.json"], history(15));
    assert_eq!(store.files["timestamp.json"], read("public-good/timestamp.json"));
    assert_eq!(store.files["snapshot.json"], read("public-good/snapshot.json"));
    assert_eq!(store.files["targets.json"], read("public-good/targets.json"));
    assert_eq!(store.log.iter().filter(|l| *l == "persist root.json").count(), 14);

    // A second run from what was persisted fetches only the next root and the timestamp: the
    // snapshot and targets it holds are the ones the (same) timestamp describes.
    let local = LocalMetadata {
        root: store.files["root.json"].clone(),
        timestamp: Some(store.files["timestamp.json"].clone()),
        snapshot: Some(store.files["snapshot.json"].clone()),
        targets: Some(store.files["targets.json"].clone()),
    };
    let mut again = Updater::new(&local, METADATA_URL, TARGETS_URL, config).unwrap();
    let mut fetcher = cdn();
    let mut store2 = MemStore::default();
    again.refresh(&mut fetcher, &mut store2, head_time()).unwrap();
    assert_eq!(
        fetcher.requested(),
        vec![
            format!("{METADATA_URL}16.root.json"),
            format!("{METADATA_URL}timestamp.json")
        ]
    );
    // The timestamp had the same version: kept, not rewritten.
    assert!(store2.log.is_empty(), "{:?}", store2.log);
    again.check_target("trusted_root.json", &bytes).unwrap();
}

#[test]
fn refresh_after_expiry_fails() {
    let local = LocalMetadata {
        root: history(1),
        ..LocalMetadata::default()
    };
    // After the timestamp expired (2026-08-28T19:25:56Z), before root 15 did.
    let mut updater = Updater::new(&local, METADATA_URL, TARGETS_URL, UpdaterConfig::default()).unwrap();
    let mut store = MemStore::default();
    match updater.refresh(&mut cdn(), &mut store, unix("2026-08-28T19:25:56Z")) {
        Err(TufError::Expired {
            role: RoleType::Timestamp,
            version: 762,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // The new root was persisted; the expired timestamp was not.
    assert_eq!(store.files.keys().collect::<Vec<_>>(), vec!["root.json"]);
    assert!(matches!(
        updater.download_target(&mut cdn(), "trusted_root.json"),
        Err(TufError::NotRefreshed)
    ));

    // After root 15 expired (2026-11-20T13:58:18Z): the freeze check stops the refresh.
    let mut updater = Updater::new(&local, METADATA_URL, TARGETS_URL, UpdaterConfig::default()).unwrap();
    match updater.refresh(&mut cdn(), &mut MemStore::default(), unix("2026-11-20T13:58:18Z")) {
        Err(TufError::Expired {
            role: RoleType::Root,
            version: 15,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}
