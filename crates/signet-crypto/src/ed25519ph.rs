//! Ed25519ph verification over a SHA-512 digest the caller already has (RFC 8032 §5.1, empty
//! context), as Rekor's hashedrekord entries carry only the artifact's digest.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::digest::{consts::U64, FixedOutput, HashMarker, Output, OutputSizeUser, Update};

use crate::CryptoError;

/// A "hash" whose output is a digest computed elsewhere: ed25519-dalek's prehashed API takes a
/// hasher and finalises it, and this hands it PH(M) unchanged. It ignores `update`; it is only
/// ever constructed with the caller's digest, never fed data.
#[derive(Clone)]
struct Precomputed([u8; 64]);

impl Default for Precomputed {
    fn default() -> Self {
        Precomputed([0; 64])
    }
}

impl HashMarker for Precomputed {}
impl OutputSizeUser for Precomputed {
    type OutputSize = U64;
}
impl Update for Precomputed {
    fn update(&mut self, _data: &[u8]) {}
}
impl FixedOutput for Precomputed {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}

/// Verifies an Ed25519ph `signature` over the message whose SHA-512 is `digest`, with the
/// 32-byte public key `raw_key`. Strict: non-canonical signatures and small-order keys fail.
pub(crate) fn verify_prehashed(raw_key: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let key: [u8; 32] = raw_key
        .try_into()
        .map_err(|_| CryptoError::MalformedPublicKey("Ed25519 key is not 32 bytes".into()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| CryptoError::MalformedPublicKey(e.to_string()))?;
    let digest: [u8; 64] = digest.try_into().map_err(|_| CryptoError::DigestLength {
        algorithm: "SHA2_512",
        expected: 64,
        got: digest.len(),
    })?;
    let signature = Signature::from_slice(signature).map_err(|_| CryptoError::BadSignature)?;
    key.verify_prehashed_strict(Precomputed(digest), None, &signature)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha512};

    /// RFC 8032 §7.3, the Ed25519ph test vector ("abc", empty context).
    #[test]
    fn rfc8032_ed25519ph_vector() {
        let public = hex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
        let signature = hex("98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
             31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406");
        let digest = Sha512::digest(b"abc");
        verify_prehashed(&public, &digest, &signature).unwrap();
        let other = Sha512::digest(b"abd");
        assert_eq!(
            verify_prehashed(&public, &other, &signature),
            Err(CryptoError::BadSignature)
        );
        assert!(matches!(
            verify_prehashed(&public, &digest[..32], &signature),
            Err(CryptoError::DigestLength { .. })
        ));
        let mut bad = signature.clone();
        bad[0] ^= 1;
        assert_eq!(
            verify_prehashed(&public, &digest, &bad),
            Err(CryptoError::BadSignature)
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
