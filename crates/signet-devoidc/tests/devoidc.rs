//! The development provider through its HTTP routes, mounted at `/oidc` as `signet server`
//! mounts it: discovery, JWKS, minting, the PKCE login flow and its failures, the device
//! authorization grant, key files.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use signet_crypto::{sha256, PublicKey};
use signet_devoidc::{
    jose, DevOidcError, DevProvider, CODE_LIFETIME_SECS, DEFAULT_DEVICE_POLL_INTERVAL_SECS,
    DEVICE_CODE_GRANT_TYPE, DEVICE_CODE_LIFETIME_SECS,
};
use tower::ServiceExt;

const BASE: &str = "http://127.0.0.1:3000/oidc";
const GITHUB: &str = "http://127.0.0.1:3000/oidc/github";
const REDIRECT: &str = "http://127.0.0.1:53682/auth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";
const START: i64 = 1_700_000_000;

struct Harness {
    app: Router,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let provider = DevProvider::open_or_create(&dir.path().join("oidc"), BASE).unwrap();
        let clock = Arc::new(AtomicI64::new(START));
        let read = clock.clone();
        let router = signet_devoidc::router_with_clock(
            Arc::new(provider),
            Arc::new(move || read.load(Ordering::SeqCst)),
        );
        Harness {
            app: Router::new().nest("/oidc", router),
            clock,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Bytes) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        (
            parts.status,
            parts.headers,
            body.collect().await.unwrap().to_bytes(),
        )
    }

    async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn get_json(&self, uri: &str) -> Value {
        let (status, _, body) = self.get(uri).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    async fn post(&self, uri: &str, content_type: &str, body: String) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn mint(&self, path: &str, request: Value) -> (StatusCode, Value) {
        self.post(path, "application/json", request.to_string()).await
    }

    /// The key the JWKS serves, built into an SPKI by hand and parsed by signet_crypto.
    async fn jwks_key(&self, issuer_path: &str) -> (String, PublicKey) {
        let jwks = self.get_json(&format!("{issuer_path}/.well-known/jwks")).await;
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        let coordinate = |name: &str| B64URL.decode(jwk[name].as_str().unwrap()).unwrap();
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04 || x || y }
        let mut spki = hex_decode("3059301306072a8648ce3d020106082a8648ce3d03010703420004");
        spki.extend(coordinate("x"));
        spki.extend(coordinate("y"));
        (
            jwk["kid"].as_str().unwrap().to_string(),
            PublicKey::from_spki_der(&spki).unwrap(),
        )
    }

    /// Verifies a token's ES256 signature with the JWKS key and returns its claims.
    async fn verify(&self, token: &str, issuer_path: &str) -> Value {
        let (kid, key) = self.jwks_key(issuer_path).await;
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], kid.as_str());
        let raw = B64URL.decode(parts[2]).unwrap();
        assert_eq!(raw.len(), 64, "JWS ES256 signatures are raw r||s");
        let der = jose::ecdsa_raw_to_der(&raw).unwrap();
        key.verify_default(format!("{}.{}", parts[0], parts[1]).as_bytes(), &der)
            .expect("token signature verifies with the JWKS key");
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap()
    }

    /// `GET authorize` then the login form; returns the 303's Location.
    async fn login(&self, issuer_path: &str, query: &[(&str, &str)], form: &[(&str, &str)]) -> String {
        let q = serde_urlencoded::to_string(query).unwrap();
        let (status, headers, page) = self.get(&format!("{issuer_path}/authorize?{q}")).await;
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(page.contains("development only, never use in production"));
        assert!(page.contains("action=\"authorize\""));
        let mut fields: Vec<(&str, &str)> = query.to_vec();
        fields.extend_from_slice(form);
        let req = Request::post(format!("{issuer_path}/authorize"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&fields).unwrap()))
            .unwrap();
        let (status, headers, body) = self.send(req).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{}",
            String::from_utf8_lossy(&body)
        );
        headers[header::LOCATION].to_str().unwrap().to_string()
    }

    async fn redeem(&self, issuer_path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.post(
            &format!("{issuer_path}/token"),
            "application/x-www-form-urlencoded",
            body,
        )
        .await
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn challenge() -> String {
    B64URL.encode(sha256(VERIFIER.as_bytes()))
}

fn authorize_query(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", "sigstore".into()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid email".into()),
        ("state", "state-123".into()),
        ("nonce", "nonce-456".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

fn borrow<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The query parameters of a redirect Location.
fn location_params(location: &str) -> serde_json::Map<String, Value> {
    let (_, query) = location.split_once('?').unwrap();
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Logs in as alice on the email issuer and returns the code.
async fn code_for_alice(h: &Harness) -> String {
    let location = h
        .login(
            "/oidc",
            &borrow(&authorize_query(&challenge())),
            &[("email", "alice@example.com")],
        )
        .await;
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let params = location_params(&location);
    assert_eq!(params["state"], "state-123");
    params["code"].as_str().unwrap().to_string()
}

fn token_form(code: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("redirect_uri", REDIRECT.into()),
        ("client_id", "sigstore".into()),
        ("code_verifier", VERIFIER.into()),
    ]
}

#[tokio::test]
async fn discovery_documents_for_both_issuers() {
    let h = Harness::new();
    for (path, issuer, identity_claim) in [
        ("/oidc", BASE, "email"),
        ("/oidc/github", GITHUB, "job_workflow_ref"),
    ] {
        let doc = h
            .get_json(&format!("{path}/.well-known/openid-configuration"))
            .await;
        assert_eq!(doc["issuer"], issuer);
        assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
        assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
        assert_eq!(doc["jwks_uri"], format!("{issuer}/.well-known/jwks"));
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", DEVICE_CODE_GRANT_TYPE])
        );
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!("{issuer}/device/code")
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(doc["subject_types_supported"], json!(["public"]));
        assert!(doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid")));
        assert!(doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(identity_claim)));
        assert!(doc["signet_development_only"]
            .as_str()
            .unwrap()
            .contains("never use in production"));
        // The JWKS the document names is served.
        h.jwks_key(path).await;
    }
}

#[tokio::test]
async fn fulcio_issuer_entries() {
    let dir = tempfile::tempdir().unwrap();
    let provider = DevProvider::open_or_create(dir.path(), &format!("{BASE}/")).unwrap();
    let entries = serde_json::to_value(provider.fulcio_issuers()).unwrap();
    assert_eq!(
        entries,
        json!([
            {"IssuerURL": BASE, "ClientID": "sigstore", "Type": "email"},
            {"IssuerURL": GITHUB, "ClientID": "sigstore", "Type": "github-workflow"},
        ])
    );
}

#[tokio::test]
async fn minted_email_token_verifies_and_has_the_claims() {
    let h = Harness::new();
    let (status, resp) = h
        .mint(
            "/oidc/dev/token",
            json!({"email": "alice@example.com", "audience": "sigstore", "lifetime_seconds": 600}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["token_type"], "Bearer");
    assert_eq!(resp["expires_in"], 600);
    let claims = h.verify(resp["id_token"].as_str().unwrap(), "/oidc").await;
    assert_eq!(claims["iss"], BASE);
    assert_eq!(claims["sub"], "alice@example.com");
    assert_eq!(claims["aud"], "sigstore");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["iat"], START);
    assert_eq!(claims["nbf"], START);
    assert_eq!(claims["exp"], START + 600);
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    assert!(claims.get("nonce").is_none());
    assert!(claims["signet_development_only"].is_string());
    h.verify(resp["access_token"].as_str().unwrap(), "/oidc").await;
}

#[tokio::test]
async fn minted_github_token_has_the_github_actions_shape() {
    let h = Harness::new();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let (status, resp) = h
        .mint(
            "/oidc/github/dev/token",
            json!({
                "repository": "owner/repo",
                "ref": "refs/heads/main",
                "workflow": ".github/workflows/release.yml",
                "sha": sha,
                "event_name": "push",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let c = h.verify(resp["id_token"].as_str().unwrap(), "/oidc/github").await;
    assert_eq!(c["iss"], GITHUB);
    assert_eq!(c["aud"], "sigstore");
    assert_eq!(c["sub"], "repo:owner/repo:ref:refs/heads/main");
    assert_eq!(c["repository"], "owner/repo");
    assert_eq!(c["repository_owner"], "owner");
    assert_eq!(
        c["workflow_ref"],
        "owner/repo/.github/workflows/release.yml@refs/heads/main"
    );
    assert_eq!(c["job_workflow_ref"], c["workflow_ref"]);
    assert_eq!(c["workflow"], ".github/workflows/release.yml");
    for field in ["sha", "workflow_sha", "job_workflow_sha"] {
        assert_eq!(c[field], sha, "{field}");
    }
    assert_eq!(c["event_name"], "push");
    assert_eq!(c["ref_type"], "branch");
    assert_eq!(c["runner_environment"], "github-hosted");
    assert_eq!(c["repository_visibility"], "public");
    assert_eq!(c["actor"], "owner");
    for field in [
        "repository_id",
        "repository_owner_id",
        "run_id",
        "run_number",
        "run_attempt",
        "actor_id",
    ] {
        let v = c[field].as_str().unwrap_or_else(|| panic!("{field} is a string"));
        assert!(
            !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
            "{field}: {v}"
        );
    }
    assert!(c.get("environment").is_none());
    assert!(c.get("email").is_none());

    // With an environment, the subject names it, as GitHub's does.
    let (_, resp) = h
        .mint(
            "/oidc/github/dev/token",
            json!({"repository": "owner/repo", "environment": "release"}),
        )
        .await;
    let c = h.verify(resp["id_token"].as_str().unwrap(), "/oidc/github").await;
    assert_eq!(c["sub"], "repo:owner/repo:environment:release");
    assert_eq!(c["environment"], "release");
}

#[tokio::test]
async fn actions_token_endpoint_answers_like_github() {
    let h = Harness::new();
    let uri = "/oidc/github/dev/actions-token?api-version=2.0&repository=octo/app&audience=sigstore";
    let (status, _, body) = h.get(uri).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let err: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["code"], 401);

    let req = Request::get(uri)
        .header(header::AUTHORIZATION, "Bearer anything")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = h.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let value: Value = serde_json::from_slice(&body).unwrap();
    let c = h.verify(value["value"].as_str().unwrap(), "/oidc/github").await;
    assert_eq!(c["aud"], "sigstore");
    assert_eq!(c["sub"], "repo:octo/app:ref:refs/heads/main");
}

#[tokio::test]
async fn bad_mint_inputs_are_400_json() {
    let h = Harness::new();
    let cases = [
        ("/oidc/dev/token", json!({"email": "not-an-email"}), "email"),
        (
            "/oidc/dev/token",
            json!({"email": "a@example.com", "lifetime_seconds": 0}),
            "lifetime_seconds",
        ),
        (
            "/oidc/dev/token",
            json!({"email": "a@example.com", "lifetime_seconds": 3601}),
            "lifetime_seconds",
        ),
        (
            "/oidc/dev/token",
            json!({"email": "a@example.com", "audience": ""}),
            "audience",
        ),
        (
            "/oidc/dev/token",
            json!({"email": "a@example.com", "audience": "x".repeat(300)}),
            "audience",
        ),
        (
            "/oidc/dev/token",
            json!({"email": "a@example.com", "surprise": 1}),
            "unknown field",
        ),
        ("/oidc/dev/token", json!({}), "email"),
        (
            "/oidc/github/dev/token",
            json!({"repository": "no-owner"}),
            "repository",
        ),
        ("/oidc/github/dev/token", json!({"sha": "123"}), "sha"),
        ("/oidc/github/dev/token", json!({"ref": "main"}), "ref"),
        (
            "/oidc/github/dev/token",
            json!({"workflow": "release.yml"}),
            "workflow",
        ),
    ];
    for (path, request, mentions) in cases {
        let (status, err) = h.mint(path, request.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}");
        assert_eq!(err["code"], 400);
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{request}: {message}");
    }
    let (status, err) = h.post("/oidc/dev/token", "application/json", "{".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], 400);
    let (status, _) = h
        .post("/oidc/dev/token", "application/json", " ".repeat(32 * 1024))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn pkce_flow_issues_an_id_token_with_the_nonce() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    assert!(
        B64URL.decode(&code).unwrap().len() >= 16,
        "code has at least 128 bits"
    );
    let (status, resp) = h.redeem("/oidc", &borrow(&token_form(&code))).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["token_type"], "Bearer");
    let c = h.verify(resp["id_token"].as_str().unwrap(), "/oidc").await;
    assert_eq!(c["iss"], BASE);
    assert_eq!(c["aud"], "sigstore");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["nonce"], "nonce-456");
}

