//! How long the witness takes to answer `add-checkpoint` (goal: under 5 ms).
//!
//! `cargo bench -p signet-witness --bench add_checkpoint [-- ROUNDS]`
//!
//! One log grows by one leaf per round; each round's request (checkpoint signed by the log's
//! Ed25519 key, consistency proof from the previous size) is built before the clock starts.
//! Two measurements, each a fresh witness with its SQLite state on the build's disk
//! (`target/`, WAL, `synchronous=FULL`: every answer waits for an fsync):
//!
//! - `fsync`: the floor, a 200-byte append and fdatasync on the same disk;
//! - `service`: `WitnessService::add_checkpoint` in process (parse, signature check, proof
//!   check, cosignature, one committed transaction); `tmpfs`: the same with the database on
//!   /dev/shm, where a sync costs nothing (the CPU's share);
//! - `http`: the same over HTTP/1.1 on loopback through the witness's axum routes, one
//!   keep-alive connection, request sent to answer read (what a log waits for).

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{sign_checkpoint, Checkpoint, CosignatureSigner, MemoryTree, NoteSigner};
use signet_witness::sqlite::SqliteStore;
use signet_witness::{AddCheckpointRequest, Logs, Witness, WitnessService};

const ORIGIN: &str = "bench.example/log";

/// The request bodies of `rounds` consecutive checkpoints of a growing log.
fn requests(log: &NoteSigner, rounds: usize) -> Vec<Vec<u8>> {
    let mut tree = MemoryTree::new();
    tree.push_data(b"leaf 0");
    let mut bodies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let old = tree.size();
        tree.push_data(format!("leaf {}", old).as_bytes());
        let size = tree.size();
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root_hash: tree.root(),
            extensions: vec![],
        };
        // The first request is from 0 (no proof), then each from the previous size.
        let (old_size, proof) = if round == 0 {
            (0, vec![])
        } else {
            (old, tree.consistency_proof(old, size).unwrap())
        };
        bodies.push(
            AddCheckpointRequest {
                old_size,
                proof,
                checkpoint: sign_checkpoint(&checkpoint, &[log]).unwrap(),
            }
            .to_bytes(),
        );
    }
    bodies
}

fn service(log: &NoteSigner, dir: &std::path::Path) -> WitnessService {
    let store = SqliteStore::open(&dir.join("witness.db"), true).unwrap();
    let mut logs = Logs::default();
    logs.add(ORIGIN, log.verifier()).unwrap();
    let signer = CosignatureSigner::new(
        "bench.example/witness",
        SigningKey::generate(KeyKind::Ed25519).unwrap(),
    )
    .unwrap();
    WitnessService::new(Witness::new(signer, logs), Box::new(store))
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:8} n={} mean {:.3} ms  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        samples.len(),
        ms(mean),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(pct(1.0)),
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let log = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let bodies = requests(&log, rounds);
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let now = 1_760_000_000;

    // The floor for any witness that persists before answering: append 200 bytes to a file
    // on the same disk and fdatasync it.
    let mut file = std::fs::File::create(tmp.path().join("fsync")).unwrap();
    let samples = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&[0x5a; 200]).unwrap();
            file.sync_data().unwrap();
            start.elapsed()
        })
        .collect();
    report("fsync", samples);

    // In process: on the build's disk, and on tmpfs (no fsync cost: the CPU's share).
    let in_process = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).unwrap();
        let witness = service(&log, dir);
        bodies
            .iter()
            .map(|body| {
                let start = Instant::now();
                witness.add_checkpoint(body, now).unwrap();
                start.elapsed()
            })
            .collect()
    };
    report("service", in_process(&tmp.path().join("service")));
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        let tmpfs = tempfile::tempdir_in(shm).unwrap();
        report("tmpfs", in_process(tmpfs.path()));
    }

    // Over HTTP.
    let dir = tmp.path().join("http");
    std::fs::create_dir_all(&dir).unwrap();
    let witness = Arc::new(service(&log, &dir));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let samples = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, signet_witness::http::router(witness))
                .await
                .unwrap();
        });
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut samples = Vec::with_capacity(bodies.len());
        for body in bodies {
            let request = hyper::Request::post("/add-checkpoint")
                .header("host", addr.to_string())
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let start = Instant::now();
            sender.ready().await.unwrap();
            let response = sender
                .send_request(request)
                .await
                .unwrap_or_else(|e| panic!("add-checkpoint over HTTP: {e:?}"));
            let status = response.status();
            let answer = response.into_body().collect().await.unwrap().to_bytes();
            samples.push(start.elapsed());
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        }
        samples
    });
    report("http", samples);
}
