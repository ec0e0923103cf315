//! The PostgreSQL storage backend: a log's tables in a schema of their own (`signet`,
//! `rekor1`, `ct`) of one PostgreSQL database, so that several services, and later several
//! front ends, share one database server.
//!
//! # Driver
//!
//! `tokio-postgres` (the rust-postgres project's asynchronous client: the wire protocol,
//! SCRAM authentication, binary parameters, pipelining) with `deadpool-postgres` for the
//! connection pool (recycles connections, opens new ones after the server restarts). `sqlx`
//! would do too, but brings its query macros, a second pool and many more crates to build;
//! we need neither. TLS to the database is rustls (the workspace's aws-lc-rs provider) through
//! the small connector at the end of this file, which verifies the server's certificate and
//! host name always (libpq's `sslmode=verify-full`) against `--database-ca-file` or the
//! system's roots; the URL's `sslmode` (`disable`, `prefer`, `require`) says whether TLS is
//! used at all.
//!
//! # A synchronous trait over an asynchronous driver
//!
//! [`LogStore`] stays synchronous. Its callers are the integrator, a thread of its own, and
//! readers on tokio's blocking pool ([`ReaderPool`]); SQLite, the default, blocks by nature, so
//! an async trait would only move its `spawn_blocking` inside every call and change the
//! appender's loop for nothing (SQLite's performance stays exactly what it was). A
//! [`PgDatabase`] owns a small tokio runtime of its own (one worker thread) that drives the
//! pool's connections; a [`PgStore`] call spawns its query there and waits on a channel. That
//! works from any thread, including a runtime's worker during start-up, where
//! `Handle::block_on` would panic, and the thread hop (microseconds) is small beside the round
//! trip to the database it waits for.
//!
//! # Durability
//!
//! `commit_batch` is one transaction: entries, tiles and the checkpoint become visible together
//! or not at all (PostgreSQL rolls back a transaction whose connection dies). Every connection
//! sets `synchronous_commit = on`, whatever the server's default, so a commit that returned is
//! in the WAL on disk and survives a crash of PostgreSQL. One case is ambiguous with any
//! networked database: the connection breaks after `COMMIT` was sent but before its answer.
//! The call then fails although the batch may be durable; the appender answers the batch's
//! requests with an error and rebuilds its tree from what the database holds, so a client that
//! retries finds its entry (deduplicated) and nothing is ever acknowledged that is not durable.
//!
//! # Never a fork
//!
//! A checkpoint is published (`commit_batch`, and [`SharedLogStore::publish`]) first in its
//! transaction, by compare-and-swap on the (size, note) this store last read or wrote
//! (`UPDATE … WHERE tree_size = $old AND note = $old_note`). The row lock that takes orders
//! concurrent writers: a second one waits, finds the row changed and writes nothing
//! ([`StorageError::Conflict`]). So whatever the processes do, the log never forks or moves back.
//!
//! # Several front ends
//!
//! Any number of front ends accept writes; exactly one integrates ([`crate::fleet`] runs the
//! threads). Per schema:
//!
//! - **Sequencing** (any front end, once per batch of its queued submissions), one
//!   transaction: `SELECT next FROM seq_coord WHERE id = 0 FOR UPDATE` (serialises
//!   sequencers), then the dedup lookup `SELECT leaf_hash, idx FROM entries WHERE leaf_hash =
//!   ANY($1)` (after the lock, so two front ends cannot both miss a duplicate), then `INSERT`
//!   the new entries at `next..next+k` (with `sequenced_at`) and `UPDATE seq_coord SET next =
//!   next + k`, and `NOTIFY signet_log, '<schema>'`. Indices come from that row, never from a
//!   `SEQUENCE`, whose `nextval` survives a rollback and leaves gaps; a failed transaction
//!   takes its `next` back with it. `entries` then holds sequenced entries beyond the
//!   checkpoint's size until they are integrated.
//! - **The lease**: a row `integrator_lease (holder, epoch, expires)`. A front end takes it
//!   with `UPDATE … SET holder = $me, epoch = epoch + 1, expires = clock_timestamp() + $ttl
//!   WHERE expires <= clock_timestamp() RETURNING epoch` and renews it (same epoch) while it
//!   has not expired; `clock_timestamp()`, not `now()`, which is the transaction's start. Not a
//!   session advisory lock: those are tied to one connection (broken by transaction-pooling
//!   proxies), carry no fencing token, and are no-ops on some PostgreSQL-compatible engines.
//! - **Integration** (the holder only): read the leaf hashes of `entries[size..next)`, append
//!   them to the tree, sign the checkpoint, and publish in one transaction that first checks
//!   `SELECT 1 FROM integrator_lease WHERE holder = $me AND epoch = $my_epoch AND expires >
//!   clock_timestamp() FOR SHARE` (the epoch is the fencing token; `FOR SHARE` keeps a taker
//!   waiting until this transaction ends, so the lease cannot change hands between the check
//!   and the commit), then compare-and-swaps the checkpoint, writes the changed tiles
//!   (deterministic: a successor rewrites the same bytes) and `NOTIFY`s (delivered on commit).
//!   A former integrator that was paused past its lease (SIGSTOP, a long stall) and wakes up
//!   publishes nothing ([`StorageError::Fenced`]).
//! - **Answering**: the front end that sequenced entry *i* answers when a committed checkpoint
//!   has size > *i* (woken by one `LISTEN` connection per process, or by polling the
//!   checkpoint row), with a proof from the tiles of that checkpoint, whichever process
//!   integrated it; the entry was durable since its sequencing transaction committed.
//! - **Reads**: full tiles never change, so each front end caches them in memory; only the
//!   right edge is read from the database ([`FullTileCache`], on every reader pool and on the
//!   store that proves inclusion for a front end that does not integrate).
//! - **Agreement**: front ends refuse to start when their keys or origins differ from what the
//!   database recorded (the three logs' keys and origins; the CA and TSA certificates).
//!
//! SQLite runs both halves in one process and one transaction per batch, under a lease it
//! always holds ([`LogStore::shared`] is `None` there), as before.
//!
//! # Schema
//!
//! Each schema has a `schema_version` table (one row) and a `store_created` row written when a
//! server first opens it to create a log (so a schema that `signet db migrate` prepared reads as
//! no log yet, as a missing SQLite file does). A new schema is created, and an older
//! one migrated, in one transaction holding a transaction-scoped advisory lock, so front ends
//! starting together cannot race; a schema newer than [`SCHEMA_VERSION`] is refused, as the
//! SQLite backend refuses a newer `user_version`.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use signet_tlog::Hash;
use tokio_postgres::error::SqlState;

