//! Text output: one line per MQTT packet, failures in red with their meaning.

use super::{pipe_ok, Flow, Sink};
use crate::capture::Ts;
use crate::cli::TimeFormat;
use crate::event::{Event, EventKind, Outcome, PacketInfo};
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::{PacketType, Version};
use crate::report::Totals;
use crate::tcp::Dir;
use crate::timefmt;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

const RED: &str = "\x1b[31m";
const BOLD_RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Writes one line per event.
pub struct TextSink<W: Write> {
    out: W,
    catalogue: Arc<Catalogue>,
    color: bool,
    time: TimeFormat,
    first_ts: Option<Ts>,
    prev_ts: Option<Ts>,
    line: String,
}

impl<W: Write> TextSink<W> {
    /// A text sink over `out`.
    pub fn new(out: W, catalogue: Arc<Catalogue>, color: bool, time: TimeFormat) -> Self {
        TextSink {
            out,
            catalogue,
            color,
            time,
            first_ts: None,
            prev_ts: None,
            line: String::with_capacity(256),
        }
    }

    fn paint(&mut self, color: &str, text: &str) {
        if self.color {
            self.line.push_str(color);
            self.line.push_str(text);
            self.line.push_str(RESET);
        } else {
            self.line.push_str(text);
        }
    }

    fn time(&mut self, ts: Ts) {
        let first = *self.first_ts.get_or_insert(ts);
        match self.time {
            TimeFormat::Abs => timefmt::time_of_day(ts, &mut self.line),
            TimeFormat::Rel => timefmt::seconds(ts.0 - first.0, &mut self.line),
            TimeFormat::Delta => {
                let prev = self.prev_ts.unwrap_or(ts);
                timefmt::seconds(ts.0 - prev.0, &mut self.line)
            }
        }
        self.prev_ts = Some(ts);
    }

    /// Formats one event into `self.line` (without newline).
    fn format(&mut self, ev: &Event) {
        self.line.clear();
        self.time(ev.ts);
        let who = ev.conn.who();
        let arrow = match ev.dir {
            Some(Dir::ToServer) => "→",
            Some(Dir::ToClient) => "←",
            None => "·",
        };
        let _ = write!(self.line, " {who:<20} {arrow} ");
        match &ev.kind {
            EventKind::Packet(p) => self.packet(p),
            EventKind::ConnOpen => {
                let _ = write!(
                    self.line,
                    "{:<11} {} → {}",
                    "OPEN", ev.conn.client, ev.conn.server
                );
            }
            EventKind::ConnClose(c) => {
                let _ = write!(self.line, "{:<11} {:?}", "CLOSE", c.reason);
                if let (Some(v), Some(e)) = (c.version, c.version_evidence) {
                    if !e.starts_with("stated") {
                        let _ = write!(self.line, " (MQTT {v}, {e})");
                    }
                }
                if !c.unanswered.is_empty() {
                    let mut s = String::from(" unanswered:");
                    for (t, id, _) in &c.unanswered {
                        let _ = write!(s, " {t}");
                        if let Some(id) = id {
                            let _ = write!(s, " id={id}");
                        }
                        s.push(';');
                    }
                    s.pop();
                    self.paint(YELLOW, &s);
                }
            }
            EventKind::Gap {
                offset,
                len,
                reason,
            } => {
                let s = format!(
                    "{:<11} {len} bytes never captured at offset {offset} ({reason:?})",
                    "GAP"
                );
                self.paint(MAGENTA, &s);
            }
            EventKind::Skipped {
                offset,
                len,
                reason,
            } => {
                let s = format!("{:<11} {len} bytes at offset {offset}: {reason}", "SKIPPED");
                self.paint(MAGENTA, &s);
            }
            EventKind::Oversize { ptype, size, .. } => {
                let s =
                    format!("{ptype:<11} truncated: {size} bytes is over --max-packet, skipped");
                self.paint(MAGENTA, &s);
            }
            EventKind::Anomaly => self.line.push_str(&format!("{:<11}", "ANOMALY")),
            EventKind::Encrypted => {
                self.paint(
                    YELLOW,
                    "TLS         encrypted MQTT (TLS): contents not visible",
                );
            }
        }
        for a in &ev.anomalies {
            let s = format!(" ⚠ {}", a.describe());
            self.paint(YELLOW, &s);
        }
    }

