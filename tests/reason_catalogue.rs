//! The reason-code catalogue checked against the standard's tables, written out here from
//! MQTT 5.0 §2.4 Table 2-6 and the per-packet tables, and MQTT 3.1.1 §3.2.2.3 / §3.9.3.

use std::collections::{BTreeMap, BTreeSet};

use mqttscope::mqtt::reason::{
    is_success, parse_code, standard_entries, Catalogue, Origin, Severity, VendorErrorKind,
    VersionSet,
};
use mqttscope::mqtt::types::{PacketType, ReasonCode, Version};

/// MQTT 5.0 Table 2-6, one line per row: hex | name | packets.
const TABLE_2_6: &str = "
0x00 | Success | CONNACK PUBACK PUBREC PUBREL PUBCOMP UNSUBACK AUTH
0x00 | Normal disconnection | DISCONNECT
0x00 | Granted QoS 0 | SUBACK
0x01 | Granted QoS 1 | SUBACK
0x02 | Granted QoS 2 | SUBACK
0x04 | Disconnect with Will Message | DISCONNECT
0x10 | No matching subscribers | PUBACK PUBREC
0x11 | No subscription existed | UNSUBACK
0x18 | Continue authentication | AUTH
0x19 | Re-authenticate | AUTH
0x80 | Unspecified error | CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT
0x81 | Malformed Packet | CONNACK DISCONNECT
0x82 | Protocol Error | CONNACK DISCONNECT
0x83 | Implementation specific error | CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT
0x84 | Unsupported Protocol Version | CONNACK
0x85 | Client Identifier not valid | CONNACK
0x86 | Bad User Name or Password | CONNACK
0x87 | Not authorized | CONNACK PUBACK PUBREC SUBACK UNSUBACK DISCONNECT
0x88 | Server unavailable | CONNACK
0x89 | Server busy | CONNACK DISCONNECT
0x8A | Banned | CONNACK
0x8B | Server shutting down | DISCONNECT
0x8C | Bad authentication method | CONNACK DISCONNECT
0x8D | Keep Alive timeout | DISCONNECT
0x8E | Session taken over | DISCONNECT
0x8F | Topic Filter invalid | SUBACK UNSUBACK DISCONNECT
0x90 | Topic Name invalid | CONNACK PUBACK PUBREC DISCONNECT
0x91 | Packet Identifier in use | PUBACK PUBREC SUBACK UNSUBACK
0x92 | Packet Identifier not found | PUBREL PUBCOMP
0x93 | Receive Maximum exceeded | DISCONNECT
0x94 | Topic Alias invalid | DISCONNECT
0x95 | Packet too large | CONNACK DISCONNECT
0x96 | Message rate too high | DISCONNECT
0x97 | Quota exceeded | CONNACK PUBACK PUBREC SUBACK DISCONNECT
0x98 | Administrative action | DISCONNECT
0x99 | Payload format invalid | CONNACK PUBACK PUBREC DISCONNECT
0x9A | Retain not supported | CONNACK DISCONNECT
0x9B | QoS not supported | CONNACK DISCONNECT
0x9C | Use another server | CONNACK DISCONNECT
0x9D | Server moved | CONNACK DISCONNECT
0x9E | Shared Subscriptions not supported | SUBACK DISCONNECT
0x9F | Connection rate exceeded | CONNACK DISCONNECT
0xA0 | Maximum connect time | DISCONNECT
0xA1 | Subscription Identifiers not supported | SUBACK DISCONNECT
0xA2 | Wildcard Subscriptions not supported | SUBACK DISCONNECT
";

/// The per-packet tables of MQTT 5.0 (code lists as printed in each packet's section).
const PER_PACKET: &[(PacketType, &[u8])] = &[
    // §3.2.2.2 Table 3-1
    (
        PacketType::CONNACK,
        &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
    ),
    // §3.4.2.1 and §3.5.2.1
    (
        PacketType::PUBACK,
        &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
    ),
    (
        PacketType::PUBREC,
        &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
    ),
    // §3.6.2.1 and §3.7.2.1
    (PacketType::PUBREL, &[0x00, 0x92]),
    (PacketType::PUBCOMP, &[0x00, 0x92]),
    // §3.9.3 Table 3-8
    (
        PacketType::SUBACK,
        &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ],
    ),
    // §3.11.3 Table 3-9
    (
        PacketType::UNSUBACK,
        &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
    ),
    // §3.14.2.1 Table 3-10 (does not list 0x8C, which Table 2-6 allows in DISCONNECT)
    (
        PacketType::DISCONNECT,
        &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
            0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
            0xA2,
        ],
    ),
    // §3.15.2.1 Table 3-11
    (PacketType::AUTH, &[0x00, 0x18, 0x19]),
];

