//! Following a Rekor v1 log through its REST API: the signed tree head from `GET /api/v1/log`
//! (verified as signet-verify verifies a v1 checkpoint), consistency proofs from
//! `GET /api/v1/log/proof`, entries by index from `POST /api/v1/log/entries/retrieve` (a few
//! per request, as the server allows). The leaf hash of an entry is `SHA-256(0x00 || body)`
//! of its decoded body, so the tree is recomputed from the bodies as for Rekor v2.
//!
//! A sharded log (the public-good instance) numbers entries across its shards in the API
//! (`logIndex`) and within the active tree in proofs and checkpoints; the monitor follows the
//! active tree, in tree indices, and adds the inactive shards' sizes when it asks the API.
//!
//! The parsers take the answers' bytes and return values; the protocol does the I/O through
//! [`V1Source`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::Value;
use signet_tlog::{leaf_hash, verify_consistency, Checkpoint, Hash};
use signet_verify::tlog::verify_log_checkpoint;
use signet_verify::TransparencyLog;

use crate::follow::{EntryFormat, Fail, Head, Included, Protocol};
use crate::report::Check;
use crate::source::V1Source;
use crate::tree::CompactRange;

/// `GET /api/v1/log`, the parts the monitor uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfoV1 {
    /// The signed checkpoint note of the active tree.
    pub signed_tree_head: String,
    /// Entries in the inactive shards: the API's `logIndex` of the active tree's leaf `i` is
    /// `i + inactive_entries`.
    pub inactive_entries: u64,
}

/// An entry as `retrieve` serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrievedEntry {
    /// The API's (global) index.
    pub log_index: u64,
    /// The decoded body: the leaf data.
    pub body: Vec<u8>,
    pub inclusion_proof: Option<ServedProof>,
}

/// rekor `InclusionProof`, as served beside an entry (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedProof {
    /// The index in the active tree.
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint of `tree_size`.
    pub checkpoint: String,
}

fn field<'v>(v: &'v Value, name: &str) -> Result<&'v Value, String> {
    v.get(name).ok_or_else(|| format!("no {name:?}"))
}

/// An integer field, as a JSON number or (protobuf-JSON int64) a string.
fn uint(v: &Value, name: &str) -> Result<u64, String> {
    let f = field(v, name)?;
    f.as_u64()
        .or_else(|| f.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("{name:?} is not a non-negative integer"))
}

fn text<'v>(v: &'v Value, name: &str) -> Result<&'v str, String> {
    field(v, name)?
        .as_str()
        .ok_or_else(|| format!("{name:?} is not a string"))
}

fn hex_hash(s: &str, what: &str) -> Result<Hash, String> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{what} {s:?} is not 64 hex digits"))
}

fn hex_hashes(v: &Value, name: &str) -> Result<Vec<Hash>, String> {
    match v.get(name) {
        // Rekor leaves out an empty list.
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|h| {
                h.as_str()
                    .ok_or_else(|| format!("{name:?} holds a non-string"))
                    .and_then(|s| hex_hash(s, name))
            })
            .collect(),
        Some(_) => Err(format!("{name:?} is not a list")),
    }
}

fn json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))
}

/// Reads `GET /api/v1/log`.
pub fn parse_log_info(bytes: &[u8]) -> Result<LogInfoV1, String> {
    let v = json(bytes)?;
    let signed_tree_head = text(&v, "signedTreeHead")?.to_string();
    let mut inactive_entries = 0u64;
    if let Some(shards) = v.get("inactiveShards").and_then(Value::as_array) {
        for s in shards {
            inactive_entries = inactive_entries
                .checked_add(uint(s, "treeSize")?)
                .ok_or("inactive shards' sizes overflow")?;
        }
    }
    Ok(LogInfoV1 {
        signed_tree_head,
        inactive_entries,
    })
}

/// Reads `GET /api/v1/log/proof`: the consistency proof's hashes.
pub fn parse_consistency_proof(bytes: &[u8]) -> Result<Vec<Hash>, String> {
    hex_hashes(&json(bytes)?, "hashes")
}

