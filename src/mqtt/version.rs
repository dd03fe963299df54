//! Protocol version inference from packet shapes, for connections whose CONNECT was not
//! captured. Only shapes that 3.x cannot produce count as evidence for 5.0.

use super::framer::RawPacket;
use super::property::{PropContext, Properties};
use super::reader::Reader;
use super::types::{PacketType, Version};

/// Infers the version from one packet: `(version, evidence sentence)`, or `None` when the
/// packet proves nothing.
pub fn infer(raw: &RawPacket<'_>) -> Option<(Version, &'static str)> {
    let h = &raw.header;
    let body = raw.body;
    let base = usize::from(h.header_len);
    let len = body.len();
    match h.ptype {
        PacketType::CONNECT => {
            // The CONNECT states its level (5.0 §3.1.2.2).
            let mut r = Reader::new(body, base, h.ptype);
            let name = r.string("protocol name").ok()?;
            let level = r.u8("protocol level").ok()?;
            match (name, level) {
                ("MQTT", 5) => Some((Version::V5, "stated by the CONNECT (MQTT level 5)")),
                ("MQTT", 4) => Some((Version::V3_1_1, "stated by the CONNECT (MQTT level 4)")),
                ("MQIsdp", 3) => Some((Version::V3_1, "stated by the CONNECT (MQIsdp level 3)")),
                _ => None,
            }
        }
        // 5.0 §3.15: AUTH does not exist before 5.0.
        PacketType::AUTH => Some((Version::V5, "inferred from an AUTH packet (5.0 only)")),
        // 5.0 §3.2.2.3: a CONNACK longer than 2 bytes carries properties.
        PacketType::CONNACK if len > 2 => Some((
            Version::V5,
            "inferred from a CONNACK with properties (remaining length > 2)",
        )),
        // 5.0 §3.14.2.1: a 3.x DISCONNECT is always empty.
        PacketType::DISCONNECT if len > 0 => Some((
            Version::V5,
            "inferred from a DISCONNECT with a reason code (remaining length > 0)",
        )),
        PacketType::PUBACK | PacketType::PUBREC | PacketType::PUBREL | PacketType::PUBCOMP => {
            match len {
                3 => Some((
                    Version::V5,
                    "inferred from an acknowledgement with a reason code (remaining length 3)",
                )),
                n if n >= 4 && props_valid(body, base, 3, h.ptype) => Some((
                    Version::V5,
                    "inferred from an acknowledgement with a reason code and properties",
                )),
                _ => None,
            }
        }
        PacketType::SUBACK => {
            // 3.x return codes are 0x00-0x02 and 0x80 (3.1.1 §3.9.3).
            if len >= 3 && props_valid(body, base, 2, h.ptype) && len > 3 {
                return Some((Version::V5, "inferred from a SUBACK with properties"));
            }
            let codes = body.get(2..)?;
            if codes.iter().any(|&c| c > 0x02 && c != 0x80) {
                Some((
                    Version::V5,
                    "inferred from a SUBACK reason code that 3.x does not define",
                ))
            } else {
                None
            }
        }
        PacketType::UNSUBACK if len > 2 => Some((
            Version::V5,
            "inferred from an UNSUBACK with reason codes (remaining length > 2)",
        )),
        PacketType::PUBLISH => infer_publish(raw),
        _ => None,
    }
}

/// True when a non-empty property block, its length encoded in the fewest bytes (5.0 §1.5.5),
/// starts at `skip` in `body` and fills it. (A 3.1.1 SUBACK refusing its first filter, codes
/// 0x80 0x00, reads as an empty block with a 2-byte length: no evidence of 5.0.)
fn props_valid(body: &[u8], base: usize, skip: usize, ptype: PacketType) -> bool {
    let Some(rest) = body.get(skip..) else {
        return false;
    };
    let minimal = match rest.iter().take(4).position(|b| b & 0x80 == 0) {
        Some(last) => last == 0 || rest[last] != 0,
        None => false,
    };
    let mut r = Reader::new(rest, base + skip, ptype);
    minimal
        && Properties::read(&mut r, PropContext::Packet(ptype))
            .is_ok_and(|p| !p.is_empty() && p.issues().is_empty() && r.is_empty())
}

/// Weak evidence: after the topic (and packet id) a plausible non-empty property block.
fn infer_publish(raw: &RawPacket<'_>) -> Option<(Version, &'static str)> {
    let h = &raw.header;
    let mut r = Reader::new(raw.body, usize::from(h.header_len), h.ptype);
    r.string("topic name").ok()?;
    if (h.flags >> 1) & 3 > 0 {
        r.u16("packet identifier").ok()?;
    }
    let props = Properties::read(&mut r, PropContext::Packet(PacketType::PUBLISH)).ok()?;
    if !props.is_empty() && props.issues().is_empty() {
        Some((
            Version::V5,
            "inferred (weakly) from a PUBLISH whose bytes after the topic form a valid property block",
        ))
    } else {
        None
    }
}
