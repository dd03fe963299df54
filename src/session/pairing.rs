//! Requests awaiting their answers: packet-id exchanges, CONNECT, PINGREQ and AUTH.

use crate::capture::Ts;
use crate::event::PairRef;
use crate::mqtt::types::PacketType;
use crate::tcp::Dir;
use std::collections::HashMap;

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
    /// Bytes of the answer's direction were lost since: the answer may have been among them.
    pub maybe_answered: bool,
    /// A step tracked without its request (a PUBREC whose PUBLISH was not seen): the request
    /// may still come, held back by lost bytes of its direction.
    pub request_unseen: bool,
}

/// The last few packet ids, each with a value: a small ring, oldest forgotten first.
#[derive(Clone, Debug, Default)]
pub struct IdRing<T: Copy + Default> {
    ids: [(u16, T); RING],
    len: usize,
    next: usize,
}

/// Answers that came before their request: the answer's type and time, by packet id.
type Early = IdRing<(PacketType, Ts)>;

/// Ids an [`IdRing`] keeps.
const RING: usize = 8;

impl<T: Copy + Default> IdRing<T> {
    /// Remembers `id` with `v` (replacing an older entry for it).
    pub fn add(&mut self, id: u16, v: T) {
        self.forget(id);
        self.ids[self.next] = (id, v);
        self.next = (self.next + 1) % RING;
        self.len = (self.len + 1).min(RING);
    }

    /// The value remembered for `id`, forgetting it.
    pub fn take(&mut self, id: u16) -> Option<T> {
        // Id 0 is never a packet id: it marks a forgotten slot.
        if id == 0 {
            return None;
        }
        let k = self.ids[..self.len].iter().position(|e| e.0 == id)?;
        let v = self.ids[k].1;
        self.ids[k] = (0, T::default());
        Some(v)
    }

    /// Forgets `id`.
    pub fn forget(&mut self, id: u16) {
        let _ = self.take(id);
    }
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
///
/// Packet-id exchanges are keyed by the side that sent the PUBLISH, SUBSCRIBE or UNSUBSCRIBE
/// (each side has its own identifiers, 5.0 §2.2.1); a QoS 2 exchange moves through PUBLISH,
/// PUBREC and PUBREL under one key. QoS>0 PUBLISH exchanges are counted per sender for the
/// Receive Maximum (5.0 §4.9): from the PUBLISH until its PUBACK, its PUBCOMP or a PUBREC with a
/// failure code.
#[derive(Clone, Debug, Default)]
pub struct InFlight {
    /// Packet-id exchanges: the waiting request and whether it counts against Receive Maximum.
    by_id: HashMap<(Dir, u16), (Pending, bool), foldhash::fast::RandomState>,
    /// Counted PUBLISH exchanges per sender.
    publishes: [usize; 2],
    /// CONNECT awaiting CONNACK.
    pub connect: Option<Pending>,
    /// The PINGREQ awaiting PINGRESP.
    pub ping: Option<Pending>,
    /// Last AUTH sent in each direction, awaiting the peer's AUTH or CONNACK.
    pub auth: [Option<Pending>; 2],
    /// Answers that came before their request, by the requester's direction: the answer type
    /// per packet id. A request held back by lost bytes of its direction (the framer
    /// resynchronising) can be handed on after the other side's answer.
    /// (Allocated at the first one: most connections never lose a byte.)
    early: Option<Box<[Early; 2]>>,
    /// A PINGRESP (at this time) may have come before its PINGREQ, the same way.
    pub early_ping: Option<Ts>,
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
    /// An empty table holding at most `cap` packet-id exchanges.
    pub fn new(cap: usize) -> Self {
        InFlight {
            cap: cap.max(1),
            ..Self::default()
        }
    }

    fn uncount(&mut self, origin: Dir, counted: bool) {
        if counted {
            let n = &mut self.publishes[origin.index()];
            *n = n.saturating_sub(1);
        }
    }

