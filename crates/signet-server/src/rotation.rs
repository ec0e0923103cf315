//! Key rotation and log shards (issue 18; README, "Rotating keys and log shards").
//!
//! `signet admin rotate log|tsa|ca` gives a service a new key, as public Sigstore starts a new
//! Rekor v2 shard about every six months and rotates its CA and TSA certificates:
//!
//! - **log**: a new Rekor v2 log (shard) with a new Ed25519 key, served at
//!   `/rekor/shards/<n>` with its own origin (its URL without the scheme, from the public URL
//!   the server last published). Every earlier shard
//!   stays, read-only: tiles, checkpoints and proofs are served, new entries are refused with a
//!   409 that names the current shard. Its store is `log-shards/<n>/signet.db` (PostgreSQL:
//!   schema `signet_shard_<n>_<attempt>`), its key `log-shards/<n>/log-ed25519.pem`.
//! - **tsa**: a new timestamping key and leaf certificate under the same TSA root
//!   (`tsa/generations/<n>/`); the earlier leaves stop signing.
//! - **ca**: a new intermediate key and certificate under the same CA root
//!   (`ca/generations/<n>/`); the earlier intermediates stop issuing.
//! - **ct**: a new CT log (shard) with a new ECDSA P-256 key at `/ct/shards/<n>`
//!   (`ct/shards/<n>/`; PostgreSQL: schema `ct_shard_<n>_<attempt>`); the CA logs into it.
//!
//! With `--key-uri` the new key is in a PKCS#11 token: the generation's directory records its
//! public half (`token-public.pem`) instead of holding a key file, and the server takes the URI
//! as one more `--<service>-key-uri`.
//!
//! The trusted root then lists every generation with `validFor` windows that meet (the CA's
//! earlier windows end [`signet_ca::LEAF_LIFETIME_SECS`] after the rotation, so a certificate
//! issued just before it can still be used for its ten minutes), the signing config points new
//! clients at the current shard, and the TUF repository publishes both at the next start.
//!
//! # Crash safety
//!
//! A rotation is an offline operation on a stopped server's data directory (its lock is held;
//! with PostgreSQL, a front end holding any log's integrator lease makes it refuse). Its state
//! is one metadata value per service in the server's store (`rotation.<service>`, JSON), so
//! each step is one atomic write:
//!
//! 1. record `pending: {number, started}` (refused if a rotation is already pending);
//! 2. write the new generation's files into `<dir>.tmp`, fsynced, and rename it to `<dir>`;
//! 3. in one write, append the generation (with its start time and key fingerprint) and clear
//!    `pending`: the commit point.
//!
//! A server start (or `signet admin rotate --recover`) that finds `pending` rolls the rotation
//! back: the half-made generation's files are removed (a PostgreSQL shard schema is left,
//! empty; a later rotation reuses it) and the service carries on with its last committed
//! generation. So there is never more than one writable shard, and nothing acknowledged is
//! touched: an entry is only ever acknowledged by a committed generation's log.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use signet_log::storage::{Database, LogStore, StoreLocation};

use crate::{unix_now, write_secret, DatabaseArgs, DB_FILE, PG_SCHEMA};

/// A service whose key can be rotated.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotatable {
    /// The Rekor v2 transparency log: a new shard.
    Log,
    /// The certificate transparency log: a new shard.
    Ct,
    /// The timestamp authority: a new leaf key and certificate.
    Tsa,
    /// The certificate authority: a new intermediate key and certificate.
    Ca,
}

impl Rotatable {
    pub const ALL: [Rotatable; 4] = [Rotatable::Log, Rotatable::Ct, Rotatable::Tsa, Rotatable::Ca];

    fn name(self) -> &'static str {
        match self {
            Rotatable::Log => "log",
            Rotatable::Ct => "ct",
            Rotatable::Tsa => "tsa",
            Rotatable::Ca => "ca",
        }
    }

    fn meta_key(self) -> String {
        format!("rotation.{}", self.name())
    }

    /// The directory of generation `n` (≥ 2) in the data directory `data`.
    pub fn generation_dir(self, data: &Path, n: u32) -> PathBuf {
        match self {
            Rotatable::Log => data.join(LOG_SHARDS_DIR).join(n.to_string()),
            Rotatable::Ct => data.join("ct").join("shards").join(n.to_string()),
            Rotatable::Tsa => data.join("tsa").join(GENERATIONS_DIR).join(n.to_string()),
            Rotatable::Ca => data.join("ca").join(GENERATIONS_DIR).join(n.to_string()),
        }
    }
}

/// Where the Rekor v2 log's later shards live in the data directory.
const LOG_SHARDS_DIR: &str = "log-shards";
const GENERATIONS_DIR: &str = "generations";
/// A log shard's key, in its directory.
pub const SHARD_KEY_FILE: &str = "log-ed25519.pem";
/// A log shard's SQLite store, in its directory.
const SHARD_DB_FILE: &str = DB_FILE;

/// The PostgreSQL schema of shard `n` (≥ 2) of `what` (a log), made by rotation attempt
/// `attempt`: named after the attempt too, because metadata is write-once and a rolled-back
/// attempt's schema is left behind (empty), never reused.
fn shard_schema(what: Rotatable, n: u32, attempt: u32) -> String {
    let base = match what {
        Rotatable::Ct => "ct",
        _ => PG_SCHEMA,
    };
    format!("{base}_shard_{n}_{attempt}")
}

/// The store of Rekor v2 log shard `generation`.
fn shard_location(database: &Database, data: &Path, generation: &Generation) -> StoreLocation {
    database.location(
        Rotatable::Log
            .generation_dir(data, generation.number)
            .join(SHARD_DB_FILE),
        &shard_schema(Rotatable::Log, generation.number, generation.attempt),
    )
}

/// The path, under the server's public URL, of Rekor v2 log shard `n` (1 is the first log).
pub fn shard_path(n: u32) -> String {
    shard_path_of(crate::LOG_PREFIX, n)
}

