//! The provider's routes. The clock is read here, at the edge, through a [`Clock`] so tests
//! can move time; everything below takes the time as a parameter.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;

use crate::authorization::{
    AuthorizationParams, AuthorizeError, ErrorCode, IdentityForm, OAuthError, RedirectUri, TokenParams,
    ValidAuthorization,
};
use crate::claims::{EmailTokenRequest, GithubTokenRequest, MintError};
use crate::device::{DeviceAuthorizationParams, DeviceDecision};
use crate::html;
use crate::provider::{DevProvider, Issuer};

/// Larger request bodies are refused: every request here is a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The time in Unix seconds. [`router`] uses the system clock.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

#[derive(Clone)]
struct Ctx {
    provider: Arc<DevProvider>,
    clock: Clock,
    issuer: Issuer,
}

impl Ctx {
    fn now(&self) -> i64 {
        (self.clock)()
    }
}

/// **DEVELOPMENT ONLY.** The provider's routes, relative to its base URL (mount with
/// `.nest("/oidc", router(provider))` where `{public_url}/oidc` is the `issuer_url` the
/// provider was opened with). For each `{issuer}`, the email issuer at the base and the
/// workflow issuer at `/github`:
///
/// - `GET  {issuer}/.well-known/openid-configuration`, `GET {issuer}/.well-known/jwks`
/// - `GET  {issuer}/authorize` (login page), `POST {issuer}/authorize` (login form)
/// - `POST {issuer}/token` (authorization code + PKCE, or device code; form-encoded)
/// - `POST {issuer}/device/code` (RFC 8628 device authorization request, form-encoded)
/// - `GET  {issuer}/device?user_code=…` (verification page), `POST {issuer}/device` (approve
///   or deny)
/// - `POST {issuer}/dev/token` (JSON mint request → token response)
/// - `GET  {issuer}/github/dev/actions-token?audience=…` (GitHub Actions' ID token request:
///   `Authorization: Bearer <anything>`, answers `{"value": jwt}`)
pub fn router(provider: Arc<DevProvider>) -> Router {
    router_with_clock(provider, Arc::new(system_now))
}

/// [`router`] with the clock given, so tests can expire codes and tokens.
pub fn router_with_clock(provider: Arc<DevProvider>, clock: Clock) -> Router {
    let ctx = |issuer| Ctx {
        provider: provider.clone(),
        clock: clock.clone(),
        issuer,
    };
    let github = issuer_routes()
        .route("/dev/actions-token", get(actions_token))
        .with_state(ctx(Issuer::GithubWorkflow));
    issuer_routes()
        .with_state(ctx(Issuer::Email))
        .nest(Issuer::GithubWorkflow.path(), github)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

fn issuer_routes() -> Router<Ctx> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(authorize_login))
        .route("/token", post(token))
        .route("/device/code", post(device_authorization))
        .route("/device", get(device_page).post(device_decision))
        .route("/dev/token", post(mint))
}

async fn discovery(State(ctx): State<Ctx>) -> Response {
    Json(ctx.provider.discovery(ctx.issuer)).into_response()
}

async fn jwks(State(ctx): State<Ctx>) -> Response {
    Json(ctx.provider.jwks()).into_response()
}

/// `GET {issuer}/authorize`: checks the request and shows the login form.
async fn authorize_page(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    let params: AuthorizationParams = match parse_form(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(p) => p,
        Err(e) => return html_response(StatusCode::BAD_REQUEST, html::error_page(&e)),
    };
    match ValidAuthorization::check(&params) {
        Ok(_) => html_response(
            StatusCode::OK,
            html::login_page(ctx.issuer, &ctx.provider.issuer_url(ctx.issuer), &params, None),
        ),
        Err(e) => authorize_error(e),
    }
}

/// `POST {issuer}/authorize`: the login form. Issues a code and sends the browser back to
/// the client (303, RFC 6749 §4.1.2), or shows the code for an out-of-band client.
async fn authorize_login(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let form: Result<AuthorizationParams, OAuthError> = match body {
        Ok(body) => parse_form(&body),
        Err(e) => Err(OAuthError::new(ErrorCode::InvalidRequest, e.body_text())),
    };
    let form = match form {
        Ok(f) => f,
        Err(e) => return html_response(StatusCode::BAD_REQUEST, html::error_page(&e)),
    };
    let auth = match ValidAuthorization::check(&form) {
        Ok(a) => a,
        Err(e) => return authorize_error(e),
    };
    let identity = match ctx.provider.login_identity(ctx.issuer, &form.identity) {
        Ok(i) => i,
        Err(e) => {
            let page = html::login_page(
                ctx.issuer,
                &ctx.provider.issuer_url(ctx.issuer),
                &form,
                Some(&e.to_string()),
            );
            return html_response(StatusCode::BAD_REQUEST, page);
        }
    };
    let code = match ctx.provider.issue_code(ctx.issuer, &auth, identity, ctx.now()) {
        Ok(c) => c,
        Err(error) => {
            return authorize_error(AuthorizeError::Redirect {
                redirect_uri: auth.redirect_uri,
                state: auth.state,
                error,
            })
        }
    };
    match &auth.redirect_uri {
        RedirectUri::OutOfBand => {
            html_response(StatusCode::OK, html::code_page(&code, auth.state.as_deref()))
        }
        uri @ RedirectUri::Loopback(_) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(state) = &auth.state {
                params.push(("state", state));
            }
            see_other(&uri.with_query(&params))
        }
    }
}

