//! The timestamp authority: its chain on disk, and turning requests into responses.

use std::path::Path;
use std::sync::Arc;

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate, CertificateParams, ProfileError};
use signet_x509::rfc3161::IssueError;
use signet_x509::{
    oid, rejection_response, FailureInfo, ParsedCertificate, RequestError, TimestampRequest, TokenIssuer,
};
use thiserror::Error;

use crate::metrics::TsaStats;
use crate::TsaSigner;
use signet_keyfile::{
    inspect_dir, read_certificate, write_certificate, write_private_key, DirState, FileKeySigner,
    KeyFileError,
};

const ROOT_KEY: &str = "tsa-root.key";
const ROOT_CERT: &str = "tsa-root.pem";
const LEAF_KEY: &str = "tsa-leaf.key";
/// Written last: its presence marks a complete directory.
const LEAF_CERT: &str = "tsa-leaf.pem";
const FILES: [&str; 4] = [ROOT_KEY, ROOT_CERT, LEAF_KEY, LEAF_CERT];

/// Backdating of notBefore, so clients with a slightly slow clock accept a new chain.
const BACKDATE_SECS: i64 = 300;
const ROOT_LIFETIME_SECS: i64 = 20 * 365 * 86_400;
const LEAF_LIFETIME_SECS: i64 = 10 * 365 * 86_400;
/// genTime is whole seconds, so it is accurate to within one second.
const ACCURACY_SECS: u64 = 1;

/// Why the TSA could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TsaError {
    /// Key or certificate files: unreadable, damaged, or a half-written directory.
    #[error("TSA keys: {0}")]
    Files(#[from] KeyFileError),
    #[error("generating the TSA chain: {0}")]
    Generate(String),
    #[error("the TSA certificate chain: {0}")]
    Chain(String),
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// A running timestamp authority.
#[derive(Debug)]
pub struct Tsa {
    issuer: TokenIssuer,
    /// [leaf, …, root], DER.
    chain: Vec<Vec<u8>>,
    subject: DistinguishedName,
    valid_from: i64,
    /// Granted and rejected counts, for metrics.
    pub stats: TsaStats,
}

impl Tsa {
    /// Loads the TSA chain and key from `dir`, or on first start generates an ECDSA P-256 root
    /// and timestamping leaf valid from `now_unix` (less a few minutes) and writes them there.
    pub fn open_or_create(dir: &Path, now_unix: i64) -> Result<Tsa, TsaError> {
        if inspect_dir(dir, &FILES)? == DirState::Empty {
            generate(dir, now_unix)?;
        }
        let signer = FileKeySigner::load(&dir.join(LEAF_KEY))?;
        let chain = [LEAF_CERT, ROOT_CERT]
            .into_iter()
            .map(|name| read_certificate(&dir.join(name)).map_err(TsaError::from))
            .collect::<Result<Vec<_>, _>>()?;
        Tsa::from_parts(Arc::new(signer), chain)
    }

    /// A TSA from any signer (an HSM or KMS key) and its chain [leaf, …, root].
    pub fn from_parts(signer: Arc<dyn TsaSigner>, chain: Vec<Vec<u8>>) -> Result<Tsa, TsaError> {
        let parsed = chain
            .iter()
            .map(|c| ParsedCertificate::from_der(c).map_err(|e| TsaError::Chain(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let (Some(leaf), Some(root)) = (parsed.first(), parsed.last()) else {
            return Err(TsaError::Chain("empty chain".into()));
        };
        for pair in parsed.windows(2) {
            pair[0].verify_issued_by(&pair[1]).map_err(TsaError::Chain)?;
        }
        let issuer = TokenIssuer::new(signer, &chain[0], oid::SIGSTORE_TSA_POLICY, ACCURACY_SECS)?;
        Ok(Tsa {
            subject: root.subject_dn(),
            valid_from: leaf.validity().0,
            issuer,
            chain,
            stats: TsaStats::default(),
        })
    }

    /// The chain [leaf, …, root] as PEM, as `GET /api/v1/timestamp/certchain` serves it.
    pub fn chain_pem(&self) -> String {
        self.chain
            .iter()
            .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())))
            .collect()
    }

    /// The chain [leaf, …, root], DER.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// This TSA's `timestampAuthorities` entry for a trusted root. `uri` is left empty: the
    /// caller knows the URL it is served at and sets it.
    pub fn trusted_root_entry(&self) -> CertificateAuthority {
        CertificateAuthority {
            subject: self.subject.clone(),
            uri: None,
            cert_chain: X509CertificateChain {
                certificates: self
                    .chain
                    .iter()
                    .map(|der| X509Certificate {
                        raw_bytes: der.clone(),
                    })
                    .collect(),
            },
            valid_for: TimeRange::starting(Timestamp::from_unix(self.valid_from)),
            operator: None,
        }
    }

    /// Answers a DER `TimeStampReq`: `Ok` holds a granted `TimeStampResp`, `Err` a rejection
    /// (also a DER `TimeStampResp`) with its PKIFailureInfo.
    pub fn respond_der(&self, request_der: &[u8], now_unix: i64) -> Result<Vec<u8>, Rejected> {
        let result = match TimestampRequest::from_der(request_der) {
            Ok(request) => self.answer(&request, now_unix),
            Err(e) => Err(rejection(&e)),
        };
        self.count(&result);
        result
    }

    /// Answers a parsed request (the JSON form ends up here too).
    pub fn respond(&self, request: &TimestampRequest, now_unix: i64) -> Result<Vec<u8>, Rejected> {
        let result = self.answer(request, now_unix);
        self.count(&result);
        result
    }

    fn count(&self, result: &Result<Vec<u8>, Rejected>) {
        match result {
            Ok(_) => self.stats.granted(),
            Err(rejected) => self.stats.rejected(rejected.failure),
        }
    }

    fn answer(&self, request: &TimestampRequest, now_unix: i64) -> Result<Vec<u8>, Rejected> {
        if let Some(policy) = request.policy.filter(|p| *p != oid::SIGSTORE_TSA_POLICY) {
            return Err(rejection(&RequestError::UnacceptedPolicy {
                requested: policy.to_string(),
                ours: oid::SIGSTORE_TSA_POLICY.to_string(),
            }));
        }
        self.issuer
            .issue(request, &serial_number(), now_unix)
            .map_err(|e| {
                tracing::error!(error = %e, "issuing a timestamp failed");
                Rejected {
                    failure: FailureInfo::SystemFailure,
                    response: rejection_response(FailureInfo::SystemFailure, "the TSA could not sign"),
                }
            })
    }
}

/// A refused request: the failure bit and the DER `TimeStampResp` that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub failure: FailureInfo,
    pub response: Vec<u8>,
}

