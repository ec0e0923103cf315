//! `examples/github/build-sign-sbom.yml`, the GitHub Actions workflow users copy, is checked
//! as far as can be done off GitHub: it is YAML (read by PyYAML), its jobs have the permissions
//! keyless signing needs, its actions are named as published (`owner/name@vN`), and every
//! `signet` command line in it is run, with the workflow's expressions and variables filled in,
//! against a registry address where nothing listens: each must get past the argument parser
//! and fail only at the registry, so a flag the CLI lacks, a wrong value or a missing argument
//! fails this test.
//!
//! Needs `/usr/bin/python3` with PyYAML (Debian's `python3-yaml`; `.ci/run` installs it).

mod common;
mod image_tools;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;

use image_tools::{text, Need};
use serde_json::Value;

const WORKFLOW: &str = "examples/github/build-sign-sbom.yml";

/// The workflow as JSON, read by PyYAML.
fn read_workflow(python: &Path) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(WORKFLOW);
    let out = image_tools::clean(python, Path::new("/"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        ])
        .arg(&path)
        .output()
        .expect("run python3");
    image_tools::assert_ok(&out, &format!("PyYAML reading {WORKFLOW}"));
    serde_json::from_slice(&out.stdout).expect("JSON from PyYAML")
}

/// Every step of every job.
fn steps(workflow: &Value) -> Vec<&Value> {
    workflow["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_array().expect("steps"))
        .collect()
}

/// `${{ expr }}` replaced by what GitHub would put there for a push to main of acme/shop.
fn expand_expressions(line: &str) -> String {
    let value = |expr: &str| match expr {
        "github.workflow_ref" => "acme/shop/.github/workflows/build-sign-sbom.yml@refs/heads/main",
        "github.repository" => "acme/shop",
        "github.ref" => "refs/heads/main",
        "github.sha" => "0c5b2e5d1c7f3a9e8b6d4f2a0c1e3b5d7f9a2c4e",
        other => panic!("{WORKFLOW}: no test value for the expression {other:?} in a signet command"),
    };
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${{") {
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        out.push_str(&rest[..start]);
        out.push_str(value(rest[start + 3..end].trim()));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_example_github_workflow_is_valid_and_its_signet_commands_parse() {
    let mut need = Need::new("the example GitHub workflow check");
    let python = need.tool(image_tools::yaml_python());
    if !need.met() {
        return;
    }
    let workflow = read_workflow(&python.unwrap());

    // PyYAML reads the key `on` as YAML 1.1's boolean true.
    let triggers = workflow.get("on").or_else(|| workflow.get("true"));
    assert!(triggers.is_some_and(|t| t.get("push").is_some()), "{workflow}");
    let build = &workflow["jobs"]["build"];
    assert_eq!(
        build["permissions"]["id-token"], "write",
        "keyless signing needs the token"
    );
    assert_eq!(build["permissions"]["packages"], "write", "pushing to ghcr.io");
    assert_eq!(workflow["jobs"]["verify"]["needs"], "build");

    let uses: BTreeSet<&str> = steps(&workflow)
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    for action in &uses {
        let (name, version) = action.split_once('@').expect("owner/name@version");
        assert_eq!(name.split('/').count(), 2, "{action}");
        assert!(
            version
                .strip_prefix('v')
                .is_some_and(|n| n.parse::<u32>().is_ok()),
            "{action}: a published major version"
        );
    }
    for needed in [
        "docker/build-push-action",
        "anchore/sbom-action",
        "docker/login-action",
    ] {
        assert!(
            uses.iter().any(|a| a.starts_with(&format!("{needed}@"))),
            "{needed}: {uses:?}"
        );
    }

    // Nothing listens on this port once the listener is dropped.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = format!("127.0.0.1:{port}");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("sbom.spdx.json"),
        br#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"shop","packages":[]}"#,
    )
    .unwrap();
    let signet_dir = Path::new(env!("CARGO_BIN_EXE_signet")).parent().unwrap();
    let mut commands = BTreeSet::new();
    for script in steps(&workflow).iter().filter_map(|s| s["run"].as_str()) {
        let joined = script.replace("\\\n", " ");
        for line in joined.lines().map(str::trim).filter(|l| l.starts_with("signet ")) {
            let command = line.split_whitespace().nth(1).unwrap().to_string();
            let line = expand_expressions(line);
            let out = image_tools::clean(Path::new("/bin/bash"), work.path())
                .args(["-c", &line])
                .env("PATH", format!("{}:/usr/bin:/bin", signet_dir.display()))
                .env("SIGNET_HOME", work.path())
                .env("SIGSTORE_ID_TOKEN", "not-a-token")
                .env("IMAGE", format!("{registry}/acme/shop"))
                .env("DIGEST", format!("sha256:{}", "ab".repeat(32)))
                .env("GITHUB_SHA", "0c5b2e5d1c7f3a9e8b6d4f2a0c1e3b5d7f9a2c4e")
                .output()
                .expect("run bash");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code() == Some(1) && stderr.contains(&format!("cannot reach http://{registry}/")),
                "{WORKFLOW}: `{line}` must parse and fail only at the registry: {}",
                text(&out)
            );
            commands.insert(command);
        }
    }
    let expected: BTreeSet<String> = ["sign", "attest", "verify", "verify-attestation"]
        .map(String::from)
        .into();
    assert_eq!(commands, expected);
}
