//! What the witness keeps: per log origin, the latest cosigned tree head. One narrow trait,
//! one backend per file ([`crate::sqlite`]).

use thiserror::Error;

use crate::witness::{AddError, TreeHead};

/// Why the witness's storage failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database refused an operation.
    #[error("database: {0}")]
    Database(String),
    /// The database was written by a newer signet.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    NewerSchema { found: i64, known: i64 },
    /// A stored row is not what this build wrote.
    #[error("stored state of {origin:?} is damaged: {reason}")]
    Damaged { origin: String, reason: String },
}

impl From<StorageError> for AddError {
    fn from(e: StorageError) -> Self {
        AddError::Storage(e.to_string())
    }
}

/// The decision run inside [`WitnessStore::update`]'s transaction: the latest head in, the
/// head to store out (or the refusal, which stores nothing).
pub type Decide<'a> = dyn FnMut(Option<&TreeHead>) -> Result<TreeHead, AddError> + 'a;

/// The witness's state.
pub trait WitnessStore: Send {
    /// The latest cosigned head of `origin`, if any.
    fn latest(&mut self, origin: &str) -> Result<Option<TreeHead>, StorageError>;

    /// In one transaction that excludes every other writer: reads the latest head of
    /// `origin`, runs `decide` on it, and stores the head it returns, durably, before
    /// returning. A head smaller than the stored one is refused (the witness never rolls
    /// back), whatever `decide` says.
    fn update(&mut self, origin: &str, decide: &mut Decide<'_>) -> Result<TreeHead, AddError>;

    /// A value of the witness's own settings (e.g. its name).
    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError>;

    /// Sets a setting.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError>;
}
