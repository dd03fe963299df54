//! Scenario and property tests of TCP reassembly (src/tcp).

use mqttscope::capture::Ts;
use mqttscope::limits::Limits;
use mqttscope::net::{TcpFlags, TcpSegment};
use mqttscope::tcp::{
    CloseReason, ConnId, Dir, GapReason, OrientedBy, Reassembler, StreamEvent, TcpAnomaly,
};
use proptest::prelude::*;
use std::net::SocketAddr;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const FIN: u8 = TcpFlags::FIN;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;

/// An owned copy of a stream event, for comparing.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Open {
        id: u64,
        client: SocketAddr,
        server: SocketAddr,
        by: OrientedBy,
    },
    Data {
        conn: u64,
        dir: Dir,
        offset: u64,
        bytes: Vec<u8>,
    },
    Gap {
        conn: u64,
        dir: Dir,
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    Anomaly {
        conn: u64,
        dir: Dir,
        kind: TcpAnomaly,
    },
    Close {
        conn: u64,
        reason: CloseReason,
    },
}

fn own(e: StreamEvent<'_>) -> Ev {
    match e {
        StreamEvent::Open(i) => Ev::Open {
            id: i.id.0,
            client: i.client,
            server: i.server,
            by: i.oriented_by,
        },
        StreamEvent::Data {
            conn,
            dir,
            offset,
            bytes,
            ..
        } => Ev::Data {
            conn: conn.0,
            dir,
            offset,
            bytes: bytes.to_vec(),
        },
        StreamEvent::Gap {
            conn,
            dir,
            offset,
            len,
            reason,
            ..
        } => Ev::Gap {
            conn: conn.0,
            dir,
            offset,
            len,
            reason,
        },
        StreamEvent::Anomaly {
            conn, dir, kind, ..
        } => Ev::Anomaly {
            conn: conn.0,
            dir,
            kind,
        },
        StreamEvent::Close { conn, reason, .. } => Ev::Close {
            conn: conn.0,
            reason,
        },
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A segment description with owned payload.
#[derive(Clone, Debug)]
struct Seg {
    ts: i64,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: Vec<u8>,
    missing: u32,
}

fn seg(
    ts: i64,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Seg {
    Seg {
        ts,
        src,
        dst,
        seq,
        ack,
        flags,
        payload: payload.to_vec(),
        missing: 0,
    }
}

/// Feeds segments (ts in seconds) and collects events; `finish` ends the capture.
fn feed(r: &mut Reassembler, segs: &[Seg], events: &mut Vec<Ev>) {
    for (i, s) in segs.iter().enumerate() {
        let ts = TcpSegment {
            ts: Ts(s.ts * 1_000_000_000),
            frame_no: i as u64 + 1,
            src: s.src,
            dst: s.dst,
            seq: s.seq,
            ack: s.ack,
            flags: TcpFlags(s.flags),
            window: 1000,
            payload: &s.payload,
            missing: s.missing,
        };
        r.segment(&ts, &mut |e| events.push(own(e)));
    }
}

fn run_with(limits: &Limits, segs: &[Seg], finish: bool) -> (Vec<Ev>, Reassembler) {
    let mut r = Reassembler::new(limits, &[1883, 8883]);
    let mut events = Vec::new();
    feed(&mut r, segs, &mut events);
    if finish {
        r.finish(&mut |e| events.push(own(e)));
    }
    (events, r)
}

fn run(segs: &[Seg]) -> (Vec<Ev>, Reassembler) {
    run_with(&Limits::default(), segs, true)
}

fn data(conn: u64, dir: Dir, offset: u64, bytes: &[u8]) -> Ev {
    Ev::Data {
        conn,
        dir,
        offset,
        bytes: bytes.to_vec(),
    }
}

fn gap(conn: u64, dir: Dir, offset: u64, len: u64, reason: GapReason) -> Ev {
    Ev::Gap {
        conn,
        dir,
        offset,
        len,
        reason,
    }
}

/// The bytes of one direction with gaps as `None`, checking that events tile from offset 0.
fn stream_of(events: &[Ev], conn: u64, dir: Dir) -> Vec<Option<u8>> {
    let mut out = Vec::new();
    for e in events {
        match e {
            Ev::Data {
                conn: c,
                dir: d,
                offset,
                bytes,
            } if *c == conn && *d == dir => {
                assert_eq!(
                    *offset,
                    out.len() as u64,
                    "data must start where the stream is"
                );
                out.extend(bytes.iter().map(|&b| Some(b)));
            }
            Ev::Gap {
                conn: c,
                dir: d,
                offset,
                len,
                ..
            } if *c == conn && *d == dir => {
                assert_eq!(
                    *offset,
                    out.len() as u64,
                    "gap must start where the stream is"
                );
                out.extend(std::iter::repeat_n(None, *len as usize));
            }
            _ => {}
        }
    }
    out
}

fn c() -> SocketAddr {
    addr("10.0.0.1:40000")
}
fn s() -> SocketAddr {
    addr("10.0.0.2:1883")
}

/// SYN, SYN-ACK, ACK with the given initial sequence numbers.
fn handshake(isn_c: u32, isn_s: u32) -> Vec<Seg> {
    vec![
        seg(1, c(), s(), isn_c, 0, SYN, b""),
        seg(1, s(), c(), isn_s, isn_c.wrapping_add(1), SYN | ACK, b""),
        seg(
            1,
            c(),
            s(),
            isn_c.wrapping_add(1),
            isn_s.wrapping_add(1),
            ACK,
            b"",
        ),
    ]
}

#[test]
fn handshake_data_and_fin_close() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK | PSH, b"hello"));
    segs.push(seg(2, s(), c(), 5001, 1006, ACK | PSH, b"world!"));
    segs.push(seg(3, c(), s(), 1006, 5007, ACK | FIN, b""));
    segs.push(seg(3, s(), c(), 5007, 1007, ACK | FIN, b""));
    segs.push(seg(3, c(), s(), 1007, 5008, ACK, b"")); // final ACK: a straggler
    let (ev, r) = run(&segs);
    assert_eq!(
        ev,
        vec![
            Ev::Open {
                id: 0,
                client: c(),
                server: s(),
                by: OrientedBy::Syn
            },
            data(0, Dir::ToServer, 0, b"hello"),
            data(0, Dir::ToClient, 0, b"world!"),
            Ev::Close {
                conn: 0,
                reason: CloseReason::Fin
            },
        ]
    );
    let st = r.stats();
    assert_eq!(
        (st.opened, st.closed.fin, st.segments, st.stragglers),
        (1, 1, 8, 1)
    );
    assert_eq!(st.bytes_delivered, 11);
    assert_eq!(st.closed.end_of_capture, 0);
}

