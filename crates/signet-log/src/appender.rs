//! The write path: entries are validated by the HTTP layer, then handed to one integrator
//! thread that deduplicates them, gives them indices, appends them to the tree, writes the
//! changed tiles, signs one checkpoint and commits it all in one transaction per batch. Only
//! then are the waiting requests answered with their inclusion proofs.
//!
//! Batching is group commit: while one batch is being written, new entries queue; the next
//! batch takes everything queued (up to `max_batch`). There is no timer to wait for, so an
//! idle log integrates a lone entry at once and a busy one amortises the fsync over many.
//!
//! A witnessed log ([`Appender::start_witnessed`]) publishes a checkpoint only once its
//! witnesses have been asked to cosign it ([`crate::witnessing`]). Witnessing is pipelined
//! with integration: while one round is out, the integrator keeps committing batches (their
//! entries durable, their requests waiting); when the round ends, the cosigned checkpoint is
//! stored and published, the requests it covers are answered with proofs against it, and the
//! next round takes the latest committed checkpoint, covering every batch committed meanwhile.
//! So batching goes on under load, checkpoints are published at the pace of the witnesses,
//! and an entry waits for at most about two rounds. When the policy's quorum is missed,
//! [`OnMissedQuorum`] decides: publish anyway (fail open) or hold and retry with backoff.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use signet_crypto::SignerError;
use signet_tlog::{Checkpoint, Hash, NoteSigner, TileError, TileId, TileSource, TreeAppender};
use tokio::sync::{mpsc, oneshot};

use crate::fleet::LeaseStatus;
use crate::storage::{Batch, LogStore, NewEntry, StorageError};
use crate::witnessing::{Collector, Cosigned, OnMissedQuorum};
use crate::LogError;

/// First wait before a held checkpoint is sent to the witnesses again; it doubles per miss.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// Longest wait between retries of a held checkpoint.
const MAX_RETRY: Duration = Duration::from_secs(10);

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
    /// A key out of reach is [`SignerError::Unavailable`]; anything else is `Failed`.
    fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, SignerError>;

    /// Checks that `note` is a checkpoint of the log `origin` signed with this signer's key
    /// (other signatures, such as witnesses' cosignatures, are ignored), and returns it. A
    /// front end on a database several share checks every checkpoint it reads there before
    /// serving it: a database row is not a signature.
    fn verify_checkpoint(&self, note: &str, origin: &str) -> Result<Checkpoint, String>;
}

impl CheckpointSigner for NoteSigner {
    fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, SignerError> {
        signet_tlog::sign_checkpoint(checkpoint, &[self]).map_err(|e| match e {
            signet_tlog::NoteError::Signer(e) => e,
            other => SignerError::Failed(other.to_string()),
        })
    }

    fn verify_checkpoint(&self, note: &str, origin: &str) -> Result<Checkpoint, String> {
        signet_tlog::verify_checkpoint(note, origin, &[self.verifier()]).map_err(|e| e.to_string())
    }
}

pub(crate) struct Submission {
    pub(crate) leaf_hash: Hash,
    pub(crate) body: Vec<u8>,
    pub(crate) reply: oneshot::Sender<Result<Integrated, LogError>>,
}

/// What the integrator waits for: entries, and (witnessed logs) the end of a witnessing round
/// or of the wait before retrying a held one.
pub(crate) enum Event {
    Submit(Submission),
    Witnessed(Cosigned),
    Retry,
}

/// How a log's checkpoints are witnessed: the collector and what to do when the quorum is
/// missed. Rounds run on `runtime`.
pub struct Witnessing {
    pub collector: Arc<Collector>,
    pub on_missed_quorum: OnMissedQuorum,
    pub runtime: tokio::runtime::Handle,
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
    /// Batches that were not committed (storage failed, or another writer on the same database
    /// moved the checkpoint first).
    pub failed_batches: std::sync::atomic::AtomicU64,
    /// Microseconds spent committing (the fsync), summed.
    pub commit_micros: std::sync::atomic::AtomicU64,
    /// Entries sequenced in the store, as last seen (a log several front ends share; 0 for a
    /// single-process log, where sequencing and integration are one transaction).
    pub sequenced: std::sync::atomic::AtomicU64,
    /// How long the oldest sequenced entry not yet in a checkpoint had waited, as last seen.
    pub oldest_unintegrated_micros: std::sync::atomic::AtomicU64,
    /// Checkpoints read from a shared store that did not verify under the log's key (never
    /// served).
    pub rejected_checkpoints: std::sync::atomic::AtomicU64,
}

