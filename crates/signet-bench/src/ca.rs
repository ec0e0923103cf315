//! `signet bench ca`: POSTs Fulcio v2 `signingCert` requests to `{url}/api/v2/signingCert`
//! and checks what a certificate authority promises. The server must run with `--dev-oidc`
//! (the spawned one does): the identity tokens come from its development OpenID provider.
//!
//! Before the clock starts, `--identities` email tokens are minted (`bench-N@example.com`,
//! reused across requests as Fulcio tokens are), and a pool of requests is built on every
//! core: for each, a FRESH ECDSA P-256 key and its proof of possession (a signature over the
//! token's email), as signing clients send them. The pool holds what 3,000 certificates/s
//! would need (`--requests`; 91 + 72 bytes each); past its end, keys are made as requests
//! are sent and the report says how many were. The request JSON is assembled at send time
//! (token, PEM key, base64 proof).
//!
//! Every answer is judged: 201, a chain of three PEM certificates, a leaf that certifies the
//! request's key, with the token's email as its SAN. One answer in `--verify-every` is verified
//! in full: the chain's signatures up to a root of the trusted root's certificate
//! authorities, the leaf's validity, and its embedded SCT against the trusted root's CT logs.
//! Leaf serial numbers must all differ (compared on their last 8 bytes, which are random).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use signet_crypto::{KeyKind, SigningKey};
use signet_formats::trust::TrustedRoot;
use signet_x509::fulcio::read_identity_from_certificate;
use signet_x509::identity::SubjectAlternativeName;
use signet_x509::sct::{verify_embedded_scts, CtLogKey};
use signet_x509::ParsedCertificate;

use super::record::{sample, Failure, Outcome};
use super::server::SpawnedServer;
use super::{build_report, drive, finish, submit, Describe, Endpoint, LoadArgs, Prepared, Target, Workload};

/// Closed-loop pre-building assumes the CA sustains at most this many certificates per second.
const ASSUMED_MAX_RATE: u64 = 3_000;
/// Default pre-built pool is capped at this many keys (about 60 MB).
const MAX_DEFAULT_REQUESTS: u64 = 400_000;
/// Lifetime asked for the minted tokens: the longest the development provider grants.
const TOKEN_LIFETIME_SECS: u64 = 3600;

/// Arguments of `signet bench ca`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchCaArgs {
    /// --url is the server's root (the CA answers at {url}/api/v2/signingCert and the
    /// development OpenID provider at {url}/oidc), e.g. http://127.0.0.1:3000.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Distinct identities (email tokens) the requests cycle through.
    #[arg(long, default_value_t = 64)]
    pub identities: usize,
    /// Fresh keys and proofs to make before the clock starts (default: see above).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Verify one certificate in this many in full: chain and embedded SCT (1: every one).
    #[arg(long, default_value_t = 100)]
    pub verify_every: u64,
    /// trusted_root.json naming the CA and its CT log (required with --url; a spawned
    /// server's own otherwise).
    #[arg(long)]
    pub trusted_root: Option<PathBuf>,
}

/// An identity the requests are made for: the email and a token the CA accepts for it.
#[derive(Debug, Clone)]
pub struct DevIdentity {
    pub email: String,
    pub token: String,
}

/// Opens the server's root as the target: the one at `--url`, or a `signet server --dev-oidc`
/// bench starts (and stops when the target is dropped).
pub async fn open_dev_server(load: &LoadArgs) -> anyhow::Result<Target> {
    if load.url.is_some() {
        return Target::open(load, "").await;
    }
    eprintln!("[bench] starting signet server --dev-oidc");
    let server = SpawnedServer::start_with_flags(&["--dev-oidc"]).await?;
    let opened = LoadArgs {
        url: Some(server.root_url.clone()),
        ..load.clone()
    };
    let mut target = Target::open(&opened, "").await?;
    target.server_pid = Some(server.pid());
    target.spawned = Some(server);
    Ok(target)
}

