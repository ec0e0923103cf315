//! Client spec §4.3: the signing certificate chains to a trusted certificate authority, with
//! every certificate on the path — and the authority's `validFor` in the trusted root — valid
//! at every verified signing time (the "hybrid model"), and the leaf is a code-signing leaf.
//!
//! The leaf's extensions are read as Go's `crypto/x509` reads them (sigstore-go verifies with
//! `Certificate.Verify`): one that signet relies on and cannot decode, or a critical one it does
//! not process, refuses the certificate (RFC 5280 §4.2); the same in a certificate of an
//! authority's chain makes the authority unusable.
//!
//! The path is built from the trusted root only: the leaf, the certificate of an authority's
//! chain that issued it (any of them, as Go's `Verify` with the chain's last certificate as
//! root and the others as intermediates finds it), and the chain from there to the root.
//! Certificates a bundle carries after its leaf (v0.1/v0.2 chains) are not trusted for
//! anything (§4.6: the verifier "MUST remove certificates from the certificate chain that are
//! not also found in the out-of-band list"); a bundle that ships a root certificate is refused
//! outright, as protobuf-specs forbids it and the conformance suite
//! (`bundle-with-root-cert_fail`) expects.

use signet_x509::{oid, CertificateRole, ExtensionError, ParsedCertificate};
use thiserror::Error;
use x509_cert::ext::pkix::KeyUsages;

use crate::describe;
use crate::timestamps::SigningTime;

/// anyExtendedKeyUsage (RFC 5280 §4.2.1.12).
const ANY_EXTENDED_KEY_USAGE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37.0");
use crate::trust::CertificateAuthority;

