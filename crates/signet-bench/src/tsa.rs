//! `signet bench tsa`: POSTs real, distinct DER `TimeStampReq`s (RFC 3161 §2.4.1) to
//! `{url}/api/v1/timestamp` and checks what a timestamp authority promises.
//!
//! Request `i` asks for a timestamp over the data `run_id || i` (see `run_id.rs`): a SHA-256
//! message imprint, a nonce of its own, and `certReq` true, as sigstore clients send them. The
//! requests are encoded before the clock starts (`--requests`, by default what 40,000
//! timestamps/s would need, 69 bytes each and an 8-byte offset); past the end of that pool they are encoded as
//! they are sent (a SHA-256 and a few bytes of DER), and the report says how many were.
//!
//! Every answer is parsed: it must be a granted `TimeStampResp` whose token carries the
//! request's imprint and nonce, and no two tokens may share a serial number (compared on their
//! first 8 bytes). One answer in `--verify-every` is verified in full with
//! [`signet_x509::verify_timestamp`] against the TSA chain of the server's `trusted_root.json`
//! (signature, chain, EKU, validity, signing-certificate attribute), as a client would. One
//! request is sent and verified before anything else, to fail fast if the URL or the trust root
//! is wrong.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use signet_crypto::HashAlgorithm;
use signet_formats::trust::TrustedRoot;
use signet_x509::{verify_timestamp, PkiStatus, TimestampRequest, TimestampResponse, TsaTrust};

use super::record::{sample, Failure, Outcome};
use super::run_id::RunId;
use super::{build_report, drive, finish, Describe, Endpoint, LoadArgs, Prepared, Target, Workload};

/// Closed-loop pre-building assumes the TSA sustains at most this many timestamps per second.
const ASSUMED_MAX_RATE: u64 = 40_000;
/// Default pre-built pool is capped at this many requests (about 310 MB).
const MAX_DEFAULT_REQUESTS: u64 = 4_000_000;

/// Arguments of `signet bench tsa`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchTsaArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Requests to encode before the clock starts (default: what the run needs, see above).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Verify one answer in this many in full against the trusted root (1: every answer).
    #[arg(long, default_value_t = 100)]
    pub verify_every: u64,
    /// trusted_root.json listing the TSA (required with --url; a spawned server's own
    /// otherwise).
    #[arg(long)]
    pub trusted_root: Option<PathBuf>,
}

/// Makes request `i` of a run.
struct RequestFactory {
    run_id: RunId,
}

impl RequestFactory {
    /// The nonce of request `i`: distinct per request, 8 bytes, positive, top byte non-zero
    /// (so its INTEGER is exactly these 8 bytes, as the token echoes it).
    fn nonce(&self, i: u64) -> [u8; 8] {
        let n = (self.run_id.prefix() ^ i) & !(1 << 63) | (1 << 62);
        n.to_be_bytes()
    }

    fn request(&self, i: u64) -> anyhow::Result<TimestampRequest> {
        let mut request = TimestampRequest::new(HashAlgorithm::Sha2_256, self.run_id.digest(i).to_vec())?;
        request.nonce = Some(self.nonce(i).to_vec());
        request.cert_req = true;
        Ok(request)
    }

    fn der(&self, i: u64) -> anyhow::Result<Vec<u8>> {
        self.request(i)?
            .to_der()
            .with_context(|| format!("encoding TimeStampReq {i}"))
    }
}

/// Requests `0..count`, DER, end to end in one buffer.
struct Pool {
    arena: Bytes,
    /// `ends[i]` is where request `i` ends in the arena.
    ends: Vec<usize>,
}

impl Pool {
    fn build(factory: &RequestFactory, count: u64) -> anyhow::Result<Self> {
        let mut arena = Vec::new();
        let mut ends = Vec::new();
        for i in 0..count {
            arena.extend_from_slice(&factory.der(i)?);
            ends.push(arena.len());
        }
        Ok(Pool {
            arena: Bytes::from(arena),
            ends,
        })
    }

    fn get(&self, i: u64) -> Option<Bytes> {
        let i = usize::try_from(i).ok()?;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(self.arena.slice(start..end))
    }
}

/// The timestamp requests of a run and the checks on their answers.
struct TsaWorkload {
    factory: RequestFactory,
    pool: Pool,
    next: AtomicU64,
    built_during_run: AtomicU64,
    trust: Vec<TsaTrust>,
    verify_every: u64,
    verified: AtomicU64,
}

impl Workload for TsaWorkload {
    async fn next(&self) -> anyhow::Result<Prepared> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let body = match self.pool.get(id) {
            Some(body) => body,
            None => {
                self.built_during_run.fetch_add(1, Ordering::Relaxed);
                Bytes::from(self.factory.der(id)?)
            }
        };
        Ok(Prepared { id, body })
    }

    fn judge(&self, id: u64, status: u16, body: &[u8]) -> Outcome {
        self.check(id, status, body, id.is_multiple_of(self.verify_every))
    }
}

