//! signet's web explorer, served at `/explorer`: search by identity, issuer, digest, log
//! index or entry UUID; an entry page with the signer's identity, Fulcio extensions, digest
//! and times; a log overview with its checkpoint, witness cosignatures, newest entries and a
//! growth plot. Pages are server-rendered HTML readable without JavaScript; one script
//! (`assets/explorer.js`) verifies each entry in the reader's browser with WebCrypto: the
//! inclusion proof against the signed checkpoint, and the checkpoint's signature against the
//! log key the published trust root names.
//!
//! A service-layer crate: it reads logs only through [`ExplorerSource`] (`source.rs`), and
//! must depend on neither the log's storage nor the server composition.
//!
//! Routes, under `/explorer`:
//!
//! ```text
//! GET /                              search form; ?q=TERM results (term.rs)
//! GET /entry/<log>/<index>           an entry
//! GET /log/<log>                     a log's overview
//! GET /api/entry/<log>/<index>       the entry's leaf, audit path and checkpoint, as JSON
//! GET /api/trusted_root.json         the trust root the server publishes
//! GET /static/explorer-<hash>.{css,js}
//! ```

#![forbid(unsafe_code)]

pub mod assets;
pub mod history;
pub mod html;
mod pages;
pub mod plot;
pub mod source;
pub mod term;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;

pub use history::SizeHistory;
pub use source::{EntryFormat, ExplorerSource, Hit, LogOverview, ProvenEntry, SearchPage, SourceError, Term};

/// Where the explorer's routes are; links in pages are absolute paths under it.
pub const BASE: &str = "/explorer";

/// The Content-Security-Policy of every explorer answer: scripts and styles only from this
/// server's files (no inline script or style at all), images only from it or `data:`, fetches
/// only to it, no framing, forms only back to it.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The explorer over `source`, keeping its size history in `history`.
pub struct Explorer {
    pub(crate) source: Arc<dyn ExplorerSource>,
    pub(crate) history: SizeHistory,
}

impl Explorer {
    pub fn new(source: Arc<dyn ExplorerSource>, history: SizeHistory) -> Arc<Explorer> {
        Arc::new(Explorer { source, history })
    }

    /// Records every log's current size in the history (blocking; the server calls it from a
    /// timer on the blocking pool).
    pub fn sample_sizes(&self, now: i64) -> Result<(), SourceError> {
        for log in self.source.logs() {
            if let Some(o) = self.source.overview(&log, 0)? {
                self.history
                    .record(&log, now, o.size)
                    .map_err(|e| SourceError(format!("size history: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Whether `name` can be a log name in a URL (the form [`ExplorerSource::logs`] promises).
pub fn valid_log_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The explorer's routes, under [`BASE`] (merge them into the server's router; `/explorer`
/// and `/explorer/` are both the search page). Every answer carries [`CSP`],
/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
pub fn router(explorer: Arc<Explorer>) -> Router {
    let at = |path: &str| format!("{BASE}{path}");
    Router::new()
        .route(BASE, get(pages::search))
        .route(&at("/"), get(pages::search))
        .route(&at("/entry/{log}/{index}"), get(pages::entry))
        .route(&at("/log/{log}"), get(pages::overview))
        .route(&at("/api/entry/{log}/{index}"), get(pages::entry_json))
        .route(&at("/api/trusted_root.json"), get(pages::trusted_root))
        .route(&at("/static/{file}"), get(pages::static_file))
        .route(&at("/{*rest}"), get(pages::not_found))
        .with_state(explorer)
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
