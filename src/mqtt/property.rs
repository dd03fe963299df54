//! MQTT 5.0 properties (5.0 §2.2.2): identifiers, typed values, and block validation.
//!
//! A block is checked once at decode time (lengths, identifiers, strings) and kept as the
//! borrowed bytes; values are read lazily by iterating. Issues that do not stop decoding (a
//! property not allowed in its packet, a single-use property given twice, a forbidden value)
//! are listed as [`PropertyIssue`]s for the session layer.

use super::error::{DecodeError, DecodeErrorKind};
use super::reader::Reader;
use super::types::PacketType;
use std::fmt;

/// A property identifier (5.0 §2.2.2.2 Table 2-4), kept raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropertyId(pub u8);

/// Wire data type of a property value (5.0 §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    /// One byte.
    Byte,
    /// Two Byte Integer.
    TwoByte,
    /// Four Byte Integer.
    FourByte,
    /// Variable Byte Integer.
    Varint,
    /// UTF-8 Encoded String.
    Utf8,
    /// Binary Data.
    Binary,
    /// UTF-8 String Pair.
    Utf8Pair,
}

/// Where a property block sits: a packet's variable header, or the Will Properties of CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropContext {
    /// Properties of a packet of this type.
    Packet(PacketType),
    /// Will Properties in the CONNECT payload (5.0 §3.1.3.2).
    Will,
}

impl PropContext {
    fn bit(self) -> u32 {
        match self {
            PropContext::Packet(t) => 1 << (t.0 & 0x0f),
            PropContext::Will => WILL,
        }
    }
}

impl fmt::Display for PropContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropContext::Packet(t) => write!(f, "{t}"),
            PropContext::Will => f.write_str("Will Properties"),
        }
    }
}

const fn b(t: u8) -> u32 {
    1 << t
}
const CONNECT: u32 = b(1);
const CONNACK: u32 = b(2);
const PUBLISH: u32 = b(3);
const ACKS: u32 = b(4) | b(5) | b(6) | b(7);
const SUBSCRIBE: u32 = b(8);
const SUBACK: u32 = b(9);
const UNSUBSCRIBE: u32 = b(10);
const UNSUBACK: u32 = b(11);
const DISCONNECT: u32 = b(14);
const AUTH: u32 = b(15);
const WILL: u32 = 1 << 16;

/// One row of Table 2-4: name, type, where allowed, and whether it may repeat.
struct Spec {
    name: &'static str,
    ty: PropType,
    allowed: u32,
    /// May appear more than once (User Property; Subscription Identifier in PUBLISH only).
    multi: u32,
    /// Only 0 and 1 are allowed.
    boolean: bool,
    /// 0 is a protocol error.
    nonzero: bool,
}

const fn spec(name: &'static str, ty: PropType, allowed: u32) -> Spec {
    Spec {
        name,
        ty,
        allowed,
        multi: 0,
        boolean: false,
        nonzero: false,
    }
}

