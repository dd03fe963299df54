//! Input encodings shared by the fuzz targets and the seed maker: fuzzer bytes to framer
//! chunks, and fuzzer bytes to TCP segments (and back, for seeds made from real captures).

use mqttscope::capture::Ts;
use mqttscope::limits::Limits;
use mqttscope::mqtt::types::Version;
use mqttscope::net::{TcpFlags, TcpSegment};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// One step of the MQTT stream target: bytes to feed, or a gap of `n` lost bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// In-order bytes.
    Bytes(&'a [u8]),
    /// Lost bytes.
    Gap(u64),
}

/// The MQTT stream target's settings and steps, from its input bytes.
#[derive(Debug)]
pub struct StreamInput<'a> {
    /// Protocol version to decode with.
    pub version: Version,
    /// Framer size cap.
    pub max_packet: usize,
    /// Start by searching for a header (mid-stream pickup).
    pub resync: bool,
    /// The whole stream, for the one-chunk comparison.
    pub stream: &'a [u8],
    /// The stream cut into chunks, with some chunks lost as gaps.
    pub steps: Vec<Step<'a>>,
}

/// Splits the MQTT stream target's input: byte 0 picks version, resync and the size cap,
/// byte 1 seeds the chunk sizes and gap positions, the rest is the stream.
pub fn stream_input(data: &[u8]) -> Option<StreamInput<'_>> {
    let (&b0, &b1) = (data.first()?, data.get(1)?);
    let stream = data.get(2..)?;
    let version = match b0 & 3 {
        0 => Version::V3_1,
        1 => Version::V3_1_1,
        _ => Version::V5,
    };
    let max_packet = 16usize << ((b0 >> 3) & 15);
    let mut steps = Vec::new();
    let mut rest = stream;
    let mut state = u32::from(b1) | 1;
    let mut i = 0u32;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = if b1 == 0 {
            rest.len()
        } else {
            1 + ((state >> 16) as usize % 64)
        };
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        if b1 & 0x80 != 0 && i % 7 == 3 {
            steps.push(Step::Gap(chunk.len() as u64));
        } else {
            steps.push(Step::Bytes(chunk));
        }
        rest = tail;
        i += 1;
    }
    Some(StreamInput {
        version,
        max_packet,
        resync: b0 & 4 != 0,
        stream,
        steps,
    })
}

/// Bytes of one encoded segment before its payload.
pub const SEGMENT_HEADER: usize = 14;

/// The fixed client and server addresses of connection `i` (0..8) of the TCP target.
pub fn endpoints(i: u8) -> (SocketAddr, SocketAddr) {
    let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + (i & 7))), 40_000);
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)), 1883);
    (client, server)
}

/// One segment of the TCP target, before encoding.
#[derive(Clone, Copy, Debug)]
pub struct SegSpec<'a> {
    /// TCP flags (low 6 bits).
    pub flags: u8,
    /// Sent by the server.
    pub to_client: bool,
    /// Connection 0..8.
    pub conn: u8,
    /// Seconds since the previous segment (0..16).
    pub dt_secs: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload bytes cut by the capture.
    pub missing: u8,
}

/// Encodes one segment of the TCP target: flags, meta (bit 0 direction, bits 1-3 connection,
/// bits 4-7 seconds since the previous segment), seq and ack (LE), payload length (LE), cut
/// length, one spare byte, then the payload.
pub fn encode_segment(out: &mut Vec<u8>, s: &SegSpec<'_>) {
    let len = s.payload.len().min(u16::MAX as usize);
    out.push(s.flags);
    out.push(u8::from(s.to_client) | ((s.conn & 7) << 1) | (s.dt_secs.min(15) << 4));
    out.extend_from_slice(&s.seq.to_le_bytes());
    out.extend_from_slice(&s.ack.to_le_bytes());
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.push(s.missing);
    out.push(0);
    out.extend_from_slice(&s.payload[..len]);
}

/// Decodes the TCP target's input into segments (a short last record is dropped).
pub fn segments(data: &[u8]) -> Vec<TcpSegment<'_>> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut ts = 1_000_000_000i64;
    let mut frame_no = 0u64;
    while rest.len() >= SEGMENT_HEADER {
        let (h, tail) = rest.split_at(SEGMENT_HEADER);
        let len = usize::from(u16::from_le_bytes([h[10], h[11]]));
        if tail.len() < len {
            break;
        }
        let (payload, next) = tail.split_at(len);
        rest = next;
        let meta = h[1];
        ts += i64::from(meta >> 4) * 1_000_000_000;
        frame_no += 1;
        let (client, server) = endpoints((meta >> 1) & 7);
        let (src, dst) = if meta & 1 == 0 {
            (client, server)
        } else {
            (server, client)
        };
        out.push(TcpSegment {
            ts: Ts(ts),
            frame_no,
            src,
            dst,
            seq: u32::from_le_bytes([h[2], h[3], h[4], h[5]]),
            ack: u32::from_le_bytes([h[6], h[7], h[8], h[9]]),
            flags: TcpFlags(h[0] & 0x3f),
            window: 1024,
            payload,
            missing: u32::from(h[12]),
        });
    }
    out
}

/// Small caps, so that fuzzing reaches every cap and the global budget quickly.
pub fn small_limits() -> Limits {
    Limits {
        max_packet: 4096,
        max_buffered_per_dir: 512,
        max_holes_per_dir: 4,
        max_flows: 4,
        flow_idle_secs: 60,
        hole_timeout_secs: 5,
        max_frag_bytes: 4096,
        max_frag_sets: 4,
        frag_timeout_secs: 5,
        max_inflight_per_conn: 16,
        max_events: 1000,
        ..Limits::default()
    }
}
