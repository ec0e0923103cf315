//! `GET /api/v1/search` at the server's root: one search over every log the server runs (the
//! Rekor v2 log, the Rekor v1 log, the CT log), each result naming its log and carrying what
//! a client needs to verify it without trusting the index: the bytes the log's tree hashes
//! for the entry (`leaf`, base64), its inclusion proof, and the log's signed checkpoint.
//!
//! ```json
//! {"results": [{"log": "rekor2" | "rekor1" | "ct", "name": "rekor2", "logIndex": "7", "leaf": "<base64>",
//!               "inclusionProof": {"logIndex": "7", "treeSize": "9", "rootHash": "<base64>",
//!                                  "hashes": ["<base64>", ...], "checkpoint": "<signed note>"}}],
//!  "next": "rekor1.i8" | null,
//!  "logs": [{"log": "rekor2", "name": "rekor2", "indexedSize": "9", "treeSize": "9"}, ...]}
//! ```
//!
//! `log` is the log's format; `name` tells a server's logs apart (after a key rotation a
//! format has several shards: `rekor2`, `rekor2-shard-2`, …) and is what cursors name.
//!
//! `leaf` is, per log: a Rekor v2 entry's canonical body; a Rekor v1 entry's canonical body;
//! a CT entry's RFC 6962 `MerkleTreeLeaf`. The checkpoint is signed by the log's key: a
//! Rekor v2 note (Ed25519 or ECDSA), a Rekor v1 ECDSA note, a static-ct-api checkpoint with
//! an RFC 6962 `TreeHeadSignature`. Results run through the logs in that order, by log index
//! within each; `next` resumes where a page stopped. The query string is the per-log search's
//! ([`SearchQuery`]), so the same bad input is the same 400.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use signet_log::http::ApiError;
use signet_log::metrics::MetricsWriter;
use signet_log::storage::ReaderPool;
use signet_log::LogStore;

use crate::indexer::LogFormat;
use crate::proof::prove_page;
use crate::query::{QueryError, SearchQuery};
use crate::sqlite::IndexReaders;
use crate::IndexError;

/// One log the search covers: its format, its index (and the index file, for its size) and
/// its store.
pub struct SearchedLog {
    /// The log's name in answers, cursors and metrics, unique on the server: its format's
    /// name for a server's first log of that format (`rekor2`, `rekor1`, `ct`), and e.g.
    /// `rekor2-shard-2` for a later shard (README, "Rotating keys and log shards").
    pub name: String,
    pub format: LogFormat,
    pub index: IndexReaders,
    pub path: std::path::PathBuf,
    pub store: Arc<ReaderPool>,
}

/// Where a page starts: a log (by its name) and a log index in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllCursor {
    pub log: String,
    pub start: u64,
}

impl AllCursor {
    /// `<log>.i<index>`, e.g. `rekor1.i42`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.log, crate::query::encode_cursor(self.start))
    }

    /// Reads a cursor made by [`AllCursor::encode`] (whether it names a log of this server is
    /// for the search to say).
    pub fn decode(s: &str) -> Result<AllCursor, QueryError> {
        let bad = || QueryError::Cursor(s.chars().take(40).collect());
        let (name, rest) = s.split_once('.').ok_or_else(bad)?;
        let named = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !named {
            return Err(bad());
        }
        Ok(AllCursor {
            log: name.to_string(),
            start: crate::query::decode_cursor(rest).map_err(|_| bad())?,
        })
    }
}

/// The query string of the all-logs search: the per-log one, with an [`AllCursor`].
pub fn parse_query(raw: &str) -> Result<(SearchQuery, Option<AllCursor>), QueryError> {
    if raw.len() > crate::query::MAX_QUERY_LEN {
        return Err(QueryError::TooLong);
    }
    // The cursor is taken out before the per-log parser sees the rest.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| QueryError::Encoding(e.to_string()))?;
    let mut cursor = None;
    let mut rest = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        if name == "cursor" {
            if cursor.is_some() {
                return Err(QueryError::Repeated(name));
            }
            cursor = Some(AllCursor::decode(&value)?);
        } else {
            rest.push((name, value));
        }
    }
    let raw_rest = serde_urlencoded::to_string(&rest).map_err(|e| QueryError::Encoding(e.to_string()))?;
    Ok((SearchQuery::parse(&raw_rest)?, cursor))
}

