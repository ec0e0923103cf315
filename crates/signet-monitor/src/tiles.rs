//! Logs read as tiles: Rekor v2 (C2SP tlog-tiles: entry bundles of Rekor v2 bodies) and CT
//! logs' c2sp.org/static-ct-api (data tiles of `TileLeaf`s). Proofs are built from hash
//! tiles; only the checkpoint's signature and the entry tiles' format differ.

use signet_tlog::{
    verify_checkpoint, Checkpoint, EntryBundleId, Hash, ProofError, Prover, TileHashReader, TILE_WIDTH,
};

use crate::ct::verify_static_ct_checkpoint;
use crate::follow::{CtLogKey, EntryFormat, Fail, Head, Included, LogTarget, Protocol};
use crate::report::Check;
use crate::source::{LogSource, Tiles};
use crate::tree::CompactRange;

type ProverT<'a, S> = Prover<TileHashReader<&'a Tiles<'a, S>>>;

/// How checkpoints verify and entry tiles read.
enum Flavour<'a> {
    RekorV2 { target: &'a LogTarget },
    StaticCt { key: &'a CtLogKey },
}

/// A tiles log as a [`Protocol`].
pub struct TilesProtocol<'a, S: ?Sized> {
    tiles: &'a Tiles<'a, S>,
    flavour: Flavour<'a>,
    prover: Option<ProverT<'a, S>>,
}

impl<'a, S: LogSource + ?Sized> TilesProtocol<'a, S> {
    /// A Rekor v2 log: `target`'s checkpoint origins and keys.
    pub fn rekor_v2(target: &'a LogTarget, tiles: &'a Tiles<'a, S>) -> Self {
        TilesProtocol {
            tiles,
            flavour: Flavour::RekorV2 { target },
            prover: None,
        }
    }

    /// A static-ct-api log signed by `key`. `tiles` must read data tiles (`tile/data/...`).
    pub fn static_ct(key: &'a CtLogKey, tiles: &'a Tiles<'a, S>) -> Self {
        TilesProtocol {
            tiles,
            flavour: Flavour::StaticCt { key },
            prover: None,
        }
    }

    fn prover(&self) -> Result<&ProverT<'a, S>, Fail> {
        self.prover
            .as_ref()
            .ok_or_else(|| Fail::error(None, Check::Tile, "no tree opened (a bug)"))
    }
}

/// A proof that could not be built: a tile that could not be had or was malformed is an
/// error; anything else the tiles say is the log's.
fn proof_fail(index: Option<u64>, what: &str, e: ProofError) -> Fail {
    match e {
        ProofError::Tile(t) => Fail::error(index, Check::Tile, format!("{what}: {t}")),
        ProofError::NodeUnavailable { .. } => Fail::error(index, Check::Tile, format!("{what}: {e}")),
        other => Fail::alert(index, Check::TilesRoot, format!("{what}: {other}")),
    }
}

impl<'a, S: LogSource + ?Sized> Protocol for TilesProtocol<'a, S> {
    fn format(&self) -> EntryFormat {
        match self.flavour {
            Flavour::RekorV2 { .. } => EntryFormat::RekorV2,
            Flavour::StaticCt { .. } => EntryFormat::Ct,
        }
    }

    fn head(&mut self) -> Result<Head, Fail> {
        let envelope = self
            .tiles
            .source()
            .checkpoint()
            .map_err(|e| Fail::error(None, Check::CheckpointFetch, e.to_string()))?;
        let checkpoint = match &self.flavour {
            Flavour::RekorV2 { target } => verify_rekor_v2_checkpoint(&envelope, target)?,
            Flavour::StaticCt { key } => verify_static_ct_checkpoint(&envelope, key)
                .map_err(|e| Fail::error(None, Check::CheckpointSignature, e))?,
        };
        Ok(Head {
            size: checkpoint.size,
            root: checkpoint.root_hash,
            envelope,
        })
    }

    fn open(&mut self, head: &Head) -> Result<(), Fail> {
        let prover = Prover::over_tiles(self.tiles, head.size)
            .map_err(|e| proof_fail(None, "reading the tree's right edge from hash tiles", e))?;
        if prover.root() != head.root {
            return Err(Fail::alert(
                None,
                Check::TilesRoot,
                format!(
                    "the hash tiles of the tree of size {} give root {}, the signed checkpoint says {}",
                    head.size,
                    hex::encode(prover.root()),
                    hex::encode(head.root)
                ),
            ));
        }
        self.prover = Some(prover);
        Ok(())
    }

