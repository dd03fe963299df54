//! MQTT decoding: annotated wire vectors per packet type and version, short-form
//! regressions, malformed cases, truncation loops and an encode/decode round trip.

mod mqtt_support;

use mqtt_support::{encode, model, Prop, M};
use mqttscope::mqtt::error::{DecodeError, DecodeErrorKind};
use mqttscope::mqtt::header::{parse_header_slice, HeaderParse};
use mqttscope::mqtt::packet::{decode_parts, Packet};
use mqttscope::mqtt::property::{IssueKind, PropertyId};
use mqttscope::mqtt::types::{PacketType, ReasonCode, Version};
use mqttscope::mqtt::version::infer;
use mqttscope::mqtt::{FixedHeader, RawPacket};
use proptest::prelude::*;

const V3: Version = Version::V3_1;
const V4: Version = Version::V3_1_1;
const V5: Version = Version::V5;

fn header(bytes: &[u8]) -> FixedHeader {
    match parse_header_slice(bytes) {
        HeaderParse::Complete(h) => h,
        other => panic!("test vector has no complete header: {other:?}"),
    }
}

/// Decodes a whole packet, checking first that the vector's length is self-consistent.
fn dec(bytes: &[u8], v: Version) -> Result<Packet<'_>, DecodeError> {
    let h = header(bytes);
    assert_eq!(h.total_len(), bytes.len() as u64, "vector length");
    decode_parts(&h, &bytes[usize::from(h.header_len)..], v)
}

fn err_kind(bytes: &[u8], v: Version) -> (usize, &'static str, DecodeErrorKind) {
    let e = dec(bytes, v).expect_err("must be malformed");
    assert!(!e.to_string().is_empty());
    (e.offset, e.field, e.kind)
}

// ---- CONNECT ----------------------------------------------------------------------------

const CONNECT_V4: &[u8] = &[
    0x10, 0x1F, // fixed header: CONNECT, remaining length 31 (3.1.1 §3.1.1)
    0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name (§3.1.2.1)
    0x04, // protocol level 4 (§3.1.2.2)
    0xEE, // flags: user name, password, will retain, will QoS 1, will, clean session (§3.1.2.3)
    0x00, 0x3C, // keep alive 60 (§3.1.2.10)
    0x00, 0x03, b'c', b'i', b'd', // client identifier (§3.1.3.1)
    0x00, 0x03, b'w', b'/', b't', // will topic (§3.1.3.2)
    0x00, 0x02, b'b', b'y', // will message (§3.1.3.3)
    0x00, 0x01, b'u', // user name (§3.1.3.4)
    0x00, 0x02, 0x01, 0x02, // password (§3.1.3.5)
];

#[test]
fn connect_v311_every_field() {
    // The connection's version does not matter: the CONNECT states its own.
    let Packet::Connect(c) = dec(CONNECT_V4, V5).unwrap() else {
        panic!()
    };
    assert_eq!((c.protocol_name, c.level), ("MQTT", V4));
    let f = c.flags;
    assert!(f.clean_start() && f.will() && f.will_retain() && f.username() && f.password());
    assert!(!f.reserved());
    assert_eq!(f.will_qos(), 1);
    assert_eq!(c.keep_alive, 60);
    assert!(c.properties.is_empty());
    assert_eq!(c.client_id, "cid");
    let w = c.will.unwrap();
    assert_eq!(
        (w.topic, w.payload, w.qos, w.retain),
        ("w/t", &b"by"[..], 1, true)
    );
    assert_eq!(c.username, Some("u"));
    assert_eq!(c.password, Some(&[1u8, 2][..]));
}

const CONNECT_V5: &[u8] = &[
    0x10, 0x1D, // CONNECT, remaining length 29 (5.0 §3.1.1)
    0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name (§3.1.2.1)
    0x05, // protocol version 5 (§3.1.2.2)
    0x06, // flags: will, clean start (§3.1.2.3)
    0x00, 0x0A, // keep alive 10 (§3.1.2.10)
    0x05, 0x11, 0x00, 0x00, 0x00,
    0x78, // properties: Session Expiry Interval 120 (§3.1.2.11.2)
    0x00, 0x00, // empty client identifier (§3.1.3.1)
    0x05, 0x18, 0x00, 0x00, 0x00,
    0x05, // will properties: Will Delay Interval 5 (§3.1.3.2.2)
    0x00, 0x01, b't', // will topic (§3.1.3.3)
    0x00, 0x00, // empty will payload (§3.1.3.4)
];

