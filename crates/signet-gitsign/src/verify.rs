//! Verifying a git signature: the payload against the signed attributes, then everything else
//! as a Sigstore bundle ([`crate::bundle`]) by signet-verify, in the client specification's
//! order: signing time from the log entry or the timestamp (never "now", so a certificate that
//! expired years ago still verifies), the chain to a trusted CA at that time, the SCT, the
//! identity, the log entry's inclusion proof and checkpoint, and the signature.

use signet_verify::{Artifact, Policy, SignerPolicy, TrustedMaterial, VerificationError, VerifiedBundle};
use signet_x509::CertificateIdentity;
use thiserror::Error;

use crate::bundle::{self, BundleError};
use crate::signature::{GitSignature, SignatureError};

/// Why a git signature did not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GitVerifyError {
    /// The signature is not one signet can read: not CMS, two signers, no certificate, …
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The signed attributes are over other bytes than the object's.
    #[error("the signature is over other content: the object was changed after it was signed (its SHA-256 is not the signature's messageDigest)")]
    OtherContent,
    /// The embedded log entry cannot be read or its body rebuilt.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// A check of the client specification failed.
    #[error(transparent)]
    Verification(#[from] VerificationError),
}

impl GitVerifyError {
    /// GnuPG's distinction: `BADSIG` (a signature that was checked and is wrong, or whose
    /// signer is not the one asked for) against `ERRSIG` (one that could not be checked).
    pub fn is_bad_signature(&self) -> bool {
        match self {
            GitVerifyError::OtherContent => true,
            GitVerifyError::Verification(e) => !e.is_unknown_to_trust_material(),
            GitVerifyError::Signature(_) | GitVerifyError::Bundle(_) => false,
        }
    }

    /// True when the signer is not the one the policy asks for (everything else verified up
    /// to that check).
    pub fn is_identity_mismatch(&self) -> bool {
        matches!(self, GitVerifyError::Verification(VerificationError::Identity(_)))
    }
}

/// What a verified git signature establishes.
#[derive(Debug, Clone)]
pub struct VerifiedGitSignature {
    /// The parsed signature.
    pub signature: GitSignature,
    /// The signer's identity as its certificate states it.
    pub identity: CertificateIdentity,
    /// What the bundle verifier established (times, log entries, SCTs).
    pub verified: VerifiedBundle,
}

impl VerifiedGitSignature {
    /// The earliest verified time at which the signature existed.
    pub fn signed_at(&self) -> Option<i64> {
        self.verified.signing_times.iter().map(|t| t.unix).min()
    }
}

/// Verifies `armored` as a signature over `payload` by `signer`, against `trust`, at `now`.
pub fn verify(
    payload: &[u8],
    armored: &[u8],
    signer: &SignerPolicy,
    trust: &impl TrustedMaterial,
    now: i64,
) -> Result<VerifiedGitSignature, GitVerifyError> {
    let signature = GitSignature::from_armored(armored)?;
    verify_parsed(payload, signature, signer, trust, now)
}

/// [`verify`] for a signature already parsed.
pub fn verify_parsed(
    payload: &[u8],
    signature: GitSignature,
    signer: &SignerPolicy,
    trust: &impl TrustedMaterial,
    now: i64,
) -> Result<VerifiedGitSignature, GitVerifyError> {
    if !signature.signed_attributes.covers(payload) {
        return Err(GitVerifyError::OtherContent);
    }
    let bundle = bundle::to_bundle(&signature)?;
    let policy = Policy::new(Artifact::Bytes(signature.signed_attributes.der()), signer.clone());
    let verified = signet_verify::verify(&bundle, &policy, trust, now)?;
    let identity = match &verified.signer {
        signet_verify::VerifiedSigner::Certificate { identity, .. } => (**identity).clone(),
        signet_verify::VerifiedSigner::PublicKey(_) => {
            // A git signature always carries a certificate, and the policy names no key.
            return Err(GitVerifyError::Signature(SignatureError::Certificate(
                "verified by a key rather than a certificate".into(),
            )));
        }
    };
    Ok(VerifiedGitSignature {
        signature,
        identity,
        verified,
    })
}
