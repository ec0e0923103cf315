//! Comparing the monitor's view of a log with what its witnesses cosigned
//! (`--witness-policy FILE`, the policy's `witness NAME VKEY URL` lines).
//!
//! A log showing one tree to the monitor and another to others (a split view) cannot be caught
//! by the monitor alone: every checkpoint it is shown is consistent. Witnesses see the
//! checkpoints the log hands them; a witness serves the latest it cosigned at
//! `GET <url>/<hex SHA-256 of the origin line>/checkpoint`. After each pass over a log the
//! monitor fetches that checkpoint from every witness with a URL and checks, in order:
//!
//! 1. the log signed it (a checkpoint the log did not sign proves nothing against the log:
//!    an error naming the witness), and the witness cosigned it (else an error);
//! 2. against the monitor's last verified checkpoint: the same size with another root is a
//!    fork; a smaller size must be proven a prefix of the monitor's tree, and a larger one an
//!    extension of it, with a consistency proof built from the log's own hash tiles (whose
//!    root must be the one the log signed). A proof that fails is a fork: an **alert**
//!    carrying both signed checkpoints as evidence, the monitor's first. Tiles that cannot be
//!    had (the log has not yet published the witness's size to the monitor) are an error.

use sha2::{Digest, Sha256};
use signet_client::http::{GetError, Http};
use signet_tlog::{
    empty_root, verify_checkpoint, verify_consistency, Checkpoint, CosignatureVerifier, Note, ProofError,
    Prover, WitnessPolicy,
};

use crate::follow::LogTarget;
use crate::report::{Check, Finding, Problem, Sink};
use crate::source::{LogSource, SourceError, Tiles};
use crate::state::Store;

/// A witness the monitor asks for its latest cosigned checkpoint.
#[derive(Debug, Clone)]
pub struct Witness {
    pub name: String,
    pub verifier: CosignatureVerifier,
    /// Its URL prefix, without the trailing slash.
    pub url: String,
}

/// The policy's witnesses that have a URL; an error when none has.
pub fn from_policy(policy: &WitnessPolicy) -> anyhow::Result<Vec<Witness>> {
    let witnesses: Vec<Witness> = policy
        .witnesses()
        .iter()
        .filter_map(|w| {
            w.url.as_ref().map(|url| Witness {
                name: w.name.clone(),
                verifier: w.verifier.clone(),
                url: url.trim_end_matches('/').to_string(),
            })
        })
        .collect();
    if witnesses.is_empty() {
        anyhow::bail!(
            "--witness-policy: no witness has a URL; the monitor compares its view with each witness's latest cosigned checkpoint, so write `witness NAME VKEY URL`"
        );
    }
    Ok(witnesses)
}

/// Where witnesses' checkpoints come from: HTTP in the program, memory in tests.
pub trait WitnessSource {
    /// The latest checkpoint `witness` cosigned for the log whose origin line is `origin`;
    /// `None` when the witness has none.
    fn latest(&self, witness: &Witness, origin: &str) -> Result<Option<String>, SourceError>;
}

/// The path a witness serves a log's latest cosigned checkpoint at.
pub fn checkpoint_path(origin: &str) -> String {
    format!("{}/checkpoint", hex::encode(Sha256::digest(origin.as_bytes())))
}

/// Witnesses over HTTP.
pub struct HttpWitnesses<'h>(pub &'h Http);

impl WitnessSource for HttpWitnesses<'_> {
    fn latest(&self, witness: &Witness, origin: &str) -> Result<Option<String>, SourceError> {
        let url = format!("{}/{}", witness.url, checkpoint_path(origin));
        const MAX: u64 = 64 * 1024;
        match self.0.get_limited(&url, MAX) {
            Ok(Some(body)) => String::from_utf8(body)
                .map(Some)
                .map_err(|_| SourceError::Unreachable {
                    path: url,
                    reason: "the checkpoint is not UTF-8".into(),
                }),
            Ok(None) => Ok(None),
            Err(GetError::TooLong) => Err(SourceError::TooLarge { path: url, max: MAX }),
            Err(GetError::Other(reason)) => Err(SourceError::Unreachable { path: url, reason }),
        }
    }
}

/// What a comparison found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// Witness checkpoints that were checked against the monitor's view.
    pub checked: u64,
    pub alerts: u64,
    pub errors: u64,
}

