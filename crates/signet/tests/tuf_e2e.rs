//! `signet server`'s TUF repository and `signet trust` against it: a client that holds only
//! the server's root.json learns the trusted root and signing config over TUF, signs and
//! verifies with them, and refuses a repository whose files were tampered with.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{get, post, Server};
use serde_json::json;

fn signet(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env("SIGNET_HOME", home)
        .env("HOME", home)
        .output()
        .expect("run signet")
}

#[track_caller]
fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn token(server: &Server, email: &str) -> String {
    let reply = post(
        &format!("{}/oidc/dev/token", server.url),
        json!({ "email": email }).to_string().as_bytes(),
    );
    assert_eq!(reply.status, 200);
    reply.json()["id_token"].as_str().unwrap().to_string()
}

/// The one file in `dir` whose name ends with `suffix`.
fn find(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix} in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

#[test]
fn server_publishes_tuf_and_the_client_bootstraps_from_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut server = Server::start_with(&data, &["--dev-oidc"]);
    let tuf = format!("{}/tuf", server.url);

    // The repository's files, with cache headers; names outside it are 404 JSON.
    let timestamp = get(&format!("{tuf}/timestamp.json"));
    assert_eq!(timestamp.status, 200);
    assert_eq!(timestamp.header("cache-control"), Some("no-cache"));
    let root = get(&format!("{tuf}/1.root.json"));
    assert_eq!(root.status, 200);
    assert!(root.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(root.body, std::fs::read(data.join("tuf/root.json")).unwrap());
    for missing in [
        "2.root.json",
        "..%2Fkeys%2Froot.pem",
        ".hidden",
        "targets/nothing.json",
    ] {
        let reply = get(&format!("{tuf}/{missing}"));
        assert_eq!(reply.status, 404, "{missing}");
        assert!(reply.json()["message"].is_string(), "{missing}");
    }
    let keys = data.join("tuf/keys");
    for role in ["root", "targets", "snapshot", "timestamp"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join(format!("{role}.pem")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{role} key");
    }

    // init: the root out of band, everything else over TUF.
    let root_file = data.join("tuf/root.json");
    let out = signet(
        &home,
        &[
            "trust",
            "init",
            "--instance",
            &tuf,
            "--root",
            root_file.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "trust init");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TUF root v1, targets v1"), "{stderr}");
    let instance_dir = find(&home.join("instances"), "");
    assert_eq!(
        std::fs::read(instance_dir.join("trusted_root.json")).unwrap(),
        std::fs::read(data.join("trusted_root.json")).unwrap()
    );
    assert!(instance_dir.join("signing_config.v0.2.json").exists());
    for f in ["root.json", "timestamp.json", "snapshot.json", "targets.json"] {
        assert!(instance_dir.join("tuf").join(f).exists(), "{f}");
    }
    let out = signet(&home, &["trust", "show", "--instance", &tuf]);
    assert_ok(&out, "trust show");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("signatures and hashes verified"), "{shown}");
    assert!(
        shown.contains(&format!("certificate authority: {}", server.url)),
        "{shown}"
    );

    // Keyless sign and verify with nothing but --instance.
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"over TUF\n").unwrap();
    let bundle = tmp.path().join("a.sigstore.json");
    let t = token(&server, "tuf@example.com");
    let out = signet(
        &home,
        &[
            "sign-blob",
            "--instance",
            &tuf,
            "--identity-token",
            &t,
            "--bundle",
            bundle.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "sign-blob --instance");
    let issuer = format!("{}/oidc", server.url);
    let verify = |home: &Path| {
        signet(
            home,
            &[
                "verify-blob",
                "--instance",
                &tuf,
                "--bundle",
                bundle.to_str().unwrap(),
                "--certificate-identity",
                "tuf@example.com",
                "--certificate-oidc-issuer",
                &issuer,
                artifact.to_str().unwrap(),
            ],
        )
    };
    assert_ok(&verify(&home), "verify-blob --instance");

    // A witness policy kept with the instance: every command using it requires cosignatures
    // (this server's checkpoints carry none), until the flag overrides it or it is cleared.
    let witness = signet_tlog::CosignatureSigner::new(
        "witness.example/w1",
        signet_crypto::SigningKey::generate(signet_crypto::KeyKind::Ed25519).unwrap(),
    )
    .unwrap();
    let policy = tmp.path().join("witnesses.policy");
    std::fs::write(
        &policy,
        format!("witness w1 {}\nquorum w1\n", witness.verifier().vkey()),
    )
    .unwrap();
    let out = signet(
        &home,
        &[
            "trust",
            "witness-policy",
            "--instance",
            &tuf,
            policy.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "trust witness-policy");
    assert!(String::from_utf8_lossy(&out.stderr).contains("quorum witness w1"));
    let shown = signet(&home, &["trust", "show", "--instance", &tuf]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("witness policy: quorum witness w1 over 1 witnesses"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    let out = verify(&home);
    assert!(!out.status.success(), "verified without the required cosignature");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("w1"), "{stderr}");
    // A broken policy is refused with its line, and the kept one stays.
    let broken = tmp.path().join("broken.policy");
    std::fs::write(&broken, "witness w1\n").unwrap();
    let out = signet(
        &home,
        &[
            "trust",
            "witness-policy",
            "--instance",
            &tuf,
            broken.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    assert!(!verify(&home).status.success());
    // --witness-policy on the command overrides the kept one.
    let none = tmp.path().join("none.policy");
    std::fs::write(&none, "quorum none\n").unwrap();
    let mut args = vec![
        "verify-blob",
        "--instance",
        &tuf,
        "--witness-policy",
        none.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--certificate-identity",
        "tuf@example.com",
        "--certificate-oidc-issuer",
        &issuer,
    ];
    args.push(artifact.to_str().unwrap());
    assert_ok(&signet(&home, &args), "verify-blob --witness-policy overriding");
    assert_ok(
        &signet(&home, &["trust", "witness-policy", "--instance", &tuf, "--clear"]),
        "trust witness-policy --clear",
    );
    assert_ok(&verify(&home), "verify-blob after clearing the policy");

    // An update with nothing new changes nothing.
    let before = std::fs::read(instance_dir.join("tuf/timestamp.json")).unwrap();
    assert_ok(
        &signet(&home, &["trust", "update", "--instance", &tuf]),
        "trust update",
    );
    assert_eq!(
        before,
        std::fs::read(instance_dir.join("tuf/timestamp.json")).unwrap()
    );
    // A restart on another port rewrites the trust files with the new URL: new targets,
    // snapshot and timestamp versions, the same root, and the old versions still served.
    server.terminate();
    let server = Server::start_with(&data, &["--dev-oidc"]);
    let tuf2 = format!("{}/tuf", server.url);
    let timestamp2 = get(&format!("{tuf2}/timestamp.json")).json();
    assert_eq!(timestamp2["signed"]["version"], 2);
    assert_eq!(timestamp2["signed"]["meta"]["snapshot.json"]["version"], 2);
    assert_eq!(get(&format!("{tuf2}/2.targets.json")).status, 200);
    assert_eq!(get(&format!("{tuf2}/1.targets.json")).status, 200);
    assert_eq!(get(&format!("{tuf2}/2.root.json")).status, 404);

    // A target changed on the server's disk is refused, and the client keeps what it had.
    let repo_targets = data.join("tuf/repo/targets");
    let current = signet_crypto::sha256(&std::fs::read(data.join("trusted_root.json")).unwrap());
    let target = find(
        &repo_targets,
        &format!("{}.trusted_root.json", hex::encode(current)),
    );
    let original = std::fs::read(&target).unwrap();
    let mut tampered = original.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x20;
    std::fs::write(&target, &tampered).unwrap();
    let kept = std::fs::read(instance_dir.join("trusted_root.json")).unwrap();
    // The port changed with the restart, so this is a new instance: init it first.
    let home2 = tmp.path().join("home2");
    std::fs::create_dir_all(&home2).unwrap();
    let out = signet(
        &home2,
        &[
            "trust",
            "init",
            "--instance",
            &tuf2,
            "--root",
            root_file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "a tampered target was accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("trusted_root.json"), "{stderr}");
    assert!(
        !find(&home2.join("instances"), "")
            .join("trusted_root.json")
            .exists(),
        "a refused target was written"
    );
    assert_eq!(
        kept,
        std::fs::read(instance_dir.join("trusted_root.json")).unwrap()
    );
    std::fs::write(&target, &original).unwrap();
    assert_ok(
        &signet(&home2, &["trust", "update", "--instance", &tuf2]),
        "trust update after the repair",
    );

    // A root.json that does not sign itself is refused by init.
    let mut bad_root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&root_file).unwrap()).unwrap();
    bad_root["signed"]["version"] = json!(7);
    let bad = tmp.path().join("bad-root.json");
    std::fs::write(&bad, serde_json::to_vec(&bad_root).unwrap()).unwrap();
    let home3 = tmp.path().join("home3");
    std::fs::create_dir_all(&home3).unwrap();
    let out = signet(
        &home3,
        &[
            "trust",
            "init",
            "--instance",
            &tuf2,
            "--root",
            bad.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a usable TUF root"), "{stderr}");
}
