//! The composition behind `signet server`: opens (or on first start creates) the data
//! directory, starts the services (CA at the root, transparency logs under /rekor and /rekor1,
//! CT log under /ct, timestamp authority under /tsa, TUF under /tuf, the development OpenID
//! provider under /oidc) on one listener, and serves until SIGINT/SIGTERM, finishing in-flight
//! entries. A library so that the `signet` binary only parses flags; it sits above every
//! service crate and below nothing but the binary and the load generators.
//!
//! Data directory layout (all created on first start; a later start reuses it and refuses a
//! directory that is half-written, corrupt, from a newer signet, or in use by another server):
//!
//! ```text
//! signet.lock            exclusive lock held while a server runs
//! signet.db              the embedded SQLite store (log entries, tiles, checkpoint, metadata);
//!                        with --database postgres://…, schemas signet, rekor1 and ct of that
//!                        database hold the three logs instead (database.rs)
//! keys/log-ed25519.pem   the transparency log's checkpoint key (PKCS#8, mode 0600)
//! tsa/                   the timestamp authority's root and leaf keys (0600) and certificates
//! trusted_root.json      trust material for clients (rewritten at each start with the URL)
//! signing_config.json    which services clients should use (v0.2)
//! trust_config.json      both, as a ClientTrustConfig for `--trust-config`
//! tuf/                   the TUF repository publishing those files at /tuf (tuf_repo.rs)
//! <service>/token-public.pem  with --<service>-key-uri: the public half of the service's key
//!                        in a PKCS#11 token (no private key file then; a later start with
//!                        another key is refused)
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use fs2::FileExt;
use signet_crypto::{KeyKind, Signer, SigningKey};
use signet_formats::common::{LogId, TimeRange, Timestamp};
use signet_formats::trust::{
    ClientTrustConfig, Service, ServiceConfiguration, ServiceSelector, SigningConfig,
    TransparencyLogInstance, TrustedRoot,
};
use signet_log::storage::{Database, LogStore, StoreLocation};
use signet_log::{Appender, AppenderConfig};
use signet_tlog::NoteSigner;

mod database;
mod explorer;
mod linger;
mod log_witnessing;
mod rotation;
mod search;
mod serve;
mod tuf_repo;
mod witness;

pub use database::{run_db, DatabaseArgs, DbCommand};
pub use log_witnessing::{MissedQuorum, WitnessingArgs};
pub use rotation::{run_admin, AdminCommand, Rotatable, RotateArgs};
pub use witness::{run_witness, WitnessArgs};

/// Path prefix of the transparency log on the shared listener.
pub const LOG_PREFIX: &str = "/rekor";
/// Path prefix of the Rekor v1 log (a separate log, for clients that predate Rekor v2).
pub const LOG_V1_PREFIX: &str = "/rekor1";
/// Path prefix of the timestamp authority.
pub const TSA_PREFIX: &str = "/tsa";
/// Path prefix of the certificate transparency log (its RFC 6962 API is under `/ct/ct/v1/`,
/// as a CT log's base URL is followed by `/ct/v1/`).
pub const CT_PREFIX: &str = "/ct";
/// Path prefix of the development OpenID provider.
pub const DEV_OIDC_PREFIX: &str = "/oidc";
/// Path prefix of the instance's TUF repository (trusted root and signing config for clients).
pub const TUF_PREFIX: &str = "/tuf";

#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Read flags from this TOML file: its keys are these flags' long names (`listen =
    /// "0.0.0.0:3000"`, `dev-oidc = true`, `[tls] cert = "…"` for --tls-cert). Flags on the
    /// command line and their environment variables override it (README, "Configuration file").
    #[arg(long, value_name = "FILE", env = "SIGNET_CONFIG", value_hint = clap::ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000", env = "SIGNET_LISTEN")]
    pub listen: SocketAddr,
    /// Directory holding the database, keys and trust files.
    #[arg(long, default_value = "./signet-data", env = "SIGNET_DATA_DIR")]
    pub data_dir: PathBuf,
    /// URL clients reach this server at (default: http://<listen address>). The log's
    /// checkpoint origin is fixed from it at first start.
    #[arg(long, env = "SIGNET_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Most entries integrated in one batch.
    #[arg(long, default_value_t = 4096)]
    pub max_batch: usize,
    /// DEVELOPMENT ONLY: serve an OpenID provider at /oidc that issues identity tokens for any
    /// identity to anyone who asks, and make the CA trust it. Never on a server real users trust.
    #[arg(long, env = "SIGNET_DEV_OIDC")]
    pub dev_oidc: bool,
    /// Seconds between polls the development provider asks device-flow clients for (RFC 8628
    /// `interval`). Hidden: only tests want other than the default.
    #[arg(
        long,
        env = "SIGNET_DEV_OIDC_DEVICE_INTERVAL",
        default_value_t = signet_devoidc::DEFAULT_DEVICE_POLL_INTERVAL_SECS,
        value_parser = clap::value_parser!(u64).range(1..=60),
        hide = true
    )]
    pub dev_oidc_device_interval: u64,
    /// Identity token issuers the CA trusts, in Fulcio's JSON config shape
    /// (`{"OIDCIssuers": {...}, "MetaIssuers": {...}}`).
    #[arg(long, env = "SIGNET_OIDC_CONFIG", value_hint = clap::ValueHint::FilePath)]
    pub oidc_config: Option<PathBuf>,
    /// Run only these services (comma-separated: ca, ct, log, tsa), for deployments where each
    /// runs apart. The CA submits to its CT log in process, so `ca` needs `ct` beside it. The
    /// trust files written then list only the services this process runs.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<ServiceName>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, requires = "tls_key", env = "SIGNET_TLS_CERT", value_hint = clap::ValueHint::FilePath)]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert", env = "SIGNET_TLS_KEY", value_hint = clap::ValueHint::FilePath)]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub witnessing: WitnessingArgs,
    /// Do not keep the search indexes of the logs (`index.db`, `rekor1/index.db`,
    /// `ct/index.db`) nor serve `/api/v2/search` under the log's prefix, Rekor v1's
    /// `index/retrieve` and `/api/v1/search`.
    #[arg(long, env = "SIGNET_NO_SEARCH_INDEX")]
    pub no_search_index: bool,
    /// Do not serve the web explorer at /explorer (it needs the search index: with
    /// --no-search-index there is none either).
    #[arg(long, env = "SIGNET_NO_EXPLORER")]
    pub no_explorer: bool,
    // Keys in a PKCS#11 token (README, "Keys in a hardware token"): an RFC 7512 URI per
    // service, e.g. pkcs11:token=signet;object=ca?module-path=…&pin-source=file:…. With one,
    // that service neither generates nor reads a key file; a later start with another key is
    // refused. Prefer pin-source to pin-value (a command line is visible to other users).
    //
    // After `signet admin rotate … --key-uri` the CA, CT log, log and TSA flags are repeated,
    // one per generation whose key is in a token; each generation takes the key whose public
    // half it recorded (README, "Rotating keys and log shards").
    /// PKCS#11 URI of the CA's intermediate key (ECDSA P-256/P-384); the root stays a file key
    /// that only certifies it. Repeatable after rotations.
    #[arg(long, env = "SIGNET_CA_KEY_URI")]
    pub ca_key_uri: Vec<String>,
    /// PKCS#11 URI of the CT log's key (ECDSA P-256). Repeatable after rotations.
    #[arg(long, env = "SIGNET_CT_KEY_URI")]
    pub ct_key_uri: Vec<String>,
    /// PKCS#11 URI of the transparency log's checkpoint key (Ed25519). Repeatable after
    /// rotations (a key per shard).
    #[arg(long, env = "SIGNET_LOG_KEY_URI")]
    pub log_key_uri: Vec<String>,
    /// PKCS#11 URI of the Rekor v1 log's key (ECDSA P-256).
    #[arg(long, env = "SIGNET_REKOR1_KEY_URI")]
    pub rekor1_key_uri: Option<String>,
    /// PKCS#11 URI of the timestamp authority's signing key; the TSA root stays a file key
    /// that only certifies it. Repeatable after rotations.
    #[arg(long, env = "SIGNET_TSA_KEY_URI")]
    pub tsa_key_uri: Vec<String>,
    /// PKCS#11 URI of the key of all four TUF roles of the instance's repository.
    #[arg(long, env = "SIGNET_TUF_KEY_URI")]
    pub tuf_key_uri: Option<String>,
}

