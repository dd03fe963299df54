//! Per-direction framing: splits in-order stream bytes into whole packets (5.0 §2.1,
//! 3.1.1 §2.2), zero-copy when a packet lies inside one `feed`, with a size cap and
//! resynchronisation after gaps.

use super::error::FrameError;
use super::header::{parse_header, FixedHeader, HeaderParse};
pub use super::resync::Sender;
use super::resync::{verdict, Context, Verdict, View};
use super::types::{PacketType, Version};
use std::fmt;

/// One framed packet: its stream offset, fixed header, whole bytes and body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Stream offset of the first header byte.
    pub offset: u64,
    /// The fixed header.
    pub header: FixedHeader,
    /// The whole packet, fixed header included.
    pub bytes: &'a [u8],
    /// The `remaining_len` bytes after the fixed header, less the `elided` ones.
    pub body: &'a [u8],
    /// Bytes of a PUBLISH payload passed over instead of kept (see
    /// [`Framer::set_elide_payloads`]): `bytes` and `body` then end early.
    pub elided: u64,
}

/// Why bytes of the stream were not handed out as packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A packet was cut by a gap; the range is the whole packet, the gap included.
    CutByGap,
    /// Bytes between a gap (or an unframeable header) and the next plausible header.
    Resync,
    /// The stream ended inside a packet (reported by `finish`).
    EndOfStream,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::CutByGap => "packet cut by a gap in the capture",
            SkipReason::Resync => "no plausible packet header (resynchronising)",
            SkipReason::EndOfStream => "stream ended inside a packet",
        })
    }
}

/// What the framer reports while consuming bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A whole packet.
    Packet(RawPacket<'a>),
    /// A packet larger than the cap (`size` is the whole packet); its bytes are skipped.
    Oversize {
        /// Stream offset of the packet.
        offset: u64,
        /// Its type.
        ptype: PacketType,
        /// Its fixed-header flags.
        flags: u8,
        /// Whole packet length, fixed header included.
        size: u64,
    },
    /// A stretch of the stream not handed out as packets.
    Skipped {
        /// Stream offset of the first byte.
        offset: u64,
        /// Length of the stretch.
        len: u64,
        /// Why.
        reason: SkipReason,
    },
    /// Bytes at `offset` cannot be framed; the framer resynchronises after them.
    Malformed {
        /// Stream offset of the bad header.
        offset: u64,
        /// Why.
        error: FrameError,
    },
}

/// What the framer holds between feeds, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// At a packet boundary with nothing buffered.
    Idle,
    /// Part of a fixed header is buffered.
    Header {
        /// Stream offset of the packet.
        offset: u64,
        /// Bytes buffered.
        buffered: usize,
    },
    /// Part of a packet is buffered.
    Packet {
        /// Stream offset of the packet.
        offset: u64,
        /// Bytes buffered.
        buffered: usize,
        /// Bytes still needed to complete it.
        need: u64,
    },
    /// Skipping the rest of an oversize or gap-cut packet.
    Skipping {
        /// Bytes still to skip.
        remaining: u64,
    },
    /// Searching for a plausible header.
    Resync {
        /// Stream offset where the search began.
        since: u64,
        /// Bytes held as an undecided candidate header.
        buffered: usize,
    },
}

impl fmt::Display for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Pending::Idle => f.write_str("at a packet boundary"),
            Pending::Header { offset, buffered } => write!(
                f,
                "{buffered} bytes of a fixed header at offset {offset} buffered, need more"
            ),
            Pending::Packet {
                offset,
                buffered,
                need,
            } => write!(
                f,
                "{buffered} bytes of a packet at offset {offset} buffered, need {need} more bytes"
            ),
            Pending::Skipping { remaining } => write!(f, "skipping {remaining} more bytes"),
            Pending::Resync { since, buffered } => write!(
                f,
                "resynchronising since offset {since} ({buffered} bytes held)"
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Sync,
    Skip { remaining: u64 },
    Resync { since: u64 },
}

/// Buffer capacity a framer keeps between packets; a larger one is freed once it empties.
const KEEP_CAPACITY: usize = 16 << 10;

/// PUBLISH packets at least this long may have their payload passed over when it spans
/// several feeds (see [`Framer::set_elide_payloads`]).
const ELIDE_MIN: usize = 2048;

