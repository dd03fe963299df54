//! CONNACK (5.0 §3.2, 3.1.1 §3.2), including the 3.1.1 shape answered to a 5.0 CONNECT.

use crate::mqtt::error::{DecodeError, DecodeErrorKind};
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{PacketType, ReasonCode, Version};

/// A decoded CONNACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connack<'a> {
    /// Connect Acknowledge Flags, raw (§3.2.2.1).
    pub ack_flags: u8,
    /// Session Present (bit 0 of the flags).
    pub session_present: bool,
    /// Reason Code (5.0 §3.2.2.2) or Connect Return Code (3.1.1 §3.2.2.3).
    pub code: ReasonCode,
    /// CONNACK Properties (5.0 §3.2.2.3; empty otherwise).
    pub properties: Properties<'a>,
    /// A 5.0 connection got the 2-byte 3.1.1 shape (e.g. a 3.1.1-only broker refusing with
    /// return code 0x01 "unacceptable protocol version"); decoded as such, not as malformed.
    pub legacy_shape: bool,
}

/// Decodes a CONNACK body.
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<Connack<'a>, DecodeError> {
    let legacy_shape = version.is_v5() && r.remaining() == 2;
    let flags_at = r.offset();
    let ack_flags = r.u8("connect acknowledge flags")?;
    // 3.1 left this byte unused; 3.1.1 and 5.0 reserve bits 7-1 ([MQTT-3.2.2-1]).
    if version != Version::V3_1 && ack_flags & 0xfe != 0 {
        return Err(r.err_at(
            flags_at,
            "connect acknowledge flags",
            DecodeErrorKind::ReservedBits {
                raw: ack_flags,
                mask: 0xfe,
            },
        ));
    }
    let code = ReasonCode(r.u8("reason code")?);
    let properties = if version.is_v5() && !legacy_shape {
        Properties::read(r, PropContext::Packet(PacketType::CONNACK))?
    } else {
        Properties::empty()
    };
    Ok(Connack {
        ack_flags,
        session_present: ack_flags & 1 != 0,
        code,
        properties,
        legacy_shape,
    })
}
