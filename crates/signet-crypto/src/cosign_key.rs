//! cosign's password-encrypted private key files (`cosign generate-key-pair`), readable and
//! writable here so a key made by either tool works in the other.
//!
//! The format is go-securesystemslib's `encrypted` package as cosign uses it
//! (`pkg/cosign/keys.go`): a PEM block of type `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign still
//! reads the older `ENCRYPTED COSIGN PRIVATE KEY`) whose body is the JSON
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<base64>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<base64>"},
//!  "ciphertext":"<base64>"}
//! ```
//!
//! The secretbox key is `scrypt(password, salt, N, r, p)`, 32 bytes; the plaintext is the
//! PKCS#8 DER private key, written in its version 1 form (RFC 5208, no public key) as Go's
//! `x509.MarshalPKCS8PrivateKey` does: aws-lc-rs makes Ed25519 keys as version 2 documents,
//! which OpenSSL 3.0 cannot read. The ciphertext is NaCl's (the 16-byte Poly1305 tag, then the
//! XSalsa20 ciphertext). Base64 is standard with padding, as Go's `encoding/json` writes
//! `[]byte`. The public key goes beside it as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
//!
//! Reading a file runs scrypt with the parameters the file names, so a hostile file could ask
//! for gigabytes and minutes: N is capped at 2^20, r at 8 and p at 4 (at most 1 GiB; cosign
//! writes N = 32768 or 65536, r = 8, p = 1).

use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Key, Nonce, XSalsa20Poly1305};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::{CryptoError, PublicKey, SigningKey};

/// The PEM type cosign writes since v2.
pub const SIGSTORE_PRIVATE_KEY_PEM_TYPE: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM type older cosign versions wrote; still read.
pub const COSIGN_PRIVATE_KEY_PEM_TYPE: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
/// go-securesystemslib's `saltSize`.
const SALT_LEN: usize = 32;
/// XSalsa20's nonce.
const NONCE_LEN: usize = 24;
/// The secretbox key, scrypt's output length.
const KEY_LEN: usize = 32;
/// Poly1305 tag NaCl puts before the ciphertext.
const TAG_LEN: usize = 16;

/// Largest scrypt cost a file may ask for: N ≤ 2^20, r ≤ 8 (128·r·N bytes = 1 GiB), p ≤ 4.
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 8;
const MAX_P: u32 = 4;

/// The scrypt cost written with new keys: go-securesystemslib's standard parameters, which
/// cosign uses (N = 2^16, r = 8, p = 1).
pub const DEFAULT_SCRYPT: ScryptParams = ScryptParams {
    n: 1 << 16,
    r: 8,
    p: 1,
};

/// Why an encrypted key could not be read or written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CosignKeyError {
    #[error("not a PEM file: {0}")]
    Pem(String),
    #[error("PEM block is {found:?}; expected {SIGSTORE_PRIVATE_KEY_PEM_TYPE:?} or {COSIGN_PRIVATE_KEY_PEM_TYPE:?}")]
    PemType { found: String },
    #[error("encrypted key body is not cosign's JSON: {0}")]
    Json(String),
    #[error("key derivation function {0:?} is not supported (only scrypt)")]
    UnsupportedKdf(String),
    #[error("cipher {0:?} is not supported (only nacl/secretbox)")]
    UnsupportedCipher(String),
    #[error("scrypt parameters N={n}, r={r}, p={p} refused: {reason}")]
    ScryptParams {
        n: u64,
        r: u32,
        p: u32,
        reason: &'static str,
    },
    #[error("{field} is {got} bytes; expected {expected}")]
    FieldLength {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("cannot decrypt the private key: wrong password, or the file is corrupted (secretbox authentication failed)")]
    Decrypt,
    #[error("decrypted private key: {0}")]
    Key(CryptoError),
    #[error("the system random number generator failed")]
    Random,
}

/// scrypt's cost parameters, named as in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScryptParams {
    #[serde(rename = "N")]
    pub n: u64,
    pub r: u32,
    pub p: u32,
}

impl ScryptParams {
    /// The parameters for the `scrypt` crate, refusing costs above the DoS guard.
    fn checked(&self) -> Result<scrypt::Params, CosignKeyError> {
        let refuse = |reason| CosignKeyError::ScryptParams {
            n: self.n,
            r: self.r,
            p: self.p,
            reason,
        };
        if self.n < 2 || !self.n.is_power_of_two() {
            return Err(refuse("N must be a power of two of at least 2"));
        }
        let log_n = self.n.trailing_zeros() as u8;
        if log_n > MAX_LOG_N {
            return Err(refuse(
                "N above 2^20 (a guard against files that cost gigabytes to open)",
            ));
        }
        if !(1..=MAX_R).contains(&self.r) {
            return Err(refuse("r must be 1 to 8"));
        }
        if !(1..=MAX_P).contains(&self.p) {
            return Err(refuse("p must be 1 to 4"));
        }
        scrypt::Params::new(log_n, self.r, self.p, KEY_LEN).map_err(|_| refuse("rejected by scrypt"))
    }