/// Compares the monitor's verified checkpoint of `target` with every witness's latest; each
/// alert and error is written to `sink`.
pub fn compare<S: LogSource + ?Sized>(
    target: &LogTarget,
    store: &Store,
    source: &S,
    witnesses: &[Witness],
    fetch: &dyn WitnessSource,
    sink: &mut dyn Sink,
) -> Comparison {
    let mut result = Comparison::default();
    let problem = |check: Check, message: String| Problem {
        log: target.origin.clone(),
        index: None,
        check,
        message,
        evidence: Vec::new(),
    };
    let ours = match store.load(&target.origin) {
        Ok(Some(state)) => state.verified,
        Ok(None) => return result, // nothing verified yet to compare
        Err(e) => {
            result.errors += 1;
            let _ = sink.emit(&Finding::Error(problem(Check::State, e.to_string())).to_line());
            return result;
        }
    };
    let ours_cp = match Checkpoint::from_note_unverified(&ours.envelope) {
        Ok(cp) => cp,
        Err(e) => {
            result.errors += 1;
            let message = format!("the saved checkpoint does not parse: {e}");
            let _ = sink.emit(&Finding::Error(problem(Check::State, message)).to_line());
            return result;
        }
    };
    let tiles = Tiles::new(source);
    for witness in witnesses {
        let finding = match check_one(target, &ours_cp, &ours.envelope, &tiles, witness, fetch) {
            Verdict::Consistent => {
                result.checked += 1;
                continue;
            }
            Verdict::NotWitnessed => continue,
            Verdict::Error(check, message) => {
                result.errors += 1;
                Finding::Error(problem(check, format!("witness {}: {message}", witness.name)))
            }
            Verdict::Fork(message, theirs) => {
                result.checked += 1;
                result.alerts += 1;
                let mut p = problem(Check::WitnessFork, format!("witness {}: {message}", witness.name));
                p.evidence = vec![ours.envelope.clone(), theirs];
                Finding::Alert(p)
            }
        };
        if sink.emit(&finding.to_line()).is_err() {
            result.errors += 1;
        }
    }
    result
}

enum Verdict {
    Consistent,
    NotWitnessed,
    Error(Check, String),
    /// The witness's cosigned checkpoint, and why it is not consistent with the monitor's.
    Fork(String, String),
}

fn check_one<S: LogSource + ?Sized>(
    target: &LogTarget,
    ours: &Checkpoint,
    our_envelope: &str,
    tiles: &Tiles<'_, S>,
    witness: &Witness,
    fetch: &dyn WitnessSource,
) -> Verdict {
    let envelope = match fetch.latest(witness, &ours.origin) {
        Ok(Some(e)) => e,
        Ok(None) => {
            tracing::info!("witness {} has no checkpoint of {}", witness.name, target.origin);
            return Verdict::NotWitnessed;
        }
        Err(e) => return Verdict::Error(Check::WitnessFetch, e.to_string()),
    };
    // The log's signature first: a checkpoint the log did not sign says nothing about it.
    let theirs = match verify_checkpoint(&envelope, &ours.origin, &target.verifiers) {
        Ok(cp) => cp,
        Err(e) => {
            return Verdict::Error(
                Check::WitnessCheckpoint,
                format!("serves a checkpoint that is not the log's: {e}"),
            )
        }
    };
    let cosigned = Note::parse(&envelope).is_ok_and(|note| {
        note.signatures()
            .iter()
            .filter(|s| witness.verifier.is_signer_of(s))
            .any(|s| witness.verifier.verify(note.text(), s).is_ok())
    });
    if !cosigned {
        return Verdict::Error(
            Check::WitnessCheckpoint,
            "serves a checkpoint without a valid cosignature of its key".into(),
        );
    }
    if our_envelope == envelope || (theirs.size == ours.size && theirs.root_hash == ours.root_hash) {
        return Verdict::Consistent;
    }
    if theirs.size == ours.size {
        return Verdict::Fork(
            format!(
                "cosigned a checkpoint of size {} with root {}; the log showed the monitor root {} (a split view)",
                theirs.size,
                hex::encode(theirs.root_hash),
                hex::encode(ours.root_hash)
            ),
            envelope,
        );
    }
    // One is a prefix of the other, or the log forked: prove it from the log's tiles.
    let (small, large) = if theirs.size < ours.size {
        (&theirs, ours)
    } else {
        (ours, &theirs)
    };
    if small.size == 0 {
        return if small.root_hash == empty_root() {
            Verdict::Consistent
        } else {
            Verdict::Fork(
                "a checkpoint of size 0 whose root is not the empty tree's".into(),
                envelope,
            )
        };
    }
    let tile_error = |e: ProofError| match e {
        ProofError::Tile(_) | ProofError::NodeUnavailable { .. } => Some(format!(
            "cannot check its checkpoint of size {} yet: the log's tiles for size {} cannot be had: {e}",
            theirs.size, large.size
        )),
        _ => None,
    };
    let prover = match Prover::over_tiles(tiles, large.size) {
        Ok(p) => p,
        Err(e) => {
            return match tile_error(e.clone()) {
                Some(m) => Verdict::Error(Check::Tile, m),
                None => Verdict::Fork(format!("the log's tiles of size {}: {e}", large.size), envelope),
            }
        }
    };
    if prover.root() != large.root_hash {
        return Verdict::Fork(
            format!(
                "the log's hash tiles of size {} give root {}, but the log signed {} for that size",
                large.size,
                hex::encode(prover.root()),
                hex::encode(large.root_hash)
            ),
            envelope,
        );
    }
    let proof = match prover.consistency_proof(small.size) {
        Ok(p) => p,
        Err(e) => {
            return match tile_error(e.clone()) {
                Some(m) => Verdict::Error(Check::Tile, m),
                None => Verdict::Fork(format!("no consistency proof: {e}"), envelope),
            }
        }
    };
    match verify_consistency(small.size, large.size, &small.root_hash, &large.root_hash, &proof) {
        Ok(()) => Verdict::Consistent,
        Err(e) => Verdict::Fork(
            format!(
                "its checkpoint of size {} and the monitor's of size {} are not consistent: {e}",
                theirs.size, ours.size
            ),
            envelope,
        ),
    }
}
