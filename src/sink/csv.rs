//! CSV output: the JSON Lines packet fields flattened, one header row (RFC 4180 quoting).

use super::jsonl::packet_json;
use super::{pipe_ok, Flow, Sink};
use crate::event::{Event, EventKind};
use crate::mqtt::reason::Catalogue;
use crate::report::Totals;
use std::io::{self, Write};
use std::sync::Arc;

/// The header row.
pub const COLUMNS: &[&str] = &[
    "id",
    "ts",
    "frame",
    "stream",
    "dir",
    "client_id",
    "type",
    "type_num",
    "version",
    "packet_id",
    "qos",
    "dup",
    "retain",
    "topic",
    "topic_alias",
    "topic_resolved",
    "topics",
    "reason_codes",
    "reason_names",
    "success",
    "reason_string",
    "malformed",
    "anomalies",
    "answers_id",
    "latency_ms",
    "size",
    "payload_len",
];

/// Writes one row per MQTT packet.
pub struct CsvSink<W: Write> {
    out: W,
    catalogue: Arc<Catalogue>,
    started: bool,
    row: String,
}

fn field(row: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        row.push('"');
        row.push_str(&v.replace('"', "\"\""));
        row.push('"');
    } else {
        row.push_str(v);
    }
    row.push(',');
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl<W: Write> CsvSink<W> {
    /// A CSV sink over `out`.
    pub fn new(out: W, catalogue: Arc<Catalogue>) -> Self {
        CsvSink {
            out,
            catalogue,
            started: false,
            row: String::new(),
        }
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn event(&mut self, ev: &Event) -> io::Result<Flow> {
        if !self.started {
            self.started = true;
            let h = COLUMNS.join(",") + "\n";
            if let Err(e) = self.out.write_all(h.as_bytes()) {
                return pipe_ok(Err(e));
            }
        }
        let EventKind::Packet(p) = &ev.kind else {
            return Ok(Flow::Continue);
        };
        let stream = ev.conn.stream();
        let cat = Arc::clone(&self.catalogue);
        let j = packet_json(ev, p, &stream, &cat);
        let r = &mut self.row;
        r.clear();
        field(r, &j.id.to_string());
        field(r, &format!("{:.6}", j.ts));
        field(r, &j.frame.to_string());
        field(r, j.stream);
        field(r, j.dir);
        field(r, j.client_id.unwrap_or(""));
        field(r, j.ptype);
        field(r, &j.type_num.to_string());
        field(r, &opt(j.version));
        field(r, &opt(j.packet_id));
        field(r, &opt(j.qos));
        field(r, if j.dup { "1" } else { "0" });
        field(r, if j.retain { "1" } else { "0" });
        field(r, j.topic.unwrap_or(""));
        field(r, &opt(j.topic_alias));
        field(r, j.topic_resolved.unwrap_or(""));
        let topics: Vec<String> = j
            .topics
            .iter()
            .flatten()
            .map(|t| match t.qos {
                Some(q) => format!("{}@{q}", t.topic),
                None => t.topic.to_string(),
            })
            .collect();
        field(r, &topics.join(";"));
        let codes: Vec<String> = j
            .reason_codes
            .iter()
            .map(|c| format!("0x{c:02X}"))
            .collect();
        field(r, &codes.join(";"));
        let names: Vec<&str> = j.reason.iter().map(|x| x.name).collect();
        field(r, &names.join(";"));
        field(
            r,
            if j.reason.iter().all(|x| x.success) {
                "1"
            } else {
                "0"
            },
        );
        field(r, j.reason_string.unwrap_or(""));
        field(r, j.malformed.as_str().unwrap_or(""));
        field(r, &j.anomalies.join(";"));
        field(r, &opt(j.answers.as_ref().map(|a| a.id)));
        field(
            r,
            &opt(j.answers.as_ref().map(|a| format!("{:.3}", a.latency_ms))),
        );
        field(r, &j.size.to_string());
        field(r, &opt(j.payload_len));
        r.pop();
        r.push('\n');
        pipe_ok(self.out.write_all(r.as_bytes()))
    }

    fn finish(&mut self, _totals: &Totals) -> io::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        }
    }
}
