//! The small part of JOSE the provider needs: ES256 compact JWS (RFC 7515 §7.1, RFC 7518
//! §3.4), the public key as a JWK (RFC 7517, RFC 7518 §6.2) and its thumbprint (RFC 7638).
//! Public so a verifier (the CA's tests, for one) can turn a JWK back into a key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use der::asn1::UintRef;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use signet_crypto::{sha256, CryptoError, KeyKind, PublicKey, SigningKey};
use thiserror::Error;

/// Length of one P-256 coordinate or scalar.
const P256_LEN: usize = 32;
/// DER `SubjectPublicKeyInfo` prefix of an uncompressed P-256 point (id-ecPublicKey,
/// prime256v1, BIT STRING of 66 bytes); the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a JOSE value could not be made or read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JoseError {
    #[error("ES256 needs an ECDSA P-256 key, found {0}")]
    WrongKey(KeyKind),
    #[error("ECDSA signature: {0}")]
    Signature(String),
    #[error("JWK: {0}")]
    Jwk(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A public EC key as a JWK, with the members RFC 7518 §6.2.1 defines for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub kid: String,
}

impl Jwk {
    /// The JWK of a P-256 public key, `kid` set to its RFC 7638 thumbprint.
    pub fn from_public_key(key: &PublicKey) -> Result<Jwk, JoseError> {
        if key.kind() != KeyKind::EcdsaP256 {
            return Err(JoseError::WrongKey(key.kind()));
        }
        // The SPKI's BIT STRING holds the uncompressed point 0x04 || x || y (SEC 1 §2.3.3).
        let point = key.raw_bytes();
        if point.len() != 1 + 2 * P256_LEN || point[0] != 0x04 {
            return Err(JoseError::Jwk("P-256 key is not an uncompressed point".into()));
        }
        let x = B64URL.encode(&point[1..1 + P256_LEN]);
        let y = B64URL.encode(&point[1 + P256_LEN..]);
        Ok(Jwk {
            kid: thumbprint(&x, &y),
            kty: "EC".into(),
            crv: "P-256".into(),
            x,
            y,
            use_: "sig".into(),
            alg: "ES256".into(),
        })
    }

    /// The key back as a `PublicKey` (DER SubjectPublicKeyInfo built from x and y).
    pub fn to_public_key(&self) -> Result<PublicKey, JoseError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(JoseError::Jwk(format!(
                "kty {:?} crv {:?}: expected EC P-256",
                self.kty, self.crv
            )));
        }
        let coordinate = |name: &str, value: &str| {
            B64URL
                .decode(value)
                .ok()
                .filter(|b| b.len() == P256_LEN)
                .ok_or_else(|| JoseError::Jwk(format!("{name} is not 32 base64url bytes")))
        };
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.push(0x04);
        spki.extend(coordinate("x", &self.x)?);
        spki.extend(coordinate("y", &self.y)?);
        Ok(PublicKey::from_spki_der(&spki)?)
    }
}

/// RFC 7638 thumbprint of an EC key: SHA-256 over the required members in lexicographic
/// order with no whitespace, base64url.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    B64URL.encode(sha256(canonical.as_bytes()))
}

/// Signs `claims` as a compact JWS with header `{"alg":"ES256","typ":"JWT","kid":kid}`.
pub fn sign_es256(key: &SigningKey, kid: &str, claims: &serde_json::Value) -> Result<String, JoseError> {
    if key.public_key().kind() != KeyKind::EcdsaP256 {
        return Err(JoseError::WrongKey(key.public_key().kind()));
    }
    let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let der = key.sign(signing_input.as_bytes())?;
    let raw = ecdsa_der_to_raw(&der)?;
    Ok(format!("{signing_input}.{}", B64URL.encode(raw)))
}

