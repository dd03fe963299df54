//! Per-connection MQTT state and its transition function:
//! `(state, packet, direction) -> (state, anomalies)`, with no I/O and no clock but capture
//! timestamps. Publish and subscribe flows live in `state/flows.rs`.

mod flows;

use super::alias::AliasSpace;
use super::intern::Recent;
use super::keepalive::{ms, KeepAlive};
use super::pairing::{InFlight, Pending, Record};
use super::rules::{code_side_allowed, direction_allowed};
use crate::capture::Ts;
use crate::event::{Anomaly, ConnClose, Outcome, PacketInfo};
use crate::mqtt::packet::{Connack, Connect, Packet, ReasonProps};
use crate::mqtt::reason::{Catalogue, Origin};
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use crate::tcp::{CloseReason, Dir};

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
    /// Client identifier (the broker-assigned one when the CONNACK carries it).
    pub client_id: Option<String>,
    /// User name (outputs mask it unless `--show-secrets`).
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
    /// The CONNACK code, once seen.
    pub connack_code: Option<ReasonCode>,
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
    auth_method: bool,
    ka: KeepAlive,
    inflight: InFlight,
    aliases: [AliasSpace; 2],
    subscriptions: Vec<(String, u8)>,
    /// Granted QoS of recent topics under the current subscriptions (see `flows.rs`).
    granted_memo: flows::GrantedMemo,
    /// QoS 2 ids released by a failed PUBREC, per direction of their PUBLISH (allocated at
    /// the first one).
    released: Option<Box<[flows::Released; 2]>>,
    /// Bytes of each direction were lost after its last packet (a DISCONNECT may be there).
    lost_tail: [bool; 2],
    /// When bytes of each direction were last lost (none: never; a request there may be
    /// unseen once some were).
    last_loss: [Option<Ts>; 2],
    /// At a PINGREQ: the other direction's framer holds bytes while resynchronising, so the
    /// previous ping's answer may be among them (set by the session table).
    pub answers_held: bool,
    /// Recent PUBLISH topics per direction (see `intern::Recent`).
    pub recent_topics: [Recent; 2],
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
            connack_code: None,
            will: false,
            disconnect: [None; 2],
            packets: [0; 2],
            failures: 0,
            start_seen,
            before_connect_flagged: false,
            connect_seen: false,
            connack_seen: false,
            auth_method: false,
            ka: KeepAlive::default(),
            inflight: InFlight::new(cap),
            aliases: [AliasSpace::default(), AliasSpace::default()],
            subscriptions: Vec::new(),
            granted_memo: Default::default(),
            released: Default::default(),
            lost_tail: [false; 2],
            last_loss: [None; 2],
            answers_held: false,
            recent_topics: Default::default(),
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

    /// True when the connection was seen from its start (TCP handshake or CONNECT): only then
    /// do directions, orphan answers and unbound aliases prove something.
    pub fn seen_from_start(&self) -> bool {
        self.start_seen || self.connect_seen
    }

    /// Unfinished QoS>0 PUBLISH exchanges sent in direction `dir`.
    pub fn publishes_in_flight(&self, dir: Dir) -> usize {
        self.inflight.publishes_in_flight(dir)
    }

    /// An answer to the request with this id from `origin`: pairs it, or flags an orphan.
    fn answer(
        &mut self,
        origin: Dir,
        id: u16,
        want: PacketType,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) -> Option<(Pending, bool)> {
        match self.inflight.take_id(origin, id, want) {
            Some(e) => {
                info.answers = Some(e.0.pair(at.ts));
                Some(e)
            }
            None => {
                self.orphan(info.ptype, at.dir, out);
                if self.lost(origin) {
                    self.inflight.answered_early(origin, id, info.ptype, at.ts);
                }
                None
            }
        }
    }

    /// True when bytes of direction `dir` were lost at some point.
    fn lost(&self, dir: Dir) -> bool {
        self.last_loss[dir.index()].is_some()
    }

    /// An answer arriving in direction `dir` with no request: flagged unless the request may
    /// predate the capture (picked up mid-stream) or be among bytes lost in its direction.
    fn orphan(&self, ptype: PacketType, dir: Dir, out: &mut Vec<Anomaly>) {
        if self.seen_from_start() && !self.lost(dir.flip()) {
            out.push(Anomaly::Orphan(ptype));
        }
    }

    fn pending(&self, at: At, info: &PacketInfo, qos: u8) -> Pending {
        // A request handed on late (held back by lost bytes of its own direction) may have
        // had its answer in bytes of the other direction lost after it was sent.
        let answer_lost = self.last_loss[at.dir.flip().index()].is_some_and(|t| t >= at.ts);
        Pending {
            ptype: info.ptype,
            event: at.event,
            frame: at.frame,
            ts: at.ts,
            qos,
            filters: Vec::new(),
            maybe_answered: answer_lost,
            request_unseen: false,
        }
    }

    fn record(&mut self, origin: Dir, id: u16, p: Pending, dup: bool, out: &mut Vec<Anomaly>) {
        match self.inflight.record_id(origin, id, p) {
            Record::IdInUse if !dup => out.push(Anomaly::PacketIdInUse(id)),
            Record::Cap => out.push(Anomaly::CapHit("in-flight requests per connection")),
            _ => {}
        }
    }

    /// Applies a decoded packet: updates the state, fills the pairing fields of `info`
    /// (`answers`, `topic_resolved`, `sub_outcomes`) and pushes anomalies.
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
        self.lost_tail[d.index()] = false;
        if d == Dir::ToServer {
            out.extend(self.ka.client_packet(at.ts));
        }
        if info.outcome >= Outcome::Failure {
            self.failures += 1;
        }
        let ptype = info.ptype;
        if ptype != PacketType::CONNECT
            && self.start_seen
            && !self.connect_seen
            && !self.before_connect_flagged
            && !self.lost(Dir::ToServer)
        {
            // The connection's start was captured (and no client bytes were lost, where the
            // CONNECT could be), so this packet really came before CONNECT.
            self.before_connect_flagged = true;
            out.push(Anomaly::PacketBeforeConnect);
        }
        let version = info.version.or(self.version).unwrap_or(Version::V5);
        let v5 = version.is_v5();
        if self.seen_from_start() && !direction_allowed(ptype, d, v5) {
            out.push(Anomaly::WrongDirection(ptype));
        }
        if let Some(max) = self.negotiated.maximum_packet_size[d.index()] {
            if info.size > max {
                out.push(Anomaly::MaximumPacketSizeExceeded(max));
            }
        }
        for code in &info.reason_codes {
            let ex = cat.explain(*code, ptype, version);
            if !ex.legal && !matches!(ex.origin, Origin::Vendor(_)) {
                out.push(Anomaly::IllegalReasonCode(*code));
            } else if v5 && self.seen_from_start() && !code_side_allowed(ptype, *code, d) {
                out.push(Anomaly::ReasonCodeWrongSide(*code));
            }
        }
        for issue in pkt.property_issues() {
            out.push(Anomaly::PropertyIssue(issue.to_string()));
        }
        match pkt {
            Packet::Connect(c) => self.on_connect(c, at, info, out),
            Packet::Connack(c) => self.on_connack(c, at, info, out),
            Packet::Publish(p) => self.on_publish(p, at, info, out),
            Packet::Puback(a) => self.on_puback(a.packet_id, at, info, out),
            Packet::Pubrec(a) => self.on_pubrec(a.packet_id, at, info, out),
            Packet::Pubrel(a) => self.on_pubrel(a.packet_id, at, info, out),
            Packet::Pubcomp(a) => {
                self.answer(d.flip(), a.packet_id, PacketType::PUBREL, at, info, out);
            }
            Packet::Subscribe(s) => self.on_subscribe(s, at, info, out),
            Packet::Suback(s) => self.on_suback(s, at, info, out),
            Packet::Unsubscribe(u) => self.on_unsubscribe(u, at, info, out),
            Packet::Unsuback(s) => {
                let t = PacketType::UNSUBSCRIBE;
                self.answer(d.flip(), s.packet_id, t, at, info, out);
            }
            Packet::Pingreq => {
                // A new PINGREQ gives up on the previous one (pings carry no id to tell
                // a late PINGRESP apart).
                let held = std::mem::take(&mut self.answers_held);
                if let Some(old) = self
                    .inflight
                    .ping
                    .take()
                    .filter(|p| !p.maybe_answered && !held)
                {
                    out.push(Anomaly::PingUnanswered {
                        sent: old.ts,
                        waited_ms: ms(at.ts.0 - old.ts.0),
                    });
                }
                // Its PINGRESP may have come first (this PINGREQ held back by lost bytes).
                let early = self.inflight.early_ping.take();
                if early.is_none_or(|resp| at.ts > resp) {
                    self.inflight.ping = Some(self.pending(at, info, 0));
                }
            }
            Packet::Pingresp => match self.inflight.ping.take() {
                // An answer is never older than its request.
                Some(p) if p.ts <= at.ts => info.answers = Some(p.pair(at.ts)),
                Some(p) => {
                    self.inflight.ping = Some(p);
                    self.orphan(ptype, d, out);
                }
                None => {
                    self.orphan(ptype, d, out);
                    self.inflight.early_ping = self.lost(Dir::ToServer).then_some(at.ts);
                }
            },
            Packet::Disconnect(r) => self.on_disconnect(r, d, v5, out),
            Packet::Auth(r) => self.on_auth(r, at, info, out),
        }
    }

    fn on_connect(&mut self, c: &Connect<'_>, at: At, info: &PacketInfo, out: &mut Vec<Anomaly>) {
        if self.connect_seen {
            out.push(Anomaly::SecondConnect);
        }
        self.connect_seen = true;
        if (3..=5).contains(&c.level.0) {
            self.version = Some(c.level);
            self.version_note = Some("stated by the CONNECT");
        }
        self.client_id = Some(bounded_id(c.client_id));
        self.username = c.username.map(bounded_id);
        self.clean_start = c.flags.clean_start();
        self.keep_alive = Some(c.keep_alive);
        self.ka.requested = c.keep_alive;
        self.will = c.will.is_some();
        let p = &c.properties;
        self.auth_method = p.authentication_method().is_some();
        // The client's limits bound what the server sends (5.0 §3.1.2.11).
        let i = Dir::ToClient.index();
        self.negotiated.receive_maximum[i] = p.receive_maximum().unwrap_or(u16::MAX);
        self.negotiated.maximum_packet_size[i] = p.maximum_packet_size();
        self.negotiated.topic_alias_maximum[i] = p.topic_alias_maximum().unwrap_or(0);
        self.inflight.connect = Some(self.pending(at, info, 0));
    }

    fn on_connack(
        &mut self,
        c: &Connack<'_>,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        if c.ack_flags & 0xFE != 0 {
            out.push(Anomaly::ReservedBits("CONNACK acknowledge flags bits 7-1"));
        }
        match self.inflight.connect.take() {
            Some(p) => info.answers = Some(p.pair(at.ts)),
            None if self.connack_seen || self.connect_seen => out.push(Anomaly::Orphan(info.ptype)),
            None => {}
        }
        self.connack_seen = true;
        // The CONNACK ends an enhanced authentication exchange (5.0 §4.12): it answers the
        // client's last AUTH as well as the CONNECT.
        self.inflight.auth = [None, None];
        self.session_present = Some(c.session_present);
        self.connack_code = Some(c.code);
        self.outcome = if info.outcome >= Outcome::Failure {
            ConnOutcome::Refused(c.code)
        } else {
            ConnOutcome::Accepted
        };
        // The server's limits bound what the client sends (5.0 §3.2.2.3).
        let p = &c.properties;
        let i = Dir::ToServer.index();
        self.negotiated.receive_maximum[i] = p.receive_maximum().unwrap_or(u16::MAX);
        self.negotiated.maximum_packet_size[i] = p.maximum_packet_size();
        self.negotiated.topic_alias_maximum[i] = p.topic_alias_maximum().unwrap_or(0);
        self.negotiated.maximum_qos = p.maximum_qos().unwrap_or(2);
        self.negotiated.retain_available = p.retain_available() != Some(0);
        self.negotiated.server_keep_alive = p.server_keep_alive();
        self.ka.server = p.server_keep_alive();
        if let Some(id) = p.assigned_client_identifier() {
            self.client_id = Some(bounded_id(id));
        }
    }

    fn on_disconnect(&mut self, r: &ReasonProps<'_>, d: Dir, v5: bool, out: &mut Vec<Anomaly>) {
        self.disconnect[d.index()] = Some(r.code);
        self.inflight.auth = [None, None];
        if v5 && d == Dir::ToServer && r.code == ReasonCode(0x04) {
            out.push(Anomaly::DisconnectWithWill { will: self.will });
        }
    }

    /// AUTH (5.0 §3.15, §4.12): the server's first AUTH answers the CONNECT; each later AUTH
    /// answers the peer's last AUTH; 0x18 and 0x19 wait for the peer, 0x00 ends the exchange.
    fn on_auth(
        &mut self,
        r: &ReasonProps<'_>,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let d = at.dir;
        if let Some(p) = self.inflight.auth[d.flip().index()].take() {
            info.answers = Some(p.pair(at.ts));
        } else if let (Dir::ToClient, Some(c)) = (d, self.inflight.connect.as_ref()) {
            // The CONNECT stays pending: the CONNACK answers it too.
            info.answers = Some(c.pair(at.ts));
        } else if r.code != ReasonCode(0x19) {
            self.orphan(info.ptype, d, out);
        }
        self.inflight.auth[d.index()] =
            matches!(r.code.0, 0x18 | 0x19).then(|| self.pending(at, info, 0));
    }

    /// Bytes of direction `dir` were lost (a gap declared at `ts`); no finding may rest on what
    /// they held. Lost client bytes were sent by `ts`, maybe a PINGREQ: the client's silence
    /// is measured from `ts` at the earliest. Answers travelling that way may have been among
    /// them (`InFlight::answers_may_be_lost`), and so may requests (`orphan`).
    pub fn on_gap(&mut self, dir: Dir, ts: Ts) {
        self.on_unframed(dir, ts);
        self.lost_tail[dir.index()] = true;
    }

    /// Bytes of direction `dir` were seen but not framed (skipped while resynchronising, at
    /// `ts`): as [`ConnState::on_gap`], except that a DISCONNECT at the end of the stream would
    /// have been found in them.
    pub fn on_unframed(&mut self, dir: Dir, ts: Ts) {
        if dir == Dir::ToServer {
            self.ka.lost_client_bytes(ts);
        }
        self.inflight.answers_may_be_lost(dir);
        let last = &mut self.last_loss[dir.index()];
        *last = Some(last.map_or(ts, |t| t.max(ts)));
    }

    /// Counts a malformed packet; `reserved` names the reserved bits that made it malformed.
    pub fn on_malformed(&mut self, at: At, reserved: Option<&'static str>, out: &mut Vec<Anomaly>) {
        self.packets[at.dir.index()] += 1;
        self.lost_tail[at.dir.index()] = false;
        self.failures += 1;
        if at.dir == Dir::ToServer {
            out.extend(self.ka.client_packet(at.ts));
        }
        out.extend(reserved.map(Anomaly::ReservedBits));
    }

    /// Ends the connection at `ts`: lists unanswered requests and raises close-time findings.
    pub fn on_close(&mut self, reason: CloseReason, ts: Ts, out: &mut Vec<Anomaly>) -> ConnClose {
        if let Some(p) = self.inflight.ping.as_ref().filter(|p| !p.maybe_answered) {
            out.push(Anomaly::PingUnanswered {
                sent: p.ts,
                waited_ms: ms(ts.0 - p.ts.0),
            });
        }
        let unanswered = self.inflight.drain();
        let closed = matches!(reason, CloseReason::Fin | CloseReason::Rst);
        let client_dc = self.disconnect[Dir::ToServer.index()];
        if closed
            && self.outcome == ConnOutcome::Accepted
            && self.disconnect == [None, None]
            && self.lost_tail == [false, false]
        {
            out.push(Anomaly::ClosedWithoutDisconnect { will: self.will });
        }
        let refused = matches!(self.outcome, ConnOutcome::Refused(_));
        if let (false, None, Some((silence, keep_alive, last_client))) =
            (refused, client_dc, self.ka.overdue(ts))
        {
            let silence_ms = ms(silence);
            out.push(if closed {
                Anomaly::ClosedAfterSilence {
                    silence_ms,
                    keep_alive,
                    last_client,
                }
            } else {
                Anomaly::KeepAliveExpired {
                    silence_ms,
                    keep_alive,
                    last_client,
                }
            });
        }
        ConnClose {
            reason,
            unanswered,
            packets: self.packets,
            client_disconnected: client_dc.is_some(),
            connect_seen: self.connect_seen,
            connack: self.connack_code,
            // 5.0 §3.14.4 / 3.1.1 §3.14.4: only the client's DISCONNECT 0x00 discards the will.
            will_expected: self.will
                && self.outcome == ConnOutcome::Accepted
                && client_dc != Some(ReasonCode(0)),
            version: self.version,
            version_evidence: self.version.and(self.version_note),
        }
    }
}
