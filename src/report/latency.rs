//! Latency distributions: exact for small sample counts, log-bucketed (under 1.6 % error) beyond.

/// Samples kept exactly before switching to buckets.
const EXACT_SAMPLES: usize = 1024;
/// Samples kept in the value itself: most distributions (one client's, one kind) stay this
/// small, and then cost no allocation.
const INLINE: usize = 8;
/// Room made when the samples outgrow the inline ones.
const FIRST_CAPACITY: usize = 32;
/// Sub-buckets per power of two (precision 1/64).
const SUB_BITS: u32 = 6;

/// A latency distribution in nanoseconds with bounded memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    count: u64,
    max: i64,
    sum: i128,
    /// Exact samples held (until the switch to buckets): in `inline` up to [`INLINE`], all
    /// in `spilled` beyond.
    held: u16,
    inline: [i64; INLINE],
    spilled: Vec<i64>,
    /// Counts of buckets `base..base + buckets.len()`: a sample costs one index. Never larger
    /// than every bucket (3 776 counts), which is half of what a sparse list would take.
    buckets: Vec<u64>,
    /// Bucket of `buckets[0]`.
    base: u32,
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
        if let Some(c) = b
            .checked_sub(self.base)
            .and_then(|i| self.buckets.get_mut(i as usize))
        {
            *c += n;
            return;
        }
        self.bump_outside(b, n);
    }

    /// [`Latency::bump`] for a bucket outside the window: the window grows to take it.
    #[cold]
    fn bump_outside(&mut self, b: u32, n: u64) {
        if self.buckets.is_empty() {
            self.base = b;
            self.buckets.push(n);
            return;
        }
        if b < self.base {
            let grow = (self.base - b) as usize;
            self.buckets.splice(0..0, std::iter::repeat_n(0, grow));
            self.base = b;
        } else {
            let len = (b - self.base) as usize + 1;
            self.buckets.resize(len, 0);
        }
        if let Some(c) = b
            .checked_sub(self.base)
            .and_then(|i| self.buckets.get_mut(i as usize))
        {
            *c += n;
        }
    }

    /// Adds one sample (negative values count as 0).
    #[inline(always)]
    pub fn add(&mut self, ns: i64) {
        let ns = ns.max(0);
        self.count += 1;
        self.sum += ns as i128;
        self.max = self.max.max(ns);
        if self.buckets.is_empty() && usize::from(self.held) < EXACT_SAMPLES {
            match self.inline.get_mut(usize::from(self.held)) {
                Some(slot) => *slot = ns,
                None => {
                    if self.spilled.is_empty() {
                        self.spilled.reserve_exact(FIRST_CAPACITY);
                        self.spilled.extend_from_slice(&self.inline);
                    }
                    self.spilled.push(ns);
                }
            }
            self.held += 1;
            return;
        }
        self.add_bucketed(ns);
    }

    /// [`Latency::add`] past the exact samples.
    fn add_bucketed(&mut self, ns: i64) {
        self.switch_to_buckets();
        self.bump(bucket_of(ns), 1);
    }

    /// The exact samples held, in arrival order.
    fn exact(&self) -> &[i64] {
        if self.spilled.is_empty() {
            self.inline.get(..usize::from(self.held)).unwrap_or(&[])
        } else {
            &self.spilled
        }
    }

    /// Moves the exact samples held into buckets.
    fn switch_to_buckets(&mut self) {
        if self.held == 0 {
            return;
        }
        let (inline, spilled) = (self.inline, std::mem::take(&mut self.spilled));
        let held = if spilled.is_empty() {
            inline.get(..usize::from(self.held)).unwrap_or(&[])
        } else {
            &spilled
        };
        self.held = 0;
        for &v in held {
            self.bump(bucket_of(v), 1);
        }
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
            let mut v = self.exact().to_vec();
            v.sort_unstable();
            let i = (rank as usize).min(v.len()).saturating_sub(1);
            return v.get(i).copied().unwrap_or(0);
        }
        let mut seen = 0;
        for (b, n) in (self.base..).zip(&self.buckets) {
            seen += n;
            if seen >= rank {
                return bucket_low(b).min(self.max);
            }
        }
        self.max
    }

    /// Merges another distribution into this one.
    pub fn merge(&mut self, other: &Latency) {
        for v in other.exact() {
            self.add(*v);
        }
        if !other.buckets.is_empty() {
            self.switch_to_buckets();
            for (b, &n) in (other.base..).zip(&other.buckets) {
                if n > 0 {
                    self.bump(b, n);
                }
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
    fn the_bucket_window_counts_like_a_sorted_map() {
        // Samples wandering up and down over many powers of two, so the window grows at both
        // ends; percentiles compared with a sorted map of the same buckets.
        let mut l = Latency::default();
        let mut reference = std::collections::BTreeMap::new();
        let mut x = 99u64;
        let mut all = Vec::new();
        for i in 0..5000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let v = ((x >> 33) % 1000 + 1) as i64 * 10i64.pow((i % 7) as u32);
            l.add(v);
            all.push(v);
        }
        for v in &all {
            *reference.entry(bucket_of(*v)).or_insert(0u64) += 1;
        }
        let max = *all.iter().max().unwrap();
        for p in [1.0, 25.0, 50.0, 90.0, 99.0, 100.0] {
            let rank = ((p / 100.0) * all.len() as f64).ceil() as u64;
            let mut seen = 0;
            let want = reference
                .iter()
                .find_map(|(b, n)| {
                    seen += n;
                    (seen >= rank).then(|| bucket_low(*b).min(max))
                })
                .unwrap();
            assert_eq!(l.percentile(p), want, "p{p}");
        }
        let mut merged = Latency::default();
        merged.add(5);
        merged.merge(&l);
        assert_eq!(merged.count(), 5001);
        assert_eq!(merged.max(), max);
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
