//! The HTTP face of the TSA, as sigstore/timestamp-authority serves it. The clock is read
//! here, at the edge; everything below takes the time as a parameter.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use signet_crypto::HashAlgorithm;
use signet_x509::{FailureInfo, TimestampRequest};

use crate::service::Rejected;
use crate::Tsa;

/// Larger bodies are refused: a TimeStampReq is a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

const TIMESTAMP_REPLY: &str = "application/timestamp-reply";

/// The TSA's routes, relative to its base (mount with `.nest("/tsa", router(tsa))`):
/// `POST /api/v1/timestamp` (DER `application/timestamp-query`, or the JSON form sigstore-js
/// sends), `GET /api/v1/timestamp/certchain` (PEM chain, leaf first) and `GET /metrics`
/// (Prometheus text).
pub fn router(tsa: Arc<Tsa>) -> Router {
    Router::new()
        .route("/api/v1/timestamp", post(timestamp))
        .route("/api/v1/timestamp/certchain", get(certchain))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(tsa)
}

/// The JSON request of timestamp-authority's `pkg/api` (`JSONRequest`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    artifact_hash: String,
    hash_algorithm: String,
    #[serde(default)]
    nonce: Option<u64>,
    #[serde(default)]
    certificates: bool,
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

async fn timestamp(
    State(tsa): State<Arc<Tsa>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            tsa.stats.rejected(FailureInfo::BadDataFormat);
            return json_error(e.status(), &e.body_text());
        }
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let now = now_unix();
    let result = if is_json {
        match json_request(&body) {
            Ok(request) => tsa.respond(&request, now),
            Err((failure, message)) => {
                tsa.stats.rejected(failure);
                return json_error(StatusCode::BAD_REQUEST, &message);
            }
        }
    } else {
        tsa.respond_der(&body, now)
    };
    match result {
        Ok(der) => reply(StatusCode::OK, der),
        // The TSA's own fault (its key unreachable, e.g. a PKCS#11 token lost): 503 with a
        // JSON error, as every signet service answers one, for the client to retry; a refused
        // request is RFC 3161's answer, a DER TimeStampResp with its PKIFailureInfo.
        Err(Rejected {
            failure: FailureInfo::SystemFailure,
            ..
        }) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the timestamp authority cannot sign now (its key is unavailable); retry later",
        ),
        Err(Rejected { response, .. }) => reply(StatusCode::BAD_REQUEST, response),
    }
}

/// The request, or why it is refused: the failure bit it counts under and the message.
fn json_request(body: &[u8]) -> Result<TimestampRequest, (FailureInfo, String)> {
    let bad_data = |message: String| (FailureInfo::BadDataFormat, message);
    let req: JsonRequest =
        serde_json::from_slice(body).map_err(|e| bad_data(format!("request JSON: {e}")))?;
    let hash = match req.hash_algorithm.to_ascii_lowercase().as_str() {
        "sha256" | "sha2_256" => HashAlgorithm::Sha2_256,
        "sha384" | "sha2_384" => HashAlgorithm::Sha2_384,
        "sha512" | "sha2_512" => HashAlgorithm::Sha2_512,
        other => {
            return Err((
                FailureInfo::BadAlg,
                format!("hashAlgorithm {other:?}: expected sha256, sha384 or sha512"),
            ))
        }
    };
    let digest = B64
        .decode(req.artifact_hash.trim())
        .map_err(|e| bad_data(format!("artifactHash is not base64: {e}")))?;
    let mut request = TimestampRequest::new(hash, digest).map_err(|e| (e.failure_info(), e.to_string()))?;
    request.cert_req = req.certificates;
    request.nonce = req.nonce.map(|n| {
        let bytes = n.to_be_bytes();
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
        bytes[first..].to_vec()
    });
    if let Some(policy) = req.tsa_policy_oid.filter(|p| !p.is_empty()) {
        request.policy = Some(
            policy
                .parse()
                .map_err(|_| bad_data(format!("tsaPolicyOID {policy:?} is not an OID")))?,
        );
    }
    Ok(request)
}

async fn metrics(State(tsa): State<Arc<Tsa>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        tsa.stats.exposition(),
    )
        .into_response()
}

async fn certchain(State(tsa): State<Arc<Tsa>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        tsa.chain_pem(),
    )
        .into_response()
}

fn reply(status: StatusCode, der: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, TIMESTAMP_REPLY)], der).into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