/// The path of CT log shard `n` (1 is the first log).
pub fn ct_shard_path(n: u32) -> String {
    shard_path_of(crate::CT_PREFIX, n)
}

fn shard_path_of(prefix: &str, n: u32) -> String {
    if n <= 1 {
        prefix.to_string()
    } else {
        format!("{prefix}/shards/{n}")
    }
}

/// A service's rotations, read from its journal in the server's store.
///
/// The store's metadata is write-once (a key, once set, never changes), which makes a journal
/// whose every step is a compare-and-swap: attempt `k` is the key `rotation.<service>.<k>`
/// (who began it, for which generation), and its outcome the key
/// `rotation.<service>.<k>.outcome` (committed, with the generation's start and key; or rolled
/// back). Two processes racing to begin a rotation, or to commit and roll back the same one,
/// cannot both succeed: the second write of a key fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rotations {
    /// Generations 2, 3, … in order (generation 1 is the service's first key, in its original
    /// place).
    pub generations: Vec<Generation>,
    /// A rotation begun and neither committed nor rolled back.
    pub pending: Option<Pending>,
    /// Attempts so far (the next is `attempts + 1`).
    pub attempts: u32,
}

/// A committed generation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    pub number: u32,
    /// The rotation attempt that made it.
    pub attempt: u32,
    /// Unix seconds it took over: the end of the previous generation's window.
    pub start: i64,
    /// SHA-256 of its public key's SubjectPublicKeyInfo, hex: a front end holding other key
    /// files is refused.
    pub key_sha256: String,
}

/// A rotation begun (an attempt).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The attempt's number in the journal.
    pub attempt: u32,
    /// The generation it makes.
    pub number: u32,
    pub started: i64,
    /// Host and process that began it, for messages.
    pub by: String,
}

/// How an attempt ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Committed { start: i64, key_sha256: String },
    RolledBack { at: i64 },
}

impl Rotations {
    /// The journal of `what`'s rotations.
    pub fn load(store: &mut dyn LogStore, what: Rotatable) -> anyhow::Result<Rotations> {
        let damaged = |key: &str| format!("the rotation journal entry {key} is damaged");
        let mut rotations = Rotations::default();
        for k in 1.. {
            let key = attempt_key(what, k);
            let Some(text) = store.meta(&key)? else { break };
            let attempt: Pending = serde_json::from_str(&text).with_context(|| damaged(&key))?;
            rotations.attempts = k;
            let outcome_key = outcome_key(what, k);
            match store.meta(&outcome_key)? {
                None => rotations.pending = Some(attempt),
                Some(text) => match serde_json::from_str(&text).with_context(|| damaged(&outcome_key))? {
                    Outcome::Committed { start, key_sha256 } => rotations.generations.push(Generation {
                        number: attempt.number,
                        attempt: attempt.attempt,
                        start,
                        key_sha256,
                    }),
                    Outcome::RolledBack { .. } => {}
                },
            }
        }
        Ok(rotations)
    }

    /// The number of the generation in use: 1 before any rotation.
    pub fn current(&self) -> u32 {
        self.generations.last().map_or(1, |g| g.number)
    }

    /// The start of generation `n`'s successor (the end of `n`'s window), if any.
    pub fn end_of(&self, n: u32) -> Option<i64> {
        self.generations
            .iter()
            .find(|g| g.number == n + 1)
            .map(|g| g.start)
    }
}

fn attempt_key(what: Rotatable, k: u32) -> String {
    format!("{}.{k}", what.meta_key())
}

fn outcome_key(what: Rotatable, k: u32) -> String {
    format!("{}.{k}.outcome", what.meta_key())
}

/// Writes a journal key that must not exist yet; `Ok(false)` when another process wrote it
/// first (the write failed and the key is now there).
fn write_once(store: &mut dyn LogStore, key: &str, value: &impl Serialize) -> anyhow::Result<bool> {
    let text = serde_json::to_string(value).context("encoding the rotation journal")?;
    match store.set_meta(key, &text) {
        Ok(()) => Ok(true),
        Err(e) => match store.meta(key)? {
            Some(_) => Ok(false),
            None => Err(e.into()),
        },
    }
}

/// Hex SHA-256 of a public key's SubjectPublicKeyInfo.
pub fn key_fingerprint(key: &PublicKey) -> String {
    hex::encode(signet_crypto::sha256(key.spki_der()))
}

/// Checks that a generation's key is the one its rotation recorded.
pub fn check_key(
    what: Rotatable,
    generation: &Generation,
    key: &PublicKey,
    dir: &Path,
) -> anyhow::Result<()> {
    let seen = key_fingerprint(key);
    if seen != generation.key_sha256 {
        bail!(
            "{}: the {} key of generation {} is not the one its rotation recorded (SHA-256 of its public key {}, recorded {}): refusing to start; copy that directory from the data directory that rotated it",
            dir.display(),
            what.name(),
            generation.number,
            seen,
            generation.key_sha256
        );
    }
    Ok(())
}

