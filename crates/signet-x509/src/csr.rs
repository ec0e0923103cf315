//! PKCS#10 certificate signing requests (RFC 2986), as sigstore-python sends them to
//! `POST /api/v2/signingCert` (base64 of a PEM `CERTIFICATE REQUEST`). A CSR here is only a
//! proof of possession: its self-signature shows the requester holds the private key.

use der::{Decode, Encode};
use signet_crypto::PublicKey;
use thiserror::Error;
use x509_cert::request::CertReq;

use crate::algorithm::verify_signature;

/// Why a certificate signing request was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CsrError {
    #[error("CSR PEM does not parse: {0}")]
    Pem(String),
    #[error("CSR PEM block is labelled {0:?}; expected \"CERTIFICATE REQUEST\"")]
    PemLabel(String),
    #[error("CSR is not a DER PKCS#10 CertificationRequest: {0}")]
    Der(der::Error),
    #[error("CSR is not in DER (it does not re-encode to the bytes received)")]
    NotDer,
    #[error("CSR public key is not usable: {0}")]
    PublicKey(String),
    #[error("CSR signature bit string is not octet aligned")]
    SignatureBits,
    #[error("CSR self-signature does not verify: {0}")]
    Signature(String),
}

/// Parses a CSR (PEM `CERTIFICATE REQUEST` or DER) and checks its self-signature with the key
/// it carries (ecdsa-with-SHA256/384/512, Ed25519, sha256/384/512WithRSAEncryption); returns
/// that key. The subject and requested extensions are not looked at: like Fulcio, signet takes
/// only the key from a CSR and writes the identity from the OIDC token. Whether the key is one
/// the CA certifies is [`crate::fulcio::check_leaf_key`]'s question.
pub fn verify_csr(pem_or_der: &[u8]) -> Result<PublicKey, CsrError> {
    let der = match pem_text(pem_or_der) {
        Some(text) => {
            let block = pem::parse(text).map_err(|e| CsrError::Pem(e.to_string()))?;
            // RFC 7468 §7: "NEW CERTIFICATE REQUEST" is an old label parsers should accept.
            if !matches!(block.tag(), "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST") {
                return Err(CsrError::PemLabel(block.tag().to_owned()));
            }
            block.into_contents()
        }
        None => pem_or_der.to_vec(),
    };
    let request = CertReq::from_der(&der).map_err(CsrError::Der)?;
    // The signature covers the CertificationRequestInfo as sent; `der` decodes DER only, so
    // re-encoding gives back the same bytes, which this makes sure of.
    if request.to_der().map_err(CsrError::Der)? != der {
        return Err(CsrError::NotDer);
    }
    let spki = request.info.public_key.to_der().map_err(CsrError::Der)?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| CsrError::PublicKey(e.to_string()))?;
    let info = request.info.to_der().map_err(CsrError::Der)?;
    let signature = request.signature.as_bytes().ok_or(CsrError::SignatureBits)?;
    verify_signature(&key, &request.algorithm.oid, None, &info, signature).map_err(CsrError::Signature)?;
    Ok(key)
}

/// The input as text if it looks like PEM (leading whitespace allowed).
fn pem_text(input: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(input).ok()?;
    text.trim_start().starts_with("-----BEGIN").then_some(text)
}
