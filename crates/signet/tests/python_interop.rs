//! sigstore-python, the reference Sigstore client (PyPI `sigstore` 4.x), against a real
//! `signet server --dev-oidc`: it signs (our CA, Rekor v2 log and TSA) and attests with the
//! server's `trust_config.json` as its only input, verifies what it made, rejects what it must
//! reject, and trades bundles with signet's own client in both directions. It also gets its
//! identity token the two other ways a user's machine does against the development provider:
//! a GitHub Actions ambient token, and an interactive (out-of-band) login. Its verifier is the
//! judge: where it refuses what signet's servers produce, the servers are wrong.
//!
//! The client is `$SIGNET_SIGSTORE_PYTHON` (the `sigstore` executable of a virtual
//! environment; `.ci/run` installs one), else `target/interop-venv/bin/sigstore`. Without
//! either the tests print one skip line, unless `SIGNET_REQUIRE_INTEROP=1` (CI), which makes
//! a missing client a failure.
//!
//! Not covered: `sigstore verify github` pins the issuer to
//! `https://token.actions.githubusercontent.com`, which the development provider's GitHub
//! issuer is not; the GitHub test checks the same policies through the library instead.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use common::Server;
use serde_json::{json, Value};

/// Entries logged before any client signs (see `Stack::start`).
const THROWAWAY_ENTRIES: u64 = 5;

/// The sigstore-python client under test.
struct Python {
    /// The `sigstore` executable.
    sigstore: PathBuf,
}

/// The client, or `None` (after one skip line per test binary) when it is absent and not
/// required (`common::sigstore_python`).
fn python() -> Option<Python> {
    common::sigstore_python().map(|sigstore| Python { sigstore })
}

impl Python {
    /// Runs `sigstore --trust-config <config> ARGS` in a clean environment (no ambient
    /// credentials or `SIGSTORE_*` settings from the caller, no proxy for loopback), plus `env`.
    fn run(&self, stack: &Stack, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&self.sigstore);
        clean_env(&mut cmd, &stack.work);
        cmd.arg("--trust-config").arg(&stack.trust_config).args(args);
        cmd.envs(env.iter().copied());
        cmd.current_dir(&stack.work).output().expect("run sigstore")
    }

    /// The Python interpreter of the client's virtual environment, for library-level checks.
    fn interpreter(&self) -> Option<PathBuf> {
        let bin = self.sigstore.parent()?;
        ["python3", "python"]
            .iter()
            .map(|n| bin.join(n))
            .find(|p| p.exists())
    }

    /// `sigstore verify identity --bundle BUNDLE --cert-identity ID --cert-oidc-issuer ISS FILE`.
    fn verify_identity(
        &self,
        stack: &Stack,
        bundle: &Path,
        identity: &str,
        issuer: &str,
        file: &Path,
    ) -> Output {
        self.run(
            stack,
            &[
                "verify",
                "identity",
                "--bundle",
                s(bundle),
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                issuer,
                s(file),
            ],
            &[],
        )
    }
}

/// Clears the environment but for what a process needs to run, and keeps proxies away from
/// loopback.
fn clean_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
}

/// A server with its data directory and a work directory for files and bundles.
struct Stack {
    server: Server,
    _tmp: tempfile::TempDir,
    work: PathBuf,
    trust_config: PathBuf,
    trusted_root: PathBuf,
}

impl Stack {
    /// Starts `signet server --dev-oidc` on a fresh data directory and logs a few throwaway
    /// entries first: every bundle under test then has log index ≥ 1 (INTEROP 14: some clients
    /// drop a zero `logIndex`, which others then refuse), and its inclusion proof has more
    /// than one level and an unbalanced tree.
    fn start() -> Stack {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let server = Server::start_with(&data, &["--dev-oidc"]);
        common::log_throwaway_entries(&server, THROWAWAY_ENTRIES);
        Stack {
            trust_config: data.join("trust_config.json"),
            trusted_root: data.join("trusted_root.json"),
            server,
            _tmp: tmp,
            work,
        }
    }

    /// The email identity issuer of the development provider.
    fn issuer(&self) -> String {
        format!("{}/oidc", self.server.url)
    }

    /// A fresh identity token for `email` from the development provider.
    fn token(&self, email: &str) -> String {
        common::dev_token(&self.server.url, email)
    }

    fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.work.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Runs `signet ARGS` in a clean environment.
    fn signet(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_signet"));
        clean_env(&mut cmd, &self.work);
        cmd.args(args)
            .current_dir(&self.work)
            .output()
            .expect("run signet")
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn text(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", text(out));
}

/// Asserts that sigstore-python verified `file`: exit 0 and its `OK: <file>` line.
#[track_caller]
fn assert_verified(out: &Output, file: &Path, what: &str) {
    assert_ok(out, what);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("OK: {}", s(file))),
        "{what}: no OK line:\n{}",
        text(out)
    );
}

/// Asserts that sigstore-python refused, for the reason `why` (a fragment of its message).
#[track_caller]
fn assert_rejected(out: &Output, why: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} was accepted:\n{}", text(out));
    assert!(stderr.contains("FAIL"), "{what}: no FAIL line:\n{}", text(out));
    assert!(
        stderr.contains(why),
        "{what}: refused, but not because of {why:?}:\n{}",
        text(out)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Checks the shape of a bundle sigstore-python wrote: our certificate, one Rekor v2
/// hashedrekord entry at index ≥ 1 (DSSE too is logged as hashedrekord over the PAE), and a
/// timestamp from our TSA.
#[track_caller]
fn assert_python_bundle(bundle: &Value) {
    let material = &bundle["verificationMaterial"];
    assert!(material["certificate"]["rawBytes"].is_string(), "{bundle}");
    let entries = material["tlogEntries"].as_array().expect("tlogEntries");
    assert_eq!(entries.len(), 1, "{bundle}");
    assert_eq!(
        entries[0]["kindVersion"],
        json!({"kind": "hashedrekord", "version": "0.0.2"})
    );
    let index: u64 = entries[0]["logIndex"]
        .as_str()
        .expect("logIndex")
        .parse()
        .unwrap();
    assert!(
        index >= THROWAWAY_ENTRIES,
        "log index {index}: the throwaway entries come first"
    );
    let timestamps = material["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .expect("rfc3161Timestamps");
    assert_eq!(timestamps.len(), 1, "one timestamp from our TSA");
}

/// Whether `signet --help` lists `command`; if not, prints one line saying which case skips.
fn signet_has(command: &str, case: &str) -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("--help")
        .output()
        .expect("run signet --help");
    let help = String::from_utf8_lossy(&out.stdout);
    let found = help.lines().any(|l| l.split_whitespace().next() == Some(command));
    if !found {
        println!("skipped {case}: `signet {command}` does not exist yet");
    }
    found
}

#[test]
fn python_signs_and_verifies_blobs_and_trades_bundles_with_signet() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let issuer = stack.issuer();
    let token = stack.token("alice@example.com");
    let artifact = stack.file("a.txt", b"hello from sigstore-python\n");
    let bundle = stack.path("a.sigstore.json");

    // Sign: certificate from our CA (with its SCT checked against our CT log key at once),
    // hashedrekord v0.0.2 in our Rekor v2 log, a timestamp from our TSA.
    let out = py.run(
        &stack,
        &[
            "sign",
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&artifact),
        ],
        &[],
    );
    assert_ok(&out, "sigstore sign");
    assert_python_bundle(&read_json(&bundle));

    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &artifact);
    assert_verified(&out, &artifact, "sigstore verify identity");
    // The same, given only the artifact's digest.
    let digest = format!(
        "sha256:{}",
        hex::encode(signet_crypto::sha256(&std::fs::read(&artifact).unwrap()))
    );
    let out = py.run(
        &stack,
        &[
            "verify",
            "identity",
            "--bundle",
            s(&bundle),
            "--cert-identity",
            "alice@example.com",
            "--cert-oidc-issuer",
            &issuer,
            &digest,
        ],
        &[],
    );
    assert_ok(&out, "sigstore verify identity sha256:DIGEST");

    // What the Python verifier must refuse.
    let tampered = stack.file("tampered.txt", b"hello from sigstore-python!\n");
    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &tampered);
    assert_rejected(&out, "digest mismatch", "a tampered artifact");
    let out = py.verify_identity(&stack, &bundle, "mallory@example.com", &issuer, &artifact);
    assert_rejected(&out, "SANs do not match", "a wrong --cert-identity");
    let wrong_issuer = format!("{issuer}/github");
    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &wrong_issuer, &artifact);
    assert_rejected(&out, "OIDCIssuer does not match", "a wrong --cert-oidc-issuer");

    // signet's verifier on the Python bundle.
    if signet_has(
        "verify-bundle",
        "signet verify-bundle on a sigstore-python bundle",
    ) {
        let verify = |identity: &str| {
            stack.signet(&[
                "verify-bundle",
                "--bundle",
                s(&bundle),
                "--certificate-identity",
                identity,
                "--certificate-oidc-issuer",
                &issuer,
                "--trusted-root",
                s(&stack.trusted_root),
                s(&artifact),
            ])
        };
        assert_ok(&verify("alice@example.com"), "signet verify-bundle");
        let out = verify("mallory@example.com");
        assert!(
            !out.status.success(),
            "signet accepted a wrong identity:\n{}",
            text(&out)
        );
    }

    // signet's signer, the Python verifier.
    if signet_has(
        "sign-blob",
        "sigstore verify identity on a signet sign-blob bundle",
    ) {
        let signet_bundle = stack.path("a.signet.sigstore.json");
        let out = stack.signet(&[
            "sign-blob",
            s(&artifact),
            "--bundle",
            s(&signet_bundle),
            "--identity-token",
            &token,
            "--trust-config",
            s(&stack.trust_config),
        ]);
        assert_ok(&out, "signet sign-blob");
        let out = py.verify_identity(&stack, &signet_bundle, "alice@example.com", &issuer, &artifact);
        assert_verified(&out, &artifact, "sigstore verify identity of signet's bundle");
        let out = py.verify_identity(&stack, &signet_bundle, "alice@example.com", &issuer, &tampered);
        assert_rejected(
            &out,
            "digest mismatch",
            "signet's bundle over a tampered artifact",
        );
    }
}

