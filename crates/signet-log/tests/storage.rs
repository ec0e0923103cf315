//! The storage-trait suite: the same tests against every backend (SQLite in a temporary
//! directory; PostgreSQL in a private cluster, one database per test). Each test is a generic
//! function over [`Backend`]; `storage_suite!` instantiates it once per backend, so a backend
//! cannot pass a test the other fails without it showing.

use std::sync::Arc;

use signet_crypto::{KeyKind, SigningKey};
use signet_log::postgres::{PgDatabase, PgOptions};
use signet_log::storage::{
    read_hash_tile, Batch, LogStore, NewEntry, SharedLogStore, StorageError, StoreLocation,
};
use signet_log::{Appender, AppenderConfig};
use signet_tlog::{verify_checkpoint, NoteSigner, NoteVerifier, TileId};

/// A backend under test: where a fresh store lives and how to tamper with it.
trait Backend {
    /// A location where no store exists yet.
    fn fresh(&self) -> StoreLocation;
    /// Writes `version` as the store's schema version, as a newer signet would.
    fn set_schema_version(&self, location: &StoreLocation, version: i64);
}

struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    fn new() -> Option<Sqlite> {
        Some(Sqlite {
            dir: tempfile::tempdir().unwrap(),
        })
    }
}

impl Backend for Sqlite {
    fn fresh(&self) -> StoreLocation {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        StoreLocation::Sqlite(self.dir.path().join(format!("log{n}.db")))
    }

    fn set_schema_version(&self, location: &StoreLocation, version: i64) {
        let StoreLocation::Sqlite(path) = location else {
            unreachable!()
        };
        rusqlite::Connection::open(path)
            .unwrap()
            .pragma_update(None, "user_version", version)
            .unwrap();
    }
}

struct Postgres {
    cluster: &'static signet_pgtest::Cluster,
    database: String,
    db: Arc<PgDatabase>,
}

impl Postgres {
    fn new() -> Option<Postgres> {
        let cluster = signet_pgtest::shared()?;
        let database = cluster.create_database("storage");
        let db = PgDatabase::connect(&PgOptions {
            url: cluster.url(&database),
            password: Some(signet_pgtest::PASSWORD.into()),
            ca_file: None,
            max_connections: 8,
            ..Default::default()
        })
        .unwrap();
        Some(Postgres {
            cluster,
            database,
            db,
        })
    }
}

impl Postgres {
    /// Another front end on the same database: a pool of its own, `lease_ttl` for its lease.
    fn front_end(&self, schema: &str, lease_ttl: std::time::Duration) -> Box<dyn SharedLogStore> {
        let db = PgDatabase::connect(&PgOptions {
            url: self.cluster.url(&self.database),
            password: Some(signet_pgtest::PASSWORD.into()),
            max_connections: 4,
            lease_ttl: Some(lease_ttl),
            lease_renew: Some(lease_ttl / 4),
            ..Default::default()
        })
        .unwrap();
        let location = StoreLocation::Postgres {
            db,
            schema: schema.into(),
        };
        location.open(true).unwrap().shared().unwrap()
    }
}

impl Backend for Postgres {
    fn fresh(&self) -> StoreLocation {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        StoreLocation::Postgres {
            db: self.db.clone(),
            schema: format!("log{n}"),
        }
    }

    fn set_schema_version(&self, location: &StoreLocation, version: i64) {
        let StoreLocation::Postgres { schema, .. } = location else {
            unreachable!()
        };
        self.cluster.execute(
            &self.database,
            &format!("UPDATE {schema}.schema_version SET version = {version}"),
        );
    }
}

macro_rules! storage_suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $test() { super::$test(&super::Sqlite::new().unwrap()); } )*
        }
        mod postgres {
            $( #[test] fn $test() {
                if let Some(backend) = super::Postgres::new() { super::$test(&backend); }
            } )*
        }
    };
}