    fn consistency(&mut self, old_size: u64, _head: &Head) -> Result<Vec<Hash>, Fail> {
        self.prover()?
            .consistency_proof(old_size)
            .map_err(|e| proof_fail(None, "building the consistency proof from hash tiles", e))
    }

    fn range_at(&mut self, size: u64, _head: &Head) -> Result<CompactRange, Fail> {
        CompactRange::from_reader(size, self.prover()?.reader())
            .map_err(|e| proof_fail(Some(size), "reading the tree at the start index", e))
    }

    fn batch_end(&self, start: u64, limit: u64, batch: u64) -> u64 {
        // Whole bundles: to the end of the first one, or `batch` entries from its start.
        let width = u64::from(TILE_WIDTH);
        ((start / width + 1) * width)
            .max(start - start % width + batch)
            .min(limit)
    }

    fn entries(&mut self, start: u64, end: u64, head: &Head) -> Result<Vec<Vec<u8>>, Fail> {
        let width = u64::from(TILE_WIDTH);
        let mut out = Vec::with_capacity((end - start) as usize);
        for n in start / width..=(end - 1) / width {
            let w = (head.size - n * width).min(width) as u16;
            let first = n * width;
            let id = EntryBundleId { index: n, width: w };
            let bytes = self
                .tiles
                .source()
                .entry_bundle(&id)
                .map_err(|e| Fail::error(Some(first), Check::EntryBundle, e.to_string()))?;
            let entries = match self.flavour {
                Flavour::RekorV2 { .. } => signet_tlog::decode_entry_bundle(&bytes)
                    .map(|v| v.into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
                    .map_err(|e| e.to_string()),
                Flavour::StaticCt { .. } => signet_x509::static_ct::decode_data_tile(&bytes)
                    .map(|v| v.iter().map(|l| l.merkle_tree_leaf()).collect())
                    .map_err(|e| e.to_string()),
            }
            .map_err(|e| Fail::error(Some(first), Check::EntryBundle, format!("entry bundle {n}: {e}")))?;
            // Exactly the width, or a full tile standing in for a partial one.
            if entries.len() as u64 != u64::from(w) && entries.len() != usize::from(TILE_WIDTH) {
                return Err(Fail::error(
                    Some(first),
                    Check::EntryBundle,
                    format!(
                        "entry bundle {n} holds {} entries; its width in the tree is {w}",
                        entries.len()
                    ),
                ));
            }
            let lo = start.max(first);
            let hi = end.min(first + u64::from(w));
            out.extend(
                entries
                    .into_iter()
                    .skip((lo - first) as usize)
                    .take((hi - lo) as usize),
            );
        }
        Ok(out)
    }

    fn inclusion(&mut self, index: u64, _leaf: &Hash, head: &Head) -> Result<Included, Fail> {
        let hashes = self
            .prover()?
            .inclusion_proof(index)
            .map_err(|e| proof_fail(Some(index), "building the inclusion proof from hash tiles", e))?;
        Ok(Included {
            hashes,
            size: head.size,
            root: head.root,
            envelope: head.envelope.clone(),
        })
    }
}

/// A Rekor v2 checkpoint: its origin one of the log's names, signed by one of its keys.
fn verify_rekor_v2_checkpoint(envelope: &str, target: &LogTarget) -> Result<Checkpoint, Fail> {
    let fail = |m: String| Fail::error(None, Check::CheckpointSignature, m);
    let claimed = signet_tlog::Note::parse(envelope)
        .map_err(|e| fail(e.to_string()))
        .and_then(|n| Checkpoint::parse(n.text()).map_err(|e| fail(e.to_string())))?
        .origin;
    let Some(expected) = target.checkpoint_origins.iter().find(|o| **o == claimed) else {
        return Err(fail(format!(
            "checkpoint origin {claimed:?} is not this log's ({})",
            target.checkpoint_origins.join(", ")
        )));
    };
    verify_checkpoint(envelope, expected, &target.verifiers).map_err(|e| fail(e.to_string()))
}