/// A SLSA v1 provenance predicate, as sigstore-python schema-checks it.
fn slsa_v1_predicate() -> Value {
    json!({
        "buildDefinition": {
            "buildType": "https://example.com/build/v1",
            "externalParameters": { "source": "git+https://example.com/repo@refs/heads/main" },
            "internalParameters": {},
            "resolvedDependencies": []
        },
        "runDetails": {
            "builder": { "id": "https://example.com/builder" },
            "metadata": { "invocationId": "1" }
        }
    })
}

#[test]
fn python_attests_slsa_provenance() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let issuer = stack.issuer();
    let token = stack.token("alice@example.com");
    let artifact = stack.file("a.txt", b"a build output\n");
    let predicate = stack.file("provenance.json", slsa_v1_predicate().to_string().as_bytes());
    let bundle = stack.path("a.intoto.sigstore.json");

    // sigstore-python logs a DSSE envelope in Rekor v2 as hashedrekord v0.0.2 over the PAE.
    let out = py.run(
        &stack,
        &[
            "attest",
            "--identity-token",
            &token,
            "--predicate",
            s(&predicate),
            "--predicate-type",
            "https://slsa.dev/provenance/v1",
            "--bundle",
            s(&bundle),
            s(&artifact),
        ],
        &[],
    );
    assert_ok(&out, "sigstore attest");
    let written = read_json(&bundle);
    assert_python_bundle(&written);
    assert_eq!(
        written["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );

    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &artifact);
    assert_verified(&out, &artifact, "sigstore verify identity (attestation)");
    let statement: Value = serde_json::from_slice(&out.stdout).expect("the statement on stdout");
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    assert_eq!(statement["predicate"], slsa_v1_predicate());

    let other = stack.file("other.txt", b"not the build output\n");
    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &other);
    assert_rejected(&out, "subject", "an attestation about another artifact");

    if signet_has(
        "verify-bundle",
        "signet verify-bundle on a sigstore-python attestation",
    ) {
        let out = stack.signet(&[
            "verify-bundle",
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            "alice@example.com",
            "--certificate-oidc-issuer",
            &issuer,
            "--trusted-root",
            s(&stack.trusted_root),
            s(&artifact),
        ]);
        assert_ok(&out, "signet verify-bundle (attestation)");
    }

    // The other way: an attestation made by `signet attest-blob` (logged on Rekor v2 as
    // hashedrekord over the PAE, as sigstore-python logs them) verifies in sigstore-python.
    if signet_has("attest-blob", "sigstore-python verifying a signet attestation") {
        let ours = stack.path("a.signet.intoto.sigstore.json");
        let out = stack.signet(&[
            "attest-blob",
            s(&artifact),
            "--predicate",
            s(&predicate),
            "--type",
            "slsaprovenance1",
            "--bundle",
            s(&ours),
            "--identity-token",
            &token,
            "--trust-config",
            s(&stack.trust_config),
        ]);
        assert_ok(&out, "signet attest-blob");
        let out = py.verify_identity(&stack, &ours, "alice@example.com", &issuer, &artifact);
        assert_verified(&out, &artifact, "sigstore verify identity (signet attestation)");
        let out = py.verify_identity(&stack, &ours, "alice@example.com", &issuer, &other);
        assert_rejected(&out, "subject", "a signet attestation about another artifact");
    }
}

