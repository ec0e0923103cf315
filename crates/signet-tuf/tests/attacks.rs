//! The attacks TUF defends against (TUF §1.5.2 and the checks of §5), each against a
//! repository built with the writer (`signet_tuf::repo`) and served from memory. Every test
//! asserts the specific error, so a check that stopped running would fail its test.

mod common;

use common::{MemFetcher, MemStore};
use serde_json::{json, Value};
use std::sync::Arc;

use signet_crypto::{HashAlgorithm, KeyKind, Signer, SigningKey};
use signet_tuf::repo::{
    key_json, root_signed, snapshot_signed, targets_signed, timestamp_signed, JsonFormat, MetaFileSpec,
    RepoBuilder, RoleKeys, SignedMetadata, TargetSpec, Versions,
};
use signet_tuf::{FetchError, Fetcher, LocalMetadata, RoleType, TufError, Updater, UpdaterConfig};

const BASE: &str = "https://repo.example/";
const TARGETS: &str = "https://repo.example/targets/";
const NOW: i64 = 1_800_000_000;
const YEAR: i64 = 365 * 86_400;

fn key(kind: KeyKind) -> Arc<dyn Signer> {
    Arc::new(SigningKey::generate(kind).unwrap())
}

fn copy(key: &Arc<dyn Signer>) -> Arc<dyn Signer> {
    key.clone()
}

fn copies(keys: &[Arc<dyn Signer>]) -> Vec<Arc<dyn Signer>> {
    keys.to_vec()
}

fn builder(kind: KeyKind) -> RepoBuilder {
    RepoBuilder::new(RoleKeys::generate(kind).unwrap(), NOW + YEAR)
}

/// A builder with the same keys (a copy), for the next version of a repository.
fn same_keys(b: &RepoBuilder) -> RepoBuilder {
    let mut next = RepoBuilder::new(
        RoleKeys {
            root: copies(&b.keys.root),
            timestamp: copies(&b.keys.timestamp),
            snapshot: copies(&b.keys.snapshot),
            targets: copies(&b.keys.targets),
        },
        NOW + YEAR,
    );
    next.thresholds = b.thresholds;
    next.consistent_snapshot = b.consistent_snapshot;
    next.meta_hashes = b.meta_hashes;
    next
}

fn versions(root: u64, timestamp: u64, snapshot: u64, targets: u64) -> Versions {
    Versions {
        root,
        timestamp,
        snapshot,
        targets,
    }
}

fn trusted_root_target() -> TargetSpec {
    let mut t = TargetSpec::new(
        "trusted_root.json",
        br#"{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#.to_vec(),
    );
    t.custom = Some(json!({"sigstore": {"usage": "Unknown", "status": "Active"}}));
    t
}

/// A whole repository served from memory.
fn serve(b: &RepoBuilder, v: Versions, targets: &[TargetSpec]) -> MemFetcher {
    MemFetcher::serving(BASE, b.repository(v, targets).unwrap())
}

fn file(fetcher: &MemFetcher, path: &str) -> Vec<u8> {
    fetcher.files[&format!("{BASE}{path}")].clone()
}

fn updater(local: &LocalMetadata) -> Updater {
    Updater::new(local, BASE, TARGETS, UpdaterConfig::default()).unwrap()
}

fn from_root(root: Vec<u8>) -> Updater {
    updater(&LocalMetadata {
        root,
        ..LocalMetadata::default()
    })
}

/// Refreshes a client trusting `root`, returning the result, the client and its store.
fn refresh(root: Vec<u8>, fetcher: &mut MemFetcher, now: i64) -> (Result<(), TufError>, Updater, MemStore) {
    let mut u = from_root(root);
    let mut store = MemStore::default();
    let r = u.refresh(fetcher, &mut store, now);
    (r, u, store)
}

/// Signs `signed` with `keys` and writes it.
fn signed_by(signed: Value, keys: &[&Arc<dyn Signer>]) -> Vec<u8> {
    let mut md = SignedMetadata::new(signed);
    for k in keys {
        md = md.sign(k.as_ref()).unwrap();
    }
    md.to_bytes(JsonFormat::Pretty)
}

#[test]
fn happy_path_with_every_key_kind() {
    for kind in [KeyKind::Ed25519, KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
        let b = builder(kind);
        let mut fetcher = serve(&b, versions(1, 4, 3, 2), &[trusted_root_target()]);
        let (r, u, store) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
        r.unwrap_or_else(|e| panic!("{kind}: {e}"));
        let bytes = u.download_target(&mut fetcher, "trusted_root.json").unwrap();
        assert_eq!(bytes, trusted_root_target().bytes);
        assert_eq!(
            u.trusted().target("trusted_root.json").unwrap().custom,
            trusted_root_target().custom
        );
        // The store holds exactly the bytes served and verified.
        assert_eq!(store.files["timestamp.json"], file(&fetcher, "timestamp.json"));
        assert_eq!(store.files["snapshot.json"], file(&fetcher, "3.snapshot.json"));
        assert_eq!(store.files["targets.json"], file(&fetcher, "2.targets.json"));
        assert!(
            !store.files.contains_key("root.json"),
            "no new root, nothing to persist"
        );
        assert_eq!(store.files.len(), 3);
    }
}

#[test]
fn without_consistent_snapshots_files_are_fetched_by_name() {
    let mut b = builder(KeyKind::Ed25519);
    b.consistent_snapshot = false;
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[trusted_root_target()]);
    let (r, u, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    r.unwrap();
    u.download_target(&mut fetcher, "trusted_root.json").unwrap();
    assert_eq!(
        fetcher.requested(),
        vec![
            format!("{BASE}2.root.json"),
            format!("{BASE}timestamp.json"),
            format!("{BASE}snapshot.json"),
            format!("{BASE}targets.json"),
            format!("{TARGETS}trusted_root.json"),
        ]
    );
}

