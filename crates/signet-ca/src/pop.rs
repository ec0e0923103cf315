//! Proof of possession: before the CA binds a public key to an identity, the requester shows
//! it holds the private key. Fulcio accepts two forms (pkg/server/grpc_server.go):
//!
//! - a signature over the identity token's challenge (the email, or the subject) with the
//!   key's default scheme (ECDSA with the curve's hash, Ed25519, RSA PKCS#1 v1.5 SHA-256) —
//!   what sigstore-js sends;
//! - a PKCS#10 certificate signing request, whose self-signature is the proof (the challenge
//!   is not involved) — what sigstore-python sends.

use signet_crypto::PublicKey;
use signet_x509::fulcio::check_leaf_key;

use crate::CaError;

/// How the requester proves it holds the key.
#[derive(Debug, Clone)]
pub enum KeyProof {
    /// A PEM (or base64 DER) SubjectPublicKeyInfo and a signature over the challenge.
    SignedChallenge { public_key: String, signature: Vec<u8> },
    /// A PKCS#10 request, PEM or DER.
    Csr(Vec<u8>),
}

/// Checks the proof against `challenge` and returns the key to certify.
pub fn verify(proof: &KeyProof, challenge: &str) -> Result<PublicKey, CaError> {
    let key = match proof {
        KeyProof::SignedChallenge {
            public_key,
            signature,
        } => {
            let key = parse_public_key(public_key)?;
            check_leaf_key(&key).map_err(|e| CaError::InsecureKey(e.to_string()))?;
            key.verify_default(challenge.as_bytes(), signature)
                .map_err(|e| CaError::BadProof(format!("signature over the token's subject {challenge:?} does not verify with the given key: {e}")))?;
            key
        }
        KeyProof::Csr(bytes) => {
            let key = signet_x509::csr::verify_csr(bytes).map_err(|e| CaError::BadCsr(e.to_string()))?;
            check_leaf_key(&key).map_err(|e| CaError::InsecureKey(e.to_string()))?;
            key
        }
    };
    Ok(key)
}

/// Fulcio's `ParsePublicKey`: PEM `PUBLIC KEY` first, else base64 of the DER.
fn parse_public_key(content: &str) -> Result<PublicKey, CaError> {
    let content = content.trim();
    if content.is_empty() {
        return Err(CaError::BadPublicKey(
            "publicKeyRequest.publicKey.content is empty".into(),
        ));
    }
    if content.starts_with("-----BEGIN") {
        return PublicKey::from_pem(content).map_err(|e| CaError::BadPublicKey(e.to_string()));
    }
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(content)
        .map_err(|_| CaError::BadPublicKey("publicKey.content is neither PEM nor base64 DER".into()))?;
    PublicKey::from_spki_der(&der).map_err(|e| CaError::BadPublicKey(e.to_string()))
}