/// Splits a compact JWS into its decoded header and payload JSON, and checks its ES256
/// signature with `key`.
pub fn verify_es256(
    key: &PublicKey,
    token: &str,
) -> Result<(serde_json::Value, serde_json::Value), JoseError> {
    let bad = |what: &str| JoseError::Signature(format!("compact JWS: {what}"));
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected three dot-separated parts"));
    };
    let json = |part: &str| {
        B64URL
            .decode(part)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .ok_or_else(|| bad("a part is not base64url JSON"))
    };
    let (header, payload) = (json(h)?, json(p)?);
    if header["alg"] != "ES256" {
        return Err(bad("alg is not ES256"));
    }
    let raw = B64URL.decode(s).map_err(|_| bad("signature is not base64url"))?;
    let der = ecdsa_raw_to_der(&raw)?;
    key.verify_default(format!("{h}.{p}").as_bytes(), &der)?;
    Ok((header, payload))
}

/// DER `ECDSA-Sig-Value` (RFC 3279 §2.2.3) to the fixed-width r || s JWS uses (RFC 7518 §3.4).
pub fn ecdsa_der_to_raw(der: &[u8]) -> Result<[u8; 2 * P256_LEN], JoseError> {
    // A SEQUENCE of two INTEGERs encodes exactly as a SEQUENCE OF INTEGER.
    let ints = Vec::<UintRef<'_>>::from_der(der).map_err(|e| JoseError::Signature(e.to_string()))?;
    let [r, s] = ints.as_slice() else {
        return Err(JoseError::Signature(format!(
            "expected 2 integers, found {}",
            ints.len()
        )));
    };
    let mut raw = [0u8; 2 * P256_LEN];
    for (int, half) in [r, s].into_iter().zip(raw.chunks_mut(P256_LEN)) {
        let bytes = int.as_bytes();
        if bytes.len() > P256_LEN {
            return Err(JoseError::Signature("integer longer than 32 bytes".into()));
        }
        half[P256_LEN - bytes.len()..].copy_from_slice(bytes);
    }
    Ok(raw)
}

/// Fixed-width r || s back to DER, for verifiers that take DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, JoseError> {
    if raw.len() != 2 * P256_LEN {
        return Err(JoseError::Signature(format!(
            "ES256 signature is {} bytes, expected 64",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(P256_LEN);
    let ints = [r, s]
        .into_iter()
        .map(UintRef::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| JoseError::Signature(e.to_string()))?;
    ints.to_der().map_err(|e| JoseError::Signature(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_shape() {
        // The RFC 7638 §3.1 example is RSA; check the EC form by construction instead.
        let t = thumbprint("a", "b");
        assert_eq!(t.len(), 43);
        assert_eq!(
            t,
            B64URL.encode(sha256(br#"{"crv":"P-256","kty":"EC","x":"a","y":"b"}"#))
        );
    }

    #[test]
    fn der_raw_round_trip_with_short_integers() {
        let mut raw = [0u8; 64];
        raw[31] = 1; // r = 1
        raw[32] = 0x80; // s has its top bit set, so DER adds a 0x00
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x01, 0x01]);
        assert_eq!(ecdsa_der_to_raw(&der).unwrap(), raw);
    }

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let jwk = Jwk::from_public_key(key.public_key()).unwrap();
        assert_eq!(&jwk.to_public_key().unwrap(), key.public_key());
        let token = sign_es256(&key, &jwk.kid, &serde_json::json!({"sub": "x"})).unwrap();
        let (header, payload) = verify_es256(key.public_key(), &token).unwrap();
        assert_eq!(header["kid"], jwk.kid.as_str());
        assert_eq!(payload["sub"], "x");
        let tampered = token.replacen(".e", ".f", 1);
        assert!(verify_es256(key.public_key(), &tampered).is_err());
    }

    #[test]
    fn refuses_other_keys() {
        let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
        assert!(matches!(
            Jwk::from_public_key(key.public_key()),
            Err(JoseError::WrongKey(KeyKind::Ed25519))
        ));
    }
}