#[test]
fn connect_v5_properties_and_will_properties() {
    let Packet::Connect(c) = dec(CONNECT_V5, V4).unwrap() else {
        panic!()
    };
    assert_eq!(c.level, V5);
    assert_eq!(c.properties.session_expiry(), Some(120));
    assert_eq!(c.client_id, "");
    let w = c.will.unwrap();
    assert_eq!(
        w.properties
            .get(PropertyId::WILL_DELAY_INTERVAL)
            .and_then(|v| v.as_u32()),
        Some(5)
    );
    assert_eq!(
        (w.topic, w.payload.len(), w.qos, w.retain),
        ("t", 0, 0, false)
    );
    assert_eq!((c.username, c.password), (None, None));
    assert_eq!(infer(&raw(CONNECT_V5)).map(|v| v.0), Some(V5));
}

const CONNECT_V31: &[u8] = &[
    0x10, 0x10, // CONNECT, remaining length 16
    0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', // protocol name "MQIsdp" (MQTT 3.1)
    0x03, // protocol version 3
    0x02, // flags: clean session
    0x00, 0x3C, // keep alive 60
    0x00, 0x02, b'a', b'b', // client identifier
];

#[test]
fn connect_v31_mqisdp() {
    let Packet::Connect(c) = dec(CONNECT_V31, V4).unwrap() else {
        panic!()
    };
    assert_eq!(
        (c.protocol_name, c.level, c.client_id),
        ("MQIsdp", V3, "ab")
    );
}

#[test]
fn connect_malformed_cases() {
    let mut bad_name = CONNECT_V4.to_vec();
    bad_name[4] = b'X'; // "MXTT"
    let (off, field, kind) = err_kind(&bad_name, V4);
    assert_eq!((off, field), (2, "protocol name"));
    assert!(matches!(
        kind,
        DecodeErrorKind::BadProtocolName { len: 4, .. }
    ));

    let mut reserved = CONNECT_V4.to_vec();
    reserved[9] |= 0x01; // reserved flag bit (§3.1.2.3 [MQTT-3.1.2-3])
    let (off, _, kind) = err_kind(&reserved, V4);
    assert_eq!(off, 9);
    assert_eq!(kind, DecodeErrorKind::ReservedBits { raw: 0xEF, mask: 1 });

    let mut qos3 = CONNECT_V4.to_vec();
    qos3[9] |= 0x18; // will QoS 3
    assert!(matches!(
        err_kind(&qos3, V4).2,
        DecodeErrorKind::Qos3 { .. }
    ));

    let mut flags = CONNECT_V4.to_vec();
    flags[1] = 0x1F;
    flags[0] = 0x11; // CONNECT with flags 0b0001 (§2.2.2)
    assert_eq!(
        err_kind(&flags, V4).2,
        DecodeErrorKind::BadFlags {
            found: 1,
            expected: 0
        }
    );
}

// ---- CONNACK ----------------------------------------------------------------------------

#[test]
fn connack_v311() {
    // CONNACK, length 2, session present (3.1.1 §3.2.2.2), return code 0 (§3.2.2.3).
    let Packet::Connack(c) = dec(&[0x20, 0x02, 0x01, 0x00], V4).unwrap() else {
        panic!()
    };
    assert!(c.session_present && !c.legacy_shape);
    assert_eq!(c.code, ReasonCode(0));
    // Reserved acknowledge flag bits (3.1.1 §3.2.2.1).
    let (off, field, _) = err_kind(&[0x20, 0x02, 0x02, 0x00], V4);
    assert_eq!((off, field), (2, "connect acknowledge flags"));
}

#[test]
fn connack_v5_properties() {
    let bytes = [
        0x20, 0x08, // CONNACK, remaining length 8
        0x00, // acknowledge flags (5.0 §3.2.2.1)
        0x00, // reason code Success (§3.2.2.2)
        0x05, // property length (§3.2.2.3.1)
        0x24, 0x01, // Maximum QoS 1 (§3.2.2.3.4)
        0x21, 0x00, 0x0A, // Receive Maximum 10 (§3.2.2.3.3)
    ];
    let Packet::Connack(c) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(c.properties.maximum_qos(), Some(1));
    assert_eq!(c.properties.receive_maximum(), Some(10));
    assert!(!c.legacy_shape);
    assert_eq!(infer(&raw(&bytes)).map(|v| v.0), Some(V5));
}