storage_suite!(
    a_new_store_is_empty,
    a_batch_round_trips_and_survives_reopening,
    find_indices_answers_in_order,
    read_entries_returns_what_exists_in_range,
    a_partial_tile_grows_in_place,
    the_latest_checkpoint_is_the_last_committed,
    a_failed_batch_leaves_nothing_visible,
    meta_is_set_once,
    opening_without_create_needs_an_existing_store,
    a_newer_schema_is_refused,
    readers_see_committed_batches,
    the_appender_restores_from_the_store,
    a_stale_writer_cannot_move_the_checkpoint,
    the_cosigned_checkpoint_is_replaced_and_kept,
);

fn entry(index: u64, tag: u8) -> NewEntry {
    let mut leaf_hash = [tag; 32];
    leaf_hash[..8].copy_from_slice(&index.to_be_bytes());
    NewEntry {
        index,
        leaf_hash,
        body: format!("body {index} {tag}").into_bytes(),
    }
}

fn batch(entries: Vec<NewEntry>, tiles: Vec<(u8, u64, Vec<u8>)>, size: u64, note: &str) -> Batch {
    Batch {
        entries,
        tiles,
        tree_size: size,
        checkpoint: note.to_string(),
    }
}

fn a_new_store_is_empty(b: &dyn Backend) {
    let location = b.fresh();
    assert!(!location.exists().unwrap());
    let mut s = location.open(true).unwrap();
    assert!(location.exists().unwrap());
    assert_eq!(s.latest_checkpoint().unwrap(), None);
    assert_eq!(s.find_indices(&[[1; 32]]).unwrap(), vec![None]);
    assert_eq!(s.find_indices(&[]).unwrap(), Vec::<Option<u64>>::new());
    assert_eq!(s.read_tile(0, 0).unwrap(), None);
    assert!(s.read_entries(0, 256).unwrap().is_empty());
    assert_eq!(s.meta("log.origin").unwrap(), None);
}

fn a_batch_round_trips_and_survives_reopening(b: &dyn Backend) {
    let location = b.fresh();
    let mut s = location.open(true).unwrap();
    let entries = vec![entry(0, 1), entry(1, 2)];
    let (h0, h1) = (entries[0].leaf_hash, entries[1].leaf_hash);
    s.commit_batch(&batch(entries, vec![(0, 0, vec![7; 64])], 2, "note 2"))
        .unwrap();
    s.set_meta("log.origin", "example.org/log").unwrap();
    drop(s);
    let mut s = location.open(false).unwrap();
    assert_eq!(s.latest_checkpoint().unwrap(), Some((2, "note 2".into())));
    assert_eq!(s.find_indices(&[h1, h0]).unwrap(), vec![Some(1), Some(0)]);
    assert_eq!(s.read_tile(0, 0).unwrap(), Some(vec![7; 64]));
    assert_eq!(s.read_tile(1, 0).unwrap(), None);
    assert_eq!(
        s.read_entries(0, 256).unwrap(),
        vec![b"body 0 1".to_vec(), b"body 1 2".to_vec()]
    );
    assert_eq!(s.meta("log.origin").unwrap().as_deref(), Some("example.org/log"));
}

fn find_indices_answers_in_order(b: &dyn Backend) {
    let mut s = b.fresh().open(true).unwrap();
    let entries: Vec<NewEntry> = (0..300).map(|i| entry(i, 9)).collect();
    let hashes: Vec<_> = entries.iter().map(|e| e.leaf_hash).collect();
    s.commit_batch(&batch(entries, vec![], 300, "c")).unwrap();
    // Found and missing mixed, repeated, out of order: one answer per hash, in order.
    let query = [hashes[299], [0xee; 32], hashes[0], hashes[299], hashes[150]];
    assert_eq!(
        s.find_indices(&query).unwrap(),
        vec![Some(299), None, Some(0), Some(299), Some(150)]
    );
}

fn read_entries_returns_what_exists_in_range(b: &dyn Backend) {
    let mut s = b.fresh().open(true).unwrap();
    s.commit_batch(&batch((0..10).map(|i| entry(i, 3)).collect(), vec![], 10, "c"))
        .unwrap();
    let mut bodies = |start, count| -> Vec<String> {
        s.read_entries(start, count)
            .unwrap()
            .into_iter()
            .map(|b| String::from_utf8(b).unwrap())
            .collect()
    };
    assert_eq!(bodies(3, 2), vec!["body 3 3", "body 4 3"]);
    assert_eq!(bodies(8, 256).len(), 2);
    assert!(bodies(10, 5).is_empty());
    assert!(bodies(4, 0).is_empty());
    assert_eq!(bodies(0, 10).len(), 10);
}