/// (code, packet type) -> name, from TABLE_2_6.
fn spec_names() -> BTreeMap<(u8, u8), String> {
    let mut map = BTreeMap::new();
    for line in TABLE_2_6.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(parts.len(), 3, "bad test row {line}");
        let code = parse_code(parts[0]).expect("hex code in test table").0;
        for p in parts[2].split_whitespace() {
            let t = PacketType::from_name(p).expect("packet name in test table");
            assert!(
                map.insert((code, t.0), parts[1].to_string()).is_none(),
                "dup {line}"
            );
        }
    }
    map
}

fn spec_rows() -> Vec<(u8, String)> {
    TABLE_2_6
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split('|').map(str::trim).collect();
            (parse_code(parts[0]).unwrap().0, parts[1].to_string())
        })
        .collect()
}

fn v5_entries() -> Vec<&'static mqttscope::mqtt::reason::CodeEntry> {
    standard_entries()
        .filter(|e| e.versions.contains(Version::V5))
        .collect()
}

#[test]
fn table_2_6_has_45_rows_over_43_distinct_values() {
    let rows = spec_rows();
    assert_eq!(rows.len(), 45);
    let catalogue: BTreeSet<(u8, String)> = v5_entries()
        .iter()
        .map(|e| (e.code.0, e.name.to_string()))
        .collect();
    assert_eq!(catalogue.len(), 45, "distinct (code, name) rows");
    assert_eq!(catalogue, rows.into_iter().collect::<BTreeSet<_>>());
    let values: BTreeSet<u8> = v5_entries().iter().map(|e| e.code.0).collect();
    assert_eq!(values.len(), 43, "distinct code values");
}

#[test]
fn every_code_and_packet_type_matches_table_2_6() {
    let names = spec_names();
    let cat = Catalogue::standard_only();
    for code in 0..=255u8 {
        for t in PacketType::ALL {
            let x = cat.explain(ReasonCode(code), t, Version::V5);
            let want = names.get(&(code, t.0));
            assert_eq!(x.legal, want.is_some(), "legality of 0x{code:02X} in {t}");
            assert_eq!(x.code, ReasonCode(code));
            match want {
                Some(name) => {
                    assert_eq!(x.name, name, "name of 0x{code:02X} in {t}");
                    assert_eq!(x.origin, Origin::Standard);
                }
                // Error codes (and 0x00) keep their standard name in the wrong packet type;
                // a success code of another packet type (0x04 in PUBACK) does not.
                None if (code == 0 || code >= 0x80) && names.keys().any(|(c, _)| *c == code) => {
                    assert_eq!(x.origin, Origin::Standard, "0x{code:02X} in {t}");
                    let first = names.iter().find(|((c, _), _)| *c == code).unwrap().1;
                    assert!(code == 0 || x.name == first, "0x{code:02X} in {t}");
                }
                None => {
                    assert_eq!(x.origin, Origin::Unknown, "0x{code:02X} in {t}");
                    assert_eq!(x.name, format!("Unknown reason code 0x{code:02X}"));
                }
            }
        }
    }
}

#[test]
fn per_packet_tables_agree_except_disconnect_0x8c() {
    let cat = Catalogue::builtin();
    for (t, codes) in PER_PACKET {
        let legal: BTreeSet<u8> = (0..=255u8)
            .filter(|c| cat.explain(ReasonCode(*c), *t, Version::V5).legal)
            .collect();
        let mut want: BTreeSet<u8> = codes.iter().copied().collect();
        if *t == PacketType::DISCONNECT {
            want.insert(0x8C);
        }
        assert_eq!(legal, want, "legal codes in {t}");
    }
    for t in [
        PacketType::CONNECT,
        PacketType::PUBLISH,
        PacketType::SUBSCRIBE,
        PacketType::PINGREQ,
    ] {
        assert!(
            (0..=255u8).all(|c| !cat.explain(ReasonCode(c), t, Version::V5).legal),
            "{t}"
        );
    }
}

