//! The indexer: reads the entries a log has committed (up to its latest checkpoint, never
//! beyond), recomputes each leaf hash and checks it against the log's level-0 hash tile, and
//! writes the entry's postings. It only reads the log's store, so the index can be rebuilt
//! from the log at any time (delete the index file) and the same code checks it. One indexer
//! per log: the Rekor v2 log, the Rekor v1 log and the CT log each store their entries in
//! their own form ([`LogFormat`]), but all three hash leaves and tile them alike.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use signet_log::storage::read_hash_tile;
use signet_log::LogStore;
use signet_tlog::{leaf_hash, TileId, TILE_WIDTH};
use signet_verify::entry_facts::{read_ct_entry, read_entry, read_v1_entry, EntryFacts, Signer, Wanted};
use signet_x509::oid::{FulcioField, FULCIO_FIELDS};
use signet_x509::static_ct::TileLeaf;

use crate::query::{identity_issuer, Field, MAX_VALUE_LEN};
use crate::sqlite::{IndexDb, Postings};
use crate::IndexError;

/// The kind of log an index follows: how the log stores an entry, and what of it the Merkle
/// tree hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Rekor v2: the stored entry is the canonical body, and the leaf.
    RekorV2,
    /// Rekor v1 (`signet_log::v1`): the integration time (8 bytes) then the canonical body;
    /// the leaf is the body.
    RekorV1,
    /// RFC 6962 / static-ct-api (`signet-ct`): a `TileLeaf`; the leaf is its
    /// `MerkleTreeLeaf`.
    Ct,
}

impl LogFormat {
    /// Every format, in the order the all-logs search lists them.
    pub const ALL: [LogFormat; 3] = [LogFormat::RekorV2, LogFormat::RekorV1, LogFormat::Ct];

    /// The log's name in search answers and metrics: `rekor2`, `rekor1`, `ct`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::RekorV2 => "rekor2",
            LogFormat::RekorV1 => "rekor1",
            LogFormat::Ct => "ct",
        }
    }

    /// The store metadata naming the log's origin: an index records it, and an index of
    /// another log is emptied rather than mixed.
    fn origin_key(self) -> &'static str {
        match self {
            LogFormat::RekorV2 => "origin",
            LogFormat::RekorV1 => "rekor1.origin",
            LogFormat::Ct => "ct.origin",
        }
    }

    /// The bytes the tree hashes for a stored entry.
    pub fn leaf_data(self, stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
        match self {
            LogFormat::RekorV2 => Ok(Cow::Borrowed(stored)),
            LogFormat::RekorV1 => signet_log::v1::entry::decode_stored(stored)
                .map(|(_, body)| Cow::Borrowed(body))
                .ok_or_else(|| "stored Rekor v1 entry is shorter than its timestamp".to_string()),
            LogFormat::Ct => TileLeaf::decode(stored)
                .map(|l| Cow::Owned(l.merkle_tree_leaf()))
                .map_err(|e| format!("stored CT entry is not a TileLeaf: {e}")),
        }
    }

    /// What an entry says, from the bytes the tree hashes; `Ok(None)` for a kind the reader
    /// skips (none that signet's logs accept).
    fn facts(self, leaf: &[u8]) -> Result<Option<EntryFacts>, String> {
        let wanted = Wanted {
            fingerprints: true,
            extensions: Some(FULCIO_FIELDS.iter().map(FulcioField::oid).collect()),
        };
        match self {
            LogFormat::RekorV2 => read_entry(leaf, &wanted).map(Some),
            LogFormat::RekorV1 => read_v1_entry(leaf, &wanted),
            LogFormat::Ct => read_ct_entry(leaf, &wanted).map(Some),
        }
        .map_err(|e| e.to_string())
    }
}

