//! The web explorer (issue 17) over the Rekor v2 log: [`RekorV2Source`] implements
//! `signet_explorer::ExplorerSource` with the search index (`index.db`, read-only) and the
//! log's store, and [`start`] serves the explorer at `/explorer` and samples the log's size for
//! the growth plot into `explorer.db` in the data directory. The Rekor v1 and CT logs join by
//! implementing the same trait (their entries read as `EntryFormat::RekorV1` / `Ct`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use signet_explorer::{
    EntryFormat, ExplorerSource, Hit, LogOverview, ProvenEntry, SearchPage, SourceError, Term,
};
use signet_formats::rekor_v2::TransparencyLogEntry;
use signet_index::query::{decode_cursor, encode_cursor, normalize};
use signet_index::{Field, IndexDb, SearchQuery};
use signet_log::storage::StoreLocation;
use signet_log::LogStore;

/// The explorer's own file: the size history behind the growth plot.
pub const HISTORY_FILE: &str = "explorer.db";
/// The Rekor v2 log's name in explorer URLs (`/explorer/log/rekor`), as its API prefix.
pub const LOG_NAME: &str = "rekor";
/// How often the log's size is sampled for the growth plot.
const SAMPLE_EVERY: Duration = Duration::from_secs(60);
/// Connections of each kind the explorer reads with.
const READERS: usize = 2;

/// The Rekor v2 log, as the explorer reads it.
pub struct RekorV2Source {
    index: Vec<Mutex<IndexDb>>,
    log: Vec<Mutex<Box<dyn LogStore>>>,
    next: AtomicUsize,
    log_id: [u8; 32],
    trusted_root: PathBuf,
}

fn err(e: impl std::fmt::Display) -> SourceError {
    SourceError(e.to_string())
}