/// Bytes of a PUBLISH kept at least when its payload is passed over (the raw bytes the
/// outputs show are shorter).
const ELIDE_KEEP: usize = 256;

/// Bytes of a PUBLISH up to the end of its variable header under `version` (5.0 §3.3.2,
/// 3.1.1 §3.3.2), or None while the bytes read by `at` do not tell yet.
fn publish_head(
    h: &FixedHeader,
    version: Version,
    at: impl Fn(usize) -> Option<u8>,
) -> Option<usize> {
    let mut n = usize::from(h.header_len);
    let topic = usize::from(u16::from_be_bytes([at(n)?, at(n + 1)?]));
    n += 2 + topic;
    if (h.flags >> 1) & 0x03 != 0 {
        n += 2; // packet identifier
    }
    if version.is_v5() {
        let mut len = 0usize;
        for i in 0..4 {
            let b = at(n + i)?;
            len |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(n + i + 1 + len);
            }
        }
        return Some(usize::MAX); // a bad varint: keep everything, the decoder reports it
    }
    Some(n)
}

/// Frames one direction of a connection; memory is bounded by `max_packet`.
#[derive(Clone, Debug)]
pub struct Framer {
    max_packet: usize,
    /// Stream offset of the next byte to arrive.
    pos: u64,
    /// Bytes at `[pos - buf.len(), pos)`: an incomplete packet (Sync) or candidate (Resync).
    buf: Vec<u8>,
    mode: Mode,
    /// Set while `finish` rescans held bytes: no more bytes will come.
    ending: bool,
    /// Skipped events produced by `gap`, handed out at the next `feed` or `finish`.
    deferred: [Option<(u64, u64, SkipReason)>; 2],
    /// The sending side, when known (resynchronisation refuses types it never sends).
    sender: Option<Sender>,
    /// The connection's version, when known (resynchronisation checks packets under it).
    version: Option<Version>,
    /// Bit `t` set: a packet of type `t` was framed.
    framed: u16,
    /// Picked up mid-stream: offset 0 was not the start of the stream.
    mid_stream: bool,
    /// Room for a resync candidate split between held and new bytes (under `max_packet`).
    scratch: Vec<u8>,
    /// A gap that came while resync candidates were held: the held bytes are settled as the
    /// end of a stretch (at the next `feed` or `finish`) before the gap is applied.
    gap_after_held: u64,
    /// Pass over the payload of long PUBLISH packets split across feeds.
    elide: bool,
    /// Bytes of the incomplete packet passed over after the `buf` ones.
    elided: u64,
    /// Whole length of the packet whose payload is being passed over (while `elided > 0`).
    passing_total: u64,
    /// Resynchronising from where a gap ended, nothing fed since: the next feed starts right
    /// after the lost bytes (see `resync_scan`).
    gap_end: bool,
}

/// Byte `i` of `a` followed by `b`.
#[inline]
fn at2(a: &[u8], b: &[u8], i: usize) -> Option<u8> {
    match a.get(i) {
        Some(&x) => Some(x),
        None => b.get(i - a.len()).copied(),
    }
}

impl Framer {
    /// A framer at stream offset 0 expecting a packet boundary; packets whose whole length
    /// exceeds `max_packet` are reported and skipped, never buffered.
    pub fn new(max_packet: usize) -> Self {
        Framer {
            max_packet,
            pos: 0,
            buf: Vec::new(),
            mode: Mode::Sync,
            ending: false,
            deferred: [None; 2],
            sender: None,
            version: None,
            framed: 0,
            mid_stream: false,
            scratch: Vec::new(),
            gap_after_held: 0,
            elide: false,
            elided: 0,
            passing_total: 0,
            gap_end: false,
        }
    }

    /// With `true`, a PUBLISH of at least 2 KiB whose bytes span several feeds is handed out
    /// with its header, variable header and first payload bytes only (at least 256 bytes in
    /// all), the rest of its payload counted in [`RawPacket::elided`] instead of copied: for
    /// outputs that only show a payload's length. Only once the version is known.
    pub fn set_elide_payloads(&mut self, elide: bool) {
        self.elide = elide;
    }