    /// `scrypt(password, salt)`, the secretbox key.
    fn derive(&self, password: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, CosignKeyError> {
        let params = self.checked()?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        scrypt::scrypt(password, salt, &params, key.as_mut_slice()).map_err(|_| {
            CosignKeyError::FieldLength {
                field: "scrypt output",
                expected: KEY_LEN,
                got: key.len(),
            }
        })?;
        Ok(key)
    }
}

/// The JSON body of the PEM block (go-securesystemslib `encrypted.data`).
#[derive(Debug, Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    #[serde(with = "b64")]
    salt: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
}

/// Bytes as standard, padded base64 strings, as Go's `encoding/json` writes `[]byte`.
mod b64 {
    use super::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Encrypts `key` under `password` with a random salt and nonce and [`DEFAULT_SCRYPT`]; returns
/// the PEM `ENCRYPTED SIGSTORE PRIVATE KEY` file.
pub fn encrypt_private_key(key: &SigningKey, password: &[u8]) -> Result<String, CosignKeyError> {
    encrypt_private_key_with(key, password, DEFAULT_SCRYPT)
}

/// [`encrypt_private_key`] with another scrypt cost (within the limits a reader accepts).
pub fn encrypt_private_key_with(
    key: &SigningKey,
    password: &[u8],
    params: ScryptParams,
) -> Result<String, CosignKeyError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::SecureRandom::fill(&rng, &mut salt).map_err(|_| CosignKeyError::Random)?;
    aws_lc_rs::rand::SecureRandom::fill(&rng, &mut nonce).map_err(|_| CosignKeyError::Random)?;
    seal(&pkcs8_v1(key.pkcs8_der())?, password, params, &salt, &nonce)
}

/// `pkcs8` without the optional public key of a version 2 document (RFC 5958 §2), so that it is
/// a version 1 document.
fn pkcs8_v1(pkcs8: &[u8]) -> Result<Zeroizing<Vec<u8>>, CosignKeyError> {
    use pkcs8::der::{Decode as _, Encode as _};
    let bad = |e: pkcs8::der::Error| CosignKeyError::Key(CryptoError::MalformedPrivateKey(e.to_string()));
    let mut info = pkcs8::PrivateKeyInfo::from_der(pkcs8).map_err(bad)?;
    info.public_key = None;
    info.to_der().map(Zeroizing::new).map_err(bad)
}

/// Encrypts a PKCS#8 key with the given parameters, salt and nonce (never reuse a salt and
/// nonce pair: [`encrypt_private_key`] draws fresh ones).
fn seal(
    pkcs8: &[u8],
    password: &[u8],
    params: ScryptParams,
    salt: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<String, CosignKeyError> {
    let key = params.derive(password, salt)?;
    let ciphertext = XSalsa20Poly1305::new(Key::from_slice(key.as_slice()))
        .encrypt(Nonce::from_slice(nonce), pkcs8)
        .map_err(|_| CosignKeyError::Decrypt)?;
    let body = EncryptedKey {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params,
            salt: salt.to_vec(),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: nonce.to_vec(),
        },
        ciphertext,
    };
    let json = serde_json::to_vec(&body).map_err(|e| CosignKeyError::Json(e.to_string()))?;
    Ok(pem_lf(SIGSTORE_PRIVATE_KEY_PEM_TYPE, json))
}

/// Decrypts a cosign encrypted key file and loads the key (ECDSA P-256, P-384 or Ed25519).
pub fn decrypt_private_key(pem: &str, password: &[u8]) -> Result<SigningKey, CosignKeyError> {
    let pkcs8 = decrypt_pkcs8(pem, password)?;
    SigningKey::from_pkcs8_der(&pkcs8).map_err(CosignKeyError::Key)
}

