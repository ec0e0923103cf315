//! The development provider: its key, its two issuers, and the operations behind each
//! endpoint, all taking the time as a parameter.

use std::path::Path;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use signet_crypto::{PublicKey, SigningKey};

use crate::authorization::{CodeStore, ErrorCode, IdentityForm, OAuthError, TokenParams};
use crate::claims::{self, EmailTokenRequest, GithubTokenRequest, MintError};
use crate::device::{
    self, DeviceAuthorizationParams, DeviceAuthorizationResponse, DeviceDecision, DeviceStore,
    ValidDeviceAuthorization, VerifyError, DEFAULT_DEVICE_POLL_INTERVAL_SECS, DEVICE_CODE_GRANT_TYPE,
    DEVICE_CODE_LIFETIME_SECS,
};
use crate::discovery::{self, DiscoveryDocument, FulcioIssuer, DEV_CLIENT_ID};
use crate::jose::{self, Jwk};
use crate::keys::{self, DevOidcError};
use crate::ValidAuthorization;

/// The two issuers the provider serves, one per identity type a CA maps issuers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// `{issuer_url}`: email identities, Fulcio type `email`.
    Email,
    /// `{issuer_url}/github`: GitHub-Actions-shaped workflow identities, Fulcio type
    /// `github-workflow`.
    GithubWorkflow,
}

impl Issuer {
    pub const ALL: [Issuer; 2] = [Issuer::Email, Issuer::GithubWorkflow];

    /// The issuer's path below the provider's base URL.
    pub fn path(self) -> &'static str {
        match self {
            Issuer::Email => "",
            Issuer::GithubWorkflow => "/github",
        }
    }

    /// Fulcio's name for the identity type this issuer's tokens carry.
    pub fn fulcio_type(self) -> &'static str {
        match self {
            Issuer::Email => "email",
            Issuer::GithubWorkflow => "github-workflow",
        }
    }
}

/// `{"id_token", "access_token", "token_type": "Bearer", "expires_in"}`, the answer of both
/// the token endpoint (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3) and the mint endpoint.
/// The access token is the ID token: nothing here accepts access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// **DEVELOPMENT ONLY.** An OpenID provider that signs an identity token for whoever asks.
/// A CA configured with its issuers will certify any email address or any repository to
/// anyone who can reach it.
#[derive(Debug)]
pub struct DevProvider {
    base_url: String,
    key: SigningKey,
    jwk: Jwk,
    codes: Mutex<CodeStore>,
    devices: Mutex<DeviceStore>,
    /// The polling interval device grants ask for, in seconds.
    device_interval: u64,
}

impl DevProvider {
    /// Loads the signing key from `dir`, or creates it there on first start (PKCS#8 PEM,
    /// 0600, in a 0700 directory, with its JWKS beside it). `issuer_url` is the URL the
    /// provider's router is served at (for example `http://127.0.0.1:3000/oidc`); it is the
    /// email issuer, and `{issuer_url}/github` the workflow issuer.
    pub fn open_or_create(dir: &Path, issuer_url: &str) -> Result<Self, DevOidcError> {
        let key = keys::open_or_create_key(dir)?;
        Self::with_key(key, issuer_url)
    }

    /// A provider with the given ECDSA P-256 key (nothing written to disk).
    pub fn with_key(key: SigningKey, issuer_url: &str) -> Result<Self, DevOidcError> {
        let base_url = check_issuer_url(issuer_url)?;
        let jwk = Jwk::from_public_key(key.public_key())?;
        tracing::warn!(
            issuer = %base_url,
            github_issuer = %format!("{base_url}{}", Issuer::GithubWorkflow.path()),
            kid = %jwk.kid,
            "{}",
            discovery::DEVELOPMENT_ONLY_NOTICE
        );
        Ok(DevProvider {
            base_url,
            key,
            jwk,
            codes: Mutex::new(CodeStore::default()),
            devices: Mutex::new(DeviceStore::default()),
            device_interval: DEFAULT_DEVICE_POLL_INTERVAL_SECS,
        })
    }

    /// The provider, asking device-flow clients to poll every `secs` seconds (at least 1;
    /// default [`DEFAULT_DEVICE_POLL_INTERVAL_SECS`]). Tests use 1.
    pub fn with_device_poll_interval(mut self, secs: u64) -> Self {
        self.device_interval = secs.max(1);
        self
    }

