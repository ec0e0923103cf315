//! The write path: entries are validated by the HTTP layer, then handed to one integrator
//! thread that deduplicates them, gives them indices, appends them to the tree, writes the
//! changed tiles, signs one checkpoint and commits it all in one transaction per batch. Only
//! then are the waiting requests answered with their inclusion proofs.
//!
//! Batching is group commit: while one batch is being written, new entries queue; the next
//! batch takes everything queued (up to `max_batch`). There is no timer to wait for, so an
//! idle log integrates a lone entry at once and a busy one amortises the fsync over many.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use signet_tlog::{Checkpoint, Hash, NoteSigner, TileError, TileId, TileSource, TreeAppender};
use tokio::sync::{mpsc, oneshot};

use crate::storage::{Batch, LogStore, NewEntry, StorageError};
use crate::LogError;

/// A checkpoint the log has signed and committed.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, as served at `/checkpoint`.
    pub note: String,
}

/// The answer to one submission, once it is durable and in the tree.
#[derive(Debug, Clone)]
pub struct Integrated {
    pub index: u64,
    /// False when the entry was already in the log (deduplicated).
    pub new: bool,
    pub proof: Vec<Hash>,
    pub checkpoint: Arc<SignedCheckpoint>,
}

/// Signs the checkpoint of each batch: a plain signed note for a transparency log
/// ([`NoteSigner`]), or a note that also carries an RFC 6962 tree head signature for a CT log
/// (c2sp.org/static-ct-api). It runs on the integrator thread, once per batch.
pub trait CheckpointSigner: Send + 'static {
    /// The signed note envelope for `checkpoint`.
    fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, String>;
}

impl CheckpointSigner for NoteSigner {
    fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, String> {
        signet_tlog::sign_checkpoint(checkpoint, &[self]).map_err(|e| e.to_string())
    }
}

struct Submission {
    leaf_hash: Hash,
    body: Vec<u8>,
    reply: oneshot::Sender<Result<Integrated, LogError>>,
}

/// Knobs of the integrator.
#[derive(Debug, Clone)]
pub struct AppenderConfig {
    /// Most entries integrated in one batch.
    pub max_batch: usize,
    /// Most entries waiting for integration before new ones are turned away (503).
    pub max_pending: usize,
}

impl Default for AppenderConfig {
    fn default() -> Self {
        AppenderConfig {
            max_batch: 4096,
            max_pending: 65_536,
        }
    }
}

/// Counters the integrator keeps, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct AppenderStats {
    pub batches: std::sync::atomic::AtomicU64,
    pub entries: std::sync::atomic::AtomicU64,
    pub duplicates: std::sync::atomic::AtomicU64,
    /// Microseconds spent committing (the fsync), summed.
    pub commit_micros: std::sync::atomic::AtomicU64,
}

/// The handle request handlers use to submit entries and read the published state.
#[derive(Clone)]
pub struct Appender {
    tx: mpsc::Sender<Submission>,
    published: Arc<RwLock<Arc<SignedCheckpoint>>>,
    pub stats: Arc<AppenderStats>,
}

impl Appender {
    /// Restores the tree from `store` and starts the integrator thread. `origin` and
    /// `signer` name and sign the checkpoints; an empty log gets a signed checkpoint of size 0.
    pub fn start(
        mut store: Box<dyn LogStore>,
        origin: String,
        signer: impl CheckpointSigner,
        config: AppenderConfig,
    ) -> Result<Self, LogError> {
        let signer: Box<dyn CheckpointSigner> = Box::new(signer);
        let (tree, checkpoint) = restore(store.as_mut(), &origin, signer.as_ref())?;
        let published = Arc::new(RwLock::new(Arc::new(checkpoint)));
        let (tx, rx) = mpsc::channel(config.max_pending);
        let stats = Arc::new(AppenderStats::default());
        let mut integrator = Integrator {
            store,
            origin,
            signer,
            tree,
            recent: HashMap::new(),
            published: published.clone(),
            max_batch: config.max_batch,
            stats: stats.clone(),
        };
        std::thread::Builder::new()
            .name("signet-integrator".into())
            .spawn(move || integrator.run(rx))
            .map_err(|e| LogError::Internal(format!("starting the integrator: {e}")))?;
        Ok(Appender { tx, published, stats })
    }