use crate::storage::{
    Batch, LeaseConfig, LogStore, ReaderPool, SharedLogStore, SharedStatus, StorageError, Wakeup,
};

/// The schema version this build writes. A schema with a higher version is refused.
pub const SCHEMA_VERSION: i32 = 2;

/// The channel every store's notifications go on; the payload is the schema.
const CHANNEL: &str = "signet_log";

/// How to reach the database.
#[derive(Debug, Clone, Default)]
pub struct PgOptions {
    /// A libpq-style URL or key-value string: `postgres://user@host:port/dbname?sslmode=require`.
    pub url: String,
    /// The password, when the URL has none (from `PGPASSWORD` or a password file).
    pub password: Option<String>,
    /// PEM file of the certificate authorities to trust for TLS to the database (default: the
    /// system's roots).
    pub ca_file: Option<std::path::PathBuf>,
    /// Most connections this process opens.
    pub max_connections: usize,
    /// How long the integrator lease lasts once taken or renewed (default 2 s).
    pub lease_ttl: Option<Duration>,
    /// How often its holder renews it (default 500 ms).
    pub lease_renew: Option<Duration>,
}

/// A connection pool to one PostgreSQL database, and the runtime that drives it. Shared by
/// every store of a process.
pub struct PgDatabase {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    pool: deadpool_postgres::Pool,
    /// Host and database name, for messages (never the password).
    describe: String,
    /// For the connection that LISTENs (outside the pool: it is held for good).
    listen_config: tokio_postgres::Config,
    tls: tls::RustlsConnect,
    /// Per schema, what a notification on [`CHANNEL`] wakes; the listener starts with the first.
    wakeups: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Wakeup>>>>,
    lease: LeaseConfig,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgDatabase({})", self.describe)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime; stop it without waiting.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn db_err(e: tokio_postgres::Error) -> StorageError {
    StorageError::Database(match e.as_db_error() {
        Some(db) => format!("PostgreSQL {}: {}", db.code().code(), db.message()),
        None => match std::error::Error::source(&e) {
            Some(source) => format!("PostgreSQL: {e}: {source}"),
            None => format!("PostgreSQL: {e}"),
        },
    })
}

fn pool_err(e: deadpool_postgres::PoolError) -> StorageError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db_err(e),
        other => StorageError::Database(format!("PostgreSQL connection pool: {other}")),
    }
}

/// A schema name is spliced into SQL, so it is checked, never quoted from arbitrary input.
fn check_schema(schema: &str) -> Result<(), StorageError> {
    let ok = !schema.is_empty()
        && schema.len() <= 48
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StorageError::Database(format!(
            "{schema:?} is not a usable schema name (lower-case letters, digits, _)"
        )))
    }
}

