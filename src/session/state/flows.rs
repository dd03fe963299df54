//! Publish and subscribe flows of `ConnState`: QoS 1 and QoS 2 exchanges in both directions
//! (5.0 §4.3), Receive Maximum (§4.9), topic aliases (§3.3.2.3.4), granted and maximum QoS
//! (§3.9.3, §3.2.2.3.4) and SUBSCRIBE filter i to SUBACK code i (§3.9.3).

use super::{At, ConnState};
use crate::event::{Anomaly, Outcome, PacketInfo, SubOutcome};
use crate::filter::topic_matches;
use crate::mqtt::packet::{Publish, SubAck, Subscribe, Unsubscribe};
use crate::mqtt::types::{PacketType, ReasonCode};
use crate::session::alias::Resolved;
use crate::session::intern::RecentTexts;
use crate::session::pairing::IdRing;
use crate::tcp::Dir;
use std::sync::Arc;

/// Subscriptions remembered per connection for the granted-QoS check.
const MAX_SUBSCRIPTIONS: usize = 1024;

/// The granted QoS of the topics a connection's server sent to last, valid until the
/// subscriptions change: matching a topic against every filter is the costly part of a PUBLISH.
pub(super) type GrantedMemo = RecentTexts<u8>;

/// QoS 2 packet ids a failed PUBREC released, per direction of their PUBLISH: the last few,
/// with the code, to tell a PUBREL sent anyway from one answering nothing (5.0 §4.3.3).
pub(super) type Released = IdRing<u8>;

/// The filter a shared subscription `$share/{name}/{filter}` matches with (5.0 §4.8.2).
fn match_filter(filter: &str) -> &str {
    filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
        .map_or(filter, |(_, f)| f)
}

impl ConnState {
    pub(super) fn on_publish(
        &mut self,
        p: &Publish<'_>,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let d = at.dir;
        // (Unless server bytes were lost: the CONNACK may be among them.)
        if d == Dir::ToServer
            && self.connect_seen
            && !self.connack_seen
            && !self.lost(Dir::ToClient)
        {
            out.push(Anomaly::PublishBeforeConnack);
        }
        // Without the handshake the receiver's Topic Alias Maximum is unknown; so it is for
        // the server's when its CONNACK may be in lost bytes.
        let connack_lost = !self.connack_seen && self.lost(Dir::ToClient);
        let max = (self.connect_seen && !(d == Dir::ToServer && connack_lost))
            .then_some(self.negotiated.topic_alias_maximum[d.index()]);
        let alias = info.topic_alias.unwrap_or(0);
        let made;
        let topic = match &info.topic {
            Some(t) => t,
            None => {
                made = Arc::from(p.topic);
                &made
            }
        };
        match self.aliases[d.index()].apply(topic, info.topic_alias, max) {
            Resolved::Plain => {}
            Resolved::Bound => info.topic_resolved = Some(Arc::clone(topic)),
            Resolved::Used(t) => info.topic_resolved = Some(t),
            // The binding may predate the capture, or be in bytes lost on the way.
            Resolved::Unbound if self.seen_from_start() && !self.lost(d) => {
                out.push(Anomaly::TopicAliasUnbound(alias))
            }
            Resolved::Unbound => {}
            // Alias 0 is already a property issue (forbidden value, 5.0 §3.3.2.3.4).
            Resolved::AboveMaximum if alias == 0 => {}
            Resolved::AboveMaximum => out.push(Anomaly::TopicAliasAboveMaximum(alias)),
            Resolved::Cap => out.push(Anomaly::CapHit("topic alias bytes per direction")),
        }
        if d == Dir::ToServer && p.retain && !self.negotiated.retain_available {
            out.push(Anomaly::RetainNotAvailable);
        }
        if !(1..=2).contains(&p.qos) {
            return;
        }
        let allowed = if d == Dir::ToServer {
            self.negotiated.maximum_qos
        } else {
            match info.topic_resolved.as_ref().or(info.topic.as_ref()) {
                Some(t) => match self.granted_memo.find(t) {
                    Some((_, g)) => g,
                    None => {
                        let g = self.granted_qos(t);
                        self.granted_memo.put(Arc::clone(t), g);
                        g
                    }
                },
                None => self.granted_qos(p.topic),
            }
        };
        if p.qos > allowed {
            out.push(Anomaly::QosExceeded {
                used: p.qos,
                allowed,
            });
        }
        let rm = self.negotiated.receive_maximum[d.index()];
        if !p.dup && self.inflight.publishes_in_flight(d) >= usize::from(rm) {
            out.push(Anomaly::ReceiveMaximumExceeded(rm));
        }
        if let Some(id) = p.packet_id {
            // A new exchange reuses the id a failed PUBREC released.
            if let Some(r) = self.released.as_mut() {
                r[d.index()].forget(id);
            }
            let pend = self.pending(at, info, p.qos);
            self.record(d, id, pend, p.dup, out);
        }
    }

    pub(super) fn on_puback(
        &mut self,
        id: u16,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let t = PacketType::PUBLISH;
        if let Some((p, _)) = self.answer(at.dir.flip(), id, t, at, info, out) {
            if p.qos != 1 {
                // A PUBACK for a QoS 2 PUBLISH answers the wrong step.
                out.push(Anomaly::Orphan(info.ptype));
            }
        }
    }

