//! pcapng parsing (draft-ietf-opsawg-pcapng): sections, interfaces and packet blocks, pure.
//!
//! Every block is `type u32, total length u32, body, total length u32`, in the byte order of
//! its section, which the Section Header Block's byte-order magic gives. Packets come from
//! Enhanced Packet Blocks (type 6), Simple Packet Blocks (3) and obsolete Packet Blocks (2);
//! their interface (link type, snaplen, timestamp resolution and offset) comes from the
//! Interface Description Blocks (1) of the same section. Other blocks are skipped.

use super::input::MAX_RECORD;
use super::record::{Endian, Probe, Record, Step};
use super::{LinkType, Ts};

/// Block type of a Section Header Block (the same in both byte orders).
pub(crate) const SHB: u32 = 0x0A0D_0D0A;
/// Block type of an Interface Description Block.
const IDB: u32 = 1;
/// Block type of the obsolete Packet Block.
const PB: u32 = 2;
/// Block type of a Simple Packet Block.
const SPB: u32 = 3;
/// Block type of an Enhanced Packet Block.
const EPB: u32 = 6;
/// Block types the resynchronisation probe recognises (besides SHB): IDB, PB, SPB, Name
/// Resolution, Interface Statistics, EPB, IRIG, ARINC, systemd journal, Decryption Secrets and
/// the two Custom Blocks.
const KNOWN_BLOCKS: [u32; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0xA, 0xBAD, 0x4000_0BAD];
/// The Section Header Block's byte-order magic.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Interfaces accepted per section (a cap on the interface table).
pub const MAX_INTERFACES: usize = 65_536;
/// IDB option code of the timestamp resolution.
const OPT_TSRESOL: u16 = 9;
/// IDB option code of the timestamp offset (seconds).
const OPT_TSOFFSET: u16 = 14;

/// How an interface's timestamp units convert to nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    /// Units are 10^-9 / factor seconds: multiply.
    Mul(u64),
    /// Units are finer than nanoseconds: divide.
    Div(u128),
    /// Units are 2^-n seconds.
    Pow2(u32),
}

impl Scale {
    /// From the if_tsresol byte: MSB clear means 10^-n, MSB set means 2^-n.
    fn from_tsresol(b: u8) -> Scale {
        let n = u32::from(b & 0x7F);
        if b & 0x80 != 0 {
            return Scale::Pow2(n);
        }
        if n <= 9 {
            Scale::Mul(10u64.pow(9 - n))
        } else {
            // Past 10^38 (beyond u128) any u64 count of units rounds to 0 ns anyway.
            Scale::Div(10u128.checked_pow(n - 9).unwrap_or(u128::MAX))
        }
    }

    /// Nanoseconds for `units`, saturating at i64::MAX.
    fn nanos(self, units: u64) -> i64 {
        let ns: u128 = match self {
            Scale::Mul(m) => u128::from(units) * u128::from(m),
            Scale::Div(d) => u128::from(units) / d,
            Scale::Pow2(n) => (u128::from(units) * 1_000_000_000)
                .checked_shr(n)
                .unwrap_or(0),
        };
        i64::try_from(ns).unwrap_or(i64::MAX)
    }
}

/// One Interface Description Block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interface {
    linktype: LinkType,
    snaplen: u32,
    scale: Scale,
    /// if_tsoffset in nanoseconds.
    offset_ns: i64,
}

/// Parser state of a pcapng file: the current section's byte order and interfaces.
#[derive(Debug, Default)]
pub(crate) struct PcapngParser {
    endian: Option<Endian>,
    interfaces: Vec<Interface>,
    /// Timestamp of the last packet, given to Simple Packet Blocks (which have none).
    last_ts: Ts,
}

impl PcapngParser {
    /// A parser positioned at the start of the file.
    pub(crate) fn new() -> PcapngParser {
        PcapngParser::default()
    }

    /// Decides what the block at the start of `w` is.
    pub(crate) fn step(&mut self, w: &[u8]) -> Step {
        let len = match self.block_len(w) {
            Ok(len) => len,
            Err(step) => return step,
        };
        let (Some(e), Some(block)) = (self.endian, w.get(..len)) else {
            return Step::Need(len);
        };
        let btype = e.u32(block, 0).unwrap_or(0);
        let trailing = e.u32(block, len - 4).unwrap_or(0);
        if trailing != len as u32 {
            return Step::damaged(format!(
                "block of type {btype:#x} has leading length {len} but trailing length {trailing}"
            ));
        }
        match btype {
            SHB => self.section(block),
            IDB => self.interface(block),
            EPB => self.enhanced(block),
            SPB => self.simple(block),
            PB => self.obsolete(block),
            _ => Step::Skip(len),
        }
    }

