//! A hand-written JSON Lines writer for `packet` lines: the same bytes as serialising
//! [`PacketJson`](super::schema::PacketJson) with serde_json, written straight into a reused
//! buffer with the keys as literals (serde_json escapes every key and goes through one call per
//! token, which made it most of a `--format jsonl` run).

use crate::event::{Event, PacketInfo};
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::{PacketType, Version};
use crate::tcp::Dir;

/// Lowercase hex digits, as serde_json writes `\u00XX` escapes.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// True when `b` holds a byte JSON escapes (a control character, `"` or `\\`). Eight bytes
/// at a time: a word has a byte below 0x20 when `(x - 0x20..) & !x & 0x80..` is not zero, and
/// a byte equal to `c` when the same holds for `x ^ c..` below 1 (exact tests, no misses).
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let x = u64::from_le_bytes(a);
        let hit = below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1);
        if hit != 0 {
            return true;
        }
    }
    // The tail as one more word, padded with a byte that needs no escape.
    let rest = words.remainder();
    if rest.is_empty() {
        return false;
    }
    let mut a = [b'a'; 8];
    if let Some(head) = a.get_mut(..rest.len()) {
        head.copy_from_slice(rest);
    }
    let x = u64::from_le_bytes(a);
    below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1) != 0
}

/// Appends a packet type's name as a JSON string: the names are plain capitals, so they
/// are copied without the escape scan (a test checks every one).
#[inline]
fn push_type_name(out: &mut Vec<u8>, t: PacketType) {
    let name = t.name().as_bytes();
    out.reserve(name.len() + 2);
    out.push(b'"');
    out.extend_from_slice(name);
    out.push(b'"');
}

/// Appends `s` as a JSON string, escaped exactly as serde_json does.
#[inline]
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    // Most strings need no escape: one branch-free pass (it vectorises), then one copy.
    if !needs_escape(b) {
        out.reserve(b.len() + 2);
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    push_escaped(out, b);
}

/// [`push_str`] for a string with at least one byte to escape.
#[cold]
fn push_escaped(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(b.get(start..i).unwrap_or(&[]));
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(b.get(start..).unwrap_or(&[]));
    out.push(b'"');
}