/// The 27 properties of 5.0 §2.2.2.2 Table 2-4 (with the Will set of §3.1.3.2).
fn lookup(id: u8) -> Option<Spec> {
    use PropType::*;
    let s = match id {
        0x01 => Spec {
            boolean: true,
            ..spec("Payload Format Indicator", Byte, PUBLISH | WILL)
        },
        0x02 => spec("Message Expiry Interval", FourByte, PUBLISH | WILL),
        0x03 => spec("Content Type", Utf8, PUBLISH | WILL),
        0x08 => spec("Response Topic", Utf8, PUBLISH | WILL),
        0x09 => spec("Correlation Data", Binary, PUBLISH | WILL),
        0x0B => Spec {
            multi: PUBLISH,
            nonzero: true,
            ..spec("Subscription Identifier", Varint, PUBLISH | SUBSCRIBE)
        },
        0x11 => spec(
            "Session Expiry Interval",
            FourByte,
            CONNECT | CONNACK | DISCONNECT,
        ),
        0x12 => spec("Assigned Client Identifier", Utf8, CONNACK),
        0x13 => spec("Server Keep Alive", TwoByte, CONNACK),
        0x15 => spec("Authentication Method", Utf8, CONNECT | CONNACK | AUTH),
        0x16 => spec("Authentication Data", Binary, CONNECT | CONNACK | AUTH),
        0x17 => Spec {
            boolean: true,
            ..spec("Request Problem Information", Byte, CONNECT)
        },
        0x18 => spec("Will Delay Interval", FourByte, WILL),
        0x19 => Spec {
            boolean: true,
            ..spec("Request Response Information", Byte, CONNECT)
        },
        0x1A => spec("Response Information", Utf8, CONNACK),
        0x1C => spec("Server Reference", Utf8, CONNACK | DISCONNECT),
        0x1F => spec(
            "Reason String",
            Utf8,
            CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH,
        ),
        0x21 => Spec {
            nonzero: true,
            ..spec("Receive Maximum", TwoByte, CONNECT | CONNACK)
        },
        0x22 => spec("Topic Alias Maximum", TwoByte, CONNECT | CONNACK),
        0x23 => Spec {
            nonzero: true,
            ..spec("Topic Alias", TwoByte, PUBLISH)
        },
        0x24 => Spec {
            boolean: true,
            ..spec("Maximum QoS", Byte, CONNACK)
        },
        0x25 => Spec {
            boolean: true,
            ..spec("Retain Available", Byte, CONNACK)
        },
        0x26 => Spec {
            multi: u32::MAX,
            ..spec(
                "User Property",
                Utf8Pair,
                CONNECT
                    | CONNACK
                    | PUBLISH
                    | WILL
                    | ACKS
                    | SUBSCRIBE
                    | SUBACK
                    | UNSUBSCRIBE
                    | UNSUBACK
                    | DISCONNECT
                    | AUTH,
            )
        },
        0x27 => Spec {
            nonzero: true,
            ..spec("Maximum Packet Size", FourByte, CONNECT | CONNACK)
        },
        0x28 => Spec {
            boolean: true,
            ..spec("Wildcard Subscription Available", Byte, CONNACK)
        },
        0x29 => Spec {
            boolean: true,
            ..spec("Subscription Identifier Available", Byte, CONNACK)
        },
        0x2A => Spec {
            boolean: true,
            ..spec("Shared Subscription Available", Byte, CONNACK)
        },
        _ => return None,
    };
    Some(s)
}

