//! Rules for resynchronising after a stream gap: how strongly bytes look like the start of a
//! chain of real packets, scored in bits of evidence.
//!
//! Each check a candidate passes is worth about `-log2` of the chance that arbitrary payload
//! bytes would pass it (a byte that must hold one exact value is worth 8 bits, a PUBLISH type
//! byte about 4, a 16-bit string length that must fit a 100-byte packet about 9, a printable
//! topic character 1). A position is accepted when a chain of at least two packets starting
//! there reaches [`ACCEPT_BITS`], or, at the end of the stream, when a chain ending exactly
//! there reaches [`END_BITS`] (the framer also asks the latter of the first feed after a gap,
//! as if it ended the stream: see `Framer::resync_scan`). Every packet whose body is examined must decode, with no property
//! issue, under one version; packets that cannot come from the sending side (5.0 §2.1.2
//! Table 2-1, 3.1.1 §2.2.1 Table 2.1) or cannot come at this point (a second CONNECT or CONNACK,
//! 5.0 §3.1, §3.2) are refused.

use super::header::{legal_type_flags, minimal_varint, parse_header, FixedHeader, HeaderParse};
use super::packet::{decode_parts, Packet};
use super::reason::standard_row;
use super::types::{PacketType, ReasonCode, Version};

/// Evidence a chain of at least two packets needs to be accepted.
pub const ACCEPT_BITS: u32 = 32;
/// Evidence a chain ending exactly at the end of the stream (or where a gap starts) needs to be
/// accepted; ending exactly there is itself about 8 bits of evidence.
pub const END_BITS: u32 = 14;
/// Largest fixed header: type byte and a 4-byte remaining length.
const MAX_HEADER: usize = 5;

/// Which side of the connection sends the bytes a framer sees (5.0 §2.1.2 Table 2-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// The client: never sends CONNACK, SUBACK, UNSUBACK or PINGRESP.
    Client,
    /// The server: never sends CONNECT, SUBSCRIBE, UNSUBSCRIBE or PINGREQ (nor, in 3.x,
    /// DISCONNECT).
    Server,
}

/// What is known about the stream being resynchronised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The sending side, when known.
    pub sender: Option<Sender>,
    /// The connection's protocol version, when known.
    pub version: Option<Version>,
    /// Bit `t` set: a packet of type `t` was already framed on this stream.
    pub framed: u16,
    /// The stream was picked up mid-way, so its first packets may not have been seen; else
    /// offset 0 was the start of the stream.
    pub mid_stream: bool,
    /// Largest whole packet accepted.
    pub max_packet: usize,
}

/// A decision about one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A chain of real packets starts here.
    Yes,
    /// No real packet starts here.
    No,
    /// More bytes are needed to tell.
    More,
}

/// The bytes visible to the framer: held bytes `a` followed by new bytes `b`.
#[derive(Clone, Copy, Debug)]
pub struct View<'v> {
    /// Bytes held from earlier feeds.
    pub a: &'v [u8],
    /// Bytes of the current feed.
    pub b: &'v [u8],
}

impl<'v> View<'v> {
    /// Number of visible bytes.
    pub fn len(&self) -> usize {
        self.a.len() + self.b.len()
    }

    /// True when nothing is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Byte `i`, if visible.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u8> {
        match self.a.get(i) {
            Some(&x) => Some(x),
            None => self.b.get(i.checked_sub(self.a.len())?).copied(),
        }
    }

    /// Bytes `start..start + len`, borrowed when they lie in one part, else copied to `scratch`.
    fn slice<'s>(&self, start: usize, len: usize, scratch: &'s mut Vec<u8>) -> Option<&'s [u8]>
    where
        'v: 's,
    {
        let end = start.checked_add(len)?;
        let split = self.a.len();
        if end <= split {
            return self.a.get(start..end);
        }
        if start >= split {
            return self.b.get(start - split..end - split);
        }
        scratch.clear();
        scratch.extend_from_slice(self.a.get(start..)?);
        scratch.extend_from_slice(self.b.get(..end - split)?);
        Some(scratch.as_slice())
    }
}

