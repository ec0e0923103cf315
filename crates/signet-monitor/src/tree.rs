//! The tree recomputed from the entries: a compact range (the roots of the perfect subtrees
//! that make up leaves `[0, size)`, at most 64 hashes), grown one leaf hash at a time. Its root
//! is the RFC 6962 `MTH` of every entry read, so comparing it with a signed checkpoint (or
//! proving it a prefix of one) catches a log that serves entries its checkpoints do not commit
//! to, which the hash tiles alone cannot show (certspotter does the same for CT).

use signet_tlog::{empty_root, node_hash, Hash, HashReader, ProofError, HASH_SIZE};
use thiserror::Error;

/// A saved compact range that does not fit its size.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("saved tree state for size {size} holds {got} bytes; expected {expected}")]
pub struct RangeDecodeError {
    pub size: u64,
    pub got: usize,
    pub expected: usize,
}

/// The compact range of leaves `[0, size)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    /// Subtree roots left to right, heights strictly decreasing: one per set bit of `size`.
    nodes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            // A set low bit means the rightmost subtree has the same height: merge.
            match self.nodes.pop() {
                Some(left) => h = node_hash(&left, &h),
                None => break, // unreachable: one node per set bit
            }
            s >>= 1;
        }
        self.nodes.push(h);
        self.size += 1;
    }

    /// The root hash of the tree of `size` leaves (`SHA-256("")` when empty).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The saved form: the subtree roots concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.nodes.concat()
    }

    /// Reads the saved form for a tree of `size` leaves.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, RangeDecodeError> {
        let expected = size.count_ones() as usize * HASH_SIZE;
        if bytes.len() != expected {
            return Err(RangeDecodeError {
                size,
                got: bytes.len(),
                expected,
            });
        }
        let nodes = bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; HASH_SIZE];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(CompactRange { size, nodes })
    }

    /// The compact range of `size` leaves read from a tree's node hashes (hash tiles), for a
    /// monitor that starts part-way through a log. Nothing here authenticates the nodes: prove
    /// the range's root consistent with a verified checkpoint before trusting it.
    pub fn from_reader(size: u64, reader: &impl HashReader) -> Result<Self, ProofError> {
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        let mut pos = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                nodes.push(reader.node(level, pos >> level)?);
                pos += 1u64 << level;
            }
        }
        Ok(CompactRange { size, nodes })
    }

    /// The compact range of leaves `[0, index)` from an inclusion proof of leaf `index` in a
    /// tree of `size` leaves (RFC 9162 §2.1.3.1): its left siblings are exactly the range's
    /// subtree roots, one per set bit of `index`. `None` if the proof has the wrong length.
    /// For an API log (Rekor v1, RFC 6962) that serves no hash tiles, where a monitor starts
    /// part-way through. Nothing here authenticates the nodes: prove the range's root
    /// consistent with a verified tree head before trusting it.
    pub fn from_inclusion_proof(index: u64, size: u64, proof: &[Hash]) -> Option<Self> {
        if index >= size {
            return None;
        }
        // The first `inner` hashes are siblings below the level where the paths to `index`
        // and to the last leaf meet (left where the index's bit is set); the rest are the
        // left siblings along the tree's right border.
        let inner = 64 - (index ^ (size - 1)).leading_zeros() as usize;
        if proof.len() != inner + (index >> inner).count_ones() as usize {
            return None;
        }
        let mut nodes: Vec<Hash> = proof[..inner]
            .iter()
            .enumerate()
            .filter(|(level, _)| index >> level & 1 == 1)
            .map(|(_, h)| *h)
            .collect();
        nodes.extend_from_slice(&proof[inner..]);
        // Bottom-up in the proof; the range holds them left to right (highest first).
        nodes.reverse();
        Some(CompactRange { size: index, nodes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use signet_tlog::{leaf_hash, MemoryTree};

    #[test]
    fn empty_tree_root_is_the_hash_of_nothing() {
        assert_eq!(CompactRange::new().root(), empty_root());
    }

    proptest! {
        #[test]
        fn root_matches_the_reference_tree(n in 0u64..600) {
            let mut range = CompactRange::new();
            let mut tree = MemoryTree::new();
            for i in 0..n {
                let data = i.to_be_bytes();
                range.push(leaf_hash(&data));
                tree.push_data(&data);
                prop_assert_eq!(range.root(), tree.root());
            }
            let saved = CompactRange::from_bytes(n, &range.to_bytes()).unwrap();
            prop_assert_eq!(&saved, &range);
            let read = CompactRange::from_reader(n, &tree).unwrap();
            prop_assert_eq!(&read, &range);
        }

        #[test]
        fn left_siblings_of_an_inclusion_proof_are_the_range_before_it(size in 1u64..600, pick in 0u64..600) {
            let tree = MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())));
            let index = pick % size;
            let proof = tree.inclusion_proof(index, size).unwrap();
            let range = CompactRange::from_inclusion_proof(index, size, &proof).unwrap();
            prop_assert_eq!(&range, &CompactRange::from_reader(index, &tree).unwrap());
            // A proof one hash short or long is refused.
            prop_assert!(CompactRange::from_inclusion_proof(index, size, &proof[..proof.len().saturating_sub(1)]).is_none() || proof.is_empty());
            let mut longer = proof.clone();
            longer.push([0; 32]);
            prop_assert!(CompactRange::from_inclusion_proof(index, size, &longer).is_none());
        }
    }

    #[test]
    fn a_saved_range_of_the_wrong_length_is_refused() {
        let err = CompactRange::from_bytes(3, &[0u8; 32]).unwrap_err();
        assert_eq!(err.expected, 64);
    }
}
