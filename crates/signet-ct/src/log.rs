//! The CT log: its key and database in a directory, the in-process submission API the CA
//! calls, and the reads the HTTP routes serve.
//!
//! Directory layout (created on first start; a directory holding one file but not the other
//! is refused, since a new key would fork the log):
//!
//! ```text
//! ct-key.pem   the log's ECDSA P-256 key, PKCS#8 PEM, mode 0600 (written last)
//! ct.db        SQLite (or schema ct of the PostgreSQL database): entries (static-ct-api TileLeafs), tiles, the latest checkpoint,
//!              and metadata (origin, creation time, log id, issuer certificates)
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use signet_crypto::{PublicKey, PublicKeyDetails, Signer};
use signet_formats::common::{self, LogId, TimeRange, Timestamp};
use signet_formats::trust::TransparencyLogInstance;
use signet_log::keyed::{ExternalKey, KeyedLog, KeyedLogLayout};
use signet_log::storage::{read_hash_tile, Database, LogStore, ReaderPool, StoreLocation};
use signet_log::{Appender, AppenderConfig, LogError, SignedCheckpoint};
use signet_tlog::{Hash, Prover, TileError, TileId, TileSource};
use signet_x509::sct::{sign_sct, SignedCertificateTimestamp, TimestampedEntry};
use signet_x509::ParsedCertificate;

use crate::chain::{validate_chain, LinkCache, ValidatedChain};
use crate::metrics::{CtStats, Submission};
use crate::sth::{Rfc6962NoteSigner, SignedTreeHead};
use crate::tile_leaf::TileLeaf;
use crate::{now_millis, CtError};

const KEY_FILE: &str = "ct-key.pem";
const DB_FILE: &str = "ct.db";
const PG_SCHEMA: &str = "ct";
/// Read connections for the HTTP routes.
const READERS: usize = 4;
/// Most entries one get-entries answer holds (RFC 6962 §4.6 lets the log return fewer).
pub const MAX_GET_ENTRIES: u64 = 256;

const META_ISSUER: &str = "ct.issuer/";

/// A running CT log.
pub struct CtLog {
    appender: Appender,
    key: Arc<dyn Signer>,
    log_id: [u8; 32],
    origin: String,
    created: i64,
    roots: Vec<ParsedCertificate>,
    /// Issuer links already verified (intermediate → root), see [`LinkCache`].
    links: LinkCache,
    readers: Arc<ReaderPool>,
    /// The connection issuer certificates are written with (rarely: once per new issuer).
    issuer_writer: Arc<Mutex<Box<dyn LogStore>>>,
    /// Issuers known to be durably stored, by SHA-256 fingerprint.
    issuers: RwLock<HashMap<[u8; 32], Arc<Vec<u8>>>>,
    stats: CtStats,
    /// Where the store lives (the search index opens its own readers there).
    location: StoreLocation,
}

impl std::fmt::Debug for CtLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtLog")
            .field("origin", &self.origin)
            .field("log_id", &B64.encode(self.log_id))
            .finish_non_exhaustive()
    }
}

impl CtLog {
    /// Opens the log in `dir` (key) and `database` (store), or on first start generates its key
    /// and creates its store.
    ///
    /// `origin` is the checkpoint origin and note key name: per static-ct-api, the submission
    /// URL without scheme or trailing slash (e.g. `ct.example.com/2025`); it is fixed at first
    /// start and a different one later is refused. `accepted_roots` are DER certificates:
    /// chains must end at (or be issued by) one of them. `now` (Unix seconds) is recorded as
    /// the start of the key's validity on first start.
    pub fn open_or_create(
        dir: &Path,
        database: &Database,
        origin: &str,
        accepted_roots: Vec<Vec<u8>>,
        now: i64,
    ) -> Result<CtLog, CtError> {
        CtLog::open_with_key(dir, database, origin, accepted_roots, now, None)
    }

