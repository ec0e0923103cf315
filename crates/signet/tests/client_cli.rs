//! The client commands as a user sees them: exit status, one line on stderr, nothing on
//! stdout, and no output file when anything fails. Also `verify-bundle` on the
//! sigstore-conformance bundle vectors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const CONFORMANCE_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const CONFORMANCE_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Runs `signet` with a clean environment: no trust config, an empty config home, no token.
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

/// Asserts a failure reported as exactly one `signet: …` line containing `needle`.
fn assert_one_line_failure(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure; stderr: {stderr}");
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("signet: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in: {stderr}"
    );
}

fn vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGNET_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"));
    if dir.join("sigstore-conformance/bundle-verify").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: conformance vectors not found at {} (set $SIGNET_VECTORS)",
            dir.display()
        );
        None
    }
}

fn jwt(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A minimal ClientTrustConfig naming loopback services that are not running.
fn write_trust_config(dir: &Path) -> PathBuf {
    let path = dir.join("trust_config.json");
    let config = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": { "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1" },
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [{ "url": "http://127.0.0.1:9", "majorApiVersion": 1, "operator": "t" }],
            "rekorTlogUrls": [{ "url": "http://127.0.0.1:9/rekor", "majorApiVersion": 2, "operator": "t" }],
            "tsaUrls": [{ "url": "http://127.0.0.1:9/tsa/api/v1/timestamp", "majorApiVersion": 1, "operator": "t" }],
        }
    });
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sign_blob_missing_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("out.sigstore.json");
    let out = signet(
        tmp.path(),
        &[
            "sign-blob",
            tmp.path().join("nope.txt").to_str().unwrap(),
            "--bundle",
            out_path.to_str().unwrap(),
            "--identity-token",
            "x.y.z",
        ],
    );
    assert_one_line_failure(&out, "nope.txt");
    assert!(!out_path.exists());
}

#[test]
fn sign_bundle_refuses_an_expired_token_without_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"hello").unwrap();
    let trust = write_trust_config(tmp.path());
    let token = jwt(
        &serde_json::json!({"iss": "https://issuer", "sub": "s", "email": "a@b.c", "aud": "sigstore", "exp": 1000}),
    );
    let out_path = tmp.path().join("out.json");
    let before = dir_entries(tmp.path());
    let out = signet(
        tmp.path(),
        &[
            "sign-bundle",
            "--identity-token",
            &token,
            "--bundle",
            out_path.to_str().unwrap(),
            "--trust-config",
            trust.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ],
    );
    assert_one_line_failure(&out, "expired");
    assert_eq!(dir_entries(tmp.path()), before, "a file was left behind");
}

#[test]
fn sign_blob_with_unreachable_services_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"hello").unwrap();
    let trust = write_trust_config(tmp.path());
    let token = jwt(
        &serde_json::json!({"iss": "https://issuer", "sub": "s", "email": "a@b.c", "aud": "sigstore", "exp": 4_000_000_000u64}),
    );
    let out_path = tmp.path().join("out.json");
    let before = dir_entries(tmp.path());
    let out = signet(
        tmp.path(),
        &[
            "sign-blob",
            artifact.to_str().unwrap(),
            "--bundle",
            out_path.to_str().unwrap(),
            "--identity-token",
            &token,
            "--trust-config",
            trust.to_str().unwrap(),
        ],
    );
    assert_one_line_failure(&out, "127.0.0.1:9");
    assert_eq!(dir_entries(tmp.path()), before, "a file was left behind");
}

#[test]
fn malformed_token_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"hello").unwrap();
    let trust = write_trust_config(tmp.path());
    let out = signet(
        tmp.path(),
        &[
            "sign-bundle",
            "--identity-token",
            "not a token",
            "--bundle",
            tmp.path().join("o.json").to_str().unwrap(),
            "--trust-config",
            trust.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ],
    );
    assert_one_line_failure(&out, "JWT");
}

