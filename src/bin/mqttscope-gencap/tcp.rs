//! TCP segmentation of two byte streams and Ethernet/IP/TCP frame building with checksums.

use std::net::IpAddr;

/// Largest TCP payload per segment (Ethernet MTU 1500 minus IPv4 and TCP headers).
pub const MSS: usize = 1460;

/// TCP flag bits (RFC 9293 §3.1).
pub const FIN: u8 = 0x01;
/// SYN flag.
pub const SYN: u8 = 0x02;
/// RST flag.
pub const RST: u8 = 0x04;
/// PSH flag.
pub const PSH: u8 = 0x08;
/// ACK flag.
pub const ACK: u8 = 0x10;

/// One planned segment; the payload is `len` bytes of stream `dir` from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    /// 0 = client to server, 1 = server to client.
    pub dir: u8,
    /// TCP flags.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Payload start within the direction's stream.
    pub start: u32,
    /// Payload length.
    pub len: u32,
}

/// Both directions of one connection: the streams, what was sent, and the planned segments.
pub struct Plan {
    /// Stream bytes per direction.
    pub streams: [Vec<u8>; 2],
    /// Bytes of each stream already segmented.
    sent: [usize; 2],
    /// Initial sequence numbers.
    isn: [u32; 2],
    /// FIN sent per direction.
    fin: [bool; 2],
    /// Data segments not yet acknowledged by a pure ACK, per direction.
    unacked: [u32; 2],
    /// The segments in wire order.
    pub segs: Vec<Seg>,
}

impl Plan {
    /// A connection with these initial sequence numbers; emits the three-way handshake.
    pub fn new(isn_c: u32, isn_s: u32) -> Self {
        let mut p = Plan {
            streams: [Vec::new(), Vec::new()],
            sent: [0; 2],
            isn: [isn_c, isn_s],
            fin: [false; 2],
            unacked: [0; 2],
            segs: Vec::new(),
        };
        p.push(0, SYN, isn_c, 0, 0);
        p.push(1, SYN | ACK, isn_s, isn_c.wrapping_add(1), 0);
        let (s, a) = (p.seq(0), p.ack_for(0));
        p.push(0, ACK, s, a, 0);
        p
    }

    fn push(&mut self, dir: u8, flags: u8, seq: u32, ack: u32, len: usize) {
        let start = self.sent[dir as usize] as u32;
        self.segs.push(Seg {
            dir,
            flags,
            seq,
            ack,
            start,
            len: len as u32,
        });
    }

    /// Next sequence number of `dir`.
    fn seq(&self, dir: u8) -> u32 {
        let d = dir as usize;
        self.isn[d]
            .wrapping_add(1)
            .wrapping_add(self.sent[d] as u32)
            .wrapping_add(u32::from(self.fin[d]))
    }

    /// Acknowledgment number sent by `dir` (everything the peer sent so far).
    fn ack_for(&self, dir: u8) -> u32 {
        self.seq(dir ^ 1)
    }

    /// The stream of `dir`, to append MQTT packets to before [`Plan::flush`].
    pub fn stream(&mut self, dir: u8) -> &mut Vec<u8> {
        &mut self.streams[dir as usize]
    }

    /// Segments everything appended to `dir` since the last flush; the peer ACKs every second
    /// segment and, when `ack_tail`, the last odd one.
    pub fn flush(&mut self, dir: u8, ack_tail: bool) {
        let d = dir as usize;
        while self.sent[d] < self.streams[d].len() {
            let n = (self.streams[d].len() - self.sent[d]).min(MSS);
            let last = self.sent[d] + n == self.streams[d].len();
            let flags = if last { ACK | PSH } else { ACK };
            let (s, a) = (self.seq(dir), self.ack_for(dir));
            self.push(dir, flags, s, a, n);
            self.sent[d] += n;
            self.unacked[d] += 1;
            if self.unacked[d] == 2 {
                self.pure_ack(dir ^ 1);
            }
        }
        if ack_tail && self.unacked[d] > 0 {
            self.pure_ack(dir ^ 1);
        }
    }

    fn pure_ack(&mut self, dir: u8) {
        let (s, a) = (self.seq(dir), self.ack_for(dir));
        self.push(dir, ACK, s, a, 0);
        self.unacked[dir as usize ^ 1] = 0;
    }

