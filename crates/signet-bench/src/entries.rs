//! The entries the load generator submits: real, distinct, correctly signed
//! `hashedRekordRequestV002` bodies.
//!
//! Entry `i` of a run is fully determined by `i`: its digest is `sha256(run_id || i)` (so no two
//! entries of a run, or of two runs, share a digest) and it is signed by key `i mod keys`. Only
//! the signature costs anything to make (about 16 µs for P-256), so only signatures are made
//! ahead of time, into a flat arena of 73 bytes per entry (a length byte and at most 72 bytes of
//! DER); the JSON body is assembled when the entry is sent, which costs a SHA-256 of 24 bytes
//! and three base64 encodings. A million entries take 73 MB.
//!
//! Past the end of the pre-signed pool, a single background thread signs more on demand, a
//! bounded channel ahead of the senders; how many it signed is reported, because from then on
//! the load generator competes with the server for CPU.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use signet_crypto::{KeyKind, PublicKeyDetails, SigningKey};
use tokio::sync::mpsc;

use super::run_id::RunId;

/// Longest DER encoding of an ECDSA P-256 signature: SEQUENCE of two INTEGERs of up to 33 bytes.
const MAX_SIGNATURE_LEN: usize = 72;
/// Bytes per pre-signed entry in the arena: a length byte, then the DER signature.
const SLOT: usize = 1 + MAX_SIGNATURE_LEN;
/// How many entries the background signer may run ahead of the senders.
const REFILL_AHEAD: usize = 4096;

/// An entry signed by the background signer: its index and its signature slot.
type SignedEntry = (u64, [u8; SLOT]);

/// The signing keys and the run identity from which every entry is derived.
pub struct EntryFactory {
    keys: Vec<SigningKey>,
    /// Base64 of each key's DER SubjectPublicKeyInfo, computed once.
    spki_base64: Vec<String>,
    run_id: RunId,
}

impl EntryFactory {
    /// Generates `key_count` ECDSA P-256 keys and a fresh run id.
    pub fn new(key_count: usize) -> anyhow::Result<Self> {
        if key_count == 0 {
            bail!("--keys must be at least 1");
        }
        let keys = (0..key_count)
            .map(|_| SigningKey::generate(KeyKind::EcdsaP256))
            .collect::<Result<Vec<_>, _>>()
            .context("generating ECDSA P-256 keys")?;
        let spki_base64 = keys
            .iter()
            .map(|k| STANDARD.encode(k.public_key().spki_der()))
            .collect();
        Ok(EntryFactory {
            keys,
            spki_base64,
            run_id: RunId::fresh(),
        })
    }

    /// The artifact digest of entry `i`: `sha256(run_id || i as big-endian u64)`.
    pub fn digest(&self, i: u64) -> [u8; 32] {
        self.run_id.digest(i)
    }

    fn key(&self, i: u64) -> usize {
        (i % self.keys.len() as u64) as usize
    }

    /// Signs entry `i`'s digest into a slot (length byte, then DER signature).
    fn sign_into(&self, i: u64, slot: &mut [u8]) -> anyhow::Result<()> {
        let signature = self.keys[self.key(i)]
            .sign_digest(&self.digest(i))
            .with_context(|| format!("signing entry {i}"))?;
        if signature.len() > MAX_SIGNATURE_LEN {
            bail!(
                "ECDSA P-256 signature of {} bytes, expected at most {MAX_SIGNATURE_LEN}",
                signature.len()
            );
        }
        slot[0] = signature.len() as u8;
        slot[1..1 + signature.len()].copy_from_slice(&signature);
        Ok(())
    }

    /// Signs entry `i` now and returns its request body.
    pub fn signed_body(&self, i: u64) -> anyhow::Result<Bytes> {
        let mut slot = [0u8; SLOT];
        self.sign_into(i, &mut slot)?;
        Ok(self.body(i, &slot))
    }