fn authorize_error(error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::NoRedirect(e) => html_response(StatusCode::BAD_REQUEST, html::error_page(&e)),
        AuthorizeError::Redirect {
            redirect_uri: RedirectUri::OutOfBand,
            error,
            ..
        } => html_response(StatusCode::BAD_REQUEST, html::error_page(&error)),
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } => {
            let mut params = vec![
                ("error", error.error.as_str()),
                ("error_description", error.error_description.as_str()),
            ];
            if let Some(state) = &state {
                params.push(("state", state));
            }
            see_other(&redirect_uri.with_query(&params))
        }
    }
}

/// `POST {issuer}/token`: exchanges a code (RFC 6749 §4.1.3, RFC 7636 §4.5).
async fn token(State(ctx): State<Ctx>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let result = match body {
        Ok(body) => exchange(&ctx, &headers, &body),
        Err(e) => Err(OAuthError::new(ErrorCode::InvalidRequest, e.body_text())),
    };
    oauth_json(&headers, result)
}

/// `POST {issuer}/device/code`: starts a device login (RFC 8628 §3.1, §3.2).
async fn device_authorization(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = body
        .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, e.body_text()))
        .and_then(|body| {
            let params: DeviceAuthorizationParams = parse_form(&body)?;
            let client_id = client_id(&headers, params.client_id.as_deref())?;
            ctx.provider
                .authorize_device(ctx.issuer, &params, &client_id, ctx.now())
        });
    oauth_json(&headers, result)
}

/// A token-endpoint style answer: the JSON on success, else the error as RFC 6749 §5.2 and
/// RFC 8628 §3.5 give it (400, or 401 for a client that failed HTTP authentication), never
/// cached (§5.1).
fn oauth_json<T: serde::Serialize>(headers: &HeaderMap, result: Result<T, OAuthError>) -> Response {
    let mut response = match result {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => {
            let status = match e.error {
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InvalidClient if headers.contains_key(header::AUTHORIZATION) => {
                    StatusCode::UNAUTHORIZED
                }
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::debug!(error = %e, "development OIDC request refused");
            (status, Json(e)).into_response()
        }
    };
    // RFC 6749 §5.1: responses with tokens must not be cached.
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn exchange(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<crate::TokenResponse, OAuthError> {
    let params: TokenParams = parse_form(body)?;
    let client_id = client_id(headers, params.client_id.as_deref())?;
    ctx.provider.exchange(ctx.issuer, &params, &client_id, ctx.now())
}

/// The client of a token or device authorization request: its HTTP Basic client, or the
/// `client_id` form field.
fn client_id(headers: &HeaderMap, form_client_id: Option<&str>) -> Result<String, OAuthError> {
    let basic = basic_client_id(headers)?;
    // RFC 6749 §2.3: one authentication method per request; a public client names itself
    // with the client_id field (§4.1.3), sigstore-python uses HTTP Basic with no secret.
    match (basic, form_client_id) {
        (Some(b), Some(f)) if b != f => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "client_id in the form differs from the HTTP Basic client",
        )),
        (Some(b), _) => Ok(b),
        (None, Some(f)) => Ok(f.to_string()),
        (None, None) => Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "no client_id and no HTTP Basic client authentication",
        )),
    }
}

/// The device verification page's form: the user code, who the user says they are, and the
/// button pressed.
#[derive(Debug, Default, serde::Deserialize)]
struct DeviceForm {
    user_code: Option<String>,
    action: Option<String>,
    #[serde(flatten)]
    identity: IdentityForm,
}