#[test]
fn v5_connack_with_legacy_shape() {
    // A 3.1.1-only broker answers a 5.0 CONNECT with 0x01 "unacceptable protocol version".
    let bytes = [0x20, 0x02, 0x00, 0x01];
    let Packet::Connack(c) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert!(c.legacy_shape);
    assert_eq!(c.code, ReasonCode(0x01));
    assert!(c.properties.is_empty());
    assert_eq!(infer(&raw(&bytes)), None);
}

#[test]
fn a_311_suback_refusing_its_first_filter_is_no_evidence_of_5_0() {
    // 3.1.1 SUBACK id 1, codes 0x80 (failure) and 0x00: as 5.0 these bytes would be an empty
    // property block with a 2-byte length, which 5.0 §1.5.5 forbids (minimal encoding). Taken
    // as evidence, it turned a 3.1.1 connection whose CONNECT was lost into 5.0, and every
    // later packet into a malformed one.
    let bytes = [0x90, 0x04, 0x00, 0x01, 0x80, 0x00];
    assert_eq!(infer(&raw(&bytes)), None);
    // A real 5.0 SUBACK with a property still counts.
    let v5 = [0x90, 0x08, 0x00, 0x01, 0x04, 0x1F, 0x00, 0x01, b'x', 0x00];
    assert_eq!(infer(&raw(&v5)).map(|v| v.0), Some(V5));
}

// ---- PUBLISH ----------------------------------------------------------------------------

#[test]
fn publish_v311_qos1() {
    let bytes = [
        0x32, 0x0A, // PUBLISH, QoS 1 (3.1.1 §3.3.1.2), remaining length 10
        0x00, 0x03, b'a', b'/', b'b', // topic name (§3.3.2.1)
        0x00, 0x07, // packet identifier 7 (§3.3.2.2)
        b'h', b'i', b'x', // payload (§3.3.3)
    ];
    let Packet::Publish(p) = dec(&bytes, V4).unwrap() else {
        panic!()
    };
    assert_eq!((p.dup, p.qos, p.retain), (false, 1, false));
    assert_eq!(
        (p.topic, p.packet_id, p.payload),
        ("a/b", Some(7), &b"hix"[..])
    );
    assert_eq!(p.payload_offset, 9);
}

#[test]
fn publish_v5_properties() {
    let bytes = [
        0x39, 0x0B, // PUBLISH, DUP, QoS 0, RETAIN (5.0 §3.3.1), remaining length 11
        0x00, 0x01, b't', // topic name
        0x05, // property length (§3.3.2.3.1)
        0x01, 0x01, // Payload Format Indicator 1 (§3.3.2.3.2)
        0x23, 0x00, 0x05, // Topic Alias 5 (§3.3.2.3.4)
        b'{', b'}', // payload
    ];
    let Packet::Publish(p) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!((p.dup, p.qos, p.retain, p.packet_id), (true, 0, true, None));
    assert_eq!(p.properties.payload_format_indicator(), Some(1));
    assert_eq!(p.properties.topic_alias(), Some(5));
    assert_eq!(p.payload, b"{}");
    // Weak inference: the bytes after the topic form a valid property block.
    assert_eq!(infer(&raw(&bytes)).map(|v| v.0), Some(V5));
}

#[test]
fn publish_malformed_cases() {
    // QoS 3 (§3.3.1.2): malformed, raw flags kept.
    let (off, field, kind) = err_kind(&[0x36, 0x03, 0x00, 0x01, b't'], V4);
    assert_eq!(
        (off, field, kind),
        (0, "QoS flags", DecodeErrorKind::Qos3 { raw: 6 })
    );
    // Invalid UTF-8 in the topic (5.0 §1.5.4).
    let (off, _, kind) = err_kind(&[0x30, 0x04, 0x00, 0x02, 0xC3, 0x28], V5);
    assert_eq!(
        (off, kind),
        (4, DecodeErrorKind::InvalidUtf8 { valid_up_to: 0 })
    );
    // U+0000 in the topic ([MQTT-1.5.4-2]).
    let (_, _, kind) = err_kind(&[0x30, 0x04, 0x00, 0x02, b'a', 0x00], V4);
    assert_eq!(kind, DecodeErrorKind::NullChar { at: 1 });
    // Topic length overruns its packet.
    let (off, field, kind) = err_kind(&[0x30, 0x03, 0x00, 0x09, b'a'], V4);
    assert_eq!((off, field), (4, "topic name"));
    assert_eq!(
        kind,
        DecodeErrorKind::Truncated {
            needed: 9,
            available: 1
        }
    );
    // Unknown property identifier 0x7F: fatal at its offset.
    let (off, _, kind) = err_kind(&[0x30, 0x06, 0x00, 0x01, b't', 0x02, 0x7F, 0x00], V5);
    assert_eq!(
        (off, kind),
        (6, DecodeErrorKind::UnknownProperty { id: 0x7F })
    );
}

