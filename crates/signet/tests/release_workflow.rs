//! `.github/workflows/release.yml`, run here as far as a machine without GitHub allows: the
//! `build` job's packaging step and every step of the `sign` job are executed by bash, in order,
//! with the variables GitHub gives a tag push (`GITHUB_*`, `RUNNER_TEMP`, `$GITHUB_PATH`
//! honoured between steps), against a `signet server --dev-oidc` standing in for the
//! public-good instance (`SIGNET_TRUST_CONFIG`) and a GitHub-Actions-shaped identity token from
//! its development provider (what `id-token: write` gives the job). Two steps are not run and
//! the test says which: `cargo build --release` (the binaries under test stand in for it) and
//! `gh release create` (no GitHub). The one rewrite: the Actions issuer URL in the verify step
//! becomes the development provider's.
//!
//! Then a user's check of the download, as the README shows it: `signet verify-blob` and
//! `verify-blob-attestation` with the release workflow's identity, and sigstore-python's
//! `sigstore verify identity` over the same bundles when it is installed (cosign is not
//! installable here; the README gives its command). Another workflow or branch is refused.
//!
//! Needs `/usr/bin/python3` with PyYAML (`.ci/run` installs it), tar and sha256sum.

mod common;
mod image_tools;

use std::path::{Path, PathBuf};
use std::process::Output;

use image_tools::{repo_root, s, text, Need};
use serde_json::{json, Value};

const WORKFLOW_FILE: &str = ".github/workflows/release.yml";
const REPOSITORY: &str = "acme/signet";
const TAG: &str = "v9.9.9";
const SHA: &str = "3d2c1b0a99887766554433221100ffeeddccbbaa";
/// What GitHub's Actions issuer is; the development provider's stands in for it.
const ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn identity() -> String {
    format!("https://github.com/{REPOSITORY}/{WORKFLOW_FILE}@refs/tags/{TAG}")
}

