//! `signet trust`: brings an instance's trust material up to date over TUF, the way Sigstore
//! distributes it. The TUF logic is `signet_tuf`'s sans-I/O core; this module is its shell:
//! HTTP through [`Http`], metadata persisted atomically under the instance's directory
//! (`<dir>/tuf/{root,timestamp,snapshot,targets}.json`), and the two verified targets written
//! beside it (`<dir>/trusted_root.json`, `<dir>/signing_config.v0.2.json`), where
//! [`super::trust::load`] finds them.
//!
//! The starting point is the newer of the instance's persisted root and, for the public
//! instances, the root compiled into signet; a custom instance starts from the root given to
//! `signet trust init`, which the user obtained out of band (TUF §5.2).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use signet_formats::trust::{SigningConfig, TrustedRoot};
use signet_tuf::{
    FetchError, Fetcher, LocalMetadata, MetadataStore, StoreError, TrustedSet, Updater, UpdaterConfig,
};

use super::files;
use super::http::{GetError, Http};
use super::trust::{Instance, TrustArgs, TrustEnv, SIGNING_CONFIG_TARGET, TRUSTED_ROOT_TARGET};

/// The TUF metadata files, as `signet_tuf` names them.
const METADATA_FILES: [&str; 4] = ["root.json", "timestamp.json", "snapshot.json", "targets.json"];

/// `signet trust …`
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Fetch the instance's current trusted root and signing config over TUF and keep them
    /// under $SIGNET_HOME, where every command finds them.
    Update(InstanceArgs),
    /// Start trusting a private instance: its TUF repository URL and its root.json, obtained
    /// out of band; then fetch its trust material as `update` does.
    Init(InitArgs),
    /// Say where the instance's trust material comes from, how fresh it is, and what it trusts.
    Show(InstanceArgs),
    /// Require, for every command using this instance, log checkpoints cosigned by witnesses
    /// as a tlog-policy file says (kept with the instance's trust material; `--witness-policy`
    /// on a command overrides it).
    WitnessPolicy(WitnessPolicyArgs),
}

/// `signet trust witness-policy`.
#[derive(Debug, Clone, Args)]
pub struct WitnessPolicyArgs {
    /// The instance (default: public-good).
    #[command(flatten)]
    pub which: InstanceArgs,
    /// The policy (C2SP tlog-policy: `witness NAME VKEY [URL]`, `group NAME N|any|all
    /// MEMBERS`, `quorum NAME`).
    #[arg(
        value_name = "FILE",
        required_unless_present = "clear",
        conflicts_with = "clear"
    )]
    pub policy: Option<PathBuf>,
    /// Stop requiring cosignatures for this instance.
    #[arg(long)]
    pub clear: bool,
}

/// Which instance (default: Sigstore's public-good instance).
#[derive(Debug, Clone, Args)]
pub struct InstanceArgs {
    /// Sigstore's staging instance.
    #[arg(long, conflicts_with = "instance")]
    pub staging: bool,
    /// The instance whose TUF repository is at URL.
    #[arg(long, value_name = "URL")]
    pub instance: Option<String>,
}

/// `signet trust init`: start trusting a private instance from a root obtained out of band.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The URL of the instance's TUF repository (e.g. `signet server`'s `http://HOST:PORT/tuf`).
    #[arg(long, value_name = "URL")]
    pub instance: String,
    /// The repository's root.json, obtained out of band: everything else is checked against it.
    #[arg(long, value_name = "FILE")]
    pub root: PathBuf,
}

impl InstanceArgs {
    fn instance(&self) -> anyhow::Result<Instance> {
        Instance::from_args(&TrustArgs {
            staging: self.staging,
            instance: self.instance.clone(),
            ..TrustArgs::default()
        })
    }
}