#[test]
fn syn_ack_alone_orients_by_its_sender_as_server() {
    let segs = vec![
        seg(1, s(), c(), 9, 77, SYN | ACK, b""),
        seg(1, c(), s(), 77, 10, ACK | PSH, b"x"),
    ];
    let (ev, _) = run(&segs);
    assert_eq!(
        ev[0],
        Ev::Open {
            id: 0,
            client: c(),
            server: s(),
            by: OrientedBy::Syn
        }
    );
    assert_eq!(ev[1], data(0, Dir::ToServer, 0, b"x"));
}

#[test]
fn retransmission_is_delivered_once() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abc"));
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abc"));
    segs.push(seg(2, c(), s(), 1002, 5001, ACK, b"bcdef")); // partial overlap with delivered
    let (ev, r) = run(&segs);
    assert_eq!(stream_of(&ev, 0, Dir::ToServer), b"abcdef".map(Some));
    assert_eq!(r.stats().retransmissions, 2);
    assert_eq!(r.stats().bytes_delivered, 6);
}

#[test]
fn out_of_order_is_buffered_then_delivered() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1006, 5001, ACK, b"fghij"));
    segs.push(seg(2, c(), s(), 1011, 5001, ACK, b"klm"));
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abcde"));
    let (ev, _) = run(&segs);
    let d: Vec<&Ev> = ev.iter().filter(|e| matches!(e, Ev::Data { .. })).collect();
    // The hole-filling segment comes first (from the frame), then the buffered range as one piece.
    assert_eq!(
        d,
        [
            &data(0, Dir::ToServer, 0, b"abcde"),
            &data(0, Dir::ToServer, 5, b"fghijklm")
        ]
    );
}

#[test]
fn retransmission_of_delivered_bytes_with_different_bytes_is_reported() {
    let mut segs = handshake(1000, 5000);
    let big: Vec<u8> = (0..100u8).collect();
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, &big)); // 0..100, delivered at once
    segs.push(seg(2, c(), s(), 1101, 5001, ACK, b"abcdefgh")); // 100..108
                                                               // Overlaps the delivered tail (104..108 differ in 2 bytes) and adds 108..110.
    segs.push(seg(2, c(), s(), 1105, 5001, ACK, b"eXgYij"));
    // The same bytes again: no anomaly.
    segs.push(seg(2, c(), s(), 1101, 5001, ACK, b"abcdefgh"));
    // An exact copy of the first, older segment (beyond the tail window) with one byte changed.
    let mut changed = big.clone();
    changed[0] = 0xFF;
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, &changed));
    let (ev, r) = run(&segs);
    let mut want: Vec<Option<u8>> = big.iter().copied().map(Some).collect();
    want.extend(b"abcdefghij".iter().copied().map(Some));
    assert_eq!(stream_of(&ev, 0, Dir::ToServer), want, "first copy wins");
    let kinds: Vec<TcpAnomaly> = ev
        .iter()
        .filter_map(|e| match e {
            Ev::Anomaly { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            TcpAnomaly::OverlapMismatch {
                offset: 105,
                len: 2
            },
            TcpAnomaly::OverlapMismatch {
                offset: 0,
                len: 100
            },
        ]
    );
    assert_eq!(r.stats().overlap_mismatches, 2);
}