impl PgDatabase {
    /// Opens a pool to the database `options` name. No connection is made until first use;
    /// [`PgDatabase::ping`] checks that one can be.
    pub fn connect(options: &PgOptions) -> Result<Arc<PgDatabase>, StorageError> {
        let mut config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e| StorageError::Database(format!("database URL: {e}")))?;
        if config.get_password().is_none() {
            if let Some(password) = &options.password {
                config.password(password.as_bytes());
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("signet");
        }
        // Acknowledged means durable, whatever the server's default; and no NOTICEs (the
        // migrations' `IF NOT EXISTS`) in the server's log. A front end paused (SIGSTOP, a
        // stall) in the middle of a transaction would hold the sequencing row or the lease row
        // and stop every other front end: the server ends a session idle in a transaction for
        // 1 s (its transaction rolls back; nothing of it was acknowledged).
        let ours = "-c synchronous_commit=on -c client_min_messages=warning -c idle_in_transaction_session_timeout=1000";
        let options_line = match config.get_options() {
            Some(o) => format!("{o} {ours}"),
            None => ours.to_string(),
        };
        config.options(options_line);
        let describe = describe(&config);
        let tls = tls::RustlsConnect::new(options.ca_file.as_deref())?;
        let listen_config = config.clone();
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tls.clone(),
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("signet-postgres")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Database(format!("starting the PostgreSQL runtime: {e}")))?;
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(options.max_connections.max(2))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StorageError::Database(format!("PostgreSQL connection pool: {e}")))?;
        Ok(Arc::new(PgDatabase {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            pool,
            describe,
            listen_config,
            tls,
            wakeups: Default::default(),
            lease: LeaseConfig {
                holder: holder_name(),
                ttl: options.lease_ttl.unwrap_or(DEFAULT_LEASE_TTL),
                renew: options.lease_renew.unwrap_or(DEFAULT_LEASE_RENEW),
            },
        }))
    }

    /// What wakes the threads of `schema`'s log: a notification from any front end (through
    /// one LISTEN connection per process, started on first use, reconnected when lost).
    fn wakeup(&self, schema: &str) -> Arc<Wakeup> {
        let mut wakeups = self.wakeups.lock().unwrap_or_else(|p| p.into_inner());
        if wakeups.is_empty() {
            self.handle.spawn(listen(
                self.listen_config.clone(),
                self.tls.clone(),
                self.wakeups.clone(),
            ));
        }
        wakeups.entry(schema.to_string()).or_default().clone()
    }

    /// Runs `f` on the database's runtime and waits for it, from any thread.
    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T, StorageError>> + Send + 'static,
    ) -> Result<T, StorageError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| StorageError::Database("the PostgreSQL runtime stopped".into()))?
    }

    /// Checks that a connection can be made and used.
    pub fn ping(&self) -> Result<(), StorageError> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_err)?;
            client.simple_query("SELECT 1").await.map_err(db_err)?;
            Ok(())
        })
    }

    /// Whether the database takes writes now: reachable, and a primary rather than a standby
    /// in recovery (a failover in progress).
    pub fn can_write(&self) -> Result<bool, StorageError> {
        let pool = self.pool.clone();
        self.run(async move {
            let client = pool.get().await.map_err(pool_err)?;
            let row = client
                .query_one("SELECT NOT pg_is_in_recovery()", &[])
                .await
                .map_err(db_err)?;
            Ok(row.get(0))
        })
    }

    /// Host and database name, for messages.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Whether `schema` holds a log store: one was opened with `create`. A schema that
    /// `signet db migrate` made ready but no server has used yet holds none.
    pub fn has_store(&self, schema: &str) -> Result<bool, StorageError> {
        check_schema(schema)?;
        let pool = self.pool.clone();
        let schema = schema.to_string();
        self.run(async move {
            let client = pool.get().await.map_err(pool_err)?;
            let migrated: bool = client
                .query_one(
                    "SELECT to_regclass(quote_ident($1) || '.store_created') IS NOT NULL",
                    &[&schema],
                )
                .await
                .map_err(db_err)?
                .get(0);
            if !migrated {
                return Ok(false);
            }
            let created = client
                .query_opt(&format!("SELECT 1 FROM {schema}.store_created WHERE id = 0"), &[])
                .await
                .map_err(db_err)?;
            Ok(created.is_some())
        })
    }

    /// Creates or migrates `schema`'s tables; refuses a schema from a newer signet.
    pub fn migrate(&self, schema: &str) -> Result<(), StorageError> {
        check_schema(schema)?;
        let pool = self.pool.clone();
        let schema = schema.to_string();
        self.run(async move {
            let mut client = pool.get().await.map_err(pool_err)?;
            // Up to date already: no DDL, so a role without CREATE rights can run the server on
            // a database `signet db migrate` prepared.
            let current = client
                .query_one(
                    "SELECT to_regclass(quote_ident($1) || '.schema_version') IS NOT NULL",
                    &[&schema],
                )
                .await
                .map_err(db_err)?
                .get::<_, bool>(0);
            if current {
                let version: Option<i32> = client
                    .query_opt(
                        &format!("SELECT version FROM {schema}.schema_version WHERE id = 0"),
                        &[],
                    )
                    .await
                    .map_err(db_err)?
                    .map(|r| r.get(0));
                match version {
                    Some(v) if v > SCHEMA_VERSION => {
                        return Err(StorageError::NewerSchema {
                            found: v.into(),
                            known: SCHEMA_VERSION.into(),
                        })
                    }
                    Some(SCHEMA_VERSION) => return Ok(()),
                    _ => {}
                }
            }
            let tx = client.transaction().await.map_err(db_err)?;
            // Serialises concurrent first starts; released at the end of the transaction (a
            // transaction-scoped lock survives connection poolers, unlike a session lock).
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('signet.migrate.' || $1::text))",
                &[&schema],
            )
            .await
            .map_err(db_err)?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema};
                 CREATE TABLE IF NOT EXISTS {schema}.schema_version (
                     id INTEGER PRIMARY KEY CHECK (id = 0),
                     version INTEGER NOT NULL);"
            ))
            .await
            .map_err(db_err)?;
            let found: Option<i32> = tx
                .query_opt(
                    &format!("SELECT version FROM {schema}.schema_version WHERE id = 0"),
                    &[],
                )
                .await
                .map_err(db_err)?
                .map(|r| r.get(0));
            let found = found.unwrap_or(0);
            if found > SCHEMA_VERSION {
                return Err(StorageError::NewerSchema {
                    found: found.into(),
                    known: SCHEMA_VERSION.into(),
                });
            }
            if found < 1 {
                tx.batch_execute(&format!(
                    "CREATE TABLE {schema}.entries (
                         idx BIGINT PRIMARY KEY,
                         leaf_hash BYTEA NOT NULL UNIQUE,
                         body BYTEA NOT NULL);
                     CREATE TABLE {schema}.tiles (
                         level SMALLINT NOT NULL,
                         idx BIGINT NOT NULL,
                         hashes BYTEA NOT NULL,
                         PRIMARY KEY (level, idx));
                     CREATE TABLE {schema}.checkpoint (
                         id INTEGER PRIMARY KEY CHECK (id = 0),
                         tree_size BIGINT NOT NULL,
                         note TEXT NOT NULL);
                     CREATE TABLE {schema}.meta (
                         key TEXT PRIMARY KEY,
                         value TEXT NOT NULL);
                     CREATE TABLE {schema}.store_created (
                         id INTEGER PRIMARY KEY CHECK (id = 0),
                         at TIMESTAMPTZ NOT NULL);
                     INSERT INTO {schema}.schema_version (id, version) VALUES (0, 1)
                         ON CONFLICT (id) DO UPDATE SET version = 1;"
                ))
                .await
                .map_err(db_err)?;
            }
            if found < 2 {
                // Several front ends: the sequencing row (the next index; a SEQUENCE would
                // leave gaps on rollback), the integrator lease, and when each entry was
                // sequenced (for the integration lag).
                tx.batch_execute(&format!(
                    "ALTER TABLE {schema}.entries ADD COLUMN IF NOT EXISTS sequenced_at TIMESTAMPTZ;
                     CREATE TABLE IF NOT EXISTS {schema}.seq_coord (
                         id INTEGER PRIMARY KEY CHECK (id = 0),
                         next BIGINT NOT NULL);
                     INSERT INTO {schema}.seq_coord (id, next)
                         SELECT 0, COALESCE(MAX(idx) + 1, 0) FROM {schema}.entries
                         ON CONFLICT (id) DO NOTHING;
                     CREATE TABLE IF NOT EXISTS {schema}.integrator_lease (
                         id INTEGER PRIMARY KEY CHECK (id = 0),
                         holder TEXT NOT NULL,
                         epoch BIGINT NOT NULL,
                         expires TIMESTAMPTZ NOT NULL);
                     INSERT INTO {schema}.integrator_lease (id, holder, epoch, expires)
                         VALUES (0, '', 0, '-infinity') ON CONFLICT (id) DO NOTHING;
                     UPDATE {schema}.schema_version SET version = 2 WHERE id = 0;"
                ))
                .await
                .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    /// A store over `schema`: migrated (created if `create`), or an error when the schema
    /// holds no log and `create` is false.
    pub fn store(self: &Arc<Self>, schema: &str, create: bool) -> Result<PgStore, StorageError> {
        check_schema(schema)?;
        if !create && !self.has_store(schema)? {
            return Err(StorageError::Database(format!(
                "{} holds no log in schema {schema}",
                self.describe
            )));
        }
        self.migrate(schema)?;
        if create {
            let pool = self.pool.clone();
            let sql = format!(
                "INSERT INTO {schema}.store_created (id, at) VALUES (0, now()) ON CONFLICT (id) DO NOTHING"
            );
            self.run(async move {
                let client = pool.get().await.map_err(pool_err)?;
                client.execute(&sql, &[]).await.map_err(db_err)?;
                Ok(())
            })?;
        }
        Ok(PgStore {
            db: self.clone(),
            sql: Arc::new(Sql::new(schema)),
            schema: schema.to_string(),
            expected: None,
            tile_cache: None,
        })
    }

    /// `count` reader stores over `schema`, as a [`ReaderPool`]. They share this pool's
    /// connections and one cache of full tiles ([`FullTileCache`]).
    pub fn reader_pool(
        self: &Arc<Self>,
        schema: &str,
        count: usize,
    ) -> Result<Arc<ReaderPool>, StorageError> {
        let mut store = self.store(schema, false)?;
        store.tile_cache = Some(Arc::new(FullTileCache::new(FULL_TILE_CACHE_TILES)));
        ReaderPool::new(
            (0..count)
                .map(|_| Box::new(store.clone()) as Box<dyn LogStore>)
                .collect(),
        )
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "PostgreSQL database {} at {host}:{port}",
        config.get_dbname().unwrap_or("(default)")
    )
}

