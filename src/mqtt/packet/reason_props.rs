//! DISCONNECT and AUTH: "reason code + properties" with short forms (5.0 §3.14, §3.15).

use crate::mqtt::error::DecodeError;
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{ReasonCode, Version};

/// A decoded DISCONNECT or AUTH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonProps<'a> {
    /// Reason Code; 0x00 (Normal disconnection / Success) when implied.
    pub code: ReasonCode,
    /// True when the packet had no Reason Code (remaining length 0, and always for a 3.x
    /// DISCONNECT): 0x00 is implied (5.0 §3.14.2.1, §3.15.2.1).
    pub code_implied: bool,
    /// Properties (remaining length >= 2; otherwise empty, §3.14.2.2.1).
    pub properties: Properties<'a>,
}

/// Decodes a DISCONNECT or AUTH body.
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<ReasonProps<'a>, DecodeError> {
    if !version.is_v5() || r.is_empty() {
        return Ok(ReasonProps {
            code: ReasonCode(0),
            code_implied: true,
            properties: Properties::empty(),
        });
    }
    let code = ReasonCode(r.u8("reason code")?);
    let properties = if r.is_empty() {
        Properties::empty()
    } else {
        Properties::read(r, PropContext::Packet(r.ptype()))?
    };
    Ok(ReasonProps {
        code,
        code_implied: false,
        properties,
    })
}
