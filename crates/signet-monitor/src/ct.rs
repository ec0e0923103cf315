//! Following a certificate transparency log: RFC 6962 §4 (`get-sth`, `get-sth-consistency`,
//! `get-entries`, `get-proof-by-hash`) here, c2sp.org/static-ct-api through
//! [`crate::tiles`] with the checkpoint verification here. Both sign the same thing, an
//! RFC 6962 §3.5 `TreeHeadSignature`: get-sth carries it as JSON, a static-ct-api checkpoint
//! as an `RFC6962NoteSignature` line. Entries are `MerkleTreeLeaf`s: the leaf data the tree
//! hashes, and what the monitor reads identities from.
//!
//! The parsers take the answers' bytes and return values; the protocol does the I/O through
//! [`CtSource`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;
use signet_tlog::{leaf_hash, Checkpoint, Hash};
use signet_x509::sct::tls::Reader;
use signet_x509::sct::DigitallySigned;
use signet_x509::static_ct::verify_tree_head_signature;

use crate::follow::{CtLogKey, EntryFormat, Fail, Head, Included, Protocol};
use crate::report::Check;
use crate::source::CtSource;
use crate::tree::CompactRange;

/// RFC 6962 §4.3 `get-sth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub sha256_root_hash: Hash,
    pub tree_head_signature: DigitallySigned,
}

impl SignedTreeHead {
    /// Checks the tree head signature with the log's key.
    pub fn verify(&self, key: &signet_crypto::PublicKey) -> Result<(), String> {
        verify_tree_head_signature(
            self.timestamp,
            self.tree_size,
            &self.sha256_root_hash,
            &self.tree_head_signature,
            key,
        )
        .map_err(|e| format!("tree head signature of size {}: {e}", self.tree_size))
    }
}

fn json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))
}

fn uint(v: &Value, name: &str) -> Result<u64, String> {
    v.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{name:?} is not a non-negative integer"))
}

fn b64(v: &Value, name: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name:?} is not a string"))?;
    B64.decode(s).map_err(|e| format!("{name:?} is not base64: {e}"))
}

fn hash(bytes: Vec<u8>, what: &str) -> Result<Hash, String> {
    let n = bytes.len();
    bytes
        .try_into()
        .map_err(|_| format!("{what} is {n} bytes, not 32"))
}

fn hashes(v: &Value, name: &str) -> Result<Vec<Hash>, String> {
    v.get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{name:?} is not a list"))?
        .iter()
        .map(|h| {
            let bytes = h
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(|| format!("{name:?} holds a value that is not base64"))?;
            hash(bytes, name)
        })
        .collect()
}

/// Reads `get-sth` (the signature is not checked here: [`SignedTreeHead::verify`]).
pub fn parse_sth(bytes: &[u8]) -> Result<SignedTreeHead, String> {
    let v = json(bytes)?;
    let signature = b64(&v, "tree_head_signature")?;
    let mut r = Reader::new(&signature);
    let tree_head_signature = DigitallySigned::read(&mut r)
        .and_then(|d| r.finish("tree_head_signature").map(|()| d))
        .map_err(|e| e.to_string())?;
    Ok(SignedTreeHead {
        tree_size: uint(&v, "tree_size")?,
        timestamp: uint(&v, "timestamp")?,
        sha256_root_hash: hash(b64(&v, "sha256_root_hash")?, "sha256_root_hash")?,
        tree_head_signature,
    })
}

/// Reads `get-sth-consistency`.
pub fn parse_consistency(bytes: &[u8]) -> Result<Vec<Hash>, String> {
    hashes(&json(bytes)?, "consistency")
}

/// Reads `get-entries`: each entry's `leaf_input` (the `MerkleTreeLeaf`). `extra_data` (the
/// chain) is not covered by the tree, so the monitor does not read it.
pub fn parse_entries(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let v = json(bytes)?;
    v.get("entries")
        .and_then(Value::as_array)
        .ok_or("\"entries\" is not a list")?
        .iter()
        .enumerate()
        .map(|(i, e)| b64(e, "leaf_input").map_err(|m| format!("entries[{i}]: {m}")))
        .collect()
}

/// Reads `get-proof-by-hash`: the leaf index and the audit path.
pub fn parse_proof_by_hash(bytes: &[u8]) -> Result<(u64, Vec<Hash>), String> {
    let v = json(bytes)?;
    Ok((uint(&v, "leaf_index")?, hashes(&v, "audit_path")?))
}

