//! The detail of one stored row as styled lines and hex fields, built by the state when the
//! selection changes so that views only draw.

use super::conns::ConnTable;
use super::fields::{field_spans, FieldSpan};
use super::store::*;
use crate::capture::Ts;
use crate::event::Outcome;
use crate::mqtt::payload::preview;
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::{PacketType, Version};
use crate::timefmt;

/// How a detail line is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A section heading.
    Heading,
    /// Plain.
    Normal,
    /// Secondary.
    Dim,
    /// A success code.
    Success,
    /// A non-success code and its meaning.
    Failure,
    /// A notable success.
    Notice,
    /// Malformed input.
    Malformed,
    /// An anomaly.
    Anomaly,
}

/// One line of the detail pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DLine {
    /// Label column (empty for headings and running text).
    pub label: String,
    /// The value or text.
    pub value: String,
    /// Colour.
    pub tone: Tone,
}

/// Everything the detail pane shows for one row.
#[derive(Clone, Debug, Default)]
pub struct DetailModel {
    /// The row's sequence number.
    pub seq: u64,
    /// Title.
    pub title: String,
    /// Decoded fields and explanations.
    pub lines: Vec<DLine>,
    /// Byte ranges for the hex view.
    pub fields: Vec<FieldSpan>,
    /// The kept raw bytes.
    pub raw: Vec<u8>,
    /// The whole packet size.
    pub total: usize,
}

struct Out(Vec<DLine>);

impl Out {
    fn head(&mut self, t: &str) {
        self.0.push(DLine {
            label: String::new(),
            value: t.into(),
            tone: Tone::Heading,
        });
    }
    fn kv(&mut self, l: &str, v: impl Into<String>, tone: Tone) {
        self.0.push(DLine {
            label: l.into(),
            value: v.into(),
            tone,
        });
    }
}

fn tone_of(s: Severity) -> Tone {
    match s {
        Severity::Success => Tone::Success,
        Severity::Notice => Tone::Notice,
        Severity::Failure => Tone::Failure,
    }
}

/// Builds the detail of row `seq`, or None when it is not kept.
pub fn build(store: &Store, conns: &ConnTable, cat: &Catalogue, seq: u64) -> Option<DetailModel> {
    let row = store.get(seq)?;
    let mut o = Out(Vec::new());
    let conn = conns.list.get(row.conn as usize);
    let dir = match (row.has(F_DIR), row.has(F_TO_CLIENT)) {
        (true, false) => "client → server",
        (true, true) => "server → client",
        _ => "",
    };
    let what = match row.kind {
        RowKind::Packet => row.ptype.name().to_string(),
        k => format!("{k:?}").to_uppercase(),
    };
    let title = format!(
        "{what}  {dir}  frame {}  {}",
        row.frame_no,
        timefmt::date_time(Ts(row.ts))
    );
    let version = (row.version != 0).then_some(Version(row.version));
    if let Some(c) = conn {
        let id = store.strings.get(c.client_id);
        let id = if id.is_empty() {
            String::new()
        } else {
            format!(" client id {id:?}")
        };
        let v = version.map(|v| format!(", MQTT {v}")).unwrap_or_default();
        o.kv(
            "Connection",
            format!("{} {} → {}{id}{v}", c.id, c.client, c.server),
            Tone::Dim,
        );
    }
    let extra = row.extra.as_deref();
    if let Some((off, text)) = extra.and_then(|e| e.notice()) {
        o.kv(
            "Stream",
            format!("{text} (stream offset {off})"),
            Tone::Notice,
        );
        if let Some(g) = extra.and_then(|e| e.gap()) {
            o.kv("Why", format!("{g:?}"), Tone::Dim);
        }
    }
    if row.kind == RowKind::Encrypted {
        o.kv(
            "Stream",
            "encrypted MQTT (TLS): contents not visible",
            Tone::Notice,
        );
    }
    if let Some(c) = extra.and_then(|e| e.close()) {
        o.head("Connection end");
        o.kv("Reason", format!("{:?}", c.reason), Tone::Normal);
        o.kv(
            "Packets",
            format!("{} to server, {} to client", c.packets[0], c.packets[1]),
            Tone::Normal,
        );
        o.kv(
            "DISCONNECT",
            if c.client_disconnected {
                "sent by the client"
            } else {
                "not sent by the client"
            },
            Tone::Normal,
        );
        for (t, id, _) in &c.unanswered {
            let id = id.map(|i| format!(" id {i}")).unwrap_or_default();
            o.kv("Unanswered", format!("{t}{id}"), Tone::Notice);
        }
    }
    let raw = store.raw_of(row);
    let fields = if row.kind == RowKind::Packet {
        packet(
            &mut o,
            row,
            extra,
            cat,
            version,
            &raw,
            store,
            store.pair_of(seq),
        );
        field_spans(&raw, row.size as usize, row.ptype, row.version)
    } else {
        Vec::new()
    };
    if let Some(e) = extra {
        if !e.anomalies().is_empty() {
            o.head("Anomalies");
            for a in e.anomalies() {
                o.kv("⚠", a.describe(), Tone::Anomaly);
            }
        }
    }
    if row.kind == RowKind::Packet {
        if let (Some(payload), true) = (
            fields.iter().find(|f| f.label == "Payload"),
            row.payload_len() > 0,
        ) {
            let bytes = raw
                .get(payload.start..payload.end.min(raw.len()))
                .unwrap_or(&[]);
            let props = extra.map(|e| e.properties()).unwrap_or(&[]);
            let pfi = props
                .iter()
                .find(|(n, _)| *n == "Payload Format Indicator")
                .and_then(|(_, v)| v.parse().ok());
            let ct = props
                .iter()
                .find(|(n, _)| *n == "Content Type")
                .map(|(_, v)| v.as_str());
            let pv = preview(bytes, pfi, ct, 64);
            let kept = if bytes.len() < row.payload_len() as usize {
                format!(" (first {} of {} bytes)", bytes.len(), row.payload_len())
            } else {
                String::new()
            };
            o.head("Payload");
            o.kv("Preview", format!("{}{kept}", pv.text), Tone::Normal);
        }
    }
    Some(DetailModel {
        seq,
        title,
        lines: o.0,
        fields,
        raw,
        total: row.size as usize,
    })
}