    /// Packet-id exchanges and pings held.
    pub fn len(&self) -> usize {
        self.by_id.len() + usize::from(self.ping.is_some())
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes the cap on packet-id exchanges (lowered under memory pressure).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// An answer of type `answer` at `ts` to the request with `id` from `origin` came first,
    /// while bytes of the request's direction had been lost: the request may still come (sent
    /// before `ts`).
    pub fn answered_early(&mut self, origin: Dir, id: u16, answer: PacketType, ts: Ts) {
        self.early.get_or_insert_with(Default::default)[origin.index()].add(id, (answer, ts));
    }

    /// True when the request `p` from `origin` with `id` was answered before it was handed on:
    /// an early answer of the expected type, at or after the request's time.
    fn early_answer(&mut self, origin: Dir, id: u16, p: &Pending) -> bool {
        let early = self.early.as_mut().and_then(|e| e[origin.index()].take(id));
        early.is_some_and(|(t, at)| Some(t) == expected_answer(p.ptype, p.qos) && p.ts <= at)
    }

    /// Records a new packet-id request from `origin`; a PUBLISH counts against Receive Maximum.
    /// Reusing the id of a request whose answer may have been lost is not `IdInUse`, and a
    /// request whose answer came first is not recorded (or, for a QoS 2 PUBLISH whose PUBREC
    /// came first, leaves that step waiting for its PUBREL).
    pub fn record_id(&mut self, origin: Dir, id: u16, p: Pending) -> Record {
        let counted = p.ptype == PacketType::PUBLISH && !p.maybe_answered;
        if self.early_answer(origin, id, &p) {
            return Record::Ok;
        }
        if let Some(old) = self.by_id.get_mut(&(origin, id)) {
            if old.0.request_unseen && old.0.ptype == PacketType::PUBREC && p.qos == 2 {
                old.0.request_unseen = false;
                return Record::Ok;
            }
            let (was, lost) = (old.1, old.0.maybe_answered);
            *old = (p, counted);
            if was != counted {
                let n = &mut self.publishes[origin.index()];
                *n = if counted { *n + 1 } else { n.saturating_sub(1) };
            }
            return if lost { Record::Ok } else { Record::IdInUse };
        }
        if self.by_id.len() >= self.cap {
            return Record::Cap;
        }
        if counted {
            self.publishes[origin.index()] += 1;
        }
        self.by_id.insert((origin, id), (p, counted));
        Record::Ok
    }

    /// Moves an exchange to its next step (PUBREC, then PUBREL), keeping whether it counts;
    /// a step with no exchange behind it (a PUBREL after a lost PUBREC) is tracked uncounted.
    pub fn advance(&mut self, origin: Dir, id: u16, p: Pending, counted: bool) {
        // This step's answer came first (the step was held back by lost bytes): it is done.
        if self.early_answer(origin, id, &p) {
            if let Some((_, c)) = self.by_id.remove(&(origin, id)) {
                self.uncount(origin, c);
            }
            return;
        }
        if let Some(old) = self.by_id.get_mut(&(origin, id)) {
            old.0 = p;
        } else if self.by_id.len() < self.cap {
            if counted {
                self.publishes[origin.index()] += 1;
            }
            self.by_id.insert((origin, id), (p, counted));
        }
    }

    /// The request with this id from `origin`.
    pub fn peek_id(&self, origin: Dir, id: u16) -> Option<&Pending> {
        self.by_id.get(&(origin, id)).map(|e| &e.0)
    }

    /// Removes and returns the request with this id from `origin` when it is of type `want`,
    /// with whether it counted against Receive Maximum.
    pub fn take_id(&mut self, origin: Dir, id: u16, want: PacketType) -> Option<(Pending, bool)> {
        match self.by_id.get(&(origin, id)) {
            Some((p, _)) if p.ptype == want => {
                let e = self.by_id.remove(&(origin, id))?;
                self.uncount(origin, e.1);
                Some(e)
            }
            _ => None,
        }
    }

    /// Bytes travelling in direction `dir` were lost: every request waiting for an answer
    /// from that direction may have had it among them. Such a request still pairs with an
    /// answer that comes, but no longer counts against Receive Maximum, its id may be reused,
    /// and it is not listed as unanswered.
    pub fn answers_may_be_lost(&mut self, dir: Dir) {
        for ((origin, _), (p, counted)) in self.by_id.iter_mut() {
            // PUBREL answers PUBREC from the PUBLISH's sender; every other answer travels
            // back to the requester.
            let answer_dir = if p.ptype == PacketType::PUBREC {
                *origin
            } else {
                origin.flip()
            };
            if answer_dir == dir && !p.maybe_answered {
                p.maybe_answered = true;
                if *counted {
                    *counted = false;
                    let n = &mut self.publishes[origin.index()];
                    *n = n.saturating_sub(1);
                }
            }
        }
        // CONNECT and PINGREQ come from the client, answered towards it; an AUTH sent in
        // direction d is answered from the other side.
        if dir == Dir::ToClient {
            for p in [&mut self.connect, &mut self.ping].into_iter().flatten() {
                p.maybe_answered = true;
            }
        }
        if let Some(p) = self.auth[dir.flip().index()].as_mut() {
            p.maybe_answered = true;
        }
    }

    /// Unfinished QoS>0 PUBLISH exchanges sent from `origin`.
    pub fn publishes_in_flight(&self, origin: Dir) -> usize {
        self.publishes[origin.index()]
    }

    /// Every request still waiting whose answer cannot have been lost, in request order:
    /// (type, packet id, event id).
    pub fn drain(&mut self) -> Vec<(PacketType, Option<u16>, u64)> {
        let mut v: Vec<(PacketType, Option<u16>, u64)> = self
            .by_id
            .drain()
            .filter(|(_, (p, _))| !p.maybe_answered)
            .map(|((_, id), (p, _))| (p.ptype, Some(id), p.event))
            .collect();
        self.publishes = [0; 2];
        let singles = [
            self.connect.take(),
            self.ping.take(),
            self.auth[0].take(),
            self.auth[1].take(),
        ];
        v.extend(
            singles
                .into_iter()
                .flatten()
                .filter(|p| !p.maybe_answered)
                .map(|p| (p.ptype, None, p.event)),
        );
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
            maybe_answered: false,
            request_unseen: false,
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
                .map(|x| x.0.event),
            Some(3)
        );
        assert_eq!(f.publishes_in_flight(Dir::ToClient), 1);
        assert_eq!(f.drain(), vec![(PacketType::PUBLISH, Some(5), 2)]);
    }

