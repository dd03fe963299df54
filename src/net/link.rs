//! Link-layer headers: find where the IP header starts, or say what the frame carries instead.
//!
//! Layouts follow the tcpdump.org LINKTYPE registry: Ethernet II (IEEE 802.3 clause 3) with
//! 802.1Q / 802.1ad tags, Linux cooked v1 (16 bytes) and v2 (20 bytes), BSD NULL / LOOP
//! (4-byte address family), and the raw IP link types.

use super::error::{Layer, Malformed};
use crate::capture::LinkType;
use std::fmt;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q customer VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service VLAN tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ EtherType still used by some switches.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// BSD address family of IPv4 (every BSD, Linux, Darwin).
pub const AF_INET: u32 = 2;
/// IPv6 address families as the various systems number them (Linux, *BSD, FreeBSD, Darwin).
pub const AF_INET6: [u32; 4] = [10, 24, 28, 30];

/// The IP version a link layer announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// What a non-IP frame carries, as its link layer identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NonIp {
    /// An EtherType (Ethernet, Linux cooked); values below 0x0600 are 802.3 lengths.
    EtherType(u16),
    /// A BSD loopback address family (NULL / LOOP link types).
    AddressFamily(u32),
    /// The version nibble of a raw-IP frame that is neither 4 nor 6.
    IpVersion(u8),
}

impl fmt::Display for NonIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NonIp::EtherType(t) if t < 0x0600 => write!(f, "802.3 frame (length {t})"),
            NonIp::EtherType(ETHERTYPE_ARP) => write!(f, "ARP (ethertype 0x0806)"),
            NonIp::EtherType(t) => write!(f, "ethertype 0x{t:04x}"),
            NonIp::AddressFamily(af) => write!(f, "address family {af}"),
            NonIp::IpVersion(v) => write!(f, "IP version {v}"),
        }
    }
}

/// Why the link layer did not lead to an IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStop {
    /// The frame carries something other than IP.
    NotIp(NonIp),
    /// The link type is not one this decoder knows.
    Unsupported,
    /// The link header is cut or inconsistent.
    Malformed(Malformed),
}

/// Finds the IP header in `data` for `linktype`: its version and byte offset.
#[inline]
pub fn strip_link(linktype: LinkType, data: &[u8]) -> Result<(IpVersion, usize), LinkStop> {
    match linktype {
        LinkType::ETHERNET => {
            let t = be16(data, 12).ok_or_else(|| cut(linktype, 14, data.len()))?;
            by_ethertype(t, data, 14)
        }
        LinkType::LINUX_SLL => {
            let t = be16(data, 14).ok_or_else(|| cut(linktype, 16, data.len()))?;
            by_ethertype(t, data, 16)
        }
        LinkType::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(cut(linktype, 20, data.len()));
            }
            let t = be16(data, 0).ok_or_else(|| cut(linktype, 20, data.len()))?;
            by_ethertype(t, data, 20)
        }
        LinkType::NULL | LinkType::LOOP => {
            let b: [u8; 4] = data
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| cut(linktype, 4, data.len()))?;
            // Host byte order for NULL, network order for LOOP: a family number is small,
            // so two leading zero bytes mean big-endian.
            let af = if b[0] == 0 && b[1] == 0 {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            if af == AF_INET {
                Ok((IpVersion::V4, 4))
            } else if AF_INET6.contains(&af) {
                Ok((IpVersion::V6, 4))
            } else {
                Err(LinkStop::NotIp(NonIp::AddressFamily(af)))
            }
        }
        LinkType::RAW => {
            let first = *data.first().ok_or_else(|| cut(linktype, 1, 0))?;
            match first >> 4 {
                4 => Ok((IpVersion::V4, 0)),
                6 => Ok((IpVersion::V6, 0)),
                v => Err(LinkStop::NotIp(NonIp::IpVersion(v))),
            }
        }
        LinkType::IPV4 => Ok((IpVersion::V4, 0)),
        LinkType::IPV6 => Ok((IpVersion::V6, 0)),
        _ => Err(LinkStop::Unsupported),
    }
}

