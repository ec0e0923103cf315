//! Keyless git signing end to end with real git: Debian's `/usr/bin/git` (2.39) and, where
//! present, the newer git at `/usr/local/bin/git`, running `signet-git` as `gpg.x509.program`
//! against a `signet server --dev-oidc`; then verification with the server stopped (offline);
//! `openssl cms` as an independent verifier; and what must fail.
//!
//! Skips with one line when `/usr/bin/git` is absent. `signet-git` is the workspace's other
//! program, built beside `signet` by `cargo test --workspace`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{dev_token, Server};

const DEBIAN_GIT: &str = "/usr/bin/git";
const NEWER_GIT: &str = "/usr/local/bin/git";

fn signet_git() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_signet")).with_file_name("signet-git");
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --workspace` (or `cargo build -p signet-git` first)",
        path.display()
    );
    path
}

fn gits() -> Vec<&'static str> {
    if !Path::new(DEBIAN_GIT).exists() {
        println!("skipped: no {DEBIAN_GIT} (Debian's git)");
        return Vec::new();
    }
    let mut gits = vec![DEBIAN_GIT];
    if Path::new(NEWER_GIT).exists() {
        gits.push(NEWER_GIT);
    }
    gits
}

/// A throwaway repository with its own HOME (no user or system config leaks in).
struct Repo {
    dir: PathBuf,
    git: &'static str,
    env: Vec<(String, String)>,
}

impl Repo {
    fn new(root: &Path, name: &str, git: &'static str, env: &[(&str, &str)], init_args: &[&str]) -> Repo {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let home = root.join(format!("{name}-home"));
        std::fs::create_dir_all(&home).unwrap();
        let mut all: Vec<(String, String)> = vec![
            ("HOME".into(), home.display().to_string()),
            ("SIGNET_HOME".into(), home.join("signet").display().to_string()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            (
                "SIGNET_GIT_LOG".into(),
                root.join(format!("{name}.log")).display().to_string(),
            ),
            // Each test's own agent (if it enables one), gone a minute after its last use.
            (
                "SIGNET_GIT_AGENT_SOCK".into(),
                root.join(format!("{name}-agent/sock")).display().to_string(),
            ),
            ("SIGNET_GIT_AGENT_IDLE_EXIT".into(), "60".into()),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let repo = Repo { dir, git, env: all };
        let mut init = vec!["init", "-q"];
        init.extend_from_slice(init_args);
        repo.ok(&init);
        repo.ok(&["config", "user.name", "Alice"]);
        repo.ok(&["config", "user.email", "alice@example.com"]);
        repo.ok(&["config", "gpg.format", "x509"]);
        repo.ok(&["config", "gpg.x509.program", signet_git().to_str().unwrap()]);
        repo
    }

    fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(self.git);
        cmd.args(args).current_dir(&self.dir).env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null()).output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}\n{}",
            self.git,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn log(&self) -> String {
        let path = self
            .env
            .iter()
            .find(|(k, _)| k == "SIGNET_GIT_LOG")
            .map(|(_, v)| v.clone())
            .unwrap();
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn commit(&self, file: &str, message: &str) {
        std::fs::write(self.dir.join(file), message).unwrap();
        self.ok(&["add", file]);
        self.ok(&["commit", "-q", "-S", "-m", message]);
    }

    /// Writes a raw commit object and returns its id.
    fn write_commit(&self, raw: &[u8]) -> String {
        let mut child = Command::new(self.git)
            .args(["hash-object", "-t", "commit", "-w", "--stdin"])
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(raw).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    fn cat(&self, kind: &str, rev: &str) -> Vec<u8> {
        let out = self.run(&["cat-file", kind, rev]);
        assert!(out.status.success());
        out.stdout
    }
}

fn signet(args: &[&str], env: &[(String, String)], dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

struct Stack {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    server: Server,
    trust_config: String,
    issuer: String,
}

fn stack() -> Stack {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let server = Server::start_with(&root.join("data"), &["--dev-oidc"]);
    let trust_config = root.join("data/trust_config.json").display().to_string();
    let issuer = format!("{}/oidc", server.url);
    Stack {
        _tmp: tmp,
        root,
        server,
        trust_config,
        issuer,
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The armored signature of a raw commit, and the commit without it (as `openssl cms` needs).
fn strip_signature(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let object = signet_gitsign::split_commit(raw, signet_gitsign::ObjectFormat::Sha1).unwrap();
    (object.payload, object.signature)
}

#[test]
fn commits_and_tags_sign_and_verify_offline_with_real_git() {
    for git in gits() {
        sign_verify_offline(git);
    }
}

fn sign_verify_offline(git: &'static str) {
    let mut stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
    ];
    let repo = Repo::new(&stack.root, "r", git, &env, &[]);
    repo.commit("f", "signed commit");
    repo.ok(&["tag", "-s", "v1", "-m", "release v1"]);
    let raw = repo.cat("commit", "HEAD");
    assert!(String::from_utf8_lossy(&raw).contains("\ngpgsig -----BEGIN SIGNED MESSAGE-----\n"));

    // Offline from here on.
    stack.server.kill();
    let policy = [
        ("SIGNET_GIT_IDENTITY", "alice@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];

    // No policy: valid, but nobody said whose: U, with one warning; exit 0.
    let out = repo.run(&["verify-commit", "HEAD"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no identity policy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        repo.ok(&["log", "-1", "--format=%G?|%GS|%GT"]).trim(),
        "U|alice@example.com|undefined"
    );
    // gpg.minTrustLevel=fully turns "no policy" into a failure.
    let out = repo.run(&["-c", "gpg.minTrustLevel=fully", "verify-commit", "HEAD"]);
    assert!(!out.status.success());

    // The policy matches: G, fully.
    let out = repo.run_env(&["verify-commit", "HEAD"], &policy);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("good signature from alice@example.com"));
    let line = String::from_utf8(
        repo.run_env(&["log", "-1", "--format=%G?|%GS|%GT|%GF"], &policy)
            .stdout,
    )
    .unwrap();
    let fields: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(&fields[..3], ["G", "alice@example.com", "fully"]);
    assert_eq!(fields[3].len(), 40, "%GF is the certificate's SHA-1 fingerprint");
    let out = repo.run_env(
        &["-c", "gpg.minTrustLevel=fully", "verify-commit", "HEAD"],
        &policy,
    );
    assert!(out.status.success());
    let shown = repo.run_env(&["log", "-1", "--show-signature"], &policy);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("alice@example.com"));

    // Tags.
    let out = repo.run_env(&["tag", "-v", "v1"], &policy);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("release v1"));
    let out = repo.run_env(&["verify-tag", "v1"], &policy);
    assert!(out.status.success());

    // Someone else was expected: BADSIG, the reason on stderr.
    let mallory = [
        ("SIGNET_GIT_IDENTITY", "mallory@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];
    let out = repo.run_env(&["verify-commit", "HEAD"], &mallory);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("BAD signature"), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8(repo.run_env(&["log", "-1", "--format=%G?"], &mallory).stdout)
            .unwrap()
            .trim(),
        "B"
    );
    // Half a policy fails closed (ERRSIG), never "no policy".
    let out = repo.run_env(
        &["verify-commit", "HEAD"],
        &[("SIGNET_GIT_IDENTITY", "alice@example.com")],
    );
    assert!(!out.status.success());

    // A tampered commit: B.
    let tampered = String::from_utf8(raw.clone())
        .unwrap()
        .replace("\nsigned commit", "\nevil commit");
    let bad = repo.write_commit(tampered.as_bytes());
    let out = repo.run_env(&["verify-commit", &bad], &policy);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(repo.run_env(&["log", "-1", "--format=%G?", &bad], &policy).stdout)
            .unwrap()
            .trim(),
        "B"
    );

    // signet git verify / verify-tag, for scripts.
    let genv: Vec<(String, String)> = repo.env.clone();
    let id = [
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        stack.issuer.as_str(),
    ];
    let with = |args: &[&str]| -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&id);
        all.extend_from_slice(&["--git", git]);
        signet(&all, &genv, &repo.dir)
    };
    let out = with(&["git", "verify", "HEAD"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Verified OK"));
    let out = with(&["git", "verify-tag", "v1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = with(&["git", "verify", &bad]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("changed after it was signed"),
        "{}",
        stderr(&out)
    );
    let out = signet(
        &[
            "git",
            "verify",
            "HEAD",
            "--certificate-identity",
            "mallory@example.com",
            "--certificate-oidc-issuer",
            &stack.issuer,
            "--git",
            git,
        ],
        &genv,
        &repo.dir,
    );
    assert!(!out.status.success());
    // Without flags the git config / environment policy applies; without one, a clear error.
    let out = signet(&["git", "verify", "--git", git], &genv, &repo.dir);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("give the expected signer"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sha256_repositories_sign_gpgsig_sha256() {
    for git in gits() {
        let stack = stack();
        let token = dev_token(&stack.server.url, "alice@example.com");
        let env = [
            ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
            ("SIGSTORE_ID_TOKEN", token.as_str()),
            ("SIGNET_GIT_CACHE", "false"),
            ("SIGNET_GIT_IDENTITY", "alice@example.com"),
            ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
        ];
        let repo = Repo::new(&stack.root, "r256", git, &env, &["--object-format=sha256"]);
        repo.commit("f", "sha256 commit");
        let raw = String::from_utf8(repo.cat("commit", "HEAD")).unwrap();
        assert!(
            raw.contains("\ngpgsig-sha256 -----BEGIN SIGNED MESSAGE-----\n"),
            "{raw}"
        );
        repo.ok(&["verify-commit", "HEAD"]);
        assert_eq!(repo.ok(&["log", "-1", "--format=%G?"]).trim(), "G");
        let out = signet(&["git", "verify", "--git", git], &repo.env, &repo.dir);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[test]
fn openssl_cms_verifies_signets_signature() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
    ];
    let repo = Repo::new(&stack.root, "ossl", git, &env, &[]);
    repo.commit("f", "checked by openssl");
    let (payload, armored) = strip_signature(&repo.cat("commit", "HEAD"));
    let dir = &stack.root;
    std::fs::write(dir.join("c.txt"), &payload).unwrap();
    let pem = String::from_utf8(armored)
        .unwrap()
        .replace("SIGNED MESSAGE", "CMS");
    std::fs::write(dir.join("s.pem"), pem).unwrap();
    // The CA chain from the trusted root.
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&stack.trust_config).unwrap()).unwrap();
    let mut ca = String::new();
    for authority in config["trustedRoot"]["certificateAuthorities"]
        .as_array()
        .unwrap()
    {
        for cert in authority["certChain"]["certificates"].as_array().unwrap() {
            let der = common::b64(cert["rawBytes"].as_str().unwrap());
            ca.push_str(&pem::encode(&pem::Pem::new("CERTIFICATE", der)));
        }
    }
    std::fs::write(dir.join("ca.pem"), ca).unwrap();
    let openssl = |content: &str, extra: &[&str]| -> Output {
        Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "PEM",
                "-out",
                "/dev/null",
                "-content",
                content,
                "-in",
                "s.pem",
            ])
            .args(extra)
            .current_dir(dir)
            .output()
            .expect("openssl")
    };
    let chain = ["-CAfile", "ca.pem", "-purpose", "any", "-no_check_time"];
    let out = openssl("c.txt", &chain);
    assert!(out.status.success(), "openssl: {}", stderr(&out));
    let mut tampered = payload.clone();
    tampered[10] ^= 1;
    std::fs::write(dir.join("bad.txt"), &tampered).unwrap();
    assert!(!openssl("bad.txt", &["-noverify"]).status.success());
    let printed = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "PEM", "-in", "s.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(
        printed.contains("1.3.6.1.4.1.57264.3.1"),
        "the log entry attribute"
    );
    assert!(
        printed.contains("id-smime-aa-timeStampToken"),
        "the RFC 3161 token attribute:\n{printed}"
    );
}

#[test]
fn signing_failures_are_reported_and_leave_no_commit() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let mut stack = stack();
    // An expired token.
    let token = {
        let out = signet(
            &[
                "dev-token",
                "--server",
                &stack.server.url,
                "--email",
                "alice@example.com",
                "--lifetime",
                "1",
            ],
            &[],
            &stack.root,
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    std::thread::sleep(std::time::Duration::from_secs(2));
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
    ];
    let repo = Repo::new(&stack.root, "fail", git, &env, &[]);
    std::fs::write(repo.dir.join("f"), "x").unwrap();
    repo.ok(&["add", "f"]);
    let out = repo.run(&["commit", "-q", "-S", "-m", "never signed"]);
    assert!(!out.status.success());
    assert!(
        repo.log().contains("expired"),
        "the reason is written where the user sees it: {:?}",
        repo.log()
    );
    assert!(
        !repo
            .run(&["rev-parse", "--verify", "-q", "HEAD"])
            .status
            .success(),
        "no commit was made"
    );

    // signet.matchCommitter: a certificate for alice, a commit by bob: refused before
    // anything is logged.
    let fresh = dev_token(&stack.server.url, "alice@example.com");
    repo.ok(&["config", "user.email", "bob@example.com"]);
    let out = repo.run_env(
        &[
            "-c",
            "signet.matchCommitter=true",
            "commit",
            "-q",
            "-S",
            "-m",
            "never signed",
        ],
        &[("SIGSTORE_ID_TOKEN", fresh.as_str())],
    );
    assert!(!out.status.success());
    assert!(repo.log().contains("signet.matchCommitter"), "{}", repo.log());
    assert!(!repo
        .run(&["rev-parse", "--verify", "-q", "HEAD"])
        .status
        .success());
    // The same identity as the committer signs.
    repo.ok(&["config", "user.email", "alice@example.com"]);
    let out = repo.run_env(
        &[
            "-c",
            "signet.matchCommitter=true",
            "commit",
            "-q",
            "-S",
            "-m",
            "signed by the committer",
        ],
        &[("SIGSTORE_ID_TOKEN", fresh.as_str())],
    );
    assert!(out.status.success(), "{}", repo.log());

    // No network at signing time.
    stack.server.kill();
    let out = repo.run_env(
        &["commit", "-q", "--allow-empty", "-S", "-m", "never signed"],
        &[("SIGSTORE_ID_TOKEN", fresh.as_str())],
    );
    assert!(!out.status.success());
    assert!(repo.log().lines().count() >= 3, "{}", repo.log());
    assert_eq!(
        repo.ok(&["log", "--format=%s"]).trim(),
        "signed by the committer",
        "no new commit"
    );
}

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    if dir.join("gitsign/offline.commit").exists() {
        Some(dir)
    } else {
        println!("skipped: no gitsign vector (set SIGNET_VECTORS or add ../shared/vectors)");
        None
    }
}

/// A commit gitsign signed against the public instance in 2023 verifies through git with
/// signet-git and the built-in public-good trusted root, offline, for its signer only.
#[test]
fn a_real_gitsign_commit_verifies_through_git() {
    let Some(vectors) = vectors() else { return };
    for git in gits() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = Repo::new(tmp.path(), "gitsign", git, &[], &[]);
        let raw = std::fs::read(vectors.join("gitsign/offline.commit")).unwrap();
        let id = repo.write_commit(&raw);
        let billy = [
            ("SIGNET_GIT_IDENTITY", "billy@chainguard.dev"),
            ("SIGNET_GIT_ISSUER", "https://accounts.google.com"),
        ];
        let out = repo.run_env(&["verify-commit", &id], &billy);
        assert!(out.status.success(), "{}", stderr(&out));
        // The commit's parent and tree are not in this repository, so `git log` cannot walk
        // it; `--raw` shows the status lines git reads.
        let raw_status = stderr(&repo.run_env(&["verify-commit", "--raw", &id], &billy));
        assert!(
            raw_status.contains("[GNUPG:] GOODSIG ") && raw_status.contains(" billy@chainguard.dev\n"),
            "{raw_status}"
        );
        assert!(raw_status.contains("[GNUPG:] TRUST_FULLY "), "{raw_status}");
        let other = [
            ("SIGNET_GIT_IDENTITY", "alice@example.com"),
            ("SIGNET_GIT_ISSUER", "https://accounts.google.com"),
        ];
        assert!(!repo.run_env(&["verify-commit", &id], &other).status.success());
        let out = signet(
            &[
                "git",
                "verify",
                &id,
                "--certificate-identity",
                "billy@chainguard.dev",
                "--certificate-oidc-issuer",
                "https://accounts.google.com",
                "--git",
                git,
            ],
            &repo.env,
            &repo.dir,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("2023-06-05"),
            "the time is the log's: {}",
            stderr(&out)
        );
        // One byte of the message changed.
        let changed = String::from_utf8(raw).unwrap().replacen("\n\n", "\n\n ", 1);
        let bad = repo.write_commit(changed.as_bytes());
        assert!(!repo.run_env(&["verify-commit", &bad], &billy).status.success());
    }
}

/// `signet.rekorVersion=1` logs in signet's Rekor v1 log (what gitsign's own verifier reads):
/// the embedded entry is a hashedrekord 0.0.1 with a signed entry timestamp.
#[test]
fn rekor_v1_entries_as_gitsign_writes_them() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let mut stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
        ("SIGNET_GIT_REKOR_VERSION", "1"),
        ("SIGNET_GIT_TIMESTAMP", "false"),
        ("SIGNET_GIT_IDENTITY", "alice@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];
    let repo = Repo::new(&stack.root, "v1", git, &env, &[]);
    repo.commit("f", "logged in rekor v1");
    let (_, armored) = strip_signature(&repo.cat("commit", "HEAD"));
    let sig = signet_gitsign::GitSignature::from_armored(&armored).unwrap();
    assert!(sig.timestamp_token.is_none(), "signet.timestamp=false");
    let entry = signet_gitsign::tle::decode(sig.tlog_entry.as_ref().unwrap()).unwrap();
    assert_eq!(
        (
            entry.kind_version.kind.as_str(),
            entry.kind_version.version.as_str()
        ),
        ("hashedrekord", "0.0.1")
    );
    assert!(entry.inclusion_promise.is_some() && entry.integrated_time.is_some());
    assert!(
        entry.canonicalized_body.is_empty(),
        "the body is stripped, as gitsign strips it"
    );
    stack.server.kill();
    repo.ok(&["verify-commit", "HEAD"]);
    assert_eq!(repo.ok(&["log", "-1", "--format=%G?"]).trim(), "G");
}

/// What must never verify: not CMS, two signers, no certificate, random bytes, an entry
/// moved from another signature, a second gpgsig header.
#[test]
fn bad_signatures_are_errsig_or_badsig_never_good() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
    ];
    let repo = Repo::new(&stack.root, "bad", git, &env, &[]);
    repo.commit("a", "first");
    let raw_a = repo.cat("commit", "HEAD");
    repo.commit("b", "second");
    let raw_b = repo.cat("commit", "HEAD");
    let (payload_b, armored_b) = strip_signature(&raw_b);
    let dir = &stack.root;

    let verify = |signature: &[u8]| -> (bool, String) {
        let file = dir.join("sig.txt");
        std::fs::write(&file, signature).unwrap();
        let mut child = Command::new(signet_git())
            .args(["--status-fd=1", "--verify", file.to_str().unwrap(), "-"])
            .current_dir(&repo.dir)
            .env("SIGNET_TRUST_CONFIG", &stack.trust_config)
            .env("HOME", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&payload_b).unwrap();
        let out = child.wait_with_output().unwrap();
        let status = String::from_utf8(out.stdout).unwrap();
        assert!(
            !status.contains("GOODSIG") || out.status.success(),
            "GOODSIG with a failure exit: {status}"
        );
        (out.status.success(), status)
    };
    assert!(verify(&armored_b).0, "the genuine signature verifies");

    let armor = |der: &[u8]| {
        pem::encode_config(
            &pem::Pem::new("SIGNED MESSAGE", der.to_vec()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    };
    // Not CMS.
    let (ok, status) = verify(armor(b"not a CMS structure").as_bytes());
    assert!(!ok && status.contains("ERRSIG"), "{status}");
    // Random bytes, and no armor at all.
    let (ok, status) = verify(b"\x00\xff garbage");
    assert!(!ok && status.contains("ERRSIG"), "{status}");

    // openssl-made CMS: two signers; no certificates.
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
        out.stdout
    };
    for name in ["a", "b"] {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "1",
        ]);
    }
    std::fs::write(dir.join("payload.txt"), &payload_b).unwrap();
    // `openssl cms -sign` over the payload, DER, with `extra` options (signers and such).
    let cms_sign = |extra: &[&str]| {
        let mut args = vec![
            "cms",
            "-sign",
            "-binary",
            "-md",
            "sha256",
            "-in",
            "payload.txt",
            "-outform",
            "DER",
        ];
        args.extend_from_slice(extra);
        openssl(&args)
    };
    let a_signs = ["-signer", "a.pem", "-inkey", "a.key"];
    let two = cms_sign(&[&a_signs[..], &["-signer", "b.pem", "-inkey", "b.key"]].concat());
    let (ok, status) = verify(armor(&two).as_bytes());
    assert!(!ok && status.contains("ERRSIG"), "two signers: {status}");
    let nocerts = cms_sign(&[&["-nocerts"][..], &a_signs[..]].concat());
    let (ok, status) = verify(armor(&nocerts).as_bytes());
    assert!(!ok && status.contains("ERRSIG"), "no certificate: {status}");
    // A self-made certificate with a valid signature over the right bytes: not a trusted CA.
    let (ok, status) = verify(armor(&cms_sign(&a_signs)).as_bytes());
    assert!(!ok && !status.contains("GOODSIG"), "{status}");

    // B's signature carrying A's log entry (and timestamp): the rebuilt body is not the one
    // the log recorded, so its inclusion proof fails.
    let (_, armored_a) = strip_signature(&raw_a);
    let sig_a = signet_gitsign::GitSignature::from_armored(&armored_a).unwrap();
    let mut spliced = signet_gitsign::GitSignature::from_armored(&armored_b).unwrap();
    spliced.tlog_entry = sig_a.tlog_entry.clone();
    let (ok, status) = verify(spliced.to_armored().unwrap().as_bytes());
    assert!(!ok && status.contains("BADSIG"), "spliced entry: {status}");

    // A second gpgsig header, as an attacker could append: git concatenates the two, which
    // signet refuses; `signet git verify` reads the raw object and names the problem.
    let text = String::from_utf8(raw_b.clone()).unwrap();
    let start = text.find("gpgsig ").unwrap();
    let end = text.find("-----END SIGNED MESSAGE-----\n").unwrap() + "-----END SIGNED MESSAGE-----\n".len();
    let doubled = format!("{}{}{}", &text[..end], &text[start..end], &text[end..]);
    let twice = repo.write_commit(doubled.as_bytes());
    let policy = [
        ("SIGNET_GIT_IDENTITY", "alice@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];
    assert!(!repo.run_env(&["verify-commit", &twice], &policy).status.success());
    let out = signet(
        &[
            "git",
            "verify",
            &twice,
            "--certificate-identity",
            "alice@example.com",
            "--certificate-oidc-issuer",
            &stack.issuer,
            "--git",
            git,
        ],
        &repo.env,
        &repo.dir,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("two gpgsig headers"), "{}", stderr(&out));
}

/// Certificates last ten minutes; a commit verifies hours later with the time the timestamp
/// authority and the log vouch for, never "now". Uses libfaketime where installed.
#[test]
fn expired_certificates_still_verify() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let faketime = Path::new("/usr/bin/faketime");
    if !faketime.exists() {
        println!("skipped: no /usr/bin/faketime (Debian's faketime)");
        return;
    }
    let mut stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_CACHE", "false"),
        ("SIGNET_GIT_IDENTITY", "alice@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];
    let repo = Repo::new(&stack.root, "old", git, &env, &[]);
    repo.commit("f", "signed long ago");
    stack.server.kill();
    let verify_at = |offset: &str| {
        let mut cmd = Command::new(faketime);
        cmd.args(["-f", offset, git, "verify-commit", "HEAD"])
            .current_dir(&repo.dir)
            .env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &repo.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = verify_at("+30d");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("good signature"));
    // The clock really moved for signet-git: a signing time in its future is refused, so the
    // same commit verified 30 days in the past fails.
    assert!(!verify_at("-30d").status.success());
}

/// The certificates the CA has issued: its CT log's size.
fn certificates_issued(server: &Server) -> u64 {
    common::get(&format!("{}/ct/ct/v1/get-sth", server.url)).json()["tree_size"]
        .as_u64()
        .unwrap()
}

/// One login, many commits: `git rebase --exec` re-signs 50 commits with one certificate,
/// the key held by the credential agent between signing processes; then the agent is asked
/// what it holds and stopped.
#[test]
fn a_rebase_of_fifty_commits_signs_with_one_certificate() {
    let Some(git) = gits().first().copied() else {
        return;
    };
    let stack = stack();
    let token = dev_token(&stack.server.url, "alice@example.com");
    let env = [
        ("SIGNET_TRUST_CONFIG", stack.trust_config.as_str()),
        ("SIGSTORE_ID_TOKEN", token.as_str()),
        ("SIGNET_GIT_IDENTITY", "alice@example.com"),
        ("SIGNET_GIT_ISSUER", stack.issuer.as_str()),
    ];
    let repo = Repo::new(&stack.root, "rebase", git, &env, &[]);
    for i in 0..50 {
        repo.ok(&["commit", "-q", "--allow-empty", "-m", &format!("commit {i}")]);
    }
    assert_eq!(
        repo.ok(&["log", "--format=%G?"])
            .lines()
            .filter(|l| *l == "N")
            .count(),
        50
    );
    let before = certificates_issued(&stack.server);
    repo.ok(&[
        "-c",
        "commit.gpgsign=true",
        "rebase",
        "-q",
        "--force-rebase",
        "--root",
        "--exec",
        "true",
    ]);
    let after = certificates_issued(&stack.server);
    assert_eq!(after - before, 1, "one certificate for the whole rebase");
    let marks = repo.ok(&["log", "--format=%G?"]);
    assert_eq!(marks.lines().count(), 50);
    assert!(marks.lines().all(|l| l == "G"), "{marks}");

    let control = |what: &str| {
        let mut cmd = Command::new(signet_git());
        cmd.arg(what).env_clear();
        for (k, v) in &repo.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let status = control("--agent-status");
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("alice@example.com until "),
        "{status:?}"
    );
    let sock = repo
        .env
        .iter()
        .find(|(k, _)| k == "SIGNET_GIT_AGENT_SOCK")
        .unwrap()
        .1
        .clone();
    let meta = std::fs::metadata(&sock).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(control("--agent-stop").status.success());
    for _ in 0..100 {
        if !Path::new(&sock).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !Path::new(&sock).exists(),
        "the agent removed its socket when stopped"
    );
}
