//! The figures of a run, printed one per line for people and as one JSON object for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use super::histogram::Histogram;
use super::record::FailureTally;

#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    pub server_spawned: bool,
    /// "closed" (a fixed number of requests in flight) or "open" (a fixed send rate).
    pub mode: &'static str,
    pub concurrency: usize,
    pub rate: Option<f64>,
    /// What one accepted request is: "entries", "timestamps".
    pub unit: &'static str,
    /// What the service hands out that must be unique: "log indices", "serial numbers".
    pub ids: &'static str,
    /// The workload's own figures (keys, pre-signing, verification), as `name: value` lines.
    pub details: Vec<(String, String)>,
    pub warmup_s: f64,
    pub measured_s: f64,
    /// Requests accepted with completion in the measured window.
    pub accepted_in_window: u64,
    /// Requests accepted over the whole run: warmup, window and drain.
    pub accepted_total: u64,
    pub per_s: f64,
    /// Requests accepted in each whole second of the measured window.
    pub per_second: Vec<u64>,
    pub per_second_min: Option<u64>,
    pub per_second_max: Option<u64>,
    /// Latency of accepted requests sent (open loop: scheduled) in the window.
    pub latency_ms: LatencyReport,
    /// Open loop only: how late requests were sent after their scheduled time.
    pub send_lag_ms: Option<LatencyReport>,
    pub errors: Vec<ErrorReport>,
    /// Accepted requests with an id, over the whole run.
    pub acknowledged: u64,
    pub distinct_ids: u64,
    /// Some ids handed out more than once.
    pub repeated_ids: Vec<u64>,
    pub server: Option<ServerReport>,
    /// CPU time of the load generator itself during the measured window.
    pub client_cpu_s: Option<f64>,
    /// Why the run failed; empty if it passed.
    pub failures: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LatencyReport {
    pub count: u64,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

impl LatencyReport {
    /// From a histogram of microseconds, in milliseconds.
    pub fn from_micros(h: &Histogram) -> Self {
        let ms = |v: Option<u64>| v.map(|us| us as f64 / 1000.0);
        LatencyReport {
            count: h.count(),
            min: ms(h.min()),
            mean: h.mean().map(|us| us / 1000.0),
            p50: ms(h.percentile(50.0)),
            p90: ms(h.percentile(90.0)),
            p99: ms(h.percentile(99.0)),
            p999: ms(h.percentile(99.9)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub kind: String,
    pub total: u64,
    pub in_window: u64,
    pub samples: Vec<String>,
}

impl ErrorReport {
    pub fn new(kind: String, tally: FailureTally) -> Self {
        ErrorReport {
            kind,
            total: tally.total,
            in_window: tally.measured,
            samples: tally.samples,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ServerReport {
    pub pid: u32,
    /// VmHWM at the end of the run.
    pub peak_rss_mib: Option<f64>,
    /// utime + stime during the measured window.
    pub cpu_s_window: Option<f64>,
    /// utime + stime from the server's start to the end of the run.
    pub cpu_s_total: Option<f64>,
}

impl Report {
    /// The report for people: one figure per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |name: &str, value: String| {
            let _ = writeln!(out, "{name:<31} {value}");
        };
        let mode = match self.rate {
            Some(rate) => format!(
                "open loop, {rate} requests/s, at most {} in flight",
                self.concurrency
            ),
            None => format!("closed loop, {} in flight", self.concurrency),
        };
        line("mode", mode);
        line(
            "target",
            format!(
                "{}{}",
                self.target,
                if self.server_spawned {
                    " (spawned by bench)"
                } else {
                    ""
                }
            ),
        );
        for (name, value) in &self.details {
            line(name, value.clone());
        }
        line("warmup (excluded)", format!("{:.1} s", self.warmup_s));
        line("measured window", format!("{:.1} s", self.measured_s));
        let unit = self.unit;
        line(
            &format!("{unit} accepted"),
            format!(
                "{} in window ({} over the whole run)",
                self.accepted_in_window, self.accepted_total
            ),
        );
        line(&format!("{unit}/s sustained"), format!("{:.1}", self.per_s));
        line(
            &format!("{unit}/s per second"),
            match (self.per_second_min, self.per_second_max) {
                (Some(min), Some(max)) => format!("min {min}, max {max}"),
                _ => "n/a".into(),
            },
        );
        let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2} ms"));
        let l = &self.latency_ms;
        line("latency samples", l.count.to_string());
        line("latency min", ms(l.min));
        line("latency p50", ms(l.p50));
        line("latency p90", ms(l.p90));
        line("latency p99", ms(l.p99));
        line("latency p99.9", ms(l.p999));
        line("latency max", ms(l.max));
        line("latency mean", ms(l.mean));
        if let Some(lag) = &self.send_lag_ms {
            line("send lag p99 (open loop)", ms(lag.p99));
            line("send lag max (open loop)", ms(lag.max));
        }
        if self.errors.is_empty() {
            line("errors", "none".into());
        }
        for e in &self.errors {
            line(
                &format!("errors: {}", e.kind),
                format!("{} ({} in window)", e.total, e.in_window),
            );
            for s in &e.samples {
                line("  sample", s.clone());
            }
        }
        line(
            &format!("unique {}", self.ids),
            format!("{} of {} accepted {unit}", self.distinct_ids, self.acknowledged),
        );
        if !self.repeated_ids.is_empty() {
            line("  repeated (FAIL)", format!("{:?}", self.repeated_ids));
        }
        match &self.server {
            Some(s) => {
                line(
                    "server peak memory (VmHWM)",
                    s.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
                );
                line(
                    "server CPU time in window",
                    s.cpu_s_window.map_or("n/a".into(), |c| {
                        format!("{c:.2} s ({:.2} cores)", c / self.measured_s)
                    }),
                );
                line(
                    "server CPU time whole run",
                    s.cpu_s_total.map_or("n/a".into(), |c| format!("{c:.2} s")),
                );
            }
            None => line(
                "server memory and CPU",
                "not measured (pass --server-pid, or let bench spawn the server)".into(),
            ),
        }
        if let Some(c) = self.client_cpu_s {
            line(
                "load generator CPU in window",
                format!("{c:.2} s ({:.2} cores)", c / self.measured_s),
            );
        }
        if self.failures.is_empty() {
            line("verdict", "PASS".into());
        } else {
            for f in &self.failures {
                line("verdict", format!("FAIL: {f}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_report_converts_micros_to_millis() {
        let mut h = Histogram::default();
        for us in [1_000, 2_000, 3_000, 4_000] {
            h.record(us);
        }
        let r = LatencyReport::from_micros(&h);
        assert_eq!(r.count, 4);
        assert_eq!(r.max, Some(4.0));
        assert_eq!(r.mean, Some(2.5));
        assert!(r.p50.unwrap() >= 2.0 && r.p50.unwrap() <= 2.0 * (1.0 + 1.0 / 128.0));
        assert_eq!(LatencyReport::from_micros(&Histogram::default()).p99, None);
    }
}