// §5.3: root rotation.

/// Root v2 with `next`'s keys, signed by the given keys.
fn root_v(next: &RepoBuilder, version: u64, signers: &[&Arc<dyn Signer>]) -> Vec<u8> {
    signed_by(root_signed(&next.root_spec(version)).unwrap(), signers)
}

#[test]
fn root_rollback_and_skip_are_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let root1 = file(&fetcher, "1.root.json");
    // 2.root.json answered with a (validly signed) version 1, or version 3.
    for (found, bytes) in [(1, b.root(1).unwrap()), (3, b.root(3).unwrap())] {
        fetcher.put(&format!("{BASE}2.root.json"), bytes);
        let (r, u, store) = refresh(root1.clone(), &mut fetcher, NOW);
        assert!(
            matches!(r, Err(TufError::RootVersionMismatch { expected: 2, found: f }) if f == found),
            "{r:?}"
        );
        assert_eq!(u.trusted().root_version(), 1);
        assert!(store.files.is_empty());
    }
}

#[test]
fn new_root_needs_old_and_new_thresholds() {
    let old = builder(KeyKind::EcdsaP256);
    let new = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&old, versions(1, 1, 1, 1), &[]);
    let root1 = file(&fetcher, "1.root.json");

    // Only the new keys: root 1's threshold is not met.
    fetcher.put(
        &format!("{BASE}2.root.json"),
        root_v(&new, 2, &[&new.keys.root[0]]),
    );
    let (r, _, _) = refresh(root1.clone(), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Root,
                version: 2,
                signing_root: 1,
                valid: 0,
                threshold: 1
            })
        ),
        "{r:?}"
    );

    // Only the old keys: root 2's own threshold is not met.
    fetcher.put(
        &format!("{BASE}2.root.json"),
        root_v(&new, 2, &[&old.keys.root[0]]),
    );
    let (r, _, _) = refresh(root1.clone(), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Root,
                version: 2,
                signing_root: 2,
                valid: 0,
                threshold: 1
            })
        ),
        "{r:?}"
    );

    // Both: accepted, persisted, and the new keys now sign everything else.
    let rotated = root_v(&new, 2, &[&old.keys.root[0], &new.keys.root[0]]);
    let mut fetcher = serve(&new, versions(2, 1, 1, 1), &[]);
    fetcher.put(&format!("{BASE}2.root.json"), rotated.clone());
    let (r, u, store) = refresh(root1, &mut fetcher, NOW);
    r.unwrap();
    assert_eq!(u.trusted().root_version(), 2);
    assert_eq!(store.files["root.json"], rotated);
}

