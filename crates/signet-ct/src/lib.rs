//! signet's RFC 6962 certificate transparency log, for signet's CA: it logs precertificate
//! chains and returns SCTs (in process for the CA, or over RFC 6962 §4 HTTP), serves signed
//! tree heads, proofs and entries, and the c2sp.org/static-ct-api read path.
//!
//! A service crate: it does I/O (SQLite through `signet-log`'s appender and store, key files
//! through `signet-keyfile`, HTTP). The SCT and leaf formats come from `signet-x509::sct` and
//! the Merkle math from `signet-tlog`, both pure. It must not depend on the CLI, the CA or the
//! transparency log's HTTP layer.

#![forbid(unsafe_code)]

pub mod chain;
pub mod http;
mod log;
pub mod metrics;
pub mod sth;
pub mod tile_leaf;

pub use chain::{validate_chain, ChainError, LinkCache, ValidatedChain};
pub use http::{router, MAX_REQUEST_BYTES};
pub use log::{CtLog, MAX_GET_ENTRIES};
pub use metrics::{CtStats, Submission};
pub use sth::{SignedTreeHead, SthError};

use signet_keyfile::KeyFileError;
use signet_log::{LogError, StorageError};

/// Why the CT log could not do what was asked. [`CtError::is_client_error`] tells the
/// submitter's mistakes (400) from the log's own failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    /// The submitted chain is not acceptable; nothing was logged.
    #[error("chain rejected: {0}")]
    Chain(#[from] ChainError),
    /// A read asked for something out of range or malformed.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// Key files: unreadable, damaged, or a half-written directory.
    #[error("CT log key: {0}")]
    Files(#[from] KeyFileError),
    /// The directory or configuration cannot be used (origin changed, key swapped, bad roots).
    #[error("CT log setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The appender refused or failed (overloaded, stopped, integration failed).
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CtError {
    /// True when the log cannot take the entry now but may shortly (overloaded, stopping, its
    /// signing key out of reach): answered 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            CtError::Log(LogError::Overloaded | LogError::Unavailable | LogError::KeyUnavailable(_))
        )
    }
}

impl From<signet_log::keyed::KeyedLogError> for CtError {
    fn from(e: signet_log::keyed::KeyedLogError) -> Self {
        match e {
            signet_log::keyed::KeyedLogError::Files(e) => CtError::Files(e),
            signet_log::keyed::KeyedLogError::Storage(e) => CtError::Storage(e),
            other => CtError::Setup(other.to_string()),
        }
    }
}

impl CtError {
    /// True for errors caused by the request, not the log.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            CtError::Chain(_) | CtError::BadRequest(_) | CtError::NotFound(_)
        )
    }
}

/// Milliseconds since the Unix epoch by the wall clock: SCT and STH timestamps.
pub(crate) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