/// A service `--only` can pick.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceName {
    Ca,
    Ct,
    Log,
    Tsa,
}

/// Which services this process runs.
struct Selected {
    ca: bool,
    ct: bool,
    log: bool,
    tsa: bool,
}

impl Selected {
    fn from_args(only: &[ServiceName]) -> anyhow::Result<Selected> {
        let all = only.is_empty();
        let has = |s| all || only.contains(&s);
        let selected = Selected {
            ca: has(ServiceName::Ca),
            ct: has(ServiceName::Ct),
            log: has(ServiceName::Log),
            tsa: has(ServiceName::Tsa),
        };
        if selected.ca && !selected.ct {
            bail!("--only ca needs ct too (--only ca,ct): the CA logs every certificate in its CT log in process");
        }
        Ok(selected)
    }
}

pub(crate) const DB_FILE: &str = "signet.db";
/// The PostgreSQL schema of the Rekor v2 log and the server's metadata.
pub(crate) const PG_SCHEMA: &str = "signet";
/// Any request still unanswered after this long is answered 503.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
pub(crate) const LOG_KEY_FILE: &str = "keys/log-ed25519.pem";

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let selected = Selected::from_args(&args.only)?;
    if args.witnessing.witness_policy.is_some() && !selected.log {
        bail!("--witness-policy is for the transparency log, which --only leaves out");
    }
    if args.witnessing.entry_timeout >= REQUEST_TIMEOUT {
        bail!(
            "--entry-timeout must be below the server's {} s limit on any request",
            REQUEST_TIMEOUT.as_secs()
        );
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::config(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let public_url = public_url.trim_end_matches('/').to_string();
    let log_url = format!("{public_url}{LOG_PREFIX}");

    let database = args.database.open()?;
    let keys = TokenKeys::open(&args)?;
    let log_token = first_log_token(&keys.log, &args.data_dir, &database)?;
    let dir = DataDir::open(&args.data_dir, &log_url, database, log_token)?;
    let mut app = axum::Router::new();
    // The logs /healthz reports on (their integrator leases), by path prefix.
    let mut health_logs = Vec::new();
    let mut trust = TrustFiles {
        public_url: &public_url,
        log: Vec::new(),
        log_v1: None,
        tsa: None,
        ca: None,
        ct: Vec::new(),
        dev_oidc: None,
    };

    let mut appenders = Vec::new();
    let mut shard_hosts = Vec::new();
    // Search (issue 17): an index per log, each following its log from a thread of its own.
    let mut indexes = search::Indexes::default();
    // Rotations left half-done by an interrupted `signet admin rotate` are rolled back first.
    rotation::recover(dir.store(false)?.as_mut(), &dir.path)?;
    // The web explorer (issue 17) reads the same indexes and logs: explorer.rs.
    let mut explorer_logs: Vec<explorer::ExplorerLog> = Vec::new();
    if selected.log {
        // The Rekor v2 log's shards (rotation.rs): the last takes new entries, the earlier
        // ones stay read-only and keep serving tiles, checkpoints and proofs.
        let shards = dir.log_shards(&public_url, &keys.log)?;
        let current = shards.len() - 1;
        for (i, shard) in shards.iter().enumerate() {
            let writable = i == current;
            let signer = NoteSigner::from_signer(&shard.origin, shard.key.clone())
                .map_err(|e| anyhow::anyhow!("log key cannot sign checkpoints: {e}"))?;
            let log_vkey = signer
                .verifier()
                .vkey()
                .context("the log key has no verifier key form")?;
            let witnessing = match writable {
                true => log_witnessing::setup(&args.witnessing, &log_vkey, shard.location.open(false)?)?,
                false => None,
            };
            let config = AppenderConfig {
                max_batch: args.max_batch,
                ..Default::default()
            };
            let store = shard.location.open(false)?;
            let started = match witnessing {
                Some(w) => Appender::start_witnessed(store, shard.origin.clone(), signer, config, w),
                None => Appender::start(store, shard.origin.clone(), signer, config),
            }
            .context("cannot start the transparency log")?;
            let readers = shard
                .location
                .reader_pool(4)
                .context("cannot open the database")?;
            let state = Arc::new(
                signet_log::http::LogState::new(started.clone(), readers, shard.log_id)
                    .with_entry_timeout(args.witnessing.entry_timeout),
            );
            let mut log_router = signet_log::http::router(state);
            if !args.no_search_index {
                log_router = log_router.merge(indexes.rekor_v2(
                    &shard.dir,
                    &shard.location,
                    shard.log_id,
                    shard.number,
                )?);
                // Every shard in the explorer: the first as `rekor`, the later ones by number.
                let name = match shard.number {
                    1 => explorer::LOG_NAME.to_string(),
                    n => format!("{}-shard-{n}", explorer::LOG_NAME),
                };
                let format = signet_index::LogFormat::RekorV2;
                let log = explorer::ExplorerLog::new(name, format, &shard.dir, &shard.location, shard.log_id);
                explorer_logs.push(log);
            }
            if !writable {
                log_router = rotation::read_only(log_router, &shards[current].url, shard.end);
            }
            let path = rotation::shard_path(shard.number);
            app = app.nest(&path, log_router);
            health_logs.push((path.trim_start_matches('/').to_string(), started.clone()));
            appenders.push(started);
            eprintln!(
                "signet: transparency log at {} (origin {}, vkey {log_vkey}){}",
                shard.url,
                shard.origin,
                if writable { "" } else { ", read-only" }
            );
        }
        trust.log = shards.iter().map(rotation::LogShard::trust).collect();
        // Shards with a host of their own (`rotate log --url`) are also served under it.
        for shard in &shards[1..] {
            let own = format!("{public_url}{}", rotation::shard_path(shard.number));
            if shard.url != own {
                shard_hosts.push((
                    signet_verify::trust::host_name(&shard.url),
                    rotation::url_path(&shard.url),
                    rotation::shard_path(shard.number),
                ));
            }
        }

        // The Rekor v1 API, for clients that predate Rekor v2, is a log of its own.
        let v1_url = format!("{public_url}{LOG_V1_PREFIX}");
        let v1_origin = dir.fixed_origin("rekor1.origin", &v1_url)?;
        let v1 = Arc::new(dir.keyed_service(
            "rekor1",
            "rekor-v1-key.pem",
            keys.rekor1.as_ref(),
            |path, key| {
                let key = key.map(TokenKey::external);
                signet_log::v1::RekorV1::open_with_key(
                    path,
                    &dir.database,
                    &v1_origin,
                    unix_now(),
                    key.as_ref(),
                )
                .context("cannot open the Rekor v1 log")
            },
        )?);
        health_logs.push(("rekor1".into(), v1.appender().clone()));
        let mut v1_router = signet_log::v1::router_v1(v1.clone());
        if !args.no_search_index {
            v1_router = v1_router.merge(indexes.rekor_v1(&dir.path.join("rekor1"), &v1)?);
            let (v1_dir, format) = (dir.path.join("rekor1"), signet_index::LogFormat::RekorV1);
            let log = explorer::ExplorerLog::new(
                "rekor1".into(),
                format,
                &v1_dir,
                v1.store_location(),
                v1.log_id(),
            );
            explorer_logs.push(log);
        }
        app = app.nest(LOG_V1_PREFIX, v1_router);
        eprintln!("signet: Rekor v1 log at {v1_url}");
        trust.log_v1 = Some((v1, v1_url));
    }

    if selected.tsa {
        let first = dir.keyed_service(
            "tsa",
            "tsa-leaf.pem",
            keys.tsa.for_dir(&dir.path.join("tsa"))?,
            |path, key| {
                signet_tsa::Tsa::open_with_key(path, unix_now(), key.map(|k| k.signer.clone()))
                    .context("cannot open the timestamp authority")
            },
        )?;
        // After rotations (rotation.rs) the last generation signs; all are in the trust root.
        let (tsa, entries) = dir.tsa_generations(first, &keys.tsa)?;
        let tsa = Arc::new(tsa);
        let tsa_url = format!("{public_url}{TSA_PREFIX}/api/v1/timestamp");
        app = app.nest(TSA_PREFIX, signet_tsa::router(tsa.clone()));
        eprintln!("signet: timestamp authority at {tsa_url}");
        trust.tsa = Some((entries, tsa_url));
    }

    let dev_oidc = if args.dev_oidc {
        let issuer_url = format!("{public_url}{DEV_OIDC_PREFIX}");
        let provider = Arc::new(dir.service("oidc-dev", "jwks.json", |path| {
            signet_devoidc::DevProvider::open_or_create(path, &issuer_url)
                .map(|p| p.with_device_poll_interval(args.dev_oidc_device_interval))
                .context("cannot open the development OpenID provider")
        })?);
        app = app.nest(DEV_OIDC_PREFIX, signet_devoidc::router(provider.clone()));
        eprintln!(
            "signet: WARNING: development OpenID provider at {issuer_url} issues tokens for ANY identity; development only"
        );
        Some(provider)
    } else {
        None
    };
    trust.dev_oidc = dev_oidc.clone();

    if selected.ct {
        // The CT log accepts chains to the CA's root, so the CA's chain comes first.
        let ca_chain = dir.keyed_service(
            "ca",
            "ca-intermediate.pem",
            keys.ca.for_dir(&dir.path.join("ca"))?,
            |path, key| {
                signet_ca::CaChain::open_with_key(path, unix_now(), key.map(|k| k.signer.clone()))
                    .context("cannot open the certificate authority")
            },
        )?;
        // After rotations (rotation.rs) the last intermediate issues; all are in the trust root.
        let (ca_chain, ca_entries) = dir.ca_generations(ca_chain, &keys.ca)?;
        let ct_url = format!("{public_url}{CT_PREFIX}");
        let ct_origin = dir.fixed_origin("ct.origin", &ct_url)?;
        let ca_root = ca_chain.chain.last().cloned().context("the CA chain is empty")?;
        let first = dir.keyed_service(
            "ct",
            "ct-key.pem",
            keys.ct.for_dir(&dir.path.join("ct"))?,
            |path, key| {
                let key = key.map(TokenKey::external);
                signet_ct::CtLog::open_with_key(
                    path,
                    &dir.database,
                    &ct_origin,
                    vec![ca_root.clone()],
                    unix_now(),
                    key.as_ref(),
                )
                .context("cannot open the certificate transparency log")
            },
        )?;
        // After rotations (rotation.rs) the last shard logs new certificates; the earlier
        // ones stay read-only.
        let shards = dir.ct_shards(first, &public_url, &ca_root, &keys.ct)?;
        let current = shards.len() - 1;
        for (i, shard) in shards.iter().enumerate() {
            health_logs.push((
                rotation::ct_shard_path(shard.number)
                    .trim_start_matches('/')
                    .to_string(),
                shard.log.appender().clone(),
            ));
            let mut router = signet_ct::router(shard.log.clone());
            if i != current {
                let end = shard
                    .entry
                    .public_key
                    .valid_for
                    .as_ref()
                    .and_then(|v| v.end.as_ref());
                router = rotation::read_only(router, &shards[current].url, end.map(|t| t.unix_seconds()));
            }
            app = app.nest(&rotation::ct_shard_path(shard.number), router);
            if !args.no_search_index {
                indexes.ct(&shard.dir, &shard.log, shard.number)?;
                let name = match shard.number {
                    1 => "ct".to_string(),
                    n => format!("ct-shard-{n}"),
                };
                let format = signet_index::LogFormat::Ct;
                let log = explorer::ExplorerLog::new(
                    name,
                    format,
                    &shard.dir,
                    shard.log.store_location(),
                    shard.log.log_id(),
                );
                explorer_logs.push(log);
            }
            eprintln!(
                "signet: certificate transparency log at {}{}",
                shard.url,
                if i == current { "" } else { " (read-only)" }
            );
        }
        let ct = shards[current].log.clone();
        if selected.ca {
            let tokens = token_verifier(args.oidc_config.as_deref(), dev_oidc.as_deref())?;
            let ca = Arc::new(signet_ca::Ca::new(ca_chain, tokens, ct.clone()));
            app = app.merge(signet_ca::router(ca.clone()));
            eprintln!("signet: certificate authority at {public_url} (Fulcio API v2)");
            trust.ca = Some(ca_entries);
        }
        trust.ct = shards.into_iter().rev().map(|s| s.entry).collect();
    }

    // Every token key given must be some generation's.
    for (runs, service_keys) in [
        (selected.log, &keys.log),
        (selected.ct, &keys.ct),
        (selected.ct, &keys.ca),
        (selected.tsa, &keys.tsa),
    ] {
        if runs {
            service_keys.check_all_used()?;
        }
    }
    if !args.no_search_index {
        app = app.merge(indexes.all_logs_router());
    }
    if !args.no_explorer && !explorer_logs.is_empty() {
        app = app.merge(explorer::start(&dir.path, &explorer_logs)?);
        eprintln!("signet: web explorer at {public_url}{}/", signet_explorer::BASE);
    }
    dir.write_trust_files(&trust)?;
    // The same trust files, published over TUF for clients that bootstrap from a root.json.
    let tuf = Arc::new(
        dir.keyed_service("tuf", "keys/root.pem", keys.tuf.as_ref(), |path, key| {
            tuf_repo::TufRepo::open_with_key(path, key.map(|k| k.signer.clone()))
        })?,
    );
    // Front ends sharing one database must publish under the same TUF root keys (issue 16).
    let root_keys = tuf.root_key_ids()?;
    dir.pin("service.tuf.root_keyids", &root_keys, |stored| {
        format!("the TUF root keys here ({root_keys}) are not the ones the database recorded ({stored}): refusing to start a front end with other keys; copy the first front end's data directory")
    })?;
    let publish = {
        let tuf = tuf.clone();
        let data = dir.path.clone();
        move || -> anyhow::Result<()> {
            let trusted_root =
                fs::read(data.join("trusted_root.json")).context("reading trusted_root.json")?;
            let signing_config =
                fs::read(data.join("signing_config.json")).context("reading signing_config.json")?;
            tuf.publish(&trusted_root, &signing_config, unix_now())
                .context("cannot publish the TUF repository")
        }
    };
    publish()?;
    app = app.nest(TUF_PREFIX, tuf_repo::router(tuf.clone()));
    eprintln!(
        "signet: TUF repository at {public_url}{TUF_PREFIX} (root: {})",
        tuf.root_path().display()
    );
    // The timestamp lives a week: re-sign it while the server runs.
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(tuf_repo::REFRESH_INTERVAL);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let publish = publish.clone();
            match tokio::task::spawn_blocking(publish).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("{e:#}"),
                Err(e) => tracing::error!("the TUF publisher failed: {e}"),
            }
        }
    });
    // Issue 16: at a graceful shutdown each log's integrator lease is given up (below).
    let leases: Vec<_> = health_logs.iter().map(|(_, a)| a.lease().clone()).collect();
    let app = app
        .route("/healthz", database::health_route(&dir.database, health_logs))
        .layer(axum::middleware::from_fn(linger::drain_unread_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(request_tracing());
    let app = rotation::host_routes(app, shard_hosts);

    let shutdown = shutdown_signal();
    println!("listening on {scheme}://{addr}");
    print_next_steps(&dir.path, &public_url, trust.ca.is_some() && dev_oidc.is_some());
    let _ = std::io::stdout().flush();

    serve::serve(listener, tls, app, shutdown).await?;
    // In-flight requests are answered: hand integration over to another front end now
    // rather than after the lease's lifetime (a no-op for a log on SQLite).
    for lease in leases {
        let released = tokio::task::spawn_blocking(move || lease.release(LEASE_RELEASE_TIMEOUT)).await;
        if !matches!(released, Ok(true)) {
            eprintln!("signet: could not give an integrator lease up; it expires by itself");
        }
    }
    for appender in appenders {
        appender.close();
    }
    drop(indexes);
    eprintln!("signet: stopped");
    Ok(())
}

type HttpRequest = axum::http::Request<axum::body::Body>;
type HttpResponse = axum::http::Response<axum::body::Body>;
/// The layer [`request_tracing`] builds: `TraceLayer` with plain functions, so the type can
/// be named and nothing is boxed.
type RequestTracing = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&HttpRequest) -> tracing::Span,
    (),
    fn(&HttpResponse, std::time::Duration, &tracing::Span),
    (),
    (),
    (),
