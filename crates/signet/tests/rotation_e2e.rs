//! Key rotation and log shards (issue 18, `signet admin rotate`), end to end against real
//! servers: a bundle made before rotating the log, the TSA and the CA and one made after both
//! verify with signet, sigstore-python and sigstore-js under the trust root the server
//! publishes afterwards (read directly, and fetched over the server's TUF repository by
//! clients that trusted it before the rotation); the old shard keeps serving its checkpoint
//! and tiles and refuses new entries; an interrupted rotation is rolled back by the next start
//! and a second rotation meanwhile is refused.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;
use serde_json::Value;

/// A temporary directory (kept until dropped) holding `data` (the server's) and `work`
/// (files, bundles, HOME), and a free port for the server.
fn dirs() -> (tempfile::TempDir, PathBuf, PathBuf, u16) {
    let tmp = tempfile::tempdir().unwrap();
    let (data, work) = (tmp.path().join("data"), tmp.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    (tmp, data, work, free_port())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `signet server --dev-oidc` on a fixed port (the same public URL across restarts, as a real
/// deployment keeps its name), on `data`.
fn start(data: &Path, port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .args([
            "server",
            "--dev-oidc",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data)
        .env("SIGNET_LOG", "warn");
    Server::spawn(command, data).unwrap_or_else(|e| panic!("server did not start: {e}"))
}

/// `signet ARGS` with HOME at `home`.
fn signet(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env("HOME", home)
        .env_remove("SIGNET_FAULT_ROTATE_ABORT")
        .output()
        .expect("run signet")
}

fn rotate(data: &Path, what: &str) -> Output {
    signet(data, &["admin", "rotate", what, "--data-dir", s(data)])
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", text(out));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read JSON")).expect("parse JSON")
}

fn verify_with_signet(
    home: &Path,
    trust: &[&str],
    bundle: &Path,
    file: &Path,
    email: &str,
    issuer: &str,
) -> Output {
    let mut args = vec!["verify-blob"];
    args.extend_from_slice(trust);
    args.extend_from_slice(&[
        "--bundle",
        s(bundle),
        "--certificate-identity",
        email,
        "--certificate-oidc-issuer",
        issuer,
        s(file),
    ]);
    signet(home, &args)
}

/// The tlog entry's log ID (base64) and its checkpoint's origin line.
fn tlog_of(bundle: &Path) -> (String, String) {
    let b = read_json(bundle);
    let entry = &b["verificationMaterial"]["tlogEntries"][0];
    let id = entry["logId"]["keyId"].as_str().expect("logId").to_string();
    let checkpoint = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .expect("checkpoint");
    (id, checkpoint.lines().next().unwrap_or_default().to_string())
}

/// The `validFor` window of a trusted-root entry, as (start, end) strings.
fn window(v: &Value) -> (String, Option<String>) {
    (
        v["start"].as_str().expect("validFor.start").to_string(),
        v["end"].as_str().map(str::to_string),
    )
}

struct Signed {
    file: PathBuf,
    bundle: PathBuf,
}

fn sign(server: &Server, work: &Path, name: &str, email: &str) -> Signed {
    let file = work.join(name);
    std::fs::write(&file, format!("{name}: signed\n")).unwrap();
    let token = common::dev_token(&server.url, email);
    common::sign_blob(&file, &token, &server.dir.join("trust_config.json"));
    Signed {
        bundle: file.with_extension("sigstore.json"),
        file,
    }
}

/// The independent verifiers, each judging bundles under the server's trust material.
struct Peers<'a> {
    work: &'a Path,
    data: &'a Path,
    email: &'a str,
    issuer: &'a str,
}

impl Peers<'_> {
    /// sigstore-python with the trust config (and, given `(TUF URL, root.json)`, over TUF
    /// too) and sigstore-js with the trusted root must accept every bundle; each skips with
    /// one line where it is not installed (unless SIGNET_REQUIRE_INTEROP=1).
    fn verify(&self, bundles: &[&Signed], tuf: Option<(&str, &Path)>) {
        let trust_config = self.data.join("trust_config.json");
        if let Some(sigstore) = common::sigstore_python() {
            let python = |args: &[&str]| {
                Command::new(&sigstore)
                    .args(args)
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("HOME", self.work)
                    .env("NO_PROXY", "127.0.0.1,localhost")
                    .output()
                    .expect("run sigstore")
            };
            let mut instances = vec![["--trust-config", s(&trust_config)]];
            if let Some((url, root)) = tuf {
                assert_ok(
                    &python(&["--instance", url, "trust-instance", s(root)]),
                    "sigstore trust-instance",
                );
                instances.push(["--instance", url]);
            }
            for signed in bundles {
                for instance in &instances {
                    let out = python(&[
                        instance[0],
                        instance[1],
                        "verify",
                        "identity",
                        "--bundle",
                        s(&signed.bundle),
                        "--cert-identity",
                        self.email,
                        "--cert-oidc-issuer",
                        self.issuer,
                        s(&signed.file),
                    ]);
                    assert!(
                        out.status.success() && String::from_utf8_lossy(&out.stderr).contains("OK:"),
                        "sigstore-python {instance:?} {}: {}",
                        signed.file.display(),
                        text(&out)
                    );
                }
            }
        }
        if let Some(prefix) = common::js_peers() {
            let trusted_root = self.data.join("trusted_root.json");
            for signed in bundles {
                let out = common::sigstore_js_verify(
                    &prefix,
                    &trusted_root,
                    &signed.bundle,
                    &signed.file,
                    self.email,
                    self.issuer,
                );
                assert!(
                    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "OK",
                    "sigstore-js {}: {}",
                    signed.file.display(),
                    text(&out)
                );
            }
        }
    }
}

