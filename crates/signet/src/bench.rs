//! `signet bench log`: a load generator for the transparency log's Rekor v2 write API, in the
//! spirit of Tessera's hammer. It POSTs real, distinct, correctly signed
//! `hashedRekordRequestV002` entries to `{url}/api/v2/log/entries` and measures what the log
//! promises: an answer only once the entry is integrated, so request latency is time to
//! integration; every acknowledged entry has its own `logIndex` and an inclusion proof.
//!
//! Two ways to drive the log:
//! - closed loop (default): `--concurrency` workers each keep one request in flight, sending the
//!   next as soon as the previous is answered; latency is measured from the actual send.
//! - open loop (`--rate R`): request `k` is scheduled at `start + k / R`, whatever the server
//!   does; at most `--concurrency` are in flight, and latency is measured from the *scheduled*
//!   time, so a server that stalls is charged for the requests it kept waiting (no coordinated
//!   omission). tokio's timer has 1 ms resolution, which can add up to 1 ms to those latencies.
//!
//! Signing is not what is under test, and on a small machine it would steal the server's CPU, so
//! signatures are made before the clock starts: `--presign N` entries on every core, N being by
//! default `R × (warmup + duration)` plus slack in open loop and, in closed loop, what 15,000
//! entries/s would need, at most 4 M (73 bytes each, see `bench/entries.rs`). If a fast server
//! drains the pool, a background thread signs on demand and the report says how many entries it
//! signed and when it started. Bodies are assembled (one SHA-256 and three base64 encodings) as
//! they are sent.
//!
//! Figures cover the measured window that follows `--warmup`: throughput counts entries
//! answered in the window, latency counts entries sent in the window (including answers that
//! arrive after it, during the drain). Errors and log-index uniqueness cover the whole run. One
//! entry is sent before pre-signing, to fail fast with a clear message if the URL is wrong.

mod entries;
mod histogram;
mod record;
mod report;
mod server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use entries::{EntryFactory, EntrySource};
use record::{classify, distinct_indices, Failure, Outcome, Recorder, Window};
use report::{ErrorReport, LatencyReport, PresignReport, Report, ServerReport};
use server::{sample_proc, ProcSample, SpawnedServer};

/// Closed-loop pre-signing assumes the server sustains at most this many entries per second.
const ASSUMED_MAX_RATE: u64 = 15_000;
/// Default pre-signed pool is capped at this many entries (about 290 MB).
const MAX_DEFAULT_PRESIGN: u64 = 4_000_000;
/// Largest response body read; a TransparencyLogEntry is a few KiB.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How many repeated log indices the report lists.
const REPEATED_EXAMPLES: usize = 10;
/// Interval of the progress lines on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Arguments of `signet bench log`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLogArgs {
    /// Base URL of the log, e.g. http://127.0.0.1:3000/rekor (http only). Without it, bench
    /// starts `signet server` on an ephemeral port with a fresh data directory and stops it at
    /// the end.
    #[arg(long)]
    pub url: Option<String>,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Seconds of load before the measured window; excluded from the figures.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Requests in flight (closed loop), or the most in flight (open loop).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Open loop: send this many entries per second whatever the server does.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Number of ECDSA P-256 signing keys the entries cycle through.
    #[arg(long, default_value_t = 64)]
    pub keys: usize,
    /// Print the report as one JSON object too (last line of stdout).
    #[arg(long)]
    pub json: bool,
    /// Entries to sign before the clock starts (default: what the run needs, see above).
    #[arg(long)]
    pub presign: Option<u64>,
    /// Seconds to wait for one answer before counting a timeout.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Pid of an already running server (with --url) whose memory and CPU to report.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// When a worker sends its next request.
enum Schedule {
    Closed,
    Open { rate: f64, next_ticket: AtomicU64 },
}

/// What every worker shares.
struct Shared {
    client: Client<HttpConnector, Full<Bytes>>,
    endpoint: Uri,
    source: EntrySource,
    window: Window,
    schedule: Schedule,
    timeout: Duration,
    accepted: AtomicU64,
    failed: AtomicU64,
}

