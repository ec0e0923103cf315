//! The log asks witnesses to cosign its checkpoints (c2sp.org/tlog-witness, the client side):
//! after each checkpoint is committed, every witness of the policy gets an `add-checkpoint`
//! request at once, in parallel, with a consistency proof from the size that witness last
//! cosigned. A 409 answer names that size (`text/x.tlog.size`): the log retries once with a
//! proof from there, so a witness that was wiped, restarted or never contacted is caught up
//! without an extra probe. Proofs are computed once per old size and shared by the witnesses
//! that need them. A round ends when every witness has answered or the timeout (1 s by
//! default, as Tessera's) has passed; the valid cosignatures (`cosignature/v1`, checked here
//! against the policy's keys) are appended to the log's signed note, and the policy's quorum
//! is evaluated on the result.
//!
//! What to do when the quorum is missed is the appender's ([`OnMissedQuorum`]); this module
//! only collects. The wire format and the checks of answers are pure
//! (`signet_tlog::add_checkpoint`); this is the HTTP shell around them: https, or plain http to
//! a loopback address only; bounded answers; a deadline per round.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use signet_tlog::add_checkpoint::{cosignatures_from_response, parse_tlog_size};
use signet_tlog::{
    AddCheckpointRequest, CosignatureVerifier, FnTileSource, Hash, Note, NoteSignature, Prover, WitnessPolicy,
};
use tokio::time::Instant;

use crate::metrics::{LatencyHistogram, MetricsWriter};
use crate::storage::LogStore;
use crate::SignedCheckpoint;

/// How long a round waits for the witnesses by default (Tessera's default too).
pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(1);
/// The largest answer read from a witness: a cosignature line is about 120 bytes, so this
/// leaves room for a few lines and an error message, and no more.
pub const MAX_ANSWER_BYTES: usize = 16 << 10;

/// What the log does with a checkpoint whose cosignatures miss the policy's quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissedQuorum {
    /// Publish it (and answer the entries it covers) with whatever cosignatures arrived, as
    /// Rekor v2 does by default (rekor-tiles sets Tessera's `FailOpen`). Availability first:
    /// verifiers that require the quorum refuse those bundles.
    FailOpen,
    /// Hold it back: `/checkpoint` keeps the last checkpoint that met the quorum, the entries it
    /// would cover wait (durable, unanswered) and the round is retried with backoff.
    Hold,
}

/// Why the witnessing configuration cannot be used (refused at start).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessingError {
    #[error("witness {name} of the witness policy has no URL; the log must know where to send it checkpoints (`witness {name} <vkey> <url>`)")]
    NoUrl { name: String },
    #[error("witness {name}: URL {url:?} {reason}")]
    BadUrl {
        name: String,
        url: String,
        reason: String,
    },
    #[error("the witness policy names no witness to ask")]
    NoWitnesses,
    #[error("TLS configuration for the witness client: {0}")]
    Tls(String),
}

/// Consistency proofs between two sizes of the log's committed tree, for the witnesses. Called
/// on tokio's blocking pool (a store read may block).
pub trait ConsistencyProofs: Send + Sync + 'static {
    /// The RFC 6962 consistency proof from `old` to `new` (0 < old < new).
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String>;
}

/// Proofs from a store connection of the collector's own (tiles are committed before a round
/// starts, so any connection sees them).
pub struct StoreProofs {
    store: Mutex<Box<dyn LogStore>>,
}

impl StoreProofs {
    pub fn new(store: Box<dyn LogStore>) -> Self {
        StoreProofs {
            store: Mutex::new(store),
        }
    }
}

impl ConsistencyProofs for StoreProofs {
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let store = std::cell::RefCell::new(&mut **store);
        let tiles = FnTileSource(|id: &signet_tlog::TileId| {
            crate::storage::read_hash_tile(&mut **store.borrow_mut(), id)
        });
        Prover::over_tiles(&tiles, new)
            .and_then(|p| p.consistency_proof(old))
            .map_err(|e| format!("consistency proof {old} -> {new}: {e}"))
    }
}

/// Figures of one witness, for `/metrics`.
#[derive(Debug, Default)]
pub struct WitnessStats {
    /// add-checkpoint requests sent (a 409 retry is a second request).
    pub requests: AtomicU64,
    /// Rounds in which this witness gave no valid cosignature (timeout, transport error,
    /// unexpected status, garbage, a bad cosignature).
    pub failures: AtomicU64,
    /// 409 answers (the witness's size was not the one the log assumed).
    pub conflicts: AtomicU64,
    /// Time per request, answered or not.
    pub latency: LatencyHistogram,
}

