//! Cross-check against tshark: every capture in captures/ is analysed by `mqttscope --format
//! jsonl` and by `tshark -T json`, and the two are compared packet by packet on type, version
//! (CONNECT), packet identifier, topic (PUBLISH topic, SUBSCRIBE/UNSUBSCRIBE filters) and
//! reason codes. Packets are matched by (frame number, order within the frame).
//!
//! tshark is not always right. Every disagreement found is either fixed in mqttscope or listed
//! in [`KNOWN`] with the spec clause that decides it; any other disagreement fails the test, and
//! so does a listed one that no longer happens (the list stays true).
//!
//! Two differences of presentation are normalised first, not listed, because the standard gives
//! the value explicitly:
//! - 5.0 short forms: a PUBACK/PUBREC/PUBREL/PUBCOMP with remaining length 2, or a DISCONNECT or
//!   AUTH with remaining length 0, has no reason-code byte and tshark shows no code; the code is
//!   0x00 by 5.0 §3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.14.2.1 and §3.15.2.1.
//! - Topic aliases (5.0 §3.3.2.3.4): tshark shows the topic the alias stands for; it is compared
//!   with our `topic_resolved`.
//!
//! tshark's JSON output is used instead of `-T fields`: with `-E occurrence=a` a frame holding
//! several PDUs gives one row whose columns cannot be lined up per PDU (a PUBLISH QoS 0 has no
//! packet id), while `--no-duplicate-keys` JSON gives one object per PDU.
//!
//! Needs tshark (scripts/setup.sh --test installs it); MQTTSCOPE_SKIP_TSHARK=1 skips.

mod common;

use common::{analyse_file, packets, root, PacketLine};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Who the standard says is right about a listed disagreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Right {
    /// mqttscope.
    Ours,
    /// tshark: never allowed in the list, such a case is a bug to fix in mqttscope.
    #[allow(dead_code)]
    Tshark,
}

/// A disagreement with tshark that was examined and is expected.
struct Known {
    /// Capture path under captures/.
    capture: &'static str,
    /// Frame number.
    frame: u64,
    /// Order of the PDU within the frame (0 = first).
    pdu: usize,
    /// "type", "version", "packet_id", "topic", "reason_codes" or "pdu" (one side has none).
    field: &'static str,
    /// Our value, as the test prints it.
    ours: &'static str,
    /// tshark's value, as the test prints it.
    tshark: &'static str,
    /// The clause that decides it, and why.
    clause: &'static str,
    /// Who is right.
    right: Right,
}