impl PropertyId {
    /// Payload Format Indicator (5.0 §3.3.2.3.2).
    pub const PAYLOAD_FORMAT_INDICATOR: PropertyId = PropertyId(0x01);
    /// Message Expiry Interval (5.0 §3.3.2.3.3).
    pub const MESSAGE_EXPIRY_INTERVAL: PropertyId = PropertyId(0x02);
    /// Content Type (5.0 §3.3.2.3.9).
    pub const CONTENT_TYPE: PropertyId = PropertyId(0x03);
    /// Response Topic (5.0 §3.3.2.3.5).
    pub const RESPONSE_TOPIC: PropertyId = PropertyId(0x08);
    /// Correlation Data (5.0 §3.3.2.3.6).
    pub const CORRELATION_DATA: PropertyId = PropertyId(0x09);
    /// Subscription Identifier (5.0 §3.8.2.1.2, §3.3.2.3.8).
    pub const SUBSCRIPTION_IDENTIFIER: PropertyId = PropertyId(0x0B);
    /// Session Expiry Interval (5.0 §3.1.2.11.2).
    pub const SESSION_EXPIRY_INTERVAL: PropertyId = PropertyId(0x11);
    /// Assigned Client Identifier (5.0 §3.2.2.3.7).
    pub const ASSIGNED_CLIENT_IDENTIFIER: PropertyId = PropertyId(0x12);
    /// Server Keep Alive (5.0 §3.2.2.3.14).
    pub const SERVER_KEEP_ALIVE: PropertyId = PropertyId(0x13);
    /// Authentication Method (5.0 §3.1.2.11.9).
    pub const AUTHENTICATION_METHOD: PropertyId = PropertyId(0x15);
    /// Authentication Data (5.0 §3.1.2.11.10).
    pub const AUTHENTICATION_DATA: PropertyId = PropertyId(0x16);
    /// Request Problem Information (5.0 §3.1.2.11.7).
    pub const REQUEST_PROBLEM_INFORMATION: PropertyId = PropertyId(0x17);
    /// Will Delay Interval (5.0 §3.1.3.2.2).
    pub const WILL_DELAY_INTERVAL: PropertyId = PropertyId(0x18);
    /// Request Response Information (5.0 §3.1.2.11.6).
    pub const REQUEST_RESPONSE_INFORMATION: PropertyId = PropertyId(0x19);
    /// Response Information (5.0 §3.2.2.3.15).
    pub const RESPONSE_INFORMATION: PropertyId = PropertyId(0x1A);
    /// Server Reference (5.0 §3.2.2.3.16).
    pub const SERVER_REFERENCE: PropertyId = PropertyId(0x1C);
    /// Reason String (5.0 §3.2.2.3.9 and the acknowledgements).
    pub const REASON_STRING: PropertyId = PropertyId(0x1F);
    /// Receive Maximum (5.0 §3.1.2.11.3).
    pub const RECEIVE_MAXIMUM: PropertyId = PropertyId(0x21);
    /// Topic Alias Maximum (5.0 §3.1.2.11.5).
    pub const TOPIC_ALIAS_MAXIMUM: PropertyId = PropertyId(0x22);
    /// Topic Alias (5.0 §3.3.2.3.4).
    pub const TOPIC_ALIAS: PropertyId = PropertyId(0x23);
    /// Maximum QoS (5.0 §3.2.2.3.4).
    pub const MAXIMUM_QOS: PropertyId = PropertyId(0x24);
    /// Retain Available (5.0 §3.2.2.3.5).
    pub const RETAIN_AVAILABLE: PropertyId = PropertyId(0x25);
    /// User Property (5.0 §3.1.2.11.8), may repeat.
    pub const USER_PROPERTY: PropertyId = PropertyId(0x26);
    /// Maximum Packet Size (5.0 §3.1.2.11.4).
    pub const MAXIMUM_PACKET_SIZE: PropertyId = PropertyId(0x27);
    /// Wildcard Subscription Available (5.0 §3.2.2.3.11).
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x28);
    /// Subscription Identifier Available (5.0 §3.2.2.3.12).
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: PropertyId = PropertyId(0x29);
    /// Shared Subscription Available (5.0 §3.2.2.3.13).
    pub const SHARED_SUBSCRIPTION_AVAILABLE: PropertyId = PropertyId(0x2A);

    /// Every defined identifier, in Table 2-4 order.
    pub const ALL: [PropertyId; 27] = [
        PropertyId(0x01),
        PropertyId(0x02),
        PropertyId(0x03),
        PropertyId(0x08),
        PropertyId(0x09),
        PropertyId(0x0B),
        PropertyId(0x11),
        PropertyId(0x12),
        PropertyId(0x13),
        PropertyId(0x15),
        PropertyId(0x16),
        PropertyId(0x17),
        PropertyId(0x18),
        PropertyId(0x19),
        PropertyId(0x1A),
        PropertyId(0x1C),
        PropertyId(0x1F),
        PropertyId(0x21),
        PropertyId(0x22),
        PropertyId(0x23),
        PropertyId(0x24),
        PropertyId(0x25),
        PropertyId(0x26),
        PropertyId(0x27),
        PropertyId(0x28),
        PropertyId(0x29),
        PropertyId(0x2A),
    ];

    /// Name as in the standard, or "unknown".
    pub fn name(self) -> &'static str {
        lookup(self.0).map_or("unknown", |s| s.name)
    }

    /// Data type, or `None` for an undefined identifier.
    pub fn data_type(self) -> Option<PropType> {
        lookup(self.0).map(|s| s.ty)
    }

    /// True when the property may appear in this context (Table 2-4 and §3.1.3.2).
    pub fn allowed_in(self, ctx: PropContext) -> bool {
        lookup(self.0).is_some_and(|s| s.allowed & ctx.bit() != 0)
    }
}

impl fmt::Display for PropertyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), self.0)
    }
}