/// One witness the log asks.
struct WitnessClient {
    name: String,
    verifier: CosignatureVerifier,
    endpoint: hyper::Uri,
    /// The size the witness last cosigned, as far as the log knows (`None`: unknown, probe with
    /// `old 0`).
    last_size: Mutex<Option<u64>>,
    stats: WitnessStats,
}

/// Figures of the collector as a whole.
#[derive(Debug, Default)]
pub struct RoundStats {
    /// Rounds run (one per checkpoint asked about, retries in hold mode included).
    pub rounds: AtomicU64,
    /// Rounds whose cosignatures missed the policy's quorum.
    pub quorum_misses: AtomicU64,
    /// Consistency proofs computed (one per distinct old size per round).
    pub proofs: AtomicU64,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Collects cosignatures for checkpoints from the witnesses of a policy.
pub struct Collector {
    policy: WitnessPolicy,
    witnesses: Vec<Arc<WitnessClient>>,
    timeout: Duration,
    proofs: Arc<dyn ConsistencyProofs>,
    http: HttpClient,
    pub stats: RoundStats,
}

/// A checkpoint with the cosignatures one round gathered.
#[derive(Debug, Clone)]
pub struct Cosigned {
    /// The log's checkpoint with the valid cosignature lines appended (policy order).
    pub checkpoint: SignedCheckpoint,
    /// Policy names of the witnesses whose cosignature is on it.
    pub cosigned_by: Vec<String>,
    /// Whether they satisfy the policy's quorum.
    pub quorum: bool,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field(
                "witnesses",
                &self.witnesses.iter().map(|w| &w.name).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// A collector for every witness of `policy`, each of which must have a URL: https, or
    /// http to a loopback address (a witness on this machine, as in tests).
    pub fn new(
        policy: WitnessPolicy,
        timeout: Duration,
        proofs: Arc<dyn ConsistencyProofs>,
    ) -> Result<Self, WitnessingError> {
        if policy.witnesses().is_empty() {
            return Err(WitnessingError::NoWitnesses);
        }
        let mut witnesses = Vec::new();
        for w in policy.witnesses() {
            let url = w
                .url
                .as_deref()
                .ok_or_else(|| WitnessingError::NoUrl { name: w.name.clone() })?;
            witnesses.push(Arc::new(WitnessClient {
                name: w.name.clone(),
                verifier: w.verifier.clone(),
                endpoint: add_checkpoint_endpoint(url).map_err(|reason| WitnessingError::BadUrl {
                    name: w.name.clone(),
                    url: url.to_string(),
                    reason,
                })?,
                last_size: Mutex::new(None),
                stats: WitnessStats::default(),
            }));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| WitnessingError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(Collector {
            policy,
            witnesses,
            timeout,
            proofs,
            http,
            stats: RoundStats::default(),
        })
    }

    /// The policy the cosignatures are judged by.
    pub fn policy(&self) -> &WitnessPolicy {
        &self.policy
    }

    /// Takes each witness's last cosigned size from a checkpoint the log published before (a
    /// restart): a witness whose valid cosignature it carries cosigned at least that size. A
    /// wrong guess costs one 409 and a retry.
    pub fn seed(&self, published: &SignedCheckpoint) {
        let Ok(note) = Note::parse(&published.note) else {
            return;
        };
        for w in &self.witnesses {
            if note
                .signatures()
                .iter()
                .any(|s| w.verifier.is_signer_of(s) && w.verifier.verify(note.text(), s).is_ok())
            {
                *w.last_size.lock().unwrap_or_else(|p| p.into_inner()) = Some(published.size);
            }
        }
    }

    /// Asks every witness to cosign `checkpoint` (the log's signed note, without cosignatures)
    /// and returns it with the valid cosignatures that came back within the timeout.
    pub async fn cosign(&self, checkpoint: &SignedCheckpoint) -> Cosigned {
        self.stats.rounds.fetch_add(1, Relaxed);
        let deadline = Instant::now() + self.timeout;
        let round = Arc::new(Round {
            note: checkpoint.note.clone(),
            text: checkpoint_text(&checkpoint.note),
            size: checkpoint.size,
            deadline,
            proofs: ProofCache {
                source: self.proofs.clone(),
                new: checkpoint.size,
                cells: Mutex::new(HashMap::new()),
            },
            http: self.http.clone(),
        });
        let mut tasks = tokio::task::JoinSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            let (w, round) = (w.clone(), round.clone());
            tasks.spawn(async move { (i, w.add_checkpoint(&round).await) });
        }
        let mut found: Vec<Option<Vec<NoteSignature>>> = vec![None; self.witnesses.len()];
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((i, Ok(sigs))) => found[i] = Some(sigs),
                Ok((i, Err(reason))) => {
                    let w = &self.witnesses[i];
                    w.stats.failures.fetch_add(1, Relaxed);
                    tracing::warn!(witness = %w.name, size = checkpoint.size, "no cosignature: {reason}");
                }
                Err(e) => tracing::error!(error = %e, "a witness request task failed"),
            }
        }
        self.stats.proofs.fetch_add(round.proofs.computed(), Relaxed);
        let mut note = match Note::parse(&checkpoint.note) {
            Ok(note) => note,
            Err(e) => {
                tracing::error!(error = %e, "the log's own checkpoint does not parse as a note");
                return Cosigned {
                    checkpoint: checkpoint.clone(),
                    cosigned_by: vec![],
                    quorum: false,
                };
            }
        };
        for sig in found.into_iter().flatten().flatten() {
            if let Err(e) = note.add_signature(sig) {
                tracing::warn!(error = %e, "cosignature not added to the checkpoint");
            }
        }
        let check = self.policy.check(&note);
        if !check.satisfied {
            self.stats.quorum_misses.fetch_add(1, Relaxed);
        }
        Cosigned {
            checkpoint: SignedCheckpoint {
                size: checkpoint.size,
                root: checkpoint.root,
                note: note.to_envelope(),
            },
            cosigned_by: check.cosigned_by,
            quorum: check.satisfied,
        }
    }

