//! MQTT framing: split invariance, zero copy, "need more" on every prefix, oversize skip,
//! gaps (cut packet and resync) and unframeable headers.

use mqttscope::mqtt::{FrameError, FrameEvent, Framer, Pending, SkipReason};
use proptest::prelude::*;

/// What a test keeps of an event (owned).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Packet(u64, Vec<u8>),
    Oversize(u64, u8, u64),
    Skipped(u64, u64, SkipReason),
    Malformed(u64),
}

fn own(e: FrameEvent<'_>) -> Ev {
    match e {
        FrameEvent::Packet(p) => {
            assert_eq!(p.bytes.len() as u64, p.header.total_len());
            assert_eq!(p.body.len() as u32, p.header.remaining_len);
            assert_eq!(&p.bytes[usize::from(p.header.header_len)..], p.body);
            Ev::Packet(p.offset, p.bytes.to_vec())
        }
        FrameEvent::Oversize {
            offset,
            ptype,
            size,
            ..
        } => Ev::Oversize(offset, ptype.0, size),
        FrameEvent::Skipped {
            offset,
            len,
            reason,
        } => Ev::Skipped(offset, len, reason),
        FrameEvent::Malformed { offset, error } => {
            assert!(!error.to_string().is_empty());
            Ev::Malformed(offset)
        }
    }
}

fn run(f: &mut Framer, chunks: &[&[u8]]) -> Vec<Ev> {
    let mut evs = Vec::new();
    for c in chunks {
        f.feed(c, &mut |e| evs.push(own(e)));
    }
    evs
}

/// Feeds then ends the stream.
fn run_end(f: &mut Framer, chunks: &[&[u8]]) -> Vec<Ev> {
    let mut evs = run(f, chunks);
    f.finish(&mut |e| evs.push(own(e)));
    evs
}

fn publish(len: usize) -> Vec<u8> {
    // PUBLISH QoS 0, topic "t", payload of `len` bytes; 2-byte varint when large.
    let body_len = 3 + len;
    let mut v = vec![0x30];
    let mut n = body_len;
    loop {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            break;
        }
    }
    v.extend([0x00, 0x01, b't']);
    v.extend((0..len).map(|i| i as u8));
    v
}

fn stream() -> (Vec<u8>, Vec<Vec<u8>>) {
    let pkts = vec![
        vec![0x10, 0x0C, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 0], // CONNECT
        vec![0x20, 0x02, 0x00, 0x00],                                      // CONNACK
        publish(200),                                                      // 2-byte varint
        vec![0x40, 0x02, 0x00, 0x01],                                      // PUBACK
        vec![0xC0, 0x00],                                                  // PINGREQ
        publish(5),
        vec![0xE0, 0x00], // DISCONNECT
    ];
    (pkts.concat(), pkts)
}

fn expected(pkts: &[Vec<u8>]) -> Vec<Ev> {
    let mut off = 0u64;
    pkts.iter()
        .map(|p| {
            let e = Ev::Packet(off, p.clone());
            off += p.len() as u64;
            e
        })
        .collect()
}

#[test]
fn whole_stream_in_one_feed_is_borrowed() {
    let (s, pkts) = stream();
    let mut f = Framer::new(1 << 20);
    let range = s.as_ptr_range();
    let mut n = 0;
    f.feed(&s, &mut |e| {
        if let FrameEvent::Packet(p) = e {
            assert!(range.contains(&p.bytes.as_ptr()), "packet was copied");
            n += 1;
        }
    });
    assert_eq!(n, pkts.len());
    assert_eq!(f.pending(), Pending::Idle);
}

#[test]
fn every_split_gives_the_same_packets() {
    let (s, pkts) = stream();
    let want = expected(&pkts);
    // One byte at a time (splits every varint).
    let ones: Vec<&[u8]> = s.chunks(1).collect();
    assert_eq!(run(&mut Framer::new(1 << 20), &ones), want);
    // Every two-way split.
    for cut in 0..=s.len() {
        let (a, b) = s.split_at(cut);
        assert_eq!(
            run(&mut Framer::new(1 << 20), &[a, b]),
            want,
            "cut at {cut}"
        );
    }
}

