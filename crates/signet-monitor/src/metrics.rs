//! Prometheus metrics of a running monitor (`--metrics-listen ADDR`, `GET /metrics`): per log,
//! entries scanned, matches, alerts and errors; the size of the last verified (consistent)
//! checkpoint; how far the scan lags behind it; when the last pass over the log finished and
//! when one last finished clean; and the webhook queue.
//!
//! The values are kept in memory and updated after each log's pass; the endpoint is served by
//! axum on a thread of its own (the monitor itself is blocking code).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::follow::Outcome;
use crate::webhook::WebhookStats;

#[derive(Debug, Default, Clone)]
struct LogMetrics {
    entries: u64,
    matches: u64,
    alerts: u64,
    errors: u64,
    verified_size: u64,
    next_index: u64,
    last_pass: u64,
    last_clean_pass: u64,
    witness_checks: u64,
    witness_forks: u64,
}

/// The monitor's metrics, shared between the scanning loop and the endpoint.
#[derive(Default)]
pub struct Metrics {
    logs: Mutex<BTreeMap<String, LogMetrics>>,
    pub webhooks: Option<Arc<WebhookStats>>,
}

/// A label value escaped for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    pub fn new(webhooks: Option<Arc<WebhookStats>>) -> Self {
        Metrics {
            logs: Mutex::new(BTreeMap::new()),
            webhooks,
        }
    }

    /// Records one pass over `log`: what it did, and where the state stands after it
    /// (`verified_size` and `next_index` from the state; `None` when the log has none yet).
    pub fn record_pass(&self, log: &str, outcome: &Outcome, position: Option<(u64, u64)>, now: u64) {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        let m = logs.entry(log.to_string()).or_default();
        m.entries += outcome.entries;
        m.matches += outcome.matches;
        m.alerts += outcome.alerts;
        m.errors += outcome.errors;
        if let Some((verified, next)) = position {
            m.verified_size = verified;
            m.next_index = next;
        }
        m.last_pass = now;
        if outcome.alerts == 0 && outcome.errors == 0 {
            m.last_clean_pass = now;
        }
    }

    /// Records a comparison with the witnesses: how many witness checkpoints were checked and
    /// how many showed a fork.
    pub fn record_witnesses(&self, log: &str, checked: u64, forks: u64) {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        let m = logs.entry(log.to_string()).or_default();
        m.witness_checks += checked;
        m.witness_forks += forks;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let logs = self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&LogMetrics) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (log, m) in &logs {
                let _ = writeln!(out, "{name}{{log=\"{}\"}} {}", label(log), value(m));
            }
        };
        family(
            "signet_monitor_entries_scanned_total",
            "counter",
            "Entries read, hashed into the recomputed tree and matched.",
            &|m| m.entries,
        );
        family(
            "signet_monitor_matches_total",
            "counter",
            "Entries that matched the watch list.",
            &|m| m.matches,
        );
        family(
            "signet_monitor_alerts_total",
            "counter",
            "Alerts: evidence that the log misbehaved.",
            &|m| m.alerts,
        );
        family(
            "signet_monitor_errors_total",
            "counter",
            "Errors: checks that could not be made (unreachable log, broken input).",
            &|m| m.errors,
        );
        family(
            "signet_monitor_verified_size",
            "gauge",
            "Size of the last checkpoint verified consistent with all before it.",
            &|m| m.verified_size,
        );
        family(
            "signet_monitor_scanned_size",
            "gauge",
            "Entries scanned so far (the next index to read).",
            &|m| m.next_index,
        );
        family(
            "signet_monitor_lag_entries",
            "gauge",
            "Entries of the verified checkpoint not yet scanned.",
            &|m| m.verified_size.saturating_sub(m.next_index),
        );
        family(
            "signet_monitor_last_pass_timestamp_seconds",
            "gauge",
            "When the last pass over the log finished (Unix time).",
            &|m| m.last_pass,
        );
        family(
            "signet_monitor_last_clean_pass_timestamp_seconds",
            "gauge",
            "When a pass over the log last finished with no alert and no error (Unix time).",
            &|m| m.last_clean_pass,
        );
        family(
            "signet_monitor_witness_checkpoints_checked_total",
            "counter",
            "Witness-cosigned checkpoints compared with the monitor's view.",
            &|m| m.witness_checks,
        );
        family(
            "signet_monitor_witness_forks_total",
            "counter",
            "Witness-cosigned checkpoints inconsistent with the monitor's view.",
            &|m| m.witness_forks,
        );
        if let Some(w) = &self.webhooks {
            for (name, kind, help, value) in [
                (
                    "signet_monitor_webhook_delivered_total",
                    "counter",
                    "Reports delivered to a webhook (2xx).",
                    w.delivered.load(Ordering::Relaxed),
                ),
                (
                    "signet_monitor_webhook_failed_attempts_total",
                    "counter",
                    "Webhook attempts that failed and will be retried.",
                    w.failed_attempts.load(Ordering::Relaxed),
                ),
                (
                    "signet_monitor_webhook_queued",
                    "gauge",
                    "Webhook deliveries waiting.",
                    w.queued.load(Ordering::Relaxed),
                ),
            ] {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
            }
        }
        out
    }
}

/// Serves `GET /metrics` on `addr` from a thread of its own; returns the bound address.
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<SocketAddr> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("signet-monitor-metrics".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("metrics endpoint: {e}");
                        return;
                    }
                };
                let app = axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(move || {
                        let metrics = metrics.clone();
                        async move {
                            (
                                [(
                                    axum::http::header::CONTENT_TYPE,
                                    "text/plain; version=0.0.4; charset=utf-8",
                                )],
                                metrics.render(),
                            )
                        }
                    }),
                );
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!("metrics endpoint: {e}");
                }
            })
        })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_rendered_per_log_with_lag() {
        let m = Metrics::new(Some(Arc::new(WebhookStats::default())));
        let o = Outcome {
            entries: 10,
            matches: 2,
            alerts: 0,
            errors: 0,
            verified_size: 12,
        };
        m.record_pass("log.example/\"x\"", &o, Some((12, 10)), 1_700_000_000);
        m.record_pass(
            "log.example/\"x\"",
            &Outcome {
                errors: 1,
                ..Outcome::default()
            },
            Some((12, 10)),
            1_700_000_060,
        );
        let text = m.render();
        assert!(
            text.contains("signet_monitor_entries_scanned_total{log=\"log.example/\\\"x\\\"\"} 10"),
            "{text}"
        );
        assert!(
            text.contains("signet_monitor_lag_entries{log=\"log.example/\\\"x\\\"\"} 2"),
            "{text}"
        );
        assert!(text.contains("signet_monitor_errors_total{log=\"log.example/\\\"x\\\"\"} 1"));
        assert!(text.contains(
            "signet_monitor_last_pass_timestamp_seconds{log=\"log.example/\\\"x\\\"\"} 1700000060"
        ));
        assert!(text.contains(
            "signet_monitor_last_clean_pass_timestamp_seconds{log=\"log.example/\\\"x\\\"\"} 1700000000"
        ));
        assert!(text.contains("signet_monitor_webhook_queued 0"));
    }
}