    #[test]
    fn receive_maximum_count_follows_the_qos2_chain() {
        let mut f = InFlight::new(10);
        f.record_id(Dir::ToServer, 1, p(PacketType::PUBLISH, 1));
        f.record_id(Dir::ToServer, 2, p(PacketType::SUBSCRIBE, 2));
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        let (pubrec_step, counted) = f.take_id(Dir::ToServer, 1, PacketType::PUBLISH).unwrap();
        assert!(counted);
        f.advance(Dir::ToServer, 1, p(PacketType::PUBREC, 3), counted);
        assert_eq!(pubrec_step.event, 1);
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        let (_, counted) = f.take_id(Dir::ToServer, 1, PacketType::PUBREC).unwrap();
        f.advance(Dir::ToServer, 1, p(PacketType::PUBREL, 4), counted);
        // Still in flight until the PUBCOMP (5.0 §4.9).
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        assert!(f.take_id(Dir::ToServer, 1, PacketType::PUBREL).is_some());
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 0);
        // An orphan PUBREL is tracked for its PUBCOMP but not counted.
        f.advance(Dir::ToClient, 9, p(PacketType::PUBREL, 5), false);
        assert_eq!(f.publishes_in_flight(Dir::ToClient), 0);
        assert_eq!(f.peek_id(Dir::ToClient, 9).map(|x| x.event), Some(5));
    }

    #[test]
    fn answers_lost_in_a_gap_free_the_request() {
        let mut f = InFlight::new(10);
        f.record_id(Dir::ToServer, 1, p(PacketType::PUBLISH, 1));
        // A QoS 2 exchange at its PUBREC step waits for the client's PUBREL.
        f.record_id(Dir::ToServer, 2, p(PacketType::PUBLISH, 2));
        let (_, counted) = f.take_id(Dir::ToServer, 2, PacketType::PUBLISH).unwrap();
        f.advance(Dir::ToServer, 2, p(PacketType::PUBREC, 3), counted);
        f.ping = Some(p(PacketType::PINGREQ, 4));
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 2);
        // The server's bytes are lost: the PUBACK of id 1 and the PINGRESP may be among them,
        // not the client's PUBREL of id 2.
        f.answers_may_be_lost(Dir::ToClient);
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        assert!(f.ping.as_ref().is_some_and(|p| p.maybe_answered));
        // A late answer still pairs; a reused id is not "in use".
        assert_eq!(
            f.record_id(Dir::ToServer, 1, p(PacketType::PUBLISH, 5)),
            Record::Ok
        );
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 2);
        // Then client bytes are lost: the PUBREL of id 2 may be among them. The new PUBLISH
        // of id 1 waits for the server, none of whose bytes were lost since: still listed.
        f.answers_may_be_lost(Dir::ToServer);
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        assert_eq!(f.drain(), vec![(PacketType::PUBLISH, Some(1), 5)]);
    }

    #[test]
    fn an_answer_before_its_held_back_request_completes_it() {
        let mut f = InFlight::new(10);
        let q = |t, ev, qos| Pending { qos, ..p(t, ev) };
        // The PUBACK of id 5 came first; the PUBLISH, held back, is not left waiting.
        f.answered_early(Dir::ToServer, 5, PacketType::PUBACK, Ts(1000));
        assert_eq!(
            f.record_id(Dir::ToServer, 5, q(PacketType::PUBLISH, 1, 1)),
            Record::Ok
        );
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 0);
        // An early answer of another type does not complete a different request.
        f.answered_early(Dir::ToServer, 6, PacketType::SUBACK, Ts(2000));
        f.record_id(Dir::ToServer, 6, q(PacketType::PUBLISH, 2, 1));
        assert_eq!(f.publishes_in_flight(Dir::ToServer), 1);
        // A PUBREC tracked without its PUBLISH keeps waiting for the PUBREL when the PUBLISH
        // comes late; its PUBCOMP came before the PUBREL step: done.
        let mut rec = q(PacketType::PUBREC, 3, 2);
        rec.request_unseen = true;
        f.advance(Dir::ToServer, 7, rec, false);
        assert_eq!(
            f.record_id(Dir::ToServer, 7, q(PacketType::PUBLISH, 4, 2)),
            Record::Ok
        );
        assert!(f.take_id(Dir::ToServer, 7, PacketType::PUBREC).is_some());
        f.answered_early(Dir::ToServer, 7, PacketType::PUBCOMP, Ts(5000));
        f.advance(Dir::ToServer, 7, q(PacketType::PUBREL, 5, 2), false);
        assert!(f.peek_id(Dir::ToServer, 7).is_none());
        assert_eq!(f.drain(), vec![(PacketType::PUBLISH, Some(6), 2)]);
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
