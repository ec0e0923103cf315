//! What one request's answer means, and the per-worker tally of answers over the run's phases.
//! Pure: times are arguments, and the only input from the server is its status and body.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::histogram::Histogram;

/// Sample bodies kept per kind of failure, and the length each is cut to.
const SAMPLES_PER_KIND: usize = 3;
const SAMPLE_LEN: usize = 300;

/// Why a request did not produce a well-formed acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failure {
    /// A non-2xx answer: the entry was rejected (4xx) or the server failed (5xx).
    Status(u16),
    /// No complete answer within `--timeout`.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// The connection failed while sending or reading (including a body over the size limit).
    Transport,
    /// The load generator could not produce an entry to send.
    Client,
    /// Open loop: scheduled before the end but not sent by then, all requests in flight being
    /// still unanswered. Not a server error, but the log did not keep up with `--rate`.
    Unsent,
    /// 2xx, but the body is not a JSON TransparencyLogEntry.
    AckUnparsable,
    /// 2xx, but `logIndex` is absent or not a decimal integer.
    AckWithoutLogIndex,
    /// 2xx, but no `inclusionProof`: the entry was acknowledged before it was integrated.
    AckWithoutInclusionProof,
    /// 2xx, but `inclusionProof.logIndex` differs from `logIndex`, or `treeSize <= logIndex`.
    AckInconsistentProof,
    /// 2xx, but the body is not a DER TimeStampResp with a token.
    TimestampUnparsable,
    /// 2xx, but the TimeStampResp's status is not granted.
    TimestampNotGranted,
    /// A granted token whose messageImprint or nonce is not the request's.
    TimestampMismatch,
    /// A sampled token that does not verify against the TSA's trusted chain.
    TimestampUnverified,
    /// 2xx, but not a `SigningCertificate` with a chain of three PEM certificates.
    CertificateUnparsable,
    /// A certificate for another key or another identity than the request's.
    CertificateMismatch,
    /// A sampled certificate whose chain or embedded SCT does not verify.
    CertificateUnverified,
    /// A signing round trip (token, certificate, timestamp, log entry, bundle) failed.
    SignFailed,
    /// A bundle the signing client produced that does not verify.
    BundleUnverified,
}

impl Failure {
    /// True for answers that claim the entry was logged but do not prove it: these fail the run.
    pub fn is_bad_acknowledgement(self) -> bool {
        matches!(
            self,
            Failure::AckUnparsable
                | Failure::AckWithoutLogIndex
                | Failure::AckWithoutInclusionProof
                | Failure::AckInconsistentProof
                | Failure::TimestampUnparsable
                | Failure::TimestampNotGranted
                | Failure::TimestampMismatch
                | Failure::TimestampUnverified
                | Failure::CertificateUnparsable
                | Failure::CertificateMismatch
                | Failure::CertificateUnverified
                | Failure::BundleUnverified
        )
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(code) => write!(f, "HTTP {code}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connect => f.write_str("connect error"),
            Failure::Transport => f.write_str("transport error"),
            Failure::Client => f.write_str("load generator error"),
            Failure::Unsent => f.write_str("scheduled but never sent (log behind --rate)"),
            Failure::AckUnparsable => f.write_str("2xx with an unparsable body"),
            Failure::AckWithoutLogIndex => f.write_str("2xx without a valid logIndex"),
            Failure::AckWithoutInclusionProof => f.write_str("2xx without inclusionProof"),
            Failure::AckInconsistentProof => {
                f.write_str("2xx with inclusionProof inconsistent with logIndex")
            }
            Failure::TimestampUnparsable => f.write_str("2xx without a parsable TimeStampResp"),
            Failure::TimestampNotGranted => f.write_str("2xx with a TimeStampResp not granted"),
            Failure::TimestampMismatch => {
                f.write_str("timestamp for another imprint or nonce than requested")
            }
            Failure::TimestampUnverified => f.write_str("sampled timestamp failed verification"),
            Failure::CertificateUnparsable => f.write_str("2xx without a chain of three PEM certificates"),
            Failure::CertificateMismatch => {
                f.write_str("certificate for another key or identity than requested")
            }
            Failure::CertificateUnverified => {
                f.write_str("sampled certificate failed chain or SCT verification")
            }
            Failure::SignFailed => f.write_str("signing round trip failed"),
            Failure::BundleUnverified => f.write_str("bundle failed verification"),
        }
    }
}