#[test]
fn legality_examples_from_the_brief() {
    let cat = Catalogue::builtin();
    let legal = |c: u8, t: PacketType| cat.explain(ReasonCode(c), t, Version::V5).legal;
    for t in [
        PacketType::CONNACK,
        PacketType::PUBACK,
        PacketType::PUBREC,
        PacketType::SUBACK,
        PacketType::UNSUBACK,
    ] {
        assert!(legal(0x87, t), "0x87 in {t}");
    }
    assert!(legal(0x87, PacketType::DISCONNECT)); // Table 2-6 and 3-10 both list it
    assert!(!legal(0x87, PacketType::PUBREL));
    assert!(!legal(0x87, PacketType::PUBCOMP));
    let only_92: Vec<PacketType> = PacketType::ALL
        .into_iter()
        .filter(|t| legal(0x92, *t))
        .collect();
    assert_eq!(only_92, vec![PacketType::PUBREL, PacketType::PUBCOMP]);
    let only_8e: Vec<PacketType> = PacketType::ALL
        .into_iter()
        .filter(|t| legal(0x8E, *t))
        .collect();
    assert_eq!(only_8e, vec![PacketType::DISCONNECT]);
    let x = cat.explain(ReasonCode(0x87), PacketType::PUBREL, Version::V5);
    assert_eq!(
        (x.name, x.origin, x.severity),
        ("Not authorized", Origin::Standard, Severity::Failure)
    );
    let x = cat.explain(ReasonCode(0x00), PacketType::PUBLISH, Version::V5);
    assert_eq!((x.name, x.legal), ("Success", false));
    let x = cat.explain(ReasonCode(0x04), PacketType::PUBACK, Version::V5);
    assert_eq!(
        (x.name, x.origin),
        ("Unknown reason code 0x04", Origin::Unknown)
    );
    let x = cat.explain(ReasonCode(0x01), PacketType::CONNACK, Version::V5);
    assert_eq!((x.name, x.legal), ("Unknown reason code 0x01", false));
}

#[test]
fn severities_follow_the_0x80_rule_with_three_notices() {
    let notices: BTreeSet<u8> = [0x04, 0x10, 0x11].into_iter().collect();
    for e in v5_entries() {
        let want = if e.code.0 >= 0x80 {
            Severity::Failure
        } else if notices.contains(&e.code.0) {
            Severity::Notice
        } else {
            Severity::Success
        };
        assert_eq!(e.severity, want, "{} {}", e.code, e.name);
        for t in e.packets.iter() {
            assert_eq!(e.severity.is_success(), is_success(e.code, t, Version::V5));
        }
        assert!(
            e.meaning.ends_with('.') && e.meaning.len() > 20,
            "{}",
            e.name
        );
        if e.severity != Severity::Success {
            assert!(
                e.hint.is_some_and(|h| h.len() > 10),
                "hint for {} {}",
                e.code,
                e.name
            );
        }
    }
    let cat = Catalogue::builtin();
    let hint = |c: u8, t| {
        cat.explain(ReasonCode(c), t, Version::V5)
            .hint
            .unwrap_or("")
    };
    assert!(hint(0x86, PacketType::CONNACK).contains("user name and password"));
    assert!(hint(0x9F, PacketType::CONNACK).contains("back off"));
    assert!(hint(0x97, PacketType::PUBACK).contains("quota"));
    assert!(hint(0x87, PacketType::SUBACK).contains("ACL"));
    assert!(hint(0x95, PacketType::DISCONNECT).contains("Maximum Packet Size"));
}

