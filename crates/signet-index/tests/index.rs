//! The index against a real log: the SQLite store written by the real appender, entries with
//! real Fulcio-shaped certificates.

use std::collections::BTreeSet;

use signet_crypto::{KeyKind, SigningKey};
use signet_formats::rekor_v2::{TransparencyLogEntry, VerifierKey};
use signet_index::{catch_up, http::answer, IndexDb, IndexError, LogFormat, SearchQuery};
use signet_log::sqlite::SqliteStore;
use signet_log::{Appender, AppenderConfig, LogStore, StorageError};
use signet_monitor::testlog::{hashedrekord_body, TestCa};
use signet_tlog::{leaf_hash, Checkpoint, Hash, NoteSigner};

const ORIGIN: &str = "index.test/log";

/// Who signed entry `i`: three identities under two issuers, every fifth with a bare key.
fn identity(i: u64) -> Option<(&'static str, &'static str)> {
    if i % 5 == 4 {
        return None;
    }
    Some(match i % 3 {
        0 => ("alice@example.com", "https://issuer.one"),
        1 => ("bob@example.com", "https://issuer.one"),
        _ => ("alice@example.com", "https://issuer.two"),
    })
}

/// The Build Signer URI extension (1.3.6.1.4.1.57264.1.9) of entry `i`'s certificate: a
/// workflow on even entries.
fn signer_uri(i: u64) -> Option<&'static str> {
    i.is_multiple_of(2)
        .then_some("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main")
}

fn digest(i: u64) -> [u8; 32] {
    // Entries 10 and 11 sign the same artifact.
    signet_crypto::sha256(&(if i == 11 { 10 } else { i }).to_be_bytes())
}

struct Log {
    dir: tempfile::TempDir,
    appender: Appender,
    ca: TestCa,
    key_spki: Vec<u8>,
    rt: tokio::runtime::Runtime,
    size: u64,
}

impl Log {
    fn new() -> Log {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let mut store = SqliteStore::open(&path, true).unwrap();
        store.set_meta("origin", ORIGIN).unwrap();
        let signer = NoteSigner::new(ORIGIN, SigningKey::generate(KeyKind::Ed25519).unwrap()).unwrap();
        let appender =
            Appender::start(Box::new(store), ORIGIN.into(), signer, AppenderConfig::default()).unwrap();
        let key = SigningKey::generate(KeyKind::EcdsaP256).unwrap();
        Log {
            dir,
            appender,
            ca: TestCa::new().unwrap(),
            key_spki: key.public_key().spki_der().to_vec(),
            rt: tokio::runtime::Builder::new_current_thread().build().unwrap(),
            size: 0,
        }
    }

    fn body(&self, i: u64) -> Vec<u8> {
        let verifier = match identity(i) {
            Some((email, issuer)) => {
                VerifierKey::X509Certificate(self.ca.leaf(email, issuer, signer_uri(i), i + 1).unwrap())
            }
            None => VerifierKey::PublicKey(self.key_spki.clone()),
        };
        hashedrekord_body(digest(i), verifier)
    }

    fn grow(&mut self, n: u64) {
        let bodies: Vec<Vec<u8>> = (self.size..self.size + n).map(|i| self.body(i)).collect();
        // Submitted concurrently, so that they integrate in batches as a server's would.
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|b| {
                let appender = self.appender.clone();
                self.rt
                    .spawn(async move { appender.submit(leaf_hash(&b), b).await })
            })
            .collect();
        self.rt.block_on(async {
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        });
        self.size += n;
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.dir.path().join("log.db"), false).unwrap()
    }
}

fn all(index: &IndexDb, raw: &str) -> Vec<u64> {
    let mut q = SearchQuery::parse(raw).unwrap();
    let mut out = Vec::new();
    loop {
        let got = index.search(&q).unwrap();
        let page = got.len().min(q.limit as usize);
        out.extend_from_slice(&got[..page]);
        match got.get(page) {
            Some(&next) => q.start = next,
            None => return out,
        }
    }
}

