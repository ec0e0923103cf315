//! C2SP signed notes (<https://c2sp.org/signed-note>): text, a blank line, then signature
//! lines `— <name> <base64(key ID || signature)>`.
//!
//! Two signature kinds are built from signet-crypto keys: Ed25519 as the spec defines it (key
//! ID = `SHA-256(name || 0x0A || 0x01 || key)[:4]`), and Rekor v2's non-standard ECDSA form
//! (key ID = `SHA-256(DER SubjectPublicKeyInfo)[:4]`, DER signature over the note text).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signet_crypto::{sha256, KeyKind, PublicKey, SigningKey};

use crate::vkey::{VerifierKey, SIGNATURE_TYPE_ED25519};
use crate::NoteError;

/// The most signature lines [`Note::parse`] accepts (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The 32-bit key ID.
    pub key_hash: u32,
    /// The signature bytes (after the key ID).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as written in a note, with its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_hash.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A parsed, not yet verified, signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the rules every note shares: no ASCII control characters but newline.
fn check_chars(s: &str) -> Result<(), NoteError> {
    match s.bytes().enumerate().find(|(_, b)| *b < 0x20 && *b != b'\n') {
        Some((offset, byte)) => Err(NoteError::ControlCharacter { offset, byte }),
        None => Ok(()),
    }
}

/// Checks a note text: non-empty, ends in a newline, no control characters but newline.
/// Blank lines inside the text are allowed (the spec splits at the last one).
fn check_text(text: &str) -> Result<(), NoteError> {
    check_chars(text)?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotNewlineTerminated);
    }
    Ok(())
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::InvalidKeyName { name: name.into() });
    }
    check_chars(name).map_err(|_| NoteError::InvalidKeyName { name: name.into() })
}

impl Note {
    /// A note with `text` and no signatures yet.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        Ok(Note {
            text: text.into(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note strictly; never panics. Signatures are not verified here.
    ///
    /// The text ends at the last blank line; at least one and at most [`MAX_SIGNATURES`]
    /// signature lines must follow, each `— <name> <base64>` with a valid name and at least one
    /// signature byte after the key ID.
    pub fn parse(envelope: &str) -> Result<Self, NoteError> {
        check_chars(envelope)?;
        let split = envelope.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, sigs) = (&envelope[..split + 1], &envelope[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::SignaturesNotNewlineTerminated);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    limit: MAX_SIGNATURES,
                });
            }
            let bad = |reason| NoteError::MalformedSignatureLine { line: i + 1, reason };
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("does not start with an em dash and a space"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("no space between the key name and the signature"))?;
            check_key_name(name)?;
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| bad("signature is not standard padded base64"))?;
            if raw.len() < 5 {
                return Err(bad("signature is shorter than a key ID and one byte"));
            }
            signatures.push(NoteSignature {
                name: name.into(),
                key_hash: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.into(),
            signatures,
        })
    }

    /// The note text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Signs the text with `signer` and adds the signature line.
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let signature = signer.sign(self.text.as_bytes())?;
        self.signatures.push(NoteSignature {
            name: signer.name.clone(),
            key_hash: signer.key_hash,
            signature,
        });
        Ok(())
    }

    /// Adds a signature line made elsewhere (e.g. a witness cosignature).
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), NoteError> {
        check_key_name(&signature.name)?;
        self.signatures.push(signature);
        Ok(())
    }

    /// The signed note: text, blank line, signature lines.
    pub fn to_envelope(&self) -> String {
        let mut s = String::with_capacity(self.text.len() + 1 + 128 * self.signatures.len());
        s.push_str(&self.text);
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.to_line());
        }
        s
    }

    /// Verifies the note against known keys (see [`verify_note`]).
    pub fn verify(self, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
        let mut verified = Vec::new();
        let mut unknown = Vec::new();
        for sig in self.signatures {
            match verifiers
                .iter()
                .find(|v| v.name == sig.name && v.key_hash == sig.key_hash)
            {
                Some(v) => {
                    if !v.verify(self.text.as_bytes(), &sig.signature) {
                        return Err(NoteError::BadSignature {
                            name: sig.name,
                            key_hash: sig.key_hash,
                        });
                    }
                    verified.push(sig);
                }
                None => unknown.push(sig),
            }
        }
        if verified.is_empty() {
            let list = |it: &mut dyn Iterator<Item = (&str, u32)>| {
                it.map(|(n, h)| format!("{n} {h:08x}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(NoteError::NoKnownSignature {
                found: list(&mut unknown.iter().map(|s| (s.name.as_str(), s.key_hash))),
                known: list(&mut verifiers.iter().map(|v| (v.name.as_str(), v.key_hash))),
            });
        }
        Ok(VerifiedNote {
            text: self.text,
            verified,
            unknown,
        })
    }
}

/// A note with at least one verified signature by a known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified: Vec<NoteSignature>,
    unknown: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures that verified, by known keys.
    pub fn verified_signatures(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// Signatures by keys the caller did not pass (e.g. witness cosignatures); NOT verified.
    pub fn unverified_signatures(&self) -> &[NoteSignature] {
        &self.unknown
    }
}