>;

/// One `request` span per HTTP request, with `method`, `path` (the route template, e.g.
/// `/rekor/tile/{*path}`, or `unmatched`; never the raw path or query, which carry whatever a
/// client sends), and, once answered, `status` and `latency_us` (microseconds). Headers and
/// bodies are never recorded (tokens, keys). The span is INFO so that its fields show on the
/// completion event, which is DEBUG for 1xx-3xx, INFO for 4xx and WARN for 5xx: at the default
/// filter a busy log prints nothing per successful request.
fn request_tracing() -> RequestTracing {
    fn make_span(request: &HttpRequest) -> tracing::Span {
        let path = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("unmatched", |p| p.as_str());
        tracing::info_span!(
            "request",
            method = %request.method(),
            path,
            status = tracing::field::Empty,
            latency_us = tracing::field::Empty,
        )
    }
    fn on_response(response: &HttpResponse, latency: std::time::Duration, span: &tracing::Span) {
        let status = response.status().as_u16();
        span.record("status", status);
        span.record(
            "latency_us",
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        );
        match status {
            500.. => tracing::warn!("request failed"),
            400..=499 => tracing::info!("request refused"),
            _ => tracing::debug!("request served"),
        }
    }
    tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(make_span as fn(&_) -> _)
        .on_request(())
        .on_response(on_response as fn(&_, _, &_))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// What a user needs next: where the trust material is, and commands to copy.
fn print_next_steps(dir: &Path, public_url: &str, keyless_ready: bool) {
    let trust_config = dir.join("trust_config.json");
    eprintln!("signet: trust config for clients: {}", trust_config.display());
    if keyless_ready {
        eprintln!("signet: sign and verify a file keylessly against this server:");
        eprintln!(
            "  export SIGSTORE_ID_TOKEN=$(signet dev-token --server {public_url} --email you@example.com)"
        );
        eprintln!(
            "  signet sign-blob --trust-config {} --bundle FILE.sigstore.json FILE",
            trust_config.display()
        );
        eprintln!(
            "  signet verify-blob --trust-config {} --bundle FILE.sigstore.json --certificate-identity you@example.com --certificate-oidc-issuer {public_url}{DEV_OIDC_PREFIX} FILE",
            trust_config.display()
        );
    }
}

/// Longest a graceful shutdown waits for the database to record a log's lease given up.
const LEASE_RELEASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Resolves at SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled: call it before announcing the listener, so that a signal sent as
/// soon as the address is known finds them (the default action would kill the process).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (interrupt, terminate) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = wait(interrupt) => {}, _ = wait(terminate) => {} }
        eprintln!("signet: shutting down; finishing in-flight requests");
    }
}

