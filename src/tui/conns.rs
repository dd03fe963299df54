//! Per-connection data for the Connections view, derived from events (open, packets, close).

use super::store::Sym;
use crate::event::Outcome;
use crate::mqtt::types::{PacketType, ReasonCode, Version};
use crate::report::latency::Latency;
use crate::tcp::{CloseReason, ConnId};
use std::collections::HashMap;
use std::net::SocketAddr;

/// One connection as seen so far.
#[derive(Clone, Debug)]
pub struct ConnStat {
    /// Connection id.
    pub id: ConnId,
    /// Client address.
    pub client: SocketAddr,
    /// Server address.
    pub server: SocketAddr,
    /// Client id (once CONNECT is seen).
    pub client_id: Sym,
    /// Protocol version.
    pub version: Option<Version>,
    /// Why it closed, or None while open.
    pub closed: Option<CloseReason>,
    /// The CONNACK code and its outcome.
    pub connack: Option<(ReasonCode, Outcome)>,
    /// MQTT packets.
    pub packets: u64,
    /// Packets with a failure code or malformed.
    pub failures: u64,
    /// Anomalies.
    pub anomalies: u64,
    /// Latency of every answer on it.
    pub latency: Latency,
    /// Earlier connections with the same client id.
    pub reconnects: u32,
    /// Event id of its first event.
    pub first_event: u64,
}

/// All connections in order of first appearance.
#[derive(Default)]
pub struct ConnTable {
    /// The connections.
    pub list: Vec<ConnStat>,
    by_id: HashMap<ConnId, u32>,
    per_client: HashMap<Sym, u32>,
}

impl ConnTable {
    /// The index of connection `id`, added when new.
    pub fn index(&mut self, id: ConnId, client: SocketAddr, server: SocketAddr, ev: u64) -> u32 {
        if let Some(&i) = self.by_id.get(&id) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(ConnStat {
            id,
            client,
            server,
            client_id: Sym::NONE,
            version: None,
            closed: None,
            connack: None,
            packets: 0,
            failures: 0,
            anomalies: 0,
            latency: Latency::default(),
            reconnects: 0,
            first_event: ev,
        });
        self.by_id.insert(id, i);
        i
    }

    /// Counts one packet on connection `i`.
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        i: u32,
        ptype: PacketType,
        outcome: Outcome,
        code: Option<ReasonCode>,
        client_id: Sym,
        version: Option<Version>,
        latency: Option<i64>,
    ) {
        let mut new_client = None;
        if let Some(c) = self.list.get_mut(i as usize) {
            c.packets += 1;
            if outcome >= Outcome::Failure {
                c.failures += 1;
            }
            if version.is_some() {
                c.version = version;
            }
            if ptype == PacketType::CONNECT && client_id != Sym::NONE && c.client_id == Sym::NONE {
                c.client_id = client_id;
                new_client = Some(client_id);
            }
            if ptype == PacketType::CONNACK && c.connack.is_none() {
                c.connack = code.map(|k| (k, outcome));
            }
            if let Some(l) = latency {
                c.latency.add(l);
            }
        }
        if let Some(s) = new_client {
            let n = self.per_client.entry(s).or_default();
            if let Some(c) = self.list.get_mut(i as usize) {
                c.reconnects = *n;
            }
            *n += 1;
        }
    }

    /// Marks connection `i` closed.
    pub fn close(&mut self, i: u32, reason: CloseReason) {
        if let Some(c) = self.list.get_mut(i as usize) {
            c.closed = Some(reason);
        }
    }

    /// Adds anomalies to connection `i`.
    pub fn anomalies(&mut self, i: u32, n: usize) {
        if let Some(c) = self.list.get_mut(i as usize) {
            c.anomalies += n as u64;
        }
    }
}
