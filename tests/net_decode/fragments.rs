//! IPv4 and IPv6 fragments through the decoder: orders, overlaps, caps and timeout.

use super::*;

/// IPv4 fragments of `segment` (a TCP header + payload) cut at the 8-byte-aligned `cuts`.
fn v4_fragments(id: u16, segment: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(segment.len());
    bounds
        .windows(2)
        .map(|w| {
            let more = if w[1] < segment.len() { 0x2000 } else { 0 };
            ipv4(6, id, more | (w[0] / 8) as u16, &segment[w[0]..w[1]])
        })
        .collect()
}

/// An IPv6 fragment: fragment header (next header TCP) + `data` at byte `offset`.
fn v6_fragment(id: u32, offset: usize, more: bool, data: &[u8]) -> Vec<u8> {
    let mut p = vec![6, 0];
    p.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(data);
    ipv6(44, &p)
}

fn at(secs: i64, no: u64, data: &[u8]) -> Frame<'_> {
    Frame {
        ts: Ts::from_parts(secs, 0),
        frame_no: no,
        ..frame(LinkType::IPV4, data)
    }
}

fn payload() -> Vec<u8> {
    (0..300u32).map(|i| (i * 7) as u8).collect()
}

#[test]
fn in_order_reversed_and_duplicated_fragments_reassemble() {
    let seg = tcp(5, &payload());
    let frags = v4_fragments(77, &seg, &[96, 200]);
    let orders: [&[usize]; 3] = [&[0, 1, 2], &[2, 1, 0], &[1, 1, 0, 1, 2]];
    let mut dec = NetDecoder::new(&Limits::default());
    for order in orders {
        let (last, rest) = order.split_last().unwrap();
        for &i in rest {
            assert_eq!(
                run(&mut dec, &at(0, 1, &frags[i])),
                Out::Other("IP fragment held for reassembly".into())
            );
        }
        assert_eq!(run(&mut dec, &at(0, 9, &frags[*last])), tcp4(&payload(), 0));
        assert_eq!(dec.frag_sets(), 0);
    }
    let f = dec.stats().frag;
    assert_eq!((f.fragments, f.held, f.reassembled), (11, 8, 3));
    assert_eq!(dec.stats().tcp_segments, 3);
}

#[test]
fn overlapping_fragments_keep_the_first_copy() {
    let seg = tcp(5, &payload());
    let frags = v4_fragments(5, &seg, &[96, 200]);
    // A rogue fragment over bytes 64..160 with different content, sent after the first.
    let rogue = ipv4(6, 5, 0x2000 | (64 / 8), &[0xee; 96]);
    let mut dec = NetDecoder::new(&Limits::default());
    for f in [&frags[0], &rogue, &frags[1]] {
        assert_eq!(
            run(&mut dec, &at(0, 1, f)),
            Out::Other("IP fragment held for reassembly".into())
        );
    }
    // Bytes 96..160 were first written by the rogue fragment, so it wins there.
    let mut want = seg.clone();
    want[96..160].fill(0xee);
    assert_eq!(run(&mut dec, &at(0, 2, &frags[2])), tcp4(&want[20..], 0));
}

#[test]
fn ipv6_fragments_reassemble() {
    let seg = tcp(5, &payload());
    let mut dec = NetDecoder::new(&Limits::default());
    let second = v6_fragment(0xdead_beef, 160, false, &seg[160..]);
    let first = v6_fragment(0xdead_beef, 0, true, &seg[..160]);
    let held = run(&mut dec, &frame(LinkType::IPV6, &second));
    assert_eq!(held, Out::Other("IP fragment held for reassembly".into()));
    assert_eq!(
        run(&mut dec, &frame(LinkType::IPV6, &first)),
        tcp6(&payload())
    );
}

