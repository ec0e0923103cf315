//! Inclusion and consistency proofs, RFC 9162 §2.1.3 and §2.1.4 (the RFC 6962 tree).
//!
//! Proof hashes are ordered as `PATH(m, D[n])` and `PROOF(m, D[n])` build them: from the leaf
//! (or the old tree's subtree) upward to the root.
//!
//! Building a proof reads complete-subtree hashes through a [`HashReader`]. Subtrees that are
//! cut off by the tree's right edge are hashed here from the complete subtrees they decompose
//! into. [`Prover`] computes those right-edge hashes once per tree size, so a batch of proofs
//! against one checkpoint costs about `log2(size)` node reads each and no hashing.

use std::fmt::Write as _;

use crate::hash::{empty_root, fold_right_edge, node_hash, Hash};
use crate::ProofError;

/// Reads hashes of complete subtrees.
pub trait HashReader {
    /// The hash of the complete subtree over leaves `[index·2^level, (index+1)·2^level)`.
    ///
    /// Only complete subtrees inside the tree the proof is for are ever asked for.
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        (**self).node(level, index)
    }
}

/// A range of leaves `[start, end)` whose start is aligned to the smallest power of two at
/// least as big as its length: every subtree RFC 9162 proofs name has this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
}

/// The largest power of two strictly below `n` (`n >= 2`): RFC 9162's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The subtrees whose hashes make up `PATH(index, D[0:size])`, leaf upward.
fn inclusion_plan(index: u64, size: u64) -> Vec<Span> {
    let mut spans = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            spans.push(Span {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            spans.push(Span {
                start: lo,
                end: lo + k,
            });
            lo += k;
        }
    }
    spans.reverse();
    spans
}

/// The subtrees whose hashes make up `PROOF(old, D[0:new])` for `0 < old <= new`, bottom up.
fn consistency_plan(old: u64, new: u64) -> Vec<Span> {
    let mut spans = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, new);
    // `whole` is SUBPROOF's `b`: true while the current subtree's left edge is the tree's.
    let mut whole = true;
    while old != hi {
        let k = split_point(hi - lo);
        if old <= lo + k {
            spans.push(Span {
                start: lo + k,
                end: hi,
            });
            hi = lo + k;
        } else {
            spans.push(Span {
                start: lo,
                end: lo + k,
            });
            lo += k;
            whole = false;
        }
    }
    if !whole {
        spans.push(Span { start: lo, end: hi });
    }
    spans.reverse();
    spans
}

/// Builds proofs against one tree size, sharing the right-edge subtree hashes between them.
///
/// `new` reads the `popcount(size)` complete subtrees of the right edge and hashes them into
/// every truncated subtree a proof can name (`popcount(size) - 1` hashes). After that, each
/// proof costs one [`HashReader::node`] call per proof hash and no hashing: with a memoizing
/// reader such as [`TileHashReader`](crate::TileHashReader), a batch of proofs costs
/// O(batch · log size) lookups.
#[derive(Debug)]
pub struct Prover<R> {
    reader: R,
    size: u64,
    /// `(start, hash of [start, size))` for every boundary of the right edge, left to right.
    edge: Vec<(u64, Hash)>,
    root: Hash,
}

impl<R: HashReader> Prover<R> {
    /// Prepares proofs against the tree of `size` leaves that `reader` holds.
    pub fn new(reader: R, size: u64) -> Result<Self, ProofError> {
        let mut pieces = Vec::with_capacity(64);
        let mut starts = Vec::with_capacity(64);
        let mut pos = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                pieces.push(reader.node(level, pos >> level)?);
                starts.push(pos);
                pos += 1 << level;
            }
        }
        // Suffix folds: the hash of [starts[i], size) for every i.
        let mut edge = vec![(0u64, [0u8; 32]); pieces.len()];
        let mut acc: Option<Hash> = None;
        for i in (0..pieces.len()).rev() {
            let h = match acc {
                None => pieces[i],
                Some(right) => node_hash(&pieces[i], &right),
            };
            edge[i] = (starts[i], h);
            acc = Some(h);
        }
        let root = acc.unwrap_or_else(empty_root);
        Ok(Prover {
            reader,
            size,
            edge,
            root,
        })
    }

    /// The tree size proofs are built against.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree (`SHA-256("")` for the empty tree).
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The reader the proofs read from.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    fn span_hash(&self, span: Span) -> Result<Hash, ProofError> {
        let len = span.end - span.start;
        if len.is_power_of_two() {
            let level = len.trailing_zeros() as u8;
            return self.reader.node(level, span.start >> level);
        }
        // Only subtrees cut by the right edge are incomplete, and they start at an edge boundary.
        debug_assert_eq!(span.end, self.size);
        self.edge
            .iter()
            .find(|(start, _)| *start == span.start)
            .map(|(_, h)| *h)
            .ok_or(ProofError::NodeUnavailable {
                level: 63 - len.leading_zeros() as u8,
                index: span.start,
                reason: "not a subtree of the tree's right edge".into(),
            })
    }

    /// The inclusion proof `PATH(index, D[0:size])`, leaf upward.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, ProofError> {
        if index >= self.size {
            return Err(ProofError::IndexOutOfRange {
                index,
                size: self.size,
            });
        }
        inclusion_plan(index, self.size)
            .into_iter()
            .map(|s| self.span_hash(s))
            .collect()
    }

    /// The consistency proof `PROOF(old_size, D[0:size])`, bottom up.
    ///
    /// `old_size == size` gives the empty proof; `old_size == 0` is refused, as RFC 9162
    /// §2.1.4 defines proofs only for `0 < old_size`.
    pub fn consistency_proof(&self, old_size: u64) -> Result<Vec<Hash>, ProofError> {
        check_consistency_sizes(old_size, self.size)?;
        consistency_plan(old_size, self.size)
            .into_iter()
            .map(|s| self.span_hash(s))
            .collect()
    }
}

