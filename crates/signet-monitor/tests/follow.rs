//! The follower against logs held in memory: what is reported, exactly once across runs and
//! kills, and how each kind of misbehaviour and broken input is reported.

use signet_formats::rekor_v2::VerifierKey;
use signet_monitor::report::Check;
use signet_monitor::testlog::{hashedrekord_body, MemoryLog, Tamper, TestCa};
use signet_monitor::{follow_log, Context, FollowOptions, Outcome, Rules, Sink, Start, Store};
use signet_tlog::{leaf_hash, verify_checkpoint, verify_inclusion};

const ISSUER: &str = "https://issuer.example";

const WATCH: &str = r#"
monitoredValues:
  certIdentities:
    - certSubject: ^alice@example\.com$
      issuers: [^https://issuer\.example$]
"#;

/// A log of `n` entries cycling through alice, bob, carol (certificates) and a bare key;
/// returns the indices of alice's.
fn fill(log: &mut MemoryLog, ca: &TestCa, from: u64, n: u64) -> Vec<u64> {
    let mut alice = Vec::new();
    for i in from..from + n {
        let digest = signet_crypto::sha256(&i.to_be_bytes());
        let verifier = match i % 4 {
            0 => VerifierKey::X509Certificate(ca.leaf("alice@example.com", ISSUER, None, i + 1).unwrap()),
            1 => VerifierKey::X509Certificate(ca.leaf("bob@example.com", ISSUER, None, i + 1).unwrap()),
            2 => VerifierKey::X509Certificate(
                ca.leaf("alice@example.com", "https://other.example", None, i + 1)
                    .unwrap(),
            ),
            _ => VerifierKey::PublicKey(log.public_key().spki_der().to_vec()),
        };
        let index = log.append(hashedrekord_body(digest, verifier));
        if i % 4 == 0 {
            alice.push(index);
        }
    }
    alice
}

fn run(
    log: &MemoryLog,
    store: &mut Store,
    rules: &Rules,
    options: &FollowOptions,
) -> (Outcome, Vec<serde_json::Value>) {
    let now = || "2026-01-01T00:00:00Z".to_string();
    let ctx = Context {
        rules,
        options,
        now: &now,
    };
    let mut lines: Vec<String> = Vec::new();
    let outcome = follow_log(&log.target(), log, store, &ctx, &mut lines);
    let json = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    (outcome, json)
}

fn indices(lines: &[serde_json::Value]) -> Vec<u64> {
    lines
        .iter()
        .filter(|l| l["type"] == "match")
        .map(|l| l["index"].as_u64().unwrap())
        .collect()
}

fn options() -> FollowOptions {
    FollowOptions {
        batch_bundles: 1,
        threads: 2,
        ..FollowOptions::default()
    }
}

#[test]
fn reports_exactly_the_watched_identity_with_proofs_then_nothing_new() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    let alice = fill(&mut log, &ca, 0, 700);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();

    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(indices(&lines), alice);
    assert_eq!(
        (outcome.entries, outcome.matches, outcome.alerts, outcome.errors),
        (700, 175, 0, 0)
    );
    for line in &lines {
        assert_eq!(line["identity"], "alice@example.com");
        assert_eq!(line["issuer"], ISSUER);
        assert_eq!(line["log"], "log.example");
        assert_eq!(line["matches"][0]["rule"], "certIdentities[0]");
        assert!(line["digest"].as_str().unwrap().starts_with("sha256:"));
        // The inclusion proof verifies against the checkpoint it carries.
        let proof = &line["inclusion_proof"];
        let cp = verify_checkpoint(
            proof["checkpoint"]["envelope"].as_str().unwrap(),
            "log.example",
            &[log.verifier()],
        )
        .unwrap();
        let b64 = |s: &serde_json::Value| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(s.as_str().unwrap())
                .unwrap()
        };
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| b64(h).try_into().unwrap())
            .collect();
        let leaf = leaf_hash(&b64(&line["canonicalized_body"]));
        let index = line["index"].as_u64().unwrap();
        verify_inclusion(&leaf, index, cp.size, &hashes, &cp.root_hash).unwrap();
    }

    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(outcome.entries, 0);
}

#[test]
fn runs_cut_short_and_writes_that_fail_neither_repeat_nor_skip() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    let mut expected = fill(&mut log, &ca, 0, 300);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    let mut seen = Vec::new();

    // Stopped part-way, several times, while the log grows.
    let short = FollowOptions {
        max_entries: 100,
        ..options()
    };
    for _ in 0..2 {
        let (_, lines) = run(&log, &mut store, &rules, &short);
        seen.extend(indices(&lines));
    }
    expected.extend(fill(&mut log, &ca, 300, 300));

    // A run whose output breaks after the commit: the lines stay in the outbox.
    struct Broken;
    impl Sink for Broken {
        fn emit(&mut self, _: &str) -> std::io::Result<()> {
            Err(std::io::Error::other("stdout closed"))
        }
    }
    let now = || String::new();
    let ctx = Context {
        rules: &rules,
        options: &short,
        now: &now,
    };
    let outcome = follow_log(&log.target(), &log, &mut store, &ctx, &mut Broken);
    assert!(outcome.errors > 0);

    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts + outcome.errors, 0);
    seen.extend(indices(&lines));
    assert_eq!(seen, expected);
}

