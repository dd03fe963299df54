//! Classic pcap (libpcap savefile) parsing: global header and packet records, pure.
//!
//! Layout (draft-ietf-opsawg-pcap): a 24-byte file header (magic, version, reserved, snaplen,
//! link type) followed by records of a 16-byte header (seconds, microseconds or nanoseconds,
//! captured length, original length) and the captured bytes. The magic number gives the byte
//! order and the timestamp resolution.

use super::input::MAX_RECORD;
use super::record::{Endian, Probe, Record, Step};
use super::{LinkType, Ts};

/// Magic number of a microsecond-resolution pcap file.
pub(crate) const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
/// Magic number of a nanosecond-resolution pcap file.
pub(crate) const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
/// Size of the file header.
const FILE_HEADER: usize = 24;
/// Size of a record header.
const RECORD_HEADER: usize = 16;
/// Records up to this size are accepted whatever the header's snaplen says (libpcap's default
/// maximum snapshot length): many writers put a smaller or zero snaplen in the header.
const SNAPLEN_FLOOR: u32 = 262_144;
/// Resynchronisation accepts a record whose seconds are at most this far before the last good one.
const RESYNC_BACK_SECS: i64 = 24 * 3600;
/// Resynchronisation accepts a record whose seconds are at most this far after the last good one.
const RESYNC_AHEAD_SECS: i64 = 7 * 24 * 3600;

/// True when the first four bytes are a classic pcap magic number in either byte order.
pub(crate) fn is_magic(m: [u8; 4]) -> bool {
    [MAGIC_MICROS, MAGIC_NANOS].contains(&u32::from_le_bytes(m))
        || [MAGIC_MICROS, MAGIC_NANOS].contains(&u32::from_be_bytes(m))
}

/// What the file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    endian: Endian,
    /// Nanoseconds per unit of the record's fraction field (1000 or 1).
    frac_ns: u32,
    /// Largest fraction value that is valid (999_999 or 999_999_999).
    frac_max: u32,
    linktype: LinkType,
    /// Largest caplen accepted: max(snaplen, SNAPLEN_FLOOR), at most MAX_RECORD.
    max_caplen: u32,
}

/// Parser state of a classic pcap file.
#[derive(Debug, Default)]
pub(crate) struct PcapParser {
    header: Option<Header>,
    /// Seconds of the last good record (anchor of the resynchronisation window).
    last_secs: Option<i64>,
}

impl PcapParser {
    /// A parser positioned at the start of the file.
    pub(crate) fn new() -> PcapParser {
        PcapParser::default()
    }

    /// Decides what the bytes at the start of `w` are.
    pub(crate) fn step(&mut self, w: &[u8]) -> Step {
        let Some(h) = self.header else {
            return self.file_header(w);
        };
        if let Some(rec) = self.packet(w) {
            return Step::Packet(rec);
        }
        // Not a whole, sane record: say what is missing or wrong.
        let Some(caplen) = h.endian.u32(w, 8).filter(|_| w.len() >= RECORD_HEADER) else {
            return Step::Need(RECORD_HEADER);
        };
        if caplen > h.max_caplen {
            return Step::damaged(format!(
                "record header claims {caplen} captured bytes, more than the {} a record may hold",
                h.max_caplen
            ));
        }
        Step::Need(RECORD_HEADER + caplen as usize)
    }

