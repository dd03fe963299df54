//! Tests of the defragmenter against a byte-map reference model, plus its caps and timeout.

use super::defrag::{Defragmenter, FragKey, FragResult, FragStats, Fragment, SET_OVERHEAD};
use crate::capture::Ts;
use crate::limits::Limits;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

fn key(id: u32) -> FragKey {
    FragKey {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        protocol: 6,
        id,
    }
}

fn frag(id: u32, secs: i64, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
    Fragment {
        key: key(id),
        ts: Ts::from_parts(secs, 0),
        offset,
        more,
        data,
        header_len: 20,
        frame_offset: 14,
    }
}

/// What one insert gave, owned so results can be compared after the borrow ends.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    Held,
    Complete(Vec<u8>),
    Dropped,
    Malformed(String),
}

fn put(d: &mut Defragmenter, f: Fragment<'_>, s: &mut FragStats) -> Got {
    match d.insert(f, s) {
        FragResult::Held => Got::Held,
        FragResult::Complete(b) => Got::Complete(b.to_vec()),
        FragResult::Dropped => Got::Dropped,
        FragResult::Malformed(m) => Got::Malformed(m.to_string()),
    }
}

#[test]
fn in_order_and_reversed_give_the_datagram() {
    let data: Vec<u8> = (0..100u8).collect();
    for reversed in [false, true] {
        let mut d = Defragmenter::new(&Limits::default());
        let mut s = FragStats::default();
        let mut parts = [
            (0, true, &data[..40]),
            (40, true, &data[40..80]),
            (80, false, &data[80..]),
        ];
        if reversed {
            parts.reverse();
        }
        assert_eq!(
            put(
                &mut d,
                frag(1, 0, parts[0].0, parts[0].1, parts[0].2),
                &mut s
            ),
            Got::Held
        );
        assert_eq!(
            put(
                &mut d,
                frag(1, 0, parts[1].0, parts[1].1, parts[1].2),
                &mut s
            ),
            Got::Held
        );
        assert_eq!(
            put(
                &mut d,
                frag(1, 0, parts[2].0, parts[2].1, parts[2].2),
                &mut s
            ),
            Got::Complete(data.clone())
        );
        assert_eq!((s.held, s.reassembled), (2, 1));
        assert_eq!((d.sets(), d.buffered_bytes()), (0, 0));
    }
}

#[test]
fn overlaps_keep_the_first_copy_and_duplicates_are_harmless() {
    let mut d = Defragmenter::new(&Limits::default());
    let mut s = FragStats::default();
    assert_eq!(
        put(&mut d, frag(7, 0, 8, true, &[1; 16]), &mut s),
        Got::Held
    );
    assert_eq!(
        put(&mut d, frag(7, 0, 8, true, &[9; 16]), &mut s),
        Got::Held
    );
    assert_eq!(
        put(&mut d, frag(7, 0, 0, true, &[2; 32]), &mut s),
        Got::Held
    );
    let got = put(&mut d, frag(7, 0, 32, false, &[3; 4]), &mut s);
    let mut want = vec![2u8; 8];
    want.extend_from_slice(&[1; 16]);
    want.extend_from_slice(&[2; 8]);
    want.extend_from_slice(&[3; 4]);
    assert_eq!(got, Got::Complete(want));
}

#[test]
fn inconsistent_fragments_drop_the_set_as_malformed() {
    let mut d = Defragmenter::new(&Limits::default());
    let mut s = FragStats::default();
    assert_eq!(
        put(&mut d, frag(1, 0, 0, true, &[0; 16]), &mut s),
        Got::Held
    );
    assert_eq!(
        put(&mut d, frag(1, 0, 24, false, &[0; 8]), &mut s),
        Got::Held
    );
    // A second "last" fragment ending elsewhere.
    let Got::Malformed(msg) = put(&mut d, frag(1, 0, 40, false, &[0; 8]), &mut s) else {
        panic!("expected malformed");
    };
    assert!(msg.contains("fragment offset = 40"), "{msg}");
    assert_eq!((d.sets(), s.sets_malformed), (0, 1));
    // A datagram over 65535 bytes.
    let big = [0u8; 1480];
    let Got::Malformed(msg) = put(&mut d, frag(2, 0, 65_000, false, &big), &mut s) else {
        panic!("expected malformed");
    };
    assert!(msg.contains("= 66500, expected at most 65535"), "{msg}");
    // A middle fragment whose length is not a multiple of 8.
    assert!(matches!(
        put(&mut d, frag(3, 0, 0, true, &[0; 12]), &mut s),
        Got::Malformed(_)
    ));
}

#[test]
fn flood_of_incomplete_sets_stays_under_the_caps() {
    let limits = Limits {
        max_frag_sets: 1000,
        max_frag_bytes: 200_000,
        ..Limits::default()
    };
    let mut d = Defragmenter::new(&limits);
    let mut s = FragStats::default();
    let chunk = [0xabu8; 64];
    for id in 0..100_000u32 {
        assert_eq!(put(&mut d, frag(id, 0, 0, true, &chunk), &mut s), Got::Held);
        assert!(d.sets() <= 1000);
        assert!(d.buffered_bytes() <= 200_000, "{}", d.buffered_bytes());
    }
    // Every set charges at least its overhead and 64 data bytes, so the byte cap binds first.
    let per_set = SET_OVERHEAD + 64;
    assert!(d.sets() <= 200_000 / per_set);
    assert_eq!(s.held, 100_000);
    assert_eq!(s.sets_evicted, 100_000 - d.sets() as u64);
    d.finish(&mut s);
    assert_eq!((d.sets(), d.buffered_bytes()), (0, 0));
    assert_eq!(s.sets_unfinished + s.sets_evicted, 100_000);
}

