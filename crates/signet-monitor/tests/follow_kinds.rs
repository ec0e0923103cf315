//! The follower against Rekor v1 and CT logs held in memory (RFC 6962 and static-ct-api), the
//! same checks for each: what is reported (exactly the watched identity, with proofs that
//! verify), exactly once across runs cut short and writes that fail, and how a bad signature,
//! a proof that does not verify, a log going backwards, entries inconsistent with the signed
//! tree head and an entry that does not parse are reported.

use base64::Engine as _;
use signet_monitor::ct::Rfc6962Protocol;
use signet_monitor::follow::{follow, Protocol};
use signet_monitor::source::Tiles;
use signet_monitor::testlog::{
    certificate_pem, hashedrekord_v1_body, MemoryCtLog, MemoryV1Log, Tamper, TestCa,
};
use signet_monitor::tiles::TilesProtocol;
use signet_monitor::v1::V1Protocol;
use signet_monitor::{
    Context, CtProtocol, FollowOptions, LogKind, LogTarget, Outcome, Rules, Sink, Start, Store,
};
use signet_tlog::{leaf_hash, verify_inclusion};

const ISSUER: &str = "https://issuer.example";

const WATCH: &str = r#"
monitoredValues:
  certIdentities:
    - certSubject: ^alice@example\.com$
      issuers: [^https://issuer\.example$]
"#;

/// A log of one kind, as the tests drive it.
trait Harness {
    fn new() -> Self;
    /// Logs a certificate for `email` from `issuer` (serial `n`); `n` also varies the form
    /// (CT: a precertificate or a certificate).
    fn add(&mut self, ca: &TestCa, email: &str, issuer: &str, n: u64);
    /// Logs something that is no entry the monitor can read.
    fn add_garbage(&mut self);
    fn target(&self) -> LogTarget;
    fn follow(&self, store: &mut Store, ctx: &Context<'_>, sink: &mut dyn Sink) -> Outcome;
    fn tamper(&self, t: Tamper);
    fn publish_at(&self, size: Option<u64>);
}

struct V1(MemoryV1Log);

impl Harness for V1 {
    fn new() -> Self {
        let mut log = MemoryV1Log::new("v1.example").unwrap();
        // A sharded log: the API numbers entries after an earlier shard's.
        log.inactive_entries = 1000;
        V1(log)
    }
    fn add(&mut self, ca: &TestCa, email: &str, issuer: &str, n: u64) {
        let pem = certificate_pem(&ca.leaf(email, issuer, None, n + 1).unwrap());
        self.0.append(hashedrekord_v1_body(
            signet_crypto::sha256(&n.to_be_bytes()),
            &pem,
        ));
    }
    fn add_garbage(&mut self) {
        self.0
            .append(br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#.to_vec());
    }
    fn target(&self) -> LogTarget {
        self.0.target()
    }
    fn follow(&self, store: &mut Store, ctx: &Context<'_>, sink: &mut dyn Sink) -> Outcome {
        let target = self.target();
        let LogKind::RekorV1(log) = &target.kind else {
            unreachable!()
        };
        let mut p = V1Protocol::new(log, &self.0).with_concurrent_requests(3);
        follow(&target, &mut p, store, ctx, sink)
    }
    fn tamper(&self, t: Tamper) {
        self.0.set_tamper(t);
    }
    fn publish_at(&self, size: Option<u64>) {
        self.0.publish_at(size)
    }
}

/// A CT log read through one of its two APIs.
struct Ct<const STATIC: bool>(MemoryCtLog);

impl<const STATIC: bool> Harness for Ct<STATIC> {
    fn new() -> Self {
        let mut log = MemoryCtLog::new("ct.example/2025").unwrap();
        log.page = 37; // get-entries answers in short pages
        Ct(log)
    }
    fn add(&mut self, ca: &TestCa, email: &str, issuer: &str, n: u64) {
        let cert = ca.leaf(email, issuer, None, n + 1).unwrap();
        self.0.append(&cert, n % 8 < 4).unwrap();
    }
    fn add_garbage(&mut self) {
        self.0.append(b"not a certificate", false).unwrap();
    }
    fn target(&self) -> LogTarget {
        self.0.target(if STATIC {
            CtProtocol::StaticCtApi
        } else {
            CtProtocol::Rfc6962
        })
    }
    fn follow(&self, store: &mut Store, ctx: &Context<'_>, sink: &mut dyn Sink) -> Outcome {
        let target = self.target();
        let LogKind::Ct(key) = &target.kind else {
            unreachable!()
        };
        if STATIC {
            let tiles = Tiles::new(&self.0);
            let mut p = TilesProtocol::static_ct(key, &tiles);
            follow(&target, &mut p as &mut dyn Protocol, store, ctx, sink)
        } else {
            follow(&target, &mut Rfc6962Protocol::new(key, &self.0), store, ctx, sink)
        }
    }
    fn tamper(&self, t: Tamper) {
        *self.0.tamper.borrow_mut() = t;
    }
    fn publish_at(&self, size: Option<u64>) {
        self.0.publish_at(size)
    }
}

/// `n` entries cycling through alice, bob, alice at another issuer, carol; alice's indices.
fn fill<H: Harness>(log: &mut H, ca: &TestCa, from: u64, n: u64) -> Vec<u64> {
    let mut alice = Vec::new();
    for i in from..from + n {
        match i % 4 {
            0 => {
                log.add(ca, "alice@example.com", ISSUER, i);
                alice.push(i);
            }
            1 => log.add(ca, "bob@example.com", ISSUER, i),
            2 => log.add(ca, "alice@example.com", "https://other.example", i),
            _ => log.add(ca, "carol@example.com", ISSUER, i),
        }
    }
    alice
}

fn run<H: Harness>(
    log: &H,
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
    let outcome = log.follow(store, &ctx, &mut lines);
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

fn problem(lines: &[serde_json::Value]) -> (&str, &str, Option<u64>) {
    let p = lines.last().expect("a problem line");
    (
        p["type"].as_str().unwrap(),
        p["check"].as_str().unwrap(),
        p["index"].as_u64(),
    )
}

fn b64(s: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_str().unwrap())
        .unwrap()
}

fn good_log_reports_exactly_the_watched_identity<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    let alice = fill(&mut log, &ca, 0, 600);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(indices(&lines), alice, "{lines:?}");
    assert_eq!(
        (outcome.entries, outcome.matches, outcome.alerts, outcome.errors),
        (600, 150, 0, 0)
    );
    let key = log.target().state_key();
    for line in &lines {
        assert_eq!(line["identity"], "alice@example.com");
        assert_eq!(line["issuer"], ISSUER);
        let index = line["index"].as_u64().unwrap();
        assert_eq!(line["id"], format!("{key}/{index}"));
        let proof = &line["inclusion_proof"];
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| b64(h).try_into().unwrap())
            .collect();
        let root: [u8; 32] = b64(&proof["rootHash"]).try_into().unwrap();
        let size: u64 = proof["treeSize"].as_str().unwrap().parse().unwrap();
        verify_inclusion(
            &leaf_hash(&b64(&line["canonicalized_body"])),
            index,
            size,
            &hashes,
            &root,
        )
        .unwrap();
        assert!(proof["checkpoint"]["envelope"].as_str().unwrap().len() > 10);
    }
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(outcome.entries, 0);

    // Grown: only the new entries, from a consistency proof.
    let more = fill(&mut log, &ca, 600, 30);
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(indices(&lines), more);
    assert_eq!(outcome.verified_size, 630);
}

fn starting_part_way_reads_the_tree_before_from_a_proof<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    let alice = fill(&mut log, &ca, 0, 300);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    let from = FollowOptions {
        start: Start::Index(123),
        ..options()
    };
    let (outcome, lines) = run(&log, &mut store, &rules, &from);
    assert_eq!((outcome.alerts, outcome.errors), (0, 0), "{lines:?}");
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i >= 123).collect::<Vec<_>>()
    );
    // Latest: nothing now, then what comes after.
    let mut store = Store::in_memory().unwrap();
    let latest = FollowOptions {
        start: Start::Latest,
        ..options()
    };
    let (outcome, lines) = run(&log, &mut store, &rules, &latest);
    assert_eq!(
        (outcome.alerts, outcome.errors, lines.len()),
        (0, 0, 0),
        "{lines:?}"
    );
    let after = fill(&mut log, &ca, 300, 9);
    let (_, lines) = run(&log, &mut store, &rules, &latest);
    assert_eq!(indices(&lines), after);
}