    /// The collector's figures as `<prefix>_witness_*` families.
    pub fn write_metrics(&self, out: &mut MetricsWriter, prefix: &str) {
        let per = |f: &dyn Fn(&WitnessStats) -> u64| -> Vec<(&str, u64)> {
            self.witnesses
                .iter()
                .map(|w| (w.name.as_str(), f(&w.stats)))
                .collect()
        };
        out.labeled_counter(
            &format!("{prefix}_witness_requests_total"),
            "add-checkpoint requests sent to each witness.",
            "witness",
            &per(&|s| s.requests.load(Relaxed)),
        );
        out.labeled_counter(
            &format!("{prefix}_witness_failures_total"),
            "Rounds in which a witness gave no valid cosignature (timeout, error, bad answer).",
            "witness",
            &per(&|s| s.failures.load(Relaxed)),
        );
        out.labeled_counter(
            &format!("{prefix}_witness_conflicts_total"),
            "409 answers: the witness had cosigned another size than the log assumed.",
            "witness",
            &per(&|s| s.conflicts.load(Relaxed)),
        );
        let histograms: Vec<(&str, &LatencyHistogram)> = self
            .witnesses
            .iter()
            .map(|w| (w.name.as_str(), &w.stats.latency))
            .collect();
        out.labeled_histogram(
            &format!("{prefix}_witness_request_seconds"),
            "Time per add-checkpoint request, answered or not.",
            "witness",
            &histograms,
        );
        out.counter(
            &format!("{prefix}_witness_rounds_total"),
            "Checkpoints sent to the witnesses (hold-mode retries included).",
            self.stats.rounds.load(Relaxed),
        );
        out.counter(
            &format!("{prefix}_witness_quorum_misses_total"),
            "Rounds whose cosignatures missed the witness policy's quorum.",
            self.stats.quorum_misses.load(Relaxed),
        );
    }

    /// Each witness's last cosigned size as the log knows it (`None`: unknown), by policy name.
    pub fn witness_sizes(&self) -> Vec<(String, Option<u64>)> {
        self.witnesses
            .iter()
            .map(|w| {
                (
                    w.name.clone(),
                    *w.last_size.lock().unwrap_or_else(|p| p.into_inner()),
                )
            })
            .collect()
    }
}

/// What every witness of one round shares.
struct Round {
    /// The log's signed note, as sent.
    note: String,
    /// Its text (what cosignatures sign).
    text: String,
    size: u64,
    deadline: Instant,
    proofs: ProofCache,
    http: HttpClient,
}

/// Consistency proofs to the round's size, computed at most once per old size.
struct ProofCache {
    source: Arc<dyn ConsistencyProofs>,
    new: u64,
    cells: Mutex<HashMap<u64, Arc<ProofCell>>>,
}

/// One old size's proof, computed by whichever witness needs it first.
type ProofCell = tokio::sync::OnceCell<Result<Vec<Hash>, String>>;

impl ProofCache {
    async fn get(&self, old: u64) -> Result<Vec<Hash>, String> {
        if old == 0 || old == self.new {
            return Ok(vec![]);
        }
        let cell = self
            .cells
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(old)
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let (source, new) = (self.source.clone(), self.new);
            tokio::task::spawn_blocking(move || source.consistency_proof(old, new))
                .await
                .unwrap_or_else(|e| Err(format!("proof task failed: {e}")))
        })
        .await
        .clone()
    }

    fn computed(&self) -> u64 {
        let cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.values().filter(|c| c.initialized()).count() as u64
    }
}

