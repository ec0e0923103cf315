//! A log kept in a directory of its own, with its own key: the CT log and the Rekor v1 log
//! each open one. The directory holds an ECDSA P-256 key (PKCS#8, 0600, written last, so its
//! presence marks a complete directory) and a SQLite store whose metadata pin the origin and
//! the key: a later start with another origin, another key, or a half-written directory is
//! refused, never silently re-initialised (either would fork the log).

use std::path::{Path, PathBuf};

use signet_crypto::{sha256, KeyKind, SigningKey};
use signet_keyfile::{inspect_dir, read_private_key, write_private_key, DirState, KeyFileError};

use crate::sqlite::SqliteStore;
use crate::storage::{LogStore, StorageError};

/// Why a keyed log directory could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyedLogError {
    #[error(transparent)]
    Files(#[from] KeyFileError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The directory or configuration cannot be used (origin changed, key swapped, damaged
    /// metadata).
    #[error("{0}")]
    Setup(String),
}

/// Where a keyed log keeps its files and metadata.
#[derive(Debug, Clone, Copy)]
pub struct KeyedLogLayout<'a> {
    /// What the log is, for messages ("CT log", "Rekor v1 log").
    pub what: &'a str,
    pub key_file: &'a str,
    pub db_file: &'a str,
    /// Prefix of its metadata keys (`<prefix>.origin`, `.created`, `.log_id`).
    pub meta_prefix: &'a str,
}

/// An opened keyed log directory.
pub struct KeyedLog {
    pub key: SigningKey,
    /// The writer's store (hand it to the appender).
    pub store: SqliteStore,
    pub db_path: PathBuf,
    /// SHA-256 of the key's SubjectPublicKeyInfo DER.
    pub log_id: [u8; 32],
    /// Unix seconds of the first start.
    pub created: i64,
    /// Whether this call created the directory.
    pub new: bool,
}

impl KeyedLog {
    /// Opens the log in `dir`, or creates it (a fresh P-256 key, `origin` and `now` recorded).
    pub fn open_or_create(
        dir: &Path,
        layout: KeyedLogLayout<'_>,
        origin: &str,
        now: i64,
    ) -> Result<KeyedLog, KeyedLogError> {
        let meta_key = |name: &str| format!("{}.{name}", layout.meta_prefix);
        let db_path = dir.join(layout.db_file);
        let key_path = dir.join(layout.key_file);
        let (key, mut store, new) = match inspect_dir(dir, &[layout.key_file, layout.db_file])? {
            DirState::Empty => {
                let key = SigningKey::generate(KeyKind::EcdsaP256)
                    .map_err(|e| KeyedLogError::Setup(format!("generating the {} key: {e}", layout.what)))?;
                let mut store = SqliteStore::open(&db_path, true)?;
                store.set_meta(&meta_key("origin"), origin)?;
                store.set_meta(&meta_key("created"), &now.to_string())?;
                store.set_meta(&meta_key("log_id"), &hex(&sha256(key.public_key().spki_der())))?;
                // The key is written last: with it present, the directory is complete.
                write_private_key(&key_path, &key)?;
                tracing::info!(dir = %dir.display(), origin, "created a new {}", layout.what);
                (key, store, true)
            }
            DirState::Complete => (
                read_private_key(&key_path)?,
                SqliteStore::open(&db_path, false)?,
                false,
            ),
        };
        if key.public_key().kind() != KeyKind::EcdsaP256 {
            return Err(KeyedLogError::Setup(format!(
                "{} is a {} key; the {} signs with ECDSA P-256",
                key_path.display(),
                key.public_key().kind(),
                layout.what
            )));
        }
        let log_id = sha256(key.public_key().spki_der());
        let mut meta = |name: &str| -> Result<String, KeyedLogError> {
            store.meta(&meta_key(name))?.ok_or_else(|| {
                KeyedLogError::Setup(format!(
                    "{} lacks {}: half-written",
                    db_path.display(),
                    meta_key(name)
                ))
            })
        };
        let stored_origin = meta("origin")?;
        if stored_origin != origin {
            return Err(KeyedLogError::Setup(format!(
                "the {} in {} has origin {stored_origin:?}, not {origin:?}; a log's origin cannot change",
                layout.what,
                dir.display()
            )));
        }
        if meta("log_id")? != hex(&log_id) {
            return Err(KeyedLogError::Setup(format!(
                "{} is not the key this {} was created with",
                key_path.display(),
                layout.what
            )));
        }
        let created = meta("created")?.parse().map_err(|_| {
            KeyedLogError::Setup(format!("{} has a damaged creation time", db_path.display()))
        })?;
        Ok(KeyedLog {
            key,
            store,
            db_path,
            log_id,
            created,
            new,
        })
    }

    /// Another connection to the store, for readers.
    pub fn reader(&self) -> Result<Box<dyn LogStore>, StorageError> {
        Ok(Box::new(SqliteStore::open(&self.db_path, false)?))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
