//! `GET /api/v2/search` under the Rekor v2 log's prefix: the entries matching a query, each a
//! Rekor v2 `TransparencyLogEntry` (protobuf-JSON, as `POST /api/v2/log/entries` returns)
//! with its inclusion proof against the log's latest signed checkpoint, so that a client
//! verifies every result rather than trusting the index.
//!
//! ```json
//! {"entries": [TransparencyLogEntry, ...], "next": "i42" | null, "indexedSize": "40", "treeSize": "41"}
//! ```
//! Errors are JSON `{"code": 3, "message": "..."}` with status 400, as the log's other routes.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use signet_formats::rekor_v2::{self, Entry};
use signet_log::http::ApiError;
use signet_log::storage::ReaderPool;
use signet_log::LogStore;

use crate::indexer::LogFormat;
use crate::proof::prove_page;
use crate::query::{encode_cursor, SearchQuery};
use crate::sqlite::IndexReaders;
use crate::IndexError;

/// What the search route needs: read connections to the index and to the log.
pub struct SearchState {
    index: IndexReaders,
    log: Arc<ReaderPool>,
    log_id: [u8; 32],
}

impl SearchState {
    /// `readers` read-only connections to the index file at `path` (the indexer must have
    /// created it), and the log's reader pool.
    pub fn open(
        path: &Path,
        readers: usize,
        log: Arc<ReaderPool>,
        log_id: [u8; 32],
    ) -> Result<Arc<Self>, IndexError> {
        Ok(Arc::new(SearchState {
            index: IndexReaders::open(path, readers)?,
            log,
            log_id,
        }))
    }
}

/// The search route, relative to the log's base URL.
pub fn router(state: Arc<SearchState>) -> Router {
    Router::new()
        .route("/api/v2/search", get(search))
        .with_state(state)
}

async fn search(
    State(state): State<Arc<SearchState>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = SearchQuery::parse(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let limit = query.limit as usize;
    let (indices, indexed_size) = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            state
                .index
                .with(|db| Ok((db.search(&query)?, db.indexed_size()?)))
        })
        .await
        .map_err(|e| internal(format!("index task failed: {e}")))?
        .map_err(|e| internal(e.to_string()))?
    };
    let log_id = state.log_id;
    let body = state
        .log
        .run(move |store| answer(store, &indices, limit, indexed_size, &log_id))
        .await
        .map_err(|e| internal(format!("reader task failed: {e}")))?
        .map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn internal(message: String) -> ApiError {
    tracing::error!(%message, "search failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

/// Reads the entries at `indices` (the first `limit`; one more means a next page) with their
/// inclusion proofs against the log's latest checkpoint, as the JSON answer.
pub fn answer(
    store: &mut dyn LogStore,
    indices: &[u64],
    limit: usize,
    indexed_size: u64,
    log_id: &[u8; 32],
) -> Result<Vec<u8>, String> {
    let page = prove_page(LogFormat::RekorV2, store, indices, limit)?.ok_or("the log has no checkpoint")?;
    let next = page.next.map(encode_cursor);
    let mut entries = Vec::with_capacity(page.entries.len());
    for e in &page.entries {
        // A Rekor v2 leaf is the entry's canonical body.
        let (kind, version) = match Entry::from_json(&e.leaf) {
            Ok(entry) => (entry.kind(), entry.api_version()),
            Err(_) => ("unknown", "unknown"),
        };
        let entry = rekor_v2::TransparencyLogEntryRef {
            log_index: e.log_index,
            log_id,
            kind_version: rekor_v2::KindVersionRef { kind, version },
            integrated_time: None,
            inclusion_promise: None,
            inclusion_proof: Some(rekor_v2::InclusionProofRef {
                log_index: e.log_index,
                root_hash: &page.root,
                tree_size: page.size,
                hashes: &e.hashes,
                checkpoint: Some(&page.note),
            }),
            canonicalized_body: &e.leaf,
        };
        entries
            .push(serde_json::from_slice::<serde_json::Value>(&entry.to_json()).map_err(|e| e.to_string())?);
    }
    let size = page.size;
    let out = serde_json::json!({
        "entries": entries,
        "next": next,
        "indexedSize": indexed_size.to_string(),
        "treeSize": size.to_string(),
    });
    Ok(out.to_string().into_bytes())
}
