//! Tests only: a private PostgreSQL cluster for signet's PostgreSQL tests. `initdb` in a
//! temporary directory, a postmaster on a free loopback port (no Unix socket), password
//! authentication (SCRAM), `fsync` left on so durability tests mean something; stopped by the
//! postmaster's pid (and, should the test process die first, by a watchdog process). PostgreSQL refuses to run as root, so as root the cluster runs as an
//! unprivileged user (`$SIGNET_PG_USER`, default `postgres`, which Debian's package creates
//! and `.ci/run` makes sure of).
//!
//! Where PostgreSQL is not installed, [`Cluster::start`] prints one skip line and returns
//! `None`, unless `$SIGNET_REQUIRE_POSTGRES` is set (CI), which makes it a failure. It must
//! never be a dependency of anything but tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The role and password of every test cluster.
pub const USER: &str = "signet";
pub const PASSWORD: &str = "signet-test-password";

/// A running private cluster. Dropping it stops the postmaster (fast shutdown) and removes
/// its directory.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Unprivileged user the server runs as (when this process is root).
    run_as: Option<String>,
    pid: Option<u32>,
}

impl Cluster {
    /// A fresh cluster, or `None` (after one line on stderr naming `test`) where PostgreSQL
    /// is not installed.
    pub fn start(test: &str) -> Option<Cluster> {
        let Some(bin) = find_bin() else {
            if std::env::var_os("SIGNET_REQUIRE_POSTGRES").is_some() {
                panic!("SIGNET_REQUIRE_POSTGRES is set but no PostgreSQL is installed (no /usr/lib/postgresql/*/bin/initdb, no $SIGNET_PG_BIN)");
            }
            eprintln!("skipping {test}: PostgreSQL is not installed (apt-get install postgresql, or set SIGNET_PG_BIN)");
            return None;
        };
        let run_as = if is_root() {
            Some(std::env::var("SIGNET_PG_USER").unwrap_or_else(|_| "postgres".into()))
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("signet-pg-")
            .tempdir()
            .expect("creating the cluster's temporary directory");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if let Some(user) = &run_as {
            // The directory and password file must belong to the server's user.
            let (uid, gid) = user_ids(user);
            for p in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
            }
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut cluster = Cluster {
            dir,
            bin,
            port: 0,
            run_as,
            pid: None,
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start_server();
        cluster.watchdog();
        Some(cluster)
    }

    /// A process that stops the postmaster (whatever its pid then, read from postmaster.pid)
    /// and removes the directory once this test process is gone, even killed: a cluster must
    /// not outlive its test.
    // Never waited for: it must outlive this process (init reaps it).
    #[allow(clippy::zombie_processes)]
    fn watchdog(&self) {
        let dir = self.dir.path().display().to_string();
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
             pid=$(head -n 1 '{dir}/data/postmaster.pid' 2>/dev/null); \
             if [ -n \"$pid\" ]; then kill -INT \"$pid\" 2>/dev/null; \
               while kill -0 \"$pid\" 2>/dev/null; do sleep 0.2; done; fi; \
             rm -rf '{dir}'",
            me = std::process::id(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the cluster's watchdog");
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database`, without the password ([`PASSWORD`]).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A URL with the password in it.
    pub fn url_with_password(&self, database: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a new, empty database named after `prefix` and a counter; returns its name.
    pub fn create_database(&self, prefix: &str) -> String {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name: String = format!("{prefix}_{n}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        self.execute("postgres", &format!("CREATE DATABASE \"{name}\""));
        name
    }

    /// Runs `sql` (one or more statements) in `database` as the cluster's superuser.
    pub fn execute(&self, database: &str, sql: &str) {
        let url = self.url_with_password(database);
        let sql = sql.to_string();
        runtime().block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
            let task = tokio::spawn(conn);
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = task.await;
        });
    }

    /// The first row `sql` returns in `database`, each column as text (`NULL` as "NULL").
    pub fn query_row(&self, database: &str, sql: &str) -> Vec<String> {
        let url = self.url_with_password(database);
        let sql = sql.to_string();
        runtime().block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
            let task = tokio::spawn(conn);
            let messages = client
                .simple_query(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = task.await;
            messages
                .iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).unwrap_or("NULL").to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{sql}: no row"))
        })
    }

    /// The postmaster's pid.
    pub fn pid(&self) -> u32 {
        self.pid.expect("the cluster is stopped")
    }

    /// `pg_ctl stop -m immediate`, by pid: SIGQUIT to the postmaster, which ends every
    /// backend at once without a checkpoint (crash recovery replays the WAL at the next
    /// start). Waits until the postmaster is gone.
    pub fn stop_immediate(&mut self) {
        self.signal_and_wait("QUIT");
    }

    /// Restarts the server serving TLS with `cert_pem` (chain, leaf first) and `key_pem`, and
    /// accepting TCP connections only over TLS (`hostssl` in pg_hba.conf), so a client that
    /// does not use TLS is refused.
    pub fn require_tls(&mut self, cert_pem: &str, key_pem: &str) {
        let data = self.dir.path().join("data");
        std::fs::write(data.join("server.crt"), cert_pem).unwrap();
        std::fs::write(data.join("server.key"), key_pem).unwrap();
        std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Some(user) = &self.run_as {
            let (uid, gid) = user_ids(user);
            for f in ["server.crt", "server.key"] {
                std::os::unix::fs::chown(data.join(f), Some(uid), Some(gid)).unwrap();
            }
        }
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        conf.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(data.join("postgresql.conf"), conf).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        self.signal_and_wait("INT");
        self.start_server();
    }

    /// Starts the server again on the same port after a stop.
    pub fn restart(&mut self) {
        assert!(self.pid.is_none(), "the cluster is running");
        self.start_server();
    }

    fn start_server(&mut self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        // A port that was free a moment ago; a lost race shows as a failed start and is retried.
        for attempt in 0.. {
            let port = if self.port != 0 && attempt == 0 {
                self.port
            } else {
                free_port()
            };
            let options = format!(
                "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c shared_buffers=16MB -c max_connections=200 -c fsync=on"
            );
            let status = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .stdout(Stdio::null())
                .status()
                .expect("running pg_ctl");
            if status.success() {
                self.port = port;
                break;
            }
            assert!(
                attempt < 3,
                "pg_ctl start failed: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).expect("postmaster.pid");
        self.pid = Some(
            pid_file
                .lines()
                .next()
                .and_then(|l| l.trim().parse().ok())
                .expect("a pid in postmaster.pid"),
        );
    }

    fn signal_and_wait(&mut self, signal: &str) {
        let Some(pid) = self.pid.take() else { return };
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
        let start = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The pid file goes with a clean stop; after an immediate one the next start clears it.
    }

    /// A command from PostgreSQL's bin directory, run as the unprivileged user if need be.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGINT: fast shutdown (roll back open transactions, checkpoint, exit).
        self.signal_and_wait("INT");
    }
}

/// A cluster shared by all tests of one test binary, each taking a database of its own
/// ([`Cluster::create_database`]); `None` where PostgreSQL is not installed, said in one line
/// for the whole binary. A static is never dropped: the cluster's watchdog stops it once the
/// test process has exited.
pub fn shared() -> Option<&'static Cluster> {
    static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
    SHARED
        .get_or_init(|| Cluster::start("this binary's PostgreSQL tests"))
        .as_ref()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// `$SIGNET_PG_BIN`, or the newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn find_bin() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("SIGNET_PG_BIN") {
        return Some(PathBuf::from(bin)).filter(|b| b.join("initdb").exists());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn user_ids(user: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .expect("running id");
        assert!(
            out.status.success(),
            "no user {user:?} to run PostgreSQL as (PostgreSQL refuses root); create one or set SIGNET_PG_USER"
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}
