//! One connection, both directions: SYN / SYN-ACK / FIN / RST lifecycle and orientation.

use super::seq::SeqNum;
use super::stats::Emitter;
use super::stream::{Stream, Tag};
use super::{CloseReason, ConnInfo, Dir, OrientedBy};
use crate::limits::Limits;
use crate::net::{TcpFlags, TcpSegment};
use std::net::SocketAddr;

/// Decides client and server for a connection first seen with `seg` (see `OrientedBy`).
pub(crate) fn orient(
    seg: &TcpSegment<'_>,
    mqtt_ports: &[u16],
) -> (SocketAddr, SocketAddr, OrientedBy) {
    let (src, dst) = (seg.src, seg.dst);
    if seg.flags.has(TcpFlags::SYN) {
        return if seg.flags.has(TcpFlags::ACK) {
            (dst, src, OrientedBy::Syn)
        } else {
            (src, dst, OrientedBy::Syn)
        };
    }
    let src_mqtt = mqtt_ports.contains(&src.port());
    let dst_mqtt = mqtt_ports.contains(&dst.port());
    match (src_mqtt, dst_mqtt) {
        (false, true) => (src, dst, OrientedBy::Port),
        (true, false) => (dst, src, OrientedBy::Port),
        _ => (src, dst, OrientedBy::FirstSeen),
    }
}

/// Largest hole an anchor may open before a direction's first segment (a window's worth).
const MAX_ANCHOR_HOLE: i32 = 1 << 20;

/// True when `seq` lies a plausible hole after `anchor` (see `Half::anchor`).
fn past_anchor(anchor: SeqNum, seq: SeqNum) -> bool {
    (1..=MAX_ANCHOR_HOLE).contains(&seq.diff(anchor))
}

/// One direction's lifecycle state.
#[derive(Debug, Default)]
struct Half {
    /// Reassembly state, created by the direction's first segment.
    stream: Option<Stream>,
    /// Initial sequence number, when the direction's SYN was seen.
    isn: Option<SeqNum>,
    /// Without that SYN, the peer's first acknowledgement of this direction, taken before any
    /// of its segments: the stream starts there, so bytes sent before the first captured
    /// segment (a lost CONNACK after a lost SYN-ACK) are a hole.
    anchor: Option<SeqNum>,
    /// The direction sent a FIN.
    fin: bool,
}

/// What remains of a closed connection: enough to tell stragglers from a reuse of the 4-tuple.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tomb {
    /// The closed connection's client.
    client: SocketAddr,
    /// Initial sequence numbers seen, by direction index.
    isn: [Option<SeqNum>; 2],
}

impl Tomb {
    /// A tomb of a connection whose client is `client` and whose ISNs were never seen.
    #[cfg(test)]
    pub fn for_test(client: SocketAddr) -> Tomb {
        Tomb {
            client,
            isn: [None; 2],
        }
    }

    /// True when `seg` is a SYN that starts a new connection rather than repeating an old one.
    pub fn is_new_syn(&self, seg: &TcpSegment<'_>) -> bool {
        let dir = if seg.src == self.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        seg.flags.has(TcpFlags::SYN) && self.isn[dir.index()] != Some(SeqNum(seg.seq))
    }
}

/// Whether a connection is still tracked after a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Still open.
    Open,
    /// Closed for this reason; its holes were given up already.
    Closed(CloseReason),
}

/// A tracked connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// What was announced in `StreamEvent::Open`.
    pub info: ConnInfo,
    /// Per-direction state, by `Dir::index`.
    halves: [Half; 2],
}

impl Conn {
    /// A connection with no segment taken in yet.
    pub fn new(info: ConnInfo) -> Self {
        Conn {
            info,
            halves: Default::default(),
        }
    }

