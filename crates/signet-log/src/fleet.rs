//! The write path of a log whose store several front ends share (PostgreSQL): the
//! [`Appender`](crate::Appender) split into a sequencer, which every front end runs, and an
//! integrator, which only the holder of the store's lease runs.
//!
//! - **Sequencer** (thread `signet-sequencer`): takes what is queued (group commit, as the
//!   single-process appender does), deduplicates it within the batch, and sequences it in one
//!   transaction ([`SharedLogStore::sequence`]): deduplicated against the log, given the next
//!   indices, durable. The requests then wait for a checkpoint that covers them.
//! - **Integrator** (thread `signet-integrator`): while this front end holds the lease, reads
//!   the sequenced entries beyond the checkpoint, appends them to the tree, signs the
//!   checkpoint and publishes it with its tiles ([`SharedLogStore::publish`]: fenced by the
//!   lease's epoch, compare-and-swapped on the previous checkpoint). Whether it holds the lease
//!   or not, it follows the stored checkpoint and answers the requests this front end
//!   sequenced once a committed checkpoint covers them, with inclusion proofs against that
//!   checkpoint, whichever process integrated them. It wakes on the database's notifications
//!   (LISTEN/NOTIFY), on this process's own sequencing, and every [`POLL`] whatever happens,
//!   so a lost notification costs latency only.
//! - **Lease** (thread `signet-lease`): takes the lease when it is free, renews it every
//!   [`LeaseConfig::renew`]. A holder counts its lease as valid until `ttl − ttl/4` after it
//!   *sent* the request that took or renewed it (a monotonic clock), so one that cannot renew
//!   stops integrating before the database lets another take over; the database's fencing
//!   check refuses whatever a paused former holder tries to publish anyway. At a graceful
//!   shutdown ([`LeaseStatus::release`], which `signet server` calls on SIGTERM once its
//!   in-flight requests are answered) it gives the lease up in the database, so another
//!   front end takes over at its next try (every [`LeaseConfig::renew`]) rather than after
//!   the lease's lifetime.
//!
//! The database is trusted as every front end's shared memory: a front end serves the
//! checkpoint and the tiles other front ends stored (they are signed with the same key).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_tlog::{Hash, TreeAppender};
use tokio::sync::mpsc;

use crate::appender::{
    answer_waiters, is_recent, published_size, restore, sign, AppenderStats, CheckpointSigner, Event,
    Published, SignedCheckpoint, Waiter,
};
use crate::storage::{LeaseConfig, SharedLogStore, StorageError, Wakeup};
use crate::LogError;

/// Longest a front end waits without looking at the stored checkpoint and the sequencing row.
pub const POLL: Duration = Duration::from_millis(200);

/// Whether this front end holds a log's integrator lease, and how often that changed.
#[derive(Debug, Default)]
pub struct LeaseStatus {
    held: Mutex<Option<Held>>,
    /// Single-process logs (SQLite) hold it always.
    always: bool,
    changes: AtomicU64,
    fenced: AtomicU64,
    /// The log's origin, for messages.
    log: String,
    /// Asks the lease thread to give the lease up; it answers on the channel it is sent.
    release: Mutex<Option<std::sync::mpsc::Sender<std::sync::mpsc::SyncSender<()>>>>,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    epoch: u64,
    /// Integrate only before this instant (the lease's expiry less a margin).
    valid_until: Instant,
}

impl LeaseStatus {
    /// The lease of a log that one process writes alone.
    pub fn always_held() -> Arc<LeaseStatus> {
        Arc::new(LeaseStatus {
            always: true,
            ..Default::default()
        })
    }

    fn new(log: &str) -> LeaseStatus {
        LeaseStatus {
            log: log.to_string(),
            ..Default::default()
        }
    }

    /// Whether this front end integrates (holds the lease, and its margin has not run out).
    pub fn is_integrator(&self) -> bool {
        self.always || self.current().is_some()
    }

    /// Times this front end took or lost the lease.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// Publications the database refused because the lease had moved on (fencing).
    pub fn fenced(&self) -> u64 {
        self.fenced.load(Ordering::Relaxed)
    }