/// Runs a `signet trust` command; reports go to stderr (show prints to stdout).
pub fn run(command: TrustCommand) -> anyhow::Result<()> {
    let env = TrustEnv::from_process();
    let home = env
        .home
        .clone()
        .ok_or_else(|| anyhow!("no configuration directory: set $SIGNET_HOME or $HOME"))?;
    let now = super::unix_now()?;
    match command {
        TrustCommand::Update(args) => {
            let report = update(&args.instance()?, &home, &Http::new()?, now)?;
            eprintln!("{report}");
            Ok(())
        }
        TrustCommand::Init(args) => {
            let instance = Instance::from_args(&TrustArgs {
                instance: Some(args.instance.clone()),
                ..TrustArgs::default()
            })?;
            let root = files::read_limited(&args.root, "TUF root", UpdaterConfig::default().root_max_len)?;
            let report = init(&instance, &root, &home, &Http::new()?, now)?;
            eprintln!("{report}");
            Ok(())
        }
        TrustCommand::Show(args) => {
            print!("{}", show(&args.instance()?, &home)?);
            Ok(())
        }
        TrustCommand::WitnessPolicy(args) => {
            let instance = args.which.instance()?;
            eprintln!(
                "{}",
                set_witness_policy(&instance, &home, args.policy.as_deref())?
            );
            Ok(())
        }
    }
}

/// Keeps `policy` (checked first) as the instance's witness policy, or removes it (`None`).
pub fn set_witness_policy(instance: &Instance, home: &Path, policy: Option<&Path>) -> anyhow::Result<String> {
    let path = instance.dir(home).join(crate::trust::WITNESS_POLICY_FILE);
    let Some(policy) = policy else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow!("removing {}: {e}", path.display())),
        }
        return Ok(format!(
            "{}: log checkpoints need no witness cosignatures",
            instance.name()
        ));
    };
    let text = files::read_limited(policy, "witness policy", 1 << 20)?;
    let text = String::from_utf8(text).map_err(|_| anyhow!("{}: not UTF-8", policy.display()))?;
    let parsed = signet_tlog::WitnessPolicy::parse(&text).with_context(|| policy.display().to_string())?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    files::write_atomic(&path, text.as_bytes())?;
    Ok(format!(
        "{}: log checkpoints must now satisfy the quorum {} over the {} witnesses of {} (kept in {})",
        instance.name(),
        parsed.describe_quorum(),
        parsed.witnesses().len(),
        policy.display(),
        path.display()
    ))
}

/// What an update did, for the user.
#[derive(Debug, Clone)]
pub struct UpdateReport {
    /// The instance (its name or TUF URL).
    pub instance: String,
    /// Where the verified files were written.
    pub dir: PathBuf,
    /// The version of the newest trusted root metadata.
    pub root_version: u64,
    /// The version of the targets metadata.
    pub targets_version: u64,
    /// The earliest expiry of the verified metadata (RFC 3339).
    pub expires: String,
    /// Whether the repository published a signing config.
    pub signing_config: bool,
}

impl std::fmt::Display for UpdateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Updated the {} instance's trust material in {} (TUF root v{}, targets v{}; metadata valid until {}){}",
            self.instance,
            self.dir.display(),
            self.root_version,
            self.targets_version,
            self.expires,
            if self.signing_config {
                ""
            } else {
                "; the repository has no signing config, so this instance can verify but not sign"
            }
        )
    }
}

/// `signet trust init`: checks `root` is a root that signs itself, persists it as the
/// instance's starting point, then updates.
pub fn init(
    instance: &Instance,
    root: &[u8],
    home: &Path,
    http: &Http,
    now: i64,
) -> anyhow::Result<UpdateReport> {
    let tuf_dir = instance.dir(home).join("tuf");
    let url = instance.tuf_url();
    // Checks the root on its own before anything is written.
    Updater::new(
        &LocalMetadata {
            root: root.to_vec(),
            ..LocalMetadata::default()
        },
        &metadata_url(url),
        &targets_url(url),
        UpdaterConfig::default(),
    )
    .map_err(one_message)
    .context("the given root.json is not a usable TUF root")?;
    std::fs::create_dir_all(&tuf_dir).with_context(|| format!("creating {}", tuf_dir.display()))?;
    // A fresh start: metadata from an earlier init of the same URL must not be mixed in.
    for name in &METADATA_FILES[1..] {
        let _ = std::fs::remove_file(tuf_dir.join(name));
    }
    files::write_atomic(&tuf_dir.join("root.json"), root)?;
    update(instance, home, http, now)
}

