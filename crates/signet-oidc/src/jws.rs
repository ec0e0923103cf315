//! JWS compact serialization (RFC 7515 §7.1) of a signed JWT (RFC 7519): parsing with size
//! limits, the JOSE header, and the signature check against a [`KeySet`]. Pure: no I/O, no
//! clock.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;

use crate::claims::Claims;
use crate::jwk::{KeySet, KeyType, VerificationKey};
use crate::TokenError;

/// Tokens longer than this are refused before any decoding. A GitHub Actions token is about
/// 1.3 KB and a Kubernetes service-account token about 1 KB; 32 KiB leaves room for fat
/// enterprise tokens without letting a request make us decode megabytes.
pub const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) an identity token may be signed with.
///
/// `none` and the HMAC algorithms are refused always: an HMAC "key" would be the issuer's
/// public key, the classic algorithm-confusion forgery. PS256 is left out because
/// `signet-crypto` has no RSA-PSS scheme (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    ES256,
    ES384,
    EdDSA,
}

impl Algorithm {
    /// The `alg` header value; unknown names (including `none` and `HS256`) are `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "EdDSA" => Algorithm::EdDSA,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The only key type this algorithm may be used with.
    pub fn key_type(self) -> KeyType {
        match self {
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => KeyType::Rsa,
            Algorithm::ES256 => KeyType::EcP256,
            Algorithm::ES384 => KeyType::EcP384,
            Algorithm::EdDSA => KeyType::Ed25519,
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JOSE header fields signet reads (RFC 7515 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A parsed token whose signature has not been checked yet. Its claims may be read only to
/// choose the issuer whose keys check it.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    header: Header,
    claims: Claims,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the JWS signing input (§5.1).
    signing_input: String,
    signature: Vec<u8>,
}

impl UnverifiedToken {
    /// Parses a compact-serialized JWS carrying a JSON claims set. Refuses `alg` values other
    /// than [`Algorithm`]'s before decoding the payload, any `crit` header (RFC 7515 §4.1.11:
    /// we understand no extensions), and a `typ` other than `JWT`.
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max: MAX_TOKEN_BYTES,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed {
                reason: format!(
                    "expected 3 dot-separated parts, found {}",
                    token.split('.').count()
                ),
            });
        };

        let header_json = decode_part("header", header_b64)?;
        let raw: RawHeader = json_object(&header_json).map_err(|e| TokenError::MalformedHeader {
            reason: e.to_string(),
        })?;
        let alg = Algorithm::parse(&raw.alg).ok_or(TokenError::UnsupportedAlgorithm { alg: raw.alg })?;
        if let Some(crit) = raw.crit {
            return Err(TokenError::CriticalHeader {
                crit: crit.to_string(),
            });
        }
        if let Some(typ) = &raw.typ {
            // RFC 7519 §5.1 recommends "JWT"; RFC 7515 §4.1.9 allows the "application/" prefix.
            let t = typ.to_ascii_lowercase();
            if t != "jwt" && t != "application/jwt" {
                return Err(TokenError::UnexpectedType { typ: typ.clone() });
            }
        }

        let payload = decode_part("payload", payload_b64)?;
        let claims = Claims::from_json(&payload)?;
        let signature = decode_part("signature", signature_b64)?;
        Ok(UnverifiedToken {
            header: Header {
                alg,
                kid: raw.kid,
                typ: raw.typ,
            },
            claims,
            signing_input: token[..header_b64.len() + 1 + payload_b64.len()].to_owned(),
            signature,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The claims, not yet authenticated.
    pub fn unverified_claims(&self) -> &Claims {
        &self.claims
    }

    /// Checks the signature with the issuer's keys and returns the key that verified it.
    ///
    /// With a `kid`, only keys with that `kid` are candidates; one of the wrong type for `alg`
    /// is an error, never a reason to try another algorithm. Without a `kid`, every key of the
    /// right type is tried (as go-oidc does). [`TokenError::UnknownKey`] (and
    /// [`TokenError::BadSignature`] without a `kid`) tell the caller a fresher key set may help.
    pub fn verify_signature<'k>(
        &self,
        issuer: &str,
        keys: &'k KeySet,
    ) -> Result<&'k VerificationKey, TokenError> {
        let alg = self.header.alg;
        let kid = self.header.kid.as_deref();
        let mut candidates = keys
            .keys()
            .iter()
            .filter(|k| kid.is_none() || k.kid() == kid)
            .peekable();
        if kid.is_some() && candidates.peek().is_none() {
            return Err(self.unknown_key(issuer));
        }
        let mut first_error = None;
        let mut tried = 0;
        for key in candidates {
            if let Err(e) = key.check_algorithm(alg) {
                if kid.is_some() {
                    first_error.get_or_insert(e);
                }
                continue;
            }
            tried += 1;
            match key.verify(alg, self.signing_input.as_bytes(), &self.signature) {
                Ok(()) => return Ok(key),
                Err(e @ TokenError::SignatureLength { .. }) => return Err(e),
                Err(_) => {}
            }
        }
        if tried == 0 {
            return Err(first_error.unwrap_or_else(|| self.unknown_key(issuer)));
        }
        Err(TokenError::BadSignature {
            issuer: issuer.to_owned(),
            kid: self.header.kid.clone(),
        })
    }

    fn unknown_key(&self, issuer: &str) -> TokenError {
        TokenError::UnknownKey {
            issuer: issuer.to_owned(),
            kid: self.header.kid.clone(),
            alg: self.header.alg.as_str(),
        }
    }
}

fn decode_part(part: &'static str, b64: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(b64).map_err(|e| TokenError::BadBase64 {
        part,
        reason: e.to_string(),
    })
}