    /// FIN from `dir`, answered by the peer's ACK.
    pub fn fin(&mut self, dir: u8) {
        let (s, a) = (self.seq(dir), self.ack_for(dir));
        self.push(dir, FIN | ACK, s, a, 0);
        self.fin[dir as usize] = true;
        self.pure_ack(dir ^ 1);
    }

    /// RST from `dir`.
    pub fn rst(&mut self, dir: u8) {
        let (s, a) = (self.seq(dir), self.ack_for(dir));
        self.push(dir, RST | ACK, s, a, 0);
    }
}

/// The two endpoints of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    /// Client address.
    pub client: IpAddr,
    /// Client port.
    pub cport: u16,
    /// Server address.
    pub server: IpAddr,
    /// Server port.
    pub sport: u16,
}

fn sum16(mut acc: u32, bytes: &[u8]) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        acc += u32::from(*b) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Appends the Ethernet + IP + TCP frame of `seg` (payload `payload`) to `out`.
pub fn frame(out: &mut Vec<u8>, ends: &Ends, seg: &Seg, payload: &[u8], ip_id: u16) {
    let (src, dst, sp, dp) = if seg.dir == 0 {
        (ends.client, ends.server, ends.cport, ends.sport)
    } else {
        (ends.server, ends.client, ends.sport, ends.cport)
    };
    let v6 = matches!(src, IpAddr::V6(_));
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 2 - seg.dir, 0x02, 0, 0, 0, 0, 1 + seg.dir]);
    out.extend_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
    let tcp_len = 20 + payload.len();
    let mut pseudo = 0u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let ip_at = out.len();
            let total = (20 + tcp_len) as u16;
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&ip_id.to_be_bytes());
            out.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = fold(sum16(0, &out[ip_at..ip_at + 20]));
            out[ip_at + 10..ip_at + 12].copy_from_slice(&c.to_be_bytes());
            pseudo = sum16(pseudo, &s.octets());
            pseudo = sum16(pseudo, &d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            out.extend_from_slice(&[6, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            pseudo = sum16(pseudo, &s.octets());
            pseudo = sum16(pseudo, &d.octets());
        }
        _ => {}
    }
    pseudo += 6 + tcp_len as u32;
    let tcp_at = out.len();
    out.extend_from_slice(&sp.to_be_bytes());
    out.extend_from_slice(&dp.to_be_bytes());
    out.extend_from_slice(&seg.seq.to_be_bytes());
    let ack = if seg.flags & ACK != 0 { seg.ack } else { 0 };
    out.extend_from_slice(&ack.to_be_bytes());
    out.extend_from_slice(&[0x50, seg.flags, 0xff, 0xff, 0, 0, 0, 0]);
    out.extend_from_slice(payload);
    let c = fold(sum16(pseudo, &out[tcp_at..]));
    out[tcp_at + 16..tcp_at + 18].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_splits_at_mss_and_numbers_bytes() {
        let mut p = Plan::new(1000, 5000);
        p.stream(0).extend(std::iter::repeat_n(7u8, 3000));
        p.flush(0, true);
        let data: Vec<_> = p.segs.iter().filter(|s| s.len > 0).collect();
        assert_eq!(data.len(), 3);
        assert_eq!(data[0].seq, 1001);
        assert_eq!(data[1].seq, 1001 + MSS as u32);
        assert_eq!(data[2].len as usize, 3000 - 2 * MSS);
        // The server acknowledges after two segments and after the odd last one.
        let acks: Vec<_> = p.segs.iter().skip(3).filter(|s| s.dir == 1).collect();
        assert_eq!(acks.len(), 2);
        assert_eq!(acks[1].ack, 1001 + 3000);
    }

    #[test]
    fn ipv4_checksums_verify_to_zero() {
        let ends = Ends {
            client: "10.1.2.3".parse().unwrap(),
            cport: 40000,
            server: "10.0.0.1".parse().unwrap(),
            sport: 1883,
        };
        let seg = Seg {
            dir: 0,
            flags: ACK | PSH,
            seq: 1,
            ack: 2,
            start: 0,
            len: 3,
        };
        let mut f = Vec::new();
        frame(&mut f, &ends, &seg, b"abc", 9);
        assert_eq!(f.len(), 14 + 20 + 20 + 3);
        assert_eq!(fold(sum16(0, &f[14..34])), 0);
        let mut pseudo = sum16(0, &f[26..34]);
        pseudo += 6 + 23;
        assert_eq!(fold(sum16(pseudo, &f[34..])), 0);
    }
}
