//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers: addresses, upper-layer protocol, payload bounds.
//!
//! The IP length field bounds the payload (Ethernet padding is ignored). Bytes the IP header
//! declares but the capture cut by snaplen are allowed as long as the frame's original length
//! accounts for them; a length that even the original frame cannot hold is malformed.

use super::error::{Layer, Malformed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IPv6 hop-by-hop options header.
pub const PROTO_HOPOPT: u8 = 0;
/// IPv6 routing header.
pub const PROTO_ROUTING: u8 = 43;
/// IPv6 fragment header.
pub const PROTO_FRAGMENT: u8 = 44;
/// Authentication header (IPsec AH).
pub const PROTO_AH: u8 = 51;
/// IPv6 destination options header.
pub const PROTO_DSTOPTS: u8 = 60;

/// Fragment fields of an IPv4 header or an IPv6 fragment header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
}

/// A decoded IP header and the bounds of what it carries.
#[derive(Clone, Copy, Debug)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers; for a fragment, of the fragment).
    pub protocol: u8,
    /// Captured bytes of the upper-layer payload (or fragment data).
    pub payload: &'a [u8],
    /// Byte offset of `payload` in the frame.
    pub payload_offset: usize,
    /// Payload length the IP header declares (`payload.len()` or more when cut by snaplen).
    pub declared: usize,
    /// Length of the IP header(s) before the payload (for the 65535-byte datagram limit).
    pub header_len: usize,
    /// Present when this packet is a fragment that needs reassembly.
    pub frag: Option<FragInfo>,
}

/// Decodes the IPv4 header at `off`; `cut` is how many bytes snaplen removed from the frame.
#[inline]
pub fn ipv4(data: &[u8], off: usize, cut: usize) -> Result<IpPacket<'_>, Malformed> {
    let h = data.get(off..).unwrap_or(&[]);
    let avail = h.len();
    let fixed: &[u8; 20] = h
        .get(..20)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Malformed::truncated(Layer::Ipv4, off, 20, avail))?;
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(Malformed::bad_field(
            Layer::Ipv4,
            off,
            "version",
            version.into(),
            "4",
        ));
    }
    let ihl = usize::from(fixed[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(Malformed::bad_field(
            Layer::Ipv4,
            off,
            "header length",
            (ihl / 4) as u64,
            "at least 5 (32-bit words)",
        ));
    }
    if avail < ihl {
        return Err(Malformed::truncated(Layer::Ipv4, off, ihl, avail));
    }
    let total_field = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    // A total length of 0 is what segmentation offload leaves in captures: use the frame.
    let total = if total_field == 0 { avail } else { total_field };
    if total < ihl {
        return Err(Malformed::bad_field(
            Layer::Ipv4,
            off,
            "total length",
            total as u64,
            "at least the header length",
        ));
    }
    let end = bounded_end(Layer::Ipv4, off, total, avail, cut)?;
    let flags_frag = u16::from_be_bytes([fixed[6], fixed[7]]);
    let more = flags_frag & 0x2000 != 0;
    let frag_off = usize::from(flags_frag & 0x1fff) * 8;
    let frag = (more || frag_off != 0).then_some(FragInfo {
        id: u16::from_be_bytes([fixed[4], fixed[5]]).into(),
        offset: frag_off,
        more,
    });
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15])),
        dst: IpAddr::V4(Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19])),
        protocol: fixed[9],
        payload: h.get(ihl..end).unwrap_or(&[]),
        payload_offset: off + ihl,
        declared: total - ihl,
        header_len: ihl,
        frag,
    })
}