/// Decides whether a chain of real packets starts at position `i` of `view`, under the known
/// version or, when unknown, under 3.1.1 or 5.0. `ending`: no more bytes will come.
pub fn verdict(
    view: &View<'_>,
    i: usize,
    ctx: &Context,
    ending: bool,
    scratch: &mut Vec<u8>,
) -> Verdict {
    let first = match view.get(i) {
        Some(b) => b,
        None => return Verdict::More,
    };
    // Cheap refusal before anything else: most payload bytes stop here.
    if !legal_type_flags(PacketType(first >> 4), first & 0x0f) && ctx.version != Some(Version::V3_1)
    {
        return Verdict::No;
    }
    let versions: &[Version] = match ctx.version {
        Some(Version::V3_1) => &[Version::V3_1],
        Some(v) if v.is_v5() => &[Version::V5],
        Some(_) => &[Version::V3_1_1],
        None => &[Version::V3_1_1, Version::V5],
    };
    let mut out = Verdict::No;
    for &v in versions {
        match chain(view, i, v, ctx, ending, scratch) {
            Verdict::Yes => return Verdict::Yes,
            Verdict::More => out = Verdict::More,
            Verdict::No => {}
        }
    }
    out
}

/// Walks the chain of packets starting at `i` under version `v`, adding up their evidence.
/// The walk stays within one packet of the cap plus a header, so held bytes stay bounded.
fn chain(
    view: &View<'_>,
    i: usize,
    v: Version,
    ctx: &Context,
    ending: bool,
    scratch: &mut Vec<u8>,
) -> Verdict {
    let limit = i.saturating_add(ctx.max_packet).saturating_add(MAX_HEADER);
    // Packets earlier in the chain count as framed for the later ones.
    let mut ctx = *ctx;
    let mut bits = 0u32;
    let mut count = 0u32;
    let mut pos = i;
    loop {
        if ending && pos == view.len() && count > 0 {
            return if bits >= END_BITS {
                Verdict::Yes
            } else {
                Verdict::No
            };
        }
        let h = match parse_header(|k| view.get(pos + k)) {
            HeaderParse::Complete(h) => h,
            HeaderParse::Incomplete(_) if ending => return Verdict::No,
            HeaderParse::Incomplete(_) => return Verdict::More,
            HeaderParse::BadVarint(_) => return Verdict::No,
        };
        let Some(hb) = header_bits(&h, v, &ctx) else {
            return Verdict::No;
        };
        ctx.framed |= 1 << (h.ptype.0 & 0x0f);
        bits += hb;
        count += 1;
        if count >= 2 && bits >= ACCEPT_BITS {
            return Verdict::Yes;
        }
        let body_at = pos + usize::from(h.header_len);
        let end = body_at.saturating_add(h.remaining_len as usize);
        if end > limit || !prefix_ok(&h, v, |k| view.get(body_at + k)) {
            return Verdict::No;
        }
        let Some(body) = view.slice(body_at, h.remaining_len as usize, scratch) else {
            return if ending { Verdict::No } else { Verdict::More };
        };
        let Some(bb) = body_bits(&h, body, v) else {
            return Verdict::No;
        };
        bits += bb;
        if count >= 2 && bits >= ACCEPT_BITS {
            return Verdict::Yes;
        }
        pos = end;
    }
}

