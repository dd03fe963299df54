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
/// released when the rows using them are dropped. Rows keep the low 32 bits of a position;
/// the arena never spans more than `RAW_SPAN` bytes, so the full position is unambiguous.
#[derive(Default)]
pub struct RawArena {
    chunks: VecDeque<(u64, Vec<u8>)>,
    next: u64,
}

/// Most bytes the arena spans (older chunks are released first; their rows show no bytes).
pub const RAW_SPAN: u64 = 1 << 31;

impl RawArena {
    /// Appends `bytes` (at most `RAW_KEEP`); returns its position and length.
    pub fn push(&mut self, bytes: &[u8]) -> (u32, u8) {
        let bytes = bytes.get(..RAW_KEEP.min(bytes.len())).unwrap_or(&[]);
        self.push_parts(bytes, &[])
    }

    /// Appends `a` then `b` next to each other (together at most `RAW_KEEP` are kept).
    pub fn push_parts(&mut self, a: &[u8], b: &[u8]) -> (u32, u8) {
        let a = a.get(..RAW_KEEP.min(a.len())).unwrap_or(&[]);
        let b = b.get(..(RAW_KEEP - a.len()).min(b.len())).unwrap_or(&[]);
        let len = a.len() + b.len();
        let fits = self
            .chunks
            .back()
            .is_some_and(|(_, c)| c.len() + len <= c.capacity());
        if !fits {
            self.chunks
                .push_back((self.next, Vec::with_capacity(CHUNK)));
            while self
                .chunks
                .front()
                .is_some_and(|(s, _)| self.next - s >= RAW_SPAN)
            {
                self.chunks.pop_front();
            }
        }
        if let Some((_, c)) = self.chunks.back_mut() {
            c.extend_from_slice(a);
            c.extend_from_slice(b);
        }
        let at = self.next;
        self.next += len as u64;
        (at as u32, len as u8)
    }

    /// The full position of the one whose low 32 bits are `at` (within the span).
    fn full(&self, at: u32) -> u64 {
        self.next
            .wrapping_sub(u64::from((self.next as u32).wrapping_sub(at)))
    }

    /// The bytes stored at `at` with length `len` (empty when released).
    pub fn get(&self, at: u32, len: usize) -> &[u8] {
        let at = self.full(at);
        let i = self.chunks.partition_point(|(start, _)| *start <= at);
        let Some((start, c)) = i.checked_sub(1).and_then(|i| self.chunks.get(i)) else {
            return &[];
        };
        let from = (at - start) as usize;
        c.get(from..from + len).unwrap_or(&[])
    }

