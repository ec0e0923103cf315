//! Where a log's data comes from, one narrow trait per read API, so the follower is tested
//! against logs held in memory and run against HTTP:
//!
//! - [`LogSource`]: the C2SP tlog-tiles read API (`<base>/checkpoint`,
//!   `<base>/tile/<L>/<N>[.p/<W>]`, `<base>/tile/entries/<N>[.p/<W>]`), which static-ct-api
//!   shares but for its data tiles (`<base>/tile/data/<N>[.p/<W>]`);
//! - [`V1Source`]: the Rekor v1 REST API (`/api/v1/log`, `/api/v1/log/proof`,
//!   `/api/v1/log/entries/retrieve`);
//! - [`CtSource`]: RFC 6962 §4 (`ct/v1/get-sth`, `get-sth-consistency`, `get-entries`,
//!   `get-proof-by-hash`).
//!
//! The sources hand back bytes as served; parsing them is the protocols' (pure) business.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
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

/// `GET <base_url>/<path>`, at most `max` bytes.
fn get(http: &Http, base_url: &str, path: &str, max: u64) -> Result<Vec<u8>, SourceError> {
    let url = format!("{base_url}/{path}");
    match http.get_limited(&url, max) {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(SourceError::NotFound { path: url }),
        Err(GetError::TooLong) => Err(SourceError::TooLarge { path: url, max }),
        Err(GetError::Other(reason)) => Err(SourceError::Unreachable { path: url, reason }),
    }
}

/// An API answer: a proof, a tree head, a page of entries.
const MAX_API_ANSWER: u64 = 1 << 20;
/// A Rekor v1 retrieve of up to 10 entries (a Rekor v1 body may be a few MiB: intoto with its
/// payload) or an RFC 6962 get-entries page.
const MAX_ENTRIES_ANSWER: u64 = 64 << 20;

/// A tlog-tiles log over HTTP(S) (plain HTTP to loopback only, as every signet client).
pub struct HttpLog<'h> {
    http: &'h Http,
    base_url: String,
    /// static-ct-api: entry bundles are data tiles, at `tile/data/...`.
    data_tiles: bool,
}

impl<'h> HttpLog<'h> {
    pub fn new(http: &'h Http, base_url: &str) -> Self {
        HttpLog {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            data_tiles: false,
        }
    }

    /// A static-ct-api log: its entry bundles are the data tiles.
    pub fn static_ct(http: &'h Http, base_url: &str) -> Self {
        HttpLog {
            data_tiles: true,
            ..HttpLog::new(http, base_url)
        }
    }

    /// The path of an entry bundle (or data tile).
    fn bundle_path(&self, id: &EntryBundleId) -> String {
        let path = id.path();
        match path.strip_prefix("tile/entries/") {
            Some(rest) if self.data_tiles => format!("tile/data/{rest}"),
            _ => path,
        }
    }

    fn get(&self, path: &str, max: u64) -> Result<Vec<u8>, SourceError> {
        get(self.http, &self.base_url, path, max)
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
        // A static-ct-api data tile holds 256 entries of up to 2^24 bytes each in principle;
        // the bound is the same generous one as an RFC 6962 page's.
        let max = if self.data_tiles {
            MAX_ENTRIES_ANSWER
        } else {
            MAX_BUNDLE
        };
        self.get_partial(
            self.bundle_path(id),
            self.bundle_path(&full),
            id.width < TILE_WIDTH,
            max,
        )
    }
}

/// The read side of a Rekor v1 log's REST API, answers as served. `Sync`: the follower
/// retrieves entries over several requests at once (ten entries per request).
pub trait V1Source: Sync {
    /// `GET /api/v1/log`: `{rootHash, treeSize, signedTreeHead, treeID, inactiveShards}`.
    fn log_info(&self) -> Result<Vec<u8>, SourceError>;
    /// `GET /api/v1/log/proof?firstSize=&lastSize=`: `{rootHash, hashes}`.
    fn proof(&self, first_size: u64, last_size: u64) -> Result<Vec<u8>, SourceError>;
    /// `POST /api/v1/log/entries/retrieve` with `{"logIndexes": [...]}`: `[{uuid: entry}...]`.
    fn retrieve(&self, log_indexes: &[u64]) -> Result<Vec<u8>, SourceError>;
    /// Most indexes one retrieve may ask for (Rekor's limit is 10).
    fn max_retrieve(&self) -> usize {
        10
    }
}

