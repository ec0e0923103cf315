//! The transparency-log entry gitsign embeds: protobuf `dev.sigstore.rekor.v1.TransparencyLogEntry`
//! in the binary wire format (protobuf-specs `sigstore_rekor.proto`), hand-written for its
//! seven fields rather than pulling a protobuf runtime and code generator into the core:
//!
//! ```text
//! TransparencyLogEntry { int64 log_index = 1; LogId log_id = 2 { bytes key_id = 1; }
//!   KindVersion kind_version = 3 { string kind = 1; string version = 2; }
//!   int64 integrated_time = 4; InclusionPromise inclusion_promise = 5 { bytes signed_entry_timestamp = 1; }
//!   InclusionProof inclusion_proof = 6 { int64 log_index = 1; bytes root_hash = 2; int64 tree_size = 3;
//!     repeated bytes hashes = 4; Checkpoint checkpoint = 5 { string envelope = 1; } }
//!   bytes canonicalized_body = 7; }
//! ```
//!
//! The decoder follows proto3: absent fields take their defaults and unknown fields are
//! skipped; it is stricter where leniency could only hide a forged entry: a non-repeated field
//! may appear once, wire types must match, strings must be UTF-8, and integers that are
//! indices or sizes must not be negative.

use signet_formats::common::LogId;
use signet_formats::rekor_v2::{
    Checkpoint, InclusionPromise, InclusionProof, KindVersion, TransparencyLogEntry,
};
use thiserror::Error;

/// Why an embedded entry does not decode.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TleError {
    #[error("the embedded log entry is truncated")]
    Truncated,
    #[error("the embedded log entry has a malformed varint")]
    Varint,
    #[error(
        "the embedded log entry's field {field} of {message} has wire type {found}, expected {expected}"
    )]
    WireType {
        message: &'static str,
        field: u64,
        found: u8,
        expected: u8,
    },
    #[error("the embedded log entry's {0} appears twice")]
    Duplicate(&'static str),
    #[error("the embedded log entry's {0} is not UTF-8")]
    Utf8(&'static str),
    #[error("the embedded log entry's {0} is negative")]
    Negative(&'static str),
    #[error("the embedded log entry uses protobuf groups, which this message never has")]
    Group,
    #[error("the embedded log entry has no {0}")]
    Missing(&'static str),
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// Encodes `entry`. With `keep_body` false the `canonicalized_body` is left out, as gitsign
/// leaves it out (the verifier rebuilds it from the signature: [`crate::bundle`]).
pub fn encode(entry: &TransparencyLogEntry, keep_body: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    put_int(&mut out, 1, entry.log_index as i64);
    put_message(&mut out, 2, |m| put_bytes(m, 1, &entry.log_id.key_id));
    put_message(&mut out, 3, |m| {
        put_bytes(m, 1, entry.kind_version.kind.as_bytes());
        put_bytes(m, 2, entry.kind_version.version.as_bytes());
    });
    if let Some(t) = entry.integrated_time {
        put_int(&mut out, 4, t);
    }
    if let Some(promise) = &entry.inclusion_promise {
        put_message(&mut out, 5, |m| put_bytes(m, 1, &promise.signed_entry_timestamp));
    }
    if let Some(proof) = &entry.inclusion_proof {
        put_message(&mut out, 6, |m| {
            put_int(m, 1, proof.log_index as i64);
            put_bytes(m, 2, &proof.root_hash);
            put_int(m, 3, proof.tree_size as i64);
            for hash in &proof.hashes {
                put_len(m, 4, hash);
            }
            if let Some(cp) = &proof.checkpoint {
                put_message(m, 5, |c| put_bytes(c, 1, cp.envelope.as_bytes()));
            }
        });
    }
    if keep_body {
        put_bytes(&mut out, 7, &entry.canonicalized_body);
    }
    out
}

/// Decodes an entry.
pub fn decode(bytes: &[u8]) -> Result<TransparencyLogEntry, TleError> {
    const M: &str = "TransparencyLogEntry";
    let mut log_index = None;
    let mut log_id = None;
    let mut kind_version = None;
    let mut integrated_time = None;
    let mut inclusion_promise = None;
    let mut inclusion_proof = None;
    let mut body = None;
    let mut r = Reader(bytes);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => once(
                &mut log_index,
                non_negative(r.varint_field(M, field, wire)?, "logIndex")?,
                "logIndex",
            )?,
            2 => once(&mut log_id, decode_log_id(r.len_field(M, field, wire)?)?, "logId")?,
            3 => once(
                &mut kind_version,
                decode_kind_version(r.len_field(M, field, wire)?)?,
                "kindVersion",
            )?,
            4 => once(
                &mut integrated_time,
                r.varint_field(M, field, wire)? as i64,
                "integratedTime",
            )?,
            5 => once(
                &mut inclusion_promise,
                decode_promise(r.len_field(M, field, wire)?)?,
                "inclusionPromise",
            )?,
            6 => once(
                &mut inclusion_proof,
                decode_proof(r.len_field(M, field, wire)?)?,
                "inclusionProof",
            )?,
            7 => once(
                &mut body,
                r.len_field(M, field, wire)?.to_vec(),
                "canonicalizedBody",
            )?,
            _ => r.skip(wire)?,
        }
    }
    Ok(TransparencyLogEntry {
        log_index: log_index.unwrap_or(0),
        log_id: log_id.ok_or(TleError::Missing("logId"))?,
        kind_version: kind_version.ok_or(TleError::Missing("kindVersion"))?,
        // proto3 cannot tell 0 from absent; no log integrates at the epoch.
        integrated_time: integrated_time.filter(|t| *t != 0),
        inclusion_promise,
        inclusion_proof,
        canonicalized_body: body.unwrap_or_default(),
    })
}

fn decode_log_id(bytes: &[u8]) -> Result<LogId, TleError> {
    let mut key_id = None;
    let mut r = Reader(bytes);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => once(
                &mut key_id,
                r.len_field("LogId", field, wire)?.to_vec(),
                "logId.keyId",
            )?,
            _ => r.skip(wire)?,
        }
    }
    Ok(LogId {
        key_id: key_id.unwrap_or_default(),
    })
}

