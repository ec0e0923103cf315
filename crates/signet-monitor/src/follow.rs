//! Following one log: the monitor's checks in the order they run, the same for every kind of
//! log. What differs per kind (where a signed tree head and proofs come from, how entries are
//! fetched and read) sits behind [`Protocol`]: tlog-tiles for Rekor v2 and static-ct-api
//! ([`crate::tiles`]), the Rekor v1 API ([`crate::v1`]), RFC 6962 ([`crate::ct`]).
//!
//! 1. Write the reports a previous run committed but did not write (the outbox).
//! 2. Fetch the signed tree head (checkpoint or STH); verify its signature against the
//!    trusted log key.
//! 3. Against the last verified one: a smaller size is an alert (the log went backwards), the
//!    same size with another root is an alert (a fork), a larger size needs a consistency
//!    proof that verifies (else an alert). Then the new head is the verified one.
//! 4. Scan the entries from where the last run stopped, a batch at a time: hash every entry
//!    into the recomputed tree, read and match every entry. After each batch the recomputed
//!    tree must be a prefix of the verified one (a consistency proof from the batch's end to
//!    the head, or at the end equal roots): else an alert, and nothing of the batch is
//!    reported. So every match is reported only once the entries it came from are proven to be
//!    the ones the signed head commits to. Each match carries its inclusion proof, verified.
//! 5. Commit the batch (position, tree, report lines in the outbox), then write its lines.
//!
//! An alert or error stops this log for this run, with the state at the last good point; the
//! caller goes on with the other logs.

use signet_tlog::{leaf_hash, verify_consistency, verify_inclusion, Hash, NoteVerifier};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::config::Rules;
use crate::entry::{read_ct_entry, read_entry, read_v1_entry, wanted_for_rules, EntryFacts, Signer, Wanted};
use crate::matching::{match_entry, RuleMatch};
use crate::report::{Check, CheckpointJson, Finding, InclusionProofJson, MatchReport, Problem, Sink};
use crate::source::{LogSource, Tiles};
use crate::state::{LogState, StateError, Store, Verified};
use crate::tiles::TilesProtocol;
use crate::tree::CompactRange;

/// A log to follow, as the trust material describes it.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The log's name in reports: its base URL without the scheme.
    pub origin: String,
    /// Rekor v2: the origin lines its checkpoints may carry (the base URL's host name, as
    /// sigstore-go requires, or the whole base URL as earlier signet servers wrote).
    pub checkpoint_origins: Vec<String>,
    pub base_url: String,
    /// Rekor v2: the log's checkpoint keys.
    pub verifiers: Vec<NoteVerifier>,
    /// What kind of log, and what its kind needs to verify it.
    pub kind: LogKind,
    /// Where this log starts when it has no saved state, if not where the run's options say.
    pub start: Option<Start>,
}

/// The kinds of log the monitor follows.
#[derive(Debug, Clone, Default)]
pub enum LogKind {
    /// Rekor v2 / tlog-tiles: `checkpoint_origins` and `verifiers` verify its checkpoints.
    #[default]
    RekorV2,
    /// Rekor v1 through its REST API; its checkpoints verify as signet-verify verifies a v1
    /// log's (`"<host> - <tree id>"` origin, the key's Rekor v1 hint).
    RekorV1(Box<signet_verify::TransparencyLog>),
    /// A certificate transparency log (the trusted root's `ctlogs`).
    Ct(CtLogKey),
}

/// A CT log's key and how to read it.
#[derive(Debug, Clone)]
pub struct CtLogKey {
    pub key: signet_crypto::PublicKey,
    /// SHA-256 of the key's DER SubjectPublicKeyInfo (RFC 6962 `LogID`).
    pub log_id: [u8; 32],
    pub protocol: CtProtocol,
}

/// Which read API of a CT log to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CtProtocol {
    /// static-ct-api where the log serves a checkpoint, else RFC 6962.
    #[default]
    Auto,
    /// RFC 6962 §4: get-sth, get-sth-consistency, get-entries, get-proof-by-hash.
    Rfc6962,
    /// c2sp.org/static-ct-api: checkpoint, hash tiles, data tiles.
    StaticCtApi,
}

impl LogTarget {
    /// The key of this log's state and outbox, and the prefix of its report IDs. A Rekor v2
    /// log keeps its origin (as state written before v1 and CT logs were followed); the other
    /// kinds are prefixed, so a v1 log and a v2 (or CT) log never share state, whatever their
    /// URLs.
    pub fn state_key(&self) -> String {
        match self.kind {
            LogKind::RekorV2 => self.origin.clone(),
            LogKind::RekorV1(_) => format!("rekor-v1:{}", self.origin),
            LogKind::Ct(_) => format!("ct:{}", self.origin),
        }
    }
}

