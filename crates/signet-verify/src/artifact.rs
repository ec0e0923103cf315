//! The artifact is the one the bundle signs (client spec §4.4 and §4.5, seen from the user's
//! side): for a message signature, the artifact's digest is one the bundle names — its
//! `messageDigest` or a hashedrekord log entry's; for an in-toto attestation, a subject of the
//! statement.
//!
//! A wrong file is the commonest reason a good bundle does not verify, so the verifier compares
//! a message signature's digests before it compares any log entry with the bundle, and the
//! error says "the file's SHA-256 … does not match the signed digest …" rather than naming a
//! log entry. The comparison can only refuse: the digests it reads are not trusted by
//! themselves, and the log entry, the signature and the `messageDigest` hint are each still
//! checked afterwards ([`crate::entry_body`], [`crate::signature`]). A file that matches one
//! digest the bundle names but not another is not a wrong file but an inconsistent bundle, and
//! is left to those checks to report.

use std::cell::OnceCell;
use std::fmt;

use signet_crypto::HashAlgorithm;
use signet_formats::bundle::MessageSignature;
use signet_formats::intoto::Statement;
use signet_formats::rekor_v2::TransparencyLogEntry;
use thiserror::Error;

use crate::describe;
use crate::entry_body::recorded_artifact_digest;
use crate::policy::{hash_name, to_hex, Artifact};

/// Subjects listed in full in a message; the rest are counted.
const SUBJECTS_SHOWN: usize = 5;

/// Why the artifact is not the one the bundle signs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The artifact's digest is none of those the bundle names.
    #[error("{artifact} does not match the signed digest {}", .artifact.form.show(.artifact.algorithm, .signed))]
    DigestMismatch {
        artifact: ArtifactDigestSeen,
        /// Hex of the digest the bundle names (its `messageDigest`, else its log entry's).
        signed: String,
    },
    /// The artifact is given as a digest under an algorithm the bundle did not sign with.
    #[error("{artifact} cannot be compared with the bundle, which signed the artifact's {} digest: verify against the file itself, or against its {}:<hex> digest", describe::hash(*.signed), hash_name(*.signed))]
    DigestAlgorithm {
        artifact: ArtifactDigestSeen,
        signed: HashAlgorithm,
    },
    /// No subject of the in-toto statement has the artifact's digest.
    #[error("{artifact} matches no subject of the attestation (subjects: {subjects})")]
    NoSubject {
        artifact: ArtifactDigestSeen,
        /// The statement's subjects as `name algorithm:hex`, the first few.
        subjects: String,
    },
}

/// How the caller gave the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactForm {
    /// Its bytes (a file).
    File,
    /// Only its digest.
    Digest,
}

impl ArtifactForm {
    /// A digest as the caller would write it in this form: hex for a file's, `sha256:<hex>`
    /// for a given digest.
    fn show(self, algorithm: HashAlgorithm, hex: &str) -> String {
        match self {
            ArtifactForm::File => hex.to_string(),
            ArtifactForm::Digest => format!("{}:{hex}", hash_name(algorithm)),
        }
    }
}

/// The artifact's digest a comparison used: "the file's SHA-256 <hex>", or "the artifact
/// digest sha256:<hex>" when only a digest was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactDigestSeen {
    pub form: ArtifactForm,
    pub algorithm: HashAlgorithm,
    pub hex: String,
}

impl fmt::Display for ArtifactDigestSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.form {
            ArtifactForm::File => write!(f, "the file's {} {}", describe::hash(self.algorithm), self.hex),
            ArtifactForm::Digest => write!(
                f,
                "the artifact digest {}:{}",
                hash_name(self.algorithm),
                self.hex
            ),
        }
    }
}

/// The artifact's digests, computed at most once per algorithm: the digest comparison, the
/// signature check, the `messageDigest` hint and every log entry compare against the same
/// values.
#[derive(Debug)]
pub struct ArtifactDigests<'a> {
    artifact: &'a Artifact<'a>,
    computed: [OnceCell<Vec<u8>>; 3],
}

impl<'a> ArtifactDigests<'a> {
    pub fn new(artifact: &'a Artifact<'a>) -> Self {
        ArtifactDigests {
            artifact,
            computed: Default::default(),
        }
    }

    /// The digest under `algorithm`, or `None` when only a digest under another algorithm was
    /// given.
    pub fn digest(&self, algorithm: HashAlgorithm) -> Option<&[u8]> {
        match self.artifact {
            Artifact::Bytes(bytes) => {
                let slot = match algorithm {
                    HashAlgorithm::Sha2_256 => 0,
                    HashAlgorithm::Sha2_384 => 1,
                    HashAlgorithm::Sha2_512 => 2,
                };
                Some(self.computed[slot].get_or_init(|| algorithm.digest(bytes)))
            }
            Artifact::Digest(d) => (d.algorithm == algorithm).then_some(d.digest.as_slice()),
        }
    }

