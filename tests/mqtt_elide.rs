//! Framing with payloads passed over (`Framer::set_elide_payloads`): a long PUBLISH split
//! across feeds is handed out with its head only, decodes to the same fields and payload
//! length, and gaps, the stream's end and every split give the same offsets and lengths as
//! full framing.

use mqttscope::mqtt::packet::{decode, Packet};
use mqttscope::mqtt::types::Version;
use mqttscope::mqtt::{FrameEvent, Framer, SkipReason};

/// A PUBLISH of `payload` bytes on `topic` with QoS 1 and packet id 7, under `v5` with a
/// Message Expiry Interval property.
fn publish(topic: &str, payload: usize, v5: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&[0, 7]);
    if v5 {
        body.extend_from_slice(&[5, 0x02, 0, 0, 0, 60]);
    }
    body.extend((0..payload).map(|i| (i % 251) as u8));
    let mut v = vec![0x32];
    let mut l = body.len();
    loop {
        let mut b = (l % 128) as u8;
        l /= 128;
        if l > 0 {
            b |= 0x80;
        }
        v.push(b);
        if l == 0 {
            break;
        }
    }
    v.extend(body);
    v
}

/// What a test keeps of an event: (offset, whole length, kept length, topic, payload length)
/// for packets; (offset, length, reason) for skipped stretches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Packet(u64, u64, usize, String, u64),
    Skipped(u64, u64, SkipReason),
}

fn run(
    elide: bool,
    version: Version,
    stream: &[u8],
    seg: usize,
    gap_at: Option<(usize, u64)>,
) -> Vec<Ev> {
    let mut f = Framer::new(1 << 20);
    f.set_version(Some(version));
    f.set_elide_payloads(elide);
    let mut evs = Vec::new();
    let mut on = |fe: FrameEvent<'_>| match fe {
        FrameEvent::Packet(p) => {
            assert_eq!(p.bytes.len() as u64 + p.elided, p.header.total_len());
            let Ok(Packet::Publish(pb)) = decode(&p, version) else {
                panic!("not a PUBLISH: {p:?}");
            };
            assert_eq!(pb.packet_id, Some(7));
            evs.push(Ev::Packet(
                p.offset,
                p.header.total_len(),
                p.bytes.len(),
                pb.topic.to_string(),
                pb.payload.len() as u64 + p.elided,
            ));
        }
        FrameEvent::Skipped {
            offset,
            len,
            reason,
        } => evs.push(Ev::Skipped(offset, len, reason)),
        other => panic!("unexpected {other:?}"),
    };
    // A gap of `len` bytes at byte `g`: those bytes are not fed.
    let (before, after) = match gap_at {
        Some((g, len)) => (&stream[..g], stream.get(g + len as usize..).unwrap_or(&[])),
        None => (stream, &[][..]),
    };
    for chunk in before.chunks(seg) {
        f.feed(chunk, &mut on);
    }
    if let Some((_, len)) = gap_at {
        f.gap(len);
    }
    for chunk in after.chunks(seg) {
        f.feed(chunk, &mut on);
    }
    f.finish(&mut on);
    evs
}

/// Kept lengths are what elision changes; everything else must equal full framing.
fn without_kept(evs: &[Ev]) -> Vec<Ev> {
    evs.iter()
        .map(|e| match e {
            Ev::Packet(o, t, _, topic, n) => Ev::Packet(*o, *t, 0, topic.clone(), *n),
            other => other.clone(),
        })
        .collect()
}

#[test]
fn long_payloads_are_passed_over_with_the_same_fields_at_every_split() {
    for (version, v5) in [(Version::V5, true), (Version::V3_1_1, false)] {
        let mut stream = publish("a/b", 40_000, v5);
        stream.extend(publish("small", 100, v5));
        stream.extend(publish("c", 3_000, v5));
        for seg in [1, 7, 100, 255, 256, 1460, 5000, 100_000] {
            let full = run(false, version, &stream, seg, None);
            let elided = run(true, version, &stream, seg, None);
            assert_eq!(
                without_kept(&full),
                without_kept(&elided),
                "segments of {seg}"
            );
            assert_eq!(full.len(), 3);
            if let (Ev::Packet(_, total, kept, ..), true) = (&elided[0], seg < 40_000) {
                // Split across feeds: only the head is kept (256 bytes at least).
                assert!(
                    *kept >= 256 && *kept < 1000,
                    "kept {kept} of {total}, seg {seg}"
                );
            }
            // A short PUBLISH is always whole.
            assert!(matches!(&elided[1], Ev::Packet(_, t, k, ..) if *t as usize == *k));
        }
    }
}

#[test]
fn a_gap_or_the_end_inside_a_passed_over_payload_reports_the_whole_packet() {
    let mut stream = publish("a/b", 10_000, true);
    stream.extend(publish("next", 3_000, true));
    let first = publish("a/b", 10_000, true).len() as u64;
    // A gap in the middle of the first payload (500 bytes lost after 3 000).
    let full = run(false, Version::V5, &stream, 1000, Some((3000, 500)));
    let elided = run(true, Version::V5, &stream, 1000, Some((3000, 500)));
    assert_eq!(without_kept(&full), without_kept(&elided));
    assert_eq!(elided[0], Ev::Skipped(0, first, SkipReason::CutByGap));
    // The stream ends inside the second packet.
    let cut = &stream[..stream.len() - 10];
    let full = run(false, Version::V5, cut, 700, None);
    let elided = run(true, Version::V5, cut, 700, None);
    assert_eq!(without_kept(&full), without_kept(&elided));
    let last = elided.last().unwrap();
    assert_eq!(
        *last,
        Ev::Skipped(
            first,
            stream.len() as u64 - first - 10,
            SkipReason::EndOfStream
        )
    );
}

#[test]
fn a_version_learnt_mid_packet_does_not_change_what_is_kept() {
    // 3.1.1 framing keeps the head; switching to 5.0 halfway must not append later bytes
    // to it.
    let mut p = publish("t", 8_000, false);
    // Under 5.0 the payload's first bytes would read as a 65 535-byte property length.
    let at = p.len() - 8_000;
    p[at..at + 3].copy_from_slice(&[0xff, 0xff, 0x03]);
    let mut f = Framer::new(1 << 20);
    f.set_version(Some(Version::V3_1_1));
    f.set_elide_payloads(true);
    let mut got = Vec::new();
    for (i, chunk) in p.chunks(1000).enumerate() {
        if i == 2 {
            f.set_version(Some(Version::V5));
        }
        f.feed(chunk, &mut |fe| {
            if let FrameEvent::Packet(raw) = fe {
                got.push((raw.bytes.to_vec(), raw.elided));
            }
        });
    }
    assert_eq!(got.len(), 1);
    let (bytes, elided) = &got[0];
    assert_eq!(bytes[..], p[..bytes.len()]);
    assert_eq!(bytes.len() as u64 + elided, p.len() as u64);
}
