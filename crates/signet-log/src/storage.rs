//! The narrow interface between a log and where it keeps its state.
//!
//! One backend per file behind this trait: `sqlite.rs` (the embedded default, one file per
//! log) and `postgres.rs` (one schema per log in a shared database). [`Database`] is the choice
//! a server makes once; [`StoreLocation`] is where one log's store lives in it.

use std::path::PathBuf;
use std::sync::Arc;

use signet_tlog::{Hash, Tile, TileError, TileId};

use crate::postgres::PgDatabase;
use crate::sqlite::SqliteStore;

/// An error from a storage backend. Storage errors are the server's fault (5xx), never the
/// client's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("database error: {0}")]
    Database(String),
    #[error("stored state is inconsistent: {0}")]
    Corrupt(String),
    #[error("data directory was written by a newer signet (schema {found}, this build knows {known})")]
    NewerSchema { found: i64, known: i64 },
    /// The stored checkpoint is no longer the one this connection built on (another writer
    /// published since): nothing was written; re-read the state before writing again.
    #[error("the stored checkpoint moved: {0}")]
    Conflict(String),
    /// A front end that no longer holds the integrator lease (or holds it under an older
    /// epoch) tried to publish: the fencing check refused it and nothing was written.
    #[error("not the integrator: {0}")]
    Fenced(String),
}

/// One new entry of an integration batch.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub index: u64,
    pub leaf_hash: Hash,
    pub body: Vec<u8>,
}

/// Everything one batch changes, written in one durable transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub entries: Vec<NewEntry>,
    /// Hash tiles whose contents changed: (level, index, hashes concatenated).
    pub tiles: Vec<(u8, u64, Vec<u8>)>,
    /// The new tree size and the signed checkpoint (note text) for it.
    pub tree_size: u64,
    pub checkpoint: String,
}

