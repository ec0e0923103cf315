//! `signet server --witness-policy FILE`: the transparency log (Rekor v2) has each checkpoint
//! cosigned by the witnesses of a C2SP tlog-policy file before publishing it
//! (signet_log::witnessing). The flags, the policy's checks at start, and the collector.
//!
//! Only the Rekor v2 log is witnessed. The CT log's checkpoints are not: they are signed with
//! ECDSA P-256 (the static-ct-api RFC 6962 note signature), which witnesses (signet's and the
//! witness network's) do not accept, and CT clients check SCTs, not checkpoints. The Rekor v1
//! log (ECDSA too) is not either.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use signet_log::witnessing::{Collector, OnMissedQuorum, StoreProofs};
use signet_log::{LogStore, Witnessing};
use signet_tlog::WitnessPolicy;

/// The witnessing flags of `signet server`.
#[derive(clap::Args, Debug)]
pub struct WitnessingArgs {
    /// Have every checkpoint of the transparency log cosigned by the witnesses of this
    /// tlog-policy file (`witness NAME VKEY URL`, `group`, `quorum`) before it is published;
    /// every witness needs a URL (https, or http to a loopback address).
    #[arg(long, value_name = "FILE", env = "SIGNET_WITNESS_POLICY", value_hint = clap::ValueHint::FilePath)]
    pub witness_policy: Option<PathBuf>,
    /// How long a round waits for the witnesses' answers (e.g. 1s, 500ms; Tessera's default).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration, requires = "witness_policy")]
    pub witness_timeout: Duration,
    /// What to do when a checkpoint's cosignatures miss the quorum: `fail-open` publishes it
    /// with the cosignatures it has (as Rekor v2 does); `hold` keeps it back, and the entries
    /// it covers unanswered, retrying until the quorum cosigns.
    #[arg(long, value_enum, default_value = "fail-open", requires = "witness_policy")]
    pub on_missed_quorum: MissedQuorum,
    /// How long an entry request waits for a published checkpoint covering its entry before
    /// it is answered 503 (what bounds the wait while `--on-missed-quorum hold` holds); below
    /// the server's 60 s limit on any request.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub entry_timeout: Duration,
}

/// `--on-missed-quorum`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissedQuorum {
    FailOpen,
    Hold,
}

impl From<MissedQuorum> for OnMissedQuorum {
    fn from(m: MissedQuorum) -> Self {
        match m {
            MissedQuorum::FailOpen => OnMissedQuorum::FailOpen,
            MissedQuorum::Hold => OnMissedQuorum::Hold,
        }
    }
}

/// The log's witnessing from the flags, or `None` without `--witness-policy`. `log_vkey` is
/// the log's verifier key: a policy that lists logs must list it. `proofs` is a store
/// connection of the collector's own.
pub fn setup(
    args: &WitnessingArgs,
    log_vkey: &str,
    proofs: Box<dyn LogStore>,
) -> anyhow::Result<Option<Witnessing>> {
    let Some(path) = &args.witness_policy else {
        return Ok(None);
    };
    let policy = read_policy(path)?;
    if !policy.applies_to_log(Some(log_vkey)) {
        bail!(
            "the witness policy {} lists logs, but not this one ({log_vkey})",
            path.display()
        );
    }
    let quorum = policy.describe_quorum();
    let count = policy.witnesses().len();
    let collector = Collector::new(policy, args.witness_timeout, Arc::new(StoreProofs::new(proofs)))
        .with_context(|| format!("witness policy {}", path.display()))?;
    let mode = OnMissedQuorum::from(args.on_missed_quorum);
    eprintln!(
        "signet: log checkpoints are cosigned by {count} witness(es) before publication (quorum: {quorum}; timeout {:?}; when the quorum is missed: {})",
        args.witness_timeout,
        match mode {
            OnMissedQuorum::FailOpen => "publish anyway (fail open)",
            OnMissedQuorum::Hold => "hold the checkpoint back",
        }
    );
    Ok(Some(Witnessing {
        collector: Arc::new(collector),
        on_missed_quorum: mode,
        runtime: tokio::runtime::Handle::current(),
    }))
}

fn read_policy(path: &Path) -> anyhow::Result<WitnessPolicy> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the witness policy {}", path.display()))?;
    WitnessPolicy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `1500ms`, `1s`, `2m`, or a bare number of seconds; above zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 500ms, 1s or 2m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s or m)")),
    };
    if d.is_zero() {
        return Err("the duration must be above zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        for bad in ["", "0s", "1h", "x", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