fn a_partial_tile_grows_in_place(b: &dyn Backend) {
    let mut s = b.fresh().open(true).unwrap();
    let narrow: Vec<u8> = (0..3 * 32).map(|i| i as u8).collect();
    s.commit_batch(&batch(vec![], vec![(0, 5, narrow.clone())], 0, "c1"))
        .unwrap();
    let mut wide = narrow.clone();
    wide.extend(std::iter::repeat_n(0xab, 32));
    s.commit_batch(&batch(
        vec![],
        vec![(0, 5, wide.clone()), (2, 0, vec![1; 32])],
        0,
        "c2",
    ))
    .unwrap();
    assert_eq!(s.read_tile(0, 5).unwrap(), Some(wide));
    assert_eq!(s.read_tile(2, 0).unwrap(), Some(vec![1; 32]));
    // Read as a tile narrower than stored: the stored, wider version comes back.
    let id = TileId {
        level: 0,
        index: 5,
        width: 2,
    };
    let hashes = read_hash_tile(s.as_mut(), &id).unwrap();
    assert_eq!(hashes.len(), 4);
    assert_eq!(hashes[3], [0xab; 32]);
}

fn the_latest_checkpoint_is_the_last_committed(b: &dyn Backend) {
    let mut s = b.fresh().open(true).unwrap();
    s.commit_batch(&batch(vec![], vec![], 0, "zero")).unwrap();
    assert_eq!(s.latest_checkpoint().unwrap(), Some((0, "zero".into())));
    s.commit_batch(&batch(vec![entry(0, 1)], vec![], 1, "one"))
        .unwrap();
    s.commit_batch(&batch(vec![entry(1, 1), entry(2, 1)], vec![], 3, "three"))
        .unwrap();
    assert_eq!(s.latest_checkpoint().unwrap(), Some((3, "three".into())));
}

fn a_failed_batch_leaves_nothing_visible(b: &dyn Backend) {
    let location = b.fresh();
    let mut s = location.open(true).unwrap();
    s.commit_batch(&batch(vec![entry(0, 1)], vec![(0, 0, vec![1; 32])], 1, "c1"))
        .unwrap();
    let check = |s: &mut dyn LogStore| {
        assert_eq!(s.latest_checkpoint().unwrap(), Some((1, "c1".into())));
        assert_eq!(s.find_indices(&[entry(1, 2).leaf_hash]).unwrap(), vec![None]);
        assert_eq!(s.read_tile(0, 0).unwrap(), Some(vec![1; 32]));
        assert_eq!(s.read_tile(1, 0).unwrap(), None);
        assert_eq!(s.read_entries(0, 10).unwrap().len(), 1);
    };
    // The last entry reuses index 0: the entries before it, the tiles and the checkpoint must
    // all roll back.
    let reused_index = batch(
        vec![entry(1, 2), entry(2, 2), entry(0, 3)],
        vec![(0, 0, vec![2; 96]), (1, 0, vec![3; 32])],
        3,
        "c3",
    );
    assert!(s.commit_batch(&reused_index).is_err());
    check(s.as_mut());
    // A leaf hash already logged under another index.
    let mut dup = entry(1, 2);
    dup.leaf_hash = entry(0, 1).leaf_hash;
    assert!(s
        .commit_batch(&batch(vec![entry(2, 2), dup], vec![], 3, "c3"))
        .is_err());
    check(s.as_mut());
    // The store still takes a good batch afterwards, and another connection sees the same.
    s.commit_batch(&batch(vec![entry(1, 2)], vec![], 2, "c2"))
        .unwrap();
    let mut other = location.open(false).unwrap();
    assert_eq!(other.latest_checkpoint().unwrap(), Some((2, "c2".into())));
}

