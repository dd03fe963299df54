//! IP fragment reassembly (RFC 791 section 3.2, RFC 8200 section 4.5) behind byte and set caps.
//!
//! Sets are keyed by (source, destination, protocol, identification). Each set stores only the
//! bytes not already held (overlaps: the first copy wins), so a set never holds more than one
//! datagram's worth of data. Memory is charged by allocated capacity plus a fixed overhead per
//! set and per piece; past `max_frag_bytes` or `max_frag_sets` the oldest sets are evicted, and
//! sets older than `frag_timeout_secs` of capture time expire. A completed datagram is copied
//! into one reusable output buffer that the caller borrows.

use super::error::{Layer, Malformed};
use crate::capture::Ts;
use crate::limits::Limits;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Largest reassembled IP datagram (IPv4 total length; IPv6 payload length without jumbo).
pub const MAX_DATAGRAM: usize = 65_535;
/// Bytes charged per fragment set besides its buffers (map entry, key, queue entry).
pub const SET_OVERHEAD: usize = 128;

/// Identifies the fragments of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Protocol of the fragmented payload (IPv6: next header of the fragment header).
    pub protocol: u8,
    /// Identification field.
    pub id: u32,
}

/// One fragment as handed to the defragmenter.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// Which datagram it belongs to.
    pub key: FragKey,
    /// Capture time of the frame.
    pub ts: Ts,
    /// Offset of `data` in the datagram's payload, in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's payload bytes.
    pub data: &'a [u8],
    /// Length of the IP header(s) in front of the payload (counts toward the 65535 limit).
    pub header_len: usize,
    /// Offset of the fragment's IP header in its frame (for errors).
    pub frame_offset: usize,
}

/// Counters of the defragmenter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragStats {
    /// Fragments seen (every frame that is a fragment of a TCP or extension-header payload).
    pub fragments: u64,
    /// Fragments stored (or found duplicate) and waiting for the rest of their datagram.
    pub held: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Fragments refused because a cap leaves no room for them (their set is dropped too).
    pub dropped_by_cap: u64,
    /// Fragments refused because the capture cut them (snaplen).
    pub dropped_cut: u64,
    /// Incomplete sets evicted (oldest first) to make room under a cap.
    pub sets_evicted: u64,
    /// Incomplete sets dropped because they outlived the timeout.
    pub sets_expired: u64,
    /// Incomplete sets dropped because the capture ended.
    pub sets_unfinished: u64,
    /// Sets dropped because their fragments were inconsistent (counted as malformed too).
    pub sets_malformed: u64,
}

/// What happened to a fragment.
#[derive(Debug)]
pub enum FragResult<'s> {
    /// Stored; the datagram is not complete yet.
    Held,
    /// The datagram is complete: its payload, borrowed from the defragmenter.
    Complete(&'s [u8]),
    /// Refused because of a cap.
    Dropped,
    /// The fragment contradicts its set or exceeds the datagram limit; the set is dropped.
    Malformed(Malformed),
}

/// A contiguous run of held bytes: datagram range `start..end` stored at `at` in the set.
#[derive(Clone, Copy, Debug)]
struct Piece {
    start: u32,
    end: u32,
    at: u32,
}

/// The fragments held for one datagram.
#[derive(Debug)]
struct FragSet {
    created: Ts,
    generation: u64,
    /// Payload length, known once the last fragment arrived.
    total: Option<usize>,
    /// Bytes held (the pieces are disjoint).
    covered: usize,
    /// Sorted, disjoint pieces.
    pieces: Vec<Piece>,
    data: Vec<u8>,
}

impl FragSet {
    fn mem(&self) -> usize {
        SET_OVERHEAD + self.data.capacity() + self.pieces.capacity() * std::mem::size_of::<Piece>()
    }

