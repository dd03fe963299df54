//! Per-connection MQTT state and its transition function:
//! `(state, packet, direction) -> (state, anomalies)`, with no clock but capture timestamps.

use super::alias::{AliasSpace, Resolved};
use super::pairing::{InFlight, Pending, Record};
use crate::capture::Ts;
use crate::event::{Anomaly, ConnClose, Outcome, PacketInfo, SubOutcome};
use crate::filter::topic_matches;
use crate::mqtt::packet::Packet;
use crate::mqtt::reason::{Catalogue, Origin};
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use crate::tcp::{CloseReason, Dir};

/// Subscriptions remembered per connection for the granted-QoS check.
const MAX_SUBSCRIPTIONS: usize = 1024;
/// Longest client id (or user name) kept for the life of a connection, in bytes: it is copied
/// into labels, totals and reconnect tracking, so a 64 KiB id must not be kept whole.
pub const MAX_ID_BYTES: usize = 256;

/// `id`, cut to `MAX_ID_BYTES` (on a character boundary, with "…" appended) when longer.
pub fn bounded_id(id: &str) -> String {
    if id.len() <= MAX_ID_BYTES {
        return id.to_string();
    }
    let mut end = MAX_ID_BYTES;
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &id[..end])
}

/// How the connection attempt went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnOutcome {
    /// No CONNACK yet.
    #[default]
    Pending,
    /// CONNACK success.
    Accepted,
    /// CONNACK with this failure code.
    Refused(ReasonCode),
}

/// Limits each side announced (MQTT 5.0 §3.1.2.11, §3.2.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Receive Maximum of the receiver, indexed by the direction packets travel.
    pub receive_maximum: [u16; 2],
    /// Maximum Packet Size of the receiver, indexed by direction.
    pub maximum_packet_size: [Option<u32>; 2],
    /// Topic Alias Maximum of the receiver, indexed by direction.
    pub topic_alias_maximum: [u16; 2],
    /// Maximum QoS the server accepts.
    pub maximum_qos: u8,
    /// Whether the server supports retained messages.
    pub retain_available: bool,
    /// Server Keep Alive from CONNACK.
    pub server_keep_alive: Option<u16>,
}

impl Default for Negotiated {
    fn default() -> Self {
        Negotiated {
            receive_maximum: [u16::MAX; 2],
            maximum_packet_size: [None; 2],
            topic_alias_maximum: [0; 2],
            maximum_qos: 2,
            retain_available: true,
            server_keep_alive: None,
        }
    }
}

/// Where an event sits: its id, time, frame and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    /// Event id the packet will get.
    pub event: u64,
    /// Timestamp.
    pub ts: Ts,
    /// Frame number.
    pub frame: u64,
    /// Direction (after orientation).
    pub dir: Dir,
}

/// The protocol state of one MQTT connection.
#[derive(Clone, Debug)]
pub struct ConnState {
    /// Protocol version, when known.
    pub version: Option<Version>,
    /// How the version was learnt.
    pub version_note: Option<&'static str>,
    /// Client identifier.
    pub client_id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// Clean start / clean session.
    pub clean_start: bool,
    /// CONNACK Session Present.
    pub session_present: Option<bool>,
    /// CONNECT keep-alive.
    pub keep_alive: Option<u16>,
    /// Announced limits.
    pub negotiated: Negotiated,
    /// Connection outcome.
    pub outcome: ConnOutcome,
    /// CONNECT carried a will.
    pub will: bool,
    /// DISCONNECT seen from each side, with its code.
    pub disconnect: [Option<ReasonCode>; 2],
    /// Packets seen in each direction.
    pub packets: [u64; 2],
    /// Failures seen (codes and malformed).
    pub failures: u64,
    start_seen: bool,
    before_connect_flagged: bool,
    connect_seen: bool,
    connack_seen: bool,
    last_client_ts: Option<Ts>,
    inflight: InFlight,
    aliases: [AliasSpace; 2],
    subscriptions: Vec<(String, u8)>,
}

impl ConnState {
    /// A fresh connection; `start_seen` when its TCP handshake was captured; `cap` bounds the
    /// in-flight table.
    pub fn new(version: Option<Version>, start_seen: bool, cap: usize) -> Self {
        ConnState {
            version,
            version_note: version.map(|_| "assumed (--assume-version)"),
            client_id: None,
            username: None,
            clean_start: false,
            session_present: None,
            keep_alive: None,
            negotiated: Negotiated::default(),
            outcome: ConnOutcome::Pending,
            will: false,
            disconnect: [None; 2],
            packets: [0; 2],
            failures: 0,
            start_seen,
            before_connect_flagged: false,
            connect_seen: false,
            connack_seen: false,
            last_client_ts: None,
            inflight: InFlight::new(cap),
            aliases: [AliasSpace::default(), AliasSpace::default()],
            subscriptions: Vec::new(),
        }
    }