fn meta_is_set_once(b: &dyn Backend) {
    let location = b.fresh();
    let mut s = location.open(true).unwrap();
    s.set_meta("ct.origin", "a").unwrap();
    s.set_meta("ct.created", "1").unwrap();
    assert!(s.set_meta("ct.origin", "b").is_err());
    let mut s = location.open(false).unwrap();
    assert_eq!(s.meta("ct.origin").unwrap().as_deref(), Some("a"));
    assert_eq!(s.meta("ct.created").unwrap().as_deref(), Some("1"));
    assert_eq!(s.meta("ct.other").unwrap(), None);
}

fn the_cosigned_checkpoint_is_replaced_and_kept(b: &dyn Backend) {
    let location = b.fresh();
    let mut s = location.open(true).unwrap();
    assert_eq!(s.cosigned_checkpoint().unwrap(), None);
    s.set_cosigned_checkpoint("origin\n1\nroot=\n\n— w1 sig\n")
        .unwrap();
    s.set_cosigned_checkpoint("origin\n2\nroot=\n\n— w1 sig2\n")
        .unwrap();
    // A batch committed after it (what makes SQLite's write durable) does not disturb it.
    s.commit_batch(&batch(vec![entry(0, 1)], vec![], 1, "cp1"))
        .unwrap();
    drop(s);
    let mut s = location.open(false).unwrap();
    assert_eq!(
        s.cosigned_checkpoint().unwrap().as_deref(),
        Some("origin\n2\nroot=\n\n— w1 sig2\n")
    );
}

fn opening_without_create_needs_an_existing_store(b: &dyn Backend) {
    let location = b.fresh();
    assert!(location.open(false).is_err());
    assert!(!location.exists().unwrap());
    drop(location.open(true).unwrap());
    // Creating again opens what is there.
    let mut s = location.open(true).unwrap();
    s.commit_batch(&batch(vec![], vec![], 0, "c")).unwrap();
    assert_eq!(
        location.open(true).unwrap().latest_checkpoint().unwrap(),
        Some((0, "c".into()))
    );
}

fn a_newer_schema_is_refused(b: &dyn Backend) {
    let location = b.fresh();
    drop(location.open(true).unwrap());
    b.set_schema_version(&location, 99);
    for create in [false, true] {
        match location.open(create) {
            Err(StorageError::NewerSchema { found: 99, .. }) => {}
            Err(e) => panic!("expected NewerSchema, got {e}"),
            Ok(_) => panic!("a store from a newer signet was opened"),
        }
    }
}

fn readers_see_committed_batches(b: &dyn Backend) {
    let location = b.fresh();
    let mut writer = location.open(true).unwrap();
    let readers = location.reader_pool(2).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let read_size = || {
        rt.block_on(readers.run(|s| s.latest_checkpoint().unwrap().map(|(n, _)| n)))
            .unwrap()
    };
    assert_eq!(read_size(), None);
    writer
        .commit_batch(&batch((0..5).map(|i| entry(i, 4)).collect(), vec![], 5, "c5"))
        .unwrap();
    // Round-robin: both connections see it.
    assert_eq!(read_size(), Some(5));
    assert_eq!(read_size(), Some(5));
}

