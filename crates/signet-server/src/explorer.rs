//! The web explorer (issue 17) over the server's logs: [`ServerLogs`] implements
//! `signet_explorer::ExplorerSource` for the Rekor v2 log (`rekor`), the Rekor v1 log
//! (`rekor1`) and the CT log (`ct`), each with its search index (read-only) and its store, and
//! [`start`] serves the explorer at `/explorer` and samples the logs' sizes for the growth plot
//! into `explorer.db` in the data directory. Entries are shown as the tree hashes them (a Rekor
//! entry's canonical body, a CT `MerkleTreeLeaf`), with the inclusion proof against the log's
//! own latest checkpoint (a Rekor note, a static-ct-api checkpoint), so the page's script
//! checks exactly what the log signed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use signet_explorer::{
    EntryFormat, ExplorerSource, Hit, LogOverview, ProvenEntry, SearchPage, SourceError, Term,
};
use signet_index::proof::prove_page;
use signet_index::query::{decode_cursor, encode_cursor, normalize};
use signet_index::{Field, IndexDb, LogFormat, SearchQuery};
use signet_log::storage::StoreLocation;
use signet_log::LogStore;

/// The explorer's own file: the size history behind the growth plot.
pub const HISTORY_FILE: &str = "explorer.db";
/// The Rekor v2 log's name in explorer URLs (`/explorer/log/rekor`), as its API prefix.
pub const LOG_NAME: &str = "rekor";
/// How often the logs' sizes are sampled for the growth plot.
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// Connections of each kind the explorer reads each log with.
const READERS: usize = 2;

/// A log to show: its name in URLs, its kind, its index file, its store and the ID the trust
/// root knows it by (`tlogs[].logId` for the Rekor logs, `ctlogs[].logId` for CT).
pub struct ExplorerLog {
    pub name: String,
    pub format: LogFormat,
    pub index_path: PathBuf,
    pub location: StoreLocation,
    pub log_id: [u8; 32],
}

impl ExplorerLog {
    /// The log `name` of `format` whose store is at `location` and whose index is
    /// `search::INDEX_FILE` in `dir`.
    pub fn new(
        name: String,
        format: LogFormat,
        dir: &Path,
        location: &StoreLocation,
        log_id: [u8; 32],
    ) -> ExplorerLog {
        ExplorerLog {
            name,
            format,
            index_path: dir.join(super::search::INDEX_FILE),
            location: location.clone(),
            log_id,
        }
    }
}

/// One log, as the explorer reads it.
struct LogReader {
    name: String,
    format: LogFormat,
    index: Vec<Mutex<IndexDb>>,
    log: Vec<Mutex<Box<dyn LogStore>>>,
    next: AtomicUsize,
    log_id: [u8; 32],
}

/// The server's logs, as the explorer reads them.
pub struct ServerLogs {
    logs: Vec<LogReader>,
    trusted_root: PathBuf,
}

fn err(e: impl std::fmt::Display) -> SourceError {
    SourceError(e.to_string())
}

fn entry_format(format: LogFormat) -> EntryFormat {
    match format {
        LogFormat::RekorV2 => EntryFormat::RekorV2,
        LogFormat::RekorV1 => EntryFormat::RekorV1,
        LogFormat::Ct => EntryFormat::Ct,
    }
}

impl LogReader {
    fn open(log: &ExplorerLog) -> anyhow::Result<LogReader> {
        let index = (0..READERS)
            .map(|_| IndexDb::open(&log.index_path, false).map(Mutex::new))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read the search index {}", log.index_path.display()))?;
        let stores = (0..READERS)
            .map(|_| log.location.open(false).map(Mutex::new))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot open the {} log for the explorer", log.name))?;
        Ok(LogReader {
            name: log.name.clone(),
            format: log.format,
            index,
            log: stores,
            next: AtomicUsize::new(0),
            log_id: log.log_id,
        })
    }

    /// Runs `f` on the next log connection (a poisoned lock is fine: each use is one read).
    fn with_log<T>(
        &self,
        f: impl FnOnce(&mut dyn LogStore) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.log.len();
        let mut store = self.log[i].lock().unwrap_or_else(|p| p.into_inner());
        f(store.as_mut())
    }