/// Claims of a JWT, unverified.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&B64URL.decode(payload).expect("base64url")).expect("JSON claims")
}

/// The policies of `sigstore verify github` (and the Fulcio v2 extensions behind them), checked
/// through sigstore-python's library against `issuer`, as the CLI pins GitHub's real issuer.
const GITHUB_POLICY_SCRIPT: &str = r#"
import json, sys
from pathlib import Path
from sigstore.models import Bundle, ClientTrustConfig
from sigstore.verify import Verifier, policy

trust, bundle, artifact, expected = sys.argv[1:5]
expected = json.loads(expected)
checks = [policy.Identity(identity=expected.pop("Identity"), issuer=expected.pop("OIDCIssuer"))]
checks += [getattr(policy, name)(value) for name, value in expected.items()]
verifier = Verifier(trusted_root=ClientTrustConfig.from_json(Path(trust).read_text()).trusted_root)
verifier.verify_artifact(Path(artifact).read_bytes(), Bundle.from_json(Path(bundle).read_bytes()), policy.AllOf(checks))
print("OK: %d policies" % len(checks))
"#;

#[test]
fn python_signs_with_a_github_actions_ambient_token() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let issuer = format!("{}/github", stack.issuer());
    let token_url = format!("{issuer}/dev/actions-token");
    let artifact = stack.file("a.txt", b"released by a workflow\n");
    let bundle = stack.path("a.sigstore.json");

    // No --identity-token: the client finds GitHub Actions in its environment and asks the
    // development provider for a token as it would ask GitHub.
    let out = py.run(
        &stack,
        &["sign", "--bundle", s(&bundle), s(&artifact)],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &token_url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "x"),
        ],
    );
    assert_ok(&out, "sigstore sign (GitHub Actions ambient token)");
    assert_python_bundle(&read_json(&bundle));

    // The provider's defaults are fixed, so a second token carries the claims the first had.
    let reply = common::reply(
        common::agent()
            .get(&format!("{token_url}?audience=sigstore"))
            .set("Authorization", "Bearer x")
            .call(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let c = claims(reply.json()["value"].as_str().expect("value"));
    let claim = |name: &str| {
        c[name]
            .as_str()
            .unwrap_or_else(|| panic!("claim {name}: {c}"))
            .to_string()
    };
    let workflow_identity = format!("https://github.com/{}", claim("job_workflow_ref"));

    let out = py.verify_identity(&stack, &bundle, &workflow_identity, &issuer, &artifact);
    assert_verified(&out, &artifact, "sigstore verify identity (workflow identity)");
    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &artifact);
    assert_rejected(
        &out,
        "SANs do not match",
        "an email identity for a workflow certificate",
    );

    match py.interpreter() {
        Some(python) => {
            let repo_url = format!("https://github.com/{}", claim("repository"));
            let expected = json!({
                "Identity": workflow_identity,
                "OIDCIssuer": issuer,
                "GitHubWorkflowTrigger": claim("event_name"),
                "GitHubWorkflowSHA": claim("sha"),
                "GitHubWorkflowName": claim("workflow"),
                "GitHubWorkflowRepository": claim("repository"),
                "GitHubWorkflowRef": claim("ref"),
                "OIDCIssuerV2": issuer,
                "OIDCBuildSignerURI": workflow_identity,
                "OIDCBuildSignerDigest": claim("job_workflow_sha"),
                "OIDCRunnerEnvironment": claim("runner_environment"),
                "OIDCSourceRepositoryURI": repo_url,
                "OIDCSourceRepositoryDigest": claim("sha"),
                "OIDCSourceRepositoryRef": claim("ref"),
                "OIDCSourceRepositoryIdentifier": claim("repository_id"),
                "OIDCSourceRepositoryOwnerURI": format!("https://github.com/{}", claim("repository_owner")),
                "OIDCSourceRepositoryOwnerIdentifier": claim("repository_owner_id"),
                "OIDCBuildConfigURI": format!("https://github.com/{}", claim("workflow_ref")),
                "OIDCBuildConfigDigest": claim("workflow_sha"),
                "OIDCBuildTrigger": claim("event_name"),
                "OIDCRunInvocationURI": format!(
                    "{repo_url}/actions/runs/{}/attempts/{}",
                    claim("run_id"),
                    claim("run_attempt")
                ),
                "OIDCSourceRepositoryVisibility": claim("repository_visibility"),
            });
            let mut cmd = Command::new(python);
            clean_env(&mut cmd, &stack.work);
            let out = cmd
                .args(["-c", GITHUB_POLICY_SCRIPT])
                .args([s(&stack.trust_config), s(&bundle), s(&artifact)])
                .arg(expected.to_string())
                .output()
                .expect("run python");
            assert_ok(&out, "sigstore-python GitHub policies");
        }
        None => println!(
            "skipped the GitHub policy check: no python beside {}",
            py.sigstore.display()
        ),
    }

    if signet_has("verify-bundle", "signet verify-bundle on a GitHub Actions bundle") {
        let out = stack.signet(&[
            "verify-bundle",
            "--bundle",
            s(&bundle),
            "--certificate-identity",
            &workflow_identity,
            "--certificate-oidc-issuer",
            &issuer,
            "--certificate-github-workflow-repository",
            &claim("repository"),
            "--certificate-github-workflow-ref",
            &claim("ref"),
            "--certificate-github-workflow-sha",
            &claim("sha"),
            "--certificate-github-workflow-trigger",
            &claim("event_name"),
            "--trusted-root",
            s(&stack.trusted_root),
            s(&artifact),
        ]);
        assert_ok(&out, "signet verify-bundle (GitHub Actions bundle)");
    }
}

