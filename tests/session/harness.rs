//! Test harness: scripted packets (encoded by the decoder tests' encoder) driven through
//! `ConnState::on_packet` one at a time, and whole byte streams through `Sessions::on_stream`.
#![allow(dead_code)]

use crate::mqtt_support::{encode, Prop, M};
use mqttscope::capture::Ts;
use mqttscope::event::{Anomaly, ConnClose, Event, PacketInfo};
use mqttscope::mqtt::header::{parse_header_slice, HeaderParse};
use mqttscope::mqtt::packet::decode;
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::mqtt::types::Version;
use mqttscope::mqtt::RawPacket;
use mqttscope::session::convert::{packet_info, ConvertOptions};
use mqttscope::session::state::{At, ConnState};
use mqttscope::session::{SessionConfig, Sessions};
use mqttscope::tcp::{CloseReason, ConnId, ConnInfo, Dir, GapReason, OrientedBy, StreamEvent};
use std::sync::Arc;

pub const C2S: Dir = Dir::ToServer;
pub const S2C: Dir = Dir::ToClient;

/// Milliseconds to a capture time.
pub fn ms(t: i64) -> Ts {
    Ts(t * 1_000_000)
}

/// One connection's state driven packet by packet.
pub struct Conn {
    pub st: ConnState,
    pub level: u8,
    cat: Catalogue,
    next: u64,
}

/// What one packet gave.
pub struct Step {
    pub event: u64,
    pub info: PacketInfo,
    pub anomalies: Vec<Anomaly>,
}

impl Step {
    pub fn names(&self) -> Vec<&'static str> {
        self.anomalies.iter().map(Anomaly::name).collect()
    }
    /// (request event id, latency in ms) of the request this packet answers.
    pub fn answers(&self) -> Option<(u64, i64)> {
        self.info
            .answers
            .map(|a| (a.request, a.latency_ns / 1_000_000))
    }
}

impl Conn {
    /// A connection whose TCP handshake was captured, at protocol level `level` (4 or 5).
    pub fn new(level: u8) -> Self {
        Conn {
            st: ConnState::new(None, true, 1000),
            level,
            cat: Catalogue::builtin(),
            next: 0,
        }
    }

    /// A connection picked up mid-stream (no handshake, no CONNECT), version known.
    pub fn mid_stream(level: u8) -> Self {
        let mut c = Conn::new(level);
        c.st = ConnState::new(Some(Version(level)), false, 1000);
        c
    }

    /// Encodes `m`, decodes it and applies it at `t` ms.
    pub fn step(&mut self, t: i64, dir: Dir, m: &M) -> Step {
        let bytes = encode(m, self.level, false);
        self.raw(t, dir, &bytes)
    }

    /// Applies the packet in `bytes` at `t` ms.
    pub fn raw(&mut self, t: i64, dir: Dir, bytes: &[u8]) -> Step {
        let HeaderParse::Complete(header) = parse_header_slice(bytes) else {
            panic!("incomplete test packet {bytes:02x?}");
        };
        let raw = RawPacket {
            offset: 0,
            header,
            bytes,
            body: &bytes[usize::from(header.header_len)..],
            elided: 0,
        };
        let v = Version(self.level);
        let pkt = decode(&raw, v).expect("test packets decode");
        let mut info = packet_info(&raw, &pkt, v, &self.cat, &ConvertOptions::default());
        let at = At {
            event: self.next,
            ts: ms(t),
            frame: self.next + 1,
            dir,
        };
        self.next += 1;
        let mut anomalies = Vec::new();
        self.st
            .on_packet(at, &pkt, &mut info, &self.cat, &mut anomalies);
        Step {
            event: at.event,
            info,
            anomalies,
        }
    }

    /// Ends the connection at `t` ms.
    pub fn close(&mut self, t: i64, reason: CloseReason) -> (ConnClose, Vec<Anomaly>) {
        let mut out = Vec::new();
        let c = self.st.on_close(reason, ms(t), &mut out);
        (c, out)
    }
}

pub fn names(a: &[Anomaly]) -> Vec<&'static str> {
    a.iter().map(Anomaly::name).collect()
}

// ---- packet builders -------------------------------------------------------------------

pub fn connect(level: u8, id: &str, keep_alive: u16, props: Vec<Prop>) -> M {
    M::Connect {
        level,
        clean: true,
        keep_alive,
        props,
        client_id: id.into(),
        will: None,
        username: None,
        password: None,
    }
}

pub fn connect_will(level: u8, id: &str) -> M {
    let M::Connect {
        level,
        clean,
        keep_alive,
        props,
        client_id,
        username,
        password,
        ..
    } = connect(level, id, 60, vec![])
    else {
        unreachable!()
    };
    M::Connect {
        level,
        clean,
        keep_alive,
        props,
        client_id,
        will: Some((vec![], "w/t".into(), b"bye".to_vec(), 1, false)),
        username,
        password,
    }
}

pub fn connack(code: u8, props: Vec<Prop>) -> M {
    M::Connack {
        session_present: false,
        code,
        props,
    }
}

pub fn resumed(code: u8) -> M {
    M::Connack {
        session_present: true,
        code,
        props: vec![],
    }
}

pub fn publish(qos: u8, topic: &str, id: Option<u16>, props: Vec<Prop>) -> M {
    M::Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: id,
        props,
        payload: b"payload".to_vec(),
    }
}

pub fn flagged(m: M, dup: bool, retain: bool) -> M {
    match m {
        M::Publish {
            qos,
            topic,
            packet_id,
            props,
            payload,
            ..
        } => M::Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            props,
            payload,
        },
        other => other,
    }
}

pub fn with_payload(m: M, len: usize) -> M {
    match m {
        M::Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            props,
            ..
        } => M::Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            props,
            payload: vec![b'x'; len],
        },
        other => other,
    }
}

