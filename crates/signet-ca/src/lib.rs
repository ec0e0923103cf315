//! signet's certificate authority, wire-compatible with Fulcio: it turns a verified OpenID
//! Connect identity token plus a proof that the requester holds a key into a 10-minute
//! code-signing certificate for that key, with the identity in the SAN and Fulcio's
//! extensions, and an SCT from signet's CT log embedded (RFC 6962 precertificate flow).
//!
//! Layers: token verification is `signet-oidc`, the certificate profile and CSRs are
//! `signet-x509` (pure), the CT log is `signet-ct`, key files are `signet-keyfile`. This crate
//! joins them and serves Fulcio's REST API v2 (`POST /api/v2/signingCert`,
//! `GET /api/v2/trustBundle`, `GET /api/v2/configuration`) and its metrics (`GET /metrics`).
//! The clock is read only at the HTTP edge.

#![forbid(unsafe_code)]

mod chain;
mod http;
mod metrics;
mod pop;
mod service;

pub use chain::CaChain;
pub use http::{router, MAX_REQUEST_BYTES};
pub use metrics::{CaStats, RejectReason};
pub use pop::KeyProof;
pub use service::{Ca, CaKeys, LEAF_LIFETIME_SECS};

use axum::http::StatusCode;
use thiserror::Error;

/// Why a certificate was not issued (or the CA could not start). [`CaError::status`] maps
/// each cause to the HTTP status Fulcio answers with: every fault of the request is
/// `400 InvalidArgument`, as Fulcio's gRPC gateway does; the server's own faults are 5xx.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CaError {
    #[error("There was an error processing the identity token: no token in credentials.oidcIdentityToken or an Authorization: Bearer header")]
    MissingToken,
    #[error("There was an error processing the identity token: {0}")]
    Token(#[from] signet_oidc::TokenError),
    #[error("The request has neither publicKeyRequest nor certificateSigningRequest")]
    MissingKeyProof,
    #[error("The public key supplied in the request could not be parsed: {0}")]
    BadPublicKey(String),
    #[error("The public key supplied in the request is insecure: {0}")]
    InsecureKey(String),
    #[error("The signature supplied in the request could not be verified: {0}")]
    BadProof(String),
    #[error("The certificate signing request could not be parsed or verified: {0}")]
    BadCsr(String),
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("Error entering certificate in CTL: {0}")]
    Ct(String),
    #[error("error issuing the certificate: {0}")]
    Issue(String),
    #[error("CA key files: {0}")]
    Files(#[from] signet_keyfile::KeyFileError),
    #[error("the CA certificate chain: {0}")]
    Chain(String),
    /// A signing key (the CA's, or its CT log's) is out of reach for now, e.g. a PKCS#11
    /// token reconnecting: 503, retry later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl CaError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            CaError::Token(e) if e.http_status() >= 500 => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            CaError::MissingToken
            | CaError::Token(_)
            | CaError::MissingKeyProof
            | CaError::BadPublicKey(_)
            | CaError::InsecureKey(_)
            | CaError::BadProof(_)
            | CaError::BadCsr(_)
            | CaError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CaError::Ct(_) | CaError::Issue(_) | CaError::Files(_) | CaError::Chain(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            CaError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}
