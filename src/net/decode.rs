//! The decode entry point: one frame in, a TCP segment or the reason it is not one out.

use super::defrag::{Defragmenter, FragKey, FragResult, Fragment};
use super::error::Malformed;
use super::ip::{self, IpPacket, PROTO_TCP};
use super::link::{self, IpVersion, LinkStop, NonIp};
use super::stats::NetStats;
use super::tcp_header::{parse_tcp, TcpInput};
use super::{TcpFlags, TcpSegment};
use crate::capture::{Frame, LinkType, Ts};
use crate::limits::Limits;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What one frame turned out to be.
#[derive(Clone, Copy, Debug)]
pub enum NetOutcome<'a> {
    /// A TCP segment (borrowing the frame, or the defragmenter for a reassembled datagram).
    Tcp(TcpSegment<'a>),
    /// Not IP: what the link layer says the frame carries.
    NotIp(NonIp),
    /// IP, but not TCP: the IP protocol number (e.g. 17 for UDP, 1 for ICMP).
    NotTcp(u8),
    /// A link type this decoder does not know.
    UnsupportedLink(LinkType),
    /// Malformed at some layer.
    Malformed(Malformed),
    /// An IP fragment, held until the rest of its datagram arrives.
    FragmentHeld,
    /// An IP fragment that was dropped.
    FragmentDropped(FragDrop),
}

/// Why a fragment was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragDrop {
    /// A fragment cap (`max_frag_bytes`, `max_frag_sets`) left no room.
    Cap,
    /// The capture cut the fragment (snaplen), so it cannot be reassembled.
    Cut,
}

impl fmt::Display for NetOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetOutcome::Tcp(s) => write!(
                f,
                "TCP {} -> {}, {} payload bytes",
                s.src,
                s.dst,
                s.payload.len()
            ),
            NetOutcome::NotIp(what) => write!(f, "not IP: {what}"),
            NetOutcome::NotTcp(p) => write!(f, "IP protocol {p}, not TCP"),
            NetOutcome::UnsupportedLink(lt) => write!(f, "unsupported link type {lt}"),
            NetOutcome::Malformed(m) => write!(f, "malformed: {m}"),
            NetOutcome::FragmentHeld => write!(f, "IP fragment held for reassembly"),
            NetOutcome::FragmentDropped(FragDrop::Cap) => {
                write!(f, "IP fragment dropped: fragment buffer cap reached")
            }
            NetOutcome::FragmentDropped(FragDrop::Cut) => {
                write!(f, "IP fragment dropped: cut by snaplen")
            }
        }
    }
}

/// Decodes link and IP layers of frames into TCP segments, reassembling IP fragments.
#[derive(Debug)]
pub struct NetDecoder {
    stats: NetStats,
    defrag: Defragmenter,
}

impl NetDecoder {
    /// A decoder whose fragment buffers obey `limits`.
    pub fn new(limits: &Limits) -> NetDecoder {
        NetDecoder {
            stats: NetStats::default(),
            defrag: Defragmenter::new(limits),
        }
    }

    /// Decodes one frame; every outcome is counted in [`NetDecoder::stats`].
    #[inline]
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>) -> NetOutcome<'a> {
        let NetDecoder { stats, defrag } = self;
        let cut = (frame.orig_len as usize).saturating_sub(frame.data.len());
        if cut == 0 && frame.linktype == LinkType::ETHERNET && defrag.is_empty() {
            if let Some(seg) = fast_ethernet_tcp(frame) {
                stats.count_fast_tcp(&seg);
                return NetOutcome::Tcp(seg);
            }
        }
        stats.count_frame(frame.linktype, cut > 0);
        if !defrag.is_empty() {
            defrag.expire(frame.ts, &mut stats.frag);
        }
        let outcome = decode_frame(defrag, stats, frame, cut);
        stats.count_outcome(&outcome);
        outcome
    }

    /// Counters so far.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Drops fragment sets older than the timeout at capture time `now` (decode does this too).
    pub fn expire(&mut self, now: Ts) {
        self.defrag.expire(now, &mut self.stats.frag);
    }

    /// Ends the capture: drops incomplete fragment sets, counted as unfinished.
    pub fn finish(&mut self) {
        self.defrag.finish(&mut self.stats.frag);
    }

    /// Bytes held by incomplete fragment sets (at most `Limits::max_frag_bytes`).
    pub fn frag_buffered_bytes(&self) -> usize {
        self.defrag.buffered_bytes()
    }

    /// Incomplete fragment sets held (at most `Limits::max_frag_sets`).
    pub fn frag_sets(&self) -> usize {
        self.defrag.sets()
    }
}

