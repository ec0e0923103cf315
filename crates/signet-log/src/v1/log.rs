//! The Rekor v1 log: its key and database in a directory, submissions, and the reads the
//! routes serve.
//!
//! Directory layout (created on first start; a directory holding one file but not the other
//! is refused, since a new key would fork the log):
//!
//! ```text
//! rekor-v1-key.pem  the log's ECDSA P-256 key, PKCS#8 PEM, mode 0600 (written last)
//! rekor-v1.db       SQLite (or schema rekor1 of the PostgreSQL database): entries (integratedTime || canonical body, see entry.rs),
//!                   tiles, the latest checkpoint, metadata (origin, tree ID, creation
//!                   time, log ID)
//! ```
//!
//! Checkpoints are Rekor v1's: the origin line is `"<origin> - <tree ID>"`, signed as a note
//! by the key under the name `<origin>` with key hint SHA-256(SPKI)[:4] = logID[:4].

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use signet_crypto::{PublicKey, PublicKeyDetails, Signer};
use signet_formats::common::{self, LogId, TimeRange, Timestamp};
use signet_formats::rekor_v1::entry_from_proposed;
use signet_formats::trust::TransparencyLogInstance;
use signet_tlog::{leaf_hash, FnTileSource, Hash, NoteSigner, Prover, TileId};

use super::entry::{decode_stored, encode_stored, set_payload, to_hex, InclusionProofV1, LogEntryV1};
use super::V1Error;
use crate::keyed::{ExternalKey, KeyedLog, KeyedLogLayout};
use crate::storage::{read_hash_tile, Database, LogStore, ReaderPool, StoreLocation};
use crate::{Appender, AppenderConfig, LogError, SignedCheckpoint};

const KEY_FILE: &str = "rekor-v1-key.pem";
const DB_FILE: &str = "rekor-v1.db";
const PG_SCHEMA: &str = "rekor1";
/// Read connections for the routes.
const READERS: usize = 4;

const META_TREE_ID: &str = "rekor1.tree_id";

/// A running Rekor v1 log.
pub struct RekorV1 {
    appender: Appender,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
    origin: String,
    tree_id: i64,
    created: i64,
    readers: Arc<ReaderPool>,
    /// Where the store lives (the search index opens its own readers there).
    location: StoreLocation,
}

impl std::fmt::Debug for RekorV1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RekorV1")
            .field("origin", &self.origin)
            .field("tree_id", &self.tree_id)
            .field("log_id", &to_hex(&self.log_id))
            .finish_non_exhaustive()
    }
}

/// rekor `LogInfo`: the latest signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    pub root_hash: Hash,
    pub tree_size: u64,
    /// The signed checkpoint.
    pub signed_tree_head: String,
    pub tree_id: i64,
}

impl RekorV1 {
    /// Opens the log in `dir` (key) and `database` (store), or on first start generates its
    /// key, picks its tree ID and creates its store.
    ///
    /// `origin` is the log's base URL without scheme or trailing slash (e.g.
    /// `127.0.0.1:3000/rekor1`): the checkpoint signer name, which clients match against the
    /// trusted root's `baseUrl`. It is fixed at first start; a different one later is refused.
    /// `now` (Unix seconds) is recorded as the start of the key's validity on first start.
    pub fn open_or_create(
        dir: &Path,
        database: &Database,
        origin: &str,
        now: i64,
    ) -> Result<RekorV1, V1Error> {
        RekorV1::open_with_key(dir, database, origin, now, None)
    }

    /// [`RekorV1::open_or_create`] with the log key held elsewhere (a PKCS#11 token) when
    /// `external` is given: no key file is written or read.
    pub fn open_with_key(
        dir: &Path,
        database: &Database,
        origin: &str,
        now: i64,
        external: Option<&ExternalKey>,
    ) -> Result<RekorV1, V1Error> {
        signet_tlog::check_key_name(origin)
            .map_err(|e| V1Error::Setup(format!("origin {origin:?} cannot name a note key: {e}")))?;
        let opened = KeyedLog::open_or_create(
            dir,
            database,
            KeyedLogLayout {
                what: "Rekor v1 log",
                key_file: KEY_FILE,
                db_file: DB_FILE,
                pg_schema: PG_SCHEMA,
                meta_prefix: "rekor1",
            },
            origin,
            now,
            external,
        )?;
        let KeyedLog {
            key,
            mut store,
            log_id,
            created,
            new,
            location,
        } = opened;
        if new {
            store.set_meta(META_TREE_ID, &tree_id_for(&log_id).to_string())?;
        }
        let tree_id = store
            .meta(META_TREE_ID)?
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| V1Error::Setup(format!("{} has no tree id: half-written", dir.display())))?;

