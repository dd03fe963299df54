//! UNSUBSCRIBE (5.0 §3.10, 3.1.1 §3.10): a list of topic filters.

use crate::mqtt::error::{DecodeError, DecodeErrorKind};
use crate::mqtt::property::{PropContext, Properties};
use crate::mqtt::reader::{check_str, Reader};
use crate::mqtt::types::{PacketType, Version};

/// The validated list of topic filters, borrowed from the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterList<'a> {
    raw: &'a [u8],
    offset: usize,
    count: usize,
}

impl<'a> FilterList<'a> {
    /// Number of filters.
    pub fn len(&self) -> usize {
        self.count
    }
    /// True when there is no filter (never for a decoded UNSUBSCRIBE).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The filters in wire order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut r = Reader::new(self.raw, self.offset, PacketType::UNSUBSCRIBE);
        std::iter::from_fn(move || {
            if r.is_empty() {
                return None;
            }
            check_str(r.binary("topic filter").ok()?).ok()
        })
    }
}

/// A decoded UNSUBSCRIBE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet Identifier.
    pub packet_id: u16,
    /// UNSUBSCRIBE Properties (5.0 §3.10.2.1; empty before).
    pub properties: Properties<'a>,
    /// At least one filter ([MQTT-3.10.3-2]).
    pub filters: FilterList<'a>,
}

/// Decodes an UNSUBSCRIBE body.
pub fn decode<'a>(r: &mut Reader<'a>, version: Version) -> Result<Unsubscribe<'a>, DecodeError> {
    let packet_id = r.u16("packet identifier")?;
    let properties = if version.is_v5() {
        Properties::read(r, PropContext::Packet(PacketType::UNSUBSCRIBE))?
    } else {
        Properties::empty()
    };
    let offset = r.offset();
    let mut scan = r.clone();
    let raw = r.rest();
    let mut count = 0;
    while !scan.is_empty() {
        scan.string("topic filter")?;
        count += 1;
    }
    if count == 0 {
        return Err(scan.err("topic filter", DecodeErrorKind::Empty));
    }
    Ok(Unsubscribe {
        packet_id,
        properties,
        filters: FilterList { raw, offset, count },
    })
}
