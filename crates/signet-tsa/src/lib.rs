//! signet's RFC 3161 timestamp authority, wire-compatible with sigstore/timestamp-authority:
//! its key and certificate chain on disk, token issuance, and the axum routes
//! (`POST /api/v1/timestamp`, `GET /api/v1/timestamp/certchain`, `GET /metrics`). The protocol and the
//! checks live in `signet-x509`; this crate only adds files, the clock and HTTP.
//!
//! The TSA chain is made with `signet-x509`'s profiles (x509-cert types signed through the
//! [`TsaSigner`] trait) rather than `rcgen`, so an HSM or KMS key can replace the file key
//! without touching certificate code.

#![forbid(unsafe_code)]

mod http;
mod metrics;
mod service;

pub use http::{router, MAX_REQUEST_BYTES};
pub use metrics::TsaStats;
pub use service::{Rejected, Tsa, TsaError};
pub use signet_keyfile::FileKeySigner;
/// The HSM/KMS seam: anything that can sign with the TSA leaf's key.
pub use signet_x509::Signer as TsaSigner;
