//! Verifier keys (<https://c2sp.org/signed-note#verifier-keys>): the text form of a note key,
//! `<key name>+<hex(32-bit key ID)>+<base64(signature type || public key)>`, as logs publish
//! theirs and witnesses theirs (e.g. `example.com/foo+530d903a+AekyeRrm…`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signet_crypto::{sha256, PublicKey};

use crate::note::check_key_name;
use crate::NoteError;

/// Signature type of an Ed25519 note signature (c2sp.org/signed-note).
pub const SIGNATURE_TYPE_ED25519: u8 = 0x01;
/// Signature type of an Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature).
pub const SIGNATURE_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A parsed verifier key: its parts, not yet tied to a signature scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key name.
    pub name: String,
    /// The key ID as written (checked against the key by the scheme's constructor).
    pub key_hash: u32,
    /// The signature type byte.
    pub signature_type: u8,
    /// The public key material after the type byte.
    pub public_key: Vec<u8>,
}

impl VerifierKey {
    /// Parses `<name>+<8 lowercase hex digits>+<standard padded base64>` strictly; never
    /// panics. The name follows the note key-name rules; the base64 holds at least a type byte
    /// and one key byte.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedVerifierKey { reason };
        // The name cannot contain '+', so the first '+' ends it.
        let (name, rest) = vkey
            .split_once('+')
            .ok_or_else(|| bad("no '+' after the key name"))?;
        check_key_name(name)?;
        let (id, b64) = rest
            .split_once('+')
            .ok_or_else(|| bad("no '+' after the key ID"))?;
        if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("key ID is not 8 lowercase hex digits"));
        }
        let key_hash = u32::from_str_radix(id, 16).map_err(|_| bad("key ID is not hex"))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad("key is not standard padded base64"))?;
        let (&signature_type, public_key) = raw
            .split_first()
            .ok_or_else(|| bad("key holds no signature type byte"))?;
        if public_key.is_empty() {
            return Err(bad("key holds a type byte and no key"));
        }
        Ok(VerifierKey {
            name: name.into(),
            key_hash,
            signature_type,
            public_key: public_key.to_vec(),
        })
    }

    /// The Ed25519 public key of a vkey of `signature_type`, after checking the type, the key
    /// length and that the stated key ID is the one `SHA-256(name || 0x0A || type || key)`
    /// gives (the rule every Ed25519-based note signature type shares).
    pub(crate) fn ed25519_key(&self, signature_type: u8) -> Result<PublicKey, NoteError> {
        if self.signature_type != signature_type {
            return Err(NoteError::WrongVerifierKeyType {
                found: self.signature_type,
                expected: signature_type,
            });
        }
        let raw: &[u8; 32] =
            self.public_key
                .as_slice()
                .try_into()
                .map_err(|_| NoteError::MalformedVerifierKey {
                    reason: "an Ed25519 key is 32 bytes",
                })?;
        let computed = ed25519_key_id(&self.name, signature_type, raw);
        if computed != self.key_hash {
            return Err(NoteError::VerifierKeyIdMismatch {
                stated: self.key_hash,
                computed,
            });
        }
        ed25519_public_key(raw)
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(1 + self.public_key.len());
        raw.push(self.signature_type);
        raw.extend_from_slice(&self.public_key);
        write!(f, "{}+{:08x}+{}", self.name, self.key_hash, STANDARD.encode(raw))
    }
}

/// `SHA-256(name || 0x0A || signature_type || key)`: the full hash whose first 4 bytes are the
/// key ID of an Ed25519-based note key.
pub(crate) fn ed25519_key_hash(name: &str, signature_type: u8, raw: &[u8]) -> [u8; 32] {
    let mut m = Vec::with_capacity(name.len() + 2 + raw.len());
    m.extend_from_slice(name.as_bytes());
    m.push(b'\n');
    m.push(signature_type);
    m.extend_from_slice(raw);
    sha256(&m)
}

/// The 32-bit key ID of an Ed25519-based note key (see [`ed25519_key_hash`]).
pub(crate) fn ed25519_key_id(name: &str, signature_type: u8, raw: &[u8]) -> u32 {
    let h = ed25519_key_hash(name, signature_type, raw);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// A [`PublicKey`] from the 32 raw bytes of an Ed25519 key.
pub(crate) fn ed25519_public_key(raw: &[u8; 32]) -> Result<PublicKey, NoteError> {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    PublicKey::from_spki_der(&der).map_err(|e| NoteError::UnsupportedKey(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoteVerifier;

    #[test]
    fn spec_example_parses_and_prints_back() {
        // c2sp.org/signed-note, "Verifier keys", Example.
        let text = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        let k = VerifierKey::parse(text).unwrap();
        assert_eq!(k.name, "example.com/foo");
        assert_eq!(k.key_hash, 0x530d903a);
        assert_eq!(k.signature_type, SIGNATURE_TYPE_ED25519);
        assert_eq!(k.public_key.len(), 32);
        assert_eq!(k.to_string(), text);
        let v = NoteVerifier::from_vkey(text).unwrap();
        assert_eq!(v.key_hash(), 0x530d903a);
        assert_eq!(v.vkey().as_deref(), Some(text));
        // The spec's signed note verifies under it.
        let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        crate::verify_note(note, &[v]).unwrap();
    }

    #[test]
    fn malformed_vkeys_are_refused() {
        let good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        for bad in [
            "",
            "example.com/foo",
            "example.com/foo+530d903a",
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",
            "example.com/foo+530d903a+AQ==",
            "example.com/foo+530d903a+",
            "exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(NoteVerifier::from_vkey(bad).is_err(), "{bad:?} accepted");
        }
        // Wrong ID for the key, wrong name for the ID.
        assert!(matches!(
            NoteVerifier::from_vkey(&good.replace("530d903a", "530d903b")),
            Err(NoteError::VerifierKeyIdMismatch { .. })
        ));
        assert!(matches!(
            NoteVerifier::from_vkey(&good.replace("foo", "bar")),
            Err(NoteError::VerifierKeyIdMismatch { .. })
        ));
        // A cosignature key is not a note signing key.
        let mut k = VerifierKey::parse(good).unwrap();
        k.signature_type = SIGNATURE_TYPE_COSIGNATURE_V1;
        assert!(matches!(
            NoteVerifier::from_vkey(&k.to_string()),
            Err(NoteError::WrongVerifierKeyType {
                found: 0x04,
                expected: 0x01
            })
        ));
    }
}