/// The first line of `lines` (a child's stderr, line by line) that holds `needle`, waiting at
/// most a minute; `seen` collects every line read.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut String) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).ok()?;
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(needle) {
            return Some(line);
        }
    }
}

#[test]
fn python_signs_after_an_interactive_login() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let issuer = stack.issuer();
    let artifact = stack.file("a.txt", b"signed after a login\n");
    let bundle = stack.path("a.sigstore.json");

    // No token: the client discovers the signing config's OpenID provider, prints the
    // authorization URL (out-of-band redirect, PKCE) and reads the code from stdin; it then
    // redeems the code at the token endpoint (HTTP Basic client authentication).
    let mut cmd = Command::new(&py.sigstore);
    clean_env(&mut cmd, &stack.work);
    let mut child = cmd
        .arg("--trust-config")
        .arg(&stack.trust_config)
        .args(["sign", "--oauth-force-oob", "--bundle", s(&bundle), s(&artifact)])
        .current_dir(&stack.work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sigstore");
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    let Some(line) = wait_for_line(&lines, "/authorize?", &mut seen) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("sigstore printed no authorization URL:\n{seen}");
    };
    let url = line.trim();
    assert!(url.starts_with(&format!("{issuer}/authorize?")), "{url}");

    // The user signs in on the login page: the form posts the authorization request back
    // with an identity, and the page shows the code.
    let (endpoint, query) = url.split_once('?').unwrap();
    let reply = common::reply(
        common::agent()
            .post(endpoint)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&format!("{query}&email=alice%40example.com")),
    );
    let page = String::from_utf8_lossy(&reply.body).to_string();
    assert_eq!(reply.status, 200, "{page}");
    let code = page
        .split_once("<code id=\"code\">")
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(code, _)| code.to_string())
        .unwrap_or_else(|| panic!("no code on the page:\n{page}"));

    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{code}\n").as_bytes()).unwrap();
    drop(stdin);
    let status = child.wait().expect("wait for sigstore");
    reader.join().unwrap();
    seen.extend(lines.try_iter().map(|l| l + "\n"));
    assert!(
        status.success(),
        "sigstore sign after login failed ({status}):\n{seen}"
    );
    assert_python_bundle(&read_json(&bundle));

    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &artifact);
    assert_verified(&out, &artifact, "sigstore verify identity (interactive login)");
}