    /// Requests held in the in-flight table.
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Changes the in-flight cap (lowered under memory pressure).
    pub fn set_inflight_cap(&mut self, cap: usize) {
        self.inflight.set_cap(cap);
    }

    fn keep_alive_check(&mut self, at: At, out: &mut Vec<Anomaly>) {
        if at.dir != Dir::ToServer {
            return;
        }
        let ka = self
            .negotiated
            .server_keep_alive
            .or(self.keep_alive)
            .unwrap_or(0);
        if let (Some(last), true) = (self.last_client_ts, ka > 0) {
            let silence = at.ts.0 - last.0;
            if silence > i64::from(ka) * 1_500_000_000 {
                out.push(Anomaly::KeepAliveExpired {
                    silence_ms: (silence / 1_000_000) as u64,
                    keep_alive: ka,
                });
            }
        }
        self.last_client_ts = Some(at.ts);
    }

    fn answer(
        &mut self,
        origin: Dir,
        id: u16,
        want: PacketType,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) -> Option<Pending> {
        match self.inflight.take_id(origin, id, want) {
            Some(p) => {
                info.answers = Some(p.pair(at.ts));
                Some(p)
            }
            None => {
                out.push(Anomaly::Orphan(info.ptype));
                None
            }
        }
    }

    fn pending(&self, at: At, info: &PacketInfo, qos: u8) -> Pending {
        Pending {
            ptype: info.ptype,
            event: at.event,
            frame: at.frame,
            ts: at.ts,
            qos,
            filters: Vec::new(),
        }
    }

    fn record(&mut self, origin: Dir, id: u16, p: Pending, dup: bool, out: &mut Vec<Anomaly>) {
        match self.inflight.record_id(origin, id, p) {
            Record::IdInUse if !dup => out.push(Anomaly::PacketIdInUse(id)),
            Record::Cap => out.push(Anomaly::CapHit("in-flight requests per connection")),
            _ => {}
        }
    }