/// What a log needs to keep. Implementations must make `commit_batch` atomic and durable:
/// when it returns Ok, every entry, tile and the checkpoint survive a crash; when it fails or
/// the process dies during it, none of them is visible.
///
/// `commit_batch` publishes its checkpoint by compare-and-swap: it succeeds only while the
/// stored checkpoint is still the one this connection last read (`latest_checkpoint`) or
/// committed, or there is none and it read none; otherwise it fails with
/// [`StorageError::Conflict`] and writes nothing. A writer whose view is stale (another process
/// published on the same database) can therefore never move the log back or fork it.
pub trait LogStore: Send {
    /// The tree size and signed checkpoint last committed (`None` for a new log).
    fn latest_checkpoint(&mut self) -> Result<Option<(u64, String)>, StorageError>;
    /// For each leaf hash, the index of the entry already logged with it.
    fn find_indices(&mut self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>, StorageError>;
    /// Writes a batch atomically and durably.
    fn commit_batch(&mut self, batch: &Batch) -> Result<(), StorageError>;
    /// A hash tile's contents as last written (possibly partial), if any.
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StorageError>;
    /// The bodies of entries `start..start+count` that exist, in order.
    fn read_entries(&mut self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StorageError>;
    /// A value from the log's metadata (origin, key, schema), set once at creation.
    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError>;

    /// The last checkpoint published with witness cosignatures (its signed note), if this
    /// backend keeps it. A log that holds checkpoints back until witnessed serves it after a
    /// restart rather than an uncosigned one. The default keeps nothing.
    fn cosigned_checkpoint(&mut self) -> Result<Option<String>, StorageError> {
        Ok(None)
    }
    /// Replaces the cosigned checkpoint, durably. Only called for a tree size already
    /// committed. The default refuses (the log then logs the error and serves it from memory).
    fn set_cosigned_checkpoint(&mut self, note: &str) -> Result<(), StorageError> {
        let _ = note;
        Err(StorageError::Database(
            "this storage backend does not keep cosigned checkpoints".into(),
        ))
    }

    /// A connection to the same store for a log that several front ends share, if this
    /// backend is one (PostgreSQL): the appender then sequences and integrates apart
    /// ([`crate::fleet`]). `None` (the default, SQLite) keeps the single-process write path,
    /// which sequences and integrates in one transaction under a lease it always holds.
    fn shared(&self) -> Option<Box<dyn SharedLogStore>> {
        None
    }
}

/// Where a shared log stands: how far it is sequenced, its committed checkpoint, and how long
/// the oldest sequenced entry beyond that checkpoint has waited.
#[derive(Debug, Clone, Default)]
pub struct SharedStatus {
    /// Entries sequenced (the next index to assign).
    pub sequenced: u64,
    /// The committed checkpoint: tree size and signed note.
    pub checkpoint: Option<(u64, String)>,
    /// Seconds since the oldest entry not yet in the checkpoint was sequenced.
    pub oldest_unintegrated_secs: Option<f64>,
}

/// How a front end takes part in the integrator lease of a shared log.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// This process's name in the lease row (unique per process start).
    pub holder: String,
    /// How long a taken or renewed lease lasts.
    pub ttl: std::time::Duration,
    /// How often the holder renews it (and others try to take it).
    pub renew: std::time::Duration,
}

/// A log store several front ends share. Sequencing (deduplication and index assignment) is
/// one transaction any front end runs; integration is for the holder of the lease, and its
/// publication is fenced by the lease's epoch and compare-and-swapped on the previous
/// checkpoint, so a former holder can never publish and the log can never fork.
pub trait SharedLogStore: LogStore {
    /// Sequences `entries` (leaf hash, body) in one durable transaction: each gets the index
    /// of the entry already logged (or sequenced) with its leaf hash, or the next free index
    /// (no gaps, whatever else fails). Returns (index, new) per entry, in order. The leaf
    /// hashes must be distinct.
    fn sequence(&mut self, entries: Vec<(Hash, Vec<u8>)>) -> Result<Vec<(u64, bool)>, StorageError>;
    /// Where the log stands now.
    fn status(&mut self) -> Result<SharedStatus, StorageError>;
    /// The leaf hashes of sequenced entries `start..start+count`, in order.
    fn read_leaf_hashes(&mut self, start: u64, count: u64) -> Result<Vec<Hash>, StorageError>;
    /// Takes the lease if it is free or expired: `Some(epoch)`, a new fencing token.
    fn acquire_lease(&mut self, holder: &str, ttl: std::time::Duration) -> Result<Option<u64>, StorageError>;
    /// Extends the lease this holder took under `epoch`, if it has not expired. False when it
    /// is lost.
    fn renew_lease(
        &mut self,
        holder: &str,
        epoch: u64,
        ttl: std::time::Duration,
    ) -> Result<bool, StorageError>;
    /// Gives the lease up (at shutdown), so another front end takes it at once.
    fn release_lease(&mut self, holder: &str, epoch: u64) -> Result<(), StorageError>;
    /// Publishes a checkpoint over the sequenced entries: the changed tiles and the signed
    /// note in one durable transaction, only while `holder` holds the lease under `epoch`
    /// ([`StorageError::Fenced`] otherwise) and the stored checkpoint is the one this
    /// connection last read or wrote ([`StorageError::Conflict`] otherwise).
    fn publish(
        &mut self,
        tiles: &[(u8, u64, Vec<u8>)],
        tree_size: u64,
        checkpoint: &str,
        holder: &str,
        epoch: u64,
    ) -> Result<(), StorageError>;
    /// Woken when this log's checkpoint moves or entries are sequenced, in any process.
    fn wakeup(&self) -> Arc<Wakeup>;
    /// The lease settings of this process.
    fn lease_config(&self) -> LeaseConfig;
    /// Another connection to the same store.
    fn try_clone(&self) -> Box<dyn SharedLogStore>;
}

/// A generation counter threads wait on: bumped by [`Wakeup::notify`].
#[derive(Debug, Default)]
pub struct Wakeup {
    generation: std::sync::Mutex<u64>,
    changed: std::sync::Condvar,
}

impl Wakeup {
    /// Wakes every waiter.
    pub fn notify(&self) {
        let mut g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *g = g.wrapping_add(1);
        self.changed.notify_all();
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the generation differs from `seen` or `timeout` passes; returns the
    /// generation then.
    pub fn wait(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        let g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = self
            .changed
            .wait_timeout_while(g, timeout, |g| *g == seen)
            .unwrap_or_else(|p| p.into_inner());
        *g
    }
}

/// Reads hash tile `id` from `store` for a [`signet_tlog::TileSource`]: the stored version,
/// which may be wider than `id` (a partial tile grows in place; its prefix never changes).
pub fn read_hash_tile(store: &mut dyn LogStore, id: &TileId) -> Result<Vec<Hash>, TileError> {
    let unavailable = |reason: String| TileError::Unavailable {
        path: id.path(),
        reason,
    };
    let bytes = store
        .read_tile(id.level, id.index)
        .map_err(|e| unavailable(e.to_string()))?
        .ok_or_else(|| unavailable("not in the store".into()))?;
    let stored = TileId {
        width: (bytes.len() / 32).clamp(1, 256) as u16,
        ..*id
    };
    Ok(Tile::from_bytes(stored, &bytes)?.hashes)
}

/// Read-only store connections shared by a log's read routes, used round-robin, each by one
/// request at a time, on tokio's blocking pool (SQLite calls block).
pub struct ReaderPool {
    readers: Vec<std::sync::Mutex<Box<dyn LogStore>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl ReaderPool {
    /// A pool of `readers`; at least one is needed.
    pub fn new(readers: Vec<Box<dyn LogStore>>) -> Result<std::sync::Arc<Self>, StorageError> {
        if readers.is_empty() {
            return Err(StorageError::Database(
                "a log needs at least one reader connection".into(),
            ));
        }
        Ok(std::sync::Arc::new(ReaderPool {
            readers: readers.into_iter().map(std::sync::Mutex::new).collect(),
            next: Default::default(),
        }))
    }

    /// Runs `f` on the next reader connection, on the blocking pool. `Err` only when the task
    /// itself failed (it panicked or the runtime is shutting down).
    pub async fn run<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&mut dyn LogStore) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let i = pool.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % pool.readers.len();
            // A panic in another reader cannot leave a connection half-used in a way that
            // matters: each call is a self-contained read.
            let mut conn = pool.readers[i].lock().unwrap_or_else(|p| p.into_inner());
            f(conn.as_mut())
        })
        .await
    }
}