impl TsaWorkload {
    /// Checks the answer to request `id`; `in_full` also verifies the token against the
    /// trusted root.
    fn check(&self, id: u64, status: u16, body: &[u8], in_full: bool) -> Outcome {
        if !(200..300).contains(&status) {
            return Outcome::failed(Failure::Status(status), describe_rejection(body));
        }
        let response = match TimestampResponse::from_der(body) {
            Ok(response) => response,
            Err(e) => return Outcome::failed(Failure::TimestampUnparsable, e.to_string()),
        };
        if !matches!(response.status, PkiStatus::Granted | PkiStatus::GrantedWithMods) {
            return Outcome::failed(
                Failure::TimestampNotGranted,
                format!("{:?}: {:?}", response.status, response.status_text),
            );
        }
        let Some(token) = response.token else {
            return Outcome::failed(Failure::TimestampUnparsable, "granted without a token");
        };
        let tst = &token.tst_info;
        let digest = self.factory.run_id.digest(id);
        if tst.message_imprint.hashed_message.as_bytes() != digest {
            return Outcome::failed(
                Failure::TimestampMismatch,
                format!("request {id}: messageImprint is not the request's"),
            );
        }
        let nonce = self.factory.nonce(id);
        if tst.nonce.as_ref().map(|n| n.as_bytes()) != Some(&nonce[..]) {
            return Outcome::failed(
                Failure::TimestampMismatch,
                format!("request {id}: nonce is not the request's"),
            );
        }
        if in_full {
            match verify_timestamp(body, &self.factory.run_id.data(id), &self.trust) {
                Ok(_) => {
                    self.verified.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Outcome::failed(Failure::TimestampUnverified, e.to_string()),
            }
        }
        let serial = tst.serial_number.as_bytes();
        let mut first = [0u8; 8];
        let n = serial.len().min(8);
        first[..n].copy_from_slice(&serial[..n]);
        Outcome::Accepted {
            id: u64::from_be_bytes(first),
        }
    }
}

/// A TSA's refusal is a DER TimeStampResp; its status text says why.
fn describe_rejection(body: &[u8]) -> String {
    match TimestampResponse::from_der(body) {
        Ok(r) => format!(
            "{:?} {:?}: {}",
            r.status,
            r.failure_info,
            r.status_text.join("; ")
        ),
        Err(_) => sample(body),
    }
}

/// The TSAs of the trusted root at `path`.
fn read_trust(path: &std::path::Path) -> anyhow::Result<Vec<TsaTrust>> {
    let json = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let root = TrustedRoot::from_json(&json).with_context(|| format!("parsing {}", path.display()))?;
    let trust =
        TsaTrust::from_trusted_root(&root).with_context(|| format!("the TSAs of {}", path.display()))?;
    if trust.is_empty() {
        bail!("{} lists no timestamp authority", path.display());
    }
    Ok(trust)
}

/// Runs `signet bench tsa`: prints the report, and fails if a 2xx answer was not a granted
/// timestamp for the request, a sampled token did not verify, or two tokens shared a serial.
pub async fn run_tsa(args: BenchTsaArgs) -> anyhow::Result<()> {
    let load = &args.load;
    load.validate()?;
    if args.verify_every == 0 {
        bail!("--verify-every must be at least 1");
    }
    let trusted_root = match (&args.trusted_root, &load.url) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(_)) => bail!("--url needs --trusted-root <trusted_root.json> listing that TSA"),
        (None, None) => None,
    };
    let target = Target::open(load, "/tsa").await?;
    let (trusted_root, trust_source) = match (trusted_root, &target.spawned) {
        (Some(path), _) => (path.clone(), path.display().to_string()),
        (None, Some(server)) => (
            server.data_dir().join("trusted_root.json"),
            "the spawned server's trusted_root.json".to_owned(),
        ),
        (None, None) => unreachable!("no --url means a spawned server"),
    };
    let endpoint = Endpoint {
        uri: target.endpoint("/api/v1/timestamp")?,
        content_type: "application/timestamp-query",
    };

    let mut workload = TsaWorkload {
        factory: RequestFactory {
            run_id: RunId::fresh(),
        },
        pool: Pool {
            arena: Bytes::new(),
            ends: Vec::new(),
        },
        next: AtomicU64::new(0),
        built_during_run: AtomicU64::new(0),
        trust: read_trust(&trusted_root)?,
        verify_every: args.verify_every,
        verified: AtomicU64::new(0),
    };

    // One request before anything else, verified in full: a wrong URL or trust root fails here.
    // Its index is outside the run's sequence, so its imprint and nonce are its own.
    let preflight_id = u64::MAX;
    let preflight_serial = target
        .preflight(
            &endpoint,
            Bytes::from(workload.factory.der(preflight_id)?),
            |status, body| workload.check(preflight_id, status, body, true),
        )
        .await?;

    let count = args
        .requests
        .unwrap_or_else(|| load.prepared_count(ASSUMED_MAX_RATE, MAX_DEFAULT_REQUESTS));
    eprintln!("[bench] encoding {count} TimeStampReqs");
    let built = Instant::now();
    workload.pool = Pool::build(&workload.factory, count)?;
    let build_seconds = built.elapsed().as_secs_f64();
    let workload = Arc::new(workload);

    let target_url = target.base_url.clone();
    let mut measured = drive(load, target, endpoint, workload.clone(), "granted").await;
    measured.recorder.ids.push(preflight_serial);

    let verified = workload.verified.load(Ordering::Relaxed);
    let describe = Describe {
        unit: "timestamps",
        ids: "serial numbers",
        details: vec![
            (
                "requests".into(),
                "DER TimeStampReq, SHA-256 imprint, nonce, certReq true".into(),
            ),
            (
                "pre-encoded requests".into(),
                format!("{count} in {build_seconds:.1} s"),
            ),
            (
                "encoded during the run".into(),
                workload.built_during_run.load(Ordering::Relaxed).to_string(),
            ),
            (
                "verified in full".into(),
                format!(
                    "{verified} (1 in {}, and the pre-flight) against {trust_source}",
                    args.verify_every,
                ),
            ),
        ],
    };
    let report = build_report(load, target_url, describe, measured);
    finish(&report, load.json, "tsa")
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_x509::TimestampRequest;

    #[test]
    fn requests_are_distinct_and_parse() {
        let factory = RequestFactory {
            run_id: RunId::fresh(),
        };
        let pool = Pool::build(&factory, 50).unwrap();
        let mut imprints = std::collections::HashSet::new();
        let mut nonces = std::collections::HashSet::new();
        for i in 0..50 {
            let der = pool.get(i).unwrap();
            let request = TimestampRequest::from_der(&der).unwrap();
            assert_eq!(request, factory.request(i).unwrap());
            assert!(request.cert_req);
            assert_eq!(request.nonce.as_deref(), Some(&factory.nonce(i)[..]));
            assert!(imprints.insert(request.hashed_message));
            assert!(nonces.insert(factory.nonce(i)));
        }
        assert!(pool.get(50).is_none());
    }

    /// Answers from a real TSA pass every check; an answer to another request does not.
    #[test]
    fn answers_of_a_real_tsa_are_judged() {
        let dir = tempfile::tempdir().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let tsa = signet_tsa::Tsa::open_or_create(dir.path(), now).unwrap();
        let factory = RequestFactory {
            run_id: RunId::fresh(),
        };
        let answer = |i: u64| tsa.respond_der(&factory.der(i).unwrap(), now).unwrap();
        let (a0, a1) = (answer(0), answer(1));
        let workload = TsaWorkload {
            factory,
            pool: Pool::build(
                &RequestFactory {
                    run_id: RunId::fresh(),
                },
                0,
            )
            .unwrap(),
            next: AtomicU64::new(0),
            built_during_run: AtomicU64::new(0),
            trust: vec![TsaTrust::from_authority(&tsa.trusted_root_entry()).unwrap()],
            verify_every: 1,
            verified: AtomicU64::new(0),
        };
        assert!(matches!(
            workload.check(0, 200, &a0, true),
            Outcome::Accepted { .. }
        ));
        assert!(matches!(
            workload.check(1, 200, &a1, false),
            Outcome::Accepted { .. }
        ));
        assert_eq!(workload.verified.load(Ordering::Relaxed), 1);
        let failure = |o: Outcome| match o {
            Outcome::Failed { failure, .. } => failure,
            other => panic!("expected a failure, got {other:?}"),
        };
        assert_eq!(
            failure(workload.check(1, 200, &a0, false)),
            Failure::TimestampMismatch
        );
        assert_eq!(
            failure(workload.check(0, 200, b"junk", false)),
            Failure::TimestampUnparsable
        );
        let rejection = tsa.respond_der(b"junk", now).unwrap_err().response;
        assert_eq!(
            failure(workload.check(0, 400, &rejection, false)),
            Failure::Status(400)
        );
        assert_eq!(
            failure(workload.check(0, 200, &rejection, false)),
            Failure::TimestampNotGranted
        );
        // A token that parses but is not signed by the trusted TSA fails full verification.
        let other = tempfile::tempdir().unwrap();
        let stranger = signet_tsa::Tsa::open_or_create(other.path(), now).unwrap();
        let forged = stranger
            .respond_der(&workload.factory.der(0).unwrap(), now)
            .unwrap();
        assert!(matches!(
            workload.check(0, 200, &forged, false),
            Outcome::Accepted { .. }
        ));
        assert_eq!(
            failure(workload.check(0, 200, &forged, true)),
            Failure::TimestampUnverified
        );
    }
}
