//! SUBACK and UNSUBACK code lists (5.0 §3.9, §3.11; 3.1.1 §3.9, §3.11).

use crate::mqtt::error::{DecodeError, DecodeErrorKind};
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{PacketType, ReasonCode, Version};

/// A decoded SUBACK or UNSUBACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet Identifier.
    pub packet_id: u16,
    /// Properties (5.0; empty before).
    pub properties: Properties<'a>,
    /// The code bytes, one per filter of the request (empty for a 3.x UNSUBACK).
    pub raw_codes: &'a [u8],
    /// Offset of the first code within the packet.
    pub codes_offset: usize,
}

impl SubAck<'_> {
    /// The codes, one per filter, as reason codes (3.x SUBACK return codes included).
    pub fn codes(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.raw_codes.iter().map(|&c| ReasonCode(c))
    }
}

/// Decodes a SUBACK or UNSUBACK body (`r.ptype()` tells which).
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<SubAck<'a>, DecodeError> {
    let packet_id = r.u16("packet identifier")?;
    let unsuback = r.ptype() == PacketType::UNSUBACK;
    let properties = if version.is_v5() {
        Properties::read(r, PropContext::Packet(r.ptype()))?
    } else {
        Properties::empty()
    };
    let codes_offset = r.offset();
    // 3.x UNSUBACK is exactly the packet identifier (3.1.1 §3.11.2); trailing bytes are
    // reported by the caller.
    if unsuback && !version.is_v5() {
        return Ok(SubAck {
            packet_id,
            properties,
            raw_codes: &[],
            codes_offset,
        });
    }
    let raw_codes = r.rest();
    if raw_codes.is_empty() {
        let field = if unsuback {
            "reason codes"
        } else {
            "return codes"
        };
        return Err(r.err(field, DecodeErrorKind::Empty));
    }
    Ok(SubAck {
        packet_id,
        properties,
        raw_codes,
        codes_offset,
    })
}