#[test]
fn overlap_with_different_bytes_keeps_first_copy_and_reports() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1006, 5001, ACK, b"fghij")); // offsets 5..10
    segs.push(seg(2, c(), s(), 1009, 5001, ACK, b"XjKL")); // 8..12, byte 8 differs
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abcdeZ")); // 0..6, byte 5 differs
    let (ev, r) = run(&segs);
    assert_eq!(stream_of(&ev, 0, Dir::ToServer), b"abcdefghijKL".map(Some));
    let anomalies: Vec<&Ev> = ev
        .iter()
        .filter(|e| matches!(e, Ev::Anomaly { .. }))
        .collect();
    assert_eq!(
        anomalies,
        [
            &Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::OverlapMismatch { offset: 8, len: 1 }
            },
            &Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::OverlapMismatch { offset: 5, len: 1 }
            },
        ]
    );
    assert_eq!(r.stats().overlap_mismatches, 2);
    assert_eq!(r.stats().retransmissions, 2);
}

#[test]
fn rst_gives_up_holes_and_closes() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"ab"));
    segs.push(seg(2, c(), s(), 1005, 5001, ACK, b"ef"));
    segs.push(seg(3, s(), c(), 5001, 0, RST, b""));
    segs.push(seg(3, c(), s(), 1007, 5001, ACK, b"late")); // straggler after RST
    let (ev, r) = run(&segs);
    assert_eq!(
        &ev[1..],
        &[
            data(0, Dir::ToServer, 0, b"ab"),
            gap(0, Dir::ToServer, 2, 2, GapReason::Closed),
            data(0, Dir::ToServer, 4, b"ef"),
            Ev::Close {
                conn: 0,
                reason: CloseReason::Rst
            },
        ]
    );
    assert_eq!(r.stats().closed.rst, 1);
    assert_eq!(r.stats().stragglers, 1);
}

#[test]
fn fin_with_data_then_data_after_fin() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK | FIN, b"bye"));
    segs.push(seg(2, c(), s(), 1005, 5001, ACK, b"more")); // after the FIN
    segs.push(seg(3, s(), c(), 5001, 1005, ACK | FIN, b"ok"));
    let (ev, r) = run(&segs);
    assert_eq!(
        &ev[1..],
        &[
            data(0, Dir::ToServer, 0, b"bye"),
            Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::DataAfterFin
            },
            data(0, Dir::ToClient, 0, b"ok"),
            Ev::Close {
                conn: 0,
                reason: CloseReason::Fin
            },
        ]
    );
    assert_eq!(r.stats().data_after_fin, 1);
}

#[test]
fn data_on_syn_starts_at_offset_zero() {
    let segs = vec![
        seg(1, c(), s(), 100, 0, SYN, b"abc"),
        seg(1, s(), c(), 700, 104, SYN | ACK, b""),
        seg(1, c(), s(), 104, 701, ACK, b"def"),
    ];
    let (ev, _) = run(&segs);
    assert_eq!(ev[1], data(0, Dir::ToServer, 0, b"abc"));
    assert_eq!(ev[2], data(0, Dir::ToServer, 3, b"def"));
}

#[test]
fn reused_four_tuple_gets_a_new_conn_id() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK | FIN, b"a"));
    segs.push(seg(2, s(), c(), 5001, 1003, ACK | FIN, b""));
    segs.push(seg(2, c(), s(), 1003, 5002, ACK, b"")); // last ACK: straggler
    segs.push(seg(2, c(), s(), 1000, 0, SYN, b"")); // old SYN repeated: straggler
    segs.extend(handshake(90_000, 7_000)); // new ISN: new connection
    segs.push(seg(3, c(), s(), 90_001, 7_001, ACK, b"b"));
    let (ev, r) = run(&segs);
    let opens: Vec<&Ev> = ev.iter().filter(|e| matches!(e, Ev::Open { .. })).collect();
    assert_eq!(opens.len(), 2);
    assert_eq!(
        opens[1],
        &Ev::Open {
            id: 1,
            client: c(),
            server: s(),
            by: OrientedBy::Syn
        }
    );
    assert_eq!(stream_of(&ev, 1, Dir::ToServer), vec![Some(b'b')]);
    assert_eq!(
        ev.last(),
        Some(&Ev::Close {
            conn: 1,
            reason: CloseReason::EndOfCapture
        })
    );
    assert_eq!(r.stats().stragglers, 2);
}