/// Evidence from a fixed header alone, or `None` when no real packet can have it here.
pub fn header_bits(h: &FixedHeader, v: Version, ctx: &Context) -> Option<u32> {
    let t = h.ptype;
    let v5 = v.is_v5();
    let flags_ok = legal_type_flags(t, h.flags)
        // 3.1 set DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE resends.
        || (v == Version::V3_1 && matches!(t.0, 6 | 8 | 10) && h.flags & 0b0111 == 0b0010);
    if !flags_ok || !minimal_varint(h) || h.total_len() > ctx.max_packet as u64 {
        return None;
    }
    let from_client = matches!(t.0, 1 | 8 | 10 | 12);
    let from_server = matches!(t.0, 2 | 9 | 11 | 13);
    match ctx.sender {
        Some(Sender::Client) if from_server => return None,
        Some(Sender::Server) if from_client || (t == PacketType::DISCONNECT && !v5) => return None,
        _ => {}
    }
    // A CONNECT only opens a stream [MQTT-3.1.0-1]; a CONNACK is the server's first packet,
    // after AUTH exchanges only [MQTT-3.2.0-1]. Found after a gap, they can only be real when
    // the stream was picked up mid-way and nothing was framed yet (or, for a CONNACK, only
    // AUTH packets were).
    let auth = 1u16 << PacketType::AUTH.0;
    let after_auth_only = ctx.framed != 0 && ctx.framed & !auth == 0;
    let opening = match t {
        PacketType::CONNECT => ctx.mid_stream && ctx.framed == 0,
        PacketType::CONNACK => (ctx.mid_stream && ctx.framed == 0) || after_auth_only,
        _ => true,
    };
    if !opening {
        return None;
    }
    let rem = h.remaining_len;
    let qos = (h.flags >> 1) & 3;
    // The type byte holds one exact value, except PUBLISH (12 of 256 values).
    let mut bits = if t == PacketType::PUBLISH { 4 } else { 8 };
    match t.0 {
        // DUP must be 0 with QoS 0 [MQTT-3.3.1-2]; topic length, topic of at least one
        // character before 5.0, packet id when QoS > 0, property length in 5.0.
        3 if qos == 0 && h.flags & 0x08 != 0 => return None,
        3 if rem < 2 + u32::from(!v5) + if qos > 0 { 2 } else { 0 } + u32::from(v5) => return None,
        3 => {}
        // Exact remaining lengths (3.x §3.2-3.14, 5.0 §3.12-3.13).
        12 | 13 if rem != 0 => return None,
        12 | 13 => bits += 8,
        2 | 4..=7 | 11 | 14 if !v5 => {
            let exact = if t.0 == 14 { 0 } else { 2 };
            if rem != exact {
                return None;
            }
            bits += 8;
        }
        4..=7 if rem < 2 => return None,
        4..=7 if rem <= 3 => bits += 6,
        2 | 11 if rem < 3 => return None,
        14 | 15 if !v5 => return None,
        14 | 15 if rem == 0 => bits += 7,
        1 if rem < 12 => return None,
        8 if rem < 6 + u32::from(v5) => return None,
        9 if rem < 3 + u32::from(v5) => return None,
        10 if rem < 5 + u32::from(v5) => return None,
        0 => return None,
        _ => {}
    }
    Some(bits)
}

/// Early refusal from the first body bytes, before the whole packet has arrived: a PUBLISH
/// topic length must fit the packet and its first characters must not be control characters.
fn prefix_ok(h: &FixedHeader, v: Version, get: impl Fn(usize) -> Option<u8>) -> bool {
    if h.ptype != PacketType::PUBLISH {
        return true;
    }
    let (Some(hi), Some(lo)) = (get(0), get(1)) else {
        return true;
    };
    let len = u32::from(u16::from_be_bytes([hi, lo]));
    let qos = (h.flags >> 1) & 3;
    let fixed = 2 + if qos > 0 { 2 } else { 0 } + u32::from(v.is_v5());
    if len + fixed > h.remaining_len || (len == 0 && !v.is_v5()) {
        return false;
    }
    (0..len.min(8) as usize)
        .filter_map(|k| get(2 + k))
        .all(|b| b >= 0x20 && b != 0x7f)
}

/// Bits worth of a 16-bit length field that must be at most `max`.
fn length_bits(max: usize) -> u32 {
    16u32.saturating_sub(usize::BITS - max.leading_zeros())
}

