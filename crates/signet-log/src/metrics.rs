//! Prometheus text exposition (format 0.0.4), written by hand: the services' `/metrics`
//! routes need a few counters, gauges and one histogram, which do not justify a metrics
//! registry crate. Every family gets its `# HELP` and `# TYPE` lines; names are
//! `signet_<service>_<what>`, counters end in `_total`.
//!
//! [`MetricsWriter::appender`] writes an [`Appender`]'s figures, so the transparency log and
//! the CT log (both built on the appender) report them under the same names and help texts.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::Appender;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Accumulates one exposition; as a response (`IntoResponse`) it is served with
/// [`CONTENT_TYPE`].
#[derive(Debug, Default)]
pub struct MetricsWriter {
    out: String,
}

impl MetricsWriter {
    pub fn new() -> Self {
        MetricsWriter::default()
    }

    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    /// A counter (`name` should end in `_total`).
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.header(name, "counter", help);
        let _ = writeln!(self.out, "{name} {value}");
    }

    /// A counter of seconds (or another fractional unit).
    pub fn counter_f64(&mut self, name: &str, help: &str, value: f64) {
        self.header(name, "counter", help);
        let _ = writeln!(self.out, "{name} {value}");
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.header(name, "gauge", help);
        let _ = writeln!(self.out, "{name} {value}");
    }

    /// One counter family with a sample per value of `label`, e.g.
    /// `signet_ca_rejected_total{reason="token"} 3`. Label values are escaped as the format
    /// asks (they are names from code or from the operator's configuration, never requests).
    pub fn labeled_counter(&mut self, name: &str, help: &str, label: &str, samples: &[(&str, u64)]) {
        self.header(name, "counter", help);
        for (value, count) in samples {
            let _ = writeln!(self.out, "{name}{{{label}=\"{}\"}} {count}", escape_label(value));
        }
    }

    /// One gauge family with a sample per value of `label` (escaped as in
    /// [`MetricsWriter::labeled_counter`]).
    pub fn labeled_gauge(&mut self, name: &str, help: &str, label: &str, samples: &[(&str, f64)]) {
        self.header(name, "gauge", help);
        for (value, v) in samples {
            let _ = writeln!(self.out, "{name}{{{label}=\"{}\"}} {v}", escape_label(value));
        }
    }

    /// A histogram: cumulative `_bucket{le=...}` samples, `_sum` and `_count`.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &LatencyHistogram) {
        self.header(name, "histogram", help);
        self.histogram_samples(name, "", histogram);
    }

    /// One histogram family with a histogram per value of `label`.
    pub fn labeled_histogram(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        samples: &[(&str, &LatencyHistogram)],
    ) {
        self.header(name, "histogram", help);
        for (value, histogram) in samples {
            let labels = format!("{label}=\"{}\",", escape_label(value));
            self.histogram_samples(name, &labels, histogram);
        }
    }

    /// The samples of one histogram; `labels` (empty, or `k="v",`) go before `le`.
    fn histogram_samples(&mut self, name: &str, labels: &str, histogram: &LatencyHistogram) {
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BOUNDS.iter().zip(&histogram.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(self.out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
        }
        // Read after the buckets: a concurrent observation may show in `count` but not yet in
        // a bucket, never the reverse, so `+Inf` stays >= every finite bucket.
        let count = histogram.count.load(Relaxed).max(cumulative);
        let sum = histogram.sum_micros.load(Relaxed) as f64 / 1e6;
        let plain = labels.trim_end_matches(',');
        let braces = if plain.is_empty() {
            String::new()
        } else {
            format!("{{{plain}}}")
        };
        let _ = write!(
            self.out,
            "{name}_bucket{{{labels}le=\"+Inf\"}} {count}\n{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n"
        );
    }

    /// The appender's figures as `<prefix>_tree_size`, `<prefix>_pending_entries` (queue
    /// depth), `<prefix>_entries_total`, `<prefix>_duplicates_total`, `<prefix>_batches_total`,
    /// `<prefix>_failed_batches_total`, `<prefix>_commit_seconds_total`, and for several front ends
    /// on one database `<prefix>_lease_changes_total`, `<prefix>_fenced_publishes_total`,
    /// `<prefix>_is_integrator`, `<prefix>_integration_lag_entries` and
    /// `<prefix>_integration_lag_seconds`. `prefix` is e.g. `signet_log` or `signet_ct`.
    pub fn appender(&mut self, prefix: &str, appender: &Appender) {
        let stats = &appender.stats;
        self.gauge(
            &format!("{prefix}_tree_size"),
            "Entries in the latest checkpoint.",
            appender.checkpoint().size as f64,
        );
        self.gauge(
            &format!("{prefix}_pending_entries"),
            "Entries waiting for integration.",
            appender.pending() as f64,
        );
        self.counter(
            &format!("{prefix}_entries_total"),
            "Entries integrated.",
            stats.entries.load(Relaxed),
        );
        self.counter(
            &format!("{prefix}_duplicates_total"),
            "Submissions of entries already logged.",
            stats.duplicates.load(Relaxed),
        );
        self.counter(
            &format!("{prefix}_batches_total"),
            "Integration batches committed.",
            stats.batches.load(Relaxed),
        );
        self.counter(
            &format!("{prefix}_failed_batches_total"),
            "Integration batches that were not committed (storage failed, or another writer moved the checkpoint first), their requests answered with an error.",
            stats.failed_batches.load(Relaxed),
        );
        self.counter_f64(
            &format!("{prefix}_commit_seconds_total"),
            "Time spent committing batches to storage.",
            stats.commit_micros.load(Relaxed) as f64 / 1e6,
        );
        self.counter(
            &format!("{prefix}_rejected_checkpoints_total"),
            "Checkpoints read from the shared database that did not verify under the log's key, never served (several front ends on one database).",
            stats.rejected_checkpoints.load(Relaxed),
        );
        let lease = appender.lease();
        self.counter(
            &format!("{prefix}_lease_changes_total"),
            "Times this front end took or lost the integrator lease (several front ends on one database).",
            lease.changes(),
        );
        self.counter(
            &format!("{prefix}_fenced_publishes_total"),
            "Checkpoints the database refused to publish because this front end's lease had moved on.",
            lease.fenced(),
        );
        self.gauge(
            &format!("{prefix}_is_integrator"),
            "1 while this front end integrates the log (holds its lease; always, for one process on SQLite).",
            if lease.is_integrator() { 1.0 } else { 0.0 },
        );
        let size = appender.checkpoint().size;
        self.gauge(
            &format!("{prefix}_integration_lag_entries"),
            "Entries sequenced but not yet in the stored checkpoint, as last seen.",
            stats.sequenced.load(Relaxed).saturating_sub(size) as f64,
        );
        self.gauge(
            &format!("{prefix}_integration_lag_seconds"),
            "How long the oldest sequenced entry not yet in a checkpoint has waited, as last seen.",
            stats.oldest_unintegrated_micros.load(Relaxed) as f64 / 1e6,
        );
    }

    /// The exposition text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value escaped for the text format: backslash, double quote and newline.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition as a `200 text/plain; version=0.0.4` answer.
impl IntoResponse for MetricsWriter {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], self.out).into_response()
    }
}

