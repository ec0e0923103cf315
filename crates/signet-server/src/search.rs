//! The search index of the Rekor v2 log (issue 17): `index.db` in the data directory, kept up
//! to date by `signet-index`'s thread reading the log's committed entries, and its route
//! `GET <log>/api/v2/search`. The log's write path does not know it exists: the indexer polls
//! the log's store for a newer checkpoint, so it can fall behind but never hold up an entry. It
//! still shares the disk and the cores: under full write load the log takes ~15% fewer entries/s
//! with it (BENCHMARKS.md, "Search index"); `--no-search-index` turns it off. With
//! `--database postgres://…` it reads the log from PostgreSQL and keeps its index in the local
//! data directory (one per front end).

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use signet_log::storage::StoreLocation;

/// The index file, beside the log's database.
pub const INDEX_FILE: &str = "index.db";
/// How often the indexer looks for a newer checkpoint: the most a new entry waits to be
/// searchable beyond its integration.
const POLL: Duration = Duration::from_millis(100);

/// Starts the indexer over the log's store at `log` and returns it (it stops when dropped)
/// with the search route, to be merged into the log's router.
pub fn start(
    data_dir: &Path,
    log: &StoreLocation,
    log_id: [u8; 32],
) -> anyhow::Result<(signet_index::Indexer, axum::Router)> {
    let path = data_dir.join(INDEX_FILE);
    let store = log
        .open(false)
        .context("cannot open the database for the search index")?;
    let indexer = signet_index::Indexer::spawn(store, path.clone(), POLL)
        .with_context(|| format!("cannot open the search index {}", path.display()))?;
    let readers = log.reader_pool(2).context("cannot open the database")?;
    let state = signet_index::http::SearchState::open(&path, 2, readers, log_id)
        .with_context(|| format!("cannot read the search index {}", path.display()))?;
    Ok((indexer, signet_index::http::router(state)))
}
