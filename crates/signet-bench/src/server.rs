//! The server under test, when the load generator starts it itself, and the `/proc` figures
//! (peak memory, CPU time) read for any process by pid.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};

/// How long `signet server` may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A `signet server` child on an ephemeral port with a fresh data directory. Dropping it kills
/// the server and removes the directory.
pub struct SpawnedServer {
    child: Child,
    dir: PathBuf,
    /// The server's URL: `http://127.0.0.1:PORT`; services are mounted below it.
    pub root_url: String,
}

impl SpawnedServer {
    /// Runs `<this executable> server --listen 127.0.0.1:0 --data-dir <temp>/data` with stderr
    /// going to `<temp>/server.log`, and waits for its `listening on http://…` line.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_flags(&[]).await
    }

    /// [`Self::start`] with more `signet server` flags, e.g. `--dev-oidc` for the CA and
    /// signing benches, which need identity tokens.
    pub async fn start_with_flags(flags: &[&str]) -> anyhow::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("signet-bench-{}-{nanos}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data)
            .with_context(|| format!("creating the server's data directory {}", data.display()))?;
        let log = File::create(dir.join("server.log")).context("creating server.log")?;
        let exe = std::env::current_exe().context("finding the signet executable")?;
        let spawned = Command::new(&exe)
            .arg("server")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e).with_context(|| format!("starting {} server", exe.display()));
            }
        };
        let stdout = child.stdout.take();
        let mut server = SpawnedServer {
            child,
            dir,
            root_url: String::new(),
        };
        let stdout = stdout.ok_or_else(|| anyhow!("the server's stdout was not captured"))?;

        // A thread reads stdout for the whole life of the server, so that it never blocks on
        // a full pipe; it hands over the first `listening on` line.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("bench-server-stdout".into())
            .spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = parse_listening_line(&line) {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(url);
                        }
                    }
                }
            })
            .context("starting the server's stdout reader")?;

        match tokio::time::timeout(STARTUP_TIMEOUT, rx).await {
            Ok(Ok(url)) => {
                server.root_url = url.trim_end_matches('/').to_owned();
                Ok(server)
            }
            Ok(Err(_)) => {
                let status = server.child.wait().ok();
                bail!(
                    "signet server exited ({}) without printing `listening on http://…`; its \
                     stderr ends with:\n{}",
                    status.map_or("unknown status".into(), |s| s.to_string()),
                    server.log_tail(20)
                )
            }
            Err(_) => bail!(
                "signet server printed no `listening on http://…` line within {}s; its stderr \
                 ends with:\n{}",
                STARTUP_TIMEOUT.as_secs(),
                server.log_tail(20)
            ),
        }
    }

    /// The server's data directory (trusted_root.json and the rest).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(description)` if the server has exited, with the end of its stderr.
    pub fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "server exited during the run ({status}); its stderr ends with:\n{}",
                self.log_tail(20)
            )),
            _ => None,
        }
    }

    /// The last `lines` lines of the server's stderr.
    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        if all.is_empty() {
            return "(nothing)".into();
        }
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The URL in `listening on http://127.0.0.1:PORT`, if `line` is that line.
fn parse_listening_line(line: &str) -> Option<String> {
    let url = line.trim().strip_prefix("listening on ")?.trim();
    url.starts_with("http://").then(|| url.to_owned())
}

/// CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcSample {
    /// utime + stime, in seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size (VmHWM), in KiB.
    pub peak_rss_kib: Option<u64>,
}

/// Samples `/proc/<pid>`; `pid` is a number or `self`. `None` if the process is gone or this
/// is not Linux.
pub fn sample_proc(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = parse_stat_cpu_ticks(&stat)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    Some(ProcSample {
        cpu_seconds: ticks as f64 / clock_ticks_per_second() as f64,
        peak_rss_kib: parse_status_kib(&status, "VmHWM"),
    })
}

/// CPU time (user + system, seconds) of this process's children that have exited and been
/// waited for: the client processes a load generator runs.
pub fn children_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = parse_stat_tick_pair(&stat, 16)?;
    Some(ticks as f64 / clock_ticks_per_second() as f64)
}

/// utime + stime (fields 14 and 15 of `/proc/<pid>/stat`), in clock ticks.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    parse_stat_tick_pair(stat, 14)
}

/// The sum of fields `first` and `first + 1` of `/proc/<pid>/stat` (14: utime + stime; 16:
/// cutime + cstime, the waited-for children's). The command name (field 2) is in
/// parentheses and may itself contain spaces and parentheses, so fields are counted from the
/// last `)`.
fn parse_stat_tick_pair(stat: &str, first: usize) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // after_comm starts with field 3 (state).
    let mut fields = after_comm.split_whitespace().skip(first.checked_sub(3)?);
    let a: u64 = fields.next()?.parse().ok()?;
    let b: u64 = fields.next()?.parse().ok()?;
    Some(a + b)
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn parse_status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// USER_HZ, the unit of `/proc/<pid>/stat` times: from `getconf CLK_TCK`, else 100 (its value
/// on every mainstream Linux architecture).
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .stderr(Stdio::null())
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// Starts a `signet server --dev-oidc`, runs `measure(root URL, data directory)` on a blocking
/// thread (the client library is blocking), stops the server and prints the report.
pub(crate) async fn report_with_dev_server<F>(measure: F) -> anyhow::Result<()>
where
    F: FnOnce(&str, &std::path::Path) -> anyhow::Result<String> + Send + 'static,
{
    eprintln!("[bench] starting signet server --dev-oidc");
    let server = SpawnedServer::start_with_flags(&["--dev-oidc"]).await?;
    let root = server.root_url.clone();
    let data = server.data_dir();
    let report = tokio::task::spawn_blocking(move || measure(&root, &data))
        .await
        .context("the benchmark thread")??;
    drop(server);
    println!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (my (odd) srv) S 1 4242 4242 0 -1 4194560 9000 0 3 0 1234 567 0 0 20 \
                    0 9 0 100 200000000 5000 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_tick_pair(stat, 16), Some(0));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        assert_eq!(parse_stat_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn status_lines_are_found_by_exact_name() {
        let status = "Name:\tsignet\nVmHWMx:\t1 kB\nVmHWM:\t   52344 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(52_344));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn own_process_can_be_sampled() {
        let s = sample_proc("self").expect("/proc/self on Linux");
        assert!(s.cpu_seconds >= 0.0);
        assert!(s.peak_rss_kib.unwrap() > 0);
    }

    #[test]
    fn listening_line() {
        assert_eq!(
            parse_listening_line("listening on http://127.0.0.1:41234\n").as_deref(),
            Some("http://127.0.0.1:41234")
        );
        assert_eq!(parse_listening_line("starting up"), None);
        assert_eq!(parse_listening_line("listening on 127.0.0.1:1"), None);
    }
}