/// A service key in a PKCS#11 token, opened at start.
struct TokenKey {
    signer: Arc<dyn Signer>,
    /// The URI without its PIN, for messages.
    uri: String,
}

impl TokenKey {
    /// The key as a keyed log (CT, Rekor v1) takes it.
    fn external(&self) -> signet_log::keyed::ExternalKey {
        signet_log::keyed::ExternalKey {
            signer: self.signer.clone(),
            name: self.uri.clone(),
        }
    }
}

/// The `--*-key-uri` keys: each opened (module loaded, token found, logged in, key proved)
/// before anything is created, so a wrong PIN or an absent token stops the start cleanly. The
/// rotatable services take several, one per generation whose key is in a token.
struct TokenKeys {
    ca: ServiceKeys,
    ct: ServiceKeys,
    log: ServiceKeys,
    rekor1: Option<TokenKey>,
    tsa: ServiceKeys,
    tuf: Option<TokenKey>,
}

/// A rotatable service's token keys, and which of them a generation took.
struct ServiceKeys {
    flag: &'static str,
    keys: Vec<TokenKey>,
    used: std::sync::Mutex<Vec<bool>>,
}

impl TokenKeys {
    fn open(args: &ServerArgs) -> anyhow::Result<TokenKeys> {
        let open = |flag: &str, uri: &str| -> anyhow::Result<TokenKey> {
            let signer = signet_pkcs11::Pkcs11Signer::open_uri(uri).with_context(|| format!("--{flag}"))?;
            let uri = signer.uri().to_string();
            eprintln!(
                "signet: {flag}: {} key in a PKCS#11 token ({uri})",
                signer.public_key().kind()
            );
            Ok(TokenKey {
                signer: Arc::new(signer),
                uri,
            })
        };
        let one = |flag: &str, uri: &Option<String>| uri.as_deref().map(|u| open(flag, u)).transpose();
        let many = |flag: &'static str, uris: &[String]| -> anyhow::Result<ServiceKeys> {
            let keys = uris
                .iter()
                .map(|u| open(flag, u))
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(ServiceKeys {
                flag,
                used: std::sync::Mutex::new(vec![false; keys.len()]),
                keys,
            })
        };
        Ok(TokenKeys {
            ca: many("ca-key-uri", &args.ca_key_uri)?,
            ct: many("ct-key-uri", &args.ct_key_uri)?,
            log: many("log-key-uri", &args.log_key_uri)?,
            rekor1: one("rekor1-key-uri", &args.rekor1_key_uri)?,
            tsa: many("tsa-key-uri", &args.tsa_key_uri)?,
            tuf: one("tuf-key-uri", &args.tuf_key_uri)?,
        })
    }
}

