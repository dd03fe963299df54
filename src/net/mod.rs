//! Link and IP decoding: turns a captured frame into a TCP segment, or says why not.

pub mod decode;
pub mod defrag;
#[cfg(test)]
mod defrag_tests;
pub mod error;
pub mod ip;
pub mod link;
pub mod stats;
pub mod tcp_header;

pub use decode::{FragDrop, NetDecoder, NetOutcome};
pub use defrag::FragStats;
pub use error::{Layer, Malformed, MalformedKind};
pub use link::NonIp;
pub use stats::NetStats;

use crate::capture::Ts;
use std::net::SocketAddr;

/// TCP header flags as the raw flag byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: the sender has finished sending.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection.
    pub const RST: u8 = 0x04;
    /// PSH: push.
    pub const PSH: u8 = 0x08;
    /// ACK: the acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// URG: the urgent pointer is significant.
    pub const URG: u8 = 0x20;

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// One TCP segment, its payload borrowed from the frame (or the IP defragmenter).
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    /// Capture timestamp of the frame that carried (or completed) the segment.
    pub ts: Ts,
    /// Frame number of that frame.
    pub frame_no: u64,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// Acknowledgment number (meaningful when the ACK flag is set).
    pub ack: u32,
    /// TCP flags.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried on the wire but the capture cut (snaplen).
    pub missing: u32,
}
