//! Counters of the link/IP decode layer: every frame lands in exactly one outcome counter.

use super::decode::NetOutcome;
use super::defrag::FragStats;
use super::link::NonIp;
use super::TcpSegment;
use crate::capture::LinkType;
use std::collections::BTreeMap;

/// The link types the decoder knows, in the order of `NetStats`'s per-link counters.
const KNOWN_LINKS: [LinkType; 8] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

/// Index of Ethernet in `KNOWN_LINKS`.
const ETHERNET_INDEX: usize = 1;

/// Index of `linktype` in `KNOWN_LINKS` (a jump table rather than a search: once per frame).
#[inline]
fn known_index(linktype: LinkType) -> Option<usize> {
    Some(match linktype {
        LinkType::NULL => 0,
        LinkType::ETHERNET => 1,
        LinkType::RAW => 2,
        LinkType::LOOP => 3,
        LinkType::LINUX_SLL => 4,
        LinkType::IPV4 => 5,
        LinkType::IPV6 => 6,
        LinkType::LINUX_SLL2 => 7,
        _ => return None,
    })
}

/// What the decode layer saw: frames per link type and what became of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetStats {
    /// Frames decoded.
    pub frames: u64,
    /// Frames whose capture was cut by snaplen (original length above captured length).
    pub snaplen_cut: u64,
    /// Frames that gave a TCP segment (fragments: the frame completing the datagram).
    pub tcp_segments: u64,
    /// Captured TCP payload bytes handed out.
    pub tcp_payload_bytes: u64,
    /// TCP payload bytes declared by IP but cut by snaplen.
    pub tcp_missing_bytes: u64,
    /// Frames of a link type the decoder does not know, by LINKTYPE number.
    pub unsupported_link: BTreeMap<u16, u64>,
    /// Frames that are not IP, by what their link layer says they carry.
    pub non_ip: BTreeMap<NonIp, u64>,
    /// Frames that are malformed at some layer (including inconsistent fragments).
    pub malformed: u64,
    /// Fragment reassembly counters.
    pub frag: FragStats,
    known_links: [u64; KNOWN_LINKS.len()],
    non_tcp: [u64; 256],
}

impl Default for NetStats {
    fn default() -> Self {
        NetStats {
            frames: 0,
            snaplen_cut: 0,
            tcp_segments: 0,
            tcp_payload_bytes: 0,
            tcp_missing_bytes: 0,
            unsupported_link: BTreeMap::new(),
            non_ip: BTreeMap::new(),
            malformed: 0,
            frag: FragStats::default(),
            known_links: [0; KNOWN_LINKS.len()],
            non_tcp: [0; 256],
        }
    }
}

impl NetStats {
    /// Frames seen with `linktype` (known or not).
    pub fn frames_of(&self, linktype: LinkType) -> u64 {
        match known_index(linktype) {
            Some(i) => self.known_links.get(i).copied().unwrap_or(0),
            None => self.unsupported_link.get(&linktype.0).copied().unwrap_or(0),
        }
    }

    /// Every link type seen with its frame count, in LINKTYPE number order.
    pub fn link_frames(&self) -> Vec<(LinkType, u64)> {
        let mut v: Vec<(LinkType, u64)> = KNOWN_LINKS
            .iter()
            .zip(self.known_links.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(&l, &n)| (l, n))
            .chain(
                self.unsupported_link
                    .iter()
                    .map(|(&l, &n)| (LinkType(l), n)),
            )
            .collect();
        v.sort();
        v
    }

    /// IP packets (or fragments) that are not TCP, carrying IP protocol `protocol`.
    pub fn non_tcp(&self, protocol: u8) -> u64 {
        self.non_tcp
            .get(usize::from(protocol))
            .copied()
            .unwrap_or(0)
    }

    /// Every non-TCP IP protocol seen with its count, by protocol number.
    pub fn non_tcp_protocols(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        (0u8..=255)
            .zip(self.non_tcp.iter())
            .filter(|(_, &n)| n > 0)
            .map(|(p, &n)| (p, n))
    }

    /// Counts a frame of `linktype` (called once per frame, before its outcome).
    #[inline]
    pub(crate) fn count_frame(&mut self, linktype: LinkType, cut: bool) {
        self.frames += 1;
        self.snaplen_cut += u64::from(cut);
        if let Some(n) = known_index(linktype).and_then(|i| self.known_links.get_mut(i)) {
            *n += 1;
        } else {
            *self.unsupported_link.entry(linktype.0).or_insert(0) += 1;
        }
    }

    /// Counts an Ethernet frame, not cut, that gave the TCP segment `seg`: what
    /// `count_frame` and `count_outcome` together would count.
    #[inline]
    pub(crate) fn count_fast_tcp(&mut self, seg: &TcpSegment<'_>) {
        self.frames += 1;
        self.known_links[ETHERNET_INDEX] += 1;
        self.tcp_segments += 1;
        self.tcp_payload_bytes += seg.payload.len() as u64;
    }

    /// Counts the outcome of a frame (fragment outcomes are counted by the defragmenter).
    #[inline]
    pub(crate) fn count_outcome(&mut self, outcome: &NetOutcome<'_>) {
        match outcome {
            NetOutcome::Tcp(seg) => {
                self.tcp_segments += 1;
                self.tcp_payload_bytes += seg.payload.len() as u64;
                self.tcp_missing_bytes += u64::from(seg.missing);
            }
            NetOutcome::NotIp(what) => *self.non_ip.entry(*what).or_insert(0) += 1,
            NetOutcome::NotTcp(p) => {
                if let Some(n) = self.non_tcp.get_mut(usize::from(*p)) {
                    *n += 1;
                }
            }
            NetOutcome::Malformed(_) => self.malformed += 1,
            NetOutcome::UnsupportedLink(_)
            | NetOutcome::FragmentHeld
            | NetOutcome::FragmentDropped(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_index_agrees_with_the_table() {
        for (i, &l) in KNOWN_LINKS.iter().enumerate() {
            assert_eq!(known_index(l), Some(i));
        }
        assert_eq!(known_index(LinkType(147)), None);
        assert_eq!(known_index(LinkType::ETHERNET), Some(ETHERNET_INDEX));
    }
}
