//! The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636, S256 only) for native
//! clients on loopback redirects (RFC 8252 §7.3) or out-of-band: request validation, the
//! single-use code store, and the checks at the token endpoint. Pure: the time is a
//! parameter and the code's randomness is passed in.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use signet_crypto::sha256;

use crate::device::DEVICE_CODE_GRANT_TYPE;
use crate::provider::Issuer;

/// A code is good for this long after the login (RFC 6749 §4.1.2 says at most ten minutes;
/// a native client redeems within a second).
pub const CODE_LIFETIME_SECS: i64 = 60;
/// Most codes outstanding at once; a full store refuses logins until codes expire.
pub const MAX_OUTSTANDING_CODES: usize = 1024;
/// The out-of-band redirect URI: the code is shown on a page for the user to paste.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";
pub(crate) const MAX_PARAM_LEN: usize = 2048;

/// The `error` codes of RFC 6749 §4.1.2.1 and §5.2, and RFC 8628 §3.5's for the device code
/// grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: the user has not yet approved or denied the device.
    AuthorizationPending,
    /// RFC 8628 §3.5: poll less often (the interval grows by 5 seconds).
    SlowDown,
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
        }
    }
}

/// An OAuth error response body: `{"error": …, "error_description": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {error_description}", error.as_str())]
pub struct OAuthError {
    pub error: ErrorCode,
    pub error_description: String,
}

impl OAuthError {
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            error_description: description.into(),
        }
    }
}

pub(crate) fn invalid_request(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

pub(crate) fn invalid_grant(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// The query of `GET {issuer}/authorize`, and the login form posted back to it (which adds
/// the identity fields). Unknown parameters are ignored (RFC 6749 §3.1).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// The login form's identity fields.
    #[serde(flatten)]
    pub identity: IdentityForm,
}

/// What a user types on a login form (the authorization code login and the device
/// verification page) to say who they are: an email address on the email issuer, a
/// repository, ref and workflow on the workflow issuer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdentityForm {
    /// Email issuer.
    pub email: Option<String>,
    /// Workflow issuer.
    pub repository: Option<String>,
    /// Workflow issuer.
    #[serde(rename = "ref")]
    pub ref_: Option<String>,
    /// Workflow issuer.
    pub workflow: Option<String>,
}

/// Where the code goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectUri {
    /// `http://127.0.0.1:port/…`, `http://[::1]:port/…` or `http://localhost:port/…`.
    Loopback(String),
    /// `urn:ietf:wg:oauth:2.0:oob`: the code is shown to the user.
    OutOfBand,
}

impl RedirectUri {
    /// Accepts loopback `http` URIs on any port (RFC 8252 §7.3, with `localhost` too) and the
    /// out-of-band URN; anything else could send the code to another machine.
    pub fn parse(uri: &str) -> Result<RedirectUri, String> {
        if uri == OOB_REDIRECT_URI {
            return Ok(RedirectUri::OutOfBand);
        }
        if uri.len() > MAX_PARAM_LEN || uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("redirect_uri is too long or has spaces or control characters".into());
        }
        let rest = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &uri[7..])
            .ok_or("redirect_uri must be a loopback http:// URI or urn:ietf:wg:oauth:2.0:oob")?;
        if uri.contains('#') {
            // RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment.
            return Err("redirect_uri must not have a fragment".into());
        }
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        // No userinfo, backslashes or percent-encoding: browsers disagree on those, and a
        // disagreement is how a code ends up at another host.
        if !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(format!(
                "redirect_uri authority {authority:?} is not a plain host and port"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, Some(p)),
            _ => (authority, None),
        };
        if let Some(port) = port {
            if !port.is_empty() && port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("redirect_uri port {port:?} is not a port number"));
            }
        }
        if ["127.0.0.1", "[::1]", "localhost"]
            .iter()
            .any(|loopback| host.eq_ignore_ascii_case(loopback))
        {
            Ok(RedirectUri::Loopback(uri.to_string()))
        } else {
            Err(format!(
                "redirect_uri host {host:?} is not loopback (127.0.0.1, [::1] or localhost)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RedirectUri::Loopback(uri) => uri,
            RedirectUri::OutOfBand => OOB_REDIRECT_URI,
        }
    }

    /// The URI with `params` added to its query (RFC 6749 §4.1.2).
    pub fn with_query(&self, params: &[(&str, &str)]) -> String {
        let base = self.as_str();
        let query = serde_urlencoded::to_string(params).unwrap_or_default();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}{query}")
    }
}

