//! HTTP routes of one transparency log, to be nested under the log's path prefix.
//!
//! Write: `POST /api/v2/log/entries` (Rekor v2, protobuf-JSON). Read (C2SP tlog-tiles):
//! `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]`.
//! Every error is JSON `{"code": <gRPC code>, "message": "..."}` as Rekor's gateway writes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use signet_formats::rekor_v2;
use signet_tlog::{TileId, TilePath};

use crate::metrics::MetricsWriter;
use crate::storage::{LogStore, ReaderPool};
use crate::{Appender, LogError};

/// Largest entry request accepted (a DSSE envelope with its certificates fits easily).
pub const MAX_REQUEST_BYTES: usize = 4 << 20;

/// How long an entry request waits for a published checkpoint covering its entry by default.
pub const DEFAULT_ENTRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the routes need: the appender, readers of the store, and the log's identity.
pub struct LogState {
    pub appender: Appender,
    /// Read-only connections for the tile routes.
    pub readers: Arc<ReaderPool>,
    pub log_id: [u8; 32],
    /// Entry requests refused as the client's mistake (4xx).
    pub rejected: std::sync::atomic::AtomicU64,
    /// How long an entry request waits for its answer (a published checkpoint covering the
    /// entry) before a 503: what bounds the wait while a witnessed log holds its checkpoints.
    pub entry_timeout: std::time::Duration,
    /// Entry requests that gave up waiting ([`LogState::entry_timeout`]).
    pub timed_out: std::sync::atomic::AtomicU64,
}

impl LogState {
    pub fn new(appender: Appender, readers: Arc<ReaderPool>, log_id: [u8; 32]) -> Self {
        LogState {
            appender,
            readers,
            log_id,
            rejected: Default::default(),
            entry_timeout: DEFAULT_ENTRY_TIMEOUT,
            timed_out: Default::default(),
        }
    }

    /// The same, with entry requests waiting at most `timeout` for their answer.
    pub fn with_entry_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.entry_timeout = timeout;
        self
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn LogStore) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.readers
            .run(f)
            .await
            .map_err(|e| ApiError::internal(format!("reader task failed: {e}")))?
            .map_err(ApiError::from)
    }
}

/// The log's routes, relative to its base URL.
pub fn router(state: Arc<LogState>) -> Router {
    Router::new()
        .route(
            "/api/v2/log/entries",
            post(create_entry).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/checkpoint", get(checkpoint))
        .route("/metrics", get(metrics))
        .route("/tile/{*path}", get(tile))
        .with_state(state)
}

/// An error answer: HTTP status plus the JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    fn internal(message: String) -> Self {
        tracing::error!(%message, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
    fn grpc_code(&self) -> u16 {
        match self.status {
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
            StatusCode::NOT_FOUND => 5,
            StatusCode::SERVICE_UNAVAILABLE => 14,
            StatusCode::TOO_MANY_REQUESTS => 8,
            _ => 13,
        }
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Overloaded => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            LogError::Unavailable | LogError::KeyUnavailable(_) | LogError::StoreUnavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            LogError::Storage(e) => ApiError::internal(e.to_string()),
            LogError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.grpc_code(), "message": self.message });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

async fn create_entry(
    State(state): State<Arc<LogState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let result = add_entry(&state, body).await;
    if let Err(e) = &result {
        if e.status.is_client_error() {
            state.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    result
}

async fn add_entry(state: &Arc<LogState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = body.map_err(|r| {
        let status = r.status();
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, format!("request body: {}", r.body_text()))
    })?;
    let entry = rekor_v2::entry_from_request(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("invalid entry: {e}")))?;
    let leaf_hash = signet_tlog::leaf_hash(&entry.canonical_body);
    let kind = entry.kind;
    let version = entry.api_version;
    let canonical_body = entry.canonical_body.clone();
    let submitted = state.appender.submit(leaf_hash, entry.canonical_body);
    let integrated = match tokio::time::timeout(state.entry_timeout, submitted).await {
        Ok(answer) => answer?,
        Err(_) => {
            state.timed_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let why = if state.appender.witnesses().is_some() {
                " (the log publishes a checkpoint only once its witnesses have cosigned it)"
            } else {
                ""
            };
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "no checkpoint covering this entry was published within {} s{why}; the entry may be logged already: send the same request again to get it with its inclusion proof",
                    state.entry_timeout.as_secs_f64()
                ),
            ));
        }
    };
    let cp = &integrated.checkpoint;
    let body = rekor_v2::TransparencyLogEntryRef {
        log_index: integrated.index,
        log_id: &state.log_id,
        kind_version: rekor_v2::KindVersionRef { kind, version },
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: Some(rekor_v2::InclusionProofRef {
            log_index: integrated.index,
            root_hash: &cp.root,
            tree_size: cp.size,
            hashes: &integrated.proof,
            checkpoint: Some(&cp.note),
        }),
        canonicalized_body: &canonical_body,
    }
    .to_json();
    let status = if integrated.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    resp.headers_mut()
        .insert("x-log-index", HeaderValue::from(integrated.index));
    Ok(resp)
}