#[test]
fn v3_connack_and_suback_return_codes() {
    let cat = Catalogue::builtin();
    let connack = [
        "Connection Accepted",
        "Connection Refused, unacceptable protocol version",
        "Connection Refused, identifier rejected",
        "Connection Refused, Server unavailable",
        "Connection Refused, bad user name or password",
        "Connection Refused, not authorized",
    ];
    for v in [Version::V3_1, Version::V3_1_1] {
        for (code, name) in connack.iter().enumerate() {
            let x = cat.explain(ReasonCode(code as u8), PacketType::CONNACK, v);
            assert_eq!(
                (x.name, x.legal, x.origin),
                (*name, true, Origin::Standard),
                "{v} {code}"
            );
            assert_eq!(x.severity.is_success(), code == 0);
            assert_eq!(x.hint.is_some(), code != 0);
        }
        let x = cat.explain(ReasonCode(0x86), PacketType::CONNACK, v);
        assert_eq!(
            (x.name, x.legal, x.origin),
            ("Unknown return code", false, Origin::Unknown)
        );
        assert_eq!(x.code, ReasonCode(0x86));
        assert!(!cat.explain(ReasonCode(0), PacketType::PUBACK, v).legal);
    }
    for q in 0..3u8 {
        let x = cat.explain(ReasonCode(q), PacketType::SUBACK, Version::V3_1_1);
        assert_eq!(x.name, format!("Success - Maximum QoS {q}"));
        assert!(x.legal && x.severity == Severity::Success);
        let x = cat.explain(ReasonCode(q), PacketType::SUBACK, Version::V3_1);
        assert_eq!(x.name, format!("Granted QoS {q}"));
        assert!(x.legal);
    }
    let x = cat.explain(ReasonCode(0x80), PacketType::SUBACK, Version::V3_1_1);
    assert_eq!(
        (x.name, x.legal, x.severity),
        ("Failure", true, Severity::Failure)
    );
    let x = cat.explain(ReasonCode(0x80), PacketType::SUBACK, Version::V3_1);
    assert_eq!(
        (x.name, x.legal, x.severity),
        ("Failure", false, Severity::Failure)
    );
    let x = cat.explain(ReasonCode(0x03), PacketType::SUBACK, Version::V3_1_1);
    assert_eq!(
        (x.name, x.origin, x.severity),
        ("Unknown return code", Origin::Unknown, Severity::Failure)
    );
}

#[test]
fn is_success_rule() {
    let (c, s, p) = (PacketType::CONNACK, PacketType::SUBACK, PacketType::PUBACK);
    assert!(is_success(ReasonCode(0x7F), p, Version::V5));
    assert!(!is_success(ReasonCode(0x80), p, Version::V5));
    assert!(is_success(ReasonCode(0), c, Version::V3_1_1));
    for code in [1, 5, 6, 7, 0x80] {
        assert!(!is_success(ReasonCode(code), c, Version::V3_1_1), "{code}");
        assert!(!is_success(ReasonCode(code), c, Version::V3_1), "{code}");
    }
    for code in 0..=2 {
        assert!(is_success(ReasonCode(code), s, Version::V3_1_1));
    }
    assert!(!is_success(ReasonCode(0x80), s, Version::V3_1_1));
}

#[test]
fn adafruit_codes_are_built_in_for_3_1_1_connack_only() {
    let cat = Catalogue::builtin();
    let x = cat.explain(ReasonCode(6), PacketType::CONNACK, Version::V3_1_1);
    assert_eq!(x.name, "Connection Refused, throttled");
    assert_eq!(x.origin, Origin::Vendor("Adafruit IO"));
    assert_eq!((x.legal, x.severity), (false, Severity::Failure));
    assert!(x.hint.unwrap().contains("try again later"));
    let x = cat.explain(ReasonCode(7), PacketType::CONNACK, Version::V3_1_1);
    assert_eq!(
        (x.name, x.origin),
        ("Connection Refused, banned", Origin::Vendor("Adafruit IO"))
    );
    assert!(x.meaning.contains("banned"));
    // Not in 3.1, not in SUBACK, not without the built-in vendor table.
    assert_eq!(
        cat.explain(ReasonCode(6), PacketType::CONNACK, Version::V3_1)
            .origin,
        Origin::Unknown
    );
    assert_eq!(
        cat.explain(ReasonCode(6), PacketType::SUBACK, Version::V3_1_1)
            .origin,
        Origin::Unknown
    );
    let std = Catalogue::standard_only();
    assert_eq!(
        std.explain(ReasonCode(6), PacketType::CONNACK, Version::V3_1_1)
            .origin,
        Origin::Unknown
    );
}

#[test]
fn unknown_codes_keep_their_value() {
    let cat = Catalogue::builtin();
    let x = cat.explain(ReasonCode(0xFF), PacketType::DISCONNECT, Version::V5);
    assert_eq!(x.name, "Unknown reason code 0xFF");
    assert_eq!(
        (x.code, x.legal, x.origin, x.severity),
        (ReasonCode(0xFF), false, Origin::Unknown, Severity::Failure)
    );
    let x = cat.explain(ReasonCode(0x05), PacketType::PUBACK, Version::V5);
    assert_eq!(
        (x.name, x.severity),
        ("Unknown reason code 0x05", Severity::Success)
    );
    // An unknown protocol level uses 5.0 names but is never legal.
    let x = cat.explain(ReasonCode(0x87), PacketType::SUBACK, Version(6));
    assert_eq!((x.name, x.legal), ("Not authorized", false));
}

