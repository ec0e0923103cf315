//! A log-linear (HDR-style) histogram of non-negative integers, used for request latencies in
//! microseconds.
//!
//! Values below [`SUB_BUCKETS`] (128) are counted exactly. Above that, each power-of-two range
//! `[2^k, 2^(k+1))` is split into 128 equal buckets, so a bucket is never wider than
//! `value / 128`: a reported percentile is at most 0.8 % above the true one, never below it. Buckets are allocated as values
//! arrive, so an empty histogram costs nothing and a latency histogram up to a minute in µs
//! holds about 3,300 counters.

/// log2 of the number of sub-buckets per power of two.
const SUB_BITS: u32 = 7;
/// Values below this are exact; above it the relative bucket width is at most `1 / SUB_BUCKETS`.
const SUB_BUCKETS: u64 = 1 << SUB_BITS;

/// Counts of recorded values, by log-linear bucket, plus the exact count, min, max and sum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Histogram {
    pub fn record(&mut self, value: u64) {
        let i = bucket_index(value);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        if self.total == 0 || value < self.min {
            self.min = value;
        }
        self.max = self.max.max(value);
        self.total += 1;
        self.sum += u128::from(value);
    }

    /// Adds every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        if self.total == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.sum += other.sum;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn min(&self) -> Option<u64> {
        (self.total > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<u64> {
        (self.total > 0).then_some(self.max)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// The `p`-th percentile (0–100) by the nearest-rank method: the smallest recorded value
    /// such that at least `p` % of the values are at or below it, rounded up to its bucket's
    /// upper bound (and never above the recorded maximum). `None` when nothing was recorded.
    ///
    /// `p` is converted to parts per million and the rank computed in integers, so that p99.9
    /// of 1,000 values is the 999th, not the 1,000th as floating-point `0.999 * 1000` gives.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let ppm = (p.clamp(0.0, 100.0) * 10_000.0).round() as u64;
        self.value_at_ppm(ppm)
    }

    fn value_at_ppm(&self, ppm: u64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        // rank = ceil(ppm * total / 1e6), at least 1, in exact integer arithmetic.
        let rank = (u128::from(ppm) * u128::from(self.total)).div_ceil(1_000_000);
        let rank = (rank as u64).max(1);
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (_, high) = bucket_bounds(i);
                return Some(high.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// The bucket that holds `value`.
fn bucket_index(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros(); // >= SUB_BITS
    let shift = msb - SUB_BITS;
    // (value >> shift) is in [SUB_BUCKETS, 2 * SUB_BUCKETS).
    (u64::from(shift) * SUB_BUCKETS + (value >> shift)) as usize
}

/// The smallest and largest value (both inclusive) that fall in bucket `index`.
fn bucket_bounds(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return (index, index);
    }
    let shift = index / SUB_BUCKETS - 1;
    let mantissa = index % SUB_BUCKETS + SUB_BUCKETS;
    let low = mantissa << shift;
    let high = low + ((1u64 << shift) - 1);
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact nearest-rank percentile of a sorted slice.
    fn exact(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil().max(1.0) as usize;
        sorted[rank - 1]
    }

    #[test]
    fn empty_histogram_has_no_percentiles() {
        let h = Histogram::default();
        assert_eq!(h.percentile(50.0), None);
        assert_eq!(h.max(), None);
        assert_eq!(h.mean(), None);
    }

    #[test]
    fn small_values_are_exact() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.percentile(0.0), Some(1));
        assert_eq!(h.percentile(50.0), Some(50));
        assert_eq!(h.percentile(90.0), Some(90));
        assert_eq!(h.percentile(99.0), Some(99));
        assert_eq!(h.percentile(99.9), Some(100));
        assert_eq!(h.percentile(100.0), Some(100));
        assert_eq!(h.min(), Some(1));
        assert_eq!(h.mean(), Some(50.5));
    }

    #[test]
    fn p999_of_a_thousand_is_the_999th() {
        // 0.999 * 1000 is 999.0000000000001 in floating point; a naive ceil gives the 1000th.
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let got = h.percentile(99.9).unwrap();
        assert!((999_000..1_000_000).contains(&got), "got {got}");
        assert_eq!(h.percentile(100.0), Some(1_000_000));
    }

    #[test]
    fn single_outlier_is_the_max_not_p99() {
        let mut h = Histogram::default();
        for _ in 0..999 {
            h.record(10);
        }
        h.record(5_000_000);
        assert_eq!(h.percentile(99.0), Some(10));
        assert_eq!(h.percentile(99.9), Some(10));
        assert_eq!(h.percentile(99.99), Some(5_000_000));
        assert_eq!(h.max(), Some(5_000_000));
    }

    #[test]
    fn buckets_tile_the_line() {
        // Every bucket starts right after the previous one ends, and holds its own bounds.
        let mut expected_low = 0u64;
        for i in 0..(SUB_BUCKETS as usize * 50) {
            let (low, high) = bucket_bounds(i);
            assert_eq!(low, expected_low, "bucket {i}");
            assert!(high >= low);
            assert_eq!(bucket_index(low), i);
            assert_eq!(bucket_index(high), i);
            expected_low = high + 1;
        }
        let top = bucket_index(u64::MAX);
        assert_eq!(bucket_bounds(top).1, u64::MAX);
    }

    #[test]
    fn bucket_width_is_bounded_by_value() {
        for v in [
            127u64,
            128,
            129,
            255,
            256,
            1000,
            65_535,
            1 << 20,
            123_456_789,
            u64::MAX / 3,
        ] {
            let (low, high) = bucket_bounds(bucket_index(v));
            assert!(low <= v && v <= high, "{v} not in [{low}, {high}]");
            assert!(
                high - low <= v / SUB_BUCKETS,
                "bucket of {v} too wide: [{low}, {high}]"
            );
        }
    }

    #[test]
    fn percentiles_within_relative_error_of_exact() {
        // A deterministic spread of values over six decades.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        let mut h = Histogram::default();
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = 1 + (x % 1_000) * 10u64.pow((x >> 32) as u32 % 6);
            values.push(v);
            h.record(v);
        }
        values.sort_unstable();
        for p in [1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0] {
            let want = exact(&values, p);
            let got = h.percentile(p).unwrap();
            assert!(got >= want, "p{p}: {got} < exact {want}");
            assert!(
                got - want <= want / SUB_BUCKETS,
                "p{p}: {got} too far above exact {want}"
            );
        }
        assert_eq!(h.count(), 20_000);
        assert_eq!(h.max(), values.last().copied());
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        let mut all = Histogram::default();
        for v in 0..5_000u64 {
            let v = v * v;
            if v % 3 == 0 {
                a.record(v);
            } else {
                b.record(v);
            }
            all.record(v);
        }
        let mut merged = Histogram::default();
        merged.merge(&b);
        merged.merge(&a);
        merged.merge(&Histogram::default());
        assert_eq!(merged, all);
    }
}
