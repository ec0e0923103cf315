//! `TransparencyLogEntry` (protobuf-specs `sigstore_rekor.proto`): what `POST
//! /api/v2/log/entries` returns and what a bundle's `tlogEntries` hold.
//!
//! sigstore-python parses it strictly: no unknown fields, `uint64` as strings, and `logIndex`
//! and `inclusionProof.hashes` present even when 0 / empty (protojson would drop them).
//! Rekor v2 writes no `integratedTime` and no `inclusionPromise`; those are read (and written
//! back) only for Rekor v1 entries in bundles.

use serde::{Deserialize, Serialize};

use crate::common::LogId;
use crate::protojson;

/// `TransparencyLogEntry`, owned: for parsing responses and bundles.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TransparencyLogEntry {
    #[serde(rename = "logIndex", alias = "log_index", default, with = "protojson::uint64")]
    pub log_index: u64,
    #[serde(rename = "logId", alias = "log_id")]
    pub log_id: LogId,
    #[serde(rename = "kindVersion", alias = "kind_version")]
    pub kind_version: KindVersion,
    #[serde(
        rename = "integratedTime",
        alias = "integrated_time",
        default,
        with = "protojson::opt_int64"
    )]
    pub integrated_time: Option<i64>,
    #[serde(rename = "inclusionPromise", alias = "inclusion_promise", default)]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(rename = "inclusionProof", alias = "inclusion_proof", default)]
    pub inclusion_proof: Option<InclusionProof>,
    #[serde(
        rename = "canonicalizedBody",
        alias = "canonicalized_body",
        default,
        with = "protojson::bytes"
    )]
    pub canonicalized_body: Vec<u8>,
}

/// `KindVersion`: the entry's kind and version, e.g. `hashedrekord` / `0.0.2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

/// `InclusionPromise`: a Rekor v1 signed entry timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InclusionPromise {
    #[serde(
        rename = "signedEntryTimestamp",
        alias = "signed_entry_timestamp",
        with = "protojson::bytes"
    )]
    pub signed_entry_timestamp: Vec<u8>,
}

/// `InclusionProof`: an RFC 6962 audit path to `rootHash`, and the checkpoint that signs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InclusionProof {
    #[serde(rename = "logIndex", alias = "log_index", default, with = "protojson::uint64")]
    pub log_index: u64,
    #[serde(rename = "rootHash", alias = "root_hash", with = "protojson::bytes")]
    pub root_hash: Vec<u8>,
    #[serde(rename = "treeSize", alias = "tree_size", default, with = "protojson::uint64")]
    pub tree_size: u64,
    #[serde(default, with = "protojson::bytes_list")]
    pub hashes: Vec<Vec<u8>>,
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

/// `Checkpoint`: a signed note (C2SP tlog-checkpoint) as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub envelope: String,
}

/// `TransparencyLogEntry`, borrowed: the serialisation path, for the log to write many
/// responses a second without copying its hashes and bodies. `H` is the type of one audit-path
/// hash (`[u8; 32]` from a tree, `Vec<u8>` from a parsed entry).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(bound(serialize = "H: AsRef<[u8]>"))]
pub struct TransparencyLogEntryRef<'a, H = Vec<u8>> {
    #[serde(rename = "logIndex", with = "protojson::uint64")]
    pub log_index: u64,
    #[serde(rename = "logId", serialize_with = "ser_log_id")]
    pub log_id: &'a [u8],
    #[serde(rename = "kindVersion")]
    pub kind_version: KindVersionRef<'a>,
    #[serde(
        rename = "integratedTime",
        skip_serializing_if = "Option::is_none",
        with = "protojson::opt_int64"
    )]
    pub integrated_time: Option<i64>,
    #[serde(
        rename = "inclusionPromise",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_promise"
    )]
    pub inclusion_promise: Option<&'a [u8]>,
    #[serde(rename = "inclusionProof", skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<InclusionProofRef<'a, H>>,
    #[serde(rename = "canonicalizedBody", with = "protojson::bytes")]
    pub canonicalized_body: &'a [u8],
}

/// `KindVersion`, borrowed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KindVersionRef<'a> {
    pub kind: &'a str,
    pub version: &'a str,
}

/// `InclusionProof`, borrowed.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(bound(serialize = "H: AsRef<[u8]>"))]
pub struct InclusionProofRef<'a, H = Vec<u8>> {
    #[serde(rename = "logIndex", with = "protojson::uint64")]
    pub log_index: u64,
    #[serde(rename = "rootHash", with = "protojson::bytes")]
    pub root_hash: &'a [u8],
    #[serde(rename = "treeSize", with = "protojson::uint64")]
    pub tree_size: u64,
    #[serde(with = "protojson::bytes_list")]
    pub hashes: &'a [H],
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_checkpoint")]
    pub checkpoint: Option<&'a str>,
}

fn ser_log_id<S: serde::Serializer>(key_id: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct LogIdRef<'a> {
        #[serde(rename = "keyId", with = "protojson::bytes")]
        key_id: &'a [u8],
    }
    LogIdRef { key_id }.serialize(s)
}

fn ser_promise<S: serde::Serializer>(set: &Option<&[u8]>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct PromiseRef<'a> {
        #[serde(rename = "signedEntryTimestamp", with = "protojson::bytes")]
        signed_entry_timestamp: &'a [u8],
    }
    let signed_entry_timestamp = set.expect("skipped when None");
    PromiseRef {
        signed_entry_timestamp,
    }
    .serialize(s)
}

fn ser_checkpoint<S: serde::Serializer>(envelope: &Option<&str>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct CheckpointRef<'a> {
        envelope: &'a str,
    }
    CheckpointRef {
        envelope: envelope.expect("skipped when None"),
    }
    .serialize(s)
}

impl<H: AsRef<[u8]>> TransparencyLogEntryRef<'_, H> {
    /// The JSON Rekor v2 returns.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entry serialisation cannot fail")
    }
}

impl TransparencyLogEntry {
    /// A borrowed view, for serialisation.
    pub fn as_ref(&self) -> TransparencyLogEntryRef<'_> {
        TransparencyLogEntryRef {
            log_index: self.log_index,
            log_id: &self.log_id.key_id,
            kind_version: KindVersionRef {
                kind: &self.kind_version.kind,
                version: &self.kind_version.version,
            },
            integrated_time: self.integrated_time,
            inclusion_promise: self
                .inclusion_promise
                .as_ref()
                .map(|p| p.signed_entry_timestamp.as_slice()),
            inclusion_proof: self.inclusion_proof.as_ref().map(|p| InclusionProofRef {
                log_index: p.log_index,
                root_hash: &p.root_hash,
                tree_size: p.tree_size,
                hashes: &p.hashes,
                checkpoint: p.checkpoint.as_ref().map(|c| c.envelope.as_str()),
            }),
            canonicalized_body: &self.canonicalized_body,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        self.as_ref().to_json()
    }

    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        crate::protojson::from_json_object(json)
    }
}

impl Serialize for TransparencyLogEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_ref().serialize(s)
    }
}

impl Serialize for InclusionProof {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        InclusionProofRef {
            log_index: self.log_index,
            root_hash: &self.root_hash,
            tree_size: self.tree_size,
            hashes: &self.hashes,
            checkpoint: self.checkpoint.as_ref().map(|c| c.envelope.as_str()),
        }
        .serialize(s)
    }
}