/// One request's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted { id: u64 },
    Failed { failure: Failure, detail: String },
}

impl Outcome {
    pub fn failed(failure: Failure, detail: impl Into<String>) -> Self {
        Outcome::Failed {
            failure,
            detail: detail.into(),
        }
    }
}

/// The fields of Rekor v2's TransparencyLogEntry (protobuf-JSON) that the load generator checks.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransparencyLogEntry {
    log_index: Option<ProtoInt64>,
    inclusion_proof: Option<InclusionProof>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionProof {
    log_index: Option<ProtoInt64>,
    tree_size: Option<ProtoInt64>,
}

/// A protobuf-JSON int64: a decimal string, though parsers also accept a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum ProtoInt64 {
    Text(String),
    Number(u64),
}

impl ProtoInt64 {
    fn value(&self) -> Option<u64> {
        match self {
            ProtoInt64::Text(s) => s.parse().ok(),
            ProtoInt64::Number(n) => Some(*n),
        }
    }
}

/// Classifies the log's answer to a create-entry request.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    if !(200..300).contains(&status) {
        return Outcome::failed(Failure::Status(status), sample(body));
    }
    let entry: TransparencyLogEntry = match serde_json::from_slice(body) {
        Ok(entry) => entry,
        Err(e) => return Outcome::failed(Failure::AckUnparsable, format!("{e}: {}", sample(body))),
    };
    let Some(log_index) = entry.log_index.as_ref().and_then(ProtoInt64::value) else {
        return Outcome::failed(Failure::AckWithoutLogIndex, sample(body));
    };
    let Some(proof) = entry.inclusion_proof else {
        return Outcome::failed(Failure::AckWithoutInclusionProof, sample(body));
    };
    let proof_index = proof.log_index.as_ref().and_then(ProtoInt64::value);
    let tree_size = proof.tree_size.as_ref().and_then(ProtoInt64::value);
    if proof_index.is_some_and(|p| p != log_index) || tree_size.is_some_and(|t| t <= log_index) {
        return Outcome::failed(Failure::AckInconsistentProof, sample(body));
    }
    Outcome::Accepted { id: log_index }
}

/// A body cut to [`SAMPLE_LEN`] characters for the report.
pub fn sample(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(SAMPLE_LEN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The phases of a run: warmup from `start` to `measure_start`, then the measured window to
/// `end`; answers after `end` are the drain.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub measure_start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn measured(&self) -> Duration {
        self.end - self.measure_start
    }

    fn contains(&self, t: Instant) -> bool {
        self.measure_start <= t && t < self.end
    }
}

/// Count and sample answers of one kind of failure.
#[derive(Debug, Clone, Default)]
pub struct FailureTally {
    /// Over the whole run (warmup, window and drain).
    pub total: u64,
    /// Requests started in the measured window.
    pub measured: u64,
    pub samples: Vec<String>,
}

/// One worker's tally; workers' tallies are merged at the end.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    /// Time to integration of accepted entries whose request started (or, open loop, was
    /// scheduled) in the measured window, in µs, including those answered during the drain.
    pub latency_us: Histogram,
    /// Open loop only: how late requests started in the window were sent after their scheduled
    /// time, in µs (client or in-flight cap falling behind).
    pub send_lag_us: Histogram,
    /// Entries accepted by completion time in each second of the measured window.
    pub per_second: Vec<u64>,
    /// Every accepted request's id (log index, serial number) over the whole run.
    pub ids: Vec<u64>,
    pub failures: BTreeMap<Failure, FailureTally>,
}

