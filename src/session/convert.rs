//! Flattens a decoded packet into the owned `PacketInfo` of an event.

use super::intern::Recent;
use crate::event::{ConnectInfo, Outcome, PacketInfo, TopicEntry};
use crate::mqtt::error::DecodeError;
use crate::mqtt::framer::RawPacket;
use crate::mqtt::packet::{Connect, Packet};
use crate::mqtt::payload::preview;
use crate::mqtt::property::{PropValue, Properties, PropertyId};
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use std::fmt::Write as _;

/// What to copy into events beyond the fields every output needs.
///
/// `show_secrets` unmasks passwords, user names and authentication data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Show passwords and authentication data.
    pub show_secrets: bool,
    /// Characters of payload preview to keep (0: none).
    pub preview: usize,
    /// Keep every property as text.
    pub properties: bool,
    /// Bytes of the raw packet to keep (0: none).
    pub raw: usize,
}

/// The mask shown instead of a secret.
pub const MASK: &str = "********";

fn secret(bytes: &[u8], show: bool) -> String {
    if !show {
        return MASK.to_string();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => hex(bytes),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn prop_text(id: PropertyId, v: &PropValue<'_>, show_secrets: bool) -> String {
    match v {
        PropValue::Byte(b) => b.to_string(),
        PropValue::TwoByte(b) => b.to_string(),
        PropValue::FourByte(b) => b.to_string(),
        PropValue::Varint(b) => b.to_string(),
        PropValue::Binary(b) if id == PropertyId(0x16) => secret(b, show_secrets),
        PropValue::Binary(b) => hex(b),
        PropValue::Pair(k, v) => format!("{k}={v}"),
        PropValue::Utf8(s) => s.to_string(),
    }
}

fn properties(props: &Properties<'_>, out: &mut Vec<(&'static str, String)>, show: bool) {
    for p in props.iter() {
        out.push((p.id.name(), prop_text(p.id, &p.value, show)));
    }
}

/// The worst severity among `codes` for this packet type and version.
pub fn outcome_of(cat: &Catalogue, codes: &[ReasonCode], ptype: PacketType, v: Version) -> Outcome {
    let mut o = Outcome::Success;
    for c in codes {
        let sev = match cat.explain(*c, ptype, v).severity {
            Severity::Failure => Outcome::Failure,
            Severity::Notice => Outcome::Notice,
            Severity::Success => Outcome::Success,
        };
        o = o.max(sev);
    }
    o
}

/// Overwrites with `*` the bytes of `copy` (a prefix copy of `whole`) that `secret`, a slice
/// borrowed from `whole`, occupies: the raw bytes kept for the TUI must not show secrets.
fn blank(copy: &mut [u8], whole: &[u8], secret: &[u8]) {
    // Address arithmetic only (no dereference): where the secret lies inside the packet.
    let start = (secret.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    if start > whole.len() {
        return;
    }
    let end = (start + secret.len()).min(copy.len());
    if let Some(b) = copy.get_mut(start.min(end)..end) {
        b.fill(b'*');
    }
}

/// Masks the password and every Authentication Data property (5.0 §3.1.2.9, §3.1.3.5 of
/// CONNECT; §3.2.2.3.18 of CONNACK; §3.15.2.2.3 of AUTH) in the raw copy of a packet.
fn mask_raw(copy: &mut [u8], raw: &RawPacket<'_>, pkt: &Packet<'_>) {
    if let Packet::Connect(c) = pkt {
        if let Some(p) = c.password {
            blank(copy, raw.bytes, p);
        }
    }
    if let Some(props) = pkt.properties() {
        for p in props.iter() {
            if let (PropertyId(0x16), PropValue::Binary(b)) = (p.id, &p.value) {
                blank(copy, raw.bytes, b);
            }
        }
    }
}

/// True for the packet types that can carry a password or authentication data.
fn may_hold_secrets(ptype: PacketType) -> bool {
    ptype == PacketType::CONNECT || ptype == PacketType::CONNACK || ptype == PacketType::AUTH
}

/// Fills the fixed-header fields of `info` (a default `PacketInfo`).
fn base_into(info: &mut PacketInfo, raw: &RawPacket<'_>, opts: &ConvertOptions) {
    info.ptype = raw.header.ptype;
    info.flags = raw.header.flags;
    info.size = raw.header.total_len() as u32;
    info.offset = raw.offset;
    if opts.raw > 0 {
        info.raw = raw.bytes[..raw.bytes.len().min(opts.raw)].to_vec();
    }
}

fn base(raw: &RawPacket<'_>, opts: &ConvertOptions) -> PacketInfo {
    let mut info = PacketInfo::default();
    base_into(&mut info, raw, opts);
    info
}

/// Builds the event view of a decoded packet.
pub fn packet_info(
    raw: &RawPacket<'_>,
    pkt: &Packet<'_>,
    version: Version,
    cat: &Catalogue,
    opts: &ConvertOptions,
) -> PacketInfo {
    let mut info = PacketInfo::default();
    packet_info_into(
        &mut info,
        raw,
        pkt,
        version,
        cat,
        opts,
        &mut Recent::default(),
    );
    info
}

/// [`packet_info`] written into `info` (a default `PacketInfo`, typically already boxed for
/// its event), so the large struct is not moved on the per-packet path; PUBLISH topics are
/// shared with the recent ones of `topics`.
pub fn packet_info_into(
    info: &mut PacketInfo,
    raw: &RawPacket<'_>,
    pkt: &Packet<'_>,
    version: Version,
    cat: &Catalogue,
    opts: &ConvertOptions,
    topics: &mut Recent,
) {
    base_into(info, raw, opts);
    if !opts.show_secrets && !info.raw.is_empty() {
        mask_raw(&mut info.raw, raw, pkt);
    }
    info.version = Some(version);
    info.packet_id = pkt.packet_id();
    let v5 = version.is_v5();
    match pkt {
        Packet::Connect(c) => {
            info.version = Some(c.level);
            info.connect = Some(Box::new(ConnectInfo {
                protocol_name: c.protocol_name.to_string(),
                level: c.level.0,
                client_id: c.client_id.to_string(),
                clean_start: c.flags.clean_start(),
                keep_alive: c.keep_alive,
                // The issue asks for user names masked like passwords unless --show-secrets.
                username: c.username.map(|u| secret(u.as_bytes(), opts.show_secrets)),
                password: c.password.map(|p| secret(p, opts.show_secrets)),
                will_topic: c.will.as_ref().map(|w| w.topic.to_string()),
                will_qos: c.will.as_ref().map_or(0, |w| w.qos),
                will_retain: c.will.as_ref().is_some_and(|w| w.retain),
            }));
        }
        Packet::Connack(c) => {
            if c.legacy_shape {
                // A 3.1.1-shaped CONNACK on a 5.0 connection carries a 3.1.1 return code.
                info.version = Some(Version::V3_1_1);
            }
            info.reason_codes.push(c.code);
            info.session_present = Some(c.session_present);
        }
        Packet::Publish(p) => {
            info.qos = Some(p.qos);
            info.dup = p.dup;
            info.retain = p.retain;
            info.topic = Some(topics.get(p.topic));
            info.payload_len = Some((p.payload.len() as u64 + raw.elided) as u32);
            if opts.preview > 0 {
                let pv = preview(
                    p.payload,
                    p.properties.payload_format_indicator(),
                    p.properties.content_type(),
                    opts.preview,
                );
                info.payload_preview = Some(pv.text);
            }
        }
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            if v5 {
                info.reason_codes.push(a.code);
                info.reason_implied = a.code_implied;
            }
        }
        Packet::Subscribe(s) => {
            info.topics = s
                .filters
                .iter()
                .map(|f| TopicEntry {
                    topic: f.filter.to_string(),
                    qos: Some(f.options.qos()),
                    options: Some(f.options.0),
                })
                .collect();
        }
        Packet::Suback(s) => info.reason_codes.extend(s.codes()),
        Packet::Unsuback(s) => {
            if v5 {
                info.reason_codes.extend(s.codes());
            }
        }
        Packet::Unsubscribe(u) => {
            info.topics = u
                .filters
                .iter()
                .map(|f| TopicEntry {
                    topic: f.to_string(),
                    qos: None,
                    options: None,
                })
                .collect();
        }
        Packet::Disconnect(r) | Packet::Auth(r) => {
            if v5 {
                info.reason_codes.push(r.code);
                info.reason_implied = r.code_implied;
            }
        }
        Packet::Pingreq | Packet::Pingresp => {}
    }
    if let Some(props) = pkt.properties() {
        if !props.is_empty() {
            from_properties(info, props, matches!(pkt, Packet::Publish(_)));
        }
        if opts.properties {
            properties(props, &mut info.properties, opts.show_secrets);
            if let Packet::Connect(Connect { will: Some(w), .. }) = pkt {
                properties(&w.properties, &mut info.properties, opts.show_secrets);
            }
        }
    }
    let v = info.version.unwrap_or(version);
    info.outcome = outcome_of(cat, &info.reason_codes, info.ptype, v);
}

/// Reads in one pass what every output needs from a packet's properties: the first Reason
/// String, the User Properties in order and, for a PUBLISH, the first Topic Alias.
fn from_properties(info: &mut PacketInfo, props: &Properties<'_>, publish: bool) {
    for p in props.iter() {
        match p.value {
            PropValue::Pair(k, v) => info.user_properties.push((k.to_string(), v.to_string())),
            PropValue::Utf8(s)
                if p.id == PropertyId::REASON_STRING && info.reason_string.is_none() =>
            {
                info.reason_string = Some(s.to_string());
            }
            PropValue::TwoByte(a)
                if publish && p.id == PropertyId::TOPIC_ALIAS && info.topic_alias.is_none() =>
            {
                info.topic_alias = Some(a);
            }
            _ => {}
        }
    }
}

/// Builds the event view of a packet that did not decode.
pub fn malformed_info(
    raw: &RawPacket<'_>,
    err: &DecodeError,
    version: Option<Version>,
    opts: &ConvertOptions,
) -> PacketInfo {
    let mut info = base(raw, opts);
    if !opts.show_secrets && may_hold_secrets(raw.header.ptype) {
        // Where the secrets lie in a packet that did not decode is unknown: keep the header.
        info.raw.truncate(usize::from(raw.header.header_len));
    }
    info.version = version;
    info.malformed = Some(err.to_string());
    info.outcome = Outcome::Malformed;
    if raw.header.ptype == PacketType::PUBLISH {
        info.qos = Some((raw.header.flags >> 1) & 3);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_over_properties_keeps_first_values_and_every_user_property() {
        // 5.0 §2.2.2: Reason String "a", User Property ("k", "v"), Reason String "b",
        // Topic Alias 5, Topic Alias 7, User Property ("x", "").
        let raw = [
            0x1F, 0, 1, b'a', 0x26, 0, 1, b'k', 0, 1, b'v', 0x1F, 0, 1, b'b', 0x23, 0, 5, 0x23, 0,
            7, 0x26, 0, 1, b'x', 0, 0,
        ];
        let ctx = crate::mqtt::property::PropContext::Packet(PacketType::PUBLISH);
        let props = Properties::parse(&raw, 2, PacketType::PUBLISH, ctx).unwrap();
        let mut info = PacketInfo::default();
        from_properties(&mut info, &props, true);
        assert_eq!(info.reason_string.as_deref(), Some("a"));
        assert_eq!(info.topic_alias, Some(5));
        let pairs = [("k".to_string(), "v".to_string()), ("x".into(), "".into())];
        assert_eq!(info.user_properties, pairs);
        let mut other = PacketInfo::default();
        from_properties(&mut other, &props, false);
        assert_eq!(other.topic_alias, None);
        assert_eq!(
            other.reason_string,
            props.reason_string().map(str::to_string)
        );
    }
}
