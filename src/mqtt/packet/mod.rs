//! Decoded MQTT control packets (one file per wire shape) and the `decode` entry point.

pub mod ack;
pub mod connack;
pub mod connect;
pub mod publish;
pub mod reason_props;
pub mod suback;
pub mod subscribe;
pub mod unsubscribe;

pub use ack::Ack;
pub use connack::Connack;
pub use connect::{Connect, ConnectFlags, Will};
pub use publish::Publish;
pub use reason_props::ReasonProps;
pub use suback::SubAck;
pub use subscribe::{Subscribe, Subscription, SubscriptionList, SubscriptionOptions};
pub use unsubscribe::{FilterList, Unsubscribe};

use super::error::{DecodeError, DecodeErrorKind};
use super::framer::RawPacket;
use super::header::{required_flags, FixedHeader};
use super::property::{Properties, PropertyIssue};
use super::reader::Reader;
use super::types::{PacketType, Version};

/// One decoded control packet, borrowing strings and payloads from the packet bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// CONNECT (§3.1).
    Connect(Connect<'a>),
    /// CONNACK (§3.2).
    Connack(Connack<'a>),
    /// PUBLISH (§3.3).
    Publish(Publish<'a>),
    /// PUBACK (§3.4).
    Puback(Ack<'a>),
    /// PUBREC (§3.5).
    Pubrec(Ack<'a>),
    /// PUBREL (§3.6).
    Pubrel(Ack<'a>),
    /// PUBCOMP (§3.7).
    Pubcomp(Ack<'a>),
    /// SUBSCRIBE (§3.8).
    Subscribe(Subscribe<'a>),
    /// SUBACK (§3.9).
    Suback(SubAck<'a>),
    /// UNSUBSCRIBE (§3.10).
    Unsubscribe(Unsubscribe<'a>),
    /// UNSUBACK (§3.11).
    Unsuback(SubAck<'a>),
    /// PINGREQ (§3.12).
    Pingreq,
    /// PINGRESP (§3.13).
    Pingresp,
    /// DISCONNECT (§3.14).
    Disconnect(ReasonProps<'a>),
    /// AUTH (5.0 §3.15).
    Auth(ReasonProps<'a>),
}

impl<'a> Packet<'a> {
    /// The packet type.
    pub fn ptype(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::CONNECT,
            Packet::Connack(_) => PacketType::CONNACK,
            Packet::Publish(_) => PacketType::PUBLISH,
            Packet::Puback(_) => PacketType::PUBACK,
            Packet::Pubrec(_) => PacketType::PUBREC,
            Packet::Pubrel(_) => PacketType::PUBREL,
            Packet::Pubcomp(_) => PacketType::PUBCOMP,
            Packet::Subscribe(_) => PacketType::SUBSCRIBE,
            Packet::Suback(_) => PacketType::SUBACK,
            Packet::Unsubscribe(_) => PacketType::UNSUBSCRIBE,
            Packet::Unsuback(_) => PacketType::UNSUBACK,
            Packet::Pingreq => PacketType::PINGREQ,
            Packet::Pingresp => PacketType::PINGRESP,
            Packet::Disconnect(_) => PacketType::DISCONNECT,
            Packet::Auth(_) => PacketType::AUTH,
        }
    }

    /// The packet's (variable header) properties; `None` for PINGREQ and PINGRESP.
    pub fn properties(&self) -> Option<&Properties<'a>> {
        Some(match self {
            Packet::Connect(p) => &p.properties,
            Packet::Connack(p) => &p.properties,
            Packet::Publish(p) => &p.properties,
            Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
                &p.properties
            }
            Packet::Subscribe(p) => &p.properties,
            Packet::Suback(p) | Packet::Unsuback(p) => &p.properties,
            Packet::Unsubscribe(p) => &p.properties,
            Packet::Disconnect(p) | Packet::Auth(p) => &p.properties,
            Packet::Pingreq | Packet::Pingresp => return None,
        })
    }

    /// Every non-fatal property issue, Will Properties of a CONNECT included.
    pub fn property_issues(&self) -> impl Iterator<Item = &PropertyIssue> {
        let will = match self {
            Packet::Connect(c) => c.will.as_ref().map(|w| w.properties.issues()),
            _ => None,
        };
        self.properties()
            .map(|p| p.issues())
            .unwrap_or(&[])
            .iter()
            .chain(will.unwrap_or(&[]))
    }

    /// The packet identifier, for the types that carry one.
    pub fn packet_id(&self) -> Option<u16> {
        match self {
            Packet::Publish(p) => p.packet_id,
            Packet::Puback(p) | Packet::Pubrec(p) | Packet::Pubrel(p) | Packet::Pubcomp(p) => {
                Some(p.packet_id)
            }
            Packet::Subscribe(p) => Some(p.packet_id),
            Packet::Suback(p) | Packet::Unsuback(p) => Some(p.packet_id),
            Packet::Unsubscribe(p) => Some(p.packet_id),
            _ => None,
        }
    }
}

/// Decodes a framed packet for a connection at `version` (CONNECT decodes by its own level).
/// A PUBLISH whose payload was passed over by the framer decodes as the bytes kept (its
/// payload then ends early; `RawPacket::elided` tells the rest).
pub fn decode<'a>(raw: &RawPacket<'a>, version: Version) -> Result<Packet<'a>, DecodeError> {
    if raw.elided > 0 {
        let mut kept = raw.header;
        kept.remaining_len = raw.body.len() as u32;
        return decode_parts(&kept, raw.body, version);
    }
    decode_parts(&raw.header, raw.body, version)
}

/// Decodes from a fixed header and a body of exactly `remaining_len` bytes.
pub fn decode_parts<'a>(
    header: &FixedHeader,
    body: &'a [u8],
    version: Version,
) -> Result<Packet<'a>, DecodeError> {
    let t = header.ptype;
    let mut r = Reader::new(body, usize::from(header.header_len), t);
    if body.len() as u64 != u64::from(header.remaining_len) {
        let kind = DecodeErrorKind::Truncated {
            needed: header.remaining_len as usize,
            available: body.len(),
        };
        return Err(r.err("packet body", kind));
    }
    check_flags(header, version, &r)?;
    let v = version;
    let packet = match t {
        PacketType::CONNECT => Packet::Connect(connect::decode(&mut r)?),
        PacketType::CONNACK => Packet::Connack(connack::decode(&mut r, v)?),
        PacketType::PUBLISH => Packet::Publish(publish::decode(&mut r, header.flags, v)?),
        PacketType::PUBACK => Packet::Puback(ack::decode(&mut r, v)?),
        PacketType::PUBREC => Packet::Pubrec(ack::decode(&mut r, v)?),
        PacketType::PUBREL => Packet::Pubrel(ack::decode(&mut r, v)?),
        PacketType::PUBCOMP => Packet::Pubcomp(ack::decode(&mut r, v)?),
        PacketType::SUBSCRIBE => Packet::Subscribe(subscribe::decode(&mut r, v)?),
        PacketType::SUBACK => Packet::Suback(suback::decode(&mut r, v)?),
        PacketType::UNSUBSCRIBE => Packet::Unsubscribe(unsubscribe::decode(&mut r, v)?),
        PacketType::UNSUBACK => Packet::Unsuback(suback::decode(&mut r, v)?),
        PacketType::PINGREQ => Packet::Pingreq,
        PacketType::PINGRESP => Packet::Pingresp,
        PacketType::DISCONNECT => Packet::Disconnect(reason_props::decode(&mut r, v)?),
        PacketType::AUTH => Packet::Auth(reason_props::decode(&mut r, v)?),
        _ => return Err(r.err_at(0, "packet type", DecodeErrorKind::ReservedType)),
    };
    if !r.is_empty() {
        let kind = DecodeErrorKind::TrailingBytes {
            count: r.remaining(),
        };
        return Err(r.err("end of packet", kind));
    }
    Ok(packet)
}

/// Checks type and fixed-header flags (5.0 §2.1.2-2.1.3, 3.1.1 §2.2.1-2.2.2).
fn check_flags(h: &FixedHeader, version: Version, r: &Reader<'_>) -> Result<(), DecodeError> {
    let t = h.ptype;
    if t == PacketType::RESERVED {
        return Err(r.err_at(0, "packet type", DecodeErrorKind::ReservedType));
    }
    if t == PacketType::AUTH && !version.is_v5() {
        let kind = DecodeErrorKind::NotInVersion { level: version.0 };
        return Err(r.err_at(0, "packet type", kind));
    }
    match required_flags(t) {
        None => {
            if (h.flags >> 1) & 0x03 == 3 {
                return Err(r.err_at(0, "QoS flags", DecodeErrorKind::Qos3 { raw: h.flags }));
            }
        }
        Some(expected) => {
            // 3.1 carried DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE resends.
            let found = if version == Version::V3_1 && expected == 0b0010 {
                h.flags & 0b0111
            } else {
                h.flags
            };
            if found != expected {
                let kind = DecodeErrorKind::BadFlags {
                    found: h.flags,
                    expected,
                };
                return Err(r.err_at(0, "fixed header flags", kind));
            }
        }
    }
    Ok(())
}