#[test]
fn a_set_larger_than_the_byte_cap_is_dropped() {
    let limits = Limits {
        max_frag_bytes: 1000,
        ..Limits::default()
    };
    let mut d = Defragmenter::new(&limits);
    let mut s = FragStats::default();
    assert_eq!(
        put(&mut d, frag(1, 0, 0, true, &[0; 1480]), &mut s),
        Got::Dropped
    );
    assert_eq!((s.dropped_by_cap, d.sets(), d.buffered_bytes()), (1, 0, 0));
    let none = Limits {
        max_frag_sets: 0,
        ..Limits::default()
    };
    let mut d = Defragmenter::new(&none);
    assert_eq!(
        put(&mut d, frag(1, 0, 0, true, &[0; 8]), &mut s),
        Got::Dropped
    );
}

#[test]
fn sets_expire_by_capture_time() {
    let mut d = Defragmenter::new(&Limits::default());
    let mut s = FragStats::default();
    assert_eq!(
        put(&mut d, frag(1, 100, 0, true, &[0; 8]), &mut s),
        Got::Held
    );
    assert_eq!(
        put(&mut d, frag(2, 120, 0, true, &[0; 8]), &mut s),
        Got::Held
    );
    d.expire(Ts::from_parts(130, 0), &mut s);
    assert_eq!((d.sets(), s.sets_expired), (2, 0));
    d.expire(Ts::from_parts(131, 0), &mut s);
    assert_eq!((d.sets(), s.sets_expired), (1, 1));
    // The expired datagram's last fragment now starts a new set rather than completing.
    assert_eq!(
        put(&mut d, frag(1, 131, 8, false, &[0; 8]), &mut s),
        Got::Held
    );
    d.expire(Ts::from_parts(200, 0), &mut s);
    assert_eq!((d.sets(), d.buffered_bytes(), s.sets_expired), (0, 0, 3));
}

/// A datagram of `total` bytes cut into 8-byte-aligned fragments, plus overlapping extras.
fn fragments_strategy() -> impl Strategy<Value = (usize, Vec<(usize, usize)>, Vec<u32>)> {
    (9usize..3000).prop_flat_map(|total| {
        let units = total / 8;
        let cuts = proptest::collection::vec(1..=units.max(1), 0..12);
        let extras = proptest::collection::vec((0..units, 1usize..40), 0..8);
        (Just(total), cuts, extras).prop_flat_map(|(total, mut cuts, extras)| {
            cuts.push(0);
            cuts.sort_unstable();
            cuts.dedup();
            let mut bounds: Vec<usize> =
                cuts.iter().map(|c| c * 8).filter(|&b| b < total).collect();
            bounds.push(total);
            let mut frags: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
            let aligned_end = total / 8 * 8;
            for (u, l) in extras {
                let start = u * 8;
                let end = (start + l * 8).min(aligned_end);
                if end > start {
                    frags.push((start, end));
                }
            }
            let n = frags.len();
            (
                Just(total),
                Just(frags),
                proptest::collection::vec(any::<u32>(), n),
            )
        })
    })
}

proptest! {
    /// Random orders, overlaps and duplicates agree with a first-writer-wins byte map.
    #[test]
    fn matches_a_byte_map_reference((total, frags, order_keys) in fragments_strategy()) {
        let mut order: Vec<usize> = (0..frags.len()).collect();
        order.sort_by_key(|&i| (order_keys.get(i).copied(), i));
        let mut d = Defragmenter::new(&Limits::default());
        let mut s = FragStats::default();
        let mut reference: Vec<Option<u8>> = vec![None; total];
        let mut completed = false;
        let mut last_seen = false;
        for (n, &i) in order.iter().enumerate() {
            let (start, end) = frags[i];
            let content: Vec<u8> = (start..end).map(|b| (b as u8) ^ (i as u8).wrapping_mul(31)).collect();
            let more = end != total;
            last_seen |= !more;
            for (b, slot) in reference[start..end].iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(content[b]);
                }
            }
            let got = put(&mut d, frag(5, 0, start, more, &content), &mut s);
            let full = last_seen && reference.iter().all(Option::is_some);
            if full && !completed {
                let want: Vec<u8> = reference.iter().map(|b| b.unwrap_or(0)).collect();
                prop_assert_eq!(got, Got::Complete(want), "fragment {} of {}", n, order.len());
                completed = true;
                // Anything after completion starts a new set; stop here.
                break;
            } else {
                prop_assert_eq!(got, Got::Held);
            }
        }
        prop_assert!(completed);
        prop_assert_eq!((d.sets(), d.buffered_bytes()), (0, 0));
    }
}
