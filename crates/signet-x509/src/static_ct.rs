//! c2sp.org/static-ct-api formats a CT log and its monitors share: the `TileLeaf` a data tile
//! is made of ("Log entries"), and the checkpoint's `RFC6962NoteSignature` over an RFC 6962
//! §3.5 `TreeHeadSignature` ("Checkpoints"). Pure: bytes in, values out. The log (signet-ct)
//! writes them; the monitor reads them from logs it does not trust.

use crate::sct::tls::{put_u16_vec, put_u24_vec, Reader};
use crate::sct::{DigitallySigned, OwnedLogEntry, SctError, TimestampedEntry};

/// ```text
/// struct {
///     TimestampedEntry timestamped_entry;
///     select (entry_type) {
///         case x509_entry: Empty;
///         case precert_entry: ASN.1Cert pre_certificate;
///     };
///     Fingerprint certificate_chain<0..2^16-1>;
/// } TileLeaf;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileLeaf {
    pub timestamped_entry: TimestampedEntry,
    /// The precertificate as submitted; present exactly for precert entries.
    pub pre_certificate: Option<Vec<u8>>,
    /// SHA-256 of each issuer in the chain, the root last.
    pub certificate_chain: Vec<[u8; 32]>,
}

impl TileLeaf {
    pub fn encode(&self) -> Result<Vec<u8>, SctError> {
        let mut out = self.timestamped_entry.encode()?;
        match (&self.timestamped_entry.entry, &self.pre_certificate) {
            (OwnedLogEntry::Precert { .. }, Some(pre)) => put_u24_vec(&mut out, pre, "pre_certificate")?,
            (OwnedLogEntry::X509 { .. }, None) => {}
            _ => {
                return Err(SctError::Malformed {
                    what: "TileLeaf",
                    reason: "a pre_certificate belongs to precert entries, and only to them".into(),
                })
            }
        }
        let chain: Vec<u8> = self.certificate_chain.concat();
        put_u16_vec(&mut out, &chain).ok_or(SctError::TooLong {
            what: "TileLeaf certificate_chain",
            len: chain.len(),
            max: 0xffff,
        })?;
        Ok(out)
    }

    /// Reads one `TileLeaf` from the front of `r`.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, SctError> {
        let timestamped_entry = TimestampedEntry::read(r)?;
        let pre_certificate = match timestamped_entry.entry {
            OwnedLogEntry::Precert { .. } => {
                // ASN.1Cert is opaque<1..2^24-1> (RFC 6962 §3.1): an empty one is refused, as
                // the encoder refuses to write it.
                let pre = r.u24_vec("pre_certificate")?;
                if pre.is_empty() {
                    return Err(SctError::Empty {
                        what: "pre_certificate",
                    });
                }
                Some(pre.to_vec())
            }
            OwnedLogEntry::X509 { .. } => None,
        };
        let chain = r.u16_vec("TileLeaf certificate_chain")?;
        if chain.len() % 32 != 0 {
            return Err(SctError::Malformed {
                what: "TileLeaf certificate_chain",
                reason: format!("{} bytes is not a whole number of fingerprints", chain.len()),
            });
        }
        let certificate_chain = chain
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks are 32 bytes"))
            .collect();
        Ok(TileLeaf {
            timestamped_entry,
            pre_certificate,
            certificate_chain,
        })
    }

    /// Reads exactly one `TileLeaf`.
    pub fn decode(bytes: &[u8]) -> Result<Self, SctError> {
        let mut r = Reader::new(bytes);
        let leaf = Self::read(&mut r)?;
        r.finish("TileLeaf")?;
        Ok(leaf)
    }

    /// RFC 6962 §4.6 `leaf_input`: the `MerkleTreeLeaf`.
    pub fn merkle_tree_leaf(&self) -> Vec<u8> {
        self.timestamped_entry.merkle_tree_leaf()
    }

    /// RFC 6962 §4.6 `extra_data`, given the issuers' DER in chain order: for a precert entry
    /// the `PrecertChainEntry` (§3.1), for an x509 entry only the `certificate_chain` (the leaf
    /// is already in `leaf_input`).
    pub fn extra_data(&self, issuers: &[Vec<u8>]) -> Result<Vec<u8>, SctError> {
        let mut chain = Vec::new();
        for cert in issuers {
            put_u24_vec(&mut chain, cert, "chain certificate")?;
        }
        let mut out = Vec::new();
        if let Some(pre) = &self.pre_certificate {
            put_u24_vec(&mut out, pre, "pre_certificate")?;
        }
        if chain.len() > 0xff_ffff {
            return Err(SctError::TooLong {
                what: "certificate chain",
                len: chain.len(),
                max: 0xff_ffff,
            });
        }
        out.extend_from_slice(&(chain.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&chain);
        Ok(out)
    }
}

