//! Compact storage of the events the TUI shows: one small fixed-size `Row` per event, strings
//! interned, raw packet bytes in a chunked arena, and the rare rich parts boxed apart.
//!
//! Budget (performance issue): 0.8 M packets in at most 200 MiB, so about 260 bytes per
//! event all included; `Store::heap_bytes` measures it and a test holds it to that.

use crate::event::{Anomaly, ConnClose, ConnectInfo, SubOutcome, TopicEntry};
use crate::mqtt::types::{PacketType, ReasonCode};
use crate::tcp::GapReason;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};

/// Bytes of each packet kept for the hex view ("first N bytes").
pub const RAW_KEEP: usize = 96;
/// Size of one raw-bytes arena chunk.
const CHUNK: usize = 1 << 20;
/// Interned strings kept at most; later new strings show as "(not kept)".
pub const MAX_SYMBOLS: usize = 1 << 20;

/// An interned string; `Sym::NONE` for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Sym(pub u32);

impl Sym {
    /// No string.
    pub const NONE: Sym = Sym(u32::MAX);
    /// A string that was not kept because the interner was full.
    pub const DROPPED: Sym = Sym(u32::MAX - 1);
}

/// Stores each distinct string once (topics and client ids repeat).
#[derive(Default)]
pub struct Interner {
    strings: Vec<Box<str>>,
    by_hash: HashMap<u64, u32>,
    collisions: HashMap<Box<str>, u32>,
    hasher: RandomState,
    bytes: usize,
}

impl Interner {
    /// The symbol for `s`, adding it when new (and when there is room).
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = self.hasher.hash_one(s);
        if let Some(&i) = self.by_hash.get(&h) {
            if self.strings.get(i as usize).is_some_and(|x| &**x == s) {
                return Sym(i);
            }
            if let Some(&j) = self.collisions.get(s) {
                return Sym(j);
            }
        }
        if self.strings.len() >= MAX_SYMBOLS {
            return Sym::DROPPED;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.bytes += s.len();
        match self.by_hash.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collisions.insert(s.into(), id);
                self.bytes += s.len();
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
        }
        Sym(id)
    }

    /// The string of `sym` ("" for none, "(not kept)" for dropped).
    pub fn get(&self, sym: Sym) -> &str {
        match sym {
            Sym::NONE => "",
            Sym::DROPPED => "(not kept)",
            Sym(i) => self.strings.get(i as usize).map_or("", |s| s),
        }
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// Heap bytes used (strings, tables).
    pub fn heap_bytes(&self) -> usize {
        self.bytes
            + self.strings.capacity() * std::mem::size_of::<Box<str>>()
            + self.by_hash.capacity() * 16
            + self.collisions.capacity() * 24
    }
}

/// Raw bytes of many packets in large chunks (no allocation per packet); oldest chunks are
/// released when the rows using them are dropped.
#[derive(Default)]
pub struct RawArena {
    chunks: VecDeque<(u64, Vec<u8>)>,
    next: u64,
}

impl RawArena {
    /// Appends `bytes` (at most `RAW_KEEP`) and returns its position.
    pub fn push(&mut self, bytes: &[u8]) -> u64 {
        let bytes = bytes.get(..RAW_KEEP.min(bytes.len())).unwrap_or(&[]);
        let fits = self
            .chunks
            .back()
            .is_some_and(|(_, c)| c.len() + bytes.len() <= c.capacity());
        if !fits {
            self.chunks
                .push_back((self.next, Vec::with_capacity(CHUNK)));
        }
        if let Some((_, c)) = self.chunks.back_mut() {
            c.extend_from_slice(bytes);
        }
        let at = self.next;
        self.next += bytes.len() as u64;
        at
    }

    /// The bytes stored at `at` with length `len` (empty when released).
    pub fn get(&self, at: u64, len: usize) -> &[u8] {
        let i = self.chunks.partition_point(|(start, _)| *start <= at);
        let Some((start, c)) = i.checked_sub(1).and_then(|i| self.chunks.get(i)) else {
            return &[];
        };
        let from = (at - start) as usize;
        c.get(from..from + len).unwrap_or(&[])
    }

    /// Releases every chunk that ends before `at`.
    pub fn release_before(&mut self, at: u64) {
        while self.chunks.len() > 1 && self.chunks.get(1).is_some_and(|(s, _)| *s <= at) {
            self.chunks.pop_front();
        }
    }

    /// Heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|(_, c)| c.capacity()).sum()
    }
}

/// What a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// An MQTT packet.
    Packet,
    /// A connection opened.
    Open,
    /// A connection closed.
    Close,
    /// Bytes never captured.
    Gap,
    /// Bytes skipped while resynchronising.
    Skipped,
    /// A packet over the size cap.
    Oversize,
    /// TLS.
    Encrypted,
    /// Anomalies alone.
    Anomaly,
}