    /// The algorithm of a given digest (`None` for artifact bytes).
    pub fn given_algorithm(&self) -> Option<HashAlgorithm> {
        match self.artifact {
            Artifact::Bytes(_) => None,
            Artifact::Digest(d) => Some(d.algorithm),
        }
    }

    /// The bytes, when the caller gave them.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self.artifact {
            Artifact::Bytes(b) => Some(b),
            Artifact::Digest(_) => None,
        }
    }

    /// How the caller gave the artifact.
    pub fn form(&self) -> ArtifactForm {
        match self.artifact {
            Artifact::Bytes(_) => ArtifactForm::File,
            Artifact::Digest(_) => ArtifactForm::Digest,
        }
    }

    /// The digest a message shows when no algorithm is in question: the one given, or the
    /// bytes' SHA-256.
    fn shown(&self) -> ArtifactDigestSeen {
        let algorithm = self.given_algorithm().unwrap_or(HashAlgorithm::Sha2_256);
        ArtifactDigestSeen {
            form: self.form(),
            algorithm,
            hex: to_hex(self.digest(algorithm).unwrap_or_default()),
        }
    }

    /// The digest under `algorithm` as a message shows it, if there is one.
    fn seen(&self, algorithm: HashAlgorithm) -> Option<ArtifactDigestSeen> {
        self.digest(algorithm).map(|d| ArtifactDigestSeen {
            form: self.form(),
            algorithm,
            hex: to_hex(d),
        })
    }
}

/// A message signature: the artifact's digest must be one the bundle names — its
/// `messageDigest`, or the data digest of a hashedrekord log entry it carries — under that
/// digest's algorithm. Passes when the bundle names none (the later checks refuse such a
/// bundle).
pub fn check_signed_digest(
    message: &MessageSignature,
    entries: &[TransparencyLogEntry],
    artifact: &ArtifactDigests<'_>,
) -> Result<(), ArtifactError> {
    let named: Vec<_> = message
        .message_digest
        .iter()
        .cloned()
        .chain(entries.iter().filter_map(recorded_artifact_digest))
        .collect();
    let mut first_mismatch = None;
    for signed in &named {
        let Some(actual) = artifact.seen(signed.algorithm) else {
            continue;
        };
        let signed_hex = to_hex(&signed.digest);
        if actual.hex == signed_hex {
            return Ok(());
        }
        first_mismatch.get_or_insert((actual, signed_hex));
    }
    if let Some((artifact, signed)) = first_mismatch {
        return Err(ArtifactError::DigestMismatch { artifact, signed });
    }
    let given = artifact.given_algorithm().and_then(|a| artifact.seen(a));
    match (named.first(), given) {
        (Some(signed), Some(artifact)) => Err(ArtifactError::DigestAlgorithm {
            artifact,
            signed: signed.algorithm,
        }),
        _ => Ok(()),
    }
}

/// An in-toto statement: the artifact must be a subject (client spec §4.5: "the artifact's
/// digest/algorithm tuple is present in the list of subjects"). Given the artifact's bytes,
/// every SHA-2 algorithm the subjects use is tried, as sigstore-go does, so a statement naming
/// its subjects by SHA-512 alone (npm provenance) verifies; given a digest, only its algorithm
/// can be.
pub fn check_subject(statement: &Statement, artifact: &ArtifactDigests<'_>) -> Result<(), ArtifactError> {
    use HashAlgorithm::*;
    let algorithms: &[HashAlgorithm] = match artifact.given_algorithm() {
        Some(given) => &[given][..],
        None => &[Sha2_256, Sha2_384, Sha2_512],
    };
    let mut tried = None;
    for &algorithm in algorithms {
        let used = statement
            .subject
            .iter()
            .any(|s| s.digest.contains_key(hash_name(algorithm)));
        if !used && artifact.given_algorithm().is_none() {
            continue;
        }
        let Some(seen) = artifact.seen(algorithm) else {
            continue;
        };
        if statement.has_subject_digest(hash_name(algorithm), &seen.hex) {
            return Ok(());
        }
        tried.get_or_insert(seen);
    }
    // Bytes, and no subject uses a SHA-2 algorithm: show the file's SHA-256.
    let artifact_seen = tried.unwrap_or_else(|| artifact.shown());
    Err(ArtifactError::NoSubject {
        subjects: list_subjects(statement, artifact_seen.algorithm),
        artifact: artifact_seen,
    })
}

