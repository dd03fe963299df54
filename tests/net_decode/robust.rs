//! Damaged frames never panic, and every frame lands in exactly one outcome counter.

use super::*;
use mqttscope::net::NetStats;
use proptest::prelude::*;

/// Valid frames of several link types, IP versions and fragment shapes to start damage from.
fn seeds() -> Vec<(LinkType, Vec<u8>)> {
    let seg = tcp(7, b"some MQTT bytes here");
    let mut ext_chain = ext(60, 0);
    ext_chain.extend(ext(6, 1));
    ext_chain.extend(seg.clone());
    let mut frag6 = vec![6, 0, 0, 1, 0, 0, 0, 42];
    frag6.extend_from_slice(&seg[..16]);
    vec![
        (
            LinkType::ETHERNET,
            ethernet(&[(0x88a8, 1), (0x8100, 2)], 0x0800, &ipv4(6, 1, 0, &seg)),
        ),
        (LinkType::LINUX_SLL2, sll2(0x86dd, &ipv6(0, &ext_chain))),
        (
            LinkType::LINUX_SLL,
            sll(0x0800, &ipv4(6, 9, 0x2000, &seg[..16])),
        ),
        (
            LinkType::NULL,
            [&30u32.to_le_bytes()[..], &ipv6(44, &frag6)].concat(),
        ),
        (LinkType::RAW, ipv4(6, 9, 2, &seg[16..])),
        (LinkType::IPV4, ipv4(17, 1, 0, &[0; 8])),
    ]
}

/// The sum of all outcome counters, which must equal the frame count.
fn outcomes(st: &NetStats) -> u64 {
    st.tcp_segments
        + st.non_ip.values().sum::<u64>()
        + st.non_tcp_protocols().map(|p| p.1).sum::<u64>()
        + st.unsupported_link.values().sum::<u64>()
        + st.malformed
        + st.frag.held
        + st.frag.dropped_by_cap
        + st.frag.dropped_cut
}

proptest! {
    #[test]
    fn damaged_frames_are_counted_once_and_never_panic(
        picks in proptest::collection::vec(
            (0usize..6, proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
             any::<usize>(), 0u32..64, 0i64..100),
            1..40),
    ) {
        let seeds = seeds();
        let limits = Limits { max_frag_sets: 4, max_frag_bytes: 600, ..Limits::default() };
        let mut dec = NetDecoder::new(&limits);
        for (n, (seed, edits, cut_at, extra, secs)) in picks.into_iter().enumerate() {
            let (lt, mut data) = seeds[seed].clone();
            for (at, v) in edits {
                let i = at % data.len();
                data[i] = v;
            }
            let keep = cut_at % (data.len() + 1);
            let orig_len = data.len() as u32 + extra;
            data.truncate(keep);
            let f = Frame { ts: Ts::from_parts(secs, 0), linktype: lt, frame_no: n as u64 + 1,
                caplen: keep as u32, orig_len, data: &data, owner: None };
            let out = dec.decode(&f);
            if let NetOutcome::Tcp(s) = out {
                prop_assert!(s.payload.len() <= keep);
            }
            prop_assert!(dec.frag_sets() <= 4);
            prop_assert!(dec.frag_buffered_bytes() <= 600);
        }
        let st = dec.stats();
        prop_assert_eq!(outcomes(st), st.frames);
    }
}
