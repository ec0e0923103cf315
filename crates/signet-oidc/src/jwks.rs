//! Fetching issuers' keys over HTTP (the only I/O in this crate): OpenID Connect Discovery 1.0
//! §4 (`{issuer}/.well-known/openid-configuration`, whose `issuer` must equal the issuer URL),
//! then the JWK Set at its `jwks_uri`. Key sets are cached per issuer; a token with an unknown
//! `kid` may trigger a refetch, at most once per `min_refresh_interval` per issuer, and
//! concurrent misses share one fetch. Requests time out, bodies are capped, redirects are not
//! followed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::config::is_loopback;
use crate::jwk::KeySet;
use crate::verifier::KeySource;
use crate::KeySourceError;

/// Limits and intervals of an [`HttpKeySource`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpKeySourceOptions {
    /// Whole-request limit (connect, headers and body) for each document. Default 5 s.
    pub timeout: Duration,
    /// Largest discovery or JWK Set document accepted. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Least time between two fetches for one issuer, whatever tokens arrive. Default 10 s.
    pub min_refresh_interval: Duration,
    /// Key sets older than this are fetched again on next use (keeping the old set if that
    /// fails), so a key the issuer withdrew stops being accepted. Default 1 hour.
    pub max_key_age: Duration,
    /// Issuers whose keys are cached at once; meta issuers can name many. Default 256; the
    /// least recently used is dropped first.
    pub max_issuers: usize,
}

impl Default for HttpKeySourceOptions {
    fn default() -> Self {
        HttpKeySourceOptions {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            min_refresh_interval: Duration::from_secs(10),
            max_key_age: Duration::from_secs(3600),
            max_issuers: 256,
        }
    }
}

impl HttpKeySourceOptions {
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    pub fn with_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    pub fn with_max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = age;
        self
    }

    pub fn with_max_issuers(mut self, max: usize) -> Self {
        self.max_issuers = max.max(1);
        self
    }
}

#[derive(Default)]
struct Cached {
    keys: Option<Arc<KeySet>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

/// One issuer's cache entry. Reads take the short `cached` lock only, so they never wait for
/// a fetch in flight; `fetch` is held for the whole of a fetch, which makes fetches single
/// flight: whoever holds it fetches, the others wait and then find the fresh set.
#[derive(Default)]
struct Slot {
    cached: Mutex<Cached>,
    fetch: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the cache says to do for a request.
enum Decision {
    Use(Arc<KeySet>),
    Refuse(KeySourceError),
    Fetch,
}

/// Fetches and caches issuers' key sets by OpenID discovery.
pub struct HttpKeySource {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    options: HttpKeySourceOptions,
    slots: Mutex<HashMap<String, (Arc<Slot>, Instant)>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for HttpKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpKeySource")
            .field("options", &self.options)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    jwks_uri: String,
}

impl HttpKeySource {
    /// A source with rustls on aws-lc-rs and Mozilla's root certificates (webpki-roots).
    pub fn new(options: HttpKeySourceOptions) -> Result<Self, KeySourceError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(options.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| KeySourceError::Transport {
                url: String::new(),
                reason: format!("TLS configuration: {e}"),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(HttpKeySource {
            client,
            options,
            slots: Mutex::new(HashMap::new()),
            fetches: AtomicU64::new(0),
        })
    }

    /// How many key-set fetches (discovery plus JWK Set) have been started.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn slot(&self, issuer: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some((slot, used)) = slots.get_mut(issuer) {
            *used = now;
            return slot.clone();
        }
        if slots.len() >= self.options.max_issuers {
            let oldest = slots
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
            }
        }
        let slot = Arc::new(Slot::default());
        slots.insert(issuer.to_owned(), (slot.clone(), now));
        slot
    }

    fn may_fetch(&self, cached: &Cached) -> bool {
        cached
            .last_attempt
            .is_none_or(|t| t.elapsed() >= self.options.min_refresh_interval)
    }

    fn recently_failed(&self) -> KeySourceError {
        KeySourceError::RecentlyFailed {
            secs: self.options.min_refresh_interval.as_secs(),
        }
    }

    /// `keys()`'s rule: a set younger than `max_key_age` is used; an older one is refetched
    /// when the rate limit allows. No set and a recent failure: refuse without a request.
    fn decide_for_keys(&self, slot: &Slot) -> Decision {
        let cached = slot.cached();
        match (&cached.keys, cached.fetched_at) {
            (Some(keys), Some(at)) if at.elapsed() < self.options.max_key_age => Decision::Use(keys.clone()),
            _ if self.may_fetch(&cached) => Decision::Fetch,
            (Some(keys), _) => Decision::Use(keys.clone()),
            (None, _) => Decision::Refuse(self.recently_failed()),
        }
    }