#[test]
fn property_not_allowed_is_an_issue_not_an_error() {
    // PUBLISH carrying Session Expiry Interval (CONNECT/CONNACK/DISCONNECT only).
    let bytes = [
        0x30, 0x09, 0x00, 0x01, b't', 0x05, 0x11, 0x00, 0x00, 0x00, 0x01,
    ];
    let p = dec(&bytes, V5).unwrap();
    let issues: Vec<_> = p.property_issues().collect();
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].id, issues[0].offset),
        (PropertyId::SESSION_EXPIRY_INTERVAL, 6)
    );
    assert!(matches!(issues[0].kind, IssueKind::NotAllowed(_)));
}

// ---- PUBACK / PUBREC / PUBREL / PUBCOMP (5.0 §3.4-3.7) -------------------------------------

#[test]
fn puback_len2_implied_success() {
    // PUBACK, remaining length 2: packet identifier only, Success implied (5.0 §3.4.2.1).
    let bytes = [0x40, 0x02, 0x00, 0x07];
    let Packet::Puback(a) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(
        (a.packet_id, a.code, a.code_implied),
        (7, ReasonCode(0), true)
    );
    assert_eq!(infer(&raw(&bytes)), None);
}

#[test]
fn puback_len3_reason_without_properties() {
    // Remaining length 3: reason code 0x10 (No matching subscribers), no Property Length
    // (5.0 §3.4.2.2.1: "If the Remaining Length is less than 4 ... 0 is used").
    let bytes = [0x40, 0x03, 0x00, 0x07, 0x10];
    let Packet::Puback(a) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!((a.code, a.code_implied), (ReasonCode(0x10), false));
    assert!(a.properties.is_empty());
    assert_eq!(infer(&raw(&bytes)).map(|v| v.0), Some(V5));
}

#[test]
fn pubrec_with_reason_string() {
    let bytes = [
        0x50, 0x09, // PUBREC, remaining length 9 (5.0 §3.5)
        0x00, 0x07, // packet identifier
        0x10, // reason code
        0x05, 0x1F, 0x00, 0x02, b'n', b'o', // properties: Reason String "no"
    ];
    let Packet::Pubrec(a) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(a.properties.reason_string(), Some("no"));
    assert_eq!(infer(&raw(&bytes)).map(|v| v.0), Some(V5));
}

#[test]
fn pubrel_and_pubcomp_v311() {
    let Packet::Pubrel(a) = dec(&[0x62, 0x02, 0x12, 0x34], V4).unwrap() else {
        panic!()
    };
    assert_eq!(a.packet_id, 0x1234);
    let Packet::Pubcomp(a) = dec(&[0x70, 0x02, 0x12, 0x34], V4).unwrap() else {
        panic!()
    };
    assert_eq!(a.packet_id, 0x1234);
    // PUBREL must carry flags 0b0010 (3.1.1 §2.2.2, 5.0 §2.1.3).
    assert_eq!(
        err_kind(&[0x60, 0x02, 0x00, 0x01], V4).2,
        DecodeErrorKind::BadFlags {
            found: 0,
            expected: 2
        }
    );
    // 3.x acknowledgement with an extra byte: trailing bytes.
    let (off, _, kind) = err_kind(&[0x40, 0x03, 0x00, 0x01, 0x00], V4);
    assert_eq!(
        (off, kind),
        (4, DecodeErrorKind::TrailingBytes { count: 1 })
    );
}

// ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK -------------------------------------------

