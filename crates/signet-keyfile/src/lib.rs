//! The files a signet service keeps its keys and certificates in, shared by the CA, the CT
//! log, the TSA and the development OpenID provider so each gets the same guarantees:
//! private keys are PKCS#8 PEM created with mode 0600 in a 0700 directory; every file is
//! written through a temporary file, fsynced and renamed, so a crash leaves the old file or
//! the whole new one; a directory with some but not all of a service's files is refused
//! rather than silently re-initialised (a new CA or log key would fork trust).
//!
//! This crate does file I/O and nothing else; the keys themselves come from `signet-crypto`
//! and the signing seam ([`signet_x509::Signer`]) from `signet-x509`.

#![forbid(unsafe_code)]

pub mod chain;

pub use chain::{
    issue_generation, open_generation, open_or_create_chain, open_or_create_chain_with, ChainFiles,
    LoadedChain, NewChain,
};

use std::io::Write;
use std::path::{Path, PathBuf};

use signet_crypto::{PublicKey, SigningKey};
use signet_x509::{Signer, SignerError};
use thiserror::Error;

/// Why a key directory could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyFileError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{} is half-written (has {present:?}, lacks {missing:?}); restore the missing files, or remove the others to generate new keys",
        dir.display()
    )]
    HalfWritten {
        dir: PathBuf,
        present: Vec<String>,
        missing: Vec<String>,
    },
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    #[error("generating {0}")]
    Generate(String),
}

impl KeyFileError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
        move |source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a service finds in its key directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirState {
    /// None of the files: first start, generate them.
    Empty,
    /// All of them: load them.
    Complete,
}

/// Creates `dir` (mode 0700) if needed and reports whether it holds none or all of `files`;
/// anything in between is [`KeyFileError::HalfWritten`]. Write the file whose presence marks
/// completion last.
pub fn inspect_dir(dir: &Path, files: &[&str]) -> Result<DirState, KeyFileError> {
    create_private_dir(dir)?;
    let (present, missing): (Vec<&str>, Vec<&str>) = files.iter().partition(|f| dir.join(f).exists());
    match (present.is_empty(), missing.is_empty()) {
        (true, _) => Ok(DirState::Empty),
        (false, true) => Ok(DirState::Complete),
        (false, false) => Err(KeyFileError::HalfWritten {
            dir: dir.to_path_buf(),
            present: present.into_iter().map(String::from).collect(),
            missing: missing.into_iter().map(String::from).collect(),
        }),
    }
}

/// `mkdir -p` with mode 0700 on the last component.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyFileError> {
    std::fs::create_dir_all(dir).map_err(KeyFileError::io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(KeyFileError::io(dir))?;
    }
    Ok(())
}

/// Writes `contents` to `path` through a temporary file in the same directory, fsynced and
/// renamed over, then fsyncs the directory. `secret` files are created 0600, others 0644.
pub fn write_atomically(path: &Path, contents: &[u8], secret: bool) -> Result<(), KeyFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().map_or("file".into(), |n| n.to_string_lossy())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(KeyFileError::io(path))
}

/// Writes a private key as PKCS#8 PEM, mode 0600.
pub fn write_private_key(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    write_atomically(path, key.to_pkcs8_pem().as_bytes(), true)
}

/// Reads a PKCS#8 PEM private key, refusing one readable by group or others.
pub fn read_private_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(KeyFileError::io(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyFileError::BadFile {
                path: path.to_path_buf(),
                reason: format!(
                    "private key has mode {:o}; it must not be readable by group or others (chmod 600)",
                    mode & 0o777
                ),
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(KeyFileError::io(path))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyFileError::BadFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// A certificate as a PEM `CERTIFICATE` block.
pub fn certificate_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

/// Writes a certificate as PEM, mode 0644.
pub fn write_certificate(path: &Path, der: &[u8]) -> Result<(), KeyFileError> {
    write_atomically(path, certificate_pem(der).as_bytes(), false)
}

/// Reads one PEM `CERTIFICATE` block and returns its DER.
pub fn read_certificate(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let bad = |reason: String| KeyFileError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(KeyFileError::io(path))?;
    let block = pem::parse(text).map_err(|e| bad(e.to_string()))?;
    if block.tag() != "CERTIFICATE" {
        return Err(bad(format!(
            "expected a CERTIFICATE PEM block, found {}",
            block.tag()
        )));
    }
    Ok(block.into_contents())
}

/// A private key read from a file and held in memory: the file-backed [`Signer`]. An HSM or
/// KMS implementation of the trait replaces it without touching certificate code.
#[derive(Debug)]
pub struct FileKeySigner {
    key: SigningKey,
}

impl FileKeySigner {
    pub fn new(key: SigningKey) -> Self {
        FileKeySigner { key }
    }

    /// Reads a PKCS#8 PEM key file (see [`read_private_key`]).
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        read_private_key(path).map(FileKeySigner::new)
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl Signer for FileKeySigner {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.key
            .sign(message)
            .map_err(|e| SignerError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::KeyKind;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        assert_eq!(inspect_dir(&keys, &["a.key", "a.pem"]).unwrap(), DirState::Empty);
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        write_private_key(&keys.join("a.key"), &key).unwrap();
        let mode = std::fs::metadata(keys.join("a.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let back = read_private_key(&keys.join("a.key")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        // One of two files: half-written, refused.
        match inspect_dir(&keys, &["a.key", "a.pem"]) {
            Err(KeyFileError::HalfWritten { present, missing, .. }) => {
                assert_eq!(present, vec!["a.key"]);
                assert_eq!(missing, vec!["a.pem"]);
            }
            other => panic!("expected HalfWritten, got {other:?}"),
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn world_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
        write_private_key(&path, &key).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private_key(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn certificate_file_must_be_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pem");
        std::fs::write(&path, pem::encode(&pem::Pem::new("PUBLIC KEY", vec![1, 2, 3]))).unwrap();
        assert!(read_certificate(&path)
            .unwrap_err()
            .to_string()
            .contains("expected a CERTIFICATE"));
        write_certificate(&path, &[0x30, 0x00]).unwrap();
        assert_eq!(read_certificate(&path).unwrap(), vec![0x30, 0x00]);
    }
}
