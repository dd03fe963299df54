//! Small MQTT value types shared by every layer: packet type, protocol version, reason code.

use std::fmt;

/// The 4-bit control packet type of the fixed header (MQTT 5.0 §2.1.2, 3.1.1 §2.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketType(pub u8);

impl PacketType {
    /// Type 0, reserved (forbidden on the wire).
    pub const RESERVED: PacketType = PacketType(0);
    /// CONNECT (client to server).
    pub const CONNECT: PacketType = PacketType(1);
    /// CONNACK.
    pub const CONNACK: PacketType = PacketType(2);
    /// PUBLISH.
    pub const PUBLISH: PacketType = PacketType(3);
    /// PUBACK.
    pub const PUBACK: PacketType = PacketType(4);
    /// PUBREC.
    pub const PUBREC: PacketType = PacketType(5);
    /// PUBREL.
    pub const PUBREL: PacketType = PacketType(6);
    /// PUBCOMP.
    pub const PUBCOMP: PacketType = PacketType(7);
    /// SUBSCRIBE.
    pub const SUBSCRIBE: PacketType = PacketType(8);
    /// SUBACK.
    pub const SUBACK: PacketType = PacketType(9);
    /// UNSUBSCRIBE.
    pub const UNSUBSCRIBE: PacketType = PacketType(10);
    /// UNSUBACK.
    pub const UNSUBACK: PacketType = PacketType(11);
    /// PINGREQ.
    pub const PINGREQ: PacketType = PacketType(12);
    /// PINGRESP.
    pub const PINGRESP: PacketType = PacketType(13);
    /// DISCONNECT.
    pub const DISCONNECT: PacketType = PacketType(14);
    /// AUTH (5.0 only).
    pub const AUTH: PacketType = PacketType(15);

    /// All sixteen values in order, reserved first.
    pub const ALL: [PacketType; 16] = [
        Self::RESERVED,
        Self::CONNECT,
        Self::CONNACK,
        Self::PUBLISH,
        Self::PUBACK,
        Self::PUBREC,
        Self::PUBREL,
        Self::PUBCOMP,
        Self::SUBSCRIBE,
        Self::SUBACK,
        Self::UNSUBSCRIBE,
        Self::UNSUBACK,
        Self::PINGREQ,
        Self::PINGRESP,
        Self::DISCONNECT,
        Self::AUTH,
    ];

    /// Upper-case name as in the standard ("CONNECT" ... "AUTH", "RESERVED" for 0).
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 16] = [
            "RESERVED",
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBACK",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "SUBSCRIBE",
            "SUBACK",
            "UNSUBSCRIBE",
            "UNSUBACK",
            "PINGREQ",
            "PINGRESP",
            "DISCONNECT",
            "AUTH",
        ];
        NAMES[(self.0 & 0x0f) as usize]
    }

    /// Parses a name (case-insensitive) back into a type.
    pub fn from_name(name: &str) -> Option<PacketType> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The protocol level byte of CONNECT: 3 (MQTT 3.1), 4 (3.1.1) or 5 (5.0); others kept raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u8);

impl Version {
    /// MQTT 3.1 ("MQIsdp", level 3).
    pub const V3_1: Version = Version(3);
    /// MQTT 3.1.1 ("MQTT", level 4).
    pub const V3_1_1: Version = Version(4);
    /// MQTT 5.0 ("MQTT", level 5).
    pub const V5: Version = Version(5);

    /// True for 5.0, whose packets carry reason codes and properties.
    pub fn is_v5(self) -> bool {
        self.0 == 5
    }

    /// Human name: "3.1", "3.1.1", "5.0" or "level N".
    pub fn label(self) -> String {
        match self.0 {
            3 => "3.1".into(),
            4 => "3.1.1".into(),
            5 => "5.0".into(),
            n => format!("level {n}"),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A reason code (5.0) or return code (3.x) exactly as on the wire; never lossy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReasonCode(pub u8);

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02X}", self.0)
    }
}