#[test]
fn flood_of_never_completing_fragments_is_bounded() {
    let limits = Limits::default();
    let mut dec = NetDecoder::new(&limits);
    let data = [0x55u8; 1480];
    for id in 0..100_000u32 {
        // Distinct (id, source port) pairs: 16-bit ids repeat, so vary the source too.
        let mut pkt = ipv4(6, id as u16, 0x2000, &data);
        pkt[12] = (id >> 16) as u8;
        let f = at(0, u64::from(id) + 1, &pkt);
        let out = run(&mut dec, &f);
        assert_eq!(out, Out::Other("IP fragment held for reassembly".into()));
        assert!(dec.frag_sets() <= limits.max_frag_sets);
        assert!(dec.frag_buffered_bytes() <= limits.max_frag_bytes);
    }
    let f = dec.stats().frag;
    assert_eq!(dec.frag_sets(), limits.max_frag_sets);
    assert_eq!(f.held, 100_000);
    assert_eq!(f.sets_evicted, 100_000 - limits.max_frag_sets as u64);
    // With a tight byte cap the bytes bind instead, and a set that alone is too big is dropped.
    let tight = Limits {
        max_frag_bytes: 64 * 1024,
        ..Limits::default()
    };
    let mut dec = NetDecoder::new(&tight);
    for id in 0..1000u16 {
        let pkt = ipv4(6, id, 0x2000, &data);
        run(&mut dec, &at(0, 1, &pkt));
        assert!(dec.frag_buffered_bytes() <= 64 * 1024);
    }
    assert!(dec.frag_sets() < 64 * 1024 / 1480);
    let tiny = Limits {
        max_frag_bytes: 1000,
        ..Limits::default()
    };
    let mut dec = NetDecoder::new(&tiny);
    let pkt = ipv4(6, 1, 0x2000, &data);
    assert_eq!(
        run(&mut dec, &at(0, 1, &pkt)),
        Out::Other("IP fragment dropped: fragment buffer cap reached".into())
    );
    assert_eq!(dec.stats().frag.dropped_by_cap, 1);
    assert!(matches!(
        dec.decode(&at(0, 1, &pkt)),
        NetOutcome::FragmentDropped(FragDrop::Cap)
    ));
}

#[test]
fn incomplete_sets_expire_by_capture_time() {
    let seg = tcp(5, &payload());
    let frags = v4_fragments(9, &seg, &[160]);
    let mut dec = NetDecoder::new(&Limits::default());
    run(&mut dec, &at(1000, 1, &frags[0]));
    // Any frame 31 s later expires the set (timeout 30 s of capture time).
    let other = ipv4(17, 1, 0, &[0; 8]);
    run(&mut dec, &at(1020, 2, &other));
    assert_eq!((dec.frag_sets(), dec.stats().frag.sets_expired), (1, 0));
    run(&mut dec, &at(1031, 3, &other));
    assert_eq!((dec.frag_sets(), dec.stats().frag.sets_expired), (0, 1));
    // The late second half starts a new set instead of completing the expired one.
    assert_eq!(
        run(&mut dec, &at(1031, 4, &frags[1])),
        Out::Other("IP fragment held for reassembly".into())
    );
    dec.finish();
    assert_eq!((dec.frag_sets(), dec.stats().frag.sets_unfinished), (0, 1));
}

#[test]
fn cut_and_non_tcp_fragments() {
    let seg = tcp(5, &payload());
    let frags = v4_fragments(3, &seg, &[160]);
    let mut dec = NetDecoder::new(&Limits::default());
    let mut f = at(0, 1, &frags[0][..100]);
    f.orig_len = frags[0].len() as u32;
    assert!(matches!(
        dec.decode(&f),
        NetOutcome::FragmentDropped(FragDrop::Cut)
    ));
    let udp = ipv4(17, 3, 0x2000, &[0; 64]);
    assert_eq!(
        run(&mut dec, &at(0, 2, &udp)),
        Out::Other("IP protocol 17, not TCP".into())
    );
    let st = dec.stats();
    assert_eq!(
        (st.frag.dropped_cut, st.non_tcp(17), dec.frag_sets()),
        (1, 1, 0)
    );
}