#[test]
fn no_trust_flags_use_the_builtin_root_and_a_custom_instance_needs_init() {
    let Some(v) = vectors() else { return };
    let case = v.join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let tmp = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["verify-bundle"];
        args.extend(extra);
        let bundle = case.join("bundle.sigstore.json");
        let artifact = case.parent().unwrap().join("a.txt");
        args.extend([
            "--bundle",
            bundle.to_str().unwrap(),
            "--certificate-identity",
            CONFORMANCE_IDENTITY,
            "--certificate-oidc-issuer",
            CONFORMANCE_ISSUER,
            artifact.to_str().unwrap(),
        ]);
        signet(tmp.path(), &args)
    };
    // An empty configuration directory: the built-in public-good root verifies.
    let out = run(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The built-in staging root does not know the public instance's CA.
    assert_one_line_failure(&run(&["--staging"]), "signet trust update");
    // A private instance has no built-in root.
    assert_one_line_failure(
        &run(&["--instance", "https://tuf.example.com"]),
        "signet trust init --instance https://tuf.example.com",
    );
}

#[test]
fn malformed_and_truncated_bundles() {
    let tmp = tempfile::tempdir().unwrap();
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"hello").unwrap();
    let root = tmp.path().join("trusted_root.json");
    std::fs::write(
        &root,
        br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    )
    .unwrap();
    let good = vectors()
        .map(|v| {
            std::fs::read(v.join("sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"))
                .unwrap()
        })
        .unwrap_or_else(|| {
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{}}"#
                .to_vec()
        });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{ not json".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        (
            "wrong shape",
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#.to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let bundle = tmp.path().join("bundle.json");
        std::fs::write(&bundle, &bytes).unwrap();
        let out = signet(
            tmp.path(),
            &[
                "verify-bundle",
                "--bundle",
                bundle.to_str().unwrap(),
                "--certificate-identity",
                "a@b.c",
                "--certificate-oidc-issuer",
                "https://i",
                "--trusted-root",
                root.to_str().unwrap(),
                artifact.to_str().unwrap(),
            ],
        );
        eprintln!("{what}: {}", String::from_utf8_lossy(&out.stderr).trim());
        assert_one_line_failure(&out, "bundle");
    }
}

#[test]
fn usage_errors_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = signet(tmp.path(), &["verify-bundle", "a.txt"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("signet: ") && stderr.contains("--bundle"),
        "{stderr}"
    );
}

#[test]
fn verify_needs_an_expected_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = signet(tmp.path(), &["verify-blob", "a.txt", "--bundle", "b.json"]);
    assert_one_line_failure(&out, "--certificate-identity");
    let out = signet(
        tmp.path(),
        &[
            "verify-blob",
            "a.txt",
            "--bundle",
            "b.json",
            "--certificate-identity",
            "a@b.c",
        ],
    );
    assert_one_line_failure(&out, "--certificate-oidc-issuer");
}

#[test]
fn verify_missing_artifact_and_bundle() {
    let Some(v) = vectors() else { return };
    let dir = v.join("sigstore-conformance/bundle-verify");
    let root = v.join("public-good/trusted_root.json");
    let tmp = tempfile::tempdir().unwrap();
    let identity = [
        "--certificate-identity",
        CONFORMANCE_IDENTITY,
        "--certificate-oidc-issuer",
        CONFORMANCE_ISSUER,
    ];
    let run = |bundle: &Path, artifact: &str| {
        let mut args = vec!["verify-bundle", "--bundle", bundle.to_str().unwrap()];
        args.extend(identity);
        args.extend(["--trusted-root", root.to_str().unwrap(), artifact]);
        signet(tmp.path(), &args)
    };
    let bundle = dir.join("happy-path-v0.3/bundle.sigstore.json");
    assert_one_line_failure(&run(&bundle, "/nonexistent/a.txt"), "/nonexistent/a.txt");
    assert_one_line_failure(
        &run(
            &tmp.path().join("missing.json"),
            dir.join("a.txt").to_str().unwrap(),
        ),
        "missing.json",
    );
    // A different artifact does not verify.
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, b"not the artifact").unwrap();
    assert_one_line_failure(&run(&bundle, other.to_str().unwrap()), "verification failed");
}