#[allow(clippy::too_many_arguments)]
fn packet(
    o: &mut Out,
    row: &Row,
    extra: Option<&Extra>,
    cat: &Catalogue,
    version: Option<Version>,
    raw: &[u8],
    store: &Store,
    pair: Option<u64>,
) {
    let first = raw.first().copied().unwrap_or(0);
    o.head("Fixed header");
    o.kv(
        "Type",
        format!("{} ({})", row.ptype.name(), row.ptype.0),
        Tone::Normal,
    );
    let mut flags = format!("0x{:x}", first & 0x0f);
    if row.ptype == PacketType::PUBLISH {
        flags.push_str(&format!(
            " (DUP {}, QoS {}, RETAIN {})",
            u8::from(row.has(F_DUP)),
            row.qos,
            u8::from(row.has(F_RETAIN))
        ));
    }
    o.kv("Flags", flags, Tone::Normal);
    o.kv("Size", format!("{} bytes", row.size), Tone::Normal);
    if let Some(m) = extra.and_then(|e| e.malformed()) {
        o.head("Malformed");
        o.kv("Why", m.clone(), Tone::Malformed);
    }
    o.head("Variable header");
    if row.has(F_PID) {
        o.kv("Packet id", row.packet_id.to_string(), Tone::Normal);
    }
    if row.ptype == PacketType::PUBLISH && row.topic != Sym::NONE {
        o.kv(
            "Topic",
            store.strings.get(row.topic).to_string(),
            Tone::Normal,
        );
    }
    if let Some((a, wire)) = extra.and_then(|e| e.alias()) {
        let w = if wire.is_empty() {
            "(empty: alias only)".to_string()
        } else {
            format!("{wire:?}")
        };
        o.kv(
            "Topic alias",
            format!("{a}, topic on the wire {w}"),
            Tone::Normal,
        );
    }
    if row.ptype == PacketType::PUBLISH {
        o.kv(
            "Payload",
            format!("{} bytes", row.payload_len()),
            Tone::Normal,
        );
    }
    if let Some(sp) = extra.and_then(|e| e.session_present()) {
        o.kv("Session present", u8::from(sp).to_string(), Tone::Normal);
    }
    if let Some(c) = extra.and_then(|e| e.connect()) {
        o.kv(
            "Protocol",
            format!(
                "{} level {} ({})",
                c.protocol_name,
                c.level,
                Version(c.level)
            ),
            Tone::Normal,
        );
        o.kv("Client id", format!("{:?}", c.client_id), Tone::Normal);
        o.kv("Clean start", c.clean_start.to_string(), Tone::Normal);
        o.kv("Keep alive", format!("{} s", c.keep_alive), Tone::Normal);
        if let Some(u) = &c.username {
            o.kv("User name", format!("{u:?}"), Tone::Normal);
        }
        if let Some(p) = &c.password {
            o.kv("Password", p.clone(), Tone::Normal);
        }
        if let Some(w) = &c.will_topic {
            o.kv(
                "Will",
                format!("{w:?} QoS {} retain {}", c.will_qos, c.will_retain),
                Tone::Normal,
            );
        }
    }
    if let Some(e) = extra {
        if !e.topics().is_empty() {
            o.head("Topic filters");
            for t in e.topics() {
                let q = t.qos.map(|q| format!("  QoS {q}")).unwrap_or_default();
                let opt = t
                    .options
                    .map(|b| format!("  options 0x{b:02x}"))
                    .unwrap_or_default();
                o.kv("Filter", format!("{:?}{q}{opt}", t.topic), Tone::Normal);
            }
        }
        if !e.properties().is_empty() {
            o.head("Properties");
            for (n, v) in e.properties() {
                o.kv(n, v.clone(), Tone::Normal);
            }
        }
    }
    codes(o, row, extra, cat, version);
    if let Some(pair) = pair {
        o.head("Pairing");
        let (label, text) = if row.has(F_ANSWER) {
            (
                "Answers",
                format!(
                    "event {} after {}  (press a to jump)",
                    pair,
                    timefmt::latency(row.latency_ns())
                ),
            )
        } else {
            ("Answered by", format!("event {pair}  (press a to jump)"))
        };
        let target = store.seq_of_event(pair).and_then(|s| store.get(s));
        let text = match target {
            Some(t) => format!("{} frame {}: {text}", t.ptype.name(), t.frame_no),
            None => format!("{text} (no longer kept)"),
        };
        o.kv(label, text, Tone::Normal);
    }
}