/// The postings of one entry, from the bytes its leaf hash covers ([`LogFormat::leaf_data`]).
/// An entry that does not read gets none (the log only accepts readable entries; if one is
/// not, it is not searchable, and the monitor is the tool that reports it).
pub fn postings(format: LogFormat, log_index: u64, leaf: &[u8]) -> Postings {
    let mut terms = Vec::new();
    match format.facts(leaf) {
        Ok(Some(facts)) => {
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
                        terms.extend(
                            c.extensions
                                .into_iter()
                                .filter_map(|(oid, v)| Some((Field::of_extension(&oid)?, v))),
                        );
                    }
                    Signer::PublicKey { key_fingerprint } => {
                        terms.push((Field::KeyFingerprint, key_fingerprint))
                    }
                }
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(log = format.name(), log_index, error = %e, "entry not indexed"),
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

/// Indexes what the log has committed beyond the index, at most `max_entries` of it, in
/// transactions of up to 16 entry bundles (4,096 entries), each bundle checked against its hash
/// tile before any of it is written. Returns the new indexed size.
///
/// An index ahead of the log (a log restored from an older backup) or of another log is
/// emptied and rebuilt: the index never holds an entry the log does not.
pub fn catch_up(
    format: LogFormat,
    log: &mut dyn LogStore,
    index: &mut IndexDb,
    max_entries: u64,
) -> Result<u64, IndexError> {
    let size = log.latest_checkpoint()?.map_or(0, |(size, _)| size);
    let origin = log.meta(format.origin_key())?.unwrap_or_default();
    let recorded = index.origin()?;
    if recorded.as_deref() != Some(origin.as_str()) || index.indexed_size()? > size {
        // A new index (no origin, nothing indexed) is only being started: not worth a warning.
        if recorded.is_some() || index.indexed_size()? > 0 {
            tracing::warn!(%origin, "search index does not match the log; rebuilding it");
        }
        index.reset(&origin)?;
    }
    let mut from = index.indexed_size()?;
    let stop = size.min(from.saturating_add(max_entries));
    let width = u64::from(TILE_WIDTH);
    // Entries read and checked but not yet written: up to BUNDLES_PER_TRANSACTION bundles go
    // into one transaction (fewer commits and WAL frames on the disk the log's own commits
    // need; BENCHMARKS.md, "Search index").
    let mut written = from;
    let mut entries = Vec::new();
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
        for (i, stored) in (from..to).zip(&bodies) {
            let pos = (i % width) as usize;
            let want = tile
                .get(pos)
                .ok_or_else(|| IndexError::Corrupt(format!("hash tile 0/{bundle} has no leaf {i}")))?;
            let leaf = format
                .leaf_data(stored)
                .map_err(|e| IndexError::Corrupt(format!("entry {i}: {e}")))?;
            if leaf_hash(&leaf) != *want {
                return Err(IndexError::LeafMismatch { index: i });
            }
            entries.push(postings(format, i, &leaf));
        }
        from = to;
        if from == stop || entries.len() as u64 >= BUNDLES_PER_TRANSACTION * width {
            index.append(written, from, &entries)?;
            entries.clear();
            written = from;
        }
    }
    Ok(from)
}

/// Most entry bundles (of 256) one index transaction holds.
const BUNDLES_PER_TRANSACTION: u64 = 16;

/// The indexer's thread: follows one log, and stops when its handle is dropped.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    indexed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Indexer {
    /// Starts following `log` (a log of `format`) into the index file at `path`, polling the
    /// log's checkpoint every `poll`. Errors are logged and retried at the next poll.
    pub fn spawn(
        format: LogFormat,
        mut log: Box<dyn LogStore>,
        path: PathBuf,
        poll: Duration,
    ) -> Result<Indexer, IndexError> {
        let mut db = IndexDb::open(&path, true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let indexed = Arc::new(AtomicU64::new(db.indexed_size()?));
        let thread = {
            let (stop, indexed) = (stop.clone(), indexed.clone());
            std::thread::Builder::new()
                .name(format!("signet-index-{}", format.name()))
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Bounded rounds so that a rebuild of a large log still notices `stop`.
                        match catch_up(format, log.as_mut(), &mut db, 64 * 1024) {
                            Ok(size) => {
                                let before = indexed.swap(size, Ordering::Relaxed);
                                if size != before && size - before.min(size) >= 64 * 1024 {
                                    continue;
                                }
                            }
                            Err(e) => {
                                tracing::error!(log = format.name(), error = %e, "search index cannot catch up with the log")
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