    /// [`CtLog::open_or_create`] with the log key held elsewhere (a PKCS#11 token) when
    /// `external` is given: no key file is written or read.
    pub fn open_with_key(
        dir: &Path,
        database: &Database,
        origin: &str,
        accepted_roots: Vec<Vec<u8>>,
        now: i64,
        external: Option<&ExternalKey>,
    ) -> Result<CtLog, CtError> {
        CtLog::open_shard(dir, database, PG_SCHEMA, origin, accepted_roots, now, external)
    }

    /// Where a CT log whose PostgreSQL store is in `pg_schema` keeps its key, store and
    /// metadata: [`KeyedLog::open_or_create`] with it makes a new shard's key and store (a
    /// rotation) without starting the log.
    pub fn layout(pg_schema: &str) -> KeyedLogLayout<'_> {
        KeyedLogLayout {
            what: "CT log",
            key_file: KEY_FILE,
            db_file: DB_FILE,
            pg_schema,
            meta_prefix: "ct",
        }
    }

    /// [`CtLog::open_with_key`] for a log whose PostgreSQL store is in `pg_schema` rather than
    /// the CT log's own: a later shard made by a key rotation, a log of its own with its own
    /// key, origin and directory.
    pub fn open_shard(
        dir: &Path,
        database: &Database,
        pg_schema: &str,
        origin: &str,
        accepted_roots: Vec<Vec<u8>>,
        now: i64,
        external: Option<&ExternalKey>,
    ) -> Result<CtLog, CtError> {
        signet_tlog::check_key_name(origin)
            .map_err(|e| CtError::Setup(format!("origin {origin:?} cannot name a note key: {e}")))?;
        let roots = accepted_roots
            .iter()
            .enumerate()
            .map(|(i, der)| {
                ParsedCertificate::from_der(der)
                    .map_err(|e| CtError::Setup(format!("accepted root {i} does not parse: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let KeyedLog {
            key,
            store,
            location,
            log_id,
            created,
            ..
        } = KeyedLog::open_or_create(dir, database, CtLog::layout(pg_schema), origin, now, external)?;
        let mut store = store;

        // STH timestamps must not go backwards across a restart.
        let last_timestamp = match store.latest_checkpoint()? {
            Some((_, note)) => {
                SignedTreeHead::from_checkpoint(&note, origin, &log_id)
                    .map_err(|e| CtError::Setup(format!("the stored checkpoint is not this log's STH: {e}")))?
                    .timestamp
            }
            None => 0,
        };
        let signer = Rfc6962NoteSigner::new(origin, key.clone(), last_timestamp);
        let appender = Appender::start(store, origin.to_string(), signer, AppenderConfig::default())?;
        let readers = location.reader_pool(READERS)?;
        Ok(CtLog {
            appender,
            key,
            log_id,
            origin: origin.to_string(),
            created,
            roots,
            links: LinkCache::default(),
            readers,
            issuer_writer: Arc::new(Mutex::new(location.open(false)?)),
            issuers: RwLock::new(HashMap::new()),
            stats: CtStats::default(),
            location,
        })
    }

    /// RFC 6962 §4.2: logs a precertificate chain (`[precert, issuer…, root?]`, DER) and, once
    /// the entry is durably in the tree, returns the SCT for it.
    pub async fn add_pre_chain(&self, chain: Vec<Vec<u8>>) -> Result<SignedCertificateTimestamp, CtError> {
        self.add(chain, true).await
    }

    /// RFC 6962 §4.1: logs a final certificate chain and returns its SCT.
    pub async fn add_chain(&self, chain: Vec<Vec<u8>>) -> Result<SignedCertificateTimestamp, CtError> {
        self.add(chain, false).await
    }

    async fn add(&self, chain: Vec<Vec<u8>>, precert: bool) -> Result<SignedCertificateTimestamp, CtError> {
        let result = self.add_inner(chain, precert).await;
        self.stats.record(Submission::of(precert), &result);
        result
    }

    async fn add_inner(
        &self,
        chain: Vec<Vec<u8>>,
        precert: bool,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let chain = validate_chain(&chain, precert, &self.roots, &self.links)?;
        self.store_issuers(&chain).await?;
        let timestamp = now_millis();
        let ValidatedChain { leaf, entry, .. } = &chain;
        let tile_leaf = TileLeaf {
            timestamped_entry: TimestampedEntry {
                timestamp,
                entry: entry.clone(),
                extensions: Vec::new(),
            },
            pre_certificate: precert.then(|| leaf.clone()),
            certificate_chain: chain.fingerprints(),
        };
        let leaf_hash = signet_tlog::leaf_hash(&tile_leaf.merkle_tree_leaf());
        let body = tile_leaf.encode().map_err(|e| CtError::Internal(e.to_string()))?;
        // Returns only once the batch holding the entry is committed.
        let integrated = self.appender.submit(leaf_hash, body).await?;
        tracing::debug!(index = integrated.index, precert, "CT entry integrated");
        sign_sct(self.key.as_ref(), self.log_id, timestamp, &chain.log_entry(), &[]).map_err(|e| match e {
            signet_x509::sct::SctError::Signer(e) => CtError::Log(LogError::from_signer("the SCT", e)),
            other => CtError::Internal(format!("signing the SCT: {other}")),
        })
    }

    /// Stores the chain's issuers (before the entry that names them), once each.
    async fn store_issuers(&self, chain: &ValidatedChain) -> Result<(), CtError> {
        let missing: Vec<([u8; 32], Vec<u8>)> = {
            let known = self.issuers.read().unwrap_or_else(|p| p.into_inner());
            chain
                .fingerprints()
                .into_iter()
                .zip(&chain.issuers)
                .filter(|(fp, _)| !known.contains_key(fp))
                .map(|(fp, der)| (fp, der.clone()))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let stored = self.blocking_write_issuers(missing).await?;
        let mut known = self.issuers.write().unwrap_or_else(|p| p.into_inner());
        for (fp, der) in stored {
            known.insert(fp, Arc::new(der));
        }
        Ok(())
    }

    async fn blocking_write_issuers(
        &self,
        missing: Vec<([u8; 32], Vec<u8>)>,
    ) -> Result<Vec<([u8; 32], Vec<u8>)>, CtError> {
        let writer = self.issuer_writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = writer.lock().unwrap_or_else(|p| p.into_inner());
            for (fp, der) in &missing {
                let key = issuer_meta_key(fp);
                if store.meta(&key)?.is_none() {
                    store.set_meta(&key, &B64.encode(der))?;
                }
            }
            Ok(missing)
        })
        .await
        .map_err(|e| CtError::Internal(format!("issuer writer task failed: {e}")))?
    }

    /// Submission counters, for metrics.
    pub fn stats(&self) -> &CtStats {
        &self.stats
    }

    /// The appender (its figures are part of the metrics).
    pub fn appender(&self) -> &Appender {
        &self.appender
    }

    /// Where the log's store lives: readers beside the log's own (the search index) open
    /// their connections there.
    pub fn store_location(&self) -> &StoreLocation {
        &self.location
    }

    /// The log's public key.
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// RFC 6962 §3.2 `LogID`: SHA-256 of the key's SubjectPublicKeyInfo DER.
    pub fn log_id(&self) -> [u8; 32] {
        self.log_id
    }

    /// The checkpoint origin (and note key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The accepted roots, DER.
    pub fn accepted_roots(&self) -> Vec<Vec<u8>> {
        self.roots.iter().map(|r| r.der.clone()).collect()
    }

    /// The latest committed checkpoint (signed note, as served at `/checkpoint`).
    pub fn checkpoint(&self) -> Arc<SignedCheckpoint> {
        self.appender.checkpoint()
    }

    /// The latest signed tree head, read from the latest checkpoint.
    pub fn signed_tree_head(&self) -> Result<SignedTreeHead, CtError> {
        SignedTreeHead::from_checkpoint(&self.checkpoint().note, &self.origin, &self.log_id)
            .map_err(|e| CtError::Internal(format!("the log's own checkpoint: {e}")))
    }

    /// The log as a trusted root lists it under `ctlogs`. `baseUrl` is `https://<origin>`;
    /// a server reachable elsewhere (e.g. plain HTTP on a laptop) replaces it.
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

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&CtLog, &mut dyn LogStore) -> Result<T, CtError> + Send + 'static,
    ) -> Result<T, CtError> {
        let log = self.clone();
        self.readers
            .run(move |store| f(&log, store))
            .await
            .map_err(|e| CtError::Internal(format!("reader task failed: {e}")))?
    }

    /// RFC 6962 §4.4: the consistency proof between tree sizes `first` and `second`, both at
    /// most the current size. Equal sizes, or `first` 0, give the empty proof.
    pub async fn consistency_proof(self: &Arc<Self>, first: u64, second: u64) -> Result<Vec<Hash>, CtError> {
        let size = self.checkpoint().size;
        if first > second || second > size {
            return Err(CtError::BadRequest(format!(
                "need 0 <= first <= second <= {size} (the current tree size); got first={first}, second={second}"
            )));
        }
        if first == 0 || first == second {
            return Ok(Vec::new());
        }
        self.read(move |_, store| {
            let tiles = StoreTiles(RefCell::new(store));
            Prover::over_tiles(&tiles, second)
                .and_then(|p| p.consistency_proof(first))
                .map_err(|e| CtError::Internal(format!("consistency proof {first}..{second}: {e}")))
        })
        .await
    }

    /// RFC 6962 §4.5: the index of the leaf with `leaf_hash` and its inclusion proof in the
    /// tree of `tree_size` leaves.
    pub async fn proof_by_hash(
        self: &Arc<Self>,
        leaf_hash: Hash,
        tree_size: u64,
    ) -> Result<(u64, Vec<Hash>), CtError> {
        let size = self.checkpoint().size;
        if tree_size == 0 || tree_size > size {
            return Err(CtError::BadRequest(format!(
                "tree_size {tree_size} is not between 1 and the current tree size {size}"
            )));
        }
        self.read(move |_, store| {
            let index = store.find_indices(&[leaf_hash])?[0]
                .filter(|i| *i < tree_size)
                .ok_or_else(|| {
                    CtError::NotFound(format!(
                        "no entry with leaf hash {} in the first {tree_size}",
                        B64.encode(leaf_hash)
                    ))
                })?;
            let tiles = StoreTiles(RefCell::new(store));
            let proof = Prover::over_tiles(&tiles, tree_size)
                .and_then(|p| p.inclusion_proof(index))
                .map_err(|e| CtError::Internal(format!("inclusion proof for {index}: {e}")))?;
            Ok((index, proof))
        })
        .await
    }

    /// RFC 6962 §4.6: `(leaf_input, extra_data)` of entries `start..=end`, at most
    /// [`MAX_GET_ENTRIES`] and none past the current tree.
    pub async fn entries(self: &Arc<Self>, start: u64, end: u64) -> Result<Vec<(Vec<u8>, Vec<u8>)>, CtError> {
        let size = self.checkpoint().size;
        if start > end || start >= size {
            return Err(CtError::BadRequest(format!(
                "need start <= end and start < {size} (the current tree size); got start={start}, end={end}"
            )));
        }
        let end = end.min(size - 1).min(start + MAX_GET_ENTRIES - 1);
        self.read(move |log, store| {
            let bodies = store.read_entries(start, end - start + 1)?;
            bodies
                .iter()
                .map(|body| {
                    let leaf = TileLeaf::decode(body)
                        .map_err(|e| CtError::Internal(format!("stored entry does not parse: {e}")))?;
                    let issuers = leaf
                        .certificate_chain
                        .iter()
                        .map(|fp| log.issuer_from(store, fp))
                        .collect::<Result<Vec<_>, _>>()?;
                    let extra = leaf
                        .extra_data(&issuers)
                        .map_err(|e| CtError::Internal(format!("stored entry: {e}")))?;
                    Ok((leaf.merkle_tree_leaf(), extra))
                })
                .collect()
        })
        .await
    }

    /// static-ct-api `/issuer/<fingerprint>`: an issuer certificate the log has stored.
    pub async fn issuer(self: &Arc<Self>, fingerprint: [u8; 32]) -> Result<Vec<u8>, CtError> {
        self.read(move |log, store| log.issuer_from(store, &fingerprint))
            .await
    }

    fn issuer_from(&self, store: &mut dyn LogStore, fp: &[u8; 32]) -> Result<Vec<u8>, CtError> {
        if let Some(der) = self.issuers.read().unwrap_or_else(|p| p.into_inner()).get(fp) {
            return Ok(der.as_ref().clone());
        }
        let text = store
            .meta(&issuer_meta_key(fp))?
            .ok_or_else(|| CtError::NotFound(format!("no issuer with fingerprint {}", hex(fp))))?;
        let der = B64
            .decode(text)
            .map_err(|e| CtError::Internal(format!("stored issuer {} is damaged: {e}", hex(fp))))?;
        self.issuers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*fp, Arc::new(der.clone()));
        Ok(der)
    }

    /// A hash tile as stored, cut to the width asked for; `None` when the tree published with
    /// the latest checkpoint has no such tile.
    pub async fn hash_tile(self: &Arc<Self>, id: TileId) -> Result<Option<Vec<u8>>, CtError> {
        if !published(&id, self.checkpoint().size) {
            return Ok(None);
        }
        self.read(move |_, store| {
            let Some(mut bytes) = store.read_tile(id.level, id.index)? else {
                return Ok(None);
            };
            let want = usize::from(id.width) * 32;
            if bytes.len() < want {
                return Err(CtError::Internal(format!(
                    "tile {} is short: {} bytes",
                    id.path(),
                    bytes.len()
                )));
            }
            bytes.truncate(want);
            Ok(Some(bytes))
        })
        .await
    }

    /// static-ct-api data tile `index` of `width` entries: their `TileLeaf`s concatenated.
    pub async fn data_tile(self: &Arc<Self>, index: u64, width: u16) -> Result<Option<Vec<u8>>, CtError> {
        let level0 = TileId {
            level: 0,
            index,
            width,
        };
        if !published(&level0, self.checkpoint().size) {
            return Ok(None);
        }
        self.read(move |_, store| {
            let bodies = store.read_entries(index * 256, u64::from(width))?;
            if bodies.len() != usize::from(width) {
                return Err(CtError::Internal(format!(
                    "data tile {index} short: {} of {width} entries",
                    bodies.len()
                )));
            }
            Ok(Some(bodies.concat()))
        })
        .await
    }
}

/// True when the tree of `size` leaves has this tile at this width or wider (a narrower
/// partial tile is a prefix of the wider one).
fn published(id: &TileId, size: u64) -> bool {
    TileId::width_in_tree(id.level, id.index, size).is_some_and(|w| id.width <= w)
}

fn issuer_meta_key(fp: &[u8; 32]) -> String {
    format!("{META_ISSUER}{}", hex(fp))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tiles for proofs, read from one store connection.
struct StoreTiles<'a>(RefCell<&'a mut dyn LogStore>);

impl TileSource for StoreTiles<'_> {
    fn tile(&self, id: &TileId) -> Result<Vec<Hash>, TileError> {
        let mut store = self.0.borrow_mut();
        read_hash_tile(&mut **store, id)
    }
}
