//! Where the client's trust material comes from. Precedence: flags (`--trust-config`, or
//! `--trusted-root` with `--signing-config`), then `$SIGNET_TRUST_CONFIG`, then the instance
//! chosen by `--staging` or `--instance URL` (default: Sigstore's public-good instance):
//! its files under `$SIGNET_HOME` (default `~/.config/signet`), which `signet trust update`
//! writes after verifying them over TUF, and for the two public instances, the copy compiled
//! into signet (see `crates/signet-client/trust/README.md`). Nothing is fetched over the network here;
//! `signet trust update` does that (module [`super::tuf`]).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
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
    #[arg(long, conflicts_with = "instance")]
    pub staging: bool,
    /// Use the instance whose TUF repository is at URL (set up with `signet trust init`).
    #[arg(long, value_name = "URL")]
    pub instance: Option<String>,
    /// Require log checkpoints cosigned by witnesses, as this policy file says (C2SP
    /// tlog-policy syntax: `witness NAME VKEY`, `group NAME N|any|all MEMBERS`, `quorum NAME`).
    #[arg(long, value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
}

/// A Sigstore instance whose trust material comes from a TUF repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// The public Sigstore instance (the default).
    PublicGood,
    /// Sigstore's staging instance (`--staging`).
    Staging,
    /// Any other instance, by the URL of its TUF repository.
    Custom(String),
}

/// Trust material compiled into signet: the TUF metadata and two targets of a public instance.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The date of the copy (the commit of Sigstore's root-signing repository it came from).
    pub date: &'static str,
    /// The TUF `root.json` the copy was verified from.
    pub root: &'static [u8],
    /// The TUF `timestamp.json`.
    pub timestamp: &'static [u8],
    /// The TUF `snapshot.json`.
    pub snapshot: &'static [u8],
    /// The TUF `targets.json`.
    pub targets: &'static [u8],
    /// The `trusted_root.json` target.
    pub trusted_root: &'static [u8],
    /// The `signing_config.v0.2.json` target.
    pub signing_config: &'static [u8],
}

macro_rules! builtin {
    ($dir:literal, $date:literal) => {
        Builtin {
            date: $date,
            root: include_bytes!(concat!("../trust/", $dir, "/root.json")),
            timestamp: include_bytes!(concat!("../trust/", $dir, "/timestamp.json")),
            snapshot: include_bytes!(concat!("../trust/", $dir, "/snapshot.json")),
            targets: include_bytes!(concat!("../trust/", $dir, "/targets.json")),
            trusted_root: include_bytes!(concat!("../trust/", $dir, "/trusted_root.json")),
            signing_config: include_bytes!(concat!("../trust/", $dir, "/signing_config.v0.2.json")),
        }
    };
}

const PUBLIC_GOOD: Builtin = builtin!("public-good", "2026-08-21");
const STAGING: Builtin = builtin!("staging", "2026-08-21");

/// A signing config beside a trusted root under the name `signet server` gives it, read when
/// the TUF target name is absent (`signet trust update` removes it).
pub const LEGACY_SIGNING_CONFIG: &str = "signing_config.json";

/// The TUF target names of the trust material.
pub use signet_formats::trust::{SIGNING_CONFIG_TARGET, TRUSTED_ROOT_TARGET};

impl Instance {
    /// The instance the flags choose. A custom instance must be an http(s) URL.
    pub fn from_args(args: &TrustArgs) -> anyhow::Result<Self> {
        Ok(match (&args.instance, args.staging) {
            (Some(url), _) => {
                let parsed =
                    url::Url::parse(url).map_err(|e| anyhow!("--instance {url:?} is not a URL: {e}"))?;
                if !matches!(parsed.scheme(), "https" | "http") || parsed.host().is_none() {
                    bail!("--instance {url:?}: the TUF repository must be an http(s) URL with a host");
                }
                Instance::Custom(url.trim_end_matches('/').to_string())
            }
            (None, true) => Instance::Staging,
            (None, false) => Instance::PublicGood,
        })
    }

    /// The URL of the instance's TUF repository (no trailing slash).
    pub fn tuf_url(&self) -> &str {
        match self {
            Instance::PublicGood => "https://tuf-repo-cdn.sigstore.dev",
            Instance::Staging => "https://tuf-repo-cdn.sigstage.dev",
            Instance::Custom(url) => url,
        }
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match self {
            Instance::PublicGood => "public-good".into(),
            Instance::Staging => "staging".into(),
            Instance::Custom(url) => url.clone(),
        }
    }

