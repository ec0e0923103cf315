//! The CA's counters and its Prometheus exposition (`GET /metrics`, at the root like the rest
//! of the CA): certificates issued, requests rejected by reason, issuances that failed on the
//! CA's side, issuance latency, and key-set fetches of the token verifier.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use signet_ct::metrics::{LatencyHistogram, MetricsWriter};

use crate::{Ca, CaError};

/// Why a request was refused as the requester's fault (400): the `reason` label of
/// `signet_ca_rejected_total`. A small fixed set, so the label cannot explode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// No identity token, or one that did not verify.
    Token,
    /// The public key does not parse or is too weak.
    Key,
    /// The proof of possession (signed challenge) does not verify.
    Proof,
    /// The certificate signing request does not parse or verify.
    Csr,
    /// The request itself: not JSON of the right shape, no key proof, too large.
    Request,
}

impl RejectReason {
    const ALL: [RejectReason; 5] = [
        RejectReason::Token,
        RejectReason::Key,
        RejectReason::Proof,
        RejectReason::Csr,
        RejectReason::Request,
    ];

    fn label(self) -> &'static str {
        match self {
            RejectReason::Token => "token",
            RejectReason::Key => "key",
            RejectReason::Proof => "proof",
            RejectReason::Csr => "csr",
            RejectReason::Request => "request",
        }
    }

    /// The reason for a refusal, `None` for the CA's own failures (5xx).
    pub fn of(e: &CaError) -> Option<RejectReason> {
        if !e.status().is_client_error() {
            return None;
        }
        Some(match e {
            CaError::MissingToken | CaError::Token(_) => RejectReason::Token,
            CaError::BadPublicKey(_) | CaError::InsecureKey(_) => RejectReason::Key,
            CaError::BadProof(_) => RejectReason::Proof,
            CaError::BadCsr(_) => RejectReason::Csr,
            _ => RejectReason::Request,
        })
    }
}

/// Counters for `/metrics`. `rejected` is the sum over the reasons.
#[derive(Debug, Default)]
pub struct CaStats {
    pub issued: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    /// Indexed by `RejectReason as usize`.
    rejected_by_reason: [AtomicU64; RejectReason::ALL.len()],
    /// Time to issue a certificate (token check, precertificate, CT entry, final
    /// certificate), successful issuances only.
    issuance: LatencyHistogram,
}

impl CaStats {
    pub(crate) fn issued(&self, elapsed: Duration) {
        self.issued.fetch_add(1, Relaxed);
        self.issuance.observe(elapsed);
    }

    /// Counts an error: a rejection by its reason, or a failure.
    pub(crate) fn error(&self, e: &CaError) {
        match RejectReason::of(e) {
            Some(reason) => self.rejected(reason),
            None => {
                self.failed.fetch_add(1, Relaxed);
            }
        }
    }

    pub(crate) fn rejected(&self, reason: RejectReason) {
        self.rejected.fetch_add(1, Relaxed);
        self.rejected_by_reason[reason as usize].fetch_add(1, Relaxed);
    }

    /// Requests rejected for `reason` so far.
    pub fn rejected_for(&self, reason: RejectReason) -> u64 {
        self.rejected_by_reason[reason as usize].load(Relaxed)
    }
}

/// The exposition for `ca`.
pub(crate) fn write(ca: &Ca) -> MetricsWriter {
    let stats = &ca.stats;
    let mut out = MetricsWriter::new();
    out.counter(
        "signet_ca_issued_total",
        "Certificates issued.",
        stats.issued.load(Relaxed),
    );
    let by_reason = RejectReason::ALL.map(|r| (r.label(), stats.rejected_for(r)));
    out.labeled_counter(
        "signet_ca_rejected_total",
        "Certificate requests refused as the requester's fault (400), by reason.",
        "reason",
        &by_reason,
    );
    out.counter(
        "signet_ca_failed_total",
        "Certificate requests the CA could not serve (5xx: CT log, signing, identity provider).",
        stats.failed.load(Relaxed),
    );
    out.histogram(
        "signet_ca_issuance_seconds",
        "Time to issue a certificate, CT log entry included.",
        &stats.issuance,
    );
    out.counter(
        "signet_ca_jwks_fetches_total",
        "OpenID discovery and JWK Set fetches started for issuers not known in process.",
        ca.tokens().key_source().remote_fetch_count(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_map_to_their_reason_and_failures_to_none() {
        let reason = |e: CaError| RejectReason::of(&e);
        assert_eq!(reason(CaError::MissingToken), Some(RejectReason::Token));
        assert_eq!(reason(CaError::BadPublicKey("x".into())), Some(RejectReason::Key));
        assert_eq!(reason(CaError::InsecureKey("x".into())), Some(RejectReason::Key));
        assert_eq!(reason(CaError::BadProof("x".into())), Some(RejectReason::Proof));
        assert_eq!(reason(CaError::BadCsr("x".into())), Some(RejectReason::Csr));
        assert_eq!(reason(CaError::MissingKeyProof), Some(RejectReason::Request));
        assert_eq!(
            reason(CaError::BadRequest("x".into())),
            Some(RejectReason::Request)
        );
        assert_eq!(reason(CaError::Ct("x".into())), None);
        assert_eq!(reason(CaError::Issue("x".into())), None);
    }

    #[test]
    fn stats_count_rejections_by_reason_and_failures_apart() {
        let stats = CaStats::default();
        stats.error(&CaError::BadCsr("x".into()));
        stats.error(&CaError::MissingToken);
        stats.error(&CaError::Ct("log down".into()));
        stats.issued(Duration::from_millis(3));
        assert_eq!(stats.rejected.load(Relaxed), 2);
        assert_eq!(stats.rejected_for(RejectReason::Csr), 1);
        assert_eq!(stats.rejected_for(RejectReason::Token), 1);
        assert_eq!(stats.rejected_for(RejectReason::Proof), 0);
        assert_eq!(stats.failed.load(Relaxed), 1);
        assert_eq!(stats.issued.load(Relaxed), 1);
        assert_eq!(stats.issuance.count(), 1);
    }
}
