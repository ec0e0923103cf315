//! `cargo bench -p signet-x509 [-- FILTER...]`: RFC 3161 issuance and verification alone, on
//! one core, with a P-256 TSA as signet's own stack makes it ([leaf, root] in the trusted root,
//! the leaf embedded in each token).
//!
//! Plain `main` with `std::time::Instant`: each figure is the best of several repetitions of a
//! loop, with the spread (worst − best) / best beside it. `SIGNET_BENCH_QUICK=1` runs short;
//! `SIGNET_BENCH_ONLY=text` runs only the lines whose label contains `text` (for profiling).

use std::sync::Arc;
use std::time::{Duration, Instant};

use signet_crypto::{HashAlgorithm, KeyKind, PublicKey, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams};
use signet_x509::{oid, verify_timestamp, TimestampRequest, TimestampToken, TokenIssuer, TsaTrust};

const NOW: i64 = 1_750_000_000;

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let quick = std::env::var_os("SIGNET_BENCH_QUICK").is_some();
    let timer = Timer {
        reps: if quick { 3 } else { 7 },
        rep_time: Duration::from_millis(if quick { 60 } else { 250 }),
    };
    println!(
        "signet-x509 rfc3161 bench: best of {} repetitions of ~{} ms; spread = (worst - best) / best; load average at start: {}",
        timer.reps,
        timer.rep_time.as_millis(),
        load_average()
    );
    let f = Fixture::new();
    if run("floor") {
        floor(&timer, &f);
    }
    if run("verify") {
        verify(&timer, &f);
    }
    if run("issue") {
        issue(&timer, &f);
    }
    println!("load average at end: {}", load_average());
}