/// Parses `envelope` and verifies it against known keys.
///
/// A signature whose name AND key ID match a verifier must verify, or the note is refused.
/// Signatures by unknown keys (matching neither or only one) are ignored, kept in
/// [`VerifiedNote::unverified_signatures`]. At least one known signature must verify.
pub fn verify_note(envelope: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    Note::parse(envelope)?.verify(verifiers)
}

/// Which signature scheme a note key uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteKeyType {
    /// Ed25519 per c2sp.org/signed-note (type byte 0x01).
    Ed25519,
    /// Rekor v2's ECDSA form: key ID from the DER SPKI, DER signatures.
    RekorEcdsa,
}

fn key_type(key: &PublicKey) -> Result<NoteKeyType, NoteError> {
    match key.kind() {
        KeyKind::Ed25519 => Ok(NoteKeyType::Ed25519),
        KeyKind::EcdsaP256 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521 => Ok(NoteKeyType::RekorEcdsa),
        other => Err(NoteError::UnsupportedKey(format!(
            "{other} (note keys are Ed25519 or ECDSA)"
        ))),
    }
}

/// The full 32-byte key hash of a note key, whose first 4 bytes are the key ID.
///
/// Ed25519: `SHA-256(name || 0x0A || 0x01 || 32-byte key)`. Any other key (Rekor v2's form):
/// `SHA-256(DER SubjectPublicKeyInfo)`, the name not included.
pub fn note_key_hash(name: &str, key: &PublicKey) -> [u8; 32] {
    if key.kind() == KeyKind::Ed25519 {
        crate::vkey::ed25519_key_hash(name, SIGNATURE_TYPE_ED25519, key.raw_bytes())
    } else {
        sha256(key.spki_der())
    }
}

/// The log ID a Sigstore trusted root gives a Rekor v2 log (`tlogs[].logId.keyId`): the full
/// 32-byte note key hash for the log's origin and key (see [`note_key_hash`]).
pub fn rekor_log_id(origin: &str, key: &PublicKey) -> [u8; 32] {
    note_key_hash(origin, key)
}

fn key_id(name: &str, key: &PublicKey) -> u32 {
    let h = note_key_hash(name, key);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// A known note key: its name, key ID and public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: PublicKey,
    key_type: NoteKeyType,
}

impl NoteVerifier {
    /// A verifier for `key` under `name`: Ed25519 keys use the standard key ID, ECDSA keys
    /// Rekor v2's.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key_type = key_type(&key)?;
        Ok(NoteVerifier {
            name: name.into(),
            key_hash: key_id(name, &key),
            key,
            key_type,
        })
    }

    /// A verifier from its verifier key text (c2sp.org/signed-note#verifier-keys): an
    /// Ed25519 key (type 0x01) whose stated key ID must be the one its name and key give.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        let parsed = VerifierKey::parse(vkey)?;
        let key = parsed.ed25519_key(SIGNATURE_TYPE_ED25519)?;
        NoteVerifier::new(&parsed.name, key)
    }

    /// The verifier key text of an Ed25519 key; `None` for Rekor's ECDSA form, which has no
    /// signature type of its own.
    pub fn vkey(&self) -> Option<String> {
        (self.key_type == NoteKeyType::Ed25519).then(|| {
            VerifierKey {
                name: self.name.clone(),
                key_hash: self.key_hash,
                signature_type: SIGNATURE_TYPE_ED25519,
                public_key: self.key.raw_bytes().to_vec(),
            }
            .to_string()
        })
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

    /// The signature scheme.
    pub fn key_type(&self) -> NoteKeyType {
        self.key_type
    }

    /// True when `signature` is this key's signature over `message` (the note text).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_default(message, signature).is_ok()
    }
}

/// A note signing key: its name, key ID and private key (cloning shares the key).
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_hash: u32,
    key: std::sync::Arc<dyn signet_crypto::Signer>,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `key` under `name` (Ed25519, or ECDSA in Rekor v2's form).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        NoteSigner::from_signer(name, std::sync::Arc::new(key))
    }

    /// A signer for a key held elsewhere (a PKCS#11 token): it must sign with the key's
    /// default scheme (pure Ed25519, or ECDSA over SHA-256/384), as note signatures are.
    pub fn from_signer(
        name: &str,
        key: std::sync::Arc<dyn signet_crypto::Signer>,
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        key_type(key.public_key())?;
        if key.details() != key.public_key().default_details() {
            return Err(NoteError::UnsupportedKey(format!(
                "a note signer signs with {}, not {}",
                key.public_key().default_details(),
                key.details()
            )));
        }
        Ok(NoteSigner {
            name: name.into(),
            key_hash: key_id(name, key.public_key()),
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 32-bit key ID.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The public half of the signing key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::new(&self.name, self.key.public_key().clone())
            .expect("name and key were checked when the signer was built")
    }

    /// Signs `message` (a note text).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.key.sign(message).map_err(NoteError::Signer)
    }
}

/// Signs `text` with every signer: the signed note envelope.
///
/// At least one signer is needed: a note without signatures does not parse.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    if signers.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let mut note = Note::new(text)?;
    for s in signers {
        note.sign(s)?;
    }
    Ok(note.to_envelope())
}

#[cfg(test)]
mod tests;
