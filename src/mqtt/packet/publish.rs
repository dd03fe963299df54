//! PUBLISH (5.0 §3.3, 3.1.1 §3.3).

use crate::mqtt::error::DecodeError;
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{PacketType, Version};

/// A decoded PUBLISH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP flag (§3.3.1.1).
    pub dup: bool,
    /// QoS (§3.3.1.2), 0 to 2 (3 is rejected as malformed by `decode`).
    pub qos: u8,
    /// RETAIN flag (§3.3.1.3).
    pub retain: bool,
    /// Topic Name (§3.3.2.1); may be empty in 5.0 when a Topic Alias is used.
    pub topic: &'a str,
    /// Packet Identifier, present when QoS > 0 (§3.3.2.2).
    pub packet_id: Option<u16>,
    /// PUBLISH Properties (5.0 §3.3.2.3; empty before).
    pub properties: Properties<'a>,
    /// Payload (§3.3.3), raw.
    pub payload: &'a [u8],
    /// Offset of the payload within the packet.
    pub payload_offset: usize,
}

/// Decodes a PUBLISH body; `flags` are the fixed-header flags (QoS already checked).
#[inline]
pub fn decode<'a>(
    r: &mut Reader<'a>,
    flags: u8,
    version: Version,
) -> Result<Publish<'a>, DecodeError> {
    let qos = (flags >> 1) & 0x03;
    let topic = r.string("topic name")?;
    let packet_id = if qos > 0 {
        Some(r.u16("packet identifier")?)
    } else {
        None
    };
    let properties = if version.is_v5() {
        Properties::read(r, PropContext::Packet(PacketType::PUBLISH))?
    } else {
        Properties::empty()
    };
    let payload_offset = r.offset();
    Ok(Publish {
        dup: flags & 0x08 != 0,
        qos,
        retain: flags & 0x01 != 0,
        topic,
        packet_id,
        properties,
        payload: r.rest(),
        payload_offset,
    })
}