    /// The instance's directory under `$SIGNET_HOME`: `public-good/`, `staging/`, or
    /// `instances/<the URL, percent-encoded>/`.
    pub fn dir(&self, home: &Path) -> PathBuf {
        match self {
            Instance::PublicGood => home.join("public-good"),
            Instance::Staging => home.join("staging"),
            Instance::Custom(url) => {
                let name: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
                home.join("instances").join(name)
            }
        }
    }

    /// The copy compiled into signet, for the public instances.
    pub fn builtin(&self) -> Option<&'static Builtin> {
        match self {
            Instance::PublicGood => Some(&PUBLIC_GOOD),
            Instance::Staging => Some(&STAGING),
            Instance::Custom(_) => None,
        }
    }
}

/// Where a command's trust material came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// A file named by flags or `$SIGNET_TRUST_CONFIG` (a trusted root or a trust config).
    Given(PathBuf),
    /// The instance's files under `$SIGNET_HOME`.
    Home(PathBuf),
    /// The copy compiled into signet, of this date.
    Builtin {
        /// The instance's name (`public-good`, `staging`).
        instance: String,
        /// The date of the copy.
        date: &'static str,
    },
}

impl TrustSource {
    /// A hint to add to a verification failure that the trust material may explain (a CA,
    /// log or TSA it does not hold): which file it is, and for a copy signet keeps, how to
    /// refresh it.
    pub fn staleness_hint(&self) -> Option<String> {
        match self {
            TrustSource::Given(file) => Some(format!("the trusted root is the one in {}", file.display())),
            TrustSource::Home(dir) => Some(format!(
                "the trust material is the copy in {}; `signet trust update` fetches the current one",
                dir.display()
            )),
            TrustSource::Builtin { instance, date } => Some(format!(
                "the trust material is signet's built-in copy of the {instance} instance's, of {date}; `signet trust update` fetches the current one"
            )),
        }
    }
}

/// The trust material a command runs with.
#[derive(Debug, Clone)]
pub struct TrustMaterial {
    /// What verification trusts.
    pub trusted_root: TrustedRoot,
    /// Absent when only a trusted root was given; signing then fails with a clear message.
    pub signing_config: Option<SigningConfig>,
    /// Where the material came from (for hints when it may be stale).
    pub source: TrustSource,
    /// Witnesses whose cosignatures checkpoints must carry (`--witness-policy`).
    pub witness_policy: Option<std::sync::Arc<signet_tlog::WitnessPolicy>>,
}

impl TrustMaterial {
    /// The trust material prepared for the verifier, with the witness policy if there is one.
    pub fn prepared_trust(&self) -> signet_verify::PreparedTrust {
        signet_verify::PreparedTrust::from_trusted_root(&self.trusted_root)
            .with_witness_policy(self.witness_policy.clone())
    }
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
    /// `$SIGNET_TRUST_CONFIG`: a ClientTrustConfig file to use.
    pub trust_config: Option<PathBuf>,
    /// signet's home for trust material (`$SIGNET_HOME`, else `~/.config/signet`).
    pub home: Option<PathBuf>,
}