#[test]
fn python_signs_on_the_rekor_v1_log() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let issuer = stack.issuer();
    let token = stack.token("alice@example.com");
    let artifact = stack.file("v1.txt", b"logged the old way\n");
    let bundle = stack.path("v1.sigstore.json");
    let out = py.run(
        &stack,
        &[
            "sign",
            "--rekor-version",
            "1",
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&artifact),
        ],
        &[],
    );
    assert_ok(&out, "sigstore sign --rekor-version 1");
    let written = read_json(&bundle);
    let entry = &written["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.1", "{entry}");
    assert!(
        entry["inclusionPromise"]["signedEntryTimestamp"].is_string(),
        "{entry}"
    );
    assert!(entry["integratedTime"].is_string(), "{entry}");

    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &artifact);
    assert_verified(&out, &artifact, "sigstore verify identity (Rekor v1)");
    let other = stack.file("v1-other.txt", b"something else\n");
    let out = py.verify_identity(&stack, &bundle, "alice@example.com", &issuer, &other);
    assert_rejected(&out, "digest", "a Rekor v1 bundle over another file");

    let out = stack.signet(&[
        "verify-bundle",
        "--bundle",
        s(&bundle),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &issuer,
        "--trusted-root",
        s(&stack.trusted_root),
        s(&artifact),
    ]);
    assert_ok(&out, "signet verify-bundle (Rekor v1 bundle)");

    // The other way: signet signs on the Rekor v1 log alone (as `sign --legacy-format` does),
    // and Python verifies. Python rebuilds the hashedrekord body from the bundle and compares
    // it whole, the certificate as PEM with `\n` line ends, as signet now writes it.
    let config = read_json(&stack.trust_config);
    let mut signing = config["signingConfig"].clone();
    signing["rekorTlogUrls"]
        .as_array_mut()
        .unwrap()
        .retain(|log| log["majorApiVersion"] == 1);
    let signing_config = stack.file("signing-v1.json", signing.to_string().as_bytes());
    let signed = stack.path("v1-by-signet.sigstore.json");
    let token = stack.token("alice@example.com");
    let out = stack.signet(&[
        "sign-blob",
        s(&artifact),
        "--bundle",
        s(&signed),
        "--trusted-root",
        s(&stack.trusted_root),
        "--signing-config",
        s(&signing_config),
        "--identity-token",
        &token,
    ]);
    assert_ok(&out, "signet sign-blob on the Rekor v1 log");
    let entry = &read_json(&signed)["verificationMaterial"]["tlogEntries"][0];
    assert_eq!(entry["kindVersion"]["version"], "0.0.1", "{entry}");
    let out = py.verify_identity(&stack, &signed, "alice@example.com", &issuer, &artifact);
    assert_verified(
        &out,
        &artifact,
        "sigstore verify identity (signet's Rekor v1 bundle)",
    );
}

/// sigstore-python (python-tuf underneath) bootstraps from the server's TUF repository with
/// nothing but its root.json, as it does for the public instance: `trust-instance`, then sign
/// and verify with `--instance`. signet's client does the same and verifies Python's bundle.
#[test]
fn python_bootstraps_from_the_servers_tuf_repository() {
    let Some(py) = python() else { return };
    let stack = Stack::start();
    let data = stack.trust_config.parent().unwrap().to_path_buf();
    let tuf = format!("{}/tuf", stack.server.url);
    let root = data.join("tuf/root.json");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&py.sigstore);
        clean_env(&mut cmd, &stack.work);
        cmd.arg("--instance").arg(&tuf).args(args);
        cmd.current_dir(&stack.work).output().expect("run sigstore")
    };
    assert_ok(&run(&["trust-instance", s(&root)]), "sigstore trust-instance");

    let token = stack.token("tuf@example.com");
    let artifact = stack.file("tuf.txt", b"trusted over TUF\n");
    let bundle = stack.path("tuf.sigstore.json");
    assert_ok(
        &run(&[
            "sign",
            "--identity-token",
            &token,
            "--bundle",
            s(&bundle),
            s(&artifact),
        ]),
        "sigstore --instance sign",
    );
    assert_python_bundle(&read_json(&bundle));
    let issuer = stack.issuer();
    let verify = |file: &Path| {
        run(&[
            "verify",
            "identity",
            "--bundle",
            s(&bundle),
            "--cert-identity",
            "tuf@example.com",
            "--cert-oidc-issuer",
            &issuer,
            s(file),
        ])
    };
    assert_verified(&verify(&artifact), &artifact, "sigstore --instance verify");
    let other = stack.file("tuf-other.txt", b"not it\n");
    assert_rejected(
        &verify(&other),
        "digest",
        "a TUF-instance bundle over another file",
    );

    let out = stack.signet(&["trust", "init", "--instance", &tuf, "--root", s(&root)]);
    assert_ok(&out, "signet trust init");
    let out = stack.signet(&[
        "verify-blob",
        "--instance",
        &tuf,
        "--bundle",
        s(&bundle),
        "--certificate-identity",
        "tuf@example.com",
        "--certificate-oidc-issuer",
        &issuer,
        s(&artifact),
    ]);
    assert_ok(&out, "signet verify-blob --instance (Python's bundle)");
}