/// Every disagreement left after checking the spec; see each `clause`.
const KNOWN: &[Known] = &[
    // --- crafted/malformed.pcap: packets the standard calls malformed. mqttscope reports the
    // type and why it stopped, and no field values; tshark decodes them without an error.
    Known {
        capture: "crafted/malformed.pcap",
        frame: 8,
        pdu: 0,
        field: "packet_id",
        ours: "none",
        tshark: "1",
        clause:
            "5.0 §3.3.1.2 / 3.1.1 §3.3.1.2 [MQTT-3.3.1-4]: a PUBLISH with both QoS bits set is \
                 malformed, so whether a packet identifier follows the topic is undefined",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 8,
        pdu: 0,
        field: "topic",
        ours: "[]",
        tshark: "[\"q3\"]",
        clause: "5.0 §3.3.1.2 / 3.1.1 §3.3.1.2 [MQTT-3.3.1-4]: QoS 3 PUBLISH is malformed; \
                 tshark does not flag it",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 20,
        pdu: 0,
        field: "packet_id",
        ours: "none",
        tshark: "1",
        clause: "3.1.1 §3.8.3 [MQTT-3.8.3-3]: a SUBSCRIBE without a topic filter is a protocol \
                 violation; tshark does not flag it",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 32,
        pdu: 0,
        field: "packet_id",
        ours: "none",
        tshark: "1",
        clause: "3.1.1 §3.8.1 [MQTT-3.8.1-1]: SUBSCRIBE fixed-header flags must be 0010, else \
                 the packet is malformed; tshark does not flag it",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 32,
        pdu: 0,
        field: "topic",
        ours: "[]",
        tshark: "[\"a\"]",
        clause: "3.1.1 §3.8.1 [MQTT-3.8.1-1]: SUBSCRIBE with flags 0000 is malformed",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 56,
        pdu: 0,
        field: "topic",
        ours: "[]",
        tshark: "[\"\u{fffd}(bad\"]",
        clause: "3.1.1 §1.5.3 [MQTT-1.5.3-1] / 5.0 §1.5.4: a topic that is not well-formed \
                 UTF-8 (C3 28) makes the packet malformed; tshark shows it with a replacement \
                 character",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 68,
        pdu: 0,
        field: "topic",
        ours: "[]",
        tshark: "[\"a\"]",
        clause: "3.1.1 §1.5.3 [MQTT-1.5.3-2] / 5.0 §1.5.4: U+0000 in a topic makes the packet \
                 malformed; tshark cuts the topic at the NUL",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 92,
        pdu: 0,
        field: "type",
        ours: "3",
        tshark: "none",
        clause: "5.0 §1.5.5 / 3.1.1 §2.2.3: a remaining length of 5 bytes is malformed (both \
                 say so), but the type is in bits 7-4 of byte 1 (§2.1.2 / §2.2.1), 0x30 = PUBLISH",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/malformed.pcap",
        frame: 104,
        pdu: 0,
        field: "topic",
        ours: "[]",
        tshark: "[\"p/u\"]",
        clause: "5.0 §2.2.2.2: property identifier 0x7F is not defined, so the packet is \
                 malformed; tshark reports it as an unknown property only",
        right: Right::Ours,
    },
    // --- crafted/tcp-disorder.pcap
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 9,
        pdu: 0,
        field: "type",
        ours: "3",
        tshark: "0",
        clause: "5.0 §1.5.5 / 3.1.1 §2.2.3: the remaining-length varint of this PUBLISH is split \
                 across two TCP segments (frames 8 and 9); a byte stream has no segment \
                 boundaries (RFC 9293 §2.2), tshark cannot reassemble a split varint and \
                 mis-frames the rest",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 9,
        pdu: 0,
        field: "topic",
        ours: "[\"d/big\"]",
        tshark: "[]",
        clause: "5.0 §1.5.5 / 3.1.1 §2.2.3: split remaining length (see the type entry)",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 9,
        pdu: 1,
        field: "pdu",
        ours: "absent",
        tshark: "type 0",
        clause: "5.0 §2.1.2: tshark's mis-framed payload bytes read as reserved type 0",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 9,
        pdu: 2,
        field: "pdu",
        ours: "absent",
        tshark: "type 6",
        clause: "5.0 §2.1.2: tshark's mis-framed payload bytes read as a PUBREL",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 13,
        pdu: 0,
        field: "pdu",
        ours: "type 3",
        tshark: "absent",
        clause: "RFC 9293 §3.10.7.4: segments sent 1,3,2 are queued and delivered in order; \
                 tshark 4.0 does not reassemble out-of-order segments by default \
                 (tcp.reassemble_out_of_order off) and loses PUBLISH d/order",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/tcp-disorder.pcap",
        frame: 19,
        pdu: 0,
        field: "pdu",
        ours: "type 3",
        tshark: "absent",
        clause: "RFC 9293 §3.10.7.4: an overlapping segment is trimmed to its new bytes (the \
                 bytes received first stand); tshark marks it 'Illegal Segments' and loses \
                 PUBLISH d/overlap",
        right: Right::Ours,
    },
    // --- crafted/mid-stream.pcap: no CONNECT, so tshark does not know the version.
    Known {
        capture: "crafted/mid-stream.pcap",
        frame: 3,
        pdu: 0,
        field: "reason_codes",
        ours: "[0x00]",
        tshark: "[]",
        clause: "3.1.1 §3.4.1: a PUBACK longer than 2 bytes is 5.0, whose byte 3 is the reason \
                 code (5.0 §3.4.2.1, here 0x00 followed by a Reason String); tshark reports \
                 'Unknown version' and no code",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/mid-stream.pcap",
        frame: 11,
        pdu: 0,
        field: "reason_codes",
        ours: "[0x00]",
        tshark: "[]",
        clause: "3.1.1 §3.4.1 / 5.0 §3.4.2.1: as frame 3 (explicit 0x00 with a Reason String)",
        right: Right::Ours,
    },
    Known {
        capture: "crafted/mid-stream.pcap",
        frame: 7,
        pdu: 0,
        field: "reason_codes",
        ours: "[0x10]",
        tshark: "[]",
        clause: "3.1.1 §3.4.1 fixes the PUBACK remaining length at 2, so a longer PUBACK is \
                 5.0, whose byte 3 is the reason code (5.0 §3.4.2.1); tshark reports 'Unknown \
                 version' and no code",
        right: Right::Ours,
    },
];

