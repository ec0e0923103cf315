//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the signed note a log publishes
//! for each tree head: origin, tree size, root hash, then optional extension lines.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::note::{Note, NoteSigner, NoteVerifier};
use crate::{CheckpointError, Hash, NoteError};

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, e.g. `log2025-1.rekor.sigstore.dev`.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 root hash of the tree.
    pub root_hash: Hash,
    /// Extension lines, opaque and non-empty, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root hash and extension lines, each ending in `\n`.
    pub fn to_note_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root_hash)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text strictly: at least three non-empty lines; the size in decimal with no
    /// leading zeros (except `0`); the root hash the standard base64 of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NotNewlineTerminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::MissingLines { got: lines.len() });
        }
        let origin = lines[0];
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size_line = lines[1];
        let bad_size = || CheckpointError::BadSize {
            seen: size_line.chars().take(40).collect(),
        };
        if size_line.is_empty()
            || !size_line.bytes().all(|b| b.is_ascii_digit())
            || (size_line.len() > 1 && size_line.starts_with('0'))
        {
            return Err(bad_size());
        }
        let size: u64 = size_line.parse().map_err(|_| bad_size())?;
        let root_line = lines[2];
        let root_hash: Hash = STANDARD
            .decode(root_line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::BadRootHash {
                seen: root_line.chars().take(60).collect(),
            })?;
        let mut extensions = Vec::new();
        for (i, e) in lines[3..].iter().enumerate() {
            if e.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line: i + 4 });
            }
            extensions.push((*e).to_string());
        }
        Ok(Checkpoint {
            origin: origin.into(),
            size,
            root_hash,
            extensions,
        })
    }
}

impl Checkpoint {
    /// Reads the checkpoint out of a signed note WITHOUT verifying any signature: only for
    /// checkpoints the caller itself stored (e.g. a log restarting from its own database).
    /// Anything received from elsewhere goes through [`verify_checkpoint`].
    pub fn from_note_unverified(envelope: &str) -> Result<Self, CheckpointError> {
        let note = Note::parse(envelope)?;
        Checkpoint::parse(note.text())
    }
}

/// Signs a checkpoint with every signer; returns the signed note envelope.
pub fn sign_checkpoint(checkpoint: &Checkpoint, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    crate::note::sign_note(&checkpoint.to_note_text(), signers)
}

/// Verifies a signed checkpoint from the log whose origin is `expected_origin`.
///
/// In order: the note must parse, its text must be a well-formed checkpoint, the origin line
/// must be `expected_origin`, and then the note signatures must verify as [`verify_note`]
/// demands (at least one by a known key; any known key's signature must verify; unknown ones,
/// such as witness cosignatures, are ignored).
///
/// [`verify_note`]: crate::verify_note
pub fn verify_checkpoint(
    envelope: &str,
    expected_origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<Checkpoint, CheckpointError> {
    let note = Note::parse(envelope)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != expected_origin {
        return Err(CheckpointError::OriginMismatch {
            expected: expected_origin.into(),
            found: checkpoint.origin,
        });
    }
    note.verify(verifiers)?;
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::{KeyKind, SigningKey};

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".into(),
            size: 20_852_163,
            root_hash: [7; 32],
            extensions: vec![],
        }
    }

    #[test]
    fn text_round_trips() {
        let mut c = cp();
        assert_eq!(
            c.to_note_text(),
            "example.com/log\n20852163\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"
        );
        assert_eq!(Checkpoint::parse(&c.to_note_text()).unwrap(), c);
        c.extensions = vec!["ext one".into(), "two".into()];
        assert_eq!(Checkpoint::parse(&c.to_note_text()).unwrap(), c);
        c.size = 0;
        assert_eq!(Checkpoint::parse(&c.to_note_text()).unwrap(), c);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
        type Case = (String, fn(&CheckpointError) -> bool);
        let cases: Vec<Case> = vec![
            (format!("o\n1\n{root}"), |e| {
                matches!(e, CheckpointError::NotNewlineTerminated)
            }),
            ("o\n1\n".into(), |e| {
                matches!(e, CheckpointError::MissingLines { got: 2 })
            }),
            (format!("\n1\n{root}\n"), |e| {
                matches!(e, CheckpointError::EmptyOrigin)
            }),
            (format!("o\n01\n{root}\n"), |e| {
                matches!(e, CheckpointError::BadSize { .. })
            }),
            (format!("o\n+1\n{root}\n"), |e| {
                matches!(e, CheckpointError::BadSize { .. })
            }),
            (format!("o\n\n{root}\n"), |e| {
                matches!(e, CheckpointError::BadSize { .. })
            }),
            (format!("o\n18446744073709551616\n{root}\n"), |e| {
                matches!(e, CheckpointError::BadSize { .. })
            }),
            ("o\n1\nBwcH\n".into(), |e| {
                matches!(e, CheckpointError::BadRootHash { .. })
            }),
            (format!("o\n1\n{}\n", &root[..43]), |e| {
                matches!(e, CheckpointError::BadRootHash { .. })
            }),
            (format!("o\n1\n{root}\n\n"), |e| {
                matches!(e, CheckpointError::EmptyExtensionLine { line: 4 })
            }),
            (format!("o\n1\n{root}\nx\n\ny\n"), |e| {
                matches!(e, CheckpointError::EmptyExtensionLine { line: 5 })
            }),
        ];
        for (text, want) in cases {
            let err = Checkpoint::parse(&text).unwrap_err();
            assert!(want(&err), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn sign_and_verify_with_both_key_types() {
        let ed = NoteSigner::new("example.com/log", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let ec = NoteSigner::new(
            "example.com/log",
            SigningKey::generate(KeyKind::EcdsaP256).unwrap(),
        )
        .unwrap();
        let c = cp();
        let env = sign_checkpoint(&c, &[&ed, &ec]).unwrap();
        assert_eq!(
            verify_checkpoint(&env, "example.com/log", &[ed.verifier()]).unwrap(),
            c
        );
        assert_eq!(
            verify_checkpoint(&env, "example.com/log", &[ec.verifier()]).unwrap(),
            c
        );
        assert!(matches!(
            verify_checkpoint(&env, "example.com/other", &[ed.verifier()]),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let stranger =
            NoteSigner::new("example.com/log", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        assert!(matches!(
            verify_checkpoint(&env, "example.com/log", &[stranger.verifier()]),
            Err(CheckpointError::Note(NoteError::NoKnownSignature { .. }))
        ));
        // A changed size breaks the signature.
        let forged = env.replacen("20852163", "20852164", 1);
        assert!(matches!(
            verify_checkpoint(&forged, "example.com/log", &[ed.verifier()]),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
    }
}