fn ack(ptype: u8, id: u16, code: u8) -> M {
    M::Ack {
        ptype,
        packet_id: id,
        code,
        implied: false,
        props: vec![],
    }
}

pub fn puback(id: u16, code: u8) -> M {
    ack(4, id, code)
}
pub fn pubrec(id: u16, code: u8) -> M {
    ack(5, id, code)
}
pub fn pubrel(id: u16) -> M {
    ack(6, id, 0)
}
pub fn pubcomp(id: u16) -> M {
    ack(7, id, 0)
}

pub fn subscribe(id: u16, subs: &[(&str, u8)]) -> M {
    M::Subscribe {
        packet_id: id,
        props: vec![],
        subs: subs.iter().map(|(f, q)| (f.to_string(), *q)).collect(),
    }
}

pub fn suback(id: u16, codes: &[u8]) -> M {
    M::Suback {
        unsuback: false,
        packet_id: id,
        props: vec![],
        codes: codes.to_vec(),
    }
}

pub fn unsubscribe(id: u16, filters: &[&str]) -> M {
    M::Unsubscribe {
        packet_id: id,
        props: vec![],
        filters: filters.iter().map(|f| f.to_string()).collect(),
    }
}

pub fn unsuback(id: u16, codes: &[u8]) -> M {
    M::Suback {
        unsuback: true,
        packet_id: id,
        props: vec![],
        codes: codes.to_vec(),
    }
}

pub fn pingreq() -> M {
    M::Ping { resp: false }
}
pub fn pingresp() -> M {
    M::Ping { resp: true }
}

pub fn disconnect(code: u8) -> M {
    M::ReasonProps {
        auth: false,
        code,
        implied: false,
        props: vec![],
    }
}

pub fn auth(code: u8) -> M {
    M::ReasonProps {
        auth: true,
        code,
        implied: false,
        props: vec![Prop::Str(0x15, "SCRAM-SHA-1".into())],
    }
}

// ---- properties (5.0 §2.2.2.2) --------------------------------------------------------

pub fn topic_alias(a: u16) -> Prop {
    Prop::Two(0x23, a)
}
pub fn topic_alias_maximum(m: u16) -> Prop {
    Prop::Two(0x22, m)
}
pub fn receive_maximum(m: u16) -> Prop {
    Prop::Two(0x21, m)
}
pub fn maximum_packet_size(m: u32) -> Prop {
    Prop::Four(0x27, m)
}
pub fn maximum_qos(q: u8) -> Prop {
    Prop::Byte(0x24, q)
}
pub fn retain_available(r: u8) -> Prop {
    Prop::Byte(0x25, r)
}
pub fn server_keep_alive(s: u16) -> Prop {
    Prop::Two(0x13, s)
}
pub fn authentication_method() -> Prop {
    Prop::Str(0x15, "SCRAM-SHA-1".into())
}

// ---- whole streams through Sessions ----------------------------------------------------

/// A session layer and the events it emitted.
pub struct Run {
    pub sessions: Sessions,
    pub events: Vec<Event>,
}

impl Run {
    pub fn new() -> Self {
        Run {
            sessions: Sessions::new(SessionConfig::default(), Arc::new(Catalogue::builtin())),
            events: Vec::new(),
        }
    }

    fn feed(&mut self, se: StreamEvent<'_>) {
        let events = &mut self.events;
        self.sessions.on_stream(se, &mut |e| events.push(e));
    }

    /// Opens connection `id` at `t` ms from client port `port` to 1883.
    pub fn open(&mut self, id: u64, t: i64, port: u16, by: OrientedBy) {
        self.feed(StreamEvent::Open(ConnInfo {
            id: ConnId(id),
            client: format!("192.0.2.10:{port}").parse().unwrap(),
            server: "192.0.2.1:1883".parse().unwrap(),
            oriented_by: by,
            ts: ms(t),
            frame_no: 0,
        }));
    }

    /// Bytes of one direction at `t` ms, at stream offset `offset`.
    pub fn data(&mut self, id: u64, t: i64, dir: Dir, offset: u64, bytes: &[u8]) {
        self.feed(StreamEvent::Data {
            conn: ConnId(id),
            dir,
            ts: ms(t),
            frame_no: 0,
            offset,
            bytes,
        });
    }

    /// `len` bytes of one direction lost at stream offset `offset`, found at `t` ms.
    pub fn gap(&mut self, id: u64, t: i64, dir: Dir, offset: u64, len: u64) {
        self.feed(StreamEvent::Gap {
            conn: ConnId(id),
            dir,
            ts: ms(t),
            frame_no: 0,
            offset,
            len,
            reason: GapReason::AckedUnseen,
        });
    }

    pub fn close(&mut self, id: u64, t: i64) {
        self.feed(StreamEvent::Close {
            conn: ConnId(id),
            ts: ms(t),
            frame_no: 0,
            reason: CloseReason::Fin,
        });
    }

    /// One whole connection: CONNECT then CONNACK `code` 1 ms later, closed 2 ms later.
    pub fn connection(&mut self, id: u64, t: i64, client_id: &str, level: u8, code: u8) {
        let c = encode(&connect(level, client_id, 60, vec![]), level, false);
        let a = encode(&connack(code, vec![]), level, false);
        self.open(id, t, 40000 + id as u16, OrientedBy::Syn);
        self.data(id, t, C2S, 0, &c);
        self.data(id, t + 1, S2C, 0, &a);
        self.close(id, t + 2);
    }

    /// Every anomaly name emitted, in order.
    pub fn anomaly_names(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .flat_map(|e| e.anomalies.iter().map(Anomaly::name))
            .collect()
    }
}
