//! Signed tree heads. The log signs each batch's checkpoint as static-ct-api does: a C2SP
//! checkpoint whose one signature line is an `RFC6962NoteSignature` (the STH timestamp and
//! the RFC 6962 §3.5 `TreeHeadSignature`). So the checkpoint is the STH, and get-sth is
//! derived from the stored checkpoint without the key, as the spec intends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use signet_crypto::{sha256, PublicKey, Signer, SignerError};
use signet_log::CheckpointSigner;
use signet_tlog::{Checkpoint, Hash, Note, NoteSignature};
use signet_x509::sct::{sign_digitally_signed, DigitallySigned};
use signet_x509::static_ct::{verify_tree_head_signature, Rfc6962NoteSignature};
use thiserror::Error;

/// Why a checkpoint is not a signed tree head of this log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SthError {
    #[error("checkpoint does not parse: {0}")]
    Checkpoint(String),
    #[error("checkpoint has no RFC 6962 signature by {origin} (key ID {key_id:08x})")]
    NoSignature { origin: String, key_id: u32 },
    #[error("RFC6962NoteSignature does not parse: {0}")]
    Malformed(String),
    #[error("tree head signature does not verify: {0}")]
    BadSignature(String),
}

/// RFC 6962 §3.5 / §4.3: a signed tree head, as get-sth returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub sha256_root_hash: Hash,
    pub tree_head_signature: DigitallySigned,
}

impl SignedTreeHead {
    /// Checks the tree head signature with the log's key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SthError> {
        verify_tree_head_signature(
            self.timestamp,
            self.tree_size,
            &self.sha256_root_hash,
            &self.tree_head_signature,
            key,
        )
        .map_err(SthError::BadSignature)
    }

    /// Reads the STH out of a checkpoint signed by the log `log_id` under key name `origin`.
    /// The signature is not checked here (see [`SignedTreeHead::verify`]).
    pub fn from_checkpoint(note: &str, origin: &str, log_id: &[u8; 32]) -> Result<Self, SthError> {
        let parsed = Note::parse(note).map_err(|e| SthError::Checkpoint(e.to_string()))?;
        let checkpoint = Checkpoint::parse(parsed.text()).map_err(|e| SthError::Checkpoint(e.to_string()))?;
        let key_id = note_key_id(origin, log_id);
        let line = parsed
            .signatures()
            .iter()
            .find(|s| s.name == origin && s.key_hash == key_id)
            .ok_or_else(|| SthError::NoSignature {
                origin: origin.into(),
                key_id,
            })?;
        let signed =
            Rfc6962NoteSignature::decode(&line.signature).map_err(|e| SthError::Malformed(e.to_string()))?;
        Ok(SignedTreeHead {
            tree_size: checkpoint.size,
            timestamp: signed.timestamp,
            sha256_root_hash: checkpoint.root_hash,
            tree_head_signature: signed.signature,
        })
    }
}

pub use signet_x509::static_ct::{note_key_id, tree_head_signature_input};

/// Signs each batch's checkpoint as an RFC 6962 STH, timestamped by the wall clock. STH
/// timestamps never go backwards, even if the clock does, since monitors compare them.
pub struct Rfc6962NoteSigner {
    origin: String,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
    last_timestamp: AtomicU64,
}

impl Rfc6962NoteSigner {
    /// A signer for the log `origin` whose key is `key`; `last_timestamp` is the timestamp of
    /// the newest STH already published (0 for a new log).
    pub fn new(origin: &str, key: Arc<dyn Signer>, last_timestamp: u64) -> Self {
        Rfc6962NoteSigner {
            origin: origin.into(),
            log_id: sha256(key.public_key().spki_der()),
            key,
            last_timestamp: AtomicU64::new(last_timestamp),
        }
    }

    fn timestamp(&self) -> u64 {
        let now = crate::now_millis();
        let previous = self.last_timestamp.fetch_max(now, Ordering::SeqCst);
        now.max(previous)
    }
}

impl CheckpointSigner for Rfc6962NoteSigner {
    fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, SignerError> {
        let failed = |e: &dyn std::fmt::Display| SignerError::Failed(e.to_string());
        if !checkpoint.extensions.is_empty() {
            return Err(failed(&"an RFC 6962 checkpoint has no extension lines"));
        }
        let timestamp = self.timestamp();
        let message = tree_head_signature_input(timestamp, checkpoint.size, &checkpoint.root_hash);
        let signature = sign_digitally_signed(self.key.as_ref(), &message).map_err(|e| match e {
            signet_x509::sct::SctError::Signer(e) => e,
            other => failed(&other),
        })?;
        let body = Rfc6962NoteSignature { timestamp, signature }
            .encode()
            .map_err(|e| failed(&e))?;
        let mut note = Note::new(&checkpoint.to_note_text()).map_err(|e| failed(&e))?;
        note.add_signature(NoteSignature {
            name: self.origin.clone(),
            key_hash: note_key_id(&self.origin, &self.log_id),
            signature: body,
        })
        .map_err(|e| failed(&e))?;
        Ok(note.to_envelope())
    }

    fn verify_checkpoint(&self, note: &str, origin: &str) -> Result<Checkpoint, String> {
        let sth =
            SignedTreeHead::from_checkpoint(note, &self.origin, &self.log_id).map_err(|e| e.to_string())?;
        sth.verify(self.key.public_key()).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::from_note_unverified(note).map_err(|e| e.to_string())?;
        if checkpoint.origin != origin {
            return Err(format!("checkpoint of {}, expected {origin}", checkpoint.origin));
        }
        Ok(checkpoint)
    }
}
