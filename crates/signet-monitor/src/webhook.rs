//! Webhooks: every report line (match, alert, error) POSTed as JSON to each configured URL,
//! retried until the receiver takes it.
//!
//! # Delivery
//!
//! A line is handed to the webhooks by putting one row per URL in a queue, a SQLite database
//! of its own in the state directory (`webhooks.sqlite`; the state database is held
//! exclusively by the scanning connection). Only once that insert has committed does the line
//! count as written, so the outbox of [`crate::state`] keeps it until then: a monitor killed
//! at any point loses no delivery. A separate thread, with its own connection, POSTs what is
//! due and deletes each row on a 2xx answer; any other answer or a network failure schedules
//! the next attempt with exponential backoff (1 s doubling, at most 10 minutes apart). A
//! receiver therefore sees each line at least once; each POST carries the report's `id` (for a
//! match) and a delivery id in `X-Signet-Delivery`, stable across retries, to deduplicate on.
//!
//! Rows for a URL that is no longer configured are dropped at start, with a warning.
//!
//! # Authenticity
//!
//! With a secret (`--webhook-secret-file`), each POST carries
//! `X-Signet-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, the convention GitHub's
//! webhooks use, so a receiver can tell the monitor's reports from anyone else's POSTs.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use rusqlite::{params, Connection};
use signet_client::http::Http;

use crate::report::Sink;

/// The queue's file in the state directory.
pub const QUEUE_FILE: &str = "webhooks.sqlite";

/// The longest wait between two attempts at one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// A receiver's answer is read up to this many bytes (and ignored beyond its status).
const MAX_ANSWER: u64 = 64 * 1024;
/// Rows attempted in one sweep, so a long queue does not starve the checks for new rows.
const SWEEP: usize = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    line TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt);
";

/// Where and how reports are POSTed.
#[derive(Clone)]
pub struct WebhookConfig {
    pub urls: Vec<String>,
    /// The HMAC key for `X-Signet-Signature-256` (`--webhook-secret-file`).
    pub secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("WebhookConfig")
            .field("urls", &self.urls)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl WebhookConfig {
    /// Checks the URLs (HTTPS, or plain HTTP to this machine only, as every signet client
    /// connection) and reads the secret file.
    pub fn new(urls: Vec<String>, secret_file: Option<&Path>) -> anyhow::Result<Self> {
        for url in &urls {
            check_url(url)?;
        }
        let secret = match secret_file {
            None => None,
            Some(path) => {
                let text = std::fs::read(path)
                    .with_context(|| format!("reading the webhook secret {}", path.display()))?;
                let trimmed = text.trim_ascii().to_vec();
                if trimmed.is_empty() {
                    return Err(anyhow!("the webhook secret {} is empty", path.display()));
                }
                Some(trimmed)
            }
        };
        if secret.is_some() && urls.is_empty() {
            return Err(anyhow!("--webhook-secret-file needs at least one --webhook URL"));
        }
        Ok(WebhookConfig { urls, secret })
    }
}

fn check_url(url: &str) -> anyhow::Result<()> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("--webhook {url}: not a URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    if name.is_empty() {
        return Err(anyhow!("--webhook {url}: no host"));
    }
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(name) => Ok(()),
        "http" => Err(anyhow!(
            "--webhook {url}: plain http is allowed to this machine only; use https"
        )),
        _ => Err(anyhow!("--webhook {url}: the scheme must be https")),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn open(dir: &Path) -> anyhow::Result<Connection> {
    let path = dir.join(QUEUE_FILE);
    let conn = Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
    // WAL lets the scanning side insert while the delivery thread reads; NORMAL survives a
    // killed process (a power loss may resend, never lose what the outbox still holds).
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .and_then(|_| conn.busy_timeout(Duration::from_secs(10)))
        .and_then(|_| conn.execute_batch(SCHEMA))
        .with_context(|| format!("preparing {}", path.display()))?;
    Ok(conn)
}

/// Counters for metrics.
#[derive(Debug, Default)]
pub struct WebhookStats {
    pub delivered: AtomicU64,
    pub failed_attempts: AtomicU64,
    /// Rows waiting, as of the last sweep.
    pub queued: AtomicU64,
}

/// The queue's writing side: a [`Sink`] that also writes each line to stdout (or any
/// writer) first.
pub struct Queue {
    conn: Connection,
    urls: Vec<String>,
}

impl Queue {
    /// Opens the queue in the state directory and drops rows for URLs no longer configured.
    pub fn open(dir: &Path, config: &WebhookConfig) -> anyhow::Result<Queue> {
        let conn = open(dir)?;
        let mut stale = 0usize;
        {
            let mut stmt = conn.prepare("SELECT DISTINCT url FROM deliveries")?;
            let urls: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for url in urls.iter().filter(|u| !config.urls.contains(u)) {
                stale += conn.execute("DELETE FROM deliveries WHERE url = ?1", params![url])?;
            }
        }
        if stale > 0 {
            tracing::warn!("dropped {stale} undelivered webhook reports for URLs no longer configured");
        }
        Ok(Queue {
            conn,
            urls: config.urls.clone(),
        })
    }