/// Follows an EtherType through any stack of VLAN tags starting at `offset`.
#[inline]
fn by_ethertype(
    mut ethertype: u16,
    data: &[u8],
    mut offset: usize,
) -> Result<(IpVersion, usize), LinkStop> {
    loop {
        match ethertype {
            ETHERTYPE_IPV4 => return Ok((IpVersion::V4, offset)),
            ETHERTYPE_IPV6 => return Ok((IpVersion::V6, offset)),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                // Tag: 2 bytes TCI, then the next EtherType.
                ethertype = be16(data, offset + 2).ok_or_else(|| {
                    LinkStop::Malformed(Malformed::truncated(
                        Layer::Vlan,
                        offset,
                        4,
                        data.len().saturating_sub(offset),
                    ))
                })?;
                offset += 4;
            }
            other => return Err(LinkStop::NotIp(NonIp::EtherType(other))),
        }
    }
}

/// Big-endian u16 at `at`, if present.
#[inline]
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// A link header of `needed` bytes cut to `available`.
fn cut(linktype: LinkType, needed: usize, available: usize) -> LinkStop {
    LinkStop::Malformed(Malformed::truncated(
        Layer::Link(linktype),
        0,
        needed,
        available,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_stacked_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x91, 0x00, 0, 30]);
        f.extend_from_slice(&[0x86, 0xdd]);
        assert_eq!(strip_link(LinkType::ETHERNET, &f), Ok((IpVersion::V6, 26)));
        // A tag cut in the middle is malformed at the tag's offset.
        let short = &f[..20];
        assert_eq!(
            strip_link(LinkType::ETHERNET, short),
            Err(LinkStop::Malformed(Malformed::truncated(
                Layer::Vlan,
                18,
                4,
                2
            )))
        );
    }

    #[test]
    fn null_accepts_both_byte_orders_and_all_inet6_numbers() {
        assert_eq!(
            strip_link(LinkType::NULL, &[2, 0, 0, 0]),
            Ok((IpVersion::V4, 4))
        );
        assert_eq!(
            strip_link(LinkType::NULL, &[0, 0, 0, 2]),
            Ok((IpVersion::V4, 4))
        );
        for af in AF_INET6 {
            assert_eq!(
                strip_link(LinkType::NULL, &af.to_le_bytes()),
                Ok((IpVersion::V6, 4))
            );
            assert_eq!(
                strip_link(LinkType::LOOP, &af.to_be_bytes()),
                Ok((IpVersion::V6, 4))
            );
        }
        assert_eq!(
            strip_link(LinkType::NULL, &7u32.to_le_bytes()),
            Err(LinkStop::NotIp(NonIp::AddressFamily(7)))
        );
    }

    #[test]
    fn raw_reads_the_version_nibble() {
        assert_eq!(strip_link(LinkType::RAW, &[0x45]), Ok((IpVersion::V4, 0)));
        assert_eq!(strip_link(LinkType::RAW, &[0x60]), Ok((IpVersion::V6, 0)));
        assert_eq!(
            strip_link(LinkType::RAW, &[0x50]),
            Err(LinkStop::NotIp(NonIp::IpVersion(5)))
        );
        assert!(matches!(
            strip_link(LinkType::RAW, &[]),
            Err(LinkStop::Malformed(_))
        ));
    }

    #[test]
    fn every_prefix_of_a_link_header_is_an_error_not_a_panic() {
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0; 18]);
        for n in 0..sll2.len() {
            assert!(matches!(
                strip_link(LinkType::LINUX_SLL2, &sll2[..n]),
                Err(LinkStop::Malformed(_))
            ));
        }
        assert_eq!(
            strip_link(LinkType::LINUX_SLL2, &sll2),
            Ok((IpVersion::V4, 20))
        );
        assert_eq!(strip_link(LinkType(147), &sll2), Err(LinkStop::Unsupported));
    }
}
