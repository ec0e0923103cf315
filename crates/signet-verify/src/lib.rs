//! Sigstore bundle verification for signet: the checks of the Sigstore client specification
//! (§4, "Verification"), each in its own module, run in the spec's order by [`verify`].
//! Pure: it takes the bundle, the policy, the trust material and the time as arguments and
//! returns what it verified or a typed error; no I/O, no clock, no async runtime. It depends on
//! signet's pure core only (crypto, formats, tlog, x509) and must never depend on a service.
//!
//! | module | check | client spec |
//! |---|---|---|
//! | [`timestamps`] | RFC 3161 timestamps; at least one signing time | §4.2 |
//! | [`tlog`] | trusted log, SET, inclusion proof, checkpoint | §4.2.2, §4.4 |
//! | [`certificate`] | leaf profile, path to a trusted CA at every signing time | §4.3 |
//! | [`sct`] | embedded SCT from a trusted CT log | §4.3 |
//! | [`identity`] | SAN, issuer and extensions against the policy | §4.3 |
//! | [`artifact`] | the artifact is the one signed: a digest the bundle names, an in-toto subject | §4.4, §4.5 |
//! | [`entry_body`] | the log entry records this signature, signer and artifact | §4.4 |
//! | [`signature`] | the signature over the artifact or DSSE PAE | §4.5 |
//! | [`verifier`] | the orchestrator | §4 |
//!
//! Beside the checks, [`entry_facts`] reads who signed what from a log entry (Rekor v2, Rekor
//! v1, CT), for the monitor and the search index.

#![forbid(unsafe_code)]

pub mod artifact;
mod cache;
pub mod certificate;
mod describe;
pub mod entry_body;
pub mod entry_facts;
mod go_regex;
pub mod identity;
pub mod policy;
pub mod sct;
pub mod signature;
pub mod timestamps;
pub mod tlog;
pub mod trust;
pub mod verifier;

/// Certificate authorities and leaves for the unit tests (shared with the integration tests).
#[cfg(test)]
#[path = "../tests/support/cas.rs"]
mod cas;

pub use artifact::ArtifactError;
pub use policy::{
    Artifact, ArtifactDigest, ExtensionField, ExtensionMatch, IdentityPolicy, Matcher, Policy, PolicyError,
    SignerPolicy,
};
pub use timestamps::{SigningTime, TimeSource};
pub use trust::{CertificateAuthority, PreparedTrust, TransparencyLog, TrustedMaterial};
pub use verifier::{
    verify, verify_json, MaterialError, VerificationError, VerifiedBundle, VerifiedLogEntry, VerifiedSigner,
    Verifier,
};
