//! HTTP routes of the Rekor v1 log, relative to its base URL (the server nests them under a
//! prefix, e.g. `/rekor1`, and clients call `{base}/api/v1/...`).
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/v1/log/entries` | 201 `{uuid: entry}` with `Location`; 409 with the existing entry's `Location` |
//! | `GET /api/v1/log/entries/{uuid}` | `{uuid: entry}`; the UUID is 64 hex digits, or 80 with a tree ID prefix |
//! | `GET /api/v1/log/entries?logIndex=N` | `{uuid: entry}` |
//! | `POST /api/v1/log/entries/retrieve[/]` | `[{uuid: entry}…]` for `entries`, `entryUUIDs` or `logIndexes` |
//! | `GET /api/v1/log` | `{rootHash, treeSize, signedTreeHead, treeID}` |
//! | `GET /api/v1/log/proof?firstSize&lastSize` | `{rootHash, hashes}` |
//! | `GET /api/v1/log/publicKey` | the key, PEM |
//!
//! Errors are JSON `{"code": <HTTP status>, "message": "..."}` as Rekor v1 writes them: 400 for
//! a bad request (nothing is logged), 404, 409, 413 for an oversized body, 503 (with
//! Retry-After) when the log is overloaded.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::entry::{parse_uuid, to_hex};
use super::{RekorV1, V1Error};
use crate::LogError;

/// Largest request body accepted (a DSSE envelope with its certificates fits easily).
pub const MAX_REQUEST_BYTES: usize = 4 << 20;
/// Most entries, UUIDs or indexes one retrieve asks for, each (Rekor's limit).
pub const MAX_RETRIEVE: usize = 10;

/// The Rekor v1 log's routes, relative to its base URL.
pub fn router_v1(log: Arc<RekorV1>) -> Router {
    let limit = || DefaultBodyLimit::max(MAX_REQUEST_BYTES);
    Router::new()
        .route(
            "/api/v1/log/entries",
            post(create_entry).get(entry_by_index).layer(limit()),
        )
        .route("/api/v1/log/entries/retrieve", post(retrieve).layer(limit()))
        // sigstore-python posts here with a trailing slash.
        .route("/api/v1/log/entries/retrieve/", post(retrieve).layer(limit()))
        .route("/api/v1/log/entries/{uuid}", get(entry_by_uuid))
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/proof", get(consistency_proof))
        .route("/api/v1/log/publicKey", get(public_key))
        .with_state(log)
}

/// An error answer: status, `{"code", "message"}`, and for 409 the existing entry's location.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    location: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            location: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<V1Error> for ApiError {
    fn from(e: V1Error) -> Self {
        let status = match &e {
            V1Error::Entry(_) | V1Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            V1Error::NotFound(_) => StatusCode::NOT_FOUND,
            V1Error::Conflict { .. } => StatusCode::CONFLICT,
            V1Error::Log(LogError::Overloaded | LogError::Unavailable | LogError::KeyUnavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => {
                tracing::error!(error = %e, "Rekor v1 log internal error");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log",
                );
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        let mut resp = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(loc) = self.location.and_then(|l| HeaderValue::try_from(l).ok()) {
            resp.headers_mut().insert(header::LOCATION, loc);
        }
        resp
    }
}

fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    };
    ApiError::new(status, format!("request body: {}", r.body_text()))
}

/// `POST /api/v1/log/entries`. `Location` is the request path plus the UUID, so it is right
/// under whatever prefix the log is mounted at.
async fn create_entry(
    State(log): State<Arc<RekorV1>>,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_error)?;
    let location = |uuid: &str| format!("{}/{uuid}", uri.path().trim_end_matches('/'));
    match log.add(&body).await {
        Ok(entry) => {
            let mut resp = (StatusCode::CREATED, Json(entry.to_json())).into_response();
            if let Ok(loc) = HeaderValue::try_from(location(&entry.uuid())) {
                resp.headers_mut().insert(header::LOCATION, loc);
            }
            Ok(resp)
        }
        Err(V1Error::Conflict { uuid, log_index }) => {
            let mut e = ApiError::from(V1Error::Conflict {
                uuid: uuid.clone(),
                log_index,
            });
            e.location = Some(location(&uuid));
            Err(e)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct IndexQuery {
    #[serde(rename = "logIndex")]
    log_index: Option<i64>,
}

/// `GET /api/v1/log/entries?logIndex=N`.
async fn entry_by_index(
    State(log): State<Arc<RekorV1>>,
    query: Result<Query<IndexQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let index = q
        .log_index
        .ok_or_else(|| ApiError::bad_request("logIndex is required"))?;
    let index = u64::try_from(index).map_err(|_| ApiError::bad_request("logIndex must be >= 0"))?;
    Ok(Json(log.entry_by_index(index).await?.to_json()))
}

/// `GET /api/v1/log/entries/{uuid}`.
async fn entry_by_uuid(
    State(log): State<Arc<RekorV1>>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let leaf = parse_uuid(&uuid).ok_or_else(|| {
        ApiError::bad_request(format!(
            "entry UUID {:?} is not 64 hex digits (or 80 with a tree ID)",
            uuid.chars().take(100).collect::<String>()
        ))
    })?;
    match log.entry_by_leaf_hash(leaf).await? {
        Some(entry) => Ok(Json(entry.to_json())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no entry with UUID {}", to_hex(&leaf)),
        )),
    }
}

/// rekor `SearchLogQuery`.
#[derive(Deserialize)]
struct SearchLogQuery {
    #[serde(rename = "entryUUIDs", default)]
    entry_uuids: Vec<String>,
    #[serde(rename = "logIndexes", default)]
    log_indexes: Vec<i64>,
    #[serde(default)]
    entries: Vec<Value>,
}

/// `POST /api/v1/log/entries/retrieve`: the entries found, in the order asked; missing ones
/// are left out.
async fn retrieve(
    State(log): State<Arc<RekorV1>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body.map_err(body_error)?;
    let q: SearchLogQuery =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("search query: {e}")))?;
    for (name, n) in [
        ("entryUUIDs", q.entry_uuids.len()),
        ("logIndexes", q.log_indexes.len()),
        ("entries", q.entries.len()),
    ] {
        if n > MAX_RETRIEVE {
            return Err(ApiError::bad_request(format!(
                "{name} has {n} items; at most {MAX_RETRIEVE}"
            )));
        }
    }
    let mut found = Vec::new();
    for (i, proposed) in q.entries.iter().enumerate() {
        let bytes = serde_json::to_vec(proposed).map_err(|e| ApiError::bad_request(e.to_string()))?;
        match log.entry_by_proposed(&bytes).await {
            Ok(Some(e)) => found.push(e.to_json()),
            Ok(None) => {}
            Err(V1Error::Entry(e)) => return Err(ApiError::bad_request(format!("entries[{i}]: {e}"))),
            Err(e) => return Err(e.into()),
        }
    }
    for uuid in &q.entry_uuids {
        let leaf = parse_uuid(uuid)
            .ok_or_else(|| ApiError::bad_request(format!("entryUUIDs: {uuid:?} is not an entry UUID")))?;
        if let Some(e) = log.entry_by_leaf_hash(leaf).await? {
            found.push(e.to_json());
        }
    }
    for &index in &q.log_indexes {
        let index = u64::try_from(index).map_err(|_| ApiError::bad_request("logIndexes must be >= 0"))?;
        match log.entry_by_index(index).await {
            Ok(e) => found.push(e.to_json()),
            Err(V1Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(Value::Array(found)))
}

/// `GET /api/v1/log`.
async fn log_info(State(log): State<Arc<RekorV1>>) -> Json<Value> {
    let info = log.log_info();
    Json(json!({
        "rootHash": to_hex(&info.root_hash),
        "treeSize": info.tree_size,
        "signedTreeHead": info.signed_tree_head,
        "treeID": info.tree_id.to_string(),
    }))
}

#[derive(Deserialize)]
struct ProofQuery {
    #[serde(rename = "firstSize")]
    first_size: Option<u64>,
    #[serde(rename = "lastSize")]
    last_size: Option<u64>,
}

/// `GET /api/v1/log/proof?firstSize=M&lastSize=N` (firstSize defaults to 1).
async fn consistency_proof(
    State(log): State<Arc<RekorV1>>,
    query: Result<Query<ProofQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let last = q
        .last_size
        .ok_or_else(|| ApiError::bad_request("lastSize is required"))?;
    let (root, hashes) = log.consistency_proof(q.first_size.unwrap_or(1), last).await?;
    Ok(Json(json!({
        "rootHash": to_hex(&root),
        "hashes": hashes.iter().map(|h| to_hex(h)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/log/publicKey`: PEM with `\n` line ends, as Rekor serves it.
async fn public_key(State(log): State<Arc<RekorV1>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        signet_crypto::cosign_key::public_key_pem(log.public_key()),
    )
        .into_response()
}
