//! HTTP routes of the CT log, relative to its base URL (the server nests them under a prefix,
//! e.g. `/ct`, making the base URL `http://host/ct`).
//!
//! RFC 6962 §4: `POST ct/v1/add-chain`, `POST ct/v1/add-pre-chain`, `GET ct/v1/get-sth`,
//! `GET ct/v1/get-sth-consistency`, `GET ct/v1/get-proof-by-hash`, `GET ct/v1/get-entries`,
//! `GET ct/v1/get-roots`. c2sp.org/static-ct-api read path: `GET checkpoint`,
//! `GET tile/<L>/<N>[.p/<W>]`, `GET tile/data/<N>[.p/<W>]`, `GET issuer/<fingerprint>`.
//! Operations: `GET metrics` (Prometheus text).
//! Errors are JSON `{"message": "..."}`: 400 for a bad request (nothing is logged), 404,
//! 413 for an oversized body, 503 (with Retry-After) when the log is overloaded.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use signet_tlog::{Hash, TilePath};
use signet_x509::sct::SignedCertificateTimestamp;

use crate::{CtError, CtLog, Submission};

/// Largest add-(pre-)chain request body accepted.
pub const MAX_REQUEST_BYTES: usize = 256 << 10;

/// The CT log's routes, relative to its base URL.
pub fn router(log: Arc<CtLog>) -> Router {
    Router::new()
        .route(
            "/ct/v1/add-chain",
            post(add_chain).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route(
            "/ct/v1/add-pre-chain",
            post(add_pre_chain).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/ct/v1/get-sth", get(get_sth))
        .route("/ct/v1/get-sth-consistency", get(get_sth_consistency))
        .route("/ct/v1/get-proof-by-hash", get(get_proof_by_hash))
        .route("/ct/v1/get-entries", get(get_entries))
        .route("/ct/v1/get-roots", get(get_roots))
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/issuer/{fingerprint}", get(issuer))
        .route("/metrics", get(metrics))
        .with_state(log)
}

/// An error answer: status and `{"message": ...}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl From<CtError> for ApiError {
    fn from(e: CtError) -> Self {
        let status = match &e {
            CtError::Chain(_) | CtError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CtError::NotFound(_) => StatusCode::NOT_FOUND,
            e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "CT log internal error");
            return ApiError {
                status,
                message: "internal error; see the server log".into(),
            };
        }
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({ "message": self.message }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// RFC 6962 §4.1 request body.
#[derive(Deserialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

fn parse_chain(body: Result<Bytes, BytesRejection>) -> Result<Vec<Vec<u8>>, ApiError> {
    let body = body.map_err(|r| ApiError {
        status: if r.status().is_client_error() {
            r.status()
        } else {
            StatusCode::BAD_REQUEST
        },
        message: format!("request body: {}", r.body_text()),
    })?;
    let request: AddChainRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("request is not {{\"chain\": [base64 DER, ...]}}: {e}"))
    })?;
    request
        .chain
        .iter()
        .enumerate()
        .map(|(i, c)| {
            B64.decode(c)
                .map_err(|e| ApiError::bad_request(format!("chain[{i}] is not base64: {e}")))
        })
        .collect()
}

/// RFC 6962 §4.1 response.
fn sct_json(sct: &SignedCertificateTimestamp) -> Result<Response, ApiError> {
    Ok(Json(json!({
        "sct_version": sct.version,
        "id": B64.encode(sct.log_id),
        "timestamp": sct.timestamp,
        "extensions": B64.encode(&sct.extensions),
        "signature": B64.encode(sct.signature.encode().map_err(|e| CtError::Internal(e.to_string()))?),
    }))
    .into_response())
}

async fn add_chain(
    State(log): State<Arc<CtLog>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let chain = parse_chain(body).inspect_err(|_| log.stats().rejected(Submission::AddChain))?;
    sct_json(&log.add_chain(chain).await?)
}

async fn add_pre_chain(
    State(log): State<Arc<CtLog>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let chain = parse_chain(body).inspect_err(|_| log.stats().rejected(Submission::AddPreChain))?;
    sct_json(&log.add_pre_chain(chain).await?)
}