/// Where a log with no saved state starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At this index (0: the whole log).
    Index(u64),
    /// At the current checkpoint: only entries logged from now on (rekor-monitor's default).
    Latest,
}

/// How a follow runs.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub start: Start,
    /// Entries per committed batch, in units of 256 (a tlog-tiles entry bundle).
    pub batch_bundles: u64,
    /// Threads that read and match entries.
    pub threads: usize,
    /// Stop after this many entries (0: no limit), to bound one run.
    pub max_entries: u64,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            start: Start::Index(0),
            batch_bundles: 16,
            threads: 1,
            max_entries: 0,
        }
    }
}

/// What one follow of one log did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub entries: u64,
    pub matches: u64,
    pub alerts: u64,
    pub errors: u64,
    /// The verified tree size after the run.
    pub verified_size: u64,
}

/// A signed tree head whose signature verified: a checkpoint (Rekor v1, v2, static-ct-api) or
/// an RFC 6962 STH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub root: Hash,
    /// As served: the signed note, or the get-sth JSON.
    pub envelope: String,
}

/// Why a [`Protocol`] step failed: evidence against the log (an alert) or a check that could
/// not be made (an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail {
    pub alert: bool,
    pub index: Option<u64>,
    pub check: Check,
    pub message: String,
    /// For an alert about two signed heads: both, as served.
    pub evidence: Vec<String>,
}

impl Fail {
    pub fn error(index: Option<u64>, check: Check, message: impl Into<String>) -> Self {
        Fail {
            alert: false,
            index,
            check,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    pub fn alert(index: Option<u64>, check: Check, message: impl Into<String>) -> Self {
        Fail {
            alert: true,
            ..Fail::error(index, check, message)
        }
    }
}

/// An inclusion proof and the signed head it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    pub hashes: Vec<Hash>,
    pub size: u64,
    pub root: Hash,
    pub envelope: String,
}

/// How entries are read, per kind of log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFormat {
    /// A Rekor v2 entry body.
    RekorV2,
    /// A Rekor v1 entry body.
    RekorV1,
    /// An RFC 6962 `MerkleTreeLeaf`.
    Ct,
}

/// What the follower needs of one kind of log. Each step verifies what only it can (a
/// signature, a served proof's own checkpoint); the follower verifies the rest (consistency,
/// the recomputed tree, inclusion) the same way for every kind.
pub trait Protocol {
    /// How this log's entries read.
    fn format(&self) -> EntryFormat;
    /// The latest signed tree head, its signature verified.
    fn head(&mut self) -> Result<Head, Fail>;
    /// Two heads verified at different times must be of one tree (a Rekor v1 log names its
    /// tree in the origin line; a new tree is a shard rollover, not a log going backwards).
    fn same_tree(&self, _before: &str, _now: &Head) -> Result<(), Fail> {
        Ok(())
    }
    /// Prepares for proofs against `head` (tiles: reads the tree's right edge).
    fn open(&mut self, head: &Head) -> Result<(), Fail>;
    /// A consistency proof from `old_size` to `head` (not yet verified).
    fn consistency(&mut self, old_size: u64, head: &Head) -> Result<Vec<Hash>, Fail>;
    /// The compact range of `[0, size)`, `0 < size <= head.size` (not yet verified).
    fn range_at(&mut self, size: u64, head: &Head) -> Result<CompactRange, Fail>;
    /// Where a batch starting at `start` ends, given at most `batch` entries and `limit`.
    fn batch_end(&self, start: u64, limit: u64, batch: u64) -> u64 {
        start.saturating_add(batch).min(limit)
    }
    /// The leaf data of entries `[start, end)`: the bytes the tree hashes.
    fn entries(&mut self, start: u64, end: u64, head: &Head) -> Result<Vec<Vec<u8>>, Fail>;
    /// The inclusion proof of entry `index` (leaf hash `leaf`) and the signed head it is
    /// against: `head`, or another head the protocol verified and proved consistent with it.
    fn inclusion(&mut self, index: u64, leaf: &Hash, head: &Head) -> Result<Included, Fail>;
}

/// Why a follow stopped early.
enum Stop {
    Alert(Problem),
    Error(Problem),
}

/// One entry after reading: its leaf hash, and what matching found.
struct Read {
    leaf: Hash,
    found: Found,
}

