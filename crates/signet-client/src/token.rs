//! The signer's OpenID Connect identity token: where it comes from (a flag, `$SIGSTORE_ID_TOKEN`,
//! GitHub Actions' ambient credentials, or an interactive login: in a browser with PKCE, or with
//! the device flow of [`device`] where no browser can be opened) and what it says. The token is decoded without checking its signature: the CA verifies it against the
//! issuer's keys; the client only needs the identity (for the proof of possession and to show
//! the user) and refuses a token that has already expired.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;

use super::http::Http;

pub mod device;

/// The OAuth client id Sigstore's public instance (and `signet server`) expect.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";
/// The audience GitHub Actions tokens are requested for.
const GITHUB_AUDIENCE: &str = "sigstore";
/// How long the browser login may take, in seconds, unless `--oidc-login-timeout` says.
pub const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 300;
/// The path of the loopback redirect URI.
const CALLBACK_PATH: &str = "/auth/callback";
/// How long one connection to the redirect listener may take to send its request head; a
/// silent connection (a browser's speculative pre-connect, a port scan) holds the listener
/// this long at most.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a request head the redirect listener reads.
const MAX_REQUEST_HEAD: u64 = 8192;

/// The claims signet reads. Unknown claims are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// The issuer (`iss`).
    pub iss: String,
    /// The subject (`sub`).
    #[serde(default)]
    pub sub: Option<String>,
    /// The email address (`email`), for issuers that state one.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the issuer verified the email address (`email_verified`).
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Expiry, seconds since the Unix epoch (`exp`).
    #[serde(default)]
    pub exp: Option<i64>,
    /// The nonce of an interactive login (`nonce`).
    #[serde(default)]
    pub nonce: Option<String>,
    /// The audiences (`aud`, a string or an array in the token).
    #[serde(default, deserialize_with = "audience")]
    pub aud: Vec<String>,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
fn audience<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Aud>::deserialize(d)? {
        None => Vec::new(),
        Some(Aud::One(a)) => vec![a],
        Some(Aud::Many(a)) => a,
    })
}

/// A JWT identity token and its (unverified) claims.
#[derive(Clone)]
pub struct IdentityToken {
    raw: String,
    /// The claims, decoded but not verified (the CA verifies the token).
    pub claims: Claims,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a bearer credential: never print it.
        f.debug_struct("IdentityToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Decodes a compact JWS's claims (no signature check: the CA does that).
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let raw = raw.trim();
        let parts: Vec<&str> = raw.split('.').collect();
        if parts.len() != 3 {
            bail!(
                "the identity token is not a JWT (expected 3 dot-separated parts, found {})",
                parts.len()
            );
        }
        // Tolerate padding, which some issuers leave in.
        let payload = URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .or_else(|_| URL_SAFE.decode(parts[1]))
            .map_err(|e| anyhow!("the identity token's claims are not base64url: {e}"))?;
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|e| anyhow!("the identity token's claims do not parse: {e}"))?;
        if claims.email.is_none() && claims.sub.is_none() {
            bail!("the identity token has neither an `email` nor a `sub` claim");
        }
        Ok(IdentityToken {
            raw: raw.to_string(),
            claims,
        })
    }

    /// The compact token, for the CA.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The identity the CA certifies and the proof of possession signs: `email` when the token
    /// has one, else `sub` (Fulcio's challenge rule).
    pub fn subject(&self) -> &str {
        self.claims
            .email
            .as_deref()
            .or(self.claims.sub.as_deref())
            .expect("parse requires email or sub")
    }

    /// Refuses a token whose `exp` is at or before `now` (Unix seconds).
    pub fn check_not_expired(&self, now: i64) -> anyhow::Result<()> {
        match self.claims.exp {
            Some(exp) if exp <= now => bail!(
                "the identity token for {} expired {} s ago (exp {exp}); get a fresh token",
                self.subject(),
                now - exp
            ),
            _ => Ok(()),
        }
    }
}

/// Which interactive login gets the token when none was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LoginFlow {
    /// The device flow when no browser can be opened here (no display, or an SSH session
    /// without one) and the provider offers it; the browser flow otherwise.
    #[default]
    Auto,
    /// A browser on this machine: authorization code with PKCE and a loopback redirect.
    Browser,
    /// The device flow (RFC 8628): approve a code shown here from a browser on any device.
    Device,
}

/// Where to get a token when none was given on the command line.
pub struct TokenOptions<'a> {
    /// `--identity-token` or `$SIGSTORE_ID_TOKEN` (clap reads both).
    pub token: Option<&'a str>,
    /// The OpenID issuer for an interactive login (`--oidc-issuer`, else the signing config's).
    pub issuer: Option<&'a str>,
    /// The OAuth client id for an interactive login.
    pub client_id: &'a str,
    /// The OAuth client secret, for providers that want one.
    pub client_secret: Option<&'a str>,
    /// How long the interactive login may take before signet gives up.
    pub login_timeout: Duration,
    /// Which interactive login to use.
    pub flow: LoginFlow,
    /// Also write the login's instructions to the terminal (`/dev/tty`): for a program whose
    /// stderr its caller keeps (git captures its signing program's stderr).
    pub prompt_on_tty: bool,
}