fn codes(o: &mut Out, row: &Row, extra: Option<&Extra>, cat: &Catalogue, version: Option<Version>) {
    if row.ncodes == 0 {
        return;
    }
    let v = version.unwrap_or(Version::V5);
    let list: Vec<_> = match extra {
        Some(e) if !e.codes().is_empty() => e.codes().to_vec(),
        _ => vec![row.code],
    };
    let heading = if v.is_v5() {
        "Reason codes"
    } else {
        "Return codes"
    };
    o.head(heading);
    let subs = extra.map(|e| e.sub_outcomes()).unwrap_or(&[]);
    for (i, c) in list.iter().enumerate() {
        let ex = cat.explain(*c, row.ptype, v);
        let tone = tone_of(ex.severity);
        let implied = if row.has(F_IMPLIED) {
            " (implied by the short form)"
        } else {
            ""
        };
        let origin = match ex.origin {
            crate::mqtt::reason::Origin::Vendor(n) => format!(" [{n}]"),
            crate::mqtt::reason::Origin::Unknown => " [unknown]".into(),
            crate::mqtt::reason::Origin::Standard => String::new(),
        };
        let label = match subs.get(i) {
            Some(s) => {
                let down = if s.downgraded { ", granted lower" } else { "" };
                format!("{:?} QoS {}{down}", s.topic, s.requested_qos)
            }
            None => "Code".to_string(),
        };
        o.kv(
            &label,
            format!("{c} {} ({}){origin}{implied}", ex.name, ex.severity.label()),
            tone,
        );
        if ex.severity != Severity::Success {
            o.kv("  Meaning", ex.meaning, tone);
            if let Some(h) = ex.hint {
                o.kv("  Check", h, Tone::Normal);
            }
        }
        if !ex.legal {
            let note = match ex.origin {
                crate::mqtt::reason::Origin::Vendor(_) => {
                    "not a standard code for this packet: a vendor extension"
                }
                _ => "the standard does not allow this code in this packet",
            };
            o.kv("  Note", note, Tone::Anomaly);
        }
    }
    if let Some(rs) = extra.and_then(|e| e.reason_string()) {
        o.kv(
            "Reason String",
            format!("{rs:?}"),
            if row.outcome >= Outcome::Failure {
                Tone::Failure
            } else {
                Tone::Normal
            },
        );
    }
}
