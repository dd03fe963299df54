//! One direction of a connection: in-order delivery, out-of-order buffer, overlaps and gaps.
//!
//! In-order bytes are handed on as slices of the segment (no copy). Only bytes that arrive
//! beyond a hole are copied, into one compact buffer holding the assembler's ranges back to back,
//! capped at `Limits::max_buffered_per_dir`. Overlap policy: the first copy of a byte wins; a
//! later copy that differs from a byte still held is reported as `OverlapMismatch`. Bytes
//! already delivered are not kept; for them, the last few in-order segments are remembered by
//! a fingerprint (range and its first and last 16 bytes), so a retransmission of exactly one of them that
//! carries different bytes is reported too.

use super::assembler::Assembler;
use super::seq::SeqNum;
use super::stats::Emitter;
use super::{ConnId, Dir, GapReason, TcpAnomaly};
use crate::limits::Limits;

/// Buffer capacity kept after the buffer empties; more is released.
const KEEP_CAPACITY: usize = 64 << 10;
/// In-order segments remembered per direction to check retransmissions of delivered bytes.
const RECENT: usize = 8;
/// Last delivered bytes kept per direction, to compare overlapping retransmissions with.
const TAIL: usize = 64;

/// A delivered segment: stream offset, length and a fingerprint of its bytes.
type Recent = (u64, u32, u64);

/// A cheap fingerprint of a segment's bytes: its length and four 8-byte words, two at its
/// start and two at its end, so it costs four loads and a few multiplies whatever the size.
/// Not a full hash: it catches a retransmission that differs in any of those 32 bytes (every
/// byte of a segment up to 32 bytes long). The words sit in the cache lines the parse and the
/// tail copy read anyway: words spread through the middle of each segment (at a third and two
/// thirds) cost two cache misses per segment, about 5 % of a `--format summary` run.
#[inline]
fn fingerprint(p: &[u8]) -> u64 {
    const K: u64 = 0x0100_0000_01B3;
    let n = p.len();
    let word = |at: usize| -> u64 {
        p.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let mut h: u64 = n as u64 ^ 0x9E37_79B9_7F4A_7C15;
    if n >= 8 {
        let last = n - 8;
        for at in [0, 8.min(last), last.saturating_sub(8), last] {
            h = (h.rotate_left(5) ^ word(at)).wrapping_mul(K);
        }
    } else {
        let mut w = [0u8; 8];
        for (d, b) in w.iter_mut().zip(p) {
            *d = *b;
        }
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^ h >> 29
}

/// Which connection and direction a stream's events belong to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tag {
    /// Connection.
    pub conn: ConnId,
    /// Direction.
    pub dir: Dir,
}

/// What a data segment turned out to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DataOutcome {
    /// At least one byte had been received before.
    pub retransmission: bool,
}

/// The reassembly state of one direction.
#[derive(Debug)]
pub(crate) struct Stream {
    /// Sequence number of stream offset 0.
    base: SeqNum,
    /// Next offset to deliver; everything below was delivered or declared a gap.
    next: u64,
    /// Out-of-order ranges held beyond `next`.
    asm: Assembler,
    /// Bytes of the held ranges back to back, starting at `buf[head]`.
    buf: Vec<u8>,
    /// Consumed prefix of `buf`.
    head: usize,
    /// Cap on held bytes.
    max_buffered: u64,
    /// Cap on held bytes across every stream of the reassembler (the memory budget's share).
    max_total: u64,
    /// Stream offset of this direction's FIN, once seen.
    fin: Option<u64>,
    /// The last in-order segments delivered straight from their frames (ring).
    recent: [Recent; RECENT],
    /// Next slot of `recent`.
    recent_at: usize,
    /// The last delivered bytes, ending at `next`: `tail[..tail_len]`.
    tail: [u8; TAIL],
    /// Bytes of `tail` in use.
    tail_len: usize,
}

impl Stream {
    /// A stream whose offset 0 is sequence number `base`.
    pub fn new(base: SeqNum, limits: &Limits) -> Self {
        Stream {
            base,
            next: 0,
            asm: Assembler::new(limits.max_holes_per_dir),
            buf: Vec::new(),
            head: 0,
            max_buffered: limits.max_buffered_per_dir as u64,
            max_total: limits.tcp_budget() as u64,
            fin: None,
            recent: [(0, 0, 0); RECENT],
            recent_at: 0,
            tail: [0; TAIL],
            tail_len: 0,
        }
    }

