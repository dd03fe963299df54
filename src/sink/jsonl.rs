//! JSON Lines output: a header line, one object per event, a final summary line.

use super::schema::*;
use super::{pipe_ok, Flow, Sink};
use crate::event::{ConnLabel, Event, EventKind, PacketInfo};
use crate::label_cache::LabelCache;
use crate::mqtt::reason::{Catalogue, Severity};
use crate::mqtt::types::Version;
use crate::report::Totals;
use crate::tcp::Dir;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// Writes one JSON object per line.
///
/// Each line is serialised into a reused buffer and written with one call: serde_json makes
/// many tiny writes, which cost more than the formatting when they go through `dyn Write`.
pub struct JsonlSink<W: Write> {
    out: W,
    catalogue: Arc<Catalogue>,
    started: bool,
    /// The line being built (reused); with batching, the lines not yet written.
    line: Vec<u8>,
    /// Bytes of lines gathered before one write (0: every line is written at once).
    batch: usize,
    /// The text of recent connections' lines.
    streams: StreamNames,
}

/// The text of one connection's lines, made once per connection label.
struct ConnText {
    /// "client-server", as `ConnLabel::stream`.
    stream: String,
    /// The connection's part of a packet line ([`super::jsonw::conn_fragment`]) for each
    /// direction (0: to server or none, 1: to client).
    fragments: [Vec<u8>; 2],
}

/// A bounded cache of the text of recent connections: the stream name and the `stream`,
/// `dir` and `client_id` fields are the same for every event of a connection, and formatting
/// addresses cost more than the rest of a line's numbers (IPv6 goes through `fmt`).
#[derive(Default)]
struct StreamNames(LabelCache<ConnText>);

impl StreamNames {
    /// The text of `label`'s connection: made again when the slot holds another connection
    /// or the label changed (its client id arrived, its orientation was swapped).
    fn get(&mut self, label: &Arc<ConnLabel>) -> Option<&ConnText> {
        self.0.get_or_make(label, |label, old| {
            let mut stream = match old {
                Some(mut old) => {
                    old.stream.clear();
                    old.stream
                }
                None => String::with_capacity(48),
            };
            push_addr(&mut stream, &label.client);
            stream.push('-');
            push_addr(&mut stream, &label.server);
            let id = label.client_id.as_deref();
            let room = stream.len() + id.map_or(0, str::len) + 64;
            let mut fragments = [Vec::with_capacity(room), Vec::with_capacity(room)];
            for (f, dir) in fragments.iter_mut().zip([Dir::ToServer, Dir::ToClient]) {
                super::jsonw::conn_fragment(f, &stream, Some(dir), id);
            }
            ConnText { stream, fragments }
        })
    }
}

impl<W: Write> JsonlSink<W> {
    /// A JSON Lines sink over `out`.
    pub fn new(out: W, catalogue: Arc<Catalogue>) -> Self {
        JsonlSink {
            out,
            catalogue,
            started: false,
            line: Vec::with_capacity(1024),
            batch: 0,
            streams: StreamNames::default(),
        }
    }

    /// A JSON Lines sink over `out` that gathers about `bytes` of lines before each write, so
    /// that a large write passes a `BufWriter` by without a second copy. For files: live
    /// capture writes each line at once, so that it shows as soon as its packet is captured.
    pub fn batched(out: W, catalogue: Arc<Catalogue>, bytes: usize) -> Self {
        let mut s = JsonlSink::new(out, catalogue);
        s.batch = bytes;
        s.line = Vec::with_capacity(bytes.saturating_add(4096));
        s
    }

    /// Writes the lines gathered so far.
    fn write_pending(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let r = self.out.write_all(&self.line);
        self.line.clear();
        r
    }

    fn header(&mut self) -> io::Result<()> {
        self.started = true;
        let h = Header {
            kind: "header",
            schema: SCHEMA_VERSION,
            tool: "mqttscope",
        };
        self.write_line(&h)
    }

    fn write_line<T: serde::Serialize>(&mut self, v: &T) -> io::Result<()> {
        write_line(&mut self.out, &mut self.line, v)
    }
}

/// Appends a decimal number without going through `fmt` (hot: twice per event).
fn push_u32(s: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        s.push(char::from(d));
    }
}

/// Appends `a` exactly as its `Display` does: IPv4 by hand, IPv6 through `fmt`.
fn push_addr(s: &mut String, a: &SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            for (i, o) in v4.ip().octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_u32(s, u32::from(*o));
            }
            s.push(':');
            push_u32(s, u32::from(v4.port()));
        }
        SocketAddr::V6(_) => {
            let _ = write!(s, "{a}");
        }
    }
}

/// Serialises `v` into `line` and writes it with its newline in one call; `line` is left empty.
fn write_line<T: serde::Serialize>(
    out: &mut impl Write,
    line: &mut Vec<u8>,
    v: &T,
) -> io::Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, v)?;
    line.push(b'\n');
    let r = out.write_all(line);
    line.clear();
    r
}