#[test]
fn subscribe_v5_options() {
    let bytes = [
        0x82, 0x0B, // SUBSCRIBE, flags 0b0010, remaining length 11 (5.0 §3.8.1)
        0x00, 0x0A, // packet identifier 10
        0x02, 0x0B, 0x05, // properties: Subscription Identifier 5 (§3.8.2.1.2)
        0x00, 0x03, b'a', b'/', b'#', // topic filter
        0x2D, // options: QoS 1, No Local, Retain As Published, Retain Handling 2 (§3.8.3.1)
    ];
    let Packet::Subscribe(s) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(s.packet_id, 10);
    assert_eq!(
        s.properties.subscription_identifiers().collect::<Vec<_>>(),
        vec![5]
    );
    let subs: Vec<_> = s.filters.iter().collect();
    assert_eq!(subs.len(), 1);
    let o = subs[0].options;
    assert_eq!((subs[0].filter, subs[0].offset), ("a/#", 7));
    assert_eq!(
        (
            o.qos(),
            o.no_local(),
            o.retain_as_published(),
            o.retain_handling()
        ),
        (1, true, true, 2)
    );
}

#[test]
fn subscribe_v311_and_malformed() {
    let ok = [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'x', b'/', b'y', 0x01];
    let Packet::Subscribe(s) = dec(&ok, V4).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.filters
            .iter()
            .map(|s| (s.filter, s.options.qos()))
            .collect::<Vec<_>>(),
        vec![("x/y", 1)]
    );
    // Reserved bits of the requested-QoS byte (3.1.1 §3.8.3.1).
    let mut bad = ok;
    bad[9] = 0x05;
    let (off, _, kind) = err_kind(&bad, V4);
    assert_eq!(
        (off, kind),
        (9, DecodeErrorKind::ReservedBits { raw: 5, mask: 0xFC })
    );
    // No filter at all ([MQTT-3.8.3-3]).
    let (off, field, kind) = err_kind(&[0x82, 0x02, 0x00, 0x01], V4);
    assert_eq!(
        (off, field, kind),
        (4, "topic filter", DecodeErrorKind::Empty)
    );
    // Retain Handling 3 is reserved in 5.0.
    let bad5 = [0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, b'x', 0x30];
    assert!(matches!(err_kind(&bad5, V5).2, DecodeErrorKind::Invalid(_)));
}

#[test]
fn suback_codes() {
    // 3.1.1: packet id 1, return codes granted QoS 0 and failure 0x80 (§3.9.3).
    let Packet::Suback(s) = dec(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x80], V4).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.codes().collect::<Vec<_>>(),
        vec![ReasonCode(0), ReasonCode(0x80)]
    );
    assert_eq!(infer(&raw(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x80])), None);
    // 5.0: empty properties, codes 0x01 and 0x87 Not authorized (§3.9.3).
    let bytes = [0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87];
    let Packet::Suback(s) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(s.raw_codes, &[0x01, 0x87]);
    assert_eq!(s.codes_offset, 5);
    assert_eq!(infer(&raw(&bytes)).map(|v| v.0), Some(V5));
}

#[test]
fn unsubscribe_and_unsuback() {
    let Packet::Unsubscribe(u) = dec(&[0xA2, 0x05, 0x00, 0x02, 0x00, 0x01, b'a'], V4).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (u.packet_id, u.filters.iter().collect::<Vec<_>>()),
        (2, vec!["a"])
    );
    let (_, _, kind) = err_kind(&[0xA2, 0x02, 0x00, 0x02], V4);
    assert_eq!(kind, DecodeErrorKind::Empty);
    // 3.1.1 UNSUBACK has no codes (§3.11).
    let Packet::Unsuback(s) = dec(&[0xB0, 0x02, 0x00, 0x02], V4).unwrap() else {
        panic!()
    };
    assert_eq!((s.packet_id, s.raw_codes.len()), (2, 0));
    // 5.0 UNSUBACK: 0x11 No subscription existed (§3.11.3).
    let Packet::Unsuback(s) = dec(&[0xB0, 0x04, 0x00, 0x02, 0x00, 0x11], V5).unwrap() else {
        panic!()
    };
    assert_eq!(s.codes().collect::<Vec<_>>(), vec![ReasonCode(0x11)]);
}

// ---- PINGREQ / PINGRESP / DISCONNECT / AUTH ------------------------------------------------

#[test]
fn ping_packets() {
    assert_eq!(dec(&[0xC0, 0x00], V4).unwrap(), Packet::Pingreq);
    assert_eq!(dec(&[0xD0, 0x00], V5).unwrap(), Packet::Pingresp);
    let (off, _, kind) = err_kind(&[0xC0, 0x01, 0x00], V4);
    assert_eq!(
        (off, kind),
        (2, DecodeErrorKind::TrailingBytes { count: 1 })
    );
}

