//! HTTP routes of the witness (c2sp.org/tlog-witness), relative to its prefix:
//!
//! - `POST /add-checkpoint`: 200 with the cosignature line; 400 malformed, 403 no trusted
//!   signature, 404 unknown log, 409 old size mismatch (`text/x.tlog.size` body: the latest
//!   cosigned size), 422 inconsistent; errors otherwise are a one-line text message;
//! - `GET /<hex SHA-256 of origin>/checkpoint`: the latest cosigned checkpoint (monitoring);
//! - `GET /`: the witness's vkey, then one `log <origin>` line per configured log;
//! - `GET /metrics`: Prometheus text.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::service::{WitnessService, REFUSAL_STATUSES};
use crate::witness::AddError;

/// Largest request body accepted: 63 proof lines and a checkpoint with its signatures fit
/// many times over.
pub const MAX_REQUEST_BYTES: usize = 128 << 10;

pub use signet_tlog::add_checkpoint::TLOG_SIZE_CONTENT_TYPE;

const TEXT: &str = "text/plain; charset=utf-8";

/// The witness's routes.
pub fn router(service: Arc<WitnessService>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/", get(home))
        .route("/metrics", get(metrics))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .with_state(service)
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body).into_response()
}

fn refusal(e: &AddError) -> Response {
    if let AddError::Conflict { latest, .. } = e {
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, TLOG_SIZE_CONTENT_TYPE)],
            format!("{latest}\n"),
        )
            .into_response();
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(error = %e, "add-checkpoint failed");
        return text(status, "internal error; see the witness's log\n".into());
    }
    text(status, format!("{e}\n"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(
    State(service): State<Arc<WitnessService>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return text(
                e.status(),
                format!("cannot read the request body: {}\n", e.body_text()),
            )
        }
    };
    let task = tokio::task::spawn_blocking(move || {
        let result = service.add_checkpoint(&body, unix_now());
        (service, result)
    });
    match task.await {
        Ok((_, Ok(cosignature))) => text(StatusCode::OK, cosignature.to_line()),
        Ok((_, Err(e))) => refusal(&e),
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint task failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

async fn checkpoint(State(service): State<Arc<WitnessService>>, Path(origin_hash): Path<String>) -> Response {
    let task = tokio::task::spawn_blocking(move || service.checkpoint_by_origin_hash(&origin_hash));
    match task.await {
        Ok(Ok(Some(head))) => text(StatusCode::OK, head.checkpoint),
        Ok(Ok(None)) => text(
            StatusCode::NOT_FOUND,
            "no cosigned checkpoint for this log\n".into(),
        ),
        Ok(Err(e)) => refusal(&e),
        Err(e) => {
            tracing::error!(error = %e, "checkpoint task failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

async fn home(State(service): State<Arc<WitnessService>>) -> Response {
    let witness = service.witness();
    let mut body = format!("{}\n", witness.signer().verifier().vkey());
    for origin in witness.logs().origins() {
        body.push_str(&format!("log {origin}\n"));
    }
    text(StatusCode::OK, body)
}

async fn metrics(State(service): State<Arc<WitnessService>>) -> Response {
    let m = &service.metrics;
    let mut body = String::from(
        "# HELP signet_witness_cosigned_total Checkpoints cosigned.\n# TYPE signet_witness_cosigned_total counter\n",
    );
    body.push_str(&format!(
        "signet_witness_cosigned_total {}\n",
        m.cosigned.load(Ordering::Relaxed)
    ));
    body.push_str(
        "# HELP signet_witness_refused_total add-checkpoint requests refused, by HTTP status.\n# TYPE signet_witness_refused_total counter\n",
    );
    for (status, count) in REFUSAL_STATUSES.iter().zip(&m.refused) {
        body.push_str(&format!(
            "signet_witness_refused_total{{status=\"{status}\"}} {}\n",
            count.load(Ordering::Relaxed)
        ));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}
