//! `signet bench log`: POSTs real, distinct, correctly signed `hashedRekordRequestV002` entries
//! to `{url}/api/v2/log/entries` and checks what the log promises: an answer only once the entry
//! is integrated, so request latency is time to integration; every acknowledged entry has its
//! own `logIndex` and an inclusion proof.
//!
//! Signing is not what is under test, and on a small machine it would steal the server's CPU, so
//! signatures are made before the clock starts: `--presign N` entries on every core, N being by
//! default `R × (warmup + duration)` plus slack in open loop and, in closed loop, what 15,000
//! entries/s would need, at most 4 M (73 bytes each, see `entries.rs`). If a fast server
//! drains the pool, a background thread signs on demand and the report says how many entries it
//! signed and when it started. Bodies are assembled (one SHA-256 and three base64 encodings) as
//! they are sent. One entry is sent before pre-signing, to fail fast with a clear message if the
//! URL is wrong.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::entries::{self, EntryFactory, EntrySource};
use super::record::{classify, Outcome};
use super::{
    build_report, drive, finish, signed_seconds, Describe, Endpoint, LoadArgs, Prepared, Target, Workload,
};

/// Closed-loop pre-signing assumes the server sustains at most this many entries per second.
const ASSUMED_MAX_RATE: u64 = 15_000;
/// Default pre-signed pool is capped at this many entries (about 290 MB).
const MAX_DEFAULT_PRESIGN: u64 = 4_000_000;

/// Arguments of `signet bench log`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLogArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Number of ECDSA P-256 signing keys the entries cycle through.
    #[arg(long, default_value_t = 64)]
    pub keys: usize,
    /// Entries to sign before the clock starts (default: what the run needs, see above).
    #[arg(long)]
    pub presign: Option<u64>,
}

/// Entries from the pre-signed pool, judged as Rekor v2 TransparencyLogEntries.
struct LogWorkload {
    source: EntrySource,
}

impl Workload for LogWorkload {
    async fn next(&self) -> anyhow::Result<Prepared> {
        Ok(Prepared {
            id: 0,
            body: self.source.next_body().await?,
        })
    }

    fn judge(&self, _id: u64, status: u16, body: &[u8]) -> Outcome {
        classify(status, body)
    }
}

/// Runs `signet bench log`: prints the report, and fails if the log acknowledged an entry
/// without a valid log index and inclusion proof, or gave one index to two entries.
pub async fn run_log(args: BenchLogArgs) -> anyhow::Result<()> {
    let load = &args.load;
    load.validate()?;
    let target = Target::open(load, "/rekor").await?;
    let endpoint = Endpoint {
        uri: target.endpoint("/api/v2/log/entries")?,
        content_type: "application/json",
    };

    let key_count = args.keys;
    let factory = tokio::task::spawn_blocking(move || EntryFactory::new(key_count))
        .await
        .context("the key generation task failed")??;
    let factory = Arc::new(factory);

    // One entry before anything else: a wrong URL or a broken server fails here, clearly. Its
    // index is outside the run's sequence, so its digest is distinct from every other entry's.
    let preflight_index = target
        .preflight(&endpoint, factory.signed_body(u64::MAX)?, classify)
        .await?;

    // Sign before the clock starts.
    let presign = args
        .presign
        .unwrap_or_else(|| load.prepared_count(ASSUMED_MAX_RATE, MAX_DEFAULT_PRESIGN));
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
    let refill_lead = match load.rate {
        Some(_) => 0,
        None => load.concurrency as u64 * 4 + 4096,
    };
    let workload = Arc::new(LogWorkload {
        source: EntrySource::new(factory, pool, refill_lead),
    });

    let target_url = target.base_url.clone();
    let mut measured = drive(load, target, endpoint, workload.clone(), "accepted").await;
    measured.recorder.ids.push(preflight_index);

    let source = &workload.source;
    let signed_during_run = match source.background_started_at() {
        None => "none".to_owned(),
        Some(at) => {
            let at = signed_seconds(measured.start, at);
            format!(
                "{} by a background thread started {}: the pre-signed pool ran low, and from \
                 then on the load generator's signing shared the CPU with the server (raise \
                 --presign)",
                source.signed_in_background(),
                if at < 0.0 {
                    "before the clock started".to_owned()
                } else {
                    format!("at {at:.1} s")
                }
            )
        }
    };
    let describe = Describe {
        unit: "entries",
        ids: "log indices",
        details: vec![
            ("keys".into(), args.keys.to_string()),
            (
                "pre-signed entries".into(),
                format!("{} in {presign_seconds:.1} s", source.pool_len()),
            ),
            ("signed during the run".into(), signed_during_run),
        ],
    };
    let report = build_report(load, target_url, describe, measured);
    finish(&report, load.json, "log")
}
