//! Client spec §4.3: the signing certificate's embedded SCT verifies against a trusted CT log
//! (RFC 6962 §3.2), proving the certificate was logged. Threshold: one.

use signet_x509::sct::{embedded_scts, verify_embedded_scts, CtLogKey, SctError, VerifiedSct};
use thiserror::Error;

use crate::describe;
use crate::policy::to_hex;

/// Why the SCT check failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SctCheckError {
    #[error(
        "the trusted root lists no CT log, so the signing certificate's embedded SCT cannot be verified"
    )]
    NoCtLogs,
    #[error("the signing certificate has no SCT from a CT log the trusted root trusts at the SCT's time: {}", .reasons.join("; "))]
    NoTrustedSct {
        /// One line per embedded SCT: which log, when, and why it does not count.
        reasons: Vec<String>,
    },
    #[error("the signing certificate's embedded SCT does not verify: {}", describe_sct_error(.0))]
    Sct(#[from] SctError),
}

/// Verifies the leaf's embedded SCTs (issued under `issuer_spki`) against `ct_logs`; at least
/// one must verify, and a bad signature from a known log is an error.
pub fn verify_scts(
    leaf_der: &[u8],
    issuer_spki: &[u8],
    ct_logs: &[CtLogKey],
) -> Result<Vec<VerifiedSct>, SctCheckError> {
    if ct_logs.is_empty() {
        return Err(SctCheckError::NoCtLogs);
    }
    verify_embedded_scts(leaf_der, issuer_spki, ct_logs).map_err(|e| match e {
        SctError::NoVerifiedSct { .. } => SctCheckError::NoTrustedSct {
            reasons: untrusted_scts(leaf_der, ct_logs),
        },
        e => SctCheckError::Sct(e),
    })
}

/// Why each embedded SCT counts for nothing, in words and RFC 3339 times (signet-x509's own
/// summary gives milliseconds since the epoch). CT logs whose trusted-root key has no validity
/// start are not in `ct_logs` at all (see [`crate::trust`]).
fn untrusted_scts(leaf_der: &[u8], ct_logs: &[CtLogKey]) -> Vec<String> {
    let Ok((scts, _)) = embedded_scts(leaf_der) else {
        return vec!["its SCT list does not parse".into()];
    };
    scts.iter()
        .map(|sct| {
            let sct_time = describe::time(i64::try_from(sct.timestamp / 1000).unwrap_or(i64::MAX));
            let what = format!("the SCT from CT log {} made at {sct_time}", to_hex(&sct.log_id));
            let known: Vec<&CtLogKey> = ct_logs.iter().filter(|l| l.log_id == sct.log_id).collect();
            if known.is_empty() {
                return format!(
                    "{what} is from a log the trusted root does not list (or lists without a validity start)"
                );
            }
            let windows = known
                .iter()
                .map(|l| {
                    format!(
                        "{} to {}",
                        l.valid_from.map_or("the beginning".into(), describe::time),
                        l.valid_until.map_or("no end".into(), describe::time)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("{what} is outside the time the trusted root trusts that log for ({windows})")
        })
        .collect()
}

/// An SCT failure in words, its time in RFC 3339.
fn describe_sct_error(e: &SctError) -> String {
    match e {
        SctError::BadSignature {
            log_id,
            timestamp,
            reason,
        } => format!(
            "the SCT from CT log {log_id} made at {} has a bad signature: {reason}",
            describe::time(i64::try_from(timestamp / 1000).unwrap_or(i64::MAX))
        ),
        other => other.to_string(),
    }
}