/// The statements of one schema, formatted once (the pool's connections cache their
/// prepared forms).
struct Sql {
    latest_checkpoint: String,
    find_indices: String,
    insert_entries: String,
    upsert_tiles: String,
    insert_checkpoint: String,
    swap_checkpoint: String,
    read_tile: String,
    read_entries: String,
    read_leaf_hashes: String,
    lock_next: String,
    insert_sequenced: String,
    set_next: String,
    raise_next: String,
    status: String,
    acquire_lease: String,
    renew_lease: String,
    release_lease: String,
    fence: String,
    notify: String,
    meta: String,
    set_meta: String,
    replace_meta: String,
}

impl Sql {
    fn new(s: &str) -> Sql {
        Sql {
            latest_checkpoint: format!("SELECT tree_size, note FROM {s}.checkpoint WHERE id = 0"),
            find_indices: format!("SELECT leaf_hash, idx FROM {s}.entries WHERE leaf_hash = ANY($1)"),
            insert_entries: format!(
                "INSERT INTO {s}.entries (idx, leaf_hash, body)
                 SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BYTEA[])"
            ),
            upsert_tiles: format!(
                "INSERT INTO {s}.tiles (level, idx, hashes)
                 SELECT * FROM UNNEST($1::SMALLINT[], $2::BIGINT[], $3::BYTEA[])
                 ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes"
            ),
            insert_checkpoint: format!(
                "INSERT INTO {s}.checkpoint (id, tree_size, note) VALUES (0, $1, $2)
                 ON CONFLICT (id) DO NOTHING"
            ),
            // The row lock this takes orders concurrent writers: a second one waits for the
            // first to commit, then finds the row changed and updates nothing.
            swap_checkpoint: format!(
                "UPDATE {s}.checkpoint SET tree_size = $1, note = $2
                 WHERE id = 0 AND tree_size = $3 AND note = $4"
            ),
            read_tile: format!("SELECT hashes FROM {s}.tiles WHERE level = $1 AND idx = $2"),
            read_entries: format!("SELECT body FROM {s}.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx"),
            read_leaf_hashes: format!(
                "SELECT leaf_hash FROM {s}.entries WHERE idx >= $1 AND idx < $2 ORDER BY idx"
            ),
            // Serialises sequencers; the dedup lookup after it cannot miss a concurrent twin.
            lock_next: format!("SELECT next FROM {s}.seq_coord WHERE id = 0 FOR UPDATE"),
            insert_sequenced: format!(
                "INSERT INTO {s}.entries (idx, leaf_hash, body, sequenced_at)
                 SELECT i, l, b, now() FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::BYTEA[]) AS u(i, l, b)"
            ),
            set_next: format!("UPDATE {s}.seq_coord SET next = $1 WHERE id = 0"),
            raise_next: format!("UPDATE {s}.seq_coord SET next = GREATEST(next, $1) WHERE id = 0"),
            status: format!(
                "SELECT q.next, c.tree_size, c.note,
                     (SELECT EXTRACT(EPOCH FROM clock_timestamp() - e.sequenced_at)::FLOAT8
                      FROM {s}.entries e WHERE e.idx = c.tree_size)
                 FROM {s}.seq_coord q LEFT JOIN {s}.checkpoint c ON c.id = 0 WHERE q.id = 0"
            ),
            // clock_timestamp(), not now() (the transaction's start), for every lease time.
            acquire_lease: format!(
                "UPDATE {s}.integrator_lease
                 SET holder = $1, epoch = epoch + 1, expires = clock_timestamp() + make_interval(secs => $2)
                 WHERE id = 0 AND expires <= clock_timestamp() RETURNING epoch"
            ),
            renew_lease: format!(
                "UPDATE {s}.integrator_lease SET expires = clock_timestamp() + make_interval(secs => $3)
                 WHERE id = 0 AND holder = $1 AND epoch = $2 AND expires > clock_timestamp()"
            ),
            release_lease: format!(
                "UPDATE {s}.integrator_lease SET expires = '-infinity'
                 WHERE id = 0 AND holder = $1 AND epoch = $2"
            ),
            // The fencing check: FOR SHARE keeps a taker's UPDATE waiting until this
            // transaction ends, so the lease cannot change hands between check and commit.
            fence: format!(
                "SELECT 1 FROM {s}.integrator_lease
                 WHERE id = 0 AND holder = $1 AND epoch = $2 AND expires > clock_timestamp() FOR SHARE"
            ),
            notify: format!("NOTIFY {CHANNEL}, '{s}'"),
            meta: format!("SELECT value FROM {s}.meta WHERE key = $1"),
            set_meta: format!("INSERT INTO {s}.meta (key, value) VALUES ($1, $2)"),
            replace_meta: format!(
                "INSERT INTO {s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
        }
    }
}

