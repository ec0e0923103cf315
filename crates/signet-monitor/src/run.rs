//! `signet monitor`: the flags, the logs chosen from the trust material, the once/daemon loop
//! and the exit status.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use clap::Args;
use signet_client::http::Http;
use signet_client::trust::{self, TrustArgs, TrustEnv, TrustMaterial};
use signet_formats::common::Timestamp;
use signet_verify::PreparedTrust;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::config::Rules;
use crate::ct::Rfc6962Protocol;
use crate::follow::{
    follow, follow_log, Context, CtLogKey, CtProtocol, FollowOptions, LogKind, LogTarget, Outcome, Start,
};
use crate::metrics::{self, Metrics};
use crate::report::{LineWriter, Sink};
use crate::source::{HttpApi, HttpLog, LogSource, SourceError, Tiles};
use crate::state::Store;
use crate::tiles::TilesProtocol;
use crate::v1::V1Protocol;
use crate::webhook::{Deliverer, Fanout, Queue, WebhookConfig, WebhookStats};
use crate::witnesses::{self, HttpWitnesses, Witness};

/// Exit statuses of `signet monitor --once` (the highest that applies).
pub mod exit {
    /// Every check passed and nothing matched.
    pub const NOTHING_FOUND: i32 = 0;
    /// An entry matched the watch list (and every check passed).
    pub const FOUND: i32 = 1;
    /// A check could not be made: a log unreachable, an input broken, the state or the config.
    pub const ERROR: i32 = 2;
    /// Evidence that a log misbehaved.
    pub const ALERT: i32 = 3;
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The logs to follow and their keys. By default every current log of the trust
    /// material: its Rekor v2 (tlog-tiles) logs (those its signing config lists with API
    /// version 2, and current logs of its trusted root that the signing config does not
    /// list), its Rekor v1 logs (listed with API version 1; read through the v1 REST API) and
    /// its CT logs (the trusted root's current `ctlogs`; static-ct-api where the log serves a
    /// checkpoint, else RFC 6962, see --ct-protocol).
    #[command(flatten)]
    pub trust: TrustArgs,
    /// What to watch for: rekor-monitor's YAML (`monitoredValues`). Without it the logs are
    /// checked (signatures, consistency, recomputed tree) and no entry is reported. CT entries
    /// match `certIdentities`, `oidMatchers` and key fingerprints (a precertificate entry holds
    /// no whole certificate, so certificate fingerprints match x509 entries only).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the monitor keeps its state (SQLite): what was verified, how far it has read,
    /// per log (a Rekor v1, a Rekor v2 and a CT log never share state).
    #[arg(long, value_name = "DIR")]
    pub state_dir: PathBuf,
    /// Scan to each log's current checkpoint and exit: 0 nothing found, 1 an entry matched,
    /// 2 a check could not be made (an error), 3 a log misbehaved (an alert).
    #[arg(long)]
    pub once: bool,
    /// Without --once: the time between passes over the logs (`30s`, `5m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub interval: Duration,
    /// Follow only the log at this base URL (repeatable): a Rekor v1 or v2 log (`tlogs`) or a
    /// CT log (`ctlogs`) of the trust material.
    #[arg(long = "log", value_name = "URL")]
    pub logs: Vec<String>,
    /// Where a log with no saved state starts: an index, or `latest` for the current
    /// checkpoint (entries logged from now on). Default: the config's startIndex; without
    /// either, a Rekor v2 log is read from index 0 and a Rekor v1 or CT log from `latest`
    /// (the public-good instance's v1 and CT logs hold hundreds of millions of entries; give
    /// `--start 0` to read a small one whole). Once a log has state, it resumes there.
    #[arg(long, value_name = "INDEX|latest", value_parser = parse_start)]
    pub start: Option<Start>,
    /// Stop each log after this many entries in one pass (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_entries: u64,
    /// POST every report line (match, alert, error) as JSON to this URL (repeatable): HTTPS,
    /// or plain HTTP to this machine. Deliveries are queued in the state directory and retried
    /// with backoff until the receiver answers 2xx.
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// Sign each webhook POST with HMAC-SHA256 under the secret in this file
    /// (`X-Signet-Signature-256: sha256=<hex>`).
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// With --once: how long to keep retrying webhook deliveries before exiting (those left
    /// are retried by the next run, and the exit status is 2 at least).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How to read CT logs: `auto` (static-ct-api where the log serves `<base>/checkpoint`,
    /// else RFC 6962), `rfc6962` or `static-ct-api`; `URL=PROTOCOL` for one log (repeatable).
    #[arg(long = "ct-protocol", value_name = "[URL=]PROTOCOL", value_parser = parse_ct_protocol)]
    pub ct_protocols: Vec<(Option<String>, CtProtocol)>,
}

