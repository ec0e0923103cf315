//! The embedded backend: one SQLite file, one row per log.
//!
//! WAL mode with `synchronous=FULL`, so a commit is on disk when it returns: tlog-witness
//! requires the new checkpoint to be persisted before the cosignature is returned, and with
//! `NORMAL` a power cut could drop the last commits, rolling the witness back to a size from
//! which it would then cosign a fork. The cost is one fsync per cosignature (BENCHMARKS.md).
//! Each update is a `BEGIN IMMEDIATE` transaction: it takes the write lock before reading, so
//! the read, the check and the write are atomic even against another process.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use signet_tlog::Hash;

use crate::storage::{Decide, StorageError, WitnessStore};
use crate::witness::{AddError, TreeHead};

/// The schema this build writes. A database with a higher version is refused.
pub const SCHEMA_VERSION: i64 = 1;

fn db_err(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

/// The witness's SQLite database.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
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
        let store = SqliteStore { conn };
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
                     CREATE TABLE IF NOT EXISTS logs (
                         origin TEXT PRIMARY KEY,
                         tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
                         root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
                         checkpoint TEXT NOT NULL) WITHOUT ROWID;
                     CREATE TABLE IF NOT EXISTS meta (
                         key TEXT PRIMARY KEY,
                         value TEXT NOT NULL) WITHOUT ROWID;
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
                .map_err(db_err)?;
        }
        Ok(())
    }
}

/// Reads a head inside or outside a transaction.
fn read_head(conn: &Connection, origin: &str) -> Result<Option<TreeHead>, StorageError> {
    let row: Option<(i64, Vec<u8>, String)> = conn
        .query_row(
            "SELECT tree_size, root_hash, checkpoint FROM logs WHERE origin = ?1",
            [origin],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db_err)?;
    let Some((size, root, checkpoint)) = row else {
        return Ok(None);
    };
    let damaged = |reason: &str| StorageError::Damaged {
        origin: origin.into(),
        reason: reason.into(),
    };
    Ok(Some(TreeHead {
        size: u64::try_from(size).map_err(|_| damaged("negative tree size"))?,
        root_hash: Hash::try_from(root.as_slice()).map_err(|_| damaged("root hash is not 32 bytes"))?,
        checkpoint,
    }))
}

impl WitnessStore for SqliteStore {
    fn latest(&mut self, origin: &str) -> Result<Option<TreeHead>, StorageError> {
        read_head(&self.conn, origin)
    }

    fn update(&mut self, origin: &str, decide: &mut Decide<'_>) -> Result<TreeHead, AddError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let latest = read_head(&tx, origin)?;
        let head = decide(latest.as_ref())?;
        if let Some(latest) = &latest {
            if head.size < latest.size {
                return Err(AddError::Storage(format!(
                    "refusing to roll {origin:?} back from size {} to {}",
                    latest.size, head.size
                )));
            }
        }
        let size = i64::try_from(head.size).map_err(|_| {
            AddError::Storage(format!("tree size {} does not fit SQLite's integers", head.size))
        })?;
        tx.execute(
            "INSERT INTO logs (origin, tree_size, root_hash, checkpoint) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (origin) DO UPDATE SET tree_size = ?2, root_hash = ?3, checkpoint = ?4",
            params![origin, size, head.root_hash.as_slice(), head.checkpoint],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(head)
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db_err)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
                [key, value],
            )
            .map(|_| ())
            .map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(size: u64) -> TreeHead {
        TreeHead {
            size,
            root_hash: [size as u8; 32],
            checkpoint: format!("cp {size}\n"),
        }
    }

    #[test]
    fn updates_persist_and_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut s = SqliteStore::open(&path, true).unwrap();
        assert_eq!(s.latest("a").unwrap(), None);
        s.update("a", &mut |latest| {
            assert!(latest.is_none());
            Ok(head(3))
        })
        .unwrap();
        // A refusal stores nothing.
        let err = s.update("a", &mut |_| Err(AddError::BadEmptyRoot)).unwrap_err();
        assert!(matches!(err, AddError::BadEmptyRoot));
        // A smaller head is refused by the store itself.
        let err = s.update("a", &mut |_| Ok(head(2))).unwrap_err();
        assert!(matches!(err, AddError::Storage(_)), "{err}");
        s.set_meta("name", "w").unwrap();
        drop(s);
        let mut s = SqliteStore::open(&path, false).unwrap();
        assert_eq!(s.latest("a").unwrap(), Some(head(3)));
        assert_eq!(s.latest("b").unwrap(), None);
        assert_eq!(s.meta("name").unwrap().as_deref(), Some("w"));
    }

    #[test]
    fn concurrent_writers_serialise() {
        // Two connections (as two processes would) each read-check-write 50 times: with the
        // write lock taken before the read, no increment is lost.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        SqliteStore::open(&path, true).unwrap();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut s = SqliteStore::open(&path, false).unwrap();
                    for _ in 0..50 {
                        s.update("a", &mut |latest| Ok(head(latest.map_or(0, |h| h.size) + 1)))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut s = SqliteStore::open(&path, false).unwrap();
        assert_eq!(s.latest("a").unwrap().unwrap().size, 100);
    }
}