/// Builds the `packet` line of an event.
pub fn packet_json<'a>(
    ev: &'a Event,
    p: &'a PacketInfo,
    stream: &'a str,
    cat: &'a Catalogue,
) -> PacketJson<'a> {
    let version = p.version.unwrap_or(Version::V5);
    let reason = p
        .reason_codes
        .iter()
        .map(|c| {
            let ex = cat.explain(*c, p.ptype, version);
            ReasonJson {
                code: c.0,
                name: ex.name,
                success: ex.severity != Severity::Failure,
            }
        })
        .collect();
    let topics = match p.ptype {
        crate::mqtt::types::PacketType::SUBSCRIBE | crate::mqtt::types::PacketType::UNSUBSCRIBE => {
            Some(
                p.topics
                    .iter()
                    .map(|t| TopicJson {
                        topic: &t.topic,
                        qos: t.qos,
                    })
                    .collect(),
            )
        }
        _ => None,
    };
    PacketJson {
        kind: "packet",
        id: ev.id,
        ts: ev.ts.as_secs_f64(),
        frame: ev.frame_no,
        stream,
        dir: ev.dir.map_or("c2s", |d| d.as_str()),
        client_id: ev.conn.client_id.as_deref(),
        ptype: p.ptype.name(),
        type_num: p.ptype.0,
        version: p.version.map(|v| v.0),
        packet_id: p.packet_id,
        qos: p.qos,
        dup: p.dup,
        retain: p.retain,
        topic: p.topic.as_deref(),
        topic_alias: p.topic_alias,
        topic_resolved: p.topic_resolved.as_deref(),
        topics,
        reason_codes: p.reason_codes.iter().map(|c| c.0).collect(),
        reason,
        reason_string: p.reason_string.as_deref(),
        user_properties: p
            .user_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        malformed: match &p.malformed {
            Some(m) => Value::String(m.clone()),
            None => Value::Bool(false),
        },
        anomalies: ev.anomalies.iter().map(|a| a.name()).collect(),
        anomaly_details: ev.anomalies.iter().map(|a| a.describe()).collect(),
        answers: p.answers.map(|a| AnswersJson {
            id: a.request,
            ptype: a.request_type.name(),
            frame: a.request_frame,
            latency_ms: a.latency_ns as f64 / 1e6,
        }),
        sub_outcomes: (!p.sub_outcomes.is_empty()).then(|| {
            p.sub_outcomes
                .iter()
                .map(|o| SubOutcomeJson {
                    topic: &o.topic,
                    requested_qos: o.requested_qos,
                    code: o.code.0,
                    name: cat.explain(o.code, p.ptype, version).name,
                    downgraded: o.downgraded,
                })
                .collect()
        }),
        connect: p.connect.as_ref().map(|c| ConnectJson {
            protocol_name: &c.protocol_name,
            level: c.level,
            client_id: &c.client_id,
            clean_start: c.clean_start,
            keep_alive: c.keep_alive,
            username: c.username.as_deref(),
            password: c.password.as_deref(),
            will_topic: c.will_topic.as_deref(),
        }),
        session_present: p.session_present,
        size: p.size,
        payload_len: p.payload_len,
    }
}

/// Builds the line of a non-packet event.
pub fn other_json<'a>(ev: &'a Event, stream: &'a str) -> OtherJson<'a> {
    let mut detail = Map::new();
    let (kind, event) = match &ev.kind {
        EventKind::Packet(_) => ("packet", "packet"),
        EventKind::ConnOpen => {
            detail.insert("client".into(), json!(ev.conn.client.to_string()));
            detail.insert("server".into(), json!(ev.conn.server.to_string()));
            ("conn_open", "open")
        }
        EventKind::ConnClose(c) => {
            detail.insert(
                "reason".into(),
                json!(format!("{:?}", c.reason).to_lowercase()),
            );
            detail.insert("packets_c2s".into(), json!(c.packets[0]));
            detail.insert("packets_s2c".into(), json!(c.packets[1]));
            detail.insert("client_disconnected".into(), json!(c.client_disconnected));
            detail.insert("connect_seen".into(), json!(c.connect_seen));
            detail.insert("connack".into(), json!(c.connack.map(|r| r.0)));
            detail.insert("will_expected".into(), json!(c.will_expected));
            detail.insert("version".into(), json!(c.version.map(|v| v.0)));
            detail.insert("version_evidence".into(), json!(c.version_evidence));
            let un: Vec<Value> = c
                .unanswered
                .iter()
                .map(|(t, id, evid)| json!({"type": t.name(), "packet_id": id, "id": evid}))
                .collect();
            detail.insert("unanswered".into(), Value::Array(un));
            ("conn_close", "close")
        }
        EventKind::Gap {
            offset,
            len,
            reason,
        } => {
            detail.insert("offset".into(), json!(offset));
            detail.insert("len".into(), json!(len));
            detail.insert("reason".into(), json!(format!("{reason:?}").to_lowercase()));
            ("stream", "gap")
        }
        EventKind::Skipped {
            offset,
            len,
            reason,
        } => {
            detail.insert("offset".into(), json!(offset));
            detail.insert("len".into(), json!(len));
            detail.insert("reason".into(), json!(reason));
            ("stream", "skipped")
        }
        EventKind::Oversize {
            offset,
            ptype,
            size,
        } => {
            detail.insert("offset".into(), json!(offset));
            detail.insert("type".into(), json!(ptype.name()));
            detail.insert("size".into(), json!(size));
            ("stream", "oversize")
        }
        EventKind::Encrypted => ("stream", "tls"),
        EventKind::Anomaly => ("stream", "anomaly"),
    };
    OtherJson {
        kind,
        id: ev.id,
        ts: ev.ts.as_secs_f64(),
        frame: ev.frame_no,
        stream,
        dir: ev.dir.map(|d| d.as_str()),
        client_id: ev.conn.client_id.as_deref(),
        event,
        detail,
        anomalies: ev.anomalies.iter().map(|a| a.name()).collect(),
        anomaly_details: ev.anomalies.iter().map(|a| a.describe()).collect(),
    }
}

