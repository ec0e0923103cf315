//! signet's transparency log witness (c2sp.org/tlog-witness): logs submit checkpoints with a
//! consistency proof from the size it last cosigned, and it answers with an Ed25519
//! `cosignature/v1` (c2sp.org/tlog-cosignature) only for checkpoints signed by a configured
//! log key and consistent with everything it cosigned before. A service crate: the decisions
//! ([`witness`], [`request`], [`config`]) are pure; state is SQLite ([`sqlite`]) behind a
//! narrow trait ([`storage`]); [`http`] is the axum routes. It depends on the core
//! (signet-tlog, signet-crypto) and signet-keyfile, never on another service.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[allow(missing_docs)] // error fields are described by each variant's message
pub mod config;
#[allow(missing_docs)] // error fields are described by each variant's message
pub mod dir;
pub mod http;
#[allow(missing_docs)]
pub mod request;
pub mod service;
pub mod sqlite;
#[allow(missing_docs)]
pub mod storage;
#[allow(missing_docs)]
pub mod witness;

pub use config::{ConfigError, Logs};
pub use dir::WitnessDir;
pub use request::{AddCheckpointRequest, RequestError};
pub use service::WitnessService;
pub use witness::{AddError, TreeHead, VerifiedSubmission, Witness};