    /// Stops integrating and gives the lease up in the database, so that another front end
    /// takes over at its next try instead of after the lease's lifetime (a graceful shutdown:
    /// call it once the server has stopped taking requests and finished those in flight).
    /// Waits at most `timeout`; false if the lease could not be seen given up by then (it then
    /// expires by itself). The front end does not integrate again afterwards.
    pub fn release(&self, timeout: Duration) -> bool {
        let Some(ask) = self.release.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return self.always;
        };
        let (done, released) = std::sync::mpsc::sync_channel(1);
        ask.send(done).is_ok() && released.recv_timeout(timeout).is_ok()
    }

    /// The epoch to integrate under now, if any.
    fn current(&self) -> Option<u64> {
        let held = *self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.filter(|h| Instant::now() < h.valid_until).map(|h| h.epoch)
    }

    fn held(&self) -> Option<Held> {
        *self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gain(&self, epoch: u64, valid_until: Instant) {
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(Held { epoch, valid_until });
        self.changes.fetch_add(1, Ordering::Relaxed);
        tracing::info!(log = %self.log, epoch, "took the integrator lease");
    }

    fn extend(&self, epoch: u64, valid_until: Instant) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = held.as_mut().filter(|h| h.epoch == epoch) {
            h.valid_until = valid_until;
        }
    }

    /// Drops the lease of `epoch` (once: a second call for it does nothing).
    fn lose(&self, epoch: u64, why: &str) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some_and(|h| h.epoch == epoch) {
            *held = None;
            self.changes.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(log = %self.log, epoch, "lost the integrator lease: {why}");
        }
    }
}

/// What the sequencer and the integrator of one front end share.
struct Shared {
    /// Requests whose entries are sequenced, waiting for a checkpoint that covers them.
    waiters: Mutex<Vec<Waiter>>,
    wake: Arc<Wakeup>,
    /// The sequencer stopped (the appender was closed).
    closed: AtomicBool,
}

/// Starts the three threads of a front end on a shared store. Returns its lease status.
pub(crate) fn launch(
    store: Box<dyn SharedLogStore>,
    origin: String,
    signer: Box<dyn CheckpointSigner>,
    max_batch: usize,
    rx: mpsc::Receiver<Event>,
    published: Published,
    stats: Arc<AppenderStats>,
) -> Result<Arc<LeaseStatus>, LogError> {
    let config = store.lease_config();
    if config.renew.is_zero() || config.renew * 2 > config.ttl {
        return Err(LogError::Internal(format!(
            "the lease renew interval ({:?}) must be at most half its lifetime ({:?})",
            config.renew, config.ttl
        )));
    }
    let lease = Arc::new(LeaseStatus::new(&origin));
    let (ask_release, release_asked) = std::sync::mpsc::channel();
    *lease.release.lock().unwrap_or_else(|p| p.into_inner()) = Some(ask_release);
    let shared = Arc::new(Shared {
        waiters: Mutex::new(Vec::new()),
        wake: store.wakeup(),
        closed: AtomicBool::new(false),
    });
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map(drop)
            .map_err(|e| LogError::Internal(format!("starting {name}: {e}")))
    };
    let mut integrator = Integrator {
        store: store.try_clone(),
        origin,
        signer,
        tree: None,
        recent: HashMap::new(),
        published,
        shared: shared.clone(),
        lease: lease.clone(),
        holder: config.holder.clone(),
        stats,
        max_batch,
    };
    spawn("signet-integrator", Box::new(move || integrator.run()))?;
    let (lease_store, lease_status, lease_shared) = (store.try_clone(), lease.clone(), shared.clone());
    spawn(
        "signet-lease",
        Box::new(move || run_lease(lease_store, lease_status, config, lease_shared, release_asked)),
    )?;
    spawn(
        "signet-sequencer",
        Box::new(move || run_sequencer(store, rx, shared, max_batch)),
    )?;
    Ok(lease)
}

