//! `signet witness` against real `signet server` logs: checkpoints added in sequence with
//! consistency proofs built from the log's tiles; a split view (two copies of one log, same
//! key and origin, diverging) refused; unknown keys, unknown origins and garbage refused with
//! the statuses of c2sp.org/tlog-witness; state kept across a restart; and the cosignature
//! checked byte for byte by an independent implementation (Python's `cryptography`) written
//! from the tlog-cosignature text alone.

mod common;

use std::path::Path;
use std::process::Command;

use common::{add_entry, get, hashedrekord, LogKey, Reply, Server, Witness};
use signet_crypto::{KeyKind, SigningKey};
use signet_tlog::{sign_checkpoint, Checkpoint, CosignatureVerifier, Note, NoteSignature, NoteSigner};
use signet_witness::AddCheckpointRequest;

/// Logs `n` entries whose contents start with `tag`.
fn add_entries(server: &Server, tag: &str, n: usize) {
    let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
    for i in 0..n {
        let r = add_entry(
            &server.log_url(),
            &hashedrekord(&key, format!("{tag} {i}").as_bytes()),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
}

/// The server's current checkpoint: the note and its body.
fn checkpoint(server: &Server) -> (String, Checkpoint) {
    let note = String::from_utf8(get(&format!("{}/checkpoint", server.log_url())).body).unwrap();
    let cp = Checkpoint::from_note_unverified(&note).unwrap();
    (note, cp)
}

/// The add-checkpoint body for the server's current checkpoint from `old` (proof from tiles).
fn request(server: &Server, old: u64) -> (Vec<u8>, Checkpoint) {
    common::add_checkpoint_request(server, old)
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Checks a 200 answer: one cosignature line by the witness over `cp`; returns it.
fn cosigned(r: &Reply, witness: &Witness, cp: &Checkpoint) -> NoteSignature {
    assert_eq!(r.status, 200, "{}", text(r));
    let verifier = CosignatureVerifier::from_vkey(&witness.vkey()).unwrap();
    let envelope = format!("{}\n{}", cp.to_note_text(), text(r));
    let note = Note::parse(&envelope).unwrap_or_else(|e| panic!("{e}: {:?}", text(r)));
    assert_eq!(note.signatures().len(), 1);
    let sig = note.signatures()[0].clone();
    let ts = verifier.verify(note.text(), &sig).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts > 0 && ts.abs_diff(now) < 300, "timestamp {ts}, now {now}");
    sig
}

/// Checks a 409 answer carries `size` as the spec says.
fn conflict(r: &Reply, size: u64) {
    assert_eq!(r.status, 409, "{}", text(r));
    assert_eq!(r.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(text(r), format!("{size}\n"));
}

#[test]
fn a_servers_checkpoints_are_cosigned_in_sequence_and_kept_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("log"));
    add_entries(&server, "first", 3);
    let log = LogKey::of(&server);
    let witness_dir = tmp.path().join("witness");
    let mut witness = Witness::start(&witness_dir, &["--name", "witness.test/w1", "--log", &log.arg()]);
    assert!(witness.vkey().starts_with("witness.test/w1+"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(witness_dir.join("keys/witness-ed25519.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the witness key is private");
    }
    // GET / names the key and the log.
    let home = text(&get(&format!("{}/", witness.url)));
    assert_eq!(home, format!("{}\nlog {}\n", witness.vkey(), log.origin));

    // First contact: from 0, no proof. Then grow and add with proofs from the tiles.
    let (body, cp) = request(&server, 0);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp);
    let mut size = cp.size;
    for (round, n) in [1usize, 5, 300].into_iter().enumerate() {
        add_entries(&server, &format!("round {round}"), n);
        let (body, cp) = request(&server, size);
        cosigned(&witness.add_checkpoint(&body), &witness, &cp);
        size = cp.size;
    }
    // The same checkpoint again is cosigned again.
    let (body, cp) = request(&server, size);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp);

    // The probe a log makes when it does not know the witness's state: old 0 → 409 and size.
    let (body, _) = request(&server, 0);
    conflict(&witness.add_checkpoint(&body), size);

    // Monitoring: the latest cosigned checkpoint, with the log's signature and the
    // witness's cosignature, under the hex SHA-256 of the origin.
    let origin_hash = hex::encode(signet_crypto::sha256(log.origin.as_bytes()));
    let r = get(&format!("{}/{origin_hash}/checkpoint", witness.url));
    assert_eq!(r.status, 200);
    let served = text(&r);
    signet_tlog::verify_checkpoint(&served, &log.origin, std::slice::from_ref(&log.verifier)).unwrap();
    let note = Note::parse(&served).unwrap();
    let w = CosignatureVerifier::from_vkey(&witness.vkey()).unwrap();
    let sig = note
        .signatures()
        .iter()
        .find(|s| w.is_signer_of(s))
        .expect("cosignature");
    w.verify(note.text(), sig).unwrap();
    assert_eq!(
        get(&format!("{}/{}/checkpoint", witness.url, "0".repeat(64))).status,
        404
    );

    // A restart keeps the state: the old size is still demanded, never rolled back.
    assert!(witness.terminate().success());
    let witness = Witness::start(&witness_dir, &["--log", &log.arg()]);
    conflict(&witness.add_checkpoint(&request(&server, 0).0), size);
    add_entries(&server, "after restart", 2);
    let (body, cp) = request(&server, size);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp);
    let metrics = text(&get(&format!("{}/metrics", witness.url)));
    assert!(metrics.contains("signet_witness_cosigned_total 1\n"), "{metrics}");
    assert!(
        metrics.contains("signet_witness_refused_total{status=\"409\"} 1\n"),
        "{metrics}"
    );
}

