//! One error enum per concern; each variant names the check, what was seen and what was expected.

use thiserror::Error;

/// Why a Merkle proof could not be built or did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// An inclusion proof was asked for, or checked against, a leaf outside the tree.
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof from a bigger tree to a smaller one.
    #[error("old tree size {old_size} is larger than the new tree size {new_size}")]
    OldSizeAfterNew { old_size: u64, new_size: u64 },
    /// RFC 9162 §2.1.4 defines consistency proofs only from a non-empty old tree.
    #[error("consistency proofs are defined for old tree sizes above 0 (RFC 9162 §2.1.4), old size is 0")]
    EmptyOldTree,
    /// The proof does not have the number of hashes the sizes (and index) call for.
    #[error("proof has {got} hashes, these sizes call for exactly {expected}")]
    WrongProofLength { expected: usize, got: usize },
    /// The root computed from the proof is not the expected root.
    #[error("root computed from the proof is {computed}, expected {expected}")]
    RootMismatch { expected: String, computed: String },
    /// The old root computed from a consistency proof is not the expected old root.
    #[error("old root computed from the consistency proof is {computed}, expected {expected}")]
    OldRootMismatch { expected: String, computed: String },
    /// A proof was asked for a tree of size 0, which has no leaves and no proofs.
    #[error("the empty tree has no inclusion proofs")]
    EmptyTree,
    /// A [`HashReader`](crate::HashReader) could not produce a node hash.
    #[error("node at level {level}, index {index} is not available: {reason}")]
    NodeUnavailable { level: u8, index: u64, reason: String },
    /// A tile needed for the node could not be read.
    #[error(transparent)]
    Tile(#[from] TileError),
}

/// Why a tile path, tile, entry bundle or right edge was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TileError {
    /// A path does not follow `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("malformed tile path {path:?}: {reason}")]
    MalformedPath { path: String, reason: &'static str },
    /// A tile's width must be 1 to 256.
    #[error("tile width {width} is outside 1..=256")]
    BadWidth { width: u16 },
    /// Tile levels are 0 to 63 (C2SP tlog-tiles).
    #[error("tile level {level} is above 63")]
    BadLevel { level: u8 },
    /// A tile's bytes are not `width` hashes.
    #[error("tile {path} is {got} bytes, expected {expected} ({width} hashes of 32 bytes)")]
    BadTileLength {
        path: String,
        width: u16,
        expected: usize,
        got: usize,
    },
    /// A tile source returned fewer hashes than the tile needs.
    #[error("tile {path} has {got} hashes, at least {needed} are needed")]
    TileTooNarrow { path: String, needed: u16, got: usize },
    /// A tile source could not provide a tile.
    #[error("tile {path} is not available: {reason}")]
    Unavailable { path: String, reason: String },
    /// An entry longer than a uint16 length prefix can carry.
    #[error("entry is {len} bytes, an entry bundle holds entries of at most 65535 bytes")]
    EntryTooLarge { len: usize },
    /// An entry bundle with more entries than a tile is wide.
    #[error("entry bundle holds {count} entries, at most 256 allowed")]
    TooManyEntries { count: usize },
    /// An entry bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated at byte {offset}: needed {needed} more bytes, {available} left")]
    TruncatedBundle {
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// Appending would overflow the tree size.
    #[error("tree size would overflow 2^64-1")]
    SizeOverflow,
}

/// Why a signed note was refused, or could not be signed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteError {
    /// Notes must not contain ASCII control characters other than newline.
    #[error("note contains control character {byte:#04x} at byte {offset}; only newline is allowed")]
    ControlCharacter { offset: usize, byte: u8 },
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line separating the text from the signatures")]
    MissingSeparator,
    /// The note text is empty or does not end in a newline.
    #[error("note text must be non-empty and end in a newline")]
    TextNotNewlineTerminated,
    /// The signature block is empty: a signed note needs at least one signature line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// The signature block does not end in a newline.
    #[error("the last signature line does not end in a newline")]
    SignaturesNotNewlineTerminated,
    /// More signature lines than this parser accepts.
    #[error("note has more than {limit} signature lines")]
    TooManySignatures { limit: usize },
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignatureLine { line: usize, reason: &'static str },
    /// Key names must be non-empty and contain no whitespace and no '+'.
    #[error("invalid key name {name:?}: names are non-empty, without spaces or '+'")]
    InvalidKeyName { name: String },
    /// A signature by a known key (name and key hash match) did not verify.
    #[error("signature by known key {name} ({key_hash:08x}) does not verify")]
    BadSignature { name: String, key_hash: u32 },
    /// No signature by any known key was present.
    #[error("no signature by a known key: found signatures by [{found}], known keys are [{known}]")]
    NoKnownSignature { found: String, known: String },
    /// A key type the note signature scheme does not support.
    #[error("unsupported key for note signatures: {0}")]
    UnsupportedKey(String),
    /// Signing failed in the crypto layer.
    #[error("signing the note failed: {0}")]
    Signing(signet_crypto::CryptoError),
    /// The note signer's key (in a token, a KMS) could not sign; see
    /// [`signet_crypto::SignerError::is_unavailable`] for a key that is only out of reach.
    #[error("signing the note failed: {0}")]
    Signer(signet_crypto::SignerError),
    /// A verifier key is not `<name>+<hex key ID>+<base64(type || key)>`.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey { reason: &'static str },
    /// A verifier key of another signature type than the one asked for.
    #[error("verifier key has signature type {found:#04x}, expected {expected:#04x}")]
    WrongVerifierKeyType { found: u8, expected: u8 },
    /// A verifier key whose stated key ID is not the one its name and key give.
    #[error("verifier key states key ID {stated:08x}, but its name and key give {computed:08x}")]
    VerifierKeyIdMismatch { stated: u32, computed: u32 },
    /// A cosignature's bytes are not a timestamp and an Ed25519 signature.
    #[error("cosignature is {len} bytes, a cosignature/v1 timestamped signature is {expected}")]
    MalformedCosignature { len: usize, expected: usize },
    /// A cosignature timestamp of 0 (when signing) or above 2^63 - 1.
    #[error("cosignature timestamp {timestamp} is outside 1..=2^63-1")]
    CosignatureTimestamp { timestamp: u64 },
}

/// Why a checkpoint was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The checkpoint body has fewer than the three mandatory lines.
    #[error("checkpoint has {got} lines, needs at least 3 (origin, size, root hash)")]
    MissingLines { got: usize },
    /// The body must end in a newline.
    #[error("checkpoint body does not end in a newline")]
    NotNewlineTerminated,
    /// The origin line is empty.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// The size line is not a decimal integer without leading zeros.
    #[error("checkpoint size line {seen:?} is not a decimal u64 without leading zeros")]
    BadSize { seen: String },
    /// The root hash line is not the base64 of exactly 32 bytes.
    #[error("checkpoint root hash line {seen:?} is not the standard base64 of 32 bytes")]
    BadRootHash { seen: String },
    /// An extension line is empty (tlog-checkpoint forbids empty lines).
    #[error("checkpoint extension line {line} is empty")]
    EmptyExtensionLine { line: usize },
    /// The origin is not the one the verifier expected.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch { expected: String, found: String },
    /// The note envelope was malformed or its signatures did not verify.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
}
