use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// A digest algorithm, named as in `dev.sigstore.common.v1.HashAlgorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha2_256,
    Sha2_384,
    Sha2_512,
}

impl HashAlgorithm {
    /// The protobuf enum name (`SHA2_256`, ...).
    pub fn proto_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha2_256 => "SHA2_256",
            HashAlgorithm::Sha2_384 => "SHA2_384",
            HashAlgorithm::Sha2_512 => "SHA2_512",
        }
    }

    pub fn from_proto_name(name: &str) -> Option<Self> {
        match name {
            "SHA2_256" => Some(HashAlgorithm::Sha2_256),
            "SHA2_384" => Some(HashAlgorithm::Sha2_384),
            "SHA2_512" => Some(HashAlgorithm::Sha2_512),
            _ => None,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha2_256 => 32,
            HashAlgorithm::Sha2_384 => 48,
            HashAlgorithm::Sha2_512 => 64,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha2_256 => Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha2_384 => Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha2_512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            HashAlgorithm::Sha2_256 => &aws_lc_rs::digest::SHA256,
            HashAlgorithm::Sha2_384 => &aws_lc_rs::digest::SHA384,
            HashAlgorithm::Sha2_512 => &aws_lc_rs::digest::SHA512,
        }
    }
}

/// A digest computed over data given in pieces (a file read in chunks).
pub struct Hasher(aws_lc_rs::digest::Context);

impl Hasher {
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Hasher(aws_lc_rs::digest::Context::new(algorithm.aws()))
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-1 of `data`: only to name a certificate the way GnuPG and gpgsm fingerprint one (git
/// shows it as `%GF`). Never for a signature or anything an attacker may choose to collide.
pub fn sha1_fingerprint(data: &[u8]) -> [u8; 20] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_fingerprint_fips_180_vector() {
        assert_eq!(
            sha1_fingerprint(b"abc")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn a_hasher_fed_in_pieces_gives_the_one_shot_digest() {
        for algorithm in [
            HashAlgorithm::Sha2_256,
            HashAlgorithm::Sha2_384,
            HashAlgorithm::Sha2_512,
        ] {
            let mut hasher = Hasher::new(algorithm);
            hasher.update(b"hello, ");
            hasher.update(b"signet");
            assert_eq!(hasher.finish(), algorithm.digest(b"hello, signet"));
        }
    }
}
