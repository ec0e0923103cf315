//! Key files: `signet generate-key-pair` writes a signing key pair in cosign's files,
//! `<prefix>.key` (the private key encrypted under a password, see `signet_crypto::cosign_key`)
//! and `<prefix>.pub` (PEM SubjectPublicKeyInfo), so that `cosign` and `signet` can use each
//! other's keys; `--key` on the signing and verifying commands reads them back.
//!
//! The password comes from `$SIGNET_PASSWORD`, else `$COSIGN_PASSWORD` (as cosign reads it; set
//! and empty means an empty password), else is asked on the terminal (twice for a new key).
//! Existing files are never replaced without `--force`; each file is written to a temporary
//! file beside it and moved into place, so a crash leaves either no file or a whole one.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use signet_crypto::cosign_key::{self, encrypt_private_key, public_key_pem};
use signet_crypto::{KeyKind, PublicKey, SigningKey};
use zeroize::Zeroizing;

use crate::files::{read_limited, write_file_atomic, Existing};

/// Environment variables the password is read from, in order.
pub const PASSWORD_VARIABLES: [&str; 2] = ["SIGNET_PASSWORD", "COSIGN_PASSWORD"];

/// The largest key file read: real ones are a few hundred bytes.
const MAX_KEY_FILE_BYTES: u64 = 1 << 20;

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
    // No doc comments on the variants: clap would print them as help for each value.
    #[allow(missing_docs)]
    EcdsaP256,
    #[allow(missing_docs)]
    EcdsaP384,
    #[allow(missing_docs)]
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
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    // Refuse before asking for a password or doing the (slow) key derivation.
    if !args.force {
        for path in [&key_path, &pub_path] {
            if path.exists() {
                bail!("{} already exists; pass --force to replace it", path.display());
            }
        }
    }
    let password = password(Purpose::NewKey)?;
    let key = SigningKey::generate(args.key_type.kind()).context("generating the key")?;
    let encrypted = encrypt_private_key(&key, password.as_bytes()).context("encrypting the private key")?;
    write_file_atomic(&key_path, encrypted.as_bytes(), 0o600, existing)?;
    eprintln!("Private key written to {}", key_path.display());
    write_file_atomic(
        &pub_path,
        public_key_pem(key.public_key()).as_bytes(),
        0o644,
        existing,
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

/// What a password is for: a new key asks twice, so that a typo does not lock the key away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    NewKey,
    ExistingKey,
}

/// The password from the first of [`PASSWORD_VARIABLES`] that is set, if any.
fn password_from_env() -> anyhow::Result<Option<Zeroizing<String>>> {
    for variable in PASSWORD_VARIABLES {
        if let Some(value) = std::env::var_os(variable) {
            return value
                .into_string()
                .map(|v| Some(Zeroizing::new(v)))
                .map_err(|_| anyhow!("${variable} is not valid UTF-8"));
        }
    }
    Ok(None)
}

/// The password from the environment, or typed on a terminal.
fn password(purpose: Purpose) -> anyhow::Result<Zeroizing<String>> {
    if let Some(password) = password_from_env()? {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password: set $SIGNET_PASSWORD (or $COSIGN_PASSWORD), or run on a terminal to type it");
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("Enter password for private key: ").context("reading the password")?,
    );
    if purpose == Purpose::NewKey {
        let second = Zeroizing::new(
            rpassword::prompt_password("Enter password for private key again: ")
                .context("reading the password")?,
        );
        if *first != *second {
            bail!("the two passwords differ");
        }
    }
    Ok(first)
}

/// A private key file: cosign's encrypted format (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the
/// older `ENCRYPTED COSIGN PRIVATE KEY`), decrypted with the password from the environment or
/// the terminal, or an unencrypted PKCS#8 PEM (`PRIVATE KEY`).
///
/// With no password variable set and no terminal to ask on, the empty password is tried, as
/// cosign does when it reads an empty password from a pipe; a key with a real password then
/// fails with a hint to set one.
pub fn load_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let data = read_limited(path, "key", MAX_KEY_FILE_BYTES)?;
    let text = String::from_utf8(data).map_err(|_| anyhow!("key {} is not PEM text", path.display()))?;
    let block = pem::parse(&text).map_err(|e| anyhow!("key {} is not PEM: {e}", path.display()))?;
    if [
        cosign_key::SIGSTORE_PRIVATE_KEY_PEM_TYPE,
        cosign_key::COSIGN_PRIVATE_KEY_PEM_TYPE,
    ]
    .contains(&block.tag())
    {
        let from_env = password_from_env()?;
        let (password, guessed) = match from_env {
            Some(p) => (p, false),
            None if std::io::stdin().is_terminal() => (password(Purpose::ExistingKey)?, false),
            None => (Zeroizing::new(String::new()), true),
        };
        return cosign_key::decrypt_private_key(&text, password.as_bytes()).map_err(|e| {
            let hint = if guessed {
                " (set $SIGNET_PASSWORD or $COSIGN_PASSWORD to the key's password)"
            } else {
                ""
            };
            anyhow!("key {}: {e}{hint}", path.display())
        });
    }
    SigningKey::from_pkcs8_pem(&text).map_err(|e| anyhow!("key {}: {e}", path.display()))
}

/// `--key`: a key file ([`load_signing_key`]), or a key in a PKCS#11 token when the argument
/// is an RFC 7512 URI (`pkcs11:token=…;object=…?module-path=…&pin-source=file:…`).
pub fn load_user_key(arg: &Path) -> anyhow::Result<crate::sign::UserKey> {
    match arg.to_str().filter(|a| signet_pkcs11::is_pkcs11_uri(a)) {
        Some(uri) => Ok(crate::sign::UserKey::Token(Box::new(
            signet_pkcs11::Pkcs11Signer::open_uri(uri)?,
        ))),
        None => load_signing_key(arg).map(crate::sign::UserKey::Memory),
    }
}

/// A public key file: PEM SubjectPublicKeyInfo (`PUBLIC KEY`).
pub fn load_public_key(path: &Path) -> anyhow::Result<PublicKey> {
    let data = read_limited(path, "public key", MAX_KEY_FILE_BYTES)?;
    let text =
        String::from_utf8(data).map_err(|_| anyhow!("public key {} is not PEM text", path.display()))?;
    PublicKey::from_pem(&text).map_err(|e| anyhow!("public key {}: {e}", path.display()))
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
        write_file_atomic(&path, b"one", 0o600, Existing::Refuse).unwrap();
        let e = write_file_atomic(&path, b"two", 0o600, Existing::Refuse).unwrap_err();
        assert!(format!("{e:#}").contains("exists"), "{e:#}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_file_atomic(&path, b"three", 0o600, Existing::Replace).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