/// At start: rolls back every rotation left pending by an interrupted `signet admin rotate`.
pub fn recover(store: &mut dyn LogStore, data: &Path) -> anyhow::Result<()> {
    for what in Rotatable::ALL {
        let rotations = Rotations::load(store, what)?;
        let Some(pending) = rotations.pending.clone() else {
            continue;
        };
        // The outcome first: if the rotation commits meanwhile, this write fails and its
        // files stay.
        let outcome = Outcome::RolledBack { at: unix_now() };
        if !write_once(store, &outcome_key(what, pending.attempt), &outcome)? {
            continue;
        }
        let dir = what.generation_dir(data, pending.number);
        for path in [temporary(&dir), dir] {
            if path.exists() {
                fs::remove_dir_all(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        eprintln!(
            "signet: rolled back an interrupted rotation of the {} (generation {}, begun by {} at {}); the {} keeps generation {}",
            what.name(),
            pending.number,
            pending.by,
            signet_formats::common::Timestamp::from_unix(pending.started).as_str(),
            what.name(),
            rotations.current()
        );
    }
    Ok(())
}

fn temporary(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    dir.with_file_name(name)
}

/// `signet admin` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Rotate a service's key, offline (the server stopped): `log` starts a new transparency
    /// log shard (the old one stays, read-only), `tsa` a new timestamping certificate, `ca` a
    /// new intermediate. The next start publishes the new trust root (README, "Rotating keys
    /// and log shards").
    Rotate(RotateArgs),
}

/// `signet admin rotate`.
#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    /// What to rotate.
    #[arg(value_enum, required_unless_present = "recover")]
    pub what: Option<Rotatable>,
    /// The server's data directory.
    #[arg(long, default_value = "./signet-data", env = "SIGNET_DATA_DIR")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// `log` only: serve the new shard at this URL, a host of its own (e.g.
    /// `https://log2027.example.com`, pointed at the server): its checkpoint origin is then the
    /// host name alone, the form cosign (sigstore-go) requires. Default: `<public
    /// URL>/rekor/shards/N`, whose origin is that URL without the scheme.
    #[arg(long, value_name = "URL", conflicts_with = "recover")]
    pub url: Option<String>,
    /// Keep the new key in a PKCS#11 token (RFC 7512 URI, as the server's --*-key-uri): make
    /// it first (`signet pkcs11 keygen`); Ed25519 for `log`, ECDSA P-256 for `ct`, P-256 or
    /// P-384 for `tsa` and `ca`. Without it the new key is a file key. The server then takes
    /// this URI as one more --<service>-key-uri.
    #[arg(long, value_name = "PKCS11_URI", conflicts_with = "recover")]
    pub key_uri: Option<String>,
    /// Roll back a rotation that was interrupted (as a server start does) instead of rotating.
    #[arg(long, conflicts_with = "what")]
    pub recover: bool,
}

/// Runs a `signet admin` subcommand.
pub fn run_admin(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Rotate(args) => rotate(args),
    }
}

fn rotate(args: RotateArgs) -> anyhow::Result<()> {
    let data = &args.data_dir;
    let lock_path = data.join("signet.lock");
    if !lock_path.exists() {
        bail!(
            "{} is not a signet data directory (no signet.lock): start the server once first",
            data.display()
        );
    }
    let lock = fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    fs2::FileExt::try_lock_exclusive(&lock).map_err(|_| {
        anyhow::anyhow!(
            "{} is in use by a running signet server (or another rotation): stop it first",
            data.display()
        )
    })?;
    let database = args.database.open()?;
    // The new key, when it is in a token: opened (and proved) before anything is written.
    let token = match &args.key_uri {
        Some(uri) => {
            let signer = signet_pkcs11::Pkcs11Signer::open_uri(uri).context("--key-uri")?;
            Some(crate::TokenKey {
                uri: signer.uri().to_string(),
                signer: std::sync::Arc::new(signer),
            })
        }
        None => None,
    };
    if args.url.is_some() && args.what != Some(Rotatable::Log) {
        bail!("--url is for `rotate log` (a Rekor v2 shard under a host of its own)");
    }
    if let (Some(t), Some(what)) = (&token, args.what) {
        let kind = t.signer.public_key().kind();
        let fits = match what {
            Rotatable::Log => kind == KeyKind::Ed25519,
            Rotatable::Ct => kind == KeyKind::EcdsaP256,
            Rotatable::Tsa | Rotatable::Ca => matches!(kind, KeyKind::EcdsaP256 | KeyKind::EcdsaP384),
        };
        if !fits {
            bail!(
                "--key-uri {}: a {kind} key cannot be the {}'s key",
                t.uri,
                what.name()
            );
        }
    }
    if let Database::Postgres(db) = &database {
        for schema in db.log_schemas()? {
            if let Some(holder) = db.live_lease_holder(&schema)? {
                bail!(
                    "a front end ({holder}) is running on the {} (it holds the integrator lease of schema {schema}): stop every front end before rotating",
                    db.describe()
                );
            }
        }
    }
    let location = database.location(data.join(DB_FILE), PG_SCHEMA);
    if !location.exists()? {
        bail!("{location} holds no signet log: start the server once first");
    }
    let mut store = location.open(false)?;
    if args.recover {
        return recover(store.as_mut(), data);
    }
    let Some(what) = args.what else {
        bail!("say what to rotate: log, ct, tsa or ca");
    };
    let rotations = Rotations::load(store.as_mut(), what)?;
    if let Some(p) = &rotations.pending {
        bail!(
            "a rotation of the {} to generation {} was begun by {} at {} and has not finished: if it is not running any more, `signet admin rotate --recover` rolls it back (so does a server start)",
            what.name(),
            p.number,
            p.by,
            signet_formats::common::Timestamp::from_unix(p.started).as_str()
        );
    }
    let number = rotations.current() + 1;
    // The windows meet at `now`, which must lie after anything the old key signed (clients
    // take a window's end as exclusive, times are whole seconds, and the old key signed until
    // the server stopped, before this process took the lock): wait for the next second.
    let locked_at = unix_now();
    while unix_now() <= locked_at {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let now = unix_now();
    if rotations.generations.last().is_some_and(|g| g.start >= now) {
        bail!(
            "the last rotation of the {} is not in the past yet: wait a second",
            what.name()
        );
    }
    let pending = Pending {
        attempt: rotations.attempts + 1,
        number,
        started: now,
        by: format!("{}:{}", host_name(), std::process::id()),
    };
    if !write_once(store.as_mut(), &attempt_key(what, pending.attempt), &pending)? {
        bail!(
            "another rotation of the {} began at the same moment: this one stops",
            what.name()
        );
    }

    let dir = what.generation_dir(data, number);
    let tmp = temporary(&dir);
    for path in [&tmp, &dir] {
        if path.exists() {
            fs::remove_dir_all(path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let new = NewGeneration {
        what,
        data,
        tmp: &tmp,
        database: &database,
        pending: &pending,
        token: token.as_ref(),
        url: args.url.as_deref(),
    };
    let prepared = prepare(&new, store.as_mut()).and_then(|key| {
        fault_point("prepared");
        fs::rename(&tmp, &dir)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), dir.display()))?;
        if let Some(parent) = dir.parent() {
            fs::File::open(parent)?.sync_all()?;
        }
        fault_point("renamed");
        Ok(key)
    });
    // A rotation that fails (rather than dies) rolls itself back at once.
    let key = match prepared {
        Ok(key) => key,
        Err(e) => {
            if let Err(undo) = recover(store.as_mut(), data) {
                eprintln!(
                    "signet: the failed rotation could not be rolled back ({undo:#}): a server start will"
                );
            }
            return Err(e);
        }
    };

    // The commit point: one write-once key. A rollback that got there first wins.
    let outcome = Outcome::Committed {
        start: now,
        key_sha256: key_fingerprint(&key),
    };
    if !write_once(store.as_mut(), &outcome_key(what, pending.attempt), &outcome)? {
        bail!(
            "the rotation of the {} was rolled back by another process while it ran: nothing changed",
            what.name()
        );
    }
    let when = signet_formats::common::Timestamp::from_unix(now);
    match what {
        Rotatable::Log => println!(
            "rotated the log: shard {number} (key SHA-256 {}) takes new entries from {} at <public URL>{}; shard {} is read-only. Start the server to publish the new trust root.",
            key_fingerprint(&key),
            when.as_str(),
            shard_path(number),
            number - 1
        ),
        _ => println!(
            "rotated the {}: generation {number} (key SHA-256 {}) signs from {}. Start the server to publish the new trust root.",
            what.name(),
            key_fingerprint(&key),
            when.as_str()
        ),
    }
    println!(
        "With several front ends, copy {} into each one's data directory before starting them.",
        dir.display()
    );
    Ok(())
}

/// What a rotation makes: the generation `pending` begins, of `what`, written to `tmp`.
struct NewGeneration<'a> {
    what: Rotatable,
    data: &'a Path,
    tmp: &'a Path,
    database: &'a Database,
    pending: &'a Pending,
    /// The new key, when it is in a token.
    token: Option<&'a crate::TokenKey>,
    /// `log` under a host of its own.
    url: Option<&'a str>,
}