    /// Queues `line` for every URL, in one transaction.
    pub fn push(&mut self, line: &str) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        for url in &self.urls {
            tx.execute(
                "INSERT INTO deliveries (url, line) VALUES (?1, ?2)",
                params![url, line],
            )?;
        }
        tx.commit()
    }

    /// Rows waiting.
    pub fn len(&self) -> rusqlite::Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM deliveries", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
    }

    pub fn is_empty(&self) -> rusqlite::Result<bool> {
        self.len().map(|n| n == 0)
    }
}

/// Lines to a writer (stdout) and, once written there, to the webhook queue. A line counts
/// as emitted only when both took it.
pub struct Fanout<W> {
    pub out: W,
    pub queue: Option<Queue>,
    /// Wakes the delivery thread when a line was queued.
    pub wake: Option<std::sync::mpsc::Sender<()>>,
}

impl<W: Sink> Sink for Fanout<W> {
    fn emit(&mut self, line: &str) -> std::io::Result<()> {
        self.out.emit(line)?;
        if let Some(queue) = &mut self.queue {
            queue
                .push(line)
                .map_err(|e| std::io::Error::other(format!("queueing a webhook delivery: {e}")))?;
            if let Some(wake) = &self.wake {
                let _ = wake.send(());
            }
        }
        Ok(())
    }
}

/// The delivery side: POSTs what is due.
pub struct Deliverer {
    conn: Connection,
    http: Http,
    secret: Option<Vec<u8>>,
    pub stats: Arc<WebhookStats>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub delivered: u64,
    pub failed: u64,
    /// Rows still waiting after the sweep.
    pub waiting: u64,
}

fn backoff(attempts: u32) -> Duration {
    let secs = 1u64
        .checked_shl(attempts.saturating_sub(1).min(20))
        .unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature_header(secret: &[u8], body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    format!(
        "sha256={}",
        hex::encode(aws_lc_rs::hmac::sign(&key, body).as_ref())
    )
}

/// The `type` of a report line, for `X-Signet-Event`.
fn event(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "report".into())
}

impl Deliverer {
    /// Opens the queue for delivery. What an earlier run left is due at once: its backoff
    /// was for a receiver that was down then.
    pub fn open(dir: &Path, config: &WebhookConfig, stats: Arc<WebhookStats>) -> anyhow::Result<Self> {
        let conn = open(dir)?;
        conn.execute("UPDATE deliveries SET next_attempt = 0", [])
            .context("resetting the webhook queue's backoff")?;
        Ok(Deliverer {
            conn,
            http: Http::new()?,
            secret: config.secret.clone(),
            stats,
        })
    }

