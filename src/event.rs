//! Events: the first owned copy of what the analysis found, handed to every sink in capture order.

use crate::capture::Ts;
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use crate::tcp::{CloseReason, ConnId, Dir, GapReason};
use crate::timefmt::time_of_day;
use smallvec::SmallVec;
use std::net::SocketAddr;
use std::sync::Arc;

/// Reason codes of one packet, in packet order: up to 16 kept inline (no allocation), the long
/// lists of a SUBACK on the heap.
pub type ReasonCodes = SmallVec<[ReasonCode; 16]>;

/// Who a connection is, as known when an event was made (the client id arrives with CONNECT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnLabel {
    /// Connection id.
    pub id: ConnId,
    /// Client address.
    pub client: SocketAddr,
    /// Server address.
    pub server: SocketAddr,
    /// Client identifier from CONNECT (or the broker-assigned one), when known.
    pub client_id: Option<String>,
    /// Protocol version, when known.
    pub version: Option<Version>,
}

impl ConnLabel {
    /// "client_ip:port-server_ip:port" (IPv6 in brackets), the same for every event of a connection.
    pub fn stream(&self) -> String {
        format!("{}-{}", self.client, self.server)
    }
    /// Client id when known, else the client address.
    pub fn who(&self) -> String {
        match &self.client_id {
            Some(id) if !id.is_empty() => id.clone(),
            _ => self.client.to_string(),
        }
    }
}

/// One event of the run.
#[derive(Clone, Debug)]
pub struct Event {
    /// 0-based index of the event in the run.
    pub id: u64,
    /// Capture timestamp of the frame that completed it.
    pub ts: Ts,
    /// That frame's number (0 for end-of-capture events).
    pub frame_no: u64,
    /// The connection.
    pub conn: Arc<ConnLabel>,
    /// Direction, for events that have one.
    pub dir: Option<Dir>,
    /// What happened.
    pub kind: EventKind,
    /// Anomalies found with it.
    pub anomalies: Vec<Anomaly>,
}

/// What an event is about.
#[derive(Clone, Debug)]
pub enum EventKind {
    /// An MQTT control packet (possibly malformed).
    Packet(Box<PacketInfo>),
    /// A connection carrying MQTT was first seen.
    ConnOpen,
    /// A connection ended (or the capture did).
    ConnClose(Box<ConnClose>),
    /// Bytes of one direction that were never captured.
    Gap {
        /// Stream offset.
        offset: u64,
        /// Missing bytes.
        len: u64,
        /// Why.
        reason: GapReason,
    },
    /// Bytes skipped while resynchronising on MQTT packet boundaries.
    Skipped {
        /// Stream offset.
        offset: u64,
        /// Bytes skipped.
        len: u64,
        /// Why.
        reason: String,
    },
    /// A packet larger than `--max-packet`, skipped by its length without being buffered.
    Oversize {
        /// Stream offset of its first byte.
        offset: u64,
        /// Packet type.
        ptype: PacketType,
        /// Whole packet size in bytes.
        size: u64,
    },
    /// The connection carries TLS (encrypted MQTT on 8883, for instance).
    Encrypted,
    /// Anomalies that belong to no packet (caps hit, TCP overlaps); see `Event::anomalies`.
    Anomaly,
}

/// A decoded MQTT packet, flattened for outputs.
#[derive(Clone, Debug, Default)]
pub struct PacketInfo {
    /// Packet type from the fixed header.
    pub ptype: PacketType,
    /// Fixed-header flag bits.
    pub flags: u8,
    /// Whole packet size (fixed header included).
    pub size: u32,
    /// Stream offset of the first byte.
    pub offset: u64,
    /// Protocol version used to decode it, when known.
    pub version: Option<Version>,
    /// Packet identifier.
    pub packet_id: Option<u16>,
    /// PUBLISH QoS bits as on the wire (even 3).
    pub qos: Option<u8>,
    /// PUBLISH DUP flag.
    pub dup: bool,
    /// PUBLISH RETAIN flag.
    pub retain: bool,
    /// PUBLISH topic as on the wire (may be empty when an alias is used); the text is shared
    /// between the events of a topic.
    pub topic: Option<Arc<str>>,
    /// PUBLISH Topic Alias property.
    pub topic_alias: Option<u16>,
    /// Topic after alias resolution (shared like `topic`).
    pub topic_resolved: Option<Arc<str>>,
    /// SUBSCRIBE / UNSUBSCRIBE filters.
    pub topics: Vec<TopicEntry>,
    /// Reason / return codes in packet order (implied 0x00 included).
    pub reason_codes: ReasonCodes,
    /// True when the single reason code was implied by a short form.
    pub reason_implied: bool,
    /// Reason String property.
    pub reason_string: Option<String>,
    /// User Property pairs, in packet order (MQTT 5.0 §3.x.2.x User Property).
    pub user_properties: Vec<(String, String)>,
    /// CONNECT details.
    pub connect: Option<Box<ConnectInfo>>,
    /// CONNACK Session Present flag.
    pub session_present: Option<bool>,
    /// Payload size in bytes.
    pub payload_len: Option<u32>,
    /// Bounded payload preview.
    pub payload_preview: Option<String>,
    /// Every property as (name, value) text, for details.
    pub properties: Vec<(&'static str, String)>,
    /// Why the packet is malformed, when it is.
    pub malformed: Option<String>,
    /// Worst outcome among its codes (or Malformed).
    pub outcome: Outcome,
    /// The request this packet answers.
    pub answers: Option<PairRef>,
    /// SUBACK: the outcome of each filter of the SUBSCRIBE it answers.
    pub sub_outcomes: Vec<SubOutcome>,
    /// The packet's bytes (bounded), for hex views.
    pub raw: Vec<u8>,
}

/// How a packet went, worst first: decides colours, `--errors` and exit codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Success codes only (or no code).
    #[default]
    Success,
    /// A notable success (0x04, 0x10, 0x11).
    Notice,
    /// A non-success reason or return code.
    Failure,
    /// The packet does not decode.
    Malformed,
}