/// `signet trust update`: the TUF client workflow, then the two targets.
pub fn update(instance: &Instance, home: &Path, http: &Http, now: i64) -> anyhow::Result<UpdateReport> {
    let dir = instance.dir(home);
    let tuf_dir = dir.join("tuf");
    let local = starting_point(instance, &tuf_dir)?;
    std::fs::create_dir_all(&tuf_dir).with_context(|| format!("creating {}", tuf_dir.display()))?;
    let url = instance.tuf_url();
    let mut updater = Updater::new(
        &local,
        &metadata_url(url),
        &targets_url(url),
        UpdaterConfig::default(),
    )
    .map_err(one_message)
    .context("the trusted TUF root does not verify")?;
    let mut fetcher = HttpFetcher { http };
    let mut store = DirStore { dir: &tuf_dir };
    updater
        .refresh(&mut fetcher, &mut store, now)
        .map_err(one_message)
        .with_context(|| format!("updating from the TUF repository {url}"))?;
    // The updater persists a root only when it fetches a newer one; a start from the built-in
    // root with no newer one published must still leave that root as the next start, or every
    // later update would begin from the built-in copy again.
    let root = updater
        .trusted()
        .raw(signet_tuf::RoleType::Root)
        .unwrap_or_default();
    if std::fs::read(tuf_dir.join("root.json")).ok().as_deref() != Some(root) {
        files::write_atomic(&tuf_dir.join("root.json"), root)?;
    }

    // Both targets are fetched and parsed before either is written, so the pair on disk always
    // comes from one snapshot.
    let trusted_root = updater
        .download_target(&mut fetcher, TRUSTED_ROOT_TARGET)
        .map_err(one_message)
        .with_context(|| format!("fetching {TRUSTED_ROOT_TARGET} from {url}"))?;
    TrustedRoot::from_json(&trusted_root)
        .with_context(|| format!("the repository's {TRUSTED_ROOT_TARGET} does not parse"))?;
    let signing_config = if updater.trusted().target(SIGNING_CONFIG_TARGET).is_some() {
        let bytes = updater
            .download_target(&mut fetcher, SIGNING_CONFIG_TARGET)
            .map_err(one_message)
            .with_context(|| format!("fetching {SIGNING_CONFIG_TARGET} from {url}"))?;
        SigningConfig::from_json(&bytes)
            .with_context(|| format!("the repository's {SIGNING_CONFIG_TARGET} does not parse"))?;
        Some(bytes)
    } else {
        None
    };
    files::write_atomic(&dir.join(TRUSTED_ROOT_TARGET), &trusted_root)?;
    match &signing_config {
        Some(bytes) => files::write_atomic(&dir.join(SIGNING_CONFIG_TARGET), bytes)?,
        None => {
            // An older signing config must not outlive the repository's removal of it.
            let _ = std::fs::remove_file(dir.join(SIGNING_CONFIG_TARGET));
        }
    }
    // Nor may a signing config placed by hand under the name `load` also reads.
    let _ = std::fs::remove_file(dir.join(super::trust::LEGACY_SIGNING_CONFIG));
    let trusted = updater.trusted();
    let (expires, _) = trusted.expires();
    Ok(UpdateReport {
        instance: instance.name(),
        dir,
        root_version: trusted.root_version(),
        targets_version: trusted.targets_version().unwrap_or(0),
        expires: rfc3339(expires),
        signing_config: signing_config.is_some(),
    })
}