/// A bundle from an instance the given trusted root does not hold: the message names the
/// authority it lacks and the trusted-root file.
#[test]
fn unknown_authority_names_the_trust_root_file() {
    let Some(v) = vectors() else { return };
    let dir = v.join("sigstore-conformance/bundle-verify");
    let staging = v.join("staging/trusted_root.json");
    let tmp = tempfile::tempdir().unwrap();
    let out = signet(
        tmp.path(),
        &[
            "verify-bundle",
            "--bundle",
            dir.join("happy-path-v0.3/bundle.sigstore.json").to_str().unwrap(),
            "--certificate-identity",
            CONFORMANCE_IDENTITY,
            "--certificate-oidc-issuer",
            CONFORMANCE_ISSUER,
            "--trusted-root",
            staging.to_str().unwrap(),
            dir.join("a.txt").to_str().unwrap(),
        ],
    );
    assert_one_line_failure(&out, "the trusted root does not list");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("the trusted root is the one in {}", staging.display())),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A wrong file or digest is reported as such, in the first words after "verification failed",
/// not as a log entry that does not match; a digest argument signet cannot use says which
/// forms it takes.
#[test]
fn wrong_artifacts_are_named_as_such() {
    let Some(v) = vectors() else { return };
    let dir = v.join("sigstore-conformance/bundle-verify");
    let tmp = tempfile::tempdir().unwrap();
    let bundle = dir.join("happy-path-v0.3/bundle.sigstore.json");
    let run = |artifact: &str| {
        signet(
            tmp.path(),
            &[
                "verify-bundle",
                "--bundle",
                bundle.to_str().unwrap(),
                "--certificate-identity",
                CONFORMANCE_IDENTITY,
                "--certificate-oidc-issuer",
                CONFORMANCE_ISSUER,
                artifact,
            ],
        )
    };
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, b"not the artifact").unwrap();
    let out = run(other.to_str().unwrap());
    assert_one_line_failure(&out, "does not match");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("signet: verification failed: the file's SHA-256 "),
        "{stderr}"
    );

    let out = run(&format!("sha256:{}", "ab".repeat(32)));
    assert_one_line_failure(&out, "does not match");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("signet: verification failed: the artifact digest sha256:abab"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A SHA-512 digest where the bundle signed a SHA-256 one: the message names both.
    let out = run(&format!("sha512:{}", "cd".repeat(64)));
    assert_one_line_failure(&out, "sha512");
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("sha256"));

    // Not a digest signet takes, and no such file.
    for arg in ["sha512:abcd", "md5:0123456789abcdef0123456789abcdef"] {
        let out = run(arg);
        assert_one_line_failure(&out, "neither a file nor a digest signet supports");
        assert!(String::from_utf8_lossy(&out.stderr).contains("sha512:<128 hex digits>"));
    }
}

