//! TCP reassembly: per-connection, per-direction ordered byte streams with explicit gaps.

pub mod assembler;
mod conn;
pub mod reassembler;
pub mod seq;
pub mod stats;
mod stream;
mod table;

pub use reassembler::Reassembler;
pub use seq::SeqNum;
pub use stats::TcpStats;

use crate::capture::Ts;
use std::fmt;
use std::net::SocketAddr;

/// Identifies one TCP connection for the whole run (a reused 4-tuple gets a new id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Direction of bytes within a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
    /// Short name used in outputs: "c2s" or "s2c".
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::ToServer => "c2s",
            Dir::ToClient => "s2c",
        }
    }
    /// Index 0 (to server) or 1 (to client), for per-direction arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How the client side of a connection was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrientedBy {
    /// The SYN sender is the client.
    Syn,
    /// Mid-stream pickup: the side not on a known MQTT port is the client.
    Port,
    /// Mid-stream pickup and no known port: the first sender is taken as the client.
    FirstSeen,
}

/// Everything known about a connection when it is first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    /// The connection's id.
    pub id: ConnId,
    /// Client address (see `oriented_by`).
    pub client: SocketAddr,
    /// Server address.
    pub server: SocketAddr,
    /// How client and server were told apart.
    pub oriented_by: OrientedBy,
    /// Timestamp of the first segment.
    pub ts: Ts,
    /// Frame number of the first segment.
    pub frame_no: u64,
}

/// Why a stretch of a byte stream is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The peer acknowledged past bytes that were never captured.
    AckedUnseen,
    /// A hole did not fill before the connection closed (FIN/RST) or the capture ended.
    Closed,
    /// A hole did not fill within the hole timeout.
    Timeout,
    /// A buffering cap (bytes or holes) forced the hole to be given up.
    Cap,
    /// The capture cut the frame (snaplen).
    Snaplen,
}

/// Why a connection's tracking ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// FIN seen from both sides (or one side and the other went silent).
    Fin,
    /// RST seen.
    Rst,
    /// No traffic for the idle timeout.
    Idle,
    /// Evicted to stay under the connection cap.
    Evicted,
    /// The capture ended with the connection open.
    EndOfCapture,
}

/// Something the reassembler noticed that the user should see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpAnomaly {
    /// A retransmission or overlap carried bytes different from the first copy (first copy kept).
    OverlapMismatch {
        /// Stream offset of the first differing byte.
        offset: u64,
        /// Number of overlapping bytes that differ (or, for a retransmission of an older
        /// delivered segment compared by fingerprint, that segment's length).
        len: u32,
    },
    /// The per-direction buffered-bytes cap was hit.
    BufferCap,
    /// The reassembler's share of the memory budget (all connections together) was hit.
    BudgetCap,
    /// The per-direction holes cap was hit.
    HoleCap,
    /// The connection table cap was hit (a connection was evicted).
    FlowCap,
    /// Data seen after the direction's FIN.
    DataAfterFin,
}

/// What the reassembler hands downstream, in capture order.
#[derive(Clone, Copy, Debug)]
pub enum StreamEvent<'a> {
    /// A new connection.
    Open(ConnInfo),
    /// In-order bytes of one direction, starting at stream `offset` (0 = first byte after SYN
    /// or first byte seen).
    Data {
        /// Connection.
        conn: ConnId,
        /// Direction.
        dir: Dir,
        /// Timestamp of the frame that made these bytes deliverable.
        ts: Ts,
        /// Frame number of that frame.
        frame_no: u64,
        /// Stream offset of `bytes[0]`.
        offset: u64,
        /// The bytes, borrowed from the frame or the reassembler's buffer.
        bytes: &'a [u8],
    },
    /// `len` bytes of one direction will never arrive.
    Gap {
        /// Connection.
        conn: ConnId,
        /// Direction.
        dir: Dir,
        /// Timestamp at which the gap was declared.
        ts: Ts,
        /// Frame number at which the gap was declared (0 when at end of capture).
        frame_no: u64,
        /// Stream offset where the gap starts.
        offset: u64,
        /// Number of missing bytes.
        len: u64,
        /// Why the bytes are missing.
        reason: GapReason,
    },
    /// A reassembly anomaly.
    Anomaly {
        /// Connection.
        conn: ConnId,
        /// Direction.
        dir: Dir,
        /// Timestamp.
        ts: Ts,
        /// Frame number.
        frame_no: u64,
        /// What happened.
        kind: TcpAnomaly,
    },
    /// The connection is no longer tracked; no more events for it.
    Close {
        /// Connection.
        conn: ConnId,
        /// Timestamp.
        ts: Ts,
        /// Frame number (0 when at end of capture).
        frame_no: u64,
        /// Why.
        reason: CloseReason,
    },
}