impl ServiceKeys {
    /// The key whose public half is `public`, marked used.
    fn find(&self, public: &signet_crypto::PublicKey) -> Option<&TokenKey> {
        let i = self.keys.iter().position(|k| k.signer.public_key() == public)?;
        if let Ok(mut used) = self.used.lock() {
            used[i] = true;
        }
        Some(&self.keys[i])
    }

    /// The key of the generation whose directory is `dir`: the one whose public half the
    /// directory recorded ([`TOKEN_KEY_MARKER`]); none for a key-file generation; on first
    /// start (`dir` not made yet) the only key given, if any.
    fn for_dir(&self, dir: &Path) -> anyhow::Result<Option<&TokenKey>> {
        let marker = dir.join(TOKEN_KEY_MARKER);
        match fs::read_to_string(&marker) {
            Ok(pem) => {
                let public = signet_crypto::PublicKey::from_pem(&pem)
                    .with_context(|| format!("{} is damaged", marker.display()))?;
                let key = self.find(&public).with_context(|| {
                    let given = match self.keys.is_empty() {
                        true => "none was given".to_string(),
                        false => {
                            let uris: Vec<&str> = self.keys.iter().map(|k| k.uri.as_str()).collect();
                            format!("{} is not it", uris.join(", "))
                        }
                    };
                    format!(
                        "{}: this key is in a PKCS#11 token and --{} must give it ({given}; its public key is in {}): refusing to start",
                        dir.display(),
                        self.flag,
                        marker.display()
                    )
                })?;
                Ok(Some(key))
            }
            Err(_) if dir.exists() => Ok(None),
            Err(_) => self.first(),
        }
    }