/// Splits a data tile into its `TileLeaf`s.
pub fn decode_data_tile(bytes: &[u8]) -> Result<Vec<TileLeaf>, SctError> {
    let mut r = Reader::new(bytes);
    let mut leaves = Vec::new();
    while !r.is_empty() {
        leaves.push(TileLeaf::read(&mut r)?);
    }
    Ok(leaves)
}

/// c2sp.org/signed-note signature type of an RFC 6962 tree head signature.
pub const RFC6962_NOTE_TYPE: u8 = 0x05;

/// RFC 6962 §3.2 `SignatureType.tree_hash`.
const TREE_HASH: u8 = 1;

/// RFC 6962 §3.5: the `TreeHeadSignature` struct a tree head signature covers.
pub fn tree_head_signature_input(timestamp: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(2 + 8 + 8 + 32);
    m.push(0); // version v1
    m.push(TREE_HASH);
    m.extend_from_slice(&timestamp.to_be_bytes());
    m.extend_from_slice(&tree_size.to_be_bytes());
    m.extend_from_slice(root);
    m
}

/// Checks an RFC 6962 §3.5 tree head signature (an STH's, or a static-ct-api checkpoint's
/// `RFC6962NoteSignature`) over `timestamp`, `tree_size` and `root` with the log's key.
pub fn verify_tree_head_signature(
    timestamp: u64,
    tree_size: u64,
    root: &[u8; 32],
    signature: &DigitallySigned,
    key: &signet_crypto::PublicKey,
) -> Result<(), String> {
    let message = tree_head_signature_input(timestamp, tree_size, root);
    crate::sct::verify_digitally_signed(signature, key, &message)
}

/// static-ct-api: the note key ID is `SHA-256(name || 0x0A || 0x05 || LogID)[:4]`.
pub fn note_key_id(origin: &str, log_id: &[u8; 32]) -> u32 {
    let mut m = Vec::with_capacity(origin.len() + 2 + 32);
    m.extend_from_slice(origin.as_bytes());
    m.push(b'\n');
    m.push(RFC6962_NOTE_TYPE);
    m.extend_from_slice(log_id);
    let h = signet_crypto::sha256(&m);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// static-ct-api `RFC6962NoteSignature`: the STH timestamp (milliseconds) and the
/// `TreeHeadSignature`'s `DigitallySigned`, as a checkpoint's signature line carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc6962NoteSignature {
    pub timestamp: u64,
    pub signature: DigitallySigned,
}

impl Rfc6962NoteSignature {
    /// Reads exactly one `RFC6962NoteSignature`.
    pub fn decode(bytes: &[u8]) -> Result<Self, SctError> {
        let mut r = Reader::new(bytes);
        let timestamp = r.u64("RFC6962NoteSignature timestamp")?;
        let signature = DigitallySigned::read(&mut r)?;
        r.finish("RFC6962NoteSignature")?;
        Ok(Rfc6962NoteSignature { timestamp, signature })
    }

    pub fn encode(&self) -> Result<Vec<u8>, SctError> {
        let mut out = self.timestamp.to_be_bytes().to_vec();
        out.extend_from_slice(&self.signature.encode()?);
        Ok(out)
    }
}
