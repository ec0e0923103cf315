//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile paths, hash tiles, entry bundles, the
//! incremental appender of the log's write path, and a [`HashReader`] over tiles.
//!
//! A tile at level `L`, index `N` holds up to 256 consecutive node hashes at tree level `8·L`,
//! starting at node `256·N`. A tile with fewer than 256 hashes is partial, and only the
//! rightmost tile of each level can be.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::hash::{node_hash, Hash, HASH_SIZE};
use crate::proof::{root_of_pieces, HashReader};
use crate::{ProofError, TileError};

/// Tile height: each tile spans 8 tree levels.
pub const TILE_HEIGHT: u8 = 8;
/// Full tile width: 256 hashes (or entries, for an entry bundle).
pub const TILE_WIDTH: u16 = 256;
/// The highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// A Merkle tree tile: `tile/<level>/<index>[.p/<width>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level `L`: the tile holds node hashes at tree level `8·L`.
    pub level: u8,
    /// Tile index `N` within its level.
    pub index: u64,
    /// Number of hashes, 1 to 256; below 256 the tile is partial.
    pub width: u16,
}

/// An entry bundle: `tile/entries/<index>[.p/<width>]`, the entries under level-0 tile `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryBundleId {
    /// Bundle index `N`: entries `256·N` to `256·N + width - 1`.
    pub index: u64,
    /// Number of entries, 1 to 256; below 256 the bundle is partial.
    pub width: u16,
}

/// Either kind of resource under `tile/`, as a request path names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// A Merkle tree hash tile.
    Hash(TileId),
    /// An entry bundle.
    Entries(EntryBundleId),
}

fn check_width(width: u16) -> Result<(), TileError> {
    if width == 0 || width > TILE_WIDTH {
        return Err(TileError::BadWidth { width });
    }
    Ok(())
}

/// Writes `index` as 3-digit path elements, all but the last prefixed with `x`.
fn push_index(out: &mut String, index: u64) {
    let mut groups = Vec::with_capacity(7);
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
}

fn push_width(out: &mut String, width: u16) {
    if width < TILE_WIDTH {
        out.push_str(&format!(".p/{width}"));
    }
}

impl TileId {
    /// A tile id, checking the level (0..=63) and width (1..=256).
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::BadLevel { level });
        }
        check_width(width)?;
        Ok(TileId { level, index, width })
    }

    /// True when the tile holds all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The request path, `tile/<L>/<N>[.p/<W>]`, e.g. `tile/0/x001/x234/067.p/8`.
    pub fn path(&self) -> String {
        let mut s = format!("tile/{}/", self.level);
        push_index(&mut s, self.index);
        push_width(&mut s, self.width);
        s
    }

    /// Parses a hash tile path; entry bundle paths and anything non-canonical are refused.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        match TilePath::parse(path)? {
            TilePath::Hash(id) => Ok(id),
            TilePath::Entries(_) => Err(malformed(path, "an entry bundle, not a hash tile")),
        }
    }

    /// The width this tile has in the tree of `size` leaves, or `None` if the tree has none of
    /// its hashes yet.
    pub fn width_in_tree(level: u8, index: u64, size: u64) -> Option<u16> {
        let hashes = hashes_at_tile_level(level, size);
        let start = index.checked_mul(u64::from(TILE_WIDTH))?;
        if hashes <= start {
            return None;
        }
        Some((hashes - start).min(u64::from(TILE_WIDTH)) as u16)
    }

    /// True when the tree of `size` leaves has exactly this tile (same width).
    pub fn is_in_tree(&self, size: u64) -> bool {
        Self::width_in_tree(self.level, self.index, size) == Some(self.width)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl EntryBundleId {
    /// An entry bundle id, checking the width (1..=256).
    pub fn new(index: u64, width: u16) -> Result<Self, TileError> {
        check_width(width)?;
        Ok(EntryBundleId { index, width })
    }

    /// The request path, `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut s = String::from("tile/entries/");
        push_index(&mut s, self.index);
        push_width(&mut s, self.width);
        s
    }

    /// Parses an entry bundle path.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        match TilePath::parse(path)? {
            TilePath::Entries(id) => Ok(id),
            TilePath::Hash(_) => Err(malformed(path, "a hash tile, not an entry bundle")),
        }
    }

    /// The level-0 hash tile whose hashes are the leaf hashes of this bundle's entries.
    pub fn hash_tile(&self) -> TileId {
        TileId {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }
}

