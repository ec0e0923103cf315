//! The witness's decisions, in the order c2sp.org/tlog-witness gives them, with no I/O: the
//! caller hands in the request, the last cosigned tree head of the log and the time, and gets
//! back the new tree head to store and the cosignature, or the reason (and HTTP status) for
//! refusing. Nothing is cosigned that has not been verified here.

use signet_tlog::{
    empty_root, verify_consistency, Checkpoint, CosignatureSigner, Hash, Note, NoteError, NoteSignature,
    ProofError,
};
use thiserror::Error;

use crate::config::Logs;
use crate::request::{AddCheckpointRequest, RequestError};

/// Why an `add-checkpoint` request was not cosigned. [`AddError::status`] is the HTTP status
/// tlog-witness prescribes for each.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AddError {
    /// The body is not an add-checkpoint request (400).
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// The checkpoint is not a signed note holding a checkpoint (400).
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// The checkpoint's origin is not a configured log (404).
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin { origin: String },
    /// No signature by a trusted key of the log verifies, or one by a trusted key fails (403).
    #[error("checkpoint not signed by a trusted key of {origin:?}: {source}")]
    Untrusted { origin: String, source: NoteError },
    /// The old size is above the checkpoint's size (400).
    #[error("old size {old_size} is greater than the checkpoint size {size}")]
    OldSizeAfterNew { old_size: u64, size: u64 },
    /// The old size is not the size the witness last cosigned for this log (409); the answer
    /// carries that size.
    #[error("old size {old_size} is not the size of the latest cosigned checkpoint, {latest}")]
    Conflict { old_size: u64, latest: u64 },
    /// A checkpoint of size 0 with another root than the empty tree's (422).
    #[error("a checkpoint of size 0 must have the empty tree's root hash")]
    BadEmptyRoot,
    /// A non-empty proof from old size 0 (422).
    #[error("the consistency proof from old size 0 must be empty, got {len} hashes")]
    ProofFromZero { len: usize },
    /// Same size as the latest cosigned checkpoint but another root hash: a split view (422).
    #[error("checkpoint of size {size} has root {got}, but the cosigned checkpoint of that size has root {cosigned}")]
    RootMismatch {
        size: u64,
        got: String,
        cosigned: String,
    },
    /// The consistency proof does not verify (422).
    #[error("consistency proof from {old_size} to {size} does not verify: {source}")]
    BadProof {
        old_size: u64,
        size: u64,
        source: ProofError,
    },
    /// The state could not be read or stored (500).
    #[error("witness storage: {0}")]
    Storage(String),
    /// The cosignature could not be made (500).
    #[error("cosigning failed: {0}")]
    Cosign(NoteError),
}

impl AddError {
    /// The HTTP status tlog-witness prescribes.
    pub fn status(&self) -> u16 {
        match self {
            AddError::Malformed(_) | AddError::MalformedCheckpoint(_) | AddError::OldSizeAfterNew { .. } => {
                400
            }
            AddError::Untrusted { .. } => 403,
            AddError::UnknownOrigin { .. } => 404,
            AddError::Conflict { .. } => 409,
            AddError::BadEmptyRoot
            | AddError::ProofFromZero { .. }
            | AddError::RootMismatch { .. }
            | AddError::BadProof { .. } => 422,
            AddError::Storage(_) | AddError::Cosign(_) => 500,
        }
    }

    /// True for a refusal of a checkpoint the log did sign that contradicts what was cosigned
    /// before (possible evidence of log misbehaviour, worth keeping).
    pub fn is_inconsistency(&self) -> bool {
        matches!(
            self,
            AddError::RootMismatch { .. } | AddError::BadProof { .. } | AddError::BadEmptyRoot
        )
    }
}

/// What the witness holds per log: the latest cosigned tree head and its checkpoint note
/// (the log's verified signatures plus the witness's cosignature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeHead {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root_hash: Hash,
    /// The cosigned checkpoint, as served to monitors.
    pub checkpoint: String,
}

/// A checkpoint whose note parsed and whose signature by a trusted log key verified: what
/// remains is the check against the stored state.
#[derive(Debug, Clone)]
pub struct VerifiedSubmission {
    /// The request's old size.
    pub old_size: u64,
    /// The request's consistency proof.
    pub proof: Vec<Hash>,
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The note text (what a cosignature signs).
    pub text: String,
    /// The log's signatures that verified.
    pub log_signatures: Vec<NoteSignature>,
}

/// A witness: its cosigning key and the logs it knows.
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    logs: Logs,
}

impl Witness {
    /// A witness cosigning with `signer` for `logs`.
    pub fn new(signer: CosignatureSigner, logs: Logs) -> Self {
        Witness { signer, logs }
    }

    /// The cosigning key.
    pub fn signer(&self) -> &CosignatureSigner {
        &self.signer
    }

