//! OpenID Connect identity-token verification for signet's CA (Fulcio's job): a signed JWT is
//! checked against its issuer's keys and claims and mapped to the [`CertificateIdentity`]
//! (SAN + Fulcio extensions) the certificate profile writes.
//! Everything but [`jwks`] is pure: bytes and time in, values or typed errors out. This crate
//! must never depend on a service crate (ca, log, server); below it are only `signet-crypto`
//! and `signet-x509`.
//!
//! Modules, in the order a token meets them:
//! - [`jws`]: compact serialization with a size limit, the JOSE header, the signature check;
//! - [`jwk`]: JWKs and JWK Sets turned into verification keys;
//! - [`claims`]: `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`;
//! - [`config`]: trusted issuers in Fulcio's JSON shape ([`IssuerSet`]);
//! - [`principal`]: each issuer type's mapping to a certificate identity;
//! - [`verifier`]: [`TokenVerifier`], which runs the above with keys from a [`KeySource`];
//! - [`jwks`]: [`HttpKeySource`], discovery and JWK Set fetching with a cache.
//!
//! Choices and why:
//! - JWS is parsed by hand (about 150 lines) rather than with `jsonwebtoken`, which brings its
//!   own crypto stack (ring or rust-crypto) and its own key types; here every signature is
//!   checked by aws-lc-rs, the workspace's one provider. EC and Ed25519 keys go through
//!   [`signet_crypto::PublicKey`] (ES256/ES384 signatures converted from JOSE's `r||s` to DER);
//!   RSA keys use aws-lc-rs's `RSA_PKCS1_2048_8192_SHA{256,384,512}` directly, because
//!   `signet-crypto`'s schemes are Sigstore's (PKCS#1 v1.5, SHA-256, exactly 2048/3072/4096
//!   bits) and JOSE needs RS384/RS512 and moduli up to 8192 bits.
//! - PS256 is not accepted: `signet-crypto` has no RSA-PSS scheme. No issuer Fulcio's public
//!   instance trusts signs with it; adding it is one arm in `jwk.rs` (`RSA_PSS_2048_8192_SHA256`).
//! - `none`, `HS*` and unknown algorithms are refused before the payload is decoded, and the
//!   key, not the token, decides the algorithm family (RFC 8725 §3.1).
//! - HTTP: hyper 1 with hyper-util's legacy client (already in the workspace) and
//!   `hyper-rustls` on rustls' aws-lc-rs provider with Mozilla's roots (`webpki-roots`), so a
//!   CA in a minimal container needs no system trust store. Plain http only to loopback hosts
//!   (the development provider at `http://127.0.0.1:PORT/oidc`).
//! - Configuration is JSON only (Fulcio also reads YAML; `serde_yaml` is unmaintained).
//!
//! [`CertificateIdentity`]: signet_x509::CertificateIdentity

#![forbid(unsafe_code)]

pub mod claims;
pub mod config;
mod error;
pub mod jwk;
pub mod jwks;
pub mod jws;
pub mod principal;
pub mod verifier;

pub use claims::Claims;
pub use config::{IssuerConfig, IssuerSet, IssuerType, DEFAULT_CLIENT_ID};
pub use error::{ConfigError, KeySourceError, TokenError};
pub use jwk::{Jwk, JwkError, KeySet, KeyType, VerificationKey};
pub use jwks::{HttpKeySource, HttpKeySourceOptions};
pub use jws::{Algorithm, Header, UnverifiedToken, MAX_TOKEN_BYTES};
pub use verifier::{
    verify_token_with_keys, KeySource, StaticKeys, TokenVerifier, VerifiedToken, DEFAULT_CLOCK_SKEW_SECS,
};
