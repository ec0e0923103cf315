//! What the monitor reports, one JSON object per line on stdout: a `match` for an entry a rule
//! matched, an `alert` for evidence that a log misbehaved, an `error` for a broken input, an
//! unreachable log or a local failure. Each names the log and, where there is one, the index.

use serde::Serialize;

use crate::matching::RuleMatch;

/// What was checked when an alert or error arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Fetching the checkpoint.
    CheckpointFetch,
    /// The checkpoint's note, origin and signature.
    CheckpointSignature,
    /// A signed checkpoint smaller than one already verified.
    LogWentBackwards,
    /// A signed checkpoint of the verified size with another root: a fork.
    RootChanged,
    /// The consistency proof (built from hash tiles) from the last verified checkpoint.
    Consistency,
    /// The hash tiles' root against the checkpoint.
    TilesRoot,
    /// Fetching or reading a hash tile.
    Tile,
    /// Fetching or reading an entry bundle (or a static-ct-api data tile).
    EntryBundle,
    /// Fetching or reading entries through a log's API (Rekor v1 retrieve, RFC 6962
    /// get-entries).
    EntryFetch,
    /// Fetching or reading a proof through a log's API (Rekor v1 `/api/v1/log/proof`, RFC 6962
    /// get-sth-consistency and get-proof-by-hash).
    ProofFetch,
    /// A Rekor v1 log's active tree changed (a shard rollover).
    ShardChanged,
    /// The tree recomputed from the entries against the signed checkpoint.
    EntriesRoot,
    /// Reading an entry's body and certificates.
    EntryParse,
    /// The inclusion proof of a reported entry.
    InclusionProof,
    /// Fetching a witness's latest cosigned checkpoint.
    WitnessFetch,
    /// A witness's checkpoint: the log's signature or the witness's cosignature.
    WitnessCheckpoint,
    /// A witness cosigned a checkpoint inconsistent with the monitor's view: a split view.
    WitnessFork,
    /// The monitor's own state directory.
    State,
    /// Writing a report.
    Output,
}

/// Evidence against a log, or why a log could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The log's origin.
    pub log: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    pub check: Check,
    pub message: String,
    /// For an alert about two checkpoints (a fork, a log going backwards, an inconsistent
    /// tree): both signed checkpoints as served, the one verified before first. Each carries
    /// the log's signature, so together they prove the log showed two views.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// An inclusion proof in the protobuf-JSON shape of Rekor v2's `InclusionProof` (for CT and
/// RFC 6962 STHs, `checkpoint.envelope` holds the get-sth JSON as served).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProofJson {
    pub log_index: String,
    pub root_hash: String,
    pub tree_size: String,
    pub hashes: Vec<String>,
    pub checkpoint: CheckpointJson,
}

/// `Checkpoint { envelope }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointJson {
    pub envelope: String,
}

/// An entry that matched the watch list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchReport {
    /// `<origin>/<index>`: stable across runs, for consumers that must deduplicate.
    pub id: String,
    pub log: String,
    pub log_url: String,
    pub index: u64,
    pub kind: &'static str,
    /// The first matching signer's SAN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub digest: String,
    /// The first matching certificate's notBefore: Rekor v2 records no time, and Fulcio issues
    /// the certificate minutes before the signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_not_before: Option<String>,
    /// When the monitor read the entry.
    pub observed_at: String,
    pub matches: Vec<RuleMatch>,
    /// The leaf data, base64: a Rekor entry's canonical body, a CT entry's `MerkleTreeLeaf`.
    pub canonicalized_body: String,
    /// A CT entry's certificate (x509_entry) or precertificate TBSCertificate (precert_entry),
    /// DER in base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    pub inclusion_proof: InclusionProofJson,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Finding {
    Match(Box<MatchReport>),
    Alert(Problem),
    Error(Problem),
}

impl Finding {
    /// The JSON line (without its newline).
    pub fn to_line(&self) -> String {
        // Strings, integers and enums only: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"type\":\"error\",\"message\":\"{e}\"}}"))
    }
}

/// Where report lines go: stdout in the program, a vector in tests.
pub trait Sink {
    /// Writes one line; returns only when it has been handed on (stdout flushed).
    fn emit(&mut self, line: &str) -> std::io::Result<()>;
}

impl Sink for Vec<String> {
    fn emit(&mut self, line: &str) -> std::io::Result<()> {
        self.push(line.to_string());
        Ok(())
    }
}

/// Lines on a writer, flushed after each.
pub struct LineWriter<W>(pub W);

impl<W: std::io::Write> Sink for LineWriter<W> {
    fn emit(&mut self, line: &str) -> std::io::Result<()> {
        self.0.write_all(line.as_bytes())?;
        self.0.write_all(b"\n")?;
        self.0.flush()
    }
}
