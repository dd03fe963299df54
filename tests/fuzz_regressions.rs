//! Regression tests for the crashes cargo fuzz found (fuzz/), one named test per crash.

use mqttscope::capture::Ts;
use mqttscope::limits::Limits;
use mqttscope::net::{TcpFlags, TcpSegment};
use mqttscope::tcp::{Dir, Reassembler, StreamEvent};
use std::collections::HashMap;
use std::net::SocketAddr;

fn seg<'a>(seq: u32, ack: u32, flags: u8, payload: &'a [u8], missing: u32) -> TcpSegment<'a> {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.1.1:1883".parse().unwrap();
    TcpSegment {
        ts: Ts(1_000_000_000),
        frame_no: 1,
        src: client,
        dst: server,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 1024,
        payload,
        missing,
    }
}

/// Found by fuzz target tcp_reassembler (crash-720ba12f): an out-of-order segment over the
/// per-direction cap, starting where a held range starts. Giving up the hole delivered the held
/// range, then the segment was delivered again from the same offset: bytes came out twice.
#[test]
fn held_range_delivered_by_cap_is_not_delivered_twice() {
    let limits = Limits {
        max_buffered_per_dir: 512,
        ..Limits::default()
    };
    let mut r = Reassembler::new(&limits, &[1883]);
    let isn = 857_796_594u32;
    let far = 2_754_867_187u32;
    let first: Vec<u8> = (0..20u8).collect();
    let second: Vec<u8> = (0..517u32).map(|i| (i % 251) as u8).collect();
    // (dir, offset, len) of every data and gap event, in order.
    let mut spans: Vec<(Dir, u64, u64, bool)> = Vec::new();
    let mut delivered: HashMap<Dir, Vec<u8>> = HashMap::new();
    let mut on = |e: StreamEvent<'_>| match e {
        StreamEvent::Data {
            dir, offset, bytes, ..
        } => {
            spans.push((dir, offset, bytes.len() as u64, true));
            delivered.entry(dir).or_default().extend_from_slice(bytes);
        }
        StreamEvent::Gap {
            dir, offset, len, ..
        } => spans.push((dir, offset, len, false)),
        _ => {}
    };
    r.segment(&seg(isn, 0, TcpFlags::SYN, &[], 0), &mut on);
    r.segment(&seg(far, 0, TcpFlags::ACK, &first, 8), &mut on);
    r.segment(
        &seg(far, 0, TcpFlags::ACK | TcpFlags::PSH, &second, 39),
        &mut on,
    );
    r.finish(&mut on);
    // Every event continues the stream exactly where the previous one ended.
    let mut next = 0u64;
    for &(dir, offset, len, _) in &spans {
        assert_eq!(dir, Dir::ToServer);
        assert_eq!(offset, next, "events must be contiguous: {spans:?}");
        next += len;
    }
    let gap_to = u64::from(far.wrapping_sub(isn + 1));
    assert_eq!(spans.first(), Some(&(Dir::ToServer, 0, gap_to, false)));
    // The first copy of the 20 held bytes wins, then the rest of the second segment.
    let mut want = first.clone();
    want.extend_from_slice(&second[20..]);
    assert_eq!(delivered.get(&Dir::ToServer), Some(&want));
    assert_eq!(r.stats().bytes_delivered, 517);
    assert_eq!(r.stats().buffered_now, 0);
    assert_eq!(r.stats().caps.buffer, 1);
}
