//! `signet server --witness-policy`: the log has every checkpoint cosigned by real `signet
//! witness` processes before publishing it, so `/checkpoint` and the checkpoint in each bundle
//! carry the cosignatures, and `signet verify --witness-policy` accepts the bundles. Then what
//! happens when witnesses go away: failing open publishes with fewer cosignatures; a restarted
//! log probes witnesses it knows nothing about and resyncs on 409; holding refuses to publish
//! (entry requests get a 503 within their timeout, a restart serves the last cosigned
//! checkpoint, never an uncosigned one) until the quorum is back.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{add_entry, dev_token, get, hashedrekord, LogKey, Server, Witness};
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{Checkpoint, CosignatureVerifier, Note};

/// A free loopback address for a witness that must come back at the same URL.
fn free_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Three witnesses of one log, each at a fixed address, and a policy file naming them.
struct Witnesses {
    names: [&'static str; 3],
    addrs: Vec<String>,
    dirs: Vec<PathBuf>,
    running: Vec<Option<Witness>>,
    vkeys: Vec<String>,
    log_arg: String,
}

impl Witnesses {
    fn start(root: &Path, log: &LogKey) -> Witnesses {
        let names = ["one", "two", "three"];
        let mut w = Witnesses {
            names,
            addrs: names.iter().map(|_| free_addr()).collect(),
            dirs: names.iter().map(|n| root.join(format!("witness-{n}"))).collect(),
            running: vec![None, None, None],
            vkeys: vec![],
            log_arg: log.arg(),
        };
        for i in 0..3 {
            w.up(i);
            let vkey = w.running[i].as_ref().unwrap().vkey();
            w.vkeys.push(vkey);
        }
        w
    }

    fn up(&mut self, i: usize) {
        let name = format!("witness.test/{}", self.names[i]);
        self.running[i] = Some(Witness::start_at(
            &self.dirs[i],
            &self.addrs[i],
            &["--name", &name, "--log", &self.log_arg],
        ));
    }

    fn down(&mut self, i: usize) {
        if let Some(mut w) = self.running[i].take() {
            assert!(w.terminate().success());
        }
    }

    /// A policy over the three witnesses (with their URLs) and `tail` (group and quorum lines).
    fn policy(&self, tail: &str) -> String {
        let mut text = String::from("# the log's witnesses\n");
        for i in 0..3 {
            text.push_str(&format!(
                "witness {} {} http://{}\n",
                self.names[i], self.vkeys[i], self.addrs[i]
            ));
        }
        text.push_str(tail);
        text
    }

    /// The policy names of the witnesses whose cosignature on `note` verifies.
    fn cosigners(&self, note: &str) -> Vec<&'static str> {
        let note = Note::parse(note).unwrap();
        (0..3)
            .filter(|&i| {
                let v = CosignatureVerifier::from_vkey(&self.vkeys[i]).unwrap();
                note.signatures()
                    .iter()
                    .any(|s| v.is_signer_of(s) && v.verify(note.text(), s).is_ok())
            })
            .map(|i| self.names[i])
            .collect()
    }
}

const TWO_OF_THREE: &str = "group majority 2 one two three\nquorum majority\n";

