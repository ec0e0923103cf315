//! `signet server --config signet.toml`: the whole server from a file (paths relative to the
//! file), flags overriding it, bad files refused before anything starts with the file, line and
//! key; and the TLS certificate reloaded on SIGHUP while a connection stays open, checked with
//! openssl's client as an independent peer.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{get, Server};

/// Runs `signet server --config FILE ARGS` from `/` (so nothing resolves against the test's
/// directory) and waits for `listening on URL`; on failure, its exit status and stderr. `dir`
/// is the data directory the file names, for the Server's record.
fn start(config: &Path, dir: &Path, args: &[&str]) -> Result<Server, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .current_dir("/")
        .arg("server")
        .arg("--config")
        .arg(config)
        .args(args)
        .env("SIGNET_LOG", "info");
    Server::spawn(command, dir)
}

/// A self-signed certificate for 127.0.0.1 with `name` as its common name, written to
/// `dir/cert.pem` and `dir/key.pem` through renames (as a certificate manager replaces them).
fn write_certificate(dir: &Path, name: &str) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    for (file, pem) in [("cert.pem", cert.pem()), ("key.pem", key.serialize_pem())] {
        let tmp = dir.join(format!("{file}.tmp"));
        std::fs::write(&tmp, pem).unwrap();
        std::fs::rename(&tmp, dir.join(file)).unwrap();
    }
}

/// The subject common name of the certificate the server at `addr` presents, read by openssl.
fn presented_name(addr: &str) -> String {
    let mut client = Command::new("openssl")
        .args(["s_client", "-connect", addr])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl");
    let mut out = String::new();
    client.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    client.wait().unwrap();
    let subject = out
        .lines()
        .find(|l| l.starts_with("subject="))
        .unwrap_or_else(|| panic!("no subject in openssl's output:\n{out}"));
    subject
        .rsplit("CN")
        .next()
        .unwrap()
        .trim_start_matches([' ', '='])
        .to_string()
}

/// An HTTP/1.1 keep-alive connection through `openssl s_client`.
struct OpenConnection {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl OpenConnection {
    fn open(addr: &str) -> OpenConnection {
        let mut child = Command::new("openssl")
            .args(["s_client", "-quiet", "-connect", addr])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        OpenConnection { child, lines }
    }

    /// GETs `path` on this connection and returns the status line.
    fn get(&mut self, path: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        write!(stdin, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        stdin.flush().unwrap();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("an answer to GET {path} on the open connection: {e}"));
            // A body without a final newline runs into the next answer's status line.
            if let Some(at) = line.find("HTTP/1.1 ") {
                return line[at..].trim().to_string();
            }
        }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_runs_from_its_file_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("tls")).unwrap();
    write_certificate(&etc.join("tls"), "first");
    let config = etc.join("signet.toml");
    std::fs::write(
        &config,
        r#"# signet server, as an operator would configure it
listen = "127.0.0.1:0"
data-dir = "../data"
dev-oidc = true
max-batch = 256

[tls]
cert = "tls/cert.pem"
key = "tls/key.pem"
"#,
    )
    .unwrap();
    let server =
        start(&config, &dir.path().join("data"), &[]).unwrap_or_else(|e| panic!("server did not start: {e}"));
    assert!(server.url.starts_with("https://127.0.0.1:"), "{}", server.url);
    // The data directory is where the file says, relative to the file.
    assert!(dir.path().join("data/trusted_root.json").is_file());
    let addr = server.url.trim_start_matches("https://").to_string();
    assert_eq!(presented_name(&addr), "first");

    let mut open = OpenConnection::open(&addr);
    assert_eq!(open.get("/healthz"), "HTTP/1.1 200 OK");

    // A renewed certificate, then SIGHUP: new handshakes get it, the open connection goes on.
    write_certificate(&etc.join("tls"), "second");
    let hangup = |pid: u32| {
        assert!(Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap()
            .success());
    };
    hangup(server.pid());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // The open connection is used at every turn: the server closes a connection idle for 10 s
    // (its request-head timeout), which a slow machine's openssl runs could reach.
    while presented_name(&addr) != "second" {
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate was never presented"
        );
        assert_eq!(open.get("/healthz"), "HTTP/1.1 200 OK", "during the reload");
    }
    assert_eq!(
        open.get("/healthz"),
        "HTTP/1.1 200 OK",
        "the connection open across the reload"
    );

    // A broken pair (a key that is not the certificate's) is refused and changes nothing.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(etc.join("tls/key.pem"), other.serialize_pem()).unwrap();
    hangup(server.pid());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(open.get("/healthz"), "HTTP/1.1 200 OK");
    assert_eq!(presented_name(&addr), "second");
    assert!(server_alive(&server), "a SIGHUP must never stop the server");
}

fn server_alive(server: &Server) -> bool {
    Command::new("kill")
        .args(["-0", &server.pid().to_string()])
        .status()
        .unwrap()
        .success()
}

#[test]
fn flags_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("signet.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ndata-dir = \"data\"\nonly = [\"tsa\"]\n",
    )
    .unwrap();
    let server =
        start(&config, &dir.path().join("data"), &["--only", "log"]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(get(&format!("{}/rekor/checkpoint", server.url)).status, 200);
    assert_eq!(
        get(&format!("{}/tsa/api/v1/timestamp/certchain", server.url)).status,
        404
    );
    // SIGHUP without TLS is logged and ignored, not the signal's default (exit).
    assert!(Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(server_alive(&server));
    assert_eq!(get(&format!("{}/healthz", server.url)).status, 200);
}

#[test]
fn a_bad_file_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("signet.toml");
    let cases = [
        (
            "listen = \"127.0.0.1:0\"\npublic-ulr = \"https://x\"\n",
            "signet.toml:2: key `public-ulr`: unknown key; did you mean `public-url`?",
        ),
        (
            "max-batch = \"lots\"\n",
            "signet.toml:1: key `max-batch`: invalid value 'lots'",
        ),
        (
            "dev-oidc = 1\n",
            "signet.toml:1: key `dev-oidc`: takes true or false, not an integer",
        ),
        (
            "[tls]\ncert = \"absent.pem\"\nkey = \"absent.pem\"\n",
            "signet.toml:2: key `tls-cert`:",
        ),
        ("listen = \n", "signet.toml:1:"),
    ];
    for (text, expected) in cases {
        std::fs::write(&config, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_signet"))
            .current_dir(dir.path())
            .args(["server", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with("signet: "), "{stderr}");
        assert!(
            stderr.contains(expected),
            "{text}: expected {expected:?} in {stderr}"
        );
        assert!(
            !dir.path().join("signet-data").exists(),
            "{text}: nothing may start"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["server", "--config"])
        .arg(dir.path().join("absent.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("absent.toml: cannot open the configuration file"),
        "{stderr}"
    );
}

#[test]
fn the_example_file_runs() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/signet.toml");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Its port and directory overridden, as a test must; every other key as written.
    let server = start(
        &example,
        &data,
        &["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()],
    )
    .unwrap_or_else(|e| panic!("examples/signet.toml: {e}"));
    assert_eq!(get(&format!("{}/rekor/checkpoint", server.url)).status, 200);
    assert!(data.join("trusted_root.json").is_file());
}
