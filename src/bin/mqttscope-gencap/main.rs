//! mqttscope-gencap: writes a deterministic, realistic MQTT benchmark capture (classic pcap).
//!
//! Many concurrent connections over Ethernet/IPv4 and IPv6 to ports 1883 and 1884, speaking
//! MQTT 3.1, 3.1.1 and 5.0: refusals, subscriptions, QoS 0/1/2 flows, payloads up to 64 KiB
//! spanning many segments, a little reordering and retransmission, DISCONNECT, FIN and RST.
//! The same seed and size always give the same bytes.
//!
//! Usage: `mqttscope-gencap --size 1G [--seed N] [--concurrency K] -o FILE`

mod gen;
mod mqtt;
mod script;
mod tcp;

use gen::{generate, GenOptions};
use std::io::BufWriter;

/// Parses "100M", "1G", "512K" or a plain byte count.
fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1u64 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn usage() -> ! {
    eprintln!("usage: mqttscope-gencap --size SIZE[K|M|G] [--seed N] [--concurrency K] -o FILE");
    std::process::exit(2);
}

fn main() {
    let mut o = GenOptions {
        target_bytes: 100 << 20,
        seed: 1,
        concurrency: 256,
    };
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--size" => o.target_bytes = parse_size(&val()).unwrap_or_else(|| usage()),
            "--seed" => o.seed = val().parse().unwrap_or_else(|_| usage()),
            "--concurrency" => o.concurrency = val().parse().unwrap_or_else(|_| usage()),
            "-o" | "--out" => out = Some(val()),
            _ => usage(),
        }
    }
    let Some(path) = out else { usage() };
    let res = std::fs::File::create(&path).and_then(|f| {
        let mut w = BufWriter::with_capacity(1 << 20, f);
        generate(&mut w, &o)
    });
    match res {
        Ok(s) => println!(
            "{path}: {} bytes, {} frames, {} connections, {} MQTT packets, {} refused",
            s.bytes, s.frames, s.connections, s.mqtt_packets, s.refused
        ),
        Err(e) => {
            eprintln!("mqttscope-gencap: cannot write {path}: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gen::GenStats;
    use mqttscope::capture::{open_reader, FileOptions};
    use mqttscope::pipeline::Analyzer;
    use mqttscope::session::SessionConfig;
    use std::io;
    use std::sync::Arc;

    fn small(seed: u64) -> (Vec<u8>, GenStats) {
        let mut v = Vec::new();
        let o = GenOptions {
            target_bytes: 2 << 20,
            seed,
            concurrency: 32,
        };
        let s = generate(&mut v, &o).unwrap();
        (v, s)
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, sa) = small(7);
        let (b, _) = small(7);
        let (c, _) = small(8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(sa.bytes, a.len() as u64);
        assert!(sa.bytes >= 2 << 20 && sa.bytes < (2 << 20) + (1 << 18));
    }

    #[test]
    fn mqttscope_finds_every_generated_packet_without_gaps() {
        let (v, st) = small(3);
        let mut src = open_reader(
            Box::new(io::Cursor::new(v)),
            "gen",
            None,
            &FileOptions::default(),
        )
        .expect("generated capture opens");
        let cfg = SessionConfig {
            ports: vec![1883, 1884],
            ..SessionConfig::default()
        };
        let mut an = Analyzer::new(
            &mqttscope::limits::Limits::default(),
            cfg,
            Arc::new(mqttscope::mqtt::reason::Catalogue::builtin()),
        );
        let (mut packets, mut gaps, mut malformed, mut refused, mut frames) = (0, 0, 0, 0, 0);
        let mut count = |ev: mqttscope::event::Event| match &ev.kind {
            mqttscope::event::EventKind::Packet(p) => {
                packets += 1;
                malformed += u64::from(p.malformed.is_some());
                refused += u64::from(
                    p.ptype == mqttscope::mqtt::types::PacketType::CONNACK
                        && p.outcome >= mqttscope::event::Outcome::Failure,
                );
            }
            mqttscope::event::EventKind::Gap { .. } => gaps += 1,
            _ => {}
        };
        while let Some(f) = mqttscope::capture::FrameSource::next_frame(&mut src).unwrap() {
            frames += 1;
            an.frame(&f, &mut count);
        }
        an.finish(&mut count);
        assert_eq!(frames, st.frames);
        assert_eq!(packets, st.mqtt_packets);
        assert_eq!(refused, st.refused);
        assert_eq!(gaps, 0);
        assert_eq!(malformed, 0);
    }
}