#[test]
fn varint_split_across_feeds() {
    let p = publish(200);
    assert_eq!(p[1] & 0x80, 0x80, "two-byte remaining length");
    let mut f = Framer::new(1 << 20);
    assert!(run(&mut f, &[&p[..2]]).is_empty());
    assert_eq!(
        f.pending(),
        Pending::Header {
            offset: 0,
            buffered: 2
        }
    );
    assert!(run(&mut f, &[&p[2..10]]).is_empty());
    let need = (p.len() - 10) as u64;
    assert_eq!(
        f.pending(),
        Pending::Packet {
            offset: 0,
            buffered: 10,
            need
        }
    );
    assert!(f
        .pending()
        .to_string()
        .contains(&format!("need {need} more bytes")));
    assert_eq!(run(&mut f, &[&p[10..]]), vec![Ev::Packet(0, p)]);
}

#[test]
fn every_prefix_needs_more() {
    let (_, pkts) = stream();
    for p in pkts {
        for cut in 0..p.len() {
            let mut f = Framer::new(1 << 20);
            assert!(
                run(&mut f, &[&p[..cut]]).is_empty(),
                "prefix {cut} of {p:02X?}"
            );
            let buffered = match f.pending() {
                Pending::Idle => 0,
                Pending::Header { buffered, .. } | Pending::Packet { buffered, .. } => buffered,
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(buffered, cut);
            // Ending the stream there reports the partial packet.
            let mut evs = Vec::new();
            f.finish(&mut |e| evs.push(own(e)));
            if cut > 0 {
                assert_eq!(
                    evs,
                    vec![Ev::Skipped(0, cut as u64, SkipReason::EndOfStream)]
                );
            }
        }
    }
}

#[test]
fn oversize_is_reported_and_skipped_not_buffered() {
    let big = publish(300);
    let small = vec![0xC0, 0x00];
    let s = [small.clone(), big.clone(), small.clone()].concat();
    let want = vec![
        Ev::Packet(0, small.clone()),
        Ev::Oversize(2, 3, big.len() as u64),
        Ev::Packet(2 + big.len() as u64, small),
    ];
    for cut in 0..=s.len() {
        let mut f = Framer::new(64);
        let (a, b) = s.split_at(cut);
        let mut evs = run(&mut f, &[a]);
        if let Pending::Packet { buffered, .. } | Pending::Header { buffered, .. } = f.pending() {
            assert!(buffered <= 64);
        }
        evs.extend(run(&mut f, &[b]));
        assert_eq!(evs, want, "cut at {cut}");
    }
}

#[test]
fn gap_inside_a_packet_resumes_at_its_end() {
    let (s, pkts) = stream();
    let want = expected(&pkts);
    // Packet 2 (the 200-byte PUBLISH) starts at 18; lose bytes 30..100 of the stream.
    let start = pkts[0].len() + pkts[1].len();
    let mut f = Framer::new(1 << 20);
    let mut evs = run(&mut f, &[&s[..30]]);
    f.gap(70);
    evs.extend(run(&mut f, &[&s[100..]]));
    let mut w = want[..2].to_vec();
    w.push(Ev::Skipped(
        start as u64,
        pkts[2].len() as u64,
        SkipReason::CutByGap,
    ));
    w.extend_from_slice(&want[3..]);
    assert_eq!(evs, w);
}

#[test]
fn gap_over_a_boundary_resynchronises() {
    let (s, pkts) = stream();
    let want = expected(&pkts);
    // Lose from inside the CONNECT into the middle of the big PUBLISH.
    let mut f = Framer::new(1 << 20);
    let mut evs = run(&mut f, &[&s[..5]]);
    f.gap(100);
    evs.extend(run_end(&mut f, &[&s[105..]]));
    assert_eq!(evs[0], want[0].clone().skip_cut(pkts[0].len()));
    // Then some bytes are skipped while resynchronising, and framing resumes with the PUBACK.
    let resume = pkts[..3].iter().map(Vec::len).sum::<usize>() as u64;
    assert_eq!(evs[1], Ev::Skipped(105, resume - 105, SkipReason::Resync));
    assert_eq!(&evs[2..], &want[3..]);
}

trait SkipCut {
    fn skip_cut(self, len: usize) -> Ev;
}
impl SkipCut for Ev {
    fn skip_cut(self, len: usize) -> Ev {
        match self {
            Ev::Packet(off, _) => Ev::Skipped(off, len as u64, SkipReason::CutByGap),
            other => other,
        }
    }
}

#[test]
fn unframeable_header_is_malformed_then_resync() {
    // A fifth remaining-length byte, then a PINGREQ and a PUBACK.
    let s = [
        &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01][..],
        &[0xC0, 0x00],
        &[0x40, 0x02, 0x00, 0x09],
    ]
    .concat();
    for cut in 0..=s.len() {
        let mut f = Framer::new(1 << 20);
        let (a, b) = s.split_at(cut);
        let evs = run(&mut f, &[a, b]);
        assert_eq!(evs[0], Ev::Malformed(0), "cut {cut}");
        assert_eq!(evs[1], Ev::Skipped(0, 6, SkipReason::Resync), "cut {cut}");
        assert_eq!(
            evs[2..],
            [
                Ev::Packet(6, vec![0xC0, 0x00]),
                Ev::Packet(8, vec![0x40, 0x02, 0x00, 0x09])
            ]
        );
    }
    let e = FrameError::BadVarint {
        first: 0x30,
        bytes: [0xFF; 5],
    };
    assert!(e.to_string().contains("5th byte"));
}