#[test]
fn threshold_minus_one_signatures_are_refused() {
    let root_keys: Vec<Arc<dyn Signer>> = (0..3).map(|_| key(KeyKind::EcdsaP256)).collect();
    let mut b = RepoBuilder::new(
        RoleKeys {
            root: copies(&root_keys),
            timestamp: vec![key(KeyKind::Ed25519), key(KeyKind::EcdsaP256)],
            snapshot: vec![key(KeyKind::Ed25519)],
            targets: vec![key(KeyKind::Ed25519)],
        },
        NOW + YEAR,
    );
    b.thresholds = [Some(2), Some(2), None, None];
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let root1 = file(&fetcher, "1.root.json");

    // Root 2 signed by one of root 1's three keys (threshold 2).
    fetcher.put(&format!("{BASE}2.root.json"), root_v(&b, 2, &[&root_keys[0]]));
    let (r, _, _) = refresh(root1.clone(), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Root,
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
    fetcher.put(
        &format!("{BASE}2.root.json"),
        root_v(&b, 2, &[&root_keys[0], &root_keys[2]]),
    );
    let (r, _, _) = refresh(root1.clone(), &mut fetcher, NOW);
    r.unwrap();

    // The timestamp signed by one of its two keys (threshold 2).
    let meta = MetaFileSpec::describing(1, &file(&fetcher, "1.snapshot.json"));
    fetcher.put(
        &format!("{BASE}timestamp.json"),
        signed_by(timestamp_signed(1, NOW + YEAR, &meta), &[&b.keys.timestamp[1]]),
    );
    let (r, _, _) = refresh(root1, &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Timestamp,
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn one_key_signing_twice_counts_once() {
    let mut b = RepoBuilder::new(
        RoleKeys {
            root: vec![key(KeyKind::Ed25519)],
            timestamp: vec![key(KeyKind::Ed25519), key(KeyKind::Ed25519)],
            snapshot: vec![key(KeyKind::Ed25519)],
            targets: vec![key(KeyKind::Ed25519)],
        },
        NOW + YEAR,
    );
    b.thresholds = [None, Some(2), None, None];
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let meta = MetaFileSpec::describing(1, &file(&fetcher, "1.snapshot.json"));
    // Two valid signatures by the same key, each its own entry (ECDSA would even give two
    // different signatures; Ed25519 gives the same one twice).
    let k = &b.keys.timestamp[0];
    fetcher.put(
        &format!("{BASE}timestamp.json"),
        signed_by(timestamp_signed(1, NOW + YEAR, &meta), &[k, k]),
    );
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Timestamp,
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
    // The same with P-256 keys, whose two signatures differ.
    let p256 = key(KeyKind::EcdsaP256);
    let mut b2 = RepoBuilder::new(
        RoleKeys {
            root: vec![key(KeyKind::Ed25519)],
            timestamp: vec![copy(&p256), key(KeyKind::EcdsaP256)],
            snapshot: vec![key(KeyKind::Ed25519)],
            targets: vec![key(KeyKind::Ed25519)],
        },
        NOW + YEAR,
    );
    b2.thresholds = [None, Some(2), None, None];
    let mut fetcher = serve(&b2, versions(1, 1, 1, 1), &[]);
    let meta = MetaFileSpec::describing(1, &file(&fetcher, "1.snapshot.json"));
    let twice = signed_by(timestamp_signed(1, NOW + YEAR, &meta), &[&p256, &p256]);
    let sigs = serde_json::from_slice::<Value>(&twice).unwrap()["signatures"].clone();
    assert_ne!(sigs[0]["sig"], sigs[1]["sig"]);
    fetcher.put(&format!("{BASE}timestamp.json"), twice);
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn expired_final_root_is_a_freeze_attack() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let root1 = file(&fetcher, "1.root.json");
    let mut stale = same_keys(&b);
    stale.root_expires = NOW - 1;
    fetcher.put(&format!("{BASE}2.root.json"), stale.root(2).unwrap());
    let (r, u, store) = refresh(root1, &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::Expired {
                role: RoleType::Root,
                version: 2,
                now: NOW,
                ..
            })
        ),
        "{r:?}"
    );
    // The hop itself verified and was persisted (§5.3.8); then §5.3.10 stopped the refresh.
    assert_eq!(u.trusted().root_version(), 2);
    assert_eq!(store.files.keys().collect::<Vec<_>>(), vec!["root.json"]);
    // An expired starting root with no newer one is refused the same way.
    let mut old = same_keys(&b);
    old.root_expires = NOW - 1;
    let mut fetcher = serve(&old, versions(1, 1, 1, 1), &[]);
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::Expired {
                role: RoleType::Root,
                version: 1,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn expired_timestamp_snapshot_or_targets() {
    for role in [RoleType::Timestamp, RoleType::Snapshot, RoleType::Targets] {
        let mut b = builder(KeyKind::EcdsaP256);
        match role {
            RoleType::Timestamp => b.timestamp_expires = NOW,
            RoleType::Snapshot => b.snapshot_expires = NOW,
            _ => b.targets_expires = NOW - YEAR,
        }
        let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
        let (r, _, store) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
        assert!(
            matches!(r, Err(TufError::Expired { role: r2, version: 1, .. }) if r2 == role),
            "{role}: {r:?}"
        );
        // Nothing expired is persisted.
        assert!(!store.files.contains_key(role.file_name()), "{role}");
    }
}

// §5.4: timestamp.

/// A client that refreshed against `fetcher`, as persisted.
/// (The client starts from the repository's 1.root.json.)
fn persisted_after(fetcher: &mut MemFetcher) -> LocalMetadata {
    let root = file(fetcher, "1.root.json");
    let (r, _, store) = refresh(root.clone(), fetcher, NOW);
    r.unwrap();
    LocalMetadata {
        root: store.files.get("root.json").cloned().unwrap_or(root),
        timestamp: store.files.get("timestamp.json").cloned(),
        snapshot: store.files.get("snapshot.json").cloned(),
        targets: store.files.get("targets.json").cloned(),
    }
}

#[test]
fn timestamp_rollback_is_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 5, 2, 2), &[]);
    let local = persisted_after(&mut fetcher);
    // The repository (or a mirror) now serves an older, validly signed timestamp.
    let mut older = serve(&b, versions(1, 4, 2, 2), &[]);
    let mut u = updater(&local);
    let r = u.refresh(&mut older, &mut MemStore::default(), NOW);
    assert!(
        matches!(r, Err(TufError::TimestampRollback { trusted: 5, new: 4 })),
        "{r:?}"
    );
}

#[test]
fn snapshot_version_rollback_in_timestamp_is_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 2, 5, 2), &[]);
    let local = persisted_after(&mut fetcher);
    // A newer timestamp listing an older snapshot.
    let mut newer = serve(&b, versions(1, 3, 4, 2), &[]);
    let r = updater(&local).refresh(&mut newer, &mut MemStore::default(), NOW);
    assert!(
        matches!(r, Err(TufError::SnapshotVersionRollback { trusted: 5, new: 4 })),
        "{r:?}"
    );
}

