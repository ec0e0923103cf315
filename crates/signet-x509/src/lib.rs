//! X.509 and CMS for signet's pure core: RFC 3161 time-stamp requests, responses and their
//! verification, and the certificate profiles signet issues (today the TSA chain).
//! No I/O, no clocks (time is a parameter), no async runtime; it depends only on
//! `signet-crypto` and `signet-formats` among signet's crates.
//!
//! Crates and why:
//! - `x509-tsp` 0.1 and `cms` 0.2 (RustCrypto): the RFC 3161 and RFC 5652 structures as
//!   derived DER types on the same `der` 0.7 / `x509-cert` 0.2 as the rest of the workspace,
//!   so there is one DER implementation in the graph and the code reads like the RFCs.
//! - Certificates are built from `x509-cert` types and signed through [`Signer`] rather than
//!   with `rcgen`: the CA's key must be able to live behind an HSM or KMS, and the profile
//!   (which extensions, which criticality) is then spelled out here, where it is reviewed.
//! - Signatures are checked with `aws-lc-rs` (see [`algorithm`]), the workspace's provider.

#![forbid(unsafe_code)]

pub mod algorithm;
pub mod certificate;
pub mod csr;
pub mod fulcio;
pub mod identity;
pub mod oid;
pub mod profile;
pub mod rfc3161;
pub mod sct;
pub mod static_ct;

pub use certificate::{
    authority_entry, certificate_validity, BasicConstraintsValue, CertificateRole, ExtensionError,
    ParsedCertificate,
};
pub use csr::{verify_csr, CsrError};
pub use fulcio::{
    check_leaf_key, fulcio_intermediate_certificate, fulcio_root_certificate, read_identity,
    read_identity_from_certificate, read_identity_from_tbs, FulcioError, FulcioLeaf,
};
pub use identity::{CertificateIdentity, FulcioExtensions, SubjectAlternativeName};
pub use rfc3161::{
    rejection_response, verify_timestamp, FailureInfo, PkiStatus, RequestError, TimestampError,
    TimestampRequest, TimestampResponse, TimestampToken, TokenIssuer, TsaTrust, VerifiedTimestamp,
};
/// The signing seam, defined in `signet-crypto` (so the note signer can take it too).
pub use signet_crypto::{Signer, SignerError};