#[test]
fn illegal_header_with_sane_length_is_still_framed() {
    // Type 0 and a PUBREL with flags 0: framed here, reported by decode.
    let s = [0x00, 0x00, 0x60, 0x02, 0x00, 0x01];
    let evs = run(&mut Framer::new(1 << 20), &[&s]);
    assert_eq!(
        evs,
        vec![
            Ev::Packet(0, vec![0, 0]),
            Ev::Packet(2, vec![0x60, 0x02, 0, 1])
        ]
    );
}

#[test]
fn mid_stream_pickup_resyncs() {
    let (s, pkts) = stream();
    let want = expected(&pkts);
    let mut f = Framer::new(1 << 20);
    f.resync();
    let evs = run_end(&mut f, &[&s[20..]]);
    let resume = pkts[..3].iter().map(Vec::len).sum::<usize>() as u64;
    assert_eq!(evs[0], Ev::Skipped(0, resume - 20, SkipReason::Resync));
    // Offsets count from the pickup point.
    let shifted: Vec<Ev> = want[3..]
        .iter()
        .map(|e| match e {
            Ev::Packet(o, b) => Ev::Packet(o - 20, b.clone()),
            e => e.clone(),
        })
        .collect();
    assert_eq!(&evs[1..], &shifted[..]);
}

proptest! {
    #[test]
    fn random_chunking_is_invariant(cuts in prop::collection::vec(0usize..300, 0..12)) {
        let (s, pkts) = stream();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (s.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([s.len()]) {
            chunks.push(&s[prev..c]);
            prev = c;
        }
        prop_assert_eq!(run(&mut Framer::new(1 << 20), &chunks), expected(&pkts));
    }

    #[test]
    fn arbitrary_bytes_and_gaps_never_panic(
        parts in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..40), 0u64..20), 0..10),
        max in 0usize..64,
    ) {
        let mut f = Framer::new(max);
        let mut fed = 0u64;
        for (bytes, gap) in &parts {
            f.feed(bytes, &mut |e| { own(e); });
            f.gap(*gap);
            fed += bytes.len() as u64 + gap;
            prop_assert_eq!(f.offset(), fed);
            if let Pending::Packet { buffered, .. } = f.pending() {
                prop_assert!(buffered <= max.max(5));
            }
        }
        f.finish(&mut |e| { own(e); });
    }
}