fn parse_ct_protocol(s: &str) -> Result<(Option<String>, CtProtocol), String> {
    let (url, name) = match s.rsplit_once('=') {
        Some((url, name)) => (Some(url.trim_end_matches('/').to_string()), name),
        None => (None, s),
    };
    let protocol = match name {
        "auto" => CtProtocol::Auto,
        "rfc6962" => CtProtocol::Rfc6962,
        "static-ct-api" => CtProtocol::StaticCtApi,
        other => return Err(format!("{other:?}: expected auto, rfc6962 or static-ct-api")),
    };
    Ok((url, protocol))
}

fn parse_start(s: &str) -> Result<Start, String> {
    if s == "latest" {
        return Ok(Start::Latest);
    }
    s.parse()
        .map(Start::Index)
        .map_err(|_| format!("{s:?} is neither an index nor `latest`"))
}

/// `90`, `90s`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (s, m or h)")),
    };
    if secs == 0 {
        return Err("the interval must be above zero".into());
    }
    Ok(Duration::from_secs(secs))
}

/// The logs to follow: the trust material's current Rekor v2, Rekor v1 and CT logs (or those
/// `--log` names).
pub fn targets(args: &MonitorArgs, material: &TrustMaterial) -> anyhow::Result<Vec<LogTarget>> {
    let prepared = PreparedTrust::from_trusted_root(&material.trusted_root);
    let trim = |u: &str| u.trim_end_matches('/').to_string();
    // (URL, major API version) of the logs the signing config lists.
    let listed: Vec<(String, u32)> = material
        .signing_config
        .iter()
        .flat_map(|sc| sc.rekor_tlog_urls.iter())
        .map(|s| (trim(&s.url), s.major_api_version))
        .collect();
    let wanted: Vec<String> = args.logs.iter().map(|u| trim(u)).collect();
    let mut out: Vec<LogTarget> = Vec::new();
    for log in &prepared.transparency_logs {
        let url = trim(&log.base_url);
        // The signing config says which API a log speaks; a log it does not list is taken
        // for Rekor v2 (the built-in public-good signing config lists only its v1 log, while
        // its trusted root has log2025-1, a v2 log).
        let version = listed.iter().find(|(u, _)| *u == url).map(|(_, v)| *v);
        let chosen = if wanted.is_empty() {
            match version {
                Some(v) => v == 1 || v == 2,
                None => log.valid_for.end.is_none(),
            }
        } else {
            wanted.contains(&url)
        };
        if !chosen || out.iter().any(|t| t.base_url == url) {
            continue;
        }
        if version == Some(1) {
            // A v1 log's checkpoints verify with its current key (signet-verify's rules).
            let current = prepared
                .transparency_logs
                .iter()
                .filter(|l| trim(&l.base_url) == url)
                .find(|l| l.valid_for.end.is_none())
                .unwrap_or(log);
            out.push(LogTarget {
                origin: current.origin.clone(),
                checkpoint_origins: Vec::new(),
                base_url: url,
                verifiers: Vec::new(),
                kind: LogKind::RekorV1(Box::new(current.clone())),
                start: None,
            });
            continue;
        }
        if log.note_verifiers.is_empty() {
            return Err(anyhow!(
                "the log {url} has a key that cannot verify signed checkpoints"
            ));
        }
        // A log whose key rotated appears once per key: follow it once, with every key.
        let verifiers = prepared
            .transparency_logs
            .iter()
            .filter(|l| trim(&l.base_url) == url)
            .flat_map(|l| l.note_verifiers.iter().cloned())
            .collect();
        out.push(LogTarget {
            origin: log.origin.clone(),
            checkpoint_origins: log.note_verifiers.iter().map(|v| v.name().to_string()).collect(),
            base_url: url,
            verifiers,
            kind: LogKind::RekorV2,
            start: None,
        });
    }
    out.extend(ct_targets(args, &material.trusted_root.ctlogs, &wanted)?);
    for w in &wanted {
        if !out.iter().any(|t| &t.base_url == w) {
            return Err(anyhow!(
                "--log {w}: no transparency log or CT log with that base URL in the trust material"
            ));
        }
    }
    if out.is_empty() {
        return Err(anyhow!(
            "the trust material lists no current Rekor or CT log to follow; name one with --log URL"
        ));
    }
    Ok(out)
}