/// The trusted root to check answers against: `given`, or the spawned server's own.
pub fn trusted_root_path(given: Option<&Path>, target: &Target, file: &str) -> anyhow::Result<PathBuf> {
    match (given, &target.spawned) {
        (Some(path), _) => Ok(path.to_path_buf()),
        (None, Some(server)) => Ok(server.data_dir().join(file)),
        (None, None) => bail!("--url needs the server's {file} (see --help)"),
    }
}

/// Mints `count` email identity tokens, `bench-N@example.com`, from the development OpenID
/// provider at `{root}/oidc`.
pub async fn mint_identities(target: &Target, count: usize) -> anyhow::Result<Vec<DevIdentity>> {
    #[derive(Deserialize)]
    struct TokenResponse {
        id_token: String,
    }
    let endpoint = Endpoint {
        uri: target.endpoint("/oidc/dev/token")?,
        content_type: "application/json",
    };
    let mut identities = Vec::with_capacity(count);
    for n in 0..count {
        let email = format!("bench-{n}@example.com");
        let body = serde_json::json!({ "email": email, "lifetime_seconds": TOKEN_LIFETIME_SECS });
        let (status, answer) = submit(
            &target.client,
            &endpoint,
            target.timeout,
            Bytes::from(body.to_string()),
        )
        .await
        .map_err(|o| anyhow!("minting a token at {}: {o:?}", endpoint.uri))?;
        if status != 200 {
            bail!(
                "{} answered {status} to a token request (is the server running with --dev-oidc?): {}",
                endpoint.uri,
                sample(&answer)
            );
        }
        let token: TokenResponse = serde_json::from_slice(&answer)
            .with_context(|| format!("{} answered without an id_token", endpoint.uri))?;
        identities.push(DevIdentity {
            email,
            token: token.id_token,
        });
    }
    Ok(identities)
}

/// A fresh key's public half and its proof of possession for one identity.
struct KeyRequest {
    spki_der: Box<[u8]>,
    proof: Box<[u8]>,
}

impl KeyRequest {
    /// A fresh P-256 key and its signature over `email` (Fulcio's challenge for email tokens).
    fn generate(email: &str) -> anyhow::Result<Self> {
        let key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| anyhow!("generating a key: {e}"))?;
        let proof = key
            .sign(email.as_bytes())
            .map_err(|e| anyhow!("signing the proof of possession: {e}"))?;
        Ok(KeyRequest {
            spki_der: key.public_key().spki_der().into(),
            proof: proof.into(),
        })
    }
}

/// `CreateSigningCertificateRequest` (Fulcio API v2) with a PEM key and a signed challenge.
fn request_body(identity: &DevIdentity, key: &KeyRequest) -> Bytes {
    let pem = pem::encode(&pem::Pem::new("PUBLIC KEY", key.spki_der.to_vec()));
    let body = serde_json::json!({
        "credentials": { "oidcIdentityToken": identity.token },
        "publicKeyRequest": {
            "publicKey": { "algorithm": "ECDSA", "content": pem },
            "proofOfPossession": B64.encode(&key.proof),
        }
    });
    Bytes::from(body.to_string())
}