fn runs_cut_short_and_failed_writes_neither_repeat_nor_skip<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    let mut expected = fill(&mut log, &ca, 0, 300);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    let mut seen = Vec::new();
    let short = FollowOptions {
        max_entries: 70,
        ..options()
    };
    for _ in 0..2 {
        let (_, lines) = run(&log, &mut store, &rules, &short);
        seen.extend(indices(&lines));
    }
    expected.extend(fill(&mut log, &ca, 300, 100));

    // Killed after a commit, before the lines were written: they wait in the outbox.
    struct Broken;
    impl Sink for Broken {
        fn emit(&mut self, _: &str) -> std::io::Result<()> {
            Err(std::io::Error::other("stdout closed"))
        }
    }
    let now = String::new;
    let ctx = Context {
        rules: &rules,
        options: &short,
        now: &now,
    };
    let outcome = log.follow(&mut store, &ctx, &mut Broken);
    assert!(outcome.errors > 0);

    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts + outcome.errors, 0, "{lines:?}");
    seen.extend(indices(&lines));
    assert_eq!(seen, expected);
}

fn a_bad_signature_is_an_error<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    fill(&mut log, &ca, 0, 20);
    log.tamper(Tamper::ForeignKey);
    let (outcome, lines) = run(
        &log,
        &mut Store::in_memory().unwrap(),
        &Rules::default(),
        &options(),
    );
    assert_eq!((outcome.alerts, outcome.errors), (0, 1));
    assert_eq!(problem(&lines), ("error", "checkpoint_signature", None));
    assert_eq!(lines[0]["log"], log.target().origin);
}

