//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2) turned into verification keys: RSA
//! (`n`, `e`; 2048 to 8192 bits), EC P-256 / P-384 (`x`, `y`) and OKP Ed25519 (`x`). Each key
//! is re-encoded as a DER SubjectPublicKeyInfo. A JWK Set keeps the keys it can use and records
//! why it skipped the others: one odd key must not lock out an issuer.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, UintRef};
use der::{Encode, Sequence};
use serde::Deserialize;
use signet_crypto::{KeyKind, PublicKey, PublicKeyDetails};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use crate::jws::{ecdsa_raw_to_der, Algorithm};
use crate::TokenError;

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// RSA moduli accepted, in bits. RFC 7518 §3.3 asks for at least 2048; 8192 is aws-lc-rs's
/// ceiling for verification and more than any issuer publishes.
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// The type of a verification key; each JWS algorithm fits exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::EcP256 => "EC P-256",
            KeyType::EcP384 => "EC P-384",
            KeyType::Ed25519 => "OKP Ed25519",
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One JWK as published in a JWK Set, with the members signet reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub key_ops: Option<Vec<String>>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// Why a JWK was not turned into a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkError {
    #[error("JWK is not a JSON object with the expected members: {0}")]
    Shape(String),
    #[error("key is for use {0:?}, not signature verification")]
    NotForSignatures(String),
    #[error("kty {kty:?} crv {crv:?} is not supported")]
    UnsupportedKeyType { kty: String, crv: Option<String> },
    #[error("member {member} is missing")]
    MissingMember { member: &'static str },
    #[error("member {member} is not base64url: {reason}")]
    BadBase64 { member: &'static str, reason: String },
    #[error("member {member} is {got} bytes, expected {expected}")]
    BadLength {
        member: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("RSA modulus is {bits} bits; 2048 to 8192 are accepted")]
    RsaSize { bits: usize },
    #[error("key is not valid: {0}")]
    InvalidKey(String),
    #[error("JWK Set is not a JSON object with a \"keys\" array: {0}")]
    NotAKeySet(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Material {
    /// RSA keys are checked with aws-lc-rs directly: signet-crypto's schemes are Sigstore's
    /// (PKCS#1 v1.5 with SHA-256 at exactly 2048/3072/4096 bits), JOSE also needs SHA-384/512
    /// and moduli up to 8192 bits. The bytes are the PKCS#1 RSAPublicKey.
    Rsa { rsa_public_key: Vec<u8>, bits: usize },
    /// EC and Ed25519 keys go through signet-crypto.
    Crypto(PublicKey),
}

/// A public key that can check token signatures, with the JWK metadata that selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey {
    kid: Option<String>,
    /// The `alg` the JWK declares, if any: then it may verify that algorithm only.
    declared_alg: Option<String>,
    key_type: KeyType,
    spki_der: Vec<u8>,
    material: Material,
}

impl VerificationKey {
    /// Converts a JWK. Keys marked for encryption (`use: enc`, or `key_ops` without
    /// `verify`) are refused, as are unsupported types and curves.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        if let Some(u) = &jwk.use_ {
            if u != "sig" {
                return Err(JwkError::NotForSignatures(u.clone()));
            }
        }
        if let Some(ops) = &jwk.key_ops {
            if !ops.iter().any(|o| o == "verify") {
                return Err(JwkError::NotForSignatures(format!("key_ops {ops:?}")));
            }
        }
        let (key_type, spki_der) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => {
                let n = b64_member("n", jwk.n.as_deref())?;
                let e = b64_member("e", jwk.e.as_deref())?;
                (KeyType::Rsa, rsa_spki(&n, &e)?)
            }
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (key_type, curve, len) = if crv == "P-256" {
                    (KeyType::EcP256, OID_P256, 32)
                } else {
                    (KeyType::EcP384, OID_P384, 48)
                };
                let x = fixed_member("x", jwk.x.as_deref(), len)?;
                let y = fixed_member("y", jwk.y.as_deref(), len)?;
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04); // SEC 1 §2.3.3 uncompressed point
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let params = AnyRef::from(&curve);
                (key_type, spki(OID_EC_PUBLIC_KEY, Some(params), &point)?)
            }
            ("OKP", Some("Ed25519")) => {
                let x = fixed_member("x", jwk.x.as_deref(), 32)?;
                (KeyType::Ed25519, spki(OID_ED25519, None, &x)?)
            }
            (kty, crv) => {
                return Err(JwkError::UnsupportedKeyType {
                    kty: kty.to_owned(),
                    crv: crv.map(str::to_owned),
                })
            }
        };
        let mut key = Self::from_spki_der(&spki_der)?;
        key.kid.clone_from(&jwk.kid);
        key.declared_alg.clone_from(&jwk.alg);
        debug_assert_eq!(key.key_type, key_type);
        Ok(key)
    }

    /// A key from a DER SubjectPublicKeyInfo (for an issuer whose keys are known in process,
    /// such as the development provider), without a `kid` until [`Self::with_kid`].
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, JwkError> {
        use der::Decode;
        let info =
            SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| JwkError::InvalidKey(e.to_string()))?;
        let (key_type, material) = if info.algorithm.oid == OID_RSA_ENCRYPTION {
            let rsa_public_key = info
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| JwkError::InvalidKey("unaligned key bits".into()))?
                .to_vec();
            let bits = rsa_modulus_bits(&rsa_public_key)?;
            if !RSA_BITS.contains(&bits) {
                return Err(JwkError::RsaSize { bits });
            }
            UnparsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, &rsa_public_key)
                .parse()
                .map_err(|e| JwkError::InvalidKey(e.to_string()))?;
            (KeyType::Rsa, Material::Rsa { rsa_public_key, bits })
        } else {
            let key = PublicKey::from_spki_der(spki_der).map_err(|e| JwkError::InvalidKey(e.to_string()))?;
            let key_type = match key.kind() {
                KeyKind::EcdsaP256 => KeyType::EcP256,
                KeyKind::EcdsaP384 => KeyType::EcP384,
                KeyKind::Ed25519 => KeyType::Ed25519,
                other => {
                    return Err(JwkError::UnsupportedKeyType {
                        kty: other.to_string(),
                        crv: None,
                    })
                }
            };
            (key_type, Material::Crypto(key))
        };
        Ok(VerificationKey {
            kid: None,
            declared_alg: None,
            key_type,
            spki_der: spki_der.to_vec(),
            material,
        })
    }

    /// Sets the key id tokens name this key by.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key as a DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The RSA modulus size, for RSA keys.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self.material {
            Material::Rsa { bits, .. } => Some(bits),
            Material::Crypto(_) => None,
        }
    }

    /// Refuses an algorithm this key must not be used with (RFC 8725 §3.1: the key, not the
    /// token, decides the algorithm family).
    pub(crate) fn check_algorithm(&self, alg: Algorithm) -> Result<(), TokenError> {
        if alg.key_type() != self.key_type {
            return Err(TokenError::KeyAlgorithmMismatch {
                kid: self.kid.clone(),
                alg: alg.as_str(),
                key_type: self.key_type.as_str(),
                expected: alg.key_type().as_str(),
            });
        }
        if let Some(declared) = &self.declared_alg {
            if declared != alg.as_str() {
                return Err(TokenError::KeyDeclaredForOtherAlgorithm {
                    kid: self.kid.clone(),
                    declared: declared.clone(),
                    alg: alg.as_str(),
                });
            }
        }
        Ok(())
    }

    /// Checks a JWS signature over `message`. The caller has run [`Self::check_algorithm`].
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        self.check_algorithm(alg)?;
        let bad = || TokenError::BadSignature {
            issuer: String::new(),
            kid: self.kid.clone(),
        };
        match (&self.material, alg) {
            (Material::Rsa { rsa_public_key, .. }, _) => {
                let scheme: &'static dyn sig::VerificationAlgorithm = match alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    _ => return Err(bad()),
                };
                UnparsedPublicKey::new(scheme, rsa_public_key)
                    .verify(message, signature)
                    .map_err(|_| bad())
            }
            (Material::Crypto(key), Algorithm::ES256) => {
                let der = ecdsa_raw_to_der(alg, signature, 32)?;
                key.verify(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, message, &der)
                    .map_err(|_| bad())
            }
            (Material::Crypto(key), Algorithm::ES384) => {
                let der = ecdsa_raw_to_der(alg, signature, 48)?;
                key.verify(PublicKeyDetails::PKIX_ECDSA_P384_SHA_384, message, &der)
                    .map_err(|_| bad())
            }
            (Material::Crypto(key), Algorithm::EdDSA) => key
                .verify(PublicKeyDetails::PKIX_ED25519, message, signature)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// A key that was left out of a JWK Set, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    pub kid: Option<String>,
    pub reason: JwkError,
}

