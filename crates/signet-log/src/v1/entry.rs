//! A Rekor v1 log entry as the API returns it (rekor `LogEntryAnon`), its signed entry
//! timestamp, and how the log stores an entry's integration time beside its body.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use signet_formats::canonical_json::to_canonical;
use signet_tlog::Hash;

pub use signet_formats::rekor_v1::to_hex;

/// One entry with everything a client needs to check it: the body, when it was integrated,
/// the log's promise (SET) and an inclusion proof against a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntryV1 {
    /// The entry's leaf hash: Rekor's entry UUID (without a shard's tree ID prefix).
    pub leaf_hash: Hash,
    /// The canonical body, as hashed into the tree.
    pub body: Vec<u8>,
    /// Unix seconds.
    pub integrated_time: i64,
    pub log_id: [u8; 32],
    pub log_index: u64,
    /// The log key's signature over [`set_payload`].
    pub signed_entry_timestamp: Vec<u8>,
    pub inclusion_proof: InclusionProofV1,
}

/// rekor `InclusionProof`: the proof of `log_index` in the tree the checkpoint describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProofV1 {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint (note) of `tree_size`.
    pub checkpoint: String,
}

impl LogEntryV1 {
    /// The entry UUID: the hex leaf hash.
    pub fn uuid(&self) -> String {
        to_hex(&self.leaf_hash)
    }

    /// The entry as the API writes it: `{"<uuid>": {body, integratedTime, logID, logIndex,
    /// verification: {signedEntryTimestamp, inclusionProof}}}`.
    pub fn to_json(&self) -> Value {
        let p = &self.inclusion_proof;
        let entry = json!({
            "body": B64.encode(&self.body),
            "integratedTime": self.integrated_time,
            "logID": to_hex(&self.log_id),
            "logIndex": self.log_index,
            "verification": {
                "signedEntryTimestamp": B64.encode(&self.signed_entry_timestamp),
                "inclusionProof": {
                    "logIndex": p.log_index,
                    "treeSize": p.tree_size,
                    "rootHash": to_hex(&p.root_hash),
                    "hashes": p.hashes.iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
                    "checkpoint": p.checkpoint,
                },
            },
        });
        let mut map = Map::new();
        map.insert(self.uuid(), entry);
        Value::Object(map)
    }
}

/// What a signed entry timestamp signs: the RFC 8785 form of
/// `{"body","integratedTime","logID","logIndex"}` (body base64, log ID hex), as Rekor v1's
/// clients rebuild it to verify.
pub fn set_payload(body: &[u8], integrated_time: i64, log_id: &[u8; 32], log_index: u64) -> Vec<u8> {
    to_canonical(&json!({
        "body": B64.encode(body),
        "integratedTime": integrated_time,
        "logID": to_hex(log_id),
        "logIndex": log_index,
    }))
}

/// The stored form of an entry (the entry bundle item in the tiles): the integration time
/// as 8 bytes big-endian, then the canonical body. The leaf hash covers the body only, so a
/// tile reader strips the first 8 bytes to recompute it.
pub fn encode_stored(integrated_time: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&integrated_time.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a stored entry into its integration time and body.
pub fn decode_stored(stored: &[u8]) -> Option<(i64, &[u8])> {
    if stored.len() < 8 {
        return None;
    }
    let (time, body) = stored.split_at(8);
    Some((i64::from_be_bytes(time.try_into().ok()?), body))
}

/// Parses an entry UUID: 64 hex digits (the leaf hash), or 80 when a 16-digit tree ID
/// prefixes it (Rekor's sharded form; the prefix is not checked).
pub fn parse_uuid(uuid: &str) -> Option<Hash> {
    let hex = match uuid.len() {
        64 => uuid,
        80 => &uuid[16..],
        _ => return None,
    };
    if !uuid.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_in_both_forms() {
        let h = [0xab; 32];
        let hex = to_hex(&h);
        assert_eq!(parse_uuid(&hex), Some(h));
        assert_eq!(parse_uuid(&format!("24296fb24b8ad77a{hex}")), Some(h));
        assert_eq!(parse_uuid(&hex.to_uppercase()), Some(h));
        assert_eq!(parse_uuid(&hex[1..]), None);
        assert_eq!(parse_uuid(&format!("{}zz", &hex[2..])), None);
        assert_eq!(parse_uuid(&"é".repeat(32)), None);
    }

    #[test]
    fn stored_form_round_trips() {
        let s = encode_stored(1_700_000_000, b"{}");
        assert_eq!(decode_stored(&s), Some((1_700_000_000, &b"{}"[..])));
        assert_eq!(decode_stored(b"short"), None);
    }

    #[test]
    fn set_payload_is_canonical() {
        let p = set_payload(b"{}", 1_700_000_000, &[1; 32], 7);
        assert_eq!(
            String::from_utf8(p).unwrap(),
            format!(
                r#"{{"body":"e30=","integratedTime":1700000000,"logID":"{}","logIndex":7}}"#,
                "01".repeat(32)
            )
        );
    }
}
