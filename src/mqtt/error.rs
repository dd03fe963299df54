//! Typed errors of MQTT framing and decoding; each reads as a sentence with its evidence.

use super::types::PacketType;
use std::fmt;

/// Why the framer could not delimit a packet (the bytes are then resynchronised over).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The remaining-length varint has a fifth continuation byte (5.0 §1.5.5, 3.1.1 §2.2.3).
    BadVarint {
        /// The first byte of the fixed header (type and flags).
        first: u8,
        /// The five length bytes read, the last of which still had its continuation bit set.
        bytes: [u8; 5],
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadVarint { first, bytes } => write!(
                f,
                "fixed header 0x{first:02X} has a remaining length longer than 4 bytes \
                 ({:02X} {:02X} {:02X} {:02X} {:02X}: a 5th byte is not allowed)",
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4]
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// A malformed packet: which packet, where in it, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Type of the packet being decoded.
    pub ptype: PacketType,
    /// Byte offset within the whole packet (fixed header included) where the problem starts.
    pub offset: usize,
    /// The field being read, as named in the standard ("topic name", "property length", ...).
    pub field: &'static str,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

/// What is wrong with a malformed packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// A field runs past the end of its packet.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the packet.
        available: usize,
    },
    /// Bytes left over after the last field.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// Fixed-header flags differ from the value the type requires (5.0 §2.1.3, 3.1.1 §2.2.2).
    BadFlags {
        /// Flags found (low nibble).
        found: u8,
        /// Flags required.
        expected: u8,
    },
    /// Packet type 0 is reserved (5.0 §2.1.2, 3.1.1 §2.2.1).
    ReservedType,
    /// The packet type does not exist in this protocol version (AUTH before 5.0).
    NotInVersion {
        /// Protocol level the connection uses.
        level: u8,
    },
    /// CONNECT protocol name is not "MQTT" or "MQIsdp" (5.0 §3.1.2.1, 3.1.1 §3.1.2.1).
    BadProtocolName {
        /// Up to the first 8 bytes of the name.
        prefix: [u8; 8],
        /// Length of the whole name.
        len: usize,
    },
    /// A QoS field holds 3, which is reserved (5.0 §3.3.1.2, 3.1.1 §3.3.1.2).
    Qos3 {
        /// The raw byte or flags holding the QoS bits.
        raw: u8,
    },
    /// A reserved bit is set.
    ReservedBits {
        /// The raw byte.
        raw: u8,
        /// Mask of the reserved bits.
        mask: u8,
    },
    /// A string is not valid UTF-8 (5.0 §1.5.4, 3.1.1 §1.5.3).
    InvalidUtf8 {
        /// Bytes of the string that are valid UTF-8.
        valid_up_to: usize,
    },
    /// A string contains U+0000 (5.0 §1.5.4 [MQTT-1.5.4-2], 3.1.1 §1.5.3 [MQTT-1.5.3-2]).
    NullChar {
        /// Index of the NUL within the string.
        at: usize,
    },
    /// A Variable Byte Integer has a fifth continuation byte (5.0 §1.5.5).
    BadVarint,
    /// A property identifier not in 5.0 §2.2.2.2 Table 2-4; the rest of the block cannot be read.
    UnknownProperty {
        /// The identifier found.
        id: u32,
    },
    /// A list that must hold at least one entry is empty.
    Empty,
    /// A value combination the standard forbids, described in a short phrase.
    Invalid(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed {}: {} at byte {}: ",
            self.ptype, self.field, self.offset
        )?;
        match &self.kind {
            DecodeErrorKind::Truncated { needed, available } => write!(
                f,
                "needs {needed} bytes but only {available} remain in the packet"
            ),
            DecodeErrorKind::TrailingBytes { count } => {
                write!(f, "{count} unexpected bytes after the last field")
            }
            DecodeErrorKind::BadFlags { found, expected } => write!(
                f,
                "fixed-header flags are 0b{found:04b} but must be 0b{expected:04b}"
            ),
            DecodeErrorKind::ReservedType => f.write_str("packet type 0 is reserved"),
            DecodeErrorKind::NotInVersion { level } => write!(
                f,
                "this packet type does not exist at protocol level {level} (AUTH is 5.0 only)"
            ),
            DecodeErrorKind::BadProtocolName { prefix, len } => {
                let shown = prefix.get(..(*len).min(8)).unwrap_or(&[]);
                write!(
                    f,
                    "protocol name {:?} ({len} bytes) is neither \"MQTT\" nor \"MQIsdp\"",
                    String::from_utf8_lossy(shown)
                )
            }
            DecodeErrorKind::Qos3 { raw } => {
                write!(f, "QoS 3 is reserved (raw 0x{raw:02X})")
            }
            DecodeErrorKind::ReservedBits { raw, mask } => write!(
                f,
                "reserved bits are set (raw 0x{raw:02X}, reserved mask 0x{mask:02X})"
            ),
            DecodeErrorKind::InvalidUtf8 { valid_up_to } => write!(
                f,
                "string is not valid UTF-8 (valid for its first {valid_up_to} bytes)"
            ),
            DecodeErrorKind::NullChar { at } => {
                write!(f, "string contains U+0000 at index {at}")
            }
            DecodeErrorKind::BadVarint => {
                f.write_str("variable byte integer is longer than 4 bytes")
            }
            DecodeErrorKind::UnknownProperty { id } => write!(
                f,
                "property identifier 0x{id:02X} is not defined, so the property block cannot be read"
            ),
            DecodeErrorKind::Empty => f.write_str("the list is empty but needs at least one entry"),
            DecodeErrorKind::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for DecodeError {}