/// Why the certificate was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("{what} does not parse as DER X.509: {reason}")]
    Parse { what: &'static str, reason: String },
    #[error("the signing certificate's extensions are refused: {0}")]
    LeafExtension(#[source] ExtensionError),
    #[error("the signing certificate is a CA (BasicConstraints cA); expected a leaf")]
    LeafIsCa,
    #[error("the signing certificate's key usage {0}")]
    KeyUsage(&'static str),
    #[error("the signing certificate's extended key usage {0}")]
    ExtendedKeyUsage(&'static str),
    #[error("the bundle's certificate chain contains the root certificate {subject}; roots come only from the trusted root")]
    RootInBundleChain { subject: String },
    #[error("the trusted root lists no certificate authority")]
    NoAuthorities,
    #[error("no certificate authority in the trusted root issued the signing certificate (its issuer is {issuer}): {reasons}")]
    UntrustedIssuer { issuer: String, reasons: String },
    #[error("{} is not valid at the signing time {}: it is valid from {} to {}", if *.is_leaf { "the signing certificate".to_string() } else { format!("the certificate authority's certificate {}", .subject) }, describe::time(*.time), describe::time(*.not_before), describe::time(*.not_after))]
    NotValidAt {
        /// Whether it is the signing certificate (else a certificate of the authority's chain).
        is_leaf: bool,
        subject: String,
        time: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("the certificate authority {authority} is not trusted at the signing time {}: the trusted root trusts it {valid_for}", describe::time(*.time))]
    AuthorityNotValidAt {
        authority: String,
        time: i64,
        valid_for: String,
    },
    #[error("the certificate authority {authority} in the trusted root cannot be used: {reason}")]
    AuthorityChain { authority: String, reason: String },
    #[error("the certificate authority's certificate {subject} restricts its extended key usage to {usages}, without code signing")]
    AuthorityKeyUsage { subject: String, usages: String },
    #[error("the certificate {subject} allows {path_len} intermediate certificate(s) below it (BasicConstraints pathLenConstraint), but the path has {below}")]
    PathLength {
        subject: String,
        path_len: u64,
        below: usize,
    },
}

/// The path that verified.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    /// Index of the authority in the trust material.
    pub authority: usize,
    pub authority_name: String,
    /// Position in the authority's chain of the certificate that issued the leaf (0 for the
    /// first, the usual Fulcio intermediate); the path runs from there to the chain's end.
    pub issuer: usize,
    /// DER SubjectPublicKeyInfo of the certificate that issued the leaf (for SCTs).
    pub issuer_spki: Vec<u8>,
}

/// Checks the leaf's profile: its extensions as Go's parser and `Verify` accept them on an
/// end-entity certificate (no duplicate, BasicConstraints / keyUsage / extKeyUsage that
/// decode, no critical extension the verifier does not process: RFC 5280 §4.2), not a CA,
/// key usage digitalSignature, extended key usage codeSigning (Fulcio's leaf profile;
/// sigstore-go's `VerifyLeafCertificate`).
pub fn check_leaf_profile(leaf: &ParsedCertificate) -> Result<(), CertificateError> {
    leaf.check_extensions(CertificateRole::EndEntity)
        .map_err(CertificateError::LeafExtension)?;
    if leaf.is_ca().map_err(CertificateError::LeafExtension)? {
        return Err(CertificateError::LeafIsCa);
    }
    let (_, ku) = leaf
        .key_usage()
        .map_err(CertificateError::LeafExtension)?
        .ok_or(CertificateError::KeyUsage("is missing"))?;
    if !ku.0.contains(KeyUsages::DigitalSignature) {
        return Err(CertificateError::KeyUsage("lacks digitalSignature"));
    }
    let (_, eku) = leaf
        .extended_key_usages()
        .map_err(CertificateError::LeafExtension)?
        .ok_or(CertificateError::ExtendedKeyUsage("is missing"))?;
    if !eku.contains(&oid::ID_KP_CODE_SIGNING) {
        return Err(CertificateError::ExtendedKeyUsage("lacks codeSigning"));
    }
    Ok(())
}

/// Refuses a bundle chain (the certificates after the leaf) that includes a self-signed root.
pub fn check_bundle_chain(extra: &[Vec<u8>]) -> Result<(), CertificateError> {
    for der in extra {
        let cert = ParsedCertificate::from_der(der).map_err(|e| CertificateError::Parse {
            what: "a bundle chain certificate",
            reason: e.to_string(),
        })?;
        let tbs = &cert.cert.tbs_certificate;
        if tbs.issuer == tbs.subject && cert.verify_issued_by(&cert).is_ok() {
            return Err(CertificateError::RootInBundleChain {
                subject: cert.subject(),
            });
        }
    }
    Ok(())
}

/// Finds a trusted authority and a certificate of its chain that issued `leaf`, such that the
/// path from the leaf through that certificate to the chain's root is valid at every time in
/// `times`.
pub fn verify_chain(
    leaf: &ParsedCertificate,
    authorities: &[CertificateAuthority],
    times: &[SigningTime],
) -> Result<VerifiedChain, CertificateError> {
    verify_chain_with(leaf, authorities, times, |_, issuer, ca| {
        verify_leaf_signature(leaf, ca, issuer)
    })
}

/// The leaf's signature verifies with the key of the certificate at position `issuer` of the
/// authority's chain.
pub fn verify_leaf_signature(
    leaf: &ParsedCertificate,
    ca: &CertificateAuthority,
    issuer: usize,
) -> Result<(), String> {
    let key = ca
        .keys
        .get(issuer)
        .ok_or_else(|| format!("the chain has no certificate at position {issuer}"))?;
    leaf.verify_signature_by(key.as_ref()?)
}

/// [`verify_chain`], with the signature check (a pure function of the leaf, the authority at
/// `index` and the position of the candidate issuer in its chain) supplied by the caller, so a
/// verifier can answer it from a cache.
///
/// Every certificate of every authority whose subject is the leaf's issuer name is a
/// candidate, in trust-material then chain order: Go's `Certificate.Verify`, which
/// sigstore-go calls with the chain's last certificate as root and the others as
/// intermediates, accepts a leaf issued by any of them (by the root of an [intermediate,
/// root] chain, say). The path is the leaf, then the chain from its issuer to the end.
pub(crate) fn verify_chain_with(
    leaf: &ParsedCertificate,
    authorities: &[CertificateAuthority],
    times: &[SigningTime],
    mut leaf_signature: impl FnMut(usize, usize, &CertificateAuthority) -> Result<(), String>,
) -> Result<VerifiedChain, CertificateError> {
    if authorities.is_empty() {
        return Err(CertificateError::NoAuthorities);
    }
    let issuer_name = &leaf.cert.tbs_certificate.issuer;
    let mut reasons = Vec::new();
    // The most telling failure: one from a path whose issuer did sign the leaf.
    let mut signed_by_failure = None;
    for (index, ca) in authorities.iter().enumerate() {
        for (position, candidate) in ca.chain.iter().enumerate() {
            if candidate.cert.tbs_certificate.subject != *issuer_name {
                continue;
            }
            if let Err(e) = leaf_signature(index, position, ca) {
                reasons.push(format!(
                    "the signing certificate's signature does not verify with the key of {} in the chain of {}: {e}",
                    candidate.subject(),
                    ca.name
                ));
                continue;
            }
            match check_path_at_times(leaf, ca, position, times) {
                Ok(()) => {
                    return Ok(VerifiedChain {
                        authority: index,
                        authority_name: ca.name.clone(),
                        issuer: position,
                        // `new` makes one SPKI per chain certificate; were the public fields
                        // changed since, an empty one fails the SCT check rather than panics.
                        issuer_spki: ca.spkis.get(position).cloned().unwrap_or_default(),
                    });
                }
                Err(e) => {
                    signed_by_failure.get_or_insert(e);
                }
            }
        }
    }
    if let Some(e) = signed_by_failure {
        return Err(e);
    }
    if reasons.is_empty() {
        reasons.push("no certificate authority's certificate has that subject".into());
    }
    Err(CertificateError::UntrustedIssuer {
        issuer: issuer_name.to_string(),
        reasons: reasons.join("; "),
    })
}

/// The path leaf → `ca.chain[issuer..]`: the authority's chain verifies, and every certificate
/// on the path and the authority's `validFor` cover every signing time (the hybrid model).
/// Certificates before `issuer` are not on the path, so their validity does not matter (Go
/// checks only the certificates of the chain it builds).
fn check_path_at_times(
    leaf: &ParsedCertificate,
    ca: &CertificateAuthority,
    issuer: usize,
    times: &[SigningTime],
) -> Result<(), CertificateError> {
    if let Some(reason) = ca.chain_error() {
        return Err(CertificateError::AuthorityChain {
            authority: ca.name.clone(),
            reason: reason.to_string(),
        });
    }
    // RFC 5280 §4.2.1.9 (and Go's Verify): a CA's pathLenConstraint bounds the intermediate
    // certificates below it on the path, the leaf not counted. And as Go's Verify, asked by
    // sigstore-go for code signing, checks: a CA certificate that carries an extended key usage
    // must allow code signing (or any usage). The chain's extensions decoded when
    // `chain_error` checked them, so a decode failure cannot reach here unrefused.
    for (below, cert) in ca.chain[issuer..].iter().enumerate() {
        if let Some((_, usages)) = cert.extended_key_usage() {
            if !usages.contains(&oid::ID_KP_CODE_SIGNING) && !usages.contains(&ANY_EXTENDED_KEY_USAGE) {
                return Err(CertificateError::AuthorityKeyUsage {
                    subject: cert.subject(),
                    usages: usages
                        .iter()
                        .map(|u| u.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let path_len = cert
            .basic_constraints()
            .ok()
            .flatten()
            .and_then(|bc| bc.path_len_constraint);
        if let Some(path_len) = path_len.filter(|n| (below as u64) > *n) {
            return Err(CertificateError::PathLength {
                subject: cert.subject(),
                path_len,
                below,
            });
        }
    }
    for t in times {
        for (on_path, cert) in std::iter::once(leaf).chain(ca.chain[issuer..].iter()).enumerate() {
            let (not_before, not_after) = cert.validity();
            if t.unix < not_before || t.unix > not_after {
                return Err(CertificateError::NotValidAt {
                    is_leaf: on_path == 0,
                    subject: cert.subject(),
                    time: t.unix,
                    not_before,
                    not_after,
                });
            }
        }
        if !ca.valid_for.contains(t.unix) {
            return Err(CertificateError::AuthorityNotValidAt {
                authority: ca.name.clone(),
                time: t.unix,
                valid_for: describe::trusted_for(&ca.valid_for),
            });
        }
    }
    Ok(())
}
