//! `cargo bench -p signet-verify [-- FILTER...]`: how fast the pure verifier is, on one core.
//!
//! Sections (a FILTER word selects those whose name contains it):
//!
//! - `floor`: the signature checks a bundle cannot avoid, as aws-lc-rs does them here;
//! - `startup`: what a one-shot `signet verify-bundle` pays before its first bundle (trusted
//!   root JSON, `PreparedTrust`, a regex policy);
//! - `public`: public-instance bundles from sigstore-conformance, read at run time from
//!   `$SIGNET_VECTORS` or `../shared/vectors` (skipped with one line when absent);
//! - `signet`: a corpus of distinct bundles as signet's own stack makes them (P-256 Fulcio
//!   chain, embedded SCT, Rekor v2 tree with one signed checkpoint per batch, RFC 3161 token),
//!   verified one-shot, through a [`Verifier`] with caches, and check by check.
//!
//! Plain `main` with `std::time::Instant`: each figure is the best of several repetitions of a
//! loop, with the spread (worst − best) / best beside it. Set `SIGNET_BENCH_QUICK=1` for a short
//! run and `SIGNET_BENCH_BUNDLES` for the corpus size.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, UnparsedPublicKey};
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_formats::bundle::{Bundle, BundleContent};
use signet_formats::trust::TrustedRoot;
use signet_verify::entry_body::SignerMaterial;
use signet_verify::signature::ArtifactDigests;
use signet_verify::{
    certificate, entry_body, identity, sct, signature, timestamps, tlog, verify, Artifact, IdentityPolicy,
    Matcher, Policy, PreparedTrust, SignerPolicy, TrustedMaterial, Verifier,
};
use signet_x509::ParsedCertificate;

/// The conformance harness's identity (sigstore-conformance `test/client.py`).
const PUBLIC_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const PUBLIC_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Public-instance cases: (folder, has its own trusted root).
const PUBLIC_CASES: &[&str] = &[
    "happy-path-v0.3",
    "happy-path-v0.2",
    "happy-path-intoto-in-dsse-v3",
    "rekor2-happy-path",
    "rekor2-dsse-happy-path",
    "rekor2-timestamp-with-embedded-cert",
];

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
        "signet-verify bench: best of {} repetitions of ~{} ms; spread = (worst - best) / best; load average at start: {}",
        timer.reps,
        timer.rep_time.as_millis(),
        load_average()
    );
    if run("floor") {
        floor(&timer);
    }
    if run("startup") {
        startup(&timer);
    }
    if run("public") {
        public_instance(&timer);
    }
    if run("signet") {
        let n = std::env::var("SIGNET_BENCH_BUNDLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if quick { 256 } else { 1024 });
        signet_corpus(&timer, n);
    }
    println!("load average at end: {}", load_average());
}

// ---------------------------------------------------------------------------------------------
// Timing

struct Timer {
    reps: usize,
    rep_time: Duration,
}

/// Nanoseconds per operation.
#[derive(Clone, Copy)]
struct Stats {
    best: f64,
    worst: f64,
}

impl Stats {
    fn spread(&self) -> f64 {
        (self.worst - self.best) / self.best * 100.0
    }
}