/// Upper bounds (seconds) of [`LatencyHistogram`]'s buckets: 1 ms to 10 s, the range of a
/// request that signs, logs and commits.
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A latency histogram with fixed buckets ([`LATENCY_BOUNDS`]), safe to update from many
/// requests at once (relaxed atomics: the figures are for monitoring, not for decisions).
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    /// Observations per bucket (not cumulative); slower than the last bound count only in
    /// `count`.
    buckets: [AtomicU64; LATENCY_BOUNDS.len()],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BOUNDS.iter().position(|bound| secs <= *bound) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.sum_micros
            .fetch_add(elapsed.as_micros().try_into().unwrap_or(u64::MAX), Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_and_type_lines() {
        let mut w = MetricsWriter::new();
        w.counter("signet_x_total", "Things.", 3);
        w.gauge("signet_x_size", "Size.", 1.5);
        w.labeled_counter(
            "signet_x_rejected_total",
            "Refused.",
            "reason",
            &[("a", 1), ("b", 0)],
        );
        assert_eq!(
            w.finish(),
            "# HELP signet_x_total Things.\n# TYPE signet_x_total counter\nsignet_x_total 3\n\
             # HELP signet_x_size Size.\n# TYPE signet_x_size gauge\nsignet_x_size 1.5\n\
             # HELP signet_x_rejected_total Refused.\n# TYPE signet_x_rejected_total counter\n\
             signet_x_rejected_total{reason=\"a\"} 1\nsignet_x_rejected_total{reason=\"b\"} 0\n"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(500)); // le 0.001
        h.observe(Duration::from_millis(30)); // le 0.05
        h.observe(Duration::from_secs(60)); // only +Inf
        let mut w = MetricsWriter::new();
        w.histogram("signet_x_seconds", "Latency.", &h);
        let text = w.finish();
        assert!(text.contains("# TYPE signet_x_seconds histogram\n"), "{text}");
        assert!(
            text.contains("signet_x_seconds_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("signet_x_seconds_bucket{le=\"0.025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("signet_x_seconds_bucket{le=\"0.05\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("signet_x_seconds_bucket{le=\"10\"} 2\n"), "{text}");
        assert!(
            text.contains("signet_x_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("signet_x_seconds_count 3\n"), "{text}");
        assert!(text.contains("signet_x_seconds_sum 60.0305\n"), "{text}");
        assert_eq!(h.count(), 3);
    }
}