async fn get_sth(State(log): State<Arc<CtLog>>) -> Result<Response, ApiError> {
    let sth = log.signed_tree_head()?;
    Ok(Json(json!({
        "tree_size": sth.tree_size,
        "timestamp": sth.timestamp,
        "sha256_root_hash": B64.encode(sth.sha256_root_hash),
        "tree_head_signature": B64.encode(sth.tree_head_signature.encode().map_err(|e| CtError::Internal(e.to_string()))?),
    }))
    .into_response())
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("missing query parameter {name}")))
}

fn u64_param(params: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let value = param(params, name)?;
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{name}={value:?} is not a non-negative integer")))
}

fn hashes_json(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

async fn get_sth_consistency(
    State(log): State<Arc<CtLog>>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let first = u64_param(&params, "first")?;
    let second = u64_param(&params, "second")?;
    let proof = log.consistency_proof(first, second).await?;
    Ok(Json(json!({ "consistency": hashes_json(&proof) })).into_response())
}

async fn get_proof_by_hash(
    State(log): State<Arc<CtLog>>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    // A '+' left unescaped in the query arrives as a space.
    let text = param(&params, "hash")?.replace(' ', "+");
    let hash: Hash = B64
        .decode(&text)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| ApiError::bad_request(format!("hash={text:?} is not the base64 of 32 bytes")))?;
    let tree_size = u64_param(&params, "tree_size")?;
    let (index, proof) = log.proof_by_hash(hash, tree_size).await?;
    Ok(Json(json!({ "leaf_index": index, "audit_path": hashes_json(&proof) })).into_response())
}

async fn get_entries(State(log): State<Arc<CtLog>>, Query(params): Params) -> Result<Response, ApiError> {
    let start = u64_param(&params, "start")?;
    let end = u64_param(&params, "end")?;
    let entries: Vec<_> = log
        .entries(start, end)
        .await?
        .into_iter()
        .map(|(leaf_input, extra_data)| {
            json!({ "leaf_input": B64.encode(leaf_input), "extra_data": B64.encode(extra_data) })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })).into_response())
}

/// Prometheus text: the appender's figures and the submission counters.
async fn metrics(State(log): State<Arc<CtLog>>) -> signet_log::metrics::MetricsWriter {
    crate::metrics::write(&log)
}

async fn get_roots(State(log): State<Arc<CtLog>>) -> Response {
    let roots: Vec<String> = log.accepted_roots().iter().map(|r| B64.encode(r)).collect();
    Json(json!({ "certificates": roots })).into_response()
}

async fn checkpoint(State(log): State<Arc<CtLog>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        log.checkpoint().note.clone(),
    )
        .into_response()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn immutable(content_type: &'static str, data: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        data,
    )
        .into_response()
}

async fn tile(State(log): State<Arc<CtLog>>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let full_path = format!("tile/{path}");
    let not_found = || ApiError::not_found(format!("no tile at {full_path}"));
    // static-ct-api calls the entry bundles data tiles; the path grammar is tlog-tiles'.
    let parsed = match path.strip_prefix("data/") {
        Some(rest) => TilePath::parse(&format!("tile/entries/{rest}")),
        None if path.starts_with("entries/") => return Err(not_found()),
        None => TilePath::parse(&full_path),
    }
    .map_err(|_| not_found())?;
    let data = match parsed {
        TilePath::Hash(id) => log.hash_tile(id).await?,
        TilePath::Entries(id) => log.data_tile(id.index, id.width).await?,
    };
    data.map(|d| immutable("application/octet-stream", d))
        .ok_or_else(not_found)
}

async fn issuer(
    State(log): State<Arc<CtLog>>,
    Path(fingerprint): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(format!("no issuer {fingerprint}"));
    let fp = parse_fingerprint(&fingerprint).ok_or_else(not_found)?;
    let der = log.issuer(fp).await?;
    Ok(immutable("application/pkix-cert", der))
}

/// A lowercase hex SHA-256 fingerprint.
fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
