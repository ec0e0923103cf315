//! The embedded storage backend: one SQLite file in the data directory.
//!
//! WAL mode with `synchronous=FULL`: a commit is on disk when it returns, and readers on
//! other connections never block the writer. Each integration batch is one transaction,
//! so durable storage costs one fsync per batch, not per entry (see CRATES.md: 3.1 ms per
//! 256-row commit on this machine).

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use signet_tlog::Hash;

use crate::storage::{Batch, LogStore, ReaderPool, StorageError};

/// The schema this build writes. A database with a higher version is refused.
pub const SCHEMA_VERSION: i64 = 1;

fn db_err(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

/// A connection to a log's SQLite database. Open one for the integrator and one per reader.
pub struct SqliteStore {
    conn: Connection,
    /// The checkpoint this connection last read or committed: what `commit_batch` expects to
    /// replace (compare-and-swap, see [`LogStore`]).
    expected: Option<(u64, String)>,
}

impl SqliteStore {
    /// `count` read connections to the database at `path`, as a [`ReaderPool`].
    pub fn reader_pool(path: &Path, count: usize) -> Result<std::sync::Arc<ReaderPool>, StorageError> {
        let readers = (0..count)
            .map(|_| SqliteStore::open(path, false).map(|s| Box::new(s) as Box<dyn LogStore>))
            .collect::<Result<Vec<_>, _>>()?;
        ReaderPool::new(readers)
    }

    /// Opens (creating if `create`) the database at `path` and checks its schema.
    pub fn open(path: &Path, create: bool) -> Result<Self, StorageError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db_err)?;
        let store = SqliteStore { conn, expected: None };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StorageError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(StorageError::NewerSchema {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == 0 {
            self.conn
                .execute_batch(
                    "BEGIN;
                     CREATE TABLE IF NOT EXISTS entries (
                         idx INTEGER PRIMARY KEY,
                         leaf_hash BLOB NOT NULL UNIQUE,
                         body BLOB NOT NULL);
                     CREATE TABLE IF NOT EXISTS tiles (
                         level INTEGER NOT NULL,
                         idx INTEGER NOT NULL,
                         hashes BLOB NOT NULL,
                         PRIMARY KEY (level, idx)) WITHOUT ROWID;
                     CREATE TABLE IF NOT EXISTS checkpoint (
                         id INTEGER PRIMARY KEY CHECK (id = 0),
                         tree_size INTEGER NOT NULL,
                         note TEXT NOT NULL);
                     CREATE TABLE IF NOT EXISTS meta (
                         key TEXT PRIMARY KEY,
                         value TEXT NOT NULL);
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
                .map_err(db_err)?;
        }
        Ok(())
    }
}

impl LogStore for SqliteStore {
    fn latest_checkpoint(&mut self) -> Result<Option<(u64, String)>, StorageError> {
        let latest = self
            .conn
            .query_row("SELECT tree_size, note FROM checkpoint WHERE id = 0", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })
            .optional()
            .map_err(db_err)?;
        self.expected = latest.clone();
        Ok(latest)
    }

    fn find_indices(&mut self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>, StorageError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx FROM entries WHERE leaf_hash = ?1")
            .map_err(db_err)?;
        leaf_hashes
            .iter()
            .map(|h| {
                stmt.query_row([&h[..]], |r| r.get::<_, i64>(0))
                    .optional()
                    .map(|o| o.map(|i| i as u64))
                    .map_err(db_err)
            })
            .collect()
    }

    fn commit_batch(&mut self, batch: &Batch) -> Result<(), StorageError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        {
            // The checkpoint first: a stale writer fails before writing anything else.
            let swapped = match &self.expected {
                None => tx.execute(
                    "INSERT INTO checkpoint (id, tree_size, note) VALUES (0, ?1, ?2)
                     ON CONFLICT (id) DO NOTHING",
                    params![batch.tree_size as i64, &batch.checkpoint],
                ),
                Some((size, note)) => tx.execute(
                    "UPDATE checkpoint SET tree_size = ?1, note = ?2
                     WHERE id = 0 AND tree_size = ?3 AND note = ?4",
                    params![batch.tree_size as i64, &batch.checkpoint, *size as i64, note],
                ),
            }
            .map_err(db_err)?;
            if swapped != 1 {
                return Err(StorageError::Conflict(format!(
                    "expected size {:?}; another writer published",
                    self.expected.as_ref().map(|e| e.0)
                )));
            }
            let mut insert = tx
                .prepare_cached("INSERT INTO entries (idx, leaf_hash, body) VALUES (?1, ?2, ?3)")
                .map_err(db_err)?;
            for e in &batch.entries {
                insert
                    .execute(params![e.index as i64, &e.leaf_hash[..], &e.body])
                    .map_err(db_err)?;
            }
            let mut tile = tx
                .prepare_cached(
                    "INSERT INTO tiles (level, idx, hashes) VALUES (?1, ?2, ?3)
                     ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
                )
                .map_err(db_err)?;
            for (level, index, hashes) in &batch.tiles {
                tile.execute(params![*level as i64, *index as i64, hashes])
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)?;
        self.expected = Some((batch.tree_size, batch.checkpoint.clone()));
        Ok(())
    }

    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hashes FROM tiles WHERE level = ?1 AND idx = ?2")
            .map_err(db_err)?;
        stmt.query_row(params![level as i64, index as i64], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    fn read_entries(&mut self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StorageError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![start as i64, (start + count) as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        self.conn
            .execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", [key, value])
            .map(|_| ())
            .map_err(db_err)
    }

    // Kept in the meta table under a key of its own; unlike the set-once metadata it is
    // replaced at every witnessed checkpoint.
    fn cosigned_checkpoint(&mut self) -> Result<Option<String>, StorageError> {
        self.meta(COSIGNED_CHECKPOINT_KEY)
    }

    // Written without an fsync of its own (synchronous=NORMAL for this one statement): in WAL
    // mode the next batch's commit (synchronous=FULL) syncs the WAL and with it this write,
    // so a witnessed log does not pay a second fsync per published checkpoint on its write
    // path. A crash before that loses only this write: the log restarts from an older
    // cosigned checkpoint, never an uncosigned one.
    fn set_cosigned_checkpoint(&mut self, note: &str) -> Result<(), StorageError> {
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        let written = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [COSIGNED_CHECKPOINT_KEY, note],
        );
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        written.map(|_| ()).map_err(db_err)
    }
}

/// The meta key of the last witnessed checkpoint.
const COSIGNED_CHECKPOINT_KEY: &str = "witnessing.cosigned_checkpoint";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::NewEntry;

    #[test]
    fn batch_round_trip_and_dedup_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let mut s = SqliteStore::open(&path, true).unwrap();
        assert_eq!(s.latest_checkpoint().unwrap(), None);
        let batch = Batch {
            entries: vec![
                NewEntry {
                    index: 0,
                    leaf_hash: [1; 32],
                    body: b"a".to_vec(),
                },
                NewEntry {
                    index: 1,
                    leaf_hash: [2; 32],
                    body: b"b".to_vec(),
                },
            ],
            tiles: vec![(0, 0, vec![7; 64])],
            tree_size: 2,
            checkpoint: "note".into(),
        };
        s.commit_batch(&batch).unwrap();
        drop(s);
        let mut s = SqliteStore::open(&path, false).unwrap();
        assert_eq!(s.latest_checkpoint().unwrap(), Some((2, "note".into())));
        assert_eq!(s.find_indices(&[[2; 32], [3; 32]]).unwrap(), vec![Some(1), None]);
        assert_eq!(s.read_tile(0, 0).unwrap(), Some(vec![7; 64]));
        assert_eq!(s.read_tile(1, 0).unwrap(), None);
        assert_eq!(
            s.read_entries(0, 256).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
    }

    #[test]
    fn a_failed_batch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("log.db"), true).unwrap();
        let one = |i: u64, h: u8| NewEntry {
            index: i,
            leaf_hash: [h; 32],
            body: vec![h],
        };
        s.commit_batch(&Batch {
            entries: vec![one(0, 1)],
            tiles: vec![],
            tree_size: 1,
            checkpoint: "c1".into(),
        })
        .unwrap();
        // Index 0 again violates the primary key: the whole batch must roll back.
        let bad = Batch {
            entries: vec![one(1, 2), one(0, 3)],
            tiles: vec![(0, 0, vec![1])],
            tree_size: 3,
            checkpoint: "c3".into(),
        };
        assert!(s.commit_batch(&bad).is_err());
        assert_eq!(s.latest_checkpoint().unwrap(), Some((1, "c1".into())));
        assert_eq!(s.find_indices(&[[2; 32]]).unwrap(), vec![None]);
        assert_eq!(s.read_tile(0, 0).unwrap(), None);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        drop(SqliteStore::open(&path, true).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            SqliteStore::open(&path, false),
            Err(StorageError::NewerSchema { found: 99, .. })
        ));
    }
}