/// Appends an unsigned integer in decimal (itoa, as serde_json writes integers).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// Appends a float as serde_json writes it (its own formatter, zmij; null when not finite).
#[inline]
pub fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut b = zmij::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends `true` or `false`.
pub(crate) fn push_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Appends an optional number (null when absent).
pub(crate) fn push_opt_u64(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(n) => push_u64(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn push_opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends the `packet` line of `ev` (no newline); the same bytes as
/// `serde_json::to_writer(out, &packet_json(ev, p, stream, cat))`.
pub fn packet_line(out: &mut Vec<u8>, ev: &Event, p: &PacketInfo, stream: &str, cat: &Catalogue) {
    let mut conn = Vec::new();
    conn_fragment(&mut conn, stream, ev.dir, ev.conn.client_id.as_deref());
    packet_line_with(out, ev, p, &conn, cat);
}

/// Appends the part of a `packet` line that depends only on the connection and direction:
/// `,"stream":..,"dir":..,"client_id":..,"type":` (see [`packet_line_with`]).
pub fn conn_fragment(out: &mut Vec<u8>, stream: &str, dir: Option<Dir>, client_id: Option<&str>) {
    out.extend_from_slice(b",\"stream\":");
    push_str(out, stream);
    out.extend_from_slice(b",\"dir\":");
    push_str(out, dir.map_or("c2s", |d| d.as_str()));
    out.extend_from_slice(b",\"client_id\":");
    push_opt_str(out, client_id);
    out.extend_from_slice(b",\"type\":");
}

/// [`packet_line`] with the connection's part already made by [`conn_fragment`] (the JSON
/// Lines sink keeps it per connection and direction).
pub fn packet_line_with(
    out: &mut Vec<u8>,
    ev: &Event,
    p: &PacketInfo,
    conn: &[u8],
    cat: &Catalogue,
) {
    let version = p.version.unwrap_or(Version::V5);
    out.reserve(384 + conn.len());
    out.extend_from_slice(b"{\"kind\":\"packet\",\"id\":");
    push_u64(out, ev.id);
    out.extend_from_slice(b",\"ts\":");
    push_f64(out, ev.ts.as_secs_f64());
    out.extend_from_slice(b",\"frame\":");
    push_u64(out, ev.frame_no);
    out.extend_from_slice(conn);
    push_type_name(out, p.ptype);
    out.extend_from_slice(b",\"type_num\":");
    push_u64(out, u64::from(p.ptype.0));
    out.extend_from_slice(b",\"version\":");
    push_opt_u64(out, p.version.map(|v| u64::from(v.0)));
    out.extend_from_slice(b",\"packet_id\":");
    push_opt_u64(out, p.packet_id.map(u64::from));
    out.extend_from_slice(b",\"qos\":");
    push_opt_u64(out, p.qos.map(u64::from));
    out.extend_from_slice(match (p.dup, p.retain) {
        (false, false) => b",\"dup\":false,\"retain\":false",
        (false, true) => b",\"dup\":false,\"retain\":true",
        (true, false) => b",\"dup\":true,\"retain\":false",
        (true, true) => b",\"dup\":true,\"retain\":true",
    });
    let sub = matches!(p.ptype, PacketType::SUBSCRIBE | PacketType::UNSUBSCRIBE);
    if p.topic.is_none() && p.topic_alias.is_none() && p.topic_resolved.is_none() && !sub {
        // Every packet but PUBLISH and (UN)SUBSCRIBE: one literal.
        out.extend_from_slice(
            b",\"topic\":null,\"topic_alias\":null,\"topic_resolved\":null,\"topics\":null",
        );
    } else {
        topic_fields(out, p, sub);
    }
    reasons_to_end(out, ev, p, cat, version);
}

/// The `topic` .. `topics` fields of a packet line.
fn topic_fields(out: &mut Vec<u8>, p: &PacketInfo, sub: bool) {
    out.extend_from_slice(b",\"topic\":");
    push_opt_str(out, p.topic.as_deref());
    out.extend_from_slice(b",\"topic_alias\":");
    push_opt_u64(out, p.topic_alias.map(u64::from));
    out.extend_from_slice(b",\"topic_resolved\":");
    push_opt_str(out, p.topic_resolved.as_deref());
    out.extend_from_slice(b",\"topics\":");
    if sub {
        out.push(b'[');
        for (i, t) in p.topics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"topic\":");
            push_str(out, &t.topic);
            out.extend_from_slice(b",\"qos\":");
            push_opt_u64(out, t.qos.map(u64::from));
            out.push(b'}');
        }
        out.push(b']');
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The fields of a packet line from `reason_codes` to the end.
fn reasons_to_end(
    out: &mut Vec<u8>,
    ev: &Event,
    p: &PacketInfo,
    cat: &Catalogue,
    version: Version,
) {
    out.extend_from_slice(b",\"reason_codes\":[");
    for (i, c) in p.reason_codes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_u64(out, u64::from(c.0));
    }
    out.extend_from_slice(b"],\"reason\":[");
    for (i, c) in p.reason_codes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let ex = cat.explain(*c, p.ptype, version);
        out.extend_from_slice(b"{\"code\":");
        push_u64(out, u64::from(c.0));
        out.extend_from_slice(b",\"name\":");
        push_str(out, ex.name);
        out.extend_from_slice(b",\"success\":");
        push_bool(out, ex.severity != Severity::Failure);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"reason_string\":");
    push_opt_str(out, p.reason_string.as_deref());
    if !p.user_properties.is_empty() {
        out.extend_from_slice(b",\"user_properties\":[");
        for (i, (k, v)) in p.user_properties.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            push_str(out, k);
            out.push(b',');
            push_str(out, v);
            out.push(b']');
        }
        out.push(b']');
    }
    if p.malformed.is_none() && ev.anomalies.is_empty() {
        out.extend_from_slice(
            b",\"malformed\":false,\"anomalies\":[],\"anomaly_details\":[],\"answers\":",
        );
    } else {
        malformed_and_anomalies(out, ev, p);
    }
    answers_to_end(out, p, cat, version);
}

/// The `malformed` .. `anomaly_details` fields of a packet line, and the `answers` key.
fn malformed_and_anomalies(out: &mut Vec<u8>, ev: &Event, p: &PacketInfo) {
    out.extend_from_slice(b",\"malformed\":");
    match &p.malformed {
        Some(m) => push_str(out, m),
        None => out.extend_from_slice(b"false"),
    }
    out.extend_from_slice(b",\"anomalies\":[");
    for (i, a) in ev.anomalies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, a.name());
    }
    out.extend_from_slice(b"],\"anomaly_details\":[");
    for (i, a) in ev.anomalies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, &a.describe());
    }
    out.extend_from_slice(b"],\"answers\":");
}