    /// The checked total length of the block at the start of `w`, or the step to return.
    /// For a Section Header Block this also sets the byte order of the new section.
    fn block_len(&mut self, w: &[u8]) -> Result<usize, Step> {
        let raw_type = w.get(0..4).ok_or(Step::Need(12))?;
        let endian = if raw_type == SHB.to_le_bytes() {
            let bom = w.get(8..12).ok_or(Step::Need(12))?;
            if bom == BYTE_ORDER_MAGIC.to_le_bytes() {
                Endian::Little
            } else if bom == BYTE_ORDER_MAGIC.to_be_bytes() {
                Endian::Big
            } else {
                return Err(Step::damaged(format!(
                    "section header block has byte-order magic {bom:02x?}, not 1a2b3c4d"
                )));
            }
        } else {
            self.endian.ok_or_else(|| {
                Step::damaged("the first block is not a section header block".to_string())
            })?
        };
        let len = endian.u32(w, 4).ok_or(Step::Need(12))?;
        let btype = endian.u32(w, 0).unwrap_or(0);
        let min = min_len(btype);
        if len < min || len % 4 != 0 || len as usize > MAX_RECORD {
            return Err(Step::damaged(format!(
                "block of type {btype:#x} claims a total length of {len} bytes (it must be a \
                 multiple of 4, at least {min} and at most {MAX_RECORD})"
            )));
        }
        if btype == SHB {
            self.endian = Some(endian);
        }
        Ok(len as usize)
    }

    /// A Section Header Block: a new section with no interfaces yet.
    fn section(&mut self, block: &[u8]) -> Step {
        self.interfaces.clear();
        Step::Skip(block.len())
    }

    /// An Interface Description Block: link type, snaplen and the options we use.
    fn interface(&mut self, block: &[u8]) -> Step {
        let e = self.endian.unwrap_or(Endian::Little);
        if self.interfaces.len() >= MAX_INTERFACES {
            return Step::Damaged {
                reason: format!("more than {MAX_INTERFACES} interfaces in one section"),
                resumable: true,
                skip: Some(block.len()),
            };
        }
        let mut iface = Interface {
            linktype: LinkType(e.u16(block, 8).unwrap_or(0)),
            snaplen: e.u32(block, 12).unwrap_or(0),
            scale: Scale::Mul(1000),
            offset_ns: 0,
        };
        let opts = block.get(16..block.len() - 4).unwrap_or(&[]);
        for (code, value) in Options::new(e, opts) {
            match (code, value) {
                (OPT_TSRESOL, [b, ..]) => iface.scale = Scale::from_tsresol(*b),
                (OPT_TSOFFSET, v) => {
                    if let Some(secs) = e.u64(v, 0) {
                        iface.offset_ns = (secs as i64).saturating_mul(1_000_000_000);
                    }
                }
                _ => {}
            }
        }
        self.interfaces.push(iface);
        Step::Skip(block.len())
    }

    /// An Enhanced Packet Block.
    fn enhanced(&mut self, block: &[u8]) -> Step {
        let e = self.endian.unwrap_or(Endian::Little);
        let id = e.u32(block, 8).unwrap_or(u32::MAX);
        let units = (u64::from(e.u32(block, 12).unwrap_or(0)) << 32)
            | u64::from(e.u32(block, 16).unwrap_or(0));
        let caplen = e.u32(block, 20).unwrap_or(0);
        let orig_len = e.u32(block, 24).unwrap_or(0);
        self.packet(block, id, units, caplen, orig_len, 28)
    }

    /// An obsolete Packet Block (16-bit interface id and a drops counter).
    fn obsolete(&mut self, block: &[u8]) -> Step {
        let e = self.endian.unwrap_or(Endian::Little);
        let id = u32::from(e.u16(block, 8).unwrap_or(u16::MAX));
        let units = (u64::from(e.u32(block, 12).unwrap_or(0)) << 32)
            | u64::from(e.u32(block, 16).unwrap_or(0));
        let caplen = e.u32(block, 20).unwrap_or(0);
        let orig_len = e.u32(block, 24).unwrap_or(0);
        self.packet(block, id, units, caplen, orig_len, 28)
    }