/// The CT logs to follow: the trusted root's current `ctlogs` (or those `--log` names), each
/// once, with its current key (else its last listed one).
fn ct_targets(
    args: &MonitorArgs,
    ctlogs: &[signet_formats::trust::TransparencyLogInstance],
    wanted: &[String],
) -> anyhow::Result<Vec<LogTarget>> {
    let trim = |u: &str| u.trim_end_matches('/').to_string();
    let mut out: Vec<LogTarget> = Vec::new();
    for log in ctlogs {
        let url = trim(&log.base_url);
        let current = log.public_key.valid_for.as_ref().is_none_or(|v| v.end.is_none());
        let chosen = if wanted.is_empty() {
            current
        } else {
            wanted.contains(&url)
        };
        if !chosen {
            continue;
        }
        let Some(der) = log.public_key.raw_bytes.as_deref() else {
            continue;
        };
        let key = signet_crypto::PublicKey::from_spki_der(der)
            .map_err(|e| anyhow!("the CT log {url} has a key that does not parse: {e}"))?;
        let protocol = args
            .ct_protocols
            .iter()
            .rev()
            .find(|(u, _)| u.as_ref().is_none_or(|u| *u == url))
            .map_or(CtProtocol::Auto, |(_, p)| *p);
        let target = LogTarget {
            origin: signet_verify::trust::origin_from_base_url(&url).to_string(),
            checkpoint_origins: Vec::new(),
            base_url: url.clone(),
            verifiers: Vec::new(),
            kind: LogKind::Ct(CtLogKey {
                log_id: signet_crypto::sha256(key.spki_der()),
                key,
                protocol,
            }),
            start: None,
        };
        match out.iter_mut().find(|t| t.base_url == url) {
            // A rotated key: the current one wins.
            Some(t) if current => *t = target,
            Some(_) => {}
            None => out.push(target),
        }
    }
    Ok(out)
}