/// Full tiles a reader pool keeps: 8 KiB each, so at most 8 MiB per log.
const FULL_TILE_CACHE_TILES: usize = 1024;

/// Hash tiles that are full (256 hashes) never change (C2SP tlog-tiles), so readers keep them
/// in memory and only the right edge of the tree is read from the database: tile reads scale
/// with front ends, not with the database. Bounded; when full, an arbitrary tile makes room.
pub struct FullTileCache {
    tiles: std::sync::Mutex<std::collections::HashMap<(u8, u64), Vec<u8>>>,
    capacity: usize,
}

impl FullTileCache {
    const FULL: usize = 256 * 32;

    pub fn new(capacity: usize) -> FullTileCache {
        FullTileCache {
            tiles: Default::default(),
            capacity,
        }
    }

    fn get(&self, level: u8, index: u64) -> Option<Vec<u8>> {
        let tiles = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
        tiles.get(&(level, index)).cloned()
    }

    fn offer(&self, level: u8, index: u64, bytes: &[u8]) {
        if bytes.len() != Self::FULL {
            return;
        }
        let mut tiles = self.tiles.lock().unwrap_or_else(|p| p.into_inner());
        if tiles.len() >= self.capacity {
            if let Some(victim) = tiles.keys().next().copied() {
                tiles.remove(&victim);
            }
        }
        tiles.insert((level, index), bytes.to_vec());
    }
}

/// A log's store in one schema. Cheap to clone: clones share the database's pool, and each
/// call takes a connection from it for its duration.
#[derive(Clone)]
pub struct PgStore {
    db: Arc<PgDatabase>,
    sql: Arc<Sql>,
    schema: String,
    /// The checkpoint this store last read or committed: what `commit_batch` expects to
    /// replace (compare-and-swap, see [`LogStore`]).
    expected: Option<(u64, String)>,
    /// Readers' cache of full tiles (none for the writer, which keeps its own recent tiles).
    tile_cache: Option<Arc<FullTileCache>>,
}

fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Database(format!("{what} {v} does not fit a BIGINT")))
}

fn to_u64(v: i64, what: &str) -> Result<u64, StorageError> {
    u64::try_from(v).map_err(|_| StorageError::Corrupt(format!("stored {what} {v} is negative")))
}

impl PgStore {
    /// Runs `f` with a pooled connection and this store's statements.
    fn with_client<T: Send + 'static, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: for<'c> FnOnce(
                &'c mut deadpool_postgres::Object,
                &'c Sql,
            ) -> Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'c>>
            + Send
            + 'static,
    {
        let pool = self.db.pool.clone();
        let sql = self.sql.clone();
        self.db.run(async move {
            let mut client = pool.get().await.map_err(pool_err)?;
            f(&mut client, &sql).await
        })
    }
}

/// A checkpoint and the tiles it covers, as the publishing statements take them.
struct Publication {
    size: i64,
    note: String,
    /// The checkpoint it replaces (compare-and-swap), or none for a new log.
    expected: Option<(i64, String)>,
    tile_levels: Vec<i16>,
    tile_indices: Vec<i64>,
    tile_hashes: Vec<Vec<u8>>,
}

impl Publication {
    fn new(
        expected: &Option<(u64, String)>,
        tree_size: u64,
        note: &str,
        tiles: &[(u8, u64, Vec<u8>)],
    ) -> Result<Publication, StorageError> {
        Ok(Publication {
            size: to_i64(tree_size, "tree size")?,
            note: note.to_string(),
            expected: match expected {
                Some((size, note)) => Some((to_i64(*size, "tree size")?, note.clone())),
                None => None,
            },
            tile_levels: tiles.iter().map(|t| i16::from(t.0)).collect(),
            tile_indices: tiles
                .iter()
                .map(|t| to_i64(t.1, "tile index"))
                .collect::<Result<Vec<i64>, _>>()?,
            tile_hashes: tiles.iter().map(|t| t.2.clone()).collect(),
        })
    }

