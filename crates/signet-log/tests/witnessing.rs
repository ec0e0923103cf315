//! The witness collector (signet_log::witnessing) against witnesses on loopback: real
//! signet-witness services (C2SP tlog-witness, SQLite state in a temporary directory) for the
//! protocol, and small misbehaving servers for what a log must survive: slowness, a wiped
//! witness (409 and resync), cosignatures that do not verify, garbage, huge answers, silence.
//! Then the appender: a log that holds its checkpoints until the quorum cosigns them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use signet_crypto::{KeyKind, SigningKey};
use signet_log::witnessing::{Collector, ConsistencyProofs, OnMissedQuorum, WitnessingError};
use signet_log::{Appender, AppenderConfig, SignedCheckpoint, Witnessing};
use signet_tlog::{
    sign_checkpoint, Checkpoint, CosignatureSigner, Hash, MemoryTree, Note, NoteSigner, WitnessPolicy,
};
use signet_witness::{Logs, Witness, WitnessService};

const ORIGIN: &str = "log.example/witnessed";

/// A log's tree in memory and its key: checkpoints and proofs for the collector.
struct TestLog {
    signer: NoteSigner,
    tree: Mutex<MemoryTree>,
    proofs_made: AtomicU64,
}

impl TestLog {
    fn new() -> Arc<Self> {
        Arc::new(TestLog {
            signer: NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap(),
            tree: Mutex::new(MemoryTree::new()),
            proofs_made: AtomicU64::new(0),
        })
    }

    /// Grows the tree to `size` and signs its checkpoint.
    fn checkpoint(&self, size: u64) -> SignedCheckpoint {
        let mut tree = self.tree.lock().unwrap();
        while tree.size() < size {
            let n = tree.size();
            tree.push_data(format!("entry {n}").as_bytes());
        }
        let root = tree.root_at(size).unwrap();
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root_hash: root,
            extensions: vec![],
        };
        SignedCheckpoint {
            size,
            root,
            note: sign_checkpoint(&cp, &[&self.signer]).unwrap(),
        }
    }

    fn log_arg(&self) -> String {
        format!("{ORIGIN} {}", self.signer.verifier().vkey().unwrap())
    }
}

impl ConsistencyProofs for TestLog {
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        self.proofs_made.fetch_add(1, Ordering::SeqCst);
        self.tree
            .lock()
            .unwrap()
            .consistency_proof(old, new)
            .map_err(|e| e.to_string())
    }
}

/// Serves `router` on a free loopback port until the test ends.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A real witness for `log`, its state in `dir`, answering after `delay`.
struct RealWitness {
    signer_vkey: String,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

async fn real_witness(name: &str, log: &TestLog, delay: Duration) -> RealWitness {
    let dir = tempfile::tempdir().unwrap();
    let signer = CosignatureSigner::new(name, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let signer_vkey = signer.verifier().vkey();
    let mut logs = Logs::default();
    logs.add_argument(&log.log_arg()).unwrap();
    let store = signet_witness::sqlite::SqliteStore::open(&dir.path().join("w.db"), true).unwrap();
    let service = Arc::new(WitnessService::new(Witness::new(signer, logs), Box::new(store)));
    let router = signet_witness::http::router(service).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            tokio::time::sleep(delay).await;
            next.run(req).await
        },
    ));
    RealWitness {
        signer_vkey,
        addr: serve(router).await,
        _dir: dir,
    }
}

/// A server answering every add-checkpoint with `answer`, after `delay`.
async fn fake_witness(
    delay: Duration,
    answer: impl Fn(Bytes) -> (StatusCode, Vec<u8>) + Clone + Send + Sync + 'static,
) -> SocketAddr {
    serve(Router::new().route(
        "/add-checkpoint",
        post(move |body: Bytes| {
            let answer = answer.clone();
            async move {
                tokio::time::sleep(delay).await;
                answer(body)
            }
        }),
    ))
    .await
}

fn policy(witnesses: &[(&str, &str, SocketAddr)], quorum: &str) -> WitnessPolicy {
    let mut text = String::new();
    for (name, vkey, addr) in witnesses {
        text.push_str(&format!("witness {name} {vkey} http://{addr}\n"));
    }
    text.push_str(quorum);
    WitnessPolicy::parse(&text).unwrap()
}

