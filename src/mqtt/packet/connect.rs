//! CONNECT (5.0 §3.1, 3.1.1 §3.1, 3.1 "MQIsdp"): decoded by its own protocol level.

use crate::mqtt::error::{DecodeError, DecodeErrorKind};
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::Reader;
use crate::mqtt::types::{PacketType, Version};

/// The Connect Flags byte, raw, with one accessor per flag (5.0 §3.1.2.3, 3.1.1 §3.1.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectFlags(pub u8);

impl ConnectFlags {
    /// Bit 0, reserved: must be 0 ([MQTT-3.1.2-3]).
    pub fn reserved(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Bit 1: Clean Start (5.0 §3.1.2.4) / Clean Session (3.1.1 §3.1.2.4).
    pub fn clean_start(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// Bit 2: Will Flag (§3.1.2.5).
    pub fn will(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Bits 3-4: Will QoS (§3.1.2.6).
    pub fn will_qos(self) -> u8 {
        (self.0 >> 3) & 0x03
    }
    /// Bit 5: Will Retain (§3.1.2.7).
    pub fn will_retain(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// Bit 6: Password Flag (§3.1.2.9).
    pub fn password(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// Bit 7: User Name Flag (§3.1.2.8).
    pub fn username(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// The Will Message of a CONNECT (5.0 §3.1.3.2-3.1.3.4, 3.1.1 §3.1.3.2-3.1.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will Properties (5.0 only; empty before).
    pub properties: Properties<'a>,
    /// Will Topic.
    pub topic: &'a str,
    /// Will Payload (Will Message in 3.1.1), raw.
    pub payload: &'a [u8],
    /// Will QoS from the flags.
    pub qos: u8,
    /// Will Retain from the flags.
    pub retain: bool,
}

/// A decoded CONNECT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Protocol Name: "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1).
    pub protocol_name: &'a str,
    /// Protocol Level: 3, 4 or 5 (others kept raw and decoded with the 3.1.1 layout).
    pub level: Version,
    /// Connect Flags.
    pub flags: ConnectFlags,
    /// Keep Alive in seconds (§3.1.2.10).
    pub keep_alive: u16,
    /// CONNECT Properties (5.0 §3.1.2.11; empty before 5.0).
    pub properties: Properties<'a>,
    /// Client Identifier (§3.1.3.1), possibly empty.
    pub client_id: &'a str,
    /// Will Message when the Will Flag is set.
    pub will: Option<Will<'a>>,
    /// User Name when its flag is set.
    pub username: Option<&'a str>,
    /// Password when its flag is set, raw (masking is the output's job).
    pub password: Option<&'a [u8]>,
}

/// Decodes a CONNECT body; the protocol level inside decides the layout.
pub fn decode<'a>(r: &mut Reader<'a>) -> Result<Connect<'a>, DecodeError> {
    let name_at = r.offset();
    let protocol_name = r.string("protocol name")?;
    if protocol_name != "MQTT" && protocol_name != "MQIsdp" {
        let mut prefix = [0u8; 8];
        for (d, s) in prefix.iter_mut().zip(protocol_name.bytes()) {
            *d = s;
        }
        return Err(r.err_at(
            name_at,
            "protocol name",
            DecodeErrorKind::BadProtocolName {
                prefix,
                len: protocol_name.len(),
            },
        ));
    }
    let level = Version(r.u8("protocol level")?);
    let flags_at = r.offset();
    let flags = ConnectFlags(r.u8("connect flags")?);
    if flags.reserved() {
        return Err(r.err_at(
            flags_at,
            "connect flags",
            DecodeErrorKind::ReservedBits {
                raw: flags.0,
                mask: 0x01,
            },
        ));
    }
    if flags.will_qos() == 3 {
        return Err(r.err_at(flags_at, "will QoS", DecodeErrorKind::Qos3 { raw: flags.0 }));
    }
    if !flags.will() && (flags.will_qos() != 0 || flags.will_retain()) {
        return Err(r.err_at(
            flags_at,
            "connect flags",
            DecodeErrorKind::Invalid("Will QoS or Will Retain is set without the Will Flag"),
        ));
    }
    if level == Version::V3_1_1 && flags.password() && !flags.username() {
        return Err(r.err_at(
            flags_at,
            "connect flags",
            DecodeErrorKind::Invalid("the Password Flag is set without the User Name Flag"),
        ));
    }
    let keep_alive = r.u16("keep alive")?;
    let v5 = level.is_v5();
    let ctx = PropContext::Packet(PacketType::CONNECT);
    let properties = if v5 {
        Properties::read(r, ctx)?
    } else {
        Properties::empty()
    };
    let client_id = r.string("client identifier")?;
    let will = if flags.will() {
        let properties = if v5 {
            Properties::read(r, PropContext::Will)?
        } else {
            Properties::empty()
        };
        Some(Will {
            properties,
            topic: r.string("will topic")?,
            payload: r.binary("will payload")?,
            qos: flags.will_qos(),
            retain: flags.will_retain(),
        })
    } else {
        None
    };
    let username = if flags.username() {
        Some(r.string("user name")?)
    } else {
        None
    };
    let password = if flags.password() {
        Some(r.binary("password")?)
    } else {
        None
    };
    Ok(Connect {
        protocol_name,
        level,
        flags,
        keep_alive,
        properties,
        client_id,
        will,
        username,
        password,
    })
}