    /// Swaps the checkpoint in (first: a stale writer fails before writing anything else),
    /// then writes the tiles.
    async fn write(&self, tx: &deadpool_postgres::Transaction<'_>, sql: &Sql) -> Result<(), StorageError> {
        let swapped = match &self.expected {
            None => {
                let stmt = tx.prepare_cached(&sql.insert_checkpoint).await.map_err(db_err)?;
                tx.execute(&stmt, &[&self.size, &self.note])
                    .await
                    .map_err(db_err)?
            }
            Some((old_size, old_note)) => {
                let stmt = tx.prepare_cached(&sql.swap_checkpoint).await.map_err(db_err)?;
                tx.execute(&stmt, &[&self.size, &self.note, old_size, old_note])
                    .await
                    .map_err(db_err)?
            }
        };
        if swapped != 1 {
            return Err(StorageError::Conflict(format!(
                "expected size {:?}; another writer published",
                self.expected.as_ref().map(|e| e.0)
            )));
        }
        if !self.tile_levels.is_empty() {
            let stmt = tx.prepare_cached(&sql.upsert_tiles).await.map_err(db_err)?;
            tx.execute(&stmt, &[&self.tile_levels, &self.tile_indices, &self.tile_hashes])
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }
}

impl LogStore for PgStore {
    fn latest_checkpoint(&mut self) -> Result<Option<(u64, String)>, StorageError> {
        let latest = self.with_client(|c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.latest_checkpoint).await.map_err(db_err)?;
                match c.query_opt(&stmt, &[]).await.map_err(db_err)? {
                    Some(row) => Ok(Some((to_u64(row.get(0), "tree size")?, row.get(1)))),
                    None => Ok(None),
                }
            })
        })?;
        self.expected = latest.clone();
        Ok(latest)
    }

    fn find_indices(&mut self, leaf_hashes: &[Hash]) -> Result<Vec<Option<u64>>, StorageError> {
        if leaf_hashes.is_empty() {
            return Ok(vec![]);
        }
        let hashes: Vec<Vec<u8>> = leaf_hashes.iter().map(|h| h.to_vec()).collect();
        let found = self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.find_indices).await.map_err(db_err)?;
                let rows = c.query(&stmt, &[&hashes]).await.map_err(db_err)?;
                rows.iter()
                    .map(|r| Ok((r.get::<_, Vec<u8>>(0), to_u64(r.get(1), "entry index")?)))
                    .collect::<Result<std::collections::HashMap<_, _>, StorageError>>()
            })
        })?;
        Ok(leaf_hashes.iter().map(|h| found.get(&h[..]).copied()).collect())
    }

    fn commit_batch(&mut self, batch: &Batch) -> Result<(), StorageError> {
        let indices = batch
            .entries
            .iter()
            .map(|e| to_i64(e.index, "entry index"))
            .collect::<Result<Vec<i64>, _>>()?;
        let leaves: Vec<Vec<u8>> = batch.entries.iter().map(|e| e.leaf_hash.to_vec()).collect();
        let bodies: Vec<Vec<u8>> = batch.entries.iter().map(|e| e.body.clone()).collect();
        let publication = Publication::new(&self.expected, batch.tree_size, &batch.checkpoint, &batch.tiles)?;
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db_err)?;
                publication.write(&tx, sql).await?;
                if !indices.is_empty() {
                    let stmt = tx.prepare_cached(&sql.insert_entries).await.map_err(db_err)?;
                    tx.execute(&stmt, &[&indices, &leaves, &bodies])
                        .await
                        .map_err(db_err)?;
                    // Entries written here (not sequenced) move the sequencing row past them.
                    let stmt = tx.prepare_cached(&sql.raise_next).await.map_err(db_err)?;
                    tx.execute(&stmt, &[&publication.size]).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            })
        })?;
        self.expected = Some((batch.tree_size, batch.checkpoint.clone()));
        Ok(())
    }

    fn shared(&self) -> Option<Box<dyn SharedLogStore>> {
        Some(self.try_clone())
    }

    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(bytes) = self.tile_cache.as_ref().and_then(|c| c.get(level, index)) {
            return Ok(Some(bytes));
        }
        let (db_level, db_index) = (i16::from(level), to_i64(index, "tile index")?);
        let tile: Option<Vec<u8>> = self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.read_tile).await.map_err(db_err)?;
                Ok(c.query_opt(&stmt, &[&db_level, &db_index])
                    .await
                    .map_err(db_err)?
                    .map(|r| r.get(0)))
            })
        })?;
        if let (Some(cache), Some(bytes)) = (&self.tile_cache, &tile) {
            cache.offer(level, index, bytes);
        }
        Ok(tile)
    }

    fn read_entries(&mut self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StorageError> {
        let end = to_i64(start.saturating_add(count), "entry index")?;
        let start = to_i64(start, "entry index")?;
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.read_entries).await.map_err(db_err)?;
                let rows = c.query(&stmt, &[&start, &end]).await.map_err(db_err)?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        let key = key.to_string();
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.meta).await.map_err(db_err)?;
                Ok(c.query_opt(&stmt, &[&key])
                    .await
                    .map_err(db_err)?
                    .map(|r| r.get(0)))
            })
        })
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.set_meta).await.map_err(db_err)?;
                match c.execute(&stmt, &[&key, &value]).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                        Err(StorageError::Database(format!("metadata {key:?} is already set")))
                    }
                    Err(e) => Err(db_err(e)),
                }
            })
        })
    }

    fn cosigned_checkpoint(&mut self) -> Result<Option<String>, StorageError> {
        self.meta(COSIGNED_CHECKPOINT_KEY)
    }

    // A committed statement of its own (synchronous_commit=on, as every write here): unlike
    // SQLite's, it is durable when this returns. The cost is one more WAL flush per
    // witnessing round, not per batch.
    fn set_cosigned_checkpoint(&mut self, note: &str) -> Result<(), StorageError> {
        let note = note.to_string();
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.replace_meta).await.map_err(db_err)?;
                c.execute(&stmt, &[&COSIGNED_CHECKPOINT_KEY, &note])
                    .await
                    .map(drop)
                    .map_err(db_err)
            })
        })
    }
}

