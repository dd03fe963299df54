//! Quality of resynchronisation after stream gaps, measured on realistic MQTT streams.
//!
//! Both directions of many connections (3.1.1 and 5.0; PUBLISH with binary, text, JSON and
//! structured payloads of varied sizes; QoS 0/1/2 with their acknowledgements; subscriptions,
//! pings) are cut by thousands of random gaps (inside payloads, inside headers, over many
//! packets), fed to the framer in random segments, and what comes out is compared with the
//! packets really sent. A fixed seed keeps the numbers deterministic.

mod mqtt_support;

use mqtt_support::{encode, Prop, M};
use mqttscope::mqtt::framer::Sender;
use mqttscope::mqtt::packet::decode_parts;
use mqttscope::mqtt::types::{PacketType, Version};
use mqttscope::mqtt::{FrameEvent, Framer};
use std::collections::{BTreeMap, HashMap};

/// splitmix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.range(0, xs.len() as u64) as usize]
    }
}

const TOPICS: [&str; 8] = [
    "t",
    "a/b",
    "sensors/12/temp",
    "devices/dev-0042/status",
    "home/kitchen/fridge/door",
    "factory/line-3/robot-7/joint/2/torque",
    "x/y/z",
    "météo/station/Zürich",
];

fn payload(r: &mut Rng) -> Vec<u8> {
    let len = match r.range(0, 100) {
        0..=79 => r.range(0, 300),
        80..=96 => r.range(300, 6000),
        _ => r.range(6000, 40_000),
    } as usize;
    let mut p = Vec::with_capacity(len);
    match r.range(0, 5) {
        // Uniform random bytes (compressed or encrypted data).
        0 => p.extend((0..len).map(|_| r.next() as u8)),
        // JSON text.
        1 => {
            while p.len() < len {
                let rec = format!(
                    "{{\"id\":{},\"temp\":{}.{},\"ok\":true,\"name\":\"sensor-{}\"}}",
                    r.range(0, 100_000),
                    r.range(0, 40),
                    r.range(0, 10),
                    r.range(0, 500)
                );
                p.extend_from_slice(rec.as_bytes());
            }
        }
        // Little-endian records of small integers and floats (sensor frames).
        2 => {
            let mut seq = r.range(0, 1000) as u16;
            while p.len() < len {
                seq = seq.wrapping_add(1);
                p.extend(seq.to_le_bytes());
                p.extend((r.range(0, 64) as u16).to_le_bytes());
                p.extend((r.range(0, 5000) as u32).to_le_bytes());
                p.extend((r.range(0, 4000) as f32 / 100.0).to_le_bytes());
            }
        }
        // Mostly zeros with a few small values (sparse arrays, padding).
        3 => p.extend((0..len).map(|_| {
            if r.range(0, 8) == 0 {
                r.range(0, 16) as u8
            } else {
                0
            }
        })),
        // Big-endian counters and lengths (another binary protocol tunnelled).
        _ => {
            while p.len() < len {
                p.extend((r.range(0, 300) as u16).to_be_bytes());
                p.push(r.range(0, 4) as u8);
            }
        }
    }
    p.truncate(len);
    p
}

fn props(r: &mut Rng, v5: bool) -> Vec<Prop> {
    if !v5 || r.range(0, 3) != 0 {
        return Vec::new();
    }
    match r.range(0, 4) {
        0 => vec![Prop::Four(0x02, r.range(1, 3600) as u32)],
        1 => vec![Prop::Str(0x03, "application/json".into())],
        2 => vec![Prop::Pair("k".into(), "v".into())],
        _ => vec![Prop::Byte(0x01, 1)],
    }
}

/// One connection's two streams, each a list of whole packets.
struct Conn {
    level: u8,
    client: Vec<Vec<u8>>,
    server: Vec<Vec<u8>>,
}