    /// On a service's first start: the only key given, if any.
    fn first(&self) -> anyhow::Result<Option<&TokenKey>> {
        match self.keys.len() {
            0 => Ok(None),
            1 => Ok(self.find(self.keys[0].signer.public_key())),
            n => bail!(
                "--{} is given {n} times for a service that starts for the first time: give one",
                self.flag
            ),
        }
    }

    /// Refuses a key no generation took (a typo, or a key file where a token key was meant).
    fn check_all_used(&self) -> anyhow::Result<()> {
        let used = self
            .used
            .lock()
            .map_err(|_| anyhow::anyhow!("key bookkeeping poisoned"))?;
        if let Some(i) = used.iter().position(|u| !u) {
            bail!(
                "--{} {}: no generation of this service has that key (their directories hold key files or other keys): refusing to start",
                self.flag,
                self.keys[i].uri
            );
        }
        Ok(())
    }
}

/// The first Rekor v2 log's token key: the one whose key ID the database pinned, or on first
/// start the only one given; none when the log has a key file.
fn first_log_token<'a>(
    keys: &'a ServiceKeys,
    data: &Path,
    database: &Database,
) -> anyhow::Result<Option<&'a TokenKey>> {
    if data.join(LOG_KEY_FILE).exists() {
        return Ok(None);
    }
    let location = database.location(data.join(DB_FILE), PG_SCHEMA);
    if !location.exists()? {
        return keys.first();
    }
    let Some(pinned) = location.open(false)?.meta("log.key_id")? else {
        return keys.first();
    };
    let public = keys
        .keys
        .iter()
        .map(|k| k.signer.public_key())
        .find(|p| hex::encode(signet_crypto::sha256(p.spki_der())) == pinned)
        .cloned();
    Ok(public.and_then(|p| keys.find(&p)))
}

/// In a service directory whose key is in a token: its public key, written at first start and
/// compared at each later one (so another token key is refused), and the marker that the
/// directory is complete.
pub(crate) const TOKEN_KEY_MARKER: &str = "token-public.pem";

/// An opened, locked data directory.
struct DataDir {
    path: PathBuf,
    _lock: File,
    log_key: Arc<dyn Signer>,
    origin: String,
    created: String,
    database: Database,
    /// The Rekor v2 log's store, which also holds the server's metadata.
    location: StoreLocation,
}

impl DataDir {
    fn open(
        path: &Path,
        log_url: &str,
        database: Database,
        token: Option<&TokenKey>,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path.join("signet.lock"))
            .with_context(|| format!("cannot open lock file in {}", path.display()))?;
        lock.try_lock_exclusive().map_err(|_| {
            anyhow::anyhow!(
                "data directory {} is in use by another signet server",
                path.display()
            )
        })?;