/// Builds keys for requests `0..count` on `threads` threads.
fn build_pool(identities: &[DevIdentity], count: u64, threads: usize) -> anyhow::Result<Vec<KeyRequest>> {
    let count = usize::try_from(count).context("pool size")?;
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(per_thread)
            .map(|first| {
                scope.spawn(move || {
                    (first..(first + per_thread).min(count))
                        .map(|i| KeyRequest::generate(&identities[i % identities.len()].email))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut pool = Vec::with_capacity(count);
        for w in workers {
            pool.extend(
                w.join()
                    .map_err(|_| anyhow!("a key-building thread panicked"))??,
            );
        }
        Ok(pool)
    })
}

/// The `SigningCertificate` answer's fields the bench reads.
#[derive(Deserialize)]
struct SigningCertificate {
    #[serde(rename = "signedCertificateEmbeddedSct")]
    embedded: Option<EmbeddedSct>,
}

#[derive(Deserialize)]
struct EmbeddedSct {
    chain: Chain,
}

#[derive(Deserialize)]
struct Chain {
    certificates: Vec<String>,
}

/// What the trusted root says about the CA: its root certificates and its CT logs' keys.
struct CaTrust {
    roots: Vec<Vec<u8>>,
    ct_logs: Vec<CtLogKey>,
}

impl CaTrust {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let json = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let root = TrustedRoot::from_json(&json).with_context(|| format!("parsing {}", path.display()))?;
        let roots: Vec<Vec<u8>> = root
            .certificate_authorities
            .iter()
            .filter_map(|ca| ca.cert_chain.certificates.last())
            .map(|c| c.raw_bytes.clone())
            .collect();
        let ct_logs = signet_verify::PreparedTrust::from_trusted_root(&root).ct_logs;
        if roots.is_empty() || ct_logs.is_empty() {
            bail!("{} lists no certificate authority or no CT log", path.display());
        }
        Ok(CaTrust { roots, ct_logs })
    }
}

/// The certificate requests of a run and the checks on their answers.
struct CaWorkload {
    identities: Vec<DevIdentity>,
    pool: Vec<KeyRequest>,
    /// Expected keys of requests made past the end of the pool, until answered.
    overflow: Mutex<HashMap<u64, Box<[u8]>>>,
    next: AtomicU64,
    built_during_run: AtomicU64,
    trust: CaTrust,
    verify_every: u64,
    verified: AtomicU64,
}

impl Workload for CaWorkload {
    async fn next(&self) -> anyhow::Result<Prepared> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let identity = self.identity(id);
        let body = match usize::try_from(id).ok().and_then(|i| self.pool.get(i)) {
            Some(key) => request_body(identity, key),
            None => {
                self.built_during_run.fetch_add(1, Ordering::Relaxed);
                let key = KeyRequest::generate(&identity.email)?;
                let body = request_body(identity, &key);
                self.overflow
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, key.spki_der);
                body
            }
        };
        Ok(Prepared { id, body })
    }

    fn judge(&self, id: u64, status: u16, body: &[u8]) -> Outcome {
        let in_full = id.is_multiple_of(self.verify_every);
        match usize::try_from(id).ok().and_then(|i| self.pool.get(i)) {
            Some(key) => self.check(id, &key.spki_der, status, body, in_full),
            None => {
                let spki = self
                    .overflow
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                match spki {
                    Some(spki) => self.check(id, &spki, status, body, in_full),
                    None => Outcome::failed(Failure::Client, format!("request {id} has no expected key")),
                }
            }
        }
    }
}

impl CaWorkload {
    fn identity(&self, id: u64) -> &DevIdentity {
        &self.identities[(id % self.identities.len() as u64) as usize]
    }

    /// Checks the answer to request `id`, whose key is `spki_der`; `in_full` also verifies
    /// the chain and the embedded SCT.
    fn check(&self, id: u64, spki_der: &[u8], status: u16, body: &[u8], in_full: bool) -> Outcome {
        if status != 201 {
            return Outcome::failed(Failure::Status(status), sample(body));
        }
        let chain = match parse_chain(body) {
            Ok(chain) => chain,
            Err(e) => return Outcome::failed(Failure::CertificateUnparsable, format!("{e:#}")),
        };
        let leaf = &chain[0];
        let leaf_key = leaf.public_key();
        if leaf_key.as_ref().map(|k| k.spki_der()).ok() != Some(spki_der) {
            return Outcome::failed(
                Failure::CertificateMismatch,
                format!("request {id}: the leaf certifies another key than the request's"),
            );
        }
        let email = &self.identity(id).email;
        match read_identity_from_certificate(&leaf.cert) {
            Ok(identity) if identity.san == SubjectAlternativeName::Email(email.clone()) => {}
            Ok(identity) => {
                return Outcome::failed(
                    Failure::CertificateMismatch,
                    format!("request {id}: SAN {:?}, expected email {email}", identity.san),
                )
            }
            Err(e) => {
                return Outcome::failed(
                    Failure::CertificateUnparsable,
                    format!("the leaf's identity: {e}"),
                )
            }
        }
        if in_full {
            if let Err(e) = signet_client::unix_now().and_then(|now| self.verify_in_full(&chain, now)) {
                return Outcome::failed(Failure::CertificateUnverified, format!("request {id}: {e:#}"));
            }
            self.verified.fetch_add(1, Ordering::Relaxed);
        }
        let serial = leaf.cert.tbs_certificate.serial_number.as_bytes();
        let mut last = [0u8; 8];
        let n = serial.len().min(8);
        last[8 - n..].copy_from_slice(&serial[serial.len() - n..]);
        Outcome::Accepted {
            id: u64::from_be_bytes(last),
        }
    }