/// A property value, borrowing strings and binary data from the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropValue<'a> {
    /// Byte.
    Byte(u8),
    /// Two Byte Integer.
    TwoByte(u16),
    /// Four Byte Integer.
    FourByte(u32),
    /// Variable Byte Integer.
    Varint(u32),
    /// UTF-8 Encoded String.
    Utf8(&'a str),
    /// Binary Data.
    Binary(&'a [u8]),
    /// UTF-8 String Pair (name, value).
    Pair(&'a str, &'a str),
}

impl PropValue<'_> {
    /// The value as an integer, for the integer types.
    pub fn as_u32(&self) -> Option<u32> {
        match *self {
            PropValue::Byte(v) => Some(v.into()),
            PropValue::TwoByte(v) => Some(v.into()),
            PropValue::FourByte(v) | PropValue::Varint(v) => Some(v),
            _ => None,
        }
    }
}

/// One decoded property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Property<'a> {
    /// Identifier.
    pub id: PropertyId,
    /// Offset of the identifier within the packet.
    pub offset: usize,
    /// Value.
    pub value: PropValue<'a>,
}

/// A non-fatal problem with one property (the session layer turns these into anomalies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropertyIssue {
    /// The property.
    pub id: PropertyId,
    /// Offset of its identifier within the packet.
    pub offset: usize,
    /// What is wrong.
    pub kind: IssueKind,
}

/// What is wrong with a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueKind {
    /// Not allowed in this packet (Table 2-4).
    NotAllowed(PropContext),
    /// A single-use property repeated; offset of the first occurrence.
    Duplicate {
        /// Offset of the first occurrence.
        first: usize,
    },
    /// A value the standard forbids (e.g. Topic Alias 0, Maximum QoS 2).
    BadValue(u32),
}

impl fmt::Display for PropertyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            IssueKind::NotAllowed(ctx) => write!(
                f,
                "property {} at byte {} is not allowed in {ctx}",
                self.id, self.offset
            ),
            IssueKind::Duplicate { first } => write!(
                f,
                "property {} at byte {} repeats the one at byte {first} but may appear only once",
                self.id, self.offset
            ),
            IssueKind::BadValue(v) => write!(
                f,
                "property {} at byte {} has the forbidden value {v}",
                self.id, self.offset
            ),
        }
    }
}

/// A validated property block, borrowed from the packet.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Properties<'a> {
    raw: &'a [u8],
    offset: usize,
    issues: Vec<PropertyIssue>,
}

impl<'a> Properties<'a> {
    /// No properties (3.x packets and 5.0 short forms).
    pub fn empty() -> Self {
        Properties::default()
    }

    /// Reads a Property Length and block from `r` and validates it for `ctx` (5.0 §2.2.2.1).
    pub fn read(r: &mut Reader<'a>, ctx: PropContext) -> Result<Self, DecodeError> {
        let len = r.varint("property length")?;
        let offset = r.offset();
        let raw = r.take(len as usize, "properties")?;
        Self::parse(raw, offset, r.ptype(), ctx)
    }

    /// Validates a block `raw` (without its length) starting at packet offset `offset`.
    pub fn parse(
        raw: &'a [u8],
        offset: usize,
        ptype: PacketType,
        ctx: PropContext,
    ) -> Result<Self, DecodeError> {
        let mut issues = Vec::new();
        let mut seen: u64 = 0;
        let mut first_at = [0u32; 64];
        let mut r = Reader::new(raw, offset, ptype);
        while !r.is_empty() {
            let at = r.offset();
            let p = read_one(&mut r)?;
            let id = p.id;
            let spec = lookup(id.0);
            let Some(spec) = spec else { continue };
            if spec.allowed & ctx.bit() == 0 {
                issues.push(PropertyIssue {
                    id,
                    offset: at,
                    kind: IssueKind::NotAllowed(ctx),
                });
            }
            let bit = 1u64 << (id.0 & 63);
            if spec.multi & ctx.bit() == 0 {
                if seen & bit != 0 {
                    let first = first_at.get(usize::from(id.0 & 63)).copied().unwrap_or(0);
                    issues.push(PropertyIssue {
                        id,
                        offset: at,
                        kind: IssueKind::Duplicate {
                            first: first as usize,
                        },
                    });
                } else if let Some(slot) = first_at.get_mut(usize::from(id.0 & 63)) {
                    *slot = at as u32;
                }
            }
            seen |= bit;
            if let Some(v) = p.value.as_u32() {
                if (spec.boolean && v > 1) || (spec.nonzero && v == 0) {
                    issues.push(PropertyIssue {
                        id,
                        offset: at,
                        kind: IssueKind::BadValue(v),
                    });
                }
            }
        }
        Ok(Properties {
            raw,
            offset,
            issues,
        })
    }