/// The checkpoint readers see: `None` only for a log that holds checkpoints back until
/// witnessed and has none cosigned by its quorum yet.
pub(crate) type Published = Arc<RwLock<Option<Arc<SignedCheckpoint>>>>;

/// The handle request handlers use to submit entries and read the published state.
#[derive(Clone)]
pub struct Appender {
    tx: mpsc::Sender<Event>,
    published: Published,
    witnesses: Option<Arc<Collector>>,
    pub stats: Arc<AppenderStats>,
    lease: Arc<LeaseStatus>,
}

impl Appender {
    /// Restores the tree from `store` and starts the integrator thread. `origin` and
    /// `signer` name and sign the checkpoints; an empty log gets a signed checkpoint of size 0.
    pub fn start(
        store: Box<dyn LogStore>,
        origin: String,
        signer: impl CheckpointSigner,
        config: AppenderConfig,
    ) -> Result<Self, LogError> {
        Appender::launch(store, origin, Box::new(signer), config, None)
    }

    /// [`Appender::start`] for a log whose checkpoints are cosigned by witnesses before they
    /// are published. At start, the last cosigned checkpoint the store kept is published if
    /// it is for the committed size (or, when holding, if it met the policy's quorum), and a
    /// round for the committed checkpoint starts at once otherwise.
    pub fn start_witnessed(
        store: Box<dyn LogStore>,
        origin: String,
        signer: impl CheckpointSigner,
        config: AppenderConfig,
        witnessing: Witnessing,
    ) -> Result<Self, LogError> {
        Appender::launch(store, origin, Box::new(signer), config, Some(witnessing))
    }

    fn launch(
        mut store: Box<dyn LogStore>,
        origin: String,
        signer: Box<dyn CheckpointSigner>,
        config: AppenderConfig,
        witnessing: Option<Witnessing>,
    ) -> Result<Self, LogError> {
        // A witnessed log keeps the single-process path on a shared database too (the
        // integrator's witnessing rounds are not split from it yet): one front end per log.
        if let (Some(shared), None) = (store.shared(), &witnessing) {
            return Appender::launch_shared(store, shared, origin, signer, config);
        }
        let (tree, checkpoint) = restore(store.as_mut(), &origin, signer.as_ref())?;
        let checkpoint = Arc::new(checkpoint);
        let (tx, rx) = mpsc::channel(config.max_pending);
        let (published, witnessed) = match witnessing {
            None => (Some(checkpoint.clone()), None),
            Some(w) => {
                let (published, witnessed_size) = restore_cosigned(store.as_mut(), &checkpoint, &w);
                let state = WitnessedState {
                    collector: w.collector,
                    mode: w.on_missed_quorum,
                    runtime: w.runtime,
                    events: tx.downgrade(),
                    busy: false,
                    waiting: Vec::new(),
                    committed: checkpoint.clone(),
                    retry: FIRST_RETRY,
                    witnessed_size,
                };
                (published, Some(state))
            }
        };
        let witnesses = witnessed.as_ref().map(|w| w.collector.clone());
        let published = Arc::new(RwLock::new(published));
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
            witnessed,
        };
        std::thread::Builder::new()
            .name("signet-integrator".into())
            .spawn(move || integrator.run(rx))
            .map_err(|e| LogError::Internal(format!("starting the integrator: {e}")))?;
        Ok(Appender {
            tx,
            published,
            witnesses,
            stats,
            lease: LeaseStatus::always_held(),
        })
    }

    /// A front end of a log several share ([`crate::fleet`]): sequencer, integrator and lease
    /// threads. Publishes the stored checkpoint (or, for a new log, the signed empty one).
    fn launch_shared(
        mut store: Box<dyn LogStore>,
        shared: Box<dyn crate::storage::SharedLogStore>,
        origin: String,
        signer: Box<dyn CheckpointSigner>,
        config: AppenderConfig,
    ) -> Result<Self, LogError> {
        // Two front ends creating a new log at once: the second finds the first's checkpoint.
        let checkpoint = match restore(store.as_mut(), &origin, signer.as_ref()) {
            Err(LogError::Storage(StorageError::Conflict(_))) => {
                restore(store.as_mut(), &origin, signer.as_ref())?.1
            }
            other => other?.1,
        };
        // Another front end may have written it: serve it only if it is signed with our key.
        signer.verify_checkpoint(&checkpoint.note, &origin).map_err(|e| {
            StorageError::Corrupt(format!(
                "the stored checkpoint does not verify under this front end's log key: {e}"
            ))
        })?;
        let (tx, rx) = mpsc::channel(config.max_pending);
        let published = Arc::new(RwLock::new(Some(Arc::new(checkpoint))));
        let stats = Arc::new(AppenderStats::default());
        let lease = crate::fleet::launch(
            shared,
            origin,
            signer,
            config.max_batch,
            rx,
            published.clone(),
            stats.clone(),
        )?;
        Ok(Appender {
            tx,
            published,
            witnesses: None,
            stats,
            lease,
        })
    }

    /// Whether this front end integrates the log now (always, for a log one process writes).
    pub fn is_integrator(&self) -> bool {
        self.lease.is_integrator()
    }

    /// This front end's integrator lease: held or not, and how often that changed.
    pub fn lease(&self) -> &Arc<LeaseStatus> {
        &self.lease
    }

    /// Queues an entry and waits until it is integrated (or found already logged).
    pub async fn submit(&self, leaf_hash: Hash, body: Vec<u8>) -> Result<Integrated, LogError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .try_send(Event::Submit(Submission {
                leaf_hash,
                body,
                reply,
            }))
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

    /// The latest published checkpoint: the latest committed one for a log that is not
    /// witnessed, the latest cosigned one for a witnessed log. `None` only while a log that
    /// holds checkpoints back has none that met its witness quorum.
    pub fn published(&self) -> Option<Arc<SignedCheckpoint>> {
        self.published.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// [`Appender::published`], or, while there is none, an empty tree of size 0 without a
    /// note (so that nothing is served beyond it).
    pub fn checkpoint(&self) -> Arc<SignedCheckpoint> {
        self.published().unwrap_or_else(|| {
            Arc::new(SignedCheckpoint {
                size: 0,
                root: signet_tlog::empty_root(),
                note: String::new(),
            })
        })
    }

    /// The witness collector of a witnessed log (for its metrics).
    pub fn witnesses(&self) -> Option<&Arc<Collector>> {
        self.witnesses.as_ref()
    }

    /// Stops accepting entries; the integrator finishes what is queued, then exits.
    pub fn close(self) {
        drop(self.tx);
    }
}