impl fmt::Display for EntryBundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn malformed(path: &str, reason: &'static str) -> TileError {
    TileError::MalformedPath {
        path: path.chars().take(200).collect(),
        reason,
    }
}

/// Parses a canonical decimal without leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

impl TilePath {
    /// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` strictly: levels 0..=63 and
    /// widths 1..=255 without leading zeros, `N` in 3-digit groups with `x` on all but the last
    /// and no leading `x000` group. Never panics.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| malformed(path, "does not start with tile/"))?;
        let (level, rest) = match rest.strip_prefix("entries/") {
            Some(r) => (None, r),
            None => {
                let (l, r) = rest
                    .split_once('/')
                    .ok_or_else(|| malformed(path, "no index after the level"))?;
                let level = parse_decimal(l)
                    .filter(|l| *l <= u64::from(MAX_TILE_LEVEL))
                    .ok_or_else(|| malformed(path, "level is not a decimal 0..=63 without leading zeros"))?;
                (Some(level as u8), r)
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w = parse_decimal(w)
                    .filter(|w| (1..u64::from(TILE_WIDTH)).contains(w))
                    .ok_or_else(|| {
                        malformed(
                            path,
                            "partial width is not a decimal 1..=255 without leading zeros",
                        )
                    })?;
                (n, w as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let groups: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *g
            } else {
                g.strip_prefix('x')
                    .ok_or_else(|| malformed(path, "index element other than the last lacks the x prefix"))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed(path, "index element is not 3 digits"));
            }
            if i == 0 && !last && digits == "000" {
                return Err(malformed(path, "index has a leading x000 element"));
            }
            let v: u64 = digits
                .parse()
                .map_err(|_| malformed(path, "index element is not 3 digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(v))
                .ok_or_else(|| malformed(path, "index overflows 64 bits"))?;
        }
        Ok(match level {
            Some(level) => TilePath::Hash(TileId { level, index, width }),
            None => TilePath::Entries(EntryBundleId { index, width }),
        })
    }

    /// The canonical path.
    pub fn path(&self) -> String {
        match self {
            TilePath::Hash(t) => t.path(),
            TilePath::Entries(e) => e.path(),
        }
    }
}

/// The number of node hashes at tree level `8·level` in a tree of `size` leaves.
fn hashes_at_tile_level(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

/// The tiles of one level in a tree of some size: `full_tiles` full tiles (indices
/// `0..full_tiles`) and, when `partial_width > 0`, one partial tile after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileLevel {
    /// The tile level.
    pub level: u8,
    /// Number of full tiles.
    pub full_tiles: u64,
    /// Width of the partial tile, 0 when there is none.
    pub partial_width: u16,
}

impl TileLevel {
    /// The partial tile, if there is one.
    pub fn partial(&self) -> Option<TileId> {
        (self.partial_width > 0).then_some(TileId {
            level: self.level,
            index: self.full_tiles,
            width: self.partial_width,
        })
    }

    /// Every tile of the level, full ones first.
    pub fn tiles(&self) -> impl Iterator<Item = TileId> + '_ {
        let level = self.level;
        (0..self.full_tiles)
            .map(move |index| TileId {
                level,
                index,
                width: TILE_WIDTH,
            })
            .chain(self.partial())
    }
}

/// Which tiles the tree of `size` leaves has, level by level (level 0 first; none for size 0).
///
/// Entry bundles mirror level 0 (see [`EntryBundleId`] and [`EntryBundleId::hash_tile`]).
pub fn tiles_for_size(size: u64) -> Vec<TileLevel> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let hashes = hashes_at_tile_level(level, size);
        if hashes == 0 {
            break;
        }
        out.push(TileLevel {
            level,
            full_tiles: hashes / u64::from(TILE_WIDTH),
            partial_width: (hashes % u64::from(TILE_WIDTH)) as u16,
        });
    }
    out
}

/// The partial tiles of the tree of `size` leaves: what [`TreeAppender::from_right_edge`]
/// reads to restore the appender.
pub fn right_edge_tiles(size: u64) -> Vec<TileId> {
    tiles_for_size(size)
        .iter()
        .filter_map(TileLevel::partial)
        .collect()
}

/// A hash tile and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    /// Which tile.
    pub id: TileId,
    /// Its `id.width` hashes.
    pub hashes: Vec<Hash>,
}