/// The watch list from `--config` (none: check the logs only).
pub fn load_rules(path: Option<&std::path::Path>) -> anyhow::Result<Rules> {
    let Some(path) = path else {
        return Ok(Rules::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rules = Rules::from_yaml(&text).with_context(|| path.display().to_string())?;
    for key in &rules.ignored {
        tracing::warn!(
            "{}: rekor-monitor setting {key} is not used by signet monitor",
            path.display()
        );
    }
    Ok(rules)
}

fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
        .as_str()
        .to_string()
}

/// The exit status for what a pass found.
pub fn exit_status(total: &Outcome) -> i32 {
    if total.alerts > 0 {
        exit::ALERT
    } else if total.errors > 0 {
        exit::ERROR
    } else if total.matches > 0 {
        exit::FOUND
    } else {
        exit::NOTHING_FOUND
    }
}

/// The witnesses to compare each log's checkpoint with: those of the trust material's witness
/// policy (`--witness-policy`, else the instance's, see `signet trust witness-policy`) that
/// have a URL. None without a policy.
pub fn load_witnesses(material: &TrustMaterial) -> anyhow::Result<Vec<Witness>> {
    let Some(policy) = &material.witness_policy else {
        return Ok(Vec::new());
    };
    witnesses::from_policy(policy).context("the witness policy")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Runs `signet monitor`; returns the exit status (`--once`), or runs until killed.
pub fn run(args: MonitorArgs) -> anyhow::Result<i32> {
    let rules = load_rules(args.config.as_deref())?;
    // The trust material once: the logs to follow and the witnesses come from it.
    let material = trust::load(&args.trust, &TrustEnv::from_process())?;
    let mut targets = targets(&args, &material)?;
    let explicit = args.start.or(rules.start_index.map(Start::Index));
    if explicit.is_none() {
        // A v1 or CT log new to the monitor starts at its current tree head (MonitorArgs::start).
        for t in targets.iter_mut() {
            if !matches!(t.kind, LogKind::RekorV2) {
                t.start = Some(Start::Latest);
            }
        }
    }
    let witnesses = load_witnesses(&material)?;
    let webhooks = WebhookConfig::new(args.webhooks.clone(), args.webhook_secret_file.as_deref())?;
    let mut store = Store::open(&args.state_dir)?;
    let http = Http::new()?;
    let options = FollowOptions {
        start: explicit.unwrap_or(Start::Index(0)),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_entries: args.max_entries,
        ..FollowOptions::default()
    };
    let ctx = Context {
        rules: &rules,
        options: &options,
        now: &now,
    };
    // Webhooks: the queue beside the state, and (in daemon mode) a thread that delivers.
    let stats = Arc::new(WebhookStats::default());
    let (queue, mut deliverer) = if webhooks.urls.is_empty() {
        (None, None)
    } else {
        (
            Some(Queue::open(&args.state_dir, &webhooks)?),
            Some(Deliverer::open(&args.state_dir, &webhooks, stats.clone())?),
        )
    };
    let metrics = Arc::new(Metrics::new(queue.as_ref().map(|_| stats.clone())));
    if let Some(addr) = args.metrics_listen {
        let bound = metrics::serve(addr, metrics.clone())?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut wake = None;
    if !args.once {
        if let Some(d) = deliverer.take() {
            let (tx, rx) = std::sync::mpsc::channel();
            d.spawn(rx, stop.clone())?;
            wake = Some(tx);
        }
    }
    let mut sink = Fanout {
        out: LineWriter(std::io::stdout().lock()),
        queue,
        wake,
    };
    let extras = Extras {
        witnesses: &witnesses,
        metrics: Some(&metrics),
    };
    loop {
        let mut total = pass_with(&targets, &http, &mut store, &ctx, &mut sink, &extras);
        if args.once {
            if let Some(d) = &mut deliverer {
                let left = d
                    .drain(Instant::now() + args.webhook_timeout)
                    .context("webhook queue")?;
                if left > 0 {
                    tracing::error!(
                        "{left} webhook deliveries still failing after {:?}; they are retried by the next run",
                        args.webhook_timeout
                    );
                    total.errors += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
            return Ok(exit_status(&total));
        }
        std::thread::sleep(args.interval);
    }
}

/// What a pass does besides following each log.
#[derive(Default)]
pub struct Extras<'a> {
    /// Witnesses to compare each log's verified checkpoint with.
    pub witnesses: &'a [Witness],
    pub metrics: Option<&'a Metrics>,
}

/// One pass over every log; a log that fails does not stop the others.
pub fn pass(
    targets: &[LogTarget],
    http: &Http,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
) -> Outcome {
    pass_with(targets, http, store, ctx, sink, &Extras::default())
}

/// [`pass`], comparing with witnesses and recording metrics as `extras` says.
pub fn pass_with(
    targets: &[LogTarget],
    http: &Http,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
    extras: &Extras<'_>,
) -> Outcome {
    let mut total = Outcome::default();
    for target in targets {
        let started = Instant::now();
        let mut o = follow_target(target, http, store, ctx, sink);
        // Witnesses cosign tlog-tiles checkpoints: compared for Rekor v2 logs.
        if !extras.witnesses.is_empty() && matches!(target.kind, LogKind::RekorV2) {
            let source = HttpLog::new(http, &target.base_url);
            let c = witnesses::compare(
                target,
                store,
                &source,
                extras.witnesses,
                &HttpWitnesses(http),
                sink,
            );
            o.alerts += c.alerts;
            o.errors += c.errors;
            if let Some(m) = extras.metrics {
                m.record_witnesses(&target.origin, c.checked, c.alerts);
            }
        }
        if let Some(m) = extras.metrics {
            let position = store
                .load(&target.state_key())
                .ok()
                .flatten()
                .map(|s| (s.verified.size, s.next_index));
            m.record_pass(&target.origin, &o, position, unix_now());
        }
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            "{}: verified size {}, read {} entries in {:.2}s ({:.0}/s), {} matches, {} alerts, {} errors",
            target.origin,
            o.verified_size,
            o.entries,
            secs,
            o.entries as f64 / secs.max(1e-9),
            o.matches,
            o.alerts,
            o.errors
        );
        total.entries += o.entries;
        total.matches += o.matches;
        total.alerts += o.alerts;
        total.errors += o.errors;
    }
    total
}

/// Retrieve requests a Rekor v1 log is sent at once (each asks for ten entries): reading is
/// bound by round trips, not by the monitor's cores.
const V1_CONCURRENT_RETRIEVES: usize = 4;

/// Follows one log over HTTP, through the protocol its kind speaks.
pub fn follow_target(
    target: &LogTarget,
    http: &Http,
    store: &mut Store,
    ctx: &Context<'_>,
    sink: &mut dyn Sink,
) -> Outcome {
    match &target.kind {
        LogKind::RekorV2 => follow_log(target, &HttpLog::new(http, &target.base_url), store, ctx, sink),
        LogKind::RekorV1(log) => {
            let api = HttpApi::new(http, &target.base_url);
            let mut protocol = V1Protocol::new(log, &api).with_concurrent_requests(V1_CONCURRENT_RETRIEVES);
            follow(target, &mut protocol, store, ctx, sink)
        }
        LogKind::Ct(key) => {
            let tiles_log = HttpLog::static_ct(http, &target.base_url);
            let static_ct = match key.protocol {
                CtProtocol::StaticCtApi => true,
                CtProtocol::Rfc6962 => false,
                // A log without a checkpoint has no tiles (the public-good CT log).
                CtProtocol::Auto => !matches!(tiles_log.checkpoint(), Err(SourceError::NotFound { .. })),
            };
            if static_ct {
                let tiles = Tiles::new(&tiles_log);
                let mut protocol = TilesProtocol::static_ct(key, &tiles);
                follow(target, &mut protocol, store, ctx, sink)
            } else {
                let api = HttpApi::new(http, &target.base_url);
                follow(target, &mut Rfc6962Protocol::new(key, &api), store, ctx, sink)
            }
        }
    }
}