fn rejection(e: &RequestError) -> Rejected {
    tracing::debug!(error = %e, "timestamp request rejected");
    Rejected {
        failure: e.failure_info(),
        response: rejection_response(e.failure_info(), &e.to_string()),
    }
}

/// 16 random bytes, top bit clear: unique per token (RFC 3161 §2.4.2) without shared state,
/// so several front ends can issue at once.
fn serial_number() -> [u8; 16] {
    let mut serial = [0u8; 16];
    // The system RNG does not fail on supported platforms; a zero serial would still be valid
    // DER and is caught by uniqueness monitoring, not by a panic in the request path.
    let _ = aws_lc_rs::rand::fill(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    serial
}

fn generate(dir: &Path, now: i64) -> Result<(), TsaError> {
    let gen = |e: &dyn std::fmt::Display| TsaError::Generate(e.to_string());
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| gen(&e))?;
    let leaf_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| gen(&e))?;
    let root_dn = DistinguishedName {
        organization: "signet".into(),
        common_name: "signet-tsa-root".into(),
    };
    let leaf_dn = DistinguishedName {
        organization: "signet".into(),
        common_name: "signet-tsa".into(),
    };
    let not_before = now - BACKDATE_SECS;
    let root = tsa_root_certificate(
        &root_key,
        &CertificateParams {
            subject: &root_dn,
            serial: &serial_number(),
            not_before,
            not_after: now + ROOT_LIFETIME_SECS,
        },
    )
    .map_err(|e: ProfileError| gen(&e))?;
    let leaf = tsa_leaf_certificate(
        &root_key,
        &root,
        leaf_key.public_key(),
        &CertificateParams {
            subject: &leaf_dn,
            serial: &serial_number(),
            not_before,
            not_after: now + LEAF_LIFETIME_SECS,
        },
    )
    .map_err(|e| gen(&e))?;
    // The leaf certificate is written last: its presence marks a complete directory.
    write_private_key(&dir.join(ROOT_KEY), &root_key)?;
    write_certificate(&dir.join(ROOT_CERT), &root)?;
    write_private_key(&dir.join(LEAF_KEY), &leaf_key)?;
    write_certificate(&dir.join(LEAF_CERT), &leaf)?;
    Ok(())
}