impl Tile {
    /// The tile's bytes as served: the hashes concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.concat()
    }

    /// Reads a tile's bytes, which must be exactly `id.width` hashes.
    pub fn from_bytes(id: TileId, bytes: &[u8]) -> Result<Self, TileError> {
        let expected = usize::from(id.width) * HASH_SIZE;
        if bytes.len() != expected {
            return Err(TileError::BadTileLength {
                path: id.path(),
                width: id.width,
                expected,
                got: bytes.len(),
            });
        }
        let hashes = bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| c.try_into().expect("chunks are 32 bytes"))
            .collect();
        Ok(Tile { id, hashes })
    }
}

/// Encodes an entry bundle: each entry prefixed by its length as a big-endian uint16.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    if entries.len() > usize::from(TILE_WIDTH) {
        return Err(TileError::TooManyEntries { count: entries.len() });
    }
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge { len: e.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Appends one length-prefixed entry to a bundle being built (for appending to a partial bundle).
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileError> {
    let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge { len: entry.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Decodes an entry bundle into its entries (at most 256), borrowing from `bytes`.
pub fn decode_entry_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let available = bytes.len() - pos;
        if available < 2 {
            return Err(TileError::TruncatedBundle {
                offset: pos,
                needed: 2,
                available,
            });
        }
        let len = usize::from(u16::from_be_bytes([bytes[pos], bytes[pos + 1]]));
        pos += 2;
        let available = bytes.len() - pos;
        if available < len {
            return Err(TileError::TruncatedBundle {
                offset: pos,
                needed: len,
                available,
            });
        }
        if out.len() == usize::from(TILE_WIDTH) {
            return Err(TileError::TooManyEntries { count: out.len() + 1 });
        }
        out.push(&bytes[pos..pos + len]);
        pos += len;
    }
    Ok(out)
}

/// Where a [`TileHashReader`] or [`TreeAppender::from_right_edge`] gets tiles from: a
/// database, a file tree, an object store, a cache, or a closure.
pub trait TileSource {
    /// The hashes of tile `id` as stored: at least `id.width` of them. A wider version of the
    /// tile (e.g. the full tile where a partial one is asked for) is fine, extra hashes are
    /// ignored. Return [`TileError::Unavailable`] when the tile cannot be had.
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError>;
}

impl<T: TileSource + ?Sized> TileSource for &T {
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        (**self).tile(id)
    }
}

/// A [`TileSource`] made of a closure: `FnTileSource(|id| storage.read(id))`.
pub struct FnTileSource<F>(pub F);

impl<F> TileSource for FnTileSource<F>
where
    F: Fn(&TileId) -> Result<Vec<Hash>, TileError>,
{
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        (self.0)(id)
    }
}

/// Tiles held in memory, keyed by level and index; keeps the widest version of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTiles {
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl MemoryTiles {
    /// No tiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores a tile unless a wider version of it is already held.
    pub fn insert(&mut self, tile: Tile) {
        let slot = self.tiles.entry((tile.id.level, tile.id.index)).or_default();
        if tile.hashes.len() >= slot.len() {
            *slot = tile.hashes;
        }
    }

    /// Stores every tile.
    pub fn extend(&mut self, tiles: impl IntoIterator<Item = Tile>) {
        for t in tiles {
            self.insert(t);
        }
    }

    /// The widest version of every tile held, in (level, index) order.
    pub fn tiles(&self) -> impl Iterator<Item = Tile> + '_ {
        self.tiles.iter().map(|((level, index), hashes)| Tile {
            id: TileId {
                level: *level,
                index: *index,
                width: hashes.len() as u16,
            },
            hashes: hashes.clone(),
        })
    }

    /// Number of tiles held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// True when no tile is held.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl TileSource for MemoryTiles {
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        match self.tiles.get(&(id.level, id.index)) {
            Some(h) if h.len() >= usize::from(id.width) => Ok(h.clone()),
            Some(h) => Err(TileError::TileTooNarrow {
                path: id.path(),
                needed: id.width,
                got: h.len(),
            }),
            None => Err(TileError::Unavailable {
                path: id.path(),
                reason: "not held in memory".into(),
            }),
        }
    }
}

/// A tile's hashes and the 7 levels of node hashes inside it: `levels[j]` holds the
/// `width >> j` complete nodes at tree level `8·L + j`.
type ExpandedTile = Vec<Vec<Hash>>;

fn expand_tile(hashes: Vec<Hash>) -> ExpandedTile {
    let mut levels = Vec::with_capacity(usize::from(TILE_HEIGHT));
    levels.push(hashes);
    for j in 1..usize::from(TILE_HEIGHT) {
        let next: Vec<Hash> = levels[j - 1]
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
        levels.push(next);
    }
    levels
}