/// Why `GET/POST {issuer}/authorize` was refused. RFC 6749 §4.1.2.1: with a bad client or
/// redirect URI the user is told and not redirected; otherwise the error goes back to the
/// client on its redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    NoRedirect(OAuthError),
    Redirect {
        redirect_uri: RedirectUri,
        state: Option<String>,
        error: OAuthError,
    },
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAuthorization {
    pub client_id: String,
    pub redirect_uri: RedirectUri,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)).
    pub code_challenge: String,
}

impl ValidAuthorization {
    /// Checks an authorization request: client and redirect URI first (errors shown to the
    /// user), then the rest (errors redirected to the client).
    pub fn check(p: &AuthorizationParams) -> Result<ValidAuthorization, AuthorizeError> {
        let no_redirect = |d: String| AuthorizeError::NoRedirect(invalid_request(d));
        let client_id = match p.client_id.as_deref() {
            Some(id) if check_client_id(id) => id.to_string(),
            Some(_) => return Err(no_redirect("client_id is malformed".into())),
            None => return Err(no_redirect("client_id is missing".into())),
        };
        let redirect_uri = match p.redirect_uri.as_deref() {
            Some(uri) => RedirectUri::parse(uri).map_err(no_redirect)?,
            // RFC 6749 §3.1.2.3: without registration, the URI must be in the request.
            None => return Err(no_redirect("redirect_uri is missing".into())),
        };
        let state = p.state.clone();
        let fail = |error: OAuthError| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        };
        for (name, value) in [("state", &p.state), ("nonce", &p.nonce), ("scope", &p.scope)] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_PARAM_LEN) {
                return Err(fail(invalid_request(format!(
                    "{name} is longer than {MAX_PARAM_LEN} bytes"
                ))));
            }
        }
        match p.response_type.as_deref() {
            Some("code") => {}
            Some(other) => {
                return Err(fail(OAuthError::new(
                    ErrorCode::UnsupportedResponseType,
                    format!("response_type {other:?}: only \"code\" is supported"),
                )))
            }
            None => return Err(fail(invalid_request("response_type is missing"))),
        }
        let scope = p.scope.clone().unwrap_or_default();
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(fail(OAuthError::new(
                ErrorCode::InvalidScope,
                "scope must include \"openid\" (OpenID Connect Core §3.1.2.1)",
            )));
        }
        let code_challenge =
            code_challenge(p.code_challenge_method.as_deref(), p.code_challenge.as_deref()).map_err(fail)?;
        Ok(ValidAuthorization {
            client_id,
            redirect_uri,
            scope,
            state,
            nonce: p.nonce.clone(),
            code_challenge,
        })
    }
}

/// The S256 `code_challenge` of a request (RFC 7636 §4.3). A server that does not support the
/// requested transformation answers invalid_request (§4.4.1); only S256 is supported here:
/// `plain` gives no protection against an intercepted authorization request.
pub(crate) fn code_challenge(method: Option<&str>, challenge: Option<&str>) -> Result<String, OAuthError> {
    match method {
        Some("S256") => {}
        Some(other) => {
            return Err(invalid_request(format!(
                "code_challenge_method {other:?}: only S256 is supported"
            )))
        }
        None => {
            return Err(invalid_request(
                "code_challenge_method is missing: PKCE with S256 is required",
            ))
        }
    }
    match challenge {
        Some(c) if c.len() == 43 && c.bytes().all(is_base64url) => Ok(c.to_string()),
        Some(_) => Err(invalid_request(
            "code_challenge must be 43 base64url characters (a SHA-256 digest)",
        )),
        None => Err(invalid_request("code_challenge is missing")),
    }
}