    /// Fetches and records the result; on failure keeps the keys it had, if any.
    async fn fetch_into(&self, slot: &Slot, issuer: &str) -> Result<Arc<KeySet>, KeySourceError> {
        slot.cached().last_attempt = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch_key_set(issuer).await {
            Ok(set) => {
                if set.is_empty() {
                    tracing::warn!(%issuer, skipped = set.skipped().len(), "issuer publishes no usable keys");
                }
                for skipped in set.skipped() {
                    tracing::debug!(%issuer, kid = ?skipped.kid, reason = %skipped.reason, "skipped JWK");
                }
                let set = Arc::new(set);
                let mut cached = slot.cached();
                cached.keys = Some(set.clone());
                cached.fetched_at = Some(Instant::now());
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(%issuer, error = %e, "fetching issuer keys failed");
                slot.cached().keys.clone().ok_or(e)
            }
        }
    }

    async fn fetch_key_set(&self, issuer: &str) -> Result<KeySet, KeySourceError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let body = self.get(&discovery_url).await?;
        let doc: DiscoveryDocument =
            serde_json::from_slice(&body).map_err(|e| KeySourceError::InvalidDocument {
                url: discovery_url.clone(),
                document: "OpenID provider configuration",
                reason: e.to_string(),
            })?;
        if doc.issuer != issuer {
            return Err(KeySourceError::IssuerMismatch {
                url: discovery_url,
                got: doc.issuer,
                expected: issuer.to_owned(),
            });
        }
        let body = self.get(&doc.jwks_uri).await?;
        KeySet::from_jwks_json(&body).map_err(|e| KeySourceError::InvalidDocument {
            url: doc.jwks_uri.clone(),
            document: "JWK Set",
            reason: e.to_string(),
        })
    }

    /// GET `url`: https, or http to a loopback host; 200 only; at most `max_body_bytes`.
    async fn get(&self, url: &str) -> Result<Bytes, KeySourceError> {
        let parsed = url::Url::parse(url).map_err(|e| KeySourceError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&parsed) => {}
            _ => return Err(KeySourceError::InsecureUrl { url: url.to_owned() }),
        }
        let uri: hyper::Uri =
            url.parse()
                .map_err(|e: hyper::http::uri::InvalidUri| KeySourceError::InvalidUrl {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })?;
        let request = hyper::Request::get(uri)
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, "signet-oidc")
            .body(Empty::new())
            .map_err(|e| KeySourceError::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let max = self.options.max_body_bytes;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| KeySourceError::Transport {
                    url: url.to_owned(),
                    reason: error_chain(&e),
                })?;
            if response.status() != hyper::StatusCode::OK {
                return Err(KeySourceError::Status {
                    url: url.to_owned(),
                    status: response.status().as_u16(),
                });
            }
            let too_large = || KeySourceError::BodyTooLarge {
                url: url.to_owned(),
                max,
            };
            let declared = response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > max as u64) {
                return Err(too_large());
            }
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_large()
                    } else {
                        KeySourceError::Transport {
                            url: url.to_owned(),
                            reason: e.to_string(),
                        }
                    }
                })?;
            Ok(body.to_bytes())
        };
        tokio::time::timeout(self.options.timeout, exchange)
            .await
            .map_err(|_| KeySourceError::Timeout {
                url: url.to_owned(),
                millis: self.options.timeout.as_millis(),
            })?
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl KeySource for HttpKeySource {
    async fn keys(&self, issuer: &str) -> Result<Arc<KeySet>, KeySourceError> {
        let slot = self.slot(issuer);
        match self.decide_for_keys(&slot) {
            Decision::Use(keys) => return Ok(keys),
            Decision::Refuse(e) => return Err(e),
            Decision::Fetch => {}
        }
        let _fetching = slot.fetch.lock().await;
        // Whoever held the lock before us may have fetched already.
        match self.decide_for_keys(&slot) {
            Decision::Use(keys) => Ok(keys),
            Decision::Refuse(e) => Err(e),
            Decision::Fetch => self.fetch_into(&slot, issuer).await,
        }
    }

    async fn refresh(&self, issuer: &str, stale: &Arc<KeySet>) -> Result<Arc<KeySet>, KeySourceError> {
        let slot = self.slot(issuer);
        let _fetching = slot.fetch.lock().await;
        {
            let cached = slot.cached();
            match &cached.keys {
                // Someone else fetched while we waited for the lock: share their result.
                Some(current) if !Arc::ptr_eq(current, stale) => return Ok(current.clone()),
                Some(current) if !self.may_fetch(&cached) => {
                    tracing::debug!(%issuer, "unknown kid, but the keys were fetched moments ago");
                    return Ok(current.clone());
                }
                None if !self.may_fetch(&cached) => return Err(self.recently_failed()),
                _ => {}
            }
        }
        self.fetch_into(&slot, issuer).await
    }
}