/// Verifies a static-ct-api checkpoint with the CT log's key (the check is signet-verify's,
/// shared with `signet search`).
pub fn verify_static_ct_checkpoint(envelope: &str, key: &CtLogKey) -> Result<Checkpoint, String> {
    signet_verify::tlog::verify_static_ct_checkpoint(envelope, &key.log_id, &key.key)
}

/// An RFC 6962 log as a [`Protocol`].
pub struct Rfc6962Protocol<'a, S: ?Sized> {
    key: &'a CtLogKey,
    source: &'a S,
}

impl<'a, S: CtSource + ?Sized> Rfc6962Protocol<'a, S> {
    pub fn new(key: &'a CtLogKey, source: &'a S) -> Self {
        Rfc6962Protocol { key, source }
    }

    /// The leaf data of entries `[start, end)`, over as many pages as the log answers with.
    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, Fail> {
        let mut out = Vec::with_capacity((end - start) as usize);
        while (out.len() as u64) < end - start {
            let from = start + out.len() as u64;
            let fail = |m: String| Fail::error(Some(from), Check::EntryFetch, m);
            let bytes = self
                .source
                .get_entries(from, end - 1)
                .map_err(|e| fail(e.to_string()))?;
            let page = parse_entries(&bytes).map_err(|e| fail(format!("get-entries: {e}")))?;
            if page.is_empty() || page.len() as u64 > end - from {
                return Err(fail(format!(
                    "get-entries from {from} to {} answered {} entries",
                    end - 1,
                    page.len()
                )));
            }
            out.extend(page);
        }
        Ok(out)
    }

    /// An audit path for `leaf` at `index` in the tree of `size`.
    fn audit_path(&self, index: u64, leaf: &Hash, size: u64) -> Result<Vec<Hash>, Fail> {
        let fail = |m: String| Fail::error(Some(index), Check::ProofFetch, m);
        let bytes = self
            .source
            .get_proof_by_hash(leaf, size)
            .map_err(|e| fail(e.to_string()))?;
        let (at, path) = parse_proof_by_hash(&bytes).map_err(|e| fail(format!("get-proof-by-hash: {e}")))?;
        if at != index {
            return Err(fail(format!(
                "get-proof-by-hash proves the leaf of entry {index} at index {at}"
            )));
        }
        Ok(path)
    }
}

impl<S: CtSource + ?Sized> Protocol for Rfc6962Protocol<'_, S> {
    fn format(&self) -> EntryFormat {
        EntryFormat::Ct
    }

    fn head(&mut self) -> Result<Head, Fail> {
        let bytes = self
            .source
            .get_sth()
            .map_err(|e| Fail::error(None, Check::CheckpointFetch, e.to_string()))?;
        let fail = |m: String| Fail::error(None, Check::CheckpointSignature, m);
        let sth = parse_sth(&bytes).map_err(|e| fail(format!("get-sth: {e}")))?;
        sth.verify(&self.key.key).map_err(fail)?;
        Ok(Head {
            size: sth.tree_size,
            root: sth.sha256_root_hash,
            envelope: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    fn open(&mut self, _head: &Head) -> Result<(), Fail> {
        Ok(())
    }

    fn consistency(&mut self, old_size: u64, head: &Head) -> Result<Vec<Hash>, Fail> {
        let fail = |m: String| Fail::error(None, Check::ProofFetch, m);
        let bytes = self
            .source
            .get_sth_consistency(old_size, head.size)
            .map_err(|e| fail(e.to_string()))?;
        parse_consistency(&bytes).map_err(|e| fail(format!("get-sth-consistency: {e}")))
    }

    fn range_at(&mut self, size: u64, head: &Head) -> Result<CompactRange, Fail> {
        let index = size - 1;
        let leaf = leaf_hash(&self.leaves(index, size)?[0]);
        let path = self.audit_path(index, &leaf, head.size)?;
        let mut range = CompactRange::from_inclusion_proof(index, head.size, &path).ok_or_else(|| {
            Fail::error(
                Some(index),
                Check::ProofFetch,
                format!(
                    "the audit path of entry {index} in a tree of {} has {} hashes",
                    head.size,
                    path.len()
                ),
            )
        })?;
        range.push(leaf);
        Ok(range)
    }

    fn entries(&mut self, start: u64, end: u64, _head: &Head) -> Result<Vec<Vec<u8>>, Fail> {
        self.leaves(start, end)
    }

    fn inclusion(&mut self, index: u64, leaf: &Hash, head: &Head) -> Result<Included, Fail> {
        Ok(Included {
            hashes: self.audit_path(index, leaf, head.size)?,
            size: head.size,
            root: head.root,
            envelope: head.envelope.clone(),
        })
    }
}
