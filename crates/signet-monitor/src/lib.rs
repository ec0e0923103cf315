//! signet's transparency-log monitor, behind `signet monitor`: follows Rekor v2 / tlog-tiles
//! logs, Rekor v1 logs through their API and CT logs (RFC 6962 and static-ct-api), verifies
//! every signed tree head and its consistency with the last, recomputes the tree from every
//! entry it reads, and reports the entries that match a rekor-monitor-style watch list.
//!
//! A service-layer crate: the checks and the matching ([`config`], [`entry`], [`matching`],
//! [`tree`], [`follow`], and the per-kind parsers in [`v1`] and [`ct`]) take bytes and return
//! values; HTTP ([`source`]) and SQLite ([`state`]) sit behind narrow seams. It must not
//! depend on the server side (signet-log, -ct, -server).

#![forbid(unsafe_code)]

pub mod config;
pub mod ct;
pub mod entry;
pub mod follow;
pub mod matching;
pub mod metrics;
pub mod report;
pub mod run;
pub mod source;
pub mod state;
pub mod testlog;
pub mod tiles;
pub mod tree;
pub mod v1;
pub mod webhook;
pub mod witnesses;

pub use config::{ConfigError, Rules};
pub use follow::{
    follow, follow_log, Context, CtLogKey, CtProtocol, FollowOptions, LogKind, LogTarget, Outcome, Start,
};
pub use report::{Check, Finding, Sink};
pub use run::{exit, run, MonitorArgs};
pub use source::{CtSource, HttpApi, HttpLog, LogSource, SourceError, V1Source};
pub use state::Store;