/// Reads a `retrieve` answer: a list of `{uuid: entry}` objects.
pub fn parse_retrieved(bytes: &[u8]) -> Result<Vec<RetrievedEntry>, String> {
    let v = json(bytes)?;
    let list = v.as_array().ok_or("the answer is not a list")?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let map = item.as_object().ok_or("an item is not an object")?;
        let [(_, entry)] = map.iter().collect::<Vec<_>>()[..] else {
            return Err(format!("an item holds {} entries, not one", map.len()));
        };
        let log_index = uint(entry, "logIndex")?;
        let body = B64
            .decode(text(entry, "body")?)
            .map_err(|e| format!("entry {log_index}: body is not base64: {e}"))?;
        let inclusion_proof = match entry.get("verification").and_then(|v| v.get("inclusionProof")) {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                (|| {
                    Ok::<_, String>(ServedProof {
                        log_index: uint(p, "logIndex")?,
                        tree_size: uint(p, "treeSize")?,
                        root_hash: hex_hash(text(p, "rootHash")?, "rootHash")?,
                        hashes: hex_hashes(p, "hashes")?,
                        checkpoint: text(p, "checkpoint")?.to_string(),
                    })
                })()
                .map_err(|e| format!("entry {log_index}: inclusionProof: {e}"))?,
            ),
        };
        out.push(RetrievedEntry {
            log_index,
            body,
            inclusion_proof,
        });
    }
    Ok(out)
}

/// The origin line of a checkpoint note (`"<host> - <tree id>"` for Rekor v1).
fn origin_line(envelope: &str) -> Option<String> {
    let note = signet_tlog::Note::parse(envelope).ok()?;
    Checkpoint::parse(note.text()).ok().map(|c| c.origin)
}

/// A Rekor v1 log as a [`crate::follow::Protocol`].
pub struct V1Protocol<'a, S: ?Sized> {
    log: &'a TransparencyLog,
    source: &'a S,
    inactive_entries: u64,
    /// The proofs served with the last batch of entries, by tree index.
    proofs: HashMap<u64, ServedProof>,
    /// Retrieve requests in flight at once.
    concurrent: usize,
}

impl<'a, S: V1Source + ?Sized> V1Protocol<'a, S> {
    pub fn new(log: &'a TransparencyLog, source: &'a S) -> Self {
        V1Protocol {
            log,
            source,
            inactive_entries: 0,
            proofs: HashMap::new(),
            concurrent: 1,
        }
    }

    /// Up to `n` retrieve requests in flight at once (a round trip per ten entries is what
    /// bounds reading a remote v1 log).
    pub fn with_concurrent_requests(mut self, n: usize) -> Self {
        self.concurrent = n.max(1);
        self
    }

    fn verify_checkpoint(&self, envelope: &str) -> Result<Checkpoint, Fail> {
        verify_log_checkpoint(envelope, self.log)
            .map_err(|e| Fail::error(None, Check::CheckpointSignature, e.to_string()))
    }

    fn proof(&self, first: u64, last: u64) -> Result<Vec<Hash>, Fail> {
        let bytes = self
            .source
            .proof(first, last)
            .map_err(|e| Fail::error(None, Check::ProofFetch, e.to_string()))?;
        parse_consistency_proof(&bytes).map_err(|e| {
            Fail::error(
                None,
                Check::ProofFetch,
                format!("consistency proof {first} to {last}: {e}"),
            )
        })
    }

    /// Entries at tree indices `indexes`, each checked to be the one asked for.
    fn retrieve(&self, indexes: &[u64]) -> Result<Vec<RetrievedEntry>, Fail> {
        let first = indexes.first().copied();
        let fail = |m: String| Fail::error(first, Check::EntryFetch, m);
        let global: Vec<u64> = indexes.iter().map(|i| i + self.inactive_entries).collect();
        let bytes = self.source.retrieve(&global).map_err(|e| fail(e.to_string()))?;
        let entries = parse_retrieved(&bytes).map_err(fail)?;
        if entries.len() != indexes.len() {
            return Err(fail(format!(
                "asked for {} entries from index {}, got {}",
                indexes.len(),
                global[0],
                entries.len()
            )));
        }
        for ((e, want), tree_index) in entries.iter().zip(&global).zip(indexes) {
            if e.log_index != *want {
                return Err(fail(format!("asked for entry {want}, got entry {}", e.log_index)));
            }
            if let Some(p) = &e.inclusion_proof {
                if p.log_index != *tree_index {
                    return Err(fail(format!(
                        "entry {want}'s inclusion proof is for tree index {}, expected {tree_index}",
                        p.log_index
                    )));
                }
            }
        }
        Ok(entries)
    }
}

