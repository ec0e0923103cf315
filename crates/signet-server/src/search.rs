//! The search indexes of the server's logs (issue 17), each kept up to date by a
//! `signet-index` thread reading its log's committed entries: the Rekor v2 log's in
//! `index.db` in the data directory (route `GET <log>/api/v2/search`), the Rekor v1 log's in
//! `rekor1/index.db` (route `POST /rekor1/api/v1/index/retrieve`, Rekor v1's), the CT log's in
//! `ct/index.db`; and `GET /api/v1/search` at the root over all of them, with the indexes'
//! metrics (`signet_index_lag_entries{log=…}`, sizes) at `GET /search/metrics`.
//!
//! One SQLite file per log rather than one with a log column: each index belongs to one log's
//! tiles, is checked against them and rebuilt from them on its own (delete the file), and
//! each indexer thread writes its own file without waiting on another's write lock. The logs'
//! write paths do not know the indexes exist: an indexer polls its log's store for a newer
//! checkpoint, so it can fall behind but never hold up an entry. They still share the disk and
//! the cores (BENCHMARKS.md, "Search index"); `--no-search-index` turns them all off. With
//! `--database postgres://…` they read the logs from PostgreSQL and keep their index files in
//! the local data directory (one set per front end: a cache rebuilt from the logs).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use signet_index::all::{AllLogs, SearchedLog};
use signet_index::{IndexReaders, Indexer, LogFormat};
use signet_log::storage::StoreLocation;

/// The Rekor v2 log's index file, beside the log's database.
pub const INDEX_FILE: &str = "index.db";
/// How often an indexer looks for a newer checkpoint: the most a new entry waits to be
/// searchable beyond its integration.
const POLL: Duration = Duration::from_millis(100);

/// The running indexers (they stop when dropped) and the logs the all-logs search covers.
#[derive(Default)]
pub struct Indexes {
    indexers: Vec<Indexer>,
    logs: Vec<SearchedLog>,
}

impl Indexes {
    /// Starts indexing the log of `format` whose store is at `log`, into `path`.
    fn start(
        &mut self,
        name: String,
        format: LogFormat,
        path: &Path,
        log: &StoreLocation,
    ) -> anyhow::Result<()> {
        let store = log
            .open(false)
            .context("cannot open the database for the search index")?;
        let indexer = Indexer::spawn(format, store, path.to_path_buf(), POLL)
            .with_context(|| format!("cannot open the search index {}", path.display()))?;
        self.indexers.push(indexer);
        self.logs.push(SearchedLog {
            name,
            format,
            index: readers(path)?,
            path: path.to_path_buf(),
            store: log.reader_pool(2).context("cannot open the database")?,
        });
        Ok(())
    }

    /// The Rekor v2 log's index and its route, to be merged into the log's router.
    /// `shard` is 1 for the first log, N for shard N after rotations (named `rekor2-shard-N`).
    pub fn rekor_v2(
        &mut self,
        data_dir: &Path,
        log: &StoreLocation,
        log_id: [u8; 32],
        shard: u32,
    ) -> anyhow::Result<axum::Router> {
        let path = data_dir.join(INDEX_FILE);
        self.start(
            shard_name(LogFormat::RekorV2, shard),
            LogFormat::RekorV2,
            &path,
            log,
        )?;
        let readers = log.reader_pool(2).context("cannot open the database")?;
        let state = signet_index::http::SearchState::open(&path, 2, readers, log_id)
            .with_context(|| format!("cannot read the search index {}", path.display()))?;
        Ok(signet_index::http::router(state))
    }

    /// The Rekor v1 log's index (in its directory) and its `index/retrieve` route, to be
    /// merged into the log's router.
    pub fn rekor_v1(&mut self, dir: &Path, log: &signet_log::v1::RekorV1) -> anyhow::Result<axum::Router> {
        let path = dir.join(INDEX_FILE);
        self.start(
            LogFormat::RekorV1.name().into(),
            LogFormat::RekorV1,
            &path,
            log.store_location(),
        )?;
        let store = log
            .store_location()
            .reader_pool(2)
            .context("cannot open the database")?;
        let state = signet_index::retrieve::RetrieveState::new(readers(&path)?, store, log.tree_id());
        Ok(signet_index::retrieve::router(state))
    }

    /// The CT log's index (shard `shard`, 1 for the first), in its directory.
    pub fn ct(&mut self, dir: &Path, log: &signet_ct::CtLog, shard: u32) -> anyhow::Result<()> {
        let name = shard_name(LogFormat::Ct, shard);
        self.start(name, LogFormat::Ct, &dir.join(INDEX_FILE), log.store_location())
    }

    /// `GET /api/v1/search` over every indexed log, at the server's root.
    pub fn all_logs_router(&mut self) -> axum::Router {
        signet_index::all::router(AllLogs::new(std::mem::take(&mut self.logs)))
    }
}

/// A log's name in the all-logs search: its format's for the first shard, `<format>-shard-N`
/// for a later one.
fn shard_name(format: LogFormat, shard: u32) -> String {
    match shard {
        0 | 1 => format.name().to_string(),
        n => format!("{}-shard-{n}", format.name()),
    }
}

fn readers(path: &Path) -> anyhow::Result<IndexReaders> {
    IndexReaders::open(path, 2).with_context(|| format!("cannot read the search index {}", path.display()))
}
