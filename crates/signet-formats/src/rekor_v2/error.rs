use signet_crypto::{CryptoError, PublicKeyDetails};
use thiserror::Error;

use crate::protojson::FieldError;

/// Why a Rekor v2 request (or a stored entry body) was refused. Each variant is one cause;
/// `field` is the dotted path of the offending field.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// A field is missing, of the wrong type, unknown, not base64, or otherwise malformed.
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("unknown entry kind {found:?}; expected hashedRekordRequestV002 or dsseRequestV002 in a request, hashedRekordV002 or dsseV002 in an entry spec")]
    UnknownKind { found: String },
    #[error("no entry kind given; expected exactly one of hashedRekordRequestV002, dsseRequestV002")]
    NoKind,
    #[error("both hashedRekordRequestV002 and dsseRequestV002 given; expected exactly one")]
    MultipleKinds,
    #[error("entry kind {kind:?} version {api_version:?} does not match its spec {spec}")]
    KindMismatch {
        kind: String,
        api_version: String,
        spec: &'static str,
    },
    #[error("{field}: public key does not parse as DER SubjectPublicKeyInfo: {source}")]
    InvalidPublicKey { field: String, source: CryptoError },
    #[error("{field}: certificate does not parse as DER X.509: {source}")]
    InvalidCertificate { field: String, source: CryptoError },
    #[error("{field}: keyDetails {key_details} does not fit the verifier's {key} key")]
    KeyDetailsMismatch {
        field: String,
        key_details: PublicKeyDetails,
        key: String,
    },
    #[error("{field}: {detail}")]
    UnsupportedAlgorithm { field: String, detail: String },
    #[error("{field}: digest is {got} bytes; {key_details} needs a {expected}-byte {algorithm} digest")]
    DigestLength {
        field: String,
        key_details: PublicKeyDetails,
        algorithm: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{field}: signature does not verify over the digest with the given verifier")]
    InvalidSignature { field: String },
    #[error("{field}: the same key or certificate as an earlier verifier; verifiers must be distinct")]
    DuplicateVerifier { field: String },
    #[error("{field}: no verifier in the request verifies this signature over the DSSE PAE")]
    UnverifiedSignature { field: String },
    #[error("{field}: {source}")]
    Crypto { field: String, source: CryptoError },
}

impl EntryError {
    pub(crate) fn missing(field: impl Into<String>) -> Self {
        EntryError::Field(FieldError::MissingField { field: field.into() })
    }

    pub(crate) fn too_many(field: impl Into<String>, max: usize, got: usize) -> Self {
        EntryError::Field(FieldError::TooMany {
            field: field.into(),
            max,
            got,
        })
    }
}
