use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair};

use crate::{CryptoError, KeyKind, PublicKey};

/// A private key that signs: ECDSA P-256 / P-384 (DER signatures) or Ed25519. Its PKCS#8
/// encoding is wiped from memory when the key is dropped.
pub struct SigningKey {
    inner: Inner,
    pkcs8: Vec<u8>,
    public: PublicKey,
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        // Our copy of the PKCS#8 encoding is wiped here; aws-lc cleanses the key pair's own
        // memory when it frees it (OPENSSL_free zeroes every allocation).
        zeroize::Zeroize::zeroize(&mut self.pkcs8);
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("kind", &self.public.kind())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key of `kind` (ECDSA P-256, P-384 or Ed25519).
    pub fn generate(kind: KeyKind) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let doc = match kind {
            KeyKind::EcdsaP256 => EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng),
            KeyKind::EcdsaP384 => EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_ASN1_SIGNING, &rng),
            KeyKind::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
            other => return Err(CryptoError::UnsupportedKey(format!("generating {other} keys"))),
        }
        .map_err(|_| CryptoError::KeyGeneration)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// Loads a PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let bad = |e: aws_lc_rs::error::KeyRejected| CryptoError::MalformedPrivateKey(e.to_string());
        let (inner, spki) = if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let spki = k
                .public_key()
                .as_der()
                .map_err(|_| CryptoError::KeyGeneration)?
                .as_ref()
                .to_vec();
            (Inner::Ed25519(k), spki)
        } else if let Ok(k) = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der) {
            let spki = k
                .public_key()
                .as_der()
                .map_err(|_| CryptoError::KeyGeneration)?
                .as_ref()
                .to_vec();
            (Inner::Ecdsa(k), spki)
        } else {
            let k = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_ASN1_SIGNING, der).map_err(bad)?;
            let spki = k
                .public_key()
                .as_der()
                .map_err(|_| CryptoError::KeyGeneration)?
                .as_ref()
                .to_vec();
            (Inner::Ecdsa(k), spki)
        };
        Ok(SigningKey {
            inner,
            pkcs8: der.to_vec(),
            public: PublicKey::from_spki_der(&spki)?,
        })
    }

    /// Loads a PEM `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pkcs8_pem(text: &str) -> Result<Self, CryptoError> {
        let block = pem::parse(text).map_err(|e| CryptoError::MalformedPrivateKey(e.to_string()))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(CryptoError::MalformedPrivateKey(format!(
                "expected a PRIVATE KEY PEM block, found {}",
                block.tag()
            )));
        }
        Self::from_pkcs8_der(block.contents())
    }

    /// The PKCS#8 DER encoding. Secret: store it 0600 and never log it.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` with the key's default scheme (ECDSA: DER signature over SHA-256/384).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::Ecdsa(k) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::KeyGeneration),
            Inner::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    /// Signs a precomputed digest, as a hashedrekord signer does: ECDSA over a digest under the
    /// key's hash (SHA-256 for P-256, SHA-384 for P-384), Ed25519ph over a SHA-512 digest.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.inner {
            Inner::Ecdsa(k) => {
                let hash = self.public.default_details().hash_algorithm();
                let d = aws_lc_rs::digest::Digest::import_less_safe(digest, hash.aws()).map_err(|_| {
                    CryptoError::DigestLength {
                        algorithm: hash.proto_name(),
                        expected: hash.output_len(),
                        got: digest.len(),
                    }
                })?;
                k.sign_digest(&d)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| CryptoError::KeyGeneration)
            }
            // Ed25519 cannot sign a digest; its prehashed variant, Ed25519ph, signs a SHA-512
            // one (what Rekor's hashedrekord entries carry for Ed25519 keys).
            Inner::Ed25519(_) => crate::ed25519ph::sign_prehashed(&self.pkcs8, digest),
        }
    }
}

/// 16 random bytes that make a positive, non-zero certificate or token serial number (top bit
/// clear, first byte non-zero): unique without shared state, so several front ends can issue
/// at once (RFC 5280 §4.1.2.2 allows up to 20 bytes; RFC 3161 §2.4.2 wants them unique).
pub fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    // SystemRandom does not fail on supported platforms; if it ever did, the zero-filled
    // serial is still valid DER, and uniqueness monitoring (not a panic) would catch it.
    let _ = aws_lc_rs::rand::fill(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    serial
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sha256, PublicKeyDetails};

    #[test]
    fn sign_verify_round_trip_every_kind() {
        for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
            let key = SigningKey::generate(kind).unwrap();
            let sig = key.sign(b"hello").unwrap();
            let public = PublicKey::from_spki_der(key.public_key().spki_der()).unwrap();
            assert_eq!(public.kind(), kind);
            public.verify_default(b"hello", &sig).unwrap();
            assert_eq!(
                public.verify_default(b"hellO", &sig),
                Err(CryptoError::BadSignature)
            );
            let reloaded = SigningKey::from_pkcs8_der(key.pkcs8_der()).unwrap();
            assert_eq!(reloaded.public_key(), key.public_key());
        }
    }

    #[test]
    fn digest_signature_matches_message_signature() {
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let digest = sha256(b"artifact");
        let sig = key.sign_digest(&digest).unwrap();
        let public = key.public_key();
        public
            .verify(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, b"artifact", &sig)
            .unwrap();
        public
            .verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &digest, &sig)
            .unwrap();
        let mut wrong = digest;
        wrong[0] ^= 1;
        assert!(public
            .verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &wrong, &sig)
            .is_err());
        assert!(matches!(
            public.verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &digest[..31], &sig),
            Err(CryptoError::DigestLength { .. })
        ));
        assert!(matches!(
            public.verify_digest(PublicKeyDetails::PKIX_ECDSA_P384_SHA_384, &digest, &sig),
            Err(CryptoError::KeyDetailsMismatch { .. })
        ));
    }

    #[test]
    fn garbage_keys_are_errors_not_panics() {
        assert!(PublicKey::from_spki_der(b"").is_err());
        assert!(PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(PublicKey::from_certificate_der(&[0x30, 0x80]).is_err());
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let mut spki = key.public_key().spki_der().to_vec();
        let last = spki.len() - 1;
        spki[last] ^= 0xff; // point no longer on the curve
        assert!(PublicKey::from_spki_der(&spki).is_err());
        spki.push(0);
        assert!(PublicKey::from_spki_der(&spki).is_err());
        assert!(SigningKey::from_pkcs8_der(b"nope").is_err());
    }

    #[test]
    fn pem_round_trip() {
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let pem = key.public_key().to_pem();
        assert_eq!(&PublicKey::from_pem(&pem).unwrap(), key.public_key());
        let back = SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }
}