#[tokio::test]
async fn pkce_flow_with_http_basic_client_as_sigstore_python_sends_it() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    let mut form = token_form(&code);
    form.retain(|(k, _)| *k != "client_id");
    let req = Request::post("/oidc/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::AUTHORIZATION,
            format!("Basic {}", B64.encode("sigstore:")),
        )
        .body(Body::from(serde_urlencoded::to_string(borrow(&form)).unwrap()))
        .unwrap();
    let (status, headers, body) = h.send(req).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn pkce_flow_on_the_github_issuer() {
    let h = Harness::new();
    let location = h
        .login(
            "/oidc/github",
            &borrow(&authorize_query(&challenge())),
            &[
                ("repository", "octo/app"),
                ("ref", "refs/tags/v1"),
                ("workflow", ""),
            ],
        )
        .await;
    let code = location_params(&location)["code"].as_str().unwrap().to_string();
    // A code from one issuer is not good at the other.
    let (status, err) = h.redeem("/oidc", &borrow(&token_form(&code))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let location = h
        .login(
            "/oidc/github",
            &borrow(&authorize_query(&challenge())),
            &[("repository", "octo/app"), ("ref", "refs/tags/v1")],
        )
        .await;
    let code = location_params(&location)["code"].as_str().unwrap().to_string();
    let (status, resp) = h.redeem("/oidc/github", &borrow(&token_form(&code))).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let c = h.verify(resp["id_token"].as_str().unwrap(), "/oidc/github").await;
    assert_eq!(c["sub"], "repo:octo/app:ref:refs/tags/v1");
    assert_eq!(c["ref_type"], "tag");
    assert_eq!(c["nonce"], "nonce-456");
}

#[tokio::test]
async fn out_of_band_redirect_shows_the_code() {
    let h = Harness::new();
    let mut query = authorize_query(&challenge());
    query[2].1 = "urn:ietf:wg:oauth:2.0:oob".into();
    query.push(("email", "bob@example.com".into()));
    let req = Request::post("/oidc/authorize")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(borrow(&query)).unwrap()))
        .unwrap();
    let (status, _, body) = h.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body.to_vec()).unwrap();
    let code = page
        .split("<code id=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap();
    let mut form = token_form(code);
    form[2].1 = "urn:ietf:wg:oauth:2.0:oob".into();
    let (status, resp) = h.redeem("/oidc", &borrow(&form)).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
}

