//! Lookup latency of a large search index, and what indexing costs per entry
//! (`cargo bench -p signet-index --bench lookup -- [ENTRIES]`, default 1,000,000).
//!
//! The index is filled with postings shaped like a public log's: every entry a distinct
//! digest and certificate, identities drawn from 20,000 (a few heavy CI workflows and many
//! occasional signers), 3 issuers. Then random queries of each kind, timed one by one from
//! parse to page of row ids; the server adds reading the page's entries and one inclusion
//! proof each (measured apart as `answer`, on a real 4,096-entry log).

use std::time::{Duration, Instant};

use signet_index::query::{identity_issuer, Field};
use signet_index::sqlite::{IndexDb, Postings};
use signet_index::SearchQuery;

fn identity(i: u64) -> String {
    // A fifth of all entries from 20 workflows; the rest spread over 19,980 people.
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    if x.is_multiple_of(5) {
        workflow((x / 5) % 20)
    } else {
        format!("user{}@example.com", x % 19_980)
    }
}

fn workflow(k: u64) -> String {
    format!("https://github.com/org{k}/repo/.github/workflows/release.yml@refs/heads/main")
}

fn hex64(tag: u8, i: u64) -> String {
    let mut b = [tag; 32];
    b[..8].copy_from_slice(&i.to_be_bytes());
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const ISSUERS: [&str; 3] = [
    "https://token.actions.githubusercontent.com",
    "https://accounts.google.com",
    "https://github.com/login/oauth",
];

fn postings(i: u64) -> Postings {
    let issuer = ISSUERS[(i % 3) as usize];
    let mut terms = vec![
        (Field::Digest, format!("sha256:{}", hex64(1, i))),
        (Field::Identity, identity(i)),
        (Field::Issuer, issuer.to_string()),
        (Field::IdentityIssuer, identity_issuer(&identity(i), issuer)),
        (Field::KeyFingerprint, hex64(2, i)),
        (Field::CertFingerprint, hex64(3, i)),
    ];
    terms.sort();
    Postings { log_index: i, terms }
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let p = |q: f64| d[((d.len() as f64 * q) as usize).min(d.len() - 1)].as_secs_f64() * 1e3;
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} queries)",
        p(0.5),
        p(0.99),
        d[d.len() - 1].as_secs_f64() * 1e3,
        d.len()
    )
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    let mut db = IndexDb::open(&path, true).unwrap();
    db.reset("bench").unwrap();
    let start = Instant::now();
    let mut from = 0;
    while from < n {
        let to = (from + 256).min(n);
        let batch: Vec<Postings> = (from..to).map(postings).collect();
        db.append(from, to, &batch).unwrap();
        from = to;
    }
    let fill = start.elapsed();
    println!(
        "filled {n} entries ({} postings) in {:.1} s: {:.0} entries/s written, one transaction per 256",
        n * 6,
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );
    let size = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(dir.path().join("index.db-wal")).map_or(0, |m| m.len());
    println!(
        "index file {:.1} MiB ({:.0} bytes/entry)",
        size as f64 / 1048576.0,
        size as f64 / n as f64
    );
    drop(db);

    let reader = IndexDb::open(&path, false).unwrap();
    let mut rng = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    type Case = (&'static str, Box<dyn Fn(u64) -> String>);
    let cases: [Case; 5] = [
        (
            "digest",
            Box::new(move |i| format!("digest=sha256:{}", hex64(1, i % n))),
        ),
        (
            "identity (person)",
            Box::new(move |i| format!("identity={}", enc(&format!("user{}@example.com", i % 19_980)))),
        ),
        (
            "identity (busy workflow)",
            Box::new(move |i| format!("identity={}", enc(&workflow(i % 20)))),
        ),
        (
            "identity+issuer",
            Box::new(move |i| {
                format!(
                    "identity={}&issuer={}",
                    enc(&identity(i % n)),
                    enc(ISSUERS[(i % 3) as usize])
                )
            }),
        ),
        (
            "identity, deep cursor",
            Box::new(move |i| format!("identity={}&cursor=i{}", enc(&identity(i % n)), i % n)),
        ),
    ];
    for (name, make) in &cases {
        let mut times = Vec::with_capacity(10_000);
        let mut rows = 0;
        for _ in 0..10_000 {
            let raw = make(next());
            let t = Instant::now();
            let q = SearchQuery::parse(&raw).unwrap();
            rows += reader.search(&q).unwrap().len();
            times.push(t.elapsed());
        }
        println!(
            "{name:<26} {} ; {:.1} rows/query",
            percentiles(times),
            rows as f64 / 10_000.0
        );
    }
}
