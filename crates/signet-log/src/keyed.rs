//! A log kept in a directory of its own, with its own key: the CT log and the Rekor v1 log
//! each open one. The directory holds an ECDSA P-256 key (PKCS#8, 0600, written last, so its
//! presence marks a complete directory); the store (a SQLite file in the directory, or a schema
//! of the PostgreSQL database) has metadata that pin the origin and the key: a later start with
//! another origin, another key, or a half-written directory is refused, never silently
//! re-initialised (either would fork the log). With PostgreSQL, several front ends each hold a
//! copy of the key file and must agree with what the database recorded. A key held elsewhere
//! (a PKCS#11 token, [`ExternalKey`]) replaces the key file: the store's pinned log ID is then
//! what a later start is checked against.

use std::path::Path;
use std::sync::Arc;

use signet_crypto::{sha256, KeyKind, Signer, SigningKey};
use signet_keyfile::{create_private_dir, read_private_key, write_private_key, KeyFileError};

use crate::storage::{Database, LogStore, StorageError, StoreLocation};

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
    /// The SQLite file in the directory.
    pub db_file: &'a str,
    /// The PostgreSQL schema.
    pub pg_schema: &'a str,
    /// Prefix of its metadata keys (`<prefix>.origin`, `.created`, `.log_id`).
    pub meta_prefix: &'a str,
}

/// A log key kept outside the directory (a PKCS#11 token): no key file is written or read.
#[derive(Clone)]
pub struct ExternalKey {
    pub signer: Arc<dyn Signer>,
    /// Where the key is, for messages (a PKCS#11 URI without its PIN).
    pub name: String,
}

/// An opened keyed log directory.
pub struct KeyedLog {
    pub key: Arc<dyn Signer>,
    /// The writer's store (hand it to the appender).
    pub store: Box<dyn LogStore>,
    /// Where the store lives (open readers there).
    pub location: StoreLocation,
    /// SHA-256 of the key's SubjectPublicKeyInfo DER.
    pub log_id: [u8; 32],
    /// Unix seconds of the first start.
    pub created: i64,
    /// Whether this call created the directory.
    pub new: bool,
}

impl KeyedLog {
    /// Opens the log in `dir` with its store in `database`, or creates it (a fresh P-256 key,
    /// `origin` and `now` recorded), or with `external` as its key instead of a key file.
    pub fn open_or_create(
        dir: &Path,
        database: &Database,
        layout: KeyedLogLayout<'_>,
        origin: &str,
        now: i64,
        external: Option<&ExternalKey>,
    ) -> Result<KeyedLog, KeyedLogError> {
        let meta_key = |name: &str| format!("{}.{name}", layout.meta_prefix);
        let location = database.location(dir.join(layout.db_file), layout.pg_schema);
        let db_path = location.to_string();
        let key_path = dir.join(layout.key_file);
        create_private_dir(dir)?;
        let store_name = match &location {
            StoreLocation::Sqlite(_) => layout.db_file.to_string(),
            other => other.to_string(),
        };
        let key_name = match external {
            Some(e) => e.name.clone(),
            None => key_path.display().to_string(),
        };
        // With an external key the "key file" is always present: only the store decides.
        let has_key = external.is_some() || key_path.exists();
        let has_store = location.exists()?;
        let half_written = |has_key: bool| -> KeyedLogError {
            let (key_name, store_name) = (layout.key_file.to_string(), store_name.clone());
            let (present, missing) = if has_key {
                (vec![key_name], vec![store_name])
            } else {
                (vec![store_name], vec![key_name])
            };
            KeyFileError::HalfWritten {
                dir: dir.to_path_buf(),
                present,
                missing,
            }
            .into()
        };
        let (key, mut store, new): (Arc<dyn Signer>, _, _) = match (has_key, has_store) {
            (true, false) if external.is_none() => return Err(half_written(true)),
            (false, true) => return Err(half_written(false)),
            (_, false) => {
                let generated = match external {
                    Some(_) => None,
                    None => Some(Arc::new(SigningKey::generate(KeyKind::EcdsaP256).map_err(
                        |e| KeyedLogError::Setup(format!("generating the {} key: {e}", layout.what)),
                    )?)),
                };
                let key: Arc<dyn Signer> = match (external, &generated) {
                    (Some(e), _) => e.signer.clone(),
                    (None, Some(k)) => k.clone(),
                    (None, None) => return Err(KeyedLogError::Setup("no log key".into())),
                };
                let mut store = location.open(true)?;
                store.set_meta(&meta_key("origin"), origin)?;
                store.set_meta(&meta_key("created"), &now.to_string())?;
                store.set_meta(&meta_key("log_id"), &hex(&sha256(key.public_key().spki_der())))?;
                // A key file is written last: with it present, the directory is complete.
                if let Some(generated) = &generated {
                    write_private_key(&key_path, generated)?;
                }
                tracing::info!(dir = %dir.display(), origin, key = %key_name, "created a new {}", layout.what);
                (key, store, true)
            }
            (true, true) => {
                let key: Arc<dyn Signer> = match external {
                    Some(e) => e.signer.clone(),
                    None => Arc::new(read_private_key(&key_path)?),
                };
                (key, location.open(false)?, false)
            }
        };
        if key.public_key().kind() != KeyKind::EcdsaP256 {
            return Err(KeyedLogError::Setup(format!(
                "{key_name} is a {} key; the {} signs with ECDSA P-256",
                key.public_key().kind(),
                layout.what
            )));
        }
        let log_id = sha256(key.public_key().spki_der());
        let mut meta = |name: &str| -> Result<String, KeyedLogError> {
            store.meta(&meta_key(name))?.ok_or_else(|| {
                KeyedLogError::Setup(format!("{} lacks {}: half-written", db_path, meta_key(name)))
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
                "{key_name} is not the key this {} was created with: refusing to start",
                layout.what
            )));
        }
        let created = meta("created")?
            .parse()
            .map_err(|_| KeyedLogError::Setup(format!("{db_path} has a damaged creation time")))?;
        Ok(KeyedLog {
            key,
            store,
            location,
            log_id,
            created,
            new,
        })
    }

    /// Another connection to the store, for readers.
    pub fn reader(&self) -> Result<Box<dyn LogStore>, StorageError> {
        self.location.open(false)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