proptest! {
    #[test]
    fn resync_is_split_invariant(lost in 1u64..120, at in 1usize..60, cuts in prop::collection::vec(0usize..300, 0..8)) {
        let (s, _) = stream();
        let resume = (at as u64 + lost) as usize;
        prop_assume!(resume < s.len());
        let rest = &s[resume..];
        let one_shot = {
            let mut f = Framer::new(1 << 20);
            let mut evs = run(&mut f, &[&s[..at]]);
            f.gap(lost);
            evs.extend(run_end(&mut f, &[rest]));
            evs
        };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (rest.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([rest.len()]) {
            chunks.push(&rest[prev..c]);
            prev = c;
        }
        let mut f = Framer::new(1 << 20);
        let mut evs = run(&mut f, &[&s[..at]]);
        f.gap(lost);
        evs.extend(run_end(&mut f, &chunks));
        prop_assert_eq!(evs, one_shot);
    }
}

// ---- Resynchronisation rules ----------------------------------------------------------------

use mqttscope::mqtt::types::Version;
use mqttscope::mqtt::Sender;

/// Packets (offset, bytes) handed out after feeding `before`, a gap of `lost`, then `after`.
fn after_gap(f: &mut Framer, before: &[u8], lost: u64, after: &[u8]) -> Vec<Ev> {
    let mut evs = run(f, &[before]);
    f.gap(lost);
    evs.extend(run_end(f, &[after]));
    evs
}

fn packets(evs: &[Ev]) -> Vec<(u64, Vec<u8>)> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Packet(o, b) => Some((*o, b.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn payload_that_looks_like_answers_is_not_framed_after_a_gap() {
    // Little-endian sensor records inside a PUBLISH payload read as a CONNACK (20 02 00 00) and
    // PUBCOMPs (70 02 00 05): the phantoms of the live flood. The old two-header rule took them.
    let mut payload = Vec::new();
    for k in 0..20u8 {
        payload.extend([0x20, 0x02, 0x00, 0x00, 0x70, 0x02, 0x00, k + 1]);
    }
    // (A payload ending in exactly such a record would be indistinguishable from a real
    // PUBCOMP before the PUBACK: only pairing could tell.)
    payload.extend([0xFF, 0xFF]);
    let mut publish = vec![0x30, (3 + payload.len()) as u8, 0x00, 0x01, b't'];
    publish.extend(&payload);
    let puback = [0x40, 0x02, 0x12, 0x34];
    let stream = [&publish[..], &puback, &puback].concat();
    for sender in [None, Some(Sender::Server)] {
        let mut f = Framer::new(1 << 20);
        f.set_sender(sender);
        f.set_version(Some(Version::V3_1_1));
        // Lose the PUBLISH header and the start of its payload.
        let evs = after_gap(&mut f, &[], 9, &stream[9..]);
        let at = publish.len() as u64;
        assert_eq!(
            packets(&evs),
            vec![(at, puback.to_vec()), (at + 4, puback.to_vec())],
            "{sender:?}: {evs:?}"
        );
        assert_eq!(evs[0], Ev::Skipped(9, at - 9, SkipReason::Resync));
    }
}

#[test]
fn a_side_never_sends_the_other_sides_types() {
    // PINGREQ, PINGREQ, DISCONNECT: a client's chain; a 3.1.1 server never sends them.
    let s = [0xC0, 0x00, 0xC0, 0x00, 0xE0, 0x00];
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Client));
    f.set_version(Some(Version::V3_1_1));
    assert_eq!(packets(&after_gap(&mut f, &[], 3, &s)).len(), 3);
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    f.set_version(Some(Version::V3_1_1));
    let evs = after_gap(&mut f, &[], 3, &s);
    assert!(packets(&evs).is_empty(), "{evs:?}");
    assert_eq!(evs, vec![Ev::Skipped(3, 6, SkipReason::Resync)]);
}

#[test]
fn no_second_connect_or_connack_after_a_gap() {
    let connack = [0x20, 0x02, 0x00, 0x00];
    let pingresp = [0xD0, 0x00];
    let after = [&connack[..], &pingresp, &pingresp].concat();
    // A stream picked up mid-way may start with a CONNACK ...
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    f.resync();
    let evs = run_end(&mut f, &[&[0x00, 0x05], &after]);
    assert_eq!(packets(&evs)[0], (2, connack.to_vec()));
    // ... but not once its start was lost: the CONNACK was the first packet, in the gap ...
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    let evs = after_gap(&mut f, &[], 5, &after);
    assert_eq!(
        packets(&evs),
        vec![(9, pingresp.to_vec()), (11, pingresp.to_vec())]
    );
    // ... nor once packets were framed.
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    let evs = after_gap(&mut f, &connack, 5, &after);
    assert_eq!(
        packets(&evs),
        vec![
            (0, connack.to_vec()),
            (13, pingresp.to_vec()),
            (15, pingresp.to_vec())
        ]
    );
}

#[test]
fn version_rules_apply_when_known() {
    // 40 03 00 07 00: a 5.0 PUBACK with a reason code, impossible in 3.1.1 (length 2 only).
    let s = [
        &[0x40, 0x03, 0x00, 0x07, 0x00][..],
        &[0x40, 0x03, 0x00, 0x08, 0x10],
        &[0xC0, 0x00],
    ]
    .concat();
    let mut f = Framer::new(1 << 20);
    f.set_version(Some(Version::V5));
    assert_eq!(packets(&after_gap(&mut f, &[], 1, &s)).len(), 3);
    let mut f = Framer::new(1 << 20);
    f.set_version(Some(Version::V3_1_1));
    assert_eq!(
        packets(&after_gap(&mut f, &[], 1, &s)),
        vec![(11, vec![0xC0, 0x00])]
    );
}

#[test]
fn candidates_held_at_a_second_gap_are_decided_there() {
    // After a first gap: PINGREQ, PUBACK (16 + 16 bits would need a next header) and then a
    // second gap: the chain ends exactly at the gap, so it is accepted (like at the end).
    let pub_ack = [0xC0, 0x00, 0x40, 0x02, 0x00, 0x05];
    let tail = [0xC0, 0x00, 0xC0, 0x00];
    for cut in 0..=pub_ack.len() {
        let mut f = Framer::new(1 << 20);
        f.set_sender(Some(Sender::Client));
        f.gap(10);
        let mut evs = run(&mut f, &[&pub_ack[..cut], &pub_ack[cut..]]);
        f.gap(7);
        assert_eq!(f.offset(), 23);
        evs.extend(run_end(&mut f, &[&tail]));
        assert_eq!(
            packets(&evs),
            vec![
                (10, vec![0xC0, 0x00]),
                (12, vec![0x40, 0x02, 0x00, 0x05]),
                (23, vec![0xC0, 0x00]),
                (25, vec![0xC0, 0x00]),
            ],
            "cut {cut}"
        );
    }
}

proptest! {
    #[test]
    fn resync_with_context_and_two_gaps_is_split_invariant(
        lost in 1u64..120,
        at in 1usize..60,
        second in 0usize..200,
        lost2 in 1u64..40,
        cuts in prop::collection::vec(0usize..300, 0..8),
    ) {
        let (s, _) = stream();
        let resume = (at as u64 + lost) as usize;
        prop_assume!(resume < s.len());
        let rest = &s[resume..];
        let second = second % (rest.len() + 1);
        let (r1, r2) = rest.split_at(second);
        let r2 = r2.get(lost2 as usize..).unwrap_or(&[]);
        let go = |chunks1: &[&[u8]], chunks2: &[&[u8]]| {
            let mut f = Framer::new(1 << 20);
            f.set_sender(Some(Sender::Client));
            let mut evs = run(&mut f, &[&s[..at]]);
            f.gap(lost);
            evs.extend(run(&mut f, chunks1));
            f.gap(lost2);
            evs.extend(run_end(&mut f, chunks2));
            evs
        };
        let one_shot = go(&[r1], &[r2]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (r1.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut prev = 0;
        for c in cuts.into_iter().chain([r1.len()]) {
            chunks.push(&r1[prev..c]);
            prev = c;
        }
        let ones: Vec<&[u8]> = r2.chunks(1).collect();
        prop_assert_eq!(go(&chunks, &ones), one_shot);
    }
}

#[test]
fn a_feed_of_whole_packets_right_after_a_gap_is_framed_at_once() {
    // A keep-alive PINGRESP in its own segment after a lost one: taken at once, not held
    // until the next packet (half a minute later on a quiet connection).
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    f.set_version(Some(Version::V3_1_1));
    let mut evs = run(&mut f, &[&[0xD0, 0x00]]);
    f.gap(2);
    evs.extend(run(&mut f, &[&[0xD0, 0x00]]));
    assert_eq!(
        packets(&evs),
        vec![(0, vec![0xD0, 0x00]), (4, vec![0xD0, 0x00])]
    );
    // Two whole packets filling the feed, too.
    f.gap(3);
    let evs = run(&mut f, &[&[0x90, 0x03, 0x00, 0x07, 0x01, 0xD0, 0x00]]);
    assert_eq!(packets(&evs).len(), 2, "{evs:?}");
    // A feed that does not end with a whole packet waits for more bytes, as before.
    f.gap(5);
    let evs = run(&mut f, &[&[0xD0, 0x00, 0xD0]]);
    assert_eq!(packets(&evs), vec![], "{evs:?}");
    let evs = run_end(&mut f, &[&[0x00]]);
    assert_eq!(
        packets(&evs),
        vec![(21, vec![0xD0, 0x00]), (23, vec![0xD0, 0x00])]
    );
    // Only the first feed after the gap: a later one is decided by the usual rules.
    let mut f = Framer::new(1 << 20);
    f.set_sender(Some(Sender::Server));
    f.set_version(Some(Version::V3_1_1));
    f.gap(10);
    let evs = run(&mut f, &[&[0x30], &[0xD0, 0x00]]);
    assert_eq!(packets(&evs), vec![], "{evs:?}");
}