/// The other direction: signet's TUF client against a repository written by python-tuf, the
/// reference implementation (`tests/tuf_peer/python_repo.py`): bootstrap from its root, follow
/// a root rotation that replaces a root key and the timestamp key, and refuse a replayed
/// (rolled-back) and an expired timestamp while keeping what it had.
#[test]
fn signet_follows_a_python_tuf_repository() {
    let Some(py) = python() else { return };
    let Some(interpreter) = py.interpreter() else {
        panic!("no Python interpreter beside {}", py.sigstore.display());
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tuf_peer/python_repo.py");
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../signet-client/trust");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let python = |args: &[&str]| {
        let mut cmd = Command::new(&interpreter);
        clean_env(&mut cmd, tmp.path());
        let out = cmd
            .arg(&script)
            .arg(&repo)
            .args(args)
            .output()
            .expect("run python");
        assert_ok(&out, &format!("python_repo.py {args:?}"));
    };
    let first_root = builtin.join("staging/trusted_root.json");
    let second_root = builtin.join("public-good/trusted_root.json");
    python(&[
        "init",
        s(&first_root),
        s(&builtin.join("staging/signing_config.v0.2.json")),
    ]);

    let mut cmd = Command::new(&interpreter);
    clean_env(&mut cmd, tmp.path());
    /// Kills the repository's server however the test ends.
    struct Serving(std::process::Child);
    impl Drop for Serving {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Serving(
        cmd.arg(&script)
            .arg(&repo)
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve"),
    );
    let mut port = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("http://127.0.0.1:{}", port.trim());
    let signet = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_signet"))
            .args(args)
            .env("SIGNET_HOME", &home)
            .output()
            .expect("run signet")
    };
    let instance_file = |name: &str| {
        let dirs: Vec<PathBuf> = std::fs::read_dir(home.join("instances"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        std::fs::read(dirs[0].join(name)).unwrap()
    };
    let root_version = || -> u64 {
        let root: Value = serde_json::from_slice(&instance_file("tuf/root.json")).unwrap();
        root["signed"]["version"].as_u64().unwrap()
    };

    let out = signet(&[
        "trust",
        "init",
        "--instance",
        &url,
        "--root",
        s(&repo.join("1.root.json")),
    ]);
    assert_ok(&out, "signet trust init (python-tuf repository)");
    assert_eq!(
        instance_file("trusted_root.json"),
        std::fs::read(&first_root).unwrap()
    );
    assert_eq!(root_version(), 1);

    python(&["rotate", s(&second_root)]);
    assert_ok(
        &signet(&["trust", "update", "--instance", &url]),
        "update across a root rotation",
    );
    assert_eq!(
        instance_file("trusted_root.json"),
        std::fs::read(&second_root).unwrap()
    );
    assert_eq!(root_version(), 2);

    for (attack, why) in [("replay-timestamp", "timestamp"), ("expire-timestamp", "expired")] {
        python(&[attack]);
        let out = signet(&["trust", "update", "--instance", &url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{attack} was accepted: {stderr}");
        assert!(stderr.contains(why), "{attack}: {stderr}");
        assert_eq!(
            instance_file("trusted_root.json"),
            std::fs::read(&second_root).unwrap(),
            "{attack} changed the trusted root"
        );
    }
    drop(server);
}