impl RekorV2Source {
    /// Read connections to the index at `index_path` (the indexer must have created it) and to
    /// the log at `log`; the trust root is read from `trusted_root` at each request for it.
    pub fn open(
        index_path: &Path,
        log: &StoreLocation,
        log_id: [u8; 32],
        trusted_root: PathBuf,
    ) -> anyhow::Result<Self> {
        let index = (0..READERS)
            .map(|_| IndexDb::open(index_path, false).map(Mutex::new))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read the search index {}", index_path.display()))?;
        let log = (0..READERS)
            .map(|_| log.open(false).map(Mutex::new))
            .collect::<Result<_, _>>()
            .context("cannot open the log for the explorer")?;
        Ok(RekorV2Source {
            index,
            log,
            next: AtomicUsize::new(0),
            log_id,
            trusted_root,
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

    fn hit(index: u64, leaf: Vec<u8>) -> Hit {
        Hit {
            log: LOG_NAME.into(),
            index,
            format: EntryFormat::RekorV2,
            leaf,
        }
    }

    /// The bodies of `indices`, all below the checkpoint's size.
    fn read_hits(store: &mut dyn LogStore, indices: &[u64]) -> Result<Vec<Hit>, SourceError> {
        indices
            .iter()
            .map(|&i| {
                let body = store
                    .read_entries(i, 1)
                    .map_err(err)?
                    .pop()
                    .ok_or_else(|| err(format!("entry {i} is missing from the log")))?;
                Ok(Self::hit(i, body))
            })
            .collect()
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

impl ExplorerSource for RekorV2Source {
    fn logs(&self) -> Vec<String> {
        vec![LOG_NAME.into()]
    }

    fn search(&self, term: &Term, cursor: Option<&str>, limit: u32) -> Result<SearchPage, SourceError> {
        let field = field(term);
        // A value or cursor the index would refuse matches nothing (the explorer has already
        // refused what is malformed; these are the index's own, stricter bounds).
        let (Ok(value), Ok(start)) = (
            normalize(field, term.value()),
            cursor.map_or(Ok(0), decode_cursor),
        ) else {
            return Ok(SearchPage::default());
        };
        let query = SearchQuery {
            terms: vec![(field, value)],
            start,
            limit,
        };
        let indices = {
            let i = self.next.fetch_add(1, Ordering::Relaxed) % self.index.len();
            let db = self.index[i].lock().unwrap_or_else(|p| p.into_inner());
            db.search(&query).map_err(err)?
        };
        self.with_log(|store| {
            let size = checkpoint_size(store)?.map_or(0, |(s, _)| s);
            // As the search API: an entry the checkpoint does not cover yet starts the next page.
            let page: Vec<u64> = indices
                .iter()
                .copied()
                .take(limit as usize)
                .take_while(|&i| i < size)
                .collect();
            let next = indices.get(page.len()).map(|&i| encode_cursor(i));
            Ok(SearchPage {
                hits: Self::read_hits(store, &page)?,
                next,
            })
        })
    }

    fn find_leaf(&self, leaf_hash: &[u8; 32]) -> Result<Vec<Hit>, SourceError> {
        self.with_log(|store| {
            let size = checkpoint_size(store)?.map_or(0, |(s, _)| s);
            let found: Vec<u64> = store
                .find_indices(&[*leaf_hash])
                .map_err(err)?
                .into_iter()
                .flatten()
                .filter(|&i| i < size)
                .collect();
            Self::read_hits(store, &found)
        })
    }

    fn entry(&self, log: &str, index: u64) -> Result<Option<ProvenEntry>, SourceError> {
        if log != LOG_NAME {
            return Ok(None);
        }
        self.with_log(|store| {
            if checkpoint_size(store)?.is_none() {
                return Ok(None);
            }
            // The search API's own answer: the entry with its proof against the latest checkpoint.
            let json = signet_index::http::answer(store, &[index], 1, 0, &self.log_id).map_err(err)?;
            let mut answer: serde_json::Value = serde_json::from_slice(&json).map_err(err)?;
            let Some(first) = answer["entries"].as_array_mut().and_then(|a| a.pop()) else {
                return Ok(None);
            };
            let tle: TransparencyLogEntry = serde_json::from_value(first).map_err(err)?;
            let proof = tle
                .inclusion_proof
                .ok_or_else(|| err("the log's answer has no inclusion proof"))?;
            let checkpoint = proof
                .checkpoint
                .ok_or_else(|| err("the log's answer has no checkpoint"))?
                .envelope;
            Ok(Some(ProvenEntry {
                hit: Self::hit(tle.log_index, tle.canonicalized_body),
                log_id: self.log_id.to_vec(),
                integrated_time: tle.integrated_time,
                hashes: proof.hashes,
                tree_size: proof.tree_size,
                root_hash: proof.root_hash,
                checkpoint,
            }))
        })
    }

    fn overview(&self, log: &str, recent: usize) -> Result<Option<LogOverview>, SourceError> {
        if log != LOG_NAME {
            return Ok(None);
        }
        self.with_log(|store| {
            let Some((size, checkpoint)) = checkpoint_size(store)? else {
                return Ok(None);
            };
            let cosigned_checkpoint = store.cosigned_checkpoint().map_err(err)?;
            let from = size.saturating_sub(recent as u64);
            let mut recent: Vec<Hit> = store
                .read_entries(from, size - from)
                .map_err(err)?
                .into_iter()
                .zip(from..)
                .map(|(body, i)| Self::hit(i, body))
                .collect();
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

/// The explorer over the Rekor v2 log whose index is `index_path` (started by `search::start`),
/// as a router to merge into the server's; and its size sampler, running until the
/// runtime stops.
pub fn start(
    data_dir: &Path,
    index_path: &Path,
    log: &StoreLocation,
    log_id: [u8; 32],
) -> anyhow::Result<axum::Router> {
    let source = RekorV2Source::open(index_path, log, log_id, data_dir.join("trusted_root.json"))?;
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