enum Found {
    Nothing,
    Matched(EntryFacts, Vec<RuleMatch>),
    Unparsable(String),
}

/// The clock and the identity of this run, for report lines.
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub options: &'a FollowOptions,
    /// RFC 3339 time for `observed_at`.
    pub now: &'a dyn Fn() -> String,
}

/// Follows the tlog-tiles (Rekor v2) log `target` once: to its current checkpoint (or
/// `max_entries`). Every report and problem is written to `sink`.
pub fn follow_log<S: LogSource + ?Sized>(
    target: &LogTarget,
    source: &S,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
) -> Outcome {
    let tiles = Tiles::new(source);
    let mut protocol = TilesProtocol::rekor_v2(target, &tiles);
    follow(target, &mut protocol, store, ctx, sink)
}

/// Follows `target` once through `protocol`. Every report and problem is written to `sink`.
pub fn follow(
    target: &LogTarget,
    protocol: &mut dyn Protocol,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
) -> Outcome {
    let mut follower = Follower {
        target,
        key: target.state_key(),
        protocol,
        ctx,
        outcome: Outcome::default(),
    };
    let result = follower.run(store, sink);
    let mut outcome = follower.outcome;
    let problem = match result {
        Ok(()) => return outcome,
        Err(Stop::Alert(p)) => {
            outcome.alerts += 1;
            Finding::Alert(p)
        }
        Err(Stop::Error(p)) => {
            outcome.errors += 1;
            Finding::Error(p)
        }
    };
    if sink.emit(&problem.to_line()).is_err() {
        // Nowhere left to say it; the exit status still does.
        outcome.errors += 1;
    }
    outcome
}

struct Follower<'a> {
    target: &'a LogTarget,
    /// The state key ([`LogTarget::state_key`]).
    key: String,
    protocol: &'a mut dyn Protocol,
    ctx: &'a Context<'a>,
    outcome: Outcome,
}