/// One MQTT PDU reduced to the compared fields.
#[derive(Clone, Debug, Default, PartialEq)]
struct Pdu {
    frame: u64,
    ptype: Option<u8>,
    version: Option<u8>,
    packet_id: Option<u16>,
    topics: Vec<String>,
    codes: Vec<u8>,
}

/// A tshark PDU with its remaining length (`mqtt.len`).
type Theirs = (Pdu, Option<u64>);

/// Both tools' PDUs of one frame, in order.
type FramePdus<'a> = (Vec<&'a PacketLine>, Vec<Theirs>);

/// A disagreement found in one run.
#[derive(Clone, Debug, PartialEq)]
struct Found {
    capture: String,
    frame: u64,
    pdu: usize,
    field: &'static str,
    ours: String,
    tshark: String,
}

/// tshark fields that hold reason or return codes (checked with `tshark -G fields`, 4.0).
const CODE_FIELDS: &[&str] = &[
    "mqtt.conack.val",
    "mqtt.suback.qos",
    "mqtt.connack.reason_code",
    "mqtt.puback.reason_code",
    "mqtt.pubrec.reason_code",
    "mqtt.pubrel.reason_code",
    "mqtt.pubcomp.reason_code",
    "mqtt.suback.reason_code",
    "mqtt.unsuback.reason_code",
    "mqtt.disconnect.reason_code",
    "mqtt.auth.reason_code",
];

/// Every capture file, relative to captures/.
fn captures() -> Vec<String> {
    let base = root().join("captures");
    let mut out = Vec::new();
    for sub in ["", "crafted", "public"] {
        let dir = base.join(sub);
        let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                });
            }
        }
    }
    out.sort();
    out
}

/// Ports tshark must decode as MQTT for a capture (captures/README.md and SOURCES.md). 8883 is
/// left to tshark's TLS dissector on purpose: that capture is TLS and both tools must say so.
fn ports(capture: &str) -> &'static [u16] {
    if capture.starts_with("public/") {
        &[1883, 1337, 17501, 8884]
    } else if capture.starts_with("crafted/") {
        &[1883, 4444]
    } else {
        &[18830, 18831, 18832, 18833]
    }
}

/// Is tshark installed? Fails (or skips with MQTTSCOPE_SKIP_TSHARK=1) when not.
fn tshark_present() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("MQTTSCOPE_SKIP_TSHARK").as_deref() == Ok("1") {
        eprintln!("tshark cross-check skipped (MQTTSCOPE_SKIP_TSHARK=1): tshark is not installed");
        return false;
    }
    panic!(
        "tshark is not installed: run scripts/setup.sh --test to install it \
         (or set MQTTSCOPE_SKIP_TSHARK=1 to skip the cross-check)"
    );
}

/// String values of `key` anywhere under `v`, in document order.
fn collect<'v>(v: &'v Value, key: &str, out: &mut Vec<&'v str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    match x {
                        Value::String(s) => out.push(s),
                        Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str)),
                        _ => {}
                    }
                } else {
                    collect(x, key, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, key, out)),
        _ => {}
    }
}

fn num<T: TryFrom<u64>>(s: &str) -> Option<T> {
    let n = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok()?,
        None => s.parse().ok()?,
    };
    T::try_from(n).ok()
}

/// One PDU from a tshark `mqtt` layer object, plus its remaining length.
fn tshark_pdu(frame: u64, v: &Value) -> Theirs {
    let first = |key: &str| {
        let mut a = Vec::new();
        collect(v, key, &mut a);
        a.first().copied()
    };
    let mut topics = Vec::new();
    collect(v, "mqtt.topic", &mut topics);
    let mut codes = Vec::new();
    for f in CODE_FIELDS {
        let mut a = Vec::new();
        collect(v, f, &mut a);
        codes.extend(a.iter().filter_map(|s| num::<u8>(s)));
    }
    let pdu = Pdu {
        frame,
        ptype: first("mqtt.msgtype").and_then(num),
        version: first("mqtt.ver").and_then(num),
        packet_id: first("mqtt.msgid").and_then(num),
        topics: topics.into_iter().map(str::to_string).collect(),
        codes,
    };
    (pdu, first("mqtt.len").and_then(num))
}