#[test]
fn refusals_follow_the_spec() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("log"));
    add_entries(&server, "entry", 4);
    let log = LogKey::of(&server);
    let witness = Witness::start(&tmp.path().join("witness"), &["--log", &log.arg()]);
    let (note, cp) = checkpoint(&server);

    // 403: the log's origin, signed by a key the witness does not trust.
    let impostor = NoteSigner::new(&log.origin, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
    let forged = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        checkpoint: sign_checkpoint(&cp, &[&impostor]).unwrap(),
    };
    let r = witness.add_checkpoint(&forged.to_bytes());
    assert_eq!(r.status, 403, "{}", text(&r));
    // 403: the trusted key's signature over a changed size.
    let changed = note.replacen(&format!("\n{}\n", cp.size), &format!("\n{}\n", cp.size + 1), 1);
    let r = witness.add_checkpoint(format!("old 0\n\n{changed}").as_bytes());
    assert_eq!(r.status, 403, "{}", text(&r));
    // 404: an origin the witness does not know.
    let other = NoteSigner::new(
        "other.example/log",
        SigningKey::generate(KeyKind::Ed25519).unwrap(),
    )
    .unwrap();
    let stranger = Checkpoint {
        origin: "other.example/log".into(),
        ..cp.clone()
    };
    let r = witness
        .add_checkpoint(format!("old 0\n\n{}", sign_checkpoint(&stranger, &[&other]).unwrap()).as_bytes());
    assert_eq!(r.status, 404, "{}", text(&r));
    // 400: garbage, a truncated body, a bad proof line, an old size above the new.
    for body in [
        b"garbage".to_vec(),
        b"old 0\n".to_vec(),
        b"old 1\nnot base64\n\n".to_vec(),
        b"old 0\n\x00\xff\n".to_vec(),
        format!("old {}\n\n{note}", cp.size + 1).into_bytes(),
        format!("old 0\n\n{}", note.replace('\u{2014}', "-")).into_bytes(),
    ] {
        let r = witness.add_checkpoint(&body);
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(&body),
            text(&r)
        );
    }
    // A body over the limit is refused before it is read whole.
    let r = witness.add_checkpoint(&vec![b'a'; 1 << 20]);
    assert_eq!(r.status, 413);
    // 422: a non-empty proof from 0.
    let r = witness.add_checkpoint(format!("old 0\n{}\n\n{note}", "A".repeat(43) + "=").as_bytes());
    assert_eq!(r.status, 422, "{}", text(&r));
    // Nothing of the above was cosigned: the first real request is still from 0.
    let (body, cp) = request(&server, 0);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp);
    // 422: a consistency proof that does not verify.
    let size = cp.size;
    add_entries(&server, "more", 3);
    let mut bad = AddCheckpointRequest::parse(&request(&server, size).0).unwrap();
    bad.proof[0][0] ^= 1;
    let r = witness.add_checkpoint(&bad.to_bytes());
    assert_eq!(r.status, 422, "{}", text(&r));
    // Only the first was cosigned; every refusal is counted.
    let metrics = text(&get(&format!("{}/metrics", witness.url)));
    for line in [
        "signet_witness_cosigned_total 1\n",
        "{status=\"400\"} 6\n",
        "{status=\"403\"} 2\n",
        "{status=\"404\"} 1\n",
        "{status=\"422\"} 2\n",
    ] {
        assert!(metrics.contains(line), "{line:?} not in\n{metrics}");
    }
}

