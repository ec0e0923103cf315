//! `signet bench sign`: keyless sign-blob round trips per second against a local stack (a
//! `signet server --dev-oidc`): identity token, ephemeral key, certificate from the CA (with
//! its CT submission), RFC 3161 timestamp, transparency log entry, bundle. Three clients, one
//! after the other against the same server, each for its own warmup and window (`--clients`):
//!
//! - `library`: signet's client library in this process, `--concurrency` threads. Each
//!   signature runs what `signet sign-blob` runs after loading its trust material (loaded once
//!   here, as a library user would): token parse and expiry check, [`sign::sign`] (fresh key,
//!   certificate, timestamp, log entry), and the self-check `sign-blob` makes before writing
//!   ([`verify::verify_own`]); the bundle is serialised but kept in memory, not written.
//!   Each thread keeps its HTTP connections alive between signatures.
//! - `cli`: `signet sign-blob FILE --bundle OUT --identity-token T --trust-config C`
//!   processes, `--process-concurrency` at a time: the figure a script calling the CLI sees.
//! - `python`: the reference client, `sigstore --trust-config C sign --identity-token T
//!   --bundle OUT --overwrite FILE` processes, from `$SIGNET_SIGSTORE_PYTHON`, else
//!   `target/interop-venv/bin/sigstore` (skipped with one line if neither runs).
//!
//! Tokens: `--identities` email tokens minted before the clock, reused as real tokens are.
//! Each signature is over its own artifact (`run_id || i`, see `run_id.rs`). Every bundle a
//! client produces is parsed and its log index recorded (indices must all differ); one in
//! `--verify-every` (default: every one) is verified with `signet_verify` after the window,
//! against the server's trusted root, for the exact artifact, email and issuer. A process's
//! latency includes its start-up; a process is polled every millisecond.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use signet_client::http::Http;
use signet_client::services::{signing_services, SigningServices};
use signet_client::sign::{self, Credential, Payload};
use signet_client::token::IdentityToken;
use signet_client::trust::{self, TrustArgs, TrustEnv, TrustMaterial};
use signet_client::unix_now;
use signet_client::verify::{self, SelfCheck};
use signet_formats::bundle::Bundle;
use signet_verify::{Artifact, IdentityPolicy, Matcher, Policy, PreparedTrust, SignerPolicy};

use super::ca::{mint_identities, open_dev_server, trusted_root_path, DevIdentity};
use super::record::{Failure, Outcome, Recorder, Window};
use super::report::{Report, ServerReport};
use super::run_id::RunId;
use super::server::{children_cpu_seconds, sample_proc};
use super::{build_report, sample_window, Describe, LoadArgs, Measured, PROGRESS_EVERY};

/// Bundles that failed verification listed in the report.
const UNVERIFIED_EXAMPLES: usize = 3;
/// How often a worker checks whether its client process has exited.
const PROCESS_POLL: Duration = Duration::from_millis(1);

/// Arguments of `signet bench sign`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSignArgs {
    /// Root URL of a running `signet server --dev-oidc` (http only). Without it, bench starts
    /// one on an ephemeral port with a fresh data directory.
    #[arg(long)]
    pub url: Option<String>,
    /// The server's trust_config.json (required with --url).
    #[arg(long)]
    pub trust_config: Option<PathBuf>,
    /// Which clients to measure, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "library,cli,python")]
    pub clients: Vec<SignClient>,
    /// Length of each client's measured window, in seconds.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Seconds of signing before each client's window; excluded from the figures.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Signing threads of the in-process client.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Client processes running at once (cli and python).
    #[arg(long, default_value_t = 4)]
    pub process_concurrency: usize,
    /// Distinct identities (email tokens) the signatures cycle through.
    #[arg(long, default_value_t = 16)]
    pub identities: usize,
    /// Verify one bundle in this many after the window (1: every bundle).
    #[arg(long, default_value_t = 1)]
    pub verify_every: u64,
    /// Seconds one signature may take before it counts as a timeout (a process is killed).
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Pid of the server at --url whose memory and CPU to report.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Print each report as one JSON object too.
    #[arg(long)]
    pub json: bool,
}

