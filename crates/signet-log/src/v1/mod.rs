//! A Rekor v1 log for older clients (sigstore-js 4 and its CLI, `sigstore-python
//! --rekor-version 1`, sigstore-rs): the classic REST API (`/api/v1/log/entries`, retrieve,
//! log info, consistency proofs, public key) with signed entry timestamps and Rekor's
//! checkpoint format.
//!
//! It is a second log beside the Rekor v2 one, with its own directory, store (SQLite file or
//! PostgreSQL schema) and ECDSA P-256 key, built on the same [`Appender`](crate::Appender) and
//! [`LogStore`](crate::LogStore). Entry kinds: hashedrekord 0.0.1, dsse 0.0.1
//! and intoto 0.0.2, validated and canonicalised by `signet_formats::rekor_v1`.
//!
//! | file | holds |
//! |---|---|
//! | [`log`] | the log: its directory, key, tree ID, submissions and reads |
//! | [`entry`] | the entry as the API returns it, the SET, the stored form |
//! | [`http`] | the routes |

pub mod entry;
pub mod http;
pub mod log;

pub use entry::{set_payload, InclusionProofV1, LogEntryV1};
pub use http::{router_v1, MAX_REQUEST_BYTES};
pub use log::{LogInfo, RekorV1};

use signet_formats::rekor_v1::RekorV1Error;
use signet_keyfile::KeyFileError;

use crate::{LogError, StorageError};

/// Why the Rekor v1 log could not do what was asked. [`V1Error::is_client_error`] tells the
/// client's mistakes (nothing was logged) from the log's own failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum V1Error {
    /// The proposed entry is malformed, of an unsupported kind, or its signature does not
    /// verify; nothing was logged.
    #[error("invalid entry: {0}")]
    Entry(#[from] RekorV1Error),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The entry is already in the log (Rekor answers 409 with its location).
    #[error("an equivalent entry already exists in the transparency log with UUID {uuid}")]
    Conflict { uuid: String, log_index: u64 },
    /// Key files: unreadable, damaged, or a half-written directory.
    #[error("Rekor v1 log key: {0}")]
    Files(#[from] KeyFileError),
    /// The directory or configuration cannot be used (origin changed, key swapped).
    #[error("Rekor v1 log setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The appender refused or failed (overloaded, stopped, integration failed).
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::keyed::KeyedLogError> for V1Error {
    fn from(e: crate::keyed::KeyedLogError) -> Self {
        match e {
            crate::keyed::KeyedLogError::Files(e) => V1Error::Files(e),
            crate::keyed::KeyedLogError::Storage(e) => V1Error::Storage(e),
            other => V1Error::Setup(other.to_string()),
        }
    }
}

impl V1Error {
    /// True for errors caused by the request, not the log.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            V1Error::Entry(_) | V1Error::BadRequest(_) | V1Error::NotFound(_) | V1Error::Conflict { .. }
        )
    }
}