    fn search_index(&self, query: &SearchQuery) -> Result<Vec<u64>, SourceError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.index.len();
        let db = self.index[i].lock().unwrap_or_else(|p| p.into_inner());
        db.search(query).map_err(err)
    }

    /// The hit of a stored entry: the bytes its leaf hash covers.
    fn hit(&self, index: u64, stored: &[u8]) -> Result<Hit, SourceError> {
        let leaf = self
            .format
            .leaf_data(stored)
            .map_err(|e| err(format!("{} entry {index}: {e}", self.name)))?;
        Ok(Hit {
            log: self.name.clone(),
            index,
            format: entry_format(self.format),
            leaf: leaf.into_owned(),
        })
    }

    /// The entries at `indices`, all below the checkpoint's size.
    fn read_hits(&self, store: &mut dyn LogStore, indices: &[u64]) -> Result<Vec<Hit>, SourceError> {
        indices
            .iter()
            .map(|&i| {
                let stored = store
                    .read_entries(i, 1)
                    .map_err(err)?
                    .pop()
                    .ok_or_else(|| err(format!("{} entry {i} is missing from the log", self.name)))?;
                self.hit(i, &stored)
            })
            .collect()
    }

    /// When the log says it integrated a stored entry (Unix seconds): a Rekor v1 entry's
    /// integration time, a CT entry's SCT timestamp; Rekor v2 records none.
    fn integrated_time(&self, stored: &[u8]) -> Option<i64> {
        match self.format {
            LogFormat::RekorV2 => None,
            LogFormat::RekorV1 => signet_log::v1::entry::decode_stored(stored).map(|(t, _)| t),
            LogFormat::Ct => signet_x509::static_ct::TileLeaf::decode(stored)
                .ok()
                .and_then(|l| i64::try_from(l.timestamped_entry.timestamp / 1000).ok()),
        }
    }

    /// Entries matching `field = value` from log index `start`: at most `limit` hits, and the
    /// first matching index beyond them (the next page's start), if any.
    fn search(
        &self,
        field: Field,
        value: &str,
        start: u64,
        limit: u32,
    ) -> Result<(Vec<Hit>, Option<u64>), SourceError> {
        let query = SearchQuery {
            terms: vec![(field, value.to_string())],
            start,
            limit,
        };
        let indices = self.search_index(&query)?;
        self.with_log(|store| {
            let size = checkpoint_size(store)?.map_or(0, |(s, _)| s);
            // As the search API: an entry the checkpoint does not cover yet starts the next page.
            let page: Vec<u64> = indices
                .iter()
                .copied()
                .take(limit as usize)
                .take_while(|&i| i < size)
                .collect();
            let next = indices.get(page.len()).copied();
            Ok((self.read_hits(store, &page)?, next))
        })
    }
}

fn field(term: &Term) -> Field {
    match term {
        Term::Identity(_) => Field::Identity,
        Term::Issuer(_) => Field::Issuer,
        Term::Digest(_) => Field::Digest,
        Term::KeyFingerprint(_) => Field::KeyFingerprint,
        Term::CertFingerprint(_) => Field::CertFingerprint,
        Term::Extension { arc, .. } => Field::Fulcio(*arc),
    }
}

fn checkpoint_size(store: &mut dyn LogStore) -> Result<Option<(u64, String)>, SourceError> {
    store.latest_checkpoint().map_err(err)
}

impl ServerLogs {
    /// Read connections to each log and its index (the indexers must have created the index
    /// files); the trust root is read from `trusted_root` at each request for it.
    pub fn open(logs: &[ExplorerLog], trusted_root: PathBuf) -> anyhow::Result<Self> {
        Ok(ServerLogs {
            logs: logs.iter().map(LogReader::open).collect::<Result<_, _>>()?,
            trusted_root,
        })
    }

    fn log(&self, name: &str) -> Option<&LogReader> {
        self.logs.iter().find(|l| l.name == name)
    }

    /// A cursor's log and start: `<log>.i<index>` ([`encode_cursor`] behind the log's name).
    fn decode_cursor(&self, cursor: &str) -> Option<(usize, u64)> {
        let (name, rest) = cursor.split_once('.')?;
        let pos = self.logs.iter().position(|l| l.name == name)?;
        Some((pos, decode_cursor(rest).ok()?))
    }
}

impl ExplorerSource for ServerLogs {
    fn logs(&self) -> Vec<String> {
        self.logs.iter().map(|l| l.name.to_string()).collect()
    }