/// Sequences what is queued, batch by batch, until the appender is closed.
fn run_sequencer(
    mut store: Box<dyn SharedLogStore>,
    mut rx: mpsc::Receiver<Event>,
    shared: Arc<Shared>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(event) = next {
            if let Event::Submit(s) = event {
                batch.push(s);
            }
            next = if batch.len() < max_batch {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        let mut first_of: HashMap<Hash, usize> = HashMap::with_capacity(batch.len());
        let mut unique = Vec::with_capacity(batch.len());
        for s in batch.iter_mut() {
            let next = unique.len();
            first_of.entry(s.leaf_hash).or_insert_with(|| {
                unique.push((s.leaf_hash, std::mem::take(&mut s.body)));
                next
            });
        }
        match store.sequence(unique) {
            Ok(assigned) => {
                let mut waiters = shared.waiters.lock().unwrap_or_else(|p| p.into_inner());
                for s in batch.drain(..) {
                    let (index, new) = assigned[first_of[&s.leaf_hash]];
                    waiters.push(Waiter {
                        leaf_hash: s.leaf_hash,
                        index,
                        new,
                        reply: s.reply,
                    });
                }
                drop(waiters);
                shared.wake.notify();
            }
            Err(e) => {
                tracing::error!(error = %e, entries = batch.len(), "sequencing failed; nothing was logged");
                for s in batch.drain(..) {
                    let _ = s.reply.send(Err(LogError::StoreUnavailable(e.to_string())));
                }
            }
        }
    }
    shared.closed.store(true, Ordering::SeqCst);
    shared.wake.notify();
}

/// Takes and renews the lease until the appender is closed or [`LeaseStatus::release`] asks;
/// then gives it up.
fn run_lease(
    mut store: Box<dyn SharedLogStore>,
    lease: Arc<LeaseStatus>,
    config: LeaseConfig,
    shared: Arc<Shared>,
    release_asked: std::sync::mpsc::Receiver<std::sync::mpsc::SyncSender<()>>,
) {
    let margin = config.ttl / 4;
    let mut asked = None;
    while !shared.closed.load(Ordering::SeqCst) {
        let sent = Instant::now();
        let valid_until = sent + config.ttl - margin;
        match lease.held() {
            Some(held) => match store.renew_lease(&config.holder, held.epoch, config.ttl) {
                Ok(true) => lease.extend(held.epoch, valid_until),
                Ok(false) => lease.lose(held.epoch, "it expired or another front end took it"),
                Err(e) if Instant::now() >= held.valid_until => {
                    lease.lose(held.epoch, &format!("cannot renew it in time: {e}"))
                }
                Err(e) => tracing::debug!(error = %e, "cannot renew the integrator lease; retrying"),
            },
            None => match store.acquire_lease(&config.holder, config.ttl) {
                Ok(Some(epoch)) => {
                    lease.gain(epoch, valid_until);
                    shared.wake.notify();
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(error = %e, "cannot try the integrator lease"),
            },
        }
        match release_asked.recv_timeout(config.renew) {
            Ok(done) => {
                asked = Some(done);
                break;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            // The status (which holds the sender) is gone: nobody will ask.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(config.renew),
        }
    }
    if let Some(held) = lease.held() {
        // Stop integrating first: a publish after the release would be refused by the
        // database's fencing check anyway (the lease no longer valid), but need not be tried.
        lease.lose(held.epoch, "shutting down");
        match store.release_lease(&config.holder, held.epoch) {
            Ok(()) => tracing::info!(log = %lease.log, epoch = held.epoch, "gave the integrator lease up"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot give the integrator lease up at shutdown");
                return;
            }
        }
    }
    if let Some(done) = asked {
        let _ = done.send(());
    }
}

struct Integrator {
    store: Box<dyn SharedLogStore>,
    origin: String,
    signer: Box<dyn CheckpointSigner>,
    /// The tree as of the stored checkpoint, and the lease epoch it was restored under: only
    /// kept while that lease is held (another holder may move the log otherwise).
    tree: Option<(u64, TreeAppender)>,
    recent: HashMap<(u8, u64), Vec<Hash>>,
    published: Published,
    shared: Arc<Shared>,
    lease: Arc<LeaseStatus>,
    holder: String,
    stats: Arc<AppenderStats>,
    max_batch: usize,
}

impl Integrator {
    fn run(&mut self) {
        let mut seen = self.shared.wake.generation();
        let mut delay = Duration::from_millis(50);
        let mut failing = false;
        loop {
            let closed = self.shared.closed.load(Ordering::SeqCst);
            let stepped = self.step();
            self.answer_covered();
            match stepped {
                Ok(true) => continue,
                Ok(false) => {
                    if failing {
                        tracing::info!(log = %self.origin, "the log's store answers again");
                    }
                    failing = false;
                    delay = Duration::from_millis(50);
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(log = %self.origin, error = %e, "cannot integrate or follow the log; retrying");
                    }
                    failing = true;
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
            if closed && self.waiting() == 0 {
                return;
            }
            seen = self.shared.wake.wait(seen, POLL);
        }
    }

    fn waiting(&self) -> usize {
        self.shared
            .waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Follows the stored checkpoint and, holding the lease, integrates one batch. True when
    /// more sequenced entries wait for integration.
    fn step(&mut self) -> Result<bool, LogError> {
        let status = self.store.status()?;
        self.stats.sequenced.store(status.sequenced, Ordering::Relaxed);
        let age = status.oldest_unintegrated_secs.unwrap_or(0.0).max(0.0);
        self.stats
            .oldest_unintegrated_micros
            .store((age * 1e6) as u64, Ordering::Relaxed);
        let Some(epoch) = self.lease.current() else {
            // Not the integrator: another may move the log, so nothing we kept is current.
            self.tree = None;
            self.recent.clear();
            if let Some((size, note)) = status.checkpoint {
                self.adopt(size, note)?;
            }
            return Ok(false);
        };
        if self.tree.as_ref().map(|t| t.0) != Some(epoch) {
            self.recent.clear();
            self.tree = None;
            let (tree, checkpoint) = restore(self.store.as_mut(), &self.origin, self.signer.as_ref())?;
            self.tree = Some((epoch, tree));
            self.adopt(checkpoint.size, checkpoint.note)?;
        }
        let Some((_, tree)) = self.tree.as_mut() else {
            return Ok(false);
        };
        let size = tree.size();
        if status.sequenced <= size {
            return Ok(false);
        }
        let count = (status.sequenced - size).min(self.max_batch as u64);
        let result = self.integrate(epoch, size, count);
        if result.is_err() {
            // The tree may be ahead of what is durable: rebuilt from the store next time.
            self.tree = None;
            self.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(LogError::Storage(StorageError::Fenced(why))) = &result {
            self.lease.fenced.fetch_add(1, Ordering::Relaxed);
            self.lease.lose(epoch, why);
        }
        result.map(|published| status.sequenced > published)
    }

    /// Appends sequenced entries `size..size+count`, publishes, answers. Returns the new size.
    fn integrate(&mut self, epoch: u64, size: u64, count: u64) -> Result<u64, LogError> {
        let leaves = self.store.read_leaf_hashes(size, count)?;
        if leaves.len() as u64 != count {
            return Err(StorageError::Corrupt(format!(
                "{count} entries sequenced from index {size}, {} stored",
                leaves.len()
            ))
            .into());
        }
        let Some((_, tree)) = self.tree.as_mut() else {
            return Err(LogError::Internal("no tree to integrate into".into()));
        };
        let appended = tree
            .append(&leaves)
            .map_err(|e| LogError::Internal(format!("appending to the tree: {e}")))?;
        let (new_size, root) = (appended.size, appended.root);
        let note = sign(&self.origin, new_size, root, self.signer.as_ref())?;
        let tiles: Vec<(u8, u64, Vec<u8>)> = appended
            .tiles
            .iter()
            .map(|t| (t.id.level, t.id.index, t.to_bytes()))
            .collect();
        // The lease's margin ran out while this batch was built: stop before it expires.
        if self.lease.current() != Some(epoch) {
            return Err(LogError::Internal(
                "the integrator lease ran out while the batch was built".into(),
            ));
        }
        let t = Instant::now();
        self.store.publish(&tiles, new_size, &note, &self.holder, epoch)?;
        self.stats
            .commit_micros
            .fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.batches.fetch_add(1, Ordering::Relaxed);
        self.stats.entries.fetch_add(count, Ordering::Relaxed);
        self.recent
            .retain(|(level, index), _| is_recent(*level, *index, new_size));
        for tile in appended.tiles {
            self.recent.insert((tile.id.level, tile.id.index), tile.hashes);
        }
        self.publish(Arc::new(SignedCheckpoint {
            size: new_size,
            root,
            note,
        }));
        Ok(new_size)
    }

    /// Publishes the stored checkpoint here when it is ahead of what this front end serves.
    fn adopt(&mut self, size: u64, note: String) -> Result<(), LogError> {
        if published_size(&self.published).is_some_and(|p| p >= size) {
            return Ok(());
        }
        // A row of the database is not a signature: serve only what verifies under our key.
        let cp = self.signer.verify_checkpoint(&note, &self.origin).map_err(|e| {
            self.stats.rejected_checkpoints.fetch_add(1, Ordering::Relaxed);
            tracing::error!(log = %self.origin, size, error = %e, "refusing a stored checkpoint that does not verify under this front end's log key");
            StorageError::Corrupt(format!(
                "the stored checkpoint at size {size} does not verify under this front end's log key: {e}"
            ))
        })?;
        if cp.size != size || cp.origin != self.origin {
            return Err(StorageError::Corrupt(format!(
                "stored checkpoint is for {} at size {}, expected {} at size {size}",
                cp.origin, cp.size, self.origin
            ))
            .into());
        }
        self.publish(Arc::new(SignedCheckpoint {
            size,
            root: cp.root_hash,
            note,
        }));
        Ok(())
    }

    /// Serves `checkpoint` from now on, unless this front end serves a larger one already.
    fn publish(&self, checkpoint: Arc<SignedCheckpoint>) {
        let mut published = self.published.write().unwrap_or_else(|p| p.into_inner());
        if published.as_ref().is_none_or(|p| p.size < checkpoint.size) {
            *published = Some(checkpoint);
        }
    }

    /// Answers the requests the served checkpoint covers, with proofs against it.
    fn answer_covered(&mut self) {
        let Some(checkpoint) = self.published.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        let covered: Vec<Waiter> = {
            let mut waiters = self.shared.waiters.lock().unwrap_or_else(|p| p.into_inner());
            let (covered, rest) = std::mem::take(&mut *waiters)
                .into_iter()
                .partition(|w| w.index < checkpoint.size);
            *waiters = rest;
            covered
        };
        answer_waiters(
            self.store.as_mut(),
            &self.recent,
            &self.stats,
            covered,
            &checkpoint,
        );
    }
}