impl SharedLogStore for PgStore {
    fn sequence(&mut self, entries: Vec<(Hash, Vec<u8>)>) -> Result<Vec<(u64, bool)>, StorageError> {
        if entries.is_empty() {
            return Ok(vec![]);
        }
        let hashes: Vec<Vec<u8>> = entries.iter().map(|(h, _)| h.to_vec()).collect();
        let mut bodies: Vec<Option<Vec<u8>>> = entries.into_iter().map(|(_, b)| Some(b)).collect();
        let found = self.with_client(move |c, sql| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db_err)?;
                let stmt = tx.prepare_cached(&sql.lock_next).await.map_err(db_err)?;
                let next: i64 = tx.query_one(&stmt, &[]).await.map_err(db_err)?.get(0);
                let mut next = to_u64(next, "next index")?;
                let stmt = tx.prepare_cached(&sql.find_indices).await.map_err(db_err)?;
                let mut known = std::collections::HashMap::new();
                for r in tx.query(&stmt, &[&hashes]).await.map_err(db_err)? {
                    known.insert(r.get::<_, Vec<u8>>(0), to_u64(r.get(1), "entry index")?);
                }
                let (mut idx, mut leaves, mut new_bodies) = (Vec::new(), Vec::new(), Vec::new());
                let mut assigned = Vec::with_capacity(hashes.len());
                for (h, body) in hashes.into_iter().zip(bodies.iter_mut()) {
                    match known.get(&h) {
                        Some(&i) => assigned.push((i, false)),
                        None => {
                            assigned.push((next, true));
                            idx.push(to_i64(next, "entry index")?);
                            leaves.push(h);
                            new_bodies.push(body.take().unwrap_or_default());
                            next += 1;
                        }
                    }
                }
                if !idx.is_empty() {
                    let stmt = tx.prepare_cached(&sql.insert_sequenced).await.map_err(db_err)?;
                    tx.execute(&stmt, &[&idx, &leaves, &new_bodies])
                        .await
                        .map_err(db_err)?;
                    let stmt = tx.prepare_cached(&sql.set_next).await.map_err(db_err)?;
                    tx.execute(&stmt, &[&to_i64(next, "next index")?])
                        .await
                        .map_err(db_err)?;
                    tx.batch_execute(&sql.notify).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(assigned)
            })
        })?;
        Ok(found)
    }

    fn status(&mut self) -> Result<SharedStatus, StorageError> {
        self.with_client(|c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.status).await.map_err(db_err)?;
                let row = c.query_one(&stmt, &[]).await.map_err(db_err)?;
                let checkpoint = match (row.get::<_, Option<i64>>(1), row.get::<_, Option<String>>(2)) {
                    (Some(size), Some(note)) => Some((to_u64(size, "tree size")?, note)),
                    _ => None,
                };
                Ok(SharedStatus {
                    sequenced: to_u64(row.get(0), "next index")?,
                    checkpoint,
                    oldest_unintegrated_secs: row.get(3),
                })
            })
        })
    }

    fn read_leaf_hashes(&mut self, start: u64, count: u64) -> Result<Vec<Hash>, StorageError> {
        let end = to_i64(start.saturating_add(count), "entry index")?;
        let start = to_i64(start, "entry index")?;
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.read_leaf_hashes).await.map_err(db_err)?;
                let rows = c.query(&stmt, &[&start, &end]).await.map_err(db_err)?;
                rows.iter()
                    .map(|r| {
                        Hash::try_from(r.get::<_, &[u8]>(0))
                            .map_err(|_| StorageError::Corrupt("a stored leaf hash is not 32 bytes".into()))
                    })
                    .collect()
            })
        })
    }

    fn acquire_lease(&mut self, holder: &str, ttl: Duration) -> Result<Option<u64>, StorageError> {
        let (holder, ttl) = (holder.to_string(), ttl.as_secs_f64());
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.acquire_lease).await.map_err(db_err)?;
                match c.query_opt(&stmt, &[&holder, &ttl]).await.map_err(db_err)? {
                    Some(row) => Ok(Some(to_u64(row.get(0), "lease epoch")?)),
                    None => Ok(None),
                }
            })
        })
    }

    fn renew_lease(&mut self, holder: &str, epoch: u64, ttl: Duration) -> Result<bool, StorageError> {
        let (holder, epoch, ttl) = (
            holder.to_string(),
            to_i64(epoch, "lease epoch")?,
            ttl.as_secs_f64(),
        );
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.renew_lease).await.map_err(db_err)?;
                Ok(c.execute(&stmt, &[&holder, &epoch, &ttl]).await.map_err(db_err)? == 1)
            })
        })
    }

    fn release_lease(&mut self, holder: &str, epoch: u64) -> Result<(), StorageError> {
        let (holder, epoch) = (holder.to_string(), to_i64(epoch, "lease epoch")?);
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let stmt = c.prepare_cached(&sql.release_lease).await.map_err(db_err)?;
                c.execute(&stmt, &[&holder, &epoch])
                    .await
                    .map(drop)
                    .map_err(db_err)
            })
        })
    }

    fn publish(
        &mut self,
        tiles: &[(u8, u64, Vec<u8>)],
        tree_size: u64,
        checkpoint: &str,
        holder: &str,
        epoch: u64,
    ) -> Result<(), StorageError> {
        let publication = Publication::new(&self.expected, tree_size, checkpoint, tiles)?;
        let (holder, db_epoch) = (holder.to_string(), to_i64(epoch, "lease epoch")?);
        self.with_client(move |c, sql| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db_err)?;
                let stmt = tx.prepare_cached(&sql.fence).await.map_err(db_err)?;
                if tx
                    .query_opt(&stmt, &[&holder, &db_epoch])
                    .await
                    .map_err(db_err)?
                    .is_none()
                {
                    return Err(StorageError::Fenced(format!(
                        "the lease is no longer held under epoch {epoch}"
                    )));
                }
                publication.write(&tx, sql).await?;
                tx.batch_execute(&sql.notify).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)
            })
        })?;
        self.expected = Some((tree_size, checkpoint.to_string()));
        Ok(())
    }

    fn wakeup(&self) -> Arc<Wakeup> {
        self.db.wakeup(&self.schema)
    }

    fn lease_config(&self) -> LeaseConfig {
        self.db.lease.clone()
    }

    fn try_clone(&self) -> Box<dyn SharedLogStore> {
        let mut store = self.clone();
        store.expected = None;
        // Proofs on a front end that does not integrate read the tiles: keep the full ones.
        store
            .tile_cache
            .get_or_insert_with(|| Arc::new(FullTileCache::new(FULL_TILE_CACHE_TILES)));
        Box::new(store)
    }
}

