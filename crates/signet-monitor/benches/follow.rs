//! Entries per second through `follow_log`: every entry hashed into the recomputed tree, its
//! body parsed, its certificate parsed and matched against a watch list, one consistency proof
//! per batch, and an inclusion proof per match. Two figures over the same log of real Fulcio
//! leaves (one distinct certificate per entry): read from memory, and read over HTTP from a
//! tlog-tiles server on loopback (a local log's tiles, as `signet monitor` reads them).
//!
//! `cargo bench -p signet-monitor --bench follow` (`SIGNET_MONITOR_BENCH_ENTRIES`, default
//! 100000; `SIGNET_MONITOR_BENCH_THREADS`, default: the machine's cores).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use signet_client::http::Http;
use signet_formats::rekor_v2::VerifierKey;
use signet_monitor::source::HttpLog;
use signet_monitor::testlog::{hashedrekord_body, MemoryLog, TestCa};
use signet_monitor::{follow_log, Context, FollowOptions, LogSource, Rules, Store};
use signet_tlog::{EntryBundleId, TileId, TILE_WIDTH};

const WATCH: &str = r#"
monitoredValues:
  certIdentities:
    - certSubject: ^alice@example\.com$
      issuers: [^https://accounts\.example\.com$]
    - certSubject: https://github\.com/example/.*/release\.yml@refs/tags/.*
      issuers: [^https://token\.actions\.githubusercontent\.com$]
    - certSubject: nobody@nowhere\.example
  fingerprints: [0000000000000000000000000000000000000000000000000000000000000000]
  oidMatchers:
    fulcioExtensions:
      build-signer-uri: [https://github.com/example/app/.github/workflows/release.yml@refs/tags/v1]
"#;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env("SIGNET_MONITOR_BENCH_ENTRIES", 100_000);
    let threads = env(
        "SIGNET_MONITOR_BENCH_THREADS",
        std::thread::available_parallelism().map_or(1, |c| c.get() as u64),
    ) as usize;
    let ca = TestCa::new().expect("test CA");
    let mut log = MemoryLog::new("127.0.0.1").expect("log");
    let started = Instant::now();
    let mut watched = 0u64;
    for i in 0..n {
        let email = match i % 100 {
            0 => {
                watched += 1;
                "alice@example.com".to_string()
            }
            k => format!("user{k}@example.com"),
        };
        let leaf = ca
            .leaf(&email, "https://accounts.example.com", None, i + 1)
            .expect("leaf");
        let digest = signet_crypto::sha256(&i.to_be_bytes());
        log.append(hashedrekord_body(digest, VerifierKey::X509Certificate(leaf)));
    }
    eprintln!(
        "built a log of {n} entries ({watched} watched) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let rules = Rules::from_yaml(WATCH).expect("watch list");
    breakdown(&log, &rules);
    let options = FollowOptions {
        threads,
        ..FollowOptions::default()
    };
    let now = || "2026-01-01T00:00:00Z".to_string();
    let ctx = Context {
        rules: &rules,
        options: &options,
        now: &now,
    };

    let mut sink: Vec<String> = Vec::new();
    let started = Instant::now();
    let outcome = follow_log(
        &log.target(),
        &log,
        &mut Store::in_memory().expect("store"),
        &ctx,
        &mut sink,
    );
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        (outcome.entries, outcome.matches, outcome.alerts, outcome.errors),
        (n, watched, 0, 0)
    );
    println!(
        "follow (memory): {n} entries in {secs:.2}s = {:.0} entries/s, {threads} threads",
        n as f64 / secs
    );

    let url = serve(&log);
    let http = Http::new().expect("http");
    let source = HttpLog::new(&http, &url);
    let started = Instant::now();
    for b in 0..n.div_ceil(256) {
        let w = (n - b * 256).min(256) as u16;
        std::hint::black_box(
            source
                .entry_bundle(&EntryBundleId { index: b, width: w })
                .expect("bundle"),
        );
    }
    eprintln!(
        "  fetching every entry bundle over HTTP: {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let mut target = log.target();
    target.base_url = url;
    let state = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(state.path()).expect("store");
    let mut sink: Vec<String> = Vec::new();
    let started = Instant::now();
    let outcome = follow_log(&target, &source, &mut store, &ctx, &mut sink);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        (outcome.entries, outcome.matches, outcome.alerts, outcome.errors),
        (n, watched, 0, 0),
        "{sink:?}"
    );
    println!(
        "follow (HTTP tiles on loopback, SQLite state): {n} entries in {secs:.2}s = {:.0} entries/s, {threads} threads",
        n as f64 / secs
    );
}

/// Single-thread time per entry of each stage, over the log's first 20000 entries.
fn breakdown(log: &MemoryLog, rules: &Rules) {
    let k = log.size().min(20_000);
    let bodies: Vec<Vec<u8>> = (0..k.div_ceil(256))
        .flat_map(|b| {
            let w = (k - b * 256).min(256) as u16;
            let bundle = log
                .entry_bundle(&EntryBundleId { index: b, width: w })
                .expect("bundle");
            signet_tlog::decode_entry_bundle(&bundle)
                .expect("decode")
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    let time = |what: &str, f: &dyn Fn(&[u8])| {
        let started = Instant::now();
        for b in &bodies {
            f(b);
        }
        eprintln!(
            "  {what}: {:.2} µs/entry",
            started.elapsed().as_secs_f64() * 1e6 / bodies.len() as f64
        );
    };
    eprintln!(
        "stages, one thread, {} entries of {} bytes on average:",
        bodies.len(),
        bodies.iter().map(Vec::len).sum::<usize>() / bodies.len().max(1)
    );
    time("leaf hash", &|b| {
        std::hint::black_box(signet_tlog::leaf_hash(b));
    });
    time("Entry::from_json", &|b| {
        std::hint::black_box(signet_formats::rekor_v2::Entry::from_json(b).ok());
    });
    let everything = signet_monitor::entry::Wanted::everything();
    time(
        "read_entry, every fact (body, certificate, fingerprints, extensions)",
        &|b| {
            std::hint::black_box(signet_monitor::entry::read_entry(b, &everything).ok());
        },
    );
    let wanted = signet_monitor::entry::wanted_for_rules(rules);
    time("read_entry (what the watch list reads) + match_entry", &|b| {
        if let Ok(f) = signet_monitor::entry::read_entry(b, &wanted) {
            std::hint::black_box(signet_monitor::matching::match_entry(rules, &f));
        }
    });
}

/// Serves the log's checkpoint, hash tiles and entry bundles over HTTP/1.1 (keep-alive) on a
/// loopback port, from bytes prepared up front.
fn serve(log: &MemoryLog) -> String {
    let size = log.size();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    files.insert(
        "/checkpoint".into(),
        log.checkpoint().expect("checkpoint").into_bytes(),
    );
    let width = u64::from(TILE_WIDTH);
    for level in 0..8u8 {
        let mut index = 0u64;
        while let Some(w) = TileId::width_in_tree(level, index, size) {
            let id = TileId {
                level,
                index,
                width: w,
            };
            files.insert(format!("/{}", id.path()), log.hash_tile(&id).expect("tile"));
            index += 1;
        }
    }
    for index in 0..size.div_ceil(width) {
        let w = (size - index * width).min(width) as u16;
        let id = EntryBundleId { index, width: w };
        files.insert(format!("/{}", id.path()), log.entry_bundle(&id).expect("bundle"));
    }
    let files = Arc::new(files);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut stream = stream;
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut header = String::new();
                    while reader.read_line(&mut header).is_ok() && header != "\r\n" && !header.is_empty() {
                        header.clear();
                    }
                    let path = request.split(' ').nth(1).unwrap_or("");
                    let reply = match files.get(path) {
                        Some(body) => {
                            let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                                .into_bytes();
                            r.extend_from_slice(body);
                            r
                        }
                        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                    };
                    if stream.write_all(&reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}
