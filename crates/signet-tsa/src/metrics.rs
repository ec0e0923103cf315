//! The TSA's counters and its Prometheus exposition (`GET <base>/metrics`): timestamps
//! granted, and requests rejected by RFC 3161 §2.4.2 `PKIFailureInfo` (the `reason` label
//! uses the spec's bit names: `badAlg`, `badDataFormat`, `systemFailure`, …).
//!
//! The text is written here rather than with `signet-log`'s `MetricsWriter` (which the CA and
//! the CT log use) because this crate does not depend on the log service; the format is the
//! same: `# HELP`/`# TYPE` lines, `signet_tsa_*` names, `_total` counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use signet_x509::FailureInfo;

/// Every `PKIFailureInfo` bit a response can carry, in the order they are exposed.
const REASONS: [FailureInfo; 8] = [
    FailureInfo::BadAlg,
    FailureInfo::BadRequest,
    FailureInfo::BadDataFormat,
    FailureInfo::TimeNotAvailable,
    FailureInfo::UnacceptedPolicy,
    FailureInfo::UnacceptedExtension,
    FailureInfo::AddInfoNotAvailable,
    FailureInfo::SystemFailure,
];

/// The spec's name of the bit (RFC 3161 §2.4.2).
fn spec_name(failure: FailureInfo) -> &'static str {
    match failure {
        FailureInfo::BadAlg => "badAlg",
        FailureInfo::BadRequest => "badRequest",
        FailureInfo::BadDataFormat => "badDataFormat",
        FailureInfo::TimeNotAvailable => "timeNotAvailable",
        FailureInfo::UnacceptedPolicy => "unacceptedPolicy",
        FailureInfo::UnacceptedExtension => "unacceptedExtension",
        FailureInfo::AddInfoNotAvailable => "addInfoNotAvailable",
        FailureInfo::SystemFailure => "systemFailure",
    }
}

fn slot(failure: FailureInfo) -> usize {
    REASONS
        .iter()
        .position(|f| *f == failure)
        .unwrap_or(REASONS.len() - 1)
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct TsaStats {
    granted: AtomicU64,
    /// Indexed like [`REASONS`].
    rejected: [AtomicU64; REASONS.len()],
}

impl TsaStats {
    pub(crate) fn granted(&self) {
        self.granted.fetch_add(1, Relaxed);
    }

    pub(crate) fn rejected(&self, failure: FailureInfo) {
        self.rejected[slot(failure)].fetch_add(1, Relaxed);
    }

    /// Timestamps granted so far.
    pub fn granted_count(&self) -> u64 {
        self.granted.load(Relaxed)
    }

    /// Requests refused with `failure` so far.
    pub fn rejected_count(&self, failure: FailureInfo) -> u64 {
        self.rejected[slot(failure)].load(Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        let name = "signet_tsa_granted_total";
        let _ = write!(
            out,
            "# HELP {name} Timestamps granted.\n# TYPE {name} counter\n{name} {}\n",
            self.granted_count()
        );
        let name = "signet_tsa_rejected_total";
        let _ = write!(
            out,
            "# HELP {name} Timestamp requests refused, by PKIFailureInfo (systemFailure: the TSA's own fault).\n\
             # TYPE {name} counter\n"
        );
        for failure in REASONS {
            let (reason, count) = (spec_name(failure), self.rejected_count(failure));
            let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {count}");
        }
        out
    }
}