    /// The issuer URL (`iss`) of `issuer`.
    pub fn issuer_url(&self, issuer: Issuer) -> String {
        format!("{}{}", self.base_url, issuer.path())
    }

    /// The key id: the RFC 7638 thumbprint of the public key, stable across restarts.
    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The JWKS both issuers serve: `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        keys::jwks_document(&self.jwk)
    }

    pub fn discovery(&self, issuer: Issuer) -> DiscoveryDocument {
        let identity: &[&str] = match issuer {
            Issuer::Email => &discovery::EMAIL_CLAIMS,
            Issuer::GithubWorkflow => &discovery::GITHUB_CLAIMS,
        };
        let claims: Vec<&str> = discovery::COMMON_CLAIMS.iter().chain(identity).copied().collect();
        discovery::document(&self.issuer_url(issuer), &claims)
    }

    /// The CA configuration for both issuers (client id `sigstore`), in Fulcio's shape.
    pub fn fulcio_issuers(&self) -> Vec<FulcioIssuer> {
        Issuer::ALL
            .into_iter()
            .map(|issuer| FulcioIssuer {
                issuer_url: self.issuer_url(issuer),
                client_id: DEV_CLIENT_ID.to_string(),
                issuer_type: issuer.fulcio_type().to_string(),
            })
            .collect()
    }

    /// Mints an email identity token (`POST {issuer}/dev/token`).
    pub fn mint_email(&self, req: &EmailTokenRequest, now: i64) -> Result<TokenResponse, MintError> {
        let identity = claims::email_identity(&req.email, req.email_verified.unwrap_or(true))?;
        let audience = claims::audience(req.audience.as_deref())?;
        let lifetime = claims::lifetime(req.lifetime_seconds)?;
        self.issue(Issuer::Email, identity, &audience, lifetime, None, None, now)
    }

    /// Mints a GitHub-Actions-shaped workflow token (`POST {issuer}/github/dev/token`).
    pub fn mint_github(&self, req: &GithubTokenRequest, now: i64) -> Result<TokenResponse, MintError> {
        let identity = claims::github_identity(req)?;
        let audience = claims::audience(req.audience.as_deref())?;
        let lifetime = claims::lifetime(req.lifetime_seconds)?;
        self.issue(
            Issuer::GithubWorkflow,
            identity,
            &audience,
            lifetime,
            None,
            None,
            now,
        )
    }

    /// Checks what the login form says the user is: an email address on the email issuer, a
    /// repository, ref and workflow on the workflow issuer.
    pub fn login_identity(
        &self,
        issuer: Issuer,
        form: &IdentityForm,
    ) -> Result<Map<String, Value>, MintError> {
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        match issuer {
            Issuer::Email => {
                let email = non_empty(&form.email).ok_or(MintError::Invalid {
                    field: "email",
                    reason: "enter an email address".into(),
                })?;
                claims::email_identity(email.trim(), true)
            }
            Issuer::GithubWorkflow => claims::github_identity(&GithubTokenRequest {
                repository: non_empty(&form.repository),
                ref_: non_empty(&form.ref_),
                workflow: non_empty(&form.workflow),
                ..Default::default()
            }),
        }
    }

    /// Issues a single-use authorization code for a checked request and a logged-in identity.
    pub fn issue_code(
        &self,
        issuer: Issuer,
        auth: &ValidAuthorization,
        identity: Map<String, Value>,
        now: i64,
    ) -> Result<String, OAuthError> {
        // 256 bits: well above RFC 6749 §10.10's "attacker cannot guess".
        let code =
            random_b64url::<32>().ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "no randomness"))?;
        self.codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(&code, issuer, auth, identity, now)?;
        tracing::info!(issuer = %self.issuer_url(issuer), client_id = %auth.client_id, "development OIDC login: code issued");
        Ok(code)
    }

    /// Starts a device login at `POST {issuer}/device/code` (RFC 8628 §3.1, §3.2). `client_id`
    /// is the client as it authenticated (HTTP Basic) or identified itself.
    pub fn authorize_device(
        &self,
        issuer: Issuer,
        params: &DeviceAuthorizationParams,
        client_id: &str,
        now: i64,
    ) -> Result<DeviceAuthorizationResponse, OAuthError> {
        let auth = ValidDeviceAuthorization::check(params, client_id)?;
        let no_randomness = || OAuthError::new(ErrorCode::ServerError, "no randomness");
        // 256 bits for the device code, as for authorization codes (RFC 8628 §5.2 asks for
        // enough entropy that it cannot be guessed).
        let device_code = random_b64url::<32>().ok_or_else(no_randomness)?;
        let mut devices = self
            .devices
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A user code already pending is drawn again; with 20^8 codes and at most a few
        // hundred pending, a handful of draws always suffices.
        let user_code = (0..16)
            .filter_map(|_| random_bytes::<32>().and_then(|r| device::user_code_from(&r)))
            .find(|code| !devices.user_code_taken(code))
            .ok_or_else(no_randomness)?;
        devices.insert(&device_code, &user_code, issuer, &auth, self.device_interval, now)?;
        drop(devices);
        tracing::info!(issuer = %self.issuer_url(issuer), client_id = %auth.client_id, "development OIDC device login started");
        let verification_uri = format!("{}/device", self.issuer_url(issuer));
        let verification_uri_complete = format!(
            "{verification_uri}?{}",
            serde_urlencoded::to_string([("user_code", &user_code)]).unwrap_or_default()
        );
        Ok(DeviceAuthorizationResponse {
            device_code,
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in: DEVICE_CODE_LIFETIME_SECS.unsigned_abs(),
            interval: self.device_interval,
        })
    }

    /// Records the user's decision on a device at `POST {issuer}/device`.
    pub fn decide_device(
        &self,
        issuer: Issuer,
        user_code: &str,
        decision: DeviceDecision,
        now: i64,
    ) -> Result<(), VerifyError> {
        let approved = matches!(decision, DeviceDecision::Approve(_));
        self.devices
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .decide(issuer, user_code, decision, now)?;
        tracing::info!(issuer = %self.issuer_url(issuer), approved, "development OIDC device login decided");
        Ok(())
    }

    /// Answers `POST {issuer}/token`: redeems an authorization code, or a device code once
    /// its user approved it. `client_id` is the client as it authenticated (HTTP Basic) or
    /// identified itself (the `client_id` form field). Both grants get their token from the
    /// same claims.
    pub fn exchange(
        &self,
        issuer: Issuer,
        params: &TokenParams,
        client_id: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let grant = if params.grant_type.as_deref() == Some(DEVICE_CODE_GRANT_TYPE) {
            self.devices
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .poll(issuer, params, client_id, now)?
        } else {
            self.codes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .redeem(issuer, params, client_id, now)?
        };
        self.issue(
            issuer,
            grant.identity,
            &grant.client_id,
            claims::DEFAULT_LIFETIME_SECS,
            grant.nonce.as_deref(),
            Some(grant.scope),
            now,
        )
        .map_err(|e| OAuthError::new(ErrorCode::ServerError, e.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        issuer: Issuer,
        identity: Map<String, Value>,
        audience: &str,
        lifetime: u64,
        nonce: Option<&str>,
        scope: Option<String>,
        now: i64,
    ) -> Result<TokenResponse, MintError> {
        let jti = random_b64url::<16>().ok_or(MintError::Signing("no randomness".into()))?;
        let iss = self.issuer_url(issuer);
        let claims = claims::token_claims(&iss, identity, audience, now, lifetime, &jti, nonce);
        let token = jose::sign_es256(&self.key, &self.jwk.kid, &claims)
            .map_err(|e| MintError::Signing(e.to_string()))?;
        tracing::info!(iss = %iss, sub = %claims["sub"], aud = %audience, "development OIDC token issued");
        Ok(TokenResponse {
            access_token: token.clone(),
            id_token: token,
            token_type: "Bearer".into(),
            expires_in: lifetime,
            scope,
        })
    }
}

/// `N` random bytes, base64url.
fn random_b64url<const N: usize>() -> Option<String> {
    random_bytes::<N>().map(|bytes| B64URL.encode(bytes))
}

fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(bytes)
}

/// OpenID Connect Discovery §3: the issuer is an `https` (here also `http`) URL with no
/// query or fragment; a trailing slash is dropped so `iss` matches what a CA is given.
fn check_issuer_url(url: &str) -> Result<String, DevOidcError> {
    let bad = |reason| DevOidcError::BadIssuerUrl {
        url: url.to_string(),
        reason,
    };
    let base = url.trim_end_matches('/');
    let Some(rest) = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
    else {
        return Err(bad("must start with http:// or https://"));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("has no host"));
    }
    if base.contains(['?', '#']) || base.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "must not have a query, fragment, spaces or control characters",
        ));
    }
    Ok(base.to_string())
}
