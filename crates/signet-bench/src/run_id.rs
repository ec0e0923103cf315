//! What makes every request of a run distinct from every other, in this run and in any other:
//! request `i`'s data is `run_id || i`, and what is signed or time-stamped is its SHA-256.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use signet_crypto::sha256;

/// A run id that differs between runs and processes. Not secret; it only keeps digests
/// distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId([u8; 16]);

impl RunId {
    /// sha256 of the wall clock, the pid and the address space layout, truncated.
    pub fn fresh() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let local = 0u8;
        let seed = format!("{nanos}-{}-{:p}-{:?}", std::process::id(), &local, Instant::now());
        let mut id = [0u8; 16];
        id.copy_from_slice(&sha256(seed.as_bytes())[..16]);
        RunId(id)
    }

    /// The data of request `i`: `run_id || i as big-endian u64`.
    pub fn data(&self, i: u64) -> [u8; 24] {
        let mut data = [0u8; 24];
        data[..16].copy_from_slice(&self.0);
        data[16..].copy_from_slice(&i.to_be_bytes());
        data
    }

    /// `sha256(data(i))`.
    pub fn digest(&self, i: u64) -> [u8; 32] {
        sha256(&self.data(i))
    }

    /// The first 8 bytes of the id, as a number.
    pub fn prefix(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_indices_never_share_a_digest() {
        let (a, b) = (RunId::fresh(), RunId::fresh());
        assert_ne!(a.digest(0), b.digest(0));
        assert_ne!(a.digest(0), a.digest(1));
        assert_eq!(a.digest(7), sha256(&a.data(7)));
    }
}
