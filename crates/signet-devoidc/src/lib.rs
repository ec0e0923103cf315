//! **DEVELOPMENT ONLY.** signet's development OpenID Connect provider, mounted by
//! `signet server --dev-oidc`. It hands a signed identity token for *any* identity to anyone
//! who asks, so a CA that trusts it certifies whatever its callers claim to be: never enable
//! it on a server that real users trust.
//!
//! It serves two issuers under one prefix, because a Fulcio-style CA maps one issuer URL to
//! one identity type: `{issuer_url}` issues email identities (type `email`) and
//! `{issuer_url}/github` issues CI-workflow identities shaped like GitHub Actions tokens (type
//! `github-workflow`). Each has OpenID discovery, a JWKS, the authorization code flow with
//! PKCE (S256) behind a one-field login page, the device authorization grant (RFC 8628) for
//! clients without a browser, and a JSON token-minting endpoint for scripts.
//!
//! Layers: `jose` (JWS/JWK), `claims` (token contents), `authorization` (PKCE, redirect
//! URIs, codes) and `device` (device and user codes) are pure and take the time as a parameter; `keys` does the files and `http`
//! the routes. Nothing here may be depended on by the pure core crates.

#![forbid(unsafe_code)]

mod authorization;
mod claims;
mod device;
mod discovery;
mod html;
mod http;
pub mod jose;
mod keys;
mod provider;

pub use authorization::{
    AuthorizationParams, AuthorizeError, ErrorCode, IdentityForm, OAuthError, RedirectUri, TokenParams,
    ValidAuthorization, CODE_LIFETIME_SECS, MAX_OUTSTANDING_CODES,
};
pub use claims::{EmailTokenRequest, GithubTokenRequest, MintError, MAX_LIFETIME_SECS};
pub use device::{
    DeviceAuthorizationParams, DeviceAuthorizationResponse, DeviceDecision, ValidDeviceAuthorization,
    VerifyError, DEFAULT_DEVICE_POLL_INTERVAL_SECS, DEVICE_CODE_GRANT_TYPE, DEVICE_CODE_LIFETIME_SECS,
    MAX_PENDING_DEVICE_GRANTS, MAX_WRONG_USER_CODES_PER_MINUTE, USER_CODE_ALPHABET,
};
pub use discovery::{DiscoveryDocument, FulcioIssuer, DEV_CLIENT_ID};
pub use http::{router, router_with_clock, Clock, MAX_REQUEST_BYTES};
pub use keys::DevOidcError;
pub use provider::{DevProvider, Issuer, TokenResponse};