#[test]
fn equal_timestamp_version_keeps_the_trusted_one() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 2, 2, 2), &[trusted_root_target()]);
    let local = persisted_after(&mut fetcher);
    // Version 2 again, but listing snapshot 3: the trusted version 2 (snapshot 2) is kept.
    let mut same = serve(&b, versions(1, 2, 3, 2), &[trusted_root_target()]);
    let mut u = updater(&local);
    let mut store = MemStore::default();
    u.refresh(&mut same, &mut store, NOW).unwrap();
    assert_eq!(u.trusted().snapshot_version(), Some(2));
    assert!(store.log.is_empty(), "{:?}", store.log);
    // Kept, it is still checked for expiry.
    let r = updater(&local).refresh(&mut same, &mut MemStore::default(), NOW + 2 * YEAR);
    assert!(matches!(r, Err(TufError::Expired { .. })), "{r:?}");
    let mut short = same_keys(&b);
    short.root_expires = NOW + 3 * YEAR;
    let mut same = serve(&short, versions(1, 2, 3, 2), &[trusted_root_target()]);
    let mut local = local.clone();
    local.root = file(&same, "1.root.json");
    let r = updater(&local).refresh(&mut same, &mut MemStore::default(), NOW + 2 * YEAR);
    assert!(
        matches!(
            r,
            Err(TufError::Expired {
                role: RoleType::Timestamp,
                version: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

// §5.5: snapshot.

#[test]
fn snapshot_version_must_be_the_timestamps() {
    let mut b = builder(KeyKind::Ed25519);
    b.meta_hashes = false; // version only, as Sigstore's timestamp lists it
    let mut fetcher = serve(&b, versions(1, 1, 3, 1), &[]);
    let snapshot2 = b.snapshot(2, &MetaFileSpec::version(1)).unwrap();
    fetcher.put(&format!("{BASE}3.snapshot.json"), snapshot2);
    let (r, _, store) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::SnapshotVersionMismatch {
                expected: 3,
                found: 2
            })
        ),
        "{r:?}"
    );
    // Failure at the snapshot step: the timestamp is persisted, no snapshot.
    assert!(store.files.contains_key("timestamp.json"));
    assert!(!store.files.contains_key("snapshot.json"));
}

#[test]
fn snapshot_length_and_hashes_must_match_the_timestamp() {
    let b = builder(KeyKind::EcdsaP256);
    let fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let good = file(&fetcher, "1.snapshot.json");

    // Same length, different bytes (whitespace: still validly signed JSON).
    let pos = good.iter().position(|&c| c == b' ').unwrap();
    let mut same_len = good.clone();
    same_len[pos] = b'\t';
    let mut f = fetcher.clone();
    f.put(&format!("{BASE}1.snapshot.json"), same_len);
    let (r, _, _) = refresh(file(&f, "1.root.json"), &mut f, NOW);
    assert!(
        matches!(r, Err(TufError::HashMismatch { ref file, .. }) if file == "snapshot.json"),
        "{r:?}"
    );

    // Shorter.
    let mut f = fetcher.clone();
    let compact = serde_json::to_vec(&serde_json::from_slice::<Value>(&good).unwrap()).unwrap();
    f.put(&format!("{BASE}1.snapshot.json"), compact);
    let (r, _, _) = refresh(file(&f, "1.root.json"), &mut f, NOW);
    assert!(
        matches!(r, Err(TufError::LengthMismatch { found, expected, .. }) if found < expected),
        "{r:?}"
    );

    // Longer: the fetcher is only allowed the listed length.
    let mut f = fetcher.clone();
    let mut longer = good.clone();
    longer.extend_from_slice(b"\n\n");
    f.put(&format!("{BASE}1.snapshot.json"), longer);
    let (r, _, _) = refresh(file(&f, "1.root.json"), &mut f, NOW);
    assert!(
        matches!(r, Err(TufError::Fetch { source: FetchError::TooLong { max_len, .. }, .. }) if max_len == good.len() as u64),
        "{r:?}"
    );
}

#[test]
fn targets_rollback_in_snapshot_meta_is_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 5), &[]);
    let local = persisted_after(&mut fetcher);
    // Newer timestamp and snapshot, but the snapshot lists targets 4.
    let mut newer = serve(&b, versions(1, 2, 2, 4), &[]);
    let r = updater(&local).refresh(&mut newer, &mut MemStore::default(), NOW);
    assert!(
        matches!(r, Err(TufError::SnapshotMetaRollback { ref file, trusted: 5, new: 4 }) if file == "targets.json"),
        "{r:?}"
    );
    // A file the trusted snapshot lists may not vanish either.
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let mut local = persisted_after(&mut fetcher);
    let mut signed = snapshot_signed(1, NOW + YEAR, &MetaFileSpec::version(1));
    signed["meta"]["role1.json"] = json!({"version": 3});
    local.snapshot = Some(signed_by(signed, &[&b.keys.snapshot[0]]));
    let mut signed = snapshot_signed(2, NOW + YEAR, &MetaFileSpec::version(1));
    signed["meta"]["role2.json"] = json!({"version": 3});
    let snapshot2 = signed_by(signed, &[&b.keys.snapshot[0]]);
    let mut newer = serve(&b, versions(1, 2, 2, 1), &[]);
    newer.put(
        &format!("{BASE}timestamp.json"),
        b.timestamp(2, &MetaFileSpec::describing(2, &snapshot2)).unwrap(),
    );
    newer.put(&format!("{BASE}2.snapshot.json"), snapshot2);
    let r = updater(&local).refresh(&mut newer, &mut MemStore::default(), NOW);
    assert!(
        matches!(r, Err(TufError::SnapshotMetaRemoved { ref file }) if file == "role1.json"),
        "{r:?}"
    );
}

// §5.6: targets.

#[test]
fn targets_version_must_be_the_snapshots() {
    let mut b = builder(KeyKind::Ed25519);
    b.meta_hashes = false;
    let mut fetcher = serve(&b, versions(1, 1, 1, 3), &[]);
    fetcher.put(&format!("{BASE}3.targets.json"), b.targets(2, &[]).unwrap());
    let (r, _, store) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::TargetsVersionMismatch {
                expected: 3,
                found: 2
            })
        ),
        "{r:?}"
    );
    assert!(store.files.contains_key("snapshot.json") && !store.files.contains_key("targets.json"));
}

#[test]
fn targets_hash_in_snapshot_meta_is_checked() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[TargetSpec::new("a", b"a".to_vec())]);
    // Another validly signed targets v1, of the same length, than the one the snapshot lists.
    let other = b.targets(1, &[TargetSpec::new("a", b"b".to_vec())]).unwrap();
    assert_eq!(other.len(), file(&fetcher, "1.targets.json").len());
    fetcher.put(&format!("{BASE}1.targets.json"), other);
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(r, Err(TufError::HashMismatch { ref file, .. }) if file == "targets.json"),
        "{r:?}"
    );
}