/// Default lifetime of the integrator lease: failover within about 3 s.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(2);
/// Default interval between renewals of the lease.
pub const DEFAULT_LEASE_RENEW: Duration = Duration::from_millis(500);

/// This process's name in a lease row: host, pid and start time, unique per start.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}:{}:{nanos:x}", host.trim(), std::process::id())
}

/// Holds one connection that LISTENs on [`CHANNEL`] and wakes the schema each notification
/// names. When the connection is lost it reconnects, and wakes every schema (notifications
/// may have been missed; the waiters' polling covers the gap too).
async fn listen(
    config: tokio_postgres::Config,
    tls: tls::RustlsConnect,
    wakeups: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Wakeup>>>>,
) {
    let wake = |schema: Option<&str>| {
        let wakeups = wakeups.lock().unwrap_or_else(|p| p.into_inner());
        for (name, w) in wakeups.iter() {
            if schema.is_none_or(|s| s == name) {
                w.notify();
            }
        }
    };
    loop {
        if let Ok((client, mut connection)) = config.connect(tls.clone()).await {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let driver = tokio::spawn(async move {
                while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    if let tokio_postgres::AsyncMessage::Notification(n) = message {
                        let _ = tx.send(n.payload().to_string());
                    }
                }
            });
            if client.batch_execute(&format!("LISTEN {CHANNEL}")).await.is_ok() {
                wake(None);
                while let Some(schema) = rx.recv().await {
                    wake(Some(&schema));
                }
            }
            driver.abort();
            tracing::debug!("the LISTEN connection to PostgreSQL closed; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The meta key of the last witnessed checkpoint (the same key as SQLite's).
const COSIGNED_CHECKPOINT_KEY: &str = "witnessing.cosigned_checkpoint";

/// TLS to the database with rustls: tokio-postgres's connector traits over tokio-rustls.
mod tls {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
    use tokio_postgres::Socket;

    /// Makes a TLS session per connection, verifying the server's certificate chain and name.
    #[derive(Clone)]
    pub struct RustlsConnect(Arc<rustls::ClientConfig>);

    impl RustlsConnect {
        /// Trusts the certificates in `ca_file` (PEM), or else the system's roots.
        pub fn new(ca_file: Option<&Path>) -> Result<RustlsConnect, StorageError> {
            let tls_err = |m: String| StorageError::Database(format!("TLS to the database: {m}"));
            let mut roots = rustls::RootCertStore::empty();
            match ca_file {
                Some(path) => {
                    for cert in CertificateDer::pem_file_iter(path)
                        .map_err(|e| tls_err(format!("reading {}: {e}", path.display())))?
                    {
                        let cert = cert.map_err(|e| tls_err(format!("{}: {e}", path.display())))?;
                        roots
                            .add(cert)
                            .map_err(|e| tls_err(format!("{}: {e}", path.display())))?;
                    }
                    if roots.is_empty() {
                        return Err(tls_err(format!("{} holds no certificate", path.display())));
                    }
                }
                None => {
                    // Loaded lazily would be nicer, but a failure should show at start.
                    let found = rustls_native_certs::load_native_certs();
                    for cert in found.certs {
                        let _ = roots.add(cert);
                    }
                }
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| tls_err(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(RustlsConnect(Arc::new(config)))
        }
    }

    impl MakeTlsConnect<Socket> for RustlsConnect {
        type Stream = RustlsStream;
        type TlsConnect = RustlsConnector;
        type Error = rustls::pki_types::InvalidDnsNameError;

        fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnector, Self::Error> {
            Ok(RustlsConnector {
                config: self.0.clone(),
                name: ServerName::try_from(domain.to_string())?,
            })
        }
    }

    pub struct RustlsConnector {
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    }

    impl TlsConnect<Socket> for RustlsConnector {
        type Stream = RustlsStream;
        type Error = std::io::Error;
        type Future = Pin<Box<dyn Future<Output = std::io::Result<RustlsStream>> + Send>>;

        fn connect(self, stream: Socket) -> Self::Future {
            Box::pin(async move {
                let connector = tokio_rustls::TlsConnector::from(self.config);
                Ok(RustlsStream(connector.connect(self.name, stream).await?))
            })
        }
    }

    pub struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

    impl TlsStream for RustlsStream {
        fn channel_binding(&self) -> ChannelBinding {
            // SCRAM channel binding (tls-server-end-point) needs the hash named by the
            // certificate's signature algorithm; without it, `channel_binding=prefer` (the
            // default) authenticates with plain SCRAM inside the verified TLS session.
            ChannelBinding::none()
        }
    }

    impl AsyncRead for RustlsStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for RustlsStream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Pin::new(&mut self.0).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_shutdown(cx)
        }
    }
}