#[test]
fn parse_code_accepts_hex_and_decimal() {
    assert_eq!(parse_code("0x87"), Some(ReasonCode(0x87)));
    assert_eq!(parse_code("0X87"), Some(ReasonCode(0x87)));
    assert_eq!(parse_code("0xa2"), Some(ReasonCode(0xA2)));
    assert_eq!(parse_code("135"), Some(ReasonCode(135)));
    assert_eq!(parse_code(" 0 "), Some(ReasonCode(0)));
    assert_eq!(parse_code("255"), Some(ReasonCode(255)));
    for bad in [
        "", "0x", "256", "0x100", "+5", "-1", "87h", "0x 87", "1.5", "x87",
    ] {
        assert_eq!(parse_code(bad), None, "{bad:?}");
    }
}

#[test]
fn example_vendor_file_loads_and_replaces_builtin_entries() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/captures/vendor-codes.example.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let cat = Catalogue::builtin()
        .with_vendor_toml(&text, "vendor-codes.example.toml")
        .unwrap();
    let entries: Vec<_> = cat.vendor_entries().collect();
    assert_eq!(entries.len(), 2, "file entries replace the built-in ones");
    assert!(entries
        .iter()
        .all(|e| e.defined_at.starts_with("vendor-codes.example.toml line ")));
    assert_eq!(entries[0].versions, VersionSet::V3_1_1);
    let x = cat.explain(ReasonCode(7), PacketType::CONNACK, Version::V3_1_1);
    assert_eq!(
        (x.name, x.origin),
        ("Connection Refused, banned", Origin::Vendor("Adafruit IO"))
    );
    let from_file = Catalogue::standard_only()
        .with_vendor_toml(&text, "x")
        .unwrap();
    assert_eq!(
        from_file
            .explain(ReasonCode(6), PacketType::CONNACK, Version::V3_1_1)
            .origin,
        Origin::Vendor("Adafruit IO")
    );
}

const EXAMPLE_MQ: &str = r#"
vendor = "ExampleMQ"

[[code]]
versions = ["5.0"]
packet = "DISCONNECT"
code = 0xF0
name = "License expired"
meaning = "The broker's license ran out."
success = false

[[code]]
versions = ["3.1", "3.1.1"]
packet = "CONNACK"
code = 9
name = "Maintenance"
meaning = "The broker is in maintenance mode."
hint = "wait for the maintenance window to end"
success = false
"#;

#[test]
fn vendor_codes_show_with_their_vendor() {
    let cat = Catalogue::builtin()
        .with_vendor_toml(EXAMPLE_MQ, "example.toml")
        .unwrap();
    let x = cat.explain(ReasonCode(0xF0), PacketType::DISCONNECT, Version::V5);
    assert_eq!(
        (x.name, x.origin, x.legal, x.hint),
        ("License expired", Origin::Vendor("ExampleMQ"), false, None)
    );
    assert_eq!(
        cat.explain(ReasonCode(0xF0), PacketType::CONNACK, Version::V5)
            .origin,
        Origin::Unknown
    );
    for v in [Version::V3_1, Version::V3_1_1] {
        let x = cat.explain(ReasonCode(9), PacketType::CONNACK, v);
        assert_eq!(
            (x.name, x.origin),
            ("Maintenance", Origin::Vendor("ExampleMQ"))
        );
        assert_eq!(x.hint, Some("wait for the maintenance window to end"));
    }
    // Adafruit stays.
    assert_eq!(
        cat.explain(ReasonCode(6), PacketType::CONNACK, Version::V3_1_1)
            .origin,
        Origin::Vendor("Adafruit IO")
    );
    assert_eq!(cat.vendor_entries().count(), 4);
}

/// Replaces `from` by `to` in EXAMPLE_MQ, failing the test if `from` is absent.
fn mutate(from: &str, to: &str) -> String {
    assert!(EXAMPLE_MQ.contains(from), "{from}");
    EXAMPLE_MQ.replacen(from, to, 1)
}

/// Loads `text` and returns (line, field, kind, message) of the error.
fn load_err(text: &str) -> (usize, Option<&'static str>, VendorErrorKind, String) {
    let e = Catalogue::builtin()
        .with_vendor_toml(text, "bad.toml")
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("vendor codes file bad.toml"), "{msg}");
    (e.line, e.field, e.kind, msg)
}