/// The first few subjects as `name algorithm:hex`, by the digest `algorithm` when a subject
/// has one, else by all its digests.
fn list_subjects(statement: &Statement, algorithm: HashAlgorithm) -> String {
    let name = hash_name(algorithm);
    let mut shown: Vec<String> = statement
        .subject
        .iter()
        .take(SUBJECTS_SHOWN)
        .map(|s| {
            let digests = match s.digest.get(name) {
                Some(hex) => format!("{name}:{hex}"),
                None => s
                    .digest
                    .iter()
                    .map(|(a, hex)| format!("{a}:{hex}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            if s.name.is_empty() {
                digests
            } else {
                format!("{} {digests}", s.name)
            }
        })
        .collect();
    if let Some(more) = statement
        .subject
        .len()
        .checked_sub(SUBJECTS_SHOWN)
        .filter(|n| *n > 0)
    {
        shown.push(format!("and {more} more"));
    }
    shown.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ArtifactDigest;
    use signet_formats::common::HashOutput;
    use signet_formats::intoto::ResourceDescriptor;

    fn message(digest: &[u8]) -> MessageSignature {
        MessageSignature {
            message_digest: Some(HashOutput {
                algorithm: HashAlgorithm::Sha2_256,
                digest: digest.to_vec(),
            }),
            signature: vec![1, 2, 3],
        }
    }

    #[test]
    fn a_wrong_file_or_digest_is_named_as_such() {
        let signed = signet_crypto::sha256(b"artifact");
        let m = message(&signed);
        let right = Artifact::Bytes(b"artifact");
        check_signed_digest(&m, &[], &ArtifactDigests::new(&right)).unwrap();

        let wrong = Artifact::Bytes(b"other");
        let e = check_signed_digest(&m, &[], &ArtifactDigests::new(&wrong)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "the file's SHA-256 {} does not match the signed digest {}",
                to_hex(&signet_crypto::sha256(b"other")),
                to_hex(&signed)
            )
        );
        let by_digest = Artifact::Digest(ArtifactDigest::sha256(signet_crypto::sha256(b"other")));
        let e = check_signed_digest(&m, &[], &ArtifactDigests::new(&by_digest)).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "the artifact digest sha256:{} does not match the signed digest sha256:{}",
                to_hex(&signet_crypto::sha256(b"other")),
                to_hex(&signed)
            )),
            "{e}"
        );
        let sha512 = Artifact::Digest(ArtifactDigest {
            algorithm: HashAlgorithm::Sha2_512,
            digest: HashAlgorithm::Sha2_512.digest(b"artifact"),
        });
        let e = check_signed_digest(&m, &[], &ArtifactDigests::new(&sha512)).unwrap_err();
        assert!(
            matches!(
                &e,
                ArtifactError::DigestAlgorithm { artifact, signed: HashAlgorithm::Sha2_256 }
                    if artifact.algorithm == HashAlgorithm::Sha2_512
            ),
            "{e:?}"
        );
        assert!(
            e.to_string().starts_with(&format!(
                "the artifact digest sha512:{} cannot be compared with the bundle, which signed the artifact's SHA-256 digest",
                to_hex(&HashAlgorithm::Sha2_512.digest(b"artifact"))
            )),
            "{e}"
        );
        // Nothing named: nothing to compare (the log entry and signature checks refuse it).
        let bare = MessageSignature {
            message_digest: None,
            signature: vec![1],
        };
        check_signed_digest(&bare, &[], &ArtifactDigests::new(&wrong)).unwrap();
    }

    #[test]
    fn subjects_are_listed_when_none_matches() {
        let mut subjects: Vec<_> = (0..7u8)
            .map(|i| ResourceDescriptor::sha256(format!("s{i}"), &[i; 32]))
            .collect();
        subjects.push(ResourceDescriptor {
            name: String::new(),
            digest: [("sha512".to_string(), "ab".repeat(64))].into(),
            ..Default::default()
        });
        let statement = Statement::new(subjects, "https://example.com/p", None);
        let a = Artifact::Bytes(b"x");
        let e = check_subject(&statement, &ArtifactDigests::new(&a)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("the file's SHA-256 ")
                && text.contains("matches no subject of the attestation (subjects: s0 sha256:0000")
                && text.ends_with("; and 3 more)"),
            "{text}"
        );
        let a = Artifact::Bytes(b"");
        let statement = Statement::new(
            vec![ResourceDescriptor::sha256("empty", &signet_crypto::sha256(b""))],
            "https://example.com/p",
            None,
        );
        check_subject(&statement, &ArtifactDigests::new(&a)).unwrap();
    }
}
