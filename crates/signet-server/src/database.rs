//! Which database the services keep their logs in: SQLite files in the data directory (the
//! default), or one PostgreSQL database (`--database postgres://…`) whose schemas `signet`,
//! `rekor1` and `ct` hold the Rekor v2 log (with the server's metadata), the Rekor v1 log and
//! the CT log. Also `signet db migrate`, which creates or upgrades those schemas ahead of a
//! deployment (a server does the same at start when its role may).

use std::path::PathBuf;

use anyhow::Context;
use signet_log::postgres::{PgDatabase, PgOptions};
use signet_log::storage::Database;

/// The schemas a server uses, in the order they are created.
const SCHEMAS: [&str; 3] = [crate::PG_SCHEMA, "rekor1", "ct"];

/// Where the logs are kept.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DatabaseArgs {
    /// Keep the logs in this PostgreSQL database instead of SQLite files in the data directory:
    /// a URL (`postgres://USER@HOST:PORT/DBNAME?sslmode=require`). Put the password in
    /// $PGPASSWORD or --database-password-file rather than in the URL, which `ps` shows.
    #[arg(long, alias = "database-url", env = "SIGNET_DATABASE_URL")]
    pub database: Option<String>,
    /// File holding the database password (its first line).
    #[arg(long, requires = "database", env = "SIGNET_DATABASE_PASSWORD_FILE", value_hint = clap::ValueHint::FilePath)]
    pub database_password_file: Option<PathBuf>,
    /// PEM certificates of the authorities that issue the database server's TLS certificate
    /// (default: the system's roots). The certificate and host name are always verified when
    /// TLS is used; the URL's `sslmode` (disable, prefer, require) says whether it is.
    #[arg(long, requires = "database", env = "SIGNET_DATABASE_CA_FILE", value_hint = clap::ValueHint::FilePath)]
    pub database_ca_file: Option<PathBuf>,
    /// Most connections this process opens to the database.
    #[arg(long, default_value_t = 16, requires = "database")]
    pub database_connections: usize,
    /// Milliseconds the integrator lease lasts once taken or renewed: with several front ends
    /// on one database, another takes over this long after the integrator dies.
    #[arg(long, default_value_t = 2000, requires = "database", value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub lease_ttl_ms: u64,
    /// Milliseconds between renewals of the lease by its holder (at most half of
    /// --lease-ttl-ms; the holder stops integrating at 3/4 of the lease without a renewal).
    #[arg(long, default_value_t = 500, requires = "database", value_parser = clap::value_parser!(u64).range(10..=300_000))]
    pub lease_renew_ms: u64,
}

impl DatabaseArgs {
    /// The database these flags name, checked to be reachable.
    pub fn open(&self) -> anyhow::Result<Database> {
        let Some(url) = &self.database else {
            return Ok(Database::Sqlite);
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            anyhow::bail!("--database takes a postgres:// URL (SQLite, the default, needs no flag)");
        }
        let password = match &self.database_password_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the database password file {}", path.display()))?;
                Some(text.lines().next().unwrap_or_default().to_string())
            }
            // libpq's variable, so the same environment serves psql and signet.
            None => std::env::var("PGPASSWORD").ok(),
        };
        if self.lease_renew_ms * 2 > self.lease_ttl_ms {
            anyhow::bail!(
                "--lease-renew-ms ({}) must be at most half of --lease-ttl-ms ({})",
                self.lease_renew_ms,
                self.lease_ttl_ms
            );
        }
        let db = PgDatabase::connect(&PgOptions {
            url: url.clone(),
            password,
            ca_file: self.database_ca_file.clone(),
            max_connections: self.database_connections,
            lease_ttl: Some(std::time::Duration::from_millis(self.lease_ttl_ms)),
            lease_renew: Some(std::time::Duration::from_millis(self.lease_renew_ms)),
        })
        .context("--database")?;
        db.ping()
            .with_context(|| format!("cannot reach the {}", db.describe()))?;
        Ok(Database::Postgres(db))
    }
}

/// `GET /healthz`, JSON: `{"status": "ok", "database": "sqlite"|"postgres", "can_write": …,
/// "logs": {"<log>": {"integrator": …, "lease_changes": …}}}`. With PostgreSQL, 200 only while
/// the database can be written to (reachable within 3 s and not a standby), else 503 with
/// `error` saying why, so a load balancer stops sending writes to a front end that cannot log
/// them; `integrator` says whether this front end holds that log's integrator lease (always,
/// with SQLite).
pub fn health_route(
    database: &Database,
    logs: Vec<(String, signet_log::Appender)>,
) -> axum::routing::MethodRouter {
    use axum::http::StatusCode;
    let database = database.clone();
    axum::routing::get(move || {
        let (database, logs) = (database.clone(), logs.clone());
        async move {
            let logs: serde_json::Map<String, serde_json::Value> = logs
                .iter()
                .map(|(name, appender)| {
                    let lease = appender.lease();
                    let v = serde_json::json!({
                        "integrator": lease.is_integrator(),
                        "lease_changes": lease.changes(),
                    });
                    (name.clone(), v)
                })
                .collect();
            let (kind, problem) = match &database {
                Database::Sqlite => ("sqlite", None),
                Database::Postgres(db) => {
                    let db = db.clone();
                    let check = tokio::task::spawn_blocking(move || db.can_write());
                    let problem = match tokio::time::timeout(std::time::Duration::from_secs(3), check).await {
                        Ok(Ok(Ok(true))) => None,
                        Ok(Ok(Ok(false))) => Some("database is a standby (read-only)".to_string()),
                        Ok(Ok(Err(e))) => Some(format!("database: {e}")),
                        Ok(Err(_)) | Err(_) => Some("database did not answer within 3 s".to_string()),
                    };
                    ("postgres", problem)
                }
            };
            let mut body = serde_json::json!({
                "status": if problem.is_none() { "ok" } else { "unavailable" },
                "database": kind,
                "can_write": problem.is_none(),
                "logs": logs,
            });
            let status = match problem {
                None => StatusCode::OK,
                Some(e) => {
                    body["error"] = e.into();
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            (status, axum::Json(body))
        }
    })
}

/// `signet db` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DbCommand {
    /// Create or upgrade the PostgreSQL schemas of every log (signet, rekor1, ct) to this
    /// version of signet; refuses a database written by a newer one.
    Migrate(DatabaseArgs),
}

/// Runs a `signet db` subcommand.
pub fn run_db(command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Migrate(args) => {
            let Database::Postgres(db) = args.open()? else {
                anyhow::bail!("signet db migrate needs --database postgres://… (a SQLite data directory migrates itself at start)");
            };
            // The server's schemas, and any log shards that rotations added (rotation.rs).
            let mut schemas: Vec<String> = SCHEMAS.iter().map(|s| s.to_string()).collect();
            for schema in db.log_schemas()? {
                if !schemas.contains(&schema) {
                    schemas.push(schema);
                }
            }
            for schema in &schemas {
                db.migrate(schema)
                    .with_context(|| format!("migrating schema {schema} of the {}", db.describe()))?;
            }
            println!(
                "{}: schemas {} at version {}",
                db.describe(),
                schemas.join(", "),
                signet_log::postgres::SCHEMA_VERSION
            );
            Ok(())
        }
    }
}
