//! The CA's certificate chain on disk: an ECDSA root and intermediate generated on first
//! start, as Fulcio's file CA keeps them. The intermediate signs leaves; the root's key is
//! kept beside it today (a deployment would move it offline — it is only needed to issue a
//! new intermediate).

use std::path::Path;

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::common::{
    DistinguishedName, TimeRange, Timestamp, X509Certificate, X509CertificateChain,
};
use signet_formats::trust::CertificateAuthority;
use signet_keyfile::{
    inspect_dir, read_certificate, write_certificate, write_private_key, DirState, FileKeySigner,
};
use signet_x509::fulcio::{fulcio_intermediate_certificate, fulcio_root_certificate};
use signet_x509::profile::CertificateParams;
use signet_x509::{ParsedCertificate, Signer};

use crate::CaError;

const ROOT_KEY: &str = "ca-root.key";
const ROOT_CERT: &str = "ca-root.pem";
const INTERMEDIATE_KEY: &str = "ca-intermediate.key";
/// Written last: its presence marks a complete directory.
const INTERMEDIATE_CERT: &str = "ca-intermediate.pem";
const FILES: [&str; 4] = [ROOT_KEY, ROOT_CERT, INTERMEDIATE_KEY, INTERMEDIATE_CERT];

/// Backdating of notBefore, so clients with a slightly slow clock accept a new chain.
const BACKDATE_SECS: i64 = 300;
const ROOT_LIFETIME_SECS: i64 = 20 * 365 * 86_400;
const INTERMEDIATE_LIFETIME_SECS: i64 = 10 * 365 * 86_400;

/// The issuing key and the chain above a leaf.
pub struct CaChain {
    /// Signs leaves and precertificates.
    pub signer: Box<dyn Signer>,
    /// [intermediate, root], DER.
    pub chain: Vec<Vec<u8>>,
    subject: DistinguishedName,
    valid_from: i64,
}

impl std::fmt::Debug for CaChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaChain")
            .field("subject", &self.subject)
            .field("valid_from", &self.valid_from)
            .finish_non_exhaustive()
    }
}

impl CaChain {
    /// Loads the chain from `dir`, or on first start generates it (valid from `now` less a few
    /// minutes). A directory with some but not all of the files is refused.
    pub fn open_or_create(dir: &Path, now: i64) -> Result<CaChain, CaError> {
        if inspect_dir(dir, &FILES)? == DirState::Empty {
            generate(dir, now)?;
        }
        let signer = FileKeySigner::load(&dir.join(INTERMEDIATE_KEY))?;
        let chain = [INTERMEDIATE_CERT, ROOT_CERT]
            .into_iter()
            .map(|name| read_certificate(&dir.join(name)))
            .collect::<Result<Vec<_>, _>>()?;
        CaChain::from_parts(Box::new(signer), chain)
    }

    /// A chain from any signer (an HSM or KMS key) and its certificates [intermediate, …, root].
    /// The signer must hold the first certificate's key, and each certificate must be issued
    /// by the next.
    pub fn from_parts(signer: Box<dyn Signer>, chain: Vec<Vec<u8>>) -> Result<CaChain, CaError> {
        let parsed = chain
            .iter()
            .map(|c| ParsedCertificate::from_der(c).map_err(|e| CaError::Chain(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let (Some(issuing), Some(root)) = (parsed.first(), parsed.last()) else {
            return Err(CaError::Chain("empty chain".into()));
        };
        if &issuing.public_key().map_err(CaError::Chain)? != signer.public_key() {
            return Err(CaError::Chain(
                "the signing key is not the issuing certificate's key".into(),
            ));
        }
        for pair in parsed.windows(2) {
            pair[0].verify_issued_by(&pair[1]).map_err(CaError::Chain)?;
        }
        root.verify_issued_by(root)
            .map_err(|e| CaError::Chain(format!("root is not self-signed: {e}")))?;
        Ok(CaChain {
            subject: root.subject_dn(),
            valid_from: parsed.iter().map(|c| c.validity().0).max().unwrap_or(0),
            signer,
            chain,
        })
    }

    /// The issuing (intermediate) certificate, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.chain[0]
    }

    /// This CA's `certificateAuthorities` entry for a trusted root: the chain
    /// [intermediate, root] (clients add the leaf). `uri` is for the caller to set.
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
}

fn generate(dir: &Path, now: i64) -> Result<(), CaError> {
    let gen = |e: &dyn std::fmt::Display| CaError::Generate(e.to_string());
    let root_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| gen(&e))?;
    let intermediate_key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| gen(&e))?;
    let root_dn = DistinguishedName {
        organization: "signet".into(),
        common_name: "signet-ca-root".into(),
    };
    let intermediate_dn = DistinguishedName {
        organization: "signet".into(),
        common_name: "signet-ca-intermediate".into(),
    };
    let not_before = now - BACKDATE_SECS;
    let root = fulcio_root_certificate(
        &root_key,
        &CertificateParams {
            subject: &root_dn,
            serial: &crate::random_serial(),
            not_before,
            not_after: now + ROOT_LIFETIME_SECS,
        },
    )
    .map_err(|e| gen(&e))?;
    let intermediate = fulcio_intermediate_certificate(
        &root_key,
        &root,
        intermediate_key.public_key(),
        &CertificateParams {
            subject: &intermediate_dn,
            serial: &crate::random_serial(),
            not_before,
            not_after: now + INTERMEDIATE_LIFETIME_SECS,
        },
    )
    .map_err(|e| gen(&e))?;
    write_private_key(&dir.join(ROOT_KEY), &root_key)?;
    write_certificate(&dir.join(ROOT_CERT), &root)?;
    write_private_key(&dir.join(INTERMEDIATE_KEY), &intermediate_key)?;
    write_certificate(&dir.join(INTERMEDIATE_CERT), &intermediate)?;
    Ok(())
}