/// Re-encodes a JOSE ECDSA signature, the fixed-width `r || s` of RFC 7518 §3.4, as the DER
/// `Ecdsa-Sig-Value` SEQUENCE { r INTEGER, s INTEGER } that `signet-crypto` verifies.
/// `component_len` is 32 for P-256 and 48 for P-384; any other total length is refused, so a
/// DER signature smuggled into a JWS never reaches the verifier.
pub(crate) fn ecdsa_raw_to_der(
    alg: Algorithm,
    raw: &[u8],
    component_len: usize,
) -> Result<Vec<u8>, TokenError> {
    if raw.len() != 2 * component_len {
        return Err(TokenError::SignatureLength {
            alg: alg.as_str(),
            expected: 2 * component_len,
            got: raw.len(),
        });
    }
    let (r, s) = raw.split_at(component_len);
    let mut body = Vec::with_capacity(raw.len() + 6);
    der_integer(&mut body, r);
    der_integer(&mut body, s);
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(0x30);
    der_length(&mut out, body.len());
    out.extend_from_slice(&body);
    Ok(out)
}

/// A non-negative big-endian integer as DER: minimal, with a 0x00 pad when the top bit is set.
fn der_integer(out: &mut Vec<u8>, unsigned: &[u8]) {
    let first = unsigned.iter().position(|&b| b != 0);
    let digits = first.map_or(&[0u8][..], |i| &unsigned[i..]);
    let pad = digits[0] & 0x80 != 0;
    out.push(0x02);
    der_length(out, digits.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(digits);
}

fn der_length(out: &mut Vec<u8>, len: usize) {
    // P-384 signatures are at most 2 * (2 + 49) = 102 bytes, but stay correct above 127.
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
}

/// Deserialises a JSON object. serde's derived structs also accept a JSON array of the fields
/// in order; a JOSE header (RFC 7515 §4) and the JSON documents this crate reads are objects.
pub(crate) fn json_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    if !value.is_object() {
        return Err(<serde_json::Error as serde::de::Error>::custom(
            "expected a JSON object",
        ));
    }
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn der_of_raw_signature() {
        let mut raw = [0u8; 64];
        raw[31] = 1; // r = 1
        raw[32] = 0x80; // s has its top bit set: needs a pad byte
        let der = ecdsa_raw_to_der(Algorithm::ES256, &raw, 32).unwrap();
        let mut expected = vec![0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 33, 0x00, 0x80];
        expected.extend_from_slice(&[0u8; 31]);
        assert_eq!(der, expected);
        // r = 0 encodes as a single zero byte.
        let der = ecdsa_raw_to_der(Algorithm::ES256, &[0u8; 64], 32).unwrap();
        assert_eq!(der, [0x30, 6, 2, 1, 0, 2, 1, 0]);
    }

    #[test]
    fn wrong_length_ecdsa_signature_is_refused() {
        let err = ecdsa_raw_to_der(Algorithm::ES256, &[1u8; 70], 32).unwrap_err();
        assert!(matches!(
            err,
            TokenError::SignatureLength {
                expected: 64,
                got: 70,
                ..
            }
        ));
    }

    #[test]
    fn refuses_none_hmac_and_unknown_algorithms() {
        for alg in [
            "none", "None", "HS256", "HS384", "HS512", "PS256", "ES512", "RS1", "",
        ] {
            let token = format!(
                "{}.{}.",
                b64(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
                b64(r#"{"iss":"x"}"#)
            );
            match UnverifiedToken::parse(&token) {
                Err(TokenError::UnsupportedAlgorithm { alg: a }) => assert_eq!(a, alg),
                other => panic!("alg {alg}: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_crit_and_foreign_typ() {
        let t = format!(
            "{}.{}.AAAA",
            b64(r#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
            b64("{}")
        );
        assert!(matches!(
            UnverifiedToken::parse(&t),
            Err(TokenError::CriticalHeader { .. })
        ));
        let t = format!(
            "{}.{}.AAAA",
            b64(r#"{"alg":"ES256","typ":"dpop+jwt"}"#),
            b64("{}")
        );
        assert!(matches!(
            UnverifiedToken::parse(&t),
            Err(TokenError::UnexpectedType { .. })
        ));
    }

    #[test]
    fn malformed_inputs_are_400() {
        let cases = [
            String::new(),
            "a.b".into(),
            "a.b.c.d".into(),
            "!!.e30.AA".into(),
            format!("{}.e30.AA", b64("not json")),
            format!("{}.{}.AA", b64(r#"{"alg":"ES256"}"#), b64("[1,2]")),
            format!("{}.{}.A=", b64(r#"{"alg":"ES256"}"#), b64("{}")),
            format!("{}.{}.AA", b64(r#"{"alg":"ES256","kid":7}"#), b64("{}")),
            "a".repeat(MAX_TOKEN_BYTES + 1),
        ];
        for c in cases {
            let err = UnverifiedToken::parse(&c).unwrap_err();
            assert_eq!(err.http_status(), 400, "{c:.40}: {err}");
        }
    }
}