/// Decodes the IPv6 header at `off` and skips its extension headers.
#[inline]
pub fn ipv6(data: &[u8], off: usize, cut: usize) -> Result<IpPacket<'_>, Malformed> {
    let h = data.get(off..).unwrap_or(&[]);
    let avail = h.len();
    let fixed: &[u8; 40] = h
        .get(..40)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Malformed::truncated(Layer::Ipv6, off, 40, avail))?;
    let version = fixed[0] >> 4;
    if version != 6 {
        return Err(Malformed::bad_field(
            Layer::Ipv6,
            off,
            "version",
            version.into(),
            "6",
        ));
    }
    let plen = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    // Payload length 0: a jumbogram or segmentation offload; use the frame.
    let total = if plen == 0 { avail } else { 40 + plen };
    let end = bounded_end(Layer::Ipv6, off, total, avail, cut)?;
    let mut src = [0u8; 16];
    src.copy_from_slice(&fixed[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&fixed[24..40]);
    let walk = skip_ext_headers(fixed[6], h, 40, end, total, off)?;
    Ok(IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        protocol: walk.protocol,
        payload: h.get(walk.pos..end).unwrap_or(&[]),
        payload_offset: off + walk.pos,
        declared: total - walk.pos,
        header_len: walk.pos,
        frag: walk.frag,
    })
}

/// Where the IPv6 extension-header chain ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtWalk {
    /// The first protocol that is not an extension header.
    pub protocol: u8,
    /// Position of that protocol's header in the buffer.
    pub pos: usize,
    /// The fragment header found on the way (walking stops right after it).
    pub frag: Option<FragInfo>,
}

/// True for the IPv6 extension headers this decoder skips.
pub fn is_ext_header(nh: u8) -> bool {
    matches!(
        nh,
        PROTO_HOPOPT | PROTO_ROUTING | PROTO_FRAGMENT | PROTO_AH | PROTO_DSTOPTS
    )
}

/// Skips IPv6 extension headers in `buf` from `pos`, starting with next-header `nh`.
///
/// `captured_end` is where the captured bytes end, `declared_end` where the IP length says the
/// packet ends, and `base` the buffer's offset in the frame (for error offsets). Walking stops
/// after a fragment header that is a real fragment (an atomic fragment, RFC 6946, is skipped).
pub fn skip_ext_headers(
    mut nh: u8,
    buf: &[u8],
    mut pos: usize,
    captured_end: usize,
    declared_end: usize,
    base: usize,
) -> Result<ExtWalk, Malformed> {
    while is_ext_header(nh) {
        let at = base + pos;
        let head = buf.get(pos..captured_end.min(buf.len())).unwrap_or(&[]);
        let declared = declared_end.saturating_sub(pos);
        let (len, frag) = match nh {
            PROTO_FRAGMENT => {
                let b: &[u8; 8] = head
                    .get(..8)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(|| Malformed::truncated(Layer::Ipv6Ext, at, 8, head.len()))?;
                let v = u16::from_be_bytes([b[2], b[3]]);
                let info = FragInfo {
                    id: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    offset: usize::from(v & 0xfff8),
                    more: v & 1 != 0,
                };
                let real = info.more || info.offset != 0;
                (8, real.then_some(info))
            }
            _ => {
                let hdr_len = head
                    .get(1)
                    .ok_or_else(|| Malformed::truncated(Layer::Ipv6Ext, at, 2, head.len()))?;
                let len = if nh == PROTO_AH {
                    (usize::from(*hdr_len) + 2) * 4
                } else {
                    (usize::from(*hdr_len) + 1) * 8
                };
                (len, None)
            }
        };
        if len > declared {
            return Err(Malformed::truncated(Layer::Ipv6Ext, at, len, declared));
        }
        if len > head.len() {
            return Err(Malformed::truncated(Layer::Ipv6Ext, at, len, head.len()));
        }
        nh = head.first().copied().unwrap_or(0);
        pos += len;
        if frag.is_some() {
            return Ok(ExtWalk {
                protocol: nh,
                pos,
                frag,
            });
        }
    }
    Ok(ExtWalk {
        protocol: nh,
        pos,
        frag: None,
    })
}

/// End (relative to the IP header) of the captured part of a packet of `total` bytes.
///
/// Bytes past the capture are allowed only as far as snaplen (`cut`) explains them.
#[inline]
fn bounded_end(
    layer: Layer,
    off: usize,
    total: usize,
    avail: usize,
    cut: usize,
) -> Result<usize, Malformed> {
    if total <= avail {
        Ok(total)
    } else if total - avail <= cut {
        Ok(avail)
    } else {
        Err(Malformed::truncated(layer, off, total, avail + cut))
    }
}