    /// The configured logs.
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// The checks that need no state, in the spec's order: the body parses (400), the note
    /// parses and holds a checkpoint (400), its origin is known (404), a trusted key's
    /// signature verifies and none fails (403), and the old size is not above the new (400).
    pub fn verify(&self, body: &[u8]) -> Result<VerifiedSubmission, AddError> {
        let request = AddCheckpointRequest::parse(body)?;
        let note =
            Note::parse(&request.checkpoint).map_err(|e| AddError::MalformedCheckpoint(e.to_string()))?;
        let checkpoint =
            Checkpoint::parse(note.text()).map_err(|e| AddError::MalformedCheckpoint(e.to_string()))?;
        let keys = self
            .logs
            .keys(&checkpoint.origin)
            .ok_or_else(|| AddError::UnknownOrigin {
                origin: checkpoint.origin.clone(),
            })?;
        let verified = note.verify(keys).map_err(|source| AddError::Untrusted {
            origin: checkpoint.origin.clone(),
            source,
        })?;
        if request.old_size > checkpoint.size {
            return Err(AddError::OldSizeAfterNew {
                old_size: request.old_size,
                size: checkpoint.size,
            });
        }
        Ok(VerifiedSubmission {
            old_size: request.old_size,
            proof: request.proof,
            text: verified.text().to_string(),
            log_signatures: verified.verified_signatures().to_vec(),
            checkpoint,
        })
    }