fn connection(r: &mut Rng) -> Conn {
    let level = if r.range(0, 2) == 0 { 4 } else { 5 };
    let v5 = level == 5;
    let enc = |m: &M| encode(m, level, false);
    let mut client = vec![enc(&M::Connect {
        level,
        clean: true,
        keep_alive: 60,
        props: Vec::new(),
        client_id: format!("client-{}", r.range(0, 1000)),
        will: None,
        username: None,
        password: None,
    })];
    let mut server = vec![enc(&M::Connack {
        session_present: false,
        code: 0,
        props: Vec::new(),
    })];
    let mut pid: u16 = 0;
    let mut next_id = || {
        pid = pid.checked_add(1).unwrap_or(1);
        pid
    };
    let ack = |ptype: u8, packet_id: u16| M::Ack {
        ptype,
        packet_id,
        code: 0,
        implied: true,
        props: Vec::new(),
    };
    let id = next_id();
    client.push(enc(&M::Subscribe {
        packet_id: id,
        props: Vec::new(),
        subs: vec![(r.pick(&TOPICS).to_string(), 1), ("sensors/#".into(), 2)],
    }));
    server.push(enc(&M::Suback {
        unsuback: false,
        packet_id: id,
        props: Vec::new(),
        codes: vec![1, 2],
    }));
    for _ in 0..r.range(40, 120) {
        // PUBLISH from either side, with the acknowledgements of its QoS from the other.
        let to_server = r.range(0, 3) != 0;
        let qos = r.range(0, 3) as u8;
        let packet_id = (qos > 0).then(&mut next_id);
        let p = enc(&M::Publish {
            dup: false,
            qos,
            retain: r.range(0, 10) == 0,
            topic: r.pick(&TOPICS).to_string(),
            packet_id,
            props: props(r, v5),
            payload: payload(r),
        });
        let (from, to) = if to_server {
            (&mut client, &mut server)
        } else {
            (&mut server, &mut client)
        };
        from.push(p);
        match (qos, packet_id) {
            (1, Some(id)) => to.push(enc(&ack(4, id))),
            (2, Some(id)) => {
                to.push(enc(&ack(5, id)));
                from.push(enc(&ack(6, id)));
                to.push(enc(&ack(7, id)));
            }
            _ => {}
        }
        match r.range(0, 30) {
            0 => {
                client.push(enc(&M::Ping { resp: false }));
                server.push(enc(&M::Ping { resp: true }));
            }
            1 => {
                let id = next_id();
                client.push(enc(&M::Unsubscribe {
                    packet_id: id,
                    props: Vec::new(),
                    filters: vec![r.pick(&TOPICS).to_string()],
                }));
                let codes = if v5 { vec![0] } else { Vec::new() };
                server.push(enc(&M::Suback {
                    unsuback: true,
                    packet_id: id,
                    props: Vec::new(),
                    codes,
                }));
            }
            _ => {}
        }
    }
    client.push(enc(&M::ReasonProps {
        auth: false,
        code: 0,
        implied: true,
        props: Vec::new(),
    }));
    Conn {
        level,
        client,
        server,
    }
}

/// Random gaps `(start, len)` over a stream of `n` bytes, sorted and separated.
fn gaps(r: &mut Rng, n: u64, count: usize) -> Vec<(u64, u64)> {
    let mut g: Vec<(u64, u64)> = (0..count)
        .map(|_| {
            let len = match r.range(0, 100) {
                0..=49 => r.range(1, 200),
                50..=84 => r.range(200, 3000),
                _ => r.range(3000, 20_000),
            };
            (r.range(1, n), len)
        })
        .collect();
    g.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, l) in g {
        let floor = out.last().map_or(0, |&(ps, pl)| ps + pl + 1);
        let l = l.min(n.saturating_sub(s));
        if s >= floor && l > 0 {
            out.push((s, l));
        }
    }
    out
}

/// What the measurement counts.
#[derive(Debug, Default)]
struct Tally {
    gaps: u64,
    streams: u64,
    real_packets: u64,
    /// Real packets whose bytes all arrived.
    intact: u64,
    /// Intact packets handed out.
    found: u64,
    /// Packets handed out that the sender never sent (wrong offset or length).
    false_packets: u64,
    /// False packets of a type that only answers a request (CONNACK, SUBACK, PUBACK, ...).
    false_answers: u64,
    /// Packets handed out that do not decode.
    malformed: u64,
    /// Unframeable headers reported.
    frame_errors: u64,
    /// Intact packets not handed out, and their bytes.
    lost: u64,
    lost_bytes: u64,
    false_by_type: BTreeMap<&'static str, u64>,
}

fn answers_only(t: PacketType) -> bool {
    matches!(t.0, 2 | 4..=7 | 9 | 11 | 13)
}

/// Feeds `bytes` in random segments (mostly full-size, some small).
fn feed_span(r: &mut Rng, f: &mut Framer, bytes: &[u8], on: &mut dyn FnMut(FrameEvent<'_>)) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let seg = if r.range(0, 4) == 0 {
            r.range(1, 200)
        } else {
            1460
        };
        let (a, b) = rest.split_at((seg as usize).min(rest.len()));
        f.feed(a, &mut |e| on(e));
        rest = b;
    }
}

