//! signet's search index over its transparency log: postings by artifact digest, certificate
//! identity (SAN), OIDC issuer, key/certificate fingerprint and the Fulcio workflow/build
//! extensions (repository, ref, workflow, build signer, ...), built only from the log's own
//! committed entries (each leaf hash checked against the log's hash tiles), kept in a SQLite
//! file of its own, and the search API that answers with entries *and their inclusion proofs*.
//!
//! A service-layer crate: it reads the log's store (`signet-log`) and must not depend on the
//! server composition or the CLI. The log's write path does not know it exists.

#![forbid(unsafe_code)]

pub mod all;
pub mod http;
pub mod indexer;
pub mod proof;
pub mod query;
pub mod retrieve;
pub mod sqlite;

pub use indexer::{catch_up, Indexer, LogFormat};
pub use query::{Field, QueryError, SearchQuery};
pub use sqlite::{IndexDb, IndexReaders};

/// Why the index could not be read or brought up to date.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    #[error("index database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("reading the log: {0}")]
    Log(#[from] signet_log::StorageError),
    #[error("reading the log's hash tiles: {0}")]
    Tile(#[from] signet_tlog::TileError),
    #[error("entry {index}'s leaf hash is not the one in the log's hash tile")]
    LeafMismatch { index: u64 },
    #[error("index is inconsistent: {0}")]
    Corrupt(String),
    #[error("index file has schema {0}; this build knows {known}", known = crate::query::SCHEMA_VERSION)]
    Schema(String),
}