    fn skip_or_sync(remaining: u64) -> Mode {
        if remaining == 0 {
            Mode::Sync
        } else {
            Mode::Skip { remaining }
        }
    }

    fn defer(&mut self, offset: u64, len: u64, reason: SkipReason) {
        match &mut self.deferred {
            [slot @ None, _] | [Some(_), slot @ None] => *slot = Some((offset, len, reason)),
            [_, Some(last)] => last.1 = (offset + len).saturating_sub(last.0),
        }
    }

    #[inline]
    fn flush(&mut self, out: &mut impl FnMut(FrameEvent<'_>)) {
        // `defer` fills slot 0 first: nothing deferred is the common case, checked inline.
        if self.deferred[0].is_some() {
            self.flush_deferred(out);
        }
    }

    #[cold]
    fn flush_deferred(&mut self, out: &mut impl FnMut(FrameEvent<'_>)) {
        for slot in &mut self.deferred {
            if let Some((offset, len, reason)) = slot.take() {
                out(FrameEvent::Skipped {
                    offset,
                    len,
                    reason,
                });
            }
        }
    }

    /// Changes the size cap; a buffered packet over the new cap is reported as oversize and
    /// skipped at the next `feed` (the session layer lowers it under memory pressure).
    pub fn set_max_packet(&mut self, max_packet: usize) {
        self.max_packet = max_packet;
    }

    /// Bytes of memory the framer holds (its buffer's capacity).
    pub fn held_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Tells the framer which side sends its bytes: after a gap it then refuses packet types
    /// that side never sends.
    pub fn set_sender(&mut self, sender: Option<Sender>) {
        self.sender = sender;
    }

    /// Tells the framer the connection's protocol version: after a gap, candidate packets
    /// must then decode under it (else under 3.1.1 or 5.0).
    pub fn set_version(&mut self, version: Option<Version>) {
        self.version = version;
    }

    /// Stream offset of the next byte expected.
    pub fn offset(&self) -> u64 {
        self.pos + self.gap_after_held
    }

    /// Stream offset of the first byte still held (an incomplete packet or resync candidates);
    /// equals [`Framer::offset`] when nothing is held.
    pub fn held_from(&self) -> u64 {
        self.pos - self.buf.len() as u64 - self.elided
    }

    /// Starts searching for a plausible header (e.g. a connection picked up mid-stream).
    pub fn resync(&mut self) {
        if self.mode == Mode::Sync && self.buf.is_empty() {
            self.mode = Mode::Resync { since: self.pos };
            self.mid_stream |= self.pos == 0;
        }
    }

    /// True while resynchronising after lost bytes: bytes seen are held or skipped, so a
    /// packet among them is handed out late, or never.
    pub fn resyncing(&self) -> bool {
        matches!(self.mode, Mode::Resync { .. })
    }

    /// What is buffered or awaited.
    pub fn pending(&self) -> Pending {
        let start = self.held_from();
        match self.mode {
            Mode::Skip { remaining } => Pending::Skipping { remaining },
            Mode::Resync { since } => Pending::Resync {
                since,
                buffered: self.buf.len(),
            },
            Mode::Sync if self.buf.is_empty() => Pending::Idle,
            Mode::Sync => match parse_header(|i| self.buf.get(i).copied()) {
                HeaderParse::Complete(h) => Pending::Packet {
                    offset: start,
                    buffered: self.buf.len(),
                    need: h
                        .total_len()
                        .saturating_sub(self.buf.len() as u64 + self.elided),
                },
                _ => Pending::Header {
                    offset: start,
                    buffered: self.buf.len(),
                },
            },
        }
    }

    /// Consumes the next in-order bytes of the stream, reporting every event to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut impl FnMut(FrameEvent<'_>)) {
        if self.pass_over(bytes.len()) {
            return;
        }
        self.settle_before_gap(out);
        self.flush(out);
        let mut input = bytes;
        loop {
            // Held bytes may still hold work (a resync can leave whole packets buffered).
            if input.is_empty() && self.buf.is_empty() {
                break;
            }
            let before = (input.len(), self.buf.len(), self.mode);
            input = match self.mode {
                Mode::Skip { remaining } => {
                    let n = remaining.min(input.len() as u64);
                    self.pos += n;
                    self.mode = Self::skip_or_sync(remaining - n);
                    input.get(n as usize..).unwrap_or(&[])
                }
                Mode::Sync if self.buf.is_empty() => self.sync_direct(input, out),
                Mode::Sync => self.sync_buffered(input, out),
                Mode::Resync { since } => self.resync_scan(input, since, out),
            };
            if (input.len(), self.buf.len(), self.mode) == before {
                break;
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
            // A large packet passed: do not keep its memory for the life of the connection.
            self.buf = Vec::new();
        }
    }

    /// Inside the payload of a PUBLISH being passed over and short of its end, `len` next
    /// bytes are only counted: true when they were (nothing is reported and no packet ends in
    /// them), false when they must be fed.
    #[inline]
    pub fn pass_over(&mut self, len: usize) -> bool {
        if self.elided == 0
            || self.mode != Mode::Sync
            || self.gap_after_held != 0
            || self.deferred[0].is_some()
            || self.passing_total > self.max_packet as u64
        {
            return false;
        }
        let left = self
            .passing_total
            .saturating_sub(self.buf.len() as u64 + self.elided);
        let n = len as u64;
        if n >= left {
            return false;
        }
        self.elided += n;
        self.pos += n;
        true
    }

    /// Accounts for `len` lost bytes; a packet cut by them is reported (at the next `feed` or
    /// `finish`) and skipped, and framing resumes at its end when known, else resynchronises.
    pub fn gap(&mut self, len: u64) {
        if len == 0 {
            return;
        }
        if self.gap_after_held > 0
            || (matches!(self.mode, Mode::Resync { .. }) && !self.buf.is_empty())
        {
            // Held candidates end where the gap starts: a chain ending exactly there may
            // still be real. They are decided at the next `feed` or `finish`.
            self.gap_after_held += len;
            return;
        }
        let start = self.held_from();
        match self.mode {
            Mode::Skip { remaining } if len <= remaining => {
                self.pos += len;
                self.mode = Self::skip_or_sync(remaining - len);
                return;
            }
            Mode::Skip { .. } => {}
            Mode::Resync { since } => {
                if self.pos > since {
                    self.defer(since, self.pos - since, SkipReason::Resync);
                }
            }
            Mode::Sync if self.buf.is_empty() => {}
            Mode::Sync => {
                let total = match parse_header(|i| self.buf.get(i).copied()) {
                    HeaderParse::Complete(h) => h.total_len(),
                    _ => self.buf.len() as u64,
                };
                self.defer(start, total, SkipReason::CutByGap);
                let end = start + total;
                self.buf.clear();
                self.elided = 0;
                if self.pos + len <= end {
                    self.pos += len;
                    self.mode = Self::skip_or_sync(end - self.pos);
                    return;
                }
            }
        }
        self.buf.clear();
        self.pos += len;
        self.mode = Mode::Resync { since: self.pos };
        self.gap_end = true;
    }

    /// Ends the stream: reports bytes of an incomplete packet or resync still held.
    pub fn finish(&mut self, out: &mut impl FnMut(FrameEvent<'_>)) {
        self.settle_before_gap(out);
        self.flush(out);
        if matches!(self.mode, Mode::Resync { .. }) && !self.buf.is_empty() {
            // Candidates held for lack of bytes: rescan knowing that none will come.
            let held = std::mem::take(&mut self.buf);
            self.pos -= held.len() as u64;
            self.ending = true;
            self.feed(&held, out);
            self.ending = false;
        }
        let start = self.held_from();
        match self.mode {
            Mode::Sync if !self.buf.is_empty() => out(FrameEvent::Skipped {
                offset: start,
                len: self.buf.len() as u64 + self.elided,
                reason: SkipReason::EndOfStream,
            }),
            Mode::Resync { since } if self.pos > since => out(FrameEvent::Skipped {
                offset: since,
                len: self.pos - since,
                reason: SkipReason::Resync,
            }),
            _ => {}
        }
        self.buf.clear();
        self.elided = 0;
        self.mode = Mode::Sync;
    }

    /// Decides resync candidates held when a gap came, knowing that their stretch ends at the
    /// gap, then applies the gap.
    #[inline]
    fn settle_before_gap(&mut self, out: &mut impl FnMut(FrameEvent<'_>)) {
        if self.gap_after_held != 0 {
            self.settle_held(out);
        }
    }

    #[cold]
    fn settle_held(&mut self, out: &mut impl FnMut(FrameEvent<'_>)) {
        let len = std::mem::take(&mut self.gap_after_held);
        self.flush(out);
        let held = std::mem::take(&mut self.buf);
        self.pos -= held.len() as u64;
        self.ending = true;
        self.feed(&held, out);
        self.ending = false;
        self.gap(len);
    }

    /// Sync mode, nothing buffered: frames straight from `input` without copying.
    fn sync_direct<'i>(
        &mut self,
        input: &'i [u8],
        out: &mut impl FnMut(FrameEvent<'_>),
    ) -> &'i [u8] {
        match parse_header(|i| input.get(i).copied()) {
            HeaderParse::Complete(h) => {
                let total = h.total_len();
                if total > self.max_packet as u64 {
                    self.oversize(&h, self.pos, out);
                    let n = total.min(input.len() as u64);
                    self.pos += n;
                    if n < total {
                        self.mode = Mode::Skip {
                            remaining: total - n,
                        };
                    }
                    return input.get(n as usize..).unwrap_or(&[]);
                }
                let total = total as usize;
                match (input.get(..total), input.get(total..)) {
                    (Some(bytes), Some(rest)) => {
                        let body = bytes.get(usize::from(h.header_len)..).unwrap_or(&[]);
                        self.framed |= 1 << (h.ptype.0 & 0x0f);
                        out(FrameEvent::Packet(RawPacket {
                            offset: self.pos,
                            header: h,
                            bytes,
                            body,
                            elided: 0,
                        }));
                        self.pos += total as u64;
                        rest
                    }
                    // The packet continues in later segments.
                    _ => self.sync_buffered(input, out),
                }
            }
            HeaderParse::Incomplete(_) => self.stash(input),
            HeaderParse::BadVarint(bytes) => {
                let first = input.first().copied().unwrap_or(0);
                out(FrameEvent::Malformed {
                    offset: self.pos,
                    error: FrameError::BadVarint { first, bytes },
                });
                self.mode = Mode::Resync { since: self.pos };
                self.pos += 1;
                input.get(1..).unwrap_or(&[])
            }
        }
    }

    /// Copies the whole of `input` into the pending buffer.
    fn stash<'i>(&mut self, input: &'i [u8]) -> &'i [u8] {
        self.buf.extend_from_slice(input);
        self.pos += input.len() as u64;
        &[]
    }

    fn oversize(&self, h: &FixedHeader, offset: u64, out: &mut impl FnMut(FrameEvent<'_>)) {
        out(FrameEvent::Oversize {
            offset,
            ptype: h.ptype,
            flags: h.flags,
            size: h.total_len(),
        });
    }

    /// Hands out the first `len` held bytes as the packet at `start` (with the `elided` bytes
    /// passed over after them); false when fewer are held.
    fn hand_out(
        &mut self,
        h: FixedHeader,
        start: u64,
        len: usize,
        out: &mut impl FnMut(FrameEvent<'_>),
    ) -> bool {
        let Some(bytes) = self.buf.get(..len) else {
            return false;
        };
        let body = bytes.get(usize::from(h.header_len)..).unwrap_or(&[]);
        self.framed |= 1 << (h.ptype.0 & 0x0f);
        out(FrameEvent::Packet(RawPacket {
            offset: start,
            header: h,
            bytes,
            body,
            elided: self.elided,
        }));
        true
    }

    /// Sync mode with an incomplete packet buffered: completes it from `input`.
    fn sync_buffered<'i>(
        &mut self,
        input: &'i [u8],
        out: &mut impl FnMut(FrameEvent<'_>),
    ) -> &'i [u8] {
        let start = self.held_from();
        match parse_header(|i| at2(&self.buf, input, i)) {
            HeaderParse::Complete(h) => {
                let total = h.total_len();
                let held = self.buf.len() as u64 + self.elided;
                if total > self.max_packet as u64 {
                    self.oversize(&h, start, out);
                    if held >= total {
                        self.buf.drain(..total as usize);
                    } else {
                        self.mode = Mode::Skip {
                            remaining: total - held,
                        };
                        self.buf.clear();
                    }
                    self.elided = 0;
                    return input;
                }
                let total = total as usize;
                // A long PUBLISH whose payload may be passed over: keep its head only.
                let keep = match self.version {
                    // Passing over already: the head is what is held.
                    _ if self.elided > 0 => Some(self.buf.len()),
                    Some(v)
                        if self.elide && h.ptype == PacketType::PUBLISH && total >= ELIDE_MIN =>
                    {
                        publish_head(&h, v, |i| at2(&self.buf, input, i))
                            .map(|n| n.max(ELIDE_KEEP))
                            .filter(|&n| n < total && self.buf.len() <= n)
                    }
                    _ => None,
                };
                let keep_to = keep.unwrap_or(total);
                let mut rest = input;
                if self.buf.len() < keep_to {
                    self.buf.reserve_exact(keep_to - self.buf.len());
                    let take = (keep_to - self.buf.len()).min(input.len());
                    let (head, tail) = input.split_at(take);
                    self.buf.extend_from_slice(head);
                    self.pos += take as u64;
                    rest = tail;
                }
                if let Some(k) = keep.filter(|&k| self.buf.len() == k) {
                    // Pass over the payload's rest; hand the head out once the packet ends.
                    self.passing_total = total as u64;
                    let left = total as u64 - k as u64 - self.elided;
                    let n = left.min(rest.len() as u64);
                    self.elided += n;
                    self.pos += n;
                    rest = rest.get(n as usize..).unwrap_or(&[]);
                    if n == left {
                        self.hand_out(h, start, k, out);
                        self.buf.clear();
                        self.elided = 0;
                    }
                    return rest;
                }
                // After a resync the buffer may hold more than one packet.
                if self.hand_out(h, start, total, out) {
                    self.buf.drain(..total);
                    if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
                        // A large packet's room is given back: memory follows what is held.
                        self.buf = Vec::new();
                    }
                }
                rest
            }
            HeaderParse::Incomplete(_) => self.stash(input),
            HeaderParse::BadVarint(bytes) => {
                let first = self.buf.first().copied().unwrap_or(0);
                out(FrameEvent::Malformed {
                    offset: start,
                    error: FrameError::BadVarint { first, bytes },
                });
                self.buf.remove(0);
                self.mode = Mode::Resync { since: start };
                input
            }
        }
    }

    /// Resync mode: looks for a plausible chain of headers in the held bytes then `input`.
    fn resync_scan<'i>(
        &mut self,
        input: &'i [u8],
        since: u64,
        out: &mut impl FnMut(FrameEvent<'_>),
    ) -> &'i [u8] {
        let held = self.buf.len();
        let start = self.pos - held as u64;
        let ctx = Context {
            sender: self.sender,
            version: self.version,
            framed: self.framed,
            mid_stream: self.mid_stream,
            max_packet: self.max_packet,
        };
        let view = View {
            a: &self.buf,
            b: input,
        };
        let view_len = view.len();
        // The first feed after a gap, when the lost bytes were whole segments, starts with a
        // packet; and an MQTT peer writes whole packets, so a segment often ends with one. A
        // chain starting right after the gap and filling this feed exactly is as strong
        // evidence as a chain ending exactly at the stream's end (`END_BITS`), and is taken at
        // once instead of waiting for the next header: on a quiet connection (keep-alive
        // pings) that may come half a minute later, and the other direction's events would
        // meanwhile be handed out before it and paired wrongly.
        let gap_end = std::mem::take(&mut self.gap_end);
        let whole_after_gap = gap_end
            && held == 0
            && start == since
            && !input.is_empty()
            && verdict(&view, 0, &ctx, true, &mut self.scratch) == Verdict::Yes;
        let mut found = whole_after_gap.then_some(0);
        let mut undecided = None;
        let scan_to = if whole_after_gap { 0 } else { view_len };
        for i in 0..scan_to {
            match verdict(&view, i, &ctx, self.ending, &mut self.scratch) {
                Verdict::Yes => {
                    found = Some(i);
                    break;
                }
                Verdict::No => {}
                Verdict::More => {
                    undecided = Some(i);
                    break;
                }
            }
        }
        if self.scratch.capacity() > KEEP_CAPACITY {
            self.scratch = Vec::new();
        }
        if let Some(i) = found {
            let at = start + i as u64;
            if at > since {
                out(FrameEvent::Skipped {
                    offset: since,
                    len: at - since,
                    reason: SkipReason::Resync,
                });
            }
            self.mode = Mode::Sync;
            if i < held {
                self.buf.drain(..i);
                return input;
            }
            self.buf.clear();
            let k = i - held;
            self.pos += k as u64;
            return input.get(k..).unwrap_or(&[]);
        }
        // Keep an undecided tail: a cut header, or a candidate packet (under `max_packet`).
        let keep_from = undecided.unwrap_or(view_len);
        if keep_from < held {
            self.buf.drain(..keep_from);
            self.buf.extend_from_slice(input);
        } else {
            self.buf.clear();
            self.buf
                .extend_from_slice(input.get(keep_from - held..).unwrap_or(&[]));
        }
        self.pos += input.len() as u64;
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PUBLISH (QoS 0, topic "t") with `n` payload bytes.
    fn publish(n: usize) -> Vec<u8> {
        let body = 3 + n;
        let mut v = vec![0x30];
        let mut l = body;
        loop {
            let mut b = (l % 128) as u8;
            l /= 128;
            if l > 0 {
                b |= 0x80;
            }
            v.push(b);
            if l == 0 {
                break;
            }
        }
        v.extend_from_slice(&[0, 1, b't']);
        v.extend((0..n).map(|i| (i % 251) as u8));
        v
    }

    #[test]
    fn a_passed_over_payload_counts_every_feed_and_a_lowered_cap_still_applies() {
        let big = publish(10_000);
        for lower_at in [None, Some(3)] {
            let mut f = Framer::new(1 << 20);
            f.set_elide_payloads(true);
            f.set_version(Some(Version::V3_1_1));
            let mut seen = Vec::new();
            for (i, seg) in big.chunks(500).enumerate() {
                if Some(i) == lower_at {
                    f.set_max_packet(4096);
                }
                f.feed(seg, &mut |fe| match fe {
                    FrameEvent::Packet(p) => seen.push((p.bytes.len() as u64, p.elided)),
                    FrameEvent::Oversize { size, .. } => seen.push((size, u64::MAX)),
                    _ => {}
                });
            }
            let total = big.len() as u64;
            let want = match lower_at {
                None => (ELIDE_KEEP as u64, total - ELIDE_KEEP as u64),
                Some(_) => (total, u64::MAX),
            };
            assert_eq!(seen, vec![want]);
            assert_eq!(f.offset(), total);
            assert_eq!(f.held_from(), total);
        }
        // Counting only: inside the passed-over payload, never at its end or between packets.
        let mut f = Framer::new(1 << 20);
        f.set_elide_payloads(true);
        f.set_version(Some(Version::V3_1_1));
        assert!(!f.pass_over(10));
        let (head, tail) = big.split_at(1000);
        f.feed(head, &mut |_| panic!("nothing ends in the head"));
        assert!(f.pass_over(10));
        assert_eq!(f.offset(), 1010);
        assert!(!f.pass_over(tail.len() - 10));
        assert_eq!(f.offset(), 1010);
    }

    #[test]
    fn a_large_packet_over_many_segments_is_whole_and_its_room_given_back() {
        let big = publish(40_000);
        let small = publish(2_000);
        let mut f = Framer::new(1 << 20);
        let mut seen: Vec<Vec<u8>> = Vec::new();
        let total = (big.len() + small.len()) as u64;
        let mut stream = big.clone();
        stream.extend_from_slice(&small);
        for seg in stream.chunks(1460) {
            f.feed(seg, &mut |fe| {
                if let FrameEvent::Packet(p) = fe {
                    seen.push(p.bytes.to_vec());
                }
            });
            if seen.len() == 1 && f.buf.is_empty() {
                assert_eq!(f.buf.capacity(), 0, "40 KB of room kept after the packet");
            }
        }
        assert_eq!(seen, vec![big, small]);
        // The small packet's room (under KEEP_CAPACITY) is kept for the next one.
        assert!(f.buf.is_empty());
        assert!(f.buf.capacity() >= 2_000 && f.buf.capacity() <= KEEP_CAPACITY);
        assert_eq!(f.offset(), total);
    }
}
