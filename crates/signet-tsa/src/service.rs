//! The timestamp authority: its chain on disk, and turning requests into responses.

use std::path::{Path, PathBuf};
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

use crate::keys::{write_atomically, FileKeySigner};
use crate::TsaSigner;

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
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "TSA directory {} is half-written (has {present:?}, lacks {missing:?}); restore the missing files or remove the others to generate a new chain",
        dir.display()
    )]
    HalfWritten {
        dir: PathBuf,
        present: Vec<&'static str>,
        missing: Vec<&'static str>,
    },
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
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
}

impl Tsa {
    /// Loads the TSA chain and key from `dir`, or on first start generates an ECDSA P-256 root
    /// and timestamping leaf valid from `now_unix` (less a few minutes) and writes them there.
    pub fn open_or_create(dir: &Path, now_unix: i64) -> Result<Tsa, TsaError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TsaError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let present: Vec<&'static str> = FILES.into_iter().filter(|f| dir.join(f).exists()).collect();
        if present.is_empty() {
            generate(dir, now_unix)?;
        } else if present.len() != FILES.len() {
            return Err(TsaError::HalfWritten {
                dir: dir.to_path_buf(),
                missing: FILES.into_iter().filter(|f| !present.contains(f)).collect(),
                present,
            });
        }
        let signer = FileKeySigner::load(&dir.join(LEAF_KEY)).map_err(io(&dir.join(LEAF_KEY)))?;
        let chain = [LEAF_CERT, ROOT_CERT]
            .into_iter()
            .map(|name| read_certificate(&dir.join(name)))
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
            subject: distinguished_name(root),
            valid_from: leaf.validity().0,
            issuer,
            chain,
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
        match TimestampRequest::from_der(request_der) {
            Ok(request) => self.respond(&request, now_unix),
            Err(e) => Err(rejection(&e)),
        }
    }

    /// Answers a parsed request (the JSON form ends up here too).
    pub fn respond(&self, request: &TimestampRequest, now_unix: i64) -> Result<Vec<u8>, Rejected> {
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
    let cert_pem = |der: &[u8]| pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
    for (name, contents, secret) in [
        (ROOT_KEY, root_key.to_pkcs8_pem(), true),
        (ROOT_CERT, cert_pem(&root), false),
        (LEAF_KEY, leaf_key.to_pkcs8_pem(), true),
        (LEAF_CERT, cert_pem(&leaf), false),
    ] {
        let path = dir.join(name);
        write_atomically(&path, contents.as_bytes(), secret)
            .map_err(|source| TsaError::Io { path, source })?;
    }
    Ok(())
}

fn read_certificate(path: &Path) -> Result<Vec<u8>, TsaError> {
    let bad = |reason: String| TsaError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| TsaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let block = pem::parse(text).map_err(|e| bad(e.to_string()))?;
    if block.tag() != "CERTIFICATE" {
        return Err(bad(format!(
            "expected a CERTIFICATE PEM block, found {}",
            block.tag()
        )));
    }
    Ok(block.into_contents())
}

/// Organization and common name of a certificate's subject, for the trusted root entry.
fn distinguished_name(cert: &ParsedCertificate) -> DistinguishedName {
    let mut dn = DistinguishedName::default();
    for atv in cert
        .cert
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
    {
        let value = der::asn1::Utf8StringRef::try_from(&atv.value)
            .map(|s| s.as_str().to_string())
            .or_else(|_| der::asn1::PrintableStringRef::try_from(&atv.value).map(|s| s.as_str().to_string()));
        match (atv.oid.to_string().as_str(), value) {
            ("2.5.4.10", Ok(v)) => dn.organization = v,
            ("2.5.4.3", Ok(v)) => dn.common_name = v,
            _ => {}
        }
    }
    dn
}
