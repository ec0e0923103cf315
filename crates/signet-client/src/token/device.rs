//! The OAuth 2.0 device authorization grant (RFC 8628), for machines with no browser to open
//! (an SSH session, a headless box): signet asks the provider for a device code and a user
//! code, tells the user where to approve the user code from any browser, and polls the token
//! endpoint until they do. As Sigstore's own device-flow clients (sigstore-go's `oauthflow`)
//! do, the request carries a PKCE challenge, so a device code seen by someone else is useless
//! without the verifier only this process holds.
//!
//! The provider's answers are untrusted: every field is checked for length and form before it
//! is used or printed. Polling goes through [`Wait`], so tests run it on a virtual clock.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

use super::{pkce, random32, IdentityToken, TokenOptions};
use crate::http::{one_line, Http};

/// RFC 8628 §3.4: the grant type of the token requests.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.2: the polling interval when the provider names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 §3.5: what each `slow_down` adds to the interval.
const SLOW_DOWN: Duration = Duration::from_secs(5);
/// The longest interval honoured; a provider asking for more is polled this often.
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// The most of any answer read: device and token answers are a few KiB at most.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;
/// Bounds on the answer's fields.
const MAX_DEVICE_CODE_LEN: usize = 1024;
const MAX_USER_CODE_LEN: usize = 64;
const MAX_URI_LEN: usize = 2048;
const MAX_ERROR_LEN: usize = 256;
/// The longest a device code may live by the provider's word (a day); longer is refused.
const MAX_EXPIRES_IN_SECS: u64 = 24 * 3600;

/// The device authorization response (RFC 8628 §3.2) as it comes, before checking.
#[derive(Deserialize)]
struct DeviceAuthorizationAnswer {
    device_code: String,
    user_code: String,
    /// Google's provider names it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// A checked device authorization response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: url::Url,
    pub verification_uri_complete: Option<url::Url>,
    pub expires_in: Duration,
    pub interval: Duration,
}

impl DeviceAuthorization {
    /// Parses and checks the answer of the device authorization endpoint `endpoint`.
    pub fn from_answer(endpoint: &str, body: &[u8]) -> anyhow::Result<Self> {
        let answer: DeviceAuthorizationAnswer = serde_json::from_slice(body)
            .map_err(|e| anyhow!("{endpoint} answered with no valid device authorization: {e}"))?;
        let bad = |field: &str, why: &str| anyhow!("{endpoint} answered with a bad {field}: {why}");
        // RFC 6749 Appendix A: device_code is VSCHAR; user_code is shown to the user, so
        // anything but printable ASCII (a terminal escape sequence) is refused.
        if answer.device_code.is_empty()
            || answer.device_code.len() > MAX_DEVICE_CODE_LEN
            || !answer.device_code.bytes().all(|b| (0x20..=0x7e).contains(&b))
        {
            return Err(bad(
                "device_code",
                &format!("expected 1 to {MAX_DEVICE_CODE_LEN} printable ASCII characters"),
            ));
        }
        if answer.user_code.is_empty()
            || answer.user_code.len() > MAX_USER_CODE_LEN
            || !answer.user_code.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(bad(
                "user_code",
                &format!("expected 1 to {MAX_USER_CODE_LEN} printable ASCII characters without spaces"),
            ));
        }
        let verification_uri =
            web_url(&answer.verification_uri).map_err(|why| bad("verification_uri", &why))?;
        let verification_uri_complete = answer
            .verification_uri_complete
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(web_url)
            .transpose()
            .map_err(|why| bad("verification_uri_complete", &why))?;
        if answer.expires_in == 0 || answer.expires_in > MAX_EXPIRES_IN_SECS {
            return Err(bad(
                "expires_in",
                &format!(
                    "{} s is not within 1 to {MAX_EXPIRES_IN_SECS} s",
                    answer.expires_in
                ),
            ));
        }
        // A zero interval would poll in a tight loop; a huge one is capped.
        let interval = answer
            .interval
            .map_or(DEFAULT_INTERVAL, |s| Duration::from_secs(s.max(1)))
            .min(MAX_INTERVAL);
        Ok(DeviceAuthorization {
            device_code: answer.device_code,
            user_code: answer.user_code,
            verification_uri,
            verification_uri_complete,
            expires_in: Duration::from_secs(answer.expires_in),
            interval,
        })
    }

    /// The one line telling the user what to do (RFC 8628 §3.3; with the complete URI the
    /// code is still shown, so the user can check the page shows the same one, §3.3.1).
    pub fn instruction(&self) -> String {
        let minutes = self.expires_in.as_secs().div_ceil(60);
        match &self.verification_uri_complete {
            Some(complete) => format!(
                "To sign in, open {complete} in a browser on any device and approve the code {} (valid {minutes} min).",
                self.user_code
            ),
            None => format!(
                "To sign in, open {} in a browser on any device and enter the code {} (valid {minutes} min).",
                self.verification_uri, self.user_code
            ),
        }
    }
}