/// Every conformance case whose name does not end in `_fail` verifies, from the file and from
/// its `sha256:` digest; the `_fail` cases are refused with one line.
#[test]
fn verify_bundle_conformance_vectors() {
    let Some(v) = vectors() else { return };
    let dir = v.join("sigstore-conformance/bundle-verify");
    // The built-in public-good root is the one the vectors were made against, so the cases
    // that rely on it test the default path.
    let public_good = std::fs::read(v.join("public-good/trusted_root.json")).unwrap();
    let builtin = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../signet-client/trust/public-good/trusted_root.json"),
    )
    .unwrap();
    assert_eq!(
        signet_formats::trust::TrustedRoot::from_json(&public_good).unwrap(),
        signet_formats::trust::TrustedRoot::from_json(&builtin).unwrap(),
        "the vectors' public-good trusted root differs from signet's built-in copy; run the cases with --trusted-root"
    );
    let tmp = tempfile::tempdir().unwrap();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() > 10,
        "only {} cases in {}",
        cases.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let read = |f: &str| {
            std::fs::read_to_string(case.join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let artifact = if case.join("artifact").exists() {
            case.join("artifact")
        } else {
            dir.join("a.txt")
        };
        // Cases without a trusted root of their own are the public-good instance's bundles:
        // they run with no trust flags, so signet's built-in copy of that instance's root is
        // what verifies them (the vectors' copy is checked to be the same below).
        let root = case
            .join("trusted_root.json")
            .exists()
            .then(|| case.join("trusted_root.json"));
        let identity = read("identity").unwrap_or_else(|| CONFORMANCE_IDENTITY.into());
        let issuer = read("issuer").unwrap_or_else(|| CONFORMANCE_ISSUER.into());
        let bundle = case.join("bundle.sigstore.json");
        let key = case.join("key.pub");
        let digest = format!(
            "sha256:{}",
            hex::encode(signet_crypto::sha256(&std::fs::read(&artifact).unwrap()))
        );
        let run = |artifact_arg: &str| {
            let mut args = vec!["verify-bundle", "--bundle", bundle.to_str().unwrap()];
            if key.exists() {
                args.extend(["--key", key.to_str().unwrap()]);
            } else {
                args.extend([
                    "--certificate-identity",
                    identity.as_str(),
                    "--certificate-oidc-issuer",
                    issuer.as_str(),
                ]);
            }
            if let Some(root) = &root {
                args.extend(["--trusted-root", root.to_str().unwrap()]);
            }
            args.push(artifact_arg);
            signet(tmp.path(), &args)
        };
        let out = run(artifact.to_str().unwrap());
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let expect_ok = !name.ends_with("_fail");
        if out.status.success() != expect_ok || !out.stdout.is_empty() || stderr.lines().count() != 1 {
            failures.push(format!("{name}: exit {:?}: {stderr}", out.status.code()));
            continue;
        }
        if expect_ok {
            assert_eq!(stderr, "Verified OK", "{name}");
            // By digest too, except where the signature needs the whole message.
            let by_digest = run(&digest);
            let d_err = String::from_utf8_lossy(&by_digest.stderr);
            if !by_digest.status.success() && !d_err.contains("digest") {
                failures.push(format!("{name} by digest: {}", d_err.trim()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// GitHub Actions' ambient token: `GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore` with
/// the request token as a bearer credential. The token served here has expired, so signing
/// stops right after fetching it, with one line.
#[test]
fn github_actions_ambient_token() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let token = jwt(
        &serde_json::json!({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:o/r", "aud": "sigstore", "exp": 1000}),
    );
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            head.push(line.trim().to_string());
        }
        let body = serde_json::json!({ "value": token }).to_string();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        head
    });
    let tmp = tempfile::tempdir().unwrap();
    let artifact = tmp.path().join("a.txt");
    std::fs::write(&artifact, b"hello").unwrap();
    let trust = write_trust_config(tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .args(["sign-blob", artifact.to_str().unwrap(), "--bundle"])
        .arg(tmp.path().join("o.json"))
        .arg("--trust-config")
        .arg(&trust)
        .env_remove("SIGSTORE_ID_TOKEN")
        .env("SIGNET_HOME", tmp.path())
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("http://127.0.0.1:{port}/token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-secret")
        .output()
        .unwrap();
    assert_one_line_failure(&out, "expired");
    let head = server.join().unwrap();
    assert_eq!(head[0], "GET /token?api-version=2.0&audience=sigstore HTTP/1.1");
    assert!(
        head.iter()
            .any(|h| h.eq_ignore_ascii_case("authorization: bearer request-secret")),
        "{head:?}"
    );
    assert!(!tmp.path().join("o.json").exists());
}
