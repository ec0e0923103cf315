//! `signet monitor` in operation, against real `signet server` logs: webhooks (each report
//! POSTed, HMAC-signed, retried through a receiver that fails, and carried over to the next
//! run when it stays down), Prometheus metrics of a running daemon, a split view caught by
//! comparing with a real `signet witness`, and a monitor SIGKILLed at random points that
//! neither skips nor repeats a report.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{add_entry, get, hashedrekord, Server, Witness};
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::Checkpoint;

fn monitor(trust: &Path, state: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.args(["monitor", "--trust-config"])
        .arg(trust)
        .arg("--state-dir")
        .arg(state)
        .args(extra)
        .env("SIGNET_LOG", "warn");
    cmd
}

fn lines_of(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

fn matched(out: &Output) -> Vec<u64> {
    lines_of(&out.stdout)
        .iter()
        .filter(|l| l["type"] == "match")
        .map(|l| l["index"].as_u64().unwrap())
        .collect()
}

/// A watch list for entries signed by `key` (rekor-monitor's `fingerprints`: SHA-256 of the
/// DER SubjectPublicKeyInfo).
fn watch_key(path: &Path, key: &SigningKey) {
    let fp = hex::encode(signet_crypto::sha256(key.public_key().spki_der()));
    std::fs::write(path, format!("monitoredValues:\n  fingerprints:\n    - {fp}\n")).unwrap();
}

/// Logs `n` entries through `threads` concurrent clients; every `every`th is signed by
/// `watched`, the rest by another key. Returns the indices of the watched ones.
fn fill(server: &Server, watched: &SigningKey, n: usize, every: usize, threads: usize) -> Vec<u64> {
    let other = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let key = if i.is_multiple_of(every) { watched } else { &other };
                let r = add_entry(
                    &server.log_url(),
                    &hashedrekord(key, format!("entry {i}").as_bytes()),
                );
                assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
                if i.is_multiple_of(every) {
                    let index: u64 = r.json()["logIndex"].as_str().unwrap().parse().unwrap();
                    found.lock().unwrap().push(index);
                }
            });
        }
    });
    let mut found = found.into_inner().unwrap();
    found.sort_unstable();
    found
}

