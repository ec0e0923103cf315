//! RFC 6962 §2.1 (RFC 9162 §2.1.1) Merkle tree hashing with SHA-256.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The length in bytes of a [`Hash`].
pub const HASH_SIZE: usize = 32;

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The RFC 6962 `MTH` of a list of already-hashed subtrees of descending power-of-two sizes,
/// left to right, as the right edge of a tree decomposes: folded from the right.
pub(crate) fn fold_right_edge(pieces: &[Hash]) -> Option<Hash> {
    let (last, rest) = pieces.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_prefixes() {
        // RFC 6962 reference: the hash of the empty leaf.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l = leaf_hash(b"");
        let r = leaf_hash(&[0x00]);
        // Root of the two-leaf reference tree.
        assert_eq!(
            hex::encode(node_hash(&l, &r)),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }
}