    /// The block bytes (without the Property Length).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Offset of the block within the packet.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when the block holds no property.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Non-fatal problems found while validating.
    pub fn issues(&self) -> &[PropertyIssue] {
        &self.issues
    }

    /// Every property in wire order.
    pub fn iter(&self) -> PropIter<'a> {
        PropIter {
            r: Reader::new(self.raw, self.offset, PacketType::RESERVED),
        }
    }

    /// The first value of a property.
    pub fn get(&self, id: PropertyId) -> Option<PropValue<'a>> {
        self.iter().find(|p| p.id == id).map(|p| p.value)
    }

    fn str_of(&self, id: PropertyId) -> Option<&'a str> {
        match self.get(id)? {
            PropValue::Utf8(s) => Some(s),
            _ => None,
        }
    }

    fn bin_of(&self, id: PropertyId) -> Option<&'a [u8]> {
        match self.get(id)? {
            PropValue::Binary(s) => Some(s),
            _ => None,
        }
    }

    fn int_of(&self, id: PropertyId) -> Option<u32> {
        self.get(id)?.as_u32()
    }

    /// Reason String.
    pub fn reason_string(&self) -> Option<&'a str> {
        self.str_of(PropertyId::REASON_STRING)
    }
    /// User Properties (name, value) in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.iter().filter_map(|p| match p.value {
            PropValue::Pair(k, v) => Some((k, v)),
            _ => None,
        })
    }
    /// Topic Alias.
    pub fn topic_alias(&self) -> Option<u16> {
        self.int_of(PropertyId::TOPIC_ALIAS).map(|v| v as u16)
    }
    /// Receive Maximum.
    pub fn receive_maximum(&self) -> Option<u16> {
        self.int_of(PropertyId::RECEIVE_MAXIMUM).map(|v| v as u16)
    }
    /// Maximum Packet Size.
    pub fn maximum_packet_size(&self) -> Option<u32> {
        self.int_of(PropertyId::MAXIMUM_PACKET_SIZE)
    }
    /// Topic Alias Maximum.
    pub fn topic_alias_maximum(&self) -> Option<u16> {
        self.int_of(PropertyId::TOPIC_ALIAS_MAXIMUM)
            .map(|v| v as u16)
    }
    /// Maximum QoS.
    pub fn maximum_qos(&self) -> Option<u8> {
        self.int_of(PropertyId::MAXIMUM_QOS).map(|v| v as u8)
    }
    /// Retain Available.
    pub fn retain_available(&self) -> Option<u8> {
        self.int_of(PropertyId::RETAIN_AVAILABLE).map(|v| v as u8)
    }
    /// Session Expiry Interval (seconds).
    pub fn session_expiry(&self) -> Option<u32> {
        self.int_of(PropertyId::SESSION_EXPIRY_INTERVAL)
    }
    /// Server Keep Alive (seconds).
    pub fn server_keep_alive(&self) -> Option<u16> {
        self.int_of(PropertyId::SERVER_KEEP_ALIVE).map(|v| v as u16)
    }
    /// Assigned Client Identifier.
    pub fn assigned_client_identifier(&self) -> Option<&'a str> {
        self.str_of(PropertyId::ASSIGNED_CLIENT_IDENTIFIER)
    }
    /// Payload Format Indicator.
    pub fn payload_format_indicator(&self) -> Option<u8> {
        self.int_of(PropertyId::PAYLOAD_FORMAT_INDICATOR)
            .map(|v| v as u8)
    }
    /// Content Type.
    pub fn content_type(&self) -> Option<&'a str> {
        self.str_of(PropertyId::CONTENT_TYPE)
    }
    /// Authentication Method.
    pub fn authentication_method(&self) -> Option<&'a str> {
        self.str_of(PropertyId::AUTHENTICATION_METHOD)
    }
    /// Authentication Data.
    pub fn authentication_data(&self) -> Option<&'a [u8]> {
        self.bin_of(PropertyId::AUTHENTICATION_DATA)
    }
    /// Subscription Identifiers in order (several in a PUBLISH, 5.0 §3.3.2.3.8).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.iter().filter_map(|p| match p.value {
            PropValue::Varint(v) if p.id == PropertyId::SUBSCRIPTION_IDENTIFIER => Some(v),
            _ => None,
        })
    }
}

