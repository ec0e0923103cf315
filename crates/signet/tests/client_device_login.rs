//! `signet sign-blob`'s device login (RFC 8628) against a real `signet server --dev-oidc`
//! that asks for polls every second, with the test as the user on another device: the client
//! prints one instruction (the verification URL and the user code) and polls; the test opens
//! the URL, approves the code on the provider's page as the identity it types, and the client
//! signs; the bundle verifies for that identity. A denied code ends the login with one error
//! line and no bundle.
//!
//! The client runs with a clean environment (no token variables, no display, nothing on
//! `PATH`), so nothing but the device flow can sign it in.

mod common;
mod login;

use std::time::Duration;

use login::{assert_one_error_line, browser, page, parse_form, s, text, Login, Stack};

/// The identity the test approves the device as.
const EMAIL: &str = "device@example.com";

fn start() -> Stack {
    Stack::start(&["--dev-oidc-device-interval", "1"], &[])
}

/// The client's one instruction: the verification URL and the user code in it.
fn instruction(stack: &Stack, login: &mut Login) -> (url::Url, String) {
    let line = login.line_containing("To sign in");
    let word_after = |w: &str| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let i = words
            .iter()
            .position(|x| *x == w)
            .unwrap_or_else(|| panic!("{line}"));
        words
            .get(i + 1)
            .map(|x| x.to_string())
            .unwrap_or_else(|| panic!("{line}"))
    };
    let url = url::Url::parse(&word_after("open")).unwrap_or_else(|e| panic!("{e}: {line}"));
    let code = word_after("code");
    assert!(
        url.as_str()
            .starts_with(&format!("{}/device?user_code=", stack.issuer())),
        "{line}"
    );
    assert_eq!(
        login::query(&url, "user_code").as_deref(),
        Some(code.as_str()),
        "{line}"
    );
    (url, code)
}

/// Opens the verification page as the user's browser and presses `button` (approve or deny)
/// with `email` typed in; the page's answer.
fn decide(url: &url::Url, code: &str, email: &str, button: &str) -> String {
    let reply = common::reply(browser().get(url.as_str()).call());
    let html = page(&reply);
    assert_eq!(reply.status, 200, "{html}");
    let form = parse_form(&html);
    // verification_uri_complete filled the code in.
    assert!(
        form.fields.iter().any(|(k, v)| k == "user_code" && v == code),
        "{html}"
    );
    let reply = form.with("email", email).with("action", button).submit(url);
    assert_eq!(reply.status, 200, "{}", page(&reply));
    page(&reply)
}

#[test]
fn sign_blob_signs_after_a_device_login() {
    let stack = start();
    let artifact = stack.file("a.txt", b"signed after a device login\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &["--oidc-flow", "device"]);
    let (url, code) = instruction(&stack, &mut login);
    let done = decide(&url, &code, EMAIL, "approve");
    assert!(done.contains("Device approved"), "{done}");

    let (status, stderr) = login.finish(Duration::from_secs(120));
    assert!(
        status.success(),
        "sign-blob after the device login: {status}\n{stderr}"
    );
    assert_eq!(stderr.matches("To sign in").count(), 1, "{stderr}");
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

/// With no display, `auto` (the default) picks the device flow; a denied code fails.
#[test]
fn sign_blob_fails_in_one_line_when_the_device_is_denied() {
    let stack = start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &[]);
    let (url, code) = instruction(&stack, &mut login);
    let done = decide(&url, &code, "", "deny");
    assert!(done.contains("Device denied"), "{done}");

    let (status, stderr) = login.finish(Duration::from_secs(120));
    assert_one_error_line(status, &stderr, "device login was denied");
    assert!(!bundle.exists(), "a bundle was written:\n{stderr}");
}

/// `--oidc-flow` takes auto, browser or device, and nothing else (a usage error).
#[test]
fn oidc_flow_values() {
    let stack = start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");
    let out = stack.run(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&bundle),
        "--oidc-flow",
        "carrier-pigeon",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = stack.run(&["sign-blob", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--oidc-flow <FLOW>"), "{help}");
    assert!(help.contains("SIGNET_OIDC_FLOW"), "{help}");
}
