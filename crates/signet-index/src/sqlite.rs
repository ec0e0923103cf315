//! The index's own SQLite file (`index.db` in the data directory, WAL): one table of postings
//! `(field, value, log_index)` and the `indexed_size` the indexer resumes from, written in the
//! same transaction as the postings of the entries below it, so after a crash the index lags
//! the log but never holds an entry it does not.
//!
//! PostgreSQL would hold the same two tables in the log's database; the indexer is then one
//! more lease holder (like the integrator), and readers query with the same SQL.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::query::{Field, SearchQuery, SCHEMA_VERSION};
use crate::IndexError;

/// Most log indices [`IndexDb::lookup_any`] reads per term (the newest).
pub const MAX_LOOKUP: usize = 100_000;

/// A connection to the index file.
pub struct IndexDb {
    conn: Connection,
}

/// One entry's postings, as the indexer extracts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Postings {
    pub log_index: u64,
    pub terms: Vec<(Field, String)>,
}

impl IndexDb {
    /// Opens (creating when `writer`) the index at `path`. The writer checks that the index
    /// belongs to the log of `origin`; an index of another log is emptied.
    pub fn open(path: &Path, writer: bool) -> Result<IndexDb, IndexError> {
        let flags = if writer {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        };
        let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if writer {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // NORMAL in WAL mode: a power cut may lose the last batches, never corrupt the
            // file; the indexer re-reads them from the log.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // The index is rebuilt from the log at will, so it may hold more in its WAL before
            // folding it into the file (each checkpoint is an fsync on the disk the log's
            // commits wait for): 8,192 pages (32 MiB) instead of 1,000; and a 64 MiB page
            // cache keeps the B-tree's hot pages out of the read path.
            conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
            conn.pragma_update(None, "cache_size", -65536)?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS postings (
                     field INTEGER NOT NULL,
                     value TEXT NOT NULL,
                     log_index INTEGER NOT NULL,
                     PRIMARY KEY (field, value, log_index)
                 ) WITHOUT ROWID;",
            )?;
            let mut db = IndexDb { conn };
            match db.meta("schema")? {
                None => db.set_meta("schema", &SCHEMA_VERSION.to_string())?,
                Some(v) if v == SCHEMA_VERSION.to_string() => {}
                // Another build's postings (older: without the Fulcio extension fields; newer:
                // with fields this build does not know): the index is the log's, so it is
                // emptied and rebuilt from the log rather than trusted or refused.
                Some(v) => {
                    tracing::info!(
                        path = %path.display(),
                        from = %v,
                        to = SCHEMA_VERSION,
                        "search index schema changed; rebuilding it from the log"
                    );
                    db.migrate()?;
                }
            }
            return Ok(db);
        }
        Ok(IndexDb { conn })
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<IndexDb, IndexError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE postings (field INTEGER NOT NULL, value TEXT NOT NULL,
                 log_index INTEGER NOT NULL, PRIMARY KEY (field, value, log_index)) WITHOUT ROWID;",
        )?;
        Ok(IndexDb { conn })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, IndexError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), IndexError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Empties the postings (the origin stays: the log is the same) and records this build's
    /// schema: the indexer then re-reads the log from its first entry.
    fn migrate(&mut self) -> Result<(), IndexError> {
        self.empty_and_set("schema", &SCHEMA_VERSION.to_string())
    }

    /// Deletes every posting and the indexed size, and sets meta `key` to `value`, in one
    /// transaction.
    fn empty_and_set(&mut self, key: &str, value: &str) -> Result<(), IndexError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM postings", [])?;
        tx.execute("DELETE FROM meta WHERE key = 'indexed_size'", [])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The index file's schema version, if recorded.
    pub fn schema(&self) -> Result<Option<String>, IndexError> {
        self.meta("schema")
    }

    /// The log origin this index was built from, if recorded.
    pub fn origin(&self) -> Result<Option<String>, IndexError> {
        self.meta("origin")
    }

    /// Empties the index and records the log it will hold.
    pub fn reset(&mut self, origin: &str) -> Result<(), IndexError> {
        self.empty_and_set("origin", origin)
    }

    /// How many leaves of the log are indexed: entries `0..indexed_size`.
    pub fn indexed_size(&self) -> Result<u64, IndexError> {
        match self.meta("indexed_size")? {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| IndexError::Corrupt(format!("indexed_size {v:?} is not a number"))),
        }
    }

    /// Adds the postings of entries `from..to` and moves `indexed_size` from `from` to `to`,
    /// in one transaction. `from` must be the current `indexed_size` (one writer at a time).
    pub fn append(&mut self, from: u64, to: u64, entries: &[Postings]) -> Result<(), IndexError> {
        let tx = self.conn.transaction()?;
        let current: u64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'indexed_size'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|v| v.parse().unwrap_or(u64::MAX))
            .unwrap_or(0);
        if current != from {
            return Err(IndexError::Corrupt(format!(
                "index is at size {current}, asked to add entries from {from}"
            )));
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO postings (field, value, log_index) VALUES (?1, ?2, ?3)",
            )?;
            // In key order: each insert lands beside the last in the B-tree, touching fewer
            // pages than the entries' order (random digests and fingerprints) would.
            let mut rows: Vec<(Field, &str, u64)> = entries
                .iter()
                .flat_map(|e| e.terms.iter().map(|(f, v)| (*f, v.as_str(), e.log_index)))
                .collect();
            rows.sort_unstable();
            for (field, value, log_index) in rows {
                insert.execute(params![field.code(), value, log_index as i64])?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('indexed_size', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [to.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The log indices matching every term of `query`, from `query.start` in increasing order,
    /// at most `query.limit + 1` of them (the extra one, if present, starts the next page).
    pub fn search(&self, query: &SearchQuery) -> Result<Vec<u64>, IndexError> {
        let terms = query.plan();
        let Some(((first_field, first_value), rest)) = terms.split_first() else {
            return Ok(Vec::new());
        };
        // The SQL depends only on the number of terms (at most one per field); every value is a bound
        // parameter.
        let mut sql = String::from(
            "SELECT p.log_index FROM postings p WHERE p.field = ?1 AND p.value = ?2 AND p.log_index >= ?3",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![
            first_field.code().into(),
            first_value.clone().into(),
            (query.start as i64).into(),
        ];
        for (field, value) in rest {
            let n = args.len();
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM postings q WHERE q.field = ?{} AND q.value = ?{} AND q.log_index = p.log_index)",
                n + 1,
                n + 2
            ));
            args.push(field.code().into());
            args.push(value.clone().into());
        }
        sql.push_str(&format!(" ORDER BY p.log_index LIMIT ?{}", args.len() + 1));
        args.push(i64::from(query.limit + 1).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?;
        rows.map(|r| Ok(r? as u64)).collect()
    }

    /// The log indices with a posting for any of `terms`, in increasing order (Rekor v1's
    /// index/retrieve, which has no paging), at most [`MAX_LOOKUP`] per term.
    pub fn lookup_any(&self, terms: &[(Field, String)]) -> Result<Vec<u64>, IndexError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT log_index FROM postings WHERE field = ?1 AND value = ?2 ORDER BY log_index DESC LIMIT ?3",
        )?;
        let mut out = Vec::new();
        for (field, value) in terms {
            let rows = stmt.query_map(params![field.code(), value, MAX_LOOKUP as i64], |r| {
                r.get::<_, i64>(0)
            })?;
            for r in rows {
                out.push(r? as u64);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Every posting, in key order (tests: rebuilt == incremental).
    pub fn dump(&self) -> Result<Vec<(i64, String, i64)>, IndexError> {
        let mut stmt = self
            .conn
            .prepare("SELECT field, value, log_index FROM postings ORDER BY field, value, log_index")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Read connections to one index file, used in turn (each behind its own lock, so that
/// concurrent searches do not queue behind one connection).
pub struct IndexReaders {
    conns: Vec<std::sync::Mutex<IndexDb>>,
    next: std::sync::atomic::AtomicUsize,
}

impl IndexReaders {
    /// `count` read-only connections to the index at `path` (its indexer must have created it).
    pub fn open(path: &Path, count: usize) -> Result<IndexReaders, IndexError> {
        let conns = (0..count.max(1))
            .map(|_| IndexDb::open(path, false).map(std::sync::Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(IndexReaders {
            conns,
            next: Default::default(),
        })
    }

    /// Runs `f` on the next connection (blocking: call from a blocking task).
    pub fn with<T>(&self, f: impl FnOnce(&IndexDb) -> Result<T, IndexError>) -> Result<T, IndexError> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.conns.len();
        // A poisoned lock only means another search panicked mid-read; the connection holds no
        // state between statements, so it is still good.
        let db = self.conns[i].lock().unwrap_or_else(|p| p.into_inner());
        f(&db)
    }
}
