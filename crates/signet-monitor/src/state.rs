//! The monitor's state: one SQLite database in the state directory (`monitor.sqlite`).
//!
//! Per log, by origin: the last verified checkpoint (size, root, signed note), the next entry
//! index to scan, and the compact range of the entries scanned so far (the recomputed tree).
//! Reports wait in an outbox.
//!
//! # Exactly-once reports
//!
//! A batch of entries is committed in one transaction that both advances `next_index` (with
//! the tree) and puts the batch's match lines in the outbox; only after the commit are the
//! lines written to stdout (flushed), each then deleted from the outbox. Every run starts by
//! writing what the outbox still holds. So a monitor killed anywhere neither skips a report
//! (a committed line is in the outbox until written) nor scans an entry twice (the scan resumes
//! at the committed `next_index`). The one window left is a kill after a line was flushed and
//! before its deletion commits: that line is written again on the next run, with the same
//! `id`, so a consumer that must be exact deduplicates on it. Writing first and committing
//! after would instead lose lines to a kill between the two, which no consumer can detect.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use signet_tlog::Hash;
use thiserror::Error;

use crate::tree::{CompactRange, RangeDecodeError};

/// The state database failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("state database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state directory {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state of log {origin} is corrupt: {reason}")]
    Corrupt { origin: String, reason: String },
    #[error("state directory {path} is in use by another `signet monitor`")]
    InUse { path: String },
}

/// A checkpoint that verified: signature, and consistency with the one before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub size: u64,
    pub root: Hash,
    /// The signed note as served.
    pub envelope: String,
}

/// Where the monitor stands on one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub verified: Verified,
    /// The next entry to scan; entries below it are in `tree` and were matched.
    pub next_index: u64,
    pub tree: CompactRange,
}

/// The state database.
pub struct Store {
    conn: Connection,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    verified_size INTEGER NOT NULL,
    verified_root BLOB NOT NULL,
    checkpoint TEXT NOT NULL,
    next_index INTEGER NOT NULL,
    tree BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    origin TEXT NOT NULL,
    log_index INTEGER NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (origin, log_index)
);
";

/// The database file in the state directory.
pub const STATE_FILE: &str = "monitor.sqlite";

/// A database error; "busy" or "locked" means another monitor holds the state.
fn sql_error(path: &str, source: rusqlite::Error) -> StateError {
    if let rusqlite::Error::SqliteFailure(e, _) = &source {
        if matches!(
            e.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ) {
            return StateError::InUse {
                path: path.to_string(),
            };
        }
    }
    StateError::Sqlite {
        path: path.to_string(),
        source,
    }
}

impl Store {
    /// Opens (creating) the state in `dir`. The connection holds the database exclusively, so
    /// a second monitor on the same directory is refused rather than reporting twice.
    pub fn open(dir: &Path) -> Result<Store, StateError> {
        std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let shown = path.display().to_string();
        let conn = Connection::open(&path).map_err(|source| StateError::Sqlite {
            path: shown.clone(),
            source,
        })?;
        let mut store = Store { conn, path: shown };
        store.init()?;
        Ok(store)
    }

    /// A state held in memory (tests).
    pub fn in_memory() -> Result<Store, StateError> {
        let conn = Connection::open_in_memory().map_err(|source| StateError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: ":memory:".into(),
        };
        store.init()?;
        Ok(store)
    }

    fn sql(&self, source: rusqlite::Error) -> StateError {
        sql_error(&self.path, source)
    }

    fn init(&mut self) -> Result<(), StateError> {
        // EXCLUSIVE locking: the first write takes the lock and keeps it until the process
        // ends. WAL with synchronous=NORMAL: a commit survives the process being killed at any
        // point (what the outbox design needs); a power loss may undo the last commits, so
        // their reports are written again (never lost), at no fsync per batch (a batch commit
        // with FULL cost 90 ms under load, more than reading the batch).
        self.conn
            .execute_batch(
                "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            )
            .map_err(|e| self.sql(e))?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(|e| sql_error(&path, e))?;
        tx.execute_batch(SCHEMA).map_err(|e| sql_error(&path, e))?;
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// The state of the log `origin`, if it was ever verified.
    pub fn load(&self, origin: &str) -> Result<Option<LogState>, StateError> {
        let row = self
            .conn
            .query_row(
                "SELECT verified_size, verified_root, checkpoint, next_index, tree FROM logs WHERE origin = ?1",
                params![origin],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((size, root, envelope, next, tree)) = row else {
            return Ok(None);
        };
        let corrupt = |reason: String| StateError::Corrupt {
            origin: origin.to_string(),
            reason,
        };
        let size = u64::try_from(size).map_err(|_| corrupt(format!("negative size {size}")))?;
        let next = u64::try_from(next).map_err(|_| corrupt(format!("negative next index {next}")))?;
        let root: Hash = root
            .try_into()
            .map_err(|r: Vec<u8>| corrupt(format!("root of {} bytes", r.len())))?;
        if next > size {
            return Err(corrupt(format!(
                "next index {next} beyond the verified size {size}"
            )));
        }
        let tree =
            CompactRange::from_bytes(next, &tree).map_err(|e: RangeDecodeError| corrupt(e.to_string()))?;
        Ok(Some(LogState {
            verified: Verified { size, root, envelope },
            next_index: next,
            tree,
        }))
    }

    /// Records a newly verified checkpoint (and, for a new log, where its scan starts).
    pub fn save_verified(&mut self, origin: &str, state: &LogState) -> Result<(), StateError> {
        self.conn
            .execute(
                "INSERT INTO logs (origin, verified_size, verified_root, checkpoint, next_index, tree)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(origin) DO UPDATE SET verified_size = ?2, verified_root = ?3, checkpoint = ?4",
                params![
                    origin,
                    state.verified.size as i64,
                    state.verified.root.as_slice(),
                    state.verified.envelope,
                    state.next_index as i64,
                    state.tree.to_bytes(),
                ],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }

    /// Commits a scanned batch: the new scan position and tree, and the batch's report lines
    /// into the outbox, in one transaction.
    pub fn commit_batch(
        &mut self,
        origin: &str,
        tree: &CompactRange,
        lines: &[(u64, String)],
    ) -> Result<(), StateError> {
        let path = self.path.clone();
        let err = |source| sql_error(&path, source);
        let tx = self.conn.transaction().map_err(err)?;
        let updated = tx
            .execute(
                "UPDATE logs SET next_index = ?2, tree = ?3 WHERE origin = ?1",
                params![origin, tree.size() as i64, tree.to_bytes()],
            )
            .map_err(err)?;
        if updated != 1 {
            return Err(StateError::Corrupt {
                origin: origin.to_string(),
                reason: "no saved checkpoint to advance".into(),
            });
        }
        for (index, line) in lines {
            tx.execute(
                "INSERT OR REPLACE INTO outbox (origin, log_index, line) VALUES (?1, ?2, ?3)",
                params![origin, *index as i64, line],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// The reports of `origin` committed but not yet written, in index order.
    pub fn pending(&self, origin: &str) -> Result<Vec<(u64, String)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT log_index, line FROM outbox WHERE origin = ?1 ORDER BY log_index")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![origin], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Removes a written report from the outbox.
    pub fn delivered(&mut self, origin: &str, index: u64) -> Result<(), StateError> {
        self.conn
            .execute(
                "DELETE FROM outbox WHERE origin = ?1 AND log_index = ?2",
                params![origin, index as i64],
            )
            .map(drop)
            .map_err(|e| self.sql(e))
    }
}
