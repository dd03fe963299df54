//! Summary output: totals per type, reason code, client and anomaly, latencies, capture statistics.

use super::{Flow, Sink};
use crate::event::Event;
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::Version;
use crate::report::code_rows::{code_rows, name_width};
use crate::report::latency::Latency;
use crate::report::{ClientTotals, Totals};
use crate::timefmt::latency as fmt_lat;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

/// Prints the totals at the end; ignores individual events.
pub struct SummarySink<W: Write> {
    out: W,
    catalogue: Arc<Catalogue>,
}

impl<W: Write> SummarySink<W> {
    /// A summary sink over `out`.
    pub fn new(out: W, catalogue: Arc<Catalogue>) -> Self {
        SummarySink { out, catalogue }
    }
}

fn lat_json(l: &Latency) -> Value {
    json!({
        "count": l.count(),
        "p50_ms": l.percentile(50.0) as f64 / 1e6,
        "p95_ms": l.percentile(95.0) as f64 / 1e6,
        "max_ms": l.max() as f64 / 1e6,
    })
}

/// One client's totals as JSON (an element of the summary's `clients` array).
fn client_json(id: &str, c: &ClientTotals) -> Value {
    let failures: Vec<Value> = c
        .failures
        .iter()
        .map(|((pt, code), n)| json!({"type": pt.name(), "code": code.0, "count": n}))
        .collect();
    let lat: serde_json::Map<String, Value> = c
        .latency
        .iter()
        .map(|(k, l)| (k.to_string(), lat_json(l)))
        .collect();
    json!({"client_id": id, "connections": c.connections,
           "reconnects": c.connections.saturating_sub(1), "refused": c.refused,
           "packets": c.packets, "unanswered": c.unanswered,
           "reconnect_storms": c.storms,
           "storm_peak_per_minute": c.storm_peak_per_minute,
           "failures": failures, "latency": lat})
}

/// Every client entry: the tracked ids, then the clients past the cap folded into one entry.
fn clients(t: &Totals) -> impl Iterator<Item = (&str, &ClientTotals)> {
    let other = (t.other_clients.packets > 0).then_some((OTHER_CLIENTS, &t.other_clients));
    t.clients.iter().chain(other)
}

/// Name of the entry that folds the clients past [`crate::report::MAX_CLIENTS`].
pub const OTHER_CLIENTS: &str = "(other clients past the tracking cap)";