/// A SUBSCRIBE or UNSUBSCRIBE filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicEntry {
    /// The topic filter.
    pub topic: String,
    /// Requested QoS (SUBSCRIBE only).
    pub qos: Option<u8>,
    /// The whole subscription options byte (SUBSCRIBE only).
    pub options: Option<u8>,
}

/// CONNECT fields worth showing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectInfo {
    /// Protocol name ("MQTT" or "MQIsdp").
    pub protocol_name: String,
    /// Protocol level byte.
    pub level: u8,
    /// Client identifier.
    pub client_id: String,
    /// Clean session / clean start.
    pub clean_start: bool,
    /// Keep-alive in seconds.
    pub keep_alive: u16,
    /// User name, when present.
    pub username: Option<String>,
    /// Password, masked unless `--show-secrets`.
    pub password: Option<String>,
    /// Will topic, when a will is set.
    pub will_topic: Option<String>,
    /// Will QoS.
    pub will_qos: u8,
    /// Will retain.
    pub will_retain: bool,
}

/// A reference from an answer to its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairRef {
    /// Event id of the request.
    pub request: u64,
    /// Request type.
    pub request_type: PacketType,
    /// Frame number of the request.
    pub request_frame: u64,
    /// Time from request to answer in nanoseconds.
    pub latency_ns: i64,
}

/// One SUBSCRIBE filter matched with its SUBACK code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubOutcome {
    /// The filter.
    pub topic: String,
    /// Requested QoS.
    pub requested_qos: u8,
    /// The code the broker answered.
    pub code: ReasonCode,
    /// True when a lower QoS than requested was granted.
    pub downgraded: bool,
}

/// The end of a connection, with its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnClose {
    /// Why tracking ended.
    pub reason: CloseReason,
    /// Requests never answered: (type, packet id, event id).
    pub unanswered: Vec<(PacketType, Option<u16>, u64)>,
    /// Packets seen in each direction.
    pub packets: [u64; 2],
    /// Whether the client sent DISCONNECT.
    pub client_disconnected: bool,
    /// Whether a CONNECT was seen on this connection.
    pub connect_seen: bool,
    /// The CONNACK code, when a CONNACK was seen (the connection's outcome).
    pub connack: Option<ReasonCode>,
    /// True when the CONNECT carried a will that the server is expected to publish: the
    /// connection was accepted and did not end with the client's DISCONNECT 0x00 (5.0 §3.1.2.5,
    /// §3.14.4; 3.1.1 §3.1.2.5).
    pub will_expected: bool,
    /// The connection's protocol version, when known.
    pub version: Option<Version>,
    /// How the version was learnt ("stated by the CONNECT", "inferred from a PUBACK with
    /// properties", "assumed (--assume-version)").
    pub version_evidence: Option<&'static str>,
}

