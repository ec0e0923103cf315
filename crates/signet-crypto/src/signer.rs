//! The seam between what is signed and the key that signs it: a key in memory, a key in a
//! PKCS#11 token (`signet-pkcs11`), a cloud KMS. Certificates, time-stamp tokens, SCTs and
//! checkpoints are built against this trait only. It lives in the bottom crate so that every
//! layer that signs (the note signer of `signet-tlog` included) can take any implementation.

use thiserror::Error;

use crate::{PublicKey, PublicKeyDetails, SigningKey};

/// Why a signer could not sign.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerError {
    /// The signature could not be made (a bad message length, a key that refuses the scheme).
    #[error("signer failed: {0}")]
    Failed(String),
    /// The key is out of reach for now (a token removed, its session lost, a KMS down): the
    /// signer is reconnecting and a retry may succeed. Services answer 503, not 500.
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
}

impl SignerError {
    /// True for [`SignerError::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SignerError::Unavailable(_))
    }
}

/// A key that signs certificates, CMS signed attributes, SCTs and checkpoints.
/// Implementations may do I/O (a token or KMS call); the core only hands them bytes.
pub trait Signer: Send + Sync {
    /// The public half, as it goes into the certificate.
    fn public_key(&self) -> &PublicKey;

    /// The scheme `sign` uses; it fixes the digest and `signatureAlgorithm` written.
    fn details(&self) -> PublicKeyDetails {
        self.public_key().default_details()
    }

    /// Signs `message` (not a digest) with [`Signer::details`]; ECDSA signatures are DER.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// A private key held in memory.
impl Signer for SigningKey {
    fn public_key(&self) -> &PublicKey {
        SigningKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        SigningKey::sign(self, message).map_err(|e| SignerError::Failed(e.to_string()))
    }
}

/// A shared signer signs as the one it shares (one token key serving several roles).
impl<T: Signer + ?Sized> Signer for std::sync::Arc<T> {
    fn public_key(&self) -> &PublicKey {
        (**self).public_key()
    }

    fn details(&self) -> PublicKeyDetails {
        (**self).details()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        (**self).sign(message)
    }
}

impl std::fmt::Debug for dyn Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.public_key().kind())
            .field("details", &self.details())
            .finish_non_exhaustive()
    }
}
