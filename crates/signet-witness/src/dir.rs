//! The witness's data directory, created on first start and reused after:
//!
//! ```text
//! witness.lock              exclusive lock held while a witness runs on the directory
//! witness.db                the state (SQLite): latest cosigned head per log, the name
//! keys/witness-ed25519.pem  the cosigning key (PKCS#8, mode 0600, directory 0700)
//! witness.vkey              its verifier key, for logs to configure (rewritten each start)
//! ```
//!
//! The key ID commits to the witness's name, so the name is fixed at first start; a
//! directory with a database but no key (or the reverse) is refused rather than
//! re-initialised, since a new key or an empty state would let the witness cosign a fork of
//! what it already vouched for.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs2::FileExt;
use signet_crypto::{KeyKind, SigningKey};
use signet_keyfile::KeyFileError;
use signet_tlog::{CosignatureSigner, NoteError};
use thiserror::Error;

use crate::sqlite::SqliteStore;
use crate::storage::{StorageError, WitnessStore};

/// The database file.
pub const DB_FILE: &str = "witness.db";
/// The private key file.
pub const KEY_FILE: &str = "keys/witness-ed25519.pem";
/// The public verifier key file.
pub const VKEY_FILE: &str = "witness.vkey";
/// The name a witness gets when none is given at its first start.
pub const DEFAULT_NAME: &str = "localhost/signet-witness";
const LOCK_FILE: &str = "witness.lock";
const NAME_KEY: &str = "witness.name";

/// Why a data directory could not be opened.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DirError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("data directory {} is in use by another witness", .0.display())]
    InUse(PathBuf),
    #[error("{}", .0)]
    HalfWritten(String),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("{}: {source}", path.display())]
    Storage { path: PathBuf, source: StorageError },
    #[error("the witness in {} is named {stored:?}; its key ID commits to that name, so it cannot become {given:?} (use another data directory for another witness)", dir.display())]
    NameChanged {
        dir: PathBuf,
        stored: String,
        given: String,
    },
    #[error("witness key: {0}")]
    Key(#[from] NoteError),
    #[error("generating the witness key: {0}")]
    Generate(String),
}

/// An opened, locked data directory.
pub struct WitnessDir {
    /// The cosigning key under the witness's name.
    pub signer: CosignatureSigner,
    /// The state.
    pub store: SqliteStore,
    /// Where the vkey was written.
    pub vkey_path: PathBuf,
    _lock: File,
}

impl WitnessDir {
    /// Opens `path`, creating it (key, database, name) on first start. `name` must match the
    /// stored name on later starts; `None` keeps it (or uses [`DEFAULT_NAME`] at first).
    pub fn open(path: &Path, name: Option<&str>) -> Result<Self, DirError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| DirError::Io { path: p, source }
        };
        std::fs::create_dir_all(path).map_err(io(path))?;
        let lock_path = path.join(LOCK_FILE);
        let lock = {
            let mut o = OpenOptions::new();
            o.create(true).truncate(false).write(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(&lock_path).map_err(io(&lock_path))?
        };
        lock.try_lock_exclusive()
            .map_err(|_| DirError::InUse(path.to_path_buf()))?;

        let db_path = path.join(DB_FILE);
        let key_path = path.join(KEY_FILE);
        let storage = |source| DirError::Storage {
            path: db_path.clone(),
            source,
        };
        let (key, mut store) = match (db_path.exists(), key_path.exists()) {
            (false, false) => {
                let key = SigningKey::generate(KeyKind::Ed25519).map_err(|e| DirError::Generate(e.to_string()))?;
                if let Some(parent) = key_path.parent() {
                    signet_keyfile::create_private_dir(parent)?;
                }
                signet_keyfile::write_private_key(&key_path, &key)?;
                let mut store = SqliteStore::open(&db_path, true).map_err(storage)?;
                store
                    .set_meta(NAME_KEY, name.unwrap_or(DEFAULT_NAME))
                    .map_err(storage)?;
                (key, store)
            }
            (true, true) => (
                signet_keyfile::read_private_key(&key_path)?,
                SqliteStore::open(&db_path, false).map_err(storage)?,
            ),
            (true, false) => {
                return Err(DirError::HalfWritten(format!(
                    "{} exists but the witness key {} is missing: refusing to start (a new key would vouch anew for logs this witness already cosigned)",
                    db_path.display(),
                    key_path.display()
                )))
            }
            (false, true) => {
                return Err(DirError::HalfWritten(format!(
                    "the witness key {} exists but its state {} is missing: refusing to start (the witness would forget what it cosigned and could cosign a fork)",
                    key_path.display(),
                    db_path.display()
                )))
            }
        };
        let stored = store.meta(NAME_KEY).map_err(storage)?.ok_or_else(|| {
            DirError::HalfWritten(format!("{} has no witness name: half-written", db_path.display()))
        })?;
        if let Some(given) = name {
            if given != stored {
                return Err(DirError::NameChanged {
                    dir: path.to_path_buf(),
                    stored,
                    given: given.into(),
                });
            }
        }
        let signer = CosignatureSigner::new(&stored, key)?;
        let vkey_path = path.join(VKEY_FILE);
        signet_keyfile::write_atomically(
            &vkey_path,
            format!("{}\n", signer.verifier().vkey()).as_bytes(),
            false,
        )?;
        Ok(WitnessDir {
            signer,
            store,
            vkey_path,
            _lock: lock,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_and_later_starts_reuse() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("w");
        let first = WitnessDir::open(&dir, Some("w.example/1")).unwrap();
        let vkey = first.signer.verifier().vkey();
        assert!(vkey.starts_with("w.example/1+"));
        assert_eq!(
            std::fs::read_to_string(&first.vkey_path).unwrap(),
            format!("{vkey}\n")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Locked while open.
        assert!(matches!(WitnessDir::open(&dir, None), Err(DirError::InUse(_))));
        drop(first);
        let again = WitnessDir::open(&dir, None).unwrap();
        assert_eq!(again.signer.verifier().vkey(), vkey);
        drop(again);
        assert!(matches!(
            WitnessDir::open(&dir, Some("w.example/2")),
            Err(DirError::NameChanged { .. })
        ));
        std::fs::remove_file(dir.join(KEY_FILE)).unwrap();
        assert!(matches!(
            WitnessDir::open(&dir, None),
            Err(DirError::HalfWritten(_))
        ));
    }
}
