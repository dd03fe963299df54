//! Run totals: counts per type, reason code, client and anomaly, latencies and capture statistics.

pub mod clients;
pub mod code_rows;
pub mod counts;
pub mod latency;

use crate::event::{Anomaly, ConnLabel, Event, EventKind, Outcome};
use crate::label_cache::LabelCache;
use crate::mqtt::types::{PacketType, ReasonCode};
pub use clients::ClientTable;
pub use counts::{CodeCounts, LatencyKinds, PairKind, TypeCounts};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Counts about one client id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTotals {
    /// Connections whose CONNECT carried this id (or whose CONNACK assigned it), counted when
    /// they end; a second CONNECT on one connection does not count.
    pub connections: u64,
    /// Those connections refused by their CONNACK.
    pub refused: u64,
    /// Requests left unanswered on those connections.
    pub unanswered: u64,
    /// Reconnect storms called out for this client.
    pub storms: u64,
    /// Highest reconnect rate of those storms, per minute.
    pub storm_peak_per_minute: u32,
    /// MQTT packets on those connections.
    pub packets: u64,
    /// Non-success codes by (packet type, code).
    pub failures: BTreeMap<(PacketType, ReasonCode), u64>,
    /// Latency per pair kind.
    pub latency: LatencyKinds,
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

/// Everything counted over a run (on cache lines of its own, like the pipeline's stages).
#[derive(Clone, Debug, Default)]
#[repr(align(128))]
pub struct Totals {
    /// MQTT packets (malformed included).
    pub packets: u64,
    /// Packets per type and direction (0: to server, 1: to client).
    pub by_type: TypeCounts,
    /// Codes seen: (packet type, version, code) -> count.
    pub codes: CodeCounts,
    /// Packets with a failure code.
    pub failures: u64,
    /// Packets with a notable success code.
    pub notices: u64,
    /// Malformed packets.
    pub malformed: u64,
    /// Anomalies by name.
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Per client id, for the first [`MAX_CLIENTS`] ids seen.
    pub clients: ClientTable,
    /// Clients past [`MAX_CLIENTS`], folded together so memory does not follow capture size.
    pub other_clients: ClientTotals,
    /// Latency per pair kind over all clients.
    pub latency: LatencyKinds,
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
    /// Slots of the "(empty id) ADDRESS" keys by address, so an empty id costs no formatting.
    pub(crate) empty_ids: std::collections::HashMap<std::net::IpAddr, u32, clients::FastState>,
    /// Where the client totals of recent connections are: most events find their client
    /// without hashing its id.
    pub(crate) conn_clients: LabelCache<ClientRef>,
}

/// Where a connection's client totals are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientRef {
    /// The connection has no client id (yet).
    NoId,
    /// A slot of `Totals::clients`.
    Slot(u32),
    /// `Totals::other_clients`.
    Other,
}

/// Distinct client ids counted one by one; later ids are folded into `Totals::other_clients`.
pub const MAX_CLIENTS: usize = 10_000;

/// The per-client key of a connection: its client id, or "(empty id) ADDRESS" when the id is
/// empty (refused or broker-assigned ids).
pub fn client_key(label: &ConnLabel) -> Option<String> {
    match label.client_id.as_deref() {
        Some("") => Some(format!("(empty id) {}", label.client.ip())),
        id => id.map(str::to_string),
    }
}

/// The name of a request/answer pair kind, from the request's and the answer's types.
pub fn pair_kind(request: PacketType, answer: PacketType) -> &'static str {
    PairKind::of(request, answer).name()
}

impl Totals {
    /// Where the totals of a connection's client are: one hashed lookup, the key copied only
    /// for a new client; past [`MAX_CLIENTS`] ids, the shared `other_clients`.
    #[inline(never)]
    fn lookup_client(&mut self, label: &ConnLabel) -> ClientRef {
        let Some(id) = label.client_id.as_deref() else {
            return ClientRef::NoId;
        };
        let known = if id.is_empty() {
            self.empty_ids.get(&label.client.ip()).copied()
        } else {
            self.clients.slot(id)
        };
        if let Some(s) = known {
            return ClientRef::Slot(s);
        }
        let Some(key) = client_key(label) else {
            return ClientRef::NoId;
        };
        let s = match self.clients.slot(&key) {
            Some(s) => s,
            None if self.clients.len() < MAX_CLIENTS => self.clients.insert(key),
            None => return ClientRef::Other,
        };
        if id.is_empty() {
            self.empty_ids.insert(label.client.ip(), s);
        }
        ClientRef::Slot(s)
    }