/// The route's state: the logs, in the order results list them.
pub struct AllLogs {
    logs: Vec<SearchedLog>,
}

impl AllLogs {
    pub fn new(logs: Vec<SearchedLog>) -> Arc<AllLogs> {
        Arc::new(AllLogs { logs })
    }
}

/// `GET /api/v1/search`, and the indexes' metrics at `GET /search/metrics`.
pub fn router(state: Arc<AllLogs>) -> Router {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/search/metrics", get(metrics))
        .with_state(state)
}

/// One log's figures for [`metrics`].
struct IndexFigures {
    log: String,
    indexed: u64,
    size: u64,
    bytes: u64,
}

/// Prometheus metrics of the indexes, per log: `signet_index_lag_entries` (entries the log has
/// committed that its index does not hold yet: how far search is behind), the indexed and
/// committed sizes, and the index file's size on disk.
async fn metrics(State(state): State<Arc<AllLogs>>) -> Result<MetricsWriter, ApiError> {
    let mut rows = Vec::with_capacity(state.logs.len());
    for (pos, log) in state.logs.iter().enumerate() {
        let indexed = {
            let state = state.clone();
            tokio::task::spawn_blocking(move || state.logs[pos].index.with(|db| db.indexed_size()))
                .await
                .map_err(|e| internal(format!("index task failed: {e}")))?
                .map_err(|e| internal(e.to_string()))?
        };
        let size = log
            .store
            .run(|store| store.latest_checkpoint().map(|c| c.map_or(0, |(size, _)| size)))
            .await
            .map_err(|e| internal(format!("reader task failed: {e}")))?
            .map_err(|e| internal(e.to_string()))?;
        // The WAL holds what a checkpoint has not yet folded into the file.
        let bytes: u64 = ["", "-wal"]
            .iter()
            .filter_map(|ext| {
                let mut p = log.path.clone().into_os_string();
                p.push(ext);
                std::fs::metadata(p).ok().map(|m| m.len())
            })
            .sum();
        rows.push(IndexFigures {
            log: log.name.clone(),
            indexed,
            size,
            bytes,
        });
    }
    let samples = |f: fn(&IndexFigures) -> u64| -> Vec<(&str, f64)> {
        rows.iter().map(|r| (r.log.as_str(), f(r) as f64)).collect()
    };
    let mut out = MetricsWriter::new();
    out.labeled_gauge(
        "signet_index_lag_entries",
        "Entries the log has committed that its search index does not hold yet.",
        "log",
        &samples(|r| r.size.saturating_sub(r.indexed)),
    );
    out.labeled_gauge(
        "signet_index_indexed_entries",
        "Entries the search index holds (the log's first N).",
        "log",
        &samples(|r| r.indexed),
    );
    out.labeled_gauge(
        "signet_index_log_entries",
        "Entries the log has committed (its latest checkpoint's size).",
        "log",
        &samples(|r| r.size),
    );
    out.labeled_gauge(
        "signet_index_file_bytes",
        "Size of the search index's SQLite file and its write-ahead log.",
        "log",
        &samples(|r| r.bytes),
    );
    Ok(out)
}