    /// Stream offset of `seq`, relative to the delivery point (negative: before offset 0).
    pub fn offset_of(&self, seq: SeqNum) -> i64 {
        let at_next = self.base.add_u64(self.next);
        self.next as i64 + i64::from(seq.diff(at_next))
    }

    /// Takes in a segment's payload starting at sequence number `seq`, of which `missing` bytes
    /// after `payload` were cut by the capture.
    #[inline]
    pub fn data(
        &mut self,
        em: &mut Emitter<'_, '_>,
        tag: Tag,
        seq: SeqNum,
        payload: &[u8],
        missing: u32,
    ) -> DataOutcome {
        // Fast path, the usual case: the next bytes in order, nothing held, no FIN yet, nothing
        // cut. Same result as the general path below, with none of its checks.
        if missing == 0
            && !payload.is_empty()
            && self.asm.is_empty()
            && self.fin.is_none()
            && seq == self.base.add_u64(self.next)
        {
            let s = self.next;
            self.note_delivered(s, payload);
            em.data(tag.conn, tag.dir, s, payload);
            self.next = s + payload.len() as u64;
            self.remember(payload);
            return DataOutcome::default();
        }
        self.data_general(em, tag, seq, payload, missing)
    }

    /// [`Stream::data`] for every case: retransmissions, overlaps, holes, FIN, snaplen cuts.
    #[inline(never)]
    fn data_general(
        &mut self,
        em: &mut Emitter<'_, '_>,
        tag: Tag,
        seq: SeqNum,
        payload: &[u8],
        missing: u32,
    ) -> DataOutcome {
        let mut outcome = DataOutcome::default();
        let start = self.offset_of(seq);
        let cap_len = payload.len() as i64;
        let mut wire_end = start + cap_len + i64::from(missing);
        if payload.is_empty() && missing == 0 {
            return outcome;
        }
        if wire_end <= 0 {
            outcome.retransmission = true;
            return outcome;
        }
        // Drop anything before offset 0.
        let skip = (-start).max(0);
        let mut p = payload.get(skip.min(cap_len) as usize..).unwrap_or(&[]);
        let mut s = start.max(0) as u64;
        if let Some(fin) = self.fin {
            if wire_end as u64 > fin {
                em.anomaly(tag.conn, tag.dir, TcpAnomaly::DataAfterFin);
                wire_end = fin as i64;
                let keep = fin.saturating_sub(s) as usize;
                p = p.get(..keep.min(p.len())).unwrap_or(&[]);
                if s >= fin {
                    return outcome;
                }
            }
        }
        let wire_end = wire_end as u64;
        let mut e = s + p.len() as u64;
        if s < self.next || self.asm.unheld_len(s, e) < e - s {
            outcome.retransmission = true;
        }
        // Bytes already delivered: compare the part still in the tail window byte by byte.
        let mut mm = Mismatch::default();
        if s < self.next {
            let tail_start = self.next - self.tail_len as u64;
            let a = s.max(tail_start);
            let b = e.min(self.next);
            if a < b {
                let theirs = p.get((a - s) as usize..(b - s) as usize).unwrap_or(&[]);
                let at = self.tail_len - (self.next - a) as usize;
                let first = self.tail.get(at..at + theirs.len()).unwrap_or(&[]);
                mm.compare(a, first, theirs);
            }
        }
        // A retransmission of exactly one remembered segment: compare fingerprints.
        let whole = start >= 0 && missing == 0 && p.len() == payload.len();
        if whole && e <= self.next {
            let len = p.len() as u32;
            let in_tail = s + self.tail_len as u64 >= self.next;
            if let Some(r) = self
                .recent
                .iter()
                .find(|r| r.0 == s && r.1 == len && !in_tail)
            {
                if r.2 != fingerprint(p) {
                    let kind = TcpAnomaly::OverlapMismatch { offset: s, len };
                    em.anomaly(tag.conn, tag.dir, kind);
                }
            }
        }
        let fresh = whole && s == self.next && self.asm.is_empty();
        // Forget the part already delivered.
        if s < self.next {
            let cut = (self.next - s).min(p.len() as u64) as usize;
            p = p.get(cut..).unwrap_or(&[]);
            s += cut as u64;
            e = s + p.len() as u64;
        }
        if s > self.next {
            self.make_room(em, tag, s, e);
            // Giving up holes may have delivered held bytes at or beyond `s`: forget those too.
            if s < self.next {
                let cut = (self.next - s).min(p.len() as u64) as usize;
                p = p.get(cut..).unwrap_or(&[]);
                s += cut as u64;
                e = s + p.len() as u64;
            }
        }
        if s > self.next {
            self.hold(em, s, p, &mut mm);
        } else if s < e {
            if fresh {
                self.note_delivered(s, p);
            }
            self.deliver_in_order(em, tag, s, p, &mut mm);
        }
        if let Some(kind) = mm.anomaly() {
            em.anomaly(tag.conn, tag.dir, kind);
        }
        if missing > 0 && self.next >= e && self.next < wire_end {
            self.give_up_to(em, tag, wire_end, GapReason::Snaplen);
        }
        outcome
    }

