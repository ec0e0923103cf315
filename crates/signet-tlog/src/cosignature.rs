//! C2SP tlog-cosignature (<https://c2sp.org/tlog-cosignature>), the Ed25519 `cosignature/v1`
//! type: a note signature line by a witness over a checkpoint it verified.
//!
//! - key ID: `SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 key)[:4]`;
//! - signature bytes: a `timestamped_signature`, `u64 timestamp` (big-endian, POSIX seconds)
//!   followed by the 64-byte Ed25519 signature;
//! - signed message: `cosignature/v1\n`, `time <timestamp>\n`, then the whole checkpoint body
//!   (with its final newline, without signature lines).

use signet_crypto::{KeyKind, PublicKey, SigningKey};

use crate::note::{check_key_name, NoteSignature};
use crate::vkey::{ed25519_key_id, VerifierKey, SIGNATURE_TYPE_COSIGNATURE_V1};
use crate::NoteError;

/// The header line of the Ed25519 cosignature message, with its newline.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";
/// The largest timestamp a cosignature may carry (`2^63 - 1`, tlog-cosignature "Format").
pub const MAX_COSIGNATURE_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of an Ed25519 signature.
const ED25519_SIGNATURE_LEN: usize = 64;

/// The message an Ed25519 `cosignature/v1` signs: the header line, `time <timestamp>` and
/// the checkpoint note text (`checkpoint_text` ends in its newline).
pub fn cosignature_v1_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n{checkpoint_text}").into_bytes()
}

/// The `timestamped_signature` structure of tlog-cosignature, Ed25519 case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampedSignature {
    /// POSIX seconds at which the cosignature was made.
    pub timestamp: u64,
    /// The Ed25519 signature over [`cosignature_v1_message`].
    pub signature: [u8; ED25519_SIGNATURE_LEN],
}

impl TimestampedSignature {
    /// The wire form: the timestamp big-endian, then the signature (72 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + ED25519_SIGNATURE_LEN);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads the wire form: exactly 72 bytes, a timestamp no larger than 2^63 - 1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NoteError> {
        let malformed = || NoteError::MalformedCosignature {
            len: bytes.len(),
            expected: 8 + ED25519_SIGNATURE_LEN,
        };
        let (time, signature) = bytes.split_first_chunk::<8>().ok_or_else(malformed)?;
        let signature = signature.try_into().map_err(|_| malformed())?;
        let timestamp = u64::from_be_bytes(*time);
        check_timestamp(timestamp)?;
        Ok(TimestampedSignature { timestamp, signature })
    }
}

fn check_timestamp(timestamp: u64) -> Result<(), NoteError> {
    if timestamp > MAX_COSIGNATURE_TIMESTAMP {
        return Err(NoteError::CosignatureTimestamp { timestamp });
    }
    Ok(())
}

fn ed25519_only(key: &PublicKey) -> Result<(), NoteError> {
    match key.kind() {
        KeyKind::Ed25519 => Ok(()),
        other => Err(NoteError::UnsupportedKey(format!(
            "{other} (cosignature/v1 keys are Ed25519)"
        ))),
    }
}

/// A witness's Ed25519 cosigning key under its name.
pub struct CosignatureSigner {
    verifier: CosignatureVerifier,
    key: SigningKey,
}

impl std::fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.verifier.name)
            .field("key_hash", &format_args!("{:08x}", self.verifier.key_hash))
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// A signer for the Ed25519 `key` under `name`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        let verifier = CosignatureVerifier::new(name, key.public_key().clone())?;
        Ok(CosignatureSigner { verifier, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    /// The 32-bit key ID (algorithm byte 0x04).
    pub fn key_hash(&self) -> u32 {
        self.verifier.key_hash
    }

    /// The matching verifier.
    pub fn verifier(&self) -> &CosignatureVerifier {
        &self.verifier
    }

    /// Cosigns the checkpoint note text at `timestamp` (POSIX seconds). A witness's timestamp
    /// must not be zero (tlog-witness, add-checkpoint) nor above 2^63 - 1.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        if timestamp == 0 {
            return Err(NoteError::CosignatureTimestamp { timestamp });
        }
        check_timestamp(timestamp)?;
        let signature = self
            .key
            .sign(&cosignature_v1_message(timestamp, checkpoint_text))
            .map_err(NoteError::Signing)?;
        let signature = signature
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::MalformedCosignature {
                len: signature.len(),
                expected: ED25519_SIGNATURE_LEN,
            })?;
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_hash: self.verifier.key_hash,
            signature: TimestampedSignature { timestamp, signature }.to_bytes(),
        })
    }
}

/// A known witness's Ed25519 cosignature key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_hash: u32,
    key: PublicKey,
}