fn a_consistency_proof_that_does_not_verify_is_an_alert_with_both_heads<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    fill(&mut log, &ca, 0, 50);
    let rules = Rules::default();
    let mut store = Store::in_memory().unwrap();
    let (outcome, _) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.verified_size, 50);
    fill(&mut log, &ca, 50, 27);
    log.tamper(Tamper::BadProof);
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 1, "{lines:?}");
    assert_eq!(problem(&lines), ("alert", "consistency", None));
    assert_eq!(lines.last().unwrap()["evidence"].as_array().unwrap().len(), 2);
}

fn a_log_going_backwards_is_an_alert<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    fill(&mut log, &ca, 0, 40);
    let rules = Rules::default();
    let mut store = Store::in_memory().unwrap();
    let (outcome, _) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.verified_size, 40);
    log.publish_at(Some(30));
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 1);
    assert_eq!(problem(&lines), ("alert", "log_went_backwards", None));
    assert_eq!(lines[0]["evidence"].as_array().unwrap().len(), 2);
}

fn entries_inconsistent_with_the_head_are_an_alert_and_not_reported<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    let alice = fill(&mut log, &ca, 0, 600);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let mut store = Store::in_memory().unwrap();
    log.tamper(Tamper::Entry(300));
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 1, "{lines:?}");
    assert_eq!(problem(&lines), ("alert", "entries_root", Some(511)));
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i < 256).collect::<Vec<_>>()
    );
    log.tamper(Tamper::None);
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.alerts, 0);
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i >= 256).collect::<Vec<_>>()
    );
}