/// A [`HashReader`] for the tree of one size, reading tiles from a [`TileSource`].
///
/// Each tile is fetched once and expanded once (at most 255 node hashes), then kept: every
/// node inside it is a lookup from then on. A node at level `8·L + j` is read from the level-`L`
/// tile. Build one reader per batch of proofs (wrap it in a [`Prover`](crate::Prover)); the
/// cache holds every tile touched, about 16 KiB each, until [`clear_cache`](Self::clear_cache)
/// or drop. Not `Sync`: the cache uses a `RefCell`.
pub struct TileHashReader<S> {
    source: S,
    size: u64,
    cache: RefCell<HashMap<TileId, ExpandedTile>>,
}

impl<S: TileSource> TileHashReader<S> {
    /// A reader for the tree of `size` leaves.
    pub fn new(source: S, size: u64) -> Self {
        TileHashReader {
            source,
            size,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// The tree size this reader serves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Moves to another tree size; full tiles stay cached (they never change).
    pub fn set_size(&mut self, size: u64) {
        self.size = size;
        self.cache.get_mut().retain(|id, _| id.is_full());
    }

    /// Drops every cached tile.
    pub fn clear_cache(&mut self) {
        self.cache.get_mut().clear();
    }

    /// The source tiles come from.
    pub fn source(&self) -> &S {
        &self.source
    }
}

impl<S: TileSource> HashReader for TileHashReader<S> {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let unavailable = |reason: String| ProofError::NodeUnavailable { level, index, reason };
        if level > 63 {
            return Err(unavailable("level above 63".into()));
        }
        let end = index
            .checked_add(1)
            .and_then(|n| n.checked_mul(1u64 << level))
            .ok_or_else(|| unavailable("node beyond 2^64 leaves".into()))?;
        if end > self.size {
            return Err(unavailable(format!(
                "not a complete subtree of the tree of size {}",
                self.size
            )));
        }
        let tile_level = level / TILE_HEIGHT;
        let sub = u32::from(level % TILE_HEIGHT);
        let per_tile = u64::from(TILE_WIDTH) >> sub;
        let id = TileId {
            level: tile_level,
            index: index / per_tile,
            width: TileId::width_in_tree(tile_level, index / per_tile, self.size)
                .expect("a complete node lies inside the tree's tiles"),
        };
        let pos = (index % per_tile) as usize;
        if let Some(t) = self.cache.borrow().get(&id) {
            return Ok(t[sub as usize][pos]);
        }
        let mut hashes = self.source.tile(&id)?;
        if hashes.len() < usize::from(id.width) {
            return Err(TileError::TileTooNarrow {
                path: id.path(),
                needed: id.width,
                got: hashes.len(),
            }
            .into());
        }
        hashes.truncate(usize::from(id.width));
        let expanded = expand_tile(hashes);
        let h = expanded[sub as usize][pos];
        self.cache.borrow_mut().insert(id, expanded);
        Ok(h)
    }
}

impl<S: TileSource> crate::Prover<TileHashReader<S>> {
    /// A prover for the tree of `size` leaves reading tiles from `source`: shorthand for
    /// `Prover::new(TileHashReader::new(source, size), size)`.
    pub fn over_tiles(source: S, size: u64) -> Result<Self, ProofError> {
        crate::Prover::new(TileHashReader::new(source, size), size)
    }
}

/// What one [`TreeAppender::append`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// The new tree size.
    pub size: u64,
    /// The new root hash.
    pub root: Hash,
    /// Every tile whose contents changed, to be written: the full tiles completed by this
    /// append (in completion order), then the new partial tile of each level that grew.
    pub tiles: Vec<Tile>,
}

/// The log's write path: the right edge of the tree, grown a batch at a time.
///
/// Holds the partial tile of each level (at most 255 hashes per level, a few KiB for any tree)
/// and, per level, the complete subtrees those hashes form (at most 8). Appending `k` leaves
/// costs about `k·(1 + 1/255)` node hashes, whatever the batch size; the root is a fold of at
/// most 8 hashes per level. Each call clones the partial tiles that grew (≤ 8 KiB per level),
/// so one call per batch is cheaper than one per leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeAppender {
    size: u64,
    /// `edge[L]` holds the hashes of the partial tile at level `L` (possibly none).
    edge: Vec<Vec<Hash>>,
    /// `ranges[L]`: the complete subtrees over `edge[L]`, left to right, as (hash, height).
    ranges: Vec<Vec<(Hash, u8)>>,
}