    /// What a verifier checks of a certificate before trusting its SAN: each certificate is
    /// signed by the next, the last is a trusted root, the leaf is valid now, and its embedded
    /// SCT is signed by a trusted CT log over the precertificate.
    fn verify_in_full(&self, chain: &[ParsedCertificate], now: i64) -> anyhow::Result<()> {
        for pair in chain.windows(2) {
            pair[0]
                .verify_issued_by(&pair[1])
                .map_err(|e| anyhow!("chain signature: {e}"))?;
        }
        let root = chain.last().expect("parse_chain returns three certificates");
        root.verify_issued_by(root)
            .map_err(|e| anyhow!("the root's self-signature: {e}"))?;
        if !self.trust.roots.contains(&root.der) {
            bail!("the chain ends at a root the trusted root does not list");
        }
        let (not_before, not_after) = chain[0].validity();
        if !(not_before <= now && now <= not_after) {
            bail!("the leaf is valid from {not_before} to {not_after}, not at {now}");
        }
        let issuer_key = chain[1]
            .public_key()
            .map_err(|e| anyhow!("the intermediate's key: {e}"))?;
        verify_embedded_scts(&chain[0].der, issuer_key.spki_der(), &self.trust.ct_logs)
            .map_err(|e| anyhow!("embedded SCT: {e}"))?;
        Ok(())
    }
}

/// The chain of a `SigningCertificate` answer: exactly three PEM certificates, parsed.
fn parse_chain(body: &[u8]) -> anyhow::Result<Vec<ParsedCertificate>> {
    let answer: SigningCertificate =
        serde_json::from_slice(body).map_err(|e| anyhow!("{e}: {}", sample(body)))?;
    let certificates = answer
        .embedded
        .ok_or_else(|| anyhow!("no signedCertificateEmbeddedSct: {}", sample(body)))?
        .chain
        .certificates;
    if certificates.len() != 3 {
        bail!(
            "{} certificates in the chain, expected 3 (leaf, intermediate, root)",
            certificates.len()
        );
    }
    certificates
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let block = pem::parse(text).map_err(|e| anyhow!("certificate {i} is not PEM: {e}"))?;
            if block.tag() != "CERTIFICATE" {
                bail!("certificate {i} is a PEM {:?}", block.tag());
            }
            ParsedCertificate::from_der(block.contents()).map_err(|e| anyhow!("certificate {i}: {e}"))
        })
        .collect()
}

