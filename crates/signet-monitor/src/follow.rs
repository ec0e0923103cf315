//! Following one tlog-tiles log: the monitor's checks in the order they run.
//!
//! 1. Write the reports a previous run committed but did not write (the outbox).
//! 2. Fetch the checkpoint; verify its origin and signature against the trusted log key.
//! 3. Against the last verified checkpoint: a smaller size is an alert (the log went
//!    backwards), the same size with another root is an alert (a fork), a larger size needs a
//!    consistency proof, built from hash tiles, that verifies (else an alert). Then the new
//!    checkpoint is the verified one.
//! 4. Scan the entries from where the last run stopped, a batch at a time: hash every entry
//!    into the recomputed tree, read and match every entry. After each batch the recomputed
//!    tree must be a prefix of the verified one (a consistency proof from the batch's end to
//!    the checkpoint, or at the end equal roots): else an alert, and nothing of the batch is
//!    reported. So every match is reported only once the entries it came from are proven to be
//!    the ones the signed checkpoint commits to. Each match carries its inclusion proof.
//! 5. Commit the batch (position, tree, report lines in the outbox), then write its lines.
//!
//! An alert or error stops this log for this run, with the state at the last good point; the
//! caller goes on with the other logs.

use signet_tlog::{
    leaf_hash, verify_checkpoint, verify_consistency, verify_inclusion, Checkpoint, EntryBundleId, Hash,
    NoteVerifier, ProofError, Prover, TileHashReader, TILE_WIDTH,
};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::config::Rules;
use crate::entry::{read_entry, EntryFacts, Signer, Wanted};
use crate::matching::{match_entry, RuleMatch};
use crate::report::{Check, CheckpointJson, Finding, InclusionProofJson, MatchReport, Problem, Sink};
use crate::source::{LogSource, Tiles};
use crate::state::{LogState, StateError, Store, Verified};
use crate::tree::CompactRange;

/// A log to follow, as the trust material describes it.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The log's name in reports and state: its base URL without the scheme.
    pub origin: String,
    /// The origin lines its checkpoints may carry (for Rekor v2, the base URL's host name,
    /// as sigstore-go requires, or the whole base URL as earlier signet servers wrote).
    pub checkpoint_origins: Vec<String>,
    pub base_url: String,
    /// The log's checkpoint keys.
    pub verifiers: Vec<NoteVerifier>,
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
    /// Entry bundles per committed batch.
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

