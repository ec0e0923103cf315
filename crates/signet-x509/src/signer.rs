//! The seam between what is signed and the key that signs it: a file key today, an HSM or a
//! cloud KMS tomorrow. Certificates and time-stamp tokens are built against this trait only.

use signet_crypto::{PublicKey, PublicKeyDetails, SigningKey};
use thiserror::Error;

/// Why a signer could not sign.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("signer failed: {0}")]
pub struct SignerError(pub String);

/// A key that signs certificates and CMS signed attributes. Implementations may do I/O (a
/// KMS call); the core only hands them bytes.
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
        SigningKey::sign(self, message).map_err(|e| SignerError(e.to_string()))
    }
}