/// Runs `signet bench ca`: prints the report, and fails if a 2xx answer was not a certificate
/// for the request's key and identity, a sampled one did not verify, or two leaves shared a
/// serial number.
pub async fn run_ca(args: BenchCaArgs) -> anyhow::Result<()> {
    let load = &args.load;
    load.validate()?;
    if args.verify_every == 0 {
        bail!("--verify-every must be at least 1");
    }
    if args.identities == 0 {
        bail!("--identities must be at least 1");
    }
    if load.url.is_some() && args.trusted_root.is_none() {
        bail!("--url needs --trusted-root <trusted_root.json> naming that CA and its CT log");
    }
    let target = open_dev_server(load).await?;
    let trusted_root = trusted_root_path(args.trusted_root.as_deref(), &target, "trusted_root.json")?;
    let endpoint = Endpoint {
        uri: target.endpoint("/api/v2/signingCert")?,
        content_type: "application/json",
    };
    let identities = mint_identities(&target, args.identities).await?;
    eprintln!("[bench] minted {} identity tokens", identities.len());

    let mut workload = CaWorkload {
        identities,
        pool: Vec::new(),
        overflow: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
        built_during_run: AtomicU64::new(0),
        trust: CaTrust::read(&trusted_root)?,
        verify_every: args.verify_every,
        verified: AtomicU64::new(0),
    };

    // One request before anything else, verified in full: a wrong URL, a server without
    // --dev-oidc or a wrong trust root fails here. Its key is its own.
    let preflight_key = KeyRequest::generate(&workload.identities[0].email)?;
    let preflight_serial = target
        .preflight(
            &endpoint,
            request_body(&workload.identities[0], &preflight_key),
            |status, body| workload.check(0, &preflight_key.spki_der, status, body, true),
        )
        .await?;

    let count = args
        .requests
        .unwrap_or_else(|| load.prepared_count(ASSUMED_MAX_RATE, MAX_DEFAULT_REQUESTS));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("[bench] making {count} fresh P-256 keys and proofs on {threads} threads");
    let built = Instant::now();
    workload.pool = {
        let identities = workload.identities.clone();
        tokio::task::spawn_blocking(move || build_pool(&identities, count, threads))
            .await
            .context("the key-building task failed")??
    };
    let build_seconds = built.elapsed().as_secs_f64();
    let workload = Arc::new(workload);

    let target_url = target.base_url.clone();
    let mut measured = drive(load, target, endpoint, workload.clone(), "issued").await;
    measured.recorder.ids.push(preflight_serial);

    let verified = workload.verified.load(Ordering::Relaxed);
    let trust_source = if load.url.is_some() {
        trusted_root.display().to_string()
    } else {
        "the spawned server's trusted_root.json".to_owned()
    };
    let describe = Describe {
        unit: "certificates",
        ids: "serial numbers",
        details: vec![
            (
                "requests".into(),
                format!(
                    "Fulcio v2 signingCert, fresh P-256 key and signed challenge each, {} email identities",
                    workload.identities.len()
                ),
            ),
            (
                "pre-built keys".into(),
                format!("{count} in {build_seconds:.1} s"),
            ),
            (
                "keys made during the run".into(),
                workload.built_during_run.load(Ordering::Relaxed).to_string(),
            ),
            (
                "verified in full".into(),
                format!(
                    "{verified} (1 in {}, and the pre-flight): chain and embedded SCT against {trust_source}",
                    args.verify_every,
                ),
            ),
        ],
    };
    let report = build_report(load, target_url, describe, measured);
    finish(&report, load.json, "ca")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identities(n: usize) -> Vec<DevIdentity> {
        (0..n)
            .map(|i| DevIdentity {
                email: format!("bench-{i}@example.com"),
                token: format!("token-{i}"),
            })
            .collect()
    }

    #[test]
    fn pool_keys_are_fresh_and_proofs_verify() {
        let ids = identities(3);
        let pool = build_pool(&ids, 10, 3).unwrap();
        assert_eq!(pool.len(), 10);
        let mut keys = std::collections::HashSet::new();
        for (i, key) in pool.iter().enumerate() {
            assert!(keys.insert(key.spki_der.clone()));
            let public = signet_crypto::PublicKey::from_spki_der(&key.spki_der).unwrap();
            public
                .verify_default(ids[i % 3].email.as_bytes(), &key.proof)
                .unwrap();
        }
        let body: serde_json::Value = serde_json::from_slice(&request_body(&ids[1], &pool[1])).unwrap();
        assert_eq!(body["credentials"]["oidcIdentityToken"], "token-1");
        let pem = body["publicKeyRequest"]["publicKey"]["content"].as_str().unwrap();
        assert_eq!(
            signet_crypto::PublicKey::from_pem(pem).unwrap().spki_der(),
            &pool[1].spki_der[..]
        );
    }

    #[test]
    fn malformed_answers_are_not_certificates() {
        assert!(parse_chain(b"{}").is_err());
        assert!(parse_chain(br#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":[]}}}"#).is_err());
        assert!(
            parse_chain(br#"{"signedCertificateEmbeddedSct":{"chain":{"certificates":["a","b","c"]}}}"#)
                .is_err()
        );
    }
}