fn signet(args: &[&str], dir: &Path, token: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.args(args).current_dir(dir).env_remove("SIGNET_TRUST_CONFIG");
    if let Some(t) = token {
        cmd.env("SIGSTORE_ID_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Signs `name` (a new file with `content`) keylessly with the CLI; the bundle is `name.json`.
fn sign(server: &Server, dir: &Path, name: &str, content: &str) -> serde_json::Value {
    std::fs::write(dir.join(name), content).unwrap();
    let token = dev_token(&server.url, "alice@example.com");
    let bundle = format!("{name}.json");
    let out = signet(
        &[
            "sign-blob",
            name,
            "--bundle",
            &bundle,
            "--trust-config",
            "data/trust_config.json",
        ],
        dir,
        Some(&token),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&std::fs::read(dir.join(&bundle)).unwrap()).unwrap()
}

/// `signet verify-blob` of `name` with its bundle, under `policy` (a file name in `dir`).
fn verify(server: &Server, dir: &Path, name: &str, policy: Option<&str>) -> std::process::Output {
    let issuer = format!("{}/oidc", server.url);
    let bundle = format!("{name}.json");
    let mut args = vec![
        "verify-blob",
        name,
        "--bundle",
        &bundle,
        "--trust-config",
        "data/trust_config.json",
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &issuer,
    ];
    if let Some(p) = policy {
        args.extend_from_slice(&["--witness-policy", p]);
    }
    signet(&args, dir, None)
}

fn bundle_checkpoint(bundle: &serde_json::Value) -> String {
    bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string()
}

fn served_checkpoint(server: &Server) -> (String, Checkpoint) {
    let r = get(&format!("{}/checkpoint", server.log_url()));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let note = String::from_utf8(r.body).unwrap();
    let cp = Checkpoint::from_note_unverified(&note).unwrap();
    (note, cp)
}

fn metrics(server: &Server) -> String {
    String::from_utf8(get(&format!("{}/metrics", server.log_url())).body).unwrap()
}

/// The value of a metric sample (the line starting with `sample `).
fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{sample} not in\n{text}"))
        .parse()
        .unwrap()
}

/// A server on `data` (created by an earlier start) witnessed under `policy`, plus `extra`.
fn witnessed_server(data: &Path, policy: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--dev-oidc", "--witness-policy", policy.to_str().unwrap()];
    args.extend_from_slice(extra);
    Server::start_with(data, &args)
}

/// First start (keys and origin made) without witnesses, then the witnesses of that log.
fn log_and_witnesses(dir: &Path) -> Witnesses {
    let mut first = Server::start_with(&dir.join("data"), &["--dev-oidc"]);
    let log = LogKey::of(&first);
    let status = first.terminate();
    assert!(status.success(), "{status:?}");
    Witnesses::start(dir, &log)
}

#[test]
fn a_witnessed_log_serves_cosigned_checkpoints_and_recovers_witnesses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = log_and_witnesses(dir);
    std::fs::write(dir.join("policy.txt"), w.policy(TWO_OF_THREE)).unwrap();
    let mut server = witnessed_server(&dir.join("data"), &dir.join("policy.txt"), &[]);

    // Keyless signing: the bundle's checkpoint carries the three cosignatures.
    let bundle = sign(&server, dir, "a.txt", "witnessed");
    assert_eq!(w.cosigners(&bundle_checkpoint(&bundle)), ["one", "two", "three"]);
    let out = verify(&server, dir, "a.txt", Some("policy.txt"));
    assert!(out.status.success(), "{}", stderr(&out));
    // A policy whose quorum these witnesses cannot meet (a fourth, unknown, witness required).
    let stranger = signet_tlog::CosignatureSigner::new(
        "witness.test/four",
        SigningKey::generate(KeyKind::Ed25519).unwrap(),
    )
    .unwrap();
    let unmeetable = w.policy(&format!(
        "witness four {}\ngroup all4 all one two three four\nquorum all4\n",
        stranger.verifier().vkey()
    ));
    std::fs::write(dir.join("unmeetable.txt"), unmeetable).unwrap();
    let out = verify(&server, dir, "a.txt", Some("unmeetable.txt"));
    assert!(!out.status.success(), "verified under an unmeetable policy");
    assert!(
        stderr(&out).contains("not cosigned as the witness policy requires"),
        "{}",
        stderr(&out)
    );

    // /checkpoint: the log's signature and each witness's cosignature verify (signet-tlog).
    let (note, cp) = served_checkpoint(&server);
    let log = LogKey::of(&server);
    signet_tlog::verify_checkpoint(&note, &log.origin, std::slice::from_ref(&log.verifier)).unwrap();
    assert_eq!(w.cosigners(&note), ["one", "two", "three"]);
    assert!(cp.size >= 1);
    let m = metrics(&server);
    assert!(
        metric(&m, "signet_log_witness_requests_total{witness=\"one\"}") >= 1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "signet_log_witness_quorum_misses_total"), 0.0, "{m}");

    // Two witnesses down: the quorum (2 of 3) is missed, and failing open (the default)
    // publishes the checkpoint with the one cosignature it got.
    w.down(1);
    w.down(2);
    let bundle = sign(&server, dir, "b.txt", "fail open");
    assert_eq!(w.cosigners(&bundle_checkpoint(&bundle)), ["one"]);
    let out = verify(&server, dir, "b.txt", Some("policy.txt"));
    assert!(
        !out.status.success(),
        "a checkpoint cosigned by one of three met 2 of 3"
    );
    std::fs::write(
        dir.join("any.txt"),
        w.policy("group any any one two three\nquorum any\n"),
    )
    .unwrap();
    let out = verify(&server, dir, "b.txt", Some("any.txt"));
    assert!(out.status.success(), "{}", stderr(&out));
    let m = metrics(&server);
    assert!(metric(&m, "signet_log_witness_quorum_misses_total") >= 1.0, "{m}");
    assert!(
        metric(&m, "signet_log_witness_failures_total{witness=\"two\"}") >= 1.0,
        "{m}"
    );
    let published = served_checkpoint(&server).1.size;

    // The log restarts: it knows the size only of the witness on its last checkpoint. The two
    // that come back are probed from 0, answer 409 with the size they cosigned, and are sent
    // a proof from there.
    assert!(server.terminate().success());
    w.up(1);
    w.up(2);
    let server = witnessed_server(&dir.join("data"), &dir.join("policy.txt"), &[]);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let r = add_entry(&server.log_url(), &hashedrekord(&key, b"after the restart"));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let envelope = r.json()["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.cosigners(&envelope), ["one", "two", "three"]);
    let m = metrics(&server);
    for name in ["two", "three"] {
        assert_eq!(
            metric(
                &m,
                &format!("signet_log_witness_conflicts_total{{witness=\"{name}\"}}")
            ),
            1.0,
            "{m}"
        );
    }
    assert_eq!(
        metric(&m, "signet_log_witness_conflicts_total{witness=\"one\"}"),
        0.0,
        "{m}"
    );
    assert!(served_checkpoint(&server).1.size > published);
}

#[test]
fn a_held_log_publishes_only_cosigned_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = log_and_witnesses(dir);
    std::fs::write(dir.join("policy.txt"), w.policy(TWO_OF_THREE)).unwrap();
    let hold = ["--on-missed-quorum", "hold", "--entry-timeout", "3s"];
    let mut server = witnessed_server(&dir.join("data"), &dir.join("policy.txt"), &hold);
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    let r = add_entry(&server.log_url(), &hashedrekord(&key, b"first"));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let (before, cp_before) = served_checkpoint(&server);
    assert_eq!(w.cosigners(&before), ["one", "two", "three"]);

    // Two of three down: the quorum cannot be met. The entry is not acknowledged: a 503 with a
    // JSON message once its timeout (3 s) has passed, and nothing is published beyond the
    // last cosigned checkpoint.
    w.down(1);
    w.down(2);
    let held = hashedrekord(&key, b"held");
    let started = Instant::now();
    let r = add_entry(&server.log_url(), &held);
    let waited = started.elapsed();
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("witnesses have cosigned"), "{message}");
    assert_eq!(served_checkpoint(&server).0, before);
    // Tiles beyond the published checkpoint are not served either.
    let tile = signet_tlog::TileId {
        level: 0,
        index: 0,
        width: (cp_before.size + 1) as u16,
    };
    assert_eq!(get(&format!("{}/{}", server.log_url(), tile.path())).status, 404);
    let m = metrics(&server);
    assert!(metric(&m, "signet_log_witness_quorum_misses_total") >= 1.0, "{m}");
    assert_eq!(metric(&m, "signet_log_entry_timeouts_total"), 1.0, "{m}");

    // A restart while held serves the last cosigned checkpoint, not the newer uncosigned one
    // (the held entry is committed: the tree is larger than what is served).
    assert!(server.terminate().success());
    let server = witnessed_server(&dir.join("data"), &dir.join("policy.txt"), &hold);
    assert_eq!(served_checkpoint(&server).0, before);

    // One witness back: two of three can cosign. The same request, sent again, is answered
    // with the entry (deduplicated: 200) and a checkpoint meeting the quorum.
    w.up(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let r = loop {
        let r = add_entry(&server.log_url(), &held);
        if r.status != 503 || Instant::now() > deadline {
            break r;
        }
    };
    assert!(
        r.status == 200 || r.status == 201,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let envelope = r.json()["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.cosigners(&envelope), ["one", "two"]);
    let (after, cp_after) = served_checkpoint(&server);
    assert!(cp_after.size > cp_before.size);
    assert_eq!(w.cosigners(&after), ["one", "two"]);

    // Another log (new key, same origin) under the same policy: the witnesses refuse its
    // checkpoints (403, not the key they know), so a held log publishes nothing at all.
    let stranger = witnessed_server(&dir.join("stranger"), &dir.join("policy.txt"), &hold);
    let r = get(&format!("{}/checkpoint", stranger.log_url()));
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json()["message"].as_str().unwrap().contains("witness quorum"),
        "{}",
        r.json()
    );
    // (The first round runs at start; its refusals are counted when it ends.)
    let deadline = Instant::now() + Duration::from_secs(20);
    let m = loop {
        let m = metrics(&stranger);
        if metric(&m, "signet_log_witness_failures_total{witness=\"one\"}") >= 1.0
            || Instant::now() > deadline
        {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metric(&m, "signet_log_witness_failures_total{witness=\"one\"}") >= 1.0,
        "{m}"
    );
    assert!(metric(&m, "signet_log_witness_quorum_misses_total") >= 1.0, "{m}");
    assert_eq!(metric(&m, "signet_log_tree_size"), 0.0, "{m}");
    assert_eq!(get(&format!("{}/checkpoint", stranger.log_url())).status, 503);
}
