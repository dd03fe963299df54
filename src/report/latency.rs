//! Latency distributions: exact for small sample counts, log-bucketed (under 1.6 % error) beyond.

/// Samples kept exactly before switching to buckets.
const EXACT_SAMPLES: usize = 1024;
/// Sub-buckets per power of two (precision 1/64).
const SUB_BITS: u32 = 6;

/// A latency distribution in nanoseconds with bounded memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    count: u64,
    max: i64,
    sum: i128,
    exact: Vec<i64>,
    /// (bucket, count), sorted by bucket: contiguous, so a sample costs one binary search.
    buckets: Vec<(u32, u64)>,
}

fn bucket_of(v: i64) -> u32 {
    let v = v.max(0) as u64;
    if v < (1 << SUB_BITS) {
        return v as u32;
    }
    let exp = 63 - v.leading_zeros();
    let mant = ((v >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1)) as u32;
    ((exp - SUB_BITS + 1) << SUB_BITS) + mant
}

fn bucket_low(b: u32) -> i64 {
    if b < (1 << SUB_BITS) {
        return b as i64;
    }
    let exp = (b >> SUB_BITS) + SUB_BITS - 1;
    let mant = (b & ((1 << SUB_BITS) - 1)) as u64;
    (((1u64 << SUB_BITS) | mant) << (exp - SUB_BITS)) as i64
}

impl Latency {
    /// Counts `n` samples in bucket `b`.
    fn bump(&mut self, b: u32, n: u64) {
        match self.buckets.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => {
                if let Some(e) = self.buckets.get_mut(i) {
                    e.1 += n;
                }
            }
            Err(i) => self.buckets.insert(i, (b, n)),
        }
    }

    /// Adds one sample (negative values count as 0).
    pub fn add(&mut self, ns: i64) {
        let ns = ns.max(0);
        self.count += 1;
        self.sum += ns as i128;
        self.max = self.max.max(ns);
        if self.buckets.is_empty() && self.exact.len() < EXACT_SAMPLES {
            self.exact.push(ns);
            return;
        }
        if !self.exact.is_empty() {
            for v in std::mem::take(&mut self.exact) {
                self.bump(bucket_of(v), 1);
            }
        }
        self.bump(bucket_of(ns), 1);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest sample.
    pub fn max(&self) -> i64 {
        self.max
    }

    /// Mean, or 0 without samples.
    pub fn mean(&self) -> i64 {
        if self.count == 0 {
            0
        } else {
            (self.sum / self.count as i128) as i64
        }
    }

    /// The nearest-rank percentile `p` (0 to 100), or 0 without samples.
    pub fn percentile(&self, p: f64) -> i64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        if self.buckets.is_empty() {
            let mut v = self.exact.clone();
            v.sort_unstable();
            return v[(rank as usize).min(v.len()) - 1];
        }
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return bucket_low(*b).min(self.max);
            }
        }
        self.max
    }

    /// Merges another distribution into this one.
    pub fn merge(&mut self, other: &Latency) {
        for v in &other.exact {
            self.add(*v);
        }
        if !other.buckets.is_empty() {
            if !self.exact.is_empty() {
                for v in std::mem::take(&mut self.exact) {
                    self.bump(bucket_of(v), 1);
                }
            }
            for &(b, n) in &other.buckets {
                self.bump(b, n);
            }
            self.count += other.count;
            self.sum += other.sum;
            self.max = self.max.max(other.max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_percentiles_on_a_known_sequence() {
        let mut l = Latency::default();
        for ms in 1..=100 {
            l.add(ms * 1_000_000);
        }
        assert_eq!(l.count(), 100);
        assert_eq!(l.percentile(50.0), 50_000_000);
        assert_eq!(l.percentile(95.0), 95_000_000);
        assert_eq!(l.max(), 100_000_000);
        assert_eq!(l.mean(), 50_500_000);
    }

    #[test]
    fn bucketed_percentiles_stay_within_two_percent() {
        let mut l = Latency::default();
        for i in 1..=10_000i64 {
            l.add(i * 1000);
        }
        let p50 = l.percentile(50.0) as f64;
        assert!((p50 - 5_000_000.0).abs() / 5_000_000.0 < 0.02, "p50 {p50}");
        let p95 = l.percentile(95.0) as f64;
        assert!((p95 - 9_500_000.0).abs() / 9_500_000.0 < 0.02, "p95 {p95}");
        assert_eq!(l.max(), 10_000_000);
    }

    #[test]
    fn buckets_round_trip() {
        for v in [
            0i64,
            1,
            63,
            64,
            65,
            127,
            128,
            1000,
            123_456_789,
            i64::MAX / 2,
        ] {
            let low = bucket_low(bucket_of(v));
            assert!(
                low <= v && (v - low) as f64 <= v as f64 / 64.0 + 1.0,
                "{v} -> {low}"
            );
        }
    }
}