async fn expect_grant_error(h: &Harness, form: &[(&'static str, String)], error: &str) {
    let (status, resp) = h.redeem("/oidc", &borrow(form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    assert_eq!(resp["error"], error, "{resp}");
    assert!(resp["error_description"].is_string());
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    let mut form = token_form(&code);
    form[4].1 = "another-verifier-of-at-least-forty-three-characters-0000".into();
    expect_grant_error(&h, &form, "invalid_grant").await;
    // The failed attempt used the code up.
    expect_grant_error(&h, &token_form(&code), "invalid_grant").await;
}

#[tokio::test]
async fn reused_code_is_invalid_grant() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    let (status, _) = h.redeem("/oidc", &borrow(&token_form(&code))).await;
    assert_eq!(status, StatusCode::OK);
    expect_grant_error(&h, &token_form(&code), "invalid_grant").await;
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    h.clock.fetch_add(CODE_LIFETIME_SECS, Ordering::SeqCst);
    expect_grant_error(&h, &token_form(&code), "invalid_grant").await;
}

#[tokio::test]
async fn mismatched_redirect_uri_or_client_is_invalid_grant() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    let mut form = token_form(&code);
    form[2].1 = "http://127.0.0.1:9999/auth/callback".into();
    expect_grant_error(&h, &form, "invalid_grant").await;

    let code = code_for_alice(&h).await;
    let mut form = token_form(&code);
    form[3].1 = "other-client".into();
    expect_grant_error(&h, &form, "invalid_grant").await;
}

#[tokio::test]
async fn malformed_token_requests() {
    let h = Harness::new();
    let code = code_for_alice(&h).await;
    let mut form = token_form(&code);
    form[0].1 = "password".into();
    expect_grant_error(&h, &form, "unsupported_grant_type").await;
    let mut form = token_form(&code);
    form.retain(|(k, _)| *k != "code_verifier");
    expect_grant_error(&h, &form, "invalid_request").await;
    let mut form = token_form(&code);
    form.retain(|(k, _)| *k != "client_id");
    expect_grant_error(&h, &form, "invalid_client").await;
    // A repeated parameter is refused (RFC 6749 §3.1).
    let mut form = token_form(&code);
    form.push(("code", "again".into()));
    expect_grant_error(&h, &form, "invalid_request").await;
    // None of these consumed the code.
    let (status, _) = h.redeem("/oidc", &borrow(&token_form(&code))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn non_loopback_redirect_uri_is_refused_without_redirecting() {
    let h = Harness::new();
    let mut query = authorize_query(&challenge());
    query[2].1 = "https://attacker.example/cb".into();
    let q = serde_urlencoded::to_string(borrow(&query)).unwrap();
    let (status, headers, body) = h.get(&format!("/oidc/authorize?{q}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers.get(header::LOCATION).is_none());
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert!(page.contains("invalid_request"));
    assert!(page.contains("not a loopback") || page.contains("loopback"));
}

#[tokio::test]
async fn plain_code_challenge_method_is_redirected_as_invalid_request() {
    let h = Harness::new();
    let mut query = authorize_query(VERIFIER);
    query[7].1 = "plain".into();
    let q = serde_urlencoded::to_string(borrow(&query)).unwrap();
    let (status, headers, _) = h.get(&format!("/oidc/authorize?{q}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap();
    assert!(location.starts_with(REDIRECT));
    let params = location_params(location);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "state-123");
    assert!(params.get("code").is_none());
}

#[tokio::test]
async fn login_form_errors_and_escaping() {
    let h = Harness::new();
    let mut query = authorize_query(&challenge());
    query[4].1 = "\"><script>alert(1)</script>".into();
    query.push(("email", "<img src=x>".into()));
    let req = Request::post("/oidc/authorize")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(borrow(&query)).unwrap()))
        .unwrap();
    let (status, headers, body) = h.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let page = String::from_utf8(body.to_vec()).unwrap();
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;script&gt;"));
}

#[test]
fn key_survives_restart_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("oidc");
    let first = DevProvider::open_or_create(&keys, BASE).unwrap();
    let second = DevProvider::open_or_create(&keys, BASE).unwrap();
    assert_eq!(first.kid(), second.kid());
    assert_eq!(first.public_key(), second.public_key());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys), 0o700);
        let pem = std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pem"))
            .unwrap();
        assert_eq!(mode(&pem), 0o600);
    }
}

#[test]
fn half_written_key_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("oidc");
    DevProvider::open_or_create(&keys, BASE).unwrap();
    std::fs::remove_file(keys.join("jwks.json")).unwrap();
    let err = DevProvider::open_or_create(&keys, BASE).unwrap_err();
    assert!(
        matches!(
            err,
            DevOidcError::Files(signet_keyfile::KeyFileError::HalfWritten { .. })
        ),
        "{err}"
    );

    // A JWKS from another key is refused too.
    let other = tempfile::tempdir().unwrap();
    DevProvider::open_or_create(other.path(), BASE).unwrap();
    std::fs::copy(other.path().join("jwks.json"), keys.join("jwks.json")).unwrap();
    let err = DevProvider::open_or_create(&keys, BASE).unwrap_err();
    assert!(matches!(err, DevOidcError::BadFile { .. }), "{err}");
}