/// One retrieve's entries, or why not.
type Answer = Result<Vec<RetrievedEntry>, Fail>;

impl<S: V1Source + ?Sized> V1Protocol<'_, S> {
    /// Each chunk's entries, in order, with up to `concurrent` requests in flight.
    fn retrieve_all(&self, chunks: &[&[u64]]) -> Vec<Answer> {
        if self.concurrent <= 1 || chunks.len() <= 1 {
            return chunks.iter().map(|c| self.retrieve(c)).collect();
        }
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Answer>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..self.concurrent.min(chunks.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(chunk) = chunks.get(i) else { break };
                    let answer = self.retrieve(chunk);
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(answer);
                });
            }
        });
        slots
            .into_iter()
            .zip(chunks)
            .map(|(slot, chunk)| {
                slot.into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    // A request thread that panicked (a bug) left its slot empty.
                    .unwrap_or_else(|| {
                        Err(Fail::error(
                            chunk.first().copied(),
                            Check::EntryFetch,
                            "retrieving entries failed",
                        ))
                    })
            })
            .collect()
    }
}

impl<S: V1Source + ?Sized> Protocol for V1Protocol<'_, S> {
    fn format(&self) -> EntryFormat {
        EntryFormat::RekorV1
    }

    fn head(&mut self) -> Result<Head, Fail> {
        let bytes = self
            .source
            .log_info()
            .map_err(|e| Fail::error(None, Check::CheckpointFetch, e.to_string()))?;
        let info = parse_log_info(&bytes)
            .map_err(|e| Fail::error(None, Check::CheckpointFetch, format!("GET /api/v1/log: {e}")))?;
        let checkpoint = self.verify_checkpoint(&info.signed_tree_head)?;
        self.inactive_entries = info.inactive_entries;
        Ok(Head {
            size: checkpoint.size,
            root: checkpoint.root_hash,
            envelope: info.signed_tree_head,
        })
    }

    fn same_tree(&self, before: &str, now: &Head) -> Result<(), Fail> {
        let (a, b) = (origin_line(before), origin_line(&now.envelope));
        if a != b {
            return Err(Fail::error(
                None,
                Check::ShardChanged,
                format!(
                    "the log's active tree changed from {:?} to {:?} (a shard rollover); the monitor does not follow a v1 log across shards yet: move its state aside to start on the new shard",
                    a.unwrap_or_default(),
                    b.unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    fn open(&mut self, _head: &Head) -> Result<(), Fail> {
        Ok(())
    }

    fn consistency(&mut self, old_size: u64, head: &Head) -> Result<Vec<Hash>, Fail> {
        self.proof(old_size, head.size)
    }

    fn range_at(&mut self, size: u64, _head: &Head) -> Result<CompactRange, Fail> {
        // The leaf before `size` and its proof's left siblings: the range [0, size - 1), then
        // the leaf.
        let index = size - 1;
        let fail = |m: String| Fail::error(Some(index), Check::ProofFetch, m);
        let entry = self.retrieve(&[index])?.remove(0);
        let proof = entry
            .inclusion_proof
            .ok_or_else(|| fail(format!("entry {index} came without an inclusion proof")))?;
        let mut range = CompactRange::from_inclusion_proof(index, proof.tree_size, &proof.hashes)
            .ok_or_else(|| {
                fail(format!(
                    "entry {index}'s inclusion proof in a tree of {} has {} hashes",
                    proof.tree_size,
                    proof.hashes.len()
                ))
            })?;
        range.push(leaf_hash(&entry.body));
        Ok(range)
    }

    fn entries(&mut self, start: u64, end: u64, _head: &Head) -> Result<Vec<Vec<u8>>, Fail> {
        self.proofs.clear();
        let indexes: Vec<u64> = (start..end).collect();
        let chunks: Vec<&[u64]> = indexes.chunks(self.source.max_retrieve().max(1)).collect();
        let answers = self.retrieve_all(&chunks);
        let mut out = Vec::with_capacity(indexes.len());
        for (answer, chunk) in answers.into_iter().zip(&chunks) {
            for (e, index) in answer?.into_iter().zip(chunk.iter()) {
                if let Some(p) = e.inclusion_proof {
                    self.proofs.insert(*index, p);
                }
                out.push(e.body);
            }
        }
        Ok(out)
    }

    fn inclusion(&mut self, index: u64, _leaf: &Hash, head: &Head) -> Result<Included, Fail> {
        let proof = self.proofs.get(&index).cloned().ok_or_else(|| {
            Fail::error(
                Some(index),
                Check::InclusionProof,
                format!("entry {index} came without an inclusion proof"),
            )
        })?;
        if proof.tree_size == head.size {
            if proof.root_hash != head.root {
                let mut f = Fail::alert(
                    Some(index),
                    Check::RootChanged,
                    format!(
                        "entry {index} is proven against root {} of size {}; the verified tree head of that size has root {}",
                        hex::encode(proof.root_hash),
                        head.size,
                        hex::encode(head.root)
                    ),
                );
                f.evidence = vec![head.envelope.clone(), proof.checkpoint];
                return Err(f);
            }
            return Ok(Included {
                hashes: proof.hashes,
                size: head.size,
                root: head.root,
                envelope: head.envelope.clone(),
            });
        }
        // Proven against another (usually newer) checkpoint: verify it, and that it and the
        // verified head are of one tree.
        let other = self.verify_checkpoint(&proof.checkpoint).map_err(|mut f| {
            f.index = Some(index);
            f
        })?;
        if other.size != proof.tree_size || other.root_hash != proof.root_hash {
            return Err(Fail::error(
                Some(index),
                Check::InclusionProof,
                format!(
                    "entry {index}'s inclusion proof names size {} root {}, its checkpoint size {} root {}",
                    proof.tree_size,
                    hex::encode(proof.root_hash),
                    other.size,
                    hex::encode(other.root_hash)
                ),
            ));
        }
        let (small, big) = if other.size < head.size {
            ((other.size, other.root_hash), (head.size, head.root))
        } else {
            ((head.size, head.root), (other.size, other.root_hash))
        };
        let hashes = self.proof(small.0, big.0)?;
        verify_consistency(small.0, big.0, &small.1, &big.1, &hashes).map_err(|e| Fail {
            evidence: vec![head.envelope.clone(), proof.checkpoint.clone()],
            ..Fail::alert(
                Some(index),
                Check::Consistency,
                format!(
                    "entry {index} is proven against a checkpoint of size {} not consistent with the verified one of size {}: {e}",
                    other.size, head.size
                ),
            )
        })?;
        Ok(Included {
            hashes: proof.hashes,
            size: other.size,
            root: other.root_hash,
            envelope: proof.checkpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_info_adds_up_inactive_shards() {
        let info = parse_log_info(
            br#"{"rootHash":"00","treeSize":3,"signedTreeHead":"x","treeID":"1","inactiveShards":[{"treeSize":5},{"treeSize":"7"}]}"#,
        )
        .unwrap();
        assert_eq!(info.inactive_entries, 12);
        assert_eq!(info.signed_tree_head, "x");
        assert!(parse_log_info(b"{}").is_err());
    }

    #[test]
    fn retrieved_entries_read_with_their_proofs() {
        let h = "ab".repeat(32);
        let answer = format!(
            r#"[{{"{h}":{{"body":"e30=","logIndex":4,"verification":{{"inclusionProof":{{"logIndex":4,"treeSize":9,"rootHash":"{h}","hashes":["{h}"],"checkpoint":"cp"}}}}}}}}]"#
        );
        let got = parse_retrieved(answer.as_bytes()).unwrap();
        assert_eq!(got[0].body, b"{}");
        let p = got[0].inclusion_proof.as_ref().unwrap();
        assert_eq!((p.log_index, p.tree_size, p.hashes.len()), (4, 9, 1));
        assert!(parse_retrieved(br#"[{"a":{"logIndex":1}}]"#).is_err());
        assert!(parse_retrieved(br#"[{"a":{},"b":{}}]"#).is_err());
    }
}
