//! The `add-checkpoint` request body (c2sp.org/tlog-witness, "add-checkpoint"): an old size
//! line, up to 63 consistency proof lines, an empty line, then the checkpoint note. Pure: bytes
//! in, a value or a typed error out; the note itself is parsed and verified by the witness.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use signet_tlog::Hash;
use thiserror::Error;

/// The most consistency proof lines a client may send (tlog-witness: "MUST NOT send more
/// than 63").
pub const MAX_PROOF_LINES: usize = 63;

/// Why a request body is malformed (answered 400).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

    proptest! {
        #[test]
        fn round_trip(old in any::<u64>(), proof in proptest::collection::vec(any::<[u8; 32]>(), 0..=63), cp in "[a-z\n]{0,40}") {
            let r = AddCheckpointRequest { old_size: old, proof, checkpoint: cp };
            prop_assert_eq!(AddCheckpointRequest::parse(&r.to_bytes()).unwrap(), r);
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = AddCheckpointRequest::parse(&body) {
                prop_assert_eq!(r.to_bytes(), body);
            }
        }
    }
}
