//! The size history behind a log overview's growth plot: (time, size) samples of each log,
//! in a SQLite file of the explorer's own (`explorer.db` beside the index; the server says
//! where). A Rekor v2 checkpoint carries no time, so the history is what this server saw:
//! a sample whenever the size changed since the last one, taken by the server's sampler and
//! at each overview request. At most [`MAX_SAMPLES`] per log are kept; beyond that every
//! other one of the older half is dropped, so the plot keeps its whole span at a coarser
//! grain rather than forgetting the start.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// Samples kept per log.
pub const MAX_SAMPLES: i64 = 2000;

/// The history file.
pub struct SizeHistory {
    conn: Mutex<Connection>,
}

impl SizeHistory {
    /// Opens (creating) the history at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<SizeHistory> {
        SizeHistory::with(Connection::open(path)?)
    }

    /// A history in memory (tests).
    pub fn in_memory() -> rusqlite::Result<SizeHistory> {
        SizeHistory::with(Connection::open_in_memory()?)
    }

    fn with(conn: Connection) -> rusqlite::Result<SizeHistory> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS size_history (
                 log TEXT NOT NULL, time INTEGER NOT NULL, size INTEGER NOT NULL,
                 PRIMARY KEY (log, time)) WITHOUT ROWID;",
        )?;
        Ok(SizeHistory {
            conn: Mutex::new(conn),
        })
    }

    /// Records that `log` had `size` entries at `time` (Unix seconds), unless that is the
    /// size last recorded. A second sample in the same second replaces the first.
    pub fn record(&self, log: &str, time: i64, size: u64) -> rusqlite::Result<()> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let last: Option<i64> = conn
            .query_row(
                "SELECT size FROM size_history WHERE log = ?1 ORDER BY time DESC LIMIT 1",
                [log],
                |r| r.get(0),
            )
            .optional()?;
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        if last == Some(size) {
            return Ok(());
        }
        conn.execute(
            "INSERT INTO size_history (log, time, size) VALUES (?1, ?2, ?3)
             ON CONFLICT (log, time) DO UPDATE SET size = excluded.size",
            params![log, time, size],
        )?;
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM size_history WHERE log = ?1", [log], |r| {
            r.get(0)
        })?;
        if count > MAX_SAMPLES {
            conn.execute(
                "DELETE FROM size_history WHERE log = ?1 AND time IN (
                     SELECT time FROM (SELECT time, ROW_NUMBER() OVER (ORDER BY time) AS n
                                       FROM size_history WHERE log = ?1)
                     WHERE n <= ?2 AND n % 2 = 0)",
                params![log, count / 2],
            )?;
        }
        Ok(())
    }

    /// Every sample of `log`, oldest first.
    pub fn samples(&self, log: &str) -> rusqlite::Result<Vec<(i64, u64)>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt =
            conn.prepare_cached("SELECT time, size FROM size_history WHERE log = ?1 ORDER BY time")?;
        let rows = stmt.query_map([log], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_changes_only_and_thins_old_samples() {
        let h = SizeHistory::in_memory().unwrap();
        h.record("rekor", 10, 1).unwrap();
        h.record("rekor", 11, 1).unwrap();
        h.record("rekor", 12, 5).unwrap();
        h.record("other", 12, 9).unwrap();
        assert_eq!(h.samples("rekor").unwrap(), vec![(10, 1), (12, 5)]);
        for t in 0..(MAX_SAMPLES + 1) {
            h.record("big", t, t as u64).unwrap();
        }
        let s = h.samples("big").unwrap();
        assert!(s.len() as i64 <= MAX_SAMPLES, "{}", s.len());
        // The span is kept: first and last samples survive the thinning.
        assert_eq!(s.first(), Some(&(0, 0)));
        assert_eq!(s.last(), Some(&(MAX_SAMPLES, MAX_SAMPLES as u64)));
    }
}