/// The common frame in one pass: Ethernet II without tags; IPv4 with a 20-byte header and
/// not a fragment, or IPv6 with no extension header; the IP length within the captured bytes;
/// a well-formed TCP header. None for anything else (the general path then decides); when it
/// answers, the general path would give the same segment.
#[inline]
fn fast_ethernet_tcp<'a>(frame: &Frame<'a>) -> Option<TcpSegment<'a>> {
    const IP: usize = 14;
    let data = frame.data;
    let be16 = |b: &[u8], at: usize| b.get(at..at + 2).map(|w| u16::from_be_bytes([w[0], w[1]]));
    let (src, dst, tcp) = match be16(data, 12)? {
        0x0800 => {
            let h: &[u8; 20] = data.get(IP..IP + 20)?.try_into().ok()?;
            // Version 4 with IHL 5, no fragment (MF clear, offset 0), protocol TCP.
            let frag = u16::from_be_bytes([h[6], h[7]]);
            if h[0] != 0x45 || frag & 0x3fff != 0 || h[9] != 6 {
                return None;
            }
            // A zero, short or cut total length goes the general way.
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            if total < 40 {
                return None;
            }
            let ip = |at: usize| IpAddr::V4(Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]));
            (ip(12), ip(16), data.get(IP + 20..IP + total)?)
        }
        0x86dd => {
            let h: &[u8; 40] = data.get(IP..IP + 40)?.try_into().ok()?;
            // Version 6, next header TCP (no extension header).
            if h[0] >> 4 != 6 || h[6] != 6 {
                return None;
            }
            // A zero (jumbogram, offload), short or cut payload length goes the general way.
            let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            if plen < 20 {
                return None;
            }
            let ip = |at: usize| {
                let a: [u8; 16] = h.get(at..at + 16)?.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(a)))
            };
            (ip(8)?, ip(24)?, data.get(IP + 40..IP + 40 + plen)?)
        }
        _ => return None,
    };
    let t: &[u8; 20] = tcp.get(..20)?.try_into().ok()?;
    let hlen = usize::from(t[12] >> 4) * 4;
    if hlen < 20 {
        return None;
    }
    let payload = tcp.get(hlen..)?;
    Some(TcpSegment {
        ts: frame.ts,
        frame_no: frame.frame_no,
        src: SocketAddr::new(src, u16::from_be_bytes([t[0], t[1]])),
        dst: SocketAddr::new(dst, u16::from_be_bytes([t[2], t[3]])),
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
        ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
        flags: TcpFlags(t[13]),
        window: u16::from_be_bytes([t[14], t[15]]),
        payload,
        missing: 0,
    })
}

/// The decode steps, without the per-frame counting.
#[inline]
fn decode_frame<'a>(
    defrag: &'a mut Defragmenter,
    stats: &mut NetStats,
    frame: &Frame<'a>,
    cut: usize,
) -> NetOutcome<'a> {
    let data = frame.data;
    let (version, off) = match link::strip_link(frame.linktype, data) {
        Ok(v) => v,
        Err(LinkStop::NotIp(what)) => return NetOutcome::NotIp(what),
        Err(LinkStop::Unsupported) => return NetOutcome::UnsupportedLink(frame.linktype),
        Err(LinkStop::Malformed(m)) => return NetOutcome::Malformed(m),
    };
    let packet = match version {
        IpVersion::V4 => ip::ipv4(data, off, cut),
        IpVersion::V6 => ip::ipv6(data, off, cut),
    };
    let packet = match packet {
        Ok(p) => p,
        Err(m) => return NetOutcome::Malformed(m),
    };
    match packet.frag {
        None if packet.protocol == PROTO_TCP => tcp_outcome(TcpInput {
            ts: frame.ts,
            frame_no: frame.frame_no,
            src: packet.src,
            dst: packet.dst,
            bytes: packet.payload,
            declared: packet.declared,
            offset: packet.payload_offset,
        }),
        None => NetOutcome::NotTcp(packet.protocol),
        Some(_) => fragment(defrag, stats, frame, version, off, &packet),
    }
}