    /// Gives up holes until the out-of-order segment `[s, e)` fits under the caps: this
    /// direction's bytes and holes, and the bytes of the whole reassembler. Under the global
    /// cap a direction gives up its own holes (oldest first), so no stream waits on another.
    fn make_room(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, s: u64, e: u64) {
        let mut reported = false;
        while s > self.next {
            let new = self.asm.unheld_len(s, e);
            let over_total = em.stats.buffered_now + new > self.max_total;
            let over_bytes = over_total || self.asm.held() + new > self.max_buffered;
            let over_holes = !over_bytes && self.asm.len_after_insert(s, e) > self.asm.max();
            if !over_bytes && !over_holes {
                return;
            }
            if !reported {
                let kind = if over_total {
                    TcpAnomaly::BudgetCap
                } else if over_bytes {
                    TcpAnomaly::BufferCap
                } else {
                    TcpAnomaly::HoleCap
                };
                em.anomaly(tag.conn, tag.dir, kind);
                reported = true;
            }
            let target = self.asm.first().map_or(s, |r| r.start.min(s));
            self.give_up_to(em, tag, target, GapReason::Cap);
        }
    }

    /// Copies the out-of-order segment `[s, s + p.len())` into the buffer; bytes already held
    /// keep their first copy and are compared.
    fn hold(&mut self, em: &mut Emitter<'_, '_>, s: u64, p: &[u8], mm: &mut Mismatch) {
        let (now, frame) = (em.ts, em.frame_no);
        let e = s + p.len() as u64;
        let mut pos = s;
        while let Some((a, b, held)) = self.asm.part_at(pos, e) {
            pos = b;
            let bytes = p.get((a - s) as usize..(b - s) as usize).unwrap_or(&[]);
            let at = self.head + self.asm.held_before(a) as usize;
            if held {
                let first = self.buf.get(at..at + bytes.len()).unwrap_or(&[]);
                mm.compare(a, first, bytes);
                continue;
            }
            if at >= self.buf.len() {
                self.buf.extend_from_slice(bytes);
            } else {
                self.buf.splice(at..at, bytes.iter().copied());
            }
            if self.asm.insert_from(a, b, now, frame).is_err() {
                // make_room keeps this from happening; stay consistent if it ever does.
                self.buf.drain(at..at + bytes.len());
                return;
            }
            em.buffered_add(bytes.len() as u64);
        }
    }

    /// Delivers the segment `[s, s + p.len())` with `s == next`, interleaving held ranges
    /// (whose first copy wins), then every held range that became contiguous.
    fn deliver_in_order(
        &mut self,
        em: &mut Emitter<'_, '_>,
        tag: Tag,
        s: u64,
        p: &[u8],
        mm: &mut Mismatch,
    ) {
        let e = s + p.len() as u64;
        let mut pos = s;
        while pos < e {
            match self.asm.first() {
                Some(r) if r.start <= pos => {
                    let ov_end = r.end.min(e);
                    let theirs = p
                        .get((pos - s) as usize..(ov_end - s) as usize)
                        .unwrap_or(&[]);
                    let first = self
                        .buf
                        .get(self.head..self.head + theirs.len())
                        .unwrap_or(&[]);
                    mm.compare(pos, first, theirs);
                    self.deliver_first(em, tag, false);
                    pos = r.end;
                }
                other => {
                    let upto = other.map_or(e, |r| r.start.min(e));
                    let bytes = p
                        .get((pos - s) as usize..(upto - s) as usize)
                        .unwrap_or(&[]);
                    em.data(tag.conn, tag.dir, pos, bytes);
                    self.next = upto;
                    self.remember(bytes);
                    pos = upto;
                }
            }
        }
        self.drain_ready(em, tag);
    }

