//! What the pure pcap and pcapng parsers tell the file reader, and byte-order helpers.
//!
//! Parsers look at a window of buffered bytes starting at the current record and answer with a
//! [`Step`]; they never read, so they can be tested on byte arrays.

use super::{LinkType, Ts};

/// The byte order of a pcap file or of one pcapng section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The u16 at `off`, or None when `b` is too short.
    #[inline]
    pub(crate) fn u16(self, b: &[u8], off: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }

    /// The u32 at `off`, or None when `b` is too short.
    #[inline]
    pub(crate) fn u32(self, b: &[u8], off: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }

    /// The u64 at `off`, or None when `b` is too short.
    #[inline]
    pub(crate) fn u64(self, b: &[u8], off: usize) -> Option<u64> {
        let a: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }
}

/// A packet record found at the start of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// Bytes of the whole record or block, headers and padding included.
    pub len: usize,
    /// Offset of the packet bytes inside the record.
    pub data_off: usize,
    /// Captured bytes.
    pub caplen: u32,
    /// Bytes on the wire.
    pub orig_len: u32,
    /// Capture timestamp.
    pub ts: Ts,
    /// Link type of the packet bytes.
    pub linktype: LinkType,
}

/// A parser's answer about the bytes at the current position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// At least this many bytes (from the current position) are needed to decide.
    Need(usize),
    /// A packet record; the whole record is inside the window.
    Packet(Record),
    /// A record that carries no packet (file header, interface description, ...): skip it.
    Skip(usize),
    /// The record at the current position is damaged.
    Damaged {
        /// What is wrong, with the numbers found.
        reason: String,
        /// True when a later record may still be readable.
        resumable: bool,
        /// When the record's extent is trustworthy, how many bytes to skip to resume.
        skip: Option<usize>,
    },
}

impl Step {
    /// A damaged record whose extent is not trustworthy: resume by scanning.
    pub(crate) fn damaged(reason: String) -> Step {
        Step::Damaged {
            reason,
            resumable: true,
            skip: None,
        }
    }
}

/// A resynchronisation probe's answer: does a plausible record start here?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Yes: resume reading here.
    Yes,
    /// No: try the next byte.
    No,
    /// Need this many bytes from here to decide.
    Need(usize),
}
