//! The `signet-git` program as git runs it, without a server: usage errors, status lines for a
//! signature that is not one, a signing failure reported where the user sees it, and the agent
//! controls with no agent. (The end-to-end tests with real git and a server are
//! `crates/signet/tests/git_e2e.rs`, which run this binary.)

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn signet_git(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_signet-git"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SIGSTORE_ID_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    for args in [
        &[][..],
        &["-x"],
        &["--verify", "only-a-file"],
        &["--status-fd=3", "-bsau", "K"],
    ] {
        let out = signet_git(args, b"", &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("signet-git: "), "{err}");
    }
    let out = signet_git(&["--version"], b"", &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("signet-git "));
}

#[test]
fn a_signature_that_is_not_cms_is_errsig() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sig");
    std::fs::write(
        &file,
        "-----BEGIN SIGNED MESSAGE-----\nAAAA\n-----END SIGNED MESSAGE-----\n",
    )
    .unwrap();
    let out = signet_git(
        &["--status-fd=1", "--verify", file.to_str().unwrap(), "-"],
        b"tree 0000\n\nmessage\n",
        &[("HOME", dir.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let status = String::from_utf8(out.stdout).unwrap();
    assert!(
        status.starts_with("[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG "),
        "{status}"
    );
    assert!(!status.contains("GOODSIG"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not CMS"));
    // A missing signature file: ERRSIG too, never a panic.
    let out = signet_git(
        &[
            "--status-fd=1",
            "--verify",
            dir.path().join("absent").to_str().unwrap(),
            "-",
        ],
        b"",
        &[("HOME", dir.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ERRSIG"));
}

#[test]
fn a_signing_failure_is_written_to_the_log_path_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("signet-git.log");
    let out = signet_git(
        &["--status-fd=2", "-bsau", "Alice <alice@example.com>"],
        b"tree 0000\n\nmessage\n",
        &[
            ("HOME", dir.path().to_str().unwrap()),
            (
                "SIGNET_TRUST_CONFIG",
                dir.path().join("absent.json").to_str().unwrap(),
            ),
            ("SIGNET_GIT_LOG", log.to_str().unwrap()),
            ("SIGNET_GIT_CACHE", "false"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no signature is handed to git");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SIG_CREATED"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("absent.json"), "{logged}");
}

#[test]
fn agent_controls_without_an_agent() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent/sock");
    for what in ["--agent-status", "--agent-forget", "--agent-stop"] {
        let out = signet_git(&[what], b"", &[("SIGNET_GIT_AGENT_SOCK", sock.to_str().unwrap())]);
        assert!(out.status.success(), "{what}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("no credential agent"),
            "{what}"
        );
    }
}