/// Row flag: direction known.
pub const F_DIR: u16 = 1;
/// Row flag: direction is server to client.
pub const F_TO_CLIENT: u16 = 1 << 1;
/// Row flag: RETAIN.
pub const F_RETAIN: u16 = 1 << 2;
/// Row flag: DUP.
pub const F_DUP: u16 = 1 << 3;
/// Row flag: has a packet id.
pub const F_PID: u16 = 1 << 4;
/// Row flag: the single code was implied by a short form.
pub const F_IMPLIED: u16 = 1 << 5;
/// Row flag: has anomalies (in `Extra`).
pub const F_ANOMALY: u16 = 1 << 6;
/// Row flag: this packet answers `pair` (else `pair` answers it).
pub const F_ANSWER: u16 = 1 << 7;
/// Row flag: has a QoS.
pub const F_QOS: u16 = 1 << 8;
/// Row flag: a close with unanswered requests.
pub const F_UNANSWERED: u16 = 1 << 9;
/// Row flag: has a code.
pub const F_CODE: u16 = 1 << 10;

/// One stored event, small and fixed-size.
#[derive(Clone, Debug)]
pub struct Row {
    /// Event id.
    pub id: u64,
    /// Capture time (ns since the epoch).
    pub ts: i64,
    /// Frame number.
    pub frame_no: u64,
    /// Latency of the request this answers (ns), when `F_ANSWER`.
    pub latency_ns: i64,
    /// Event id of the paired request (F_ANSWER) or answer; u64::MAX when none.
    pub pair: u64,
    /// Raw bytes position in the arena.
    pub raw_at: u64,
    /// Index of the connection in the connection table.
    pub conn: u32,
    /// Client id as known at the time.
    pub client: Sym,
    /// Topic (resolved PUBLISH topic, or the first filter).
    pub topic: Sym,
    /// Whole packet size (or byte count for gaps).
    pub size: u32,
    /// Payload length.
    pub payload_len: u32,
    /// Packet id.
    pub packet_id: u16,
    /// Flags (`F_*`).
    pub flags: u16,
    /// Raw bytes kept.
    pub raw_len: u8,
    /// Row kind.
    pub kind: RowKind,
    /// Packet type.
    pub ptype: PacketType,
    /// Worst outcome.
    pub outcome: crate::event::Outcome,
    /// The most telling code (first failure, else first notice, else first).
    pub code: ReasonCode,
    /// Number of codes.
    pub ncodes: u8,
    /// QoS (valid with F_QOS).
    pub qos: u8,
    /// Version level (0 unknown).
    pub version: u8,
    /// The rich parts, when the event has any.
    pub extra: Option<Box<Extra>>,
}

impl Row {
    /// True when the flag is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
    /// True for a failure, malformed packet, anomaly or stream damage (the `failed` filter).
    pub fn is_failure(&self) -> bool {
        self.has(F_ANOMALY)
            || match self.kind {
                RowKind::Packet => self.outcome >= crate::event::Outcome::Failure,
                RowKind::Open => false,
                RowKind::Close => self.has(F_UNANSWERED),
                _ => true,
            }
    }
}

