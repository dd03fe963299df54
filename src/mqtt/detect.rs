//! Content-based recognition of MQTT (and of TLS) on any port.

use super::header::{parse_header_slice, plausible, HeaderParse};
use super::reader::Reader;
use super::types::{PacketType, Version};

/// Largest TLS record payload: 2^14 plus expansion (RFC 8446 §5.2, RFC 5246 §6.2.3).
const MAX_TLS_RECORD: u16 = (1 << 14) + 2048;

/// Packets a fixed-header chain must hold before it is taken as weak evidence.
const MIN_CHAIN: usize = 2;

/// What the first bytes of a stream look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// A CONNECT with protocol name "MQTT" or "MQIsdp" (strong).
    Connect {
        /// Protocol level stated.
        version: Version,
    },
    /// A chain of plausible fixed headers (weak).
    HeaderChain {
        /// Headers in the chain.
        packets: usize,
    },
    /// A TLS record (e.g. encrypted MQTT on 8883).
    Tls {
        /// Record-layer version (0x0300-0x0304).
        record_version: u16,
    },
    /// Exactly one plausible packet filling the bytes (PUBLISH with a printable topic, or a
    /// packet of fixed size): weak evidence that needs a second chunk to agree.
    ExactPacket,
    /// Nothing recognised.
    Unknown,
}

impl Detection {
    /// True for either MQTT outcome.
    pub fn is_mqtt(self) -> bool {
        matches!(
            self,
            Detection::Connect { .. } | Detection::HeaderChain { .. }
        )
    }
}

/// Recognises MQTT or TLS from the first bytes of one direction of a stream.
pub fn looks_like_mqtt(bytes: &[u8]) -> Detection {
    if let [0x16, 0x03, minor @ 0x00..=0x04, l1, l2, ..] = *bytes {
        let len = u16::from_be_bytes([l1, l2]);
        if (1..=MAX_TLS_RECORD).contains(&len) {
            return Detection::Tls {
                record_version: 0x0300 | u16::from(minor),
            };
        }
    }
    if let HeaderParse::Complete(h) = parse_header_slice(bytes) {
        if h.ptype == PacketType::CONNECT && h.flags == 0 {
            let body = bytes.get(usize::from(h.header_len)..).unwrap_or(&[]);
            let mut r = Reader::new(body, 0, h.ptype);
            if let (Ok(name), Ok(level)) = (r.string("protocol name"), r.u8("protocol level")) {
                if name == "MQTT" || name == "MQIsdp" {
                    return Detection::Connect {
                        version: Version(level),
                    };
                }
            }
        }
    }
    let mut at = 0usize;
    let mut packets = 0usize;
    while let Some(rest) = bytes.get(at..) {
        if rest.is_empty() {
            break;
        }
        match parse_header_slice(rest) {
            HeaderParse::Complete(h) if plausible(&h, 1 << 28) => {
                packets += 1;
                at = at.saturating_add(h.total_len() as usize);
            }
            _ => break,
        }
    }
    // The chain must reach the end of the bytes, or go on past the minimum.
    if packets >= MIN_CHAIN && (at >= bytes.len() || packets > MIN_CHAIN) {
        Detection::HeaderChain { packets }
    } else if packets == 1 && at == bytes.len() && exact_packet_plausible(bytes) {
        Detection::ExactPacket
    } else {
        Detection::Unknown
    }
}

/// A lone packet is believed only when its contents look like MQTT: a PUBLISH whose topic is
/// printable UTF-8 (5.0 §4.7.3), or an acknowledgement of exactly its fixed length.
fn exact_packet_plausible(bytes: &[u8]) -> bool {
    let HeaderParse::Complete(h) = parse_header_slice(bytes) else {
        return false;
    };
    let body = bytes.get(usize::from(h.header_len)..).unwrap_or(&[]);
    match h.ptype {
        PacketType::PUBLISH => {
            let mut r = Reader::new(body, 0, h.ptype);
            match r.string("topic") {
                Ok(t) => !t.is_empty() && t.chars().all(|c| !c.is_control()),
                Err(_) => false,
            }
        }
        PacketType::PUBACK | PacketType::PUBREC | PacketType::PUBREL | PacketType::PUBCOMP => {
            body.len() == 2
        }
        PacketType::PINGREQ | PacketType::PINGRESP => body.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_tls_chain_and_noise() {
        let connect = [0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0];
        assert_eq!(
            looks_like_mqtt(&connect),
            Detection::Connect {
                version: Version::V3_1_1
            }
        );
        let hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00];
        assert_eq!(
            looks_like_mqtt(&hello),
            Detection::Tls {
                record_version: 0x0301
            }
        );
        // PINGREQ, PUBACK id 1.
        assert_eq!(
            looks_like_mqtt(&[0xc0, 0x00, 0x40, 0x02, 0x00, 0x01]),
            Detection::HeaderChain { packets: 2 }
        );
        assert_eq!(looks_like_mqtt(b"GET / HTTP/1.1\r\n"), Detection::Unknown);
        assert_eq!(looks_like_mqtt(&[0xc0, 0x00]), Detection::ExactPacket);
        assert_eq!(
            looks_like_mqtt(&[0x30, 0x05, 0, 3, b'a', b'/', b'b']),
            Detection::ExactPacket
        );
        assert_eq!(
            looks_like_mqtt(&[0x30, 0x05, 0, 3, b'a', 0x01, b'b']),
            Detection::Unknown
        );
        assert_eq!(
            looks_like_mqtt(&[0x30, 0x05, 0, 3, b'a']),
            Detection::Unknown
        );
    }
}