        let signer = NoteSigner::from_signer(origin, key.clone())
            .map_err(|e| V1Error::Setup(format!("checkpoint signer: {e}")))?;
        let appender = Appender::start(
            store,
            checkpoint_origin(origin, tree_id),
            signer,
            AppenderConfig::default(),
        )?;
        let readers = location.reader_pool(READERS)?;
        Ok(RekorV1 {
            appender,
            key,
            log_id,
            origin: origin.to_string(),
            tree_id,
            created,
            readers,
            location,
        })
    }

    /// Validates a proposed entry (kind, structure, signatures), logs it and returns it with
    /// its SET and inclusion proof once it is durably in the tree. An entry already in the log
    /// is [`V1Error::Conflict`], naming it.
    pub async fn add(&self, proposed: &[u8]) -> Result<LogEntryV1, V1Error> {
        let entry = entry_from_proposed(proposed)?;
        let leaf = leaf_hash(&entry.canonical_body);
        // The integrator takes whatever is queued at once (group commit, no timer), so the time
        // an entry is handed to it is its batch's integration time to within one commit.
        let integrated_time = now_seconds();
        let stored = encode_stored(integrated_time, &entry.canonical_body);
        let integrated = self.appender.submit(leaf, stored).await?;
        if !integrated.new {
            return Err(V1Error::Conflict {
                uuid: to_hex(&leaf),
                log_index: integrated.index,
            });
        }
        tracing::debug!(
            index = integrated.index,
            kind = entry.kind,
            "Rekor v1 entry integrated"
        );
        self.log_entry(
            leaf,
            entry.canonical_body,
            integrated_time,
            integrated.index,
            integrated.proof,
            &integrated.checkpoint,
        )
    }

    /// The entry at `index`, with a proof against the latest checkpoint.
    pub async fn entry_by_index(self: &Arc<Self>, index: u64) -> Result<LogEntryV1, V1Error> {
        let cp = self.checkpoint();
        if index >= cp.size {
            return Err(V1Error::NotFound(format!(
                "no entry at log index {index}; the log has {} entries",
                cp.size
            )));
        }
        self.read(move |log, store| log.read_entry(store, index, &cp))
            .await
    }

    /// The entry with leaf hash `leaf` (its UUID), if the log has it.
    pub async fn entry_by_leaf_hash(self: &Arc<Self>, leaf: Hash) -> Result<Option<LogEntryV1>, V1Error> {
        let cp = self.checkpoint();
        self.read(move |log, store| match store.find_indices(&[leaf])?[0] {
            Some(index) if index < cp.size => log.read_entry(store, index, &cp).map(Some),
            _ => Ok(None),
        })
        .await
    }

    /// The entry a proposed entry would be, if the log has it (retrieve by entry). The
    /// proposal is validated as a submission is.
    pub async fn entry_by_proposed(self: &Arc<Self>, proposed: &[u8]) -> Result<Option<LogEntryV1>, V1Error> {
        let entry = entry_from_proposed(proposed)?;
        self.entry_by_leaf_hash(leaf_hash(&entry.canonical_body)).await
    }

    /// rekor `GET /api/v1/log/proof`: the consistency proof from `first` to `last` leaves.
    pub async fn consistency_proof(
        self: &Arc<Self>,
        first: u64,
        last: u64,
    ) -> Result<(Hash, Vec<Hash>), V1Error> {
        let size = self.checkpoint().size;
        if first > last || last > size || last == 0 {
            return Err(V1Error::BadRequest(format!(
                "need 0 <= firstSize <= lastSize <= {size} (the current tree size) and lastSize > 0; \
                 got firstSize={first}, lastSize={last}"
            )));
        }
        self.read(move |_, store| {
            let store = RefCell::new(store);
            let tiles = FnTileSource(|id: &TileId| read_hash_tile(&mut **store.borrow_mut(), id));
            let prover = Prover::over_tiles(&tiles, last)
                .map_err(|e| V1Error::Internal(format!("reading the tree at size {last}: {e}")))?;
            let root = prover.root();
            let proof = if first == 0 || first == last {
                Vec::new()
            } else {
                prover
                    .consistency_proof(first)
                    .map_err(|e| V1Error::Internal(format!("consistency proof {first}..{last}: {e}")))?
            };
            Ok((root, proof))
        })
        .await
    }

    /// The latest signed tree head.
    pub fn log_info(&self) -> LogInfo {
        let cp = self.checkpoint();
        LogInfo {
            root_hash: cp.root,
            tree_size: cp.size,
            signed_tree_head: cp.note.clone(),
            tree_id: self.tree_id,
        }
    }

    /// The latest committed checkpoint.
    pub fn checkpoint(&self) -> Arc<SignedCheckpoint> {
        self.appender.checkpoint()
    }

    /// The appender (its figures are what metrics report).
    pub fn appender(&self) -> &Appender {
        &self.appender
    }

    /// The log's public key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The log ID: SHA-256 of the key's SubjectPublicKeyInfo DER.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The origin (checkpoint signer name): the base URL without its scheme.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Where the log's store lives: readers beside the log's own (the search index) open
    /// their connections there.
    pub fn store_location(&self) -> &StoreLocation {
        &self.location
    }

    /// The tree ID chosen at creation, as checkpoints and `GET /api/v1/log` show it.
    pub fn tree_id(&self) -> i64 {
        self.tree_id
    }

    /// The log as a trusted root lists it under `tlogs`. `baseUrl` is `https://<origin>`; a
    /// server reachable elsewhere (e.g. plain HTTP on a laptop) replaces it, keeping the part
    /// after the scheme equal to the origin (clients match checkpoint signer names to it).
    pub fn trusted_root_entry(&self) -> TransparencyLogInstance {
        TransparencyLogInstance {
            base_url: format!("https://{}", self.origin),
            hash_algorithm: "SHA2_256".into(),
            public_key: common::PublicKey::new(
                self.public_key().spki_der().to_vec(),
                PublicKeyDetails::PKIX_ECDSA_P256_SHA_256,
                TimeRange::starting(Timestamp::from_unix(self.created)),
            ),
            log_id: LogId {
                key_id: self.log_id.to_vec(),
            },
            checkpoint_key_id: None,
            operator: None,
        }
    }

    /// Reads entry `index` and proves it against `cp` (which must include it).
    fn read_entry(
        &self,
        store: &mut dyn LogStore,
        index: u64,
        cp: &SignedCheckpoint,
    ) -> Result<LogEntryV1, V1Error> {
        let stored = store
            .read_entries(index, 1)?
            .pop()
            .ok_or_else(|| V1Error::Internal(format!("entry {index} is missing from storage")))?;
        let (integrated_time, body) = decode_stored(&stored)
            .ok_or_else(|| V1Error::Internal(format!("stored entry {index} is damaged")))?;
        let leaf = leaf_hash(body);
        let store = RefCell::new(store);
        let tiles = FnTileSource(|id: &TileId| read_hash_tile(&mut **store.borrow_mut(), id));
        let proof = Prover::over_tiles(&tiles, cp.size)
            .and_then(|p| p.inclusion_proof(index))
            .map_err(|e| V1Error::Internal(format!("inclusion proof for {index}: {e}")))?;
        self.log_entry(leaf, body.to_vec(), integrated_time, index, proof, cp)
    }

    /// Signs the entry's SET and assembles the answer.
    fn log_entry(
        &self,
        leaf_hash: Hash,
        body: Vec<u8>,
        integrated_time: i64,
        log_index: u64,
        hashes: Vec<Hash>,
        cp: &SignedCheckpoint,
    ) -> Result<LogEntryV1, V1Error> {
        let signed_entry_timestamp = self
            .key
            .sign(&set_payload(&body, integrated_time, &self.log_id, log_index))
            .map_err(|e| LogError::from_signer("the SET", e))?;
        Ok(LogEntryV1 {
            leaf_hash,
            body,
            integrated_time,
            log_id: self.log_id,
            log_index,
            signed_entry_timestamp,
            inclusion_proof: InclusionProofV1 {
                log_index,
                tree_size: cp.size,
                root_hash: cp.root,
                hashes,
                checkpoint: cp.note.clone(),
            },
        })
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&RekorV1, &mut dyn LogStore) -> Result<T, V1Error> + Send + 'static,
    ) -> Result<T, V1Error> {
        let log = self.clone();
        self.readers
            .run(move |store| f(&log, store))
            .await
            .map_err(|e| V1Error::Internal(format!("reader task failed: {e}")))?
    }
}

/// The checkpoint origin line of a Rekor v1 log: `"<origin> - <tree ID>"`.
pub fn checkpoint_origin(origin: &str, tree_id: i64) -> String {
    format!("{origin} - {tree_id}")
}

/// A stable tree ID for a new log: a positive int64 (as Trillian's) from the log ID.
fn tree_id_for(log_id: &[u8; 32]) -> i64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&log_id[..8]);
    (u64::from_be_bytes(first) >> 1) as i64
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