#[test]
fn bundles_from_before_and_after_a_rotation_of_every_key_verify_everywhere() {
    let (_tmp, data, work, port) = dirs();
    let email = "rotation@example.com";

    let mut server = start(&data, port);
    let url = server.url.clone();
    let issuer = format!("{url}/oidc");
    let tuf = format!("{url}/tuf");
    // Entries before the bundle's, so its log index is not 0 (sigstore-js drops a zero).
    common::log_throwaway_entries(&server, 3);
    // A client that trusts the instance over TUF from before the rotation.
    let root = data.join("tuf/root.json");
    assert_ok(
        &signet(&work, &["trust", "init", "--instance", &tuf, "--root", s(&root)]),
        "signet trust init",
    );
    let before = sign(&server, &work, "before.txt", email);
    let (before_log, before_origin) = tlog_of(&before.bundle);
    let old_checkpoint = common::get(&format!("{url}/rekor/checkpoint"));
    assert_eq!(old_checkpoint.status, 200);

    // While the server runs, its data directory is locked.
    let out = rotate(&data, "log");
    assert!(
        !out.status.success() && text(&out).contains("in use"),
        "a rotation under a running server: {}",
        text(&out)
    );
    assert!(server.terminate().success());
    for what in ["log", "ct", "tsa", "ca"] {
        assert_ok(&rotate(&data, what), &format!("signet admin rotate {what}"));
    }

    let server = start(&data, port);
    assert_eq!(server.url, url);
    let trusted_root = data.join("trusted_root.json");
    let root_json = read_json(&trusted_root);
    let v2: Vec<&Value> = root_json["tlogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["baseUrl"].as_str().unwrap().ends_with("/rekor1"))
        .collect();
    assert_eq!(v2.len(), 2, "two Rekor v2 shards: {v2:?}");
    let (new_shard, old_shard) = (v2[0], v2[1]);
    assert_eq!(new_shard["baseUrl"], format!("{url}/rekor/shards/2"));
    assert_eq!(old_shard["baseUrl"], format!("{url}/rekor"));
    let (old_start, old_end) = window(&old_shard["publicKey"]["validFor"]);
    let (new_start, new_end) = window(&new_shard["publicKey"]["validFor"]);
    assert!(old_start <= new_start);
    assert_eq!(
        old_end.as_deref(),
        Some(new_start.as_str()),
        "the shards' windows meet"
    );
    assert_eq!(new_end, None);
    assert_eq!(old_shard["logId"]["keyId"], before_log.as_str());
    for kind in ["timestampAuthorities", "certificateAuthorities"] {
        let entries = root_json[kind].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{kind}: two generations");
        let (_, first_end) = window(&entries[0]["validFor"]);
        let (second_start, second_end) = window(&entries[1]["validFor"]);
        assert_eq!(second_end, None);
        let first_end = first_end.expect("the first generation's window ends");
        if kind == "timestampAuthorities" {
            assert_eq!(first_end, second_start, "{kind}: windows meet");
        } else {
            // The earlier intermediate stays trusted for one certificate lifetime more.
            assert!(
                first_end > second_start,
                "{kind}: {first_end} after {second_start}"
            );
        }
        // One root, two issuing certificates.
        let certs = |i: usize| {
            entries[i]["certChain"]["certificates"]
                .as_array()
                .unwrap()
                .clone()
        };
        assert_ne!(certs(0)[0], certs(1)[0]);
        assert_eq!(certs(0).last(), certs(1).last());
    }
    // The CT log: a new shard (the CA's certificates' SCTs come from it), windows that meet.
    let ct = root_json["ctlogs"].as_array().unwrap();
    assert_eq!(ct.len(), 2, "two CT shards: {ct:?}");
    assert_eq!(ct[0]["baseUrl"], format!("{url}/ct/shards/2"));
    assert_eq!(ct[1]["baseUrl"], format!("{url}/ct"));
    let (_, ct_old_end) = window(&ct[1]["publicKey"]["validFor"]);
    let (ct_new_start, _) = window(&ct[0]["publicKey"]["validFor"]);
    assert_eq!(ct_old_end, Some(ct_new_start), "the CT shards' windows meet");
    let old_sth = common::get(&format!("{url}/ct/ct/v1/get-sth"));
    assert_eq!(old_sth.status, 200);
    let refused = common::post(&format!("{url}/ct/ct/v1/add-chain"), br#"{"chain":[]}"#);
    assert_eq!(refused.status, 409, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(
        common::get(&format!("{url}/ct/shards/2/ct/v1/get-sth")).status,
        200
    );
    let signing = read_json(&data.join("signing_config.json"));
    assert_eq!(
        signing["rekorTlogUrls"][0]["url"],
        format!("{url}/rekor/shards/2")
    );

    // The old shard: read-only, still serving what it logged.
    let refused = common::post(
        &format!("{url}/rekor/api/v2/log/entries"),
        common::hashedrekord(
            &signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap(),
            b"late",
        )
        .to_string()
        .as_bytes(),
    );
    assert_eq!(refused.status, 409, "{}", String::from_utf8_lossy(&refused.body));
    assert!(refused.json()["error"]
        .as_str()
        .unwrap()
        .contains("/rekor/shards/2"));
    let checkpoint = common::get(&format!("{url}/rekor/checkpoint"));
    assert_eq!(
        checkpoint.body, old_checkpoint.body,
        "the old shard's checkpoint does not move"
    );
    let size = String::from_utf8_lossy(&checkpoint.body)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert_eq!(size, "4", "three entries and the bundle's");
    let tile = common::get(&format!("{url}/rekor/tile/0/000.p/{size}"));
    assert_eq!(
        (tile.status, tile.body.len()),
        (200, 4 * 32),
        "the old shard's tile"
    );

    // A bundle after the rotation lands on the new shard, under its own origin.
    let after = sign(&server, &work, "after.txt", email);
    let (after_log, after_origin) = tlog_of(&after.bundle);
    assert_eq!(after_log, new_shard["logId"]["keyId"].as_str().unwrap());
    assert_ne!(after_log, before_log);
    assert_eq!(after_origin, format!("127.0.0.1:{port}/rekor/shards/2"));
    assert_ne!(after_origin, before_origin);
    let after_cert = &read_json(&after.bundle)["verificationMaterial"]["certificate"]["rawBytes"];
    let before_cert = &read_json(&before.bundle)["verificationMaterial"]["certificate"]["rawBytes"];
    assert_ne!(after_cert, before_cert);
    // Its certificate went into the new CT shard, and the old one did not move.
    let new_sth = common::get(&format!("{url}/ct/shards/2/ct/v1/get-sth")).json();
    assert_eq!(new_sth["tree_size"], 1, "{new_sth}");
    assert_eq!(common::get(&format!("{url}/ct/ct/v1/get-sth")).body, old_sth.body);

    // The search over every log pages through both shards (one result a page), each result
    // verified by signet search against the new trust material and named by its shard.
    // (The indexes follow their logs from threads of their own: wait for the last entry.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (found, names) = loop {
        let out = signet(
            &work,
            &[
                "search",
                "--all-logs",
                "--server-url",
                &url,
                "--identity",
                email,
                "--limit",
                "1",
                "--all",
                "--output",
                "json",
                "--trust-config",
                s(&data.join("trust_config.json")),
            ],
        );
        assert_ok(&out, "signet search --all-logs across the shards");
        let found: Value = serde_json::from_slice(&out.stdout).expect("search JSON");
        let names: Vec<&str> = found["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["logName"].as_str().unwrap())
            .collect();
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        if names.len() == 4 || std::time::Instant::now() > deadline {
            break (found, names);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(names, ["rekor2", "rekor2-shard-2", "ct", "ct-shard-2"], "{found}");
    // signet: with the new trust config, and over TUF by the client that trusted it before
    // (which fetches the new trusted root as any update does).
    let trust_config = data.join("trust_config.json");
    assert_ok(
        &signet(&work, &["trust", "update", "--instance", &tuf]),
        "signet trust update",
    );
    for signed in [&before, &after] {
        let out = verify_with_signet(
            &work,
            &["--trust-config", s(&trust_config)],
            &signed.bundle,
            &signed.file,
            email,
            &issuer,
        );
        assert_ok(&out, &format!("signet verify-blob {}", signed.file.display()));
        let out = verify_with_signet(
            &work,
            &["--instance", &tuf],
            &signed.bundle,
            &signed.file,
            email,
            &issuer,
        );
        assert_ok(
            &out,
            &format!("signet verify-blob --instance {}", signed.file.display()),
        );
    }
    // The old trust root knows nothing of the new shard: the new bundle needs the new root.
    let old_trust = work.join("old_trusted_root.json");
    let mut old_root = root_json.clone();
    old_root["tlogs"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["baseUrl"] != format!("{url}/rekor/shards/2"));
    std::fs::write(&old_trust, old_root.to_string()).unwrap();
    let out = verify_with_signet(
        &work,
        &["--trusted-root", s(&old_trust)],
        &after.bundle,
        &after.file,
        email,
        &issuer,
    );
    assert!(
        !out.status.success(),
        "a new-shard bundle under a root without it: {}",
        text(&out)
    );

    // sigstore-python (with the trust config, and over TUF) and sigstore-js.
    let peers = Peers {
        work: &work,
        data: &data,
        email,
        issuer: &issuer,
    };
    peers.verify(&[&before, &after], Some((&tuf, &root)));
}

#[test]
fn an_interrupted_rotation_is_rolled_back_and_a_second_one_meanwhile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let mut server = start(&data, port);
    common::log_throwaway_entries(&server, 2);
    assert!(server.terminate().success());
    let shard = data.join("log-shards/2");

    for point in ["prepared", "renamed"] {
        // A crash (abort) part-way through: the new shard's files exist, it is not committed.
        let out = Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(["admin", "rotate", "log", "--data-dir", s(&data)])
            .env("SIGNET_FAULT_ROTATE_ABORT", point)
            .output()
            .unwrap();
        assert!(!out.status.success(), "the aborted rotation: {}", text(&out));
        assert!(
            shard.exists() || data.join("log-shards/2.tmp").exists(),
            "{point}: the new shard was being written"
        );
        // A second rotation meanwhile is refused, and says what to do.
        let out = rotate(&data, "log");
        assert!(
            !out.status.success()
                && text(&out).contains("has not finished")
                && text(&out).contains("--recover"),
            "a second rotation while one is pending: {}",
            text(&out)
        );
        // Rotating another service is independent.
        if point == "prepared" {
            assert_ok(&rotate(&data, "tsa"), "rotating the TSA meanwhile");
        }
        // The next start rolls it back: one writable log, the first, with its entries.
        let server = start(&data, port);
        assert!(
            !shard.exists() && !data.join("log-shards/2.tmp").exists(),
            "{point}: rolled back"
        );
        let root = read_json(&data.join("trusted_root.json"));
        let v2 = root["tlogs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["baseUrl"].as_str().unwrap().ends_with("/rekor1"))
            .count();
        assert_eq!(v2, 1, "{point}: no second shard after the rollback");
        assert_eq!(root["timestampAuthorities"].as_array().unwrap().len(), 2);
        let health = common::get(&format!("{}/healthz", server.url)).json();
        assert!(health["logs"].get("rekor/shards/2").is_none(), "{health}");
        let reply = common::add_entry(
            &server.log_url(),
            &common::hashedrekord(
                &signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap(),
                point.as_bytes(),
            ),
        );
        assert_eq!(
            reply.status, 201,
            "the first log still takes entries after the rollback"
        );
        drop(server);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }

    // `--recover` does what a start does; then a rotation goes through.
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["admin", "rotate", "log", "--data-dir", s(&data)])
        .env("SIGNET_FAULT_ROTATE_ABORT", "prepared")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = signet(&data, &["admin", "rotate", "--recover", "--data-dir", s(&data)]);
    assert_ok(&out, "signet admin rotate --recover");
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_ok(&rotate(&data, "log"), "a rotation after the recovery");
    let server = start(&data, port);
    let health = common::get(&format!("{}/healthz", server.url)).json();
    assert!(health["logs"].get("rekor/shards/2").is_some(), "{health}");

    // A front end whose copy of the data directory lacks the new shard's key is refused.
    drop(server);
    std::fs::remove_file(shard.join("log-ed25519.pem")).unwrap();
    let err = match Server::try_start_with(&data, &["--dev-oidc"]) {
        Ok(_) => panic!("a server without the new shard's key started"),
        Err(e) => e,
    };
    assert!(err.contains("shard 2"), "{err}");

    // Not a data directory at all.
    let out = rotate(&tmp.path().join("nothing"), "log");
    assert!(
        !out.status.success() && text(&out).contains("not a signet data directory"),
        "{}",
        text(&out)
    );
}

/// `cp -a FROM TO`.
fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(status.success(), "cp -a {} {}", from.display(), to.display());
}

#[test]
fn rotation_with_two_front_ends_on_postgresql() {
    let Some(cluster) = signet_pgtest::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = cluster.create_database("rotation");
    let url_db = cluster.url(&db);
    let password = tmp.path().join("pgpassword");
    std::fs::write(&password, format!("{}\n", signet_pgtest::PASSWORD)).unwrap();
    let db_flags = [
        "--database",
        url_db.as_str(),
        "--database-password-file",
        s(&password),
    ];
    let (one_dir, two_dir, work) = (
        tmp.path().join("one"),
        tmp.path().join("two"),
        tmp.path().join("work"),
    );
    std::fs::create_dir_all(&work).unwrap();
    let (port_one, port_two) = (free_port(), free_port());
    // Front ends of one log share its public URL (behind one load balancer): the first's.
    let public_url = format!("http://127.0.0.1:{port_one}");
    let start_on = |dir: &Path, port: u16| -> Result<Server, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
        command
            .args([
                "server",
                "--dev-oidc",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .args(db_flags)
            .args(["--public-url", &public_url])
            .env("SIGNET_LOG", "warn");
        Server::spawn(command, dir)
    };
    let mut one = start_on(&one_dir, port_one).unwrap();
    common::log_throwaway_entries(&one, 2);
    assert!(one.terminate().success());
    copy_dir(&one_dir, &two_dir);
    let one = start_on(&one_dir, port_one).unwrap();
    let mut two = start_on(&two_dir, port_two).unwrap();
    let email = "fleet@example.com";
    let before = sign(&one, &work, "before.txt", email);

    // A rotation while a front end runs on the database is refused, though its own data
    // directory is free.
    assert!(two.terminate().success());
    let rotate_pg = |dir: &Path, what: &str| {
        let mut args = vec!["admin", "rotate", what, "--data-dir", s(dir)];
        args.extend_from_slice(&db_flags);
        signet(dir, &args)
    };
    let out = rotate_pg(&two_dir, "log");
    assert!(
        !out.status.success() && text(&out).contains("stop every front end"),
        "a rotation beside a running front end: {}",
        text(&out)
    );
    drop(one);
    // The killed front end's lease runs out (two seconds by default).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    for what in ["log", "ct"] {
        loop {
            let out = rotate_pg(&one_dir, what);
            if out.status.success() {
                break;
            }
            assert!(
                text(&out).contains("stop every front end") && std::time::Instant::now() < deadline,
                "signet admin rotate {what} on PostgreSQL: {}",
                text(&out)
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    let one = start_on(&one_dir, port_one).unwrap();
    // The second front end has not been given the new shards' keys: refused.
    let err = start_on(&two_dir, port_two)
        .err()
        .expect("a front end without the new keys started");
    assert!(err.contains("shard 2"), "{err}");
    for part in ["log-shards", "ct/shards"] {
        copy_dir(&one_dir.join(part), &two_dir.join(part));
    }
    let two = start_on(&two_dir, port_two).unwrap();
    let after = sign(&one, &work, "after.txt", email);
    let (_, origin) = tlog_of(&after.bundle);
    assert_eq!(origin, format!("127.0.0.1:{port_one}/rekor/shards/2"));
    // The second front end takes entries on the new shard too.
    let key = signet_crypto::SigningKey::generate(signet_crypto::KeyKind::EcdsaP256).unwrap();
    let reply = common::add_entry(
        &format!("{}/rekor/shards/2", two.url),
        &common::hashedrekord(&key, b"through the second front end"),
    );
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    // Both front ends serve the new shard's checkpoint with both entries; the old shard is
    // read-only on both.
    for server in [&one, &two] {
        // A front end learns of the other's checkpoint by notification (or its poll).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let note = common::get(&format!("{}/rekor/shards/2/checkpoint", server.url));
            assert_eq!(note.status, 200);
            let size = String::from_utf8_lossy(&note.body)
                .lines()
                .nth(1)
                .map(str::to_string);
            if size.as_deref() == Some("2") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: size {size:?}",
                server.url
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let refused = common::post(&format!("{}/rekor/api/v2/log/entries", server.url), b"{}");
        assert_eq!(refused.status, 409);
    }
    // `signet db migrate` knows the shards' schemas.
    drop((one, two));
    let mut args = vec!["db", "migrate"];
    args.extend_from_slice(&db_flags);
    let out = signet(&work, &args);
    assert_ok(&out, "signet db migrate");
    for schema in ["signet_shard_2_1", "ct_shard_2_1"] {
        assert!(text(&out).contains(schema), "{schema}: {}", text(&out));
    }
    let one = start_on(&one_dir, port_one).unwrap();
    let trust = one_dir.join("trust_config.json");
    let issuer = format!("{}/oidc", one.url);
    for signed in [&before, &after] {
        let out = verify_with_signet(
            &work,
            &["--trust-config", s(&trust)],
            &signed.bundle,
            &signed.file,
            email,
            &issuer,
        );
        assert_ok(&out, &format!("signet verify-blob {}", signed.file.display()));
    }
}

/// `rotate log --url`: a shard under a host of its own, whose checkpoint origin is the host
/// name alone (the form cosign's sigstore-go requires: it verifies a Rekor v2 checkpoint only
/// under the host name of the log's URL). `localhost` stands for the new host here: it reaches
/// the same server, and is not the first shard's host (`127.0.0.1`).
#[test]
fn a_shard_under_a_host_of_its_own_is_named_by_the_host() {
    let (_tmp, data, work, port) = dirs();
    let email = "host@example.com";
    let mut server = start(&data, port);
    common::log_throwaway_entries(&server, 2);
    let before = sign(&server, &work, "before.txt", email);
    assert!(server.terminate().success());

    // The first shard's host cannot name another shard; --url is for the log only.
    let args = |what: &str, url: &str| -> Output {
        signet(
            &data,
            &["admin", "rotate", what, "--data-dir", s(&data), "--url", url],
        )
    };
    let out = args("log", &format!("http://127.0.0.1:{port}/elsewhere"));
    assert!(
        !out.status.success() && text(&out).contains("already serves"),
        "{}",
        text(&out)
    );
    let out = args("tsa", &format!("http://localhost:{port}"));
    assert!(
        !out.status.success() && text(&out).contains("--url is for"),
        "{}",
        text(&out)
    );
    let shard_url = format!("http://localhost:{port}");
    assert_ok(&args("log", &shard_url), "signet admin rotate log --url");

    let server = start(&data, port);
    let root = read_json(&data.join("trusted_root.json"));
    assert_eq!(root["tlogs"][0]["baseUrl"], shard_url.as_str());
    let signing = read_json(&data.join("signing_config.json"));
    assert_eq!(signing["rekorTlogUrls"][0]["url"], shard_url.as_str());
    // The shard answers under its host, and under its path on the server's own host.
    let via_host = common::get(&format!("{shard_url}/checkpoint"));
    let via_path = common::get(&format!("{}/rekor/shards/2/checkpoint", server.url));
    assert_eq!((via_host.status, via_path.status), (200, 200));
    assert_eq!(via_host.body, via_path.body);
    assert!(String::from_utf8_lossy(&via_host.body).starts_with("localhost\n"));
    // The host is the shard's alone: the server's other routes are not under it.
    assert_eq!(common::get(&format!("{shard_url}/healthz")).status, 404);
    assert_eq!(common::get(&format!("{}/healthz", server.url)).status, 200);

    let after = sign(&server, &work, "after.txt", email);
    let (_, origin) = tlog_of(&after.bundle);
    assert_eq!(
        origin, "localhost",
        "the host name alone, as sigstore-go wants it"
    );
    let issuer = format!("{}/oidc", server.url);
    let trust_config = data.join("trust_config.json");
    for signed in [&before, &after] {
        let out = verify_with_signet(
            &work,
            &["--trust-config", s(&trust_config)],
            &signed.bundle,
            &signed.file,
            email,
            &issuer,
        );
        assert_ok(&out, &format!("signet verify-blob {}", signed.file.display()));
    }
    let peers = Peers {
        work: &work,
        data: &data,
        email,
        issuer: &issuer,
    };
    peers.verify(&[&before, &after], None);
}
