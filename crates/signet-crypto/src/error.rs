use thiserror::Error;

/// Why a key, a signature or a digest was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("public key does not parse: {0}")]
    MalformedPublicKey(String),
    #[error("certificate does not parse: {0}")]
    MalformedCertificate(String),
    #[error("unsupported key algorithm: {0}")]
    UnsupportedKey(String),
    #[error("key details {details} do not match a {key} key")]
    KeyDetailsMismatch { details: String, key: String },
    #[error("digest is {got} bytes, {algorithm} needs {expected}")]
    DigestLength {
        algorithm: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("signature does not verify")]
    BadSignature,
    #[error("private key does not parse: {0}")]
    MalformedPrivateKey(String),
    #[error("key generation failed")]
    KeyGeneration,
}