/// A signing client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SignClient {
    /// signet's client library, in this process.
    Library,
    /// `signet sign-blob` processes.
    Cli,
    /// sigstore-python's `sigstore sign` processes.
    Python,
}

/// Makes one signature; `State` is a worker thread's own.
trait Signer: Send + Sync + 'static {
    type State;
    fn state(&self, worker: usize) -> anyhow::Result<Self::State>;
    /// Signs the artifact `data` for `identity` and returns the bundle JSON.
    fn sign(&self, state: &mut Self::State, data: &[u8], identity: &DevIdentity) -> anyhow::Result<Vec<u8>>;
}

/// signet's client library in process.
struct LibrarySigner {
    material: TrustMaterial,
    services: SigningServices,
}

impl Signer for LibrarySigner {
    type State = Http;

    fn state(&self, _worker: usize) -> anyhow::Result<Http> {
        Http::new()
    }

    fn sign(&self, http: &mut Http, data: &[u8], identity: &DevIdentity) -> anyhow::Result<Vec<u8>> {
        let token = IdentityToken::parse(&identity.token)?;
        token.check_not_expired(unix_now()?)?;
        let payload = Payload::Artifact(sign::Artifact::Bytes(data));
        let bundle = sign::sign(http, &self.services, Credential::Keyless(token), payload)?;
        // The clock is read again, as sign-blob does: the timestamp is later than the start.
        verify::verify_own(
            &bundle,
            &self.material.trusted_root,
            SelfCheck::AnyCertificate,
            unix_now()?,
        )?;
        Ok(bundle.to_json())
    }
}

/// A signing CLI run as one process per signature.
struct ProcessSigner {
    kind: SignClient,
    program: PathBuf,
    trust_config: PathBuf,
    /// Artifacts, bundles, stderr logs and the processes' $HOME.
    dir: PathBuf,
    timeout: Duration,
}

/// A process worker's files.
struct ProcessFiles {
    artifact: PathBuf,
    bundle: PathBuf,
    stderr: PathBuf,
}

impl Signer for ProcessSigner {
    type State = ProcessFiles;

    fn state(&self, worker: usize) -> anyhow::Result<ProcessFiles> {
        Ok(ProcessFiles {
            artifact: self.dir.join(format!("artifact-{worker}")),
            bundle: self.dir.join(format!("bundle-{worker}.json")),
            stderr: self.dir.join(format!("stderr-{worker}.log")),
        })
    }

    fn sign(&self, files: &mut ProcessFiles, data: &[u8], identity: &DevIdentity) -> anyhow::Result<Vec<u8>> {
        std::fs::write(&files.artifact, data).context("writing the artifact")?;
        let _ = std::fs::remove_file(&files.bundle);
        let mut command = Command::new(&self.program);
        let token = identity.token.as_str();
        match self.kind {
            SignClient::Python => command
                .arg("--trust-config")
                .arg(&self.trust_config)
                .args(["sign", "--identity-token", token, "--overwrite", "--bundle"])
                .arg(&files.bundle)
                .arg(&files.artifact),
            _ => command
                .arg("sign-blob")
                .arg(&files.artifact)
                .arg("--bundle")
                .arg(&files.bundle)
                .args(["--identity-token", token, "--trust-config"])
                .arg(&self.trust_config),
        };
        let stderr = std::fs::File::create(&files.stderr).context("creating the stderr log")?;
        clean_env(&mut command, &self.dir.join("home"));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().context("waiting for the client")? {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(TimedOut(self.timeout).into());
            }
            std::thread::sleep(PROCESS_POLL);
        };
        if !status.success() {
            let text = std::fs::read_to_string(&files.stderr).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(3).collect();
            bail!(
                "{status}: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        std::fs::read(&files.bundle).context("reading the bundle the client wrote")
    }
}

/// A client process that had not finished by `--timeout` (it was killed).
#[derive(Debug)]
struct TimedOut(Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no bundle within {} s; the client was killed",
            self.0.as_secs()
        )
    }
}