fn internal(message: String) -> ApiError {
    tracing::error!(%message, "search failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

async fn search(State(state): State<Arc<AllLogs>>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let (query, cursor) = parse_query(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let first = match &cursor {
        None => 0,
        Some(c) => state.logs.iter().position(|l| l.name == c.log).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the cursor names no log of this server ({:?})", c.log),
            )
        })?,
    };
    let mut remaining = query.limit as usize;
    let mut results = Vec::new();
    let mut logs = Vec::new();
    let mut next = None;
    for (pos, log) in state.logs.iter().enumerate() {
        let mut q = query.clone();
        q.start = match &cursor {
            Some(c) if pos == first => c.start,
            _ => 0,
        };
        q.limit = remaining.max(1) as u32;
        let (indices, indexed_size) = {
            let state = state.clone();
            let q = q.clone();
            tokio::task::spawn_blocking(move || {
                state.logs[pos]
                    .index
                    .with(|db| Ok((db.search(&q)?, db.indexed_size()?)))
            })
            .await
            .map_err(|e| internal(format!("index task failed: {e}")))?
            .map_err(|e: IndexError| internal(e.to_string()))?
        };
        let take = if pos < first || next.is_some() || remaining == 0 {
            0
        } else {
            remaining
        };
        let format = log.format;
        let name = log.name.clone();
        let (page, tree_size, more) = log
            .store
            .run(move |store| prove(format, &name, store, &indices, take))
            .await
            .map_err(|e| internal(format!("reader task failed: {e}")))?
            .map_err(internal)?;
        logs.push(json!({
            "log": format.name(),
            "name": log.name,
            "indexedSize": indexed_size.to_string(),
            "treeSize": tree_size.to_string(),
        }));
        remaining -= page.len();
        results.extend(page);
        if next.is_none() {
            if let Some(start) = more.filter(|_| pos >= first) {
                next = Some(AllCursor {
                    log: log.name.clone(),
                    start,
                });
            } else if remaining == 0 && pos >= first {
                // The page is full at the end of this log: the next page starts with the next.
                next = state.logs.get(pos + 1).map(|l| AllCursor {
                    log: l.name.clone(),
                    start: 0,
                });
            }
        }
    }
    let body = json!({
        "results": results,
        "next": next.map(|c| c.encode()),
        "logs": logs,
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// The first `take` of `indices` that the log's latest checkpoint covers, each with its leaf
/// and inclusion proof; the log's size; and the index a next page starts at, if any.
pub fn prove(
    format: LogFormat,
    name: &str,
    store: &mut dyn LogStore,
    indices: &[u64],
    take: usize,
) -> Result<(Vec<Value>, u64, Option<u64>), String> {
    let Some(page) = prove_page(format, store, indices, take)? else {
        return Ok((Vec::new(), 0, None));
    };
    let results = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "log": format.name(),
                "name": name,
                "logIndex": e.log_index.to_string(),
                "leaf": B64.encode(&e.leaf),
                "inclusionProof": {
                    "logIndex": e.log_index.to_string(),
                    "treeSize": page.size.to_string(),
                    "rootHash": B64.encode(page.root),
                    "hashes": e.hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                    "checkpoint": page.note,
                },
            })
        })
        .collect();
    Ok((results, page.size, page.next.filter(|_| take > 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_name_their_log() {
        let c = AllCursor {
            log: "rekor1".into(),
            start: 42,
        };
        assert_eq!(c.encode(), "rekor1.i42");
        assert_eq!(AllCursor::decode("rekor1.i42"), Ok(c));
        let shard = AllCursor::decode("rekor2-shard-2.i7").unwrap();
        assert_eq!((shard.log.as_str(), shard.start), ("rekor2-shard-2", 7));
        for bad in ["i42", "Rekor.i1", "ct.42", "ct.", ".i1", "a b.i1", "x/y.i1"] {
            assert!(AllCursor::decode(bad).is_err(), "{bad}");
        }
        let (q, c) = parse_query("identity=a&cursor=ct.i7&limit=3").unwrap();
        assert_eq!((q.limit, c.unwrap().start), (3, 7));
        assert!(parse_query("identity=a&cursor=i7").is_err());
        assert!(parse_query("identity=a&cursor=ct.i1&cursor=ct.i2").is_err());
        assert!(parse_query("cursor=ct.i1").is_err());
    }
}