impl Recorder {
    pub fn new(window: &Window) -> Self {
        Recorder {
            per_second: vec![0; window.measured().as_secs_f64().ceil() as usize],
            ..Recorder::default()
        }
    }

    /// Records a request that started (or was scheduled) at `start` and was answered at `done`.
    pub fn record(&mut self, window: &Window, start: Instant, done: Instant, outcome: Outcome) {
        let started_in_window = window.contains(start);
        match outcome {
            Outcome::Accepted { id } => {
                self.ids.push(id);
                if started_in_window {
                    self.latency_us
                        .record(micros(done.saturating_duration_since(start)));
                }
                if window.contains(done) {
                    let second = (done - window.measure_start).as_secs() as usize;
                    if let Some(n) = self.per_second.get_mut(second) {
                        *n += 1;
                    }
                }
            }
            Outcome::Failed { failure, detail } => {
                let tally = self.failures.entry(failure).or_default();
                tally.total += 1;
                if started_in_window {
                    tally.measured += 1;
                }
                if tally.samples.len() < SAMPLES_PER_KIND && !detail.is_empty() {
                    tally.samples.push(detail);
                }
            }
        }
    }

    /// Records how late an open-loop request was sent after its scheduled time.
    pub fn record_send_lag(&mut self, window: &Window, scheduled: Instant, sent: Instant) {
        if window.contains(scheduled) {
            self.send_lag_us
                .record(micros(sent.saturating_duration_since(scheduled)));
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        self.latency_us.merge(&other.latency_us);
        self.send_lag_us.merge(&other.send_lag_us);
        if other.per_second.len() > self.per_second.len() {
            self.per_second.resize(other.per_second.len(), 0);
        }
        for (mine, theirs) in self.per_second.iter_mut().zip(&other.per_second) {
            *mine += theirs;
        }
        self.ids.extend(other.ids);
        for (failure, theirs) in other.failures {
            let mine = self.failures.entry(failure).or_default();
            mine.total += theirs.total;
            mine.measured += theirs.measured;
            let room = SAMPLES_PER_KIND.saturating_sub(mine.samples.len());
            mine.samples.extend(theirs.samples.into_iter().take(room));
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Sorts `ids` and returns how many distinct values it holds and up to `examples` values
/// that occur more than once.
pub fn distinct_ids(ids: &mut [u64], examples: usize) -> (u64, Vec<u64>) {
    ids.sort_unstable();
    let mut distinct = 0u64;
    let mut repeated = Vec::new();
    for (i, &v) in ids.iter().enumerate() {
        if i == 0 || ids[i - 1] != v {
            distinct += 1;
        } else if repeated.len() < examples && repeated.last() != Some(&v) {
            repeated.push(v);
        }
    }
    (distinct, repeated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"logIndex":"41","logId":{"keyId":"AAAA"},"kindVersion":{"kind":"hashedrekord","version":"0.0.2"},"inclusionProof":{"logIndex":"41","rootHash":"AAAA","treeSize":"42","hashes":["AAAA"],"checkpoint":{"envelope":"x"}},"canonicalizedBody":"e30="}"#;

    fn failure(o: Outcome) -> Failure {
        match o {
            Outcome::Failed { failure, .. } => failure,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn acknowledgements_are_checked() {
        assert_eq!(classify(201, GOOD.as_bytes()), Outcome::Accepted { id: 41 });
        assert_eq!(
            classify(200, br#"{"logIndex":7,"inclusionProof":{}}"#),
            Outcome::Accepted { id: 7 }
        );
        assert_eq!(failure(classify(201, b"<html>")), Failure::AckUnparsable);
        assert_eq!(failure(classify(201, b"[1]")), Failure::AckUnparsable);
        assert_eq!(
            failure(classify(201, br#"{"inclusionProof":{}}"#)),
            Failure::AckWithoutLogIndex
        );
        assert_eq!(
            failure(classify(201, br#"{"logIndex":"-1","inclusionProof":{}}"#)),
            Failure::AckWithoutLogIndex
        );
        assert_eq!(
            failure(classify(201, br#"{"logIndex":"3"}"#)),
            Failure::AckWithoutInclusionProof
        );
        assert_eq!(
            failure(classify(
                201,
                br#"{"logIndex":"3","inclusionProof":{"logIndex":"4"}}"#
            )),
            Failure::AckInconsistentProof
        );
        assert_eq!(
            failure(classify(
                201,
                br#"{"logIndex":"3","inclusionProof":{"treeSize":"3"}}"#
            )),
            Failure::AckInconsistentProof
        );
        assert!(Failure::AckWithoutLogIndex.is_bad_acknowledgement());
        assert!(!Failure::Status(400).is_bad_acknowledgement());
    }

    #[test]
    fn rejections_keep_a_cut_sample() {
        let long = "x".repeat(1000);
        match classify(400, long.as_bytes()) {
            Outcome::Failed { failure, detail } => {
                assert_eq!(failure, Failure::Status(400));
                assert_eq!(detail.chars().count(), SAMPLE_LEN + 1);
            }
            other => panic!("{other:?}"),
        }
        // Invalid UTF-8 and multi-byte characters at the cut never panic.
        let _ = classify(500, &[0xff, 0xfe, b'a']);
        let _ = classify(500, "é".repeat(400).as_bytes());
    }

    #[test]
    fn phases_decide_what_counts() {
        let t0 = Instant::now();
        let window = Window {
            start: t0,
            measure_start: t0 + Duration::from_secs(5),
            end: t0 + Duration::from_secs(8),
        };
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let mut r = Recorder::new(&window);
        assert_eq!(r.per_second.len(), 3);
        // Warmup request answered in the window: throughput yes, latency no.
        r.record(&window, t0 + s(4), t0 + s(5) + ms(1), Outcome::Accepted { id: 1 });
        // Window request answered in the window.
        r.record(
            &window,
            t0 + s(6),
            t0 + s(6) + ms(20),
            Outcome::Accepted { id: 2 },
        );
        // Window request answered during the drain: latency yes, throughput no.
        r.record(
            &window,
            t0 + s(7) + ms(900),
            t0 + s(9),
            Outcome::Accepted { id: 3 },
        );
        r.record(
            &window,
            t0 + s(1),
            t0 + s(2),
            Outcome::failed(Failure::Status(400), "a"),
        );
        r.record(
            &window,
            t0 + s(6),
            t0 + s(7),
            Outcome::failed(Failure::Status(400), "b"),
        );
        assert_eq!(r.per_second, vec![1, 1, 0]);
        assert_eq!(r.latency_us.count(), 2);
        assert_eq!(r.latency_us.min(), Some(20_000));
        assert_eq!(r.latency_us.max(), Some(1_100_000));
        let tally = &r.failures[&Failure::Status(400)];
        assert_eq!((tally.total, tally.measured), (2, 1));

        let mut other = Recorder::new(&window);
        other.record(&window, t0 + s(5), t0 + s(7), Outcome::Accepted { id: 2 });
        for _ in 0..5 {
            other.record(
                &window,
                t0 + s(5),
                t0 + s(5),
                Outcome::failed(Failure::Status(400), "c"),
            );
        }
        r.merge(other);
        assert_eq!(r.per_second, vec![1, 1, 1]);
        let tally = &r.failures[&Failure::Status(400)];
        assert_eq!((tally.total, tally.measured), (7, 6));
        assert_eq!(tally.samples, vec!["a", "b", "c"]);
        let (distinct, repeated) = distinct_ids(&mut r.ids, 10);
        assert_eq!((distinct, repeated), (3, vec![2]));
    }

    #[test]
    fn distinct_indices_reports_each_repeat_once() {
        let mut v = vec![5, 1, 5, 5, 2, 9, 2, 0];
        assert_eq!(distinct_ids(&mut v, 10), (5, vec![2, 5]));
        assert_eq!(distinct_ids(&mut v, 1), (5, vec![2]));
        assert_eq!(distinct_ids(&mut [], 3), (0, vec![]));
    }
}