/// Decrypts a cosign encrypted key file to its PKCS#8 DER private key, whatever its algorithm.
pub fn decrypt_pkcs8(pem: &str, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, CosignKeyError> {
    let block = pem::parse(pem).map_err(|e| CosignKeyError::Pem(e.to_string()))?;
    if block.tag() != SIGSTORE_PRIVATE_KEY_PEM_TYPE && block.tag() != COSIGN_PRIVATE_KEY_PEM_TYPE {
        return Err(CosignKeyError::PemType {
            found: block.tag().to_owned(),
        });
    }
    // cosign writes a JSON object; serde's derived structs would also take an array of fields.
    let body: serde_json::Value =
        serde_json::from_slice(block.contents()).map_err(|e| CosignKeyError::Json(e.to_string()))?;
    if !body.is_object() {
        return Err(CosignKeyError::Json("the key body is not a JSON object".into()));
    }
    let body: EncryptedKey = serde_json::from_value(body).map_err(|e| CosignKeyError::Json(e.to_string()))?;
    if body.kdf.name != KDF_NAME {
        return Err(CosignKeyError::UnsupportedKdf(body.kdf.name));
    }
    if body.cipher.name != CIPHER_NAME {
        return Err(CosignKeyError::UnsupportedCipher(body.cipher.name));
    }
    if body.cipher.nonce.len() != NONCE_LEN {
        return Err(CosignKeyError::FieldLength {
            field: "cipher nonce",
            expected: NONCE_LEN,
            got: body.cipher.nonce.len(),
        });
    }
    if body.ciphertext.len() < TAG_LEN {
        return Err(CosignKeyError::FieldLength {
            field: "ciphertext",
            expected: TAG_LEN,
            got: body.ciphertext.len(),
        });
    }
    let key = body.kdf.params.derive(password, &body.kdf.salt)?;
    XSalsa20Poly1305::new(Key::from_slice(key.as_slice()))
        .decrypt(Nonce::from_slice(&body.cipher.nonce), body.ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| CosignKeyError::Decrypt)
}

/// The PEM `PUBLIC KEY` file that goes beside an encrypted key, with `\n` line ends as cosign
/// writes it.
pub fn public_key_pem(key: &PublicKey) -> String {
    pem_lf("PUBLIC KEY", key.spki_der().to_vec())
}

/// PEM with 64-character lines and `\n` line ends, as Go's `encoding/pem` writes.
fn pem_lf(tag: &str, contents: Vec<u8>) -> String {
    pem::encode_config(
        &pem::Pem::new(tag, contents),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KeyKind;
    use base64::Engine as _;

    /// A cheap cost for unit tests; the format is the same whatever N is.
    const FAST: ScryptParams = ScryptParams {
        n: 1 << 4,
        r: 8,
        p: 1,
    };

    fn sealed(key: &SigningKey, params: ScryptParams) -> String {
        seal(key.pkcs8_der(), b"pw", params, &[9; SALT_LEN], &[7; NONCE_LEN]).unwrap()
    }

    #[test]
    fn body_is_cosigns_json() {
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        let pem = sealed(&key, FAST);
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(!pem.contains('\r'));
        let block = pem::parse(&pem).unwrap();
        let json: serde_json::Value = serde_json::from_slice(block.contents()).unwrap();
        assert_eq!(json["kdf"]["name"], "scrypt");
        assert_eq!(
            json["kdf"]["params"],
            serde_json::json!({"N": 16, "r": 8, "p": 1})
        );
        assert_eq!(json["kdf"]["salt"], STANDARD.encode([9; SALT_LEN]));
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
        assert_eq!(json["cipher"]["nonce"], STANDARD.encode([7; NONCE_LEN]));
        let ciphertext = STANDARD.decode(json["ciphertext"].as_str().unwrap()).unwrap();
        assert_eq!(ciphertext.len(), key.pkcs8_der().len() + TAG_LEN);
        let back = decrypt_private_key(&pem, b"pw").unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn scrypt_costs_above_the_guard_are_refused_before_any_work() {
        let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
        for (n, r, p) in [
            (1u64 << 21, 8, 1),
            (1000, 8, 1),
            (1, 8, 1),
            (1 << 10, 9, 1),
            (1 << 10, 8, 5),
            (1 << 10, 0, 1),
        ] {
            let pem = sealed(&key, FAST);
            let block = pem::parse(&pem).unwrap();
            let mut json: serde_json::Value = serde_json::from_slice(block.contents()).unwrap();
            json["kdf"]["params"] = serde_json::json!({"N": n, "r": r, "p": p});
            let edited = pem_lf(SIGSTORE_PRIVATE_KEY_PEM_TYPE, serde_json::to_vec(&json).unwrap());
            let e = decrypt_private_key(&edited, b"pw").unwrap_err();
            assert!(
                matches!(e, CosignKeyError::ScryptParams { .. }),
                "N={n} r={r} p={p}: {e}"
            );
        }
        // 2^20 itself is allowed (checked without running it: a GiB of memory in a unit test).
        assert!(ScryptParams {
            n: 1 << 20,
            r: 8,
            p: 1
        }
        .checked()
        .is_ok());
    }
}