/// An `http` or `https` URL with a host, bounded and free of spaces and control characters.
fn web_url(text: &str) -> Result<url::Url, String> {
    if text.len() > MAX_URI_LEN || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "expected a URL of at most {MAX_URI_LEN} characters without spaces or control characters"
        ));
    }
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} is not an http(s) URL with a host"));
    }
    Ok(url)
}

/// What one poll of the token endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// The raw ID token.
    Token(String),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again after a longer interval.
    SlowDown,
}

/// The error answer of a token endpoint (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Judges one answer (`status`, `body`) of the token endpoint `token_url`; the failures that
/// end the login are one-line errors.
pub(crate) fn judge(token_url: &str, status: u16, body: &[u8]) -> anyhow::Result<Poll> {
    if status == 200 {
        let answer: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| anyhow!("{token_url} answered with a body that is not JSON: {e}"))?;
        return answer
            .get("id_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(|t| Poll::Token(t.to_string()))
            .ok_or_else(|| anyhow!("{token_url} answered without an id_token"));
    }
    let Ok(answer) = serde_json::from_slice::<ErrorAnswer>(body) else {
        return Err(anyhow!(
            "{token_url} answered HTTP {status}{}",
            crate::http::server_message(body)
        ));
    };
    let error = printable(&answer.error);
    let description = answer
        .error_description
        .as_deref()
        .map(|d| format!(": {}", printable(d)))
        .unwrap_or_default();
    match error.as_str() {
        "authorization_pending" => Ok(Poll::Pending),
        "slow_down" => Ok(Poll::SlowDown),
        "access_denied" => bail!("the device login was denied at the provider{description}"),
        "expired_token" => {
            bail!("the device code expired before the login was approved; run the command again")
        }
        _ => bail!("{token_url} refused the device login: {error}{description}"),
    }
}

/// A provider's text, on one line, with no control characters, bounded.
fn printable(text: &str) -> String {
    let line: String = one_line(text)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ERROR_LEN)
        .collect();
    line
}

/// The clock and the sleep of the polling loop: the real ones in signet, virtual in tests.
pub(crate) trait Wait {
    /// Time since the login started.
    fn elapsed(&self) -> Duration;
    fn sleep(&mut self, duration: Duration);
}

/// The system's clock and `thread::sleep`.
struct RealTime(Instant);