/// Hands a fragment to the defragmenter and decodes the datagram it may complete.
fn fragment<'a>(
    defrag: &'a mut Defragmenter,
    stats: &mut NetStats,
    frame: &Frame<'a>,
    version: IpVersion,
    ip_offset: usize,
    packet: &IpPacket<'a>,
) -> NetOutcome<'a> {
    let Some(info) = packet.frag else {
        return NetOutcome::NotTcp(packet.protocol);
    };
    let wanted = packet.protocol == PROTO_TCP
        || (version == IpVersion::V6 && ip::is_ext_header(packet.protocol));
    if !wanted {
        return NetOutcome::NotTcp(packet.protocol);
    }
    stats.frag.fragments += 1;
    if packet.payload.len() < packet.declared {
        stats.frag.dropped_cut += 1;
        return NetOutcome::FragmentDropped(FragDrop::Cut);
    }
    let frag = Fragment {
        key: FragKey {
            src: packet.src,
            dst: packet.dst,
            protocol: packet.protocol,
            id: info.id,
        },
        ts: frame.ts,
        offset: info.offset,
        more: info.more,
        data: packet.payload,
        header_len: match version {
            IpVersion::V4 => packet.header_len,
            // IPv6 counts the payload only: extension headers before the fragment header.
            IpVersion::V6 => packet.header_len.saturating_sub(48),
        },
        frame_offset: ip_offset,
    };
    let datagram = match defrag.insert(frag, &mut stats.frag) {
        FragResult::Held => return NetOutcome::FragmentHeld,
        FragResult::Dropped => return NetOutcome::FragmentDropped(FragDrop::Cap),
        FragResult::Malformed(m) => return NetOutcome::Malformed(m),
        FragResult::Complete(d) => d,
    };
    // The reassembled payload: for IPv6 it may start with more extension headers.
    let (protocol, start) = if version == IpVersion::V6 {
        match ip::skip_ext_headers(
            packet.protocol,
            datagram,
            0,
            datagram.len(),
            datagram.len(),
            0,
        ) {
            Ok(w) if w.frag.is_some() => {
                return NetOutcome::Malformed(Malformed::bad_field(
                    super::error::Layer::Ipv6Ext,
                    w.pos,
                    "next header",
                    44,
                    "no second fragment header inside a reassembled datagram",
                ))
            }
            Ok(w) => (w.protocol, w.pos),
            Err(m) => return NetOutcome::Malformed(m),
        }
    } else {
        (packet.protocol, 0)
    };
    if protocol != PROTO_TCP {
        return NetOutcome::NotTcp(protocol);
    }
    let bytes = datagram.get(start..).unwrap_or(&[]);
    tcp_outcome(TcpInput {
        ts: frame.ts,
        frame_no: frame.frame_no,
        src: packet.src,
        dst: packet.dst,
        bytes,
        declared: bytes.len(),
        offset: start,
    })
}