#[test]
fn new_syn_on_an_open_connection_supersedes_it() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"a"));
    segs.push(seg(3, c(), s(), 1000, 0, SYN, b"")); // same ISN: retransmitted SYN, same connection
    segs.push(seg(3, c(), s(), 4242, 0, SYN, b"")); // other ISN: new connection
    let (ev, r) = run(&segs);
    assert!(ev.contains(&Ev::Close {
        conn: 0,
        reason: CloseReason::Idle
    }));
    assert!(ev.contains(&Ev::Open {
        id: 1,
        client: c(),
        server: s(),
        by: OrientedBy::Syn
    }));
    assert_eq!(r.stats().superseded, 1);
}

#[test]
fn mid_stream_pickup_orients_by_port_or_first_sender() {
    let segs = vec![
        seg(1, s(), c(), 777_777, 123, ACK | PSH, b"from server"),
        seg(1, c(), s(), 123, 777_788, ACK | PSH, b"from client"),
        seg(
            1,
            addr("10.0.0.9:5000"),
            addr("10.0.0.8:6000"),
            5,
            1,
            ACK,
            b"?",
        ),
    ];
    let (ev, _) = run(&segs);
    assert_eq!(
        ev[0],
        Ev::Open {
            id: 0,
            client: c(),
            server: s(),
            by: OrientedBy::Port
        }
    );
    assert_eq!(ev[1], data(0, Dir::ToClient, 0, b"from server"));
    assert_eq!(ev[2], data(0, Dir::ToServer, 0, b"from client"));
    assert_eq!(
        ev[3],
        Ev::Open {
            id: 1,
            client: addr("10.0.0.9:5000"),
            server: addr("10.0.0.8:6000"),
            by: OrientedBy::FirstSeen
        }
    );
}

#[test]
fn ack_past_a_hole_gives_it_up() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abcde")); // 0..5
    segs.push(seg(2, c(), s(), 1011, 5001, ACK, b"klmno")); // 10..15
    segs.push(seg(2, s(), c(), 5001, 1013, ACK, b"")); // acks through offset 12
    segs.push(seg(2, s(), c(), 5001, 1020, ACK, b"")); // acks 15..19 never seen
    segs.push(seg(2, c(), s(), 1006, 5001, ACK, b"fghij")); // too late
    let (ev, r) = run(&segs);
    assert_eq!(
        &ev[1..6],
        &[
            data(0, Dir::ToServer, 0, b"abcde"),
            gap(0, Dir::ToServer, 5, 5, GapReason::AckedUnseen),
            data(0, Dir::ToServer, 10, b"klmno"),
            gap(0, Dir::ToServer, 15, 4, GapReason::AckedUnseen),
            Ev::Close {
                conn: 0,
                reason: CloseReason::EndOfCapture
            },
        ]
    );
    assert_eq!(r.stats().bytes_in_gaps, 9);
    assert_eq!(r.stats().retransmissions, 1);
}

#[test]
fn what_an_ack_releases_comes_before_the_acking_segments_data() {
    // The client's PINGREQ arrives after a lost segment and waits behind the hole; the
    // server's PINGRESP acknowledges the lost bytes. The hole given up and the PINGREQ it
    // held are handed out before the PINGRESP, in the order the peers sent them.
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK | PSH, b"\xc0\x00")); // 0..2
    segs.push(seg(3, c(), s(), 1005, 5001, ACK | PSH, b"\xc0\x00")); // 4..6, 2..4 lost
    segs.push(seg(3, s(), c(), 5001, 1007, ACK | PSH, b"\xd0\x00")); // acks through 6
    let (ev, _) = run(&segs);
    assert_eq!(
        &ev[1..5],
        &[
            data(0, Dir::ToServer, 0, b"\xc0\x00"),
            gap(0, Dir::ToServer, 2, 2, GapReason::AckedUnseen),
            data(0, Dir::ToServer, 4, b"\xc0\x00"),
            data(0, Dir::ToClient, 0, b"\xd0\x00"),
        ]
    );
}

