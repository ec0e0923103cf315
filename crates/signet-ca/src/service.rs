//! Issuing: identity token → proof of possession → precertificate → SCT from the CT log →
//! final certificate with the SCT embedded.

use std::sync::Arc;
use std::time::Instant;

use signet_ct::CtLog;
use signet_oidc::{HttpKeySource, KeySet, KeySource, KeySourceError, StaticKeys, TokenVerifier};
use signet_x509::fulcio::FulcioLeaf;

use crate::chain::CaChain;
use crate::metrics::CaStats;
use crate::pop::{self, KeyProof};
use crate::CaError;
use signet_crypto::random_serial;

/// How long a leaf certificate is valid, as Fulcio issues them.
pub const LEAF_LIFETIME_SECS: i64 = 600;

/// Where the CA gets issuers' keys: key sets known in process (the development provider in
/// the same server needs no fetching), else OpenID discovery over HTTPS.
pub struct CaKeys {
    local: StaticKeys,
    remote: Option<HttpKeySource>,
}

impl CaKeys {
    /// `local` answers for its issuers; every other issuer's keys are fetched by `remote`
    /// (`None`: only the local issuers can be verified).
    pub fn new(local: StaticKeys, remote: Option<HttpKeySource>) -> Self {
        CaKeys { local, remote }
    }

    /// Fetches every issuer not known in process with `remote`.
    pub fn with_remote(mut self, remote: HttpKeySource) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Key-set fetches (discovery plus JWK Set) started for remote issuers; 0 without remote.
    pub fn remote_fetch_count(&self) -> u64 {
        self.remote.as_ref().map_or(0, HttpKeySource::fetch_count)
    }

    /// Adds an in-process issuer's key set.
    pub fn with_local_issuer(mut self, issuer: impl Into<String>, keys: KeySet) -> Self {
        self.local = self.local.with_issuer(issuer, keys);
        self
    }
}

impl KeySource for CaKeys {
    async fn keys(&self, issuer: &str) -> Result<Arc<KeySet>, KeySourceError> {
        match (self.local.keys(issuer).await, &self.remote) {
            (Ok(keys), _) => Ok(keys),
            (Err(_), Some(remote)) => remote.keys(issuer).await,
            (Err(e), None) => Err(e),
        }
    }

    async fn refresh(&self, issuer: &str, stale: &Arc<KeySet>) -> Result<Arc<KeySet>, KeySourceError> {
        match (self.local.keys(issuer).await, &self.remote) {
            (Ok(keys), _) => Ok(keys),
            (Err(_), Some(remote)) => remote.refresh(issuer, stale).await,
            (Err(e), None) => Err(e),
        }
    }
}

/// The certificate authority: its chain, the token verifier and the CT log it logs to.
pub struct Ca {
    chain: CaChain,
    tokens: TokenVerifier<CaKeys>,
    ct: Arc<CtLog>,
    pub stats: CaStats,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Ca {
    pub fn new(chain: CaChain, tokens: TokenVerifier<CaKeys>, ct: Arc<CtLog>) -> Self {
        Ca {
            chain,
            tokens,
            ct,
            stats: CaStats::default(),
        }
    }

    pub fn chain(&self) -> &CaChain {
        &self.chain
    }

    pub fn tokens(&self) -> &TokenVerifier<CaKeys> {
        &self.tokens
    }

    /// Issues a certificate for the key `proof` proves, to the identity `token` proves, at
    /// `now` (Unix seconds). Returns the chain [leaf, intermediate, root], DER.
    pub async fn issue(&self, token: &str, proof: &KeyProof, now: i64) -> Result<Vec<Vec<u8>>, CaError> {
        let started = Instant::now();
        let result = self.issue_inner(token, proof, now).await;
        match &result {
            Ok(_) => self.stats.issued(started.elapsed()),
            Err(e) => self.stats.error(e),
        }
        result
    }

    async fn issue_inner(&self, token: &str, proof: &KeyProof, now: i64) -> Result<Vec<Vec<u8>>, CaError> {
        let verified = self.tokens.verify(token, now).await?;
        let key = pop::verify(proof, &verified.challenge)?;
        let serial = random_serial();
        let template = FulcioLeaf {
            issuer_cert_der: self.chain.issuer_der(),
            subject_key: &key,
            identity: &verified.identity,
            serial: &serial,
            not_before: now,
            not_after: now + LEAF_LIFETIME_SECS,
        };
        let signer = &*self.chain.signer;
        let precert = template.precertificate(signer).map_err(issue_error)?;
        let mut ct_chain = Vec::with_capacity(1 + self.chain.chain.len());
        ct_chain.push(precert);
        ct_chain.extend(self.chain.chain.iter().cloned());
        let sct = self
            .ct
            .add_pre_chain(ct_chain)
            .await
            .map_err(|e| match e.is_unavailable() {
                true => CaError::Unavailable(e.to_string()),
                false => CaError::Ct(e.to_string()),
            })?;
        let leaf = template.certificate(signer, &[sct]).map_err(issue_error)?;
        let mut chain = Vec::with_capacity(1 + self.chain.chain.len());
        chain.push(leaf);
        chain.extend(self.chain.chain.iter().cloned());
        Ok(chain)
    }
}

/// A certificate the CA could not sign: 503 when its key is only out of reach (a token
/// reconnecting), else an internal error.
fn issue_error(e: signet_x509::FulcioError) -> CaError {
    match e {
        signet_x509::FulcioError::Profile(signet_x509::profile::ProfileError::Signer(e))
            if e.is_unavailable() =>
        {
            CaError::Unavailable(e.to_string())
        }
        other => CaError::Issue(other.to_string()),
    }
}