#[test]
fn mix_and_match_is_refused() {
    // Each file signed by keys of another repository, or of another role.
    let b = builder(KeyKind::Ed25519);
    let other = builder(KeyKind::Ed25519);
    let mut b_nohash = same_keys(&b);
    b_nohash.meta_hashes = false;
    let cases: Vec<(&str, Vec<u8>, RoleType)> = vec![
        (
            "timestamp.json",
            other.timestamp(1, &MetaFileSpec::version(1)).unwrap(),
            RoleType::Timestamp,
        ),
        (
            "1.snapshot.json",
            signed_by(
                snapshot_signed(1, NOW + YEAR, &MetaFileSpec::version(1)),
                &[&b.keys.timestamp[0]],
            ),
            RoleType::Snapshot,
        ),
        (
            "1.targets.json",
            other.targets(1, &[]).unwrap(),
            RoleType::Targets,
        ),
    ];
    for (path, bytes, role) in cases {
        let mut fetcher = serve(&b_nohash, versions(1, 1, 1, 1), &[]);
        fetcher.put(&format!("{BASE}{path}"), bytes);
        let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
        assert!(
            matches!(r, Err(TufError::ThresholdNotMet { role: r2, valid: 0, .. }) if r2 == role),
            "{path}: {r:?}"
        );
    }
}

// §5.7: targets.

#[test]
fn target_hash_mismatch_is_refused() {
    let b = builder(KeyKind::EcdsaP256);
    let mut t = trusted_root_target();
    t.hashes = vec![HashAlgorithm::Sha2_256, HashAlgorithm::Sha2_512];
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), std::slice::from_ref(&t));
    let (r, u, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    r.unwrap();
    let sha256 = hex::encode(HashAlgorithm::Sha2_256.digest(&t.bytes));
    let mut evil = t.bytes.clone();
    evil[3] ^= 0x20;
    fetcher.put(&format!("{TARGETS}{sha256}.trusted_root.json"), evil.clone());
    let r = u.download_target(&mut fetcher, "trusted_root.json");
    assert!(
        matches!(r, Err(TufError::HashMismatch { ref algorithm, .. }) if algorithm == "sha256" || algorithm == "sha512"),
        "{r:?}"
    );
    assert!(u.check_target("trusted_root.json", &evil).is_err());
    u.check_target("trusted_root.json", &t.bytes).unwrap();
}

#[test]
fn every_listed_hash_is_checked() {
    // sha256 right, sha512 wrong: refused.
    let b = builder(KeyKind::Ed25519);
    let t = trusted_root_target();
    let mut signed = targets_signed(1, NOW + YEAR, std::slice::from_ref(&t));
    signed["targets"]["trusted_root.json"]["hashes"]["sha512"] = json!(hex::encode([0u8; 64]));
    signed["targets"]["only_unknown"] = json!({"length": 1, "hashes": {"blake3": "00"}});
    let targets = signed_by(signed, &[&b.keys.targets[0]]);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), std::slice::from_ref(&t));
    let snapshot = b.snapshot(1, &MetaFileSpec::describing(1, &targets)).unwrap();
    fetcher.put(&format!("{BASE}1.targets.json"), targets);
    fetcher.put(
        &format!("{BASE}timestamp.json"),
        b.timestamp(1, &MetaFileSpec::describing(1, &snapshot)).unwrap(),
    );
    fetcher.put(&format!("{BASE}1.snapshot.json"), snapshot);
    let (r, u, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    r.unwrap();
    assert!(matches!(
        u.check_target("trusted_root.json", &t.bytes),
        Err(TufError::HashMismatch { ref algorithm, .. }) if algorithm == "sha512"
    ));
    assert!(matches!(
        u.check_target("only_unknown", b"x"),
        Err(TufError::NoKnownHash { .. })
    ));
    assert!(matches!(
        u.check_target("missing", b"x"),
        Err(TufError::UnknownTarget { .. })
    ));
}

/// A fetcher that ignores max_len, as a broken HTTP client might.
struct Greedy(MemFetcher);

impl Fetcher for Greedy {
    fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        self.0.requests.push((url.to_string(), max_len));
        Ok(self.0.files.get(url).cloned())
    }
}

