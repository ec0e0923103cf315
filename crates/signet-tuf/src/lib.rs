//! The Update Framework (TUF 1.0, <https://theupdateframework.github.io/specification/latest/>)
//! for signet: the client that brings a trusted root up to date and verifies targets (how
//! Sigstore clients get `trusted_root.json` and `signing_config.v0.2.json`), and a writer that
//! signs repository metadata. A sans-I/O core: no sockets, files, clocks or services; callers
//! pass bytes, the time, a [`Fetcher`] and a [`MetadataStore`]. It depends on no signet crate
//! but `signet-crypto`.
//!
//! Why not `tough` (awslabs): tough is async, brings its own transport and datastore, writes
//! its datastore non-atomically and re-serialises the root it persists instead of keeping the
//! verified bytes. signet's client is blocking and wants the security decisions in a core that
//! takes bytes and time, with HTTP and atomic files in a thin shell — the rustls model. The
//! client workflow here follows python-tuf's `TrustedMetadataSet` and `Updater` (the reference
//! implementation), step by step with the spec's section numbers.
//!
//! Layout: [`canonical`] (the signed bytes), `json` (strict parsing: duplicate keys refused),
//! `metadata` (the §4 formats), `keys` (key schemes), `verify` (thresholds, lengths and
//! hashes), `trusted` ([`TrustedSet`]), `updater` ([`Updater`], §5), [`repo`] (the writer).
//!
//! Scope: only the top-level `targets` role is searched for targets. Delegations are parsed
//! but not followed; a target only a delegated role lists is [`TufError::UnknownTarget`]
//! (fail closed).

#![forbid(unsafe_code)]

pub mod canonical;
mod error;
mod json;
mod keys;
mod metadata;
pub mod repo;
mod time;
mod trusted;
mod updater;
mod verify;

pub use error::{FetchError, StoreError, TufError};
pub use keys::Key;
pub use metadata::{
    DelegatedRole, Delegations, MetaFile, Role, RoleType, Root, Signature, Snapshot, TargetFile, Targets,
    Timestamp,
};
pub use time::Expires;
pub use trusted::TrustedSet;
pub use updater::{Fetcher, LocalMetadata, MetadataStore, Updater, UpdaterConfig};
