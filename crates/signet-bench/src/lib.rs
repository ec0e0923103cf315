//! `signet bench`: load generators for signet's services, in the spirit of Tessera's hammer.
//! Each drives one service over HTTP with real, distinct requests made before the clock starts,
//! checks every answer, and reports throughput, latency, errors and the server's CPU and memory:
//!
//! - `signet bench log` ([`log`]): Rekor v2 `hashedRekordRequestV002` entries; an answer comes
//!   only once the entry is integrated, so latency is time to integration.
//! - `signet bench tsa` ([`tsa`]): RFC 3161 `TimeStampReq`s to the timestamp authority.
//! - `signet bench ca` ([`ca`]): Fulcio `signingCert` requests with fresh keys to the CA of a
//!   `--dev-oidc` server (token verification, proof of possession, CT submission included).
//! - `signet bench image` ([`image`]): the registry requests and the per-process time of
//!   `signet verify IMAGE` against a registry on this machine.
//! - `signet bench sign` ([`sign`]): keyless sign-blob round trips end to end, in process, as
//!   `signet sign-blob` processes, and as sigstore-python processes against the same server.
//!
//! A crate of its own above both the client and the server (`signet bench sign` drives the
//! client's signing flow in process). This file is what they share: the flags, the spawned server, and the driver that runs the
//! workers. Two ways to drive a service:
//! - closed loop (default): `--concurrency` workers each keep one request in flight, sending the
//!   next as soon as the previous is answered; latency is measured from the actual send.
//! - open loop (`--rate R`): request `k` is scheduled at `start + k / R`, whatever the server
//!   does; at most `--concurrency` are in flight, and latency is measured from the *scheduled*
//!   time, so a server that stalls is charged for the requests it kept waiting (no coordinated
//!   omission). tokio's timer has 1 ms resolution, which can add up to 1 ms to those latencies.
//!
//! Figures cover the measured window that follows `--warmup`: throughput counts requests
//! answered in the window, latency counts requests sent in the window (including answers that
//! arrive after it, during the drain). Errors and the uniqueness of what the service hands out
//! (log indices, timestamp serial numbers) cover the whole run.

mod ca;
mod entries;
mod git;
mod histogram;
mod image;
mod log;
mod record;
mod report;
mod run_id;
mod server;
mod sign;
mod tsa;

use std::future::Future;
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

pub use ca::{run_ca, BenchCaArgs};
pub use git::{run_git, BenchGitArgs};
pub use image::{run_image, BenchImageArgs};
pub use log::{run_log, BenchLogArgs};
use record::{distinct_ids, Failure, Outcome, Recorder, Window};
use report::{ErrorReport, LatencyReport, Report, ServerReport};
use server::{sample_proc, ProcSample, SpawnedServer};
pub use sign::{run_sign, BenchSignArgs};
pub use tsa::{run_tsa, BenchTsaArgs};

/// Largest response body read; a TransparencyLogEntry or a TimeStampResp is a few KiB.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How many repeated identifiers the report lists.
const REPEATED_EXAMPLES: usize = 10;
/// Interval of the progress lines on stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Flags every load generator takes.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Base URL of the service, e.g. http://127.0.0.1:3000/rekor or http://127.0.0.1:3000/tsa
    /// (http only). Without it, bench starts `signet server` on an ephemeral port with a fresh
    /// data directory and stops it at the end.
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
    /// Open loop: send this many requests per second whatever the server does.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Print the report as one JSON object too (last line of stdout).
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for one answer before counting a timeout.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Pid of an already running server (with --url) whose memory and CPU to report.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

impl LoadArgs {
    fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        if self.duration == 0 {
            bail!("--duration must be at least 1 second");
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--rate must be a positive number of requests per second, got {rate}");
            }
        }
        Ok(())
    }

    /// Seconds from the start of the warmup to the end of the window.
    fn run_secs(&self) -> u64 {
        self.warmup + self.duration
    }

    /// How many requests to prepare before the clock starts: in open loop what the schedule
    /// sends, in closed loop what `assumed_max_rate` requests/s would need; capped at `cap`.
    fn prepared_count(&self, assumed_max_rate: u64, cap: u64) -> u64 {
        let run_secs = self.run_secs();
        match self.rate {
            Some(rate) => ((rate * run_secs as f64).ceil() as u64)
                .saturating_add(self.concurrency as u64)
                .min(cap),
            None => (assumed_max_rate * run_secs).clamp(self.concurrency as u64 * 4, cap),
        }
    }
}