    /// Results run through the logs in order (Rekor v2, Rekor v1, CT), by log index within
    /// each; the cursor names the log and index the next page starts at.
    fn search(&self, term: &Term, cursor: Option<&str>, limit: u32) -> Result<SearchPage, SourceError> {
        let field = field(term);
        // A value or cursor the index would refuse matches nothing (the explorer has already
        // refused what is malformed; these are the index's own, stricter bounds).
        let Ok(value) = normalize(field, term.value()) else {
            return Ok(SearchPage::default());
        };
        let (first, mut start) = match cursor {
            None => (0, 0),
            Some(c) => match self.decode_cursor(c) {
                Some(at) => at,
                None => return Ok(SearchPage::default()),
            },
        };
        let mut page = SearchPage::default();
        for log in &self.logs[first.min(self.logs.len())..] {
            // With the page full, a search for none still says whether this log has more.
            let remaining = limit.saturating_sub(page.hits.len() as u32);
            let (hits, next) = log.search(field, &value, start, remaining)?;
            page.hits.extend(hits);
            if let Some(next) = next {
                page.next = Some(format!("{}.{}", log.name, encode_cursor(next)));
                break;
            }
            start = 0;
        }
        Ok(page)
    }

    fn find_leaf(&self, leaf_hash: &[u8; 32]) -> Result<Vec<Hit>, SourceError> {
        let mut out = Vec::new();
        for log in &self.logs {
            let hits = log.with_log(|store| {
                let size = checkpoint_size(store)?.map_or(0, |(s, _)| s);
                let found: Vec<u64> = store
                    .find_indices(&[*leaf_hash])
                    .map_err(err)?
                    .into_iter()
                    .flatten()
                    .filter(|&i| i < size)
                    .collect();
                log.read_hits(store, &found)
            })?;
            // A store keyed by another hash (a CT log dedups by certificate) is not the UUID.
            out.extend(
                hits.into_iter()
                    .filter(|h| signet_tlog::leaf_hash(&h.leaf) == *leaf_hash),
            );
        }
        Ok(out)
    }

    fn entry(&self, name: &str, index: u64) -> Result<Option<ProvenEntry>, SourceError> {
        let Some(log) = self.log(name) else {
            return Ok(None);
        };
        log.with_log(|store| {
            let Some(page) = prove_page(log.format, store, &[index], 1).map_err(err)? else {
                return Ok(None);
            };
            let Some(proven) = page.entries.into_iter().next() else {
                return Ok(None);
            };
            let stored = store
                .read_entries(index, 1)
                .map_err(err)?
                .pop()
                .unwrap_or_default();
            Ok(Some(ProvenEntry {
                integrated_time: log.integrated_time(&stored),
                hit: Hit {
                    log: log.name.clone(),
                    index,
                    format: entry_format(log.format),
                    leaf: proven.leaf,
                },
                log_id: log.log_id.to_vec(),
                hashes: proven.hashes.iter().map(|h| h.to_vec()).collect(),
                tree_size: page.size,
                root_hash: page.root.to_vec(),
                checkpoint: page.note,
            }))
        })
    }

    fn overview(&self, name: &str, recent: usize) -> Result<Option<LogOverview>, SourceError> {
        let Some(log) = self.log(name) else {
            return Ok(None);
        };
        log.with_log(|store| {
            let Some((size, checkpoint)) = checkpoint_size(store)? else {
                return Ok(None);
            };
            let cosigned_checkpoint = store.cosigned_checkpoint().map_err(err)?;
            let from = size.saturating_sub(recent as u64);
            let mut recent = store
                .read_entries(from, size - from)
                .map_err(err)?
                .iter()
                .zip(from..)
                .map(|(stored, i)| log.hit(i, stored))
                .collect::<Result<Vec<_>, _>>()?;
            recent.reverse();
            Ok(Some(LogOverview {
                size,
                checkpoint,
                cosigned_checkpoint,
                recent,
            }))
        })
    }

    fn trusted_root(&self) -> Result<Vec<u8>, SourceError> {
        std::fs::read(&self.trusted_root)
            .map_err(|e| err(format!("reading {}: {e}", self.trusted_root.display())))
    }
}

/// The explorer over `logs` (their indexes started by `search::Indexes`), as a router to
/// merge into the server's; and its size sampler, running until the runtime stops.
pub fn start(data_dir: &Path, logs: &[ExplorerLog]) -> anyhow::Result<axum::Router> {
    let source = ServerLogs::open(logs, data_dir.join("trusted_root.json"))?;
    let history_path = data_dir.join(HISTORY_FILE);
    let history = signet_explorer::SizeHistory::open(&history_path).with_context(|| {
        format!(
            "cannot open the explorer's size history {}",
            history_path.display()
        )
    })?;
    let explorer = signet_explorer::Explorer::new(Arc::new(source), history);
    let sampler = explorer.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        loop {
            ticks.tick().await;
            let ex = sampler.clone();
            match tokio::task::spawn_blocking(move || ex.sample_sizes(super::unix_now())).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("explorer size sample: {e}"),
                Err(e) => tracing::warn!("explorer size sampler failed: {e}"),
            }
        }
    });
    Ok(signet_explorer::router(explorer))
}
