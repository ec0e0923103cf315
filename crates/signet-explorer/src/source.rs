//! What the explorer needs from a log, as one narrow trait: [`ExplorerSource`]. The server
//! implements it for its Rekor v2, Rekor v1 and CT logs over signet-index and signet-log
//! (`crates/signet-server/src/explorer.rs`), each log naming its [`EntryFormat`]; any other
//! log plugs in by implementing the same six methods.
//!
//! Methods block (SQLite, PostgreSQL through a blocking client): the explorer calls them on
//! tokio's blocking pool.

use signet_x509::oid::FulcioField;

/// How an entry's leaf bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryFormat {
    /// A Rekor v2 `Entry` (hashedrekord / dsse 0.0.2), canonical JSON.
    RekorV2,
    /// A Rekor v1 canonicalized body (hashedrekord, dsse, intoto).
    RekorV1,
    /// An RFC 6962 `MerkleTreeLeaf`.
    Ct,
}

/// One search key, already normalised (digests `sha256:<lower hex>`, fingerprints lower hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A certificate SAN: email, URI, workflow ref.
    Identity(String),
    /// An OIDC issuer URL.
    Issuer(String),
    /// `sha256:<hex>` (or sha384/sha512) of the signed artifact.
    Digest(String),
    /// Hex SHA-256 of a verifier's DER SubjectPublicKeyInfo.
    KeyFingerprint(String),
    /// Hex SHA-256 of a verifier's DER certificate.
    CertFingerprint(String),
    /// A Fulcio workflow/build extension's exact value: 1.3.6.1.4.1.57264.1.`arc`, one of
    /// `signet_x509::oid::FULCIO_FIELDS` (repository, ref, workflow, build signer, ...).
    Extension { arc: u32, value: String },
}

impl Term {
    /// What the term is, for headings ("identity", "digest", ...); also the `as=` value of a
    /// results page that pages through one kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Term::Identity(_) => "identity",
            Term::Issuer(_) => "issuer",
            Term::Digest(_) => "digest",
            Term::KeyFingerprint(_) => "key",
            Term::CertFingerprint(_) => "cert",
            Term::Extension { arc, .. } => FulcioField::by_arc(*arc).map_or("extension", |f| f.name),
        }
    }

    /// The value searched for.
    pub fn value(&self) -> &str {
        match self {
            Term::Identity(v)
            | Term::Issuer(v)
            | Term::Digest(v)
            | Term::KeyFingerprint(v)
            | Term::CertFingerprint(v)
            | Term::Extension { value: v, .. } => v,
        }
    }
}

/// An entry's leaf, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The log's name, as [`ExplorerSource::logs`] gives it.
    pub log: String,
    pub index: u64,
    pub format: EntryFormat,
    /// The bytes the log hashed as the leaf (`SHA-256(0x00 || leaf)`).
    pub leaf: Vec<u8>,
}

/// One page of search results, in log-index order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Opaque cursor of the next page, to pass back to [`ExplorerSource::search`].
    pub next: Option<String>,
}

/// An entry with everything needed to check it against the log's signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenEntry {
    pub hit: Hit,
    /// The log ID the trust root knows the log by (`tlogs[].logId.keyId`).
    pub log_id: Vec<u8>,
    /// When the log says it integrated the entry (Unix seconds); Rekor v2 records none.
    pub integrated_time: Option<i64>,
    /// RFC 6962 audit path from the leaf to `root_hash`.
    pub hashes: Vec<Vec<u8>>,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    /// The signed note (c2sp.org/tlog-checkpoint) committing to `tree_size` and `root_hash`.
    pub checkpoint: String,
}

/// What a log's overview page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOverview {
    pub size: u64,
    /// The latest signed checkpoint (note text).
    pub checkpoint: String,
    /// The latest checkpoint with witness cosignatures, when the log keeps one.
    pub cosigned_checkpoint: Option<String>,
    /// The newest entries, newest first.
    pub recent: Vec<Hit>,
}

/// Why a source could not answer. Bad input never reaches a source (the explorer parses
/// queries first), so every error here is the server's (a 500 page, logged).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A log (or several) the explorer can show.
pub trait ExplorerSource: Send + Sync + 'static {
    /// The logs' names, as they appear in URLs (`/explorer/log/<name>`): ASCII letters, digits
    /// and `-` only.
    fn logs(&self) -> Vec<String>;

    /// Entries matching `term`, from `cursor` (a `next` this source returned) on, at most
    /// `limit`.
    fn search(&self, term: &Term, cursor: Option<&str>, limit: u32) -> Result<SearchPage, SourceError>;

    /// Entries whose leaf hash is `leaf_hash` (an entry UUID), in any log.
    fn find_leaf(&self, leaf_hash: &[u8; 32]) -> Result<Vec<Hit>, SourceError>;

    /// Entry `index` of `log` with its inclusion proof against the latest checkpoint; `None`
    /// when the log has no such entry (yet).
    fn entry(&self, log: &str, index: u64) -> Result<Option<ProvenEntry>, SourceError>;

    /// The log's size, checkpoints and `recent` newest entries; `None` for an unknown log.
    fn overview(&self, log: &str, recent: usize) -> Result<Option<LogOverview>, SourceError>;

    /// The trust root (`trusted_root.json`) the server publishes, from which the page's script
    /// takes each log's key by log ID.
    fn trusted_root(&self) -> Result<Vec<u8>, SourceError>;
}
