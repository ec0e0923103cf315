//! Key retrieval against a real HTTP issuer on 127.0.0.1: discovery, JWK Set, caching,
//! refetch on an unknown kid, rate limiting, single flight, body cap, timeout.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use common::*;
use serde_json::{json, Value};
use signet_oidc::{
    HttpKeySource, HttpKeySourceOptions, IssuerConfig, IssuerSet, IssuerType, KeySourceError, TokenError,
    TokenVerifier,
};

#[derive(Default)]
struct Issuer {
    base: Mutex<String>,
    /// What the discovery document says the issuer is (defaults to the real one).
    claimed_issuer: Mutex<Option<String>>,
    jwks: Mutex<Value>,
    /// Raw JWK Set body instead of `jwks` when set.
    raw_jwks: Mutex<Option<String>>,
    jwks_delay_ms: AtomicU64,
    discovery_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
}

async fn discovery(State(s): State<Arc<Issuer>>) -> Json<Value> {
    s.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let base = s.base.lock().unwrap().clone();
    let issuer = s
        .claimed_issuer
        .lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| base.clone());
    Json(json!({"issuer": issuer, "jwks_uri": format!("{base}/keys"),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"]}))
}

async fn jwks_handler(State(s): State<Arc<Issuer>>) -> String {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let delay = s.jwks_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(raw) = s.raw_jwks.lock().unwrap().clone() {
        return raw;
    }
    s.jwks.lock().unwrap().to_string()
}

/// Starts an issuer at http://127.0.0.1:PORT/oidc publishing `jwks`.
async fn start_issuer(jwks: Value) -> (Arc<Issuer>, String) {
    let state = Arc::new(Issuer::default());
    *state.jwks.lock().unwrap() = jwks;
    let app = Router::new()
        .route("/oidc/.well-known/openid-configuration", get(discovery))
        .route("/oidc/keys", get(jwks_handler))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}/oidc");
    *state.base.lock().unwrap() = base.clone();
    (state, base)
}

fn verifier_for(base: &str, options: HttpKeySourceOptions) -> TokenVerifier<Arc<HttpKeySource>> {
    let issuers = IssuerSet::new()
        .with_issuer(IssuerConfig::new(base, IssuerType::Email))
        .unwrap();
    TokenVerifier::new(issuers, Arc::new(HttpKeySource::new(options).unwrap()))
}

fn claims(iss: &str) -> Value {
    merge(
        base_claims(iss, "user-1"),
        json!({"email": "alice@example.com", "email_verified": true}),
    )
}

#[tokio::test]
async fn discovery_then_cached_keys() {
    let (issuer, base) = start_issuer(jwks()).await;
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let k = keys();
    for (key, kid) in [(&k.rsa, "rsa"), (&k.es256, "es256"), (&k.ed25519, "ed25519")] {
        let t = v.verify(&token(key, kid, &claims(&base)), NOW).await.unwrap();
        assert_eq!(t.issuer, base);
    }
    assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 1);
    assert_eq!(v.key_source().fetch_count(), 1);
}