/// Runs `signet bench log`: prints the report, and fails if the log acknowledged an entry
/// without a valid log index and inclusion proof, or gave one index to two entries.
pub async fn run_log(args: BenchLogArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate must be a positive number of entries per second, got {rate}");
        }
    }

    let (base_url, mut spawned) = match &args.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            eprintln!("[bench] starting signet server");
            let server = SpawnedServer::start().await?;
            (server.base_url.clone(), Some(server))
        }
    };
    if !base_url.starts_with("http://") {
        bail!("--url must be an http:// URL (the load generator does not speak TLS), got {base_url}");
    }
    let endpoint: Uri = format!("{base_url}/api/v2/log/entries")
        .parse()
        .with_context(|| format!("--url {base_url} is not a valid URL"))?;
    let server_pid = spawned.as_ref().map(SpawnedServer::pid).or(args.server_pid);

    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector);
    let timeout = Duration::from_secs(args.timeout.max(1));

    let key_count = args.keys;
    let factory = tokio::task::spawn_blocking(move || EntryFactory::new(key_count))
        .await
        .context("the key generation task failed")??;
    let factory = Arc::new(factory);

    // One entry before anything else: a wrong URL or a broken server fails here, clearly. Its
    // index is outside the run's sequence, so its digest is distinct from every other entry's.
    let preflight_body = factory.signed_body(u64::MAX)?;
    let preflight_index = match submit(&client, &endpoint, timeout, preflight_body).await {
        Outcome::Accepted { log_index } => log_index,
        Outcome::Failed { failure, detail } => {
            bail!("the first entry sent to {endpoint} failed: {failure}: {detail}")
        }
    };

    // Sign before the clock starts.
    let run_secs = args.warmup + args.duration;
    let presign = args.presign.unwrap_or_else(|| match args.rate {
        Some(rate) => ((rate * run_secs as f64).ceil() as u64)
            .saturating_add(args.concurrency as u64)
            .min(MAX_DEFAULT_PRESIGN),
        None => (ASSUMED_MAX_RATE * run_secs).clamp(args.concurrency as u64 * 4, MAX_DEFAULT_PRESIGN),
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("[bench] pre-signing {presign} entries with {key_count} keys on {threads} threads");
    let presign_started = Instant::now();
    let pool = {
        let factory = factory.clone();
        tokio::task::spawn_blocking(move || entries::presign(&factory, presign, threads))
            .await
            .context("the pre-signing task failed")??
    };
    let presign_seconds = presign_started.elapsed().as_secs_f64();
    eprintln!(
        "[bench] pre-signed {presign} entries in {presign_seconds:.1} s ({:.0}/s)",
        presign as f64 / presign_seconds.max(1e-9)
    );
    // Closed loop: start the background signer well before the pool runs dry. Open loop: the
    // pool already holds every scheduled entry, so only start it if the pool really runs out.
    let refill_lead = match args.rate {
        Some(_) => 0,
        None => args.concurrency as u64 * 4 + 4096,
    };
    let source = EntrySource::new(factory, pool, refill_lead);

    let start = Instant::now();
    let window = Window {
        start,
        measure_start: start + Duration::from_secs(args.warmup),
        end: start + Duration::from_secs(run_secs),
    };
    let schedule = match args.rate {
        Some(rate) => Schedule::Open {
            rate,
            next_ticket: AtomicU64::new(0),
        },
        None => Schedule::Closed,
    };
    let shared = Arc::new(Shared {
        client,
        endpoint,
        source,
        window,
        schedule,
        timeout,
        accepted: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    eprintln!(
        "[bench] {} s warmup, then {} s measured, against {base_url}",
        args.warmup, args.duration
    );

    let sampler = tokio::spawn(sample_window(window, server_pid));
    let progress = tokio::spawn(progress(shared.clone()));
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();

    let mut merged = Recorder::new(&window);
    let mut failures = Vec::new();
    for w in workers {
        match w.await {
            Ok(recorder) => merged.merge(recorder),
            Err(e) => failures.push(format!("a worker task failed: {e}")),
        }
    }
    progress.abort();
    count_unsent(&shared, &mut merged);
    let (at_measure_start, at_end) = sampler.await.unwrap_or((Samples::default(), Samples::default()));
    let server_at_finish = server_pid.and_then(|pid| sample_proc(&pid.to_string()));
    if let Some(exit) = spawned.as_mut().and_then(SpawnedServer::exit_status) {
        failures.push(exit);
    }
    drop(spawned); // stops the server we started and removes its data

    merged.indices.push(preflight_index);
    let report = build_report(
        &args,
        base_url,
        server_pid,
        &shared,
        merged,
        PresignReport {
            entries: shared.source.pool_len(),
            seconds: presign_seconds,
            signed_during_run: shared.source.signed_in_background(),
            background_started_at_s: shared
                .source
                .background_started_at()
                .map(|t| signed_seconds(start, t)),
        },
        ServerFigures {
            at_measure_start: at_measure_start.server,
            at_end: at_end.server,
            at_finish: server_at_finish,
        },
        client_cpu(&at_measure_start, &at_end),
        failures,
    );

    print!("{}", report.to_text());
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if !report.failures.is_empty() {
        bail!("bench log failed: {}", report.failures.join("; "));
    }
    Ok(())
}

/// One worker: sends entries until the end of the window, and tallies the answers.
async fn worker(shared: Arc<Shared>) -> Recorder {
    let window = shared.window;
    let mut recorder = Recorder::new(&window);
    loop {
        let scheduled = match &shared.schedule {
            Schedule::Closed => None,
            Schedule::Open { rate, next_ticket } => {
                let k = next_ticket.fetch_add(1, Ordering::Relaxed);
                let at = ticket_time(&window, *rate, k);
                if at >= window.end {
                    break;
                }
                if Instant::now() >= window.end {
                    // Behind schedule at the end: count it, and the rest in `count_unsent`.
                    recorder.record(&window, at, at, Outcome::failed(Failure::Unsent, ""));
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                Some(at)
            }
        };
        if scheduled.is_none() && Instant::now() >= window.end {
            break;
        }
        let body = match shared.source.next_body().await {
            Ok(body) => body,
            Err(e) => {
                let now = Instant::now();
                let outcome = Outcome::failed(Failure::Client, format!("{e:#}"));
                recorder.record(&window, scheduled.unwrap_or(now), now, outcome);
                shared.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
        };
        let sent = Instant::now();
        if let Some(at) = scheduled {
            recorder.record_send_lag(&window, at, sent);
        }
        let outcome = submit(&shared.client, &shared.endpoint, shared.timeout, body).await;
        let done = Instant::now();
        let counter = match outcome {
            Outcome::Accepted { .. } => &shared.accepted,
            Outcome::Failed { .. } => &shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        recorder.record(&window, scheduled.unwrap_or(sent), done, outcome);
    }
    recorder
}

/// When open-loop request `k` is due.
fn ticket_time(window: &Window, rate: f64, k: u64) -> Instant {
    window.start + Duration::from_secs_f64(k as f64 / rate)
}

/// Open loop: records the tickets due before the end that no worker took, because every
/// worker was still waiting for an answer. They are what a closed loop would silently omit.
fn count_unsent(shared: &Shared, recorder: &mut Recorder) {
    let Schedule::Open { rate, next_ticket } = &shared.schedule else {
        return;
    };
    let window = &shared.window;
    for k in next_ticket.load(Ordering::Relaxed).. {
        let at = ticket_time(window, *rate, k);
        if at >= window.end {
            break;
        }
        recorder.record(window, at, at, Outcome::failed(Failure::Unsent, ""));
    }
}

/// POSTs one entry and classifies the answer. Never panics: whatever goes wrong is an outcome.
async fn submit(
    client: &Client<HttpConnector, Full<Bytes>>,
    endpoint: &Uri,
    timeout: Duration,
    body: Bytes,
) -> Outcome {
    let request = match Request::post(endpoint.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(body))
    {
        Ok(request) => request,
        Err(e) => return Outcome::failed(Failure::Client, format!("building the request: {e}")),
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| {
            let kind = if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Transport
            };
            Outcome::failed(kind, error_chain(&e))
        })?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| {
                Outcome::failed(
                    Failure::Transport,
                    format!("reading the body: {}", error_chain(&*e)),
                )
            })?
            .to_bytes();
        Ok::<_, Outcome>(classify(status, &body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(outcome)) | Ok(Err(outcome)) => outcome,
        Err(_) => Outcome::failed(
            Failure::Timeout,
            format!("no complete answer within {} s", timeout.as_secs()),
        ),
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Prints a progress line to stderr every few seconds until aborted.
async fn progress(shared: Arc<Shared>) {
    let mut last = 0u64;
    let mut ticker = tokio::time::interval_at((shared.window.start + PROGRESS_EVERY).into(), PROGRESS_EVERY);
    loop {
        ticker.tick().await;
        let now = Instant::now();
        let accepted = shared.accepted.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        let phase = if now < shared.window.measure_start {
            "warmup"
        } else if now < shared.window.end {
            "measuring"
        } else {
            "draining"
        };
        eprintln!(
            "[bench] {:>5.0} s {phase:<9} accepted {accepted} ({:.0}/s), failed {failed}",
            (now - shared.window.start).as_secs_f64(),
            (accepted - last) as f64 / PROGRESS_EVERY.as_secs_f64(),
        );
        last = accepted;
    }
}

/// `/proc` samples of the server and of this process at one instant.
#[derive(Debug, Clone, Copy, Default)]
struct Samples {
    server: Option<ProcSample>,
    client: Option<ProcSample>,
}

/// Samples at the start and at the end of the measured window.
async fn sample_window(window: Window, server_pid: Option<u32>) -> (Samples, Samples) {
    let sample = || Samples {
        server: server_pid.and_then(|pid| sample_proc(&pid.to_string())),
        client: sample_proc("self"),
    };
    tokio::time::sleep_until(window.measure_start.into()).await;
    let first = sample();
    tokio::time::sleep_until(window.end.into()).await;
    (first, sample())
}

fn client_cpu(first: &Samples, last: &Samples) -> Option<f64> {
    Some(last.client?.cpu_seconds - first.client?.cpu_seconds)
}

/// The server's `/proc` samples over the run.
struct ServerFigures {
    at_measure_start: Option<ProcSample>,
    at_end: Option<ProcSample>,
    /// After the drain, just before the server is stopped.
    at_finish: Option<ProcSample>,
}

/// Seconds from `from` to `to`, negative if `to` is earlier.
fn signed_seconds(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -(from - to).as_secs_f64(),
    }
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    args: &BenchLogArgs,
    target: String,
    server_pid: Option<u32>,
    shared: &Shared,
    mut merged: Recorder,
    presign: PresignReport,
    server: ServerFigures,
    client_cpu_s: Option<f64>,
    mut failures: Vec<String>,
) -> Report {
    let measured_s = shared.window.measured().as_secs_f64();
    let accepted_in_window: u64 = merged.per_second.iter().sum();
    let acknowledged = merged.indices.len() as u64;
    let (distinct, repeated) = distinct_indices(&mut merged.indices, REPEATED_EXAMPLES);

    let bad_acks: u64 = merged
        .failures
        .iter()
        .filter(|(f, _)| f.is_bad_acknowledgement())
        .map(|(_, t)| t.total)
        .sum();
    if bad_acks > 0 {
        failures.push(format!(
            "{bad_acks} answers were 2xx without a valid logIndex and inclusion proof"
        ));
    }
    if distinct < acknowledged {
        failures.push(format!(
            "{} acknowledgements reused a log index already given to another entry (e.g. {:?})",
            acknowledged - distinct,
            repeated
        ));
    }
    if acknowledged <= 1 {
        failures.push("no entry was accepted after the pre-flight request".into());
    }

    let server = server_pid.map(|pid| ServerReport {
        pid,
        peak_rss_mib: server
            .at_finish
            .or(server.at_end)
            .and_then(|s| s.peak_rss_kib)
            .map(|kib| kib as f64 / 1024.0),
        cpu_s_window: server
            .at_end
            .zip(server.at_measure_start)
            .map(|(b, a)| b.cpu_seconds - a.cpu_seconds),
        cpu_s_total: server.at_finish.or(server.at_end).map(|s| s.cpu_seconds),
    });

    Report {
        target,
        server_spawned: args.url.is_none(),
        mode: if args.rate.is_some() { "open" } else { "closed" },
        concurrency: args.concurrency,
        rate: args.rate,
        keys: args.keys,
        warmup_s: args.warmup as f64,
        measured_s,
        presign,
        accepted_in_window,
        accepted_total: acknowledged,
        entries_per_s: accepted_in_window as f64 / measured_s,
        per_second_min: merged.per_second.iter().copied().min(),
        per_second_max: merged.per_second.iter().copied().max(),
        per_second: merged.per_second,
        latency_ms: LatencyReport::from_micros(&merged.latency_us),
        send_lag_ms: args.rate.map(|_| LatencyReport::from_micros(&merged.send_lag_us)),
        errors: merged
            .failures
            .into_iter()
            .map(|(f, t)| ErrorReport::new(f.to_string(), t))
            .collect(),
        acknowledged,
        distinct_indices: distinct,
        repeated_indices: repeated,
        server,
        client_cpu_s,
        failures,
    }
}