/// Finds the identity token: the flag or environment, then GitHub Actions' ambient token,
/// then an interactive browser login. Refuses an expired token.
pub fn obtain(options: &TokenOptions, http: &Http, now: i64) -> anyhow::Result<IdentityToken> {
    let token = if let Some(raw) = options.token {
        IdentityToken::parse(raw)?
    } else if let Some(raw) = github_actions_token(http)? {
        IdentityToken::parse(&raw).context("GitHub Actions' identity token")?
    } else {
        let issuer = options.issuer.ok_or_else(|| {
            anyhow!("no identity token: pass --identity-token, set $SIGSTORE_ID_TOKEN, or give --oidc-issuer for a browser login")
        })?;
        login(http, issuer, options)?
    };
    token.check_not_expired(now)?;
    Ok(token)
}

/// GitHub Actions' ambient OIDC token (when the workflow has `id-token: write`).
fn github_actions_token(http: &Http) -> anyhow::Result<Option<String>> {
    let (Ok(url), Ok(bearer)) = (
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_URL"),
        std::env::var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Ok(None);
    };
    let url = github_token_url(&url);
    let answer = http.get_json(&url, Some(&format!("bearer {bearer}")))?;
    let value = answer
        .get("value")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("{url} answered without a `value` token"))?;
    Ok(Some(value.to_string()))
}

/// The token request URL with `audience=sigstore` appended.
pub fn github_token_url(request_url: &str) -> String {
    let sep = if request_url.contains('?') { '&' } else { '?' };
    format!("{request_url}{sep}audience={GITHUB_AUDIENCE}")
}

/// RFC 7636 PKCE: a code verifier from 32 random bytes, and its S256 challenge.
pub mod pkce {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    /// The code verifier for `entropy` (43 characters for 32 bytes, RFC 7636 §4.1).
    pub fn verifier(entropy: &[u8; 32]) -> String {
        URL_SAFE_NO_PAD.encode(entropy)
    }

    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    pub fn challenge_s256(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(signet_crypto::sha256(verifier.as_bytes()))
    }
}

/// 32 random bytes, base64url.
fn random_token() -> anyhow::Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random32()?))
}

fn random32() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    crate::os_random(&mut bytes)?;
    Ok(bytes)
}

/// OpenID Connect discovery's endpoints signet uses.
struct Endpoints {
    authorization: String,
    token: String,
    /// RFC 8628 §4, for providers that offer the device flow.
    device_authorization: Option<String>,
}

fn discover(http: &Http, issuer: &str) -> anyhow::Result<Endpoints> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = http.get_json(&url, None)?;
    let field = |name: &str| {
        doc.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{url} has no {name}"))
    };
    Ok(Endpoints {
        authorization: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
        device_authorization: field("device_authorization_endpoint")
            .ok()
            .filter(|u| !u.is_empty()),
    })
}

/// The interactive login `options.flow` and this machine call for, against `issuer`.
fn login(http: &Http, issuer: &str, options: &TokenOptions) -> anyhow::Result<IdentityToken> {
    let endpoints = discover(http, issuer)?;
    let device_endpoint = choose_flow(
        options.flow,
        endpoints.device_authorization.as_deref(),
        can_open_browser(&|name| std::env::var_os(name).is_some_and(|v| !v.is_empty())),
    )
    .map_err(|why| anyhow!("{issuer}: {why}"))?;
    let token = match device_endpoint {
        Some(device_endpoint) => device::login(http, device_endpoint, &endpoints.token, options)?,
        None => browser_login(http, &endpoints, options)?,
    };
    prompt(
        options,
        &format!("Signed in as {} (issuer {})", token.subject(), token.claims.iss),
    );
    Ok(token)
}

/// Tells the user something about the login: on stderr, and on the terminal too when the
/// options ask for it.
pub(crate) fn prompt(options: &TokenOptions, message: &str) {
    eprintln!("{message}");
    if options.prompt_on_tty {
        use std::io::Write;
        if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            let _ = writeln!(tty, "{message}");
        }
    }
}

/// The device authorization endpoint when the login is to use the device flow, `None` for the
/// browser flow.
fn choose_flow(
    flow: LoginFlow,
    device_endpoint: Option<&str>,
    browser: bool,
) -> Result<Option<&str>, String> {
    match (flow, device_endpoint) {
        (LoginFlow::Browser, _) => Ok(None),
        (LoginFlow::Device, Some(endpoint)) => Ok(Some(endpoint)),
        (LoginFlow::Device, None) => Err(
            "the provider offers no device flow (its discovery document has no device_authorization_endpoint); use --oidc-flow browser".into(),
        ),
        (LoginFlow::Auto, Some(endpoint)) if !browser => Ok(Some(endpoint)),
        (LoginFlow::Auto, _) => Ok(None),
    }
}

