//! Why a frame could not be decoded down to TCP: a typed error with evidence.

use crate::capture::LinkType;
use std::fmt;

/// The protocol layer where decoding stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The link-layer header of the given link type.
    Link(LinkType),
    /// An 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// The IPv4 header.
    Ipv4,
    /// The IPv6 fixed header.
    Ipv6,
    /// An IPv6 extension header (hop-by-hop, routing, destination options, AH, fragment).
    Ipv6Ext,
    /// IP fragment reassembly.
    Fragment,
    /// The TCP header.
    Tcp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Link(lt) => write!(f, "{lt} link header"),
            Layer::Vlan => write!(f, "VLAN tag"),
            Layer::Ipv4 => write!(f, "IPv4 header"),
            Layer::Ipv6 => write!(f, "IPv6 header"),
            Layer::Ipv6Ext => write!(f, "IPv6 extension header"),
            Layer::Fragment => write!(f, "IP fragment"),
            Layer::Tcp => write!(f, "TCP header"),
        }
    }
}

/// What exactly is wrong at the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MalformedKind {
    /// The layer needs more bytes than the frame (or the enclosing length) provides.
    Truncated {
        /// Bytes the layer needs from its start.
        needed: usize,
        /// Bytes available from its start.
        available: usize,
    },
    /// A field holds a value that cannot be right.
    BadField {
        /// Field name as the specification calls it.
        field: &'static str,
        /// The value found.
        value: u64,
        /// What was expected, as a sentence fragment.
        expected: &'static str,
    },
}

/// A frame that is not a well-formed TCP segment: the layer, where, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Malformed {
    /// Layer where decoding stopped.
    pub layer: Layer,
    /// Byte offset of that layer's start in the frame (or in the reassembled datagram).
    pub offset: usize,
    /// What is wrong.
    pub kind: MalformedKind,
}

impl Malformed {
    /// A layer that needs `needed` bytes from `offset` but only `available` exist.
    pub fn truncated(layer: Layer, offset: usize, needed: usize, available: usize) -> Malformed {
        Malformed {
            layer,
            offset,
            kind: MalformedKind::Truncated { needed, available },
        }
    }

    /// A field at the layer starting at `offset` holding an impossible value.
    pub fn bad_field(
        layer: Layer,
        offset: usize,
        field: &'static str,
        value: u64,
        expected: &'static str,
    ) -> Malformed {
        Malformed {
            layer,
            offset,
            kind: MalformedKind::BadField {
                field,
                value,
                expected,
            },
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            MalformedKind::Truncated { needed, available } => write!(
                f,
                "the {} at offset {} is cut short: it needs {} bytes but only {} are available",
                self.layer, self.offset, needed, available
            ),
            MalformedKind::BadField {
                field,
                value,
                expected,
            } => write!(
                f,
                "the {} at offset {} has {} = {}, expected {}",
                self.layer, self.offset, field, value, expected
            ),
        }
    }
}

impl std::error::Error for Malformed {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_as_a_sentence_with_evidence() {
        let m = Malformed::truncated(Layer::Tcp, 34, 20, 12);
        assert_eq!(
            m.to_string(),
            "the TCP header at offset 34 is cut short: it needs 20 bytes but only 12 are available"
        );
        let m = Malformed::bad_field(Layer::Tcp, 34, "data offset", 3, "at least 5");
        assert_eq!(
            m.to_string(),
            "the TCP header at offset 34 has data offset = 3, expected at least 5"
        );
        let m = Malformed::truncated(Layer::Link(LinkType::LINUX_SLL2), 0, 20, 7);
        assert!(m
            .to_string()
            .starts_with("the LINUX_SLL2 link header at offset 0"));
    }
}
