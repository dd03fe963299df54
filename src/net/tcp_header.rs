//! The TCP header (RFC 9293 section 3.1): ports, sequence numbers, flags, payload bounds.
//!
//! Checksums are not verified (captures on the sending host carry offloaded, unfilled
//! checksums); options are skipped through the data offset.

use super::error::{Layer, Malformed};
use super::TcpFlags;
use super::TcpSegment;
use crate::capture::Ts;
use std::net::{IpAddr, SocketAddr};

/// Where a TCP header sits and what surrounds it.
#[derive(Clone, Copy, Debug)]
pub struct TcpInput<'a> {
    /// Capture timestamp for the segment.
    pub ts: Ts,
    /// Frame number for the segment.
    pub frame_no: u64,
    /// Source IP address.
    pub src: IpAddr,
    /// Destination IP address.
    pub dst: IpAddr,
    /// Captured bytes from the TCP header on, bounded by the IP length.
    pub bytes: &'a [u8],
    /// Bytes from the TCP header on that the IP header declares (`>= bytes.len()`).
    pub declared: usize,
    /// Offset of the TCP header in the frame or reassembled datagram (for errors).
    pub offset: usize,
}

/// Decodes the TCP header of `input` into a segment borrowing its payload.
#[inline]
pub fn parse_tcp(input: TcpInput<'_>) -> Result<TcpSegment<'_>, Malformed> {
    let TcpInput {
        bytes,
        declared,
        offset,
        ..
    } = input;
    if declared < 20 {
        return Err(Malformed::truncated(Layer::Tcp, offset, 20, declared));
    }
    let h: &[u8; 20] = bytes
        .get(..20)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Malformed::truncated(Layer::Tcp, offset, 20, bytes.len()))?;
    let words = h[12] >> 4;
    if words < 5 {
        return Err(Malformed::bad_field(
            Layer::Tcp,
            offset,
            "data offset",
            words.into(),
            "at least 5 (32-bit words)",
        ));
    }
    let hlen = usize::from(words) * 4;
    if hlen > declared {
        return Err(Malformed::truncated(Layer::Tcp, offset, hlen, declared));
    }
    // Options cut by snaplen leave an empty captured payload; the rest is missing.
    let payload = bytes.get(hlen..).unwrap_or(&[]);
    let missing = (declared - hlen).saturating_sub(payload.len());
    Ok(TcpSegment {
        ts: input.ts,
        frame_no: input.frame_no,
        src: SocketAddr::new(input.src, u16::from_be_bytes([h[0], h[1]])),
        dst: SocketAddr::new(input.dst, u16::from_be_bytes([h[2], h[3]])),
        seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
        flags: TcpFlags(h[13]),
        window: u16::from_be_bytes([h[14], h[15]]),
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn input(bytes: &[u8], declared: usize) -> TcpInput<'_> {
        TcpInput {
            ts: Ts(7),
            frame_no: 3,
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            bytes,
            declared,
            offset: 34,
        }
    }

    /// A TCP header 1883 -> 40000 with 4 option bytes (data offset 6) and payload "hi".
    fn header() -> Vec<u8> {
        let mut h = vec![
            0x07, 0x5b, // source port 1883
            0x9c, 0x40, // destination port 40000
            0, 0, 0, 100, // sequence number
            0, 0, 0, 200, // acknowledgment number
            0x60, 0x18, // data offset 6, flags PSH|ACK
            0x01, 0x00, // window 256
            0, 0, 0, 0, // checksum, urgent pointer
            1, 1, 1, 0, // options: NOP NOP NOP EOL
        ];
        h.extend_from_slice(b"hi");
        h
    }

    #[test]
    fn fields_and_payload() {
        let h = header();
        let s = parse_tcp(input(&h, h.len())).unwrap();
        assert_eq!(s.src.port(), 1883);
        assert_eq!(s.dst.port(), 40000);
        assert_eq!((s.seq, s.ack, s.window), (100, 200, 256));
        assert!(s.flags.has(TcpFlags::PSH | TcpFlags::ACK));
        assert_eq!(s.payload, b"hi");
        assert_eq!(s.missing, 0);
        assert_eq!((s.ts, s.frame_no), (Ts(7), 3));
    }

    #[test]
    fn cut_payload_and_cut_options_are_missing() {
        let h = header();
        let s = parse_tcp(input(&h[..25], h.len())).unwrap();
        assert_eq!((s.payload, s.missing), (&b"h"[..], 1));
        let s = parse_tcp(input(&h[..21], h.len())).unwrap();
        assert_eq!((s.payload, s.missing), (&b""[..], 2));
        let e = parse_tcp(input(&h[..19], h.len())).unwrap_err();
        assert_eq!(e, Malformed::truncated(Layer::Tcp, 34, 20, 19));
    }

    #[test]
    fn bad_data_offsets_are_malformed() {
        let mut h = header();
        h[12] = 0x40;
        let e = parse_tcp(input(&h, h.len())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the TCP header at offset 34 has data offset = 4, expected at least 5 (32-bit words)"
        );
        h[12] = 0xf0;
        let e = parse_tcp(input(&h, h.len())).unwrap_err();
        assert_eq!(e, Malformed::truncated(Layer::Tcp, 34, 60, 26));
        let e = parse_tcp(input(&h[..10], 10)).unwrap_err();
        assert_eq!(e, Malformed::truncated(Layer::Tcp, 34, 20, 10));
    }
}