/// Whether a browser can be opened for the user here, judged from the environment (`set`
/// says whether a variable is set and not empty): on Linux and the BSDs a browser needs a
/// display (X11 or Wayland); anywhere, an SSH session without a forwarded display has no
/// browser the user can see.
fn can_open_browser(set: &dyn Fn(&str) -> bool) -> bool {
    has_display(set) || !(BROWSER_NEEDS_DISPLAY || set("SSH_CONNECTION"))
}

/// Whether a browser here needs an X11 or Wayland display (Linux and the BSDs).
const BROWSER_NEEDS_DISPLAY: bool = cfg!(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
));

fn has_display(set: &dyn Fn(&str) -> bool) -> bool {
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}

/// The authorization code flow with PKCE and a loopback redirect (RFC 8252 §7.3).
fn browser_login(
    http: &Http,
    endpoints: &Endpoints,
    options: &TokenOptions,
) -> anyhow::Result<IdentityToken> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("opening a loopback port for the login redirect")?;
    let redirect_uri = format!(
        "http://127.0.0.1:{}{CALLBACK_PATH}",
        listener.local_addr()?.port()
    );
    let verifier = pkce::verifier(&random32()?);
    let state = random_token()?;
    let nonce = random_token()?;
    let mut auth_url = url::Url::parse(&endpoints.authorization)
        .with_context(|| format!("authorization endpoint {:?}", endpoints.authorization))?;
    auth_url
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", options.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("code_challenge", &pkce::challenge_s256(&verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce);
    let mut opener = open_browser(auth_url.as_str());
    if opener.is_some() {
        prompt(
            options,
            &format!("Opening your browser to sign in. If it does not open, visit:\n\n  {auth_url}\n"),
        );
    } else {
        prompt(
            options,
            &format!("To sign in, visit this address in a browser on this machine:\n\n  {auth_url}\n"),
        );
    }
    let code = wait_for_code(&listener, &state, options.login_timeout);
    // xdg-open usually exits at once; one still waiting on a browser it started is left to
    // finish on its own (it is reparented when signet exits).
    if let Some(child) = opener.as_mut() {
        let _ = child.try_wait();
    }
    let code = code?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", options.client_id),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(secret) = options.client_secret {
        form.push(("client_secret", secret));
    }
    let answer = http.post_form(&endpoints.token, &form)?;
    let raw = answer
        .get("id_token")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("{} answered without an id_token", endpoints.token))?;
    let token = IdentityToken::parse(raw)?;
    if token.claims.nonce.as_deref() != Some(nonce.as_str()) {
        bail!("the identity token's nonce does not match the login request; try again");
    }
    Ok(token)
}

/// Starts `xdg-open URL` without waiting for it, when there is a display to open a browser
/// on (as Python's `webbrowser` does): with none, xdg-open falls back to text browsers that
/// would fight over the terminal. Waiting would be wrong too: with no desktop session
/// xdg-open runs the browser in the foreground and returns when the browser exits, long
/// after the redirect should have been answered.
fn open_browser(url: &str) -> Option<Child> {
    if !has_display(&|name| std::env::var_os(name).is_some_and(|v| !v.is_empty())) {
        return None;
    }
    Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// Serves the loopback redirect until the browser brings the code, or `timeout` passes.
fn wait_for_code(listener: &TcpListener, state: &str, timeout: Duration) -> anyhow::Result<String> {
    let deadline = Instant::now() + timeout;
    listener.set_nonblocking(true)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "the browser login did not finish within {} s (--oidc-login-timeout); run the command again to retry",
                timeout.as_secs_f64()
            );
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(result) = serve_redirect(stream, state, left.min(REQUEST_READ_TIMEOUT)) {
                    return result;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(left.min(Duration::from_millis(100)));
            }
            // A connection that went away before it was accepted is not the browser's.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
                ) => {}
            Err(e) => return Err(e).context("waiting for the login redirect"),
        }
    }
}

/// One connection to the redirect listener: `None` when it did not bring the callback (a
/// favicon request, a silent or malformed connection), and the login goes on waiting.
fn serve_redirect(
    mut stream: TcpStream,
    state: &str,
    read_timeout: Duration,
) -> Option<anyhow::Result<String>> {
    let target = read_request_target(&stream, read_timeout)?;
    let Some(result) = callback_result(&target, state) else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return None;
    };
    let (status, page) = match &result {
        Ok(_) => ("200 OK", "Signed in to signet. You may close this window."),
        Err(_) => (
            "400 Bad Request",
            "signet could not sign you in; see the terminal.",
        ),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    Some(result)
}