/// `GET {issuer}/device`: the verification page, the code prefilled from `?user_code=`.
async fn device_page(State(ctx): State<Ctx>, RawQuery(query): RawQuery) -> Response {
    let form: DeviceForm = match parse_form(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(f) => f,
        Err(e) => return html_response(StatusCode::BAD_REQUEST, html::error_page(&e)),
    };
    let page = html::device_page(
        ctx.issuer,
        &ctx.provider.issuer_url(ctx.issuer),
        form.user_code.as_deref(),
        &form.identity,
        None,
    );
    html_response(StatusCode::OK, page)
}

/// `POST {issuer}/device`: approves the device with the identity typed, or denies it.
async fn device_decision(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let form: Result<DeviceForm, OAuthError> = match body {
        Ok(body) => parse_form(&body),
        Err(e) => Err(OAuthError::new(ErrorCode::InvalidRequest, e.body_text())),
    };
    let form = match form {
        Ok(f) => f,
        Err(e) => return html_response(StatusCode::BAD_REQUEST, html::error_page(&e)),
    };
    let again = |error: &str| {
        let page = html::device_page(
            ctx.issuer,
            &ctx.provider.issuer_url(ctx.issuer),
            form.user_code.as_deref(),
            &form.identity,
            Some(error),
        );
        html_response(StatusCode::BAD_REQUEST, page)
    };
    let decision = match form.action.as_deref() {
        Some("approve") => match ctx.provider.login_identity(ctx.issuer, &form.identity) {
            Ok(identity) => DeviceDecision::Approve(identity),
            Err(e) => return again(&e.to_string()),
        },
        Some("deny") => DeviceDecision::Deny,
        _ => return again("press Approve or Deny"),
    };
    let approved = matches!(decision, DeviceDecision::Approve(_));
    let user_code = form.user_code.as_deref().unwrap_or("");
    match ctx
        .provider
        .decide_device(ctx.issuer, user_code, decision, ctx.now())
    {
        Ok(()) => html_response(StatusCode::OK, html::device_done_page(approved)),
        Err(e) => again(&e.to_string()),
    }
}

/// The client id of an `Authorization: Basic` header (RFC 6749 §2.3.1: form-encoded id and
/// secret; the secret is not checked, every client here is public).
fn basic_client_id(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::new(ErrorCode::InvalidClient, "Authorization is not valid HTTP Basic");
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, credentials) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = B64.decode(credentials.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, _secret) = decoded.split_once(':').ok_or_else(bad)?;
    let id: Vec<(String, String)> =
        serde_urlencoded::from_str(&format!("id={}", id.replace('&', "%26"))).map_err(|_| bad())?;
    match id.into_iter().next() {
        Some((_, id)) if !id.is_empty() => Ok(Some(id)),
        _ => Err(bad()),
    }
}

/// `POST {issuer}/dev/token`: mints a token from a JSON request, for scripts and tests.
async fn mint(State(ctx): State<Ctx>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return json_error(e.status(), &e.body_text()),
    };
    let result =
        match ctx.issuer {
            Issuer::Email => parse_json::<EmailTokenRequest>(&body)
                .and_then(|req| ctx.provider.mint_email(&req, ctx.now())),
            Issuer::GithubWorkflow => parse_json::<GithubTokenRequest>(&body)
                .and_then(|req| ctx.provider.mint_github(&req, ctx.now())),
        };
    match result {
        Ok(tokens) => Json(tokens).into_response(),
        Err(e) => mint_error(&e),
    }
}

/// `GET {issuer}/github/dev/actions-token?audience=…`: what a GitHub Actions runner answers
/// at `ACTIONS_ID_TOKEN_REQUEST_URL`. The query may also carry any field of
/// [`GithubTokenRequest`], so a test can point the URL at the workflow it wants.
async fn actions_token(State(ctx): State<Ctx>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let has_bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty());
    if !has_bearer {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN> is required (any value in development)",
        );
    }
    let req: GithubTokenRequest = match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, &format!("query: {e}")),
    };
    match ctx.provider.mint_github(&req, ctx.now()) {
        Ok(tokens) => Json(serde_json::json!({ "value": tokens.id_token })).into_response(),
        Err(e) => mint_error(&e),
    }
}

fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, OAuthError> {
    // Derived deserializers refuse a repeated field, as RFC 6749 §3.1 requires.
    serde_urlencoded::from_bytes(body)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, format!("parameters: {e}")))
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, MintError> {
    serde_json::from_slice(body).map_err(|e| MintError::Invalid {
        field: "request",
        reason: format!("JSON: {e}"),
    })
}

fn mint_error(e: &MintError) -> Response {
    match e {
        MintError::Invalid { .. } => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
        _ => {
            tracing::error!(error = %e, "development OIDC token could not be minted");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => html_response(
            StatusCode::BAD_REQUEST,
            html::error_page(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "redirect_uri cannot be used as a Location header",
            )),
        ),
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
