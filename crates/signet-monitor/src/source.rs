//! Where a log's data comes from: the C2SP tlog-tiles read API (`<base>/checkpoint`,
//! `<base>/tile/<L>/<N>[.p/<W>]`, `<base>/tile/entries/<N>[.p/<W>]`) behind a narrow trait, so
//! the follower is tested against logs held in memory and run against HTTP.

use std::cell::RefCell;
use std::collections::HashMap;

use signet_client::http::{GetError, Http};
use signet_tlog::{EntryBundleId, Hash, TileError, TileId, TileSource, HASH_SIZE, TILE_WIDTH};
use thiserror::Error;

/// A resource could not be had.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceError {
    #[error("{path}: not found")]
    NotFound { path: String },
    #[error("{path}: {reason}")]
    Unreachable { path: String, reason: String },
    #[error("{path}: answer longer than {max} bytes")]
    TooLarge { path: String, max: u64 },
}

/// The read side of one tlog-tiles log.
pub trait LogSource {
    /// The signed checkpoint note, as served.
    fn checkpoint(&self) -> Result<String, SourceError>;
    /// A hash tile's bytes: `id.width` hashes, or the full tile's 256 where the partial one is
    /// gone (tlog-tiles lets a log drop a partial tile once the full one exists).
    fn hash_tile(&self, id: &TileId) -> Result<Vec<u8>, SourceError>;
    /// An entry bundle's bytes: `id.width` entries, or the full bundle's 256 likewise.
    fn entry_bundle(&self, id: &EntryBundleId) -> Result<Vec<u8>, SourceError>;
}

/// Bounds on what a log may send.
const MAX_CHECKPOINT: u64 = 64 * 1024;
const MAX_TILE: u64 = TILE_WIDTH as u64 * HASH_SIZE as u64;
/// 256 entries of at most 65535 bytes, each with its 2-byte length.
const MAX_BUNDLE: u64 = TILE_WIDTH as u64 * (2 + u16::MAX as u64);

/// A tlog-tiles log over HTTP(S) (plain HTTP to loopback only, as every signet client).
pub struct HttpLog<'h> {
    http: &'h Http,
    base_url: String,
}

impl<'h> HttpLog<'h> {
    pub fn new(http: &'h Http, base_url: &str) -> Self {
        HttpLog {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    fn get(&self, path: &str, max: u64) -> Result<Vec<u8>, SourceError> {
        let url = format!("{}/{path}", self.base_url);
        match self.http.get_limited(&url, max) {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(SourceError::NotFound { path: url }),
            Err(GetError::TooLong) => Err(SourceError::TooLarge { path: url, max }),
            Err(GetError::Other(reason)) => Err(SourceError::Unreachable { path: url, reason }),
        }
    }

    /// A partial resource, falling back to the full one when the partial is gone.
    fn get_partial(
        &self,
        partial: String,
        full: String,
        is_partial: bool,
        max: u64,
    ) -> Result<Vec<u8>, SourceError> {
        match self.get(&partial, max) {
            Err(SourceError::NotFound { .. }) if is_partial => self.get(&full, max),
            other => other,
        }
    }
}

impl LogSource for HttpLog<'_> {
    fn checkpoint(&self) -> Result<String, SourceError> {
        let body = self.get("checkpoint", MAX_CHECKPOINT)?;
        String::from_utf8(body).map_err(|_| SourceError::Unreachable {
            path: format!("{}/checkpoint", self.base_url),
            reason: "the checkpoint is not UTF-8".into(),
        })
    }

    fn hash_tile(&self, id: &TileId) -> Result<Vec<u8>, SourceError> {
        let full = TileId {
            width: TILE_WIDTH,
            ..*id
        };
        self.get_partial(id.path(), full.path(), !id.is_full(), MAX_TILE)
    }

    fn entry_bundle(&self, id: &EntryBundleId) -> Result<Vec<u8>, SourceError> {
        let full = EntryBundleId {
            index: id.index,
            width: TILE_WIDTH,
        };
        self.get_partial(id.path(), full.path(), id.width < TILE_WIDTH, MAX_BUNDLE)
    }
}

/// A [`LogSource`]'s hash tiles as signet-tlog's [`TileSource`], checking each tile's size and
/// keeping full tiles (they never change) for the proofs of later batches.
pub struct Tiles<'a, S: ?Sized> {
    source: &'a S,
    full: RefCell<HashMap<(u8, u64), Vec<Hash>>>,
}

impl<'a, S: LogSource + ?Sized> Tiles<'a, S> {
    pub fn new(source: &'a S) -> Self {
        Tiles {
            source,
            full: RefCell::new(HashMap::new()),
        }
    }
}

impl<S: LogSource + ?Sized> TileSource for Tiles<'_, S> {
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        if let Some(h) = self.full.borrow().get(&(id.level, id.index)) {
            return Ok(h.clone());
        }
        let bytes = self.source.hash_tile(id).map_err(|e| TileError::Unavailable {
            path: id.path(),
            reason: e.to_string(),
        })?;
        let got = bytes.len();
        // Exactly the width asked for, or the full tile standing in for a partial one.
        if got != usize::from(id.width) * HASH_SIZE && got != usize::from(TILE_WIDTH) * HASH_SIZE {
            return Err(TileError::BadTileLength {
                path: id.path(),
                width: id.width,
                expected: usize::from(id.width) * HASH_SIZE,
                got,
            });
        }
        let hashes: Vec<Hash> = bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; HASH_SIZE];
                h.copy_from_slice(c);
                h
            })
            .collect();
        if hashes.len() == usize::from(TILE_WIDTH) {
            self.full
                .borrow_mut()
                .insert((id.level, id.index), hashes.clone());
        }
        Ok(hashes)
    }
}
