//! Requests awaiting their answers: packet-id exchanges, CONNECT, PINGREQ and AUTH.

use crate::capture::Ts;
use crate::event::PairRef;
use crate::mqtt::types::PacketType;
use crate::tcp::Dir;
use std::collections::{HashMap, VecDeque};

/// A request waiting for its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Request type.
    pub ptype: PacketType,
    /// Event id of the request.
    pub event: u64,
    /// Frame number of the request.
    pub frame: u64,
    /// Its timestamp.
    pub ts: Ts,
    /// QoS of a PUBLISH request.
    pub qos: u8,
    /// SUBSCRIBE filters with their requested QoS.
    pub filters: Vec<(String, u8)>,
}

impl Pending {
    /// The reference an answer at `ts` carries.
    pub fn pair(&self, ts: Ts) -> PairRef {
        PairRef {
            request: self.event,
            request_type: self.ptype,
            request_frame: self.frame,
            latency_ns: ts.0 - self.ts.0,
        }
    }
}

/// The answer expected for a request type, and the direction it travels relative to the request.
pub fn expected_answer(request: PacketType, qos: u8) -> Option<PacketType> {
    Some(match request {
        PacketType::CONNECT => PacketType::CONNACK,
        PacketType::PUBLISH if qos == 1 => PacketType::PUBACK,
        PacketType::PUBLISH if qos == 2 => PacketType::PUBREC,
        PacketType::PUBREC => PacketType::PUBREL,
        PacketType::PUBREL => PacketType::PUBCOMP,
        PacketType::SUBSCRIBE => PacketType::SUBACK,
        PacketType::UNSUBSCRIBE => PacketType::UNSUBACK,
        PacketType::PINGREQ => PacketType::PINGRESP,
        _ => return None,
    })
}

/// In-flight requests of one connection, bounded by a cap.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    /// Packet-id exchanges keyed by (direction of the exchange's originator, packet id).
    by_id: HashMap<(Dir, u16), Pending>,
    /// CONNECT awaiting CONNACK.
    pub connect: Option<Pending>,
    /// PINGREQs awaiting PINGRESP, oldest first.
    pings: VecDeque<Pending>,
    /// Last AUTH sent in each direction, awaiting the peer's AUTH or CONNACK.
    pub auth: [Option<Pending>; 2],
    cap: usize,
}

/// What happened when a request was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Recorded.
    Ok,
    /// The packet id was already in flight (the old request was replaced).
    IdInUse,
    /// The cap was hit; the request is not tracked.
    Cap,
}

impl InFlight {
    /// An empty table holding at most `cap` packet-id exchanges and pings.
    pub fn new(cap: usize) -> Self {
        InFlight {
            cap: cap.max(1),
            ..Self::default()
        }
    }

    /// Packet-id exchanges and pings held.
    pub fn len(&self) -> usize {
        self.by_id.len() + self.pings.len()
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes the cap on packet-id exchanges (lowered under memory pressure).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Records a packet-id request from `origin`.
    pub fn record_id(&mut self, origin: Dir, id: u16, p: Pending) -> Record {
        if let Some(old) = self.by_id.get_mut(&(origin, id)) {
            *old = p;
            return Record::IdInUse;
        }
        if self.by_id.len() >= self.cap {
            return Record::Cap;
        }
        self.by_id.insert((origin, id), p);
        Record::Ok
    }

    /// Replaces a request in place (a PUBREC moves the exchange to its PUBREL step).
    pub fn replace_id(&mut self, origin: Dir, id: u16, p: Pending) {
        if self.by_id.len() < self.cap || self.by_id.contains_key(&(origin, id)) {
            self.by_id.insert((origin, id), p);
        }
    }

    /// The request with this id from `origin`, if it is of type `ptype`.
    pub fn peek_id(&self, origin: Dir, id: u16) -> Option<&Pending> {
        self.by_id.get(&(origin, id))
    }

    /// Removes and returns the request with this id from `origin` when it is of type `want`.
    pub fn take_id(&mut self, origin: Dir, id: u16, want: PacketType) -> Option<Pending> {
        match self.by_id.get(&(origin, id)) {
            Some(p) if p.ptype == want => self.by_id.remove(&(origin, id)),
            _ => None,
        }
    }

    /// Unacknowledged QoS>0 PUBLISHes sent from `origin`.
    pub fn publishes_in_flight(&self, origin: Dir) -> usize {
        self.by_id
            .iter()
            .filter(|((d, _), p)| {
                *d == origin && (p.ptype == PacketType::PUBLISH || p.ptype == PacketType::PUBREC)
            })
            .count()
    }

    /// Records a PINGREQ; returns false when the oldest ping was dropped to stay under the cap.
    pub fn record_ping(&mut self, p: Pending) -> bool {
        let mut ok = true;
        if self.pings.len() >= self.cap.min(1024) {
            self.pings.pop_front();
            ok = false;
        }
        self.pings.push_back(p);
        ok
    }

    /// PINGREQs not yet answered.
    pub fn pings_waiting(&self) -> usize {
        self.pings.len()
    }

    /// Takes the oldest PINGREQ.
    pub fn take_ping(&mut self) -> Option<Pending> {
        self.pings.pop_front()
    }

    /// Every request still waiting, in request order.
    pub fn drain(&mut self) -> Vec<(PacketType, Option<u16>, u64)> {
        let mut v: Vec<(PacketType, Option<u16>, u64)> = self
            .by_id
            .drain()
            .map(|((_, id), p)| (p.ptype, Some(id), p.event))
            .collect();
        v.extend(self.connect.take().map(|p| (p.ptype, None, p.event)));
        v.extend(self.pings.drain(..).map(|p| (p.ptype, None, p.event)));
        for a in self.auth.iter_mut() {
            v.extend(a.take().map(|p| (p.ptype, None, p.event)));
        }
        v.sort_by_key(|x| x.2);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: PacketType, ev: u64) -> Pending {
        Pending {
            ptype: t,
            event: ev,
            frame: ev,
            ts: Ts(ev as i64 * 1000),
            qos: 1,
            filters: vec![],
        }
    }

    #[test]
    fn ids_are_per_originator_and_typed() {
        let mut f = InFlight::new(10);
        assert_eq!(
            f.record_id(Dir::ToServer, 5, p(PacketType::PUBLISH, 1)),
            Record::Ok
        );
        assert_eq!(
            f.record_id(Dir::ToClient, 5, p(PacketType::PUBLISH, 2)),
            Record::Ok
        );
        assert_eq!(
            f.record_id(Dir::ToServer, 5, p(PacketType::SUBSCRIBE, 3)),
            Record::IdInUse
        );
        assert!(f.take_id(Dir::ToServer, 5, PacketType::PUBLISH).is_none());
        assert_eq!(
            f.take_id(Dir::ToServer, 5, PacketType::SUBSCRIBE)
                .map(|x| x.event),
            Some(3)
        );
        assert_eq!(f.publishes_in_flight(Dir::ToClient), 1);
        assert_eq!(f.drain(), vec![(PacketType::PUBLISH, Some(5), 2)]);
    }

    #[test]
    fn cap_is_enforced() {
        let mut f = InFlight::new(2);
        assert_eq!(
            f.record_id(Dir::ToServer, 1, p(PacketType::PUBLISH, 1)),
            Record::Ok
        );
        assert_eq!(
            f.record_id(Dir::ToServer, 2, p(PacketType::PUBLISH, 2)),
            Record::Ok
        );
        assert_eq!(
            f.record_id(Dir::ToServer, 3, p(PacketType::PUBLISH, 3)),
            Record::Cap
        );
    }
}