    /// The request body of entry `i` given its signature slot, as protobuf-JSON of Rekor v2's
    /// `CreateEntryRequest { hashedRekordRequestV002 }`.
    fn body(&self, i: u64, slot: &[u8]) -> Bytes {
        let signature = &slot[1..1 + usize::from(slot[0])];
        let mut s = String::with_capacity(512);
        s.push_str(r#"{"hashedRekordRequestV002":{"digest":""#);
        STANDARD.encode_string(self.digest(i), &mut s);
        s.push_str(r#"","signature":{"content":""#);
        STANDARD.encode_string(signature, &mut s);
        s.push_str(r#"","verifier":{"publicKey":{"rawBytes":""#);
        s.push_str(&self.spki_base64[self.key(i)]);
        s.push_str(r#""},"keyDetails":""#);
        s.push_str(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256.as_str());
        s.push_str(r#""}}}}"#);
        Bytes::from(s)
    }
}

/// Signs entries `0..count` on `threads` threads into an arena of [`SLOT`]-byte slots.
pub fn presign(factory: &EntryFactory, count: u64, threads: usize) -> anyhow::Result<Vec<u8>> {
    let count = usize::try_from(count).context("pre-signed pool size")?;
    let mut arena = vec![0u8; count.checked_mul(SLOT).context("pre-signed pool size")?];
    let per_thread = count.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = arena
            .chunks_mut(per_thread * SLOT)
            .enumerate()
            .map(|(t, chunk)| {
                scope.spawn(move || -> anyhow::Result<()> {
                    let first = (t * per_thread) as u64;
                    for (j, slot) in chunk.chunks_mut(SLOT).enumerate() {
                        factory.sign_into(first + j as u64, slot)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| anyhow!("a pre-signing thread panicked"))?)
    })?;
    Ok(arena)
}

/// Hands out request bodies: first from the pre-signed pool, then from the background signer.
pub struct EntrySource {
    factory: Arc<EntryFactory>,
    pool: Vec<u8>,
    pool_len: u64,
    /// Index of the next pre-signed entry to hand out.
    next: AtomicU64,
    /// Start the background signer once this many pool entries are handed out.
    low_water: u64,
    refill_started: AtomicBool,
    refill_sender: Mutex<Option<mpsc::Sender<SignedEntry>>>,
    refill_receiver: tokio::sync::Mutex<mpsc::Receiver<SignedEntry>>,
    refill_signed: Arc<AtomicU64>,
    refill_started_at: OnceLock<Instant>,
}

impl EntrySource {
    /// `pool` is [`presign`]'s arena. The background signer starts `lead` entries before the
    /// pool runs out, so that the senders do not stall waiting for it.
    pub fn new(factory: Arc<EntryFactory>, pool: Vec<u8>, lead: u64) -> Self {
        let pool_len = (pool.len() / SLOT) as u64;
        let (sender, receiver) = mpsc::channel(REFILL_AHEAD);
        EntrySource {
            factory,
            pool,
            pool_len,
            next: AtomicU64::new(0),
            low_water: pool_len.saturating_sub(lead),
            refill_started: AtomicBool::new(false),
            refill_sender: Mutex::new(Some(sender)),
            refill_receiver: tokio::sync::Mutex::new(receiver),
            refill_signed: Arc::new(AtomicU64::new(0)),
            refill_started_at: OnceLock::new(),
        }
    }

    /// The next entry's request body.
    pub async fn next_body(&self) -> anyhow::Result<Bytes> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.low_water && !self.refill_started.load(Ordering::Relaxed) {
            self.start_refill();
        }
        if i < self.pool_len {
            let at = i as usize * SLOT;
            return Ok(self.factory.body(i, &self.pool[at..at + SLOT]));
        }
        let (j, slot) = self
            .refill_receiver
            .lock()
            .await
            .recv()
            .await
            .ok_or_else(|| anyhow!("the background signer stopped (a signing error)"))?;
        Ok(self.factory.body(j, &slot))
    }

    pub fn pool_len(&self) -> u64 {
        self.pool_len
    }

    /// Entries signed by the background thread so far (including up to [`REFILL_AHEAD`] that
    /// were signed but not sent).
    pub fn signed_in_background(&self) -> u64 {
        self.refill_signed.load(Ordering::Relaxed)
    }

    /// When the background signer started, if it did.
    pub fn background_started_at(&self) -> Option<Instant> {
        self.refill_started_at.get().copied()
    }

    fn start_refill(&self) {
        if self.refill_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(sender) = self.refill_sender.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        let _ = self.refill_started_at.set(Instant::now());
        let factory = self.factory.clone();
        let signed = self.refill_signed.clone();
        let first = self.pool_len;
        let spawned = std::thread::Builder::new()
            .name("bench-signer".into())
            .spawn(move || {
                for i in first.. {
                    let mut slot = [0u8; SLOT];
                    if factory.sign_into(i, &mut slot).is_err() {
                        return; // dropping the sender makes next_body report the failure
                    }
                    signed.fetch_add(1, Ordering::Relaxed);
                    // Fails once the source (and so the receiver) is dropped: the run is over.
                    if sender.blocking_send((i, slot)).is_err() {
                        return;
                    }
                }
            });
        // If the thread cannot be spawned, its closure (and the sender) is dropped, and
        // next_body reports the failure past the end of the pool.
        drop(spawned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_crypto::PublicKey;

    /// Parses a body as the server would and checks its signature.
    fn check_body(body: &[u8]) -> Vec<u8> {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let req = &v["hashedRekordRequestV002"];
        let digest = STANDARD.decode(req["digest"].as_str().unwrap()).unwrap();
        let sig = STANDARD
            .decode(req["signature"]["content"].as_str().unwrap())
            .unwrap();
        let verifier = &req["signature"]["verifier"];
        assert_eq!(verifier["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
        let spki = STANDARD
            .decode(verifier["publicKey"]["rawBytes"].as_str().unwrap())
            .unwrap();
        let key = PublicKey::from_spki_der(&spki).unwrap();
        key.verify_digest(PublicKeyDetails::PKIX_ECDSA_P256_SHA_256, &digest, &sig)
            .unwrap();
        assert_eq!(digest.len(), 32);
        digest
    }

    #[test]
    fn presigned_bodies_are_valid_and_distinct() {
        let factory = EntryFactory::new(3).unwrap();
        let pool = presign(&factory, 10, 4).unwrap();
        let mut digests = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for i in 0..10u64 {
            let at = i as usize * SLOT;
            let body = factory.body(i, &pool[at..at + SLOT]);
            assert!(digests.insert(check_body(&body)));
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            keys.insert(
                v["hashedRekordRequestV002"]["signature"]["verifier"]["publicKey"]["rawBytes"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(keys.len(), 3);
    }

    #[test]
    fn two_runs_never_share_a_digest() {
        let a = EntryFactory::new(1).unwrap();
        let b = EntryFactory::new(1).unwrap();
        assert_ne!(a.digest(0), b.digest(0));
        assert_ne!(a.digest(0), a.digest(1));
    }

    #[tokio::test]
    async fn source_continues_past_the_pool_with_background_signing() {
        let factory = Arc::new(EntryFactory::new(2).unwrap());
        let pool = presign(&factory, 5, 2).unwrap();
        let source = EntrySource::new(factory, pool, 2);
        let mut digests = std::collections::HashSet::new();
        for _ in 0..12 {
            let body = source.next_body().await.unwrap();
            assert!(digests.insert(check_body(&body)));
        }
        assert!(source.background_started_at().is_some());
        assert!(source.signed_in_background() >= 7);
    }
}