    /// Delivers the lowest held range from the buffer and moves `next` past it. `after_gap`:
    /// the hole before it was given up, so the bytes were complete when they arrived and are
    /// dated by their newest segment; otherwise the current segment completed them.
    fn deliver_first(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, after_gap: bool) {
        let Some(r) = self.asm.pop_first() else {
            return;
        };
        let len = r.len() as usize;
        em.buffered_sub(r.len());
        let end = (self.head + len).min(self.buf.len());
        let bytes = self.buf.get(self.head..end).unwrap_or(&[]);
        if after_gap && r.last.1 != 0 {
            em.data_at(tag.conn, tag.dir, r.start, bytes, r.last);
        } else {
            em.data(tag.conn, tag.dir, r.start, bytes);
        }
        self.head = end;
        if r.start == self.next {
            let (h, e2) = (self.head - len.min(self.head), end);
            let mut t = [0u8; TAIL];
            let src = self
                .buf
                .get(h.max(e2.saturating_sub(TAIL))..e2)
                .unwrap_or(&[]);
            t[..src.len()].copy_from_slice(src);
            self.remember(&t[..src.len()]);
        } else {
            self.tail_len = 0;
        }
        self.next = self.next.max(r.end);
        self.compact();
    }

    /// Delivers every held range that starts at the delivery point.
    fn drain_ready(&mut self, em: &mut Emitter<'_, '_>, tag: Tag) {
        while self.asm.first().is_some_and(|r| r.start <= self.next) {
            self.deliver_first(em, tag, false);
        }
    }

    /// Remembers a fresh segment delivered at stream offset `s`, for the retransmission check.
    #[inline]
    fn note_delivered(&mut self, s: u64, p: &[u8]) {
        if let Some(r) = self.recent.get_mut(self.recent_at) {
            *r = (s, p.len() as u32, fingerprint(p));
        }
        self.recent_at = (self.recent_at + 1) % RECENT;
    }

    /// Keeps the last bytes just delivered (ending at `next`) in the tail window.
    fn remember(&mut self, bytes: &[u8]) {
        if bytes.len() >= TAIL {
            self.tail.copy_from_slice(&bytes[bytes.len() - TAIL..]);
            self.tail_len = TAIL;
            return;
        }
        let keep = (TAIL - bytes.len()).min(self.tail_len);
        self.tail
            .copy_within(self.tail_len - keep..self.tail_len, 0);
        self.tail[keep..keep + bytes.len()].copy_from_slice(bytes);
        self.tail_len = keep + bytes.len();
    }