        let location = database.location(path.join(DB_FILE), PG_SCHEMA);
        let db_path = location.to_string();
        let key_path = path.join(LOG_KEY_FILE);
        if let Some(token) = token {
            // Rekor v2 checkpoints are Ed25519 signed notes (the key type is fixed).
            if token.signer.public_key().kind() != KeyKind::Ed25519 {
                bail!(
                    "--log-key-uri {}: is a {} key; the transparency log signs its checkpoints with Ed25519",
                    token.uri,
                    token.signer.public_key().kind()
                );
            }
        }
        // With a token key there is no key file: the database's pinned key ID decides.
        let key_name = token.map_or_else(|| key_path.display().to_string(), |t| t.uri.clone());
        let has_key_file = token.is_some() || key_path.exists();
        let (log_key, mut store): (Arc<dyn Signer>, _) = match (location.exists()?, has_key_file) {
            (false, _) if token.is_some() || !has_key_file => {
                eprintln!("signet: first start: creating {}", path.display());
                let key: Arc<dyn Signer> = match token {
                    Some(t) => t.signer.clone(),
                    None => {
                        let key = SigningKey::generate(KeyKind::Ed25519)?;
                        write_secret(&key_path, key.to_pkcs8_pem().as_bytes())?;
                        Arc::new(key)
                    }
                };
                let mut store = location.open(true)?;
                let origin = log_origin_from_url(log_url)?;
                store.set_meta("log.origin", &origin)?;
                store.set_meta("log.created", Timestamp::from_unix(unix_now()).as_str())?;
                (key, store)
            }
            (true, true) => {
                let key: Arc<dyn Signer> = match token {
                    Some(t) => t.signer.clone(),
                    None => {
                        let pem = fs::read_to_string(&key_path)
                            .with_context(|| format!("cannot read the log key {}", key_path.display()))?;
                        Arc::new(
                            SigningKey::from_pkcs8_pem(&pem)
                                .with_context(|| format!("the log key {} is damaged", key_path.display()))?,
                        )
                    }
                };
                let store = location
                    .open(false)
                    .with_context(|| format!("cannot open {db_path}"))?;
                (key, store)
            }
            (true, false) => bail!(
                "{db_path} exists but the log key {} is missing (or, if it is in a PKCS#11 token, no --log-key-uri is its key): refusing to start (a new key would fork the log)",
                key_path.display()
            ),
            (false, _) => bail!(
                "the log key {} exists but the database {db_path} is missing: refusing to start on a half-written data directory",
                key_path.display()
            ),
        };
        let origin = store
            .meta("log.origin")?
            .with_context(|| format!("{db_path} has no log origin: half-written data directory"))?;
        let created = store.meta("log.created")?.unwrap_or_default();
        // The log key is pinned in the database: a front end (or a restored data directory)
        // holding another key would sign a second log under the same name.
        let key_id = hex::encode(signet_crypto::sha256(log_key.public_key().spki_der()));
        match store.meta("log.key_id")? {
            Some(stored) if stored != key_id => bail!(
                "the log key {key_name} is not the key the log in {db_path} was created with (SHA-256 of its public key {stored}): refusing to start"
            ),
            Some(_) => {}
            // First start, or a data directory from before the key was pinned.
            None => store.set_meta("log.key_id", &key_id)?,
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
            log_key,
            origin,
            created,
            database,
            location,
        })
    }

    fn store(&self, create: bool) -> anyhow::Result<Box<dyn LogStore>> {
        self.location.open(create).context("cannot open the database")
    }

    /// Opens (or on first start creates) the service whose files live in `<data dir>/<name>`.
    /// The first creation is recorded in the database, so a later start that finds the
    /// directory gone (its `marker` file missing) refuses instead of generating new keys that
    /// would silently replace what clients already trust.
    fn service<T>(
        &self,
        name: &str,
        marker: &str,
        open: impl FnOnce(&Path) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let path = self.path.join(name);
        let key = format!("service.{name}.created");
        let mut store = self.store(false)?;
        let created = store.meta(&key)?.is_some();
        if created && !path.join(marker).exists() {
            bail!(
                "{} was created by an earlier start but {} is missing: refusing to start, because new keys would replace the ones clients trust; restore it from a backup",
                path.display(),
                path.join(marker).display()
            );
        }
        let service = open(&path)?;
        if !created {
            store.set_meta(&key, Timestamp::from_unix(unix_now()).as_str())?;
        }
        // Front ends sharing one database must issue under the same CA and TSA certificates
        // (their markers, both public): pinned in the database like the log keys.
        if matches!(name, "ca" | "tsa") {
            let pin = format!("service.{name}.sha256");
            let file = path.join(marker);
            let seen = hex::encode(signet_crypto::sha256(
                &fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?,
            ));
            self.pin(&pin, &seen, |stored| {
                format!(
                    "{} is not the certificate the database recorded for {name} (SHA-256 {stored}): refusing to start a front end with other keys; copy the first front end's data directory",
                    file.display()
                )
            })?;
        }
        Ok(service)
    }

    /// Records `seen` under `key` in the database on first use; afterwards refuses to start
    /// with another value (`refusal` says why, given the recorded one).
    fn pin(&self, key: &str, seen: &str, refusal: impl FnOnce(&str) -> String) -> anyhow::Result<()> {
        let mut store = self.store(false)?;
        match store.meta(key)? {
            Some(stored) if stored != seen => bail!("{}", refusal(&stored)),
            Some(_) => Ok(()),
            None => Ok(store.set_meta(key, seen)?),
        }
    }

    /// [`DataDir::service`] for a service whose key may be in a token: with `token`, the
    /// directory records the token key's public half ([`TOKEN_KEY_MARKER`]) and a later start
    /// with another key is refused; without, `file_marker` marks a complete directory as before.
    fn keyed_service<T>(
        &self,
        name: &str,
        file_marker: &str,
        token: Option<&TokenKey>,
        open: impl FnOnce(&Path, Option<&TokenKey>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let Some(token) = token else {
            return self.service(name, file_marker, |path| open(path, None));
        };
        let marker = self.path.join(name).join(TOKEN_KEY_MARKER);
        let pem = token.signer.public_key().to_pem();
        if let Ok(recorded) = fs::read_to_string(&marker) {
            if recorded != pem {
                bail!(
                    "{}: is not the key {name} was created with (its public key is in {}): refusing to start",
                    token.uri,
                    marker.display()
                );
            }
        }
        self.service(name, TOKEN_KEY_MARKER, |path| {
            let service = open(path, Some(token))?;
            write_atomic(&marker, pem.as_bytes(), 0o644)?;
            Ok(service)
        })
    }

    /// The checkpoint origin stored under `key`, or on first use the one made from `url`
    /// (then stored): a log's origin never changes once it has signed a checkpoint.
    fn fixed_origin(&self, key: &str, url: &str) -> anyhow::Result<String> {
        let mut store = self.store(false)?;
        if let Some(origin) = store.meta(key)? {
            return Ok(origin);
        }
        let origin = origin_from_url(url)?;
        store.set_meta(key, &origin)?;
        Ok(origin)
    }

    /// Writes trusted_root.json and signing_config.json naming this server's services, and
    /// the ClientTrustConfig that joins them (`trust_config.json`, for `--trust-config`).
    fn write_trust_files(&self, t: &TrustFiles<'_>) -> anyhow::Result<()> {
        let created = Timestamp::parse(&self.created)
            .map_err(|e| anyhow::anyhow!("stored creation time {:?} is damaged: {e:?}", self.created))?;
        let service = |url: &str, version: u32, start: Option<Timestamp>| Service {
            url: url.to_string(),
            major_api_version: version,
            valid_for: start.map(TimeRange::starting),
            operator: "signet".into(),
        };
        let mut trusted_root = TrustedRoot::new();
        let mut signing_config = SigningConfig::new();
        // Newest shard first: clients take the first valid service.
        for shard in t.log.iter().rev() {
            trusted_root.tlogs.push(TransparencyLogInstance {
                base_url: shard.url.clone(),
                hash_algorithm: "SHA2_256".into(),
                public_key: signet_formats::common::PublicKey::new(
                    shard.key.spki_der().to_vec(),
                    shard.key.default_details(),
                    shard.valid_for.clone(),
                ),
                log_id: LogId {
                    key_id: shard.log_id.to_vec(),
                },
                checkpoint_key_id: None,
                operator: None,
            });
            signing_config.rekor_tlog_urls.push(Service {
                url: shard.url.clone(),
                major_api_version: 2,
                valid_for: Some(shard.valid_for.clone()),
                operator: "signet".into(),
            });
        }
        if !t.log.is_empty() {
            signing_config.rekor_tlog_config = Some(ServiceConfiguration {
                selector: ServiceSelector::Any,
                count: None,
            });
        }
        if let Some((v1, v1_url)) = &t.log_v1 {
            let mut entry = v1.trusted_root_entry();
            entry.base_url = v1_url.clone();
            // Same operator as the v2 log: clients that keep one log per operator take the
            // highest API version (v2) unless told to use v1 (`--rekor-version 1`).
            signing_config.rekor_tlog_urls.push(service(
                v1_url,
                1,
                entry.public_key.valid_for.as_ref().and_then(|v| v.start.clone()),
            ));
            trusted_root.tlogs.push(entry);
        }
        if let Some(entries) = &t.ca {
            for entry in entries {
                let mut entry = entry.clone();
                entry.uri = Some(t.public_url.to_string());
                trusted_root.certificate_authorities.push(entry);
            }
            // Clients join `/api/v2/signingCert` to the CA URL's origin, so it is the root URL.
            let start = entries.first().and_then(|e| e.valid_for.start.clone());
            signing_config.ca_urls.push(service(t.public_url, 1, start));
        }
        trusted_root.ctlogs.extend(t.ct.iter().cloned());
        if let Some((entries, tsa_url)) = &t.tsa {
            for entry in entries {
                let mut entry = entry.clone();
                entry.uri = Some(tsa_url.clone());
                trusted_root.timestamp_authorities.push(entry);
            }
            // Clients use a TSA URL exactly as written, so it is the full endpoint.
            let start = entries.first().and_then(|e| e.valid_for.start.clone());
            signing_config.tsa_urls.push(service(tsa_url, 1, start));
            signing_config.tsa_config = Some(ServiceConfiguration {
                selector: ServiceSelector::Any,
                count: None,
            });
        }
        if let Some(dev) = &t.dev_oidc {
            signing_config.oidc_urls.push(service(
                &dev.issuer_url(signet_devoidc::Issuer::Email),
                1,
                Some(created),
            ));
        }
        write_atomic(
            &self.path.join("trusted_root.json"),
            &trusted_root.to_json(),
            0o644,
        )?;
        write_atomic(
            &self.path.join("signing_config.json"),
            &signing_config.to_json(),
            0o644,
        )?;
        let client = ClientTrustConfig::new(trusted_root, signing_config);
        write_atomic(&self.path.join("trust_config.json"), &client.to_json(), 0o644)
    }
}