    /// The checks against the latest cosigned head (`None`: never cosigned, size 0), then
    /// the cosignature at `now` (POSIX seconds, not zero) and the new head to store. The
    /// caller must run this and store the result atomically (one transaction), or two
    /// requests could roll the log back (tlog-witness, add-checkpoint).
    pub fn cosign(
        &self,
        submission: &VerifiedSubmission,
        latest: Option<&TreeHead>,
        now: u64,
    ) -> Result<(TreeHead, NoteSignature), AddError> {
        let (latest_size, latest_root) = latest.map_or((0, empty_root()), |h| (h.size, h.root_hash));
        let VerifiedSubmission {
            old_size,
            proof,
            checkpoint,
            ..
        } = submission;
        if *old_size != latest_size {
            return Err(AddError::Conflict {
                old_size: *old_size,
                latest: latest_size,
            });
        }
        if checkpoint.size == 0 && checkpoint.root_hash != empty_root() {
            return Err(AddError::BadEmptyRoot);
        }
        if *old_size == 0 {
            if !proof.is_empty() {
                return Err(AddError::ProofFromZero { len: proof.len() });
            }
        } else if *old_size == checkpoint.size && checkpoint.root_hash != latest_root {
            return Err(AddError::RootMismatch {
                size: checkpoint.size,
                got: hex::encode(checkpoint.root_hash),
                cosigned: hex::encode(latest_root),
            });
        } else {
            verify_consistency(
                *old_size,
                checkpoint.size,
                &latest_root,
                &checkpoint.root_hash,
                proof,
            )
            .map_err(|source| AddError::BadProof {
                old_size: *old_size,
                size: checkpoint.size,
                source,
            })?;
        }
        let cosignature = self
            .signer
            .cosign(&submission.text, now)
            .map_err(AddError::Cosign)?;
        let mut note = Note::new(&submission.text).map_err(AddError::Cosign)?;
        for s in submission.log_signatures.iter().chain([&cosignature]) {
            note.add_signature(s.clone()).map_err(AddError::Cosign)?;
        }
        let head = TreeHead {
            size: checkpoint.size,
            root_hash: checkpoint.root_hash,
            checkpoint: note.to_envelope(),
        };
        Ok((head, cosignature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::{KeyKind, SigningKey};
    use signet_tlog::{sign_checkpoint, MemoryTree, NoteSigner};

    const ORIGIN: &str = "log.example/test";
    const NOW: u64 = 1_700_000_000;

    struct Fixture {
        witness: Witness,
        log: NoteSigner,
        tree: MemoryTree,
    }

    fn fixture() -> Fixture {
        let log = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let mut logs = Logs::default();
        logs.add(ORIGIN, log.verifier()).unwrap();
        let signer = CosignatureSigner::new(
            "witness.example/w",
            SigningKey::generate(KeyKind::Ed25519).unwrap(),
        )
        .unwrap();
        Fixture {
            witness: Witness::new(signer, logs),
            log,
            tree: MemoryTree::new(),
        }
    }

    impl Fixture {
        fn grow(&mut self, n: u64) {
            for _ in 0..n {
                let i = self.tree.size();
                self.tree.push_data(format!("entry {i}").as_bytes());
            }
        }
        fn checkpoint(&self, size: u64) -> String {
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                size,
                root_hash: self.tree.root_at(size).unwrap(),
                extensions: vec![],
            };
            sign_checkpoint(&cp, &[&self.log]).unwrap()
        }
        fn body(&self, old: u64, size: u64) -> Vec<u8> {
            let proof = if old == 0 || old == size {
                vec![]
            } else {
                self.tree.consistency_proof(old, size).unwrap()
            };
            AddCheckpointRequest {
                old_size: old,
                proof,
                checkpoint: self.checkpoint(size),
            }
            .to_bytes()
        }
        fn add(&self, body: &[u8], latest: Option<&TreeHead>) -> Result<TreeHead, AddError> {
            let s = self.witness.verify(body)?;
            let (head, cosig) = self.witness.cosign(&s, latest, NOW)?;
            let ts = self.witness.signer().verifier().verify(&s.text, &cosig).unwrap();
            assert_eq!(ts, NOW);
            Ok(head)
        }
    }

    #[test]
    fn a_growing_log_is_cosigned_and_the_stored_note_verifies() {
        let mut f = fixture();
        f.grow(5);
        let head = f.add(&f.body(0, 5), None).unwrap();
        assert_eq!(head.size, 5);
        f.grow(7);
        let head = f.add(&f.body(5, 12), Some(&head)).unwrap();
        // The same checkpoint again: cosigned again.
        let head = f.add(&f.body(12, 12), Some(&head)).unwrap();
        // The stored note carries the log's signature and the cosignature.
        let note = Note::parse(&head.checkpoint).unwrap();
        assert_eq!(note.signatures().len(), 2);
        signet_tlog::verify_checkpoint(&head.checkpoint, ORIGIN, &[f.log.verifier()]).unwrap();
        let cosig = &note.signatures()[1];
        f.witness.signer().verifier().verify(note.text(), cosig).unwrap();
    }

    #[test]
    fn refusals_have_the_spec_status() {
        let mut f = fixture();
        f.grow(8);
        let head = f.add(&f.body(0, 4), None).unwrap();
        let status = |body: &[u8], latest: Option<&TreeHead>| f.add(body, latest).unwrap_err().status();
        // 400: garbage; a note that is not a checkpoint; old size after new.
        assert_eq!(status(b"hello", Some(&head)), 400);
        assert_eq!(status(b"old 0\n\nnot a note\n", Some(&head)), 400);
        assert_eq!(status(&f.body(8, 8).replace_old(9), Some(&head)), 400);
        // 404: another origin.
        let other =
            NoteSigner::new("other.example", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let cp = Checkpoint::parse(&format!("other.example\n1\n{}\n", "A".repeat(43) + "=")).unwrap();
        let body = AddCheckpointRequest {
            old_size: 0,
            proof: vec![],
            checkpoint: sign_checkpoint(&cp, &[&other]).unwrap(),
        };
        assert_eq!(status(&body.to_bytes(), None), 404);
        // 403: the right origin signed by another key; a trusted key's signature broken.
        let impostor = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let text = Note::parse(&f.checkpoint(8)).unwrap().text().to_string();
        let forged = signet_tlog::sign_note(&text, &[&impostor]).unwrap();
        let body = AddCheckpointRequest {
            old_size: 4,
            proof: f.tree.consistency_proof(4, 8).unwrap(),
            checkpoint: forged,
        };
        assert_eq!(status(&body.to_bytes(), Some(&head)), 403);
        let tampered = f.checkpoint(8).replacen("\n8\n", "\n9\n", 1);
        let body = AddCheckpointRequest {
            old_size: 4,
            proof: vec![],
            checkpoint: tampered,
        };
        assert_eq!(status(&body.to_bytes(), Some(&head)), 403);
        // 409: old size not the cosigned one (also old 0 after a cosignature: the probe).
        let err = f.add(&f.body(0, 8), Some(&head)).unwrap_err();
        assert!(
            matches!(
                err,
                AddError::Conflict {
                    old_size: 0,
                    latest: 4
                }
            ),
            "{err}"
        );
        assert_eq!(status(&f.body(5, 8), Some(&head)), 409);
        // 422: a proof that does not verify; a proof from 0; same size, other root.
        let mut body = AddCheckpointRequest::parse(&f.body(4, 8)).unwrap();
        body.proof[0][0] ^= 1;
        assert_eq!(status(&body.to_bytes(), Some(&head)), 422);
        let body = AddCheckpointRequest {
            proof: vec![[0; 32]],
            ..AddCheckpointRequest::parse(&f.body(0, 4)).unwrap()
        };
        assert_eq!(status(&body.to_bytes(), None), 422);
        let mut fork = fixture();
        fork.log = f.log;
        fork.witness = f.witness;
        fork.tree.push_data(b"another history");
        fork.grow(3);
        let err = fork.add(&fork.body(4, 4), Some(&head)).unwrap_err();
        assert!(matches!(err, AddError::RootMismatch { size: 4, .. }), "{err}");
        assert_eq!(err.status(), 422);
    }

    #[test]
    fn size_zero_needs_the_empty_root() {
        let f = fixture();
        assert_eq!(f.add(&f.body(0, 0), None).unwrap().size, 0);
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: 0,
            root_hash: [1; 32],
            extensions: vec![],
        };
        let body = AddCheckpointRequest {
            old_size: 0,
            proof: vec![],
            checkpoint: sign_checkpoint(&cp, &[&f.log]).unwrap(),
        };
        assert!(matches!(
            f.add(&body.to_bytes(), None),
            Err(AddError::BadEmptyRoot)
        ));
    }

    trait ReplaceOld {
        fn replace_old(self, old: u64) -> Vec<u8>;
    }
    impl ReplaceOld for Vec<u8> {
        fn replace_old(self, old: u64) -> Vec<u8> {
            let mut r = AddCheckpointRequest::parse(&self).unwrap();
            r.old_size = old;
            r.to_bytes()
        }
    }
}