#[test]
fn disconnect_len0_is_normal() {
    let Packet::Disconnect(d) = dec(&[0xE0, 0x00], V5).unwrap() else {
        panic!()
    };
    assert_eq!((d.code, d.code_implied), (ReasonCode(0), true));
    assert_eq!(infer(&raw(&[0xE0, 0x00])), None);
}

#[test]
fn disconnect_len1_keeps_0x04() {
    // 0x04 Disconnect with Will Message, no Property Length (5.0 §3.14.2.2.1).
    let Packet::Disconnect(d) = dec(&[0xE0, 0x01, 0x04], V5).unwrap() else {
        panic!()
    };
    assert_eq!((d.code, d.code_implied), (ReasonCode(0x04), false));
    assert!(d.properties.is_empty());
    assert_eq!(infer(&raw(&[0xE0, 0x01, 0x04])).map(|v| v.0), Some(V5));
}

#[test]
fn disconnect_with_properties() {
    let bytes = [
        0xE0, 0x07, // DISCONNECT, remaining length 7
        0x8E, // reason code Session taken over (5.0 §3.14.2.1)
        0x05, 0x11, 0x00, 0x00, 0x00, 0x00, // Session Expiry Interval 0 (§3.14.2.2.2)
    ];
    let Packet::Disconnect(d) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(
        (d.code, d.properties.session_expiry()),
        (ReasonCode(0x8E), Some(0))
    );
    // A 3.1.1 DISCONNECT is empty.
    assert_eq!(
        err_kind(&[0xE0, 0x01, 0x04], V4).2,
        DecodeErrorKind::TrailingBytes { count: 1 }
    );
}

#[test]
fn auth_len0_is_success() {
    let Packet::Auth(a) = dec(&[0xF0, 0x00], V5).unwrap() else {
        panic!()
    };
    assert_eq!((a.code, a.code_implied), (ReasonCode(0), true));
    assert_eq!(infer(&raw(&[0xF0, 0x00])).map(|v| v.0), Some(V5));
}

#[test]
fn auth_with_method() {
    let bytes = [
        0xF0, 0x09, // AUTH, remaining length 9 (5.0 §3.15)
        0x18, // Continue authentication (§3.15.2.1)
        0x07, 0x15, 0x00, 0x04, b'S', b'C', b'R', b'A', // Authentication Method "SCRA"
    ];
    let Packet::Auth(a) = dec(&bytes, V5).unwrap() else {
        panic!()
    };
    assert_eq!(
        (a.code, a.properties.authentication_method()),
        (ReasonCode(0x18), Some("SCRA"))
    );
    // AUTH does not exist before 5.0.
    assert_eq!(
        err_kind(&[0xF0, 0x00], V4).2,
        DecodeErrorKind::NotInVersion { level: 4 }
    );
}

#[test]
fn reserved_type_zero_is_malformed() {
    assert_eq!(err_kind(&[0x00, 0x00], V4).2, DecodeErrorKind::ReservedType);
}

// ---- truncation loops ---------------------------------------------------------------------

fn samples() -> Vec<(Vec<u8>, Version)> {
    vec![
        (CONNECT_V4.to_vec(), V4),
        (CONNECT_V5.to_vec(), V5),
        (CONNECT_V31.to_vec(), V3),
        (
            vec![0x20, 0x08, 0x00, 0x00, 0x05, 0x24, 0x01, 0x21, 0x00, 0x0A],
            V5,
        ),
        (
            vec![
                0x32, 0x0A, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x07, b'h', b'i', b'x',
            ],
            V4,
        ),
        (
            vec![
                0x50, 0x09, 0x00, 0x07, 0x10, 0x05, 0x1F, 0x00, 0x02, b'n', b'o',
            ],
            V5,
        ),
        (
            vec![
                0x82, 0x0B, 0x00, 0x0A, 0x02, 0x0B, 0x05, 0x00, 0x03, b'a', b'/', b'#', 0x2D,
            ],
            V5,
        ),
        (vec![0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87], V5),
        (vec![0xA2, 0x05, 0x00, 0x02, 0x00, 0x01, b'a'], V4),
        (
            vec![0xE0, 0x07, 0x8E, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00],
            V5,
        ),
        (
            vec![
                0xF0, 0x09, 0x18, 0x07, 0x15, 0x00, 0x04, b'S', b'C', b'R', b'A',
            ],
            V5,
        ),
    ]
}

