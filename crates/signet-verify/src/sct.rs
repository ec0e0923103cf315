//! Client spec §4.3: the signing certificate's embedded SCT verifies against a trusted CT log
//! (RFC 6962 §3.2), proving the certificate was logged. Threshold: one.

use signet_x509::sct::{verify_embedded_scts, CtLogKey, SctError, VerifiedSct};
use thiserror::Error;

/// Why the SCT check failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SctCheckError {
    #[error("the trust material has no CT log, so no SCT can verify")]
    NoCtLogs,
    #[error("embedded SCT: {0}")]
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
    Ok(verify_embedded_scts(leaf_der, issuer_spki, ct_logs)?)
}