    /// The packet record at the start of `w` when it is all there and sane (`step`'s
    /// `Step::Packet`, and the reader's fast path); None when `step` must say why (file header,
    /// short window, damage).
    #[inline]
    pub(crate) fn packet(&mut self, w: &[u8]) -> Option<Record> {
        let h = self.header.as_ref()?;
        let head: &[u8; RECORD_HEADER] = w.get(..RECORD_HEADER)?.try_into().ok()?;
        let big = h.endian == Endian::Big;
        let word = |at: usize| {
            let v = u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
            if big {
                v.swap_bytes()
            } else {
                v
            }
        };
        let caplen = word(8);
        let len = RECORD_HEADER + caplen as usize;
        if caplen > h.max_caplen || w.len() < len {
            return None;
        }
        let (secs, frac) = (word(0), word(4));
        let nanos = i64::from(frac).saturating_mul(i64::from(h.frac_ns));
        let rec = Record {
            len,
            data_off: RECORD_HEADER,
            caplen,
            orig_len: word(12),
            ts: Ts(Ts::from_parts(i64::from(secs), 0).0.saturating_add(nanos)),
            linktype: h.linktype,
        };
        self.last_secs = Some(i64::from(secs));
        Some(rec)
    }

    /// Parses the 24-byte file header.
    fn file_header(&mut self, w: &[u8]) -> Step {
        let Some(m) = w.get(0..4).and_then(|m| <[u8; 4]>::try_from(m).ok()) else {
            return Step::Need(FILE_HEADER);
        };
        let (endian, frac_ns, frac_max) = match (u32::from_le_bytes(m), u32::from_be_bytes(m)) {
            (MAGIC_MICROS, _) => (Endian::Little, 1000, 999_999),
            (MAGIC_NANOS, _) => (Endian::Little, 1, 999_999_999),
            (_, MAGIC_MICROS) => (Endian::Big, 1000, 999_999),
            (_, MAGIC_NANOS) => (Endian::Big, 1, 999_999_999),
            _ => {
                return Step::Damaged {
                    reason: format!("the pcap magic number is wrong ({m:02x?})"),
                    resumable: false,
                    skip: None,
                }
            }
        };
        let (Some(snaplen), Some(network)) = (endian.u32(w, 16), endian.u32(w, 20)) else {
            return Step::Need(FILE_HEADER);
        };
        let max_caplen = snaplen.max(SNAPLEN_FLOOR).min(MAX_RECORD as u32);
        self.header = Some(Header {
            endian,
            frac_ns,
            frac_max,
            // The upper 16 bits hold FCS information; the link type is the lower 16.
            linktype: LinkType((network & 0xFFFF) as u16),
            max_caplen,
        });
        Step::Skip(FILE_HEADER)
    }

    /// Is there a plausible record header at the start of `w`? `eof` says that `w` holds
    /// everything up to the end of the input.
    ///
    /// Heuristic: the header must have caplen <= max(snaplen, 262144), orig_len >= caplen, a
    /// fraction below one second, and seconds within [last good - 1 day, last good + 7 days]
    /// (any seconds when no record was good yet). The whole record must be in the file, and
    /// it must either end exactly at the end of the file or be followed by another header
    /// passing the same size and fraction tests with seconds within the same window.
    pub(crate) fn probe(&self, w: &[u8], eof: bool) -> Probe {
        let Some(h) = self.header else {
            return Probe::No;
        };
        if w.len() < RECORD_HEADER {
            return if eof {
                Probe::No
            } else {
                Probe::Need(RECORD_HEADER)
            };
        }
        let Some(secs) = self.plausible_header(&h, w, self.last_secs) else {
            return Probe::No;
        };
        let caplen = h.endian.u32(w, 8).unwrap_or(u32::MAX) as usize;
        let next = RECORD_HEADER + caplen;
        let want = next + RECORD_HEADER;
        if w.len() < want && !eof {
            return Probe::Need(want);
        }
        match w.len() {
            n if n == next => Probe::Yes,
            n if n < next => Probe::No,
            n if n < want => Probe::Yes,
            _ => match self.plausible_header(&h, w.get(next..).unwrap_or(&[]), Some(secs)) {
                Some(_) => Probe::Yes,
                None => Probe::No,
            },
        }
    }

