//! TUF keys (§4.2 "KEY", and securesystemslib's key schemes) and the signature check of one
//! key over canonical bytes.
//!
//! A key whose type or scheme this client does not know, or whose public value does not parse,
//! is not an error when the metadata is read: the key is kept, marked unusable, and a
//! signature by it never counts toward a threshold. Metadata that lists such keys still loads,
//! as python-tuf loads it, and verifies if enough other keys signed.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};
use signet_crypto::{KeyKind, PublicKey};

/// A public key as metadata lists it: `{"keytype", "scheme", "keyval": {"public"}}`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    /// `keyval.public` (empty when absent).
    pub public: String,
    verifier: Result<Verifier, String>,
}

/// A usable key: the algorithm and the raw key bytes aws-lc takes for it.
#[derive(Debug, Clone)]
struct Verifier {
    algorithm: Algorithm,
    /// An uncompressed SEC1 point, a raw Ed25519 key, or a DER RSAPublicKey.
    raw: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Algorithm {
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    Ed25519,
    RsaPssSha256,
}

impl Algorithm {
    fn aws(self) -> &'static dyn VerificationAlgorithm {
        match self {
            // securesystemslib writes ECDSA signatures as DER (ASN.1) and hashes with the
            // curve's hash (ecdsa-sha2-nistp256 → SHA-256, -nistp384 → SHA-384).
            Algorithm::EcdsaP256Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
            Algorithm::EcdsaP384Sha384 => &sig::ECDSA_P384_SHA384_ASN1,
            Algorithm::Ed25519 => &sig::ED25519,
            // securesystemslib signs RSASSA-PSS with MGF1-SHA256 and a salt as long as the
            // digest, which is aws-lc's default for this algorithm.
            Algorithm::RsaPssSha256 => &sig::RSA_PSS_2048_8192_SHA256,
        }
    }
}

impl Key {
    /// Reads a key object. Only the shape is checked here (`keytype` and `scheme` strings,
    /// `keyval` an object); an unknown or malformed key is returned unusable, not refused.
    pub(crate) fn from_json(value: &Value) -> Result<Self, String> {
        let object = value.as_object().ok_or("key is not a JSON object")?;
        let text = |name: &str| -> Result<String, String> {
            match object.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("key field \"{name}\" is not a string")),
                None => Err(format!("key has no \"{name}\"")),
            }
        };
        let keytype = text("keytype")?;
        let scheme = text("scheme")?;
        let keyval: &Map<String, Value> = object
            .get("keyval")
            .ok_or("key has no \"keyval\"")?
            .as_object()
            .ok_or("key field \"keyval\" is not an object")?;
        let public = keyval.get("public").and_then(Value::as_str).map(str::to_string);
        let verifier = match &public {
            Some(p) => Verifier::new(&keytype, &scheme, p),
            None => Err("keyval has no \"public\" string".to_string()),
        };
        Ok(Key {
            keytype,
            scheme,
            public: public.unwrap_or_default(),
            verifier,
        })
    }

    /// True when signatures by this key can be checked.
    pub fn is_usable(&self) -> bool {
        self.verifier.is_ok()
    }

    /// Why the key cannot be used, if it cannot.
    pub fn unusable_reason(&self) -> Option<&str> {
        self.verifier.as_ref().err().map(String::as_str)
    }

    /// The key itself, for telling whether two keyids name one key: the algorithm and the raw
    /// public key bytes, the same for any encoding of the key (PEM or hex). None when unusable.
    pub(crate) fn identity(&self) -> Option<(Algorithm, &[u8])> {
        self.verifier
            .as_ref()
            .ok()
            .map(|v| (v.algorithm, v.raw.as_slice()))
    }

    /// Checks `signature` (raw bytes, hex-decoded from `sig`) over `message`. False for an
    /// unusable key.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.verifier {
            Ok(v) => UnparsedPublicKey::new(v.algorithm.aws(), &v.raw)
                .verify(message, signature)
                .is_ok(),
            Err(_) => false,
        }
    }
}

impl Verifier {
    fn new(keytype: &str, scheme: &str, public: &str) -> Result<Self, String> {
        let (algorithm, raw) = match (keytype, scheme) {
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                (Algorithm::EcdsaP256Sha256, ec_point(public, KeyKind::EcdsaP256)?)
            }
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                (Algorithm::EcdsaP384Sha384, ec_point(public, KeyKind::EcdsaP384)?)
            }
            ("ed25519", "ed25519") => {
                let raw = hex::decode(public).map_err(|e| format!("ed25519 public key is not hex: {e}"))?;
                if raw.len() != 32 {
                    return Err(format!("ed25519 public key is {} bytes, expected 32", raw.len()));
                }
                (Algorithm::Ed25519, raw)
            }
            ("rsa", "rsassa-pss-sha256") => {
                let key = PublicKey::from_pem(public)
                    .map_err(|e| format!("rsa public key is not a PEM SubjectPublicKeyInfo: {e}"))?;
                if !matches!(key.kind(), KeyKind::Rsa(_)) {
                    return Err(format!("keytype rsa holds a {} key", key.kind()));
                }
                (Algorithm::RsaPssSha256, key.raw_bytes().to_vec())
            }
            _ => {
                return Err(format!(
                    "keytype {keytype:?} with scheme {scheme:?} is not supported"
                ))
            }
        };
        // Let aws-lc check the point is on the curve / the key is well formed now.
        UnparsedPublicKey::new(algorithm.aws(), &raw)
            .parse()
            .map_err(|e| format!("{scheme} public key rejected: {e}"))?;
        Ok(Verifier { algorithm, raw })
    }
}

