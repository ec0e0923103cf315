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
//! with nothing on it, so no real browser opens.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Reply, Server};

/// The identity the test types into the login form.
const EMAIL: &str = "browser@example.com";

/// A server with the development provider, and a work directory for files and bundles.
struct Stack {
    server: Server,
    _tmp: tempfile::TempDir,
    work: PathBuf,
    /// An empty directory: the clients' whole `PATH`.
    empty_path: PathBuf,
    trust_config: PathBuf,
}

impl Stack {
    fn start() -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let work = tmp.path().join("work");
        let empty_path = tmp.path().join("bin");
        for dir in [&data, &work, &empty_path] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let server = Server::start_with(&data, &["--dev-oidc"]);
        Stack {
            trust_config: data.join("trust_config.json"),
            server,
            _tmp: tmp,
            work,
            empty_path,
        }
    }

    /// The email identity issuer of the development provider.
    fn issuer(&self) -> String {
        format!("{}/oidc", self.server.url)
    }

    /// `signet ARGS` with a clean environment: no identity token, no GitHub Actions
    /// variables, no display and no browser to open.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
        cmd.env_clear()
            .env("PATH", &self.empty_path)
            .env("HOME", &self.work)
            .env("LANG", "C.UTF-8")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .args(args)
            .current_dir(&self.work)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run signet")
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.work.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Starts `signet sign-blob FILE --bundle BUNDLE` with no token, plus `extra` flags.
    fn sign_blob(&self, file: &Path, bundle: &Path, extra: &[&str]) -> Login {
        let mut args = vec![
            "sign-blob",
            s(file),
            "--bundle",
            s(bundle),
            "--trust-config",
            s(&self.trust_config),
        ];
        args.extend_from_slice(extra);
        let mut child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn signet sign-blob");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Login {
            child,
            lines,
            seen: String::new(),
        }
    }
}

/// A `signet sign-blob` waiting for a browser login.
struct Login {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its stderr so far.
    seen: String,
}

impl Drop for Login {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Login {
    /// The authorization URL the client printed.
    fn authorization_url(&mut self) -> url::Url {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            self.seen.push_str(&line);
            self.seen.push('\n');
            if line.contains("/authorize?") {
                return url::Url::parse(line.trim())
                    .unwrap_or_else(|e| panic!("{e}: {line:?}\n{}", self.seen));
            }
        }
        panic!("signet printed no authorization URL:\n{}", self.seen);
    }

    /// Waits (at most `limit`) for the client to exit; its status and its whole stderr.
    fn finish(&mut self, limit: Duration) -> (ExitStatus, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                panic!("signet did not exit within {limit:?}:\n{}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends at EOF, which the exit brings.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        (status, self.seen.clone())
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn text(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The test's browser: no automatic redirects, so each hop is checked.
fn browser() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(60))
        .build()
}

fn page(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// An HTML form: where it posts, and its fields (name and value, in order).
struct Form {
    method: String,
    action: String,
    fields: Vec<(String, String)>,
}

/// The first `<form>` of `html`, read the way a browser submits it: every `<input>` with a
/// name, its value unescaped.
fn parse_form(html: &str) -> Form {
    let start = html.find("<form").unwrap_or_else(|| panic!("no form:\n{html}"));
    let end = html[start..]
        .find("</form>")
        .map(|e| start + e)
        .unwrap_or_else(|| panic!("unclosed form:\n{html}"));
    let form = &html[start..end];
    let open_tag = &form[..form.find('>').expect("form tag end")];
    let fields = form
        .match_indices("<input")
        .map(|(i, _)| &form[i..i + form[i..].find('>').expect("input tag end")])
        .filter_map(|tag| {
            Some((
                attribute(tag, "name")?,
                attribute(tag, "value").unwrap_or_default(),
            ))
        })
        .collect();
    Form {
        method: attribute(open_tag, "method").unwrap_or_else(|| "get".into()),
        action: attribute(open_tag, "action").unwrap_or_default(),
        fields,
    }
}

/// A double-quoted attribute of a tag, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
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
    let form = parse_form(&html);
    assert!(form.method.eq_ignore_ascii_case("post"), "{html}");
    let action = auth.join(&form.action).expect("form action");
    let mut fields: Vec<(String, String)> = form.fields.into_iter().filter(|(k, _)| k != "email").collect();
    fields.push(("email".into(), email.into()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let reply = common::reply(browser().post(action.as_str()).send_form(&pairs));
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
    let stack = Stack::start();
    let artifact = stack.file("a.txt", b"signed after a browser login\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &[]);
    let auth = login.authorization_url();
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
    let verify = |identity: &str, issuer: &str| {
        stack.run(&[
            "verify-blob",
            s(&artifact),
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--trust-config",
            s(&stack.trust_config),
        ])
    };
    let out = verify(EMAIL, &issuer);
    assert!(out.status.success(), "verify-blob:\n{}", text(&out));
    let out = verify("someone-else@example.com", &issuer);
    assert!(
        !out.status.success(),
        "another identity verified:\n{}",
        text(&out)
    );
}

#[test]
fn sign_blob_refuses_a_redirect_with_another_state() {
    let stack = Stack::start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");
    let mut login = stack.sign_blob(&artifact, &bundle, &[]);
    let auth = login.authorization_url();
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
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("signet:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("wrong state"), "{stderr}");
    assert_eq!(stderr.lines().last(), Some(errors[0]), "{stderr}");
    assert!(!bundle.exists(), "a bundle was written:\n{stderr}");
}

#[test]
fn sign_blob_gives_up_on_an_unfinished_login() {
    let stack = Stack::start();
    let artifact = stack.file("a.txt", b"never signed\n");
    let bundle = stack.work.join("a.sigstore.json");

    let started = Instant::now();
    let mut login = stack.sign_blob(&artifact, &bundle, &["--oidc-login-timeout", "2"]);
    login.authorization_url();
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