impl WitnessClient {
    /// One witness's part of a round: the request from its last known size, and at most one
    /// retry after a 409. `Ok` holds its valid cosignatures (at least one).
    async fn add_checkpoint(&self, round: &Round) -> Result<Vec<NoteSignature>, String> {
        let known = *self.last_size.lock().unwrap_or_else(|p| p.into_inner());
        // A witness ahead of the log (after a rollback of the log's storage) is probed from 0:
        // it answers with its size, which the log cannot prove consistency from.
        let mut old = known.filter(|&s| s <= round.size).unwrap_or(0);
        for attempt in 0..2 {
            let proof = round.proofs.get(old).await?;
            let body = AddCheckpointRequest {
                old_size: old,
                proof,
                checkpoint: round.note.clone(),
            }
            .to_bytes();
            let (status, answer) = self.post(round, body).await?;
            match status {
                200 => {
                    let sigs = cosignatures_from_response(&round.text, &answer, &self.verifier)
                        .map_err(|e| format!("{} answered 200 but {e}", self.endpoint))?;
                    self.set_last_size(round.size);
                    return Ok(sigs);
                }
                409 => {
                    self.stats.conflicts.fetch_add(1, Relaxed);
                    let size = parse_tlog_size(&answer).ok_or_else(|| {
                        format!(
                            "{} answered 409 without a text/x.tlog.size body: {:?}",
                            self.endpoint,
                            clip(&answer)
                        )
                    })?;
                    self.set_last_size(size);
                    if size > round.size {
                        return Err(format!(
                            "the witness has cosigned size {size} of this log, more than the {} the log has: was the log's storage rolled back?",
                            round.size
                        ));
                    }
                    if attempt == 0 {
                        tracing::info!(witness = %self.name, from = old, to = size, "witness resync (409)");
                        old = size;
                        continue;
                    }
                    return Err(format!("409 again (size {size}) after a resync"));
                }
                status => {
                    return Err(format!(
                        "{} answered HTTP {status}: {:?}",
                        self.endpoint,
                        clip(&answer)
                    ))
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn set_last_size(&self, size: u64) {
        *self.last_size.lock().unwrap_or_else(|p| p.into_inner()) = Some(size);
    }

    /// POSTs an add-checkpoint body; the status and the body (at most [`MAX_ANSWER_BYTES`]),
    /// within the round's deadline.
    async fn post(&self, round: &Round, body: Vec<u8>) -> Result<(u16, Bytes), String> {
        self.stats.requests.fetch_add(1, Relaxed);
        let started = std::time::Instant::now();
        let request = hyper::Request::post(self.endpoint.clone())
            .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(
                hyper::header::USER_AGENT,
                concat!("signet-log/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = round
                .http
                .request(request)
                .await
                .map_err(|e| format!("{}: {}", self.endpoint, error_chain(&e)))?;
            let status = response.status().as_u16();
            let declared = response
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let too_large = || {
                format!(
                    "{} answered with more than {MAX_ANSWER_BYTES} bytes",
                    self.endpoint
                )
            };
            if declared.is_some_and(|len| len > MAX_ANSWER_BYTES as u64) {
                return Err(too_large());
            }
            let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_large()
                    } else {
                        format!("{}: reading the answer: {e}", self.endpoint)
                    }
                })?;
            Ok((status, body.to_bytes()))
        };
        let result = tokio::time::timeout_at(round.deadline, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "{}: no answer before the round's deadline",
                    self.endpoint
                ))
            });
        self.stats.latency.observe(started.elapsed());
        result
    }
}

/// The text of a signed note (what cosignatures sign); the whole input if it has no
/// signature block.
fn checkpoint_text(note: &str) -> String {
    match note.rfind("\n\n") {
        Some(i) => note[..i + 1].to_string(),
        None => note.to_string(),
    }
}

/// `<url>/add-checkpoint`, if `url` is https, or http to a loopback host.
fn add_checkpoint_endpoint(url: &str) -> Result<hyper::Uri, String> {
    let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let uri: hyper::Uri = endpoint.parse().map_err(|e| format!("is not a URL: {e}"))?;
    let host = uri.host().ok_or("has no host")?;
    if uri.query().is_some() {
        return Err("has a query; give the witness's base URL".into());
    }
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback_host(host) => Ok(uri),
        Some("http") => Err("is plain http to a host that is not loopback; use https".into()),
        _ => Err("is not an http(s) URL".into()),
    }
}

/// `localhost` or a loopback IP address (IPv6 in brackets, as in a URL).
fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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

/// A prefix of an untrusted answer short enough for a log line.
fn clip(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}