/// Feeds one stream, with gaps, in random segments; compares what comes out with `pkts`.
fn measure(
    r: &mut Rng,
    pkts: &[Vec<u8>],
    version: Version,
    sender: Sender,
    tell: bool,
    t: &mut Tally,
) {
    let stream = pkts.concat();
    let n = stream.len() as u64;
    let mut real: HashMap<u64, usize> = HashMap::new();
    let mut off = 0u64;
    for p in pkts {
        real.insert(off, p.len());
        off += p.len() as u64;
    }
    let holes = gaps(r, n, 12);
    let mut f = Framer::new(1 << 20);
    if tell {
        f.set_sender(Some(sender));
        f.set_version(Some(version));
    }
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut frame_errors = 0u64;
    let mut on = |fe: FrameEvent<'_>| match fe {
        FrameEvent::Packet(p) => out.push((p.offset, p.bytes.to_vec())),
        FrameEvent::Malformed { .. } => frame_errors += 1,
        _ => {}
    };
    let mut pos = 0u64;
    for &(s, l) in &holes {
        feed_span(r, &mut f, &stream[pos as usize..s as usize], &mut on);
        f.gap(l);
        pos = s + l;
    }
    feed_span(r, &mut f, &stream[pos as usize..], &mut on);
    f.finish(&mut on);
    t.frame_errors += frame_errors;
    t.gaps += holes.len() as u64;
    t.streams += 1;
    t.real_packets += pkts.len() as u64;
    let hit = |o: u64, len: u64| holes.iter().any(|&(s, l)| o < s + l && s < o + len);
    let mut emitted: HashMap<u64, usize> = HashMap::new();
    for (o, b) in &out {
        emitted.insert(*o, b.len());
        let ptype = PacketType(b[0] >> 4);
        let h = match mqttscope::mqtt::header::parse_header_slice(b) {
            mqttscope::mqtt::header::HeaderParse::Complete(h) => h,
            other => panic!("framer handed out a packet without a header: {other:?}"),
        };
        let decodes = decode_parts(&h, &b[usize::from(h.header_len)..], version).is_ok();
        if !decodes {
            t.malformed += 1;
        }
        if real.get(o) != Some(&b.len()) {
            t.false_packets += 1;
            *t.false_by_type.entry(ptype.name()).or_default() += 1;
            if answers_only(ptype) {
                t.false_answers += 1;
            }
        } else {
            assert!(decodes, "a real packet at {o} does not decode");
        }
    }
    for (&o, &len) in &real {
        if hit(o, len as u64) {
            continue;
        }
        t.intact += 1;
        if emitted.get(&o) == Some(&len) {
            t.found += 1;
        } else {
            t.lost += 1;
            t.lost_bytes += len as u64;
        }
    }
}

fn run(tell: bool) -> Tally {
    let mut r = Rng(0x5EED_2026);
    let mut t = Tally::default();
    for _ in 0..250 {
        let c = connection(&mut r);
        let v = Version(c.level);
        measure(&mut r, &c.client, v, Sender::Client, tell, &mut t);
        measure(&mut r, &c.server, v, Sender::Server, tell, &mut t);
    }
    t
}

fn report(label: &str, t: &Tally) {
    eprintln!(
        "{label}: {} streams, {} gaps, {} real packets ({} intact): found {}, lost {} \
         ({} bytes); false {} (answers {}), malformed {}, frame errors {}; false by type {:?}",
        t.streams,
        t.gaps,
        t.real_packets,
        t.intact,
        t.found,
        t.lost,
        t.lost_bytes,
        t.false_packets,
        t.false_answers,
        t.malformed,
        t.frame_errors,
        t.false_by_type
    );
}

#[test]
fn resync_after_random_gaps_invents_no_packets() {
    let t = run(true);
    report("direction and version known", &t);
    assert!(t.gaps >= 2000, "too few gaps measured: {}", t.gaps);
    assert_eq!(t.false_answers, 0, "{t:?}");
    assert_eq!(t.false_packets, 0, "{t:?}");
    assert_eq!(t.malformed, 0, "{t:?}");
    assert_eq!(t.frame_errors, 0, "{t:?}");
    // Packets lost beyond those the gaps cut: at most 1 in 200 intact packets.
    assert!(t.lost * 200 <= t.intact, "{t:?}");
}

#[test]
fn resync_without_context_invents_no_answers() {
    let t = run(false);
    report("direction and version unknown", &t);
    assert_eq!(t.false_answers, 0, "{t:?}");
    assert!(t.false_packets * 1000 <= t.gaps, "{t:?}");
    assert!(t.lost * 100 <= t.intact, "{t:?}");
}