    /// A Simple Packet Block: interface 0, no timestamp (the last packet's is used), and a
    /// captured length of min(original length, snaplen, room in the block).
    fn simple(&mut self, block: &[u8]) -> Step {
        let e = self.endian.unwrap_or(Endian::Little);
        let Some(iface) = self.interfaces.first().copied() else {
            return unknown_interface(0, 0, block.len());
        };
        let orig_len = e.u32(block, 8).unwrap_or(0);
        let room = (block.len() - 16) as u32;
        let mut caplen = orig_len.min(room);
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen);
        }
        Step::Packet(Record {
            len: block.len(),
            data_off: 12,
            caplen,
            orig_len,
            ts: self.last_ts,
            linktype: iface.linktype,
        })
    }

    /// Shared tail of EPB and PB: interface lookup, caplen check, timestamp conversion.
    fn packet(
        &mut self,
        block: &[u8],
        id: u32,
        units: u64,
        caplen: u32,
        orig_len: u32,
        data_off: usize,
    ) -> Step {
        let Some(iface) = self.interfaces.get(id as usize).copied() else {
            return unknown_interface(id, self.interfaces.len(), block.len());
        };
        let room = block.len() - data_off - 4;
        if caplen as usize > room {
            return Step::Damaged {
                reason: format!(
                    "packet block claims {caplen} captured bytes but has room for {room}"
                ),
                resumable: true,
                skip: Some(block.len()),
            };
        }
        let ts = Ts(iface.scale.nanos(units).saturating_add(iface.offset_ns));
        self.last_ts = ts;
        Step::Packet(Record {
            len: block.len(),
            data_off,
            caplen,
            orig_len,
            ts,
            linktype: iface.linktype,
        })
    }

    /// Is there a plausible block at the start of `w`? `eof` says that `w` holds everything up
    /// to the end of the input.
    ///
    /// Heuristic: a known block type (a Section Header Block needs a valid byte-order magic;
    /// other blocks need a section already seen), a total length that is a multiple of 4,
    /// at least the type's minimum and at most the record cap, the same length at the end of
    /// the block, and for an Enhanced Packet Block a known interface.
    pub(crate) fn probe(&self, w: &[u8], eof: bool) -> Probe {
        if w.len() < 12 {
            return if eof { Probe::No } else { Probe::Need(12) };
        }
        let is_shb = w.get(0..4) == Some(&SHB.to_le_bytes()[..]);
        let endian = if is_shb {
            match w.get(8..12) {
                Some(b) if b == BYTE_ORDER_MAGIC.to_le_bytes() => Endian::Little,
                Some(b) if b == BYTE_ORDER_MAGIC.to_be_bytes() => Endian::Big,
                _ => return Probe::No,
            }
        } else {
            match self.endian {
                Some(e) => e,
                None => return Probe::No,
            }
        };
        let btype = endian.u32(w, 0).unwrap_or(0);
        if !is_shb && !KNOWN_BLOCKS.contains(&btype) {
            return Probe::No;
        }
        let len = endian.u32(w, 4).unwrap_or(0);
        if len < min_len(btype) || len % 4 != 0 || len as usize > MAX_RECORD {
            return Probe::No;
        }
        let len = len as usize;
        if w.len() < len {
            return if eof { Probe::No } else { Probe::Need(len) };
        }
        if endian.u32(w, len - 4) != Some(len as u32) {
            return Probe::No;
        }
        if btype == EPB && endian.u32(w, 8).map(|id| id as usize) >= Some(self.interfaces.len()) {
            return Probe::No;
        }
        Probe::Yes
    }
}

/// Smallest total length of a block of this type.
fn min_len(btype: u32) -> u32 {
    match btype {
        SHB => 28,
        IDB => 20,
        EPB | PB => 32,
        SPB => 16,
        _ => 12,
    }
}

/// The damage of a packet block naming an interface the section did not describe.
fn unknown_interface(id: u32, known: usize, len: usize) -> Step {
    Step::Damaged {
        reason: format!(
            "packet block refers to interface {id} but the section describes {known} interfaces"
        ),
        resumable: true,
        skip: Some(len),
    }
}

/// Iterator over the `(code, value)` options of a block, stopping at opt_endofopt or at the
/// first option that does not fit.
struct Options<'a> {
    e: Endian,
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    fn new(e: Endian, rest: &'a [u8]) -> Options<'a> {
        Options { e, rest }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let code = self.e.u16(self.rest, 0)?;
        let len = usize::from(self.e.u16(self.rest, 2)?);
        if code == 0 {
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        let padded = 4 + len.div_ceil(4) * 4;
        self.rest = self.rest.get(padded..).unwrap_or(&[]);
        Some((code, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_forms() {
        assert_eq!(Scale::from_tsresol(6).nanos(1_500_000), 1_500_000_000);
        assert_eq!(Scale::from_tsresol(9).nanos(7), 7);
        assert_eq!(Scale::from_tsresol(12).nanos(5_000), 5);
        assert_eq!(
            Scale::from_tsresol(0x80 | 10).nanos(1024 + 512),
            1_500_000_000
        );
        assert_eq!(Scale::from_tsresol(0x80 | 30).nanos(1 << 30), 1_000_000_000);
        assert_eq!(Scale::from_tsresol(0x7F).nanos(u64::MAX), 0);
        assert_eq!(Scale::from_tsresol(0).nanos(u64::MAX), i64::MAX);
    }

    #[test]
    fn options_stop_at_end_and_at_overrun() {
        let opts = [
            9, 0, 1, 0, 6, 0, 0, 0, 14, 0, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0,
        ];
        let v: Vec<_> = Options::new(Endian::Little, &opts).collect();
        assert_eq!(
            v,
            vec![(9u16, &[6u8][..]), (14, &[1, 2, 3, 4, 5, 6, 7, 8][..])]
        );
        let overrun = [2, 0, 200, 0, 1, 2];
        assert_eq!(Options::new(Endian::Little, &overrun).count(), 0);
    }

    #[test]
    fn block_before_section_is_damage() {
        let mut p = PcapngParser::new();
        let block = [6, 0, 0, 0, 12, 0, 0, 0, 12, 0, 0, 0];
        assert!(matches!(p.step(&block), Step::Damaged { .. }));
        assert_eq!(p.probe(&block, true), Probe::No);
    }
}