#[test]
fn endless_target_data_is_cut_at_the_listed_length() {
    let b = builder(KeyKind::Ed25519);
    let t = trusted_root_target();
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), std::slice::from_ref(&t));
    let (r, u, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    r.unwrap();
    let url = format!(
        "{TARGETS}{}.trusted_root.json",
        hex::encode(HashAlgorithm::Sha2_256.digest(&t.bytes))
    );
    let endless = vec![b'x'; 10 << 20];
    fetcher.put(&url, endless.clone());
    let r = u.download_target(&mut fetcher, "trusted_root.json");
    assert!(
        matches!(
            r,
            Err(TufError::Fetch {
                source: FetchError::TooLong { .. },
                ..
            })
        ),
        "{r:?}"
    );
    // The fetcher was told the listed length, not more.
    assert_eq!(
        fetcher.requests.last(),
        Some(&(url.clone(), t.bytes.len() as u64))
    );
    // A fetcher that ignores the limit is caught by the updater.
    let mut greedy = Greedy(fetcher.clone());
    let r = u.download_target(&mut greedy, "trusted_root.json");
    assert!(
        matches!(r, Err(TufError::Fetch { source: FetchError::TooLong { max_len, .. }, .. }) if max_len == t.bytes.len() as u64),
        "{r:?}"
    );
    // And endless metadata too: the timestamp is capped at timestamp_max_len.
    let mut greedy = Greedy(fetcher.clone());
    greedy.0.put(&format!("{BASE}timestamp.json"), endless);
    let r = from_root(file(&fetcher, "1.root.json")).refresh(&mut greedy, &mut MemStore::default(), NOW);
    assert!(
        matches!(
            r,
            Err(TufError::Fetch {
                source: FetchError::TooLong { max_len: 16384, .. },
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn targets_before_a_refresh_are_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[trusted_root_target()]);
    let local = persisted_after(&mut fetcher);
    let u = updater(&local);
    assert!(matches!(
        u.download_target(&mut fetcher, "trusted_root.json"),
        Err(TufError::NotRefreshed)
    ));
    assert!(matches!(
        u.check_target("trusted_root.json", b""),
        Err(TufError::NotRefreshed)
    ));
    // The local set is loaded, though, and usable offline.
    signet_tuf::TrustedSet::verify_offline(&local)
        .unwrap()
        .check_target("trusted_root.json", &trusted_root_target().bytes)
        .unwrap();
}

// Limits and recovery.

#[test]
fn root_rotations_stop_at_the_maximum() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(5, 1, 1, 1), &[]);
    for n in 2..5 {
        fetcher.put(&format!("{BASE}{n}.root.json"), b.root(n).unwrap());
    }
    let config = UpdaterConfig {
        max_root_rotations: 2,
        ..UpdaterConfig::default()
    };
    let local = LocalMetadata {
        root: b.root(1).unwrap(),
        ..LocalMetadata::default()
    };
    let mut u = Updater::new(&local, BASE, TARGETS, config.clone()).unwrap();
    let mut store = MemStore::default();
    u.refresh(&mut fetcher, &mut store, NOW).unwrap();
    // Two versions fetched, never a third, as python-tuf's max_root_rotations does; the rest
    // of the workflow ran with root 3.
    assert_eq!(u.trusted().root_version(), 3);
    let roots: Vec<&str> = fetcher
        .requested()
        .into_iter()
        .filter(|u| u.ends_with("root.json"))
        .collect();
    assert_eq!(
        roots,
        vec![format!("{BASE}2.root.json"), format!("{BASE}3.root.json")]
    );
    // The next refresh goes on from there.
    let local = LocalMetadata {
        root: store.files["root.json"].clone(),
        ..LocalMetadata::default()
    };
    let mut u = Updater::new(&local, BASE, TARGETS, config).unwrap();
    u.refresh(&mut fetcher, &mut MemStore::default(), NOW).unwrap();
    assert_eq!(u.trusted().root_version(), 5);
}

#[test]
fn fast_forward_recovery_after_timestamp_key_rotation() {
    // An attacker with the timestamp key published timestamp v1000 listing snapshot 1000;
    // the client persisted it.
    let b = builder(KeyKind::EcdsaP256);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let mut local = persisted_after(&mut fetcher);
    let ff = b.timestamp(1000, &MetaFileSpec::version(1000)).unwrap();
    local.timestamp = Some(ff.clone());

    // Without a key rotation the repository cannot recover: its timestamp v2 is a rollback.
    let mut same = serve(&b, versions(1, 2, 2, 1), &[]);
    let r = updater(&local).refresh(&mut same, &mut MemStore::default(), NOW);
    assert!(
        matches!(
            r,
            Err(TufError::TimestampRollback {
                trusted: 1000,
                new: 2
            })
        ),
        "{r:?}"
    );

    // The repository rotates the timestamp key in root 2 (signed by the unchanged root key).
    let rotated = RepoBuilder::new(
        RoleKeys {
            root: copies(&b.keys.root),
            timestamp: vec![key(KeyKind::EcdsaP256)],
            snapshot: copies(&b.keys.snapshot),
            targets: copies(&b.keys.targets),
        },
        NOW + YEAR,
    );
    let mut recovered = serve(&rotated, versions(2, 2, 2, 1), &[trusted_root_target()]);
    let mut u = updater(&local);
    let mut store = MemStore::default();
    store.files.insert("timestamp.json".into(), ff);
    u.refresh(&mut recovered, &mut store, NOW).unwrap();
    // §5.3.11: the old timestamp and snapshot were deleted before the rotated root was
    // persisted, and before the new ones came in.
    assert_eq!(
        store.log[..5],
        [
            "remove timestamp.json",
            "remove snapshot.json",
            "persist root.json",
            "persist timestamp.json",
            "persist snapshot.json",
        ]
    );
    assert_eq!(u.trusted().timestamp_version(), Some(2));
    assert_eq!(store.files["timestamp.json"], file(&recovered, "timestamp.json"));

    // A changed key list counts as a rotation even when the old key stays (here a key is
    // added): the fast-forwarded timestamp still verifies under root 2, and only §5.3.11
    // makes the client let go of it.
    let widened = RepoBuilder::new(
        RoleKeys {
            root: copies(&b.keys.root),
            timestamp: vec![copy(&b.keys.timestamp[0]), key(KeyKind::Ed25519)],
            snapshot: copies(&b.keys.snapshot),
            targets: copies(&b.keys.targets),
        },
        NOW + YEAR,
    );
    let mut widened_repo = serve(&widened, versions(2, 2, 2, 1), &[]);
    let mut one_of_two = same_keys(&widened);
    one_of_two.thresholds = [None, Some(1), None, None];
    let root2 = one_of_two.root(2).unwrap();
    widened_repo.put(&format!("{BASE}2.root.json"), root2);
    let mut u = updater(&local);
    u.refresh(&mut widened_repo, &mut MemStore::default(), NOW)
        .unwrap();
    assert_eq!(u.trusted().timestamp_version(), Some(2));
}

/// A fetcher whose one URL fails as a network error would.
struct FailingAt(MemFetcher, String);

impl Fetcher for FailingAt {
    fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        if url == self.1 {
            return Err(FetchError::Transport("connection reset".into()));
        }
        self.0.fetch(url, max_len)
    }
}