fn read_workflow(python: &Path) -> Value {
    let out = image_tools::clean(python, Path::new("/"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(repo_root().join(WORKFLOW_FILE))
        .output()
        .expect("run python3");
    image_tools::assert_ok(&out, &format!("PyYAML reading {WORKFLOW_FILE}"));
    serde_json::from_slice(&out.stdout).expect("JSON from PyYAML")
}

/// A GitHub Actions runner, as far as the steps can tell: a workspace holding the repository,
/// the job's variables, and `$GITHUB_PATH` / `$GITHUB_ENV` carried from step to step.
struct Runner {
    workspace: PathBuf,
    temp: PathBuf,
    path: Vec<PathBuf>,
    env: Vec<(String, String)>,
    issuer: String,
}

impl Runner {
    fn new(root: &Path, token: String, trust_config: &Path, issuer: String) -> Runner {
        let workspace = root.join("workspace");
        let temp = root.join("runner-temp");
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(&temp).unwrap();
        // The checkout: the repository's files (not its build directory).
        for entry in std::fs::read_dir(repo_root()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name != "target" && name != ".git" {
                std::os::unix::fs::symlink(entry.path(), workspace.join(&name)).unwrap();
            }
        }
        let mut path = vec![PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
        if let Some(dir) = image_tools::cargo_dir() {
            path.insert(0, dir);
        }
        let workflow_ref = format!("{REPOSITORY}/{WORKFLOW_FILE}@refs/tags/{TAG}");
        let env = [
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", REPOSITORY),
            ("GITHUB_REPOSITORY_ID", "700000001"),
            ("GITHUB_REPOSITORY_OWNER_ID", "900000002"),
            ("GITHUB_REF", &format!("refs/tags/{TAG}")),
            ("GITHUB_REF_NAME", TAG),
            ("GITHUB_SHA", SHA),
            ("GITHUB_WORKFLOW_REF", &workflow_ref),
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_RUN_ID", "123456"),
            ("GITHUB_RUN_ATTEMPT", "1"),
            ("GITHUB_ACTOR", "release-bot"),
            ("SIGSTORE_ID_TOKEN", &token),
            ("SIGNET_TRUST_CONFIG", s(trust_config)),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into_iter()
        .chain(
            image_tools::toolchain_env()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        )
        .collect();
        Runner {
            workspace,
            temp,
            path,
            env,
            issuer,
        }
    }

    /// Runs one step's script as GitHub does (`bash -e`), in its working directory.
    fn run(&mut self, step: &Value) -> Output {
        let script = step["run"]
            .as_str()
            .expect("a run step")
            .replace(ACTIONS_ISSUER, &self.issuer);
        let dir = match step["working-directory"].as_str() {
            Some(d) => self.workspace.join(d),
            None => self.workspace.clone(),
        };
        let github_path = self.temp.join("github_path");
        let github_env = self.temp.join("github_env");
        std::fs::write(&github_path, "").unwrap();
        std::fs::write(&github_env, "").unwrap();
        let path = std::env::join_paths(&self.path).unwrap();
        let out = image_tools::clean(Path::new("/bin/bash"), &self.temp)
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .current_dir(&dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PATH", path)
            .env("RUNNER_TEMP", &self.temp)
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ENV", &github_env)
            .output()
            .expect("run bash");
        // What the step added to the PATH comes first in the next steps, as on GitHub.
        for line in std::fs::read_to_string(&github_path).unwrap().lines().rev() {
            self.path.insert(0, PathBuf::from(line));
        }
        for line in std::fs::read_to_string(&github_env).unwrap().lines() {
            if let Some((k, v)) = line.split_once('=') {
                self.env.push((k.to_string(), v.to_string()));
            }
        }
        out
    }
}

fn steps<'a>(workflow: &'a Value, job: &str) -> &'a Vec<Value> {
    workflow["jobs"][job]["steps"].as_array().expect("steps")
}

#[test]
fn the_release_workflow_signs_and_attests_what_users_then_verify() {
    let mut need = Need::new("the release workflow check");
    let python = need.tool(image_tools::yaml_python());
    let sigstore_python = image_tools::sigstore_python().ok();
    if !need.met() {
        return;
    }
    let workflow = read_workflow(&python.unwrap());
    let sign_job = &workflow["jobs"]["sign"];
    assert_eq!(
        sign_job["permissions"]["id-token"], "write",
        "keyless signing needs the token"
    );
    assert_eq!(sign_job["needs"], "build");
    assert_eq!(workflow["permissions"], json!({}), "nothing granted by default");
    // Every action the release runs is pinned to a commit, not a movable tag.
    let jobs = workflow["jobs"].as_object().unwrap();
    for (job, spec) in jobs {
        for step in spec["steps"].as_array().into_iter().flatten() {
            if let Some(action) = step["uses"].as_str() {
                let (_, pin) = action.split_once('@').expect("owner/name@ref");
                assert!(
                    pin.len() == 40 && pin.bytes().all(|b| b.is_ascii_hexdigit()),
                    "job {job}: {action} is not pinned to a commit"
                );
            }
        }
    }
    assert_eq!(
        workflow["jobs"]["build"]["permissions"],
        json!({"contents": "read"})
    );

    let tmp = tempfile::tempdir().unwrap();
    let server = common::Server::start_with(&tmp.path().join("data"), &["--dev-oidc"]);
    common::log_throwaway_entries(&server, 2);
    let github_issuer = format!("{}/oidc/github", server.url);
    let reply = common::post(
        &format!("{github_issuer}/dev/token"),
        json!({
            "repository": REPOSITORY,
            "workflow": WORKFLOW_FILE,
            "workflow_name": "release",
            "ref": format!("refs/tags/{TAG}"),
            "sha": SHA,
            "event_name": "push",
        })
        .to_string()
        .as_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let token = reply.json()["id_token"].as_str().unwrap().to_string();
    let trust_config = server.dir.join("trust_config.json");
    let mut runner = Runner::new(tmp.path(), token, &trust_config, github_issuer.clone());

    // The build job: the binaries under test stand in for `cargo build --release`.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let mut skipped = Vec::new();
    let workspace_target = runner.workspace.join("target");
    std::fs::create_dir_all(&workspace_target).unwrap();
    std::os::unix::fs::symlink(bin_dir, workspace_target.join("release")).unwrap();
    for step in steps(&workflow, "build") {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        if script.contains("cargo build") {
            skipped.push(step["name"].as_str().unwrap().to_string());
            continue;
        }
        let out = runner.run(step);
        assert!(
            out.status.success(),
            "build step {}: {}",
            step["name"],
            text(&out)
        );
    }
    let tarball = format!("signet-{TAG}-x86_64-unknown-linux-gnu.tar.gz");
    let dist = runner.workspace.join("dist");
    assert!(dist.join(&tarball).is_file() && dist.join("sbom.cdx.json").is_file());
    let sbom: Value = serde_json::from_slice(&std::fs::read(dist.join("sbom.cdx.json")).unwrap()).unwrap();
    assert_eq!(
        (sbom["bomFormat"].as_str(), sbom["specVersion"].as_str()),
        (Some("CycloneDX"), Some("1.5"))
    );
    let names: Vec<&str> = sbom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    for crate_name in ["signet-verify", "aws-lc-rs", "rustls", "libc6"] {
        assert!(
            names.contains(&crate_name),
            "the SBOM lists {crate_name}: {names:?}"
        );
    }

    // The sign job, on the artifact the build job uploaded (the same dist/ here).
    for step in steps(&workflow, "sign") {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        if script.contains("gh release") {
            skipped.push(step["name"].as_str().unwrap().to_string());
            continue;
        }
        let out = runner.run(step);
        assert!(out.status.success(), "sign step {}: {}", step["name"], text(&out));
    }
    assert_eq!(
        skipped,
        ["Build the release binaries", "Publish the release"],
        "only the steps that need GitHub or a release build are not run"
    );
    // signet came from the release it signed.
    assert!(runner.path[0].starts_with(&runner.temp), "{:?}", runner.path);
    for file in [
        format!("{tarball}.sigstore.json"),
        format!("{tarball}.provenance.sigstore.json"),
        format!("{tarball}.sbom.sigstore.json"),
        "sbom.cdx.json.sigstore.json".into(),
        "SHA256SUMS".into(),
    ] {
        assert!(dist.join(&file).is_file(), "{file} was written");
    }
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    assert!(
        sums.contains(&tarball) && sums.contains(".provenance.sigstore.json"),
        "{sums}"
    );

    // A user's check, as the README gives it.
    let signet = |args: &[&str]| -> Output {
        image_tools::clean(Path::new(env!("CARGO_BIN_EXE_signet")), tmp.path())
            .current_dir(&dist)
            .args(args)
            .args(["--trust-config", s(&trust_config)])
            .output()
            .unwrap()
    };
    let verify = |bundle: &str, extra: &[&str], who: &str| -> Output {
        let mut args = vec![
            if extra.is_empty() {
                "verify-blob"
            } else {
                "verify-blob-attestation"
            },
            tarball.as_str(),
            "--bundle",
            bundle,
            "--certificate-identity",
            who,
            "--certificate-oidc-issuer",
            &github_issuer,
        ];
        args.extend_from_slice(extra);
        signet(&args)
    };
    let me = identity();
    let out = verify(&format!("{tarball}.sigstore.json"), &[], &me);
    assert!(out.status.success(), "{}", text(&out));
    let out = verify(
        &format!("{tarball}.provenance.sigstore.json"),
        &["--type", "slsaprovenance1"],
        &me,
    );
    assert!(out.status.success(), "{}", text(&out));
    // The provenance names the workflow, repository and commit the certificate binds.
    let statement = statement_of(&dist.join(format!("{tarball}.provenance.sigstore.json")));
    assert_eq!(statement["predicateType"], "https://slsa.dev/provenance/v1");
    let predicate = &statement["predicate"];
    assert_eq!(
        predicate["runDetails"]["builder"]["id"],
        format!("https://github.com/{REPOSITORY}/{WORKFLOW_FILE}@refs/tags/{TAG}")
    );
    assert_eq!(
        predicate["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
        SHA
    );
    let out = verify(
        &format!("{tarball}.sbom.sigstore.json"),
        &["--type", "cyclonedx"],
        &me,
    );
    assert!(out.status.success(), "{}", text(&out));
    // Another workflow (or a branch rather than the tag) is not the release.
    let other = format!("https://github.com/{REPOSITORY}/.github/workflows/ci.yml@refs/tags/{TAG}");
    assert!(!verify(&format!("{tarball}.sigstore.json"), &[], &other)
        .status
        .success());
    let branch = format!("https://github.com/{REPOSITORY}/{WORKFLOW_FILE}@refs/heads/main");
    assert!(!verify(&format!("{tarball}.sigstore.json"), &[], &branch)
        .status
        .success());

    // The reference client verifies the same bundle (README: sigstore-python's command).
    match sigstore_python {
        Some(python) => {
            let out = image_tools::clean(&python, tmp.path())
                .current_dir(&dist)
                .args([
                    "-m",
                    "sigstore",
                    "--trust-config",
                    s(&trust_config),
                    "verify",
                    "identity",
                    "--bundle",
                ])
                .arg(format!("{tarball}.sigstore.json"))
                .args([
                    "--cert-identity",
                    &me,
                    "--cert-oidc-issuer",
                    &github_issuer,
                    &tarball,
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "sigstore-python: {}", text(&out));
        }
        None if std::env::var_os("SIGNET_REQUIRE_INTEROP").is_some() => {
            panic!("sigstore-python is required (SIGNET_REQUIRE_INTEROP) but absent")
        }
        None => eprintln!("release_workflow: sigstore-python absent; its verification not run"),
    }
}

/// The in-toto statement in a DSSE bundle.
fn statement_of(bundle: &Path) -> Value {
    use base64::Engine;
    let bundle: Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().expect("a DSSE bundle");
    serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(payload).unwrap()).unwrap()
}
