//! The transparency-log core of signet: RFC 6962 Merkle hashing and proofs, C2SP tlog-tiles,
//! signed notes, verifier keys, checkpoints and witness cosignatures. Pure: no I/O, no clocks, no async runtime; it depends only on
//! `signet-crypto` among signet crates, and storage reaches it through small traits.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[allow(missing_docs)] // error fields are described by each variant's message
mod error;

pub mod add_checkpoint;
mod checkpoint;
mod cosignature;
mod hash;
mod note;
mod proof;
mod tile;
mod vkey;
mod witness_policy;

pub use add_checkpoint::AddCheckpointRequest;
pub use checkpoint::{sign_checkpoint, verify_checkpoint, Checkpoint};
pub use cosignature::{
    cosignature_v1_message, CosignatureSigner, CosignatureVerifier, TimestampedSignature,
    COSIGNATURE_V1_HEADER, MAX_COSIGNATURE_TIMESTAMP,
};
pub use error::{CheckpointError, NoteError, ProofError, TileError};
pub use hash::{empty_root, leaf_hash, node_hash, Hash, HASH_SIZE};
pub use note::{
    check_key_name, note_key_hash, rekor_log_id, sign_note, verify_note, Note, NoteKeyType, NoteSignature,
    NoteSigner, NoteVerifier, VerifiedNote, MAX_SIGNATURES,
};
pub use proof::{
    consistency_proof, inclusion_proof, root_from_inclusion_proof, tree_root, verify_consistency,
    verify_inclusion, HashReader, MemoryTree, Prover,
};
pub use tile::{
    decode_entry_bundle, encode_entry_bundle, push_bundle_entry, right_edge_tiles, tiles_for_size,
    AppendResult, EntryBundleId, FnTileSource, MemoryTiles, Tile, TileHashReader, TileId, TileLevel,
    TilePath, TileSource, TreeAppender, MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH,
};
pub use vkey::{VerifierKey, SIGNATURE_TYPE_COSIGNATURE_V1, SIGNATURE_TYPE_ED25519};
pub use witness_policy::{PolicyWitness, WitnessCheck, WitnessPolicy, WitnessPolicyError};
