//! Out-of-order bookkeeping of one direction: which stream ranges are held, with no bytes.
//!
//! The assembler keeps the ranges received beyond the in-order point as a sorted list of
//! disjoint, non-adjacent `[start, end)` stream offsets. Each held range has a hole before it, so
//! the number of ranges is the number of holes, and it is capped.

use crate::capture::Ts;
use std::fmt;

/// One held range of stream offsets, and when the hole before it appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First held offset.
    pub start: u64,
    /// One past the last held offset.
    pub end: u64,
    /// Capture time at which the hole before this range first existed.
    pub born: Ts,
    /// Capture time and frame number of the newest segment that added to the range (so bytes
    /// delivered after a hole is given up are dated by their arrival).
    pub last: (Ts, u64),
}

impl Range {
    /// Number of offsets in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// True when the range holds no offset (never the case for a stored range).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Inserting a range would need more holes than the cap allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssemblerFull {
    /// The cap on held ranges (holes).
    pub max: usize,
}

impl fmt::Display for AssemblerFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "holding another out-of-order range would exceed {} holes",
            self.max
        )
    }
}

impl std::error::Error for AssemblerFull {}

/// Sorted, disjoint, non-adjacent held ranges with a cap on their number.
#[derive(Clone, Debug)]
pub struct Assembler {
    ranges: Vec<Range>,
    max: usize,
}

impl Assembler {
    /// An empty assembler holding at most `max_ranges` ranges; allocates nothing until used.
    pub fn new(max_ranges: usize) -> Self {
        Assembler {
            ranges: Vec::new(),
            max: max_ranges.max(1),
        }
    }

