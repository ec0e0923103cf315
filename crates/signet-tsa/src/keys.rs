//! The file-key implementation of [`crate::TsaSigner`], and the atomic, 0600 key files.

use std::io::Write;
use std::path::Path;

use signet_crypto::{PublicKey, SigningKey};
use signet_x509::{Signer, SignerError};

/// A PKCS#8 key read from a file and held in memory.
#[derive(Debug)]
pub struct FileKeySigner {
    key: SigningKey,
}

impl FileKeySigner {
    pub fn new(key: SigningKey) -> Self {
        FileKeySigner { key }
    }

    /// Reads a PEM `PRIVATE KEY` file.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        Ok(FileKeySigner { key })
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
        self.key.sign(message).map_err(|e| SignerError(e.to_string()))
    }
}

/// Writes `contents` to `path` through a temporary file in the same directory, fsynced and
/// renamed over, so a crash leaves either the old file or the whole new one. `secret` files
/// are created 0600.
pub(crate) fn write_atomically(path: &Path, contents: &[u8], secret: bool) -> std::io::Result<()> {
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
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
