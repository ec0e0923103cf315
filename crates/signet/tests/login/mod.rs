//! What the interactive login tests share: a `signet server --dev-oidc`, `signet` run with a
//! clean environment (no token variables, no display, a `PATH` with nothing on it, so no real
//! browser opens), a `sign-blob` waiting for its login with its stderr read line by line, and
//! the test's browser (a plain HTTP client and a reader of the provider's HTML forms).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{Reply, Server};

/// A server with the development provider, and a work directory for files and bundles.
pub struct Stack {
    pub server: Server,
    _tmp: tempfile::TempDir,
    pub work: PathBuf,
    /// An empty directory: the clients' whole `PATH`.
    empty_path: PathBuf,
    pub trust_config: PathBuf,
    /// Environment every client command gets on top of the clean one.
    client_env: Vec<(String, String)>,
}

impl Stack {
    /// Starts `signet server --dev-oidc SERVER_ARGS`; client commands get `client_env`.
    pub fn start(server_args: &[&str], client_env: &[(&str, &str)]) -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let work = tmp.path().join("work");
        let empty_path = tmp.path().join("bin");
        for dir in [&data, &work, &empty_path] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut args = vec!["--dev-oidc"];
        args.extend_from_slice(server_args);
        let server = Server::start_with(&data, &args);
        Stack {
            trust_config: data.join("trust_config.json"),
            server,
            _tmp: tmp,
            work,
            empty_path,
            client_env: client_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The email identity issuer of the development provider.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.server.url)
    }

    /// `signet ARGS` with a clean environment: no identity token, no GitHub Actions
    /// variables, no display and no browser to open.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
        cmd.env_clear()
            .env("PATH", &self.empty_path)
            .env("HOME", &self.work)
            .env("LANG", "C.UTF-8")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .envs(self.client_env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .current_dir(&self.work)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run signet")
    }

    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.work.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Starts `signet sign-blob FILE --bundle BUNDLE` with no token, plus `extra` flags.
    pub fn sign_blob(&self, file: &Path, bundle: &Path, extra: &[&str]) -> Login {
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

    /// `signet verify-blob ARTIFACT --bundle BUNDLE` for `identity` from `issuer`.
    pub fn verify_blob(&self, artifact: &Path, bundle: &Path, identity: &str, issuer: &str) -> Output {
        self.run(&[
            "verify-blob",
            s(artifact),
            "--bundle",
            s(bundle),
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            issuer,
            "--trust-config",
            s(&self.trust_config),
        ])
    }
}

/// A `signet sign-blob` waiting for an interactive login.
pub struct Login {
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
    /// The first line of stderr (from here on) that contains `needle`.
    pub fn line_containing(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            self.seen.push_str(&line);
            self.seen.push('\n');
            if line.contains(needle) {
                return line;
            }
        }
        panic!("signet printed no line with {needle:?}:\n{}", self.seen);
    }

    /// Waits (at most `limit`) for the client to exit; its status and its whole stderr.
    pub fn finish(&mut self, limit: Duration) -> (ExitStatus, String) {
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

/// Asserts `signet` failed with exit status 1 and one error line, its last, containing `why`.
pub fn assert_one_error_line(status: ExitStatus, stderr: &str, why: &str) {
    assert_eq!(status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("signet:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(why), "{stderr}");
    assert_eq!(stderr.lines().last(), Some(errors[0]), "{stderr}");
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The test's browser: no automatic redirects, so each hop is checked.
pub fn browser() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(60))
        .build()
}

pub fn page(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// An HTML form: where it posts, and its fields (name and value, in order).
pub struct Form {
    pub method: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The fields, with `name` set to `value` (replacing what the page had, or added).
    pub fn with(mut self, name: &str, value: &str) -> Form {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    /// Submits the form from the page at `page_url` as a browser would (an HTML form's
    /// method is GET or POST; these forms POST).
    pub fn submit(&self, page_url: &url::Url) -> Reply {
        assert!(self.method.eq_ignore_ascii_case("post"), "{}", self.method);
        let action = page_url.join(&self.action).expect("form action");
        let pairs: Vec<(&str, &str)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        crate::common::reply(browser().post(action.as_str()).send_form(&pairs))
    }
}

/// The first `<form>` of `html`, read the way a browser submits it: every `<input>` with a
/// name, its value unescaped.
pub fn parse_form(html: &str) -> Form {
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