#[test]
fn truncated_bodies_give_typed_errors() {
    for (bytes, v) in samples() {
        let h = header(&bytes);
        let hl = usize::from(h.header_len);
        let body = &bytes[hl..];
        assert!(decode_parts(&h, body, v).is_ok());
        for cut in 0..body.len() {
            // The header still claims the full length: always a Truncated error.
            let e = decode_parts(&h, &body[..cut], v).expect_err("short body");
            assert!(matches!(e.kind, DecodeErrorKind::Truncated { .. }), "{e}");
            // A header shrunk to match: a typed error (or a valid short form), never a panic,
            // and an error offset inside the packet.
            let h2 = FixedHeader {
                remaining_len: cut as u32,
                ..h
            };
            if let Err(e) = decode_parts(&h2, &body[..cut], v) {
                assert!(e.offset <= hl + cut, "{e}");
                assert!(e.to_string().starts_with("malformed "));
            }
        }
    }
}

// ---- round trip ---------------------------------------------------------------------------

fn raw(bytes: &[u8]) -> RawPacket<'_> {
    let h = header(bytes);
    RawPacket {
        offset: 0,
        header: h,
        bytes,
        body: &bytes[usize::from(h.header_len)..],
        elided: 0,
    }
}

/// Allowed single-use properties per packet type (5.0 Table 2-4), with their value kinds.
fn allowed(ctx: u8) -> Vec<u8> {
    let all: &[(u8, u32)] = &[
        (0x01, 1 << 3 | 1 << 16),
        (0x02, 1 << 3 | 1 << 16),
        (0x03, 1 << 3 | 1 << 16),
        (0x08, 1 << 3 | 1 << 16),
        (0x09, 1 << 3 | 1 << 16),
        (0x0B, 1 << 3 | 1 << 8),
        (0x11, 1 << 1 | 1 << 2 | 1 << 14),
        (0x12, 1 << 2),
        (0x13, 1 << 2),
        (0x15, 1 << 1 | 1 << 2 | 1 << 15),
        (0x16, 1 << 1 | 1 << 2 | 1 << 15),
        (0x17, 1 << 1),
        (0x18, 1 << 16),
        (0x19, 1 << 1),
        (0x1A, 1 << 2),
        (0x1C, 1 << 2 | 1 << 14),
        (0x1F, 0b1100_1010_1111_0100),
        (0x21, 1 << 1 | 1 << 2),
        (0x22, 1 << 1 | 1 << 2),
        (0x23, 1 << 3),
        (0x24, 1 << 2),
        (0x25, 1 << 2),
        (0x27, 1 << 1 | 1 << 2),
        (0x28, 1 << 2),
        (0x29, 1 << 2),
        (0x2A, 1 << 2),
    ];
    let bit = if ctx == 16 { 1 << 16 } else { 1u32 << ctx };
    all.iter()
        .filter(|(_, m)| m & bit != 0)
        .map(|(id, _)| *id)
        .collect()
}

fn make_prop(id: u8, n: u32, s: &str, b: &[u8]) -> Prop {
    let boolean = matches!(id, 0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A);
    let nz = |v: u32| v.max(1);
    match id {
        _ if boolean => Prop::Byte(id, (n % 2) as u8),
        0x13 | 0x22 => Prop::Two(id, n as u16),
        0x21 | 0x23 => Prop::Two(id, nz(n & 0xffff) as u16),
        0x02 | 0x11 | 0x18 => Prop::Four(id, n),
        0x27 => Prop::Four(id, nz(n)),
        0x0B => Prop::Var(id, nz(n % 268_435_456)),
        0x09 | 0x16 => Prop::Bin(id, b.to_vec()),
        _ => Prop::Str(id, s.to_string()),
    }
}

fn props(ctx: u8, v5: bool) -> BoxedStrategy<Vec<Prop>> {
    if !v5 {
        return Just(vec![]).boxed();
    }
    let ids = allowed(ctx);
    let n = ids.len();
    (
        proptest::sample::subsequence(ids, 0..=n.min(4)),
        prop::collection::vec(
            (
                any::<u32>(),
                "\\PC{0,5}",
                prop::collection::vec(any::<u8>(), 0..5),
            ),
            4,
        ),
        prop::collection::vec(("\\PC{0,4}", "\\PC{0,4}"), 0..3),
    )
        .prop_map(|(ids, vals, users)| {
            let mut out: Vec<Prop> = ids
                .iter()
                .zip(vals.iter())
                .map(|(&id, (n, s, b))| make_prop(id, *n, s, b))
                .collect();
            out.extend(users.into_iter().map(|(k, v)| Prop::Pair(k, v)));
            out
        })
        .boxed()
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,8}"
}

