//! The sequence numbers of the rows the timeline shows, in order. Without a filter every kept
//! row is shown but the connection-open ones, so only those few are stored (a range with
//! holes); with a filter, the matching sequence numbers are listed.

use std::collections::VecDeque;

/// Rows shown, ascending sequence numbers.
#[derive(Clone, Debug)]
pub enum Visible {
    /// Every sequence number in `start..end` except those in `skip` (ascending, in range).
    Range {
        /// First sequence number covered.
        start: u64,
        /// One past the last sequence number covered.
        end: u64,
        /// Sequence numbers in the range that are not shown.
        skip: VecDeque<u64>,
    },
    /// Exactly these sequence numbers.
    List(VecDeque<u64>),
}

impl Visible {
    /// Nothing shown yet; rows pushed later are stored as a range (`all`) or a list.
    pub fn new(all: bool, from: u64) -> Self {
        if all {
            Visible::Range {
                start: from,
                end: from,
                skip: VecDeque::new(),
            }
        } else {
            Visible::List(VecDeque::new())
        }
    }

    /// Number of rows shown.
    pub fn len(&self) -> usize {
        match self {
            Visible::Range { start, end, skip } => {
                (end.saturating_sub(*start) as usize).saturating_sub(skip.len())
            }
            Visible::List(v) => v.len(),
        }
    }

    /// True when nothing is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th shown sequence number.
    pub fn get(&self, i: usize) -> Option<u64> {
        match self {
            Visible::Range { start, end, skip } => {
                // Skipped numbers before the answer: those whose count of shown rows before
                // them (k - start - their index) is at most i.
                let (mut lo, mut hi) = (0, skip.len());
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let k = skip.get(mid).copied().unwrap_or(u64::MAX);
                    if k.saturating_sub(*start).saturating_sub(mid as u64) <= i as u64 {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                let seq = start + i as u64 + lo as u64;
                (seq < *end).then_some(seq)
            }
            Visible::List(v) => v.get(i).copied(),
        }
    }

    /// How many shown sequence numbers are below `seq` (the index `seq` has or would have).
    pub fn count_below(&self, seq: u64) -> usize {
        match self {
            Visible::Range { start, end, skip } => {
                let s = seq.clamp(*start, *end);
                ((s - start) as usize).saturating_sub(skip.partition_point(|k| *k < s))
            }
            Visible::List(v) => v.partition_point(|x| *x < seq),
        }
    }

    /// Shows row `seq`, newer than every row shown (rows in between are left out).
    pub fn push(&mut self, seq: u64) {
        match self {
            Visible::Range { start, end, skip } => {
                if seq < *end {
                    return; // not newer: rows come in order, so this never happens
                }
                if *start == *end && skip.is_empty() {
                    *start = seq;
                    *end = seq;
                }
                while *end < seq {
                    skip.push_back(*end);
                    *end += 1;
                }
                *end = seq + 1;
            }
            Visible::List(v) => v.push_back(seq),
        }
    }

    /// Forgets every row below `base`; returns how many shown rows that removed.
    pub fn pop_below(&mut self, base: u64) -> usize {
        let n = self.count_below(base);
        match self {
            Visible::Range { start, end, skip } => {
                *start = base.clamp(*start, *end);
                while skip.front().is_some_and(|k| *k < *start) {
                    skip.pop_front();
                }
            }
            Visible::List(v) => {
                v.drain(..n.min(v.len()));
            }
        }
        n
    }

    /// The first shown sequence number.
    pub fn front(&self) -> Option<u64> {
        self.get(0)
    }

    /// The last shown sequence number.
    pub fn back(&self) -> Option<u64> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// The shown sequence numbers in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map_while(|i| self.get(i))
    }

    /// Heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Visible::Range { skip, .. } => skip.capacity() * 8,
            Visible::List(v) => v.capacity() * 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both forms agree with a plain list on the same pushes and drops.
    #[test]
    fn range_and_list_agree() {
        let shown: Vec<u64> = (3..60).filter(|s| s % 7 != 0 && s % 11 != 1).collect();
        let mut r = Visible::new(true, 0);
        let mut l = Visible::new(false, 0);
        for s in &shown {
            r.push(*s);
            l.push(*s);
        }
        assert!(r.heap_bytes() < l.heap_bytes());
        for base in [0u64, 3, 10, 14, 30, 59, 70] {
            let (mut r, mut l) = (r.clone(), l.clone());
            assert_eq!(r.pop_below(base), l.pop_below(base), "base {base}");
            let want: Vec<u64> = shown.iter().copied().filter(|s| *s >= base).collect();
            assert_eq!(r.len(), want.len());
            assert_eq!(r.iter().collect::<Vec<_>>(), want, "base {base}");
            assert_eq!(l.iter().collect::<Vec<_>>(), want);
            for q in 0..75 {
                assert_eq!(r.count_below(q), l.count_below(q), "below {q}");
            }
            assert_eq!(r.get(want.len()), None);
            assert_eq!(r.front(), want.first().copied());
            assert_eq!(r.back(), want.last().copied());
        }
    }
}