#[test]
fn starting_at_latest_reports_only_what_comes_after() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    fill(&mut log, &ca, 0, 517);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    let latest = FollowOptions {
        start: Start::Latest,
        ..options()
    };
    let (outcome, lines) = run(&log, &mut store, &rules, &latest);
    assert!(lines.is_empty());
    assert_eq!(outcome.verified_size, 517);
    let after = fill(&mut log, &ca, 517, 40);
    let (_, lines) = run(&log, &mut store, &rules, &latest);
    assert_eq!(indices(&lines), after);
}

fn problem(lines: &[serde_json::Value]) -> (&str, &str, Option<u64>) {
    let p = lines.last().expect("a problem line");
    (
        p["type"].as_str().unwrap(),
        p["check"].as_str().unwrap(),
        p["index"].as_u64(),
    )
}

#[test]
fn entries_inconsistent_with_the_checkpoint_are_an_alert_and_nothing_of_them_is_reported() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    let alice = fill(&mut log, &ca, 0, 600);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    *log.tamper.borrow_mut() = Tamper::Entry(300);

    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 1);
    assert_eq!(problem(&lines), ("alert", "entries_root", Some(511)));
    // Bundle 0 was proven and reported; bundle 1 (with the bad entry) was not.
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i < 256).collect::<Vec<_>>()
    );

    // Honest again: the scan resumes at bundle 1.
    *log.tamper.borrow_mut() = Tamper::None;
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 0);
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i >= 256).collect::<Vec<_>>()
    );
}

#[test]
fn a_log_going_backwards_is_an_alert() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    fill(&mut log, &ca, 0, 40);
    let rules = Rules::default();
    let mut store = Store::in_memory().unwrap();
    let (outcome, _) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.verified_size, 40);
    log.publish_at(Some(30));
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 1);
    assert_eq!(problem(&lines), ("alert", "log_went_backwards", None));
}

#[test]
fn broken_inputs_are_errors_naming_the_check() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    fill(&mut log, &ca, 0, 600);
    let rules = Rules::default();

    *log.tamper.borrow_mut() = Tamper::ForeignKey;
    let (outcome, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!((outcome.alerts, outcome.errors), (0, 1));
    assert_eq!(problem(&lines), ("error", "checkpoint_signature", None));

    *log.tamper.borrow_mut() = Tamper::ShortBundle(1);
    let (outcome, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!((outcome.alerts, outcome.errors), (0, 1));
    assert_eq!(problem(&lines), ("error", "entry_bundle", Some(256)));
    assert_eq!(outcome.entries, 256);
}

#[test]
fn an_entry_that_does_not_parse_is_reported_and_the_scan_goes_on() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    fill(&mut log, &ca, 0, 10);
    log.append(b"{\"not\": \"an entry\"}".to_vec());
    let alice = fill(&mut log, &ca, 11, 10);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let (outcome, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!((outcome.entries, outcome.errors, outcome.alerts), (21, 1, 0));
    let errors: Vec<_> = lines.iter().filter(|l| l["type"] == "error").collect();
    assert_eq!(errors[0]["check"], "entry_parse");
    assert_eq!(errors[0]["index"], 10);
    assert!(indices(&lines).ends_with(&alice));
    let _ = Check::EntryParse;
}

#[test]
fn fingerprints_and_extensions_match_as_rekor_monitor_does() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryLog::new("log.example").unwrap();
    let uri = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1";
    let leaf = ca.leaf("ci@example.com", ISSUER, Some(uri), 7).unwrap();
    log.append(hashedrekord_body(
        [1; 32],
        VerifierKey::X509Certificate(leaf.clone()),
    ));
    let key_der = log.public_key().spki_der().to_vec();
    log.append(hashedrekord_body(
        [2; 32],
        VerifierKey::PublicKey(key_der.clone()),
    ));
    log.append(hashedrekord_body(
        [3; 32],
        VerifierKey::X509Certificate(ca.leaf("x@example.com", ISSUER, None, 8).unwrap()),
    ));
    let yaml = format!(
        "monitoredValues:\n  fingerprints: [{}, {}]\n  oidMatchers:\n    fulcioExtensions:\n      build-signer-uri: [{uri}]\n",
        hex::encode(signet_crypto::sha256(&leaf)),
        hex::encode(signet_crypto::sha256(&key_der)),
    );
    let rules = Rules::from_yaml(&yaml).unwrap();
    let (_, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!(indices(&lines), [0, 1]);
    let kinds: Vec<_> = lines[0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].clone())
        .collect();
    assert_eq!(kinds, ["fingerprint", "extensionValue"]);
    assert_eq!(lines[0]["matches"][1]["oid"], "1.3.6.1.4.1.57264.1.9");
    assert_eq!(lines[1]["matches"][0]["rule"], "fingerprints[1]");
}