fn packet(level: u8) -> BoxedStrategy<M> {
    let v5 = level == 5;
    let id = any::<u16>();
    let connect = (
        (any::<bool>(), any::<u16>(), props(1, v5), text()),
        proptest::option::of((
            props(16, v5),
            text(),
            prop::collection::vec(any::<u8>(), 0..6),
            0u8..3,
            any::<bool>(),
        )),
        proptest::option::of((
            text(),
            proptest::option::of(prop::collection::vec(any::<u8>(), 0..6)),
        )),
    )
        .prop_map(
            move |((clean, keep_alive, props, client_id), will, user)| M::Connect {
                level,
                clean,
                keep_alive,
                props,
                client_id,
                will,
                username: user.as_ref().map(|u| u.0.clone()),
                password: user.and_then(|u| u.1),
            },
        );
    let connack =
        (any::<bool>(), any::<u8>(), props(2, v5)).prop_map(|(session_present, code, props)| {
            M::Connack {
                session_present,
                code,
                props,
            }
        });
    let publish = (
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        text(),
        id,
        props(3, v5),
        prop::collection::vec(any::<u8>(), 0..10),
    )
        .prop_map(
            |(dup, qos, retain, topic, pid, props, payload)| M::Publish {
                dup,
                qos,
                retain,
                topic,
                packet_id: (qos > 0).then_some(pid),
                props,
                payload,
            },
        );
    let ack = (4u8..8, id, any::<u8>(), any::<bool>(), props(4, v5)).prop_map(
        move |(ptype, packet_id, code, implied, props)| {
            let implied = implied || !v5;
            M::Ack {
                ptype,
                packet_id,
                code: if implied { 0 } else { code },
                implied,
                props: if implied { vec![] } else { props },
            }
        },
    );
    let opts = if v5 {
        (0u8..3, 0u8..4, 0u8..3)
            .prop_map(|(q, f, rh)| q | f << 2 | rh << 4)
            .boxed()
    } else {
        (0u8..3).boxed()
    };
    let subscribe = (
        id,
        props(8, v5),
        prop::collection::vec((text(), opts), 1..4),
    )
        .prop_map(|(packet_id, props, subs)| M::Subscribe {
            packet_id,
            props,
            subs,
        });
    let suback = (
        any::<bool>(),
        id,
        props(9, v5),
        prop::collection::vec(any::<u8>(), 1..4),
    )
        .prop_map(move |(unsuback, packet_id, props, codes)| M::Suback {
            unsuback,
            packet_id,
            props,
            codes: if unsuback && !v5 { vec![] } else { codes },
        });
    let unsubscribe = (id, props(10, v5), prop::collection::vec(text(), 1..4)).prop_map(
        |(packet_id, props, filters)| M::Unsubscribe {
            packet_id,
            props,
            filters,
        },
    );
    let ping = any::<bool>().prop_map(|resp| M::Ping { resp });
    let rp = (any::<bool>(), any::<u8>(), any::<bool>(), props(14, v5)).prop_map(
        move |(auth, code, implied, props)| {
            let implied = implied || !v5;
            M::ReasonProps {
                auth: auth && v5,
                code: if implied { 0 } else { code },
                implied,
                props: if implied || auth { vec![] } else { props },
            }
        },
    );
    prop_oneof![
        connect,
        connack,
        publish,
        ack,
        subscribe,
        suback,
        unsubscribe,
        ping,
        rp
    ]
    .boxed()
}

proptest! {
    #[test]
    fn roundtrip_v4(m in packet(4), long in any::<bool>()) {
        check_roundtrip(&m, 4, long)?;
    }

    #[test]
    fn roundtrip_v5(m in packet(5), long in any::<bool>()) {
        check_roundtrip(&m, 5, long)?;
    }
}

fn check_roundtrip(m: &M, level: u8, long: bool) -> Result<(), TestCaseError> {
    let bytes = encode(m, level, long);
    let h = header(&bytes);
    let p = decode_parts(&h, &bytes[usize::from(h.header_len)..], Version(level))
        .map_err(|e| TestCaseError::fail(format!("{e} for {m:?} as {bytes:02X?}")))?;
    prop_assert_eq!(&model(&p), m);
    prop_assert_eq!(p.property_issues().count(), 0);
    prop_assert_eq!(p.ptype(), PacketType(bytes[0] >> 4));
    Ok(())
}