/// One request a webhook receiver took.
#[derive(Debug, Clone)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: String,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver on a loopback port: answers 503 while `failing` is set, else 204, and
/// keeps what it accepted.
struct Receiver {
    url: String,
    accepted: Arc<Mutex<Vec<Delivery>>>,
    refused: Arc<AtomicUsize>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, r, f) = (accepted.clone(), refused.clone(), failing.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((n, v)) = line.trim_end().split_once(':') {
                        headers.push((n.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let status = if f.load(Ordering::SeqCst) {
                    r.fetch_add(1, Ordering::SeqCst);
                    "503 Service Unavailable"
                } else {
                    a.lock().unwrap().push(Delivery {
                        headers,
                        body: String::from_utf8(body).unwrap(),
                    });
                    "204 No Content"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver {
            url,
            accepted,
            refused,
            failing,
        }
    }

    fn accepted(&self) -> Vec<Delivery> {
        self.accepted.lock().unwrap().clone()
    }
}

#[test]
fn webhooks_get_every_report_signed_and_what_fails_is_retried_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let trust = server.dir.join("trust_config.json");
    let state = tmp.path().join("state");
    let watched = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let watch = tmp.path().join("watch.yaml");
    watch_key(&watch, &watched);
    let secret = tmp.path().join("hook.secret");
    std::fs::write(&secret, "a webhook secret\n").unwrap();
    let receiver = Receiver::start();
    let hook_args = |timeout: &str| -> Vec<String> {
        vec![
            "--once".into(),
            "--config".into(),
            watch.display().to_string(),
            "--webhook".into(),
            receiver.url.clone(),
            "--webhook-secret-file".into(),
            secret.display().to_string(),
            "--webhook-timeout".into(),
            timeout.into(),
        ]
    };
    let args = |timeout: &str| hook_args(timeout);

    // The receiver is down for the whole first run: the reports are on stdout, the run says
    // deliveries are pending (exit 2 outranks "found"), and nothing reached the receiver.
    let first = fill(&server, &watched, 12, 3, 2);
    receiver.failing.store(true, Ordering::SeqCst);
    let a = args("2s");
    let out = monitor(&trust, &state, &a.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(matched(&out), first);
    assert!(String::from_utf8_lossy(&out.stderr).contains("retried by the next run"));
    assert!(receiver.refused.load(Ordering::SeqCst) >= 1);
    assert!(receiver.accepted().is_empty());

    // It comes back; the next run delivers what the first could not, then the new reports.
    receiver.failing.store(false, Ordering::SeqCst);
    let second = fill(&server, &watched, 6, 3, 2);
    let out = monitor(&trust, &state, &a.iter().map(String::as_str).collect::<Vec<_>>())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(matched(&out), second);
    let got = receiver.accepted();
    let indices: Vec<u64> = got
        .iter()
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(&d.body).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let mut want = first.clone();
    want.extend(&second);
    assert_eq!(indices, want, "each report once, in order");
    let mut ids = std::collections::HashSet::new();
    for d in &got {
        assert_eq!(d.header("content-type"), Some("application/json"));
        assert_eq!(d.header("x-signet-event"), Some("match"));
        assert!(ids.insert(d.header("x-signet-delivery").unwrap().to_string()));
        // HMAC-SHA256 over the body, by an implementation that is not the monitor's.
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"a webhook secret").unwrap();
        mac.update(d.body.as_bytes());
        let mac = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            d.header("x-signet-signature-256"),
            Some(format!("sha256={mac}").as_str())
        );
        let report: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(report["type"], "match");
        assert!(report["inclusion_proof"]["checkpoint"]["envelope"].is_string());
    }
}

#[test]
fn webhook_flags_are_checked_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let trust = server.dir.join("trust_config.json");
    let state = tmp.path().join("state");
    for (args, says) in [
        (vec!["--webhook", "http://hooks.example.com/x"], "plain http"),
        (vec!["--webhook", "not a url"], "not a URL"),
        (
            vec!["--webhook-secret-file", "/nonexistent/secret"],
            "/nonexistent/secret",
        ),
    ] {
        let mut all = vec!["--once"];
        all.extend(args);
        let out = monitor(&trust, &state, &all).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// Reads `GET url` as text.
fn metrics_text(url: &str) -> String {
    String::from_utf8(get(url).body).unwrap()
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_running_monitor_serves_its_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let trust = server.dir.join("trust_config.json");
    let watched = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let watch = tmp.path().join("watch.yaml");
    watch_key(&watch, &watched);
    let found = fill(&server, &watched, 40, 4, 4);
    // The Rekor v2 log alone: the figures below are one log's (by default the server's v1
    // and CT logs are followed too, each with metrics of its own).
    let log = server.log_url();
    let mut child = monitor(
        &trust,
        &tmp.path().join("state"),
        &[
            "--log",
            &log,
            "--config",
            watch.to_str().unwrap(),
            "--interval",
            "1s",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    )
    .env("SIGNET_LOG", "info")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the monitor exited");
        if let Some(rest) = line.split("metrics at ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = metrics_text(&url);
        if metric(&text, "signet_monitor_entries_scanned_total") == Some(40) {
            break text;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        metric(&text, "signet_monitor_matches_total"),
        Some(found.len() as u64)
    );
    assert_eq!(metric(&text, "signet_monitor_verified_size"), Some(40));
    assert_eq!(metric(&text, "signet_monitor_lag_entries"), Some(0));
    assert_eq!(metric(&text, "signet_monitor_alerts_total"), Some(0));
    assert!(metric(&text, "signet_monitor_last_clean_pass_timestamp_seconds").unwrap() > 1_700_000_000);
    // The log grows; the next pass scans the new entries.
    fill(&server, &watched, 8, 4, 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = metrics_text(&url);
        if metric(&text, "signet_monitor_verified_size") == Some(48) {
            assert_eq!(
                metric(&text, "signet_monitor_entries_scanned_total"),
                Some(48),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

/// A split view the monitor cannot see alone: it is shown copy A of a log, a witness is shown
/// copy B (same key and origin, other entries after the fourth). Comparing with the witness's
/// cosigned checkpoint, the monitor reports the fork with both signed checkpoints.
#[test]
fn a_split_view_shown_to_a_witness_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Server::start(&dir_a);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let add = |s: &Server, label: &str, n: usize| {
        for i in 0..n {
            let r = add_entry(
                &s.log_url(),
                &hashedrekord(&key, format!("{label} {i}").as_bytes()),
            );
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        }
    };
    add(&a, "shared", 4);
    assert!(a.terminate().success());
    copy_dir(&dir_a, &dir_b);
    let a = Server::start(&dir_a);
    let b = Server::start(&dir_b);
    // The log as the witness is told about it: its origin and Ed25519 key from the checkpoint
    // and the trusted root.
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.dir.join("trusted_root.json")).unwrap()).unwrap();
    let spki = common::b64(root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap());
    let log_key = signet_crypto::PublicKey::from_spki_der(&spki).unwrap();
    let (_, shared) = common::add_checkpoint_request(&a, 0);
    let vkey = signet_tlog::NoteVerifier::new(&shared.origin, log_key)
        .unwrap()
        .vkey()
        .unwrap();
    let witness = Witness::start(
        &tmp.path().join("witness"),
        &["--log", &format!("{} {vkey}", shared.origin)],
    );
    let policy = tmp.path().join("witnesses.policy");
    std::fs::write(
        &policy,
        format!("witness w1 {} {}\nquorum w1\n", witness.vkey(), witness.url),
    )
    .unwrap();
    let trust = dir_a.join("trust_config.json");
    let state = tmp.path().join("state");
    let run = || {
        monitor(
            &trust,
            &state,
            &["--once", "--witness-policy", policy.to_str().unwrap()],
        )
        .output()
        .unwrap()
    };

    // The witness has cosigned the shared prefix; A grows on: consistent, exit 0.
    let (body, _) = common::add_checkpoint_request(&b, 0);
    assert_eq!(witness.add_checkpoint(&body).status, 200);
    add(&a, "only in a", 3);
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // B diverges and the witness follows B: same size as A, another root.
    add(&b, "only in b", 3);
    let (body, cp_b) = common::add_checkpoint_request(&b, shared.size);
    assert_eq!(witness.add_checkpoint(&body).status, 200);
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let alert = lines_of(&out.stdout)
        .into_iter()
        .find(|l| l["type"] == "alert")
        .expect("an alert");
    assert_eq!(alert["check"], "witness_fork", "{alert}");
    assert!(alert["message"].as_str().unwrap().contains("witness w1"));
    let evidence: Vec<&str> = alert["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(evidence.len(), 2);
    let ours = Checkpoint::from_note_unverified(evidence[0]).unwrap();
    let theirs = Checkpoint::from_note_unverified(evidence[1]).unwrap();
    assert_eq!((ours.size, theirs.size), (7, 7));
    assert_eq!(theirs.root_hash, cp_b.root_hash);
    assert_ne!(ours.root_hash, theirs.root_hash);
    // The witness's copy carries its cosignature (under its key's name).
    let key_name = witness.vkey().split('+').next().unwrap().to_string();
    assert!(
        evidence[1].contains(&format!("\n— {key_name} ")),
        "{}",
        evidence[1]
    );

    // A policy whose witnesses have no URL gives the monitor nothing to compare: refused.
    std::fs::write(&policy, format!("witness w1 {}\nquorum w1\n", witness.vkey())).unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no witness has a URL"));
}

/// A tiny deterministic generator for kill delays (the seed is printed to reproduce a run).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Waits for `child` at most `delay`, then SIGKILLs it; its stdout is read meanwhile (a
/// full pipe would stall it). Returns its stdout, its exit status, and whether it was killed.
fn kill_after(mut child: Child, delay: Duration) -> (Vec<u8>, Option<i32>, String, bool) {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = stderr.read_to_string(&mut buf);
        buf
    });
    let started = Instant::now();
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() >= delay {
            killed = child.kill().is_ok();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    (out.join().unwrap(), status.code(), err.join().unwrap(), killed)
}

/// The monitor SIGKILLed at random points of its runs (state opening, scanning, committing,
/// writing the outbox): over all runs every watched entry is reported, and a report is
/// repeated at most once per kill (a line written just before the kill, before its removal
/// from the outbox committed, carries the same `id`); none is ever skipped.
#[test]
fn sigkill_at_any_point_neither_skips_nor_repeats_beyond_the_documented_window() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let trust = server.dir.join("trust_config.json");
    let state = tmp.path().join("state");
    let watched = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let watch = tmp.path().join("watch.yaml");
    watch_key(&watch, &watched);
    let want = fill(&server, &watched, 600, 3, 8);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill-delay seed {seed}");
    let mut rng = Lcg(seed);
    let mut reported: Vec<u64> = Vec::new();
    let mut kills = 0u64;
    let mut finished = false;
    // How long a whole run takes here: kills are spread over it (set by the first round).
    let mut run_time = Duration::from_secs(60);
    for round in 0..200u32 {
        let child = monitor(
            &trust,
            &state,
            &[
                "--once",
                "--config",
                watch.to_str().unwrap(),
                "--max-entries",
                "50",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // The first round and every fourth one run to the end; the others are killed at a
        // point spread over a run's life.
        let delay = if round.is_multiple_of(4) {
            Duration::from_secs(120)
        } else {
            run_time.mul_f64(rng.below(800) as f64 / 1000.0)
        };
        let started = Instant::now();
        let (stdout, code, stderr, killed) = kill_after(child, delay);
        if !killed {
            // The quickest whole run: the first, with cold caches, is slower than the rest.
            run_time = run_time.min(started.elapsed());
        }
        // A killed run may have written half a line last; whole lines are what counts.
        let text = String::from_utf8_lossy(&stdout).into_owned();
        for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert_eq!(v["type"], "match", "{v}");
            reported.push(v["index"].as_u64().unwrap());
        }
        if killed {
            kills += 1;
            continue;
        }
        assert!(matches!(code, Some(0 | 1)), "{stderr}");
        let mut seen = reported.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen == want && code == Some(0) {
            finished = true;
            break;
        }
    }
    assert!(finished, "the monitor did not get through the log");
    let mut unique = reported.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique, want, "every watched entry reported");
    let repeats = reported.len() as u64 - unique.len() as u64;
    eprintln!(
        "{kills} kills, {repeats} repeated reports, {} reports; a whole run takes {run_time:?}",
        reported.len()
    );
    assert!(kills >= 6, "too few runs were killed ({kills}) to test anything");
    assert!(repeats <= kills, "{repeats} repeats for {kills} kills");
}

/// How the tampering proxy changes what the log serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flip {
    /// Flip a byte of the level-0 hash tile.
    HashTile,
    /// Flip a byte inside the first entry bundle.
    EntryBundle,
    /// Serve the level-0 hash tile one hash short.
    ShortTile,
}

/// A proxy in front of `upstream` that changes one kind of resource as `flip` says.
fn tampering_proxy(upstream: String, flip: Flip) -> String {
    common::tampering_proxy(upstream, move |path, body| {
        let is_tile0 = path.contains("/tile/0/000");
        let is_bundle0 = path.contains("/tile/entries/000");
        match flip {
            Flip::HashTile if is_tile0 => body[5] ^= 1,
            Flip::ShortTile if is_tile0 => body.truncate(body.len() - 32),
            Flip::EntryBundle if is_bundle0 => {
                // A byte inside the first entry's JSON (after its 2-byte length).
                let i = body.iter().position(|&b| b == b'"').unwrap();
                body[i + 1] ^= 0x20;
            }
            _ => {}
        }
    })
}

/// A real log served through a proxy that tampers with its tiles: a hash tile that does not
/// give the signed root, an entry bundle whose entries do not hash to the signed tree, and a
/// tile of the wrong size are each reported as what they are, with exit 3 (evidence against
/// the log) or 2 (a broken input).
#[test]
fn tiles_that_disagree_with_the_checkpoint_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"));
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    fill(&server, &key, 20, 1, 2);
    let trust: serde_json::Value =
        serde_json::from_slice(&std::fs::read(server.dir.join("trust_config.json")).unwrap()).unwrap();
    for (flip, code, check) in [
        (Flip::HashTile, 3, "tiles_root"),
        (Flip::EntryBundle, 3, "entries_root"),
        (Flip::ShortTile, 2, "tile"),
    ] {
        let proxy = tampering_proxy(server.url.clone(), flip);
        // The same trust material with the log's address replaced by the proxy's (the
        // checkpoint origin is the host name, which both share).
        let text = trust.to_string().replace(&server.url, &proxy);
        let path = tmp.path().join(format!("trust-{flip:?}.json"));
        std::fs::write(&path, text).unwrap();
        let out = monitor(&path, &tmp.path().join(format!("state-{flip:?}")), &["--once"])
            .output()
            .unwrap();
        let lines = lines_of(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{flip:?}: {lines:?}");
        let finding = &lines[0];
        assert_eq!(finding["check"], check, "{flip:?}: {finding}");
        assert_eq!(finding["type"], if code == 3 { "alert" } else { "error" });
        assert!(
            finding["log"].as_str().unwrap().contains("127.0.0.1"),
            "{finding}"
        );
    }
}
