//! The CT log's counters and its Prometheus exposition (`GET <base>/metrics`): the
//! appender's figures under `signet_ct_*` (written by `signet-log`'s writer, the same as the
//! transparency log's), and submissions accepted, rejected and failed per endpoint.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The exposition writer every service uses; the CA, which depends on this crate but not on
/// `signet-log`, takes it from here.
pub use signet_log::metrics::{LatencyHistogram, MetricsWriter};

use crate::{CtError, CtLog};

/// The RFC 6962 §4 submission endpoints, the `endpoint` label of the submission counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// §4.1 `add-chain`.
    AddChain,
    /// §4.2 `add-pre-chain` (the CA's in-process submissions count here too).
    AddPreChain,
}

impl Submission {
    const ALL: [Submission; 2] = [Submission::AddChain, Submission::AddPreChain];

    fn label(self) -> &'static str {
        match self {
            Submission::AddChain => "add-chain",
            Submission::AddPreChain => "add-pre-chain",
        }
    }

    pub(crate) fn of(precert: bool) -> Submission {
        if precert {
            Submission::AddPreChain
        } else {
            Submission::AddChain
        }
    }
}

/// Submission outcomes per endpoint, indexed by `Submission as usize`.
#[derive(Debug, Default)]
pub struct CtStats {
    accepted: [AtomicU64; 2],
    rejected: [AtomicU64; 2],
    failed: [AtomicU64; 2],
}

impl CtStats {
    /// Counts a submission the log answered: an SCT, the submitter's mistake, or the log's.
    pub(crate) fn record<T>(&self, endpoint: Submission, result: &Result<T, CtError>) {
        let counters = match result {
            Ok(_) => &self.accepted,
            Err(e) if e.is_client_error() => &self.rejected,
            Err(_) => &self.failed,
        };
        counters[endpoint as usize].fetch_add(1, Relaxed);
    }

    /// Counts a request refused before it reached the log (unreadable body or chain).
    pub(crate) fn rejected(&self, endpoint: Submission) {
        self.rejected[endpoint as usize].fetch_add(1, Relaxed);
    }

    pub fn accepted(&self, endpoint: Submission) -> u64 {
        self.accepted[endpoint as usize].load(Relaxed)
    }

    pub fn rejected_count(&self, endpoint: Submission) -> u64 {
        self.rejected[endpoint as usize].load(Relaxed)
    }
}

/// The exposition for `log`.
pub(crate) fn write(log: &CtLog) -> MetricsWriter {
    let mut out = MetricsWriter::new();
    out.appender("signet_ct", log.appender());
    let stats = log.stats();
    let per_endpoint =
        |counters: &[AtomicU64; 2]| Submission::ALL.map(|s| (s.label(), counters[s as usize].load(Relaxed)));
    out.labeled_counter(
        "signet_ct_accepted_total",
        "Chains logged and answered with an SCT.",
        "endpoint",
        &per_endpoint(&stats.accepted),
    );
    out.labeled_counter(
        "signet_ct_rejected_total",
        "Chains refused as the submitter's mistake (400); nothing was logged.",
        "endpoint",
        &per_endpoint(&stats.rejected),
    );
    out.labeled_counter(
        "signet_ct_failed_total",
        "Chains the log could not log (overloaded, storage or signing failure).",
        "endpoint",
        &per_endpoint(&stats.failed),
    );
    out
}