/// A parsed TCP header as an outcome.
#[inline]
fn tcp_outcome(input: TcpInput<'_>) -> NetOutcome<'_> {
    match parse_tcp(input) {
        Ok(seg) => NetOutcome::Tcp(seg),
        Err(m) => NetOutcome::Malformed(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet II, IPv4 (20-byte header) and TCP (data offset 6) 10.0.0.1:40000 ->
    /// 10.0.0.2:1883 carrying "hello".
    fn frame_bytes() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]); // EtherType IPv4
        f.extend_from_slice(&[0x45, 0, 0, 49, 0, 1, 0x40, 0, 64, 6, 0, 0]); // ver/IHL .. proto
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend_from_slice(&[0x9c, 0x40, 0x07, 0x5b, 0, 0, 0, 9, 0, 0, 0, 7]); // ports, seq, ack
        f.extend_from_slice(&[0x60, 0x18, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0]); // offset, flags, .., options
        f.extend_from_slice(b"hello");
        f
    }

    /// The segment of `frame_bytes` over IPv6: 2001:db8::1 -> 2001:db8::2.
    fn v6_frame() -> Vec<u8> {
        let v4 = frame_bytes();
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 29, 6, 64]); // version, plen 29, TCP, hops
        for last in [1, 2] {
            f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            f.extend_from_slice(&[0; 11]);
            f.push(last);
        }
        f.extend_from_slice(&v4[34..]);
        f
    }

    fn general<'a>(d: &'a mut Defragmenter, frame: &Frame<'a>) -> Option<TcpSegment<'a>> {
        let mut stats = NetStats::default();
        match decode_frame(d, &mut stats, frame, 0) {
            NetOutcome::Tcp(s) => Some(s),
            _ => None,
        }
    }

    fn same(a: &TcpSegment<'_>, b: &TcpSegment<'_>) -> bool {
        (a.ts, a.frame_no, a.src, a.dst, a.seq, a.ack)
            == (b.ts, b.frame_no, b.src, b.dst, b.seq, b.ack)
            && (a.flags, a.window, a.payload, a.missing)
                == (b.flags, b.window, b.payload, b.missing)
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        let base = frame_bytes();
        let mut variants = vec![base.clone()];
        for n in 0..base.len() {
            variants.push(base[..n].to_vec());
        }
        for at in 12..54 {
            for v in [
                0u8, 1, 4, 5, 6, 0x08, 0x20, 0x31, 0x40, 0x46, 0x50, 0x86, 0xff,
            ] {
                let mut m = base.clone();
                m[at] = v;
                variants.push(m);
            }
        }
        // The same TCP segment over IPv6 (no extension header).
        let v6 = v6_frame();
        for n in 0..v6.len() {
            variants.push(v6[..n].to_vec());
        }
        for at in 12..78 {
            for v in [0u8, 4, 6, 0x11, 0x2c, 0x45, 0x50, 0x60, 0x86, 0xdd, 0xff] {
                let mut m = v6.clone();
                m[at] = v;
                variants.push(m);
            }
        }
        variants.push(v6);
        // IP options (IHL 6) go the general way.
        let mut opt = base.clone();
        opt[14] = 0x46;
        opt[17] += 4;
        opt.splice(34..34, [1, 1, 1, 0]);
        variants.push(opt);
        let mut fast_hits = 0;
        for data in &variants {
            let frame = Frame {
                ts: Ts(5),
                linktype: LinkType::ETHERNET,
                frame_no: 2,
                caplen: data.len() as u32,
                orig_len: data.len() as u32,
                data,
                owner: None,
            };
            let mut d = Defragmenter::new(&Limits::default());
            if let Some(fast) = fast_ethernet_tcp(&frame) {
                fast_hits += 1;
                let slow = general(&mut d, &frame).expect("the general path finds TCP too");
                assert!(same(&fast, &slow), "{data:02x?}: {fast:?} vs {slow:?}");
            }
        }
        assert!(
            fast_hits > 100,
            "the fast path took only {fast_hits} frames"
        );
        let f = frame_bytes();
        let frame = Frame {
            ts: Ts(5),
            linktype: LinkType::ETHERNET,
            frame_no: 2,
            caplen: f.len() as u32,
            orig_len: f.len() as u32,
            data: &f,
            owner: None,
        };
        let seg = fast_ethernet_tcp(&frame).expect("the usual frame takes the fast path");
        assert_eq!(
            (seg.src.port(), seg.dst.port(), seg.seq, seg.ack),
            (40000, 1883, 9, 7)
        );
        assert_eq!(seg.payload, b"hello");
        let v6 = v6_frame();
        let frame = Frame {
            data: &v6,
            owner: None,
            caplen: v6.len() as u32,
            orig_len: v6.len() as u32,
            ..frame
        };
        let seg = fast_ethernet_tcp(&frame).expect("IPv6 takes the fast path too");
        assert_eq!(seg.src, "[2001:db8::1]:40000".parse().unwrap());
        assert_eq!((seg.dst.port(), seg.payload), (1883, &b"hello"[..]));
    }
}