    /// Queues an entry and waits until it is integrated (or found already logged).
    pub async fn submit(&self, leaf_hash: Hash, body: Vec<u8>) -> Result<Integrated, LogError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Submission {
                leaf_hash,
                body,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => LogError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => LogError::Unavailable,
            })?;
        rx.await.map_err(|_| LogError::Unavailable)?
    }

    /// Entries queued for integration now.
    pub fn pending(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The latest committed checkpoint.
    pub fn checkpoint(&self) -> Arc<SignedCheckpoint> {
        self.published.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops accepting entries; the integrator finishes what is queued, then exits.
    pub fn close(self) {
        drop(self.tx);
    }
}

/// Loads the committed state and checks it: the root recomputed from the stored tiles must
/// equal the root in the stored checkpoint, or the data directory is refused.
fn restore(
    store: &mut dyn LogStore,
    origin: &str,
    signer: &dyn CheckpointSigner,
) -> Result<(TreeAppender, SignedCheckpoint), LogError> {
    match store.latest_checkpoint()? {
        None => {
            let tree = TreeAppender::new();
            let root = tree.root();
            let note = sign(origin, 0, root, signer)?;
            let batch = Batch {
                entries: vec![],
                tiles: vec![],
                tree_size: 0,
                checkpoint: note.clone(),
            };
            store.commit_batch(&batch)?;
            Ok((tree, SignedCheckpoint { size: 0, root, note }))
        }
        Some((size, note)) => {
            let cp = Checkpoint::from_note_unverified(&note)
                .map_err(|e| StorageError::Corrupt(format!("stored checkpoint does not parse: {e}")))?;
            if cp.size != size || cp.origin != origin {
                return Err(StorageError::Corrupt(format!(
                    "stored checkpoint is for {} at size {}, expected {} at size {}",
                    cp.origin, cp.size, origin, size
                ))
                .into());
            }
            let source = StoreTiles {
                store: std::cell::RefCell::new(store),
                recent: &HashMap::new(),
            };
            let tree = TreeAppender::from_right_edge(size, &source)
                .map_err(|e| StorageError::Corrupt(format!("stored tiles do not rebuild the tree: {e}")))?;
            if tree.root() != cp.root_hash {
                return Err(StorageError::Corrupt(format!(
                    "stored tiles give root {} but the checkpoint says {}",
                    hex(&tree.root()),
                    hex(&cp.root_hash)
                ))
                .into());
            }
            Ok((
                tree,
                SignedCheckpoint {
                    size,
                    root: cp.root_hash,
                    note,
                },
            ))
        }
    }
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn sign(origin: &str, size: u64, root: Hash, signer: &dyn CheckpointSigner) -> Result<String, LogError> {
    let cp = Checkpoint {
        origin: origin.to_string(),
        size,
        root_hash: root,
        extensions: vec![],
    };
    signer
        .sign_checkpoint(&cp)
        .map_err(|e| LogError::Internal(format!("signing checkpoint: {e}")))
}

/// Tiles for proofs: those the integrator wrote recently (kept in memory), then the store.
struct StoreTiles<'a> {
    store: std::cell::RefCell<&'a mut dyn LogStore>,
    recent: &'a HashMap<(u8, u64), Vec<Hash>>,
}

impl TileSource for StoreTiles<'_> {
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        if let Some(t) = self.recent.get(&(id.level, id.index)) {
            return Ok(t.clone());
        }
        let mut store = self.store.borrow_mut();
        crate::storage::read_hash_tile(&mut **store, id)
    }
}

struct Integrator {
    store: Box<dyn LogStore>,
    origin: String,
    signer: Box<dyn CheckpointSigner>,
    tree: TreeAppender,
    /// Tiles written by the last batches, so proofs for fresh entries need no reads.
    recent: HashMap<(u8, u64), Vec<Hash>>,
    published: Arc<RwLock<Arc<SignedCheckpoint>>>,
    max_batch: usize,
    stats: Arc<AppenderStats>,
}

