//! A small bounded memo for [`crate::Verifier`]: results of pure checks, keyed by the exact
//! bytes they were computed from.
//!
//! Soundness rests on what callers put in it: only the *successful* result of a check that is
//! a pure function of the key bytes (and of trust material fixed for the verifier's lifetime),
//! and the key holds every input byte the check read, not a hash or a summary of them. A
//! lookup compares the whole key, so an input that differs in any byte — a tampered signature
//! on the same checkpoint text, another leaf — misses and is checked in full. Failures are
//! never stored: they stay as cheap or as costly as they were.
//!
//! Bounded by entry count, with first-in-first-out eviction: a verifier serving a stream of
//! bundles keeps the recent log batches and signers, and memory stays at most `capacity`
//! keys (a checkpoint is ~0.5 KiB, a leaf certificate ~1.5 KiB).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// A bounded map from byte strings to values, safe to share between threads.
#[derive(Debug)]
pub(crate) struct BoundedCache<V> {
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

#[derive(Debug)]
struct Inner<V> {
    map: HashMap<Box<[u8]>, V>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<Box<[u8]>>,
}

impl<V: Clone> BoundedCache<V> {
    /// A cache of at most `capacity` entries (0 disables it).
    pub(crate) fn new(capacity: usize) -> Self {
        BoundedCache {
            capacity,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The value stored under exactly `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().map.get(key).cloned()
    }

    /// Stores `value` under `key`, evicting the oldest entry when full.
    pub(crate) fn insert(&self, key: Vec<u8>, value: V) {
        if self.capacity == 0 {
            return;
        }
        let key = key.into_boxed_slice();
        let mut inner = self.lock();
        if inner.map.contains_key(&key) {
            return;
        }
        while inner.map.len() >= self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.map.remove(&oldest);
        }
        inner.order.push_back(key.clone());
        inner.map.insert(key, value);
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave a half-written entry (insert is
        // map-then-order of complete values), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A cache key: what the input was checked against (a trusted log's ID, an authority's index),
/// length-prefixed so two keys cannot run together, followed by the input bytes.
pub(crate) fn key(against: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + against.len() + bytes.len());
    k.extend_from_slice(&(against.len() as u32).to_be_bytes());
    k.extend_from_slice(against);
    k.extend_from_slice(bytes);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_keys_bounded_fifo() {
        let c = BoundedCache::new(2);
        c.insert(key(b"0", b"a"), 1);
        c.insert(key(b"0", b"b"), 2);
        assert_eq!(c.get(&key(b"0", b"a")), Some(1));
        assert_eq!(c.get(&key(b"1", b"a")), None, "the index is part of the key");
        assert_eq!(c.get(&key(b"0", b"a\0")), None, "a longer input is another key");
        assert_ne!(
            key(b"0", b"1a"),
            key(b"01", b"a"),
            "the prefix is length-delimited"
        );
        c.insert(key(b"0", b"c"), 3);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&key(b"0", b"a")), None, "the oldest went first");
        assert_eq!(c.get(&key(b"0", b"c")), Some(3));

        let off = BoundedCache::new(0);
        off.insert(key(b"0", b"a"), 1);
        assert_eq!(off.get(&key(b"0", b"a")), None);
    }
}