#[test]
fn a_lost_syn_ack_still_shows_the_servers_first_bytes_lost() {
    // The SYN and the client's handshake ACK are captured, not the SYN-ACK nor the CONNACK:
    // the server's stream starts where the client's first ACK points, so the CONNACK is a gap
    // instead of the SUBACK passing for the start of the stream.
    let segs = vec![
        seg(1, c(), s(), 1000, 0, SYN, b""),
        seg(1, c(), s(), 1001, 5001, ACK, b""),
        seg(2, c(), s(), 1001, 5001, ACK | PSH, b"CONNECT"),
        seg(3, s(), c(), 5005, 1008, ACK | PSH, b"SUBACK"),
        seg(3, c(), s(), 1008, 5011, ACK, b""),
    ];
    let (ev, _) = run(&segs);
    assert_eq!(
        &ev[1..4],
        &[
            data(0, Dir::ToServer, 0, b"CONNECT"),
            gap(0, Dir::ToClient, 0, 4, GapReason::AckedUnseen),
            data(0, Dir::ToClient, 4, b"SUBACK"),
        ]
    );
    // The same without the SYN (the connection picked up at the handshake's last ACK).
    let (mid, _) = run(&segs[1..]);
    assert_eq!(&mid[1..4], &ev[1..4]);
    // An ACK past the peer's first captured bytes (they were acknowledged before they were
    // captured) opens no hole: the stream starts at those bytes.
    let late = vec![
        seg(1, c(), s(), 1001, 5011, ACK, b""),
        seg(2, s(), c(), 5005, 1001, ACK | PSH, b"SUBACK"),
    ];
    let (ev, _) = run(&late);
    assert_eq!(ev[1], data(0, Dir::ToClient, 0, b"SUBACK"));
}

#[test]
fn snaplen_cut_is_a_gap_of_the_missing_bytes() {
    let mut segs = handshake(1000, 5000);
    let mut cut = seg(2, c(), s(), 1001, 5001, ACK, b"abcd");
    cut.missing = 6;
    segs.push(cut);
    segs.push(seg(2, c(), s(), 1011, 5001, ACK, b"next"));
    let (ev, _) = run(&segs);
    assert_eq!(
        &ev[1..4],
        &[
            data(0, Dir::ToServer, 0, b"abcd"),
            gap(0, Dir::ToServer, 4, 6, GapReason::Snaplen),
            data(0, Dir::ToServer, 10, b"next"),
        ]
    );
}

#[test]
fn idle_connection_closed_as_idle_when_its_slot_is_needed() {
    let limits = Limits {
        flow_idle_secs: 60,
        max_flows: 1,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"ab"));
    segs.push(seg(2, c(), s(), 1005, 5001, ACK, b"ef")); // leaves a hole
    segs.push(seg(100, addr("10.0.0.3:1"), s(), 1, 1, ACK, b"z"));
    let (ev, r) = run_with(&limits, &segs, false);
    assert_eq!(
        &ev[2..6],
        &[
            gap(0, Dir::ToServer, 2, 2, GapReason::Closed),
            data(0, Dir::ToServer, 4, b"ef"),
            Ev::Close {
                conn: 0,
                reason: CloseReason::Idle
            },
            Ev::Open {
                id: 1,
                client: addr("10.0.0.3:1"),
                server: s(),
                by: OrientedBy::Port
            },
        ]
    );
    assert_eq!(r.stats().idle_expiries, 1);
    assert_eq!(r.open_connections(), 1);
}

#[test]
fn quiet_connection_survives_long_silence_without_pressure() {
    // Long-lived MQTT connections go quiet for hours; without cap pressure they stay one
    // connection (regression: a 21-hour capture was split and its tail lost).
    let limits = Limits {
        flow_idle_secs: 60,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"ab"));
    segs.push(seg(100_000, c(), s(), 1003, 5001, ACK, b"cd"));
    let (ev, r) = run_with(&limits, &segs, false);
    assert_eq!(
        &ev[1..3],
        &[
            data(0, Dir::ToServer, 0, b"ab"),
            data(0, Dir::ToServer, 2, b"cd")
        ]
    );
    assert_eq!(r.stats().idle_expiries, 0);
    assert_eq!(r.stats().opened, 1);
}

#[test]
fn flow_cap_evicts_least_recently_used() {
    let limits = Limits {
        max_flows: 2,
        ..Limits::default()
    };
    let a = addr("10.0.0.11:1000");
    let b = addr("10.0.0.12:1000");
    let d = addr("10.0.0.13:1000");
    let segs = vec![
        seg(1, a, s(), 1, 1, ACK, b"a"),
        seg(1, b, s(), 1, 1, ACK, b"b"),
        seg(1, a, s(), 2, 1, ACK, b"a"), // a is now more recent than b
        seg(1, d, s(), 1, 1, ACK, b"d"), // evicts b (conn 1)
    ];
    let (ev, r) = run_with(&limits, &segs, true);
    let i = ev.iter().position(|e| {
        *e == Ev::Anomaly {
            conn: 1,
            dir: Dir::ToServer,
            kind: TcpAnomaly::FlowCap,
        }
    });
    let i = i.expect("FlowCap anomaly");
    assert_eq!(
        ev[i + 1],
        Ev::Close {
            conn: 1,
            reason: CloseReason::Evicted
        }
    );
    assert!(matches!(ev[i + 2], Ev::Open { id: 2, .. }));
    assert_eq!(r.stats().evictions, 1);
    assert_eq!(r.stats().caps.flows, 1);
    // finish closes the others in ConnId order.
    let closes: Vec<&Ev> = ev
        .iter()
        .filter(|e| matches!(e, Ev::Close { .. }))
        .collect();
    assert_eq!(
        closes,
        [
            &Ev::Close {
                conn: 1,
                reason: CloseReason::Evicted
            },
            &Ev::Close {
                conn: 0,
                reason: CloseReason::EndOfCapture
            },
            &Ev::Close {
                conn: 2,
                reason: CloseReason::EndOfCapture
            },
        ]
    );
}

