//! PUBACK, PUBREC, PUBREL, PUBCOMP: one shape for all four (5.0 §3.4-3.7, 3.1.1 §3.4-3.7).

use crate::mqtt::error::DecodeError;
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{ReasonCode, Version};

/// A decoded PUBACK, PUBREC, PUBREL or PUBCOMP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// Packet Identifier.
    pub packet_id: u16,
    /// Reason Code; 0x00 when implied.
    pub code: ReasonCode,
    /// True when the packet had no Reason Code byte (remaining length 2, and always in 3.x):
    /// 0x00 Success is implied (5.0 §3.4.2.1).
    pub code_implied: bool,
    /// Properties (5.0, remaining length >= 4; otherwise empty, §3.4.2.2.1).
    pub properties: Properties<'a>,
}

/// Decodes the body of any of the four acknowledgements.
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<Ack<'a>, DecodeError> {
    let packet_id = r.u16("packet identifier")?;
    if !version.is_v5() || r.is_empty() {
        return Ok(Ack {
            packet_id,
            code: ReasonCode(0),
            code_implied: true,
            properties: Properties::empty(),
        });
    }
    let code = ReasonCode(r.u8("reason code")?);
    // Remaining length 3: no Property Length, 0 is used (5.0 §3.4.2.2.1).
    let properties = if r.is_empty() {
        Properties::empty()
    } else {
        Properties::read(r, PropContext::Packet(r.ptype()))?
    };
    Ok(Ack {
        packet_id,
        code,
        code_implied: false,
        properties,
    })
}