    /// [`Totals::lookup_client`] through the per-connection cache. A label's answer never
    /// changes: its id is fixed, a slot stays, and the table only grows (a key that found it
    /// full would find it full again).
    #[inline(always)]
    fn client_ref(&mut self, label: &Arc<ConnLabel>) -> ClientRef {
        let mut cache = std::mem::take(&mut self.conn_clients);
        let r = cache
            .get_or_make(label, |l, _| self.lookup_client(l))
            .copied()
            .unwrap_or(ClientRef::NoId);
        self.conn_clients = cache;
        r
    }

    /// The totals of a connection's client, when it has a client id.
    #[inline]
    fn client_mut(&mut self, label: &Arc<ConnLabel>) -> Option<&mut ClientTotals> {
        match self.client_ref(label) {
            ClientRef::NoId => None,
            ClientRef::Slot(s) => self.clients.at_mut(s),
            ClientRef::Other => Some(&mut self.other_clients),
        }
    }

    /// Counts one event.
    pub fn add(&mut self, ev: &Event) {
        for a in &ev.anomalies {
            *self.anomalies.entry(a.name()).or_default() += 1;
            if let Anomaly::ReconnectStorm { per_minute, .. } = a {
                if let Some(c) = self.client_mut(&ev.conn) {
                    c.storms += 1;
                    c.storm_peak_per_minute = c.storm_peak_per_minute.max(*per_minute);
                }
            }
        }
        match &ev.kind {
            EventKind::Packet(p) => {
                self.packets += 1;
                let d = ev.dir.map_or(0, |d| d.index());
                self.by_type.add(p.ptype, d);
                match p.outcome {
                    Outcome::Failure => self.failures += 1,
                    Outcome::Notice => self.notices += 1,
                    Outcome::Malformed => self.malformed += 1,
                    Outcome::Success => {}
                }
                for c in &p.reason_codes {
                    self.codes.add((p.ptype, p.version, *c));
                }
                let pair = p
                    .answers
                    .map(|a| (PairKind::of(a.request_type, p.ptype), a.latency_ns));
                if let Some((kind, ns)) = pair {
                    self.latency.add(kind, ns);
                }
                if let Some(c) = self.client_mut(&ev.conn) {
                    c.packets += 1;
                    if p.ptype == PacketType::CONNACK && p.outcome == Outcome::Failure {
                        c.refused += 1;
                    }
                    if p.outcome == Outcome::Failure {
                        // In a SUBACK or UNSUBACK only the codes from 0x80 up failed (every
                        // version); a single code is the packet's outcome.
                        let single = p.reason_codes.len() == 1;
                        for code in p.reason_codes.iter().filter(|c| single || c.0 >= 0x80) {
                            *c.failures.entry((p.ptype, *code)).or_default() += 1;
                        }
                    }
                    if let Some((kind, ns)) = pair {
                        c.latency.add(kind, ns);
                    }
                }
            }
            EventKind::ConnClose(c) => {
                self.unanswered += c.unanswered.len() as u64;
                if c.connect_seen {
                    if let Some(t) = self.client_mut(&ev.conn) {
                        t.connections += 1;
                        t.unanswered += c.unanswered.len() as u64;
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Ts;
    use crate::event::{ConnLabel, PacketInfo};
    use crate::tcp::{ConnId, Dir};
    use std::sync::Arc;

    fn connect_from(id: &str) -> Event {
        Event {
            id: 0,
            ts: Ts(0),
            frame_no: 1,
            conn: Arc::new(ConnLabel {
                id: ConnId(0),
                client: "10.0.0.2:4000".parse().unwrap(),
                server: "10.0.0.1:1883".parse().unwrap(),
                client_id: Some(id.to_string()),
                version: None,
            }),
            dir: Some(Dir::ToServer),
            kind: EventKind::Packet(Box::new(PacketInfo {
                ptype: PacketType::CONNECT,
                ..PacketInfo::default()
            })),
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn client_table_stops_growing_at_the_cap() {
        let mut t = Totals::default();
        for i in 0..MAX_CLIENTS + 5 {
            t.add(&connect_from(&format!("c{i}")));
        }
        // A known client keeps counting on its own entry after the cap.
        t.add(&connect_from("c0"));
        assert_eq!(t.clients.len(), MAX_CLIENTS);
        assert_eq!(t.other_clients.packets, 5);
        assert_eq!(t.clients.get("c0").map(|c| c.packets), Some(2));
        assert_eq!(t.packets, MAX_CLIENTS as u64 + 6);
    }
}