impl Integrator {
    fn run(&mut self, mut rx: mpsc::Receiver<Submission>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(_) => break,
                }
            }
            let result = self.integrate(&mut batch);
            if let Err(e) = result {
                tracing::error!(error = %e, "integration failed; the batch was not committed");
                for s in batch.drain(..) {
                    let _ = s.reply.send(Err(LogError::Internal("integration failed".into())));
                }
                // The in-memory tree may be ahead of storage now: rebuild it from what is durable.
                // A database that cannot be reached (a PostgreSQL restart) or a checkpoint another
                // writer just moved is waited for; stored state that does not add up stops the log.
                let mut delay = std::time::Duration::from_millis(100);
                loop {
                    match restore(self.store.as_mut(), &self.origin, self.signer.as_ref()) {
                        Ok((tree, cp)) => {
                            self.tree = tree;
                            self.recent.clear();
                            *self.published.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cp);
                            break;
                        }
                        Err(LogError::Storage(
                            e @ (StorageError::Database(_) | StorageError::Conflict(_)),
                        )) => {
                            tracing::error!(error = %e, "cannot restore from the store after a failed batch; retrying in {delay:?}");
                            std::thread::sleep(delay);
                            delay = (delay * 2).min(std::time::Duration::from_secs(5));
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot restore the log after a failed batch; stopping");
                            return;
                        }
                    }
                }
            }
        }
    }

    fn integrate(&mut self, batch: &mut Vec<Submission>) -> Result<(), LogError> {
        // Deduplicate within the batch, then against the log.
        let mut first_of: HashMap<Hash, usize> = HashMap::with_capacity(batch.len());
        let mut unique = Vec::with_capacity(batch.len());
        for (i, s) in batch.iter().enumerate() {
            first_of.entry(s.leaf_hash).or_insert_with(|| {
                unique.push(i);
                i
            });
        }
        let hashes: Vec<Hash> = unique.iter().map(|&i| batch[i].leaf_hash).collect();
        let existing = self.store.find_indices(&hashes)?;
        let mut index_of: HashMap<Hash, (u64, bool)> = HashMap::with_capacity(unique.len());
        let mut entries = Vec::new();
        let mut next = self.tree.size();
        for (&i, found) in unique.iter().zip(existing) {
            let s = &mut batch[i];
            match found {
                Some(idx) => {
                    index_of.insert(s.leaf_hash, (idx, false));
                }
                None => {
                    index_of.insert(s.leaf_hash, (next, true));
                    entries.push(NewEntry {
                        index: next,
                        leaf_hash: s.leaf_hash,
                        body: std::mem::take(&mut s.body),
                    });
                    next += 1;
                }
            }
        }

        let new_leaves: Vec<Hash> = entries.iter().map(|e| e.leaf_hash).collect();
        let appended = self
            .tree
            .append(&new_leaves)
            .map_err(|e| LogError::Internal(format!("appending to the tree: {e}")))?;
        let (size, root) = (appended.size, appended.root);
        let note = sign(&self.origin, size, root, self.signer.as_ref())?;
        let tiles = appended
            .tiles
            .iter()
            .map(|t| (t.id.level, t.id.index, t.to_bytes()))
            .collect();
        let n_new = entries.len() as u64;
        let store_batch = Batch {
            entries,
            tiles,
            tree_size: size,
            checkpoint: note.clone(),
        };
        let t = Instant::now();
        self.store.commit_batch(&store_batch)?;
        self.stats.commit_micros.fetch_add(
            t.elapsed().as_micros() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );

        // Durable: remember the tiles for the next proofs, publish, and answer.
        self.recent
            .retain(|(level, index), _| is_recent(*level, *index, size));
        for tile in appended.tiles {
            self.recent.insert((tile.id.level, tile.id.index), tile.hashes);
        }
        let checkpoint = Arc::new(SignedCheckpoint { size, root, note });
        *self.published.write().unwrap_or_else(|p| p.into_inner()) = checkpoint.clone();
        self.stats
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.stats
            .entries
            .fetch_add(n_new, std::sync::atomic::Ordering::Relaxed);

        let source = StoreTiles {
            store: std::cell::RefCell::new(self.store.as_mut()),
            recent: &self.recent,
        };
        let prover = signet_tlog::Prover::over_tiles(&source, size)
            .map_err(|e| LogError::Internal(format!("reading the tree at size {size}: {e}")))?;
        for s in batch.drain(..) {
            let (index, new) = index_of[&s.leaf_hash];
            if !new {
                self.stats
                    .duplicates
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let answer = prover
                .inclusion_proof(index)
                .map(|proof| Integrated {
                    index,
                    new,
                    proof,
                    checkpoint: checkpoint.clone(),
                })
                .map_err(|e| LogError::Internal(format!("inclusion proof for {index}: {e}")));
            let _ = s.reply.send(answer);
        }
        Ok(())
    }
}

/// Keeps in memory the tiles that proofs for new entries will read: the two rightmost tiles
/// of each level.
fn is_recent(level: u8, index: u64, size: u64) -> bool {
    let span = 256u64.saturating_pow(level as u32 + 1);
    let last = size.saturating_sub(1) / span;
    index + 2 > last
}
