//! SUBSCRIBE (5.0 §3.8, 3.1.1 §3.8): filters with their subscription options.

use crate::mqtt::error::{DecodeError, DecodeErrorKind};
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::{check_str, Reader};
use crate::mqtt::types::{PacketType, Version};

/// The Subscription Options byte (5.0 §3.8.3.1) or Requested QoS byte (3.1.1 §3.8.3), raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionOptions(pub u8);

impl SubscriptionOptions {
    /// Maximum (5.0) or Requested (3.x) QoS, bits 0-1.
    pub fn qos(self) -> u8 {
        self.0 & 0x03
    }
    /// No Local, bit 2 (5.0).
    pub fn no_local(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Retain As Published, bit 3 (5.0).
    pub fn retain_as_published(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// Retain Handling, bits 4-5 (5.0).
    pub fn retain_handling(self) -> u8 {
        (self.0 >> 4) & 0x03
    }
    /// Mask of the reserved bits: 6-7 in 5.0, 2-7 in 3.x.
    pub fn reserved_mask(version: Version) -> u8 {
        if version.is_v5() {
            0xc0
        } else {
            0xfc
        }
    }
}

/// One topic filter with its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// Topic Filter.
    pub filter: &'a str,
    /// Options byte.
    pub options: SubscriptionOptions,
    /// Offset of the filter's length field within the packet.
    pub offset: usize,
}

/// The validated list of (filter, options) pairs, borrowed from the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionList<'a> {
    raw: &'a [u8],
    offset: usize,
    count: usize,
}

impl<'a> SubscriptionList<'a> {
    /// Number of filters.
    pub fn len(&self) -> usize {
        self.count
    }
    /// True when there is no filter (never for a decoded SUBSCRIBE).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The filters in wire order.
    pub fn iter(&self) -> impl Iterator<Item = Subscription<'a>> + 'a {
        let mut r = Reader::new(self.raw, self.offset, PacketType::SUBSCRIBE);
        std::iter::from_fn(move || {
            if r.is_empty() {
                return None;
            }
            let offset = r.offset();
            let bytes = r.binary("topic filter").ok()?;
            let filter = check_str(bytes).ok()?;
            let options = SubscriptionOptions(r.u8("subscription options").ok()?);
            Some(Subscription {
                filter,
                options,
                offset,
            })
        })
    }
}

/// A decoded SUBSCRIBE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet Identifier.
    pub packet_id: u16,
    /// SUBSCRIBE Properties (5.0 §3.8.2.1; empty before).
    pub properties: Properties<'a>,
    /// At least one filter ([MQTT-3.8.3-2] 5.0, [MQTT-3.8.3-3] 3.1.1).
    pub filters: SubscriptionList<'a>,
}

/// Decodes a SUBSCRIBE body.
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<Subscribe<'a>, DecodeError> {
    let packet_id = r.u16("packet identifier")?;
    let properties = if version.is_v5() {
        Properties::read(r, PropContext::Packet(PacketType::SUBSCRIBE))?
    } else {
        Properties::empty()
    };
    let offset = r.offset();
    let mut scan = r.clone();
    let raw = r.rest();
    let mut count = 0;
    let mask = SubscriptionOptions::reserved_mask(version);
    while !scan.is_empty() {
        scan.string("topic filter")?;
        let at = scan.offset();
        let o = SubscriptionOptions(scan.u8("subscription options")?);
        let field = "subscription options";
        if o.0 & mask != 0 {
            let kind = DecodeErrorKind::ReservedBits { raw: o.0, mask };
            return Err(scan.err_at(at, field, kind));
        }
        if o.qos() == 3 {
            return Err(scan.err_at(at, field, DecodeErrorKind::Qos3 { raw: o.0 }));
        }
        if version.is_v5() && o.retain_handling() == 3 {
            let kind = DecodeErrorKind::Invalid("Retain Handling 3 is reserved");
            return Err(scan.err_at(at, field, kind));
        }
        count += 1;
    }
    if count == 0 {
        return Err(scan.err("topic filter", DecodeErrorKind::Empty));
    }
    Ok(Subscribe {
        packet_id,
        properties,
        filters: SubscriptionList { raw, offset, count },
    })
}