impl std::error::Error for TimedOut {}

/// Clears a client process's environment but for what it needs to run: no ambient
/// credentials, trust settings or proxies for loopback leak in from the caller.
fn clean_env(command: &mut Command, home: &Path) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
}

/// What every worker of one client's run shares.
struct Phase<S> {
    signer: S,
    identities: Vec<DevIdentity>,
    run_id: RunId,
    window: Window,
    verify_every: u64,
    next: AtomicU64,
    accepted: AtomicU64,
    failed: AtomicU64,
}

/// One worker's tally, and the bundles it kept for verification: `(i, bundle JSON)`.
type WorkerResult = (Recorder, Vec<(u64, Vec<u8>)>);

impl<S: Signer> Phase<S> {
    fn identity(&self, i: u64) -> &DevIdentity {
        &self.identities[(i % self.identities.len() as u64) as usize]
    }

    /// Signs until the end of the window; a signature's latency runs from its start to the
    /// bundle in hand.
    fn worker(&self, worker: usize) -> WorkerResult {
        let window = &self.window;
        let mut recorder = Recorder::new(window);
        let mut kept = Vec::new();
        let mut state = match self.signer.state(worker) {
            Ok(state) => state,
            Err(e) => {
                let now = Instant::now();
                recorder.record(
                    window,
                    now,
                    now,
                    Outcome::failed(Failure::Client, format!("{e:#}")),
                );
                return (recorder, kept);
            }
        };
        while Instant::now() < window.end {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let sent = Instant::now();
            let result = self
                .signer
                .sign(&mut state, &self.run_id.data(i), self.identity(i));
            let done = Instant::now();
            let outcome = match result.and_then(|json| Ok((log_index(&json)?, json))) {
                Ok((index, json)) => {
                    if i.is_multiple_of(self.verify_every) {
                        kept.push((i, json));
                    }
                    self.accepted.fetch_add(1, Ordering::Relaxed);
                    Outcome::Accepted { id: index }
                }
                Err(e) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    let failure = if e.is::<TimedOut>() {
                        Failure::Timeout
                    } else {
                        Failure::SignFailed
                    };
                    Outcome::failed(failure, format!("{e:#}"))
                }
            };
            recorder.record(window, sent, done, outcome);
        }
        (recorder, kept)
    }
}

/// The log index of a bundle's (first) transparency log entry.
fn log_index(json: &[u8]) -> anyhow::Result<u64> {
    let bundle = Bundle::from_json(json).map_err(|e| anyhow!("the bundle does not parse: {e}"))?;
    bundle
        .verification_material
        .tlog_entries
        .first()
        .map(|e| e.log_index)
        .ok_or_else(|| anyhow!("the bundle has no transparency log entry"))
}

/// What verifying the kept bundles found.
#[derive(Debug, Default)]
struct Verification {
    verified: u64,
    failed: u64,
    examples: Vec<String>,
}

