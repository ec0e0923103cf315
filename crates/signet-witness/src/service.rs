//! The witness as a service: the pure decisions of [`Witness`] over a [`WitnessStore`],
//! with the clock and the counters. Blocking (SQLite); the HTTP layer runs it on tokio's
//! blocking pool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use signet_tlog::NoteSignature;

use crate::storage::WitnessStore;
use crate::witness::{AddError, TreeHead, Witness};

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Checkpoints cosigned.
    pub cosigned: AtomicU64,
    /// Refusals by HTTP status: 400, 403, 404, 409, 422, 500.
    pub refused: [AtomicU64; 6],
}

/// The statuses counted in [`Metrics::refused`], in order.
pub const REFUSAL_STATUSES: [u16; 6] = [400, 403, 404, 409, 422, 500];

impl Metrics {
    fn refusal(&self, status: u16) {
        if let Some(i) = REFUSAL_STATUSES.iter().position(|s| *s == status) {
            self.refused[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A running witness: its decisions, its state and its counters.
pub struct WitnessService {
    witness: Witness,
    store: Mutex<Box<dyn WitnessStore>>,
    /// hex(SHA-256(origin)) → origin, for the monitoring path.
    origin_hashes: HashMap<String, String>,
    /// The counters.
    pub metrics: Metrics,
}

impl WitnessService {
    /// A service deciding with `witness` and keeping its state in `store`.
    pub fn new(witness: Witness, store: Box<dyn WitnessStore>) -> Self {
        let origin_hashes = witness
            .logs()
            .origins()
            .map(|o| (hex::encode(signet_crypto::sha256(o.as_bytes())), o.to_string()))
            .collect();
        WitnessService {
            witness,
            store: Mutex::new(store),
            origin_hashes,
            metrics: Metrics::default(),
        }
    }

    /// The witness's decisions and key.
    pub fn witness(&self) -> &Witness {
        &self.witness
    }

    /// Handles an `add-checkpoint` body at `now` (POSIX seconds): verifies the checkpoint's
    /// signature with no lock held, then checks it against the latest cosigned head, cosigns
    /// and stores the new head in one transaction, committed before this returns.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<NoteSignature, AddError> {
        let result = self.add(body, now);
        match &result {
            Ok(_) => {
                self.metrics.cosigned.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.metrics.refusal(e.status()),
        }
        result
    }

    fn add(&self, body: &[u8], now: u64) -> Result<NoteSignature, AddError> {
        let submission = self.witness.verify(body)?;
        let origin = submission.checkpoint.origin.clone();
        let mut cosignature = None;
        let mut store = self
            .store
            .lock()
            .map_err(|_| AddError::Storage("the store lock is poisoned".into()))?;
        let result = store.update(&origin, &mut |latest| {
            let (head, cosig) = self.witness.cosign(&submission, latest, now)?;
            cosignature = Some(cosig);
            Ok(head)
        });
        drop(store);
        match result {
            Ok(_) => cosignature.ok_or_else(|| AddError::Storage("stored without a cosignature".into())),
            Err(e) => {
                if e.is_inconsistency() {
                    // tlog-witness: a refused checkpoint the log did sign may be evidence of
                    // misbehaviour; it is public data, so it is logged whole.
                    tracing::warn!(
                        origin = %origin,
                        old_size = submission.old_size,
                        size = submission.checkpoint.size,
                        error = %e,
                        checkpoint = %submission.text,
                        "refused an inconsistent checkpoint signed by the log"
                    );
                }
                Err(e)
            }
        }
    }

    /// The latest cosigned checkpoint of the log whose origin hashes (SHA-256, lowercase
    /// hex) to `origin_hash`, for the monitoring path.
    pub fn checkpoint_by_origin_hash(&self, origin_hash: &str) -> Result<Option<TreeHead>, AddError> {
        let Some(origin) = self.origin_hashes.get(origin_hash) else {
            return Ok(None);
        };
        let mut store = self
            .store
            .lock()
            .map_err(|_| AddError::Storage("the store lock is poisoned".into()))?;
        Ok(store.latest(origin)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Logs;
    use crate::request::AddCheckpointRequest;
    use crate::sqlite::SqliteStore;
    use signet_crypto::{KeyKind, SigningKey};
    use signet_tlog::{sign_checkpoint, Checkpoint, CosignatureSigner, MemoryTree, NoteSigner};
    use std::sync::{Arc, Barrier};

    #[test]
    fn racing_requests_from_the_same_size_cosign_one() {
        // tlog-witness's race: two requests from the same old size to different new sizes.
        // With the check and the write in one transaction, exactly one is cosigned, the other
        // gets 409, and the stored size is the winner's: never both, never a rollback.
        let tmp = tempfile::tempdir().unwrap();
        let log = NoteSigner::new("o.example", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let mut logs = Logs::default();
        logs.add("o.example", log.verifier()).unwrap();
        let signer =
            CosignatureSigner::new("w.example", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let store = SqliteStore::open(&tmp.path().join("w.db"), true).unwrap();
        let service = Arc::new(WitnessService::new(Witness::new(signer, logs), Box::new(store)));
        let mut tree = MemoryTree::new();
        let body = |tree: &MemoryTree, old: u64, size: u64| {
            let cp = Checkpoint {
                origin: "o.example".into(),
                size,
                root_hash: tree.root_at(size).unwrap(),
                extensions: vec![],
            };
            AddCheckpointRequest {
                old_size: old,
                proof: if old == 0 {
                    vec![]
                } else {
                    tree.consistency_proof(old, size).unwrap()
                },
                checkpoint: sign_checkpoint(&cp, &[&log]).unwrap(),
            }
            .to_bytes()
        };
        tree.push_data(b"0");
        service.add_checkpoint(&body(&tree, 0, 1), 1).unwrap();
        let mut size = 1;
        for round in 0..20 {
            for i in 0..4 {
                tree.push_data(format!("{round} {i}").as_bytes());
            }
            let (small, big) = (size + 2, size + 4);
            let barrier = Arc::new(Barrier::new(2));
            let racers: Vec<_> = [body(&tree, size, small), body(&tree, size, big)]
                .into_iter()
                .map(|b| {
                    let (service, barrier) = (service.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        service.add_checkpoint(&b, 1).map_err(|e| e.status())
                    })
                })
                .collect();
            let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
            let won: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
            assert_eq!(won.len(), 1, "round {round}: {results:?}");
            assert!(results.contains(&Err(409)), "round {round}: {results:?}");
            let stored = service.checkpoint_by_origin_hash(&hex::encode(signet_crypto::sha256(b"o.example")));
            let stored = stored.unwrap().unwrap().size;
            assert_eq!(stored, [small, big][won[0]], "round {round}");
            size = stored;
        }
    }
}
