//! signet's transparency log service: the Rekor v2 write API (`POST /api/v2/log/entries`)
//! and the C2SP tlog-tiles read API (`/checkpoint`, `/tile/...`), over an append-only
//! RFC 6962 tree kept by a [`storage::LogStore`] backend; optionally, each checkpoint is
//! cosigned by the witnesses of a policy before it is published ([`witnessing`]).
//!
//! Storage backends: embedded SQLite ([`sqlite`], the default) and PostgreSQL
//! ([`postgres`], tokio-postgres with deadpool-postgres; that module says why those), chosen
//! through [`storage::Database`].
//!
//! This crate does I/O (HTTP, SQLite, PostgreSQL, threads); the Merkle math, tiles and notes come from
//! `signet-tlog` and the entry formats from `signet-formats`, both pure. It must not depend
//! on the CLI or on other services.

#![forbid(unsafe_code)]

pub mod appender;
pub mod fleet;
pub mod http;
pub mod keyed;
pub mod metrics;
pub mod postgres;
pub mod sqlite;
pub mod storage;
pub mod v1;
pub mod witnessing;

pub use appender::{Appender, AppenderConfig, CheckpointSigner, Integrated, SignedCheckpoint, Witnessing};
pub use fleet::LeaseStatus;
pub use storage::{LogStore, StorageError};

/// Why the log could not do what was asked. The HTTP layer maps each to a status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the log has too many entries waiting; retry shortly")]
    Overloaded,
    #[error("the log is shutting down or its integrator stopped")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
    /// The log's signing key is out of reach (a PKCS#11 token lost its session); the signer
    /// is reconnecting. Answered 503: the entry was not logged and may be retried.
    #[error("the log's signing key is unavailable: {0}")]
    KeyUnavailable(String),
    /// The store could not take the entry now (a database restarting): nothing was logged.
    #[error("the log's database is unavailable, retry shortly: {0}")]
    StoreUnavailable(String),
}

impl LogError {
    /// The error for a signer that could not sign: [`LogError::KeyUnavailable`] for a key out
    /// of reach, else [`LogError::Internal`] naming `what` was being signed.
    pub fn from_signer(what: &str, e: signet_crypto::SignerError) -> LogError {
        if e.is_unavailable() {
            LogError::KeyUnavailable(e.to_string())
        } else {
            LogError::Internal(format!("signing {what}: {e}"))
        }
    }
}