fn an_unparsable_entry_is_an_error_with_its_index_and_the_scan_goes_on<H: Harness>() {
    let ca = TestCa::new().unwrap();
    let mut log = H::new();
    fill(&mut log, &ca, 0, 10);
    log.add_garbage();
    let alice = fill(&mut log, &ca, 11, 10);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let (outcome, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!((outcome.entries, outcome.errors, outcome.alerts), (21, 1, 0));
    let errors: Vec<_> = lines.iter().filter(|l| l["type"] == "error").collect();
    assert_eq!(errors[0]["check"], "entry_parse");
    assert_eq!(errors[0]["index"], 10);
    assert_eq!(errors[0]["log"], log.target().origin);
    assert!(indices(&lines).ends_with(&alice));
}

macro_rules! for_each_kind {
    ($($test:ident),* $(,)?) => {
        mod v1 { use super::*; $(#[test] fn $test() { super::$test::<V1>() })* }
        mod ct_rfc6962 { use super::*; $(#[test] fn $test() { super::$test::<Ct<false>>() })* }
        mod ct_static { use super::*; $(#[test] fn $test() { super::$test::<Ct<true>>() })* }
    };
}

for_each_kind!(
    good_log_reports_exactly_the_watched_identity,
    starting_part_way_reads_the_tree_before_from_a_proof,
    runs_cut_short_and_failed_writes_neither_repeat_nor_skip,
    a_bad_signature_is_an_error,
    a_log_going_backwards_is_an_alert,
    entries_inconsistent_with_the_head_are_an_alert_and_not_reported,
    an_unparsable_entry_is_an_error_with_its_index_and_the_scan_goes_on,
);

// Static CT builds consistency proofs from hash tiles; the API logs serve them.
mod api_logs {
    use super::*;
    #[test]
    fn v1_bad_proof() {
        a_consistency_proof_that_does_not_verify_is_an_alert_with_both_heads::<V1>()
    }
    #[test]
    fn ct_rfc6962_bad_proof() {
        a_consistency_proof_that_does_not_verify_is_an_alert_with_both_heads::<Ct<false>>()
    }
}

#[test]
fn v1_entries_proven_against_a_newer_checkpoint_are_reported_with_it() {
    let ca = TestCa::new().unwrap();
    let mut log = V1::new();
    let alice = fill(&mut log, &ca, 0, 40);
    let rules = Rules::from_yaml(WATCH).unwrap();
    // The log grew between the monitor's read of its head and of the entries.
    log.0.publish_at(Some(30));
    log.0.prove_at(Some(40));
    let (outcome, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    assert_eq!((outcome.alerts, outcome.errors), (0, 0), "{lines:?}");
    assert_eq!(
        indices(&lines),
        alice.iter().copied().filter(|i| *i < 30).collect::<Vec<_>>()
    );
    for line in &lines {
        assert_eq!(line["inclusion_proof"]["treeSize"], "40");
        assert!(line["inclusion_proof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .contains("\n40\n"));
    }
}

#[test]
fn v1_entries_of_kinds_not_read_are_skipped_not_errors() {
    let mut log = V1::new();
    log.0
        .append(br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{"data":{},"signature":{}}}"#.to_vec());
    let (outcome, lines) = run(
        &log,
        &mut Store::in_memory().unwrap(),
        &Rules::default(),
        &options(),
    );
    assert_eq!(
        (outcome.entries, outcome.errors, outcome.alerts),
        (1, 0, 0),
        "{lines:?}"
    );
}

#[test]
fn ct_matches_report_the_certificate_and_its_kind() {
    let ca = TestCa::new().unwrap();
    let mut log = Ct::<true>::new();
    fill(&mut log, &ca, 0, 8);
    let rules = Rules::from_yaml(WATCH).unwrap();
    let (_, lines) = run(&log, &mut Store::in_memory().unwrap(), &rules, &options());
    let kinds: Vec<_> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["precert_entry", "x509_entry"]);
    for line in &lines {
        let der = b64(&line["certificate"]);
        assert_eq!(
            line["digest"],
            format!("sha256:{}", hex::encode(signet_crypto::sha256(&der)))
        );
    }
}

#[test]
fn state_keys_keep_kinds_apart() {
    let v1 = MemoryV1Log::new("log.example").unwrap().target();
    let ct = MemoryCtLog::new("log.example").unwrap().target(CtProtocol::Auto);
    let v2 = signet_monitor::testlog::MemoryLog::new("log.example")
        .unwrap()
        .target();
    let keys = [v1.state_key(), ct.state_key(), v2.state_key()];
    assert_eq!(keys, ["rekor-v1:log.example", "ct:log.example", "log.example"]);
}

#[test]
fn ct_entries_match_extensions_and_fingerprints_as_rekor_monitor_does() {
    let ca = TestCa::new().unwrap();
    let mut log = MemoryCtLog::new("ct.example").unwrap();
    let uri = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1";
    let ci = ca.leaf("ci@example.com", ISSUER, Some(uri), 7).unwrap();
    let other = ca.leaf("x@example.com", ISSUER, None, 8).unwrap();
    log.append(&ci, true).unwrap(); // 0: the CI identity's precertificate
    log.append(&other, false).unwrap(); // 1: a certificate, by its fingerprint
    log.append(&other, true).unwrap(); // 2: the same as a precertificate: no certificate fingerprint
    let yaml = format!(
        "monitoredValues:\n  fingerprints: [{}]\n  oidMatchers:\n    fulcioExtensions:\n      build-signer-uri: [{uri}]\n",
        hex::encode(signet_crypto::sha256(&other)),
    );
    let rules = Rules::from_yaml(&yaml).unwrap();
    let (outcome, lines) = run(
        &Ct::<false>(log),
        &mut Store::in_memory().unwrap(),
        &rules,
        &options(),
    );
    assert_eq!((outcome.alerts, outcome.errors), (0, 0), "{lines:?}");
    assert_eq!(indices(&lines), [0, 1]);
    assert_eq!(lines[0]["matches"][0]["type"], "extensionValue");
    assert_eq!(lines[0]["identity"], "ci@example.com");
    assert_eq!(lines[1]["matches"][0]["type"], "fingerprint");
    assert_eq!(lines[1]["kind"], "x509_entry");
}

#[test]
fn a_v1_log_whose_active_tree_changes_is_an_error_not_a_log_going_backwards() {
    let ca = TestCa::new().unwrap();
    let mut log = V1::new();
    fill(&mut log, &ca, 0, 20);
    let rules = Rules::default();
    let mut store = Store::in_memory().unwrap();
    let (outcome, _) = run(&log, &mut store, &rules, &options());
    assert_eq!(outcome.verified_size, 20);
    // A new shard: another tree ID, a smaller tree.
    log.0.tree_id += 1;
    log.0.publish_at(Some(5));
    let (outcome, lines) = run(&log, &mut store, &rules, &options());
    assert_eq!((outcome.alerts, outcome.errors), (0, 1), "{lines:?}");
    assert_eq!(problem(&lines), ("error", "shard_changed", None));
}
