use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;

use crate::{CryptoError, HashAlgorithm};

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ED25519: &str = "1.3.101.112";
const OID_RSA: &str = "1.2.840.113549.1.1.1";

/// The kind of a public key, as read from its SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    /// RSA with its modulus size in bits.
    Rsa(usize),
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyKind::EcdsaP521 => f.write_str("ECDSA P-521"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Rsa(bits) => write!(f, "RSA-{bits}"),
        }
    }
}

/// A key and signature scheme, named as in `dev.sigstore.common.v1.PublicKeyDetails`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum PublicKeyDetails {
    PKIX_ECDSA_P256_SHA_256,
    PKIX_ECDSA_P384_SHA_384,
    PKIX_ECDSA_P521_SHA_512,
    PKIX_ED25519,
    PKIX_ED25519_PH,
    PKIX_RSA_PKCS1V15_2048_SHA256,
    PKIX_RSA_PKCS1V15_3072_SHA256,
    PKIX_RSA_PKCS1V15_4096_SHA256,
}

impl PublicKeyDetails {
    const ALL: [PublicKeyDetails; 8] = [
        PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
        PublicKeyDetails::PKIX_ECDSA_P384_SHA_384,
        PublicKeyDetails::PKIX_ECDSA_P521_SHA_512,
        PublicKeyDetails::PKIX_ED25519,
        PublicKeyDetails::PKIX_ED25519_PH,
        PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256,
        PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256,
        PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256,
    ];

    /// The protobuf enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256 => "PKIX_ECDSA_P256_SHA_256",
            PublicKeyDetails::PKIX_ECDSA_P384_SHA_384 => "PKIX_ECDSA_P384_SHA_384",
            PublicKeyDetails::PKIX_ECDSA_P521_SHA_512 => "PKIX_ECDSA_P521_SHA_512",
            PublicKeyDetails::PKIX_ED25519 => "PKIX_ED25519",
            PublicKeyDetails::PKIX_ED25519_PH => "PKIX_ED25519_PH",
            PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256 => "PKIX_RSA_PKCS1V15_2048_SHA256",
            PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256 => "PKIX_RSA_PKCS1V15_3072_SHA256",
            PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256 => "PKIX_RSA_PKCS1V15_4096_SHA256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The digest the scheme signs with (for Ed25519ph, the prehash).
    pub fn hash_algorithm(self) -> HashAlgorithm {
        match self {
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256
            | PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256
            | PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256
            | PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256 => HashAlgorithm::Sha2_256,
            PublicKeyDetails::PKIX_ECDSA_P384_SHA_384 => HashAlgorithm::Sha2_384,
            PublicKeyDetails::PKIX_ECDSA_P521_SHA_512
            | PublicKeyDetails::PKIX_ED25519
            | PublicKeyDetails::PKIX_ED25519_PH => HashAlgorithm::Sha2_512,
        }
    }

    fn fits(self, kind: KeyKind) -> bool {
        matches!(
            (self, kind),
            (PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, KeyKind::EcdsaP256)
                | (PublicKeyDetails::PKIX_ECDSA_P384_SHA_384, KeyKind::EcdsaP384)
                | (PublicKeyDetails::PKIX_ECDSA_P521_SHA_512, KeyKind::EcdsaP521)
                | (PublicKeyDetails::PKIX_ED25519, KeyKind::Ed25519)
                | (PublicKeyDetails::PKIX_ED25519_PH, KeyKind::Ed25519)
                | (
                    PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256,
                    KeyKind::Rsa(2048)
                )
                | (
                    PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256,
                    KeyKind::Rsa(3072)
                )
                | (
                    PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256,
                    KeyKind::Rsa(4096)
                )
        )
    }
}

