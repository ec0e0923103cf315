//! The two ends of c2sp.org/tlog-witness `add-checkpoint`, as bytes in and values out:
//!
//! - the request body a log sends and a witness parses: an old size line, up to 63
//!   consistency proof lines, an empty line, then the checkpoint note (the note itself is
//!   parsed and verified by the witness);
//! - what a log reads back: a 200 answer's cosignature lines ([`cosignatures_from_response`],
//!   which keeps only those by the witness that verify) and a 409 answer's
//!   `text/x.tlog.size` body ([`parse_tlog_size`]).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use thiserror::Error;

use crate::cosignature::CosignatureVerifier;
use crate::note::{Note, NoteSignature};
use crate::Hash;

/// The most consistency proof lines a client may send (tlog-witness: "MUST NOT send more
/// than 63").
pub const MAX_PROOF_LINES: usize = 63;

/// Why a request body is malformed (answered 400).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // fields are described by each variant's message
pub enum RequestError {
    /// The body is not UTF-8 (a checkpoint is text).
    #[error("request body is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    /// The first line is not `old <decimal size>`.
    #[error("first line {seen:?} is not `old <size>` with a decimal size without leading zeros")]
    BadOldSize { seen: String },
    /// A proof line is not the standard base64 of 32 bytes.
    #[error("consistency proof line {line} {seen:?} is not the standard base64 of a 32-byte hash")]
    BadProofLine { line: usize, seen: String },
    /// More proof lines than the protocol allows.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line ends the proof: the body stops before the checkpoint.
    #[error("no empty line before the checkpoint")]
    MissingCheckpoint,
}

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// A consistency proof from `old_size` to the checkpoint's size (RFC 6962 §2.1.2).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent (not yet parsed or verified).
    pub checkpoint: String,
}

impl AddCheckpointRequest {
    /// Parses a request body strictly; never panics.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let text = std::str::from_utf8(body).map_err(|e| RequestError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| RequestError::BadOldSize { seen: clip(text) })?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| RequestError::BadOldSize { seen: clip(first) })?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::MissingCheckpoint)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| RequestError::BadProofLine {
                    line: proof.len() + 2,
                    seen: clip(line),
                })?;
            proof.push(hash);
        }
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            checkpoint: rest.to_string(),
        })
    }

    /// The request body, as a client sends it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&STANDARD.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out.into_bytes()
    }
}

/// An ASCII decimal with no leading zeros (except `0` itself) that fits a u64.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// A prefix of untrusted text short enough for an error message.
fn clip(s: &str) -> String {
    s.chars().take(48).collect()
}

/// The content type of a 409 answer's body (tlog-witness).
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Reads a 409 answer's `text/x.tlog.size` body: the witness's latest cosigned size for the
/// log, in decimal, followed by a newline (a missing final newline is tolerated). `None` for
/// anything else.
pub fn parse_tlog_size(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    parse_decimal(text.strip_suffix('\n').unwrap_or(text))
}

/// Why a witness's 200 answer to add-checkpoint gave no usable cosignature.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// The body is not one or more note signature lines.
    #[error("the answer is not note signature lines: {reason}")]
    Malformed {
        /// What the note parser refused.
        reason: String,
    },
    /// Signature lines, but none by the witness's key that verifies over the checkpoint.
    #[error("none of the {found} signature lines is a valid cosignature by {name} over the checkpoint")]
    NoValidCosignature {
        /// Signature lines in the answer.
        found: usize,
        /// The witness's key name.
        name: String,
    },
}