#[test]
fn fast_forward_recovery_survives_an_interrupted_refresh() {
    // The client holds a fast-forwarded timestamp v1000; the repository then widens the
    // timestamp role (the old key stays, so the fast-forwarded file still verifies).
    let b = builder(KeyKind::EcdsaP256);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let local = persisted_after(&mut fetcher);
    let mut store = MemStore::default();
    store.files.insert("root.json".into(), local.root.clone());
    let ff = b.timestamp(1000, &MetaFileSpec::version(1000)).unwrap();
    store.files.insert("timestamp.json".into(), ff);
    let mut widened = RepoBuilder::new(
        RoleKeys {
            root: copies(&b.keys.root),
            timestamp: vec![copy(&b.keys.timestamp[0]), key(KeyKind::EcdsaP256)],
            snapshot: copies(&b.keys.snapshot),
            targets: copies(&b.keys.targets),
        },
        NOW + YEAR,
    );
    widened.thresholds = [None, Some(1), None, None];
    let repo = serve(&widened, versions(2, 2, 2, 1), &[]);
    let stored = |s: &MemStore| LocalMetadata {
        root: s.files["root.json"].clone(),
        timestamp: s.files.get("timestamp.json").cloned(),
        snapshot: s.files.get("snapshot.json").cloned(),
        targets: s.files.get("targets.json").cloned(),
    };

    // The first refresh persists root 2, then the network fails on the probe for root 3.
    let mut cut = FailingAt(repo.clone(), format!("{BASE}3.root.json"));
    let r = updater(&stored(&store)).refresh(&mut cut, &mut store, NOW);
    assert!(matches!(r, Err(TufError::Fetch { .. })), "{r:?}");
    assert_eq!(store.files["root.json"], file(&repo, "2.root.json"));
    // The rotation was acted on before root 2 was persisted, so the next refresh (from root
    // 2, seeing no rotation of its own) is not blocked by the fast-forwarded timestamp.
    assert!(!store.files.contains_key("timestamp.json"));
    let mut u = updater(&stored(&store));
    u.refresh(&mut repo.clone(), &mut store, NOW).unwrap();
    assert_eq!(u.trusted().timestamp_version(), Some(2));
}

#[test]
fn one_key_under_two_keyids_counts_once() {
    // Root 1 lists the timestamp key twice, under its own keyid and an alias, and asks for
    // two signatures: one key signing under both keyids must not meet it.
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let timestamp_key = &b.keys.timestamp[0];
    let (keyid, key_value) = key_json(timestamp_key.public_key()).unwrap();
    let alias = format!("ffff{}", &keyid[4..]);
    let mut root = root_signed(&b.root_spec(1)).unwrap();
    root["keys"][&alias] = key_value;
    root["roles"]["timestamp"] = json!({"keyids": [keyid, alias], "threshold": 2});
    let root = signed_by(root, &[&b.keys.root[0]]);
    let meta = MetaFileSpec::describing(1, &file(&fetcher, "1.snapshot.json"));
    let signed = SignedMetadata::new(timestamp_signed(1, NOW + YEAR, &meta))
        .sign(timestamp_key)
        .unwrap();
    let sig = signed.signatures[0].1.clone();
    fetcher.put(
        &format!("{BASE}timestamp.json"),
        signed.with_signature(alias, sig).to_bytes(JsonFormat::Pretty),
    );
    let (r, _, _) = refresh(root, &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                role: RoleType::Timestamp,
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn local_metadata_that_does_not_verify_is_dropped() {
    let b = builder(KeyKind::Ed25519);
    let other = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 3, 3, 3), &[]);
    let root1 = file(&fetcher, "1.root.json");
    // Local timestamp v9 signed by a stranger: ignored, so it cannot block v3.
    let local = LocalMetadata {
        root: root1,
        timestamp: Some(other.timestamp(9, &MetaFileSpec::version(9)).unwrap()),
        snapshot: Some(b"not json".to_vec()),
        targets: Some(other.targets(9, &[]).unwrap()),
    };
    let mut u = updater(&local);
    assert_eq!(u.trusted().timestamp_version(), None);
    assert_eq!(u.trusted().snapshot_version(), None);
    assert_eq!(u.trusted().targets_version(), None);
    u.refresh(&mut fetcher, &mut MemStore::default(), NOW).unwrap();
    assert_eq!(u.trusted().timestamp_version(), Some(3));
    // The root itself must verify.
    let mut bad_root = serde_json::from_slice::<Value>(&file(&fetcher, "1.root.json")).unwrap();
    bad_root["signatures"] = json!([]);
    let r = Updater::new(
        &LocalMetadata {
            root: serde_json::to_vec(&bad_root).unwrap(),
            ..LocalMetadata::default()
        },
        BASE,
        TARGETS,
        UpdaterConfig::default(),
    );
    assert!(matches!(
        r,
        Err(TufError::ThresholdNotMet {
            role: RoleType::Root,
            valid: 0,
            ..
        })
    ));
    assert!(matches!(
        Updater::new(&local, "https://repo.example", TARGETS, UpdaterConfig::default()),
        Err(TufError::InvalidBaseUrl { .. })
    ));
}

// Parsing attacks.