impl std::fmt::Display for PublicKeyDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A public key parsed from a DER SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    spki_der: Vec<u8>,
    /// The contents of the SPKI's BIT STRING: an EC point, a raw Ed25519 key or an RSAPublicKey.
    raw: Vec<u8>,
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo, rejecting trailing bytes and unsupported algorithms.
    pub fn from_spki_der(der_bytes: &[u8]) -> Result<Self, CryptoError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der_bytes)
            .map_err(|e| CryptoError::MalformedPublicKey(e.to_string()))?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| CryptoError::MalformedPublicKey("key bit string is not octet aligned".into()))?
            .to_vec();
        let alg = spki.algorithm.oid.to_string();
        let kind = match alg.as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| CryptoError::MalformedPublicKey("EC key without a named curve".into()))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => KeyKind::EcdsaP256,
                    OID_P384 => KeyKind::EcdsaP384,
                    OID_P521 => KeyKind::EcdsaP521,
                    other => return Err(CryptoError::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            OID_ED25519 => {
                if raw.len() != 32 {
                    return Err(CryptoError::MalformedPublicKey(
                        "Ed25519 key is not 32 bytes".into(),
                    ));
                }
                KeyKind::Ed25519
            }
            OID_RSA => KeyKind::Rsa(rsa_modulus_bits(&raw)?),
            other => return Err(CryptoError::UnsupportedKey(format!("algorithm {other}"))),
        };
        let key = PublicKey {
            kind,
            spki_der: der_bytes.to_vec(),
            raw,
        };
        // Make aws-lc check the point is on the curve / the modulus is sane now, not at first use.
        key.verification_algorithm(key.default_details())
            .and_then(|alg| {
                UnparsedPublicKey::new(alg, &key.raw)
                    .parse()
                    .map_err(|e| CryptoError::MalformedPublicKey(e.to_string()))
            })?;
        Ok(key)
    }

    /// Parses a PEM `PUBLIC KEY` block.
    pub fn from_pem(text: &str) -> Result<Self, CryptoError> {
        let block = pem::parse(text).map_err(|e| CryptoError::MalformedPublicKey(e.to_string()))?;
        if block.tag() != "PUBLIC KEY" {
            return Err(CryptoError::MalformedPublicKey(format!(
                "expected a PUBLIC KEY PEM block, found {}",
                block.tag()
            )));
        }
        Self::from_spki_der(block.contents())
    }

    /// Takes the subject public key out of a DER X.509 certificate.
    pub fn from_certificate_der(cert_der: &[u8]) -> Result<Self, CryptoError> {
        let cert = x509_cert::Certificate::from_der(cert_der)
            .map_err(|e| CryptoError::MalformedCertificate(e.to_string()))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CryptoError::MalformedCertificate(e.to_string()))?;
        Self::from_spki_der(&spki)
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The raw key bits (for Ed25519, the 32-byte key).
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// PEM `PUBLIC KEY` encoding.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.spki_der.clone()))
    }

    /// The scheme a key of this kind signs with by default.
    pub fn default_details(&self) -> PublicKeyDetails {
        match self.kind {
            KeyKind::EcdsaP256 => PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
            KeyKind::EcdsaP384 => PublicKeyDetails::PKIX_ECDSA_P384_SHA_384,
            KeyKind::EcdsaP521 => PublicKeyDetails::PKIX_ECDSA_P521_SHA_512,
            KeyKind::Ed25519 => PublicKeyDetails::PKIX_ED25519,
            KeyKind::Rsa(bits) if bits <= 2048 => PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256,
            KeyKind::Rsa(bits) if bits <= 3072 => PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256,
            KeyKind::Rsa(_) => PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256,
        }
    }

    /// Checks that `details` names a scheme this key can verify.
    pub fn check_details(&self, details: PublicKeyDetails) -> Result<(), CryptoError> {
        if details.fits(self.kind) {
            Ok(())
        } else {
            Err(CryptoError::KeyDetailsMismatch {
                details: details.to_string(),
                key: self.kind.to_string(),
            })
        }
    }

    fn verification_algorithm(
        &self,
        details: PublicKeyDetails,
    ) -> Result<&'static dyn VerificationAlgorithm, CryptoError> {
        self.check_details(details)?;
        Ok(match details {
            PublicKeyDetails::PKIX_ECDSA_P256_SHA_256 => &sig::ECDSA_P256_SHA256_ASN1,
            PublicKeyDetails::PKIX_ECDSA_P384_SHA_384 => &sig::ECDSA_P384_SHA384_ASN1,
            PublicKeyDetails::PKIX_ECDSA_P521_SHA_512 => &sig::ECDSA_P521_SHA512_ASN1,
            PublicKeyDetails::PKIX_ED25519 => &sig::ED25519,
            PublicKeyDetails::PKIX_ED25519_PH => {
                return Err(CryptoError::UnsupportedKey(
                    "Ed25519ph over a whole message".into(),
                ))
            }
            PublicKeyDetails::PKIX_RSA_PKCS1V15_2048_SHA256
            | PublicKeyDetails::PKIX_RSA_PKCS1V15_3072_SHA256
            | PublicKeyDetails::PKIX_RSA_PKCS1V15_4096_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        })
    }

    /// Verifies `signature` over `message` with the scheme `details` (ECDSA signatures are DER).
    pub fn verify(
        &self,
        details: PublicKeyDetails,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let alg = self.verification_algorithm(details)?;
        UnparsedPublicKey::new(alg, &self.raw)
            .verify(message, signature)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Verifies with the key's default scheme.
    pub fn verify_default(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        self.verify(self.default_details(), message, signature)
    }

    /// Verifies `signature` over a message of which only the digest is known, as Rekor's
    /// hashedrekord does: ECDSA and RSA over the digest, Ed25519ph over a SHA-512 digest. Pure
    /// Ed25519 cannot sign a digest alone, so it is refused.
    pub fn verify_digest(
        &self,
        details: PublicKeyDetails,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        if details == PublicKeyDetails::PKIX_ED25519_PH {
            self.check_details(details)?;
            return crate::ed25519ph::verify_prehashed(&self.raw, digest, signature);
        }
        let alg = self.verification_algorithm(details)?;
        if self.kind == KeyKind::Ed25519 {
            return Err(CryptoError::UnsupportedKey(
                "pure Ed25519 over a prehashed digest".into(),
            ));
        }
        let hash = details.hash_algorithm();
        if digest.len() != hash.output_len() {
            return Err(CryptoError::DigestLength {
                algorithm: hash.proto_name(),
                expected: hash.output_len(),
                got: digest.len(),
            });
        }
        let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, hash.aws())
            .map_err(|_| CryptoError::BadSignature)?;
        UnparsedPublicKey::new(alg, &self.raw)
            .verify_digest(&digest, signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}

/// The bit length of an RSAPublicKey's modulus.
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Result<usize, CryptoError> {
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        #[allow(dead_code)]
        public_exponent: der::asn1::UintRef<'a>,
    }
    let key =
        RsaPublicKey::from_der(rsa_public_key).map_err(|e| CryptoError::MalformedPublicKey(e.to_string()))?;
    let m = key.modulus.as_bytes();
    let bits = m.len() * 8 - m.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(2048..=4096).contains(&bits) {
        return Err(CryptoError::UnsupportedKey(format!(
            "RSA-{bits} (2048 to 4096 bits accepted)"
        )));
    }
    Ok(bits)
}