fn collector(policy: WitnessPolicy, timeout: Duration, log: &Arc<TestLog>) -> Collector {
    Collector::new(policy, timeout, log.clone()).unwrap()
}

fn cosigner(name: &str) -> CosignatureSigner {
    CosignatureSigner::new(name, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap()
}

/// The witnesses whose cosignature on `note` verifies, by key name.
fn cosigned_by(note: &str, witnesses: &[&str]) -> Vec<String> {
    let note = Note::parse(note).unwrap();
    let mut names: Vec<String> = note
        .signatures()
        .iter()
        .filter(|s| witnesses.contains(&s.name.as_str()))
        .map(|s| s.name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witnesses_are_asked_in_parallel_and_resynced_on_409() {
    let log = TestLog::new();
    let delay = Duration::from_millis(300);
    let (a, b, c) = (
        real_witness("w.example/a", &log, delay).await,
        real_witness("w.example/b", &log, delay).await,
        real_witness("w.example/c", &log, delay).await,
    );
    let p = policy(
        &[
            ("a", &a.signer_vkey, a.addr),
            ("b", &b.signer_vkey, b.addr),
            ("c", &c.signer_vkey, c.addr),
        ],
        "group two 2 a b c\nquorum two\n",
    );
    let collector = collector(p, Duration::from_secs(5), &log);

    // First contact: every witness is probed from 0 and cosigns; three 300 ms witnesses in
    // parallel take one delay, not three.
    let started = Instant::now();
    let round = collector.cosign(&log.checkpoint(5)).await;
    let took = started.elapsed();
    assert!(round.quorum, "{round:?}");
    assert_eq!(round.cosigned_by, ["a", "b", "c"]);
    assert!(took < delay * 2, "three witnesses took {took:?}: not in parallel");
    let names = ["w.example/a", "w.example/b", "w.example/c"];
    assert_eq!(cosigned_by(&round.checkpoint.note, &names), names);
    // The log's own signature is still first and valid.
    signet_tlog::verify_checkpoint(&round.checkpoint.note, ORIGIN, &[log.signer.verifier()]).unwrap();
    assert_eq!(
        log.proofs_made.load(Ordering::SeqCst),
        0,
        "no proof is needed from 0"
    );

    // Next checkpoint: all three were at 5, so one proof 5 -> 9 serves the three.
    let round = collector.cosign(&log.checkpoint(9)).await;
    assert!(round.quorum);
    assert_eq!(log.proofs_made.load(Ordering::SeqCst), 1, "one proof, shared");
    assert_eq!(collector.stats.proofs.load(Ordering::SeqCst), 1);

    // Witness b is moved ahead behind the collector's back (another front end of the log, or
    // an operator, submitted size 11): the collector still assumes 9, gets 409 "11", and
    // retries with a proof from 11. a and c share one proof from 9.
    let eleven = log.checkpoint(11);
    let ahead = signet_tlog::AddCheckpointRequest {
        old_size: 9,
        proof: log.consistency_proof(9, 11).unwrap(),
        checkpoint: eleven.note,
    };
    assert!(raw_post(b.addr, &ahead.to_bytes())
        .await
        .starts_with("HTTP/1.1 200"));
    log.proofs_made.store(0, Ordering::SeqCst);
    let round = collector.cosign(&log.checkpoint(12)).await;
    assert!(round.quorum);
    assert_eq!(round.cosigned_by, ["a", "b", "c"], "{round:?}");
    assert_eq!(
        log.proofs_made.load(Ordering::SeqCst),
        2,
        "9 -> 12 shared, 11 -> 12 for b"
    );
    let text = metrics(&collector);
    assert!(
        text.contains("signet_log_witness_conflicts_total{witness=\"b\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_conflicts_total{witness=\"a\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_requests_total{witness=\"b\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_requests_total{witness=\"a\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_failures_total{witness=\"b\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_request_seconds_count{witness=\"a\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_quorum_misses_total 0\n"),
        "{text}"
    );
    assert_eq!(
        collector.witness_sizes(),
        [
            ("a".to_string(), Some(12)),
            ("b".to_string(), Some(12)),
            ("c".to_string(), Some(12))
        ]
    );

    // A restarted log seeded from its last published checkpoint knows every size: no 409.
    let p = || {
        policy(
            &[
                ("a", &a.signer_vkey, a.addr),
                ("b", &b.signer_vkey, b.addr),
                ("c", &c.signer_vkey, c.addr),
            ],
            "group two 2 a b c\nquorum two\n",
        )
    };
    let seeded = collector_seeded(p(), &log, &round.checkpoint);
    let round = seeded.cosign(&log.checkpoint(14)).await;
    assert!(round.quorum);
    assert!(metrics(&seeded).contains("signet_log_witness_requests_total{witness=\"b\"} 1\n"));
    // One that knows nothing probes from 0: three 409s, one shared proof from 14.
    log.proofs_made.store(0, Ordering::SeqCst);
    let blank = self::collector(p(), Duration::from_secs(5), &log);
    let round = blank.cosign(&log.checkpoint(15)).await;
    assert!(round.quorum);
    assert_eq!(log.proofs_made.load(Ordering::SeqCst), 1);
    let text = metrics(&blank);
    for name in ["a", "b", "c"] {
        assert!(
            text.contains(&format!(
                "signet_log_witness_conflicts_total{{witness=\"{name}\"}} 1\n"
            )),
            "{text}"
        );
    }
}

/// POSTs an add-checkpoint body over a plain HTTP/1.1 connection; the whole answer as text.
async fn raw_post(addr: SocketAddr, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A collector whose witnesses' sizes come from a checkpoint published before (a restart).
fn collector_seeded(p: WitnessPolicy, log: &Arc<TestLog>, published: &SignedCheckpoint) -> Collector {
    let c = collector(p, Duration::from_secs(5), log);
    c.seed(published);
    c
}

fn metrics(c: &Collector) -> String {
    let mut out = signet_log::metrics::MetricsWriter::new();
    c.write_metrics(&mut out, "signet_log");
    out.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_dropped_and_the_quorum_says_so() {
    let log = TestLog::new();
    let good = real_witness("w.example/good", &log, Duration::ZERO).await;
    // Answers 200 with a valid cosignature by another key.
    let impostor = cosigner("w.example/liar");
    let liar_key = cosigner("w.example/liar");
    let lying = {
        let impostor = Arc::new(impostor);
        fake_witness(Duration::ZERO, move |body| {
            let req = signet_tlog::AddCheckpointRequest::parse(&body).unwrap();
            let text = Note::parse(&req.checkpoint).unwrap().text().to_string();
            (
                StatusCode::OK,
                impostor
                    .cosign(&text, 1_700_000_000)
                    .unwrap()
                    .to_line()
                    .into_bytes(),
            )
        })
        .await
    };
    // Answers 200 with its own key's cosignature over another checkpoint.
    let stale_key = Arc::new(cosigner("w.example/stale"));
    let stale = {
        let key = stale_key.clone();
        fake_witness(Duration::ZERO, move |_| {
            let other = "log.example/witnessed\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
            (
                StatusCode::OK,
                key.cosign(other, 1_700_000_000).unwrap().to_line().into_bytes(),
            )
        })
        .await
    };
    let garbage = fake_witness(Duration::ZERO, |_| {
        (StatusCode::OK, b"<html>hello</html>\n".to_vec())
    })
    .await;
    let huge = fake_witness(Duration::ZERO, |_| (StatusCode::OK, vec![b'a'; 8 << 20])).await;
    let silent = fake_witness(Duration::from_secs(30), |_| (StatusCode::OK, vec![])).await;
    let bad_409 = fake_witness(Duration::ZERO, |_| (StatusCode::CONFLICT, b"many\n".to_vec())).await;
    let ahead = fake_witness(Duration::ZERO, |_| (StatusCode::CONFLICT, b"1000\n".to_vec())).await;
    let refusing = fake_witness(Duration::ZERO, |_| {
        (StatusCode::FORBIDDEN, b"unknown key\n".to_vec())
    })
    .await;

    let vk = |s: &CosignatureSigner| s.verifier().vkey();
    let others: Vec<CosignatureSigner> = (0..6).map(|i| cosigner(&format!("w.example/x{i}"))).collect();
    let p = policy(
        &[
            ("good", &good.signer_vkey, good.addr),
            ("liar", &vk(&liar_key), lying),
            ("stale", &vk(&stale_key), stale),
            ("garbage", &vk(&others[0]), garbage),
            ("huge", &vk(&others[1]), huge),
            ("silent", &vk(&others[2]), silent),
            ("bad409", &vk(&others[3]), bad_409),
            ("ahead", &vk(&others[4]), ahead),
            ("refusing", &vk(&others[5]), refusing),
        ],
        "group two 2 good liar stale garbage huge silent bad409 ahead refusing\nquorum two\n",
    );
    let c = collector(p, Duration::from_millis(700), &log);
    let started = Instant::now();
    let round = c.cosign(&log.checkpoint(3)).await;
    let took = started.elapsed();
    // The round ends at its deadline despite the silent witness.
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Only the good witness's cosignature is on the checkpoint: the quorum (2) is missed.
    assert_eq!(round.cosigned_by, ["good"]);
    assert!(!round.quorum);
    let note = Note::parse(&round.checkpoint.note).unwrap();
    assert_eq!(
        note.signatures().len(),
        2,
        "the log's signature and one cosignature"
    );
    let text = metrics(&c);
    for name in [
        "liar", "stale", "garbage", "huge", "silent", "bad409", "ahead", "refusing",
    ] {
        assert!(
            text.contains(&format!(
                "signet_log_witness_failures_total{{witness=\"{name}\"}} 1\n"
            )),
            "{name}: {text}"
        );
    }
    assert!(
        text.contains("signet_log_witness_failures_total{witness=\"good\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("signet_log_witness_quorum_misses_total 1\n"),
        "{text}"
    );
    // A 409 naming a size beyond the log's is not retried (the log cannot prove from there).
    assert!(
        text.contains("signet_log_witness_requests_total{witness=\"ahead\"} 1\n"),
        "{text}"
    );
}

#[test]
fn witness_urls_are_checked() {
    let log = TestLog::new();
    let w = cosigner("w.example/a");
    let vkey = w.verifier().vkey();
    let make = |line: &str| {
        let p = WitnessPolicy::parse(&format!("{line}\nquorum a\n")).unwrap();
        Collector::new(p, Duration::from_secs(1), log.clone())
    };
    assert!(matches!(
        make(&format!("witness a {vkey}")),
        Err(WitnessingError::NoUrl { .. })
    ));
    for url in [
        "http://witness.example",
        "http://10.0.0.1:80",
        "ftp://127.0.0.1",
        "not-a-url",
    ] {
        assert!(
            matches!(
                make(&format!("witness a {vkey} {url}")),
                Err(WitnessingError::BadUrl { .. })
            ),
            "{url}"
        );
    }
    for url in [
        "https://witness.example/prefix",
        "http://127.0.0.1:3030",
        "http://localhost:1/",
        "http://[::1]:8080",
    ] {
        make(&format!("witness a {vkey} {url}")).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// A witnessed appender on a new SQLite log at `db` (the collector reads proofs through a
/// connection of its own), and its collector.
fn witnessed_appender(
    db: &std::path::Path,
    signer: NoteSigner,
    policy: WitnessPolicy,
    timeout: Duration,
    mode: OnMissedQuorum,
) -> (Appender, Arc<Collector>) {
    let store = signet_log::sqlite::SqliteStore::open(db, true).unwrap();
    let proofs = signet_log::witnessing::StoreProofs::new(Box::new(
        signet_log::sqlite::SqliteStore::open(db, false).unwrap(),
    ));
    let collector = Arc::new(Collector::new(policy, timeout, Arc::new(proofs)).unwrap());
    let appender = Appender::start_witnessed(
        Box::new(store),
        ORIGIN.into(),
        signer,
        AppenderConfig::default(),
        Witnessing {
            collector: collector.clone(),
            on_missed_quorum: mode,
            runtime: tokio::runtime::Handle::current(),
        },
    )
    .unwrap();
    (appender, collector)
}

/// A log in hold mode: an entry is not answered (and no checkpoint is published beyond the
/// last cosigned one) while the quorum is missed; once the witness answers, it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_log_answers_only_once_the_quorum_cosigns() {
    let dir = tempfile::tempdir().unwrap();
    let signer = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let log_arg = format!("{ORIGIN} {}", signer.verifier().vkey().unwrap());
    // The witness is a switch: refusing (503) until turned on, then a real witness.
    let on = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let witness_key = cosigner("w.example/switch");
    let vkey = witness_key.verifier().vkey();
    let mut logs = Logs::default();
    logs.add_argument(&log_arg).unwrap();
    let wstore = signet_witness::sqlite::SqliteStore::open(&dir.path().join("w.db"), true).unwrap();
    let service = Arc::new(WitnessService::new(
        Witness::new(witness_key, logs),
        Box::new(wstore),
    ));
    let switch = on.clone();
    let router = signet_witness::http::router(service).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let on = switch.load(Ordering::SeqCst);
            async move {
                if on {
                    next.run(req).await
                } else {
                    axum::response::IntoResponse::into_response((StatusCode::SERVICE_UNAVAILABLE, "down\n"))
                }
            }
        },
    ));
    let addr = serve(router).await;
    let p = policy(&[("w", &vkey, addr)], "quorum w\n");

    let db = dir.path().join("log.db");
    let (appender, c) = witnessed_appender(&db, signer, p, Duration::from_millis(500), OnMissedQuorum::Hold);
    assert!(appender.published().is_none(), "nothing cosigned yet");
    let submit = {
        let appender = appender.clone();
        tokio::spawn(async move {
            appender
                .submit(signet_tlog::leaf_hash(b"one"), b"one".to_vec())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!submit.is_finished(), "answered without a cosigned checkpoint");
    assert!(appender.published().is_none());
    assert!(c.stats.quorum_misses.load(Ordering::SeqCst) >= 1);

    on.store(true, Ordering::SeqCst);
    let answered = tokio::time::timeout(Duration::from_secs(15), submit)
        .await
        .expect("answered once the witness is back")
        .unwrap()
        .unwrap();
    assert_eq!(answered.index, 0);
    assert_eq!(answered.checkpoint.size, 1);
    assert_eq!(
        cosigned_by(&answered.checkpoint.note, &["w.example/switch"]),
        ["w.example/switch"]
    );
    assert_eq!(appender.published().unwrap().note, answered.checkpoint.note);
    // The cosigned checkpoint was kept for a restart.
    let mut reader = signet_log::sqlite::SqliteStore::open(&db, false).unwrap();
    assert_eq!(
        signet_log::LogStore::cosigned_checkpoint(&mut reader)
            .unwrap()
            .as_deref(),
        Some(answered.checkpoint.note.as_str())
    );
}

/// Witnessing does not stop group commit: while a (slow) round is out, batches keep being
/// committed, and one round then covers all of them; every answer carries a cosigned
/// checkpoint that includes its entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_keep_committing_while_a_round_is_out() {
    let dir = tempfile::tempdir().unwrap();
    let signer = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let log = TestLog {
        signer: signer.clone(),
        tree: Mutex::new(MemoryTree::new()),
        proofs_made: AtomicU64::new(0),
    };
    let witness = real_witness("w.example/slow", &log, Duration::from_millis(200)).await;
    let p = policy(&[("slow", &witness.signer_vkey, witness.addr)], "quorum slow\n");
    let db = dir.path().join("log.db");
    let (appender, c) = witnessed_appender(&db, signer, p, Duration::from_secs(5), OnMissedQuorum::FailOpen);
    // Ten waves of twenty entries, 50 ms apart: several waves land during each round.
    let mut answers = Vec::new();
    for wave in 0..10 {
        for i in 0..20 {
            let appender = appender.clone();
            let body = format!("wave {wave} entry {i}").into_bytes();
            answers.push(tokio::spawn(async move {
                let leaf = signet_tlog::leaf_hash(&body);
                (leaf, appender.submit(leaf, body).await)
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut indices = Vec::new();
    for a in answers {
        let (leaf, answer) = a.await.unwrap();
        let answer = answer.unwrap();
        assert_eq!(
            cosigned_by(&answer.checkpoint.note, &["w.example/slow"]),
            ["w.example/slow"]
        );
        let root = signet_tlog::root_from_inclusion_proof(
            &leaf,
            answer.index,
            answer.checkpoint.size,
            &answer.proof,
        );
        assert_eq!(
            root.unwrap(),
            answer.checkpoint.root,
            "proof against the cosigned checkpoint"
        );
        indices.push(answer.index);
    }
    indices.sort();
    assert_eq!(indices, (0..200).collect::<Vec<u64>>());
    let batches = appender.stats.batches.load(Ordering::SeqCst);
    let rounds = c.stats.rounds.load(Ordering::SeqCst);
    // ≥ 10 batches (one per wave at least) against a few 200 ms rounds over ~0.5 s.
    assert!(batches >= 10, "{batches} batches");
    assert!(
        rounds < batches,
        "{rounds} rounds for {batches} batches: rounds held up batching"
    );
    assert_eq!(appender.published().unwrap().size, 200);
}
