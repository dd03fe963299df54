//! The TCP reassembler: segments in, ordered stream events out, for every connection at once.

use super::conn::{orient, Conn, Verdict};
use super::stats::{Emitter, TcpStats};
use super::table::{key, List, State, Table};
use super::{CloseReason, ConnId, ConnInfo, Dir, StreamEvent, TcpAnomaly};
use crate::capture::Ts;
use crate::limits::Limits;
use crate::net::{TcpFlags, TcpSegment};

/// Reassembles every TCP connection of a capture into per-direction byte streams with gaps.
///
/// Feed segments in capture order with [`Reassembler::segment`], then call
/// [`Reassembler::finish`] once. Events borrow either the segment's payload (in-order data, no
/// copy) or the reassembler's buffer, so a consumer that needs them later must copy them.
/// The same input always produces the same events.
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    mqtt_ports: Vec<u16>,
    table: Table,
    next_id: u64,
    stats: TcpStats,
    last_ts: Ts,
    /// `Limits::flow_idle_secs` in nanoseconds.
    idle_ns: i64,
}

fn secs_to_ns(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX)
}

impl Reassembler {
    /// A reassembler with the caps of `limits`; `mqtt_ports` orients connections picked up
    /// mid-stream (the side not on one of these ports is the client).
    /// The connection cap is `Limits::flow_budget` and the buffered bytes of all connections
    /// together stay under `Limits::tcp_budget`.
    pub fn new(limits: &Limits, mqtt_ports: &[u16]) -> Self {
        let mut limits = limits.clone();
        limits.max_flows = limits.flow_budget();
        let idle_ns = secs_to_ns(limits.flow_idle_secs);
        Reassembler {
            limits,
            mqtt_ports: mqtt_ports.to_vec(),
            table: Table::new(),
            next_id: 0,
            stats: TcpStats::default(),
            last_ts: Ts(i64::MIN),
            idle_ns,
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }

    /// Out-of-order bytes the reassembler may hold across all connections.
    pub fn budget(&self) -> usize {
        self.limits.tcp_budget()
    }

    /// Connections tracked at once (`Limits::flow_budget`).
    pub fn max_flows(&self) -> usize {
        self.limits.max_flows
    }

    /// Number of connections currently open.
    pub fn open_connections(&self) -> usize {
        self.table.len(List::Live)
    }

    /// Takes in one segment and emits the events it causes, in order.
    pub fn segment(&mut self, seg: &TcpSegment<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        self.stats.segments += 1;
        let now = seg.ts;
        self.last_ts = self.last_ts.max(now);
        let mut em = Emitter {
            out,
            stats: &mut self.stats,
            ts: now,
            frame_no: seg.frame_no,
        };
        expire_idle(&mut self.table, &mut em, self.idle_ns);
        if let Some(idx) = self.table.find(&seg.src, &seg.dst) {
            match self.table.state_mut(idx) {
                Some(State::Live(conn)) => {
                    let dir = conn.dir_of(seg.src);
                    if conn.is_new_syn(dir, seg) {
                        // The 4-tuple was reused without us seeing the old connection end.
                        conn.close(&mut em);
                        em.close(conn.info.id, CloseReason::Idle);
                        em.stats.superseded += 1;
                        self.table.remove(idx);
                    } else {
                        let verdict = conn.segment(&mut em, seg, dir, &self.limits);
                        let id = conn.info.id;
                        self.table.touch(idx, now);
                        if verdict == Verdict::Open {
                            return;
                        }
                        after(
                            &mut self.table,
                            self.limits.max_flows,
                            idx,
                            id,
                            verdict,
                            &mut em,
                        );
                        return;
                    }
                }
                Some(State::Tomb(t)) => {
                    if !t.is_new_syn(seg) {
                        em.stats.stragglers += 1;
                        return;
                    }
                    self.table.remove(idx);
                }
                _ => {}
            }
        }
        if seg.flags.has(TcpFlags::RST) {
            // A reset of a connection we never saw opens nothing.
            em.stats.stragglers += 1;
            return;
        }
        // At the cap, the least recently used connection goes: as idle when it has been silent
        // for the idle timeout, else evicted (an anomaly).
        let idle_ns = self.idle_ns;
        while self.table.len(List::Live) >= self.limits.max_flows.max(1) {
            let Some((old, last)) = self.table.oldest(List::Live) else {
                break;
            };
            if let State::Live(mut conn) = self.table.remove(old) {
                conn.close(&mut em);
                if now.0.saturating_sub(last.0) > idle_ns {
                    em.close(conn.info.id, CloseReason::Idle);
                    em.stats.idle_expiries += 1;
                } else {
                    em.anomaly(conn.info.id, Dir::ToServer, TcpAnomaly::FlowCap);
                    em.close(conn.info.id, CloseReason::Evicted);
                    em.stats.evictions += 1;
                }
            }
        }
        let (client, server, oriented_by) = orient(seg, &self.mqtt_ports);
        let id = ConnId(self.next_id);
        self.next_id += 1;
        let info = ConnInfo {
            id,
            client,
            server,
            oriented_by,
            ts: now,
            frame_no: seg.frame_no,
        };
        em.stats.opened += 1;
        (em.out)(StreamEvent::Open(info));
        let mut conn = Box::new(Conn::new(info));
        let verdict = conn.segment(&mut em, seg, conn.dir_of(seg.src), &self.limits);
        let idx = self
            .table
            .insert(key(seg.src, seg.dst), State::Live(conn), now);
        after(
            &mut self.table,
            self.limits.max_flows,
            idx,
            id,
            verdict,
            &mut em,
        );
    }

    /// Ends the capture: every open hole becomes a `Gap{Closed}`, then every open connection
    /// gets `Close{EndOfCapture}`, in `ConnId` order. The reassembler is empty afterwards.
    pub fn finish(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let ts = if self.last_ts == Ts(i64::MIN) {
            Ts(0)
        } else {
            self.last_ts
        };
        let mut em = Emitter {
            out,
            stats: &mut self.stats,
            ts,
            frame_no: 0,
        };
        let mut live: Vec<(ConnId, u32)> = Vec::new();
        for idx in self.table.live_slots().collect::<Vec<_>>() {
            if let Some(State::Live(conn)) = self.table.state_mut(idx) {
                live.push((conn.info.id, idx));
            }
        }
        live.sort_unstable();
        for (id, idx) in live {
            if let Some(State::Live(conn)) = self.table.state_mut(idx) {
                conn.close(&mut em);
                em.close(id, CloseReason::EndOfCapture);
            }
        }
        self.table.clear();
    }
}

/// Forgets closed connections silent for more than `idle_ns` of capture time. Open connections
/// are not expired by time alone: long-lived MQTT connections often go quiet for longer than any
/// timeout; they are closed as idle only when the connection cap needs their slot.
#[inline]
fn expire_idle(table: &mut Table, em: &mut Emitter<'_, '_>, idle_ns: i64) {
    if table.len(List::Tomb) == 0 {
        return;
    }
    let now = em.ts;
    for list in [List::Tomb] {
        while let Some((idx, last)) = table.oldest(list) {
            if now.0.saturating_sub(last.0) <= idle_ns {
                break;
            }
            if let State::Live(mut conn) = table.remove(idx) {
                conn.close(em);
                em.close(conn.info.id, CloseReason::Idle);
                em.stats.idle_expiries += 1;
            }
        }
    }
}

/// Turns a connection closed by its segment into a tomb, and keeps tombs under the cap.
fn after(
    table: &mut Table,
    max_flows: usize,
    idx: u32,
    id: ConnId,
    verdict: Verdict,
    em: &mut Emitter<'_, '_>,
) {
    let Verdict::Closed(reason) = verdict else {
        return;
    };
    em.close(id, reason);
    if let Some(State::Live(conn)) = table.state_mut(idx) {
        let tomb = conn.tomb();
        table.set_state(idx, State::Tomb(tomb), em.ts);
    }
    while table.len(List::Tomb) > max_flows.max(1) {
        let Some((old, _)) = table.oldest(List::Tomb) else {
            break;
        };
        table.remove(old);
    }
}
