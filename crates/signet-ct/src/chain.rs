//! What the log accepts (RFC 6962 §4.1, §4.2): a chain whose first certificate is the
//! submission, each certificate signed by the next, ending at (or signed by) an accepted root.
//! Pure: bytes in, a validated chain or the reason out.

use der::Encode;
use signet_crypto::sha256;
use signet_x509::sct::{is_precertificate, precert_tbs, LogEntry, OwnedLogEntry};
use signet_x509::ParsedCertificate;
use thiserror::Error;

/// Longest chain accepted, root included. Sigstore's chains are two or three long.
pub const MAX_CHAIN_LEN: usize = 8;

/// Issuer links (a CA certificate and the certificate that issued it) whose signature has
/// been verified. Sound to remember: whether `child` is signed by `issuer` is a pure function
/// of the two certificates' bytes, and the key is the SHA-256 of both whole DER encodings, so
/// any other certificate — a forged one included — misses and is verified in full. Leaves are
/// never cached (each is new). Bounded: when full it is emptied and refills.
#[derive(Debug, Default)]
pub struct LinkCache {
    verified: std::sync::Mutex<std::collections::HashSet<([u8; 32], [u8; 32])>>,
}

impl LinkCache {
    const CAPACITY: usize = 256;

    fn contains(&self, child: &[u8], issuer: &[u8]) -> bool {
        let key = (sha256(child), sha256(issuer));
        self.verified
            .lock()
            .map(|set| set.contains(&key))
            .unwrap_or(false)
    }

    fn insert(&self, child: &[u8], issuer: &[u8]) {
        if let Ok(mut set) = self.verified.lock() {
            if set.len() >= Self::CAPACITY {
                set.clear();
            }
            set.insert((sha256(child), sha256(issuer)));
        }
    }

    /// How many links are remembered (for tests).
    pub fn len(&self) -> usize {
        self.verified.lock().map(|set| set.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// RFC 6962 §3.1: the Precertificate Signing Certificate EKU. signet's CA signs its
/// precertificates directly, so the log does not accept the indirect form.
const PRECERT_SIGNING_EKU: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.4");

/// Why a submitted chain was refused. Always the submitter's fault (400).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    #[error("the chain is empty")]
    Empty,
    #[error("the chain has {0} certificates; at most {MAX_CHAIN_LEN} are accepted")]
    TooLong(usize),
    #[error("certificate {index} of the chain does not parse: {reason}")]
    Malformed { index: usize, reason: String },
    #[error("add-pre-chain needs a precertificate first, but certificate 0 has no poison extension")]
    NotPrecertificate,
    #[error("add-chain takes final certificates, but certificate 0 is a precertificate (use add-pre-chain)")]
    UnexpectedPrecertificate,
    #[error("the precertificate is not acceptable: {0}")]
    BadPrecertificate(String),
    #[error("certificate {index} is not signed by certificate {}: {reason}", index + 1)]
    NotSignedByNext { index: usize, reason: String },
    #[error("certificate {0} issues another certificate but is not a CA (basicConstraints cA)")]
    IssuerNotCa(usize),
    #[error("certificate {0} is a precertificate signing certificate, which this log does not accept")]
    PrecertSigningCertificate(usize),
    #[error("the chain does not end at a root this log accepts ({0})")]
    UnknownRoot(String),
}

/// A chain the log accepts.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    /// The submitted certificate or precertificate, DER.
    pub leaf: Vec<u8>,
    pub is_precert: bool,
    /// The issuers after the leaf, the accepted root last (added if the submitter left it out):
    /// RFC 6962 §3.1's `certificate_chain` / `precertificate_chain`.
    pub issuers: Vec<Vec<u8>>,
    /// What the SCT and the Merkle leaf carry: the certificate, or for a precertificate the
    /// issuer key hash and its TBSCertificate without the poison.
    pub entry: OwnedLogEntry,
}

impl ValidatedChain {
    /// The `signed_entry` the SCT and the Merkle leaf carry.
    pub fn log_entry(&self) -> LogEntry<'_> {
        self.entry.as_entry()
    }