/// Prometheus text exposition of the log's counters: the appender's figures
/// ([`MetricsWriter::appender`]) and the entry requests refused.
async fn metrics(State(state): State<Arc<LogState>>) -> MetricsWriter {
    let mut out = MetricsWriter::new();
    out.appender("signet_log", &state.appender);
    out.counter(
        "signet_log_rejected_total",
        "Entry requests refused as invalid (4xx).",
        state.rejected.load(std::sync::atomic::Ordering::Relaxed),
    );
    out.counter(
        "signet_log_entry_timeouts_total",
        "Entry requests answered 503 because no checkpoint covering them was published in time.",
        state.timed_out.load(std::sync::atomic::Ordering::Relaxed),
    );
    if let Some(witnesses) = state.appender.witnesses() {
        witnesses.write_metrics(&mut out, "signet_log");
    }
    out
}

async fn checkpoint(State(state): State<Arc<LogState>>) -> Result<Response, ApiError> {
    let cp = state.appender.published().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no checkpoint has been cosigned by the log's witness quorum yet",
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        cp.note.clone(),
    )
        .into_response())
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

async fn tile(State(state): State<Arc<LogState>>, Path(path): Path<String>) -> Result<Response, ApiError> {
    let full_path = format!("tile/{path}");
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("no tile at {full_path}"));
    let size = state.appender.checkpoint().size;
    match TilePath::parse(&full_path).map_err(|_| not_found())? {
        TilePath::Entries(id) => {
            if !published(&id.hash_tile(), size) {
                return Err(not_found());
            }
            let (start, want) = (id.index * 256, id.width as u64);
            let bodies = state.read(move |s| Ok(s.read_entries(start, want)?)).await?;
            if bodies.len() as u64 != want {
                return Err(ApiError::internal(format!(
                    "entry bundle {full_path} short: {} of {want}",
                    bodies.len()
                )));
            }
            let bundle =
                signet_tlog::encode_entry_bundle(&bodies).map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(octets(bundle))
        }
        TilePath::Hash(id) => {
            if !published(&id, size) {
                return Err(not_found());
            }
            let (level, index) = (id.level, id.index);
            let hashes = state
                .read(move |s| Ok(s.read_tile(level, index)?))
                .await?
                .ok_or_else(not_found)?;
            let want = id.width as usize * 32;
            if hashes.len() < want {
                return Err(ApiError::internal(format!(
                    "tile {full_path} short: {} bytes",
                    hashes.len()
                )));
            }
            Ok(octets(hashes[..want].to_vec()))
        }
    }
}

/// True when a tree of `size` leaves has this tile at this width or wider: a narrower partial
/// tile is a prefix of the wider one, and clients holding an older checkpoint ask for it.
fn published(id: &TileId, size: u64) -> bool {
    TileId::width_in_tree(id.level, id.index, size).is_some_and(|w| id.width <= w)
}

fn octets(data: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        data,
    )
        .into_response()
}