/// The cosignatures in a witness's 200 answer to add-checkpoint: the body is one or more note
/// signature lines (tlog-witness, "add-checkpoint"); those by `witness`'s key (name and key ID)
/// whose `cosignature/v1` verifies over `checkpoint_text` are kept, the others dropped, so a
/// witness cannot put a line on the log's checkpoint that a verifier would refuse.
pub fn cosignatures_from_response(
    checkpoint_text: &str,
    body: &[u8],
    witness: &CosignatureVerifier,
) -> Result<Vec<NoteSignature>, ResponseError> {
    let malformed = |reason: String| ResponseError::Malformed { reason };
    let lines = std::str::from_utf8(body).map_err(|e| malformed(e.to_string()))?;
    if lines.is_empty() || lines.starts_with('\n') {
        return Err(malformed("no signature line".into()));
    }
    // The lines parse as a note's signatures when put after the checkpoint's text.
    let note = Note::parse(&format!("{checkpoint_text}\n{lines}")).map_err(|e| malformed(e.to_string()))?;
    if note.text() != checkpoint_text {
        return Err(malformed("a blank line among the signature lines".into()));
    }
    let found = note.signatures().len();
    let valid: Vec<NoteSignature> = note
        .signatures()
        .iter()
        .filter(|s| witness.is_signer_of(s) && witness.verify(checkpoint_text, s).is_ok())
        .cloned()
        .collect();
    if valid.is_empty() {
        return Err(ResponseError::NoValidCosignature {
            found,
            name: witness.name().to_string(),
        });
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example request body of tlog-witness.
    const SPEC_EXAMPLE: &str = "old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
";

    #[test]
    fn spec_example_parses_and_writes_back() {
        let r = AddCheckpointRequest::parse(SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(r.old_size, 20852014);
        assert_eq!(r.proof.len(), 4);
        assert!(r
            .checkpoint
            .starts_with("example.com/behind-the-sofa\n20852163\n"));
        assert_eq!(r.to_bytes(), SPEC_EXAMPLE.as_bytes());
    }

    #[test]
    fn empty_proof_and_old_zero() {
        let r = AddCheckpointRequest::parse(b"old 0\n\nx\n").unwrap();
        assert_eq!((r.old_size, r.proof.len(), r.checkpoint.as_str()), (0, 0, "x\n"));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let h = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=";
        type Case = (Vec<u8>, fn(&RequestError) -> bool);
        let too_many = format!("old 1\n{}\ncp\n", format!("{h}\n").repeat(64));
        let cases: Vec<Case> = vec![
            (b"".to_vec(), |e| matches!(e, RequestError::BadOldSize { .. })),
            (b"old 1".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old 01\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old -1\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old  1\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"Old 1\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old 18446744073709551616\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old 1\r\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadOldSize { .. })
            }),
            (b"old 1\n".to_vec(), |e| {
                matches!(e, RequestError::MissingCheckpoint)
            }),
            (format!("old 1\n{h}\n").into_bytes(), |e| {
                matches!(e, RequestError::MissingCheckpoint)
            }),
            (b"old 1\nAAAA\n\ncp\n".to_vec(), |e| {
                matches!(e, RequestError::BadProofLine { line: 2, .. })
            }),
            (format!("old 1\n{}\n\ncp\n", &h[..43]).into_bytes(), |e| {
                matches!(e, RequestError::BadProofLine { .. })
            }),
            (too_many.into_bytes(), |e| {
                matches!(e, RequestError::TooManyProofLines)
            }),
            (b"old 1\n\n\xff\n".to_vec(), |e| {
                matches!(e, RequestError::NotUtf8 { offset: 7 })
            }),
        ];
        for (body, want) in cases {
            let err = AddCheckpointRequest::parse(&body).unwrap_err();
            assert!(want(&err), "{:?} gave {err:?}", String::from_utf8_lossy(&body));
        }
        // Exactly 63 lines is allowed.
        let max = format!("old 1\n{}\ncp\n", format!("{h}\n").repeat(63));
        assert_eq!(
            AddCheckpointRequest::parse(max.as_bytes()).unwrap().proof.len(),
            63
        );
    }

    #[test]
    fn tlog_size_bodies() {
        assert_eq!(parse_tlog_size(b"17\n"), Some(17));
        assert_eq!(parse_tlog_size(b"0\n"), Some(0));
        assert_eq!(parse_tlog_size(b"17"), Some(17));
        for bad in [
            &b""[..],
            b"\n",
            b"017\n",
            b"-1\n",
            b"17\n\n",
            b" 17\n",
            b"abc",
            b"\xff",
        ] {
            assert_eq!(parse_tlog_size(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn cosignature_answers() {
        use crate::CosignatureSigner;
        use signet_crypto::{KeyKind, SigningKey};
        let cp = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let w =
            CosignatureSigner::new("w.example/a", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let other =
            CosignatureSigner::new("w.example/b", SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let good = w.cosign(cp, 1_700_000_000).unwrap();
        assert_eq!(
            cosignatures_from_response(cp, good.to_line().as_bytes(), w.verifier()).unwrap(),
            std::slice::from_ref(&good)
        );
        // Another key's line beside it is dropped; alone it is refused.
        let mixed = format!("{}{}", other.cosign(cp, 1).unwrap().to_line(), good.to_line());
        assert_eq!(
            cosignatures_from_response(cp, mixed.as_bytes(), w.verifier()).unwrap(),
            std::slice::from_ref(&good)
        );
        let theirs = other.cosign(cp, 1).unwrap().to_line();
        assert!(matches!(
            cosignatures_from_response(cp, theirs.as_bytes(), w.verifier()),
            Err(ResponseError::NoValidCosignature { found: 1, .. })
        ));
        // The witness's key over another checkpoint, or a flipped bit: refused.
        let elsewhere = w.cosign(&cp.replace("\n5\n", "\n6\n"), 1).unwrap().to_line();
        assert!(cosignatures_from_response(cp, elsewhere.as_bytes(), w.verifier()).is_err());
        let mut flipped = good.clone();
        flipped.signature[20] ^= 1;
        assert!(cosignatures_from_response(cp, flipped.to_line().as_bytes(), w.verifier()).is_err());
        // Garbage, an empty body, a blank line, no final newline, binary: malformed.
        let line = good.to_line();
        for bad in [
            b"".to_vec(),
            b"hello\n".to_vec(),
            format!("\n{line}").into_bytes(),
            format!("{line}\n{line}").into_bytes(),
            line.trim_end().as_bytes().to_vec(),
            vec![0xff, 0xfe],
        ] {
            assert!(
                matches!(
                    cosignatures_from_response(cp, &bad, w.verifier()),
                    Err(ResponseError::Malformed { .. })
                ),
                "{:?}",
                String::from_utf8_lossy(&bad)
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(old in any::<u64>(), proof in proptest::collection::vec(any::<[u8; 32]>(), 0..=63), cp in "[a-z\n]{0,40}") {
            let r = AddCheckpointRequest { old_size: old, proof, checkpoint: cp };
            prop_assert_eq!(AddCheckpointRequest::parse(&r.to_bytes()).unwrap(), r);
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = AddCheckpointRequest::parse(&body) {
                prop_assert_eq!(r.to_bytes(), body.clone());
            }
            let _ = parse_tlog_size(&body);
        }
    }
}
