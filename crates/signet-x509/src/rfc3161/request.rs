//! `TimeStampReq` (RFC 3161 §2.4.1), parsed into what a TSA acts on and built for clients.

use der::asn1::{Int, ObjectIdentifier, OctetString, Uint};
use der::{Any, Decode, Encode};
use signet_crypto::HashAlgorithm;
use spki::AlgorithmIdentifier;
use thiserror::Error;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use super::FailureInfo;
use crate::algorithm::{hash_from_oid, hash_oid};

/// Why a request was refused; [`RequestError::failure_info`] gives the RFC 3161 `PKIFailureInfo`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    #[error("TimeStampReq is not DER: {0}")]
    Malformed(String),
    #[error("message imprint hash algorithm {oid} is not SHA-256, SHA-384 or SHA-512")]
    UnsupportedHash { oid: String },
    #[error("message imprint is {got} bytes; {algorithm} digests are {expected}")]
    ImprintLength {
        algorithm: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("request extensions are not supported")]
    UnacceptedExtension,
    #[error("policy {requested} was requested; this TSA issues under {ours}")]
    UnacceptedPolicy { requested: String, ours: String },
}

impl RequestError {
    pub fn failure_info(&self) -> FailureInfo {
        match self {
            RequestError::Malformed(_) => FailureInfo::BadDataFormat,
            RequestError::UnsupportedHash { .. } => FailureInfo::BadAlg,
            RequestError::ImprintLength { .. } => FailureInfo::BadDataFormat,
            RequestError::UnacceptedExtension => FailureInfo::UnacceptedExtension,
            RequestError::UnacceptedPolicy { .. } => FailureInfo::UnacceptedPolicy,
        }
    }
}

/// A validated time-stamp request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    pub hash_algorithm: HashAlgorithm,
    /// The digest to be time-stamped; its length matches `hash_algorithm`.
    pub hashed_message: Vec<u8>,
    pub policy: Option<ObjectIdentifier>,
    /// The nonce as the big-endian bytes of its (non-negative) INTEGER value.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA must put its certificate in the token.
    pub cert_req: bool,
}

impl TimestampRequest {
    /// A request for `hashed_message`, checking its length against `hash_algorithm`.
    pub fn new(hash_algorithm: HashAlgorithm, hashed_message: Vec<u8>) -> Result<Self, RequestError> {
        if hashed_message.len() != hash_algorithm.output_len() {
            return Err(RequestError::ImprintLength {
                algorithm: hash_algorithm.proto_name(),
                expected: hash_algorithm.output_len(),
                got: hashed_message.len(),
            });
        }
        Ok(TimestampRequest {
            hash_algorithm,
            hashed_message,
            policy: None,
            nonce: None,
            cert_req: false,
        })
    }

    /// Parses a DER `TimeStampReq`.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self, RequestError> {
        let req = TimeStampReq::from_der(der_bytes).map_err(|e| RequestError::Malformed(e.to_string()))?;
        let oid = req.message_imprint.hash_algorithm.oid;
        let hash_algorithm =
            hash_from_oid(&oid).ok_or(RequestError::UnsupportedHash { oid: oid.to_string() })?;
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(RequestError::UnacceptedExtension);
        }
        let mut parsed = Self::new(
            hash_algorithm,
            req.message_imprint.hashed_message.as_bytes().to_vec(),
        )?;
        parsed.policy = req.req_policy;
        parsed.nonce = match req.nonce {
            Some(n) => {
                Some(unsigned_bytes(&n).ok_or_else(|| RequestError::Malformed("negative nonce".into()))?)
            }
            None => None,
        };
        parsed.cert_req = req.cert_req;
        Ok(parsed)
    }

    /// Encodes the request as DER.
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: message_imprint(self.hash_algorithm, &self.hashed_message)?,
            req_policy: self.policy,
            nonce: self.nonce.as_deref().map(int_from_unsigned).transpose()?,
            cert_req: self.cert_req,
            extensions: None,
        }
        .to_der()
    }
}

/// `MessageImprint` with the hash's parameters NULL, as OpenSSL, Go and Python write them.
pub(crate) fn message_imprint(hash: HashAlgorithm, digest: &[u8]) -> Result<MessageImprint, der::Error> {
    Ok(MessageImprint {
        hash_algorithm: AlgorithmIdentifier {
            oid: hash_oid(hash),
            parameters: Some(Any::null()),
        },
        hashed_message: OctetString::new(digest)?,
    })
}

/// An INTEGER from big-endian unsigned bytes.
pub(crate) fn int_from_unsigned(bytes: &[u8]) -> Result<Int, der::Error> {
    Ok(Int::from(Uint::new(bytes)?))
}

/// The big-endian magnitude of a non-negative INTEGER, leading zeros stripped.
pub(crate) fn unsigned_bytes(int: &Int) -> Option<Vec<u8>> {
    let b = int.as_bytes();
    if b.first().is_some_and(|x| x & 0x80 != 0) {
        return None;
    }
    let stripped: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
    Some(if stripped.is_empty() { vec![0] } else { stripped })
}