/// Verifies each kept bundle over its own artifact, for its identity's email and issuer.
fn verify_kept<S: Signer>(
    phase: &Phase<S>,
    kept: &[(u64, Vec<u8>)],
    trust: &PreparedTrust,
    issuer: &str,
    now: i64,
) -> Verification {
    let mut v = Verification::default();
    for (i, json) in kept {
        let data = phase.run_id.data(*i);
        let policy = Policy::new(
            Artifact::Bytes(&data),
            SignerPolicy::Identity(IdentityPolicy {
                subject_alternative_name: Matcher::Exact(phase.identity(*i).email.clone()),
                issuer: Matcher::Exact(issuer.to_owned()),
                extensions: Vec::new(),
            }),
        );
        let result = Bundle::from_json(json)
            .map_err(|e| anyhow!("does not parse: {e}"))
            .and_then(|bundle| {
                signet_verify::verify(&bundle, &policy, trust, now).map_err(|e| anyhow!("{e}"))
            });
        match result {
            Ok(_) => v.verified += 1,
            Err(e) => {
                v.failed += 1;
                if v.examples.len() < UNVERIFIED_EXAMPLES {
                    v.examples.push(format!("signature {i}: {e:#}"));
                }
            }
        }
    }
    v
}

/// What one client's run needs from the whole bench.
struct Context<'a> {
    args: &'a BenchSignArgs,
    target_url: &'a str,
    server_pid: Option<u32>,
    identities: &'a [DevIdentity],
    trust: Arc<PreparedTrust>,
    issuer: &'a str,
}

/// Runs one client for its warmup and window, then verifies its kept bundles.
async fn run_phase<S: Signer>(
    cx: &Context<'_>,
    signer: S,
    concurrency: usize,
    describe_client: String,
) -> anyhow::Result<Report> {
    let args = cx.args;
    let load = LoadArgs {
        url: args.url.clone(),
        duration: args.duration,
        warmup: args.warmup,
        concurrency,
        rate: None,
        json: args.json,
        timeout: args.timeout,
        server_pid: cx.server_pid,
    };
    let start = Instant::now();
    let window = Window {
        start,
        measure_start: start + Duration::from_secs(args.warmup),
        end: start + Duration::from_secs(args.warmup + args.duration),
    };
    let phase = Arc::new(Phase {
        signer,
        identities: cx.identities.to_vec(),
        run_id: RunId::fresh(),
        window,
        verify_every: args.verify_every,
        next: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    eprintln!(
        "[bench] {describe_client}: {} s warmup, then {} s measured, {concurrency} at a time",
        args.warmup, args.duration
    );
    let sampler = tokio::spawn(sample_window(window, cx.server_pid));
    let children = tokio::spawn(async move {
        tokio::time::sleep_until(window.measure_start.into()).await;
        let first = children_cpu_seconds();
        tokio::time::sleep_until(window.end.into()).await;
        Some(children_cpu_seconds()? - first?)
    });
    let done = Arc::new(AtomicBool::new(false));
    let progress = std::thread::spawn({
        let (phase, done) = (phase.clone(), done.clone());
        move || progress(&phase.accepted, &phase.failed, &phase.window, &done)
    });
    let workers = {
        let phase = phase.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..concurrency)
                    .map(|w| {
                        let phase = &phase;
                        scope.spawn(move || phase.worker(w))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
            })
        })
    };
    let results = workers.await.context("the signing workers failed")?;
    done.store(true, Ordering::Relaxed);
    let _ = progress.join();

    let mut recorder = Recorder::new(&window);
    let mut kept = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok((r, k)) => {
                recorder.merge(r);
                kept.extend(k);
            }
            Err(_) => failures.push("a signing worker panicked".to_owned()),
        }
    }
    let (at_measure_start, at_end) = sampler.await.unwrap_or_default();
    let children_cpu = children.await.ok().flatten();
    let at_finish = cx.server_pid.and_then(|pid| sample_proc(&pid.to_string()));

    eprintln!("[bench] verifying {} bundles", kept.len());
    let verification = {
        let (phase, trust, issuer) = (phase.clone(), cx.trust.clone(), cx.issuer.to_owned());
        let now = unix_now()?;
        tokio::task::spawn_blocking(move || verify_kept(&phase, &kept, &trust, &issuer, now))
            .await
            .context("the verification task failed")?
    };
    // A bundle that does not verify is a bad acknowledgement: it fails the run. It was
    // already counted as signed, so it is tallied outside the window.
    for (n, example) in (0..verification.failed).zip(verification.examples.iter().cycle()) {
        let detail = if n < UNVERIFIED_EXAMPLES as u64 {
            example.clone()
        } else {
            String::new()
        };
        recorder.record(
            &window,
            start,
            start,
            Outcome::failed(Failure::BundleUnverified, detail),
        );
    }

    let server = cx.server_pid.map(|pid| ServerReport {
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
    let own_cpu = at_end
        .client
        .zip(at_measure_start.client)
        .map(|(b, a)| b.cpu_seconds - a.cpu_seconds);
    let signed: u64 = recorder.per_second.iter().sum();
    let per_signature = |cpu: f64| cpu * 1000.0 / signed.max(1) as f64;
    let mut details = vec![
        ("client".to_owned(), describe_client),
        (
            "identities".to_owned(),
            format!("{} email tokens from the dev provider", cx.identities.len()),
        ),
        (
            "verified with signet_verify".to_owned(),
            format!(
                "{} of {} kept bundles (1 in {}), exact artifact, email and issuer",
                verification.verified,
                verification.verified + verification.failed,
                args.verify_every
            ),
        ),
    ];
    // Processes' CPU counts once they are reaped, so it is read for the client processes
    // apart from this process's own (which runs the in-process client, or waits).
    let cpu = match (children_cpu.filter(|c| *c > 0.0), own_cpu) {
        (Some(children), Some(own)) => Some(format!(
            "{:.1} ms in the client processes, {:.1} ms in the load generator",
            per_signature(children),
            per_signature(own)
        )),
        (None, Some(own)) => Some(format!("{:.1} ms, in this process", per_signature(own))),
        _ => None,
    };
    if let (Some(cpu), true) = (cpu, signed > 0) {
        details.push(("client CPU per signature".to_owned(), cpu));
    }
    let measured = Measured {
        start,
        recorder,
        server,
        client_cpu_s: own_cpu,
        failures,
    };
    let describe = Describe {
        unit: "signatures",
        ids: "log indices",
        details,
    };
    Ok(build_report(&load, cx.target_url.to_owned(), describe, measured))
}

/// Prints a progress line to stderr every few seconds until `done`.
fn progress(accepted: &AtomicU64, failed: &AtomicU64, window: &Window, done: &AtomicBool) {
    let mut last = 0;
    let mut next = window.start + PROGRESS_EVERY;
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if now < next {
            continue;
        }
        next += PROGRESS_EVERY;
        let n = accepted.load(Ordering::Relaxed);
        eprintln!(
            "[bench] {:>5.0} s signed {n} ({:.1}/s), failed {}",
            (now - window.start).as_secs_f64(),
            (n - last) as f64 / PROGRESS_EVERY.as_secs_f64(),
            failed.load(Ordering::Relaxed)
        );
        last = n;
    }
}

