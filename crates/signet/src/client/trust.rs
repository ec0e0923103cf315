//! Where the client's trust material comes from. Precedence: flags (`--trust-config`, or
//! `--trusted-root` with `--signing-config`), then `$SIGNET_TRUST_CONFIG`, then the instance
//! files under `$SIGNET_HOME` (default `~/.config/signet`): `public-good/` or, with
//! `--staging`, `staging/`, each holding `trusted_root.json` and `signing_config.v0.2.json`.
//! Nothing is fetched over the network and nothing is compiled in.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use clap::Args;
use signet_formats::trust::{ClientTrustConfig, SigningConfig, TrustedRoot};

/// The environment variable naming a ClientTrustConfig file.
pub const TRUST_CONFIG_ENV: &str = "SIGNET_TRUST_CONFIG";
/// The environment variable naming signet's configuration directory.
pub const HOME_ENV: &str = "SIGNET_HOME";

/// Flags choosing the Sigstore instance.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// A ClientTrustConfig (trusted root + signing config), as `signet server` writes it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trusted_root", "signing_config"])]
    pub trust_config: Option<PathBuf>,
    /// A trusted_root.json.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// A signing_config.v0.2.json (which CA, logs and timestamp authorities to sign with).
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// Use Sigstore's staging instance instead of the public-good one.
    #[arg(long)]
    pub staging: bool,
}

/// The trust material a command runs with.
#[derive(Debug, Clone)]
pub struct TrustMaterial {
    pub trusted_root: TrustedRoot,
    /// Absent when only a trusted root was given; signing then fails with a clear message.
    pub signing_config: Option<SigningConfig>,
}

impl TrustMaterial {
    /// The signing config, or a one-line error saying how to give one.
    pub fn signing_config(&self) -> anyhow::Result<&SigningConfig> {
        self.signing_config
            .as_ref()
            .ok_or_else(|| anyhow!("no signing config: pass --signing-config FILE or --trust-config FILE"))
    }
}

/// What the environment says, read once so the precedence can be tested without `set_var`.
#[derive(Debug, Clone, Default)]
pub struct TrustEnv {
    pub trust_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl TrustEnv {
    pub fn from_process() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var(HOME_ENV).or_else(|| {
            var("XDG_CONFIG_HOME")
                .or_else(|| var("HOME").map(|h| h.join(".config")))
                .map(|c| c.join("signet"))
        });
        TrustEnv {
            trust_config: var(TRUST_CONFIG_ENV),
            home,
        }
    }
}

/// Loads the trust material `args` and `env` select.
pub fn load(args: &TrustArgs, env: &TrustEnv) -> anyhow::Result<TrustMaterial> {
    if let Some(path) = &args.trust_config {
        return load_client_config(path);
    }
    if let Some(root_path) = &args.trusted_root {
        let trusted_root = load_trusted_root(root_path)?;
        let signing_config = args
            .signing_config
            .as_deref()
            .map(load_signing_config)
            .transpose()?;
        return Ok(TrustMaterial {
            trusted_root,
            signing_config,
        });
    }
    if let Some(path) = &env.trust_config {
        let mut material = load_client_config(path).with_context(|| format!("${TRUST_CONFIG_ENV}"))?;
        if let Some(sc) = &args.signing_config {
            material.signing_config = Some(load_signing_config(sc)?);
        }
        return Ok(material);
    }
    let instance = if args.staging { "staging" } else { "public-good" };
    let dir = env
        .home
        .as_ref()
        .map(|h| h.join(instance))
        .ok_or_else(|| no_trust_root(instance, None))?;
    let root_path = dir.join("trusted_root.json");
    if !root_path.exists() {
        return Err(no_trust_root(instance, Some(&root_path)));
    }
    let trusted_root = load_trusted_root(&root_path)?;
    let signing_config = match &args.signing_config {
        Some(path) => Some(load_signing_config(path)?),
        None => ["signing_config.v0.2.json", "signing_config.json"]
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.exists())
            .map(|p| load_signing_config(&p))
            .transpose()?,
    };
    Ok(TrustMaterial {
        trusted_root,
        signing_config,
    })
}

fn no_trust_root(instance: &str, looked_at: Option<&Path>) -> anyhow::Error {
    let where_ = looked_at
        .map(|p| format!(" ({} is absent)", p.display()))
        .unwrap_or_default();
    anyhow!(
        "no trusted root for the {instance} instance{where_}; pass --trusted-root FILE or --trust-config FILE, or set ${TRUST_CONFIG_ENV}"
    )
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

pub fn load_trusted_root(path: &Path) -> anyhow::Result<TrustedRoot> {
    TrustedRoot::from_json(&read(path, "trusted root")?).with_context(|| path.display().to_string())
}

pub fn load_signing_config(path: &Path) -> anyhow::Result<SigningConfig> {
    SigningConfig::from_json(&read(path, "signing config")?).with_context(|| path.display().to_string())
}

fn load_client_config(path: &Path) -> anyhow::Result<TrustMaterial> {
    let config = ClientTrustConfig::from_json(&read(path, "trust config")?)
        .with_context(|| path.display().to_string())?;
    Ok(TrustMaterial {
        trusted_root: config.trusted_root,
        signing_config: Some(config.signing_config),
    })
}