impl TreeAppender {
    /// The appender of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores the appender of the tree of `size` leaves from its partial tiles (the tiles
    /// [`right_edge_tiles`] names), read from `source`. Costs up to 255 hashes per level.
    ///
    /// Nothing here can check that the tiles belong to a tree whose root was signed: compare
    /// [`root`](Self::root) with the log's latest checkpoint before appending.
    pub fn from_right_edge(size: u64, source: &impl TileSource) -> Result<Self, TileError> {
        let levels = tiles_for_size(size);
        let mut app = TreeAppender {
            size,
            edge: vec![Vec::new(); levels.len()],
            ranges: vec![Vec::new(); levels.len()],
        };
        for level in levels {
            if let Some(id) = level.partial() {
                let mut hashes = source.tile(&id)?;
                if hashes.len() < usize::from(id.width) {
                    return Err(TileError::TileTooNarrow {
                        path: id.path(),
                        needed: id.width,
                        got: hashes.len(),
                    });
                }
                hashes.truncate(usize::from(id.width));
                let l = usize::from(level.level);
                for h in &hashes {
                    // A partial tile never completes, so merging stops below height 8.
                    push_range(&mut app.ranges[l], *h);
                }
                app.edge[l] = hashes;
            }
        }
        Ok(app)
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The partial tiles of the current tree, level 0 first.
    pub fn right_edge(&self) -> Vec<Tile> {
        self.edge
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty())
            .map(|(level, hashes)| self.partial_tile(level as u8, hashes.clone()))
            .collect()
    }

    fn partial_tile(&self, level: u8, hashes: Vec<Hash>) -> Tile {
        Tile {
            id: TileId {
                level,
                index: hashes_at_tile_level(level, self.size) / u64::from(TILE_WIDTH),
                width: hashes.len() as u16,
            },
            hashes,
        }
    }

    /// The root hash of the current tree: the right edge's complete subtrees, folded.
    pub fn root(&self) -> Hash {
        let pieces: Vec<Hash> = self
            .ranges
            .iter()
            .rev()
            .flat_map(|r| r.iter().map(|(h, _)| *h))
            .collect();
        root_of_pieces(&pieces)
    }

    /// Appends leaf hashes; returns the new size and root and every tile that changed.
    pub fn append(&mut self, leaf_hashes: &[Hash]) -> Result<AppendResult, TileError> {
        self.size
            .checked_add(leaf_hashes.len() as u64)
            .ok_or(TileError::SizeOverflow)?;
        let mut tiles = Vec::new();
        let mut grew = Vec::new();
        for h in leaf_hashes {
            self.size += 1;
            self.push(0, *h, &mut tiles, &mut grew);
        }
        for (level, _) in grew.iter().enumerate().filter(|(_, g)| **g) {
            let hashes = &self.edge[level];
            if !hashes.is_empty() {
                tiles.push(self.partial_tile(level as u8, hashes.clone()));
            }
        }
        Ok(AppendResult {
            size: self.size,
            root: self.root(),
            tiles,
        })
    }

    fn push(&mut self, level: usize, h: Hash, tiles: &mut Vec<Tile>, grew: &mut Vec<bool>) {
        if self.edge.len() <= level {
            self.edge.resize_with(level + 1, Vec::new);
            self.ranges.resize_with(level + 1, Vec::new);
        }
        if grew.len() <= level {
            grew.resize(level + 1, false);
        }
        grew[level] = true;
        self.edge[level].push(h);
        if let Some(tile_root) = push_range(&mut self.ranges[level], h) {
            let hashes = std::mem::take(&mut self.edge[level]);
            let index = hashes_at_tile_level(level as u8, self.size) / u64::from(TILE_WIDTH) - 1;
            tiles.push(Tile {
                id: TileId {
                    level: level as u8,
                    index,
                    width: TILE_WIDTH,
                },
                hashes,
            });
            self.push(level + 1, tile_root, tiles, grew);
        }
    }
}

/// Pushes a hash onto a compact range of complete subtrees, merging equal heights like a
/// binary counter. Returns the tile's root (and empties the range) when it reaches height 8.
fn push_range(range: &mut Vec<(Hash, u8)>, h: Hash) -> Option<Hash> {
    let (mut h, mut height) = (h, 0u8);
    while let Some(&(left, lh)) = range.last() {
        if lh != height {
            break;
        }
        range.pop();
        h = node_hash(&left, &h);
        height += 1;
    }
    if height == TILE_HEIGHT {
        debug_assert!(range.is_empty());
        return Some(h);
    }
    range.push((h, height));
    None
}

#[cfg(test)]
mod tests;