#[test]
fn wrong_type_is_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    // The snapshot served as the timestamp, and as root 2.
    let snapshot = file(&fetcher, "1.snapshot.json");
    fetcher.put(&format!("{BASE}timestamp.json"), snapshot.clone());
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(r, Err(TufError::WrongType { expected: RoleType::Timestamp, ref found }) if found == "snapshot"),
        "{r:?}"
    );
    fetcher.put(&format!("{BASE}2.root.json"), snapshot);
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::WrongType {
                expected: RoleType::Root,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn duplicate_json_keys_are_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let good = String::from_utf8(file(&fetcher, "timestamp.json")).unwrap();
    // A second "signed" after the signed one: a parser keeping the last would read v99.
    let evil_signed =
        serde_json::to_string(&timestamp_signed(99, NOW + YEAR, &MetaFileSpec::version(99))).unwrap();
    let trimmed = good.trim_end();
    let evil = format!(
        "{},\n  \"signed\": {evil_signed}\n}}",
        &trimmed[..trimmed.len() - 1].trim_end()
    );
    assert!(
        serde_json::from_str::<Value>(&evil).is_ok(),
        "serde_json alone takes it"
    );
    fetcher.put(&format!("{BASE}timestamp.json"), evil.into_bytes());
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(r, Err(TufError::DuplicateKey { role: RoleType::Timestamp, ref key }) if key == "signed"),
        "{r:?}"
    );
    // A duplicate inside signed.
    let evil = good.replacen("\"version\": 1", "\"version\": 1, \"version\": 2", 1);
    fetcher.put(&format!("{BASE}timestamp.json"), evil.into_bytes());
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(r, Err(TufError::DuplicateKey { ref key, .. }) if key == "version"),
        "{r:?}"
    );
}

#[test]
fn a_float_in_metadata_is_refused() {
    let b = builder(KeyKind::Ed25519);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let mut v: Value = serde_json::from_slice(&file(&fetcher, "timestamp.json")).unwrap();
    v["signed"]["x-extension"] = json!(0.5);
    fetcher.put(&format!("{BASE}timestamp.json"), serde_json::to_vec(&v).unwrap());
    let (r, _, _) = refresh(file(&fetcher, "1.root.json"), &mut fetcher, NOW);
    assert!(
        matches!(
            r,
            Err(TufError::NotCanonical {
                role: RoleType::Timestamp,
                ..
            })
        ),
        "{r:?}"
    );
    // 1.0 where an integer belongs.
    let text = String::from_utf8(file(&fetcher, "1.root.json")).unwrap();
    let float_version = text.replacen("\"version\": 1", "\"version\": 1.0", 1);
    let r = Updater::new(
        &LocalMetadata {
            root: float_version.into_bytes(),
            ..LocalMetadata::default()
        },
        BASE,
        TARGETS,
        UpdaterConfig::default(),
    );
    assert!(
        matches!(
            r,
            Err(TufError::NotCanonical {
                role: RoleType::Root,
                ..
            })
        ),
        "{r:?}"
    );
    // And the writer cannot sign one.
    assert!(SignedMetadata::new(json!({"x": 1.5}))
        .sign(&b.keys.root[0])
        .is_err());
}

#[test]
fn zero_threshold_is_refused_even_when_signed() {
    let b = builder(KeyKind::Ed25519);
    let mut signed = root_signed(&b.root_spec(1)).unwrap();
    signed["roles"]["timestamp"]["threshold"] = json!(0);
    let root = signed_by(signed, &[&b.keys.root[0]]);
    let r = Updater::new(
        &LocalMetadata {
            root,
            ..LocalMetadata::default()
        },
        BASE,
        TARGETS,
        UpdaterConfig::default(),
    );
    assert!(
        matches!(r, Err(TufError::ZeroThreshold { role: RoleType::Root, ref name }) if name == "timestamp"),
        "{r:?}"
    );
}

#[test]
fn unknown_key_types_load_but_never_count() {
    let b = builder(KeyKind::Ed25519);
    let mut signed = root_signed(&b.root_spec(1)).unwrap();
    signed["keys"]["pq"] = json!({"keytype": "ml-dsa", "scheme": "ml-dsa-65", "keyval": {"public": "00"}});
    signed["roles"]["root"]["keyids"]
        .as_array_mut()
        .unwrap()
        .push(json!("pq"));
    let root = signed_by(signed.clone(), &[&b.keys.root[0]]);
    let u = from_root(root);
    assert!(!u.trusted().root().keys["pq"].is_usable());
    // A signature entry under the unknown key's keyid (here a copy of a valid one) counts zero.
    signed["roles"]["root"]["threshold"] = json!(2);
    let md = SignedMetadata::new(signed).sign(&b.keys.root[0]).unwrap();
    let copied = md.signatures[0].1.clone();
    let root = md.with_signature("pq", copied).to_bytes(JsonFormat::Compact);
    let r = Updater::new(
        &LocalMetadata {
            root,
            ..LocalMetadata::default()
        },
        BASE,
        TARGETS,
        UpdaterConfig::default(),
    );
    assert!(
        matches!(
            r,
            Err(TufError::ThresholdNotMet {
                valid: 1,
                threshold: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn a_failure_at_the_snapshot_step_keeps_root_and_timestamp() {
    let b = builder(KeyKind::EcdsaP256);
    let mut fetcher = serve(&b, versions(1, 1, 1, 1), &[]);
    let mut next = serve(&b, versions(2, 2, 2, 1), &[]);
    // The new snapshot is missing.
    next.files.remove(&format!("{BASE}2.snapshot.json"));
    let local = persisted_after(&mut fetcher);
    let mut u = updater(&local);
    let mut store = MemStore::default();
    let r = u.refresh(&mut next, &mut store, NOW);
    assert!(
        matches!(r, Err(TufError::MetadataNotFound { ref url }) if url.ends_with("2.snapshot.json")),
        "{r:?}"
    );
    assert_eq!(store.log, vec!["persist root.json", "persist timestamp.json"]);
    assert_eq!(store.files["root.json"], file(&next, "2.root.json"));
    assert_eq!(store.files["timestamp.json"], file(&next, "timestamp.json"));
}