    /// SHA-256 fingerprints of the issuers, as static-ct-api's `TileLeaf` names them.
    pub fn fingerprints(&self) -> Vec<[u8; 32]> {
        self.issuers.iter().map(|c| sha256(c)).collect()
    }
}

/// Validates `chain` (DER, leaf first) for `add-pre-chain` (`precert`) or `add-chain`.
pub fn validate_chain(
    chain: &[Vec<u8>],
    precert: bool,
    accepted_roots: &[ParsedCertificate],
    links: &LinkCache,
) -> Result<ValidatedChain, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(ChainError::TooLong(chain.len()));
    }
    let parsed = chain
        .iter()
        .enumerate()
        .map(|(index, der)| {
            ParsedCertificate::from_der(der).map_err(|e| ChainError::Malformed {
                index,
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let has_poison = is_precertificate(&chain[0]).map_err(|e| ChainError::Malformed {
        index: 0,
        reason: e.to_string(),
    })?;
    let tbs = match (precert, has_poison) {
        (true, false) => return Err(ChainError::NotPrecertificate),
        (false, true) => return Err(ChainError::UnexpectedPrecertificate),
        (true, true) => {
            Some(precert_tbs(&chain[0]).map_err(|e| ChainError::BadPrecertificate(e.to_string()))?)
        }
        (false, false) => None,
    };

    for (index, pair) in parsed.windows(2).enumerate() {
        let issuer_index = index + 1;
        // A BasicConstraints that does not decode is refused, not read as "not a CA" (Go's
        // parser refuses such a certificate).
        let issuer_is_ca = pair[1].is_ca().map_err(|e| ChainError::Malformed {
            index: issuer_index,
            reason: e.to_string(),
        })?;
        if !issuer_is_ca {
            return Err(ChainError::IssuerNotCa(issuer_index));
        }
        if pair[1]
            .extended_key_usage()
            .is_some_and(|(_, ekus)| ekus.contains(&PRECERT_SIGNING_EKU))
        {
            return Err(ChainError::PrecertSigningCertificate(issuer_index));
        }
        // The links above the leaf (intermediate → root) are the same in every submission
        // from a CA; each is verified once and remembered.
        let cacheable = index > 0;
        if !(cacheable && links.contains(&pair[0].der, &pair[1].der)) {
            pair[0]
                .verify_issued_by(&pair[1])
                .map_err(|reason| ChainError::NotSignedByNext { index, reason })?;
            if cacheable {
                links.insert(&pair[0].der, &pair[1].der);
            }
        }
    }

    let last = parsed.last().expect("chain is not empty");
    let mut issuers: Vec<&ParsedCertificate> = parsed[1..].iter().collect();
    if !accepted_roots.iter().any(|r| r.der == last.der) {
        let root = accepted_roots
            .iter()
            .find(|r| r.is_ca() == Ok(true) && last.verify_issued_by(r).is_ok())
            .ok_or_else(|| {
                ChainError::UnknownRoot(format!(
                    "the last certificate's issuer is {}",
                    last.cert.tbs_certificate.issuer
                ))
            })?;
        issuers.push(root);
    }
    let Some(direct_issuer) = issuers.first() else {
        // The submission is itself an accepted root: nothing issued it, so it is no entry.
        return Err(ChainError::UnknownRoot(
            "a root alone is not a submission; send the certificate it issued".into(),
        ));
    };
    let entry = match tbs {
        Some(tbs_certificate) => {
            let spki = direct_issuer
                .cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| ChainError::Malformed {
                    index: 1,
                    reason: e.to_string(),
                })?;
            OwnedLogEntry::Precert {
                issuer_key_hash: sha256(&spki),
                tbs_certificate,
            }
        }
        None => OwnedLogEntry::X509 {
            certificate: chain[0].clone(),
        },
    };
    Ok(ValidatedChain {
        leaf: chain[0].clone(),
        is_precert: precert,
        issuers: issuers.into_iter().map(|c| c.der.clone()).collect(),
        entry,
    })
}