/// tshark's PDUs of a capture, with their remaining lengths, in frame order.
fn tshark_pdus(file: &Path, capture: &str) -> Vec<Theirs> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(file);
    for p in ports(capture) {
        cmd.arg("-d").arg(format!("tcp.port=={p},mqtt"));
    }
    cmd.args([
        "-Y",
        "mqtt",
        "-T",
        "json",
        "-J",
        "frame mqtt",
        "--no-duplicate-keys",
    ]);
    let out = cmd.output().expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: Value = if text.trim().is_empty() {
        Value::Array(Vec::new())
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "tshark on {capture}: output is not JSON ({e}); status {:?}, stderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let mut pdus = Vec::new();
    for pkt in doc.as_array().into_iter().flatten() {
        let layers = &pkt["_source"]["layers"];
        let frame = layers["frame"]["frame.number"]
            .as_str()
            .and_then(num::<u64>)
            .unwrap_or_else(|| panic!("tshark on {capture}: a packet without frame.number"));
        match &layers["mqtt"] {
            Value::Array(a) => pdus.extend(a.iter().map(|m| tshark_pdu(frame, m))),
            Value::Null => {}
            // A bare string: tshark could not decode a single field (a "Malformed Packet").
            m => pdus.push(tshark_pdu(frame, m)),
        }
    }
    pdus
}

/// Our PDU for a packet line.
fn our_pdu(p: &PacketLine) -> Pdu {
    let topics = match (&p.filters, &p.topic, &p.topic_resolved) {
        (Some(f), _, _) => f.clone(),
        (None, Some(t), Some(r)) if t.is_empty() && p.topic_alias.is_some() => vec![r.clone()],
        (None, Some(t), _) => vec![t.clone()],
        _ => Vec::new(),
    };
    Pdu {
        frame: p.frame,
        ptype: Some(p.type_num),
        version: p.connect_level,
        packet_id: p.packet_id,
        topics,
        codes: p.reason_codes.clone(),
    }
}

/// 5.0 short forms carry no reason-code byte: the code is 0x00 (see the module doc).
fn implied_success(ours: &PacketLine, theirs: &mut Pdu, len: Option<u64>) {
    let short = matches!(
        (theirs.ptype, len),
        (Some(4..=7), Some(2)) | (Some(14 | 15), Some(0))
    );
    if theirs.codes.is_empty() && short && ours.version == Some(5) {
        theirs.codes.push(0);
    }
}

fn show_opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_string(), |x| x.to_string())
}

fn show_codes(c: &[u8]) -> String {
    let v: Vec<String> = c.iter().map(|x| format!("{x:#04x}")).collect();
    format!("[{}]", v.join(", "))
}

fn show_presence(p: Option<&Pdu>) -> String {
    p.map_or_else(
        || "absent".to_string(),
        |p| format!("type {}", show_opt(p.ptype)),
    )
}

/// Compares one capture; returns its disagreements and the number of PDUs both reported.
fn compare(capture: &str) -> (Vec<Found>, usize, usize) {
    let file: PathBuf = root().join("captures").join(capture);
    let lines = analyse_file(&file, &[]);
    let ours = packets(&lines);
    let theirs = tshark_pdus(&file, capture);
    let mut by_frame: BTreeMap<u64, FramePdus<'_>> = BTreeMap::new();
    for p in &ours {
        by_frame.entry(p.frame).or_default().0.push(p);
    }
    for t in theirs.iter().cloned() {
        by_frame.entry(t.0.frame).or_default().1.push(t);
    }
    let mut found = Vec::new();
    let mut both = 0;
    for (frame, (os, ts)) in &by_frame {
        for i in 0..os.len().max(ts.len()) {
            let mut push = |field, ours: String, tshark: String| {
                found.push(Found {
                    capture: capture.to_string(),
                    frame: *frame,
                    pdu: i,
                    field,
                    ours,
                    tshark,
                })
            };
            let (Some(o), Some((t, len))) = (os.get(i), ts.get(i)) else {
                let o = os.get(i).map(|p| our_pdu(p));
                let t = ts.get(i).map(|t| &t.0);
                push("pdu", show_presence(o.as_ref()), show_presence(t));
                continue;
            };
            both += 1;
            let mine = our_pdu(o);
            let mut t = t.clone();
            implied_success(o, &mut t, *len);
            if mine.ptype != t.ptype {
                push("type", show_opt(mine.ptype), show_opt(t.ptype));
            }
            if t.version.is_some() && mine.version != t.version {
                push("version", show_opt(mine.version), show_opt(t.version));
            }
            if mine.packet_id != t.packet_id {
                push("packet_id", show_opt(mine.packet_id), show_opt(t.packet_id));
            }
            if mine.topics != t.topics {
                push(
                    "topic",
                    format!("{:?}", mine.topics),
                    format!("{:?}", t.topics),
                );
            }
            if mine.codes != t.codes {
                push(
                    "reason_codes",
                    show_codes(&mine.codes),
                    show_codes(&t.codes),
                );
            }
        }
    }
    (found, ours.len(), both)
}