    /// Drops the consumed prefix of the buffer when worthwhile; releases a large empty buffer.
    fn compact(&mut self) {
        if self.asm.is_empty() {
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            } else {
                self.buf.clear();
            }
            self.head = 0;
        } else if self.head > 4096 && self.head > self.buf.len() / 2 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
    }

    /// Declares every hole below `target` a gap, delivering the held ranges between them, and
    /// moves the delivery point to at least `target`.
    pub fn give_up_to(
        &mut self,
        em: &mut Emitter<'_, '_>,
        tag: Tag,
        target: u64,
        reason: GapReason,
    ) {
        while let Some(r) = self.asm.first().filter(|r| r.start <= target) {
            if r.start > self.next {
                em.gap(tag.conn, tag.dir, self.next, r.start - self.next, reason);
                self.next = r.start;
                self.tail_len = 0;
            }
            self.deliver_first(em, tag, true);
        }
        if target > self.next {
            em.gap(tag.conn, tag.dir, self.next, target - self.next, reason);
            self.next = target;
            self.tail_len = 0;
        }
    }

    /// Records the FIN at stream offset `offset` (the first FIN seen wins).
    pub fn set_fin(&mut self, offset: u64) {
        if self.fin.is_none() {
            self.fin = Some(offset.max(self.next));
        }
    }

    /// The peer acknowledged everything before `ack`: holes below it are given up.
    #[inline]
    pub fn ack(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, ack: SeqNum) {
        let off = self.offset_of(ack);
        if off <= self.next as i64 {
            return;
        }
        self.acked_unseen(em, tag, off);
    }

    /// The peer acknowledged up to stream offset `off`, past the delivery point.
    #[inline(never)]
    fn acked_unseen(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, off: i64) {
        let target = self.fin.map_or(off as u64, |f| f.min(off as u64));
        self.give_up_to(em, tag, target, GapReason::AckedUnseen);
    }

    /// Gives up the holes older than `Limits::hole_timeout_secs` of capture time.
    #[inline]
    pub fn expire_holes(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, limits: &Limits) {
        if !self.asm.is_empty() {
            let timeout_ns = i64::try_from(limits.hole_timeout_secs.saturating_mul(1_000_000_000))
                .unwrap_or(i64::MAX);
            self.expire_holes_held(em, tag, timeout_ns);
        }
    }

    /// [`Stream::expire_holes`] when something is held.
    #[inline(never)]
    fn expire_holes_held(&mut self, em: &mut Emitter<'_, '_>, tag: Tag, timeout_ns: i64) {
        let now = em.ts;
        while let Some(r) = self.asm.first() {
            if now.0.saturating_sub(r.born.0) <= timeout_ns {
                break;
            }
            self.give_up_to(em, tag, r.start, GapReason::Timeout);
        }
    }

    /// Gives up every remaining hole (up to the FIN when known) and releases the buffer.
    pub fn close(&mut self, em: &mut Emitter<'_, '_>, tag: Tag) {
        let target = self.asm.end().unwrap_or(0).max(self.fin.unwrap_or(0));
        self.give_up_to(em, tag, target, GapReason::Closed);
        em.buffered_sub(self.asm.held());
        self.asm.clear();
        self.buf = Vec::new();
        self.head = 0;
    }
}

/// Overlapping bytes of one segment that differ from the first copy.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Mismatch {
    /// Stream offset of the first differing byte.
    first: Option<u64>,
    /// Number of differing bytes.
    count: u64,
}

impl Mismatch {
    /// Compares `theirs` with the `first` copy of the same bytes, which start at `offset`.
    fn compare(&mut self, offset: u64, first: &[u8], theirs: &[u8]) {
        if first == theirs {
            return;
        }
        for (i, (a, b)) in first.iter().zip(theirs).enumerate() {
            if a != b {
                self.first.get_or_insert(offset + i as u64);
                self.count += 1;
            }
        }
    }

    /// The anomaly to report, if any byte differed.
    fn anomaly(&self) -> Option<TcpAnomaly> {
        self.first.map(|offset| TcpAnomaly::OverlapMismatch {
            offset,
            len: u32::try_from(self.count).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprint_tells_apart_changed_sampled_bytes_and_lengths() {
        let base: Vec<u8> = (0..200u8).collect();
        let fp = fingerprint(&base);
        assert_eq!(fp, fingerprint(&base.clone()));
        // A change in each sampled word (two at the start, two at the end) changes the
        // fingerprint; the middle is not sampled.
        for at in [0, 7, 8, 15, 184, 191, 192, 199] {
            let mut changed = base.clone();
            changed[at] ^= 0xFF;
            assert_ne!(fingerprint(&changed), fp, "byte {at}");
        }
        let mut middle = base.clone();
        middle[100] ^= 0xFF;
        assert_eq!(fingerprint(&middle), fp);
        assert_ne!(fingerprint(&base[..199]), fp);
        // 8 to 16 bytes: the sampled words overlap and still cover every byte.
        for n in 8..=16 {
            for at in 0..n {
                let mut changed = base[..n].to_vec();
                changed[at] ^= 1;
                assert_ne!(fingerprint(&changed), fingerprint(&base[..n]), "{n} {at}");
            }
        }
        // Short segments: every byte counts, and so does the length.
        assert_ne!(fingerprint(b"abc"), fingerprint(b"abd"));
        assert_ne!(fingerprint(b"ab"), fingerprint(b"ab\0"));
        assert_ne!(fingerprint(b"abcdefghijk"), fingerprint(b"abcdefghijK"));
    }
}