/// The `code_verifier` of a token request, checked for form: RFC 7636 §4.1 allows 43 to 128
/// characters of [A-Z] [a-z] [0-9] - . _ ~
pub(crate) fn code_verifier(verifier: Option<&str>) -> Result<&str, OAuthError> {
    let verifier = verifier.ok_or_else(|| invalid_request("code_verifier is missing: PKCE is required"))?;
    if !(43..=128).contains(&verifier.len())
        || !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return Err(invalid_request(
            "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    Ok(verifier)
}

/// RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, compared in
/// constant time.
pub(crate) fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let computed = B64URL.encode(sha256(verifier.as_bytes()));
    aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

/// The form of `POST {issuer}/token`: the authorization code grant (RFC 6749 §4.1.3 plus RFC
/// 7636 §4.5) or the device code grant (RFC 8628 §3.4).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    /// The device code grant's `device_code`.
    pub device_code: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code_verifier: Option<String>,
}

/// A code waiting to be redeemed, and what it was issued for.
#[derive(Debug, Clone)]
struct PendingCode {
    issuer: Issuer,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scope: String,
    identity: Map<String, Value>,
    expires_at: i64,
}

/// What a redeemed code grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub client_id: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub identity: Map<String, Value>,
}

/// Outstanding codes, keyed by SHA-256 of the code so the table holds no usable secret.
#[derive(Debug, Default)]
pub(crate) struct CodeStore {
    codes: HashMap<[u8; 32], PendingCode>,
}