struct Fixture {
    issuer: TokenIssuer,
    leaf_key: Arc<SigningKey>,
    root: Vec<u8>,
    leaf: Vec<u8>,
    /// The bundle signature each token stamps.
    signature: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let root_key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let leaf_key = Arc::new(SigningKey::generate(KeyKind::EcdsaP256).unwrap());
        let dn = |cn: &str| DistinguishedName {
            organization: "signet".into(),
            common_name: cn.into(),
        };
        let (root_dn, leaf_dn) = (dn("signet-tsa-root"), dn("signet-tsa"));
        let params = |subject, serial| CertificateParams {
            subject,
            serial,
            not_before: NOW - 3600,
            not_after: NOW + 86_400,
        };
        let root = tsa_root_certificate(&root_key, &params(&root_dn, &[1; 16])).unwrap();
        let leaf = tsa_leaf_certificate(
            &root_key,
            &root,
            leaf_key.public_key(),
            &params(&leaf_dn, &[2; 16]),
        )
        .unwrap();
        let issuer = TokenIssuer::new(leaf_key.clone(), &leaf, oid::SIGSTORE_TSA_POLICY, 1).unwrap();
        Fixture {
            issuer,
            leaf_key,
            root,
            leaf,
            signature: vec![0x5a; 72],
        }
    }

    fn authority(&self) -> TsaTrust {
        TsaTrust::from_authority(&CertificateAuthority {
            subject: DistinguishedName::default(),
            uri: None,
            cert_chain: X509CertificateChain {
                certificates: [&self.leaf, &self.root]
                    .iter()
                    .map(|c| X509Certificate {
                        raw_bytes: c.to_vec(),
                    })
                    .collect(),
            },
            valid_for: TimeRange::starting(Timestamp::from_unix(NOW - 10)),
            operator: None,
        })
        .unwrap()
    }

    fn request(&self, cert_req: bool) -> TimestampRequest {
        let mut req = TimestampRequest::new(
            HashAlgorithm::Sha2_256,
            HashAlgorithm::Sha2_256.digest(&self.signature),
        )
        .unwrap();
        req.nonce = Some(vec![0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
        req.cert_req = cert_req;
        req
    }
}

fn floor(timer: &Timer, f: &Fixture) {
    println!("\n[floor] the signature operations a token cannot avoid (aws-lc-rs)");
    let msg = [0x42u8; 200];
    let sig = f.leaf_key.sign(&msg).unwrap();
    let key: PublicKey = f.leaf_key.public_key().clone();
    let details = key.default_details();
    timer.run("ECDSA P-256 sign (200 bytes)", 1, || {
        std::hint::black_box(f.leaf_key.sign(&msg).unwrap());
    });
    timer.run("ECDSA P-256 verify (200 bytes)", 1, || {
        key.verify(details, &msg, &sig).unwrap();
    });
}

fn verify(timer: &Timer, f: &Fixture) {
    println!("\n[verify] verify_timestamp over one token, TSA [leaf, root] trusted");
    let with_cert = f.issuer.issue(&f.request(true), &[7; 16], NOW).unwrap();
    let without_cert = f.issuer.issue(&f.request(false), &[7; 16], NOW).unwrap();
    // One-shot: the trust material is parsed (and its chain checked) for this token alone.
    timer.run(
        "one-shot: TsaTrust::from_authority + verify (cert embedded)",
        1,
        || {
            let trust = [f.authority()];
            verify_timestamp(&with_cert, &f.signature, &trust).unwrap();
        },
    );
    let trust = [f.authority()];
    verify_timestamp(&with_cert, &f.signature, &trust).unwrap();
    timer.run("prepared TsaTrust: verify (cert embedded)", 1, || {
        verify_timestamp(&with_cert, &f.signature, &trust).unwrap();
    });
    timer.run("prepared TsaTrust: verify (no cert embedded)", 1, || {
        verify_timestamp(&without_cert, &f.signature, &trust).unwrap();
    });
    timer.run(
        "parse only: TimestampToken::from_response_or_token (cert)",
        1,
        || {
            std::hint::black_box(TimestampToken::from_response_or_token(&with_cert).unwrap());
        },
    );
    timer.run(
        "parse only: TimestampToken::from_response_or_token (no cert)",
        1,
        || {
            std::hint::black_box(TimestampToken::from_response_or_token(&without_cert).unwrap());
        },
    );
}

fn issue(timer: &Timer, f: &Fixture) {
    println!("\n[issue] TokenIssuer::issue, P-256, SHA-256 imprint, 8-byte nonce");
    let with_cert = f.request(true);
    let without_cert = f.request(false);
    let mut serial = 0u64;
    timer.run("issue (cert embedded)", 1, || {
        serial += 1;
        std::hint::black_box(f.issuer.issue(&with_cert, &serial.to_be_bytes(), NOW).unwrap());
    });
    timer.run("issue (no cert)", 1, || {
        serial += 1;
        std::hint::black_box(f.issuer.issue(&without_cert, &serial.to_be_bytes(), NOW).unwrap());
    });
}

// ---------------------------------------------------------------------------------------------
// Timing (as crates/signet-verify/benches/verify.rs)

struct Timer {
    reps: usize,
    rep_time: Duration,
}

impl Timer {
    /// Times `f`, which performs `ops` operations per call; prints ns per op, best and spread.
    fn run(&self, label: &str, ops: usize, mut f: impl FnMut()) -> f64 {
        if std::env::var("SIGNET_BENCH_ONLY").is_ok_and(|only| !label.contains(&only)) {
            return 0.0;
        }
        let start = Instant::now();
        f();
        let mut calls = 1usize;
        while start.elapsed() < self.rep_time / 4 {
            f();
            calls += 1;
        }
        let per_call = start.elapsed().as_secs_f64() / calls as f64;
        let calls = ((self.rep_time.as_secs_f64() / per_call) as usize).max(1);
        let mut samples = Vec::with_capacity(self.reps);
        for _ in 0..self.reps {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            samples.push(t.elapsed().as_secs_f64() * 1e9 / (calls * ops) as f64);
        }
        let best = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let worst = samples.iter().copied().fold(0.0, f64::max);
        println!(
            "  {label:<62} {:>8.1} µs  {:>8.0}/s  spread {:>4.0}%",
            best / 1e3,
            1e9 / best,
            (worst - best) / best * 100.0
        );
        best
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
