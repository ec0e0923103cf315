//! Entries per second through the follower for each kind of log, from memory, over the same
//! identities: a Rekor v2 log (the baseline of `benches/follow.rs`), a Rekor v1 log read
//! through its API (hashedrekord 0.0.1 bodies with PEM certificates, ten entries per
//! retrieve, an inclusion proof served with each), and a CT log of precertificates read
//! through RFC 6962 (get-entries pages of 256) and through static-ct-api (data tiles). Every
//! entry is hashed into the recomputed tree, parsed and matched; every batch proven a prefix of
//! the signed tree; every match proven included. The answers are built (JSON, base64) by the
//! in-memory logs as the follower asks, so the API figures include making the answers.
//!
//! `cargo bench -p signet-monitor --bench follow_kinds` (`SIGNET_MONITOR_BENCH_ENTRIES`,
//! default 50000; `SIGNET_MONITOR_BENCH_THREADS`, default: the machine's cores).

use std::time::Instant;

use signet_formats::rekor_v2::VerifierKey;
use signet_monitor::ct::Rfc6962Protocol;
use signet_monitor::follow::{follow, Protocol};
use signet_monitor::source::Tiles;
use signet_monitor::testlog::{
    certificate_pem, hashedrekord_body, hashedrekord_v1_body, MemoryCtLog, MemoryLog, MemoryV1Log, TestCa,
};
use signet_monitor::tiles::TilesProtocol;
use signet_monitor::v1::V1Protocol;
use signet_monitor::{
    follow_log, Context, CtProtocol, CtSource, FollowOptions, LogKind, Outcome, Rules, Store, V1Source,
};

const WATCH: &str = r#"
monitoredValues:
  certIdentities:
    - certSubject: ^alice@example\.com$
      issuers: [^https://accounts\.example\.com$]
    - certSubject: nobody@nowhere\.example
"#;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env("SIGNET_MONITOR_BENCH_ENTRIES", 50_000);
    let threads = env(
        "SIGNET_MONITOR_BENCH_THREADS",
        std::thread::available_parallelism().map_or(1, |c| c.get() as u64),
    ) as usize;
    let ca = TestCa::new().expect("test CA");
    let mut v2 = MemoryLog::new("v2.example").expect("log");
    let mut v1 = MemoryV1Log::new("v1.example").expect("log");
    let mut ct = MemoryCtLog::new("ct.example").expect("log");
    ct.page = 256;
    let mut watched = 0u64;
    let started = Instant::now();
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
        v1.append(hashedrekord_v1_body(digest, &certificate_pem(&leaf)));
        ct.append(&leaf, true).expect("precert");
        v2.append(hashedrekord_body(digest, VerifierKey::X509Certificate(leaf)));
    }
    eprintln!(
        "built three logs of {n} entries ({watched} watched) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let rules = Rules::from_yaml(WATCH).expect("watch list");
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
    let time = |what: &str, run: &dyn Fn(&mut Store, &mut Vec<String>) -> Outcome| {
        let mut sink = Vec::new();
        let started = Instant::now();
        let outcome = run(&mut Store::in_memory().expect("store"), &mut sink);
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(
            (outcome.entries, outcome.matches, outcome.alerts, outcome.errors),
            (n, watched, 0, 0),
            "{what}: {:?}",
            sink.last()
        );
        println!(
            "follow {what} (memory): {n} entries in {secs:.2}s = {:.0} entries/s, {threads} threads",
            n as f64 / secs
        );
    };
    // What the in-memory logs spend making their answers (an ECDSA-signed checkpoint per v1
    // retrieve of ten, an inclusion proof and JSON per entry; a page of JSON per get-entries):
    // part of the API figures below, not the monitor's work.
    let started = Instant::now();
    for first in (0..n).step_by(10) {
        let indexes: Vec<u64> = (first..(first + 10).min(n)).collect();
        std::hint::black_box(v1.retrieve(&indexes).expect("retrieve"));
    }
    eprintln!(
        "  the v1 log making its retrieve answers: {:.2}s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for first in (0..n).step_by(256) {
        std::hint::black_box(
            ct.get_entries(first, (first + 255).min(n - 1))
                .expect("get-entries"),
        );
    }
    eprintln!(
        "  the CT log making its get-entries answers: {:.2}s",
        started.elapsed().as_secs_f64()
    );
    time("Rekor v2 tiles", &|store, sink| {
        follow_log(&v2.target(), &v2, store, &ctx, sink)
    });
    let v1_target = v1.target();
    let LogKind::RekorV1(v1_log) = &v1_target.kind else {
        unreachable!()
    };
    time("Rekor v1 API", &|store, sink| {
        let mut p = V1Protocol::new(v1_log, &v1).with_concurrent_requests(2);
        follow(&v1_target, &mut p, store, &ctx, sink)
    });
    let ct_target = ct.target(CtProtocol::Auto);
    let LogKind::Ct(key) = &ct_target.kind else {
        unreachable!()
    };
    time("CT RFC 6962", &|store, sink| {
        follow(&ct_target, &mut Rfc6962Protocol::new(key, &ct), store, &ctx, sink)
    });
    time("CT static-ct-api", &|store, sink| {
        let tiles = Tiles::new(&ct);
        let mut p = TilesProtocol::static_ct(key, &tiles);
        follow(&ct_target, &mut p as &mut dyn Protocol, store, &ctx, sink)
    });
}