/// Iterator over a validated property block.
#[derive(Clone, Debug)]
pub struct PropIter<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for PropIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        if self.r.is_empty() {
            return None;
        }
        read_one(&mut self.r).ok()
    }
}

/// Reads one property: identifier (a Variable Byte Integer, 5.0 §2.2.2.2) then its value.
fn read_one<'a>(r: &mut Reader<'a>) -> Result<Property<'a>, DecodeError> {
    let at = r.offset();
    let id = r.varint("property identifier")?;
    let ty = u8::try_from(id).ok().and_then(|i| lookup(i).map(|s| s.ty));
    let Some(ty) = ty else {
        return Err(r.err_at(
            at,
            "property identifier",
            DecodeErrorKind::UnknownProperty { id },
        ));
    };
    let id = PropertyId(id as u8);
    let f = id.name();
    let value = match ty {
        PropType::Byte => PropValue::Byte(r.u8(f)?),
        PropType::TwoByte => PropValue::TwoByte(r.u16(f)?),
        PropType::FourByte => PropValue::FourByte(r.u32(f)?),
        PropType::Varint => PropValue::Varint(r.varint(f)?),
        PropType::Utf8 => PropValue::Utf8(r.string(f)?),
        PropType::Binary => PropValue::Binary(r.binary(f)?),
        PropType::Utf8Pair => PropValue::Pair(r.string(f)?, r.string(f)?),
    };
    Ok(Property {
        id,
        offset: at,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_27_defined() {
        assert_eq!((0u8..=0x7f).filter(|&i| lookup(i).is_some()).count(), 27);
        assert!(PropertyId::ALL.iter().all(|p| p.data_type().is_some()));
    }

    #[test]
    fn issues_are_listed() {
        // Topic Alias twice, then Session Expiry (not allowed in PUBLISH), then Topic Alias 0.
        let raw = [0x23, 0, 1, 0x23, 0, 2, 0x11, 0, 0, 0, 5];
        let p = Properties::parse(
            &raw,
            10,
            PacketType::PUBLISH,
            PropContext::Packet(PacketType::PUBLISH),
        )
        .unwrap();
        assert_eq!(p.topic_alias(), Some(1));
        assert_eq!(
            p.issues(),
            &[
                PropertyIssue {
                    id: PropertyId::TOPIC_ALIAS,
                    offset: 13,
                    kind: IssueKind::Duplicate { first: 10 }
                },
                PropertyIssue {
                    id: PropertyId::SESSION_EXPIRY_INTERVAL,
                    offset: 16,
                    kind: IssueKind::NotAllowed(PropContext::Packet(PacketType::PUBLISH))
                },
            ]
        );
    }

    #[test]
    fn unknown_id_is_fatal_with_offset() {
        let raw = [0x23, 0, 1, 0x7f, 0];
        let e = Properties::parse(
            &raw,
            4,
            PacketType::PUBLISH,
            PropContext::Packet(PacketType::PUBLISH),
        )
        .unwrap_err();
        assert_eq!(e.offset, 7);
        assert_eq!(e.kind, DecodeErrorKind::UnknownProperty { id: 0x7f });
    }

    #[test]
    fn subscription_identifier_repeats_only_in_publish() {
        let raw = [0x0B, 1, 0x0B, 2];
        let ctx = |t| PropContext::Packet(t);
        let p = Properties::parse(&raw, 0, PacketType::PUBLISH, ctx(PacketType::PUBLISH)).unwrap();
        assert!(p.issues().is_empty());
        assert_eq!(p.subscription_identifiers().collect::<Vec<_>>(), vec![1, 2]);
        let s =
            Properties::parse(&raw, 0, PacketType::SUBSCRIBE, ctx(PacketType::SUBSCRIBE)).unwrap();
        assert_eq!(s.issues().len(), 1);
    }
}