/// The `signet` program users run: beside this one (`signet-server`, which `signet bench`
/// runs in), else this very program when it is `signet` itself.
fn signet_program() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the signet executable")?;
    let beside = exe.with_file_name("signet");
    Ok(if beside.is_file() { beside } else { exe })
}

/// The sigstore-python executable: `$SIGNET_SIGSTORE_PYTHON`, else the interop virtual
/// environment under this build's `target/` (or the working directory's), if it runs.
fn find_python() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = match std::env::var_os("SIGNET_SIGSTORE_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let mut c = Vec::new();
            if let Some(target) = std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
            {
                c.push(target.join("interop-venv/bin/sigstore"));
            }
            c.push(PathBuf::from("target/interop-venv/bin/sigstore"));
            c
        }
    };
    candidates
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .ok_or_else(|| {
            "sigstore-python not found (set SIGNET_SIGSTORE_PYTHON, or run .ci/run, which installs target/interop-venv)"
                .to_owned()
        })
}

/// Runs `signet bench sign`: one report per client, and fails if a bundle did not verify or
/// two signatures shared a log index.
pub async fn run_sign(args: BenchSignArgs) -> anyhow::Result<()> {
    if args.duration == 0 {
        bail!("--duration must be at least 1 second");
    }
    if args.concurrency == 0 || args.process_concurrency == 0 {
        bail!("--concurrency and --process-concurrency must be at least 1");
    }
    if args.identities == 0 || args.verify_every == 0 {
        bail!("--identities and --verify-every must be at least 1");
    }
    if args.url.is_some() && args.trust_config.is_none() {
        bail!("--url needs --trust-config <trust_config.json> of that server");
    }
    let load = LoadArgs {
        url: args.url.clone(),
        duration: args.duration,
        warmup: args.warmup,
        concurrency: args.concurrency,
        rate: None,
        json: args.json,
        timeout: args.timeout,
        server_pid: args.server_pid,
    };
    let target = open_dev_server(&load).await?;
    let trust_config = trusted_root_path(args.trust_config.as_deref(), &target, "trust_config.json")?;
    let identities = mint_identities(&target, args.identities).await?;
    let issuer = IdentityToken::parse(&identities[0].token)?.claims.iss;
    let material = trust::load(
        &TrustArgs {
            trust_config: Some(trust_config.clone()),
            ..TrustArgs::default()
        },
        &TrustEnv::default(),
    )?;
    let services = signing_services(material.signing_config()?, true, unix_now()?)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("signet-bench-sign-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("home")).with_context(|| format!("creating {}", dir.display()))?;
    let cx = Context {
        args: &args,
        target_url: &target.base_url,
        server_pid: target.server_pid,
        identities: &identities,
        trust: Arc::new(PreparedTrust::from_trusted_root(&material.trusted_root)),
        issuer: &issuer,
    };
    let process = |kind, program: PathBuf| ProcessSigner {
        kind,
        program,
        trust_config: trust_config.clone(),
        dir: dir.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };

    let mut failed = Vec::new();
    for client in &args.clients {
        let report = match client {
            SignClient::Library => {
                let signer = LibrarySigner {
                    material: material.clone(),
                    services: services.clone(),
                };
                let what = "signet library in process (sign::sign + self-check), threads".to_owned();
                run_phase(&cx, signer, args.concurrency, what).await?
            }
            SignClient::Cli => {
                let exe = signet_program()?;
                let what = format!("`{} sign-blob` processes", exe.display());
                run_phase(&cx, process(SignClient::Cli, exe), args.process_concurrency, what).await?
            }
            SignClient::Python => match find_python() {
                Ok(sigstore) => {
                    let what = format!("`{} sign` processes (sigstore-python)", sigstore.display());
                    run_phase(
                        &cx,
                        process(SignClient::Python, sigstore),
                        args.process_concurrency,
                        what,
                    )
                    .await?
                }
                Err(why) => {
                    println!("python client skipped: {why}");
                    continue;
                }
            },
        };
        print!("{}", report.to_text());
        if args.json {
            println!("{}", serde_json::to_string(&report)?);
        }
        println!();
        if !report.failures.is_empty() {
            failed.push(format!("{client:?}: {}", report.failures.join("; ")));
        }
    }
    drop(target);
    let _ = std::fs::remove_dir_all(&dir);
    if !failed.is_empty() {
        bail!("bench sign failed: {}", failed.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_log_entries_has_no_index() {
        assert!(log_index(b"{}").is_err());
        assert!(log_index(b"not json").is_err());
    }

    #[test]
    fn clients_parse_from_a_list() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: BenchSignArgs,
        }
        let cli = Cli::try_parse_from(["x", "--clients", "cli,library"]).unwrap();
        assert_eq!(cli.args.clients, vec![SignClient::Cli, SignClient::Library]);
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(
            cli.args.clients,
            vec![SignClient::Library, SignClient::Cli, SignClient::Python]
        );
    }
}
