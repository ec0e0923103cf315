//! What the image end-to-end tests share: the `signet` program run as a user runs it (its own
//! home, no trust or token from the environment), and a stack of a real registry (Debian's
//! docker-registry) with a `signet server --dev-oidc` and a token for builder@example.com.
//! Included by `image_e2e.rs` and `image_legacy_e2e.rs` (each also has `mod common;` and the
//! registry support module).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::process::{Command, Output};

use crate::{common, registry_support};

/// `signet ARGS` with a throwaway home, nothing inherited that picks trust, tokens, a
/// signature repository or docker credentials, and `envs` set.
pub fn signet_env(args: &[&str], envs: &[(&str, &OsStr)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_signet"));
    command
        .args(args)
        .env_remove("SIGNET_TRUST_CONFIG")
        .env_remove("SIGSTORE_ID_TOKEN")
        .env_remove("COSIGN_REPOSITORY")
        .env_remove("DOCKER_CONFIG")
        .env("SIGNET_HOME", home.path())
        .env("HOME", home.path());
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run signet")
}

/// [`signet_env`] with nothing added.
pub fn signet(args: &[&str]) -> Output {
    signet_env(args, &[])
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A registry, a `signet server --dev-oidc` and a token for builder@example.com from it.
pub struct Stack {
    pub registry: registry_support::RegistryProcess,
    pub _server: common::Server,
    /// The server's `trust_config.json`.
    pub trust: String,
    /// The development provider's issuer.
    pub issuer: String,
    /// A token for builder@example.com.
    pub token: String,
    pub data: tempfile::TempDir,
}

impl Stack {
    /// `None` (after one line) where docker-registry is missing.
    pub fn start() -> Option<Stack> {
        let registry = registry_support::start()?;
        let data = tempfile::tempdir().unwrap();
        let server = common::Server::start_with(&data.path().join("data"), &["--dev-oidc"]);
        Some(Stack {
            registry,
            trust: server.dir.join("trust_config.json").to_str().unwrap().to_string(),
            issuer: format!("{}/oidc", server.url),
            token: common::dev_token(&server.url, "builder@example.com"),
            _server: server,
            data,
        })
    }
}