    /// Releases every chunk that ends before `at`.
    pub fn release_before(&mut self, at: u32) {
        let at = self.full(at);
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
/// Row flag: the kept raw bytes leave out the PUBLISH topic, which is the row's interned
/// `topic` (put back by `Store::raw_of`).
pub const F_RAW_TOPIC: u16 = 1 << 11;

/// One stored event, small and fixed-size (64 bytes; the event id, the pairing and the raw
/// bytes' position are kept relative, see `Store`).
#[derive(Clone, Debug)]
pub struct Row {
    /// Capture time (ns since the epoch).
    pub ts: i64,
    /// Frame number.
    pub frame_no: u64,
    /// The rich parts, when the event has any.
    pub extra: Option<Box<Extra>>,
    /// PUBLISH: payload length; an answer: its latency, encoded by `encode_latency`.
    aux: u32,
    /// Distance in events to the paired request (F_ANSWER) or answer; u32::MAX when none.
    pair: u32,
    /// Raw bytes position in the arena (low 32 bits, see `RawArena::get`).
    raw_at: u32,
    /// Index of the connection in the connection table.
    pub conn: u32,
    /// Client id as known at the time.
    pub client: Sym,
    /// Topic (resolved PUBLISH topic, or the first filter).
    pub topic: Sym,
    /// Whole packet size (or byte count for gaps).
    pub size: u32,
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
}

/// Latencies under 2^31 ns (2.1 s) are kept exactly; longer ones in microseconds, with the top
/// bit set (up to 35 minutes; longer ones saturate).
fn encode_latency(ns: i64) -> u32 {
    let ns = ns.max(0) as u64;
    if ns < 1 << 31 {
        ns as u32
    } else {
        (1 << 31) | (ns / 1000).min((1 << 31) - 1) as u32
    }
}

fn decode_latency(v: u32) -> i64 {
    if v & (1 << 31) == 0 {
        i64::from(v)
    } else {
        i64::from(v & !(1 << 31)) * 1000
    }
}

impl Row {
    /// An empty packet row of connection `conn`.
    pub fn new(ts: i64, frame_no: u64, conn: u32) -> Row {
        Row {
            ts,
            frame_no,
            extra: None,
            aux: 0,
            pair: u32::MAX,
            raw_at: 0,
            conn,
            client: Sym::NONE,
            topic: Sym::NONE,
            size: 0,
            packet_id: 0,
            flags: 0,
            raw_len: 0,
            kind: RowKind::Packet,
            ptype: PacketType::RESERVED,
            outcome: crate::event::Outcome::Success,
            code: ReasonCode(0),
            ncodes: 0,
            qos: 0,
            version: 0,
        }
    }
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
    /// Payload length (PUBLISH only; 0 for other rows).
    pub fn payload_len(&self) -> u32 {
        if self.ptype == PacketType::PUBLISH && self.kind == RowKind::Packet {
            self.aux
        } else {
            0
        }
    }
    /// Sets the payload length (kept for PUBLISH rows only).
    pub fn set_payload_len(&mut self, n: u32) {
        if self.ptype == PacketType::PUBLISH {
            self.aux = n;
        }
    }
    /// Latency of the request this answers (ns; 0 unless `F_ANSWER`).
    pub fn latency_ns(&self) -> i64 {
        if self.has(F_ANSWER) && self.ptype != PacketType::PUBLISH {
            decode_latency(self.aux)
        } else {
            0
        }
    }
    /// Marks the row as the answer to the event `back` events earlier, `latency_ns` after it.
    /// (An answer is never a PUBLISH, whose payload length shares the field.)
    pub fn set_answer(&mut self, back: u64, latency_ns: i64) {
        self.flags |= F_ANSWER;
        self.pair = u32::try_from(back).unwrap_or(u32::MAX);
        if self.ptype != PacketType::PUBLISH {
            self.aux = encode_latency(latency_ns);
        }
    }
}

/// One rich part of an event.
#[derive(Clone, Debug)]
pub enum Part {
    /// All codes, when there is more than one.
    Codes(Vec<ReasonCode>),
    /// SUBSCRIBE / UNSUBSCRIBE filters.
    Topics(Vec<TopicEntry>),
    /// SUBACK per-filter outcomes.
    SubOutcomes(Vec<SubOutcome>),
    /// Properties as text.
    Properties(Vec<(&'static str, String)>),
    /// Reason String.
    ReasonString(String),
    /// CONNECT details.
    Connect(Box<ConnectInfo>),
    /// Why the packet is malformed.
    Malformed(String),
    /// Anomalies.
    Anomalies(Vec<Anomaly>),
    /// Wire topic when it differs from the resolved one (alias use), and the alias.
    Alias(Box<(u16, String)>),
    /// CONNACK session present.
    SessionPresent(bool),
    /// Connection close details.
    Close(Box<ConnClose>),
    /// Stream notice: (offset, text).
    Notice(Box<(u64, String)>),
    /// Gap reason.
    Gap(GapReason),
}

/// The rarer, larger parts of an event, moved (not copied) from it; only the parts present
/// are stored (a list, not one slot per kind, so a row with one property costs little).
#[derive(Clone, Debug, Default)]
pub struct Extra {
    parts: Box<[Part]>,
}

macro_rules! part {
    ($self:ident, $pat:pat => $out:expr) => {
        $self.parts.iter().find_map(|p| match p {
            $pat => Some($out),
            _ => None,
        })
    };
}

impl Extra {
    /// An extra holding `parts` (empty parts are left out by the caller).
    pub fn new(parts: Vec<Part>) -> Extra {
        Extra {
            parts: parts.into_boxed_slice(),
        }
    }
    /// True when no part is present.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
    /// All codes, when there is more than one.
    pub fn codes(&self) -> &[ReasonCode] {
        part!(self, Part::Codes(v) => v.as_slice()).unwrap_or(&[])
    }
    /// SUBSCRIBE / UNSUBSCRIBE filters.
    pub fn topics(&self) -> &[TopicEntry] {
        part!(self, Part::Topics(v) => v.as_slice()).unwrap_or(&[])
    }
    /// SUBACK per-filter outcomes.
    pub fn sub_outcomes(&self) -> &[SubOutcome] {
        part!(self, Part::SubOutcomes(v) => v.as_slice()).unwrap_or(&[])
    }
    /// Properties as text.
    pub fn properties(&self) -> &[(&'static str, String)] {
        part!(self, Part::Properties(v) => v.as_slice()).unwrap_or(&[])
    }
    /// Reason String.
    pub fn reason_string(&self) -> Option<&String> {
        part!(self, Part::ReasonString(v) => v)
    }
    /// CONNECT details.
    pub fn connect(&self) -> Option<&ConnectInfo> {
        part!(self, Part::Connect(v) => &**v)
    }
    /// Why the packet is malformed.
    pub fn malformed(&self) -> Option<&String> {
        part!(self, Part::Malformed(v) => v)
    }
    /// Anomalies.
    pub fn anomalies(&self) -> &[Anomaly] {
        part!(self, Part::Anomalies(v) => v.as_slice()).unwrap_or(&[])
    }
    /// Alias and wire topic, when an alias was used.
    pub fn alias(&self) -> Option<&(u16, String)> {
        part!(self, Part::Alias(v) => &**v)
    }
    /// CONNACK session present.
    pub fn session_present(&self) -> Option<bool> {
        part!(self, Part::SessionPresent(v) => *v)
    }
    /// Connection close details.
    pub fn close(&self) -> Option<&ConnClose> {
        part!(self, Part::Close(v) => &**v)
    }
    /// Stream notice: (offset, text).
    pub fn notice(&self) -> Option<&(u64, String)> {
        part!(self, Part::Notice(v) => &**v)
    }
    /// Gap reason.
    pub fn gap(&self) -> Option<GapReason> {
        part!(self, Part::Gap(v) => *v)
    }

    /// Estimated heap bytes (the box, the parts and what they own).
    pub fn heap_bytes(&self) -> usize {
        let parts: usize = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Codes(v) => v.capacity(),
                Part::Topics(v) => v
                    .iter()
                    .map(|t| std::mem::size_of::<TopicEntry>() + t.topic.capacity())
                    .sum(),
                Part::SubOutcomes(v) => v
                    .iter()
                    .map(|t| std::mem::size_of::<SubOutcome>() + t.topic.capacity())
                    .sum(),
                Part::Properties(v) => v.iter().map(|(_, s)| 24 + s.capacity()).sum(),
                Part::ReasonString(s) | Part::Malformed(s) => s.capacity(),
                Part::Connect(_) => 256,
                Part::Anomalies(v) => v.capacity() * std::mem::size_of::<Anomaly>(),
                Part::Alias(a) => 32 + a.1.capacity(),
                Part::Close(c) => std::mem::size_of::<ConnClose>() + c.unanswered.capacity() * 24,
                Part::Notice(n) => 32 + n.1.capacity(),
                Part::SessionPresent(_) | Part::Gap(_) => 0,
            })
            .sum();
        std::mem::size_of::<Extra>() + self.parts.len() * std::mem::size_of::<Part>() + parts
    }
}

/// Rows in capture order with a cap: the oldest are dropped past it.
///
/// Event ids are not stored per row: they grow by one per event, so the store keeps the
/// (sequence number, id) pairs where that run breaks (none in practice) and derives the rest.
pub struct Store {
    rows: VecDeque<Row>,
    /// Sequence number of `rows[0]` (rows dropped so far).
    base: u64,
    cap: usize,
    /// (sequence number, event id) where ids stop following sequence numbers one to one.
    id_runs: VecDeque<(u64, u64)>,
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
            id_runs: VecDeque::new(),
            raw: RawArena::default(),
            strings: Interner::default(),
            extra_bytes: 0,
        }
    }

    /// Appends the row of event `id`; returns its sequence number.
    pub fn push(&mut self, row: Row, id: u64) -> u64 {
        let seq = self.end();
        if self.id_runs.is_empty() || self.id_of(seq) != Some(id) {
            self.id_runs.push_back((seq, id));
        }
        self.extra_bytes += row.extra.as_ref().map_or(0, |e| e.heap_bytes());
        self.rows.push_back(row);
        seq
    }

    /// Stores the first `RAW_KEEP` raw bytes of a row; a PUBLISH topic equal to the row's
    /// interned topic is left out (it is most of a small PUBLISH's first bytes).
    pub fn set_raw(&mut self, row: &mut Row, bytes: &[u8]) {
        let bytes = bytes.get(..RAW_KEEP.min(bytes.len())).unwrap_or(&[]);
        let (at, len) = match self.topic_span(row, bytes) {
            Some((from, to)) => {
                row.flags |= F_RAW_TOPIC;
                let (a, b) = (bytes.get(..from), bytes.get(to..));
                self.raw.push_parts(a.unwrap_or(&[]), b.unwrap_or(&[]))
            }
            None => self.raw.push(bytes),
        };
        row.raw_at = at;
        row.raw_len = len;
    }

    /// Where the topic name starts in a PUBLISH's bytes (after the fixed header and the
    /// two length bytes, MQTT 5.0 section 3.3.2.1) and its length.
    fn topic_at(bytes: &[u8]) -> Option<(usize, usize)> {
        let mut hdr = 1;
        loop {
            let b = *bytes.get(hdr)?;
            hdr += 1;
            if b & 0x80 == 0 {
                break;
            }
            if hdr > 4 {
                return None;
            }
        }
        let len = u16::from_be_bytes([*bytes.get(hdr)?, *bytes.get(hdr + 1)?]);
        Some((hdr + 2, usize::from(len)))
    }

    /// The span of the topic bytes in `bytes` when they can be left out: a PUBLISH whose
    /// topic is wholly kept and equals the interned topic of the row.
    fn topic_span(&self, row: &Row, bytes: &[u8]) -> Option<(usize, usize)> {
        if row.ptype != PacketType::PUBLISH || row.topic == Sym::NONE || row.topic == Sym::DROPPED {
            return None;
        }
        let (from, len) = Self::topic_at(bytes)?;
        let wire = bytes.get(from..from + len)?;
        (len > 0 && wire == self.strings.get(row.topic).as_bytes()).then_some((from, from + len))
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
        while self.id_runs.get(1).is_some_and(|(s, _)| *s <= self.base) {
            self.id_runs.pop_front();
        }
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

    /// The event id of the row `seq` (also for `end()`, the id the next row would get when
    /// ids run on).
    pub fn id_of(&self, seq: u64) -> Option<u64> {
        let i = self.id_runs.partition_point(|(s, _)| *s <= seq);
        let (s, id) = self.id_runs.get(i.checked_sub(1)?)?;
        Some(id + (seq - s))
    }

    /// The sequence number of the row for event `id`, if kept.
    pub fn seq_of_event(&self, id: u64) -> Option<u64> {
        let i = self.id_runs.partition_point(|(_, x)| *x <= id);
        let (s, first) = self.id_runs.get(i.checked_sub(1)?)?;
        let seq = s + (id - first);
        let next_run = self.id_runs.get(i).map_or(u64::MAX, |(s, _)| *s);
        (seq >= self.base && seq < self.end() && seq < next_run).then_some(seq)
    }

    /// The event id row `seq` pairs with (its request when it is an answer, else its answer).
    pub fn pair_of(&self, seq: u64) -> Option<u64> {
        let r = self.get(seq)?;
        if r.pair == u32::MAX {
            return None;
        }
        let id = self.id_of(seq)?;
        if r.has(F_ANSWER) {
            id.checked_sub(u64::from(r.pair))
        } else {
            id.checked_add(u64::from(r.pair))
        }
    }

    /// Records on the request row `seq` that event `answer` answers it.
    pub fn set_answered_by(&mut self, seq: u64, answer: u64) {
        let Some(id) = self.id_of(seq) else {
            return;
        };
        if let Some(r) = self.get_mut(seq) {
            r.pair = answer
                .checked_sub(id)
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(u32::MAX);
        }
    }

    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The raw bytes of a row (the first `RAW_KEEP` of the packet; empty when released).
    pub fn raw_of(&self, row: &Row) -> Vec<u8> {
        let kept = self.raw.get(row.raw_at, usize::from(row.raw_len));
        if !row.has(F_RAW_TOPIC) || kept.is_empty() {
            return kept.to_vec();
        }
        let Some((from, _)) = Self::topic_at(kept) else {
            return kept.to_vec();
        };
        let (a, b) = kept.split_at(from.min(kept.len()));
        let mut out = Vec::with_capacity(RAW_KEEP);
        out.extend_from_slice(a);
        out.extend_from_slice(self.strings.get(row.topic).as_bytes());
        out.extend_from_slice(b);
        out.truncate(RAW_KEEP);
        out
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
            + self.id_runs.capacity() * 16
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
        let (x, n) = a.push(&[1, 2, 3]);
        assert_eq!(n, 3);
        let long = vec![7u8; 500];
        let (y, n) = a.push(&long);
        assert_eq!(usize::from(n), RAW_KEEP);
        assert_eq!(a.get(x, 3), &[1, 2, 3]);
        assert_eq!(a.get(y, RAW_KEEP).len(), RAW_KEEP);
        assert!(a.get(y, RAW_KEEP + 1).is_empty());
    }

    #[test]
    fn event_ids_follow_rows_and_survive_a_break_and_the_cap() {
        let mut st = Store::new(3);
        for id in [10, 11, 12, 20, 21] {
            st.push(Row::new(0, 0, 0), id);
        }
        assert_eq!(st.id_of(2), Some(12));
        assert_eq!(st.id_of(3), Some(20));
        assert_eq!(st.seq_of_event(12), Some(2));
        assert_eq!(st.seq_of_event(21), Some(4));
        assert_eq!(st.seq_of_event(13), None, "an id in the break is no row");
        assert_eq!(st.enforce_cap(), 2);
        assert_eq!(st.seq_of_event(11), None, "dropped");
        assert_eq!(st.seq_of_event(12), Some(2));
        assert_eq!(st.id_of(4), Some(21));
    }

    #[test]
    fn pairing_is_kept_both_ways_as_a_distance() {
        let mut st = Store::new(10);
        let req = st.push(Row::new(0, 0, 0), 0);
        st.push(Row::new(0, 0, 0), 1);
        let mut ans = Row::new(0, 0, 0);
        ans.ptype = PacketType::PUBACK;
        ans.set_answer(2, 3_500_000);
        let a = st.push(ans, 2);
        st.set_answered_by(req, 2);
        assert_eq!(st.pair_of(a), Some(0));
        assert_eq!(st.pair_of(req), Some(2));
        assert_eq!(st.pair_of(1), None);
        assert_eq!(st.get(a).map(|r| r.latency_ns()), Some(3_500_000));
    }

    #[test]
    fn latency_is_exact_below_two_seconds_and_in_microseconds_above() {
        for ns in [0, 1, 999, (1 << 31) - 1] {
            assert_eq!(decode_latency(encode_latency(ns)), ns);
        }
        assert_eq!(decode_latency(encode_latency(5_000_000_123)), 5_000_000_000);
        assert_eq!(decode_latency(encode_latency(-5)), 0);
        let top = decode_latency(encode_latency(i64::MAX));
        assert_eq!(top, ((1i64 << 31) - 1) * 1000, "saturates");
    }

    #[test]
    fn a_publish_keeps_its_payload_length() {
        let mut r = Row::new(0, 0, 0);
        r.ptype = PacketType::PUBLISH;
        r.set_payload_len(1150);
        assert_eq!(r.payload_len(), 1150);
        assert_eq!(r.latency_ns(), 0);
    }

    #[test]
    fn a_publish_topic_is_kept_once_and_put_back() {
        let mut st = Store::new(10);
        // PUBLISH QoS 1: fixed header 0x32, remaining length 0x0e; topic "a/bc" (00 04 ...),
        // packet id 00 07, payload "payload!" cut by nothing.
        let raw = [
            0x32, 0x10, 0x00, 0x04, b'a', b'/', b'b', b'c', 0x00, 0x07, b'p', b'a', b'y', b'l',
            b'o', b'a', b'd', b'!',
        ];
        let mut r = Row::new(0, 0, 0);
        r.ptype = PacketType::PUBLISH;
        r.topic = st.strings.intern("a/bc");
        st.set_raw(&mut r, &raw);
        assert!(r.has(F_RAW_TOPIC));
        assert_eq!(usize::from(r.raw_len), raw.len() - 4);
        assert_eq!(st.raw_of(&r), raw.to_vec());
        // A different interned topic (alias resolved) keeps the bytes as they are.
        let mut r2 = Row::new(0, 0, 0);
        r2.ptype = PacketType::PUBLISH;
        r2.topic = st.strings.intern("other");
        st.set_raw(&mut r2, &raw);
        assert!(!r2.has(F_RAW_TOPIC));
        assert_eq!(st.raw_of(&r2), raw.to_vec());
        // A long PUBLISH: the first RAW_KEEP bytes come back, no more.
        let mut long = raw.to_vec();
        long.resize(300, 0x41);
        let mut r3 = Row::new(0, 0, 0);
        r3.ptype = PacketType::PUBLISH;
        r3.topic = st.strings.intern("a/bc");
        st.set_raw(&mut r3, &long);
        assert_eq!(st.raw_of(&r3), long[..RAW_KEEP].to_vec());
        // Truncated headers never panic.
        for n in 0..raw.len() {
            let mut r4 = Row::new(0, 0, 0);
            r4.ptype = PacketType::PUBLISH;
            r4.topic = st.strings.intern("a/bc");
            st.set_raw(&mut r4, &raw[..n]);
            assert_eq!(st.raw_of(&r4), raw[..n].to_vec());
        }
    }

    #[test]
    fn row_stays_small() {
        assert!(
            std::mem::size_of::<Row>() <= 64,
            "{}",
            std::mem::size_of::<Row>()
        );
    }
}