/// The metadata an update starts from: what the instance's directory holds, unless signet's
/// built-in root is newer (a newer signet than the one that last updated). Then the built-in
/// root is the start, and of each other role the higher version of the two copies is kept as
/// the rollback baseline: a persisted timestamp newer than the built-in one must not be
/// forgotten because the root came from elsewhere. Versions are read unverified, only to
/// choose; the updater verifies whatever is chosen against the root and drops what fails.
fn starting_point(instance: &Instance, tuf_dir: &Path) -> anyhow::Result<LocalMetadata> {
    let persisted = read_persisted(tuf_dir)?;
    let builtin = instance.builtin().map(|b| LocalMetadata {
        root: b.root.to_vec(),
        timestamp: Some(b.timestamp.to_vec()),
        snapshot: Some(b.snapshot.to_vec()),
        targets: Some(b.targets.to_vec()),
    });
    match (persisted, builtin) {
        (Some(p), Some(b)) if signed_version(&b.root) > signed_version(&p.root) => {
            let newer = |ours: Option<Vec<u8>>, theirs: Option<Vec<u8>>| match (ours, theirs) {
                (Some(o), Some(t)) if signed_version(&t) > signed_version(&o) => Some(t),
                (Some(o), _) => Some(o),
                (None, t) => t,
            };
            Ok(LocalMetadata {
                root: b.root,
                timestamp: newer(b.timestamp, p.timestamp),
                snapshot: newer(b.snapshot, p.snapshot),
                targets: newer(b.targets, p.targets),
            })
        }
        (Some(p), _) => Ok(p),
        (None, Some(b)) => Ok(b),
        (None, None) => bail!(
            "the instance {} has no TUF root yet; run `signet trust init --instance {} --root ROOT.json` first",
            instance.name(),
            instance.tuf_url()
        ),
    }
}

fn read_persisted(tuf_dir: &Path) -> anyhow::Result<Option<LocalMetadata>> {
    let read = |name: &str| -> anyhow::Result<Option<Vec<u8>>> {
        let path = tuf_dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    };
    let Some(root) = read("root.json")? else {
        return Ok(None);
    };
    Ok(Some(LocalMetadata {
        root,
        timestamp: read("timestamp.json")?,
        snapshot: read("snapshot.json")?,
        targets: read("targets.json")?,
    }))
}

/// `signed.version` of a metadata file, without verifying it (only to choose where to start;
/// the chosen metadata is verified by the updater). 0 when it does not parse.
fn signed_version(bytes: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("signed")?.get("version")?.as_u64())
        .unwrap_or(0)
}

/// The targets version of an instance directory's persisted metadata, if any: lets
/// [`super::trust::load`] prefer a built-in copy newer than an old update.
pub fn persisted_targets_version(instance_dir: &Path) -> Option<u64> {
    let bytes = std::fs::read(instance_dir.join("tuf").join("targets.json")).ok()?;
    Some(signed_version(&bytes))
}

/// The targets version of a built-in copy.
pub fn builtin_targets_version(targets: &[u8]) -> u64 {
    signed_version(targets)
}