fn is_known(f: &Found) -> bool {
    KNOWN.iter().any(|k| {
        k.capture == f.capture
            && k.frame == f.frame
            && k.pdu == f.pdu
            && k.field == f.field
            && k.ours == f.ours
            && k.tshark == f.tshark
    })
}

#[test]
fn every_capture_agrees_with_tshark_or_the_disagreement_is_listed() {
    if !tshark_present() {
        return;
    }
    let caps = captures();
    assert!(caps.len() >= 30, "only {} captures found", caps.len());
    let mut all = Vec::new();
    let mut report = String::new();
    let mut compared = 0;
    for cap in &caps {
        let (found, ours, both) = compare(cap);
        let _ = writeln!(
            report,
            "{cap}: {ours} packets, {both} matched, {} disagreements",
            found.len()
        );
        if cap.ends_with("8883-tls.pcap") {
            assert_eq!(ours, 0, "{cap}: TLS records must not be decoded as MQTT");
        } else {
            assert!(both > 0, "{cap}: no packet compared\n{report}");
        }
        compared += both;
        all.extend(found);
    }
    eprintln!("{report}{compared} packets compared");
    let unexpected: Vec<&Found> = all.iter().filter(|f| !is_known(f)).collect();
    let stale: Vec<&Known> = KNOWN
        .iter()
        .filter(|k| {
            !all.iter().any(|f| {
                k.capture == f.capture
                    && k.frame == f.frame
                    && k.pdu == f.pdu
                    && k.field == f.field
                    && k.ours == f.ours
                    && k.tshark == f.tshark
            })
        })
        .collect();
    let mut msg = String::new();
    for f in &unexpected {
        let _ = writeln!(
            msg,
            "unexpected: {} frame {} pdu {} {}: ours {} tshark {}",
            f.capture, f.frame, f.pdu, f.field, f.ours, f.tshark
        );
    }
    for k in &stale {
        let _ = writeln!(
            msg,
            "listed but not seen any more: {} frame {} pdu {} {}: ours {} tshark {}",
            k.capture, k.frame, k.pdu, k.field, k.ours, k.tshark
        );
    }
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{} unexpected disagreements, {} stale list entries:\n{msg}\
         Fix mqttscope, or add the case to KNOWN with the spec clause that shows tshark wrong.",
        unexpected.len(),
        stale.len()
    );
}

#[test]
fn known_disagreements_are_documented_and_mostly_ours() {
    for k in KNOWN {
        assert!(
            k.clause.contains('§') || k.clause.contains("RFC"),
            "{} frame {}: the clause must name a section: {}",
            k.capture,
            k.frame,
            k.clause
        );
        assert!(
            root().join("captures").join(k.capture).exists(),
            "{} does not exist",
            k.capture
        );
        // Where tshark is right, mqttscope has a bug to fix instead of an entry here.
        assert_eq!(
            k.right,
            Right::Ours,
            "{} frame {} {}: tshark is right, fix mqttscope",
            k.capture,
            k.frame,
            k.field
        );
    }
}

#[test]
fn tshark_json_with_several_pdus_in_one_frame_is_split_per_pdu() {
    // Frame 9 of zeek-mqtt.pcap holds a PUBLISH QoS 0 and a DISCONNECT.
    if !tshark_present() {
        return;
    }
    let cap = "public/zeek-mqtt.pcap";
    let pdus = tshark_pdus(&root().join("captures").join(cap), cap);
    let frame9: Vec<&Pdu> = pdus.iter().map(|p| &p.0).filter(|p| p.frame == 9).collect();
    assert_eq!(frame9.len(), 2, "{frame9:?}");
    assert_eq!(frame9[0].ptype, Some(3));
    assert_eq!(frame9[0].topics, vec!["SampleTopic".to_string()]);
    assert_eq!(frame9[0].packet_id, None);
    assert_eq!(frame9[1].ptype, Some(14));
}