/// Writes the files of the new generation into its `tmp`; returns its public key. `main` is
/// the server's store (the first logs' origins are in its metadata).
fn prepare(new: &NewGeneration<'_>, main: &mut dyn LogStore) -> anyhow::Result<PublicKey> {
    let NewGeneration {
        what,
        data,
        tmp,
        database,
        pending,
        token,
        url,
    } = *new;
    let (number, now) = (pending.number, pending.started);
    let first_in_token = match what {
        Rotatable::Log => !data.join(crate::LOG_KEY_FILE).exists(),
        _ => data.join(what.name()).join(crate::TOKEN_KEY_MARKER).exists(),
    };
    if first_in_token && token.is_none() {
        eprintln!(
            "signet: warning: the {}'s first key is in a PKCS#11 token; without --key-uri the new one is a file key",
            what.name()
        );
    }
    let signer = token.map(|t| t.signer.clone());
    // A token generation's directory records the key's public half, as a first start does.
    let record_token = |tmp: &Path| -> anyhow::Result<()> {
        if let Some(t) = token {
            crate::write_atomic(
                &tmp.join(crate::TOKEN_KEY_MARKER),
                t.signer.public_key().to_pem().as_bytes(),
                0o644,
            )?;
        }
        Ok(())
    };
    // A log shard's store: SQLite in the temporary directory (renamed with it), or a schema of
    // its own named after this attempt.
    let store_at = |file: &str| match database {
        Database::Sqlite => StoreLocation::Sqlite(tmp.join(file)),
        Database::Postgres(_) => {
            database.location(tmp.join(file), &shard_schema(what, number, pending.attempt))
        }
    };
    match what {
        Rotatable::Log => {
            let generated = match token {
                Some(_) => None,
                None => Some(SigningKey::generate(KeyKind::Ed25519)?),
            };
            let public = match (token, &generated) {
                (Some(t), _) => t.signer.public_key().clone(),
                (None, Some(k)) => k.public_key().clone(),
                (None, None) => bail!("no key for the new shard"),
            };
            let location = store_at(SHARD_DB_FILE);
            if location.exists()? {
                bail!("{location} exists already: refusing to reuse it for a new shard");
            }
            fs::create_dir_all(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
            // The store first, the key file last.
            let (origin, url) = match url {
                Some(url) => shard_host(data, url)?,
                None => (shard_origin(data, number)?, None),
            };
            let mut store = location.open(true)?;
            store.set_meta("log.origin", &origin)?;
            if let Some(url) = url {
                store.set_meta("log.url", &url)?;
            }
            store.set_meta(
                "log.created",
                signet_formats::common::Timestamp::from_unix(now).as_str(),
            )?;
            store.set_meta("log.key_id", &key_fingerprint(&public))?;
            drop(store);
            match &generated {
                Some(key) => write_secret(&tmp.join(SHARD_KEY_FILE), key.to_pkcs8_pem().as_bytes())?,
                None => record_token(tmp)?,
            }
            Ok(public)
        }
        Rotatable::Ct => {
            // The shard's origin: the first CT log's (its URL without the scheme) and the
            // shard's path, which is its URL while the public URL stays.
            let first = main
                .meta("ct.origin")?
                .context("the CT log has never started here: nothing to rotate")?;
            let origin = format!("{first}/shards/{number}");
            let schema = shard_schema(what, number, pending.attempt);
            if let Database::Postgres(db) = database {
                if db.has_store(&schema)? {
                    bail!(
                        "{} schema {schema} exists already: refusing to reuse it for a new shard",
                        db.describe()
                    );
                }
            }
            let log = signet_log::keyed::KeyedLog::open_or_create(
                tmp,
                database,
                signet_ct::CtLog::layout(&schema),
                &origin,
                now,
                token.map(crate::TokenKey::external).as_ref(),
            )?;
            record_token(tmp)?;
            Ok(log.key.public_key().clone())
        }
        Rotatable::Tsa => {
            signet_tsa::Tsa::rotate(&data.join("tsa"), tmp, now, signer.clone())?;
            record_token(tmp)?;
            let tsa = signet_tsa::Tsa::open_generation(&data.join("tsa"), tmp, signer)?;
            Ok(PublicKey::from_certificate_der(&tsa.chain_der()[0])?)
        }
        Rotatable::Ca => {
            signet_ca::CaChain::rotate(&data.join("ca"), tmp, now, signer.clone())?;
            record_token(tmp)?;
            let chain = signet_ca::CaChain::open_generation(&data.join("ca"), tmp, signer)?;
            Ok(chain.signer.public_key().clone())
        }
    }
}

/// The checkpoint origin of Rekor v2 shard `number`: its URL without the scheme, the URL made
/// from the public URL the server last published (the first shard's `baseUrl` in the data
/// directory's `trusted_root.json`), so that it is fixed here, by the rotation, and never by
/// whichever start comes next (a start that fails, or one with a mistyped `--public-url`).
fn shard_origin(data: &Path, number: u32) -> anyhow::Result<String> {
    let first = published_log_urls(data)?
        .iter()
        .find_map(|url| url.strip_suffix(crate::LOG_PREFIX).map(str::to_string))
        .with_context(|| {
            format!(
                "{} lists no Rekor v2 log at …{}: start the server with its transparency log once first",
                data.join(PUBLISHED_ROOT).display(),
                crate::LOG_PREFIX
            )
        })?;
    crate::origin_from_url(&format!("{first}{}", shard_path(number)))
}

/// The trusted root the server last published in the data directory.
const PUBLISHED_ROOT: &str = "trusted_root.json";

/// The base URLs of the transparency logs the server last published (its `trusted_root.json`).
fn published_log_urls(data: &Path) -> anyhow::Result<Vec<String>> {
    let path = data.join(PUBLISHED_ROOT);
    let text = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let root = signet_formats::trust::TrustedRoot::from_json(&text)
        .map_err(|e| anyhow::anyhow!("{} is damaged: {e}", path.display()))?;
    Ok(root.tlogs.into_iter().map(|t| t.base_url).collect())
}

/// The origin and URL of a shard served under a host of its own (`rotate log --url`): the
/// host name alone, which no other shard of the log may have.
fn shard_host(data: &Path, url: &str) -> anyhow::Result<(String, Option<String>)> {
    let url = url.trim_end_matches('/').to_string();
    if url.contains(['?', '#']) {
        bail!("--url {url}: a base URL has no query or fragment");
    }
    let origin = crate::log_origin_from_url(&url)?;
    for base in published_log_urls(data)? {
        if signet_verify::trust::host_name(&base).eq_ignore_ascii_case(&origin) {
            bail!("--url {url}: the host {origin} already serves a log of this server ({base}); a shard under a host of its own needs a new one");
        }
    }
    Ok((origin, Some(url)))
}

/// Serves shards that have a host of their own: a request whose `Host` is one of `hosts`
/// (host name, the URL's path, the shard's path on the server) and whose path is under that
/// URL's path is routed to the shard's routes; every other request is untouched.
pub fn host_routes(app: axum::Router, hosts: Vec<(String, String, String)>) -> axum::Router {
    if hosts.is_empty() {
        return app;
    }
    let hosts = std::sync::Arc::new(hosts);
    axum::Router::new().fallback_service(tower::service_fn(move |mut request: axum::extract::Request| {
        let app = app.clone();
        if let Some(path) = shard_path_for(&request, &hosts) {
            if let Ok(uri) = path.parse() {
                *request.uri_mut() = uri;
            }
        }
        tower::ServiceExt::oneshot(app, request)
    }))
}

/// The server path a request for a shard's own host maps to, if it is one.
fn shard_path_for(request: &axum::extract::Request, hosts: &[(String, String, String)]) -> Option<String> {
    let authority = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))?;
    let host = signet_verify::trust::host_name(&format!("http://{authority}"));
    let (_, url_path, prefix) = hosts.iter().find(|(h, ..)| h.eq_ignore_ascii_case(&host))?;
    let path = request.uri().path();
    let rest = path.strip_prefix(url_path.as_str())?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{prefix}{rest}{query}"))
}