/// `signet trust show`.
pub fn show(instance: &Instance, home: &Path) -> anyhow::Result<String> {
    let dir = instance.dir(home);
    let tuf_dir = dir.join("tuf");
    let mut out = format!(
        "instance: {} (TUF repository {})\n",
        instance.name(),
        instance.tuf_url()
    );
    let (local, trusted_root_bytes, origin) = match read_persisted(&tuf_dir)? {
        Some(local) if dir.join(TRUSTED_ROOT_TARGET).exists() => {
            let bytes = std::fs::read(dir.join(TRUSTED_ROOT_TARGET))
                .with_context(|| format!("reading {}", dir.join(TRUSTED_ROOT_TARGET).display()))?;
            (local, bytes, format!("updated copy in {}", dir.display()))
        }
        _ => match instance.builtin() {
            Some(b) => (
                LocalMetadata {
                    root: b.root.to_vec(),
                    timestamp: Some(b.timestamp.to_vec()),
                    snapshot: Some(b.snapshot.to_vec()),
                    targets: Some(b.targets.to_vec()),
                },
                b.trusted_root.to_vec(),
                format!("built into signet (copy of {})", b.date),
            ),
            None => bail!(
                "the instance {} has no trust material yet; run `signet trust init --instance {} --root ROOT.json`",
                instance.name(),
                instance.tuf_url()
            ),
        },
    };
    out.push_str(&format!("source: {origin}\n"));
    let policy_path = dir.join(crate::trust::WITNESS_POLICY_FILE);
    match std::fs::read_to_string(&policy_path) {
        Ok(text) => match signet_tlog::WitnessPolicy::parse(&text) {
            Ok(p) => out.push_str(&format!(
                "witness policy: quorum {} over {} witnesses ({})\n",
                p.describe_quorum(),
                p.witnesses().len(),
                policy_path.display()
            )),
            Err(e) => out.push_str(&format!(
                "witness policy: {} does not parse: {e}\n",
                policy_path.display()
            )),
        },
        Err(_) => out.push_str("witness policy: none (cosignatures are not required)\n"),
    }
    let trusted = TrustedSet::verify_offline(&local)
        .map_err(one_message)
        .context("the TUF metadata does not verify")?;
    trusted
        .check_target(TRUSTED_ROOT_TARGET, &trusted_root_bytes)
        .map_err(one_message)
        .context("trusted_root.json is not the one the TUF targets metadata lists")?;
    let (expires, role) = trusted.expires();
    let fresh = if expires > super::unix_now()? {
        "valid"
    } else {
        "EXPIRED; run `signet trust update`"
    };
    out.push_str(&format!(
        "TUF: root v{}, timestamp v{}, snapshot v{}, targets v{}; signatures and hashes verified\n",
        trusted.root_version(),
        trusted.timestamp_version().unwrap_or(0),
        trusted.snapshot_version().unwrap_or(0),
        trusted.targets_version().unwrap_or(0),
    ));
    out.push_str(&format!(
        "freshness: {role} metadata expires {} ({fresh})\n",
        rfc3339(expires)
    ));
    let root = TrustedRoot::from_json(&trusted_root_bytes)?;
    for ca in &root.certificate_authorities {
        out.push_str(&format!(
            "certificate authority: {}\n",
            ca.uri.as_deref().unwrap_or("(no URI)")
        ));
    }
    for log in &root.tlogs {
        out.push_str(&format!("transparency log: {}\n", log.base_url));
    }
    for log in &root.ctlogs {
        out.push_str(&format!("certificate transparency log: {}\n", log.base_url));
    }
    for tsa in &root.timestamp_authorities {
        out.push_str(&format!(
            "timestamp authority: {}\n",
            tsa.uri.as_deref().unwrap_or("(no URI)")
        ));
    }
    Ok(out)
}

/// A TUF error as one message: its Display already names its cause, so the cause is not
/// chained again (anyhow's `{:#}` would print it twice).
fn one_message(e: signet_tuf::TufError) -> anyhow::Error {
    anyhow!("{e}")
}

fn metadata_url(base: &str) -> String {
    format!("{}/", base.trim_end_matches('/'))
}

fn targets_url(base: &str) -> String {
    format!("{}/targets/", base.trim_end_matches('/'))
}

/// Unix seconds as RFC 3339 UTC.
fn rfc3339(unix: i64) -> String {
    signet_formats::common::Timestamp::from_unix(unix)
        .as_str()
        .to_string()
}

/// The updater's network: the client's HTTP, with its limits.
struct HttpFetcher<'a> {
    http: &'a Http,
}