#[test]
fn postings_paging_and_rebuild() {
    let mut log = Log::new();
    let index_dir = tempfile::tempdir().unwrap();
    let mut index = IndexDb::open(&index_dir.path().join("index.db"), true).unwrap();
    let mut store = log.store();
    // Incrementally: the log grows while the index follows in small steps.
    for step in [1, 255, 1, 300, 43] {
        log.grow(step);
        while catch_up(LogFormat::RekorV2, &mut store, &mut index, 97).unwrap() < log.size {}
    }
    assert_eq!(log.size, 600);
    assert_eq!(index.indexed_size().unwrap(), 600);

    let want = |f: &dyn Fn(u64) -> bool| (0..600).filter(|&i| f(i)).collect::<Vec<u64>>();
    assert_eq!(
        all(&index, "identity=alice%40example.com&limit=7"),
        want(&|i| identity(i).is_some_and(|(e, _)| e == "alice@example.com"))
    );
    assert_eq!(
        all(
            &index,
            "identity=alice%40example.com&issuer=https%3A%2F%2Fissuer.one&limit=100"
        ),
        want(&|i| identity(i) == Some(("alice@example.com", "https://issuer.one")))
    );
    assert_eq!(
        all(&index, "issuer=https://issuer.two"),
        want(&|i| identity(i).is_some_and(|(_, iss)| iss == "https://issuer.two"))
    );
    assert_eq!(
        all(&index, &format!("digest=sha256:{}", hex::encode(digest(10)))),
        vec![10, 11]
    );
    let key_fp = hex::encode(signet_crypto::sha256(&log.key_spki));
    assert_eq!(
        all(&index, &format!("key={key_fp}")),
        want(&|i| identity(i).is_none())
    );
    assert!(all(&index, "identity=nobody%40example.com").is_empty());
    assert!(all(&index, "identity=%27%20OR%201%3D1--").is_empty());

    // Rebuilt from scratch in one go: the same postings.
    let mut rebuilt = IndexDb::in_memory().unwrap();
    assert_eq!(
        catch_up(LogFormat::RekorV2, &mut store, &mut rebuilt, u64::MAX).unwrap(),
        600
    );
    assert_eq!(rebuilt.dump().unwrap(), index.dump().unwrap());
    let distinct: BTreeSet<i64> = index.dump().unwrap().into_iter().map(|(_, _, i)| i).collect();
    assert_eq!(distinct.len(), 600, "every entry has postings");
}

#[test]
fn answers_carry_proofs_that_verify() {
    let mut log = Log::new();
    log.grow(300);
    let mut store = log.store();
    let mut index = IndexDb::in_memory().unwrap();
    catch_up(LogFormat::RekorV2, &mut store, &mut index, u64::MAX).unwrap();
    let q = SearchQuery::parse("identity=bob%40example.com&limit=10&cursor=i50").unwrap();
    let hits = index.search(&q).unwrap();
    let json = answer(&mut store, &hits, 10, 300, &[7; 32]).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 10);
    assert_eq!(v["next"], serde_json::json!(format!("i{}", hits[10])));
    for (e, &i) in entries.iter().zip(&hits) {
        assert!(i >= 50 && identity(i).unwrap().0 == "bob@example.com");
        let e: TransparencyLogEntry = serde_json::from_value(e.clone()).unwrap();
        assert_eq!(e.log_index, i);
        assert_eq!(e.canonicalized_body, store.read_entries(i, 1).unwrap()[0]);
        let proof = e.inclusion_proof.unwrap();
        let cp = Checkpoint::from_note_unverified(&proof.checkpoint.as_ref().unwrap().envelope).unwrap();
        assert_eq!(cp.size, proof.tree_size);
        let hashes: Vec<Hash> = proof
            .hashes
            .iter()
            .map(|h| h.as_slice().try_into().unwrap())
            .collect();
        signet_tlog::verify_inclusion(
            &leaf_hash(&e.canonicalized_body),
            i,
            cp.size,
            &hashes,
            &cp.root_hash,
        )
        .unwrap();
    }
}

/// A log store whose entry `bad` reads back with one byte flipped.
struct Flipping(SqliteStore, u64);

impl LogStore for Flipping {
    fn latest_checkpoint(&mut self) -> Result<Option<(u64, String)>, StorageError> {
        self.0.latest_checkpoint()
    }
    fn find_indices(&mut self, h: &[Hash]) -> Result<Vec<Option<u64>>, StorageError> {
        self.0.find_indices(h)
    }
    fn commit_batch(&mut self, b: &signet_log::storage::Batch) -> Result<(), StorageError> {
        self.0.commit_batch(b)
    }
    fn read_tile(&mut self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.0.read_tile(level, index)
    }
    fn read_entries(&mut self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StorageError> {
        let mut out = self.0.read_entries(start, count)?;
        if (start..start + count).contains(&self.1) {
            out[(self.1 - start) as usize][5] ^= 1;
        }
        Ok(out)
    }
    fn meta(&mut self, key: &str) -> Result<Option<String>, StorageError> {
        self.0.meta(key)
    }
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        self.0.set_meta(key, value)
    }
}