    /// Stores the parts of `start..start+bytes.len()` not held yet.
    fn store(&mut self, start: usize, bytes: &[u8]) {
        let end = start + bytes.len();
        let mut cur = start;
        let mut i = self.pieces.partition_point(|p| p.end as usize <= start);
        while cur < end {
            if let Some(p) = self.pieces.get(i) {
                if p.start as usize <= cur {
                    cur = cur.max(p.end as usize);
                    i += 1;
                    continue;
                }
            }
            let gap_end = self
                .pieces
                .get(i)
                .map_or(end, |p| (p.start as usize).min(end));
            if let Some(src) = bytes.get(cur - start..gap_end - start) {
                let at = self.data.len();
                self.data.extend_from_slice(src);
                // All values are below 2^17 (datagram limit), so the casts are exact.
                self.pieces.insert(
                    i,
                    Piece {
                        start: cur as u32,
                        end: gap_end as u32,
                        at: at as u32,
                    },
                );
                self.covered += gap_end - cur;
                i += 1;
            }
            cur = gap_end;
        }
    }
}

/// Reassembles IP fragments with bounded memory.
#[derive(Debug)]
pub struct Defragmenter {
    sets: HashMap<FragKey, FragSet>,
    /// Sets in creation order (entries of finished sets are skipped lazily).
    order: VecDeque<(FragKey, u64)>,
    next_generation: u64,
    bytes: usize,
    max_bytes: usize,
    max_sets: usize,
    timeout_ns: i64,
    out: Vec<u8>,
}

impl Defragmenter {
    /// An empty defragmenter with the fragment caps of `limits`.
    pub fn new(limits: &Limits) -> Defragmenter {
        Defragmenter {
            sets: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            bytes: 0,
            max_bytes: limits.frag_budget(),
            max_sets: limits.max_frag_sets,
            timeout_ns: i64::try_from(limits.frag_timeout_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000_000_000),
            out: Vec::new(),
        }
    }

    /// True when no incomplete set is held.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Incomplete sets held.
    pub fn sets(&self) -> usize {
        self.sets.len()
    }