/// A URL's path without its trailing slash (`""` for none).
pub fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].trim_end_matches('/').to_string())
}

/// Test-only fault injection: `SIGNET_FAULT_ROTATE_ABORT=<point>` aborts the process there, as
/// a crash or power loss would, so the tests can check what the next start makes of it.
fn fault_point(point: &str) {
    if std::env::var("SIGNET_FAULT_ROTATE_ABORT").as_deref() == Ok(point) {
        eprintln!("signet: SIGNET_FAULT_ROTATE_ABORT={point}: aborting");
        std::process::abort();
    }
}

fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// One shard of the Rekor v2 log, opened.
pub struct LogShard {
    pub number: u32,
    /// Its base URL (clients' `baseUrl`).
    pub url: String,
    pub origin: String,
    pub key: std::sync::Arc<dyn signet_crypto::Signer>,
    pub location: StoreLocation,
    /// Where its search index lives.
    pub dir: PathBuf,
    pub log_id: [u8; 32],
    /// Its window: when it took over, and when its successor did.
    pub start: i64,
    pub end: Option<i64>,
}

/// What the trust files say of a log shard.
pub struct ShardTrust {
    pub url: String,
    pub log_id: [u8; 32],
    pub key: PublicKey,
    pub valid_for: signet_formats::common::TimeRange,
}

impl LogShard {
    pub fn trust(&self) -> ShardTrust {
        ShardTrust {
            url: self.url.clone(),
            log_id: self.log_id,
            key: self.key.public_key().clone(),
            valid_for: window(self.start, self.end),
        }
    }
}