/// The fields of a packet line from the `answers` value to the end.
fn answers_to_end(out: &mut Vec<u8>, p: &PacketInfo, cat: &Catalogue, version: Version) {
    match p.answers {
        Some(a) => {
            out.extend_from_slice(b"{\"id\":");
            push_u64(out, a.request);
            out.extend_from_slice(b",\"type\":");
            push_type_name(out, a.request_type);
            out.extend_from_slice(b",\"frame\":");
            push_u64(out, a.request_frame);
            out.extend_from_slice(b",\"latency_ms\":");
            push_f64(out, a.latency_ns as f64 / 1e6);
            out.push(b'}');
        }
        None => out.extend_from_slice(b"null"),
    }
    if !p.sub_outcomes.is_empty() {
        out.extend_from_slice(b",\"sub_outcomes\":[");
        for (i, o) in p.sub_outcomes.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"topic\":");
            push_str(out, &o.topic);
            out.extend_from_slice(b",\"requested_qos\":");
            push_u64(out, u64::from(o.requested_qos));
            out.extend_from_slice(b",\"code\":");
            push_u64(out, u64::from(o.code.0));
            out.extend_from_slice(b",\"name\":");
            push_str(out, cat.explain(o.code, p.ptype, version).name);
            out.extend_from_slice(b",\"downgraded\":");
            push_bool(out, o.downgraded);
            out.push(b'}');
        }
        out.push(b']');
    }
    if let Some(c) = &p.connect {
        out.extend_from_slice(b",\"connect\":{\"protocol_name\":");
        push_str(out, &c.protocol_name);
        out.extend_from_slice(b",\"level\":");
        push_u64(out, u64::from(c.level));
        out.extend_from_slice(b",\"client_id\":");
        push_str(out, &c.client_id);
        out.extend_from_slice(b",\"clean_start\":");
        push_bool(out, c.clean_start);
        out.extend_from_slice(b",\"keep_alive\":");
        push_u64(out, u64::from(c.keep_alive));
        out.extend_from_slice(b",\"username\":");
        push_opt_str(out, c.username.as_deref());
        out.extend_from_slice(b",\"password\":");
        push_opt_str(out, c.password.as_deref());
        out.extend_from_slice(b",\"will_topic\":");
        push_opt_str(out, c.will_topic.as_deref());
        out.push(b'}');
    }
    if let Some(sp) = p.session_present {
        out.extend_from_slice(b",\"session_present\":");
        push_bool(out, sp);
    }
    out.extend_from_slice(b",\"size\":");
    push_u64(out, u64::from(p.size));
    out.extend_from_slice(b",\"payload_len\":");
    push_opt_u64(out, p.payload_len.map(u64::from));
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_like_serde_json() {
        for s in [
            "",
            "plain/topic",
            "quote\" back\\slash",
            "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
            "é ☃ 𝄞 mixed\u{b}",
        ] {
            let mut got = Vec::new();
            push_str(&mut got, s);
            assert_eq!(got, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn the_word_at_a_time_escape_test_matches_the_byte_test() {
        // Every byte value at every position of a 17-byte string (two words and a tail), on
        // a background of bytes next to the special ones.
        // Every length up to two words and a tail, so every tail length is padded.
        for bg in [b'a', 0x21, 0x23, 0x5b, 0x5d, 0x20, 0xff, 0x80] {
            for len in 1..=17 {
                for pos in 0..len {
                    for c in 0..=255u8 {
                        let mut b = [bg; 17];
                        b[pos] = c;
                        let b = &b[..len];
                        let naive = b.iter().any(|&x| x < 0x20 || x == b'"' || x == b'\\');
                        assert_eq!(
                            needs_escape(b),
                            naive,
                            "bg {bg:#x} len {len} pos {pos} {c:#x}"
                        );
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn type_names_need_no_escape() {
        for t in 0..=255u8 {
            let mut got = Vec::new();
            push_type_name(&mut got, PacketType(t));
            assert_eq!(got, serde_json::to_vec(PacketType(t).name()).unwrap());
        }
    }

    #[test]
    fn numbers_format_like_serde_json() {
        for n in [0u64, 7, 10, 99, 1883, u64::from(u32::MAX), u64::MAX] {
            let mut got = Vec::new();
            push_u64(&mut got, n);
            assert_eq!(got, serde_json::to_vec(&n).unwrap());
        }
        for f in [0.0, 1_704_067_200.000_315, 0.25, -3.5, f64::NAN] {
            let mut got = Vec::new();
            push_f64(&mut got, f);
            assert_eq!(got, serde_json::to_vec(&f).unwrap());
        }
    }

    #[test]
    fn user_properties_and_both_writers_agree() {
        use crate::event::{ConnLabel, EventKind};
        use crate::mqtt::types::{PacketType, ReasonCode};
        let p = PacketInfo {
            ptype: PacketType::PUBACK,
            version: Some(Version::V5),
            packet_id: Some(7),
            reason_codes: [ReasonCode(0x87)].into_iter().collect(),
            reason_string: Some("no \"acl\"".into()),
            user_properties: vec![("k\n".into(), "v".into()), ("a".into(), "b".into())],
            ..PacketInfo::default()
        };
        let ev = Event {
            id: 3,
            ts: crate::capture::Ts(1_700_000_000_123_456_000),
            frame_no: 9,
            conn: std::sync::Arc::new(ConnLabel {
                id: crate::tcp::ConnId(0),
                client: "10.0.0.2:4000".parse().expect("addr"),
                server: "10.0.0.1:1883".parse().expect("addr"),
                client_id: Some("c".into()),
                version: Some(Version::V5),
            }),
            dir: Some(crate::tcp::Dir::ToClient),
            kind: EventKind::Anomaly,
            anomalies: Vec::new(),
        };
        let cat = Catalogue::builtin();
        let mut got = Vec::new();
        packet_line(&mut got, &ev, &p, "s", &cat);
        let want = serde_json::to_vec(&crate::sink::jsonl::packet_json(&ev, &p, "s", &cat))
            .expect("serialises");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
        let v: serde_json::Value = serde_json::from_slice(&got).expect("valid JSON");
        assert_eq!(
            v["user_properties"],
            serde_json::json!([["k\n", "v"], ["a", "b"]])
        );
    }
}