    /// The seconds of the record header at the start of `w` when it passes the probe tests.
    fn plausible_header(&self, h: &Header, w: &[u8], anchor: Option<i64>) -> Option<i64> {
        let e = h.endian;
        let secs = i64::from(e.u32(w, 0)?);
        let frac = e.u32(w, 4)?;
        let caplen = e.u32(w, 8)?;
        let orig_len = e.u32(w, 12)?;
        let sane = caplen <= h.max_caplen && orig_len >= caplen && frac <= h.frac_max;
        let in_window = anchor
            .map(|a| secs >= a - RESYNC_BACK_SECS && secs <= a + RESYNC_AHEAD_SECS)
            .unwrap_or(true);
        (sane && in_window).then_some(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_le(snaplen: u32, network: u32) -> Vec<u8> {
        let mut v = MAGIC_MICROS.to_le_bytes().to_vec();
        v.extend_from_slice(&2u16.to_le_bytes()); // version major
        v.extend_from_slice(&4u16.to_le_bytes()); // version minor
        v.extend_from_slice(&[0; 8]); // reserved (thiszone, sigfigs)
        v.extend_from_slice(&snaplen.to_le_bytes());
        v.extend_from_slice(&network.to_le_bytes());
        v
    }

    fn record_le(secs: u32, usecs: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [secs, usecs, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn header_then_record() {
        let mut p = PcapParser::new();
        let h = header_le(65535, 0x1000_0001); // FCS bits set above the link type
        assert_eq!(p.step(&h[..10]), Step::Need(24));
        assert_eq!(p.step(&h), Step::Skip(24));
        let r = record_le(10, 5, b"abc");
        assert_eq!(p.step(&r[..16]), Step::Need(19));
        let Step::Packet(rec) = p.step(&r) else {
            panic!("expected a packet")
        };
        assert_eq!(rec.ts, Ts(10_000_005_000));
        assert_eq!(rec.linktype, LinkType::ETHERNET);
        assert_eq!((rec.len, rec.data_off, rec.caplen), (19, 16, 3));
        // The fast answer is the same record, and None wherever step decides otherwise.
        assert_eq!(p.packet(&r), Some(rec));
        assert_eq!(p.packet(&r[..18]), None);
        let mut big = r.clone();
        big[8..12].copy_from_slice(&300_000u32.to_le_bytes());
        assert_eq!(p.packet(&big), None);
        assert_eq!(PcapParser::new().packet(&r), None, "no file header yet");
    }

    #[test]
    fn absurd_caplen_is_damage() {
        let mut p = PcapParser::new();
        p.step(&header_le(65535, 1));
        let mut r = record_le(1, 0, b"");
        r[8..12].copy_from_slice(&300_000u32.to_le_bytes());
        match p.step(&r) {
            Step::Damaged { reason, .. } => assert!(reason.contains("300000"), "{reason}"),
            other => panic!("expected damage, got {other:?}"),
        }
    }

    #[test]
    fn probe_checks_window_and_next_header() {
        let mut p = PcapParser::new();
        p.step(&header_le(65535, 1));
        let mut w = record_le(1000, 1, b"xy");
        p.step(&w);
        w.extend(record_le(1001, 2, b"z"));
        assert_eq!(p.probe(&w, true), Probe::Yes);
        assert_eq!(p.probe(&w[..10], false), Probe::Need(16));
        assert_eq!(p.probe(&w[..20], false), Probe::Need(34));
        // Seconds far outside the window of the last good record.
        let far = record_le(1000 + 30 * 86400, 1, b"xy");
        assert_eq!(p.probe(&far, true), Probe::No);
        // A fraction of a second above 999999 us.
        let bad_frac = record_le(1000, 1_000_000, b"xy");
        assert_eq!(p.probe(&bad_frac, true), Probe::No);
        // A following header with orig_len < caplen.
        let mut bad_next = record_le(1000, 1, b"xy");
        bad_next.extend(record_le(1000, 1, b"abcd"));
        bad_next[18 + 12..18 + 16].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(p.probe(&bad_next, true), Probe::No);
    }
}
