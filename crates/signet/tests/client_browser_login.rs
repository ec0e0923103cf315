//! `signet sign-blob`'s interactive login against a real `signet server --dev-oidc`, with the
//! test as the browser: the client discovers the signing config's OpenID provider, prints the
//! authorization URL (code flow, PKCE S256, loopback redirect), and the test opens it with a
//! plain HTTP client, submits the login form, and takes the provider's 303 to the client's
//! loopback listener, as a browser would. The client then redeems the code, signs, and the
//! bundle verifies for the identity typed into the form.
//!
//! Also: a redirect with another login's `state` is refused (one-line error, no bundle), and a
//! login nobody finishes gives up after `--oidc-login-timeout`.
//!
//! The client runs with a clean environment: no token variables, no display, and a `PATH`
//! with nothing on it, so no real browser opens; `SIGNET_OIDC_FLOW=browser` chooses this flow
//! (with no display, `auto` would choose the device flow, `client_device_login.rs`).

mod common;
mod login;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use login::{assert_one_error_line, browser, page, parse_form, query, s, text, Login, Stack};

/// The identity the test types into the login form.
const EMAIL: &str = "browser@example.com";

/// A stack whose clients log in with the browser flow: with no display here, `auto` would
/// pick the device flow, which the provider offers.
fn start() -> Stack {
    Stack::start(&[], &[("SIGNET_OIDC_FLOW", "browser")])
}

/// The authorization URL the client printed.
fn authorization_url(login: &mut Login) -> url::Url {
    let line = login.line_containing("/authorize?");
    url::Url::parse(line.trim()).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// Checks the authorization request the client made, then signs in as `email` on the
/// provider's login page; returns where the provider sends the browser (its 303 `Location`).
fn sign_in(stack: &Stack, auth: &url::Url, email: &str) -> url::Url {
    assert!(
        auth.as_str()
            .starts_with(&format!("{}/authorize?", stack.issuer())),
        "{auth}"
    );
    let redirect_uri = query(auth, "redirect_uri").expect("redirect_uri");
    let redirect = url::Url::parse(&redirect_uri).unwrap();
    assert_eq!(
        (redirect.scheme(), redirect.host_str(), redirect.path()),
        ("http", Some("127.0.0.1"), "/auth/callback"),
        "{redirect_uri}"
    );
    for (name, want) in [
        ("response_type", Some("code")),
        ("client_id", Some("sigstore")),
        ("code_challenge_method", Some("S256")),
    ] {
        assert_eq!(query(auth, name).as_deref(), want, "{name} in {auth}");
    }
    for name in ["code_challenge", "state", "nonce"] {
        let value = query(auth, name).unwrap_or_default();
        // 32 random bytes, base64url (RFC 7636 §4.1, §4.2).
        assert_eq!(value.len(), 43, "{name} in {auth}");
    }
    assert!(query(auth, "scope")
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid"));

    let reply = common::reply(browser().get(auth.as_str()).call());
    let html = page(&reply);
    assert_eq!(reply.status, 200, "{html}");
    let reply = parse_form(&html).with("email", email).submit(auth);
    assert_eq!(reply.status, 303, "{}", page(&reply));
    let location = reply.header("location").expect("Location");
    let location = url::Url::parse(location).unwrap_or_else(|e| panic!("{e}: {location}"));
    assert!(
        location.as_str().starts_with(&format!("{redirect_uri}?")),
        "{location} is not under {redirect_uri}"
    );
    assert_eq!(query(&location, "state"), query(auth, "state"));
    location
}

#[test]
fn sign_blob_signs_after_a_browser_login() {
    let stack = start();
    let artifact = stack.file("a.txt", b"signed after a browser login\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &[]);
    let auth = authorization_url(&mut login);
    let callback = sign_in(&stack, &auth, EMAIL);

    // What else reaches a loopback port before the redirect does not end the login: a
    // connection that sends nothing, one that sends garbage, a favicon request.
    let listener = format!("127.0.0.1:{}", callback.port().expect("port"));
    drop(TcpStream::connect(&listener).unwrap());
    let mut garbage = TcpStream::connect(&listener).unwrap();
    garbage.write_all(b"GET :99999 HTTP/1.1\r\n\r\n").unwrap();
    let mut favicon = callback.clone();
    favicon.set_path("/favicon.ico");
    favicon.set_query(None);
    assert_eq!(common::reply(browser().get(favicon.as_str()).call()).status, 404);

    let reply = common::reply(browser().get(callback.as_str()).call());
    assert_eq!(reply.status, 200, "{}", page(&reply));
    assert!(page(&reply).contains("Signed in"), "{}", page(&reply));

    let (status, stderr) = login.finish(Duration::from_secs(120));
    assert!(status.success(), "sign-blob after the login: {status}\n{stderr}");
    assert!(stderr.contains(&format!("Signed in as {EMAIL}")), "{stderr}");
    assert!(bundle.exists(), "{stderr}");

    let issuer = stack.issuer();
    let out = stack.verify_blob(&artifact, &bundle, EMAIL, &issuer);
    assert!(out.status.success(), "verify-blob:\n{}", text(&out));
    let out = stack.verify_blob(&artifact, &bundle, "someone-else@example.com", &issuer);
    assert!(
        !out.status.success(),
        "another identity verified:\n{}",
        text(&out)
    );
}

#[test]
fn sign_blob_refuses_a_redirect_with_another_state() {
    let stack = start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &[]);
    let auth = authorization_url(&mut login);
    let mut callback = sign_in(&stack, &auth, EMAIL);
    // The provider's code, with a state this login did not send (CSRF, RFC 6749 §10.12).
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { "forged".into() } else { v };
            (k.into_owned(), v.into_owned())
        })
        .collect();
    callback.query_pairs_mut().clear().extend_pairs(&pairs);

    let reply = common::reply(browser().get(callback.as_str()).call());
    assert_eq!(reply.status, 400, "{}", page(&reply));
    assert!(page(&reply).contains("could not sign you in"), "{}", page(&reply));

    let (status, stderr) = login.finish(Duration::from_secs(60));
    assert_one_error_line(status, &stderr, "wrong state");
    assert!(!bundle.exists(), "a bundle was written:\n{stderr}");
}

#[test]
fn sign_blob_gives_up_on_an_unfinished_login() {
    let stack = start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");

    let started = Instant::now();
    let mut login = stack.sign_blob(&artifact, &bundle, &["--oidc-login-timeout", "2"]);
    authorization_url(&mut login);
    let (status, stderr) = login.finish(Duration::from_secs(60));
    assert!(started.elapsed() >= Duration::from_secs(2), "{stderr}");
    assert_eq!(status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("signet:") && last.contains("did not finish within 2 s"),
        "{stderr}"
    );
    assert!(!bundle.exists(), "a bundle was written:\n{stderr}");

    // The environment variable sets it too.
    let mut cmd = stack.command(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--trust-config",
        s(&stack.trust_config),
    ]);
    let out = cmd.env("SIGNET_OIDC_LOGIN_TIMEOUT", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not finish within 1 s"),
        "{}",
        text(&out)
    );

    // A zero timeout is a usage error.
    let out = stack.run(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--oidc-login-timeout",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