impl CosignatureVerifier {
    /// A verifier for the Ed25519 `key` under `name`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        ed25519_only(&key)?;
        Ok(CosignatureVerifier {
            name: name.into(),
            key_hash: ed25519_key_id(name, SIGNATURE_TYPE_COSIGNATURE_V1, key.raw_bytes()),
            key,
        })
    }

    /// A verifier from its vkey (signature type 0x04), whose key ID must match.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let parsed = VerifierKey::parse(vkey)?;
        let key = parsed.ed25519_key(SIGNATURE_TYPE_COSIGNATURE_V1)?;
        CosignatureVerifier::new(&parsed.name, key)
    }

    /// The vkey text: `<name>+<key ID>+base64(0x04 || key)`.
    pub fn vkey(&self) -> String {
        VerifierKey {
            name: self.name.clone(),
            key_hash: self.key_hash,
            signature_type: SIGNATURE_TYPE_COSIGNATURE_V1,
            public_key: self.key.raw_bytes().to_vec(),
        }
        .to_string()
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// True when `signature` is by this key (its name and key ID match).
    pub fn is_signer_of(&self, signature: &NoteSignature) -> bool {
        signature.name == self.name && signature.key_hash == self.key_hash
    }

    /// Verifies a cosignature line over the checkpoint note text and returns its timestamp.
    pub fn verify(&self, checkpoint_text: &str, signature: &NoteSignature) -> Result<u64, NoteError> {
        let bad = || NoteError::BadSignature {
            name: signature.name.clone(),
            key_hash: signature.key_hash,
        };
        if !self.is_signer_of(signature) {
            return Err(bad());
        }
        let ts = TimestampedSignature::from_bytes(&signature.signature)?;
        self.key
            .verify_default(
                &cosignature_v1_message(ts.timestamp, checkpoint_text),
                &ts.signature,
            )
            .map_err(|_| bad())?;
        Ok(ts.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Note;

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn message_is_the_spec_example() {
        // tlog-cosignature, "Ed25519 signed message".
        assert_eq!(
            cosignature_v1_message(1679315147, CHECKPOINT),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn key_id_uses_type_0x04() {
        let k = SigningKey::generate(KeyKind::Ed25519).unwrap();
        let mut m = b"witness.example/w1\n\x04".to_vec();
        m.extend_from_slice(k.public_key().raw_bytes());
        let full = signet_crypto::sha256(&m);
        let s = CosignatureSigner::new("witness.example/w1", k).unwrap();
        assert_eq!(s.key_hash().to_be_bytes(), full[..4]);
        // The vkey round-trips, and is not a note (0x01) key.
        let vkey = s.verifier().vkey();
        assert_eq!(&CosignatureVerifier::from_vkey(&vkey).unwrap(), s.verifier());
        assert!(matches!(
            crate::NoteVerifier::from_vkey(&vkey),
            Err(NoteError::WrongVerifierKeyType {
                found: 4,
                expected: 1
            })
        ));
    }

    #[test]
    fn cosign_and_verify() {
        let s = CosignatureSigner::new(
            "witness.example/w1",
            SigningKey::generate(KeyKind::Ed25519).unwrap(),
        )
        .unwrap();
        let sig = s.cosign(CHECKPOINT, 1679315147).unwrap();
        assert_eq!(sig.signature.len(), 72);
        assert_eq!(sig.signature[..8], 1679315147u64.to_be_bytes());
        assert_eq!(s.verifier().verify(CHECKPOINT, &sig).unwrap(), 1679315147);
        // The line goes onto the checkpoint as a note signature and parses back the same.
        let line = sig.to_line();
        let envelope = format!("{CHECKPOINT}\n{line}");
        assert_eq!(
            Note::parse(&envelope).unwrap().signatures(),
            std::slice::from_ref(&sig)
        );
        // Another text, another timestamp, a flipped bit: refused.
        assert!(s
            .verifier()
            .verify(&CHECKPOINT.replace("63\n", "64\n"), &sig)
            .is_err());
        let mut later = sig.clone();
        later.signature[7] ^= 1;
        assert!(s.verifier().verify(CHECKPOINT, &later).is_err());
        let mut short = sig.clone();
        short.signature.pop();
        assert!(matches!(
            s.verifier().verify(CHECKPOINT, &short),
            Err(NoteError::MalformedCosignature { len: 71, .. })
        ));
        // Timestamps zero and above 2^63 - 1 are never made.
        assert!(s.cosign(CHECKPOINT, 0).is_err());
        assert!(s.cosign(CHECKPOINT, 1 << 63).is_err());
        assert!(s.cosign(CHECKPOINT, MAX_COSIGNATURE_TIMESTAMP).is_ok());
    }

    #[test]
    fn only_ed25519_keys_cosign() {
        assert!(CosignatureSigner::new("w", SigningKey::generate(KeyKind::EcdsaP256).unwrap()).is_err());
    }
}
