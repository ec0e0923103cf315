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