/// The closed window `[start, end]` (open-ended without `end`).
pub fn window(start: i64, end: Option<i64>) -> signet_formats::common::TimeRange {
    use signet_formats::common::Timestamp;
    signet_formats::common::TimeRange {
        start: Some(Timestamp::from_unix(start)),
        end: end.map(Timestamp::from_unix),
    }
}

impl crate::DataDir {
    /// The Rekor v2 log's shards, oldest first: the first log, then one per rotation.
    pub(crate) fn log_shards(
        &self,
        public_url: &str,
        keys: &crate::ServiceKeys,
    ) -> anyhow::Result<Vec<LogShard>> {
        let mut store = self.store(false)?;
        let rotations = Rotations::load(store.as_mut(), Rotatable::Log)?;
        let created = signet_formats::common::Timestamp::parse(&self.created)
            .map_err(|e| anyhow::anyhow!("stored creation time {:?} is damaged: {e:?}", self.created))?;
        let url = format!("{public_url}{}", shard_path(1));
        let mut shards = vec![LogShard {
            number: 1,
            log_id: signet_tlog::rekor_log_id(&self.origin, self.log_key.public_key()),
            url,
            origin: self.origin.clone(),
            key: self.log_key.clone(),
            location: self.location.clone(),
            dir: self.path.clone(),
            start: created.unix_seconds(),
            end: rotations.end_of(1),
        }];
        for generation in &rotations.generations {
            let n = generation.number;
            let dir = Rotatable::Log.generation_dir(&self.path, n);
            let key: std::sync::Arc<dyn signet_crypto::Signer> = match keys.for_dir(&dir)? {
                Some(token) => token.signer.clone(),
                None => {
                    let key_path = dir.join(SHARD_KEY_FILE);
                    let pem = fs::read_to_string(&key_path).with_context(|| {
                        format!(
                            "cannot read the key of log shard {n} ({}): copy {} from the data directory that rotated the log",
                            key_path.display(),
                            dir.display()
                        )
                    })?;
                    std::sync::Arc::new(
                        SigningKey::from_pkcs8_pem(&pem)
                            .with_context(|| format!("the log key {} is damaged", key_path.display()))?,
                    )
                }
            };
            check_key(Rotatable::Log, generation, key.public_key(), &dir)?;
            let location = shard_location(&self.database, &self.path, generation);
            if !location.exists()? {
                bail!("{location}, the store of log shard {n}, is missing: refusing to start");
            }
            let mut store = location.open(false)?;
            match store.meta("log.key_id")? {
                Some(id) if id == generation.key_sha256 => {}
                _ => bail!("{location} is not the store of log shard {n} (its key does not match): refusing to start"),
            }
            let url = match store.meta("log.url")? {
                Some(url) => url,
                None => format!("{public_url}{}", shard_path(n)),
            };
            let origin = store
                .meta("log.origin")?
                .with_context(|| format!("{location} has no origin: damaged shard"))?;
            shards.push(LogShard {
                number: n,
                log_id: signet_tlog::rekor_log_id(&origin, key.public_key()),
                url,
                origin,
                key,
                location,
                dir,
                start: generation.start,
                end: rotations.end_of(n),
            });
        }
        Ok(shards)
    }
}

/// Makes a superseded shard's router read-only: every POST (a new entry) is refused with 409
/// and a JSON error naming the shard that takes entries now.
pub fn read_only(router: axum::Router, current_url: &str, since: Option<i64>) -> axum::Router {
    let since = since
        .map(|t| {
            signet_formats::common::Timestamp::from_unix(t)
                .as_str()
                .to_string()
        })
        .unwrap_or_default();
    let message: std::sync::Arc<str> = format!(
        "this log shard is read-only since {since}: new entries go to {current_url} (refresh your signing config)"
    )
    .into();
    router.layer(axum::middleware::from_fn_with_state(message, refuse_writes))
}

async fn refuse_writes(
    axum::extract::State(message): axum::extract::State<std::sync::Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.method() == axum::http::Method::POST {
        return (
            axum::http::StatusCode::CONFLICT,
            axum::Json(serde_json::json!({ "error": &*message })),
        )
            .into_response();
    }
    next.run(request).await
}

/// A CA's or TSA's trusted-root entries, one per generation with its window, oldest first.
pub type AuthorityEntries = Vec<signet_formats::trust::CertificateAuthority>;

impl crate::DataDir {
    /// The timestamp authority in use (the last generation; `first` is generation 1) and the
    /// trusted-root entries of every generation. An earlier leaf's window ends when the next
    /// one took over: it signs nothing after that.
    pub(crate) fn tsa_generations(
        &self,
        first: signet_tsa::Tsa,
        keys: &crate::ServiceKeys,
    ) -> anyhow::Result<(signet_tsa::Tsa, AuthorityEntries)> {
        self.authority_generations(
            Rotatable::Tsa,
            first,
            keys,
            0,
            |root, dir, key| Ok(signet_tsa::Tsa::open_generation(root, dir, key)?),
            |tsa| {
                let key = PublicKey::from_certificate_der(&tsa.chain_der()[0])?;
                Ok((key, tsa.trusted_root_entry()))
            },
        )
    }

    /// The CA chain in use (the last generation; `first` is generation 1) and the
    /// trusted-root entries of every generation. An earlier intermediate's window ends
    /// [`signet_ca::LEAF_LIFETIME_SECS`] after the next took over, so a certificate it issued
    /// just before the rotation stays usable for its whole life.
    pub(crate) fn ca_generations(
        &self,
        first: signet_ca::CaChain,
        keys: &crate::ServiceKeys,
    ) -> anyhow::Result<(signet_ca::CaChain, AuthorityEntries)> {
        self.authority_generations(
            Rotatable::Ca,
            first,
            keys,
            signet_ca::LEAF_LIFETIME_SECS,
            |root, dir, key| Ok(signet_ca::CaChain::open_generation(root, dir, key)?),
            |chain| Ok((chain.signer.public_key().clone(), chain.trusted_root_entry())),
        )
    }