    pub(super) fn on_pubrec(
        &mut self,
        id: u16,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let origin = at.dir.flip();
        let counted = match self.inflight.take_id(origin, id, PacketType::PUBLISH) {
            Some((p, counted)) => {
                info.answers = Some(p.pair(at.ts));
                if p.qos != 2 {
                    out.push(Anomaly::Orphan(info.ptype));
                }
                Some(counted)
            }
            // A repeated PUBREC (the PUBLISH was resent) keeps the exchange where it is; so
            // does a PUBREC whose PUBREL came first (this PUBREC held back by lost bytes).
            None if self
                .inflight
                .peek_id(origin, id)
                .is_some_and(|p| matches!(p.ptype, PacketType::PUBREC | PacketType::PUBREL)) =>
            {
                return
            }
            None => {
                self.orphan(info.ptype, at.dir, out);
                None
            }
        };
        if info.outcome < Outcome::Failure {
            // The PUBREC waits for the PUBREL that answers it, also when its PUBLISH was not
            // seen (lost, or before the capture).
            let mut pend = self.pending(at, info, 2);
            pend.request_unseen = counted.is_none();
            self.inflight
                .advance(origin, id, pend, counted.unwrap_or(false));
        } else if let Some(code) = info.reason_codes.first() {
            // A failure code ends the exchange and frees the id (5.0 §4.3.3).
            self.released.get_or_insert_with(Default::default)[origin.index()].add(id, code.0);
        }
    }

    pub(super) fn on_pubrel(
        &mut self,
        id: u16,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let origin = at.dir;
        let pend = self.pending(at, info, 2);
        match self.inflight.take_id(origin, id, PacketType::PUBREC) {
            Some((p, counted)) => {
                info.answers = Some(p.pair(at.ts));
                self.inflight.advance(origin, id, pend, counted);
            }
            None => {
                let resent = self
                    .inflight
                    .peek_id(origin, id)
                    .is_some_and(|p| p.ptype == PacketType::PUBREL);
                let released = self.released.as_mut();
                if let Some(code) = released.and_then(|r| r[origin.index()].take(id)) {
                    out.push(Anomaly::PubrelAfterFailedPubrec(ReasonCode(code)));
                } else if !resent && self.session_present != Some(true) {
                    // A resumed session resends PUBREL without its PUBREC (5.0 §4.4).
                    self.orphan(info.ptype, at.dir, out);
                }
                // Either way the PUBREL waits for its PUBCOMP.
                self.inflight.advance(origin, id, pend, false);
            }
        }
    }

    pub(super) fn on_subscribe(
        &mut self,
        s: &Subscribe<'_>,
        at: At,
        info: &PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let mut pend = self.pending(at, info, 0);
        pend.filters = s
            .filters
            .iter()
            .map(|f| (f.filter.to_string(), f.options.qos()))
            .collect();
        self.record(at.dir, s.packet_id, pend, false, out);
    }

    pub(super) fn on_suback(
        &mut self,
        s: &SubAck<'_>,
        at: At,
        info: &mut PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        let t = PacketType::SUBSCRIBE;
        let Some((p, _)) = self.answer(at.dir.flip(), s.packet_id, t, at, info, out) else {
            return;
        };
        let codes = s.codes().count();
        if codes != p.filters.len() {
            out.push(Anomaly::SubackCountMismatch {
                filters: p.filters.len(),
                codes,
            });
        }
        for ((topic, req), code) in p.filters.into_iter().zip(s.codes()) {
            // Codes 0-2 grant that QoS in every version (3.1.1 §3.9.3, 5.0 §3.9.3).
            let granted = (code.0 < 3).then_some(code.0);
            if let Some(g) = granted {
                if g > req {
                    out.push(Anomaly::QosExceeded {
                        used: g,
                        allowed: req,
                    });
                }
                self.remember_subscription(&topic, g);
            }
            info.sub_outcomes.push(SubOutcome {
                topic,
                requested_qos: req,
                code,
                downgraded: granted.is_some_and(|g| g < req),
            });
        }
    }

    pub(super) fn on_unsubscribe(
        &mut self,
        u: &Unsubscribe<'_>,
        at: At,
        info: &PacketInfo,
        out: &mut Vec<Anomaly>,
    ) {
        for f in u.filters.iter() {
            let f = match_filter(f);
            self.subscriptions.retain(|(t, _)| t != f);
        }
        self.granted_memo.clear();
        let pend = self.pending(at, info, 0);
        self.record(at.dir, u.packet_id, pend, false, out);
    }

    fn remember_subscription(&mut self, filter: &str, granted: u8) {
        self.granted_memo.clear();
        let f = match_filter(filter);
        if let Some(e) = self.subscriptions.iter_mut().find(|(t, _)| t == f) {
            e.1 = granted;
        } else if self.subscriptions.len() < MAX_SUBSCRIPTIONS {
            self.subscriptions.push((f.to_string(), granted));
        }
    }

    /// The highest QoS granted to a subscription matching `topic`, or 2 when none is known
    /// (the subscription may predate the capture or come from a resumed session).
    fn granted_qos(&self, topic: &str) -> u8 {
        if topic.is_empty() {
            return 2;
        }
        self.subscriptions
            .iter()
            .filter(|(f, _)| topic_matches(f, topic))
            .map(|(_, g)| *g)
            .max()
            .unwrap_or(2)
    }
}

#[cfg(test)]
mod tests {
    use super::match_filter;

    #[test]
    fn shared_subscriptions_match_with_their_filter() {
        assert_eq!(match_filter("$share/g1/a/+"), "a/+");
        assert_eq!(match_filter("a/#"), "a/#");
        assert_eq!(match_filter("$share/g"), "$share/g");
        assert_eq!(match_filter("$SYS/x"), "$SYS/x");
    }
}