    /// Applies a decoded packet: updates the state, fills pairing fields of `info` and pushes
    /// anomalies.
    pub fn on_packet(
        &mut self,
        at: At,
        pkt: &Packet<'_>,
        info: &mut PacketInfo,
        cat: &Catalogue,
        out: &mut Vec<Anomaly>,
    ) {
        let d = at.dir;
        self.packets[d.index()] += 1;
        self.keep_alive_check(at, out);
        if info.outcome >= Outcome::Failure {
            self.failures += 1;
        }
        let ptype = info.ptype;
        if ptype != PacketType::CONNECT
            && self.start_seen
            && !self.connect_seen
            && !self.before_connect_flagged
        {
            // The connection's start was captured, so this packet really came before CONNECT.
            self.before_connect_flagged = true;
            out.push(Anomaly::PacketBeforeConnect);
        }
        if let Some(max) = self.negotiated.maximum_packet_size[d.index()] {
            if info.size > max {
                out.push(Anomaly::MaximumPacketSizeExceeded(max));
            }
        }
        let version = info.version.or(self.version).unwrap_or(Version::V5);
        for code in &info.reason_codes {
            let ex = cat.explain(*code, ptype, version);
            if !ex.legal && !matches!(ex.origin, Origin::Vendor(_)) {
                out.push(Anomaly::IllegalReasonCode(*code));
            }
        }
        for issue in pkt.property_issues() {
            out.push(Anomaly::PropertyIssue(issue.to_string()));
        }
        match pkt {
            Packet::Connect(c) => {
                if self.connect_seen {
                    out.push(Anomaly::SecondConnect);
                }
                self.connect_seen = true;
                if c.flags.reserved() {
                    out.push(Anomaly::ReservedBits("CONNECT flags bit 0"));
                }
                if (3..=5).contains(&c.level.0) {
                    self.version = Some(c.level);
                    self.version_note = Some("stated by the CONNECT");
                }
                self.client_id = Some(bounded_id(c.client_id));
                self.username = c.username.map(bounded_id);
                self.clean_start = c.flags.clean_start();
                self.keep_alive = Some(c.keep_alive);
                self.will = c.will.is_some();
                let p = &c.properties;
                self.negotiated.receive_maximum[Dir::ToClient.index()] =
                    p.receive_maximum().unwrap_or(u16::MAX);
                self.negotiated.maximum_packet_size[Dir::ToClient.index()] =
                    p.maximum_packet_size();
                self.negotiated.topic_alias_maximum[Dir::ToClient.index()] =
                    p.topic_alias_maximum().unwrap_or(0);
                self.inflight.connect = Some(self.pending(at, info, 0));
            }
            Packet::Connack(c) => {
                self.connack_seen = true;
                if c.ack_flags & 0xFE != 0 {
                    out.push(Anomaly::ReservedBits("CONNACK acknowledge flags bits 7-1"));
                }
                match self.inflight.connect.take() {
                    Some(p) => info.answers = Some(p.pair(at.ts)),
                    None => {
                        if self.connect_seen {
                            out.push(Anomaly::Orphan(ptype));
                        }
                    }
                }
                self.inflight.auth = [None, None];
                self.session_present = Some(c.session_present);
                self.outcome = if info.outcome >= Outcome::Failure {
                    ConnOutcome::Refused(c.code)
                } else {
                    ConnOutcome::Accepted
                };
                let p = &c.properties;
                self.negotiated.receive_maximum[Dir::ToServer.index()] =
                    p.receive_maximum().unwrap_or(u16::MAX);
                self.negotiated.maximum_packet_size[Dir::ToServer.index()] =
                    p.maximum_packet_size();
                self.negotiated.topic_alias_maximum[Dir::ToServer.index()] =
                    p.topic_alias_maximum().unwrap_or(0);
                self.negotiated.maximum_qos = p.maximum_qos().unwrap_or(2);
                self.negotiated.retain_available = p.retain_available() != Some(0);
                self.negotiated.server_keep_alive = p.server_keep_alive();
                if let Some(id) = p.assigned_client_identifier() {
                    self.client_id = Some(bounded_id(id));
                }
            }
            Packet::Publish(p) => {
                if d == Dir::ToServer && self.connect_seen && !self.connack_seen {
                    out.push(Anomaly::PublishBeforeConnack);
                }
                let max = self.negotiated.topic_alias_maximum[d.index()];
                match self.aliases[d.index()].apply(p.topic, info.topic_alias, max) {
                    Resolved::Plain | Resolved::Bound => {
                        if info.topic_alias.is_some() {
                            info.topic_resolved = Some(p.topic.to_string());
                        }
                    }
                    Resolved::Used(t) => info.topic_resolved = Some(t),
                    Resolved::Unbound => {
                        out.push(Anomaly::TopicAliasUnbound(info.topic_alias.unwrap_or(0)))
                    }
                    Resolved::AboveMaximum => out.push(Anomaly::TopicAliasAboveMaximum(
                        info.topic_alias.unwrap_or(0),
                    )),
                }
                if p.qos > 0 && p.qos < 3 {
                    let allowed = if d == Dir::ToServer {
                        self.negotiated.maximum_qos
                    } else {
                        let topic = info.topic_resolved.as_deref().unwrap_or(p.topic);
                        self.granted_qos(topic)
                    };
                    if p.qos > allowed {
                        out.push(Anomaly::QosExceeded {
                            used: p.qos,
                            allowed,
                        });
                    }
                    let in_flight = self.inflight.publishes_in_flight(d);
                    let rm = self.negotiated.receive_maximum[d.index()];
                    if in_flight >= usize::from(rm) && !p.dup {
                        out.push(Anomaly::ReceiveMaximumExceeded(rm));
                    }
                    if let Some(id) = p.packet_id {
                        let pend = self.pending(at, info, p.qos);
                        self.record(d, id, pend, p.dup, out);
                    }
                }
            }
            Packet::Puback(a) => {
                if let Some(p) =
                    self.answer(d.flip(), a.packet_id, PacketType::PUBLISH, at, info, out)
                {
                    if p.qos != 1 {
                        out.push(Anomaly::Orphan(ptype));
                    }
                }
            }
            Packet::Pubrec(a) => {
                if self
                    .answer(d.flip(), a.packet_id, PacketType::PUBLISH, at, info, out)
                    .is_some()
                    && info.outcome < Outcome::Failure
                {
                    // The exchange goes on: the PUBREL will answer this PUBREC.
                    let pend = self.pending(at, info, 2);
                    self.inflight.replace_id(d.flip(), a.packet_id, pend);
                }
            }
            Packet::Pubrel(a) => {
                if self
                    .answer(d, a.packet_id, PacketType::PUBREC, at, info, out)
                    .is_some()
                {
                    let pend = self.pending(at, info, 2);
                    self.inflight.replace_id(d, a.packet_id, pend);
                }
            }
            Packet::Pubcomp(a) => {
                self.answer(d.flip(), a.packet_id, PacketType::PUBREL, at, info, out);
            }
            Packet::Subscribe(s) => {
                let mut pend = self.pending(at, info, 0);
                for f in s.filters.iter() {
                    if f.options.0
                        & crate::mqtt::packet::SubscriptionOptions::reserved_mask(version)
                        != 0
                    {
                        out.push(Anomaly::ReservedBits("subscription options"));
                    }
                    pend.filters.push((f.filter.to_string(), f.options.qos()));
                }
                self.record(d, s.packet_id, pend, false, out);
            }
            Packet::Suback(s) => {
                if let Some(p) =
                    self.answer(d.flip(), s.packet_id, PacketType::SUBSCRIBE, at, info, out)
                {
                    let codes: Vec<ReasonCode> = s.codes().collect();
                    if codes.len() != p.filters.len() {
                        out.push(Anomaly::SubackCountMismatch {
                            filters: p.filters.len(),
                            codes: codes.len(),
                        });
                    }
                    for ((topic, req), code) in p.filters.iter().zip(codes) {
                        let granted = (code.0 < 3).then_some(code.0);
                        if let Some(g) = granted {
                            if self.subscriptions.len() < MAX_SUBSCRIPTIONS {
                                self.subscriptions.retain(|(t, _)| t != topic);
                                self.subscriptions.push((topic.clone(), g));
                            }
                        }
                        info.sub_outcomes.push(SubOutcome {
                            topic: topic.clone(),
                            requested_qos: *req,
                            code,
                            downgraded: granted.is_some_and(|g| g < *req),
                        });
                    }
                }
            }
            Packet::Unsubscribe(u) => {
                for f in u.filters.iter() {
                    self.subscriptions.retain(|(t, _)| t != f);
                }
                let pend = self.pending(at, info, 0);
                self.record(d, u.packet_id, pend, false, out);
            }
            Packet::Unsuback(s) => {
                self.answer(
                    d.flip(),
                    s.packet_id,
                    PacketType::UNSUBSCRIBE,
                    at,
                    info,
                    out,
                );
            }
            Packet::Pingreq => {
                if self.inflight.pings_waiting() > 0 {
                    out.push(Anomaly::PingUnanswered);
                }
                let pend = self.pending(at, info, 0);
                if !self.inflight.record_ping(pend) {
                    out.push(Anomaly::CapHit("PINGREQs awaiting PINGRESP"));
                }
            }
            Packet::Pingresp => match self.inflight.take_ping() {
                Some(p) => info.answers = Some(p.pair(at.ts)),
                None => out.push(Anomaly::Orphan(ptype)),
            },
            Packet::Disconnect(r) => {
                self.disconnect[d.index()] = Some(r.code);
            }
            Packet::Auth(_) => {
                if let Some(p) = self.inflight.auth[d.flip().index()].take() {
                    info.answers = Some(p.pair(at.ts));
                }
                self.inflight.auth[d.index()] = Some(self.pending(at, info, 0));
            }
        }
    }

