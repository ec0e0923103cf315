//! `deploy/kubernetes/`, checked as far as a machine without a cluster allows (README,
//! "Kubernetes", says what was run and what was only validated):
//!
//! - every manifest validates against the Kubernetes API's own schemas (v1.37) with
//!   `kubernetes-validate --strict` (PyPI; `.ci/run` installs it in a virtual environment), and a
//!   misspelt field fails it, so the check can fail;
//! - every pod runs as non-root with a read-only root filesystem, no privilege escalation, all
//!   capabilities dropped, RuntimeDefault seccomp and resource limits; the front ends' readiness
//!   is `/healthz`, their liveness not (a database outage must not restart them); a default-deny
//!   NetworkPolicy is there;
//! - the ConfigMap's `signet.toml` is accepted by the real server's flag definitions
//!   (signet-config against `signet server`'s clap command), and its Fulcio issuer
//!   configuration by a real `signet server`, which then serves it.

mod common;
mod image_tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args as _;
use serde_json::Value;

fn manifests_dir() -> PathBuf {
    image_tools::repo_root().join("deploy/kubernetes")
}

/// Every manifest file (kustomization.yaml aside, which is kustomize's, not the API's).
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| p.file_name().unwrap() != "kustomization.yaml")
        .collect();
    files.sort();
    files
}

/// `kubernetes-validate`: `$SIGNET_KUBERNETES_VALIDATE`, else `target/kube-venv`.
fn validator() -> Result<PathBuf, String> {
    let path = std::env::var_os("SIGNET_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| image_tools::repo_root().join("target/kube-venv/bin/kubernetes-validate"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "kubernetes-validate not found at {} (pip install kubernetes-validate; set $SIGNET_KUBERNETES_VALIDATE)",
            path.display()
        ))
    }
}

/// Every document of every manifest, read by PyYAML.
fn documents(python: &Path) -> Vec<Value> {
    let out = image_tools::clean(python, Path::new("/"))
        .args([
            "-c",
            "import json, sys, yaml\n\
             docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f)) if d]\n\
             json.dump(docs, sys.stdout)",
        ])
        .args(manifest_files())
        .output()
        .unwrap();
    image_tools::assert_ok(&out, "PyYAML reading deploy/kubernetes");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let mut need = image_tools::Need::new("the Kubernetes manifests' schema validation");
    let validate = need.tool(validator());
    if !need.met() {
        return;
    }
    let validate = validate.unwrap();
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.37.0"])
        .args(manifest_files())
        .output()
        .unwrap();
    let report = image_tools::text(&out);
    assert!(out.status.success(), "{report}");
    for kind in [
        "deployment/signet",
        "statefulset/signet-postgres",
        "networkpolicy/default-deny",
        "configmap/signet-config",
        "poddisruptionbudget/signet",
    ] {
        assert!(
            report.contains(&format!("passed for resource {kind}")),
            "{kind}: {report}"
        );
    }
    // The check can fail: a misspelt field in a copy is refused.
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(manifests_dir().join("signet.yaml")).unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(
        &bad,
        text.replacen("readOnlyRootFilesystem", "readOnlyRootFilesytem", 1),
    )
    .unwrap();
    let out = Command::new(&validate)
        .arg("--strict")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a misspelt field must fail: {}",
        image_tools::text(&out)
    );
}

#[test]
fn every_pod_is_locked_down_and_probed() {
    let mut need = image_tools::Need::new("the Kubernetes manifests' checks");
    let python = need.tool(image_tools::yaml_python());
    if !need.met() {
        return;
    }
    let docs = documents(&python.unwrap());
    let of_kind = |kind: &str| -> Vec<&Value> { docs.iter().filter(|d| d["kind"] == kind).collect() };
    let workloads: Vec<&Value> = of_kind("Deployment")
        .into_iter()
        .chain(of_kind("StatefulSet"))
        .collect();
    assert_eq!(workloads.len(), 2, "the front ends and PostgreSQL");
    for workload in &workloads {
        let name = workload["metadata"]["name"].as_str().unwrap();
        let pod = &workload["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        let containers = pod["containers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(pod["initContainers"].as_array().into_iter().flatten());
        for container in containers {
            let c = container["name"].as_str().unwrap();
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{name}/{c}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{name}/{c}");
            assert_eq!(
                security["capabilities"]["drop"],
                serde_json::json!(["ALL"]),
                "{name}/{c}"
            );
            for limit in ["cpu", "memory"] {
                assert!(
                    container["resources"]["limits"][limit].is_string(),
                    "{name}/{c}: {limit} limit"
                );
            }
        }
    }
    let front = of_kind("Deployment")[0];
    assert!(
        front["spec"]["replicas"].as_u64().unwrap() >= 2,
        "several front ends"
    );
    let signet = &front["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(signet["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert!(
        signet["livenessProbe"]["httpGet"].is_null(),
        "liveness must not depend on the database"
    );
    assert_eq!(
        front["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 65532,
        "the image's user"
    );
    let args: Vec<&str> = signet["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[..2], ["server", "--config"]);
    let config_mount = signet["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap()["mountPath"]
        .as_str()
        .unwrap();
    assert_eq!(args[2], format!("{config_mount}/signet.toml"));
    let policies = of_kind("NetworkPolicy");
    assert!(
        policies
            .iter()
            .any(|p| p["spec"]["podSelector"] == serde_json::json!({})
                && p["spec"]["ingress"].is_null()
                && p["spec"]["egress"].is_null()),
        "a default-deny policy"
    );
    assert_eq!(
        of_kind("Namespace")[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn the_config_map_is_a_configuration_the_server_accepts() {
    let mut need = image_tools::Need::new("the Kubernetes ConfigMap check");
    let python = need.tool(image_tools::yaml_python());
    if !need.met() {
        return;
    }
    let docs = documents(&python.unwrap());
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let toml = config_map["data"]["signet.toml"].as_str().unwrap();
    let fulcio = config_map["data"]["fulcio-config.json"].as_str().unwrap();

    // The files it names, under a stand-in root (they are volumes in the cluster).
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().display().to_string();
    let text = toml.replace("\"/etc/signet/", &format!("\"{root}/etc/signet/"));
    for (file, contents) in [
        ("etc/signet/oidc/fulcio-config.json", fulcio),
        ("etc/signet/db/password", "x"),
    ] {
        let path = tmp.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let command = signet_server::ServerArgs::augment_args(clap::Command::new("server"));
    let file = tmp.path().join("signet.toml");
    let args = signet_config::config_args(&command, &file, &text, &|_| false)
        .unwrap_or_else(|e| panic!("the ConfigMap's signet.toml: {e}"));
    let mut argv = vec![std::ffi::OsString::from("server")];
    argv.extend(args);
    command
        .try_get_matches_from(argv)
        .unwrap_or_else(|e| panic!("the ConfigMap's signet.toml as flags: {e}"));

    // The issuer configuration, served by a real CA.
    let data = tmp.path().join("data");
    let oidc = tmp.path().join("etc/signet/oidc/fulcio-config.json");
    let server = common::Server::start_with(
        &data,
        &["--only", "ca,ct", "--oidc-config", image_tools::s(&oidc)],
    );
    let configuration = common::get(&format!("{}/api/v2/configuration", server.url));
    assert_eq!(configuration.status, 200);
    assert!(
        String::from_utf8_lossy(&configuration.body).contains("https://token.actions.githubusercontent.com"),
        "{}",
        String::from_utf8_lossy(&configuration.body)
    );
}
