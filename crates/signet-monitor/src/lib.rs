//! signet's transparency-log monitor, behind `signet monitor`: follows Rekor v2 / tlog-tiles
//! logs, verifies every checkpoint and its consistency with the last, recomputes the tree from
//! every entry it reads, and reports the entries that match a rekor-monitor-style watch list.
//!
//! A service-layer crate: the checks and the matching ([`config`], [`entry`], [`matching`],
//! [`tree`], [`follow`]) take bytes and return values; HTTP ([`source`]) and SQLite ([`state`])
//! sit behind narrow seams. It must not depend on the server side (signet-log, -server).

#![forbid(unsafe_code)]

pub mod config;
pub mod entry;
pub mod follow;
pub mod matching;
pub mod metrics;
pub mod report;
pub mod run;
pub mod source;
pub mod state;
pub mod testlog;
pub mod tree;
pub mod webhook;
pub mod witnesses;

pub use config::{ConfigError, Rules};
pub use follow::{follow_log, Context, FollowOptions, LogTarget, Outcome, Start};
pub use report::{Check, Finding, Sink};
pub use run::{exit, run, MonitorArgs};
pub use source::{HttpLog, LogSource, SourceError};
pub use state::Store;