/// The service under test: one bench started, or one at `--url`.
pub struct Target {
    /// The service's base URL, without a trailing slash.
    pub base_url: String,
    pub spawned: Option<SpawnedServer>,
    /// Whose `/proc` figures to report.
    pub server_pid: Option<u32>,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Target {
    /// Starts `signet server` unless `--url` is given; `prefix` is where the service is
    /// mounted on the server (`/rekor`, `/tsa`).
    async fn open(args: &LoadArgs, prefix: &str) -> anyhow::Result<Self> {
        let (base_url, spawned) = match &args.url {
            Some(url) => (url.trim_end_matches('/').to_owned(), None),
            None => {
                eprintln!("[bench] starting signet server");
                let server = SpawnedServer::start().await?;
                (format!("{}{prefix}", server.root_url), Some(server))
            }
        };
        if !base_url.starts_with("http://") {
            bail!("--url must be an http:// URL (the load generator does not speak TLS), got {base_url}");
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(args.concurrency)
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        Ok(Target {
            server_pid: spawned.as_ref().map(SpawnedServer::pid).or(args.server_pid),
            base_url,
            spawned,
            client,
            timeout: Duration::from_secs(args.timeout.max(1)),
        })
    }

    /// Sends one request before the run, so that a wrong URL, trust root or a broken server
    /// fails clearly before any preparation: returns the id `judge` found in the answer.
    async fn preflight(
        &self,
        endpoint: &Endpoint,
        body: Bytes,
        judge: impl FnOnce(u16, &[u8]) -> Outcome,
    ) -> anyhow::Result<u64> {
        let outcome = match submit(&self.client, endpoint, self.timeout, body).await {
            Ok((status, body)) => judge(status, &body),
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::Accepted { id } => Ok(id),
            Outcome::Failed { failure, detail } => {
                bail!(
                    "the first request sent to {} failed: {failure}: {detail}",
                    endpoint.uri
                )
            }
        }
    }

    /// `{base_url}{path}` as a URI.
    fn endpoint(&self, path: &str) -> anyhow::Result<Uri> {
        format!("{}{path}", self.base_url)
            .parse()
            .with_context(|| format!("--url {} is not a valid URL", self.base_url))
    }
}

/// One request of a run: an identifier the workload judges the answer against, and the body.
pub struct Prepared {
    pub id: u64,
    pub body: Bytes,
}

/// What a load generator sends and how it judges the answers; the driver does the rest.
pub trait Workload: Send + Sync + 'static {
    /// The next request to send.
    fn next(&self) -> impl Future<Output = anyhow::Result<Prepared>> + Send;

    /// Judges the answer (`status`, `body`) to request `id`.
    fn judge(&self, id: u64, status: u16, body: &[u8]) -> Outcome;
}

/// Where requests go.
pub struct Endpoint {
    pub uri: Uri,
    pub content_type: &'static str,
}

/// When a worker sends its next request.
enum Schedule {
    Closed,
    Open { rate: f64, next_ticket: AtomicU64 },
}

/// What every worker shares.
struct Shared<W> {
    client: Client<HttpConnector, Full<Bytes>>,
    endpoint: Endpoint,
    workload: Arc<W>,
    window: Window,
    schedule: Schedule,
    timeout: Duration,
    accepted: AtomicU64,
    failed: AtomicU64,
}

/// What a run measured, before the workload adds its own figures to the report.
pub struct Measured {
    pub start: Instant,
    pub recorder: Recorder,
    pub server: Option<ServerReport>,
    pub client_cpu_s: Option<f64>,
    /// Why the run failed so far (a worker or the server died).
    pub failures: Vec<String>,
}

/// Runs the warmup and the measured window against `endpoint`, then stops a spawned server.
async fn drive<W: Workload>(
    args: &LoadArgs,
    mut target: Target,
    endpoint: Endpoint,
    workload: Arc<W>,
    unit: &'static str,
) -> Measured {
    let start = Instant::now();
    let window = Window {
        start,
        measure_start: start + Duration::from_secs(args.warmup),
        end: start + Duration::from_secs(args.run_secs()),
    };
    let schedule = match args.rate {
        Some(rate) => Schedule::Open {
            rate,
            next_ticket: AtomicU64::new(0),
        },
        None => Schedule::Closed,
    };
    let shared = Arc::new(Shared {
        client: target.client.clone(),
        endpoint,
        workload,
        window,
        schedule,
        timeout: target.timeout,
        accepted: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    eprintln!(
        "[bench] {} s warmup, then {} s measured, against {}",
        args.warmup, args.duration, target.base_url
    );

    let server_pid = target.server_pid;
    let sampler = tokio::spawn(sample_window(window, server_pid));
    let progress = tokio::spawn(progress(shared.clone(), unit));
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
    let (at_measure_start, at_end) = sampler.await.unwrap_or_default();
    let at_finish = server_pid.and_then(|pid| sample_proc(&pid.to_string()));
    if let Some(exit) = target.spawned.as_mut().and_then(SpawnedServer::exit_status) {
        failures.push(exit);
    }
    drop(target); // stops the server we started and removes its data

    let server = server_pid.map(|pid| ServerReport {
        pid,
        peak_rss_mib: at_finish
            .or(at_end.server)
            .and_then(|s| s.peak_rss_kib)
            .map(|kib| kib as f64 / 1024.0),
        cpu_s_window: at_end
            .server
            .zip(at_measure_start.server)
            .map(|(b, a)| b.cpu_seconds - a.cpu_seconds),
        cpu_s_total: at_finish.or(at_end.server).map(|s| s.cpu_seconds),
    });
    Measured {
        start,
        recorder: merged,
        server,
        client_cpu_s: client_cpu(&at_measure_start, &at_end),
        failures,
    }
}

/// One worker: sends requests until the end of the window, and tallies the answers.
async fn worker<W: Workload>(shared: Arc<Shared<W>>) -> Recorder {
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
        let request = match shared.workload.next().await {
            Ok(request) => request,
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
        let answer = submit(&shared.client, &shared.endpoint, shared.timeout, request.body).await;
        let done = Instant::now();
        let outcome = match answer {
            Ok((status, body)) => shared.workload.judge(request.id, status, &body),
            Err(outcome) => outcome,
        };
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
fn count_unsent<W>(shared: &Shared<W>, recorder: &mut Recorder) {
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

/// POSTs one body and returns the status and the body of the answer, or the failure as an
/// outcome. Never panics: whatever goes wrong is an outcome.
async fn submit(
    client: &Client<HttpConnector, Full<Bytes>>,
    endpoint: &Endpoint,
    timeout: Duration,
    body: Bytes,
) -> Result<(u16, Bytes), Outcome> {
    let request = Request::post(endpoint.uri.clone())
        .header(CONTENT_TYPE, endpoint.content_type)
        .body(Full::new(body))
        .map_err(|e| Outcome::failed(Failure::Client, format!("building the request: {e}")))?;
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
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(Outcome::failed(
            Failure::Timeout,
            format!("no complete answer within {} s", timeout.as_secs()),
        )),
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
async fn progress<W>(shared: Arc<Shared<W>>, unit: &'static str) {
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
            "[bench] {:>5.0} s {phase:<9} {unit} {accepted} ({:.0}/s), failed {failed}",
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

/// Seconds from `from` to `to`, negative if `to` is earlier.
fn signed_seconds(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -(from - to).as_secs_f64(),
    }
}

/// What a workload tells the report about itself.
pub struct Describe {
    /// What one accepted request is, plural: "entries", "timestamps".
    pub unit: &'static str,
    /// What the service hands out that must be unique: "log indices", "serial numbers".
    pub ids: &'static str,
    /// Extra `name: value` lines, after the mode and target.
    pub details: Vec<(String, String)>,
}

/// The report shared by every workload; the caller adds its own failures first.
fn build_report(args: &LoadArgs, target_url: String, describe: Describe, measured: Measured) -> Report {
    let Measured {
        recorder: mut merged,
        server,
        client_cpu_s,
        mut failures,
        ..
    } = measured;
    let window_s = args.duration as f64;
    let accepted_in_window: u64 = merged.per_second.iter().sum();
    let acknowledged = merged.ids.len() as u64;
    let (distinct, repeated) = distinct_ids(&mut merged.ids, REPEATED_EXAMPLES);

    let bad_acks: u64 = merged
        .failures
        .iter()
        .filter(|(f, _)| f.is_bad_acknowledgement())
        .map(|(_, t)| t.total)
        .sum();
    if bad_acks > 0 {
        failures.push(format!(
            "{bad_acks} answers were 2xx but not what the service promises (see errors)"
        ));
    }
    if distinct < acknowledged {
        failures.push(format!(
            "{} answers reused {} already given to another request (e.g. {:?})",
            acknowledged - distinct,
            describe.ids,
            repeated
        ));
    }
    if acknowledged <= 1 {
        failures.push("no request was accepted after the pre-flight request".into());
    }

    Report {
        target: target_url,
        server_spawned: args.url.is_none(),
        mode: if args.rate.is_some() { "open" } else { "closed" },
        concurrency: args.concurrency,
        rate: args.rate,
        unit: describe.unit,
        ids: describe.ids,
        details: describe.details,
        warmup_s: args.warmup as f64,
        measured_s: window_s,
        accepted_in_window,
        accepted_total: acknowledged,
        per_s: accepted_in_window as f64 / window_s,
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
        distinct_ids: distinct,
        repeated_ids: repeated,
        server,
        client_cpu_s,
        failures,
    }
}

/// Prints the report and fails the command if the run failed.
fn finish(report: &Report, json: bool, name: &str) -> anyhow::Result<()> {
    print!("{}", report.to_text());
    if json {
        println!("{}", serde_json::to_string(report)?);
    }
    if !report.failures.is_empty() {
        bail!("bench {name} failed: {}", report.failures.join("; "));
    }
    Ok(())
}
