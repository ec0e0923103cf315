//! Ed25519ph signing and verification over a SHA-512 digest the caller already has (RFC 8032
//! §5.1, empty context), as Rekor's hashedrekord entries carry only the artifact's digest.
//! aws-lc has no Ed25519ph, so this is ed25519-dalek's.

use ed25519_dalek::{Signature, SigningKey as DalekSigningKey, VerifyingKey};
use sha2::digest::{consts::U64, FixedOutput, HashMarker, Output, OutputSizeUser, Update};
use zeroize::Zeroizing;

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

/// Signs the message whose SHA-512 is `digest` with Ed25519ph, with the key whose PKCS#8 DER
/// is `pkcs8` (an RFC 8410 `CurvePrivateKey`, the 32-byte seed in an OCTET STRING).
pub(crate) fn sign_prehashed(pkcs8: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use der::Decode as _;
    let malformed = |why: String| CryptoError::MalformedPrivateKey(format!("Ed25519 PKCS#8: {why}"));
    let info = pkcs8::PrivateKeyInfo::from_der(pkcs8).map_err(|e| malformed(e.to_string()))?;
    let seed = der::asn1::OctetStringRef::from_der(info.private_key).map_err(|e| malformed(e.to_string()))?;
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.as_bytes().try_into().map_err(|_| {
        malformed(format!(
            "the seed is {} bytes, expected 32",
            seed.as_bytes().len()
        ))
    })?);
    sign_with_seed(&seed, digest)
}

fn sign_with_seed(seed: &[u8; 32], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let digest: [u8; 64] = digest.try_into().map_err(|_| CryptoError::DigestLength {
        algorithm: "SHA2_512",
        expected: 64,
        got: digest.len(),
    })?;
    // DalekSigningKey zeroizes itself on drop (the crate's "zeroize" feature).
    let key = DalekSigningKey::from_bytes(seed);
    key.sign_prehashed(Precomputed(digest), None)
        .map(|s| s.to_bytes().to_vec())
        .map_err(|_| CryptoError::KeyGeneration)
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
        let secret: [u8; 32] = hex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
            .try_into()
            .unwrap();
        assert_eq!(
            sign_with_seed(&secret, &digest).unwrap(),
            signature,
            "RFC 8032 signature"
        );
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

    /// A generated key (aws-lc's PKCS#8 v2, with the public key) signs prehashed digests that
    /// its public key verifies.
    #[test]
    fn generated_keys_sign_ed25519ph() {
        let key = crate::SigningKey::generate(crate::KeyKind::Ed25519).unwrap();
        let digest = Sha512::digest(b"artifact");
        let signature = key.sign_digest(&digest).unwrap();
        verify_prehashed(key.public_key().raw_bytes(), &digest, &signature).unwrap();
        assert!(matches!(
            key.sign_digest(&digest[..32]),
            Err(CryptoError::DigestLength { .. })
        ));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