    /// Bytes charged to the incomplete sets (always at most `max_frag_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Drops the sets whose first fragment is older than the timeout at `now`.
    pub fn expire(&mut self, now: Ts, stats: &mut FragStats) {
        while let Some(&(key, generation)) = self.order.front() {
            match self.sets.get(&key) {
                Some(set) if set.generation == generation => {
                    if now.0.saturating_sub(set.created.0) <= self.timeout_ns {
                        return;
                    }
                    self.remove(&key);
                    stats.sets_expired += 1;
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Drops every incomplete set (end of capture), counting them as unfinished.
    pub fn finish(&mut self, stats: &mut FragStats) {
        stats.sets_unfinished += self.sets.len() as u64;
        self.sets.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Adds one fragment; when it completes its datagram, returns the reassembled payload.
    pub fn insert<'s>(&'s mut self, frag: Fragment<'_>, stats: &mut FragStats) -> FragResult<'s> {
        let key = frag.key;
        let end = frag.offset + frag.data.len();
        if frag.header_len + end > MAX_DATAGRAM {
            return self.reject(
                key,
                stats,
                Malformed::bad_field(
                    Layer::Fragment,
                    frag.frame_offset,
                    "header length + fragment offset + length",
                    (frag.header_len + end) as u64,
                    "at most 65535",
                ),
            );
        }
        if frag.more && frag.data.len() % 8 != 0 {
            return self.reject(
                key,
                stats,
                Malformed::bad_field(
                    Layer::Fragment,
                    frag.frame_offset,
                    "fragment length",
                    frag.data.len() as u64,
                    "a multiple of 8 when more fragments follow",
                ),
            );
        }
        if self.max_sets == 0 {
            stats.dropped_by_cap += 1;
            return FragResult::Dropped;
        }
        if !self.sets.contains_key(&key) {
            while self.sets.len() >= self.max_sets {
                if !self.evict_oldest(None, stats) {
                    break;
                }
            }
            let set = FragSet {
                created: frag.ts,
                generation: self.next_generation,
                total: None,
                covered: 0,
                pieces: Vec::new(),
                data: Vec::new(),
            };
            self.order.push_back((key, self.next_generation));
            self.next_generation += 1;
            self.bytes += set.mem();
            self.sets.insert(key, set);
            self.compact_order();
        }
        let Some(set) = self.sets.get_mut(&key) else {
            stats.dropped_by_cap += 1;
            return FragResult::Dropped;
        };
        // Consistency with what the set already knows.
        let inconsistent = if frag.more {
            set.total.is_some_and(|t| end > t)
        } else {
            set.total.is_some_and(|t| t != end)
                || set.pieces.last().is_some_and(|p| p.end as usize > end)
        };
        if inconsistent {
            return self.reject(
                key,
                stats,
                Malformed::bad_field(
                    Layer::Fragment,
                    frag.frame_offset,
                    "fragment offset",
                    frag.offset as u64,
                    "consistent with the datagram's last fragment",
                ),
            );
        }
        if !frag.more {
            set.total = Some(end);
        }
        let before = set.mem();
        set.store(frag.offset, frag.data);
        let after = set.mem();
        let done = set.total == Some(set.covered);
        self.bytes = self.bytes.saturating_add(after).saturating_sub(before);
        if done {
            return self.complete(key, stats);
        }
        while self.bytes > self.max_bytes {
            if !self.evict_oldest(Some(key), stats) {
                // This set alone is over the cap: give it up.
                self.remove(&key);
                stats.dropped_by_cap += 1;
                return FragResult::Dropped;
            }
        }
        stats.held += 1;
        FragResult::Held
    }

    /// Copies a complete set into the output buffer and releases the set.
    fn complete(&mut self, key: FragKey, stats: &mut FragStats) -> FragResult<'_> {
        let Some(set) = self.remove(&key) else {
            return FragResult::Dropped;
        };
        self.out.clear();
        self.out.resize(set.covered, 0);
        for p in &set.pieces {
            let len = (p.end - p.start) as usize;
            let at = p.at as usize;
            if let (Some(dst), Some(src)) = (
                self.out.get_mut(p.start as usize..p.end as usize),
                set.data.get(at..at + len),
            ) {
                dst.copy_from_slice(src);
            }
        }
        stats.reassembled += 1;
        FragResult::Complete(&self.out)
    }

    /// Drops the set of `key` (if any) because of `err`.
    fn reject(&mut self, key: FragKey, stats: &mut FragStats, err: Malformed) -> FragResult<'_> {
        if self.remove(&key).is_some() {
            stats.sets_malformed += 1;
        }
        FragResult::Malformed(err)
    }

    /// Removes a set and releases its charge.
    fn remove(&mut self, key: &FragKey) -> Option<FragSet> {
        let set = self.sets.remove(key)?;
        self.bytes = self.bytes.saturating_sub(set.mem());
        Some(set)
    }

    /// Evicts the oldest set other than `keep`; false when there is none.
    fn evict_oldest(&mut self, keep: Option<FragKey>, stats: &mut FragStats) -> bool {
        let mut i = 0;
        while let Some(&(key, generation)) = self.order.get(i) {
            let live = self
                .sets
                .get(&key)
                .is_some_and(|s| s.generation == generation);
            if !live {
                // A stale entry: drop it if it is at the front, else step over it.
                if i == 0 {
                    self.order.pop_front();
                } else {
                    i += 1;
                }
                continue;
            }
            if Some(key) == keep {
                i += 1;
                continue;
            }
            self.remove(&key);
            self.order.remove(i);
            stats.sets_evicted += 1;
            return true;
        }
        false
    }

    /// Keeps the order queue within a constant factor of the live sets.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.sets.len() + 64 {
            let sets = &self.sets;
            self.order
                .retain(|(k, g)| sets.get(k).is_some_and(|s| s.generation == *g));
        }
    }
}