#[tokio::test]
async fn rotated_key_is_found_by_one_refetch() {
    let k = keys();
    let (issuer, base) = start_issuer(json!({"keys": [k.es256.jwk("old")]})).await;
    let v = verifier_for(
        &base,
        HttpKeySourceOptions::default().with_min_refresh_interval(Duration::ZERO),
    );
    v.verify(&token(&k.es256, "old", &claims(&base)), NOW)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 1);

    // The issuer rotates; a token under the new kid triggers exactly one refetch.
    *issuer.jwks.lock().unwrap() = json!({"keys": [k.rsa.jwk("new")]});
    v.verify(&token(&k.rsa, "new", &claims(&base)), NOW)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 2);
    // Now cached: no more fetches.
    v.verify(&token(&k.rsa, "new", &claims(&base)), NOW)
        .await
        .unwrap();
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 2);

    // A bogus kid costs one refetch and is then refused.
    let err = v
        .verify(&token(&k.rsa, "bogus", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::UnknownKey { .. }), "{err}");
    assert_eq!(err.http_status(), 401);
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn bogus_kids_are_rate_limited() {
    let k = keys();
    let (issuer, base) = start_issuer(jwks()).await;
    let v = Arc::new(verifier_for(
        &base,
        HttpKeySourceOptions::default().with_min_refresh_interval(Duration::from_secs(3600)),
    ));
    v.verify(&token(&k.es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let v = v.clone();
        let t = token(&k.es256, &format!("bogus-{i}"), &claims(&base));
        tasks.push(tokio::spawn(async move { v.verify(&t, NOW).await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(TokenError::UnknownKey { .. })));
    }
    // The flood did not reach the issuer: the keys were fetched moments ago.
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.discovery_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn concurrent_misses_share_one_fetch() {
    let k = keys();
    let (issuer, base) = start_issuer(jwks()).await;
    let v = Arc::new(verifier_for(
        &base,
        HttpKeySourceOptions::default().with_min_refresh_interval(Duration::ZERO),
    ));
    v.verify(&token(&k.es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap();
    issuer.jwks_delay_ms.store(300, Ordering::SeqCst);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let v = v.clone();
        let t = token(&k.es256, &format!("bogus-{i}"), &claims(&base));
        tasks.push(tokio::spawn(async move { v.verify(&t, NOW).await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Err(TokenError::UnknownKey { .. })));
    }
    assert_eq!(
        issuer.jwks_hits.load(Ordering::SeqCst),
        2,
        "initial fetch plus one shared refetch"
    );
}

#[tokio::test]
async fn oversized_key_set_is_refused() {
    let (issuer, base) = start_issuer(jwks()).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    *issuer.raw_jwks.lock().unwrap() = Some(format!(r#"{{"keys": [], "padding": "{padding}"}}"#));
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    match &err {
        TokenError::KeysUnavailable {
            source: KeySourceError::BodyTooLarge { max, .. },
            ..
        } => {
            assert_eq!(*max, 1024 * 1024)
        }
        other => panic!("{other}"),
    }
    assert_eq!(err.http_status(), 502);

    // A failed fetch is not retried at once: the next token gets a 503 without a request.
    let hits = issuer.jwks_hits.load(Ordering::SeqCst);
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::KeysUnavailable {
                source: KeySourceError::RecentlyFailed { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.http_status(), 503);
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), hits);
}

#[tokio::test]
async fn discovery_must_name_the_issuer() {
    let (issuer, base) = start_issuer(jwks()).await;
    *issuer.claimed_issuer.lock().unwrap() = Some("https://accounts.google.com".into());
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::KeysUnavailable {
                source: KeySourceError::IssuerMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(issuer.jwks_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn slow_issuer_times_out() {
    let (issuer, base) = start_issuer(jwks()).await;
    issuer.jwks_delay_ms.store(5_000, Ordering::SeqCst);
    let v = verifier_for(
        &base,
        HttpKeySourceOptions::default().with_timeout(Duration::from_millis(200)),
    );
    let started = std::time::Instant::now();
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::KeysUnavailable {
                source: KeySourceError::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.http_status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn plain_http_is_refused_for_non_loopback_hosts() {
    // The configuration refuses it, and so does the fetcher if a discovery document points
    // there (checked directly: no request leaves the machine).
    assert!(IssuerSet::new()
        .with_issuer(IssuerConfig::new("http://issuer.example.com", IssuerType::Email))
        .is_err());
    // The discovery document names the right issuer but puts its keys on a plain-http host.
    let (issuer, base) = start_issuer(jwks()).await;
    *issuer.base.lock().unwrap() = "http://issuer.example.com/oidc".into();
    *issuer.claimed_issuer.lock().unwrap() = Some(base.clone());
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    match err {
        TokenError::KeysUnavailable {
            source: KeySourceError::InsecureUrl { url },
            ..
        } => {
            assert_eq!(url, "http://issuer.example.com/oidc/keys")
        }
        other => panic!("{other}"),
    }
}

/// A hand-written HTTP/1.1 server: discovery with a Content-Length, the JWK Set chunked and
/// endless-looking (no Content-Length), so only the streaming cap can stop it.
async fn start_chunked_issuer(chunks: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/oidc", listener.local_addr().unwrap());
    let issuer = base.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let issuer = issuer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                if request.contains("openid-configuration") {
                    let body = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(format!("{head}{body}").as_bytes()).await;
                } else {
                    let _ = conn
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
                        .await;
                    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                    for _ in 0..chunks {
                        if conn.write_all(chunk.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    let _ = conn.write_all(b"0\r\n\r\n").await;
                }
            });
        }
    });
    base
}

#[tokio::test]
async fn streamed_oversized_key_set_is_cut_off() {
    // 32 chunks of 64 KiB: 2 MiB of whitespace with no Content-Length.
    let base = start_chunked_issuer(32).await;
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::KeysUnavailable {
                source: KeySourceError::BodyTooLarge { .. },
                ..
            }
        ),
        "{err}"
    );
    // The same stream under the cap parses (as an invalid JWK Set: it is only whitespace).
    let base = start_chunked_issuer(2).await;
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::KeysUnavailable {
                source: KeySourceError::InvalidDocument { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn https_issuer_goes_through_tls() {
    // A TCP listener that is not a TLS server: the handshake fails, so the https path is the
    // one taken (and a failed handshake is an unreachable issuer, 503).
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
        }
    });
    let base = format!("https://127.0.0.1:{port}");
    let v = verifier_for(&base, HttpKeySourceOptions::default());
    let err = v
        .verify(&token(&keys().es256, "es256", &claims(&base)), NOW)
        .await
        .unwrap_err();
    match &err {
        TokenError::KeysUnavailable {
            source: KeySourceError::Transport { url, .. },
            ..
        } => {
            assert!(url.starts_with("https://127.0.0.1"), "{url}")
        }
        other => panic!("{other}"),
    }
    assert_eq!(err.http_status(), 503);
}