impl Fetcher for HttpFetcher<'_> {
    fn fetch(&mut self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        self.http.get_limited(url, max_len).map_err(|e| match e {
            GetError::TooLong => FetchError::TooLong {
                url: url.to_string(),
                max_len,
            },
            GetError::Other(message) => FetchError::Transport(message),
        })
    }
}

/// The updater's persistence: atomic writes into the instance's `tuf/` directory.
struct DirStore<'a> {
    dir: &'a Path,
}

impl MetadataStore for DirStore<'_> {
    fn persist(&mut self, file: &str, bytes: &[u8]) -> Result<(), StoreError> {
        check_metadata_name(file)?;
        files::write_atomic(&self.dir.join(file), bytes).map_err(|e| StoreError(format!("{e:#}")))
    }

    fn remove(&mut self, file: &str) -> Result<(), StoreError> {
        check_metadata_name(file)?;
        match std::fs::remove_file(self.dir.join(file)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError(format!(
                "removing {}: {e}",
                self.dir.join(file).display()
            ))),
        }
    }
}

/// Only the four top-level metadata files are ever written: a name from the updater is never
/// a path.
fn check_metadata_name(file: &str) -> Result<(), StoreError> {
    if METADATA_FILES.contains(&file) {
        Ok(())
    } else {
        Err(StoreError(format!(
            "refusing to persist {file:?}: not a top-level TUF metadata file"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_183_098), "2026-11-20T13:58:18Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn custom_instance_dirs_are_one_path_component() {
        let home = Path::new("/h");
        let dir = Instance::Custom("http://127.0.0.1:3000/tuf".into()).dir(home);
        assert_eq!(dir.parent(), Some(Path::new("/h/instances")));
        assert!(!dir.file_name().unwrap().to_string_lossy().contains('/'));
        for bad in ["..", "../../etc", "file:///etc", "ftp://x/y", "not a url"] {
            let args = TrustArgs {
                instance: Some(bad.into()),
                ..TrustArgs::default()
            };
            assert!(Instance::from_args(&args).is_err(), "{bad}");
        }
    }

    /// A persisted update from an older root than the built-in one: the built-in root is the
    /// start, but a persisted timestamp newer than the built-in one stays the baseline.
    #[test]
    fn a_newer_builtin_root_keeps_the_newer_persisted_roles() {
        let builtin = Instance::PublicGood.builtin().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let with_version = |bytes: &[u8], version: u64| {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            v["signed"]["version"] = version.into();
            serde_json::to_vec(&v).unwrap()
        };
        let older_root = with_version(builtin.root, signed_version(builtin.root) - 1);
        let newer_timestamp = with_version(builtin.timestamp, signed_version(builtin.timestamp) + 5);
        let older_snapshot = with_version(builtin.snapshot, signed_version(builtin.snapshot) - 1);
        std::fs::write(dir.path().join("root.json"), &older_root).unwrap();
        std::fs::write(dir.path().join("timestamp.json"), &newer_timestamp).unwrap();
        std::fs::write(dir.path().join("snapshot.json"), &older_snapshot).unwrap();

        let start = starting_point(&Instance::PublicGood, dir.path()).unwrap();
        assert_eq!(start.root, builtin.root);
        assert_eq!(start.timestamp.as_deref(), Some(&newer_timestamp[..]));
        assert_eq!(start.snapshot.as_deref(), Some(builtin.snapshot));
        assert_eq!(start.targets.as_deref(), Some(builtin.targets));

        // A persisted root at least as new as the built-in one is the start, with its roles.
        std::fs::write(dir.path().join("root.json"), builtin.root).unwrap();
        let start = starting_point(&Instance::PublicGood, dir.path()).unwrap();
        assert_eq!(start.snapshot.as_deref(), Some(&older_snapshot[..]));
        assert_eq!(start.targets, None);
    }
}