/// Bits worth of a code legal in `t` at `v` (5.0 §2.4; 3.1.1 §3.2.2.3, §3.9.3).
fn code_bits(code: u8, t: PacketType, v: Version) -> Option<u32> {
    standard_row(ReasonCode(code), t, v)?;
    Some(match (v.is_v5(), t) {
        (false, PacketType::SUBACK) => 6,
        (false, _) => 5,
        (true, PacketType::SUBACK | PacketType::UNSUBACK) => 4,
        (true, _) => 3,
    })
}

/// A topic name or filter a real client would send: non-empty, no control characters, and
/// wildcards only where allowed (5.0 §4.7, 3.1.1 §4.7).
fn topic_ok(s: &str, filter: bool) -> bool {
    if s.is_empty() || s.chars().any(char::is_control) {
        return false;
    }
    if !filter {
        return !s.contains(['+', '#']);
    }
    let levels = s.split('/').count();
    s.split('/').enumerate().all(|(k, level)| match level {
        "#" => k + 1 == levels,
        "+" => true,
        l => !l.contains(['+', '#']),
    })
}

/// Evidence from a whole body, or `None` when it does not decode cleanly as a real packet.
pub fn body_bits(h: &FixedHeader, body: &[u8], v: Version) -> Option<u32> {
    let p = decode_parts(h, body, v).ok()?;
    if p.property_issues().next().is_some() || p.packet_id() == Some(0) {
        return None;
    }
    let t = h.ptype;
    let rem = body.len();
    // A 5.0 property block whose length fits exactly and whose identifiers are allowed.
    let props = |bits: &mut u32| {
        if let Some(ps) = p.properties().filter(|_| v.is_v5()) {
            *bits += 6 + 3 * ps.iter().count() as u32;
        }
    };
    let mut bits = 0;
    match &p {
        Packet::Connect(c) => {
            let name_ok = matches!(
                (c.protocol_name, c.level.0),
                ("MQTT", 4 | 5) | ("MQIsdp", 3)
            );
            if !name_ok || c.flags.reserved() {
                return None;
            }
            bits += 40;
        }
        Packet::Connack(c) => {
            bits += 7 + code_bits(c.code.0, t, v)?;
            props(&mut bits);
        }
        Packet::Publish(p) => {
            let fixed = 2 + if p.qos > 0 { 2 } else { 0 };
            // An empty topic is allowed only with a Topic Alias (5.0 §3.3.2.3.4).
            let aliased = p.topic.is_empty() && p.properties.topic_alias().is_some();
            if !aliased && !topic_ok(p.topic, false) {
                return None;
            }
            bits += length_bits(rem.saturating_sub(fixed)) + p.topic.len() as u32;
            props(&mut bits);
        }
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            if !a.code_implied {
                bits += code_bits(a.code.0, t, v)?;
            }
            if rem >= 4 {
                props(&mut bits);
            }
        }
        Packet::Subscribe(s) => {
            for sub in s.filters.iter() {
                if !topic_ok(sub.filter, true) || sub.options.qos() > 2 {
                    return None;
                }
                if v.is_v5() && sub.options.retain_handling() > 2 {
                    return None;
                }
                bits += length_bits(rem) + sub.filter.len() as u32 + 2;
            }
            props(&mut bits);
        }
        Packet::Unsubscribe(u) => {
            for f in u.filters.iter() {
                if !topic_ok(f, true) {
                    return None;
                }
                bits += length_bits(rem) + f.len() as u32;
            }
            props(&mut bits);
        }
        Packet::Suback(s) | Packet::Unsuback(s) => {
            for c in s.codes() {
                bits += code_bits(c.0, t, v)?;
            }
            props(&mut bits);
        }
        Packet::Pingreq | Packet::Pingresp => {}
        Packet::Disconnect(r) | Packet::Auth(r) => {
            if !r.code_implied {
                bits += code_bits(r.code.0, t, v)?;
            }
            if rem >= 2 {
                props(&mut bits);
            }
        }
    }
    Some(bits)
}