/// An ECDSA public key as securesystemslib writes it: a PEM SubjectPublicKeyInfo, or (as
/// Sigstore's roots 1 to 4 have it) the hex of the uncompressed SEC1 point `04 || X || Y`.
fn ec_point(public: &str, kind: KeyKind) -> Result<Vec<u8>, String> {
    if public.trim_start().starts_with("-----BEGIN") {
        let key = PublicKey::from_pem(public)
            .map_err(|e| format!("ECDSA public key is not a PEM SubjectPublicKeyInfo: {e}"))?;
        if key.kind() != kind {
            return Err(format!(
                "scheme wants a {kind} key, the PEM holds a {} key",
                key.kind()
            ));
        }
        return Ok(key.raw_bytes().to_vec());
    }
    let raw = hex::decode(public).map_err(|e| format!("ECDSA public key is neither PEM nor hex: {e}"))?;
    let coordinate = match kind {
        KeyKind::EcdsaP384 => 48,
        _ => 32,
    };
    if raw.len() != 1 + 2 * coordinate || raw.first() != Some(&0x04) {
        return Err(format!(
            "hex ECDSA public key is {} bytes, expected an uncompressed {kind} point (0x04 and {} bytes)",
            raw.len(),
            2 * coordinate
        ));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use signet_crypto::SigningKey;

    fn key(keytype: &str, scheme: &str, public: &str) -> Key {
        Key::from_json(&json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}})).unwrap()
    }

    fn sign_check(signer: &SigningKey, key: &Key) {
        assert!(key.is_usable(), "{:?}", key.unusable_reason());
        let sig = signer.sign(b"message").unwrap();
        assert!(key.verifies(b"message", &sig));
        assert!(!key.verifies(b"messagE", &sig));
        assert!(!key.verifies(b"message", &sig[1..]));
    }

    #[test]
    fn ecdsa_p256_pem_and_both_keytype_spellings() {
        let signer = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let pem = signer.public_key().to_pem();
        sign_check(&signer, &key("ecdsa", "ecdsa-sha2-nistp256", &pem));
        sign_check(&signer, &key("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", &pem));
        // The right curve is required.
        assert!(!key("ecdsa", "ecdsa-sha2-nistp384", &pem).is_usable());
    }

    #[test]
    fn ecdsa_p256_hex_sec1_point() {
        let signer = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let point = hex::encode(signer.public_key().raw_bytes());
        assert_eq!(point.len(), 130);
        sign_check(
            &signer,
            &key("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", &point),
        );
        // A point off the curve, a compressed-length value, odd hex: unusable, not an error.
        let mut off = signer.public_key().raw_bytes().to_vec();
        off[64] ^= 1;
        assert!(!key("ecdsa", "ecdsa-sha2-nistp256", &hex::encode(off)).is_usable());
        assert!(!key("ecdsa", "ecdsa-sha2-nistp256", &point[..66]).is_usable());
        assert!(!key("ecdsa", "ecdsa-sha2-nistp256", "0").is_usable());
    }

    #[test]
    fn ecdsa_p384() {
        let signer = SigningKey::generate(KeyKind::EcdsaP384).unwrap();
        sign_check(
            &signer,
            &key("ecdsa", "ecdsa-sha2-nistp384", &signer.public_key().to_pem()),
        );
        let point = hex::encode(signer.public_key().raw_bytes());
        sign_check(
            &signer,
            &key("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", &point),
        );
        assert!(!key("ecdsa", "ecdsa-sha2-nistp256", &signer.public_key().to_pem()).is_usable());
    }

    #[test]
    fn ed25519_hex() {
        let signer = SigningKey::generate(KeyKind::Ed25519).unwrap();
        let public = hex::encode(signer.public_key().raw_bytes());
        sign_check(&signer, &key("ed25519", "ed25519", &public));
        assert!(!key("ed25519", "ed25519", &public[..62]).is_usable());
        assert!(!key("ed25519", "ed25519", &signer.public_key().to_pem()).is_usable());
    }

    #[test]
    fn rsa_pss_sha256_pem() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::KeySize;
        use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PSS_SHA256};
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let spki = pair.public_key().as_der().unwrap();
        let pem = PublicKey::from_spki_der(spki.as_ref()).unwrap().to_pem();
        let k = key("rsa", "rsassa-pss-sha256", &pem);
        assert!(k.is_usable(), "{:?}", k.unusable_reason());
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(&RSA_PSS_SHA256, &rng, b"message", &mut sig).unwrap();
        assert!(k.verifies(b"message", &sig));
        assert!(!k.verifies(b"messagE", &sig));
        // PKCS#1 v1.5 is another scheme: not accepted as PSS.
        assert!(!key("rsa", "rsa-pkcs1v15-sha256", &pem).is_usable());
    }

    #[test]
    fn unknown_types_and_schemes_load_unusable() {
        let k = key("sphincs", "sphincs-shake-256", "00");
        assert!(!k.is_usable());
        assert!(k.unusable_reason().unwrap().contains("not supported"));
        assert!(!k.verifies(b"m", b"s"));
        let k = Key::from_json(&json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {}})).unwrap();
        assert!(!k.is_usable());
    }

    #[test]
    fn malformed_key_objects_are_errors() {
        for bad in [
            json!("key"),
            json!({"scheme": "ed25519", "keyval": {"public": ""}}),
            json!({"keytype": 1, "scheme": "ed25519", "keyval": {"public": ""}}),
            json!({"keytype": "ed25519", "scheme": "ed25519"}),
            json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": "00"}),
        ] {
            assert!(Key::from_json(&bad).is_err(), "{bad}");
        }
    }
}
