//! The indexer: reads the entries the log has committed (up to its latest checkpoint, never
//! beyond), recomputes each leaf hash and checks it against the log's level-0 hash tile, and
//! writes the entry's postings. It only reads the log's store, so the index can be rebuilt
//! from the log at any time (delete `index.db`) and the same code checks it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use signet_log::storage::read_hash_tile;
use signet_log::LogStore;
use signet_monitor::entry::{read_entry, Signer, Wanted};
use signet_tlog::{leaf_hash, TileId, TILE_WIDTH};

use crate::query::{identity_issuer, Field, MAX_VALUE_LEN};
use crate::sqlite::{IndexDb, Postings};
use crate::IndexError;

/// The postings of one entry body. A body that does not read as a Rekor v2 entry gets none
/// (the log only accepts readable entries; if one is not, it is not searchable, and the
/// monitor is the tool that reports it).
pub fn postings(log_index: u64, body: &[u8]) -> Postings {
    let mut terms = Vec::new();
    match read_entry(
        body,
        &Wanted {
            fingerprints: true,
            extensions: Some(Vec::new()),
        },
    ) {
        Ok(facts) => {
            terms.push((Field::Digest, facts.digest));
            for signer in facts.signers {
                match signer {
                    Signer::Certificate(c) => {
                        if let (Some(san), Some(issuer)) = (&c.san, &c.issuer) {
                            terms.push((Field::IdentityIssuer, identity_issuer(san, issuer)));
                        }
                        terms.extend(c.san.map(|s| (Field::Identity, s)));
                        terms.extend(c.issuer.map(|s| (Field::Issuer, s)));
                        terms.push((Field::KeyFingerprint, c.key_fingerprint));
                        terms.push((Field::CertFingerprint, c.cert_fingerprint));
                    }
                    Signer::PublicKey { key_fingerprint } => {
                        terms.push((Field::KeyFingerprint, key_fingerprint))
                    }
                }
            }
        }
        Err(e) => tracing::warn!(log_index, error = %e, "entry not indexed"),
    }
    // Stored values are bounded like queries: a longer one could never be asked for.
    terms.retain(|(f, v)| {
        let max = match f {
            Field::IdentityIssuer => 2 * MAX_VALUE_LEN + 5,
            _ => MAX_VALUE_LEN,
        };
        !v.is_empty() && v.len() <= max
    });
    terms.sort();
    terms.dedup();
    Postings { log_index, terms }
}

/// Indexes what the log has committed beyond the index, one entry bundle (256 entries) per
/// transaction, at most `max_entries` of them. Returns the new indexed size.
///
/// An index ahead of the log (a log restored from an older backup) or of another log is
/// emptied and rebuilt: the index never holds an entry the log does not.
pub fn catch_up(log: &mut dyn LogStore, index: &mut IndexDb, max_entries: u64) -> Result<u64, IndexError> {
    let size = log.latest_checkpoint()?.map_or(0, |(size, _)| size);
    let origin = log.meta("origin")?.unwrap_or_default();
    if index.origin()?.as_deref() != Some(origin.as_str()) || index.indexed_size()? > size {
        tracing::warn!(%origin, "search index does not match the log; rebuilding it");
        index.reset(&origin)?;
    }
    let mut from = index.indexed_size()?;
    let stop = size.min(from.saturating_add(max_entries));
    let width = u64::from(TILE_WIDTH);
    while from < stop {
        let bundle = from / width;
        let to = stop.min((bundle + 1) * width);
        let bodies = log.read_entries(from, to - from)?;
        if bodies.len() as u64 != to - from {
            return Err(IndexError::Corrupt(format!(
                "log returned {} entries for {from}..{to}",
                bodies.len()
            )));
        }
        let tile_width = TileId::width_in_tree(0, bundle, size).ok_or_else(|| {
            IndexError::Corrupt(format!("entry bundle {bundle} lies outside a tree of {size}"))
        })?;
        let tile = read_hash_tile(
            log,
            &TileId {
                level: 0,
                index: bundle,
                width: tile_width,
            },
        )?;
        let mut entries = Vec::with_capacity(bodies.len());
        for (i, body) in (from..to).zip(&bodies) {
            let pos = (i % width) as usize;
            let want = tile
                .get(pos)
                .ok_or_else(|| IndexError::Corrupt(format!("hash tile 0/{bundle} has no leaf {i}")))?;
            if leaf_hash(body) != *want {
                return Err(IndexError::LeafMismatch { index: i });
            }
            entries.push(postings(i, body));
        }
        index.append(from, to, &entries)?;
        from = to;
    }
    Ok(from)
}

/// The indexer's thread: follows one log, and stops when its handle is dropped.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    indexed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Indexer {
    /// Starts following `log` into the index file at `path`, polling the log's checkpoint every
    /// `poll`. Errors are logged and retried at the next poll.
    pub fn spawn(mut log: Box<dyn LogStore>, path: PathBuf, poll: Duration) -> Result<Indexer, IndexError> {
        let mut db = IndexDb::open(&path, true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let indexed = Arc::new(AtomicU64::new(db.indexed_size()?));
        let thread = {
            let (stop, indexed) = (stop.clone(), indexed.clone());
            std::thread::Builder::new()
                .name("signet-index".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Bounded rounds so that a rebuild of a large log still notices `stop`.
                        match catch_up(log.as_mut(), &mut db, 64 * 1024) {
                            Ok(size) => {
                                let before = indexed.swap(size, Ordering::Relaxed);
                                if size != before && size - before.min(size) >= 64 * 1024 {
                                    continue;
                                }
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "search index cannot catch up with the log")
                            }
                        }
                        std::thread::sleep(poll);
                    }
                })
                .map_err(|e| IndexError::Corrupt(format!("cannot start the indexer thread: {e}")))?
        };
        Ok(Indexer {
            stop,
            indexed,
            thread: Some(thread),
        })
    }

    /// How many leaves are indexed.
    pub fn indexed_size(&self) -> u64 {
        self.indexed.load(Ordering::Relaxed)
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
