//! `signet generate-key-pair`: a signing key pair in cosign's files, `<prefix>.key` (the private
//! key encrypted under a password, see `signet_crypto::cosign_key`) and `<prefix>.pub` (PEM
//! SubjectPublicKeyInfo), so that `cosign` and `signet` can use each other's keys.
//!
//! The password comes from `$SIGNET_PASSWORD`, else `$COSIGN_PASSWORD` (as cosign reads it; set
//! and empty means an empty password), else is asked twice on the terminal. Existing files are
//! never replaced without `--force`; each file is written to a temporary file beside it and
//! moved into place, so a crash leaves either no file or a whole one.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use signet_crypto::cosign_key::{encrypt_private_key, public_key_pem};
use signet_crypto::{KeyKind, SigningKey};
use zeroize::Zeroizing;

/// Environment variables the password is read from, in order.
const PASSWORD_VARIABLES: [&str; 2] = ["SIGNET_PASSWORD", "COSIGN_PASSWORD"];

/// Arguments of `signet generate-key-pair`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateKeyPairArgs {
    /// Write `<prefix>.key` and `<prefix>.pub`.
    #[arg(long, default_value = "cosign")]
    pub output_key_prefix: PathBuf,
    /// The key's algorithm.
    #[arg(long, value_enum, default_value_t = KeyType::EcdsaP256)]
    pub key_type: KeyType,
    /// Replace `<prefix>.key` and `<prefix>.pub` if they exist.
    #[arg(long)]
    pub force: bool,
}

/// The key algorithms `generate-key-pair` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyType {
    fn kind(self) -> KeyKind {
        match self {
            KeyType::EcdsaP256 => KeyKind::EcdsaP256,
            KeyType::EcdsaP384 => KeyKind::EcdsaP384,
            KeyType::Ed25519 => KeyKind::Ed25519,
        }
    }
}

/// Runs `signet generate-key-pair`.
pub fn generate_key_pair(args: GenerateKeyPairArgs) -> anyhow::Result<()> {
    let key_path = with_suffix(&args.output_key_prefix, ".key");
    let pub_path = with_suffix(&args.output_key_prefix, ".pub");
    // Refuse before asking for a password or doing the (slow) key derivation.
    if !args.force {
        for path in [&key_path, &pub_path] {
            if path.exists() {
                bail!("{} already exists; pass --force to replace it", path.display());
            }
        }
    }
    let password = password()?;
    let key = SigningKey::generate(args.key_type.kind()).context("generating the key")?;
    let encrypted = encrypt_private_key(&key, password.as_bytes()).context("encrypting the private key")?;
    write_file(&key_path, encrypted.as_bytes(), 0o600, args.force)?;
    eprintln!("Private key written to {}", key_path.display());
    write_file(
        &pub_path,
        public_key_pem(key.public_key()).as_bytes(),
        0o644,
        args.force,
    )?;
    eprintln!("Public key written to {}", pub_path.display());
    Ok(())
}

/// `prefix` with `suffix` appended to its last component (`dir/cosign` → `dir/cosign.key`).
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(prefix.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// The password from the environment, or typed twice on a terminal.
fn password() -> anyhow::Result<Zeroizing<String>> {
    for variable in PASSWORD_VARIABLES {
        if let Some(value) = std::env::var_os(variable) {
            return value
                .into_string()
                .map(Zeroizing::new)
                .map_err(|_| anyhow::anyhow!("${variable} is not valid UTF-8"));
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set $SIGNET_PASSWORD (or $COSIGN_PASSWORD), or run on a terminal to type it");
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Enter password for private key: ").context("reading the password")?,
    );
    let second = Zeroizing::new(
        rpassword::prompt_password("Enter password for private key again: ")
            .context("reading the password")?,
    );
    if *first != *second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

/// Writes `contents` to a new temporary file beside `path` with `mode`, fsyncs it and moves it
/// to `path`: by `rename` if `replace`, else by `link`, which fails if `path` appeared since
/// the check (no file is ever silently replaced).
fn write_file(path: &Path, contents: &[u8], mode: u32, replace: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(path.file_name().context("the output path has no file name")?);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)
        }
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_goes_on_the_last_component() {
        assert_eq!(
            with_suffix(Path::new("cosign"), ".key"),
            PathBuf::from("cosign.key")
        );
        assert_eq!(
            with_suffix(Path::new("a/b/k"), ".pub"),
            PathBuf::from("a/b/k.pub")
        );
    }

    #[test]
    fn existing_files_are_kept_unless_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        write_file(&path, b"one", 0o600, false).unwrap();
        let e = write_file(&path, b"two", 0o600, false).unwrap_err();
        assert!(format!("{e:#}").contains("exists"), "{e:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_file(&path, b"three", 0o600, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