#[test]
fn issuer_url_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["127.0.0.1:3000/oidc", "http://", "http://x/oidc?a=b", "ftp://x"] {
        let err = DevProvider::open_or_create(dir.path(), bad).unwrap_err();
        assert!(matches!(err, DevOidcError::BadIssuerUrl { .. }), "{bad}: {err}");
    }
}

/// `POST {issuer}/device/code` with `form`.
async fn device_code(h: &Harness, issuer_path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    h.post(
        &format!("{issuer_path}/device/code"),
        "application/x-www-form-urlencoded",
        serde_urlencoded::to_string(form).unwrap(),
    )
    .await
}

/// The verification page's form posted as a user would: the code, the identity, a button.
async fn decide(h: &Harness, issuer_path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let req = Request::post(format!("{issuer_path}/device"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap();
    let (status, _, body) = h.send(req).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// One poll of the token endpoint with `device_code` (and the test's PKCE verifier).
async fn poll(h: &Harness, issuer_path: &str, device_code: &str) -> (StatusCode, Value) {
    h.redeem(
        issuer_path,
        &[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", device_code),
            ("client_id", "sigstore"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

fn device_form(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "sigstore".into()),
        ("scope", "openid email".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

#[tokio::test]
async fn device_flow_pending_slow_down_approved_token_once() {
    let h = Harness::new();
    let (status, started) = device_code(&h, "/oidc", &borrow(&device_form(&challenge()))).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let device = started["device_code"].as_str().unwrap().to_string();
    let user_code = started["user_code"].as_str().unwrap().to_string();
    assert_eq!(B64URL.decode(&device).unwrap().len(), 32);
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code
        .bytes()
        .all(|b| b == b'-' || b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)));
    assert_eq!(started["verification_uri"], format!("{BASE}/device"));
    assert_eq!(
        started["verification_uri_complete"],
        format!("{BASE}/device?user_code={user_code}")
    );
    assert_eq!(started["expires_in"], DEVICE_CODE_LIFETIME_SECS);
    assert_eq!(started["interval"], DEFAULT_DEVICE_POLL_INTERVAL_SECS);

    let (status, answer) = poll(&h, "/oidc", &device).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("authorization_pending"))
    );
    let (status, answer) = poll(&h, "/oidc", &device).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("slow_down"))
    );

    // The verification page, opened from verification_uri_complete, has the code filled in.
    let (status, _, page) = h.get(&format!("/oidc/device?user_code={user_code}")).await;
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("value=\"{user_code}\"")), "{page}");
    assert!(page.contains("development only, never use in production"));

    // A wrong code and a missing identity are shown on the page again.
    let (status, page) = decide(
        &h,
        "/oidc",
        &[
            ("user_code", "BBBB-BBBB"),
            ("email", "alice@example.com"),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("unknown"), "{page}");
    let (status, page) = decide(&h, "/oidc", &[("user_code", &user_code), ("action", "approve")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("enter an email address"), "{page}");

    // Typed in lower case without the dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, page) = decide(
        &h,
        "/oidc",
        &[
            ("user_code", &typed),
            ("email", "alice@example.com"),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Device approved"), "{page}");

    h.clock.fetch_add(60, Ordering::SeqCst);
    let (status, answer) = poll(&h, "/oidc", &device).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let claims = h.verify(answer["id_token"].as_str().unwrap(), "/oidc").await;
    assert_eq!(claims["iss"], BASE);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["aud"], "sigstore");
    assert!(claims.get("nonce").is_none());

    // Single use.
    h.clock.fetch_add(60, Ordering::SeqCst);
    let (status, answer) = poll(&h, "/oidc", &device).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
}

#[tokio::test]
async fn device_flow_denied_and_expired() {
    let h = Harness::new();
    let (_, started) = device_code(&h, "/oidc/github", &borrow(&device_form(&challenge()))).await;
    let device = started["device_code"].as_str().unwrap().to_string();
    let user_code = started["user_code"].as_str().unwrap().to_string();
    assert_eq!(started["verification_uri"], format!("{GITHUB}/device"));
    let (status, page) = decide(
        &h,
        "/oidc/github",
        &[("user_code", &user_code), ("action", "deny")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Device denied"), "{page}");
    let (status, answer) = poll(&h, "/oidc/github", &device).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("access_denied"))
    );
    assert!(answer["error_description"].is_string());

    let (_, started) = device_code(&h, "/oidc", &borrow(&device_form(&challenge()))).await;
    let device = started["device_code"].as_str().unwrap().to_string();
    h.clock.fetch_add(DEVICE_CODE_LIFETIME_SECS, Ordering::SeqCst);
    let (status, answer) = poll(&h, "/oidc", &device).await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("expired_token"))
    );
}