/// What the trust files describe: the services this process runs.
struct TrustFiles<'a> {
    public_url: &'a str,
    /// The Rekor v2 log's shards, oldest first (none when it does not run).
    log: Vec<rotation::ShardTrust>,
    /// The Rekor v1 log and its base URL.
    log_v1: Option<(Arc<signet_log::v1::RekorV1>, String)>,
    /// The TSA's generations' entries and its full endpoint URL.
    tsa: Option<(rotation::AuthorityEntries, String)>,
    /// The CA's generations' entries.
    ca: Option<rotation::AuthorityEntries>,
    /// The CT log's shards' entries, newest first.
    ct: Vec<TransparencyLogInstance>,
    dev_oidc: Option<Arc<signet_devoidc::DevProvider>>,
}

/// The CA's token verifier: the issuers of `--oidc-config`, plus the development provider's
/// two issuers (keys known in process) when it runs.
fn token_verifier(
    config: Option<&Path>,
    dev: Option<&signet_devoidc::DevProvider>,
) -> anyhow::Result<signet_oidc::TokenVerifier<signet_ca::CaKeys>> {
    use signet_oidc::{IssuerConfig, IssuerSet, IssuerType, KeySet};
    let mut issuers = match config {
        Some(path) => {
            let bytes =
                fs::read(path).with_context(|| format!("cannot read OIDC config {}", path.display()))?;
            IssuerSet::from_json(&bytes)
                .with_context(|| format!("OIDC config {} is invalid", path.display()))?
        }
        None => IssuerSet::new(),
    };
    let mut keys = signet_ca::CaKeys::new(signet_oidc::StaticKeys::new(), None);
    if let Some(dev) = dev {
        let jwks = dev.jwks().to_string();
        for issuer in dev.fulcio_issuers() {
            let issuer_type = IssuerType::parse(&issuer.issuer_type)
                .with_context(|| format!("development issuer type {:?} unknown", issuer.issuer_type))?;
            issuers = issuers
                .with_issuer(
                    IssuerConfig::new(issuer.issuer_url.clone(), issuer_type)
                        .with_client_id(issuer.client_id),
                )
                .context("development OpenID provider")?;
            let set = KeySet::from_jwks_json(jwks.as_bytes()).context("development OpenID provider keys")?;
            keys = keys.with_local_issuer(issuer.issuer_url, set);
        }
    }
    if issuers.issuers().next().is_none() && issuers.meta_issuers().next().is_none() {
        eprintln!(
            "signet: warning: the CA trusts no identity token issuers, so it will refuse every request; pass --oidc-config FILE, or --dev-oidc for local development"
        );
    }
    let remote = signet_oidc::HttpKeySource::new(signet_oidc::HttpKeySourceOptions::default())
        .map_err(|e| anyhow::anyhow!("cannot set up the OIDC key fetcher: {e}"))?;
    Ok(signet_oidc::TokenVerifier::new(issuers, keys.with_remote(remote)))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The checkpoint origin for a log URL: the URL without its scheme, as Rekor v2 names logs
/// by host (C2SP tlog-checkpoint: a schema-less URL).
fn origin_from_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .with_context(|| format!("public URL {url} must start with http:// or https://"))?;
    let origin = rest.trim_end_matches('/');
    if origin.is_empty() || origin.contains(char::is_whitespace) || origin.contains('+') {
        bail!("public URL {url} does not make a valid checkpoint origin");
    }
    Ok(origin.to_string())
}

/// The checkpoint origin (and signed-note name) of the Rekor v2 log at `url`: the URL's host
/// name, without port or path. sigstore-go (so cosign) verifies a Rekor v2 checkpoint under
/// `url.Hostname()` of the log's base URL and nothing else, as rekor-tiles deployments name
/// their logs (`log2025-1.rekor.sigstore.dev`). Data directories created before this kept the
/// whole URL without its scheme, which signet's verifier still accepts.
fn log_origin_from_url(url: &str) -> anyhow::Result<String> {
    origin_from_url(url)?;
    let host = signet_verify::trust::host_name(url);
    signet_tlog::check_key_name(&host)
        .map_err(|e| anyhow::anyhow!("public URL {url} has no host usable as a checkpoint origin: {e}"))?;
    Ok(host)
}

/// Writes a secret file with mode 0600, atomically.
fn write_secret(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
        fs::set_permissions(parent, fs::Permissions::from_mode(0o700))?;
    }
    write_atomic(path, data, 0o600)
}

/// Writes `path` via a temporary file and a rename, so a crash never leaves it half-written.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(mode)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(parent) = path.parent() {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}
