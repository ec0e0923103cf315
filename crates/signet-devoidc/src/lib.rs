//! **DEVELOPMENT ONLY.** signet's development OpenID Connect provider, mounted by
//! `signet server --dev-oidc`. It hands a signed identity token for *any* identity to anyone
//! who asks, so a CA that trusts it certifies whatever its callers claim to be: never enable
//! it on a server that real users trust.
//!
//! It serves two issuers under one prefix, because a Fulcio-style CA maps one issuer URL to
//! one identity type: `{issuer_url}` issues email identities (type `email`) and
//! `{issuer_url}/github` issues CI-workflow identities shaped like GitHub Actions tokens (type
//! `github-workflow`). Each has OpenID discovery, a JWKS, the authorization code flow with
//! PKCE (S256) behind a one-field login page, and a JSON token-minting endpoint for scripts.
//!
//! Layers: `jose` (JWS/JWK), `claims` (token contents) and `authorization` (PKCE, redirect
//! URIs, codes) are pure and take the time as a parameter; `keys` does the files and `http`
//! the routes. Nothing here may be depended on by the pure core crates.

#![forbid(unsafe_code)]

mod authorization;
mod claims;
mod discovery;
mod html;
mod http;
pub mod jose;
mod keys;
mod provider;

pub use authorization::{
    AuthorizationParams, AuthorizeError, ErrorCode, OAuthError, RedirectUri, TokenParams, ValidAuthorization,
    CODE_LIFETIME_SECS, MAX_OUTSTANDING_CODES,
};
pub use claims::{EmailTokenRequest, GithubTokenRequest, MintError, MAX_LIFETIME_SECS};
pub use discovery::{DiscoveryDocument, FulcioIssuer, DEV_CLIENT_ID};
pub use http::{router, router_with_clock, Clock, MAX_REQUEST_BYTES};
pub use keys::DevOidcError;
pub use provider::{DevProvider, Issuer, TokenResponse};