fn check_consistency_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeAfterNew { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    Ok(())
}

/// The inclusion proof for leaf `index` in the tree of `size` leaves.
///
/// For many proofs against one size, build one [`Prover`] instead.
pub fn inclusion_proof(index: u64, size: u64, reader: &impl HashReader) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Prover::new(reader, size)?.inclusion_proof(index)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves.
///
/// Empty when the sizes are equal; an error when `old_size` is 0 (see [`verify_consistency`]).
pub fn consistency_proof(
    old_size: u64,
    new_size: u64,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    Prover::new(reader, new_size)?.consistency_proof(old_size)
}

/// The root hash of the tree of `size` leaves (`SHA-256("")` when `size` is 0).
pub fn tree_root(size: u64, reader: &impl HashReader) -> Result<Hash, ProofError> {
    Ok(Prover::new(reader, size)?.root())
}

fn hex(h: &Hash) -> String {
    let mut s = String::with_capacity(64);
    for b in h {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The root that an inclusion proof leads to, checking only its shape (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_plan_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            // Unreachable after the length check; kept as the RFC's own guard.
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    debug_assert_eq!(s, 0);
    Ok(r)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`.
///
/// Strict: `index >= size` and a proof of the wrong length are errors before any hashing.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if &computed != root {
        return Err(ProofError::RootMismatch {
            expected: hex(root),
            computed: hex(&computed),
        });
    }
    Ok(())
}

/// The number of hashes in `PATH(index, D[0:size])`.
fn inclusion_plan_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut n) = (0u64, size, 0usize);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            hi = lo + k;
        } else {
            lo += k;
        }
        n += 1;
    }
    n
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// Edge cases, following RFC 9162: proofs exist only for `0 < old_size`, so `old_size == 0` is
/// [`ProofError::EmptyOldTree`] (a client that trusts nothing yet has nothing to check).
/// `old_size == new_size` needs the empty proof (`SUBPROOF(n, D[n], true)` is empty) and equal
/// roots. `old_size > new_size` and a proof of the wrong length are errors.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_consistency_sizes(old_size, new_size)?;
    let expected = consistency_plan(old_size, new_size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(ProofError::RootMismatch {
                expected: hex(new_root),
                computed: hex(old_root),
            });
        }
        return Ok(());
    }
    let (fr, sr) = roots_from_consistency_proof(old_size, new_size, old_root, proof)?;
    if &fr != old_root {
        return Err(ProofError::OldRootMismatch {
            expected: hex(old_root),
            computed: hex(&fr),
        });
    }
    if &sr != new_root {
        return Err(ProofError::RootMismatch {
            expected: hex(new_root),
            computed: hex(&sr),
        });
    }
    Ok(())
}

/// The (old, new) roots a consistency proof leads to, for `0 < old_size < new_size`, checking
/// only its shape (RFC 9162 §2.1.4.2). `old_root` is used only where the RFC prepends it (an
/// old size that is a power of two).
pub(crate) fn roots_from_consistency_proof(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash), ProofError> {
    debug_assert!(0 < old_size && old_size < new_size);
    let expected = consistency_plan(old_size, new_size).len();
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // When the old size is a power of two its root is the first node of the path.
    let first_is_old_root = old_size.is_power_of_two();
    let mut path = (first_is_old_root.then_some(old_root))
        .into_iter()
        .chain(proof.iter());
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let start = *path
        .next()
        .ok_or(ProofError::WrongProofLength { expected, got: 0 })?;
    let (mut fr, mut sr) = (start, start);
    for c in path {
        if s == 0 {
            // Unreachable after the length check; kept as the RFC's own guard.
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    debug_assert_eq!(s, 0);
    Ok((fr, sr))
}

/// An in-memory tree: every complete subtree hash, level by level.
///
/// Appending costs one leaf push plus one node hash per completed parent (amortised < 1);
/// [`HashReader::node`] is a lookup. Memory is about twice the leaf hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][k]` is the hash of the complete subtree at level `l`, index `k`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given leaf hashes.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for h in leaf_hashes {
            t.push_leaf_hash(h);
        }
        t
    }

    /// Appends a leaf by its data (hashed with [`leaf_hash`](crate::leaf_hash)); returns its index.
    pub fn push_data(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(crate::leaf_hash(data))
    }

    /// Appends a leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, h: Hash) -> u64 {
        let index = self.size();
        let mut level = 0;
        let mut h = h;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
            let n = self.levels[level].len();
            if n % 2 == 1 {
                break;
            }
            h = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            level += 1;
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The hash of leaf `index`.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(usize::try_from(index).ok()?).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size())
            .expect("every complete subtree of the tree is stored")
    }

    /// The root of the tree's first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        tree_root(size, self)
    }

    /// The inclusion proof of leaf `index` in the tree's first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        inclusion_proof(index, size, self)
    }

    /// The consistency proof between the tree's first `old_size` and first `new_size` leaves.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new_size)?;
        consistency_proof(old_size, new_size, self)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::NodeUnavailable {
                level: 0,
                index: size - 1,
                reason: format!("the tree holds {} leaves", self.size()),
            });
        }
        Ok(())
    }
}

impl HashReader for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| ProofError::NodeUnavailable {
                level,
                index,
                reason: format!("the tree holds {} leaves", self.size()),
            })
    }
}

/// Hashes a list of already-built complete subtrees into a root; used by the tile appender.
pub(crate) fn root_of_pieces(pieces: &[Hash]) -> Hash {
    fold_right_edge(pieces).unwrap_or_else(empty_root)
}

#[cfg(test)]
mod tests;