#[test]
fn vendor_errors_name_line_and_field() {
    // code out of range, line 7 of EXAMPLE_MQ.
    let (line, field, kind, msg) = load_err(&mutate("code = 0xF0", "code = 300"));
    assert_eq!((line, field), (7, Some("code")));
    assert!(
        matches!(kind, VendorErrorKind::BadValue { ref found, .. } if found == "300"),
        "{kind:?}"
    );
    assert!(
        msg.contains("line 7") && msg.contains("field `code`") && msg.contains("300"),
        "{msg}"
    );

    let (line, field, kind, _) = load_err(&mutate("\"DISCONNECT\"", "\"DISCONECT\""));
    assert_eq!((line, field), (6, Some("packet")));
    assert!(matches!(kind, VendorErrorKind::BadValue { .. }));

    // 3.1.1 PUBACK carries no return code.
    let (line, field, _, msg) = load_err(&mutate("packet = \"CONNACK\"", "packet = \"PUBACK\""));
    assert_eq!((line, field), (14, Some("packet")));
    assert!(msg.contains("CONNACK or SUBACK"), "{msg}");

    let (line, field, _, _) = load_err(&mutate("[\"5.0\"]", "[\"6.0\"]"));
    assert_eq!((line, field), (5, Some("versions")));
    let (_, field, _, _) = load_err(&mutate("[\"5.0\"]", "[]"));
    assert_eq!(field, Some("versions"));

    // 0x87 is Not authorized in 5.0 DISCONNECT: a vendor may not redefine it.
    let (line, _, kind, _) = load_err(&mutate("code = 0xF0", "code = 0x87"));
    assert_eq!(line, 7);
    assert_eq!(
        kind,
        VendorErrorKind::ConflictsWithStandard {
            standard_name: "Not authorized"
        }
    );

    let (_, field, _, msg) = load_err(&mutate("code = 0xF0\nname = \"License expired\"\nmeaning = \"The broker's license ran out.\"\nsuccess = false", "code = 0xF0\nname = \"License expired\"\nmeaning = \"The broker's license ran out.\"\nsuccess = true"));
    assert_eq!(field, Some("success"));
    assert!(msg.contains("0x80"), "{msg}");

    let (line, field, _, _) = load_err(&mutate("name = \"Maintenance\"", "name = \"  \""));
    assert_eq!((line, field), (16, Some("name")));

    // Missing and unknown keys, and plain syntax errors, come from the TOML reader with a line.
    let (line, field, kind, msg) = load_err(&mutate(
        "meaning = \"The broker is in maintenance mode.\"\n",
        "",
    ));
    assert!(
        matches!(kind, VendorErrorKind::Syntax(_)) && msg.contains("meaning"),
        "{msg}"
    );
    assert_eq!(
        (line, field),
        (12, Some("meaning")),
        "points at the [[code]] table"
    );
    let (line, _, kind, msg) = load_err(&mutate("hint = ", "hnit = "));
    assert!(
        matches!(kind, VendorErrorKind::Syntax(_)) && msg.contains("hnit"),
        "{msg}"
    );
    assert_eq!(line, 18);
    let (line, _, kind, _) = load_err(&mutate("code = 9", "code = = 9"));
    assert!(matches!(kind, VendorErrorKind::Syntax(_)));
    assert_eq!(line, 15);

    let (line, _, kind, _) = load_err("vendor = \"Nobody\"\n");
    assert_eq!((line, kind), (0, VendorErrorKind::NoCodes));
}

#[test]
fn vendor_duplicates_and_size_caps() {
    let twice = format!("{EXAMPLE_MQ}\n[[code]]\nversions = [\"3.1.1\"]\npacket = \"CONNACK\"\ncode = 0x09\nname = \"Again\"\nmeaning = \"Once more.\"\nsuccess = false\n");
    let (line, _, kind, msg) = load_err(&twice);
    assert_eq!(kind, VendorErrorKind::Duplicate { first_line: 12 });
    assert!(line > 20 && msg.contains("line 12"), "{msg}");

    let huge = format!("vendor = \"X\"\n#{}\n", "x".repeat(1 << 20));
    let (_, _, kind, _) = load_err(&huge);
    assert!(matches!(kind, VendorErrorKind::TooLarge { .. }));
}
