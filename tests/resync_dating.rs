//! Regression: packets the framer holds while resynchronising after a gap are dated by the
//! frame that carried their last byte, not by the later frame that let the framer decide.
//! Found by the tshark cross-check on public/plantprism-…pcapng (frames 920-924: a PINGREQ
//! after a capture gap was reported 22 s late, at the next PUBLISH).

use mqttscope::capture::Ts;
use mqttscope::event::{Event, EventKind};
use mqttscope::mqtt::reason::Catalogue;
use mqttscope::session::{SessionConfig, Sessions};
use mqttscope::tcp::{ConnId, ConnInfo, Dir, GapReason, OrientedBy, StreamEvent};
use std::sync::Arc;

fn data(frame: u64, offset: u64, bytes: &[u8]) -> StreamEvent<'_> {
    StreamEvent::Data {
        conn: ConnId(1),
        dir: Dir::ToServer,
        ts: Ts(frame as i64 * 1_000_000_000),
        frame_no: frame,
        offset,
        bytes,
    }
}

#[test]
fn packet_held_by_resync_keeps_the_frame_of_its_bytes() {
    let mut s = Sessions::new(SessionConfig::default(), Arc::new(Catalogue::default()));
    let mut events: Vec<Event> = Vec::new();
    let mut emit = |e: Event| events.push(e);
    s.on_stream(
        StreamEvent::Open(ConnInfo {
            id: ConnId(1),
            client: "192.0.2.10:40000".parse().unwrap(),
            server: "192.0.2.1:1883".parse().unwrap(),
            oriented_by: OrientedBy::Syn,
            ts: Ts(0),
            frame_no: 1,
        }),
        &mut emit,
    );
    // In sync: PINGREQ at frame 2. Then 10 bytes are lost, so the framer resynchronises.
    s.on_stream(data(2, 0, &[0xC0, 0x00]), &mut emit);
    s.on_stream(
        StreamEvent::Gap {
            conn: ConnId(1),
            dir: Dir::ToServer,
            ts: Ts(3_000_000_000),
            frame_no: 3,
            offset: 2,
            len: 10,
            reason: GapReason::AckedUnseen,
        },
        &mut emit,
    );
    // Frame 4 brings a whole PINGREQ; the framer decides only when frame 9 shows the next
    // header (a DISCONNECT).
    s.on_stream(data(4, 12, &[0xC0, 0x00]), &mut emit);
    s.on_stream(data(9, 14, &[0xE0, 0x00]), &mut emit);
    let packets: Vec<(u64, Ts)> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Packet(_)))
        .map(|e| (e.frame_no, e.ts))
        .collect();
    assert_eq!(
        packets,
        vec![
            (2, Ts(2_000_000_000)),
            (4, Ts(4_000_000_000)),
            (9, Ts(9_000_000_000)),
        ]
    );
}

mod common;

/// Bytes held behind a TCP hole that is later given up (acked-unseen) are dated by the segment
/// that carried them. In plantprism frames 920/921 each side's first segment after a capture
/// gap holds a PINGREQ / PINGRESP; the holes are given up by the other side's ACK.
#[test]
fn bytes_behind_a_given_up_hole_keep_their_segment_date() {
    let file = common::root().join("captures/public/plantprism-plantcube_20230617_20230618.pcapng");
    let lines = common::analyse_file(&file, &[]);
    let pk = common::packets(&lines);
    let req = pk
        .iter()
        .find(|p| p.ptype == "PINGREQ" && p.frame >= 920)
        .expect("a PINGREQ after frame 920");
    assert_eq!(req.frame, 920, "{}", req.raw);
    assert!((req.ts - 1_687_016_048.738_202).abs() < 1e-5, "{}", req.raw);
    let resp = pk
        .iter()
        .find(|p| p.ptype == "PINGRESP" && p.frame >= 920)
        .expect("a PINGRESP after frame 920");
    assert_eq!(resp.frame, 921, "{}", resp.raw);
    let (ty, ms) = resp.answers.clone().expect("PINGRESP answers the PINGREQ");
    assert_eq!(ty, "PINGREQ");
    assert!((ms - 16.006).abs() < 0.001, "latency {ms} ms: {}", resp.raw);
}