    /// Direction of a segment sent by `src`.
    pub fn dir_of(&self, src: SocketAddr) -> Dir {
        if src == self.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// True when `seg` is a SYN that must start a new connection on this 4-tuple: its sender
    /// already used another ISN, or already sent without a SYN.
    pub fn is_new_syn(&self, dir: Dir, seg: &TcpSegment<'_>) -> bool {
        if !seg.flags.has(TcpFlags::SYN) {
            return false;
        }
        let h = &self.halves[dir.index()];
        match h.isn {
            Some(isn) => isn != SeqNum(seg.seq),
            None => h.stream.is_some(),
        }
    }

    /// What to keep once the connection is closed.
    pub fn tomb(&self) -> Tomb {
        Tomb {
            client: self.info.client,
            isn: [self.halves[0].isn, self.halves[1].isn],
        }
    }

    fn tag(&self, dir: Dir) -> Tag {
        Tag {
            conn: self.info.id,
            dir,
        }
    }

    /// Takes in one segment sent in direction `dir`.
    #[inline]
    pub fn segment(
        &mut self,
        em: &mut Emitter<'_, '_>,
        seg: &TcpSegment<'_>,
        dir: Dir,
        limits: &Limits,
    ) -> Verdict {
        for d in [Dir::ToServer, Dir::ToClient] {
            let tag = self.tag(d);
            if let Some(st) = self.halves[d.index()].stream.as_mut() {
                st.expire_holes(em, tag, limits);
            }
        }
        let flags = seg.flags;
        if flags.has(TcpFlags::RST) {
            self.close(em);
            return Verdict::Closed(CloseReason::Rst);
        }
        // The peer's bytes this segment acknowledges were sent before it: what the ACK
        // releases there (data held behind a hole it declares unseen) is handed out before
        // this segment's own data, so that a request and its answer keep their order.
        if flags.has(TcpFlags::ACK) {
            let peer = self.tag(dir.flip());
            let p = &mut self.halves[peer.dir.index()];
            let ack = SeqNum(seg.ack);
            match (p.stream.as_mut(), p.anchor) {
                (Some(st), _) => st.ack(em, peer, ack),
                (None, None) if p.isn.is_none() => p.anchor = Some(ack),
                // Peer bytes acknowledged and never captured: its stream starts at the anchor
                // now, and they are a gap before anything this segment carries.
                (None, Some(a)) if past_anchor(a, ack) => {
                    p.stream.insert(Stream::new(a, limits)).ack(em, peer, ack);
                }
                _ => {}
            }
        }
        let tag = self.tag(dir);
        let syn = flags.has(TcpFlags::SYN);
        let h = &mut self.halves[dir.index()];
        if syn && h.isn.is_none() {
            h.isn = Some(SeqNum(seg.seq));
        }
        // SYN takes one sequence number: data on a SYN starts after it.
        let data_seq = SeqNum(seg.seq) + u32::from(syn);
        // A hole from the anchor to the first segment, when it is a plausible one.
        let start = match h.anchor {
            Some(a) if past_anchor(a, data_seq) => a,
            _ => data_seq,
        };
        let st = h.stream.get_or_insert_with(|| Stream::new(start, limits));
        if st
            .data(em, tag, data_seq, seg.payload, seg.missing)
            .retransmission
        {
            em.stats.retransmissions += 1;
        }
        if flags.has(TcpFlags::FIN) {
            let wire_len = (seg.payload.len() as u32).wrapping_add(seg.missing);
            let at = st.offset_of(data_seq + wire_len);
            if at >= 0 {
                st.set_fin(at as u64);
            }
            h.fin = true;
        }
        if self.halves[0].fin && self.halves[1].fin {
            self.close(em);
            return Verdict::Closed(CloseReason::Fin);
        }
        Verdict::Open
    }

    /// Gives up every hole of both directions (`GapReason::Closed`) and drops the buffers.
    pub fn close(&mut self, em: &mut Emitter<'_, '_>) {
        for d in [Dir::ToServer, Dir::ToClient] {
            let tag = self.tag(d);
            if let Some(st) = self.halves[d.index()].stream.as_mut() {
                st.close(em, tag);
            }
        }
    }
}
