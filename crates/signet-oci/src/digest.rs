//! Content digests (image-spec `descriptor.md` §Digests): `algorithm ":" encoded`, with the two
//! registered algorithms, `sha256` (64 lowercase hex digits) and `sha512` (128). Everything a
//! registry names by digest is checked against it before it is used, so the parser refuses
//! what the spec does not allow: uppercase hex, another length, another algorithm.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A registered digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, the algorithm every registry and cosign use.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name in a digest string.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// The digest's length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }
}

/// Why a digest string is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// No `:` between algorithm and value.
    #[error("{0:?} is not a digest (algorithm:hex)")]
    Form(String),
    /// An algorithm the image spec does not register.
    #[error("unsupported digest algorithm {0:?}; supported: sha256, sha512")]
    Algorithm(String),
    /// The value is not lowercase hex of the algorithm's length.
    #[error("{algorithm} digest {value:?} is not {expected} lowercase hex digits")]
    Value {
        /// The algorithm's name.
        algorithm: &'static str,
        /// The value given.
        value: String,
        /// How many hex digits the algorithm has.
        expected: usize,
    },
}

/// A content digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    bytes: Vec<u8>,
}

impl Digest {
    /// The SHA-256 digest of `content`.
    pub fn sha256(content: &[u8]) -> Digest {
        Digest::of(DigestAlgorithm::Sha256, content)
    }

    /// The digest of `content` under `algorithm`.
    pub fn of(algorithm: DigestAlgorithm, content: &[u8]) -> Digest {
        let bytes = match algorithm {
            DigestAlgorithm::Sha256 => Sha256::digest(content).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(content).to_vec(),
        };
        Digest { algorithm, bytes }
    }

    /// A digest from its algorithm and raw bytes; `None` when the length is not the
    /// algorithm's.
    pub fn from_bytes(algorithm: DigestAlgorithm, bytes: Vec<u8>) -> Option<Digest> {
        (bytes.len() == algorithm.output_len()).then_some(Digest { algorithm, bytes })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The raw digest bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The value as lowercase hex, without the algorithm.
    pub fn hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// Whether `content` has this digest.
    pub fn matches(&self, content: &[u8]) -> bool {
        Digest::of(self.algorithm, content) == *self
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        let (name, value) = s
            .split_once(':')
            .ok_or_else(|| DigestError::Form(s.to_string()))?;
        let algorithm = match name {
            "sha256" => DigestAlgorithm::Sha256,
            "sha512" => DigestAlgorithm::Sha512,
            other => return Err(DigestError::Algorithm(other.to_string())),
        };
        let refused = || DigestError::Value {
            algorithm: algorithm.name(),
            value: value.to_string(),
            expected: algorithm.output_len() * 2,
        };
        // Lowercase only: `hex` would take uppercase too.
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(refused());
        }
        let bytes = hex::decode(value).map_err(|_| refused())?;
        Digest::from_bytes(algorithm, bytes).ok_or_else(refused)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_json_object_has_the_digest_the_image_spec_gives() {
        // image-spec manifest.md, "Guidance for an Empty Descriptor".
        let d = Digest::sha256(b"{}");
        assert_eq!(
            d.to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!(d.matches(b"{}"));
        assert!(!d.matches(b"{ }"));
    }

    #[test]
    fn only_registered_algorithms_and_lowercase_hex_of_the_right_length() {
        let hex64 = "a".repeat(64);
        assert!(format!("sha256:{hex64}").parse::<Digest>().is_ok());
        assert!(format!("sha512:{}", "0".repeat(128)).parse::<Digest>().is_ok());
        for bad in [
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha512:{hex64}"),
            format!("sha256:{}g", "a".repeat(63)),
            hex64.clone(),
            format!("md5:{hex64}"),
            format!("SHA256:{hex64}"),
            format!("sha256:+{}", "a".repeat(63)),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        assert_eq!(
            "md5:00".parse::<Digest>().unwrap_err().to_string(),
            "unsupported digest algorithm \"md5\"; supported: sha256, sha512"
        );
    }
}