#[test]
fn stream_crossing_the_sequence_wrap() {
    let isn = u32::MAX - 3; // offset 0 is u32::MAX - 2; offset 3 is seq 0
    let mut segs = handshake(isn, 5000);
    segs.push(seg(2, c(), s(), 1, 5001, ACK, b"efgh")); // offsets 4..8, after the wrap, early
    segs.push(seg(2, c(), s(), u32::MAX - 2, 5001, ACK, b"abcd")); // offsets 0..4 across the wrap
    segs.push(seg(2, c(), s(), 5, 5001, ACK, b"ij"));
    segs.push(seg(2, s(), c(), 5001, 8, ACK, b"")); // acks offset 11: 10 never seen
    let (ev, _) = run(&segs);
    let mut want: Vec<Option<u8>> = b"abcdefghij".map(Some).to_vec();
    want.push(None);
    assert_eq!(stream_of(&ev, 0, Dir::ToServer), want);
}

#[test]
fn hole_times_out_in_capture_time() {
    let limits = Limits {
        hole_timeout_secs: 5,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1004, 5001, ACK, b"de"));
    segs.push(seg(4, c(), s(), 1006, 5001, ACK, b"f"));
    segs.push(seg(8, s(), c(), 5001, 1001, ACK, b""));
    let (ev, _) = run_with(&limits, &segs, false);
    assert_eq!(
        &ev[1..],
        &[
            gap(0, Dir::ToServer, 0, 3, GapReason::Timeout),
            data(0, Dir::ToServer, 3, b"def")
        ]
    );
}

#[test]
fn buffer_cap_gives_up_the_first_hole() {
    let limits = Limits {
        max_buffered_per_dir: 8,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1003, 5001, ACK, b"cdef")); // 2..6 held (4)
    segs.push(seg(2, c(), s(), 1011, 5001, ACK, b"klmnop")); // 10..16 would make 10 > 8
                                                             // Giving up the first hole delivers 2..6 and frees room: 10..16 is then held until the end.
    let (ev, r) = run_with(&limits, &segs, true);
    assert_eq!(
        &ev[1..6],
        &[
            Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::BufferCap
            },
            gap(0, Dir::ToServer, 0, 2, GapReason::Cap),
            data(0, Dir::ToServer, 2, b"cdef"),
            gap(0, Dir::ToServer, 6, 4, GapReason::Closed),
            data(0, Dir::ToServer, 10, b"klmnop"),
        ]
    );
    assert_eq!(r.stats().caps.buffer, 1);
}

#[test]
fn hole_cap_gives_up_the_first_hole() {
    let limits = Limits {
        max_holes_per_dir: 2,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1002, 5001, ACK, b"b")); // hole 0
    segs.push(seg(2, c(), s(), 1004, 5001, ACK, b"d")); // hole 2
    segs.push(seg(2, c(), s(), 1006, 5001, ACK, b"f")); // third hole: give up hole 0
    let (ev, r) = run_with(&limits, &segs, true);
    assert_eq!(
        &ev[1..4],
        &[
            Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::HoleCap
            },
            gap(0, Dir::ToServer, 0, 1, GapReason::Cap),
            data(0, Dir::ToServer, 1, b"b"),
        ]
    );
    assert_eq!(
        stream_of(&ev, 0, Dir::ToServer),
        vec![None, Some(b'b'), None, Some(b'd'), None, Some(b'f')]
    );
    assert_eq!(r.stats().caps.holes, 1);
}

#[test]
fn absurd_jump_is_bookkeeping_only() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"a"));
    segs.push(seg(2, c(), s(), 1001 + (3 << 29), 5001, ACK, b"far")); // 1.5 GiB ahead
    let (ev, r) = run(&segs);
    assert_eq!(
        ev[2],
        gap(0, Dir::ToServer, 1, (3 << 29) - 1, GapReason::Closed)
    );
    assert_eq!(ev[3], data(0, Dir::ToServer, 3 << 29, b"far"));
    assert_eq!(r.stats().bytes_in_gaps, (3 << 29) - 1);
}