    /// The cap on held ranges.
    pub fn max(&self) -> usize {
        self.max
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of held ranges (= number of holes).
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The held ranges in offset order.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// The lowest held range.
    pub fn first(&self) -> Option<Range> {
        self.ranges.first().copied()
    }

    /// One past the highest held offset.
    pub fn end(&self) -> Option<u64> {
        self.ranges.last().map(|r| r.end)
    }

    /// Total number of held offsets.
    pub fn held(&self) -> u64 {
        self.ranges.iter().map(Range::len).sum()
    }

    /// Number of held offsets below `offset` (the position of `offset` in a compact byte store).
    pub fn held_before(&self, offset: u64) -> u64 {
        self.ranges
            .iter()
            .take_while(|r| r.start < offset)
            .map(|r| r.end.min(offset) - r.start)
            .sum()
    }

    /// Index of the first range that ends after `start` (the first that can overlap it).
    fn first_ending_after(&self, start: u64) -> usize {
        self.ranges.partition_point(|r| r.end <= start)
    }

    /// The piece of `[pos, end)` that starts at `pos`: `(pos, b, held)` where every offset of
    /// `[pos, b)` is held (`held == true`) or none is. None when `pos >= end`.
    pub fn part_at(&self, pos: u64, end: u64) -> Option<(u64, u64, bool)> {
        if pos >= end {
            return None;
        }
        match self.ranges.get(self.first_ending_after(pos)) {
            Some(r) if r.start <= pos => Some((pos, r.end.min(end), true)),
            Some(r) => Some((pos, r.start.min(end), false)),
            None => Some((pos, end, false)),
        }
    }

    /// Calls `f(a, b, held)` for the consecutive pieces of `[start, end)`, in order, telling
    /// whether each piece is already held.
    pub fn for_each_part(&self, start: u64, end: u64, mut f: impl FnMut(u64, u64, bool)) {
        let mut pos = start;
        while let Some((a, b, held)) = self.part_at(pos, end) {
            f(a, b, held);
            pos = b;
        }
    }

    /// Number of offsets of `[start, end)` not held yet.
    pub fn unheld_len(&self, start: u64, end: u64) -> u64 {
        let mut n = 0;
        self.for_each_part(start, end, |a, b, held| {
            if !held {
                n += b - a;
            }
        });
        n
    }

    /// Indices `i..j` of the ranges that overlap or touch `[start, end)`.
    fn touching(&self, start: u64, end: u64) -> (usize, usize) {
        let i = self.ranges.partition_point(|r| r.end < start);
        let j = self.ranges.partition_point(|r| r.start <= end);
        (i, j.max(i))
    }

    /// Number of ranges there would be after inserting `[start, end)`.
    pub fn len_after_insert(&self, start: u64, end: u64) -> usize {
        let (i, j) = self.touching(start, end);
        self.ranges.len() + 1 - (j - i)
    }

    /// Marks `[start, end)` held at capture time `now`, merging with touching ranges.
    ///
    /// Fails, changing nothing, when that would need more ranges than the cap.
    pub fn insert(&mut self, start: u64, end: u64, now: Ts) -> Result<(), AssemblerFull> {
        self.insert_from(start, end, now, 0)
    }

    /// As [`Assembler::insert`], recording `frame` as the frame that brought the bytes.
    pub fn insert_from(
        &mut self,
        start: u64,
        end: u64,
        now: Ts,
        frame: u64,
    ) -> Result<(), AssemblerFull> {
        if end <= start {
            return Ok(());
        }
        let (i, j) = self.touching(start, end);
        if i == j {
            if self.ranges.len() >= self.max {
                return Err(AssemblerFull { max: self.max });
            }
            self.ranges.insert(
                i,
                Range {
                    start,
                    end,
                    born: now,
                    last: (now, frame),
                },
            );
            return Ok(());
        }
        let merged = self.ranges[i..j].iter().fold(
            Range {
                start,
                end,
                born: now,
                last: (now, frame),
            },
            |m, r| Range {
                start: m.start.min(r.start),
                end: m.end.max(r.end),
                born: m.born.min(r.born),
                last: if r.last.1 > m.last.1 { r.last } else { m.last },
            },
        );
        self.ranges[i] = merged;
        self.ranges.drain(i + 1..j);
        Ok(())
    }

    /// Removes and returns the lowest held range.
    pub fn pop_first(&mut self) -> Option<Range> {
        if self.ranges.is_empty() {
            None
        } else {
            Some(self.ranges.remove(0))
        }
    }

    /// Forgets everything and releases the memory.
    pub fn clear(&mut self) {
        self.ranges = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spans(a: &Assembler) -> Vec<(u64, u64)> {
        a.ranges().iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn inserts_merge_touching_and_overlapping_ranges() {
        let mut a = Assembler::new(8);
        a.insert(10, 20, Ts(1)).unwrap();
        a.insert(30, 40, Ts(2)).unwrap();
        assert_eq!(spans(&a), [(10, 20), (30, 40)]);
        a.insert(20, 25, Ts(3)).unwrap(); // touches the first
        assert_eq!(spans(&a), [(10, 25), (30, 40)]);
        a.insert(24, 31, Ts(4)).unwrap(); // bridges both
        assert_eq!(spans(&a), [(10, 40)]);
        assert_eq!(a.first().unwrap().born, Ts(1));
        a.insert(0, 5, Ts(5)).unwrap();
        assert_eq!(spans(&a), [(0, 5), (10, 40)]);
        assert_eq!(a.held(), 35);
        assert_eq!(a.end(), Some(40));
    }

    #[test]
    fn cap_refuses_a_new_range_but_allows_merges() {
        let mut a = Assembler::new(2);
        a.insert(10, 20, Ts(0)).unwrap();
        a.insert(30, 40, Ts(0)).unwrap();
        assert_eq!(a.len_after_insert(50, 60), 3);
        assert_eq!(a.insert(50, 60, Ts(0)), Err(AssemblerFull { max: 2 }));
        assert_eq!(spans(&a), [(10, 20), (30, 40)]);
        assert_eq!(a.len_after_insert(15, 35), 1);
        a.insert(40, 45, Ts(0)).unwrap();
        assert_eq!(spans(&a), [(10, 20), (30, 45)]);
    }

    #[test]
    fn parts_and_positions() {
        let mut a = Assembler::new(8);
        a.insert(10, 20, Ts(0)).unwrap();
        a.insert(30, 40, Ts(0)).unwrap();
        let mut parts = Vec::new();
        a.for_each_part(5, 35, |x, y, h| parts.push((x, y, h)));
        assert_eq!(
            parts,
            [
                (5, 10, false),
                (10, 20, true),
                (20, 30, false),
                (30, 35, true)
            ]
        );
        assert_eq!(a.unheld_len(5, 35), 15);
        assert_eq!(a.unheld_len(12, 18), 0);
        assert_eq!(a.held_before(5), 0);
        assert_eq!(a.held_before(15), 5);
        assert_eq!(a.held_before(25), 10);
        assert_eq!(a.held_before(35), 15);
        assert_eq!(a.pop_first().map(|r| (r.start, r.end)), Some((10, 20)));
        assert_eq!(spans(&a), [(30, 40)]);
    }

    #[test]
    fn empty_insert_is_a_no_op() {
        let mut a = Assembler::new(1);
        a.insert(7, 7, Ts(0)).unwrap();
        assert!(a.is_empty());
        assert_eq!(a.pop_first(), None);
    }

    proptest! {
        /// Held ranges always equal a byte map of the inserted ranges.
        #[test]
        fn matches_a_byte_map(ins in proptest::collection::vec((0u64..200, 1u64..30), 0..40)) {
            let mut a = Assembler::new(usize::MAX);
            let mut map = [false; 256];
            for (s, n) in ins {
                let e = (s + n).min(256);
                let mut parts_unheld = 0;
                a.for_each_part(s, e, |x, y, h| if !h { parts_unheld += y - x });
                let expect_unheld = (s..e).filter(|&o| !map[o as usize]).count() as u64;
                prop_assert_eq!(parts_unheld, expect_unheld);
                a.insert(s, e, Ts(0)).unwrap();
                for o in s..e { map[o as usize] = true; }
                let mut rebuilt = [false; 256];
                for w in a.ranges().windows(2) {
                    prop_assert!(w[0].end < w[1].start, "ranges must be disjoint and apart");
                }
                for r in a.ranges() { for o in r.start..r.end { rebuilt[o as usize] = true; } }
                prop_assert_eq!(&rebuilt[..], &map[..]);
            }
        }
    }
}
