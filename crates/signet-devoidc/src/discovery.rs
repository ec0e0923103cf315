//! OpenID Connect Discovery 1.0 §3 provider metadata, and the issuer entries a Fulcio-style
//! CA is configured with.

use serde::{Deserialize, Serialize};

use crate::device::DEVICE_CODE_GRANT_TYPE;

/// The OAuth client id Sigstore clients use, and so the `aud` a CA expects.
pub const DEV_CLIENT_ID: &str = "sigstore";

/// `GET {issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// RFC 8628 §4: where a device login starts.
    pub device_authorization_endpoint: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    /// Not part of any standard: says, to anyone reading the metadata, what this issuer is.
    pub signet_development_only: String,
}

/// One entry of Fulcio's `OIDCIssuers` configuration, with Fulcio's JSON names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulcioIssuer {
    #[serde(rename = "IssuerURL")]
    pub issuer_url: String,
    #[serde(rename = "ClientID")]
    pub client_id: String,
    /// Fulcio's issuer type: `email` or `github-workflow`.
    #[serde(rename = "Type")]
    pub issuer_type: String,
}

pub(crate) const DEVELOPMENT_ONLY_NOTICE: &str = "signet development OpenID provider: issues tokens for any identity to anyone who asks; development only, never use in production";

pub(crate) fn document(issuer: &str, claims: &[&str]) -> DiscoveryDocument {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    DiscoveryDocument {
        issuer: issuer.to_string(),
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        device_authorization_endpoint: format!("{issuer}/device/code"),
        jwks_uri: format!("{issuer}/.well-known/jwks"),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&["authorization_code", DEVICE_CODE_GRANT_TYPE]),
        code_challenge_methods_supported: strings(&["S256"]),
        id_token_signing_alg_values_supported: strings(&["ES256"]),
        subject_types_supported: strings(&["public"]),
        scopes_supported: strings(&["openid", "email"]),
        token_endpoint_auth_methods_supported: strings(&[
            "none",
            "client_secret_basic",
            "client_secret_post",
        ]),
        claims_supported: strings(claims),
        signet_development_only: DEVELOPMENT_ONLY_NOTICE.to_string(),
    }
}

pub(crate) const COMMON_CLAIMS: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "nonce",
    "signet_development_only",
];
pub(crate) const EMAIL_CLAIMS: [&str; 2] = ["email", "email_verified"];
pub(crate) const GITHUB_CLAIMS: [&str; 27] = [
    "actor",
    "actor_id",
    "base_ref",
    "check_run_id",
    "enterprise",
    "enterprise_id",
    "environment",
    "event_name",
    "head_ref",
    "job_workflow_ref",
    "job_workflow_sha",
    "ref",
    "ref_protected",
    "ref_type",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "repository_visibility",
    "run_attempt",
    "run_id",
    "run_number",
    "runner_environment",
    "sha",
    "workflow",
    "workflow_ref",
    "workflow_sha",
];