#[test]
fn finish_closes_in_conn_id_order_after_gaps() {
    let mut segs = Vec::new();
    for port in [5000u16, 4000, 6000] {
        let cl = SocketAddr::new(c().ip(), port);
        segs.push(seg(1, cl, s(), 10, 1, ACK, b"x"));
        segs.push(seg(1, cl, s(), 12, 1, ACK, b"z"));
    }
    let (ev, r) = run(&segs);
    let tail: Vec<&Ev> = ev
        .iter()
        .skip_while(|e| !matches!(e, Ev::Gap { .. }))
        .collect();
    assert_eq!(
        tail,
        [
            &gap(0, Dir::ToServer, 1, 1, GapReason::Closed),
            &data(0, Dir::ToServer, 2, b"z"),
            &Ev::Close {
                conn: 0,
                reason: CloseReason::EndOfCapture
            },
            &gap(1, Dir::ToServer, 1, 1, GapReason::Closed),
            &data(1, Dir::ToServer, 2, b"z"),
            &Ev::Close {
                conn: 1,
                reason: CloseReason::EndOfCapture
            },
            &gap(2, Dir::ToServer, 1, 1, GapReason::Closed),
            &data(2, Dir::ToServer, 2, b"z"),
            &Ev::Close {
                conn: 2,
                reason: CloseReason::EndOfCapture
            },
        ]
    );
    assert_eq!(r.stats().closed.end_of_capture, 3);
    assert_eq!(r.open_connections(), 0);
    let _ = ConnId(0);
}

#[test]
fn same_input_gives_same_events() {
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1006, 5001, ACK, b"fghij"));
    segs.push(seg(2, c(), s(), 1001, 5001, ACK, b"abcdeX"));
    assert_eq!(run(&segs).0, run(&segs).0);
}

/// One step of the random scenario: a client segment covering `[start, start + len)`, or a
/// server ACK of everything before `upto`, or the client FIN.
#[derive(Clone, Debug)]
enum Op {
    Data { start: usize, len: usize },
    Ack { upto: usize },
    Fin,
}

fn isn_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (0u32..600).prop_map(|d| u32::MAX - d)]
}