/// The rarer, larger parts of an event, moved (not copied) from it.
#[derive(Clone, Debug, Default)]
pub struct Extra {
    /// All codes, when there is more than one.
    pub codes: Vec<ReasonCode>,
    /// SUBSCRIBE / UNSUBSCRIBE filters.
    pub topics: Vec<TopicEntry>,
    /// SUBACK per-filter outcomes.
    pub sub_outcomes: Vec<SubOutcome>,
    /// Properties as text.
    pub properties: Vec<(&'static str, String)>,
    /// Reason String.
    pub reason_string: Option<String>,
    /// CONNECT details.
    pub connect: Option<Box<ConnectInfo>>,
    /// Why the packet is malformed.
    pub malformed: Option<String>,
    /// Anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Wire topic when it differs from the resolved one (alias use), and the alias.
    pub alias: Option<(u16, String)>,
    /// CONNACK session present.
    pub session_present: Option<bool>,
    /// Connection close details.
    pub close: Option<Box<ConnClose>>,
    /// Stream notice: (offset, text).
    pub notice: Option<(u64, String)>,
    /// Gap reason.
    pub gap: Option<GapReason>,
}

impl Extra {
    /// Estimated heap bytes (the box and what it owns).
    pub fn heap_bytes(&self) -> usize {
        let s = |o: &Option<String>| o.as_ref().map_or(0, |s| s.capacity());
        std::mem::size_of::<Extra>()
            + self.codes.capacity()
            + self
                .topics
                .iter()
                .map(|t| std::mem::size_of::<TopicEntry>() + t.topic.capacity())
                .sum::<usize>()
            + self
                .sub_outcomes
                .iter()
                .map(|t| std::mem::size_of::<SubOutcome>() + t.topic.capacity())
                .sum::<usize>()
            + self
                .properties
                .iter()
                .map(|(_, v)| 24 + v.capacity())
                .sum::<usize>()
            + s(&self.reason_string)
            + s(&self.malformed)
            + self.connect.as_ref().map_or(0, |_| 256)
            + self.anomalies.capacity() * std::mem::size_of::<Anomaly>()
            + self.alias.as_ref().map_or(0, |(_, t)| t.capacity())
            + self.close.as_ref().map_or(0, |c| {
                std::mem::size_of::<ConnClose>() + c.unanswered.capacity() * 24
            })
            + self.notice.as_ref().map_or(0, |(_, t)| t.capacity())
    }
}

/// Rows in capture order with a cap: the oldest are dropped past it.
pub struct Store {
    rows: VecDeque<Row>,
    /// Sequence number of `rows[0]` (rows dropped so far).
    base: u64,
    cap: usize,
    /// Raw bytes.
    pub raw: RawArena,
    /// Strings.
    pub strings: Interner,
    extra_bytes: usize,
}

impl Store {
    /// An empty store keeping at most `cap` rows.
    pub fn new(cap: usize) -> Self {
        Store {
            rows: VecDeque::new(),
            base: 0,
            cap: cap.max(1),
            raw: RawArena::default(),
            strings: Interner::default(),
            extra_bytes: 0,
        }
    }

    /// Appends a row; returns its sequence number.
    pub fn push(&mut self, row: Row) -> u64 {
        self.extra_bytes += row.extra.as_ref().map_or(0, |e| e.heap_bytes());
        self.rows.push_back(row);
        self.base + self.rows.len() as u64 - 1
    }

    /// Drops the oldest rows beyond the cap; returns how many were dropped.
    pub fn enforce_cap(&mut self) -> u64 {
        let mut n = 0;
        while self.rows.len() > self.cap {
            if let Some(r) = self.rows.pop_front() {
                self.extra_bytes -= r.extra.as_ref().map_or(0, |e| e.heap_bytes());
            }
            n += 1;
        }
        self.base += n;
        if let Some(first) = self.rows.front() {
            self.raw.release_before(first.raw_at);
        }
        n
    }

    /// Sequence number of the oldest kept row.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Sequence number after the newest row.
    pub fn end(&self) -> u64 {
        self.base + self.rows.len() as u64
    }

    /// The row with sequence number `seq`, if kept.
    pub fn get(&self, seq: u64) -> Option<&Row> {
        self.rows.get(seq.checked_sub(self.base)? as usize)
    }

    /// Mutable access to a row.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut Row> {
        self.rows.get_mut(seq.checked_sub(self.base)? as usize)
    }

    /// The sequence number of the row for event `id`, if kept.
    pub fn seq_of_event(&self, id: u64) -> Option<u64> {
        let i = self.rows.partition_point(|r| r.id < id);
        (self.rows.get(i)?.id == id).then_some(self.base + i as u64)
    }

    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The raw bytes of a row.
    pub fn raw_of(&self, row: &Row) -> &[u8] {
        self.raw.get(row.raw_at, usize::from(row.raw_len))
    }

    /// Rows with their sequence numbers, from `from`.
    pub fn iter_from(&self, from: u64) -> impl DoubleEndedIterator<Item = (u64, &Row)> {
        let skip = from.saturating_sub(self.base) as usize;
        self.rows
            .range(skip.min(self.rows.len())..)
            .enumerate()
            .map(move |(i, r)| (self.base + (skip + i) as u64, r))
    }

    /// Estimated heap bytes of everything stored.
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.raw.heap_bytes()
            + self.strings.heap_bytes()
            + self.extra_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_returns_one_symbol_per_string() {
        let mut i = Interner::default();
        let a = i.intern("home/kitchen/temp");
        let b = i.intern("home/hall/temp");
        assert_ne!(a, b);
        assert_eq!(i.intern("home/kitchen/temp"), a);
        assert_eq!(i.get(b), "home/hall/temp");
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn arena_keeps_and_releases_bytes() {
        let mut a = RawArena::default();
        let x = a.push(&[1, 2, 3]);
        let long = vec![7u8; 500];
        let y = a.push(&long);
        assert_eq!(a.get(x, 3), &[1, 2, 3]);
        assert_eq!(a.get(y, RAW_KEEP).len(), RAW_KEEP);
        assert!(a.get(y, RAW_KEEP + 1).is_empty());
    }

    #[test]
    fn row_stays_small() {
        assert!(
            std::mem::size_of::<Row>() <= 96,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
