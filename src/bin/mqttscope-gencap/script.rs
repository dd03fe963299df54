//! One generated MQTT connection: the conversation, its TCP segments and the perturbations.

use crate::mqtt::{self, Connect, Publish, Ver};
use crate::tcp::{Plan, Seg};

/// splitmix64: a small deterministic generator (same seed, same capture).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `percent`/1000.
    pub fn permille(&mut self, p: u64) -> bool {
        self.next() % 1000 < p
    }
}

/// What happened in a connection, for the generator's report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// MQTT control packets written.
    pub packets: u64,
    /// CONNACKs refusing the client.
    pub refused: u64,
}

/// The generated connection: its TCP plan, version and server port.
pub struct Script {
    /// Segments and streams.
    pub plan: Plan,
    /// Server port (1883 or 1884).
    pub sport: u16,
    /// Packets and refusals.
    pub counts: Counts,
}

fn payload_len(r: &mut Rng) -> usize {
    match r.range(0, 99) {
        0..=79 => r.range(8, 300) as usize,
        80..=96 => r.range(300, 6000) as usize,
        _ => r.range(6000, 65_536) as usize,
    }
}

const METRICS: [&str; 4] = ["temp", "humidity", "power", "status"];

/// Builds connection number `n`.
pub fn build(n: u64, r: &mut Rng) -> Script {
    let ver = match r.range(0, 9) {
        0 | 1 => Ver::V31,
        2..=5 => Ver::V311,
        _ => Ver::V5,
    };
    let sport = if r.permille(200) { 1884 } else { 1883 };
    let mut plan = Plan::new(r.next() as u32, r.next() as u32);
    let mut counts = Counts::default();
    let flaky = r.permille(80);
    let id = if flaky {
        format!("flaky-{}", r.range(0, 19))
    } else {
        format!("gen-{n:06}")
    };
    let login = r.permille(500);
    let will = r.permille(200);
    let topic_root = format!("site/{}/dev/{}", r.range(0, 49), n % 1000);
    let will_topic = format!("{topic_root}/lwt");
    mqtt::connect(
        plan.stream(0),
        &Connect {
            ver,
            client_id: id.as_bytes(),
            keep_alive: if r.permille(500) { 30 } else { 60 },
            clean: r.permille(700),
            login: login.then_some((b"device".as_slice(), b"s3cret".as_slice())),
            will: will.then_some((will_topic.as_bytes(), b"offline".as_slice())),
        },
    );
    plan.flush(0, false);
    counts.packets += 1;
    let refused = r.permille(if flaky { 700 } else { 40 });
    let rc = match (refused, ver) {
        (false, _) => 0,
        (true, Ver::V5) => [0x80, 0x84, 0x86, 0x87, 0x88, 0x8a, 0x97, 0x9f][r.range(0, 7) as usize],
        (true, _) => r.range(1, 5) as u8,
    };
    mqtt::connack(plan.stream(1), ver, !refused && r.permille(300), rc);
    plan.flush(1, false);
    counts.packets += 1;
    if refused {
        counts.refused += 1;
        plan.fin(1);
        plan.fin(0);
        return Script {
            plan,
            sport,
            counts,
        };
    }
    let mut pid: u16 = 0;
    let mut next_pid = || {
        pid = pid % 65_535 + 1;
        pid
    };
    // SUBSCRIBE with 1-3 filters; SUBACK grants, downgrades or refuses each.
    let nf = r.range(1, 3) as usize;
    let filters: Vec<(String, u8)> = (0..nf)
        .map(|i| {
            (
                format!("site/{}/+/{}", r.range(0, 49), METRICS[i]),
                r.range(0, 2) as u8,
            )
        })
        .collect();
    let refs: Vec<(&[u8], u8)> = filters.iter().map(|(f, q)| (f.as_bytes(), *q)).collect();
    let sp = next_pid();
    mqtt::subscribe(plan.stream(0), ver, sp, &refs);
    plan.flush(0, false);
    let codes: Vec<u8> = filters
        .iter()
        .map(|(_, q)| match r.range(0, 19) {
            0 if ver == Ver::V5 => 0x87,
            0 => 0x80,
            1 => (*q).min(1),
            _ => *q,
        })
        .collect();
    mqtt::suback(plan.stream(1), ver, sp, &codes);
    plan.flush(1, true);
    counts.packets += 2;
    let rounds = r.range(2, 36);
    let mut alias_bound = false;
    for _ in 0..rounds {
        if r.permille(60) {
            mqtt::pingreq(plan.stream(0));
            plan.flush(0, false);
            mqtt::pingresp(plan.stream(1));
            plan.flush(1, true);
            counts.packets += 2;
            continue;
        }
        let dir: u8 = if r.permille(600) { 0 } else { 1 };
        let qos = match r.range(0, 19) {
            0..=9 => 0,
            10..=16 => 1,
            _ => 2,
        };
        let burst = if qos == 0 { r.range(1, 4) } else { 1 };
        for _ in 0..burst {
            let topic = format!("{topic_root}/{}", METRICS[r.range(0, 3) as usize]);
            let use_alias = ver == Ver::V5 && dir == 0 && r.permille(300);
            let (t, alias) = match (use_alias, alias_bound) {
                (true, true) => (&b""[..], Some(1)),
                (true, false) => {
                    alias_bound = true;
                    (topic.as_bytes(), Some(1))
                }
                _ => (topic.as_bytes(), None),
            };
            let p = if qos > 0 { next_pid() } else { 0 };
            let len = payload_len(r);
            mqtt::publish(
                plan.stream(dir),
                &Publish {
                    ver,
                    topic: t,
                    qos,
                    pid: p,
                    retain: r.permille(50),
                    alias,
                    payload_len: len,
                    fill: r.next() as u8,
                },
            );
            counts.packets += 1;
            if qos > 0 {
                plan.flush(dir, false);
                let rc = if ver == Ver::V5 && r.permille(50) {
                    [0x10, 0x87, 0x97][r.range(0, 2) as usize]
                } else {
                    0
                };
                if qos == 1 {
                    mqtt::ack(plan.stream(dir ^ 1), ver, 0x40, p, rc);
                    plan.flush(dir ^ 1, true);
                    counts.packets += 1;
                } else {
                    mqtt::ack(plan.stream(dir ^ 1), ver, 0x50, p, rc);
                    plan.flush(dir ^ 1, false);
                    mqtt::ack(plan.stream(dir), ver, 0x62, p, 0);
                    plan.flush(dir, false);
                    mqtt::ack(plan.stream(dir ^ 1), ver, 0x70, p, 0);
                    plan.flush(dir ^ 1, true);
                    counts.packets += 3;
                }
            }
        }
        plan.flush(dir, true);
    }
    match r.range(0, 19) {
        0..=16 => {
            mqtt::disconnect(plan.stream(0), ver, 0);
            plan.flush(0, false);
            counts.packets += 1;
            plan.fin(0);
            plan.fin(1);
        }
        17 | 18 => {
            plan.fin(0);
            plan.fin(1);
        }
        _ => plan.rst(0),
    }
    perturb(&mut plan.segs, r);
    Script {
        plan,
        sport,
        counts,
    }
}

/// Swaps some neighbouring data segments of one direction (reordering) and repeats a few
/// (retransmissions with the same bytes).
fn perturb(segs: &mut Vec<Seg>, r: &mut Rng) {
    let mut i = 3;
    while i + 1 < segs.len() {
        let (a, b) = (segs[i], segs[i + 1]);
        if a.len > 0 && b.len > 0 && a.dir == b.dir && r.permille(30) {
            segs.swap(i, i + 1);
            i += 2;
            continue;
        }
        if a.len > 0 && r.permille(3) {
            let at = (i + 3).min(segs.len());
            segs.insert(at, a);
            i += 1;
        }
        i += 1;
    }
}