impl Follower<'_> {
    fn problem(&self, index: Option<u64>, check: Check, message: impl Into<String>) -> Problem {
        Problem {
            log: self.target.origin.clone(),
            index,
            check,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    fn stop(&self, fail: Fail) -> Stop {
        let mut problem = self.problem(fail.index, fail.check, fail.message);
        problem.evidence = fail.evidence;
        if fail.alert {
            Stop::Alert(problem)
        } else {
            Stop::Error(problem)
        }
    }

    /// An alert about the head verified before and the one just served, with both.
    fn two_view_alert(&self, check: Check, message: String, before: &str, now: &str) -> Stop {
        let mut problem = self.problem(None, check, message);
        problem.evidence = vec![before.to_string(), now.to_string()];
        Stop::Alert(problem)
    }

    fn alert(&self, index: Option<u64>, check: Check, message: impl Into<String>) -> Stop {
        Stop::Alert(self.problem(index, check, message))
    }

    fn error(&self, index: Option<u64>, check: Check, message: impl Into<String>) -> Stop {
        Stop::Error(self.problem(index, check, message))
    }

    fn state_error(&self, e: StateError) -> Stop {
        self.error(None, Check::State, e.to_string())
    }

    fn flush_outbox(&self, store: &mut Store, sink: &mut dyn Sink) -> Result<(), Stop> {
        for (index, line) in store.pending(&self.key).map_err(|e| self.state_error(e))? {
            sink.emit(&line)
                .map_err(|e| self.error(Some(index), Check::Output, format!("writing a report: {e}")))?;
            store
                .delivered(&self.key, index)
                .map_err(|e| self.state_error(e))?;
        }
        Ok(())
    }

    fn run(&mut self, store: &mut Store, sink: &mut dyn Sink) -> Result<(), Stop> {
        self.flush_outbox(store, sink)?;
        let head = self.protocol.head().map_err(|f| self.stop(f))?;
        let verified = Verified {
            size: head.size,
            root: head.root,
            envelope: head.envelope.clone(),
        };
        let saved = store.load(&self.key).map_err(|e| self.state_error(e))?;
        let mut state = match saved {
            None => {
                self.protocol.open(&head).map_err(|f| self.stop(f))?;
                let start = match self.target.start.unwrap_or(self.ctx.options.start) {
                    Start::Index(i) => i.min(head.size),
                    Start::Latest => head.size,
                };
                let tree = if start == 0 {
                    CompactRange::new()
                } else {
                    let tree = self.protocol.range_at(start, &head).map_err(|f| self.stop(f))?;
                    if tree.size() != start {
                        return Err(self.error(
                            Some(start),
                            Check::ProofFetch,
                            format!("the tree read at the start index covers {} leaves", tree.size()),
                        ));
                    }
                    self.check_prefix(&head, &tree)?;
                    tree
                };
                LogState {
                    verified,
                    next_index: start,
                    tree,
                }
            }
            Some(mut state) => {
                let old = &state.verified;
                self.protocol
                    .same_tree(&old.envelope, &head)
                    .map_err(|f| self.stop(f))?;
                if head.size < old.size {
                    return Err(self.two_view_alert(
                        Check::LogWentBackwards,
                        format!(
                            "signed tree head of size {} after a verified one of size {}",
                            head.size, old.size
                        ),
                        &old.envelope,
                        &verified.envelope,
                    ));
                }
                if head.size == old.size && head.root != old.root {
                    return Err(self.two_view_alert(
                        Check::RootChanged,
                        format!(
                            "two signed tree heads of size {} with different roots: {} verified before, {} now (a fork)",
                            old.size,
                            hex::encode(old.root),
                            hex::encode(head.root)
                        ),
                        &old.envelope,
                        &verified.envelope,
                    ));
                }
                if head.size == old.size && state.next_index == old.size {
                    self.outcome.verified_size = old.size;
                    return Ok(()); // nothing new
                }
                self.protocol.open(&head).map_err(|f| self.stop(f))?;
                if head.size > old.size && old.size > 0 {
                    let proof = self
                        .protocol
                        .consistency(old.size, &head)
                        .map_err(|f| self.stop(f))?;
                    verify_consistency(old.size, head.size, &old.root, &head.root, &proof).map_err(|e| {
                        self.two_view_alert(
                            Check::Consistency,
                            format!(
                                "the tree of size {} is not a prefix of the signed tree of size {}: {e}",
                                old.size, head.size
                            ),
                            &old.envelope,
                            &verified.envelope,
                        )
                    })?;
                }
                state.verified = verified;
                state
            }
        };
        store
            .save_verified(&self.key, &state)
            .map_err(|e| self.state_error(e))?;
        self.outcome.verified_size = state.verified.size;
        self.scan(&head, &mut state, store, sink)
    }

    /// The recomputed tree must be a prefix of the signed one.
    fn check_prefix(&mut self, head: &Head, tree: &CompactRange) -> Result<(), Stop> {
        let size = tree.size();
        let first = size.saturating_sub(1);
        if size == head.size {
            if tree.root() != head.root {
                return Err(self.alert(
                    Some(first),
                    Check::EntriesRoot,
                    format!(
                        "the entries up to index {first} hash to root {}, the signed tree head of size {size} says {}",
                        hex::encode(tree.root()),
                        hex::encode(head.root)
                    ),
                ));
            }
            return Ok(());
        }
        if size == 0 {
            return Ok(());
        }
        let proof = self.protocol.consistency(size, head).map_err(|mut f| {
            f.index = f.index.or(Some(first));
            self.stop(f)
        })?;
        verify_consistency(size, head.size, &tree.root(), &head.root, &proof).map_err(|e| {
            self.alert(
                Some(first),
                Check::EntriesRoot,
                format!(
                    "the entries up to index {first} are not a prefix of the signed tree of size {}: {e}",
                    head.size
                ),
            )
        })
    }

    fn scan(
        &mut self,
        head: &Head,
        state: &mut LogState,
        store: &mut Store,
        sink: &mut dyn Sink,
    ) -> Result<(), Stop> {
        let size = head.size;
        let batch = self.ctx.options.batch_bundles.max(1) * u64::from(signet_tlog::TILE_WIDTH);
        let limit = match self.ctx.options.max_entries {
            0 => size,
            n => state.next_index.saturating_add(n).min(size),
        };
        let format = self.protocol.format();
        while state.next_index < limit {
            let start = state.next_index;
            let end = self
                .protocol
                .batch_end(start, limit, batch)
                .clamp(start + 1, limit);
            let entries = self
                .protocol
                .entries(start, end, head)
                .map_err(|f| self.stop(f))?;
            if entries.len() as u64 != end - start {
                return Err(self.error(
                    Some(start),
                    Check::EntryFetch,
                    format!("asked for entries {start}..{end}, got {} of them", entries.len()),
                ));
            }
            let read = read_all(format, &entries, self.ctx.rules, self.ctx.options.threads);
            let mut tree = state.tree.clone();
            for r in &read {
                tree.push(r.leaf);
            }
            self.check_prefix(head, &tree)?;

            let mut lines = Vec::new();
            let mut unparsable = Vec::new();
            for (i, (r, body)) in read.into_iter().zip(entries.iter()).enumerate() {
                let index = start + i as u64;
                match r.found {
                    Found::Nothing => {}
                    Found::Unparsable(reason) => {
                        unparsable.push(self.problem(Some(index), Check::EntryParse, reason))
                    }
                    Found::Matched(facts, matches) => {
                        let report = self.report(head, index, &r.leaf, body, facts, matches)?;
                        lines.push((index, Finding::Match(Box::new(report)).to_line()));
                    }
                }
            }
            store
                .commit_batch(&self.key, &tree, &lines)
                .map_err(|e| self.state_error(e))?;
            state.tree = tree;
            state.next_index = end;
            self.outcome.entries += end - start;
            self.outcome.matches += lines.len() as u64;
            // An entry that does not parse is in the signed tree all the same: reported, and
            // the scan goes on (certspotter does the same for unparsable certificates).
            for p in unparsable {
                self.outcome.errors += 1;
                sink.emit(&Finding::Error(p).to_line())
                    .map_err(|e| self.error(None, Check::Output, format!("writing a report: {e}")))?;
            }
            self.flush_outbox(store, sink)?;
        }
        Ok(())
    }

    fn report(
        &mut self,
        head: &Head,
        index: u64,
        leaf: &Hash,
        body: &[u8],
        facts: EntryFacts,
        matches: Vec<RuleMatch>,
    ) -> Result<MatchReport, Stop> {
        let included = self
            .protocol
            .inclusion(index, leaf, head)
            .map_err(|f| self.stop(f))?;
        verify_inclusion(leaf, index, included.size, &included.hashes, &included.root).map_err(|e| {
            self.alert(
                Some(index),
                Check::InclusionProof,
                format!("the inclusion proof of entry {index} does not verify: {e}"),
            )
        })?;
        let signer = matches.first().and_then(|m| facts.signers.get(m.signature));
        let cert = match signer {
            Some(Signer::Certificate(c)) => Some(c),
            _ => None,
        };
        Ok(MatchReport {
            id: format!("{}/{index}", self.key),
            log: self.target.origin.clone(),
            log_url: self.target.base_url.clone(),
            index,
            kind: facts.kind,
            identity: cert.and_then(|c| c.san.clone()),
            issuer: cert.and_then(|c| c.issuer.clone()),
            digest: facts.digest,
            certificate_not_before: cert.map(|c| c.not_before_rfc3339()),
            observed_at: (self.ctx.now)(),
            matches,
            canonicalized_body: B64.encode(body),
            certificate: facts.certificate.as_deref().map(|c| B64.encode(c)),
            inclusion_proof: InclusionProofJson {
                log_index: index.to_string(),
                root_hash: B64.encode(included.root),
                tree_size: included.size.to_string(),
                hashes: included.hashes.iter().map(|h| B64.encode(h)).collect(),
                checkpoint: CheckpointJson {
                    envelope: included.envelope,
                },
            },
        })
    }
}

fn read_one(format: EntryFormat, body: &[u8], rules: &Rules, wanted: &Wanted) -> Read {
    let leaf = leaf_hash(body);
    let read = match format {
        EntryFormat::RekorV2 => read_entry(body, wanted).map(Some),
        EntryFormat::RekorV1 => read_v1_entry(body, wanted),
        EntryFormat::Ct => read_ct_entry(body, wanted).map(Some),
    };
    let found = match read {
        Err(e) => Found::Unparsable(e.to_string()),
        Ok(None) => Found::Nothing,
        Ok(Some(facts)) => {
            let matches = match_entry(rules, &facts);
            if matches.is_empty() {
                Found::Nothing
            } else {
                Found::Matched(facts, matches)
            }
        }
    };
    Read { leaf, found }
}

/// Reads every entry, on `threads` threads.
fn read_all(format: EntryFormat, entries: &[Vec<u8>], rules: &Rules, threads: usize) -> Vec<Read> {
    let threads = threads.max(1);
    let wanted = &wanted_for_rules(rules);
    if threads == 1 || entries.len() < 64 {
        return entries
            .iter()
            .map(|e| read_one(format, e, rules, wanted))
            .collect();
    }
    let chunk = entries.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|e| read_one(format, e, rules, wanted))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(entries.len());
        for (h, part) in handles.into_iter().zip(entries.chunks(chunk)) {
            match h.join() {
                Ok(v) => out.extend(v),
                // A panic in a reader is a bug; read that part again here rather than lose it.
                Err(_) => out.extend(part.iter().map(|e| read_one(format, e, rules, wanted))),
            }
        }
        out
    })
}