    fn granted_qos(&self, topic: &str) -> u8 {
        if topic.is_empty() {
            return 2;
        }
        let mut best: Option<u8> = None;
        for (f, g) in &self.subscriptions {
            if topic_matches(f, topic) {
                best = Some(best.map_or(*g, |b| b.max(*g)));
            }
        }
        best.unwrap_or(2)
    }

    /// Counts a malformed packet.
    pub fn on_malformed(&mut self, at: At) {
        self.packets[at.dir.index()] += 1;
        self.failures += 1;
        if at.dir == Dir::ToServer {
            self.last_client_ts = Some(at.ts);
        }
    }

    /// Ends the connection: lists unanswered requests and raises close-time anomalies.
    pub fn on_close(&mut self, reason: CloseReason, ts: Ts, out: &mut Vec<Anomaly>) -> ConnClose {
        let unanswered = self.inflight.drain();
        let closed = matches!(reason, CloseReason::Fin | CloseReason::Rst);
        if closed && self.outcome == ConnOutcome::Accepted && self.disconnect == [None, None] {
            out.push(Anomaly::ClosedWithoutDisconnect { will: self.will });
        }
        if closed {
            let ka = self
                .negotiated
                .server_keep_alive
                .or(self.keep_alive)
                .unwrap_or(0);
            if let (Some(last), true) = (self.last_client_ts, ka > 0) {
                let silence = ts.0 - last.0;
                if silence > i64::from(ka) * 1_500_000_000 {
                    out.push(Anomaly::KeepAliveExpired {
                        silence_ms: (silence / 1_000_000) as u64,
                        keep_alive: ka,
                    });
                }
            }
        }
        if unanswered.iter().any(|u| u.0 == PacketType::PINGREQ) {
            out.push(Anomaly::PingUnanswered);
        }
        ConnClose {
            reason,
            unanswered,
            packets: self.packets,
            client_disconnected: self.disconnect[Dir::ToServer.index()].is_some(),
        }
    }
}
