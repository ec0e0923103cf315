//! The CA's certificate chain on disk: an ECDSA root and intermediate generated on first
//! start, as Fulcio's file CA keeps them. The intermediate signs leaves; the root's key is
//! kept beside it today (a deployment would move it offline — it is only needed to issue a
//! new intermediate).

use std::path::Path;

use signet_formats::common::DistinguishedName;
use signet_formats::trust::CertificateAuthority;
use signet_keyfile::{issue_generation, open_generation, open_or_create_chain_with, ChainFiles, NewChain};
use signet_x509::fulcio::{fulcio_intermediate_certificate, fulcio_root_certificate};
use signet_x509::{authority_entry, ParsedCertificate, Signer};

use crate::CaError;

const FILES: ChainFiles<'static> = ChainFiles {
    root_key: "ca-root.key",
    root_cert: "ca-root.pem",
    issuing_key: "ca-intermediate.key",
    issuing_cert: "ca-intermediate.pem",
};
const ROOT_LIFETIME_SECS: i64 = 20 * 365 * 86_400;
const INTERMEDIATE_LIFETIME_SECS: i64 = 10 * 365 * 86_400;

/// The CA's chain: an ECDSA P-256 root and an intermediate under it, Fulcio's profiles.
fn new_chain() -> NewChain<'static> {
    NewChain {
        root_subject: DistinguishedName {
            organization: "signet".into(),
            common_name: "signet-ca-root".into(),
        },
        issuing_subject: DistinguishedName {
            organization: "signet".into(),
            common_name: "signet-ca-intermediate".into(),
        },
        root_lifetime_secs: ROOT_LIFETIME_SECS,
        issuing_lifetime_secs: INTERMEDIATE_LIFETIME_SECS,
        root_profile: &|signer, params| fulcio_root_certificate(signer, params),
        issuing_profile: &|signer, root, key, params| {
            fulcio_intermediate_certificate(signer, root, key, params)
        },
    }
}

/// The issuing key and the chain above a leaf.
pub struct CaChain {
    /// Signs leaves and precertificates.
    pub signer: Box<dyn Signer>,
    /// [intermediate, root], DER.
    pub chain: Vec<Vec<u8>>,
    entry: CertificateAuthority,
}

impl std::fmt::Debug for CaChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaChain")
            .field("subject", &self.entry.subject)
            .finish_non_exhaustive()
    }
}

impl CaChain {
    /// Loads the chain from `dir`, or on first start generates it (valid from `now` less a few
    /// minutes). A directory with some but not all of the files is refused.
    pub fn open_or_create(dir: &Path, now: i64) -> Result<CaChain, CaError> {
        CaChain::open_with_key(dir, now, None)
    }

    /// [`CaChain::open_or_create`] with the intermediate's key held elsewhere when `issuing`
    /// is given (a PKCS#11 token): the root (a file key) certifies it on first start.
    pub fn open_with_key(
        dir: &Path,
        now: i64,
        issuing: Option<std::sync::Arc<dyn Signer>>,
    ) -> Result<CaChain, CaError> {
        let loaded = open_or_create_chain_with(dir, FILES, &new_chain(), now, issuing)?;
        CaChain::from_parts(Box::new(loaded.signer), loaded.chain)
    }

    /// Rotates the intermediate: a new key (or `issuing`, a token key) certified by the root in
    /// `dir`, written to `gen_dir` (README, "Rotating keys and log shards"). Certificates the
    /// earlier intermediate issued still verify under its own trusted-root entry.
    pub fn rotate(
        dir: &Path,
        gen_dir: &Path,
        now: i64,
        issuing: Option<std::sync::Arc<dyn Signer>>,
    ) -> Result<(), CaError> {
        issue_generation(dir, FILES, gen_dir, &new_chain(), now, issuing)?;
        Ok(())
    }

    /// The chain of a generation [`CaChain::rotate`] wrote in `gen_dir`, under the root in `dir`.
    pub fn open_generation(
        dir: &Path,
        gen_dir: &Path,
        issuing: Option<std::sync::Arc<dyn Signer>>,
    ) -> Result<CaChain, CaError> {
        let loaded = open_generation(dir, FILES, gen_dir, issuing)?;
        CaChain::from_parts(Box::new(loaded.signer), loaded.chain)
    }

    /// A chain from any signer (an HSM or KMS key) and its certificates [intermediate, …, root].
    /// The signer must hold the first certificate's key, and each certificate must be issued
    /// by the next.
    pub fn from_parts(signer: Box<dyn Signer>, chain: Vec<Vec<u8>>) -> Result<CaChain, CaError> {
        let entry = authority_entry(&chain).map_err(CaError::Chain)?;
        let issuing = ParsedCertificate::from_der(&chain[0]).map_err(|e| CaError::Chain(e.to_string()))?;
        if &issuing.public_key().map_err(CaError::Chain)? != signer.public_key() {
            return Err(CaError::Chain(
                "the signing key is not the issuing certificate's key".into(),
            ));
        }
        Ok(CaChain { signer, chain, entry })
    }

    /// The issuing (intermediate) certificate, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.chain[0]
    }

    /// This CA's `certificateAuthorities` entry for a trusted root: the chain
    /// [intermediate, root] (clients add the leaf). `uri` is for the caller to set.
    pub fn trusted_root_entry(&self) -> CertificateAuthority {
        self.entry.clone()
    }
}