/// An issuer's verification keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
    skipped: Vec<SkippedKey>,
}

/// How many keys of a JWK Set are looked at; issuers publish two or three.
pub const MAX_JWKS_KEYS: usize = 100;

impl KeySet {
    pub fn new(keys: Vec<VerificationKey>) -> Self {
        KeySet {
            keys,
            skipped: Vec::new(),
        }
    }

    /// Parses a JWK Set document (RFC 7517 §5). Only a document that is not a JSON object
    /// with a `keys` array is an error; each unusable key is skipped and recorded.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<Self, JwkError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        // Read as a JSON object first: serde's derived structs also accept a JSON array of the
        // members in order (`[[]]` would be a key set, `["EC", …]` a key), which RFC 7517 §4
        // and §5 do not allow.
        let not_a_set = |e: serde_json::Error| JwkError::NotAKeySet(e.to_string());
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(bytes).map_err(not_a_set)?;
        let doc: Document = serde_json::from_value(serde_json::Value::Object(object)).map_err(not_a_set)?;
        let mut set = KeySet::default();
        for value in doc.keys.into_iter().take(MAX_JWKS_KEYS) {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            let parsed = if value.is_object() {
                serde_json::from_value::<Jwk>(value).map_err(|e| JwkError::Shape(e.to_string()))
            } else {
                Err(JwkError::Shape("the key is not a JSON object".into()))
            }
            .and_then(|jwk| VerificationKey::from_jwk(&jwk));
            match parsed {
                Ok(key) => set.keys.push(key),
                Err(reason) => set.skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok(set)
    }

    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// Keys of the document that were left out.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn b64_member(member: &'static str, value: Option<&str>) -> Result<Vec<u8>, JwkError> {
    let value = value.ok_or(JwkError::MissingMember { member })?;
    URL_SAFE_NO_PAD.decode(value).map_err(|e| JwkError::BadBase64 {
        member,
        reason: e.to_string(),
    })
}

/// EC coordinates and OKP keys have a fixed length (RFC 7518 §6.2.1.2, RFC 8037 §2).
fn fixed_member(member: &'static str, value: Option<&str>, len: usize) -> Result<Vec<u8>, JwkError> {
    let bytes = b64_member(member, value)?;
    if bytes.len() != len {
        return Err(JwkError::BadLength {
            member,
            expected: len,
            got: bytes.len(),
        });
    }
    Ok(bytes)
}

/// RFC 8017 §A.1.1 RSAPublicKey.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

fn rsa_spki(n: &[u8], e: &[u8]) -> Result<Vec<u8>, JwkError> {
    let invalid = |e: der::Error| JwkError::InvalidKey(e.to_string());
    // Base64urlUInt is minimal (RFC 7518 §2), but a leading zero is harmless; UintRef strips it.
    let key = RsaPublicKey {
        modulus: UintRef::new(n).map_err(invalid)?,
        public_exponent: UintRef::new(e).map_err(invalid)?,
    }
    .to_der()
    .map_err(invalid)?;
    spki(OID_RSA_ENCRYPTION, Some(AnyRef::NULL), &key)
}

fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Result<usize, JwkError> {
    use der::Decode;
    let key = RsaPublicKey::from_der(rsa_public_key).map_err(|e| JwkError::InvalidKey(e.to_string()))?;
    let m = key.modulus.as_bytes();
    Ok(m.len() * 8 - m.first().map_or(8, |b| b.leading_zeros() as usize))
}

fn spki(oid: ObjectIdentifier, parameters: Option<AnyRef<'_>>, key: &[u8]) -> Result<Vec<u8>, JwkError> {
    let invalid = |e: der::Error| JwkError::InvalidKey(e.to_string());
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(key).map_err(invalid)?,
    }
    .to_der()
    .map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(v: serde_json::Value) -> Jwk {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn ec_jwk_from_rfc7517_appendix_a1() {
        // RFC 7517 Appendix A.1, the P-256 example key.
        let key = VerificationKey::from_jwk(&jwk(serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "kid": "1",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        })))
        .unwrap();
        assert_eq!(key.key_type(), KeyType::EcP256);
        assert_eq!(key.kid(), Some("1"));
        let pk = PublicKey::from_spki_der(key.spki_der()).unwrap();
        assert_eq!(pk.kind(), KeyKind::EcdsaP256);
    }

    #[test]
    fn point_off_the_curve_is_refused() {
        let err = VerificationKey::from_jwk(&jwk(serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
            "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyQ",
        })))
        .unwrap_err();
        assert!(matches!(err, JwkError::InvalidKey(_)), "{err}");
    }

    #[test]
    fn key_set_skips_what_it_cannot_use() {
        let doc = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "good",
             "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
             "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
            {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc",
             "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
             "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
            {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "short", "x": "AAAA"},
            {"kty": "EC", "crv": "P-384", "kid": "coords", "x": "AA"},
            {"kid": 5},
            "not an object",
        ]});
        let set = KeySet::from_jwks_json(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].kid(), Some("good"));
        let reasons: Vec<_> = set.skipped().iter().map(|s| s.reason.clone()).collect();
        assert!(matches!(reasons[0], JwkError::NotForSignatures(_)));
        assert!(matches!(reasons[1], JwkError::UnsupportedKeyType { .. }));
        assert!(matches!(reasons[2], JwkError::UnsupportedKeyType { .. }));
        assert!(matches!(reasons[3], JwkError::RsaSize { bits: 17 }));
        assert!(matches!(reasons[4], JwkError::BadLength { .. }));
        assert!(matches!(reasons[5], JwkError::BadLength { .. }));
        assert!(matches!(reasons[6], JwkError::Shape(_)));
        assert!(matches!(reasons[7], JwkError::Shape(_)));
        assert!(KeySet::from_jwks_json(b"[]").is_err());
    }

    /// Found by the `jwks` fuzz target: serde's derived structs read a JSON array of the
    /// members in order, so `[[]]` was an empty key set and an array could be a key.
    #[test]
    fn key_sets_and_keys_are_json_objects() {
        assert!(matches!(
            KeySet::from_jwks_json(b"[[]]"),
            Err(JwkError::NotAKeySet(_))
        ));
        assert!(matches!(
            KeySet::from_jwks_json(br#"[["x"]]"#),
            Err(JwkError::NotAKeySet(_))
        ));
        let good = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "k",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let as_array =
            serde_json::json!(["EC", null, null, null, "k", null, null, "P-256", good["x"], good["y"]]);
        let set = KeySet::from_jwks_json(
            serde_json::json!({"keys": [good, as_array]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(set.keys().len(), 1);
        assert!(matches!(set.skipped()[0].reason, JwkError::Shape(_)));
    }
}