impl CodeStore {
    /// Stores a code for `auth` and the logged-in `identity`. `code` is fresh randomness of
    /// at least 128 bits (RFC 6749 §10.10).
    pub fn insert(
        &mut self,
        code: &str,
        issuer: Issuer,
        auth: &ValidAuthorization,
        identity: Map<String, Value>,
        now: i64,
    ) -> Result<(), OAuthError> {
        self.codes.retain(|_, pending| pending.expires_at > now);
        if self.codes.len() >= MAX_OUTSTANDING_CODES {
            return Err(OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                format!("{MAX_OUTSTANDING_CODES} authorization codes are outstanding; retry in a minute"),
            ));
        }
        self.codes.insert(
            sha256(code.as_bytes()),
            PendingCode {
                issuer,
                client_id: auth.client_id.clone(),
                redirect_uri: auth.redirect_uri.as_str().to_string(),
                code_challenge: auth.code_challenge.clone(),
                nonce: auth.nonce.clone(),
                scope: auth.scope.clone(),
                identity,
                expires_at: now + CODE_LIFETIME_SECS,
            },
        );
        Ok(())
    }

    /// Redeems a code at the token endpoint of `issuer`. The code is removed on any attempt,
    /// good or bad (RFC 6749 §4.1.2: single use), so a verifier cannot be guessed at.
    /// `client_id` is the one the client authenticated or identified itself with.
    pub fn redeem(
        &mut self,
        issuer: Issuer,
        params: &TokenParams,
        client_id: &str,
        now: i64,
    ) -> Result<Grant, OAuthError> {
        match params.grant_type.as_deref() {
            Some("authorization_code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!(
                        "grant_type {other:?}: only authorization_code and {DEVICE_CODE_GRANT_TYPE} are supported"
                    ),
                ))
            }
            None => return Err(invalid_request("grant_type is missing")),
        }
        let code = params
            .code
            .as_deref()
            .ok_or_else(|| invalid_request("code is missing"))?;
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .ok_or_else(|| invalid_request("redirect_uri is missing"))?;
        let verifier = code_verifier(params.code_verifier.as_deref())?;

        let Some(pending) = self.codes.remove(&sha256(code.as_bytes())) else {
            return Err(invalid_grant("authorization code is unknown or was already used"));
        };
        if now >= pending.expires_at {
            return Err(invalid_grant("authorization code has expired"));
        }
        if pending.issuer != issuer {
            return Err(invalid_grant("authorization code was issued by the other issuer"));
        }
        if pending.client_id != client_id {
            return Err(invalid_grant("authorization code was issued to another client"));
        }
        if pending.redirect_uri != redirect_uri {
            return Err(invalid_grant(
                "redirect_uri differs from the one in the authorization request",
            ));
        }
        if !verifier_matches(verifier, &pending.code_challenge) {
            return Err(invalid_grant("code_verifier does not match the code_challenge"));
        }
        Ok(Grant {
            client_id: pending.client_id,
            nonce: pending.nonce,
            scope: pending.scope,
            identity: pending.identity,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.codes.len()
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Printable ASCII (RFC 6749 Appendix A.1 VSCHAR), at most 128 bytes.
pub(crate) fn check_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    // RFC 7636 Appendix B.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn params() -> AuthorizationParams {
        AuthorizationParams {
            response_type: Some("code".into()),
            client_id: Some("sigstore".into()),
            redirect_uri: Some("http://127.0.0.1:4321/auth/callback".into()),
            scope: Some("openid email".into()),
            state: Some("st".into()),
            nonce: Some("n".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        }
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(B64URL.encode(sha256(VERIFIER.as_bytes())), CHALLENGE);
    }

    #[test]
    fn redirect_uris() {
        for ok in [
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1/",
            "http://[::1]:1/x?y=z",
            "http://localhost:53682",
            "HTTP://LOCALHOST:1/",
        ] {
            assert!(
                matches!(RedirectUri::parse(ok), Ok(RedirectUri::Loopback(_))),
                "{ok}"
            );
        }
        assert_eq!(RedirectUri::parse(OOB_REDIRECT_URI), Ok(RedirectUri::OutOfBand));
        for bad in [
            "https://127.0.0.1/cb",
            "http://example.com/cb",
            "http://127.0.0.1.example.com/cb",
            "http://localhost@evil.com/",
            "http://evil.com#@127.0.0.1/",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1/cb#frag",
            "javascript:alert(1)",
            "http://[::2]:80/",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authorization_errors() {
        assert!(ValidAuthorization::check(&params()).is_ok());
        let redirected = |p: AuthorizationParams| match ValidAuthorization::check(&p) {
            Err(AuthorizeError::Redirect { error, .. }) => error.error,
            other => panic!("{other:?}"),
        };
        let shown = |p: AuthorizationParams| match ValidAuthorization::check(&p) {
            Err(AuthorizeError::NoRedirect(error)) => error.error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            redirected(AuthorizationParams {
                code_challenge_method: Some("plain".into()),
                ..params()
            }),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected(AuthorizationParams {
                code_challenge: None,
                ..params()
            }),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected(AuthorizationParams {
                response_type: Some("token".into()),
                ..params()
            }),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            redirected(AuthorizationParams {
                scope: Some("email".into()),
                ..params()
            }),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            shown(AuthorizationParams {
                redirect_uri: Some("http://evil.example/".into()),
                ..params()
            }),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            shown(AuthorizationParams {
                client_id: None,
                ..params()
            }),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let auth = ValidAuthorization::check(&params()).unwrap();
        let mut store = CodeStore::default();
        let token = |code: &str| TokenParams {
            grant_type: Some("authorization_code".into()),
            code: Some(code.into()),
            redirect_uri: Some(auth.redirect_uri.as_str().into()),
            code_verifier: Some(VERIFIER.into()),
            ..Default::default()
        };
        store
            .insert("c1", Issuer::Email, &auth, Map::new(), 1000)
            .unwrap();
        assert!(store
            .redeem(Issuer::Email, &token("c1"), "sigstore", 1001)
            .is_ok());
        let reused = store.redeem(Issuer::Email, &token("c1"), "sigstore", 1001);
        assert_eq!(reused.unwrap_err().error, ErrorCode::InvalidGrant);

        store
            .insert("c2", Issuer::Email, &auth, Map::new(), 1000)
            .unwrap();
        let late = store.redeem(Issuer::Email, &token("c2"), "sigstore", 1000 + CODE_LIFETIME_SECS);
        assert_eq!(late.unwrap_err().error, ErrorCode::InvalidGrant);

        store
            .insert("c3", Issuer::Email, &auth, Map::new(), 1000)
            .unwrap();
        let other = store.redeem(Issuer::GithubWorkflow, &token("c3"), "sigstore", 1001);
        assert_eq!(other.unwrap_err().error, ErrorCode::InvalidGrant);

        store
            .insert("c4", Issuer::Email, &auth, Map::new(), 1000)
            .unwrap();
        let client = store.redeem(Issuer::Email, &token("c4"), "someone-else", 1001);
        assert_eq!(client.unwrap_err().error, ErrorCode::InvalidGrant);
    }

    #[test]
    fn store_is_bounded_and_purges_expired_codes() {
        let auth = ValidAuthorization::check(&params()).unwrap();
        let mut store = CodeStore::default();
        for i in 0..MAX_OUTSTANDING_CODES {
            store
                .insert(&i.to_string(), Issuer::Email, &auth, Map::new(), 0)
                .unwrap();
        }
        let full = store.insert("x", Issuer::Email, &auth, Map::new(), 1);
        assert_eq!(full.unwrap_err().error, ErrorCode::TemporarilyUnavailable);
        store
            .insert("x", Issuer::Email, &auth, Map::new(), CODE_LIFETIME_SECS)
            .unwrap();
        assert_eq!(store.len(), 1);
    }
}