/// The totals as one JSON object, without the `clients` array (see [`write_summary_json`]).
fn summary_fields(t: &Totals, cat: &Catalogue) -> serde_json::Map<String, Value> {
    let by_type: serde_json::Map<String, Value> = t
        .by_type
        .iter()
        .map(|(k, v)| (k.name().to_string(), json!({"c2s": v[0], "s2c": v[1]})))
        .collect();
    let codes: Vec<Value> = t
        .codes
        .iter()
        .map(|((pt, v, c), n)| {
            let ex = cat.explain(*c, *pt, v.unwrap_or(Version::V5));
            json!({"type": pt.name(), "version": v.map(|v| v.0), "code": c.0, "name": ex.name,
                   "success": ex.severity != Severity::Failure, "count": n})
        })
        .collect();
    let lat: serde_json::Map<String, Value> = t
        .latency
        .iter()
        .map(|(k, l)| (k.to_string(), lat_json(l)))
        .collect();
    let c = &t.capture;
    let v = json!({
        "packets": t.packets,
        "failures": t.failures,
        "notices": t.notices,
        "malformed": t.malformed,
        "unanswered": t.unanswered,
        "by_type": by_type,
        "reason_codes": codes,
        "anomalies": t.anomalies,
        "latency": lat,
        "stream": {"gaps": t.gaps.0, "gap_bytes": t.gaps.1, "skipped_bytes": t.skipped_bytes,
                   "oversize": t.oversize, "encrypted": t.encrypted},
        "capture": {"frames": c.frames, "bytes": c.bytes, "link_types": c.link_types,
                    "not_tcp": c.not_tcp, "tcp_connections": c.tcp_connections,
                    "mqtt_connections": c.mqtt_connections, "caps_hit": c.caps_hit,
                    "kernel_drops": c.kernel_drops, "filtered": c.filtered, "damage": c.damage},
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The totals as one JSON object (the last line of JSON Lines output).
pub fn summary_json(t: &Totals, cat: &Catalogue) -> Value {
    let mut m = summary_fields(t, cat);
    let list: Vec<Value> = clients(t).map(|(id, c)| client_json(id, c)).collect();
    m.insert("clients".into(), Value::Array(list));
    Value::Object(m)
}

/// Writes [`summary_json`] plus `extra` fields, byte for byte as serde_json would, but one
/// client at a time, so memory does not grow with the number of clients (see
/// [`super::summaryw`]).
pub fn write_summary_json(
    out: &mut dyn Write,
    t: &Totals,
    cat: &Catalogue,
    extra: &[(&str, Value)],
) -> io::Result<()> {
    super::summaryw::write_summary(out, t, cat, extra)
}

/// The totals as text for people.
pub fn summary_text(t: &Totals, cat: &Catalogue) -> String {
    let mut s = String::new();
    let c = &t.capture;
    let _ = writeln!(
        s,
        "Capture: {} frames, {} bytes, {} TCP connections, {} carrying MQTT",
        c.frames, c.bytes, c.tcp_connections, c.mqtt_connections
    );
    for (lt, n) in &c.link_types {
        let _ = writeln!(s, "  link type {lt}: {n} frames");
    }
    for (what, n) in &c.not_tcp {
        let _ = writeln!(s, "  not TCP ({what}): {n} frames");
    }
    if c.filtered > 0 {
        let _ = writeln!(s, "  rejected by the capture filter: {}", c.filtered);
    }
    if let Some(d) = c.kernel_drops {
        let _ = writeln!(s, "  dropped by the kernel: {d}");
    }
    if let Some(d) = &c.damage {
        let _ = writeln!(s, "  damage: {d}");
    }
    let _ = writeln!(s, "Stream: {} gaps ({} bytes), {} bytes skipped while resynchronising, {} packets over the size cap, {} TLS connections", t.gaps.0, t.gaps.1, t.skipped_bytes, t.oversize, t.encrypted);
    for (cap, n) in &c.caps_hit {
        let _ = writeln!(s, "  cap hit: {cap} x{n}");
    }
    let _ = writeln!(
        s,
        "MQTT: {} packets, {} failures, {} notices, {} malformed, {} unanswered requests",
        t.packets, t.failures, t.notices, t.malformed, t.unanswered
    );
    let _ = writeln!(s, "Packets by type (client→server / server→client):");
    for (pt, v) in &t.by_type {
        let _ = writeln!(s, "  {:<12} {:>8} {:>8}", pt.name(), v[0], v[1]);
    }
    let _ = writeln!(s, "Reason codes (failures first):");
    let codes = code_rows(t, cat);
    let width = name_width(&codes);
    for r in codes {
        let _ = writeln!(
            s,
            "  {:<4} {:<11} {:<5} {} {:<width$} {:>8}",
            r.mark(),
            r.ptype.name(),
            r.version,
            r.code,
            r.name,
            r.count
        );
    }
    if !t.anomalies.is_empty() {
        let _ = writeln!(s, "Anomalies:");
        for (a, n) in &t.anomalies {
            let _ = writeln!(s, "  {a:<32} {n:>8}");
        }
    }
    if !t.latency.is_empty() {
        let _ = writeln!(
            s,
            "Latency:                       count      p50      p95      max"
        );
        for (k, l) in &t.latency {
            let _ = writeln!(
                s,
                "  {k:<26} {:>8} {:>8} {:>8} {:>8}",
                l.count(),
                fmt_lat(l.percentile(50.0)),
                fmt_lat(l.percentile(95.0)),
                fmt_lat(l.max())
            );
        }
    }
    if !t.clients.is_empty() || t.other_clients.packets > 0 {
        let _ = writeln!(
            s,
            "Clients:                                 conns reconnects refused  packets failures unanswered"
        );
        for (id, c) in clients(t) {
            let fails: u64 = c.failures.values().sum();
            // By hand: the same text as `write!("  {:<38} {:>6} {:>10} {:>7} {:>8} {:>8}
            // {:>10}")`, at a tenth of the cost (one line per client, up to the client cap).
            s.push_str("  ");
            pad_right(&mut s, id, 38);
            for (n, width) in [
                (c.connections, 6),
                (c.connections.saturating_sub(1), 10),
                (c.refused, 7),
                (c.packets, 8),
                (fails, 8),
                (c.unanswered, 10),
            ] {
                s.push(' ');
                pad_left(&mut s, n, width);
            }
            for ((pt, code), n) in &c.failures {
                s.push_str("  ");
                s.push_str(pt.name());
                s.push_str(" 0x");
                for nibble in [code.0 >> 4, code.0 & 0xf] {
                    s.push(char::from(b"0123456789ABCDEF"[usize::from(nibble)]));
                }
                s.push_str(" x");
                s.push_str(itoa::Buffer::new().format(*n));
            }
            s.push('\n');
            if c.storms > 0 {
                let _ = writeln!(
                    s,
                    "    reconnect storm: called out {} time(s), up to {} connections per minute",
                    c.storms, c.storm_peak_per_minute
                );
            }
        }
    }
    s
}

/// Appends `text` left-aligned in `width` characters, as `{:<width}` does (never cut).
fn pad_right(s: &mut String, text: &str, width: usize) {
    s.push_str(text);
    for _ in text.chars().count()..width {
        s.push(' ');
    }
}

/// Appends `n` right-aligned in `width` characters, as `{:>width}` does.
fn pad_left(s: &mut String, n: u64, width: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(n);
    for _ in digits.len()..width {
        s.push(' ');
    }
    s.push_str(digits);
}

impl<W: Write> Sink for SummarySink<W> {
    fn event(&mut self, _ev: &Event) -> io::Result<Flow> {
        Ok(Flow::Continue)
    }

    fn ignores_events(&self) -> bool {
        true
    }

    fn finish(&mut self, totals: &Totals) -> io::Result<()> {
        let text = summary_text(totals, &self.catalogue);
        match self
            .out
            .write_all(text.as_bytes())
            .and_then(|_| self.out.flush())
        {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::types::{PacketType, ReasonCode};

    fn totals(clients: usize) -> Totals {
        let mut t = Totals {
            packets: 12,
            failures: 2,
            ..Totals::default()
        };
        t.by_type.insert(PacketType::CONNECT, [3, 0]);
        t.by_type.insert(PacketType::CONNACK, [0, 3]);
        t.codes.insert(
            (PacketType::CONNACK, Some(Version::V5), ReasonCode(0x87)),
            2,
        );
        t.anomalies.insert("orphan_answer", 1);
        t.latency.add(
            crate::report::PairKind::of(PacketType::CONNECT, PacketType::CONNACK),
            1_500_000,
        );
        for i in 0..clients {
            let c = t.clients.get_or_insert(format!("dev-{i}"));
            c.connections = 2;
            c.packets = 5;
            c.failures
                .insert((PacketType::CONNACK, ReasonCode(0x87)), 1);
            c.latency.add(
                crate::report::PairKind::of(PacketType::CONNECT, PacketType::CONNACK),
                2_000_000,
            );
        }
        t.capture.frames = 40;
        t.capture.link_types.insert("ETHERNET".into(), 40);
        t
    }

    #[test]
    fn streamed_summary_is_byte_identical_to_the_value_form() {
        let cat = Catalogue::builtin();
        for n in [0, 1, 3] {
            let mut t = totals(n);
            if n == 3 {
                t.other_clients.packets = 9;
            }
            let mut v = summary_json(&t, &cat);
            if let Value::Object(m) = &mut v {
                m.insert("kind".into(), json!("summary"));
            }
            let want = serde_json::to_string(&v).unwrap();
            let mut got = Vec::new();
            write_summary_json(&mut got, &t, &cat, &[("kind", json!("summary"))]).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{n} clients");
        }
    }

    #[test]
    fn hand_written_summary_matches_serde_json_on_every_field() {
        // Escapes in every kind of key and string, optional fields set, types sharing a
        // name, codes without a version, many latency samples, extras replacing own keys.
        let cat = Catalogue::builtin();
        let mut t = totals(0);
        t.by_type.insert(PacketType(0x13), [7, 8]);
        t.by_type.insert(PacketType::PUBLISH, [1, 2]);
        t.codes
            .insert((PacketType::SUBACK, None, ReasonCode(0x80)), 4);
        t.codes
            .insert((PacketType::PUBACK, Some(Version(4)), ReasonCode(0x10)), 1);
        t.anomalies.insert("cap_hit", 3);
        for i in 0..3000 {
            t.latency.add(crate::report::PairKind(4), i * 7_919);
        }
        t.capture.caps_hit.insert("TCP \"holes\"\n".into(), 2);
        t.capture.not_tcp.insert("UDP".into(), 5);
        t.capture.kernel_drops = Some(11);
        t.capture.damage = Some("bad\tblock at offset 9".into());
        t.gaps = (2, 300);
        t.encrypted = 1;
        for id in ["é\u{1}\"x", "plain", ""] {
            let c = t.clients.get_or_insert(id.to_string());
            c.storms = 1;
            c.storm_peak_per_minute = 60;
            c.failures.insert((PacketType::SUBACK, ReasonCode(0x87)), 2);
            c.failures
                .insert((PacketType::CONNACK, ReasonCode(0x05)), 1);
            for k in [10u8, 2, 4] {
                c.latency
                    .add(crate::report::PairKind(k), i64::from(k) * 1_001);
            }
        }
        t.other_clients.packets = 1;
        for extra in [
            vec![("kind", json!("summary"))],
            vec![
                ("packets", json!("replaced")),
                ("zz", json!({"b": [1, 2.5]})),
            ],
            vec![],
        ] {
            let mut v = summary_json(&t, &cat);
            if let Value::Object(m) = &mut v {
                for (k, x) in &extra {
                    m.insert((*k).to_string(), x.clone());
                }
            }
            let want = serde_json::to_string(&v).unwrap();
            let mut got = Vec::new();
            write_summary_json(&mut got, &t, &cat, &extra).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }

    #[test]
    fn hand_padded_columns_match_fmt() {
        for (text, n) in [
            ("", 0u64),
            ("dev-1", 7),
            ("é☃𝄞", 123_456),
            (&"x".repeat(50), u64::MAX),
        ] {
            let mut got = String::from("  ");
            pad_right(&mut got, text, 38);
            got.push(' ');
            pad_left(&mut got, n, 8);
            assert_eq!(got, format!("  {text:<38} {n:>8}"));
        }
        let code = ReasonCode(0x8a);
        assert_eq!(code.to_string(), "0x8A");
    }

    #[test]
    fn clients_past_the_cap_are_listed_as_one_entry() {
        let mut t = totals(2);
        t.other_clients.packets = 4;
        let v = summary_json(&t, &Catalogue::builtin());
        let list = v["clients"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2]["client_id"], OTHER_CLIENTS);
        assert_eq!(list[2]["packets"], 4);
        assert!(summary_text(&t, &Catalogue::builtin()).contains(OTHER_CLIENTS));
    }
}