    /// A chain service's generations (the CA's or the TSA's): each later one opened from its
    /// directory under the root in `<data>/<service>` (with its token key, if it recorded
    /// one), checked to hold the key its rotation recorded, and listed with the window it
    /// took over at; each window ends when the next began, plus `grace` seconds.
    fn authority_generations<T>(
        &self,
        what: Rotatable,
        first: T,
        keys: &crate::ServiceKeys,
        grace: i64,
        open: impl Fn(&Path, &Path, Option<std::sync::Arc<dyn signet_crypto::Signer>>) -> anyhow::Result<T>,
        describe: impl Fn(&T) -> anyhow::Result<(PublicKey, signet_formats::trust::CertificateAuthority)>,
    ) -> anyhow::Result<(T, AuthorityEntries)> {
        let rotations = Rotations::load(self.store(false)?.as_mut(), what)?;
        let root_dir = self.path.join(what.name());
        let mut entries = vec![describe(&first)?.1];
        let mut current = first;
        for generation in &rotations.generations {
            let dir = what.generation_dir(&self.path, generation.number);
            let token = keys.for_dir(&dir)?.map(|k| k.signer.clone());
            let opened = open(&root_dir, &dir, token).with_context(|| {
                format!(
                    "cannot open the {}'s generation in {}",
                    what.name(),
                    dir.display()
                )
            })?;
            let (key, mut entry) = describe(&opened)?;
            check_key(what, generation, &key, &dir)?;
            entry.valid_for.start = Some(signet_formats::common::Timestamp::from_unix(generation.start));
            entries.push(entry);
            current = opened;
        }
        for (i, entry) in entries.iter_mut().enumerate() {
            if let Some(end) = rotations.end_of(i as u32 + 1) {
                entry.valid_for.end = Some(signet_formats::common::Timestamp::from_unix(end + grace));
            }
        }
        Ok((current, entries))
    }
}

/// One shard of the CT log, opened.
pub struct CtShard {
    pub number: u32,
    pub log: std::sync::Arc<signet_ct::CtLog>,
    /// Its base URL.
    pub url: String,
    /// Where its search index lives.
    pub dir: PathBuf,
    /// Its trusted-root entry, with its window.
    pub entry: signet_formats::trust::TransparencyLogInstance,
}

impl crate::DataDir {
    /// The CT log's shards, oldest first: `first` (in `<data>/ct`), then one per rotation.
    /// The last one logs the CA's certificates; the earlier ones only serve what they hold.
    pub(crate) fn ct_shards(
        &self,
        first: signet_ct::CtLog,
        public_url: &str,
        ca_root: &[u8],
        keys: &crate::ServiceKeys,
    ) -> anyhow::Result<Vec<CtShard>> {
        let rotations = Rotations::load(self.store(false)?.as_mut(), Rotatable::Ct)?;
        let shard = |number: u32, log: signet_ct::CtLog, dir: PathBuf, start: Option<i64>| {
            let url = format!("{public_url}{}", ct_shard_path(number));
            let mut entry = log.trusted_root_entry();
            entry.base_url = url.clone();
            if let Some(start) = start {
                entry.public_key.valid_for = Some(window(start, None));
            }
            if let (Some(valid_for), Some(end)) =
                (entry.public_key.valid_for.as_mut(), rotations.end_of(number))
            {
                valid_for.end = Some(signet_formats::common::Timestamp::from_unix(end));
            }
            CtShard {
                number,
                log: std::sync::Arc::new(log),
                url,
                dir,
                entry,
            }
        };
        let mut shards = vec![shard(1, first, self.path.join("ct"), None)];
        if rotations.generations.is_empty() {
            return Ok(shards);
        }
        let first_origin = self
            .store(false)?
            .meta("ct.origin")?
            .context("the CT log's origin is not recorded")?;
        for generation in &rotations.generations {
            let n = generation.number;
            let dir = Rotatable::Ct.generation_dir(&self.path, n);
            if !dir.exists() {
                bail!(
                    "{}, CT log shard {n}, is missing: copy it from the data directory that rotated the CT log",
                    dir.display()
                );
            }
            let log = signet_ct::CtLog::open_shard(
                &dir,
                &self.database,
                &shard_schema(Rotatable::Ct, n, generation.attempt),
                &format!("{first_origin}/shards/{n}"),
                vec![ca_root.to_vec()],
                generation.start,
                keys.for_dir(&dir)?.map(crate::TokenKey::external).as_ref(),
            )
            .with_context(|| format!("cannot open CT log shard {n}"))?;
            check_key(Rotatable::Ct, generation, log.public_key(), &dir)?;
            shards.push(shard(n, log, dir, Some(generation.start)));
        }
        Ok(shards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> Box<dyn LogStore> {
        StoreLocation::Sqlite(dir.join("journal.db")).open(true).unwrap()
    }

    fn pending(attempt: u32, number: u32) -> Pending {
        Pending {
            attempt,
            number,
            started: 1000 + attempt as i64,
            by: "test:1".into(),
        }
    }

    #[test]
    fn the_journal_is_a_chain_of_write_once_steps() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = store(tmp.path());
        let what = Rotatable::Log;
        assert_eq!(
            Rotations::load(store.as_mut(), what).unwrap(),
            Rotations::default()
        );
        assert_eq!(Rotations::default().current(), 1);

        // Attempt 1 begins; a second process beginning attempt 1 loses.
        assert!(write_once(store.as_mut(), &attempt_key(what, 1), &pending(1, 2)).unwrap());
        assert!(!write_once(store.as_mut(), &attempt_key(what, 1), &pending(1, 2)).unwrap());
        let r = Rotations::load(store.as_mut(), what).unwrap();
        assert_eq!(
            (r.pending.clone(), r.attempts, r.current()),
            (Some(pending(1, 2)), 1, 1)
        );

        // It is rolled back; its commit then loses.
        let back = Outcome::RolledBack { at: 1005 };
        assert!(write_once(store.as_mut(), &outcome_key(what, 1), &back).unwrap());
        let commit = Outcome::Committed {
            start: 1006,
            key_sha256: "aa".into(),
        };
        assert!(!write_once(store.as_mut(), &outcome_key(what, 1), &commit).unwrap());
        let r = Rotations::load(store.as_mut(), what).unwrap();
        assert_eq!((r.pending.clone(), r.attempts, r.current()), (None, 1, 1));

        // Attempt 2 makes generation 2 again, and commits; attempt 3 makes 3.
        assert!(write_once(store.as_mut(), &attempt_key(what, 2), &pending(2, 2)).unwrap());
        assert!(write_once(store.as_mut(), &outcome_key(what, 2), &commit).unwrap());
        assert!(write_once(store.as_mut(), &attempt_key(what, 3), &pending(3, 3)).unwrap());
        let three = Outcome::Committed {
            start: 2000,
            key_sha256: "bb".into(),
        };
        assert!(write_once(store.as_mut(), &outcome_key(what, 3), &three).unwrap());
        let r = Rotations::load(store.as_mut(), what).unwrap();
        assert_eq!(r.current(), 3);
        assert_eq!(
            r.generations
                .iter()
                .map(|g| (g.number, g.attempt, g.start))
                .collect::<Vec<_>>(),
            [(2, 2, 1006), (3, 3, 2000)]
        );
        assert_eq!(
            (r.end_of(1), r.end_of(2), r.end_of(3)),
            (Some(1006), Some(2000), None)
        );
        // Other services' journals are their own.
        assert_eq!(
            Rotations::load(store.as_mut(), Rotatable::Ca).unwrap(),
            Rotations::default()
        );
    }

    #[test]
    fn recovery_rolls_back_a_pending_rotation_and_removes_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = store(tmp.path());
        let data = tmp.path();
        let what = Rotatable::Tsa;
        assert!(write_once(store.as_mut(), &attempt_key(what, 1), &pending(1, 2)).unwrap());
        let dir = what.generation_dir(data, 2);
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir_all(temporary(&dir)).unwrap();
        recover(store.as_mut(), data).unwrap();
        assert!(!dir.exists() && !temporary(&dir).exists());
        let r = Rotations::load(store.as_mut(), what).unwrap();
        assert_eq!((r.pending.clone(), r.current()), (None, 1));
        // Nothing pending: nothing removed.
        fs::create_dir_all(&dir).unwrap();
        recover(store.as_mut(), data).unwrap();
        assert!(dir.exists());
    }