/// Follows `target` once: to its current checkpoint (or `max_entries`). Every report and
/// problem is written to `sink`.
pub fn follow_log<S: LogSource + ?Sized>(
    target: &LogTarget,
    source: &S,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
) -> Outcome {
    let tiles = Tiles::new(source);
    let mut follower = Follower {
        target,
        source,
        tiles: &tiles,
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

struct Follower<'a, S: ?Sized> {
    target: &'a LogTarget,
    source: &'a S,
    tiles: &'a Tiles<'a, S>,
    ctx: &'a Context<'a>,
    outcome: Outcome,
}

type ProverT<'a, S> = Prover<TileHashReader<&'a Tiles<'a, S>>>;

impl<'a, S: LogSource + ?Sized> Follower<'a, S> {
    fn problem(&self, index: Option<u64>, check: Check, message: impl Into<String>) -> Problem {
        Problem {
            log: self.target.origin.clone(),
            index,
            check,
            message: message.into(),
            evidence: Vec::new(),
        }
    }

    /// An alert about the checkpoint verified before and the one just served, with both.
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

    /// A proof that could not be built: a tile that could not be had or was malformed is an
    /// error; anything else the tiles say is the log's.
    fn proof_error(&self, index: Option<u64>, what: &str, e: ProofError) -> Stop {
        match e {
            ProofError::Tile(t) => self.error(index, Check::Tile, format!("{what}: {t}")),
            ProofError::NodeUnavailable { .. } => self.error(index, Check::Tile, format!("{what}: {e}")),
            other => self.alert(index, Check::TilesRoot, format!("{what}: {other}")),
        }
    }

    fn prover(&self, checkpoint: &Checkpoint) -> Result<ProverT<'a, S>, Stop> {
        let prover = Prover::over_tiles(self.tiles, checkpoint.size)
            .map_err(|e| self.proof_error(None, "reading the tree's right edge from hash tiles", e))?;
        if prover.root() != checkpoint.root_hash {
            return Err(self.alert(
                None,
                Check::TilesRoot,
                format!(
                    "the hash tiles of the tree of size {} give root {}, the signed checkpoint says {}",
                    checkpoint.size,
                    hex::encode(prover.root()),
                    hex::encode(checkpoint.root_hash)
                ),
            ));
        }
        Ok(prover)
    }

    fn flush_outbox(&self, store: &mut Store, sink: &mut dyn Sink) -> Result<(), Stop> {
        for (index, line) in store
            .pending(&self.target.origin)
            .map_err(|e| self.state_error(e))?
        {
            sink.emit(&line)
                .map_err(|e| self.error(Some(index), Check::Output, format!("writing a report: {e}")))?;
            store
                .delivered(&self.target.origin, index)
                .map_err(|e| self.state_error(e))?;
        }
        Ok(())
    }

    fn run(&mut self, store: &mut Store, sink: &mut dyn Sink) -> Result<(), Stop> {
        let origin = self.target.origin.clone();
        self.flush_outbox(store, sink)?;
        let envelope = self
            .source
            .checkpoint()
            .map_err(|e| self.error(None, Check::CheckpointFetch, e.to_string()))?;
        let claimed = Checkpoint::from_note_unverified(&envelope)
            .map_err(|e| self.error(None, Check::CheckpointSignature, e.to_string()))?
            .origin;
        let Some(expected) = self.target.checkpoint_origins.iter().find(|o| **o == claimed) else {
            return Err(self.error(
                None,
                Check::CheckpointSignature,
                format!(
                    "checkpoint origin {claimed:?} is not this log's ({})",
                    self.target.checkpoint_origins.join(", ")
                ),
            ));
        };
        let checkpoint = verify_checkpoint(&envelope, expected, &self.target.verifiers)
            .map_err(|e| self.error(None, Check::CheckpointSignature, e.to_string()))?;
        let verified = Verified {
            size: checkpoint.size,
            root: checkpoint.root_hash,
            envelope,
        };
        let saved = store.load(&origin).map_err(|e| self.state_error(e))?;
        let prover;
        let mut state = match saved {
            None => {
                prover = self.prover(&checkpoint)?;
                let start = match self.ctx.options.start {
                    Start::Index(i) => i.min(checkpoint.size),
                    Start::Latest => checkpoint.size,
                };
                let tree = if start == 0 {
                    CompactRange::new()
                } else {
                    let tree = CompactRange::from_reader(start, prover.reader()).map_err(|e| {
                        self.proof_error(Some(start), "reading the tree at the start index", e)
                    })?;
                    self.check_prefix(&prover, &checkpoint, &tree)?;
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
                if checkpoint.size < old.size {
                    return Err(self.two_view_alert(
                        Check::LogWentBackwards,
                        format!(
                            "signed checkpoint of size {} after a verified one of size {}",
                            checkpoint.size, old.size
                        ),
                        &old.envelope,
                        &verified.envelope,
                    ));
                }
                if checkpoint.size == old.size && checkpoint.root_hash != old.root {
                    return Err(self.two_view_alert(
                        Check::RootChanged,
                        format!(
                            "two signed checkpoints of size {} with different roots: {} verified before, {} now (a fork)",
                            old.size,
                            hex::encode(old.root),
                            hex::encode(checkpoint.root_hash)
                        ),
                        &old.envelope,
                        &verified.envelope,
                    ));
                }
                if checkpoint.size == old.size && state.next_index == old.size {
                    self.outcome.verified_size = old.size;
                    return Ok(()); // nothing new
                }
                prover = self.prover(&checkpoint)?;
                if checkpoint.size > old.size && old.size > 0 {
                    let proof = prover
                        .consistency_proof(old.size)
                        .map_err(|e| self.proof_error(None, "building the consistency proof", e))?;
                    verify_consistency(
                        old.size,
                        checkpoint.size,
                        &old.root,
                        &checkpoint.root_hash,
                        &proof,
                    )
                    .map_err(|e| {
                        self.two_view_alert(
                            Check::Consistency,
                            format!(
                                "the tree of size {} is not a prefix of the signed tree of size {}: {e}",
                                old.size, checkpoint.size
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
            .save_verified(&origin, &state)
            .map_err(|e| self.state_error(e))?;
        self.outcome.verified_size = state.verified.size;
        self.scan(&prover, &checkpoint, &mut state, store, sink)
    }

    /// The recomputed tree must be a prefix of the signed one.
    fn check_prefix(
        &self,
        prover: &ProverT<'a, S>,
        checkpoint: &Checkpoint,
        tree: &CompactRange,
    ) -> Result<(), Stop> {
        let size = tree.size();
        let first = size.saturating_sub(1);
        if size == checkpoint.size {
            if tree.root() != checkpoint.root_hash {
                return Err(self.alert(
                    Some(first),
                    Check::EntriesRoot,
                    format!(
                        "the entries up to index {first} hash to root {}, the signed checkpoint of size {size} says {}",
                        hex::encode(tree.root()),
                        hex::encode(checkpoint.root_hash)
                    ),
                ));
            }
            return Ok(());
        }
        if size == 0 {
            return Ok(());
        }
        let proof = prover.consistency_proof(size).map_err(|e| {
            self.proof_error(
                Some(first),
                "building the consistency proof for the entries read",
                e,
            )
        })?;
        verify_consistency(size, checkpoint.size, &tree.root(), &checkpoint.root_hash, &proof).map_err(|e| {
            self.alert(
                Some(first),
                Check::EntriesRoot,
                format!(
                    "the entries up to index {first} are not a prefix of the signed tree of size {}: {e}",
                    checkpoint.size
                ),
            )
        })
    }

    fn scan(
        &mut self,
        prover: &ProverT<'a, S>,
        checkpoint: &Checkpoint,
        state: &mut LogState,
        store: &mut Store,
        sink: &mut dyn Sink,
    ) -> Result<(), Stop> {
        let size = checkpoint.size;
        let width = u64::from(TILE_WIDTH);
        let batch = self.ctx.options.batch_bundles.max(1) * width;
        let limit = match self.ctx.options.max_entries {
            0 => size,
            n => state.next_index.saturating_add(n).min(size),
        };
        while state.next_index < limit {
            let start = state.next_index;
            let end = ((start / width + 1) * width)
                .max(start - start % width + batch)
                .min(limit);
            let bundles = self.fetch(start, end, size)?;
            let entries = slice_entries(&bundles, start, end)
                .map_err(|(index, message)| self.error(Some(index), Check::EntryBundle, message))?;
            let read = read_all(&entries, self.ctx.rules, self.ctx.options.threads);
            let mut tree = state.tree.clone();
            for r in &read {
                tree.push(r.leaf);
            }
            self.check_prefix(prover, checkpoint, &tree)?;

            let mut lines = Vec::new();
            let mut unparsable = Vec::new();
            for (i, (r, body)) in read.into_iter().zip(entries.iter().copied()).enumerate() {
                let index = start + i as u64;
                match r.found {
                    Found::Nothing => {}
                    Found::Unparsable(reason) => {
                        unparsable.push(self.problem(Some(index), Check::EntryParse, reason))
                    }
                    Found::Matched(facts, matches) => {
                        let report = self.report(
                            prover,
                            checkpoint,
                            &state.verified.envelope,
                            index,
                            &r.leaf,
                            body,
                            facts,
                            matches,
                        )?;
                        lines.push((index, Finding::Match(Box::new(report)).to_line()));
                    }
                }
            }
            store
                .commit_batch(&self.target.origin, &tree, &lines)
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

    /// The entry bundles covering `[start, end)` in the tree of `size`, each checked to hold
    /// the number of entries its width says.
    fn fetch(&self, start: u64, end: u64, size: u64) -> Result<Vec<(u64, Vec<u8>)>, Stop> {
        let width = u64::from(TILE_WIDTH);
        let mut out = Vec::new();
        for n in start / width..=(end - 1) / width {
            let w = (size - n * width).min(width) as u16;
            let id = EntryBundleId { index: n, width: w };
            let first = n * width;
            let bytes = self
                .source
                .entry_bundle(&id)
                .map_err(|e| self.error(Some(first), Check::EntryBundle, e.to_string()))?;
            out.push((u64::from(w), bytes));
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        prover: &ProverT<'a, S>,
        checkpoint: &Checkpoint,
        envelope: &str,
        index: u64,
        leaf: &Hash,
        body: &[u8],
        facts: EntryFacts,
        matches: Vec<RuleMatch>,
    ) -> Result<MatchReport, Stop> {
        let proof = prover
            .inclusion_proof(index)
            .map_err(|e| self.proof_error(Some(index), "building the inclusion proof", e))?;
        verify_inclusion(leaf, index, checkpoint.size, &proof, &checkpoint.root_hash).map_err(|e| {
            self.alert(
                Some(index),
                Check::InclusionProof,
                format!("the inclusion proof built from hash tiles does not verify: {e}"),
            )
        })?;
        let signer = matches.first().and_then(|m| facts.signers.get(m.signature));
        let cert = match signer {
            Some(Signer::Certificate(c)) => Some(c),
            _ => None,
        };
        Ok(MatchReport {
            id: format!("{}/{index}", self.target.origin),
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
            inclusion_proof: InclusionProofJson {
                log_index: index.to_string(),
                root_hash: B64.encode(checkpoint.root_hash),
                tree_size: checkpoint.size.to_string(),
                hashes: proof.iter().map(|h| B64.encode(h)).collect(),
                checkpoint: CheckpointJson {
                    envelope: envelope.to_string(),
                },
            },
        })
    }
}

/// The entries `[start, end)` out of bundles fetched from `start`. A bundle that does not
/// decode, or holds another number of entries than its width (or, standing in for a partial
/// bundle, than a full one), is refused with the index of its first entry.
fn slice_entries(bundles: &[(u64, Vec<u8>)], start: u64, end: u64) -> Result<Vec<&[u8]>, (u64, String)> {
    let width = u64::from(TILE_WIDTH);
    let mut out = Vec::with_capacity((end - start) as usize);
    let mut first = start - start % width;
    for (w, bytes) in bundles {
        let entries = signet_tlog::decode_entry_bundle(bytes)
            .map_err(|e| (first, format!("entry bundle {}: {e}", first / width)))?;
        if entries.len() as u64 != *w && entries.len() != usize::from(TILE_WIDTH) {
            return Err((
                first,
                format!(
                    "entry bundle {} holds {} entries; its width in the tree is {w}",
                    first / width,
                    entries.len()
                ),
            ));
        }
        let lo = start.max(first);
        let hi = end.min(first + w);
        out.extend(
            entries[(lo - first) as usize..(hi - first) as usize]
                .iter()
                .copied(),
        );
        first += width;
    }
    Ok(out)
}

fn read_one(body: &[u8], rules: &Rules, wanted: &Wanted) -> Read {
    let leaf = leaf_hash(body);
    let found = match read_entry(body, wanted) {
        Err(e) => Found::Unparsable(e.to_string()),
        Ok(facts) => {
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
fn read_all(entries: &[&[u8]], rules: &Rules, threads: usize) -> Vec<Read> {
    let threads = threads.max(1);
    let wanted = &Wanted::for_rules(rules);
    if threads == 1 || entries.len() < 64 {
        return entries.iter().map(|e| read_one(e, rules, wanted)).collect();
    }
    let chunk = entries.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|e| read_one(e, rules, wanted))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(entries.len());
        for (h, part) in handles.into_iter().zip(entries.chunks(chunk)) {
            match h.join() {
                Ok(v) => out.extend(v),
                // A panic in a reader is a bug; read that part again here rather than lose it.
                Err(_) => out.extend(part.iter().map(|e| read_one(e, rules, wanted))),
            }
        }
        out
    })
}