/// Where a server keeps its logs: SQLite files in each service's directory (the default), or
/// schemas of one PostgreSQL database.
#[derive(Debug, Clone, Default)]
pub enum Database {
    #[default]
    Sqlite,
    Postgres(Arc<PgDatabase>),
}

impl Database {
    /// Where the log known as `file` (in SQLite) or `schema` (in PostgreSQL) lives.
    pub fn location(&self, file: PathBuf, schema: &str) -> StoreLocation {
        match self {
            Database::Sqlite => StoreLocation::Sqlite(file),
            Database::Postgres(db) => StoreLocation::Postgres {
                db: db.clone(),
                schema: schema.to_string(),
            },
        }
    }
}

/// One log's store: a SQLite file, or a schema of a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Postgres { db: Arc<PgDatabase>, schema: String },
}

impl StoreLocation {
    /// Opens a connection (creating the store if `create`), its schema checked and migrated.
    pub fn open(&self, create: bool) -> Result<Box<dyn LogStore>, StorageError> {
        Ok(match self {
            StoreLocation::Sqlite(path) => Box::new(SqliteStore::open(path, create)?),
            StoreLocation::Postgres { db, schema } => Box::new(db.store(schema, create)?),
        })
    }

    /// Whether the store has been created.
    pub fn exists(&self) -> Result<bool, StorageError> {
        match self {
            StoreLocation::Sqlite(path) => Ok(path.exists()),
            StoreLocation::Postgres { db, schema } => db.has_store(schema),
        }
    }

    /// `count` read connections, as a [`ReaderPool`].
    pub fn reader_pool(&self, count: usize) -> Result<Arc<ReaderPool>, StorageError> {
        match self {
            StoreLocation::Sqlite(path) => SqliteStore::reader_pool(path, count),
            StoreLocation::Postgres { db, schema } => db.reader_pool(schema, count),
        }
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres { db, schema } => write!(f, "schema {schema} of the {}", db.describe()),
        }
    }
}