impl Wait for RealTime {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Polls with `poll` (one token request: the status and body) until it yields a token or
/// fails, waiting the interval before each poll (RFC 8628 §3.5), at most `timeout` and the
/// device code's lifetime in all.
pub(crate) fn poll_for_token(
    auth: &DeviceAuthorization,
    timeout: Duration,
    wait: &mut dyn Wait,
    poll: &mut dyn FnMut() -> anyhow::Result<Poll>,
) -> anyhow::Result<String> {
    let budget = timeout.min(auth.expires_in);
    let mut interval = auth.interval;
    loop {
        let left = budget.saturating_sub(wait.elapsed());
        if left.is_zero() {
            if timeout < auth.expires_in {
                bail!(
                    "the device login was not approved within {} s (--oidc-login-timeout); run the command again to retry",
                    timeout.as_secs_f64()
                );
            }
            bail!(
                "the device code expired after {} s before the login was approved; run the command again",
                auth.expires_in.as_secs()
            );
        }
        wait.sleep(interval.min(left));
        match poll()? {
            Poll::Token(token) => return Ok(token),
            Poll::Pending => {}
            Poll::SlowDown => interval = (interval + SLOW_DOWN).min(MAX_INTERVAL),
        }
    }
}

/// The device login against the provider whose device authorization endpoint is
/// `device_endpoint` and token endpoint `token_endpoint`.
pub(super) fn login(
    http: &Http,
    device_endpoint: &str,
    token_endpoint: &str,
    options: &TokenOptions,
) -> anyhow::Result<IdentityToken> {
    let started = RealTime(Instant::now());
    let verifier = pkce::verifier(&random32()?);
    let challenge = pkce::challenge_s256(&verifier);
    let mut form = vec![
        ("client_id", options.client_id),
        ("scope", "openid email"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(secret) = options.client_secret {
        form.push(("client_secret", secret));
    }
    let answer = http
        .post_form_exchange(device_endpoint, &form, MAX_ANSWER_BYTES)
        .context("starting the device login")?;
    if answer.status != 200 {
        bail!(
            "{device_endpoint} refused to start a device login: HTTP {}{}",
            answer.status,
            crate::http::server_message(&answer.body)
        );
    }
    let auth = DeviceAuthorization::from_answer(device_endpoint, &answer.body)?;
    super::prompt(options, &auth.instruction());

    let mut poll_form = vec![
        ("grant_type", DEVICE_CODE_GRANT_TYPE),
        ("device_code", auth.device_code.as_str()),
        ("client_id", options.client_id),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(secret) = options.client_secret {
        poll_form.push(("client_secret", secret));
    }
    let mut poll = || {
        let answer = http.post_form_exchange(token_endpoint, &poll_form, MAX_ANSWER_BYTES)?;
        judge(token_endpoint, answer.status, &answer.body)
    };
    let mut wait = started;
    let raw = poll_for_token(&auth, options.login_timeout, &mut wait, &mut poll)?;
    IdentityToken::parse(&raw).with_context(|| format!("the identity token from {token_endpoint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_URL: &str = "https://issuer.example/token";

    fn answer(json: &str) -> anyhow::Result<DeviceAuthorization> {
        DeviceAuthorization::from_answer("https://issuer.example/device/code", json.as_bytes())
    }

    fn auth(interval: u64, expires_in: u64) -> DeviceAuthorization {
        answer(&format!(
            r#"{{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://issuer.example/device","expires_in":{expires_in},"interval":{interval}}}"#
        ))
        .unwrap()
    }

    /// A clock that only moves when slept on, recording each sleep.
    #[derive(Default)]
    struct Virtual {
        now: Duration,
        sleeps: Vec<u64>,
    }

    impl Wait for Virtual {
        fn elapsed(&self) -> Duration {
            self.now
        }
        fn sleep(&mut self, d: Duration) {
            self.now += d;
            self.sleeps.push(d.as_secs());
        }
    }

    /// Runs the polling loop against answers given in order (then `authorization_pending`).
    fn run(
        auth: &DeviceAuthorization,
        timeout: u64,
        answers: &[(u16, &str)],
    ) -> (anyhow::Result<String>, Virtual, usize) {
        let mut wait = Virtual::default();
        let mut polls = 0;
        let mut poll = || {
            let (status, body) = answers
                .get(polls)
                .copied()
                .unwrap_or((400, r#"{"error":"authorization_pending"}"#));
            polls += 1;
            judge(TOKEN_URL, status, body.as_bytes())
        };
        let result = poll_for_token(auth, Duration::from_secs(timeout), &mut wait, &mut poll);
        (result, wait, polls)
    }

    #[test]
    fn pending_slow_down_then_token() {
        let (result, wait, polls) = run(
            &auth(1, 600),
            300,
            &[
                (400, r#"{"error":"authorization_pending"}"#),
                (400, r#"{"error":"slow_down"}"#),
                (
                    400,
                    r#"{"error":"authorization_pending","error_description":"not yet"}"#,
                ),
                (200, r#"{"id_token":"a.b.c","token_type":"Bearer"}"#),
            ],
        );
        assert_eq!(result.unwrap(), "a.b.c");
        assert_eq!(polls, 4);
        // The interval as the server said, then 5 s more after slow_down, kept.
        assert_eq!(wait.sleeps, [1, 1, 6, 6]);
    }

    #[test]
    fn denied_and_expired_end_the_login_with_one_line() {
        let (result, ..) = run(
            &auth(5, 600),
            300,
            &[(
                400,
                r#"{"error":"access_denied","error_description":"the user\ndenied"}"#,
            )],
        );
        let e = result.unwrap_err().to_string();
        assert_eq!(e, "the device login was denied at the provider: the user denied");
        let (result, ..) = run(&auth(5, 600), 300, &[(400, r#"{"error":"expired_token"}"#)]);
        assert!(result.unwrap_err().to_string().contains("device code expired"));
        let (result, ..) = run(
            &auth(5, 600),
            300,
            &[(
                400,
                r#"{"error":"invalid_grant","error_description":"\u001b[31mred"}"#,
            )],
        );
        let e = result.unwrap_err().to_string();
        assert!(
            e.starts_with("https://issuer.example/token refused the device login: invalid_grant: "),
            "{e}"
        );
        assert!(!e.contains('\u{1b}'), "{e:?}");
        let (result, ..) = run(&auth(5, 600), 300, &[(502, "<html>bad gateway</html>")]);
        assert!(result.unwrap_err().to_string().contains("answered HTTP 502"));
        let (result, ..) = run(&auth(5, 600), 300, &[(200, r#"{"access_token":"x"}"#)]);
        assert!(result.unwrap_err().to_string().contains("without an id_token"));
    }

    #[test]
    fn polling_stops_at_the_timeout_or_the_expiry() {
        let (result, wait, polls) = run(&auth(5, 600), 12, &[]);
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains("not approved within 12 s (--oidc-login-timeout)"),
            "{e}"
        );
        // 5 + 5 + 2: the last wait is cut to the deadline, and polled once more.
        assert_eq!((wait.sleeps, polls), (vec![5, 5, 2], 3));
        let (result, ..) = run(&auth(5, 7), 300, &[]);
        assert!(result
            .unwrap_err()
            .to_string()
            .contains("device code expired after 7 s"));
    }

    #[test]
    fn answers_are_checked() {
        let a = answer(r#"{"device_code":"dc","user_code":"BCDF-GHJK","verification_uri":"https://i.example/device","verification_uri_complete":"https://i.example/device?user_code=BCDF-GHJK","expires_in":600}"#).unwrap();
        assert_eq!(a.interval, DEFAULT_INTERVAL);
        assert_eq!(
            a.instruction(),
            "To sign in, open https://i.example/device?user_code=BCDF-GHJK in a browser on any device and approve the code BCDF-GHJK (valid 10 min)."
        );
        let a = answer(r#"{"device_code":"dc","user_code":"WDJB-MJHT","verification_url":"http://127.0.0.1:1/device","expires_in":90,"interval":0}"#).unwrap();
        assert_eq!(a.interval, Duration::from_secs(1));
        assert_eq!(
            a.instruction(),
            "To sign in, open http://127.0.0.1:1/device in a browser on any device and enter the code WDJB-MJHT (valid 2 min)."
        );
        let long = "x".repeat(MAX_DEVICE_CODE_LEN + 1);
        for (json, field) in [
            (r#"{"device_code":"","user_code":"A","verification_uri":"https://i/d","expires_in":1}"#.to_string(), "device_code"),
            (format!(r#"{{"device_code":"{long}","user_code":"A","verification_uri":"https://i/d","expires_in":1}}"#), "device_code"),
            (r#"{"device_code":"d","user_code":"\u001b[2J","verification_uri":"https://i/d","expires_in":1}"#.to_string(), "user_code"),
            (r#"{"device_code":"d","user_code":"A B","verification_uri":"https://i/d","expires_in":1}"#.to_string(), "user_code"),
            (r#"{"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)","expires_in":1}"#.to_string(), "verification_uri"),
            (r#"{"device_code":"d","user_code":"A","verification_uri":"https://i/d\n","expires_in":1}"#.to_string(), "verification_uri"),
            (r#"{"device_code":"d","user_code":"A","verification_uri":"https://i/d","verification_uri_complete":"file:///etc/passwd","expires_in":1}"#.to_string(), "verification_uri_complete"),
            (r#"{"device_code":"d","user_code":"A","verification_uri":"https://i/d","expires_in":0}"#.to_string(), "expires_in"),
            (r#"{"device_code":"d","user_code":"A","verification_uri":"https://i/d","expires_in":999999999}"#.to_string(), "expires_in"),
        ] {
            let e = answer(&json).unwrap_err().to_string();
            assert!(e.contains(&format!("bad {field}")), "{json}: {e}");
        }
        let e = answer(r#"{"user_code":"A"}"#).unwrap_err().to_string();
        assert!(e.contains("no valid device authorization"), "{e}");
    }
}