/// Copies a stopped server's data directory.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_split_view_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let mut a = Server::start(&dir_a);
    add_entries(&a, "shared", 4);
    assert!(a.terminate().success());
    // Two copies of the log: same key, same origin, same first four entries.
    copy_dir(&dir_a, &dir_b);
    let a = Server::start(&dir_a);
    let b = Server::start(&dir_b);
    let log = LogKey::of(&a);
    let log_b = LogKey::of(&b);
    assert_eq!(
        (log.origin.as_str(), &log.verifier),
        (log_b.origin.as_str(), &log_b.verifier)
    );
    let witness = Witness::start(&tmp.path().join("witness"), &["--log", &log.arg()]);

    let (body, shared) = request(&a, 0);
    cosigned(&witness.add_checkpoint(&body), &witness, &shared);
    // They diverge: each copy logs different entries.
    add_entries(&a, "only in a", 3);
    add_entries(&b, "only in b", 3);
    let (body, cp_a) = request(&a, shared.size);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp_a);
    let (body_b, cp_b) = request(&b, shared.size);
    assert_eq!(cp_a.size, cp_b.size);
    assert_ne!(cp_a.root_hash, cp_b.root_hash);
    // B's checkpoint with B's (valid for B) proof from the shared size: 409, the witness has
    // moved on, and says where to.
    conflict(&witness.add_checkpoint(&body_b), cp_a.size);
    // B's checkpoint presented as the next one after A's: same size, another root → 422.
    let (body_b, _) = request(&b, cp_a.size);
    let r = witness.add_checkpoint(&body_b);
    assert_eq!(r.status, 422, "{}", text(&r));
    // B grows further; its proof from A's size (built on B's tree) does not verify → 422.
    add_entries(&b, "more in b", 2);
    let (body_b, _) = request(&b, cp_a.size);
    let r = witness.add_checkpoint(&body_b);
    assert_eq!(r.status, 422, "{}", text(&r));
    // A continues and is still cosigned: the fork did not move the witness.
    add_entries(&a, "more in a", 1);
    let (body, cp) = request(&a, cp_a.size);
    cosigned(&witness.add_checkpoint(&body), &witness, &cp);
}

/// The Python interpreter of the CI's virtual environment (beside
/// `$SIGNET_SIGSTORE_PYTHON`'s `sigstore`, which depends on `cryptography`), else
/// `target/interop-venv`, else `python3` on PATH; `None` when none imports `cryptography`.
fn python_with_cryptography() -> Option<std::path::PathBuf> {
    let mut candidates = Vec::new();
    if let Some(sigstore) = std::env::var_os("SIGNET_SIGSTORE_PYTHON") {
        if let Some(bin) = Path::new(&sigstore).parent() {
            candidates.push(bin.join("python"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/interop-venv/bin/python"));
    candidates.push("python3".into());
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The check of a cosignature from c2sp.org/tlog-cosignature and signed-note alone: parse the
/// vkey (type 0x04, key ID = SHA-256(name || "\n" || 0x04 || key)[:4]), the signature line
/// (key ID, u64 big-endian timestamp, 64-byte Ed25519 signature), rebuild the signed message
/// ("cosignature/v1\n", "time <ts>\n", the checkpoint body) and verify it with `cryptography`.
const PYTHON_CHECK: &str = r#"
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

vkey, checkpoint_path, line_path = sys.argv[1], sys.argv[2], sys.argv[3]
# The name has no "+" and the ID is hex; the base64 key may hold "+".
name, rest = vkey.split("+", 1)
key_id_hex, key_b64 = rest.split("+", 1)
key = base64.b64decode(key_b64)
assert key[0] == 0x04 and len(key) == 33, "a cosignature/v1 vkey"
key_id = hashlib.sha256(name.encode() + b"\n" + b"\x04" + key[1:]).digest()[:4]
assert key_id.hex() == key_id_hex, "vkey key ID"
body = open(checkpoint_path, "rb").read()
line = open(line_path, "rb").read().decode()
assert line.endswith("\n") and line.count("\n") == 1, "one signature line"
dash, sig_name, sig_b64 = line[:-1].split(" ")
assert dash == "\u2014" and sig_name == name, "signature line by the witness"
raw = base64.b64decode(sig_b64, validate=True)
assert len(raw) == 4 + 8 + 64 and raw[:4] == key_id, "key ID, timestamp, signature"
timestamp = int.from_bytes(raw[4:12], "big")
message = b"cosignature/v1\n" + b"time " + str(timestamp).encode() + b"\n" + body
Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[12:], message)
print(timestamp)
"#;

#[test]
fn python_verifies_the_cosignature_from_the_spec() {
    let Some(python) = python_with_cryptography() else {
        println!(
            "skipped: no python with the `cryptography` package (set SIGNET_SIGSTORE_PYTHON or run .ci/run)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("log"));
    add_entries(&server, "python", 2);
    let log = LogKey::of(&server);
    let witness = Witness::start(
        &tmp.path().join("witness"),
        &["--name", "w.example/py", "--log", &log.arg()],
    );
    let (body, cp) = request(&server, 0);
    let r = witness.add_checkpoint(&body);
    let sig = cosigned(&r, &witness, &cp);
    let (cp_path, line_path) = (tmp.path().join("checkpoint"), tmp.path().join("line"));
    std::fs::write(&cp_path, cp.to_note_text()).unwrap();
    std::fs::write(&line_path, &r.body).unwrap();
    let run = |line: &Path| {
        Command::new(&python)
            .args(["-c", PYTHON_CHECK, &witness.vkey()])
            .arg(&cp_path)
            .arg(line)
            .output()
            .unwrap()
    };
    let out = run(&line_path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ts: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(ts.to_be_bytes(), sig.signature[..8]);
    // And the Python check is a check: a changed timestamp fails it.
    let mut changed = sig.clone();
    changed.signature[7] ^= 1;
    std::fs::write(&line_path, changed.to_line()).unwrap();
    assert!(
        !run(&line_path).status.success(),
        "python accepted a changed timestamp"
    );
}
