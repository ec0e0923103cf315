//! The provider's key directory: an ES256 key (PKCS#8 PEM, 0600) and its public JWKS, made
//! on first start in a 0700 directory and reused afterwards, so tokens and the CA's cached
//! JWKS stay valid across restarts.

use std::path::{Path, PathBuf};

use signet_crypto::{KeyKind, SigningKey};
use signet_keyfile::{
    inspect_dir, read_private_key, write_atomically, write_private_key, DirState, KeyFileError,
};
use thiserror::Error;

use crate::jose::{JoseError, Jwk};

/// The signing key, PKCS#8 PEM, mode 0600.
pub(crate) const KEY_FILE: &str = "dev-oidc-es256.pem";
/// The public JWKS, written last: its presence marks a complete directory.
pub(crate) const JWKS_FILE: &str = "jwks.json";
const FILES: [&str; 2] = [KEY_FILE, JWKS_FILE];

/// Why the development provider could not start.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DevOidcError {
    /// Key files: unreadable, damaged, or a half-written directory.
    #[error("development OIDC keys: {0}")]
    Files(#[from] KeyFileError),
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    #[error("issuer URL {url:?}: {reason}")]
    BadIssuerUrl { url: String, reason: &'static str },
    #[error("generating the development OIDC key: {0}")]
    Generate(String),
    #[error(transparent)]
    Jose(#[from] JoseError),
}

/// Loads the key from `dir`, or generates and writes it if `dir` holds none of its files.
pub(crate) fn open_or_create_key(dir: &Path) -> Result<SigningKey, DevOidcError> {
    if inspect_dir(dir, &FILES)? == DirState::Empty {
        generate(dir)?;
    }
    let key_path = dir.join(KEY_FILE);
    let bad = |path: &Path, reason: String| DevOidcError::BadFile {
        path: path.to_path_buf(),
        reason,
    };
    let key = read_private_key(&key_path)?;
    if key.public_key().kind() != KeyKind::EcdsaP256 {
        return Err(bad(
            &key_path,
            format!("expected an ECDSA P-256 key, found {}", key.public_key().kind()),
        ));
    }
    // The JWKS on disk must describe this key: a mismatch means the files come from two
    // different runs, and serving either would break tokens already handed out.
    let jwks_path = dir.join(JWKS_FILE);
    let jwks = std::fs::read(&jwks_path).map_err(|e| bad(&jwks_path, e.to_string()))?;
    let stored: Option<Jwk> = serde_json::from_slice::<serde_json::Value>(&jwks)
        .ok()
        .and_then(|v| serde_json::from_value(v["keys"][0].clone()).ok());
    if stored.as_ref() != Some(&Jwk::from_public_key(key.public_key())?) {
        return Err(bad(
            &jwks_path,
            format!("does not hold the public key of {KEY_FILE}"),
        ));
    }
    Ok(key)
}

/// The JWKS document (RFC 7517 §5) for one key.
pub(crate) fn jwks_document(jwk: &Jwk) -> serde_json::Value {
    serde_json::json!({ "keys": [jwk] })
}

fn generate(dir: &Path) -> Result<(), DevOidcError> {
    let key = SigningKey::generate(KeyKind::EcdsaP256).map_err(|e| DevOidcError::Generate(e.to_string()))?;
    let jwks = jwks_document(&Jwk::from_public_key(key.public_key())?);
    write_private_key(&dir.join(KEY_FILE), &key)?;
    write_atomically(&dir.join(JWKS_FILE), format!("{jwks:#}\n").as_bytes(), false)?;
    Ok(())
}
