//! The files client commands read and write: artifacts (hashed as they stream), bundles
//! (written atomically: a temporary file in the same directory, fsync, rename, so a failure
//! leaves nothing behind), and keys (cosign's encrypted files, or PKCS#8 PEM).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use sha2::{Digest, Sha256};
use signet_crypto::{cosign_key, PublicKey, SigningKey};
use signet_formats::bundle::Bundle;

/// The largest bundle signet reads: real bundles are a few KiB, attestations rarely 1 MiB.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 20;

/// SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut file = File::open(path).with_context(|| format!("cannot read artifact {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading artifact {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// Reads a small file (a bundle, a predicate, a key) of at most `max` bytes.
pub fn read_limited(path: &Path, what: &str, max: u64) -> anyhow::Result<Vec<u8>> {
    let file = File::open(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    let mut data = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    if data.len() as u64 > max {
        bail!("{what} {} is larger than {max} bytes", path.display());
    }
    Ok(data)
}

/// Reads and parses a bundle.
pub fn read_bundle(path: &Path) -> anyhow::Result<Bundle> {
    let json = read_limited(path, "bundle", MAX_BUNDLE_BYTES)?;
    Bundle::from_json(&json).map_err(|e| anyhow!("bundle {} is malformed: {e}", path.display()))
}

/// Writes `data` to `path` atomically: readers see the old file or the whole new one, and a
/// failure leaves no file (not even a temporary one).
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    let mut random = [0u8; 6];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| anyhow!("the system random number generator failed"))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), hex::encode(random)));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// The environment variable holding an encrypted key's password, as cosign names it.
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// A private key file: cosign's encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY`, password
/// from `$COSIGN_PASSWORD`, empty if unset, as cosign allows), or PKCS#8 PEM (`PRIVATE KEY`).
pub fn load_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let data = read_limited(path, "key", 1 << 20)?;
    let text = String::from_utf8(data).map_err(|_| anyhow!("key {} is not PEM text", path.display()))?;
    let block = pem::parse(&text).map_err(|e| anyhow!("key {} is not PEM: {e}", path.display()))?;
    if [
        cosign_key::SIGSTORE_PRIVATE_KEY_PEM_TYPE,
        cosign_key::COSIGN_PRIVATE_KEY_PEM_TYPE,
    ]
    .contains(&block.tag())
    {
        let password = std::env::var(PASSWORD_ENV).unwrap_or_default();
        return cosign_key::decrypt_private_key(&text, password.as_bytes()).map_err(|e| {
            let hint = if std::env::var_os(PASSWORD_ENV).is_none() {
                format!(" (set ${PASSWORD_ENV} to the key's password)")
            } else {
                String::new()
            };
            anyhow!("key {}: {e}{hint}", path.display())
        });
    }
    SigningKey::from_pkcs8_pem(&text).map_err(|e| anyhow!("key {}: {e}", path.display()))
}

/// A public key file: PEM SubjectPublicKeyInfo (`PUBLIC KEY`).
pub fn load_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let data = read_limited(path, "public key", 1 << 20)?;
    let text =
        String::from_utf8(data).map_err(|_| anyhow!("public key {} is not PEM text", path.display()))?;
    PublicKey::from_pem(&text).map_err(|e| anyhow!("public key {}: {e}", path.display()))
}