#[test]
fn an_entry_not_in_the_tree_is_not_indexed() {
    let mut log = Log::new();
    log.grow(20);
    let mut store = Flipping(log.store(), 13);
    let mut index = IndexDb::in_memory().unwrap();
    assert!(matches!(
        catch_up(LogFormat::RekorV2, &mut store, &mut index, u64::MAX),
        Err(IndexError::LeafMismatch { index: 13 })
    ));
    // Nothing of the bundle holding the bad entry was written.
    assert_eq!(index.indexed_size().unwrap(), 0);
    assert!(index.dump().unwrap().is_empty());
}

#[test]
fn an_index_ahead_of_the_log_is_rebuilt() {
    let mut log = Log::new();
    log.grow(10);
    let mut store = log.store();
    let mut index = IndexDb::in_memory().unwrap();
    index.reset(ORIGIN).unwrap();
    // An index claiming more than the log has (e.g. the log restored from an older backup).
    index.append(0, 50, &[]).unwrap();
    assert_eq!(
        catch_up(LogFormat::RekorV2, &mut store, &mut index, u64::MAX).unwrap(),
        10
    );
    let mut fresh = IndexDb::in_memory().unwrap();
    catch_up(LogFormat::RekorV2, &mut store, &mut fresh, u64::MAX).unwrap();
    assert_eq!(fresh.dump().unwrap(), index.dump().unwrap());
}

#[test]
fn fulcio_extensions_are_postings_combinable_with_identity() {
    let mut log = Log::new();
    log.grow(30);
    let mut index = IndexDb::in_memory().unwrap();
    catch_up(LogFormat::RekorV2, &mut log.store(), &mut index, u64::MAX).unwrap();
    let uri =
        "https%3A%2F%2Fgithub.com%2Facme%2Fapp%2F.github%2Fworkflows%2Frelease.yml%40refs%2Fheads%2Fmain";
    let want: Vec<u64> = (0..30)
        .filter(|&i| identity(i).is_some() && signer_uri(i).is_some())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(all(&index, &format!("build_signer_uri={uri}")), want);
    let alice_one: Vec<u64> = want
        .iter()
        .copied()
        .filter(|&i| identity(i) == Some(("alice@example.com", "https://issuer.one")))
        .collect();
    assert_eq!(
        all(
            &index,
            &format!(
                "build_signer_uri={uri}&identity=alice%40example.com&issuer=https%3A%2F%2Fissuer.one&limit=1"
            )
        ),
        alice_one
    );
    // Exact values only: a prefix, a pattern or another field's name finds nothing.
    for raw in [
        "build_signer_uri=https%3A%2F%2Fgithub.com%2Facme%2Fapp",
        "build_signer_uri=.*",
        "source_repository_uri=https%3A%2F%2Fgithub.com%2Facme%2Fapp%2F.github%2Fworkflows%2Frelease.yml%40refs%2Fheads%2Fmain",
    ] {
        assert!(all(&index, raw).is_empty(), "{raw}");
    }
}

#[test]
fn an_index_of_an_older_schema_is_rebuilt_with_the_new_postings() {
    let mut log = Log::new();
    log.grow(12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    {
        let mut index = IndexDb::open(&path, true).unwrap();
        catch_up(LogFormat::RekorV2, &mut log.store(), &mut index, u64::MAX).unwrap();
        assert_eq!(index.schema().unwrap().as_deref(), Some("2"));
    }
    // As schema 1 left it: no extension postings, the schema recorded as 1.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("DELETE FROM postings WHERE field > 100", [])
            .unwrap();
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'", [])
            .unwrap();
    }
    let mut index = IndexDb::open(&path, true).unwrap();
    assert_eq!(index.schema().unwrap().as_deref(), Some("2"));
    assert_eq!(index.indexed_size().unwrap(), 0);
    assert!(index.dump().unwrap().is_empty());
    catch_up(LogFormat::RekorV2, &mut log.store(), &mut index, u64::MAX).unwrap();
    let mut fresh = IndexDb::in_memory().unwrap();
    catch_up(LogFormat::RekorV2, &mut log.store(), &mut fresh, u64::MAX).unwrap();
    assert_eq!(index.dump().unwrap(), fresh.dump().unwrap());
    assert!(index.dump().unwrap().iter().any(|(field, _, _)| *field == 109));
}