/// A whole log over the store: entries integrated, the process "restarted" (appender closed,
/// store reopened), the tree restored from the stored tiles to the same root, and more
/// entries appended consistently. Crosses a tile boundary (256) and a level-1 tile.
fn the_appender_restores_from_the_store(b: &dyn Backend) {
    let location = b.fresh();
    let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let origin = "example.org/storage-test";
    let signer = || NoteSigner::new(origin, SigningKey::from_pkcs8_der(key.pkcs8_der()).unwrap()).unwrap();
    let verifier = NoteVerifier::new(origin, key.public_key().clone()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let submit_all = |appender: &Appender, range: std::ops::Range<u32>| {
        rt.block_on(async {
            let tasks: Vec<_> = range
                .map(|i| {
                    let appender = appender.clone();
                    tokio::spawn(async move {
                        let body = format!("entry {i}").into_bytes();
                        let leaf = signet_tlog::leaf_hash(&body);
                        (leaf, appender.submit(leaf, body).await.unwrap())
                    })
                })
                .collect();
            let mut out = vec![];
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    };
    let appender = Appender::start(
        location.open(true).unwrap(),
        origin.into(),
        signer(),
        AppenderConfig::default(),
    )
    .unwrap();
    let first = submit_all(&appender, 0..300);
    for (leaf, got) in &first {
        assert!(got.new);
        signet_tlog::verify_inclusion(
            leaf,
            got.index,
            got.checkpoint.size,
            &got.proof,
            &got.checkpoint.root,
        )
        .unwrap();
    }
    let before = appender.checkpoint();
    assert_eq!(before.size, 300);
    appender.close();
    // Let the integrator thread finish and drop its store.
    std::thread::sleep(std::time::Duration::from_millis(200));

    let appender = Appender::start(
        location.open(false).unwrap(),
        origin.into(),
        signer(),
        AppenderConfig::default(),
    )
    .unwrap();
    let restored = appender.checkpoint();
    assert_eq!((restored.size, restored.root), (before.size, before.root));
    let cp = verify_checkpoint(&restored.note, origin, &[verifier]).unwrap();
    assert_eq!(cp.size, 300);
    // Resubmitting is deduplicated to the same index; new entries continue the tree.
    let again = submit_all(&appender, 0..10);
    for ((_, old), (_, new)) in first.iter().zip(&again) {
        assert!(!new.new);
        assert_eq!(old.index, new.index);
    }
    let more = submit_all(&appender, 300..600);
    let after = appender.checkpoint();
    assert_eq!(after.size, 600);
    for (leaf, got) in &more {
        assert!(got.index >= 300);
        signet_tlog::verify_inclusion(
            leaf,
            got.index,
            got.checkpoint.size,
            &got.proof,
            &got.checkpoint.root,
        )
        .unwrap();
    }
    // The stored entries are the submitted bodies, in index order.
    let mut s = location.open(false).unwrap();
    let bodies = s.read_entries(0, 600).unwrap();
    assert_eq!(bodies.len(), 600);
    let by_index: std::collections::BTreeMap<u64, Vec<u8>> = first
        .iter()
        .chain(&more)
        .map(|(_, got)| got.index)
        .zip(first.iter().chain(&more).map(|(leaf, _)| leaf.to_vec()))
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(signet_tlog::leaf_hash(body).to_vec(), by_index[&(i as u64)]);
    }
    appender.close();
}

/// Two writers on one store (two front ends on one database): whoever publishes first wins;
/// the other's batch, built on the state it read before, is refused whole and changes nothing,
/// so the checkpoint never goes back and no index is given twice. After re-reading it can
/// write on top.
fn a_stale_writer_cannot_move_the_checkpoint(b: &dyn Backend) {
    let location = b.fresh();
    let mut one = location.open(true).unwrap();
    let mut two = location.open(false).unwrap();
    // Both see a new log; only one may create its first checkpoint.
    assert_eq!(one.latest_checkpoint().unwrap(), None);
    assert_eq!(two.latest_checkpoint().unwrap(), None);
    one.commit_batch(&batch(vec![], vec![], 0, "one 0")).unwrap();
    assert!(matches!(
        two.commit_batch(&batch(vec![], vec![], 0, "two 0")),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(two.latest_checkpoint().unwrap(), Some((0, "one 0".into())));
    // Both build on size 0; one publishes size 2; two's size-1 batch (a different entry at
    // index 0) and a batch of duplicates only (same size, which would move the log back) are
    // refused without a trace.
    one.commit_batch(&batch(
        vec![entry(0, 1), entry(1, 1)],
        vec![(0, 0, vec![1; 64])],
        2,
        "one 2",
    ))
    .unwrap();
    let stale = batch(vec![entry(0, 2)], vec![(0, 0, vec![2; 32])], 1, "two 1");
    assert!(matches!(two.commit_batch(&stale), Err(StorageError::Conflict(_))));
    assert!(matches!(
        two.commit_batch(&batch(vec![], vec![], 0, "two 0 again")),
        Err(StorageError::Conflict(_))
    ));
    let mut reader = location.open(false).unwrap();
    assert_eq!(reader.latest_checkpoint().unwrap(), Some((2, "one 2".into())));
    assert_eq!(reader.read_tile(0, 0).unwrap(), Some(vec![1; 64]));
    assert_eq!(reader.find_indices(&[entry(0, 2).leaf_hash]).unwrap(), vec![None]);
    // Re-read, then write on top.
    assert_eq!(two.latest_checkpoint().unwrap(), Some((2, "one 2".into())));
    two.commit_batch(&batch(vec![entry(2, 2)], vec![], 3, "two 3"))
        .unwrap();
    assert!(matches!(
        one.commit_batch(&batch(vec![entry(2, 3)], vec![], 3, "one 3")),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(reader.latest_checkpoint().unwrap(), Some((3, "two 3".into())));
}

/// PostgreSQL readers keep full tiles (immutable) in memory and read partial ones (the right
/// edge, which grows) from the database every time. Shown by changing both behind signet's
/// back: the full tile's cached bytes stay, the partial tile's new bytes show.
#[test]
fn postgres_readers_cache_full_tiles_only() {
    let Some(b) = Postgres::new() else { return };
    let location = b.fresh();
    let StoreLocation::Postgres { schema, .. } = &location else {
        unreachable!()
    };
    let mut writer = location.open(true).unwrap();
    writer
        .commit_batch(&batch(
            vec![],
            vec![(0, 0, vec![1; 256 * 32]), (0, 1, vec![2; 64])],
            0,
            "c",
        ))
        .unwrap();
    let readers = location.reader_pool(2).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let read = |level: u8, index: u64| {
        rt.block_on(readers.run(move |s| s.read_tile(level, index).unwrap().unwrap()))
            .unwrap()
    };
    assert_eq!(read(0, 0), vec![1; 256 * 32]);
    assert_eq!(read(0, 1), vec![2; 64]);
    b.cluster.execute(
        &b.database,
        &format!("UPDATE {schema}.tiles SET hashes = decode(repeat('ff', length(hashes)), 'hex')"),
    );
    // Both connections of the pool (round-robin) answer from the one cache.
    assert_eq!(read(0, 0), vec![1; 256 * 32]);
    assert_eq!(read(0, 0), vec![1; 256 * 32]);
    assert_eq!(read(0, 1), vec![0xff; 64]);
    // The writer's own connection has no cache.
    assert_eq!(writer.read_tile(0, 0).unwrap(), Some(vec![0xff; 256 * 32]));
}

// Sequencing, the integrator lease and fencing: a store several front ends share. Only the
// PostgreSQL backend is one; SQLite runs both halves in one process and one transaction, under
// a lease it always holds (`LogStore::shared` is `None`), so these tests are PostgreSQL's alone.

/// Two front ends sequence at once, each half the same entries: every entry gets one index,
/// whichever front end asked, and the indices are 0..n without a gap.
#[test]
fn postgres_sequencing_deduplicates_across_front_ends_without_gaps() {
    let Some(b) = Postgres::new() else { return };
    let ttl = std::time::Duration::from_secs(2);
    let (one, two) = (b.front_end("seq", ttl), b.front_end("seq", ttl));
    let leaf = |i: u32| signet_tlog::leaf_hash(&i.to_be_bytes());
    let run = |mut store: Box<dyn SharedLogStore>, offset: u32| {
        std::thread::spawn(move || {
            let mut got = Vec::new();
            for round in 0..20u32 {
                // 10 entries both front ends submit, 10 of this one's own.
                let mut entries: Vec<_> = (0..10).map(|i| round * 10 + i).collect();
                entries.extend((0..10).map(|i| 1_000_000 + offset + round * 10 + i));
                let batch = entries
                    .iter()
                    .map(|&i| (leaf(i), i.to_be_bytes().to_vec()))
                    .collect();
                let assigned = store.sequence(batch).unwrap();
                got.extend(entries.into_iter().zip(assigned));
            }
            got
        })
    };
    let (a, c) = (run(one, 0), run(two, 500_000));
    let mut index_of = std::collections::HashMap::new();
    let mut new = 0;
    for (entry, (index, is_new)) in a.join().unwrap().into_iter().chain(c.join().unwrap()) {
        assert_eq!(
            *index_of.entry(entry).or_insert(index),
            index,
            "entry {entry} got two indices"
        );
        new += usize::from(is_new);
    }
    // 200 shared + 2 × 200 own, each new exactly once, at indices 0..600.
    assert_eq!((index_of.len(), new), (600, 600));
    let mut indices: Vec<u64> = index_of.values().copied().collect();
    indices.sort();
    assert_eq!(indices, (0..600).collect::<Vec<u64>>());
    let status = b.front_end("seq", ttl).status().unwrap();
    assert_eq!(status.sequenced, 600);
}

/// A sequencing transaction that fails takes its indices back with it: the next one goes on
/// from the same index (a PostgreSQL SEQUENCE would have left a gap).
#[test]
fn postgres_a_failed_sequencing_leaves_no_gap() {
    let Some(b) = Postgres::new() else { return };
    let mut store = b.front_end("gap", std::time::Duration::from_secs(2));
    let e = |t: u8| ([t; 32], vec![t]);
    assert_eq!(
        store.sequence(vec![e(1), e(2)]).unwrap(),
        vec![(0, true), (1, true)]
    );
    // The same new leaf twice in one call breaks the unique index: the call fails whole.
    assert!(store.sequence(vec![e(3), e(4), e(4)]).is_err());
    assert_eq!(
        store.sequence(vec![e(5), e(1)]).unwrap(),
        vec![(2, true), (0, false)]
    );
    assert_eq!(store.status().unwrap().sequenced, 3);
    assert_eq!(
        store.read_leaf_hashes(0, 10).unwrap(),
        vec![[1; 32], [2; 32], [5; 32]]
    );
}

/// One holder at a time; a lease taken over after it expired has a new epoch, and the former
/// holder's publication under the old epoch is refused (fenced) without a trace, even though
/// its compare-and-swap would match; the new holder publishes; released, it is free at once.
#[test]
fn postgres_the_lease_is_exclusive_and_fences_a_former_holder() {
    let Some(b) = Postgres::new() else { return };
    let ttl = std::time::Duration::from_millis(400);
    let (mut one, mut two) = (b.front_end("lease", ttl), b.front_end("lease", ttl));
    one.commit_batch(&batch(vec![], vec![], 0, "c0")).unwrap();
    assert_eq!(two.latest_checkpoint().unwrap(), Some((0, "c0".into())));
    let e1 = one.acquire_lease("one", ttl).unwrap().expect("a free lease");
    assert_eq!(two.acquire_lease("two", ttl).unwrap(), None);
    assert!(one.renew_lease("one", e1, ttl).unwrap());
    assert!(
        !two.renew_lease("two", e1, ttl).unwrap(),
        "renewed a lease it does not hold"
    );
    // Two, not holding it, cannot publish.
    assert!(matches!(
        two.publish(&[], 0, "two's c0", "two", e1),
        Err(StorageError::Fenced(_))
    ));
    std::thread::sleep(ttl + std::time::Duration::from_millis(100));
    let e2 = two.acquire_lease("two", ttl).unwrap().expect("an expired lease");
    assert!(e2 > e1);
    assert!(!one.renew_lease("one", e1, ttl).unwrap());
    // One wakes up and publishes on the checkpoint it read: fenced, nothing written.
    assert!(matches!(
        one.publish(&[(0, 0, vec![9; 32])], 1, "one's c1", "one", e1),
        Err(StorageError::Fenced(_))
    ));
    let mut reader = b.front_end("lease", ttl);
    assert_eq!(reader.latest_checkpoint().unwrap(), Some((0, "c0".into())));
    assert_eq!(reader.read_tile(0, 0).unwrap(), None);
    two.publish(&[(0, 0, vec![7; 32])], 1, "two's c1", "two", e2)
        .unwrap();
    assert_eq!(reader.latest_checkpoint().unwrap(), Some((1, "two's c1".into())));
    two.release_lease("two", e2).unwrap();
    let e3 = one.acquire_lease("one", ttl).unwrap().expect("a released lease");
    assert!(e3 > e2);
}
