//! The fixed header: type, flags and remaining length (5.0 §2.1, 3.1.1 §2.2), and its rules.

use super::types::PacketType;

/// Largest value a 4-byte Variable Byte Integer can hold (5.0 §1.5.5, 3.1.1 §2.2.3).
pub const MAX_VARINT: u32 = 268_435_455;

/// The fixed header of one packet as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixedHeader {
    /// Control packet type (high nibble of byte 1).
    pub ptype: PacketType,
    /// Flags (low nibble of byte 1), raw.
    pub flags: u8,
    /// Remaining length: bytes after the fixed header.
    pub remaining_len: u32,
    /// Length of the fixed header itself: 2 to 5 bytes.
    pub header_len: u8,
}

impl FixedHeader {
    /// Whole packet length, fixed header included.
    pub fn total_len(&self) -> u64 {
        u64::from(self.header_len) + u64::from(self.remaining_len)
    }

    /// The first byte of the header as on the wire.
    pub fn first_byte(&self) -> u8 {
        (self.ptype.0 << 4) | (self.flags & 0x0f)
    }
}

/// Outcome of reading a fixed header from the start of some bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderParse {
    /// A complete header.
    Complete(FixedHeader),
    /// The bytes end inside the header; at least this many more bytes are needed.
    Incomplete(usize),
    /// The remaining length has a fifth continuation byte: the five length bytes.
    BadVarint([u8; 5]),
}

/// Reads a fixed header through `get(i)` (byte `i` from the header start, `None` past the end).
///
/// Generic over the accessor so that a header split between a pending buffer and new bytes can
/// be read without copying.
#[inline]
pub fn parse_header(get: impl Fn(usize) -> Option<u8>) -> HeaderParse {
    let Some(first) = get(0) else {
        return HeaderParse::Incomplete(2);
    };
    let mut value: u32 = 0;
    let mut len_bytes = [0u8; 5];
    for (i, slot) in len_bytes.iter_mut().take(4).enumerate() {
        let Some(b) = get(1 + i) else {
            return HeaderParse::Incomplete(1);
        };
        *slot = b;
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return HeaderParse::Complete(FixedHeader {
                ptype: PacketType(first >> 4),
                flags: first & 0x0f,
                remaining_len: value,
                header_len: (2 + i) as u8,
            });
        }
    }
    match get(5) {
        None => HeaderParse::Incomplete(1),
        Some(b) => {
            len_bytes[4] = b;
            HeaderParse::BadVarint(len_bytes)
        }
    }
}

/// Reads a fixed header from the start of a slice.
#[inline]
pub fn parse_header_slice(bytes: &[u8]) -> HeaderParse {
    parse_header(|i| bytes.get(i).copied())
}

/// The flags a non-PUBLISH type must carry (5.0 §2.1.3 Table 2-2, 3.1.1 §2.2.2 Table 2.2);
/// `None` for PUBLISH, whose flags are DUP, QoS and RETAIN.
pub fn required_flags(ptype: PacketType) -> Option<u8> {
    match ptype {
        PacketType::PUBLISH => None,
        PacketType::PUBREL | PacketType::SUBSCRIBE | PacketType::UNSUBSCRIBE => Some(0b0010),
        _ => Some(0),
    }
}

/// True when the type is defined and its flags are legal (PUBLISH with QoS 3 is not).
pub fn legal_type_flags(ptype: PacketType, flags: u8) -> bool {
    if ptype == PacketType::RESERVED {
        return false;
    }
    match required_flags(ptype) {
        Some(f) => f == flags,
        None => (flags >> 1) & 0b11 != 0b11,
    }
}

/// Smallest remaining length a well-formed packet of this type can have (any version).
pub fn min_remaining_len(ptype: PacketType) -> u32 {
    match ptype {
        // "MQTT"/"MQIsdp" name (6), level, flags, keep-alive (4), client id length (2).
        PacketType::CONNECT => 12,
        PacketType::CONNACK => 2,
        PacketType::PUBLISH => 2,
        PacketType::PUBACK | PacketType::PUBREC | PacketType::PUBREL | PacketType::PUBCOMP => 2,
        // Packet id, one filter of length >= 1, options byte.
        PacketType::SUBSCRIBE => 6,
        PacketType::SUBACK => 3,
        PacketType::UNSUBSCRIBE => 5,
        PacketType::UNSUBACK => 2,
        _ => 0,
    }
}

/// Largest remaining length a well-formed packet of this type can have, if bounded.
pub fn max_remaining_len(ptype: PacketType) -> Option<u32> {
    match ptype {
        PacketType::PINGREQ | PacketType::PINGRESP => Some(0),
        _ => None,
    }
}

/// True when a header could start a real packet: legal type/flags and a length within the
/// type's bounds and `max_packet` (used when resynchronising, 5.0 §2.1).
pub fn plausible(h: &FixedHeader, max_packet: usize) -> bool {
    legal_type_flags(h.ptype, h.flags)
        && h.remaining_len >= min_remaining_len(h.ptype)
        && !matches!(max_remaining_len(h.ptype), Some(m) if h.remaining_len > m)
        && h.total_len() <= max_packet as u64
        && minimal_varint(h)
}

/// True when the remaining length uses the fewest bytes possible (5.0 §1.5.5 [MQTT-1.5.5-1]).
pub fn minimal_varint(h: &FixedHeader) -> bool {
    let needed = match h.remaining_len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    u32::from(h.header_len) == needed + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_to_four_length_bytes() {
        let h = |b: &[u8]| match parse_header_slice(b) {
            HeaderParse::Complete(h) => (h.remaining_len, h.header_len),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(h(&[0x30, 0x00]), (0, 2));
        assert_eq!(h(&[0x30, 0x7f]), (127, 2));
        assert_eq!(h(&[0x30, 0x80, 0x01]), (128, 3));
        assert_eq!(h(&[0x30, 0xff, 0x7f]), (16_383, 3));
        assert_eq!(h(&[0x30, 0x80, 0x80, 0x01]), (16_384, 4));
        assert_eq!(h(&[0x30, 0xff, 0xff, 0xff, 0x7f]), (MAX_VARINT, 5));
    }

    #[test]
    fn fifth_length_byte_is_bad() {
        assert_eq!(
            parse_header_slice(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
            HeaderParse::BadVarint([0xff, 0xff, 0xff, 0xff, 0x01])
        );
        assert_eq!(
            parse_header_slice(&[0x30, 0xff, 0xff, 0xff, 0xff]),
            HeaderParse::Incomplete(1)
        );
        assert_eq!(parse_header_slice(&[]), HeaderParse::Incomplete(2));
    }

    #[test]
    fn flag_rules() {
        assert!(legal_type_flags(PacketType::PUBREL, 2));
        assert!(!legal_type_flags(PacketType::PUBREL, 0));
        assert!(!legal_type_flags(PacketType::PUBLISH, 0b0110));
        assert!(legal_type_flags(PacketType::PUBLISH, 0b1011));
        assert!(!legal_type_flags(PacketType::RESERVED, 0));
        assert!(legal_type_flags(PacketType::AUTH, 0));
    }
}
