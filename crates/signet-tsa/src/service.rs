//! The timestamp authority: its chain on disk, and turning requests into responses.

use std::path::Path;
use std::sync::Arc;

use signet_crypto::random_serial;
use signet_formats::common::DistinguishedName;
use signet_formats::trust::CertificateAuthority;
use signet_keyfile::{
    issue_generation, open_generation, open_or_create_chain_with, ChainFiles, KeyFileError, NewChain,
};
use signet_x509::profile::{tsa_leaf_certificate, tsa_root_certificate};
use signet_x509::rfc3161::IssueError;
use signet_x509::{
    authority_entry, oid, rejection_response, FailureInfo, RequestError, TimestampRequest, TokenIssuer,
};
use thiserror::Error;

use crate::metrics::TsaStats;
use crate::TsaSigner;

/// The TSA's chain: an ECDSA P-256 root and a timestamping leaf under it.
fn new_chain() -> NewChain<'static> {
    NewChain {
        root_subject: DistinguishedName {
            organization: "signet".into(),
            common_name: "signet-tsa-root".into(),
        },
        issuing_subject: DistinguishedName {
            organization: "signet".into(),
            common_name: "signet-tsa".into(),
        },
        root_lifetime_secs: ROOT_LIFETIME_SECS,
        issuing_lifetime_secs: LEAF_LIFETIME_SECS,
        root_profile: &|signer, params| tsa_root_certificate(signer, params),
        issuing_profile: &|signer, root, key, params| tsa_leaf_certificate(signer, root, key, params),
    }
}

/// The leaf certificate is written last: its presence marks a complete directory.
const FILES: ChainFiles<'static> = ChainFiles {
    root_key: "tsa-root.key",
    root_cert: "tsa-root.pem",
    issuing_key: "tsa-leaf.key",
    issuing_cert: "tsa-leaf.pem",
};
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
    /// The trusted-root entry for this chain.
    entry: CertificateAuthority,
    /// Granted and rejected counts, for metrics.
    pub stats: TsaStats,
}

impl Tsa {
    /// Loads the TSA chain and key from `dir`, or on first start generates an ECDSA P-256 root
    /// and timestamping leaf valid from `now_unix` (less a few minutes) and writes them there.
    pub fn open_or_create(dir: &Path, now_unix: i64) -> Result<Tsa, TsaError> {
        Tsa::open_with_key(dir, now_unix, None)
    }

    /// [`Tsa::open_or_create`] with the timestamping key held elsewhere when `leaf` is given (a
    /// PKCS#11 token): the TSA root (a file key, used only to make the chain) certifies it on
    /// first start.
    pub fn open_with_key(
        dir: &Path,
        now_unix: i64,
        leaf: Option<Arc<dyn TsaSigner>>,
    ) -> Result<Tsa, TsaError> {
        let loaded = open_or_create_chain_with(dir, FILES, &new_chain(), now_unix, leaf)?;
        Tsa::from_parts(loaded.signer, loaded.chain)
    }

    /// Rotates the timestamping key: a new leaf key (or `leaf`, a token key) certified by the
    /// root in `dir`, written to `gen_dir` (README, "Rotating keys and log shards"). Tokens
    /// from the earlier leaf still verify under its own trusted-root entry.
    pub fn rotate(
        dir: &Path,
        gen_dir: &Path,
        now_unix: i64,
        leaf: Option<Arc<dyn TsaSigner>>,
    ) -> Result<(), TsaError> {
        issue_generation(dir, FILES, gen_dir, &new_chain(), now_unix, leaf)?;
        Ok(())
    }

    /// The TSA of a generation [`Tsa::rotate`] wrote in `gen_dir`, under the root in `dir`.
    pub fn open_generation(
        dir: &Path,
        gen_dir: &Path,
        leaf: Option<Arc<dyn TsaSigner>>,
    ) -> Result<Tsa, TsaError> {
        let loaded = open_generation(dir, FILES, gen_dir, leaf)?;
        Tsa::from_parts(loaded.signer, loaded.chain)
    }

    /// A TSA from any signer (an HSM or KMS key) and its chain [leaf, …, root].
    pub fn from_parts(signer: Arc<dyn TsaSigner>, chain: Vec<Vec<u8>>) -> Result<Tsa, TsaError> {
        let entry = authority_entry(&chain).map_err(TsaError::Chain)?;
        let issuer = TokenIssuer::new(signer, &chain[0], oid::SIGSTORE_TSA_POLICY, ACCURACY_SECS)?;
        Ok(Tsa {
            entry,
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
        self.entry.clone()
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
            .issue(request, &random_serial(), now_unix)
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
