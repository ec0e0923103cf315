//! The files client commands read and write: artifacts (hashed as they stream), bundles
//! (written atomically: a temporary file in the same directory, fsync, rename, so a failure
//! leaves nothing behind). Key files are [`super::keys`]'.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use signet_crypto::{HashAlgorithm, Hasher};
use signet_formats::bundle::Bundle;

/// The largest bundle signet reads: real bundles are a few KiB, attestations rarely 1 MiB.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 20;

/// Fails unless `path` is a file that can be opened for reading: checked before any network
/// step, so a mistyped artifact name costs no certificate or log entry.
pub fn check_artifact(path: &Path) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot read artifact {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read artifact {}", path.display()))?;
    if meta.is_dir() {
        bail!("artifact {} is a directory", path.display());
    }
    Ok(())
}

/// SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> anyhow::Result<[u8; 32]> {
    let digest = digest_file(path, HashAlgorithm::Sha2_256)?;
    digest
        .try_into()
        .map_err(|_| anyhow!("SHA-256 gave a digest that is not 32 bytes"))
}

/// The digest of a file under `algorithm`, read in chunks.
pub fn digest_file(path: &Path, algorithm: HashAlgorithm) -> anyhow::Result<Vec<u8>> {
    let mut file = File::open(path).with_context(|| format!("cannot read artifact {}", path.display()))?;
    let mut hasher = Hasher::new(algorithm);
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
    Ok(hasher.finish())
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
    write_file_atomic(path, data, 0o666, Existing::Replace)
}

/// What [`write_file_atomic`] does when `path` already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (atomically: a reader sees the old file or the new one).
    Replace,
    /// Fail, also when the file appears while this write is under way.
    Refuse,
}

/// Writes `data` to a new temporary file beside `path`, created with `mode` (before the
/// umask), fsyncs it and moves it to `path`: by `rename` to replace, by `link` to refuse (which
/// fails if `path` exists, so no file is ever silently replaced). The directory is synced so
/// that the move is durable; a failure removes the temporary file.
pub fn write_file_atomic(path: &Path, data: &[u8], mode: u32, existing: Existing) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    let mut random = [0u8; 6];
    crate::os_random(&mut random)?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), hex::encode(random)));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        match existing {
            Existing::Replace => fs::rename(&tmp, path)?,
            Existing::Refuse => {
                fs::hard_link(&tmp, path)?;
                fs::remove_file(&tmp)?;
            }
        }
        // The move itself is durable once the directory is synced.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            bail!("{} already exists", path.display());
        }
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}
