//! A page of search results with their proofs: the entries at the matching log indices that
//! the log's latest checkpoint covers, each read from the log's store with its inclusion proof
//! computed from the log's hash tiles, against that checkpoint. Both search routes (the Rekor
//! v2 log's own and the all-logs one) answer from it, each in its own JSON shape.

use std::cell::RefCell;

use signet_log::storage::read_hash_tile;
use signet_log::LogStore;
use signet_tlog::{Checkpoint, FnTileSource, Hash, Prover, TileId};

use crate::indexer::LogFormat;

/// One entry and its proof.
pub struct ProvenEntry {
    pub log_index: u64,
    /// What the log's tree hashes for the entry ([`LogFormat::leaf_data`]).
    pub leaf: Vec<u8>,
    pub hashes: Vec<Hash>,
}

/// A page of entries proven against one checkpoint.
pub struct ProvenPage {
    /// The checkpoint's size and root, and the signed note.
    pub size: u64,
    pub root: Hash,
    pub note: String,
    pub entries: Vec<ProvenEntry>,
    /// The first matching index not on the page (the next page's start), if any.
    pub next: Option<u64>,
}

/// Proves the first `take` of `indices` (increasing) that the log's latest checkpoint covers;
/// `None` when the log has no checkpoint yet. An index the checkpoint does not cover (the
/// index can be a poll ahead of a reader's view only if the log went back, which the indexer
/// repairs) starts the next page.
pub fn prove_page(
    format: LogFormat,
    store: &mut dyn LogStore,
    indices: &[u64],
    take: usize,
) -> Result<Option<ProvenPage>, String> {
    let Some((size, note)) = store.latest_checkpoint().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let checkpoint =
        Checkpoint::from_note_unverified(&note).map_err(|e| format!("{} checkpoint: {e}", format.name()))?;
    let page: Vec<u64> = indices
        .iter()
        .copied()
        .take(take)
        .take_while(|&i| i < size)
        .collect();
    let next = indices.get(page.len()).copied();
    let mut leaves = Vec::with_capacity(page.len());
    for &i in &page {
        let stored = store
            .read_entries(i, 1)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or_else(|| format!("{} entry {i} is missing from the log", format.name()))?;
        leaves.push(format.leaf_data(&stored)?.into_owned());
    }
    let mut entries = Vec::with_capacity(page.len());
    if !page.is_empty() {
        let store = RefCell::new(store);
        let tiles = FnTileSource(|id: &TileId| read_hash_tile(&mut **store.borrow_mut(), id));
        let prover =
            Prover::over_tiles(&tiles, size).map_err(|e| format!("reading the tree at size {size}: {e}"))?;
        if prover.root() != checkpoint.root_hash {
            return Err(format!(
                "{}: tiles at size {size} do not give the checkpoint's root",
                format.name()
            ));
        }
        for (&i, leaf) in page.iter().zip(leaves) {
            let hashes = prover
                .inclusion_proof(i)
                .map_err(|e| format!("inclusion proof for {i}: {e}"))?;
            entries.push(ProvenEntry {
                log_index: i,
                leaf,
                hashes,
            });
        }
    }
    Ok(Some(ProvenPage {
        size,
        root: checkpoint.root_hash,
        note,
        entries,
        next,
    }))
}