    fn packet(&mut self, p: &PacketInfo) {
        // `format!("{:<11}")` by hand: the names are ASCII.
        let mut name = String::with_capacity(12);
        name.push_str(p.ptype.name());
        while name.len() < 11 {
            name.push(' ');
        }
        match p.outcome {
            Outcome::Malformed => self.paint(MAGENTA, &name),
            Outcome::Failure => self.paint(BOLD_RED, &name),
            _ => self.line.push_str(&name),
        }
        // The fields go straight onto the line.
        let f = &mut self.line;
        if let Some(c) = &p.connect {
            let _ = write!(
                f,
                " {} v{} client_id={:?} keepalive={}",
                c.protocol_name,
                Version(c.level),
                c.client_id,
                c.keep_alive
            );
            if c.clean_start {
                f.push_str(" clean");
            }
            if let Some(u) = &c.username {
                let _ = write!(f, " user={u:?}");
            }
            if let Some(pw) = &c.password {
                let _ = write!(f, " password={pw}");
            }
            if let Some(w) = &c.will_topic {
                let _ = write!(f, " will={w:?} will_qos={}", c.will_qos);
            }
        }
        if let Some(sp) = p.session_present {
            let _ = write!(f, " session_present={}", u8::from(sp));
        }
        if let Some(t) = &p.topic {
            match (&p.topic_resolved, p.topic_alias) {
                (Some(r), Some(a)) if r != t => {
                    let _ = write!(f, " topic={r:?} (alias {a})");
                }
                (_, Some(a)) => {
                    let _ = write!(f, " topic={t:?} alias={a}");
                }
                _ => {
                    let _ = write!(f, " topic={t:?}");
                }
            }
        }
        if let Some(q) = p.qos {
            f.push_str(" qos=");
            f.push_str(itoa::Buffer::new().format(q));
        }
        if p.retain {
            f.push_str(" retain");
        }
        if p.dup {
            f.push_str(" dup");
        }
        if let Some(id) = p.packet_id {
            f.push_str(" id=");
            f.push_str(itoa::Buffer::new().format(id));
        }
        for t in &p.topics {
            match t.qos {
                Some(q) => {
                    let _ = write!(f, " {:?}@{q}", t.topic);
                }
                None => {
                    let _ = write!(f, " {:?}", t.topic);
                }
            }
        }
        if let Some(n) = p.payload_len {
            f.push_str(" len=");
            f.push_str(itoa::Buffer::new().format(n));
        }
        if let Some(pv) = p.payload_preview.as_deref().filter(|s| !s.is_empty()) {
            let _ = write!(f, " payload={}", pv.replace('\n', " "));
        }
        self.codes(p);
        if let Some(s) = &p.reason_string {
            let _ = write!(self.line, " reason_string={s:?}");
        }
        if let Some(m) = &p.malformed {
            let s = format!(" malformed: {m}");
            self.paint(MAGENTA, &s);
        }
        if let Some(a) = p.answers {
            let s = format!(
                " ({} after {})",
                timefmt::latency(a.latency_ns),
                a.request_type
            );
            self.paint(DIM, &s);
        }
    }

    fn codes(&mut self, p: &PacketInfo) {
        let version = p.version.unwrap_or(Version::V5);
        let show_all = p.ptype == PacketType::SUBACK && p.reason_codes.len() > 1;
        for (i, code) in p.reason_codes.iter().enumerate() {
            let ex = self.catalogue.explain(*code, p.ptype, version);
            match ex.severity {
                Severity::Failure => {
                    let topic = p
                        .sub_outcomes
                        .get(i)
                        .map(|o| format!(" {:?}", o.topic))
                        .unwrap_or_default();
                    let s = format!(" {code} {}{topic}: {}", ex.name, ex.meaning);
                    self.paint(RED, &s);
                }
                Severity::Notice => {
                    let s = format!(" {code} {}: {}", ex.name, ex.meaning);
                    self.paint(YELLOW, &s);
                }
                Severity::Success => {
                    if show_all || !p.reason_implied {
                        let _ = write!(self.line, " {code} {}", ex.name);
                    }
                }
            }
        }
    }
}

impl<W: Write> Sink for TextSink<W> {
    fn event(&mut self, ev: &Event) -> io::Result<Flow> {
        self.format(ev);
        self.line.push('\n');
        pipe_ok(self.out.write_all(self.line.as_bytes()))
    }

    fn finish(&mut self, _totals: &Totals) -> io::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        }
    }
}
