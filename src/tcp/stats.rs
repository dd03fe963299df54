//! Counters of the reassembler, and the event emitter that keeps them in step with its output.

use super::{CloseReason, ConnId, Dir, GapReason, StreamEvent, TcpAnomaly};
use crate::capture::Ts;

/// Connections closed, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClosedCounts {
    /// FIN seen both ways.
    pub fin: u64,
    /// RST seen.
    pub rst: u64,
    /// Idle timeout (also counts connections superseded by a new SYN on the same 4-tuple).
    pub idle: u64,
    /// Evicted at the connection cap.
    pub evicted: u64,
    /// Still open at the end of the capture.
    pub end_of_capture: u64,
}

/// Times each cap was hit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapCounts {
    /// Out-of-order bytes per direction (`Limits::max_buffered_per_dir`).
    pub buffer: u64,
    /// Holes per direction (`Limits::max_holes_per_dir`).
    pub holes: u64,
    /// Tracked connections (`Limits::max_flows`).
    pub flows: u64,
    /// Out-of-order bytes across all connections (`Limits::tcp_budget`, from the memory
    /// budget): holes given up because the whole reassembler was full.
    pub budget: u64,
}

/// Everything the reassembler counted over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections opened (each `StreamEvent::Open`).
    pub opened: u64,
    /// Connections closed, by reason.
    pub closed: ClosedCounts,
    /// TCP segments handed to the reassembler.
    pub segments: u64,
    /// Segments ignored as stragglers of an already closed connection.
    pub stragglers: u64,
    /// Bytes delivered as `StreamEvent::Data`.
    pub bytes_delivered: u64,
    /// Bytes declared missing as `StreamEvent::Gap`.
    pub bytes_in_gaps: u64,
    /// Segments carrying at least one byte already received (delivered or buffered).
    pub retransmissions: u64,
    /// Segments whose overlap with an earlier copy carried different bytes.
    pub overlap_mismatches: u64,
    /// Segments carrying data after their direction's FIN.
    pub data_after_fin: u64,
    /// Caps hit, by kind.
    pub caps: CapCounts,
    /// Connections evicted at the connection cap.
    pub evictions: u64,
    /// Connections expired after `Limits::flow_idle_secs` of silence.
    pub idle_expiries: u64,
    /// Connections closed because a new SYN with another ISN reused their 4-tuple.
    pub superseded: u64,
    /// Out-of-order bytes buffered right now, across all connections.
    pub buffered_now: u64,
    /// Most out-of-order bytes ever buffered at once, across all connections.
    pub buffered_peak: u64,
}

/// Where events go: the caller's closure, with the counters updated on the way.
pub(crate) struct Emitter<'o, 'f> {
    /// The consumer.
    pub out: &'o mut (dyn FnMut(StreamEvent<'_>) + 'f),
    /// The counters.
    pub stats: &'o mut TcpStats,
    /// Capture time of the segment being handled (or of the end of capture).
    pub ts: Ts,
    /// Frame number of the segment being handled (0 at end of capture).
    pub frame_no: u64,
}

impl Emitter<'_, '_> {
    /// Delivers in-order bytes, dated by the segment being handled.
    pub fn data(&mut self, conn: ConnId, dir: Dir, offset: u64, bytes: &[u8]) {
        self.data_at(conn, dir, offset, bytes, (self.ts, self.frame_no));
    }

    /// Delivers in-order bytes dated by `(ts, frame_no)` (bytes that arrived earlier).
    pub fn data_at(
        &mut self,
        conn: ConnId,
        dir: Dir,
        offset: u64,
        bytes: &[u8],
        (ts, frame_no): (Ts, u64),
    ) {
        if bytes.is_empty() {
            return;
        }
        self.stats.bytes_delivered += bytes.len() as u64;
        (self.out)(StreamEvent::Data {
            conn,
            dir,
            ts,
            frame_no,
            offset,
            bytes,
        });
    }

    /// Declares `len` bytes at `offset` missing.
    pub fn gap(&mut self, conn: ConnId, dir: Dir, offset: u64, len: u64, reason: GapReason) {
        if len == 0 {
            return;
        }
        self.stats.bytes_in_gaps += len;
        (self.out)(StreamEvent::Gap {
            conn,
            dir,
            ts: self.ts,
            frame_no: self.frame_no,
            offset,
            len,
            reason,
        });
    }

    /// Reports an anomaly and counts it.
    pub fn anomaly(&mut self, conn: ConnId, dir: Dir, kind: TcpAnomaly) {
        match kind {
            TcpAnomaly::OverlapMismatch { .. } => self.stats.overlap_mismatches += 1,
            TcpAnomaly::BufferCap => self.stats.caps.buffer += 1,
            TcpAnomaly::BudgetCap => self.stats.caps.budget += 1,
            TcpAnomaly::HoleCap => self.stats.caps.holes += 1,
            TcpAnomaly::FlowCap => self.stats.caps.flows += 1,
            TcpAnomaly::DataAfterFin => self.stats.data_after_fin += 1,
        }
        (self.out)(StreamEvent::Anomaly {
            conn,
            dir,
            ts: self.ts,
            frame_no: self.frame_no,
            kind,
        });
    }

    /// Accounts for `n` more out-of-order bytes buffered.
    pub fn buffered_add(&mut self, n: u64) {
        self.stats.buffered_now += n;
        self.stats.buffered_peak = self.stats.buffered_peak.max(self.stats.buffered_now);
    }

    /// Accounts for `n` out-of-order bytes released.
    pub fn buffered_sub(&mut self, n: u64) {
        self.stats.buffered_now = self.stats.buffered_now.saturating_sub(n);
    }

    /// Announces a closed connection and counts it.
    pub fn close(&mut self, conn: ConnId, reason: CloseReason) {
        let c = &mut self.stats.closed;
        match reason {
            CloseReason::Fin => c.fin += 1,
            CloseReason::Rst => c.rst += 1,
            CloseReason::Idle => c.idle += 1,
            CloseReason::Evicted => c.evicted += 1,
            CloseReason::EndOfCapture => c.end_of_capture += 1,
        }
        (self.out)(StreamEvent::Close {
            conn,
            ts: self.ts,
            frame_no: self.frame_no,
            reason,
        });
    }
}