/// The read side of an RFC 6962 CT log, answers as served.
pub trait CtSource {
    /// `GET ct/v1/get-sth`.
    fn get_sth(&self) -> Result<Vec<u8>, SourceError>;
    /// `GET ct/v1/get-sth-consistency?first=&second=`.
    fn get_sth_consistency(&self, first: u64, second: u64) -> Result<Vec<u8>, SourceError>;
    /// `GET ct/v1/get-entries?start=&end=` (both inclusive; a log may answer fewer).
    fn get_entries(&self, start: u64, end: u64) -> Result<Vec<u8>, SourceError>;
    /// `GET ct/v1/get-proof-by-hash?hash=&tree_size=`.
    fn get_proof_by_hash(&self, leaf_hash: &Hash, tree_size: u64) -> Result<Vec<u8>, SourceError>;
}

/// An HTTP JSON API (Rekor v1, RFC 6962) at a base URL.
pub struct HttpApi<'h> {
    http: &'h Http,
    base_url: String,
}

impl<'h> HttpApi<'h> {
    pub fn new(http: &'h Http, base_url: &str) -> Self {
        HttpApi {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    fn get(&self, path: &str, max: u64) -> Result<Vec<u8>, SourceError> {
        get(self.http, &self.base_url, path, max)
    }
}

impl V1Source for HttpApi<'_> {
    fn log_info(&self) -> Result<Vec<u8>, SourceError> {
        self.get("api/v1/log", MAX_API_ANSWER)
    }

    fn proof(&self, first_size: u64, last_size: u64) -> Result<Vec<u8>, SourceError> {
        self.get(
            &format!("api/v1/log/proof?firstSize={first_size}&lastSize={last_size}"),
            MAX_API_ANSWER,
        )
    }

    fn retrieve(&self, log_indexes: &[u64]) -> Result<Vec<u8>, SourceError> {
        let url = format!("{}/api/v1/log/entries/retrieve", self.base_url);
        let body = serde_json::json!({ "logIndexes": log_indexes }).to_string();
        // The client's POST reads at most its own response bound (far above ten entries).
        self.http
            .post_bytes(&url, "application/json", body.as_bytes())
            .map_err(|e| SourceError::Unreachable {
                path: url,
                reason: format!("{e:#}"),
            })
    }
}

impl CtSource for HttpApi<'_> {
    fn get_sth(&self) -> Result<Vec<u8>, SourceError> {
        self.get("ct/v1/get-sth", MAX_API_ANSWER)
    }

    fn get_sth_consistency(&self, first: u64, second: u64) -> Result<Vec<u8>, SourceError> {
        self.get(
            &format!("ct/v1/get-sth-consistency?first={first}&second={second}"),
            MAX_API_ANSWER,
        )
    }

    fn get_entries(&self, start: u64, end: u64) -> Result<Vec<u8>, SourceError> {
        self.get(
            &format!("ct/v1/get-entries?start={start}&end={end}"),
            MAX_ENTRIES_ANSWER,
        )
    }

    fn get_proof_by_hash(&self, leaf_hash: &Hash, tree_size: u64) -> Result<Vec<u8>, SourceError> {
        // Base64 in a query: '+', '/' and '=' escaped.
        let hash = B64
            .encode(leaf_hash)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        self.get(
            &format!("ct/v1/get-proof-by-hash?hash={hash}&tree_size={tree_size}"),
            MAX_API_ANSWER,
        )
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

    /// The log the tiles come from.
    pub fn source(&self) -> &'a S {
        self.source
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