impl TrustEnv {
    /// Reads the variables of this process.
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

/// The file in an instance's directory holding its witness policy
/// (`signet trust witness-policy`).
pub const WITNESS_POLICY_FILE: &str = "witness_policy.txt";

/// The witness policy kept for the instance `args` and `env` select, when the trust material
/// comes from the instance (not from `--trust-config`, `--trusted-root` or
/// `$SIGNET_TRUST_CONFIG`) and the instance has one.
fn instance_witness_policy(args: &TrustArgs, env: &TrustEnv) -> anyhow::Result<Option<PathBuf>> {
    if args.trust_config.is_some() || args.trusted_root.is_some() || env.trust_config.is_some() {
        return Ok(None);
    }
    let Some(home) = &env.home else {
        return Ok(None);
    };
    let path = Instance::from_args(args)?.dir(home).join(WITNESS_POLICY_FILE);
    Ok(path.exists().then_some(path))
}

/// Loads the trust material `args` and `env` select, and the witness policy: `--witness-policy`,
/// else the one kept for the instance.
pub fn load(args: &TrustArgs, env: &TrustEnv) -> anyhow::Result<TrustMaterial> {
    let mut material = load_roots(args, env)?;
    let policy_path = match &args.witness_policy {
        Some(path) => Some(path.clone()),
        None => instance_witness_policy(args, env)?,
    };
    if let Some(path) = policy_path {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the witness policy {}", path.display()))?;
        let policy = signet_tlog::WitnessPolicy::parse(&text).with_context(|| path.display().to_string())?;
        material.witness_policy = Some(std::sync::Arc::new(policy));
    }
    Ok(material)
}

fn load_roots(args: &TrustArgs, env: &TrustEnv) -> anyhow::Result<TrustMaterial> {
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
            source: TrustSource::Given(root_path.clone()),
            witness_policy: None,
        });
    }
    if let Some(path) = &env.trust_config {
        let mut material = load_client_config(path).with_context(|| format!("${TRUST_CONFIG_ENV}"))?;
        if let Some(sc) = &args.signing_config {
            material.signing_config = Some(load_signing_config(sc)?);
        }
        return Ok(material);
    }
    let instance = Instance::from_args(args)?;
    let dir = env.home.as_ref().map(|h| instance.dir(h));
    let root_path = dir.as_ref().map(|d| d.join(TRUSTED_ROOT_TARGET));
    let signing_config_given = args
        .signing_config
        .as_deref()
        .map(load_signing_config)
        .transpose()?;
    if let (Some(dir), Some(root_path)) = (&dir, &root_path) {
        // An update made by an older signet must not shadow a newer built-in copy.
        let superseded = match (instance.builtin(), super::tuf::persisted_targets_version(dir)) {
            (Some(b), Some(v)) => super::tuf::builtin_targets_version(b.targets) > v,
            _ => false,
        };
        if root_path.exists() && !superseded {
            let trusted_root = load_trusted_root(root_path)?;
            let signing_config = match signing_config_given {
                Some(sc) => Some(sc),
                None => [SIGNING_CONFIG_TARGET, LEGACY_SIGNING_CONFIG]
                    .iter()
                    .map(|name| dir.join(name))
                    .find(|p| p.exists())
                    .map(|p| load_signing_config(&p))
                    .transpose()?,
            };
            return Ok(TrustMaterial {
                trusted_root,
                signing_config,
                source: TrustSource::Home(dir.clone()),
                witness_policy: None,
            });
        }
    }
    let Some(builtin) = instance.builtin() else {
        return Err(no_trust_root(&instance, root_path.as_deref()));
    };
    let trusted_root = TrustedRoot::from_json(builtin.trusted_root)
        .context("signet's built-in trusted root does not parse")?;
    let signing_config = match signing_config_given {
        Some(sc) => sc,
        None => SigningConfig::from_json(builtin.signing_config)
            .context("signet's built-in signing config does not parse")?,
    };
    Ok(TrustMaterial {
        trusted_root,
        signing_config: Some(signing_config),
        source: TrustSource::Builtin {
            instance: instance.name(),
            date: builtin.date,
        },
        witness_policy: None,
    })
}

fn no_trust_root(instance: &Instance, looked_at: Option<&Path>) -> anyhow::Error {
    let where_ = looked_at
        .map(|p| format!(" ({} is absent)", p.display()))
        .unwrap_or_default();
    anyhow!(
        "no trusted root for the instance {}{where_}; run `signet trust init --instance {} --root ROOT.json` first, or pass --trusted-root FILE or --trust-config FILE",
        instance.name(),
        instance.tuf_url()
    )
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))
}

/// Reads and parses a `trusted_root.json`; errors name the file.
pub fn load_trusted_root(path: &Path) -> anyhow::Result<TrustedRoot> {
    TrustedRoot::from_json(&read(path, "trusted root")?).with_context(|| path.display().to_string())
}

/// Reads and parses a signing config (v0.2); errors name the file.
pub fn load_signing_config(path: &Path) -> anyhow::Result<SigningConfig> {
    SigningConfig::from_json(&read(path, "signing config")?).with_context(|| path.display().to_string())
}

fn load_client_config(path: &Path) -> anyhow::Result<TrustMaterial> {
    let config = ClientTrustConfig::from_json(&read(path, "trust config")?)
        .with_context(|| path.display().to_string())?;
    Ok(TrustMaterial {
        trusted_root: config.trusted_root,
        signing_config: Some(config.signing_config),
        source: TrustSource::Given(path.to_path_buf()),
        witness_policy: None,
    })
}