/// What the reference model says about one offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Byte(u8),
    Lost(GapReason),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random reordering, duplication, same-byte overlap, loss and ACKs, checked against a byte
    /// map: every offset arrives once as its original byte or belongs to a gap of the right kind.
    #[test]
    fn matches_a_byte_map_reference(
        original in proptest::collection::vec(any::<u8>(), 1..300),
        raw_ops in proptest::collection::vec((0u8..10, any::<prop::sample::Index>(), 1usize..40), 0..40),
        fin_at in any::<prop::sample::Index>(),
        isn in isn_strategy(),
    ) {
        let total = original.len();
        let mut ops: Vec<Op> = raw_ops
            .into_iter()
            .map(|(k, i, len)| {
                let at = i.index(total + 1);
                if k < 2 { Op::Ack { upto: at } } else { Op::Data { start: at.min(total - 1), len } }
            })
            .collect();
        ops.insert(fin_at.index(ops.len() + 1), Op::Fin);

        let isn_s = 0x5000_0000u32;
        let mut segs = handshake(isn, isn_s);
        let base = isn.wrapping_add(1);
        // Reference model.
        let mut cells: Vec<Option<Cell>> = vec![None; total];
        for op in &ops {
            match *op {
                Op::Data { start, len } => {
                    let end = (start + len).min(total);
                    segs.push(seg(2, c(), s(), base.wrapping_add(start as u32), isn_s + 1, ACK, &original[start..end]));
                    for (o, cell) in cells.iter_mut().enumerate().take(end).skip(start) {
                        cell.get_or_insert(Cell::Byte(original[o]));
                    }
                }
                Op::Ack { upto } => {
                    segs.push(seg(2, s(), c(), isn_s + 1, base.wrapping_add(upto as u32), ACK, b""));
                    for cell in cells.iter_mut().take(upto) {
                        cell.get_or_insert(Cell::Lost(GapReason::AckedUnseen));
                    }
                }
                Op::Fin => segs.push(seg(2, c(), s(), base.wrapping_add(total as u32), isn_s + 1, ACK | FIN, b"")),
            }
        }
        let expected: Vec<Cell> = cells.into_iter().map(|c| c.unwrap_or(Cell::Lost(GapReason::Closed))).collect();

        let (ev, r) = run_with(&Limits { max_holes_per_dir: 1000, ..Limits::default() }, &segs, true);
        let mut got = Vec::new();
        for e in &ev {
            match e {
                Ev::Data { dir: Dir::ToServer, offset, bytes, .. } => {
                    prop_assert_eq!(*offset, got.len() as u64);
                    got.extend(bytes.iter().map(|&b| Cell::Byte(b)));
                }
                Ev::Gap { dir: Dir::ToServer, offset, len, reason, .. } => {
                    prop_assert_eq!(*offset, got.len() as u64);
                    got.extend(std::iter::repeat_n(Cell::Lost(*reason), *len as usize));
                }
                Ev::Data { .. } | Ev::Gap { .. } => prop_assert!(false, "nothing was sent to the client"),
                Ev::Anomaly { .. } => prop_assert!(false, "same-byte overlaps are not anomalies: {:?}", e),
                _ => {}
            }
        }
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(r.stats().bytes_delivered + r.stats().bytes_in_gaps, total as u64);
        prop_assert_eq!(ev.last(), Some(&Ev::Close { conn: 0, reason: CloseReason::EndOfCapture }));
    }

    /// Overlapping copies with different bytes, all held behind a first hole: the first copy of
    /// each byte is delivered and the anomalies count exactly the differing later bytes.
    #[test]
    fn first_copy_wins_and_mismatches_are_counted(
        total in 2usize..200,
        pieces in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..30, any::<u8>()), 1..25),
        head_len in 1usize..40,
        head_fill in any::<u8>(),
        isn in isn_strategy(),
    ) {
        let isn_s = 77u32;
        let mut segs = handshake(isn, isn_s);
        let base = isn.wrapping_add(1);
        let mut first: Vec<Option<u8>> = vec![None; total];
        let mut differing = 0u64;
        // Byte at offset o of a copy filled with `fill`: varies with the offset, so copies differ
        // in some bytes and agree in others.
        let byte = |fill: u8, o: usize| fill.wrapping_add((o % 3) as u8);
        let mut take = |start: usize, end: usize, fill: u8, segs: &mut Vec<Seg>| {
            let bytes: Vec<u8> = (start..end).map(|o| byte(fill, o)).collect();
            segs.push(seg(2, c(), s(), base.wrapping_add(start as u32), isn_s + 1, ACK, &bytes));
            for (o, b) in (start..end).zip(bytes) {
                match first[o] {
                    None => first[o] = Some(b),
                    Some(f) if f != b => differing += 1,
                    Some(_) => {}
                }
            }
        };
        for (i, len, fill) in pieces {
            let start = 1 + i.index(total - 1);
            take(start, (start + len).min(total), fill, &mut segs);
        }
        take(0, head_len.min(total), head_fill, &mut segs);

        let (ev, r) = run_with(&Limits { max_holes_per_dir: 1000, ..Limits::default() }, &segs, true);
        let got = stream_of(&ev, 0, Dir::ToServer);
        let known = first.iter().rposition(Option::is_some).map_or(0, |p| p + 1);
        prop_assert_eq!(&got[..], &first[..known]);
        let reported: u64 = ev
            .iter()
            .map(|e| match e {
                Ev::Anomaly { kind: TcpAnomaly::OverlapMismatch { len, .. }, .. } => u64::from(*len),
                _ => 0,
            })
            .sum();
        prop_assert_eq!(reported, differing);
        prop_assert_eq!(r.stats().overlap_mismatches > 0, differing > 0);
    }
}

#[test]
fn segment_larger_than_the_buffer_cap_is_delivered_in_place() {
    let limits = Limits {
        max_buffered_per_dir: 4,
        ..Limits::default()
    };
    let mut segs = handshake(1000, 5000);
    segs.push(seg(2, c(), s(), 1003, 5001, ACK, b"cdefghij")); // 2..10, alone over the cap
    let (ev, r) = run_with(&limits, &segs, false);
    assert_eq!(
        &ev[1..],
        &[
            Ev::Anomaly {
                conn: 0,
                dir: Dir::ToServer,
                kind: TcpAnomaly::BufferCap
            },
            gap(0, Dir::ToServer, 0, 2, GapReason::Cap),
            data(0, Dir::ToServer, 2, b"cdefghij"),
        ]
    );
    assert_eq!(r.stats().caps.buffer, 1);
}

#[test]
fn fully_cut_segment_is_all_gap() {
    let mut segs = handshake(1000, 5000);
    let mut cut = seg(2, c(), s(), 1001, 5001, ACK, b"");
    cut.missing = 1400;
    segs.push(cut);
    segs.push(seg(2, c(), s(), 2401, 5001, ACK, b"x"));
    let (ev, _) = run_with(&Limits::default(), &segs, false);
    assert_eq!(
        &ev[1..],
        &[
            gap(0, Dir::ToServer, 0, 1400, GapReason::Snaplen),
            data(0, Dir::ToServer, 1400, b"x")
        ]
    );
}