    /// POSTs one line; Ok on a 2xx answer.
    fn post(&self, id: i64, url: &str, line: &str) -> Result<(), String> {
        let id = id.to_string();
        let kind = event(line);
        let signature = self
            .secret
            .as_deref()
            .map(|s| signature_header(s, line.as_bytes()));
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("X-Signet-Event", kind.as_str()),
            ("X-Signet-Delivery", id.as_str()),
        ];
        if let Some(sig) = &signature {
            headers.push(("X-Signet-Signature-256", sig.as_str()));
        }
        let answer = self
            .http
            .exchange("POST", url, &headers, Some(line.as_bytes()), MAX_ANSWER)
            .map_err(|e| e.to_string())?;
        if (200..300).contains(&answer.status) {
            Ok(())
        } else {
            Err(format!("{url} answered {}", answer.status))
        }
    }

    /// Attempts every delivery that is due now.
    pub fn sweep(&mut self) -> rusqlite::Result<Sweep> {
        let now = unix_now();
        let due: Vec<(i64, String, String, u32)> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, url, line, attempts FROM deliveries WHERE next_attempt <= ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, SWEEP as i64], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)?.clamp(0, 1 << 20) as u32,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut sweep = Sweep::default();
        // One failing URL is not tried again in this sweep: its later rows wait their turn
        // rather than each paying a timeout.
        let mut failing: Vec<String> = Vec::new();
        for (id, url, line, attempts) in due {
            if failing.contains(&url) {
                continue;
            }
            match self.post(id, &url, &line) {
                Ok(()) => {
                    self.conn
                        .execute("DELETE FROM deliveries WHERE id = ?1", params![id])?;
                    sweep.delivered += 1;
                    self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(reason) => {
                    let attempts = attempts.saturating_add(1);
                    let next = now.saturating_add(backoff(attempts).as_secs() as i64);
                    tracing::warn!("webhook delivery {id} (attempt {attempts}): {reason}");
                    self.conn.execute(
                        "UPDATE deliveries SET attempts = ?2, next_attempt = ?3, last_error = ?4 WHERE id = ?1",
                        params![id, attempts as i64, next, reason],
                    )?;
                    sweep.failed += 1;
                    self.stats.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    failing.push(url);
                }
            }
        }
        sweep.waiting = self
            .conn
            .query_row("SELECT COUNT(*) FROM deliveries", [], |r| r.get::<_, i64>(0))?
            .max(0) as u64;
        self.stats.queued.store(sweep.waiting, Ordering::Relaxed);
        Ok(sweep)
    }

    /// The time until the earliest waiting delivery is due (`None`: nothing waits).
    fn next_due(&self) -> rusqlite::Result<Option<Duration>> {
        let next: Option<i64> = self
            .conn
            .query_row("SELECT MIN(next_attempt) FROM deliveries", [], |r| r.get(0))?;
        Ok(next.map(|t| Duration::from_secs(t.saturating_sub(unix_now()).max(0) as u64)))
    }

    /// Delivers until the queue is empty or `deadline` passes; returns the rows left.
    pub fn drain(&mut self, deadline: Instant) -> rusqlite::Result<u64> {
        loop {
            let sweep = self.sweep()?;
            if sweep.waiting == 0 {
                return Ok(0);
            }
            let wait = self
                .next_due()?
                .unwrap_or_default()
                .max(Duration::from_millis(200));
            let now = Instant::now();
            if now + wait >= deadline {
                return Ok(sweep.waiting);
            }
            std::thread::sleep(wait);
        }
    }

    /// Runs deliveries on a thread of their own until `stop` is set; woken early by `wake`.
    pub fn spawn(
        mut self,
        wake: std::sync::mpsc::Receiver<()>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("signet-monitor-webhooks".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Err(e) = self.sweep() {
                        tracing::error!("webhook queue: {e}");
                    }
                    let wait = match self.next_due() {
                        Ok(Some(d)) => d.clamp(Duration::from_millis(100), Duration::from_secs(1)),
                        _ => Duration::from_secs(1),
                    };
                    match wake.recv_timeout(wait) {
                        Ok(()) => while wake.try_recv().is_ok() {},
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                            std::thread::sleep(wait);
                        }
                    }
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback_http() {
        for ok in [
            "https://hooks.example.com/x",
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]:9/x",
        ] {
            check_url(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://hooks.example.com/x",
            "ftp://127.0.0.1/x",
            "hooks.example.com",
            "https:///x",
            "http://127.0.0.1.example.com/x",
            "http://user@evil.example/x",
        ] {
            assert!(check_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(11), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature_header(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_line_is_queued_once_per_url_and_stale_urls_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let two = WebhookConfig::new(
            vec!["http://127.0.0.1:1/a".into(), "http://127.0.0.1:1/b".into()],
            None,
        )
        .unwrap();
        let mut q = Queue::open(dir.path(), &two).unwrap();
        q.push("{\"type\":\"match\"}").unwrap();
        assert_eq!(q.len().unwrap(), 2);
        drop(q);
        let one = WebhookConfig::new(vec!["http://127.0.0.1:1/b".into()], None).unwrap();
        let q = Queue::open(dir.path(), &one).unwrap();
        assert_eq!(q.len().unwrap(), 1);
    }

    #[test]
    fn a_secret_file_must_hold_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let url = vec!["https://hooks.example.com/x".to_string()];
        assert!(WebhookConfig::new(url.clone(), Some(&empty)).is_err());
        let good = dir.path().join("good");
        std::fs::write(&good, "s3cret\n").unwrap();
        let c = WebhookConfig::new(url, Some(&good)).unwrap();
        assert_eq!(c.secret.as_deref(), Some(&b"s3cret"[..]));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(WebhookConfig::new(vec![], Some(&good)).is_err());
    }
}