#[tokio::test]
async fn device_flow_on_the_github_issuer_has_the_workflow_claims() {
    let h = Harness::new();
    let (_, started) = device_code(
        &h,
        "/oidc/github",
        &[("client_id", "sigstore"), ("scope", "openid")],
    )
    .await;
    let device = started["device_code"].as_str().unwrap().to_string();
    let user_code = started["user_code"].as_str().unwrap().to_string();
    let (status, page) = decide(
        &h,
        "/oidc/github",
        &[
            ("user_code", &user_code),
            ("repository", "acme/tool"),
            ("ref", "refs/tags/v1"),
            ("workflow", ".github/workflows/ci.yml"),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, answer) = h
        .redeem(
            "/oidc/github",
            &[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", &device),
                ("client_id", "sigstore"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let claims = h
        .verify(answer["id_token"].as_str().unwrap(), "/oidc/github")
        .await;
    assert_eq!(claims["repository"], "acme/tool");
    assert_eq!(claims["ref"], "refs/tags/v1");
}

#[tokio::test]
async fn device_authorization_errors_are_oauth_json() {
    let h = Harness::new();
    for (form, error) in [
        (vec![("scope", "openid")], "invalid_client"),
        (
            vec![("client_id", "sigstore"), ("scope", "email")],
            "invalid_scope",
        ),
        (
            vec![
                ("client_id", "sigstore"),
                ("scope", "openid"),
                ("code_challenge", "x"),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("client_id", "sigstore"),
                ("client_id", "again"),
                ("scope", "openid"),
            ],
            "invalid_request",
        ),
    ] {
        let (status, answer) = device_code(&h, "/oidc", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {answer}");
        assert_eq!(answer["error"], error, "{form:?}: {answer}");
        assert!(answer["error_description"].is_string());
    }
    let (status, answer) = poll(&h, "/oidc", "no-such-device-code").await;
    assert_eq!(
        (status, &answer["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
}