fn decode_kind_version(bytes: &[u8]) -> Result<KindVersion, TleError> {
    const M: &str = "KindVersion";
    let (mut kind, mut version) = (None, None);
    let mut r = Reader(bytes);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => once(
                &mut kind,
                utf8(r.len_field(M, field, wire)?, "kindVersion.kind")?,
                "kindVersion.kind",
            )?,
            2 => once(
                &mut version,
                utf8(r.len_field(M, field, wire)?, "kindVersion.version")?,
                "kindVersion.version",
            )?,
            _ => r.skip(wire)?,
        }
    }
    Ok(KindVersion {
        kind: kind.unwrap_or_default(),
        version: version.unwrap_or_default(),
    })
}

fn decode_promise(bytes: &[u8]) -> Result<InclusionPromise, TleError> {
    let mut set = None;
    let mut r = Reader(bytes);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => once(
                &mut set,
                r.len_field("InclusionPromise", field, wire)?.to_vec(),
                "inclusionPromise.signedEntryTimestamp",
            )?,
            _ => r.skip(wire)?,
        }
    }
    Ok(InclusionPromise {
        signed_entry_timestamp: set.unwrap_or_default(),
    })
}

fn decode_proof(bytes: &[u8]) -> Result<InclusionProof, TleError> {
    const M: &str = "InclusionProof";
    let (mut log_index, mut root_hash, mut tree_size, mut checkpoint) = (None, None, None, None);
    let mut hashes = Vec::new();
    let mut r = Reader(bytes);
    while let Some((field, wire)) = r.key()? {
        match field {
            1 => once(
                &mut log_index,
                non_negative(r.varint_field(M, field, wire)?, "inclusionProof.logIndex")?,
                "inclusionProof.logIndex",
            )?,
            2 => once(
                &mut root_hash,
                r.len_field(M, field, wire)?.to_vec(),
                "inclusionProof.rootHash",
            )?,
            3 => once(
                &mut tree_size,
                non_negative(r.varint_field(M, field, wire)?, "inclusionProof.treeSize")?,
                "inclusionProof.treeSize",
            )?,
            4 => hashes.push(r.len_field(M, field, wire)?.to_vec()),
            5 => {
                let cp = r.len_field(M, field, wire)?;
                let mut envelope = None;
                let mut c = Reader(cp);
                while let Some((f, w)) = c.key()? {
                    match f {
                        1 => once(
                            &mut envelope,
                            utf8(c.len_field("Checkpoint", f, w)?, "checkpoint.envelope")?,
                            "checkpoint.envelope",
                        )?,
                        _ => c.skip(w)?,
                    }
                }
                once(
                    &mut checkpoint,
                    Checkpoint {
                        envelope: envelope.unwrap_or_default(),
                    },
                    "inclusionProof.checkpoint",
                )?
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(InclusionProof {
        log_index: log_index.unwrap_or(0),
        root_hash: root_hash.unwrap_or_default(),
        tree_size: tree_size.unwrap_or(0),
        hashes,
        checkpoint,
    })
}

fn once<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), TleError> {
    match slot.replace(value) {
        None => Ok(()),
        Some(_) => Err(TleError::Duplicate(name)),
    }
}

fn non_negative(v: u64, name: &'static str) -> Result<u64, TleError> {
    // int64 on the wire: a negative value is a ten-byte varint with the top bit set.
    if (v as i64) < 0 {
        return Err(TleError::Negative(name));
    }
    Ok(v)
}

fn utf8(bytes: &[u8], name: &'static str) -> Result<String, TleError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| TleError::Utf8(name))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, TleError> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&b, rest) = self.0.split_first().ok_or(TleError::Truncated)?;
            self.0 = rest;
            if i == 9 && b > 1 {
                return Err(TleError::Varint);
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(TleError::Varint)
    }

    /// The next field's number and wire type, or None at the end.
    fn key(&mut self) -> Result<Option<(u64, u8)>, TleError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        Ok(Some((key >> 3, (key & 7) as u8)))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], TleError> {
        let n = usize::try_from(n).map_err(|_| TleError::Truncated)?;
        if n > self.0.len() {
            return Err(TleError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn varint_field(&mut self, message: &'static str, field: u64, wire: u8) -> Result<u64, TleError> {
        expect_wire(message, field, wire, VARINT)?;
        self.varint()
    }

    fn len_field(&mut self, message: &'static str, field: u64, wire: u8) -> Result<&'a [u8], TleError> {
        expect_wire(message, field, wire, LEN)?;
        let n = self.varint()?;
        self.take(n)
    }

    fn skip(&mut self, wire: u8) -> Result<(), TleError> {
        match wire {
            VARINT => self.varint().map(drop),
            I64 => self.take(8).map(drop),
            LEN => {
                let n = self.varint()?;
                self.take(n).map(drop)
            }
            I32 => self.take(4).map(drop),
            _ => Err(TleError::Group),
        }
    }
}

fn expect_wire(message: &'static str, field: u64, found: u8, expected: u8) -> Result<(), TleError> {
    if found != expected {
        return Err(TleError::WireType {
            message,
            field,
            found,
            expected,
        });
    }
    Ok(())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u64, wire: u8) {
    put_varint(out, (field << 3) | u64::from(wire));
}

/// A proto3 scalar: left out when it is the default.
fn put_int(out: &mut Vec<u8>, field: u64, v: i64) {
    if v != 0 {
        put_key(out, field, VARINT);
        put_varint(out, v as u64);
    }
}

/// A repeated element: written even when empty.
fn put_len(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A proto3 `bytes`/`string`: left out when empty.
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    if !bytes.is_empty() {
        put_len(out, field, bytes);
    }
}

fn put_message(out: &mut Vec<u8>, field: u64, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    put_len(out, field, &inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> TransparencyLogEntry {
        TransparencyLogEntry {
            log_index: 25_579_519,
            log_id: LogId {
                key_id: vec![0xc0; 32],
            },
            kind_version: KindVersion {
                kind: "hashedrekord".into(),
                version: "0.0.1".into(),
            },
            integrated_time: Some(1_685_981_480),
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: vec![0x30, 0x44, 1, 2],
            }),
            inclusion_proof: Some(InclusionProof {
                log_index: 21_416_088,
                root_hash: vec![7; 32],
                tree_size: 21_416_089,
                hashes: vec![vec![1; 32], vec![2; 32]],
                checkpoint: Some(Checkpoint {
                    envelope: "rekor.sigstore.dev - 1\n2\nAAAA\n\n— rekor x\n".into(),
                }),
            }),
            canonicalized_body: b"{\"apiVersion\":\"0.0.1\"}".to_vec(),
        }
    }

    #[test]
    fn round_trip_with_and_without_body() {
        let e = entry();
        assert_eq!(decode(&encode(&e, true)).unwrap(), e);
        let stripped = decode(&encode(&e, false)).unwrap();
        assert!(stripped.canonicalized_body.is_empty());
        assert_eq!(
            TransparencyLogEntry {
                canonicalized_body: e.canonicalized_body.clone(),
                ..stripped
            },
            e
        );
    }

    #[test]
    fn strictness() {
        let e = entry();
        let bytes = encode(&e, false);
        // A second logId.
        let mut twice = bytes.clone();
        put_message(&mut twice, 2, |m| put_bytes(m, 1, b"x"));
        assert_eq!(decode(&twice), Err(TleError::Duplicate("logId")));
        // logIndex as a length-delimited field.
        let mut wrong = Vec::new();
        put_len(&mut wrong, 1, b"x");
        assert!(matches!(decode(&wrong), Err(TleError::WireType { field: 1, .. })));
        // Negative log index.
        let mut negative = Vec::new();
        put_key(&mut negative, 1, VARINT);
        put_varint(&mut negative, (-5i64) as u64);
        assert_eq!(decode(&negative), Err(TleError::Negative("logIndex")));
        // Unknown fields are skipped, groups refused.
        let mut unknown = bytes.clone();
        put_len(&mut unknown, 99, b"future");
        assert_eq!(decode(&unknown).unwrap(), decode(&bytes).unwrap());
        let mut group = bytes.clone();
        put_key(&mut group, 98, 3);
        assert_eq!(decode(&group), Err(TleError::Group));
        // Truncation anywhere is an error, never a panic.
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]);
        }
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(TleError::Truncated));
        assert_eq!(decode(&[]), Err(TleError::Missing("logId")));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(e) = decode(&bytes) {
                // What decodes re-encodes to something that decodes to the same entry.
                prop_assert_eq!(decode(&encode(&e, true)).unwrap(), e);
            }
        }

        #[test]
        fn round_trips(index in 0u64..(1 << 62), time in 1i64..(1 << 40), size in 0u64..(1 << 62),
                       hashes in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 32), 0..8)) {
            let mut e = entry();
            e.log_index = index;
            e.integrated_time = Some(time);
            if let Some(p) = e.inclusion_proof.as_mut() {
                p.tree_size = size;
                p.hashes = hashes;
            }
            prop_assert_eq!(decode(&encode(&e, true)).unwrap(), e);
        }
    }
}