/// A typed finding attached to an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// A retransmission or overlap carried different bytes (first copy kept).
    TcpOverlapMismatch,
    /// A reassembly cap was hit.
    CapHit(&'static str),
    /// A packet other than CONNECT before CONNECT.
    PacketBeforeConnect,
    /// A second CONNECT on one connection.
    SecondConnect,
    /// An answer with no request.
    Orphan(PacketType),
    /// A PUBREL after a PUBREC with this failure code, which ended the exchange and freed the
    /// packet id (5.0 §4.3.3): no PUBREL was due.
    PubrelAfterFailedPubrec(ReasonCode),
    /// A packet id reused while its exchange was in flight.
    PacketIdInUse(u16),
    /// QoS above the granted or maximum QoS.
    QosExceeded {
        /// QoS used.
        used: u8,
        /// QoS allowed.
        allowed: u8,
    },
    /// More unacknowledged QoS>0 PUBLISHes than Receive Maximum.
    ReceiveMaximumExceeded(u16),
    /// A packet larger than the peer's Maximum Packet Size.
    MaximumPacketSizeExceeded(u32),
    /// PUBLISH from the client before CONNACK.
    PublishBeforeConnack,
    /// Reserved bits set.
    ReservedBits(&'static str),
    /// The connection closed without DISCONNECT (the will, if any, should be published).
    ClosedWithoutDisconnect {
        /// True when the CONNECT carried a will message.
        will: bool,
    },
    /// A reason code the standard does not allow in this packet type.
    IllegalReasonCode(ReasonCode),
    /// A property not allowed in this packet type, given twice, or unknown.
    PropertyIssue(String),
    /// Topic alias above the negotiated maximum.
    TopicAliasAboveMaximum(u16),
    /// Topic alias used before it was bound.
    TopicAliasUnbound(u16),
    /// SUBACK code count differs from the SUBSCRIBE's filter count.
    SubackCountMismatch {
        /// Filters requested.
        filters: usize,
        /// Codes answered.
        codes: usize,
    },
    /// No control packet from the client within 1.5 x keep-alive (5.0 §3.1.2.10).
    KeepAliveExpired {
        /// Silence in milliseconds.
        silence_ms: u64,
        /// Keep-alive in seconds (the Server Keep Alive when the CONNACK set one).
        keep_alive: u16,
        /// Time of the client's last packet before the silence.
        last_client: Ts,
    },
    /// The connection was closed after the client was silent for over 1.5 x keep-alive (the
    /// server enforcing keep-alive, 5.0 §3.1.2.10).
    ClosedAfterSilence {
        /// Silence in milliseconds, up to the close.
        silence_ms: u64,
        /// Keep-alive in seconds.
        keep_alive: u16,
        /// Time of the client's last packet.
        last_client: Ts,
    },
    /// A PINGREQ never answered (by the next PINGREQ, the close or the end of the capture).
    PingUnanswered {
        /// Time of the PINGREQ.
        sent: Ts,
        /// How long it waited, in milliseconds.
        waited_ms: u64,
    },
    /// The client ended with DISCONNECT 0x04: the server is asked to publish the will
    /// (5.0 §3.14.2.1).
    DisconnectWithWill {
        /// True when the CONNECT carried a will message.
        will: bool,
    },
    /// A packet type the sender's side may not send (a CONNACK from the client, ...).
    WrongDirection(PacketType),
    /// A reason code the standard reserves for the other side (5.0 Tables 3-10 and 3-13).
    ReasonCodeWrongSide(ReasonCode),
    /// A retained PUBLISH from the client although the CONNACK said Retain Available 0
    /// (5.0 §3.2.2.3.5).
    RetainNotAvailable,
    /// A client reconnecting again and again after refusals.
    ReconnectStorm {
        /// Refusals in the window.
        refusals: u32,
        /// Per minute.
        per_minute: u32,
    },
}

impl Anomaly {
    /// Stable snake_case name (used in JSON and filters).
    pub fn name(&self) -> &'static str {
        match self {
            Anomaly::TcpOverlapMismatch => "tcp_overlap_mismatch",
            Anomaly::CapHit(_) => "cap_hit",
            Anomaly::PacketBeforeConnect => "packet_before_connect",
            Anomaly::SecondConnect => "second_connect",
            Anomaly::Orphan(_) => "orphan_answer",
            Anomaly::PubrelAfterFailedPubrec(_) => "pubrel_after_failed_pubrec",
            Anomaly::PacketIdInUse(_) => "packet_id_in_use",
            Anomaly::QosExceeded { .. } => "qos_exceeded",
            Anomaly::ReceiveMaximumExceeded(_) => "receive_maximum_exceeded",
            Anomaly::MaximumPacketSizeExceeded(_) => "maximum_packet_size_exceeded",
            Anomaly::PublishBeforeConnack => "publish_before_connack",
            Anomaly::ReservedBits(_) => "reserved_bits",
            Anomaly::ClosedWithoutDisconnect { .. } => "closed_without_disconnect",
            Anomaly::IllegalReasonCode(_) => "illegal_reason_code",
            Anomaly::PropertyIssue(_) => "property_issue",
            Anomaly::TopicAliasAboveMaximum(_) => "topic_alias_above_maximum",
            Anomaly::TopicAliasUnbound(_) => "topic_alias_unbound",
            Anomaly::SubackCountMismatch { .. } => "suback_count_mismatch",
            Anomaly::KeepAliveExpired { .. } => "keep_alive_expired",
            Anomaly::ClosedAfterSilence { .. } => "closed_after_silence",
            Anomaly::PingUnanswered { .. } => "ping_unanswered",
            Anomaly::DisconnectWithWill { .. } => "disconnect_with_will",
            Anomaly::WrongDirection(_) => "wrong_direction",
            Anomaly::ReasonCodeWrongSide(_) => "reason_code_wrong_side",
            Anomaly::RetainNotAvailable => "retain_not_available",
            Anomaly::ReconnectStorm { .. } => "reconnect_storm",
        }
    }

    /// A sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Anomaly::TcpOverlapMismatch => {
                "a TCP retransmission carried different bytes (first copy kept)".into()
            }
            Anomaly::CapHit(what) => format!("a memory cap was hit: {what}"),
            Anomaly::PacketBeforeConnect => "packet sent before CONNECT".into(),
            Anomaly::SecondConnect => "second CONNECT on the same connection".into(),
            Anomaly::Orphan(t) => format!("{t} answers no request seen"),
            Anomaly::PubrelAfterFailedPubrec(c) => format!(
                "PUBREL after PUBREC {c}: a failed PUBREC ends the exchange and frees the packet id, no PUBREL is due"
            ),
            Anomaly::PacketIdInUse(id) => format!("packet id {id} reused while in flight"),
            Anomaly::QosExceeded { used, allowed } => {
                format!("QoS {used} above the allowed QoS {allowed}")
            }
            Anomaly::ReceiveMaximumExceeded(m) => {
                format!("more than Receive Maximum ({m}) QoS>0 PUBLISHes in flight")
            }
            Anomaly::MaximumPacketSizeExceeded(m) => {
                format!("packet larger than the peer's Maximum Packet Size ({m} bytes)")
            }
            Anomaly::PublishBeforeConnack => "PUBLISH from the client before CONNACK".into(),
            Anomaly::ReservedBits(w) => format!("reserved bits set: {w}"),
            Anomaly::ClosedWithoutDisconnect { will: true } => {
                "connection closed without DISCONNECT: the will message should be published".into()
            }
            Anomaly::ClosedWithoutDisconnect { will: false } => {
                "connection closed without DISCONNECT (no will message was set)".into()
            }
            Anomaly::IllegalReasonCode(c) => {
                format!("reason code {c} is not allowed in this packet type")
            }
            Anomaly::PropertyIssue(s) => s.clone(),
            Anomaly::TopicAliasAboveMaximum(a) => {
                format!("topic alias {a} above the negotiated Topic Alias Maximum")
            }
            Anomaly::TopicAliasUnbound(a) => format!("topic alias {a} used before it was bound"),
            Anomaly::SubackCountMismatch { filters, codes } => {
                format!("SUBACK has {codes} codes for {filters} filters")
            }
            Anomaly::KeepAliveExpired {
                silence_ms,
                keep_alive,
                last_client,
            } => format!(
                "no packet from the client for {:.1} s since {}, over 1.5 x keep-alive ({keep_alive} s)",
                *silence_ms as f64 / 1000.0,
                clock(*last_client)
            ),
            Anomaly::ClosedAfterSilence {
                silence_ms,
                keep_alive,
                last_client,
            } => format!(
                "connection closed after {:.1} s without a packet from the client (last at {}), over 1.5 x keep-alive ({keep_alive} s)",
                *silence_ms as f64 / 1000.0,
                clock(*last_client)
            ),
            Anomaly::PingUnanswered { sent, waited_ms } => format!(
                "PINGREQ sent at {} never answered ({:.1} s waited)",
                clock(*sent),
                *waited_ms as f64 / 1000.0
            ),
            Anomaly::DisconnectWithWill { will: true } => {
                "DISCONNECT 0x04: the client asks for its will message to be published".into()
            }
            Anomaly::DisconnectWithWill { will: false } => {
                "DISCONNECT 0x04 (Disconnect with Will Message) but the CONNECT set no will".into()
            }
            Anomaly::WrongDirection(t) => {
                format!("{t} sent by the wrong side (clients and servers send different types)")
            }
            Anomaly::ReasonCodeWrongSide(c) => {
                format!("reason code {c} may only be sent by the other side")
            }
            Anomaly::RetainNotAvailable => {
                "retained PUBLISH although the server said Retain Available 0".into()
            }
            Anomaly::ReconnectStorm {
                refusals,
                per_minute,
            } => format!(
                "reconnect storm: {refusals} refusals in a row, {per_minute} connections per minute"
            ),
        }
    }
}

/// A capture time as `HH:MM:SS.ffffff` UTC, for anomaly sentences.
fn clock(ts: Ts) -> String {
    let mut s = String::new();
    time_of_day(ts, &mut s);
    s
}
