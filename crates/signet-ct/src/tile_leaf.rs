//! What the log stores per entry: static-ct-api's `TileLeaf` (c2sp.org/static-ct-api, "Log
//! entries"). A data tile is these concatenated; RFC 6962 get-entries rebuilds `leaf_input`
//! and `extra_data` from one and the issuers it names by fingerprint.

use signet_x509::sct::tls::{put_u16_vec, put_u24_vec, Reader};
use signet_x509::sct::{OwnedLogEntry, SctError, TimestampedEntry};

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