/// Loads the committed state and checks it: the root recomputed from the stored tiles must
/// equal the root in the stored checkpoint, or the data directory is refused.
pub(crate) fn restore(
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

/// What a witnessed log publishes at start: the cosigned checkpoint the store kept, if it is
/// for the committed tree (same size and root) and, when holding, meets the quorum under the
/// current policy; a held log may also publish an older one that met it (never an uncosigned
/// one); a failing-open log otherwise publishes the committed checkpoint as it is until its
/// first round ends. The witnesses' sizes are seeded from the kept checkpoint. Also returns
/// the size already witnessed (no round is due for it).
fn restore_cosigned(
    store: &mut dyn LogStore,
    committed: &Arc<SignedCheckpoint>,
    w: &Witnessing,
) -> (Option<Arc<SignedCheckpoint>>, Option<u64>) {
    let kept = match store.cosigned_checkpoint() {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the last cosigned checkpoint");
            None
        }
    };
    let kept = kept.and_then(|note| {
        let cp = Checkpoint::from_note_unverified(&note).ok()?;
        let parsed = signet_tlog::Note::parse(&note).ok()?;
        // Only a checkpoint of this log's tree: same origin, a size it has committed, and the
        // root the committed tree had at that size (checked when it is the committed size).
        let ours = cp.origin == Checkpoint::from_note_unverified(&committed.note).ok()?.origin
            && cp.size <= committed.size
            && (cp.size != committed.size || cp.root_hash == committed.root);
        let quorum = w.collector.policy().check(&parsed).satisfied;
        ours.then(|| {
            (
                Arc::new(SignedCheckpoint {
                    size: cp.size,
                    root: cp.root_hash,
                    note,
                }),
                quorum,
            )
        })
    });
    if let Some((cp, _)) = &kept {
        w.collector.seed(cp);
    }
    let witnessed = kept
        .as_ref()
        .filter(|(cp, quorum)| {
            cp.size == committed.size && (*quorum || w.on_missed_quorum == OnMissedQuorum::FailOpen)
        })
        .map(|(cp, _)| cp.size);
    let published = match (w.on_missed_quorum, kept) {
        (_, Some((cp, true))) => Some(cp),
        (OnMissedQuorum::FailOpen, Some((cp, false))) if cp.size == committed.size => Some(cp),
        (OnMissedQuorum::FailOpen, _) => Some(committed.clone()),
        (OnMissedQuorum::Hold, _) => None,
    };
    (published, witnessed)
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sign(
    origin: &str,
    size: u64,
    root: Hash,
    signer: &dyn CheckpointSigner,
) -> Result<String, LogError> {
    let cp = Checkpoint {
        origin: origin.to_string(),
        size,
        root_hash: root,
        extensions: vec![],
    };
    signer
        .sign_checkpoint(&cp)
        .map_err(|e| LogError::from_signer("the checkpoint", e))
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
    published: Published,
    max_batch: usize,
    stats: Arc<AppenderStats>,
    witnessed: Option<WitnessedState>,
}

/// The integrator's side of witnessing.
struct WitnessedState {
    collector: Arc<Collector>,
    mode: OnMissedQuorum,
    runtime: tokio::runtime::Handle,
    /// Where rounds send their result; weak, so that closing the appender closes the channel.
    events: mpsc::WeakSender<Event>,
    /// A round is out, or a held checkpoint's retry is pending.
    busy: bool,
    /// Requests whose entries are committed but not yet in a published checkpoint.
    waiting: Vec<Waiter>,
    /// The latest committed checkpoint (the log's signature only).
    committed: Arc<SignedCheckpoint>,
    /// Wait before the next retry of a held checkpoint.
    retry: Duration,
    /// The size of the last checkpoint whose round ended with it published.
    witnessed_size: Option<u64>,
}

/// A request answered once a published checkpoint covers its entry.
pub(crate) struct Waiter {
    /// The entry's leaf hash: its proof is checked against the checkpoint before it is sent.
    pub(crate) leaf_hash: Hash,
    pub(crate) index: u64,
    pub(crate) new: bool,
    pub(crate) reply: oneshot::Sender<Result<Integrated, LogError>>,
}

impl Integrator {
    fn run(&mut self, mut rx: mpsc::Receiver<Event>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        self.start_round_if_due();
        while let Some(first) = rx.blocking_recv() {
            let mut rounds = Vec::new();
            let mut retry = false;
            let mut take = |event, batch: &mut Vec<Submission>| match event {
                Event::Submit(s) => batch.push(s),
                Event::Witnessed(c) => rounds.push(c),
                Event::Retry => retry = true,
            };
            take(first, &mut batch);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(event) => take(event, &mut batch),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() && !self.integrate_or_recover(&mut batch) {
                return;
            }
            for cosigned in rounds {
                self.on_round_end(cosigned);
            }
            if retry {
                if let Some(w) = self.witnessed.as_mut() {
                    w.busy = false;
                }
            }
            self.start_round_if_due();
        }
    }

    /// Integrates a batch; on failure answers its requests with an error and rebuilds the
    /// tree from what is durable. False when even that failed: the integrator must stop.
    fn integrate_or_recover(&mut self, batch: &mut Vec<Submission>) -> bool {
        {
            let result = self.integrate(batch);
            if let Err(e) = result {
                tracing::error!(error = %e, "integration failed; the batch was not committed");
                self.stats
                    .failed_batches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for s in batch.drain(..) {
                    let reply = match &e {
                        LogError::KeyUnavailable(m) => LogError::KeyUnavailable(m.clone()),
                        _ => LogError::Internal("integration failed".into()),
                    };
                    let _ = s.reply.send(Err(reply));
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
                            let cp = Arc::new(cp);
                            match self.witnessed.as_mut() {
                                // Published stays the last cosigned checkpoint (never ahead of
                                // what is durable: only committed checkpoints are witnessed).
                                Some(w) => w.committed = cp,
                                None => self.publish(cp),
                            }
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
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    fn publish(&self, checkpoint: Arc<SignedCheckpoint>) {
        *self.published.write().unwrap_or_else(|p| p.into_inner()) = Some(checkpoint);
    }

    fn published_size(&self) -> Option<u64> {
        published_size(&self.published)
    }

    /// Starts a witnessing round for the latest committed checkpoint, unless one is out (or a
    /// retry is pending) or a round already ended with that size published.
    fn start_round_if_due(&mut self) {
        let Some(w) = self.witnessed.as_mut() else {
            return;
        };
        if w.busy || w.witnessed_size == Some(w.committed.size) {
            return;
        }
        let Some(events) = w.events.upgrade() else {
            return; // closing
        };
        w.busy = true;
        let (collector, checkpoint) = (w.collector.clone(), w.committed.clone());
        w.runtime.spawn(async move {
            let cosigned = collector.cosign(&checkpoint).await;
            let _ = events.send(Event::Witnessed(cosigned)).await;
        });
    }

    /// A round ended: publish its checkpoint (quorum met, or failing open) and answer the
    /// requests it covers, or hold it and schedule a retry.
    fn on_round_end(&mut self, cosigned: Cosigned) {
        let Some(w) = self.witnessed.as_mut() else {
            return;
        };
        w.busy = false;
        let size = cosigned.checkpoint.size;
        if !cosigned.quorum {
            match w.mode {
                OnMissedQuorum::FailOpen => tracing::warn!(
                    size,
                    cosigned_by = ?cosigned.cosigned_by,
                    quorum = %w.collector.policy().describe_quorum(),
                    "witness quorum missed; publishing the checkpoint anyway (fail open)"
                ),
                OnMissedQuorum::Hold => {
                    tracing::warn!(
                        size,
                        cosigned_by = ?cosigned.cosigned_by,
                        quorum = %w.collector.policy().describe_quorum(),
                        retry_in_ms = w.retry.as_millis() as u64,
                        "witness quorum missed; holding the checkpoint back"
                    );
                    // Requests that gave up waiting need no answer.
                    w.waiting.retain(|waiter| !waiter.reply.is_closed());
                    w.busy = true;
                    let (delay, events) = (w.retry, w.events.clone());
                    w.retry = (w.retry * 2).min(MAX_RETRY);
                    w.runtime.spawn(async move {
                        tokio::time::sleep(delay).await;
                        if let Some(events) = events.upgrade() {
                            let _ = events.send(Event::Retry).await;
                        }
                    });
                    return;
                }
            }
        }
        w.retry = FIRST_RETRY;
        w.witnessed_size = Some(size);
        if self.published_size().is_some_and(|p| p > size) {
            return; // never publish backwards
        }
        // Kept before it is served (durable with the next batch's commit), so a restart
        // serves a cosigned checkpoint, not an uncosigned one.
        if let Err(e) = self.store.set_cosigned_checkpoint(&cosigned.checkpoint.note) {
            tracing::error!(error = %e, size, "cannot store the cosigned checkpoint");
        }
        let checkpoint = Arc::new(cosigned.checkpoint);
        self.publish(checkpoint.clone());
        let waiting = match self.witnessed.as_mut() {
            Some(w) => std::mem::take(&mut w.waiting),
            None => return,
        };
        let (covered, rest): (Vec<Waiter>, Vec<Waiter>) = waiting.into_iter().partition(|x| x.index < size);
        if let Some(w) = self.witnessed.as_mut() {
            w.waiting = rest;
        }
        self.answer(covered, &checkpoint);
    }

    /// Answers `waiters` with inclusion proofs against `checkpoint` (every index below its size).
    fn answer(&mut self, waiters: Vec<Waiter>, checkpoint: &Arc<SignedCheckpoint>) {
        answer_waiters(
            self.store.as_mut(),
            &self.recent,
            &self.stats,
            waiters,
            checkpoint,
        );
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
        self.stats
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.stats
            .entries
            .fetch_add(n_new, std::sync::atomic::Ordering::Relaxed);

        let waiters: Vec<Waiter> = batch
            .drain(..)
            .map(|s| {
                let (index, new) = index_of[&s.leaf_hash];
                Waiter {
                    leaf_hash: s.leaf_hash,
                    index,
                    new,
                    reply: s.reply,
                }
            })
            .collect();
        let published = match self.witnessed.as_mut() {
            None => {
                self.publish(checkpoint.clone());
                checkpoint
            }
            Some(w) => {
                w.committed = checkpoint;
                // Entries already in the published (cosigned) checkpoint, duplicates of old
                // ones, are answered now; the others wait for a round to cover them.
                let Some(published) = self.published.read().unwrap_or_else(|p| p.into_inner()).clone() else {
                    w.waiting.extend(waiters);
                    return Ok(());
                };
                let (now, later): (Vec<Waiter>, Vec<Waiter>) =
                    waiters.into_iter().partition(|x| x.index < published.size);
                w.waiting.extend(later);
                self.answer(now, &published);
                return Ok(());
            }
        };
        self.answer(waiters, &published);
        Ok(())
    }
}

/// Answers `waiters` with inclusion proofs against `checkpoint` (every index below its size).
pub(crate) fn answer_waiters(
    store: &mut dyn LogStore,
    recent: &HashMap<(u8, u64), Vec<Hash>>,
    stats: &AppenderStats,
    waiters: Vec<Waiter>,
    checkpoint: &Arc<SignedCheckpoint>,
) {
    if waiters.is_empty() {
        return;
    }
    let size = checkpoint.size;
    let source = StoreTiles {
        store: std::cell::RefCell::new(store),
        recent,
    };
    let prover = signet_tlog::Prover::over_tiles(&source, size)
        .map_err(|e| LogError::Internal(format!("reading the tree at size {size}: {e}")));
    for waiter in waiters {
        if !waiter.new {
            stats
                .duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let index = waiter.index;
        let answer = match &prover {
            Ok(prover) => prover
                .inclusion_proof(index)
                .map_err(|e| LogError::Internal(format!("inclusion proof for {index}: {e}")))
                .and_then(|proof| {
                    // Never acknowledge an entry the checkpoint does not hold at its index
                    // (a store that lost or reassigned a sequenced index, whatever the
                    // cause): the client is told to retry instead. ~log2(size) hashes.
                    signet_tlog::verify_inclusion(&waiter.leaf_hash, index, size, &proof, &checkpoint.root)
                        .map(|()| proof)
                        .map_err(|e| {
                            LogError::StoreUnavailable(format!(
                                "entry {index} is not the one sequenced for this request ({e}); retry"
                            ))
                        })
                })
                .map(|proof| Integrated {
                    index,
                    new: waiter.new,
                    proof,
                    checkpoint: checkpoint.clone(),
                }),
            Err(e) => Err(LogError::Internal(e.to_string())),
        };
        let _ = waiter.reply.send(answer);
    }
}

/// The size of the checkpoint served now, if any.
pub(crate) fn published_size(published: &Published) -> Option<u64> {
    published
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|c| c.size)
}

/// Keeps in memory the tiles that proofs for new entries will read: the two rightmost tiles
/// of each level.
pub(crate) fn is_recent(level: u8, index: u64, size: u64) -> bool {
    let span = 256u64.saturating_pow(level as u32 + 1);
    let last = size.saturating_sub(1) / span;
    index + 2 > last
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer is sent only when the proof of the request's own leaf leads to the
    /// checkpoint's root: a request whose index now holds another entry is told to retry.
    #[test]
    fn a_waiter_is_answered_only_for_its_own_leaf() {
        let leaves: Vec<Hash> = (0u8..3).map(|i| signet_tlog::leaf_hash(&[i])).collect();
        let mut tree = TreeAppender::new();
        let appended = tree.append(&leaves).unwrap();
        let recent: HashMap<(u8, u64), Vec<Hash>> = appended
            .tiles
            .into_iter()
            .map(|t| ((t.id.level, t.id.index), t.hashes))
            .collect();
        let checkpoint = Arc::new(SignedCheckpoint {
            size: appended.size,
            root: appended.root,
            note: String::new(),
        });
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::sqlite::SqliteStore::open(&dir.path().join("log.db"), true).unwrap();
        let (mut replies, mut waiters) = (Vec::new(), Vec::new());
        for leaf_hash in [leaves[1], signet_tlog::leaf_hash(b"another entry")] {
            let (reply, rx) = oneshot::channel();
            waiters.push(Waiter {
                leaf_hash,
                index: 1,
                new: true,
                reply,
            });
            replies.push(rx);
        }
        let stats = AppenderStats::default();
        answer_waiters(&mut store, &recent, &stats, waiters, &checkpoint);
        let own = replies[0].try_recv().unwrap().unwrap();
        assert_eq!((own.index, own.checkpoint.size), (1, 3));
        match replies[1].try_recv().unwrap() {
            Err(LogError::StoreUnavailable(why)) => assert!(why.contains("retry"), "{why}"),
            other => panic!("answered for another entry's index: {:?}", other.map(|i| i.index)),
        }
    }
}