    #[test]
    fn a_damaged_journal_is_refused_not_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let mut store = store(tmp.path());
        store.set_meta("rotation.ca.1", "{not json").unwrap();
        let e = Rotations::load(store.as_mut(), Rotatable::Ca).unwrap_err();
        assert!(format!("{e:#}").contains("rotation.ca.1"), "{e:#}");
    }

    #[test]
    fn requests_for_a_shards_own_host_go_to_the_shard() {
        let hosts = vec![
            (
                "log2027.example.com".to_string(),
                String::new(),
                "/rekor/shards/2".to_string(),
            ),
            (
                "logs.example.net".to_string(),
                "/three".to_string(),
                "/rekor/shards/3".to_string(),
            ),
        ];
        let route = |host: &str, path: &str| {
            let request = axum::http::Request::builder()
                .uri(path)
                .header(axum::http::header::HOST, host)
                .body(axum::body::Body::empty())
                .unwrap();
            shard_path_for(&request, &hosts)
        };
        assert_eq!(
            route("log2027.example.com", "/checkpoint").as_deref(),
            Some("/rekor/shards/2/checkpoint")
        );
        assert_eq!(
            route("LOG2027.example.com:443", "/api/v2/log/entries?x=1").as_deref(),
            Some("/rekor/shards/2/api/v2/log/entries?x=1")
        );
        assert_eq!(
            route("logs.example.net", "/three/tile/0/000").as_deref(),
            Some("/rekor/shards/3/tile/0/000")
        );
        assert_eq!(route("logs.example.net", "/threefold/checkpoint"), None);
        assert_eq!(route("logs.example.net", "/checkpoint"), None);
        assert_eq!(route("example.com", "/checkpoint"), None);
        assert_eq!(url_path("https://log2027.example.com/"), "");
        assert_eq!(url_path("https://logs.example.net/three/"), "/three");
    }

    proptest::proptest! {
        /// Any Host header and path (attacker-chosen) routes somewhere or nowhere, never
        /// panics, and a rewritten path stays under the shard's prefix.
        #[test]
        fn host_routing_takes_any_request(host in "\\PC{0,40}", path in "/[!-~]{0,40}") {
            let hosts = vec![("log2027.example.com".to_string(), "/x".to_string(), "/rekor/shards/2".to_string())];
            let Ok(request) = axum::http::Request::builder()
                .uri(path.as_str())
                .header(axum::http::header::HOST, host.as_str())
                .body(axum::body::Body::empty())
            else {
                return Ok(());
            };
            if let Some(routed) = shard_path_for(&request, &hosts) {
                proptest::prop_assert!(routed.starts_with("/rekor/shards/2"), "{routed}");
            }
        }
    }

    #[test]
    fn shard_paths_and_schemas() {
        assert_eq!(shard_path(1), "/rekor");
        assert_eq!(shard_path(2), "/rekor/shards/2");
        assert_eq!(ct_shard_path(3), "/ct/shards/3");
        assert_eq!(shard_schema(Rotatable::Log, 2, 5), "signet_shard_2_5");
        assert_eq!(shard_schema(Rotatable::Ct, 2, 1), "ct_shard_2_1");
        assert_eq!(
            temporary(Path::new("/d/log-shards/2")),
            Path::new("/d/log-shards/2.tmp")
        );
    }
}