impl Timer {
    /// Times `f`, which performs `ops` operations per call; prints and returns ns per op.
    fn run(&self, label: &str, ops: usize, mut f: impl FnMut()) -> Stats {
        // Warm up and calibrate: calls per repetition so one repetition takes ~rep_time.
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
        let s = Stats { best, worst };
        println!(
            "  {label:<58} {:>9.1} µs  {:>9.0}/s  spread {:>4.0}%",
            best / 1e3,
            1e9 / best,
            s.spread()
        );
        s
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------------
// Floor: the signature checks themselves

fn floor(timer: &Timer) {
    println!("\n[floor] signature checks (aws-lc-rs), the lower bound of a bundle's cost");
    let msg = b"a message of some length, as a TBS certificate or a checkpoint would be";
    for (kind, alg) in [
        (KeyKind::EcdsaP256, &sig::ECDSA_P256_SHA256_ASN1),
        (KeyKind::EcdsaP384, &sig::ECDSA_P384_SHA384_ASN1),
    ] {
        let key = SigningKey::generate(kind).unwrap();
        let s = key.sign(msg).unwrap();
        let raw = key.public_key().raw_bytes().to_vec();
        timer.run(&format!("{kind} verify, key parsed per call"), 1, || {
            UnparsedPublicKey::new(alg, &raw).verify(msg, &s).unwrap();
        });
        let parsed = ParsedPublicKey::new(alg, &raw).unwrap();
        timer.run(&format!("{kind} verify, key parsed once"), 1, || {
            parsed.verify_sig(msg, &s).unwrap();
        });
        let spki = key.public_key().spki_der().to_vec();
        timer.run(&format!("{kind} PublicKey::from_spki_der"), 1, || {
            std::hint::black_box(PublicKey::from_spki_der(&spki).unwrap());
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Startup

fn vectors_dir() -> PathBuf {
    match std::env::var_os("SIGNET_VECTORS") {
        Some(v) => PathBuf::from(v),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    }
}

fn public_root_json() -> Option<Vec<u8>> {
    std::fs::read(vectors_dir().join("public-good/trusted_root.json")).ok()
}

fn startup(timer: &Timer) {
    println!("\n[startup] what one process pays before its first bundle");
    let Some(json) = public_root_json() else {
        println!(
            "  SKIP: no public-good/trusted_root.json under {}",
            vectors_dir().display()
        );
        return;
    };
    timer.run("TrustedRoot::from_json (public-good)", 1, || {
        std::hint::black_box(TrustedRoot::from_json(&json).unwrap());
    });
    let root = TrustedRoot::from_json(&json).unwrap();
    timer.run("PreparedTrust::from_trusted_root (public-good)", 1, || {
        std::hint::black_box(PreparedTrust::from_trusted_root(&root));
    });
    timer.run("  + Verifier::new", 1, || {
        std::hint::black_box(Verifier::new(PreparedTrust::from_trusted_root(&root)));
    });
    timer.run("regex identity policy (SAN + issuer)", 1, || {
        std::hint::black_box(
            Matcher::regex("^https://github.com/sigstore-conformance/.*@refs/heads/main$").unwrap(),
        );
        std::hint::black_box(Matcher::regex("^https://token\\.actions\\.githubusercontent\\.com$").unwrap());
    });
}

// ---------------------------------------------------------------------------------------------
// Public-instance bundles

fn public_instance(timer: &Timer) {
    println!("\n[public] sigstore-conformance bundles (public instance), one bundle verified repeatedly");
    let suite = vectors_dir().join("sigstore-conformance/bundle-verify");
    let Some(root_json) = public_root_json().filter(|_| suite.is_dir()) else {
        println!("  SKIP: no vectors under {}", vectors_dir().display());
        return;
    };
    let public = PreparedTrust::from_trusted_root(&TrustedRoot::from_json(&root_json).unwrap());
    let artifact = std::fs::read(suite.join("a.txt")).unwrap();
    let now = unix_now();
    for case in PUBLIC_CASES {
        let dir = suite.join(case);
        let Ok(json) = std::fs::read(dir.join("bundle.sigstore.json")) else {
            println!("  SKIP {case}: not in the suite");
            continue;
        };
        let trust = match std::fs::read(dir.join("trusted_root.json")) {
            Ok(j) => PreparedTrust::from_trusted_root(&TrustedRoot::from_json(&j).unwrap()),
            Err(_) => public.clone(),
        };
        let artifact = std::fs::read(dir.join("artifact")).unwrap_or_else(|_| artifact.clone());
        let policy = Policy::new(
            Artifact::Bytes(&artifact),
            SignerPolicy::Identity(IdentityPolicy::exact(PUBLIC_IDENTITY, PUBLIC_ISSUER)),
        );
        let bundle = Bundle::from_json(&json).unwrap();
        if let Err(e) = verify(&bundle, &policy, &trust, now) {
            println!("  SKIP {case}: does not verify: {e}");
            continue;
        }
        println!("  {case}:");
        timer.run("Bundle::from_json", 1, || {
            std::hint::black_box(Bundle::from_json(&json).unwrap());
        });
        timer.run("verify (one-shot, no cache)", 1, || {
            verify(&bundle, &policy, &trust, now).unwrap();
        });
        let verifier = Verifier::new(trust.clone());
        timer.run("Verifier::verify (same bundle again: caches hit)", 1, || {
            verifier.verify(&bundle, &policy, now).unwrap();
        });
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// A corpus as signet's stack makes it

#[path = "../tests/support/corpus.rs"]
mod corpus;
use corpus::{build_corpus, BATCH, IDENTITY, ISSUER, PREFILL, T0};

fn signet_corpus(timer: &Timer, n: usize) {
    println!(
        "\n[signet] {n} distinct bundles as signet's stack makes them (P-256 CA, SCT, Rekor v2 with one checkpoint per {BATCH} entries over {PREFILL} leaves, RFC 3161 token)"
    );
    let t = Instant::now();
    let corpus = build_corpus(n, PREFILL);
    println!("  (corpus built in {:.1} s)", t.elapsed().as_secs_f64());
    let now = T0 + 86_400;
    let trust = PreparedTrust::from_trusted_root(&TrustedRoot::from_json(&corpus.root_json).unwrap());
    let bundles: Vec<Bundle> = corpus
        .bundles
        .iter()
        .map(|j| Bundle::from_json(j).unwrap())
        .collect();
    let signer = SignerPolicy::Identity(IdentityPolicy::exact(IDENTITY, ISSUER));
    let policies: Vec<Policy<'_>> = corpus
        .artifacts
        .iter()
        .map(|a| Policy::new(Artifact::Bytes(a), signer.clone()))
        .collect();
    for (b, p) in bundles.iter().zip(&policies) {
        verify(b, p, &trust, now).expect("corpus bundle verifies");
    }

    println!("  whole bundles (per bundle):");
    timer.run("Bundle::from_json", n, || {
        for j in &corpus.bundles {
            std::hint::black_box(Bundle::from_json(j).unwrap());
        }
    });
    let one_shot = timer.run("verify (one-shot, no cache)", n, || {
        for (b, p) in bundles.iter().zip(&policies) {
            verify(b, p, &trust, now).unwrap();
        }
    });
    // A stream of distinct bundles: a fresh Verifier per pass over the corpus, so no leaf is
    // ever seen twice; checkpoints are shared by the 64 bundles of a batch, as in a real log.
    let stream = timer.run("Verifier::verify, stream of distinct bundles", n, || {
        let verifier = Verifier::new(trust.clone());
        for (b, p) in bundles.iter().zip(&policies) {
            verifier.verify(b, p, now).unwrap();
        }
    });
    timer.run("Verifier::verify_json, stream (parse + verify)", n, || {
        let verifier = Verifier::new(trust.clone());
        for (j, p) in corpus.bundles.iter().zip(&policies) {
            verifier.verify_json(j, p, now).unwrap();
        }
    });
    // The same verifier across passes: every leaf was seen before (one certificate signing
    // many artifacts, or a bundle verified again).
    let verifier = Verifier::new(trust.clone());
    let warm = timer.run("Verifier::verify, leaves seen before (leaf memo hits)", n, || {
        for (b, p) in bundles.iter().zip(&policies) {
            verifier.verify(b, p, now).unwrap();
        }
    });

    println!("  check by check (per bundle, uncached, summed over the corpus):");
    let leaves: Vec<ParsedCertificate> = bundles
        .iter()
        .map(|b| {
            ParsedCertificate::from_der(b.verification_material.content.leaf_certificate().unwrap()).unwrap()
        })
        .collect();
    let cas = trust.certificate_authorities();
    let tsas = trust.timestamp_authorities();
    let logs = trust.transparency_logs();
    let ct_logs = trust.ct_logs();
    let times: Vec<Vec<signet_verify::SigningTime>> = bundles
        .iter()
        .map(|b| {
            timestamps::verify_rfc3161_timestamps(
                &b.verification_material
                    .timestamp_verification_data
                    .rfc3161_timestamps,
                b.content.signature_bytes().unwrap(),
                &tsas,
                now,
            )
            .unwrap()
        })
        .collect();
    let mut parts = Vec::new();
    parts.push((
        "leaf certificate: parse + public key",
        timer.run("leaf certificate: parse + public key", n, || {
            for b in &bundles {
                let leaf =
                    ParsedCertificate::from_der(b.verification_material.content.leaf_certificate().unwrap())
                        .unwrap();
                std::hint::black_box(leaf.public_key().unwrap());
            }
        }),
    ));
    parts.push((
        "RFC 3161 timestamp (token signature + TSA chain)",
        timer.run("RFC 3161 timestamp (token signature + TSA chain)", n, || {
            for b in &bundles {
                timestamps::verify_rfc3161_timestamps(
                    &b.verification_material
                        .timestamp_verification_data
                        .rfc3161_timestamps,
                    b.content.signature_bytes().unwrap(),
                    &tsas,
                    now,
                )
                .unwrap();
            }
        }),
    ));
    parts.push((
        "leaf profile + chain to the CA",
        timer.run("leaf profile + chain to the CA", n, || {
            for (leaf, t) in leaves.iter().zip(&times) {
                certificate::check_leaf_profile(leaf).unwrap();
                certificate::verify_chain(leaf, &cas, t).unwrap();
            }
        }),
    ));
    let issuer_spki = certificate::verify_chain(&leaves[0], &cas, &times[0])
        .unwrap()
        .issuer_spki;
    parts.push((
        "embedded SCT",
        timer.run("embedded SCT", n, || {
            for leaf in &leaves {
                sct::verify_scts(&leaf.der, &issuer_spki, &ct_logs).unwrap();
            }
        }),
    ));
    let id_policy = IdentityPolicy::exact(IDENTITY, ISSUER);
    parts.push((
        "identity (read extensions, match policy)",
        timer.run("identity (read extensions, match policy)", n, || {
            for leaf in &leaves {
                let id = signet_x509::read_identity_from_certificate(&leaf.cert).unwrap();
                identity::check_identity(&id_policy, &id).unwrap();
            }
        }),
    ));
    parts.push((
        "inclusion proof + checkpoint signature",
        timer.run("inclusion proof + checkpoint signature", n, || {
            for b in &bundles {
                let e = &b.verification_material.tlog_entries[0];
                tlog::verify_inclusion_proof(e, &logs[0], Some("required")).unwrap();
            }
        }),
    ));
    let keys: Vec<PublicKey> = leaves.iter().map(|l| l.public_key().unwrap()).collect();
    parts.push((
        "entry body matches the bundle",
        timer.run("entry body matches the bundle", n, || {
            for (((b, p), leaf), key) in bundles.iter().zip(&policies).zip(&leaves).zip(&keys) {
                let artifact = ArtifactDigests::new(&p.artifact);
                entry_body::check_entry_body(
                    &b.verification_material.tlog_entries[0],
                    &b.content,
                    SignerMaterial::Certificate(&leaf.der),
                    key,
                    &artifact,
                )
                .unwrap();
            }
        }),
    ));
    parts.push((
        "artifact signature",
        timer.run("artifact signature", n, || {
            for ((b, p), key) in bundles.iter().zip(&policies).zip(&keys) {
                let BundleContent::MessageSignature(m) = &b.content else {
                    unreachable!()
                };
                signature::verify_message_signature(key, m, &ArtifactDigests::new(&p.artifact)).unwrap();
            }
        }),
    ));
    let sum: f64 = parts.iter().map(|(_, s)| s.best).sum();
    println!("  share of the one-shot verify ({:.1} µs):", one_shot.best / 1e3);
    for (name, s) in &parts {
        println!(
            "    {name:<52} {:>5.1} µs  {:>3.0}%",
            s.best / 1e3,
            s.best / one_shot.best * 100.0
        );
    }
    println!(
        "    {:<52} {:>5.1} µs  {:>3.0}%   (the rest: orchestration, allocation)",
        "sum of the checks",
        sum / 1e3,
        sum / one_shot.best * 100.0
    );
    println!(
        "  summary: one-shot {:.1} µs ({:.0}/s); Verifier, distinct bundles {:.1} µs ({:.0}/s); leaves seen before {:.1} µs ({:.0}/s)",
        one_shot.best / 1e3,
        1e9 / one_shot.best,
        stream.best / 1e3,
        1e9 / stream.best,
        warm.best / 1e3,
        1e9 / warm.best
    );
}
