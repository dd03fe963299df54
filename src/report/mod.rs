//! Run totals: counts per type, reason code, client and anomaly, latencies and capture statistics.

pub mod latency;

use crate::event::{Event, EventKind, Outcome};
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use latency::Latency;
use std::collections::BTreeMap;

/// Counts about one client id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTotals {
    /// Connections that sent CONNECT with this id.
    pub connections: u64,
    /// MQTT packets on those connections.
    pub packets: u64,
    /// Non-success codes by (packet type, code).
    pub failures: BTreeMap<(PacketType, ReasonCode), u64>,
    /// Latency per pair kind.
    pub latency: BTreeMap<&'static str, Latency>,
}

/// Statistics of the layers below MQTT, filled in by the pipeline at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Frames read.
    pub frames: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// Frames per link type name.
    pub link_types: BTreeMap<String, u64>,
    /// Frames that were not TCP, by what they were.
    pub not_tcp: BTreeMap<String, u64>,
    /// TCP connections seen.
    pub tcp_connections: u64,
    /// Connections that carried MQTT.
    pub mqtt_connections: u64,
    /// Caps hit, by name.
    pub caps_hit: BTreeMap<String, u64>,
    /// Frames dropped by the kernel (live).
    pub kernel_drops: Option<u64>,
    /// Frames the BPF filter rejected.
    pub filtered: u64,
    /// The damage that stopped reading, if any.
    pub damage: Option<String>,
}

/// Distinct client ids counted one by one; the rest are counted under `OTHER_CLIENTS`.
pub const MAX_CLIENTS: usize = 10_000;
/// The entry of `Totals::clients` that counts the clients past `MAX_CLIENTS`.
pub const OTHER_CLIENTS: &str = "(other clients)";

/// Everything counted over a run.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// MQTT packets (malformed included).
    pub packets: u64,
    /// Packets per type and direction (0: to server, 1: to client).
    pub by_type: BTreeMap<PacketType, [u64; 2]>,
    /// Codes seen: (packet type, version, code) -> count.
    pub codes: BTreeMap<(PacketType, Option<Version>, ReasonCode), u64>,
    /// Packets with a failure code.
    pub failures: u64,
    /// Packets with a notable success code.
    pub notices: u64,
    /// Malformed packets.
    pub malformed: u64,
    /// Anomalies by name.
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Per client id.
    pub clients: BTreeMap<String, ClientTotals>,
    /// Latency per pair kind over all clients.
    pub latency: BTreeMap<&'static str, Latency>,
    /// Requests never answered.
    pub unanswered: u64,
    /// Stream gaps and their bytes.
    pub gaps: (u64, u64),
    /// Bytes skipped while resynchronising.
    pub skipped_bytes: u64,
    /// Packets over the size cap.
    pub oversize: u64,
    /// Connections recognised as TLS.
    pub encrypted: u64,
    /// Lower layers.
    pub capture: CaptureTotals,
}

/// The name of a request/answer pair kind, from the answer's type.
pub fn pair_kind(answer: PacketType) -> &'static str {
    match answer {
        PacketType::CONNACK => "CONNECT-CONNACK",
        PacketType::PUBACK => "PUBLISH-PUBACK",
        PacketType::PUBREC => "PUBLISH-PUBREC",
        PacketType::PUBREL => "PUBREC-PUBREL",
        PacketType::PUBCOMP => "PUBREL-PUBCOMP",
        PacketType::SUBACK => "SUBSCRIBE-SUBACK",
        PacketType::UNSUBACK => "UNSUBSCRIBE-UNSUBACK",
        PacketType::PINGRESP => "PINGREQ-PINGRESP",
        PacketType::AUTH => "AUTH-AUTH",
        _ => "other",
    }
}

impl Totals {
    /// Counts one event.
    pub fn add(&mut self, ev: &Event) {
        for a in &ev.anomalies {
            *self.anomalies.entry(a.name()).or_default() += 1;
        }
        match &ev.kind {
            EventKind::Packet(p) => {
                self.packets += 1;
                let d = ev.dir.map_or(0, |d| d.index());
                self.by_type.entry(p.ptype).or_default()[d] += 1;
                match p.outcome {
                    Outcome::Failure => self.failures += 1,
                    Outcome::Notice => self.notices += 1,
                    Outcome::Malformed => self.malformed += 1,
                    Outcome::Success => {}
                }
                for c in &p.reason_codes {
                    *self.codes.entry((p.ptype, p.version, *c)).or_default() += 1;
                }
                let client = ev.conn.client_id.as_deref().map(|id| {
                    // Past MAX_CLIENTS distinct ids, new ones are counted together.
                    let key = if self.clients.len() >= MAX_CLIENTS && !self.clients.contains_key(id)
                    {
                        OTHER_CLIENTS
                    } else {
                        id
                    };
                    let c = self.clients.entry(key.to_string()).or_default();
                    c.packets += 1;
                    if p.ptype == PacketType::CONNECT && p.malformed.is_none() {
                        c.connections += 1;
                    }
                    if p.outcome == Outcome::Failure {
                        for code in &p.reason_codes {
                            *c.failures.entry((p.ptype, *code)).or_default() += 1;
                        }
                    }
                    c
                });
                if let Some(a) = p.answers {
                    let kind = pair_kind(p.ptype);
                    if let Some(c) = client {
                        c.latency.entry(kind).or_default().add(a.latency_ns);
                    }
                    self.latency.entry(kind).or_default().add(a.latency_ns);
                }
            }
            EventKind::ConnClose(c) => self.unanswered += c.unanswered.len() as u64,
            EventKind::Gap { len, .. } => {
                self.gaps.0 += 1;
                self.gaps.1 += len;
            }
            EventKind::Skipped { len, .. } => self.skipped_bytes += len,
            EventKind::Oversize { .. } => self.oversize += 1,
            EventKind::Encrypted => self.encrypted += 1,
            EventKind::ConnOpen | EventKind::Anomaly => {}
        }
    }

    /// Total anomalies.
    pub fn anomaly_count(&self) -> u64 {
        self.anomalies.values().sum()
    }
}
