//! Every way the client refuses metadata or a target, one variant per cause. Messages name
//! the check, the value seen and the value expected.

use thiserror::Error;

use crate::canonical::CanonicalError;
use crate::metadata::RoleType;

/// Why a [`crate::Fetcher`] produced no bytes.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The file is longer than the updater allowed; the fetcher stopped reading.
    #[error("{url}: more than {max_len} bytes")]
    TooLong { url: String, max_len: u64 },
    /// Anything else the transport reports (connection, TLS, HTTP status other than 404/403).
    #[error("{0}")]
    Transport(String),
}

/// Why a [`crate::MetadataStore`] could not persist or remove a file.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Why TUF metadata or a target was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TufError {
    /// Not one JSON value, or not `{"signed": {...}, "signatures": [...]}`.
    #[error("{role} metadata is not valid JSON metadata: {reason}")]
    Json { role: RoleType, reason: String },

    /// A JSON object names a key twice (refused: two readers may pick different ones).
    #[error("{role} metadata has the key {key:?} twice in one object")]
    DuplicateKey { role: RoleType, key: String },

    /// `signed` has no canonical JSON form (a float), so no signature can be over it (§4.2).
    #[error("{role} metadata: {source}")]
    NotCanonical {
        role: RoleType,
        #[source]
        source: CanonicalError,
    },

    /// `signed._type` is not the role this file was fetched or loaded as (§5.3.4 etc.).
    #[error("metadata _type is {found:?}, expected {expected:?}")]
    WrongType { expected: RoleType, found: String },

    /// `spec_version` is not `1.x` or `1.x.y` (§4.3: the major version must match).
    #[error("{role} metadata spec_version {found:?} is not supported (expected 1.x)")]
    UnsupportedSpecVersion { role: RoleType, found: String },

    /// `expires` is not an RFC 3339 date-time.
    #[error("{role} metadata expires {value:?} is not an RFC 3339 date-time: {reason}")]
    BadExpires {
        role: RoleType,
        value: String,
        reason: &'static str,
    },

    /// A role (or delegated role) with threshold 0, which any metadata would meet.
    #[error("{role} metadata gives role {name:?} threshold 0; it must be at least 1")]
    ZeroThreshold { role: RoleType, name: String },

    /// Any other malformed field (missing, wrong type, version 0, duplicate keyids, ...).
    #[error("{role} metadata is malformed: {reason}")]
    InvalidMetadata { role: RoleType, reason: String },

    /// Fewer distinct keys of the role signed than its threshold (§5.3.4, §5.4.2, §5.5.3,
    /// §5.6.3). `signing_root` is the version of the root whose keys were counted: for root
    /// N+1 it is checked against root N and against itself.
    #[error(
        "{role} v{version}: {valid} valid signature(s) from the keys root v{signing_root} gives the {role} role, threshold {threshold}"
    )]
    ThresholdNotMet {
        role: RoleType,
        version: u64,
        signing_root: u64,
        valid: usize,
        threshold: u64,
    },

    /// `N+1.root.json` does not hold version N+1 (§5.3.5: rollback or skip).
    #[error("root fetched as version {expected} holds version {found}")]
    RootVersionMismatch { expected: u64, found: u64 },

    /// Metadata is expired at the time given (§5.3.10, §5.4.4, §5.5.6, §5.6.5).
    #[error("{role} v{version} expired at {expires} (now is {now} Unix seconds)")]
    Expired {
        role: RoleType,
        version: u64,
        expires: String,
        now: i64,
    },

    /// The new timestamp's version is lower than the trusted one's (§5.4.3.1).
    #[error("timestamp version went back from {trusted} to {new}")]
    TimestampRollback { trusted: u64, new: u64 },

    /// The new timestamp lists a lower snapshot version than the trusted one (§5.4.3.2).
    #[error("timestamp lists snapshot version {new}, lower than the trusted timestamp's {trusted}")]
    SnapshotVersionRollback { trusted: u64, new: u64 },

    /// Timestamp meta has no `snapshot.json`, or snapshot meta has no `targets.json`.
    #[error("{role} metadata does not list {file}")]
    MissingMeta { role: RoleType, file: String },

    /// The snapshot's version is not the one the timestamp lists (§5.5.4).
    #[error("snapshot version is {found}, the timestamp lists {expected}")]
    SnapshotVersionMismatch { expected: u64, found: u64 },

    /// A file the trusted snapshot lists is missing from the new snapshot (§5.5.5).
    #[error("new snapshot no longer lists {file}, which the trusted snapshot lists")]
    SnapshotMetaRemoved { file: String },

    /// A file's version in the new snapshot is lower than in the trusted one (§5.5.5).
    #[error("new snapshot lists {file} version {new}, lower than the trusted snapshot's {trusted}")]
    SnapshotMetaRollback { file: String, trusted: u64, new: u64 },

    /// The targets' version is not the one the snapshot lists (§5.6.4).
    #[error("targets version is {found}, the snapshot lists {expected}")]
    TargetsVersionMismatch { expected: u64, found: u64 },

    /// A file's length differs from the one its trusted description gives.
    #[error("{file} is {found} bytes, the trusted metadata says {expected}")]
    LengthMismatch { file: String, expected: u64, found: u64 },

    /// A file's digest differs from the one its trusted description gives.
    #[error("{file} has {algorithm} {found}, the trusted metadata says {expected}")]
    HashMismatch {
        file: String,
        algorithm: String,
        expected: String,
        found: String,
    },

    /// A target lists no hash algorithm this client computes (sha256, sha384, sha512), so
    /// its bytes cannot be checked.
    #[error("{file} lists only hash algorithms this client does not know: {algorithms:?}")]
    NoKnownHash { file: String, algorithms: Vec<String> },

    /// The fetcher failed.
    #[error("fetching {url}: {source}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },

    /// The repository has no such metadata file (timestamp, snapshot or targets).
    #[error("{url}: not found")]
    MetadataNotFound { url: String },

    /// None of the target's URLs exist.
    #[error("target {name:?} not found at {urls:?}")]
    TargetNotFound { name: String, urls: Vec<String> },

    /// The caller's store failed to persist or remove a file.
    #[error("storing {file}: {source}")]
    Store {
        file: String,
        #[source]
        source: StoreError,
    },

    /// The top-level targets metadata does not list this target. Delegated targets roles are
    /// not searched: a target only they list is refused (fail closed).
    #[error("target {name:?} is not listed in the top-level targets metadata")]
    UnknownTarget { name: String },

    /// A role's metadata is needed but not loaded (e.g. targets before a refresh, or a file
    /// missing from the set given to [`crate::TrustedSet::verify_offline`]).
    #[error("no trusted {role} metadata is loaded")]
    NotLoaded { role: RoleType },

    /// A target was asked of an updater whose last `refresh` did not complete.
    #[error("the updater has not completed a refresh; its targets metadata is not known to be current")]
    NotRefreshed,

    /// A base URL given to the updater does not end in '/'.
    #[error("base URL {url:?} does not end in '/'")]
    InvalidBaseUrl { url: String },
}