/// The request target of one HTTP request, or `None` if none came in time. The whole head is
/// read (up to [`MAX_REQUEST_HEAD`]): closing a socket with unread input resets the
/// connection, and the browser would show an error instead of the answer.
fn read_request_target(stream: &TcpStream, timeout: Duration) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
        .ok()?;
    let mut reader = BufReader::new(stream.take(MAX_REQUEST_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut header = String::new();
    loop {
        header.clear();
        match reader.read_line(&mut header) {
            Ok(n) if n > 0 && !header.trim_end_matches(['\r', '\n']).is_empty() => {}
            _ => break,
        }
    }
    request_line.split_whitespace().nth(1).map(str::to_string)
}

/// What a request for `target` (an origin-form request target, `/path?query`) means for a
/// login waiting with `state`: `None` if it is not for the callback path, else the code or
/// why the login failed (RFC 6749 §4.1.2, §4.1.2.1). The state is checked first: a redirect
/// that does not carry this login's state did not come from this login (§10.12).
fn callback_result(target: &str, state: &str) -> Option<anyhow::Result<String>> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH {
        return None;
    }
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    Some(if param("state").as_deref() != Some(state) {
        Err(anyhow!("the login redirect carried the wrong state; try again"))
    } else if let Some(error) = param("error") {
        Err(anyhow!(
            "the login was refused: {error}{}",
            param("error_description")
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ))
    } else {
        param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| anyhow!("the login redirect carried no code"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn subject_prefers_email() {
        let t =
            IdentityToken::parse(&jwt(r#"{"iss":"i","sub":"s","email":"a@b.c","aud":"sigstore"}"#)).unwrap();
        assert_eq!(t.subject(), "a@b.c");
        let t = IdentityToken::parse(&jwt(r#"{"iss":"i","sub":"s","aud":["x","sigstore"]}"#)).unwrap();
        assert_eq!(t.subject(), "s");
        assert_eq!(t.claims.aud, ["x", "sigstore"]);
    }

    #[test]
    fn callback_gives_the_code_only_with_the_state() {
        let ok = callback_result("/auth/callback?code=c%2B1&state=st", "st").unwrap();
        assert_eq!(ok.unwrap(), "c+1");
        for (target, why) in [
            ("/auth/callback?code=c&state=other", "wrong state"),
            ("/auth/callback?code=c", "wrong state"),
            ("/auth/callback?error=access_denied&state=other", "wrong state"),
            ("/auth/callback?state=st", "no code"),
            ("/auth/callback?code=&state=st", "no code"),
            (
                "/auth/callback?error=access_denied&error_description=no+thanks&state=st",
                "refused: access_denied: no thanks",
            ),
        ] {
            let e = callback_result(target, "st").unwrap().unwrap_err();
            assert!(e.to_string().contains(why), "{target}: {e}");
        }
        for other in [
            "/favicon.ico",
            "/",
            "",
            "*",
            "/auth/callback/x?state=st",
            "http://x/auth/callback",
        ] {
            assert!(callback_result(other, "st").is_none(), "{other}");
        }
    }

    #[test]
    fn auto_picks_the_device_flow_only_without_a_browser_and_with_an_endpoint() {
        let device = Some("https://i/device/code");
        assert_eq!(choose_flow(LoginFlow::Auto, device, false), Ok(device));
        assert_eq!(choose_flow(LoginFlow::Auto, device, true), Ok(None));
        assert_eq!(choose_flow(LoginFlow::Auto, None, false), Ok(None));
        assert_eq!(choose_flow(LoginFlow::Browser, device, false), Ok(None));
        assert_eq!(choose_flow(LoginFlow::Device, device, true), Ok(device));
        let e = choose_flow(LoginFlow::Device, None, false).unwrap_err();
        assert!(e.contains("no device_authorization_endpoint"), "{e}");
    }

    #[test]
    fn a_browser_needs_a_display_on_unix_desktops_and_over_ssh() {
        let env = |vars: &'static [&'static str]| move |name: &str| vars.contains(&name);
        assert!(can_open_browser(&env(&["DISPLAY"])));
        assert!(can_open_browser(&env(&["WAYLAND_DISPLAY", "SSH_CONNECTION"])));
        assert!(!can_open_browser(&env(&["SSH_CONNECTION"])));
        assert_eq!(can_open_browser(&env(&[])), !BROWSER_NEEDS_DISPLAY);
    }

    #[test]
    fn github_url_appends_audience() {
        assert_eq!(github_token_url("http://h/t"), "http://h/t?audience=sigstore");
        assert_eq!(
            github_token_url("http://h/t?a=1"),
            "http://h/t?a=1&audience=sigstore"
        );
    }
}