impl<W: Write> Sink for JsonlSink<W> {
    fn event(&mut self, ev: &Event) -> io::Result<Flow> {
        if !self.started {
            if let Err(e) = self.header() {
                return pipe_ok(Err(e));
            }
        }
        let JsonlSink {
            out,
            catalogue,
            line,
            batch,
            streams,
            ..
        } = self;
        if *batch == 0 {
            line.clear();
        }
        // The same text as `ConnLabel::stream`, without a new String per event.
        let text = streams.get(&ev.conn);
        match (&ev.kind, text) {
            (EventKind::Packet(p), Some(t)) => {
                let conn = t.fragments.get(ev.dir.map_or(0, |d| d.index()));
                super::jsonw::packet_line_with(line, ev, p, conn.map_or(&[][..], |c| c), catalogue);
            }
            (EventKind::Packet(p), None) => {
                super::jsonw::packet_line(line, ev, p, &ev.conn.stream(), catalogue);
            }
            (_, t) => {
                let stream = match t {
                    Some(t) => std::borrow::Cow::Borrowed(t.stream.as_str()),
                    None => std::borrow::Cow::Owned(ev.conn.stream()),
                };
                super::jsonother::other_line(line, ev, &stream);
            }
        }
        line.push(b'\n');
        let r = if line.len() >= *batch {
            let r = out.write_all(line);
            line.clear();
            r
        } else {
            Ok(())
        };
        pipe_ok(r)
    }

    fn finish(&mut self, totals: &Totals) -> io::Result<()> {
        let r = (|| {
            self.write_pending()?;
            if !self.started {
                self.header()?;
            }
            crate::sink::summary::write_summary_json(
                &mut self.out,
                totals,
                &self.catalogue,
                &[("kind", json!("summary"))],
            )?;
            self.out.write_all(b"\n")?;
            self.out.flush()
        })();
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            r => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_follow_each_connection_and_its_orientation() {
        use crate::tcp::ConnId;
        let mut names = StreamNames::default();
        let mut label = ConnLabel {
            id: ConnId(5),
            client: "10.0.0.2:4000".parse().unwrap(),
            server: "[fd00::1]:1883".parse().unwrap(),
            client_id: None,
            version: None,
        };
        let text = |names: &mut StreamNames, l: &ConnLabel| {
            let t = names.get(&Arc::new(l.clone())).unwrap();
            let mut want = Vec::new();
            crate::sink::jsonw::conn_fragment(
                &mut want,
                &l.stream(),
                Some(Dir::ToClient),
                l.client_id.as_deref(),
            );
            assert_eq!(t.fragments[1], want);
            t.stream.clone()
        };
        assert_eq!(text(&mut names, &label), label.stream());
        // Orientation swapped by content: same id, new text.
        std::mem::swap(&mut label.client, &mut label.server);
        assert_eq!(text(&mut names, &label), label.stream());
        // The client id arrives: new fragments.
        label.client_id = Some("dev\"1".into());
        assert_eq!(text(&mut names, &label), label.stream());
        // Another connection in the same slot replaces it.
        let other = ConnLabel {
            id: ConnId(5 + crate::label_cache::SLOTS as u64),
            client: "10.0.0.9:1".parse().unwrap(),
            ..label.clone()
        };
        assert_eq!(text(&mut names, &other), other.stream());
        assert_eq!(text(&mut names, &label), label.stream());
        // The same label shared by events: a hit on identity.
        let shared = Arc::new(label.clone());
        assert_eq!(
            names.get(&shared).map(|t| t.stream.clone()),
            Some(label.stream())
        );
    }

    #[test]
    fn hand_formatted_addresses_match_display() {
        for a in [
            "0.0.0.0:0",
            "10.1.200.3:1883",
            "255.255.255.255:65535",
            "[fd00::1:0:7]:20001",
            "[::ffff:10.0.0.1]:80",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            let mut s = String::new();
            push_addr(&mut s, &addr);
            assert_eq!(s, addr.to_string());
        }
    }
}
