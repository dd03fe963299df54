//! mqttscope-gencap: writes a deterministic, realistic MQTT benchmark capture (classic pcap).
//!
//! Many concurrent connections over Ethernet/IPv4 and IPv6 to ports 1883 and 1884, speaking
//! MQTT 3.1, 3.1.1 and 5.0: refusals, subscriptions, QoS 0/1/2 flows, payloads up to 64 KiB
//! spanning many segments, a little reordering and retransmission, DISCONNECT, FIN and RST.
//! The same seed and size always give the same bytes.
//!
//! Usage: `mqttscope-gencap --size 1G [--seed N] [--concurrency K] -o FILE`

mod mqtt;
mod script;
mod tcp;

use script::{build, Rng, Script};
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tcp::{frame, Ends};

/// Options of one generation run.
#[derive(Clone, Debug)]
pub struct GenOptions {
    /// Stop starting connections once this many bytes were written.
    pub target_bytes: u64,
    /// Seed of the random generator.
    pub seed: u64,
    /// Connections in progress at once.
    pub concurrency: usize,
}

/// What was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    /// File size in bytes.
    pub bytes: u64,
    /// Frames.
    pub frames: u64,
    /// TCP connections.
    pub connections: u64,
    /// MQTT control packets.
    pub mqtt_packets: u64,
    /// Refused CONNACKs.
    pub refused: u64,
}

struct Active {
    script: Script,
    ends: Ends,
    next: usize,
}

fn ends_of(n: u64, sport: u16, v6: bool) -> Ends {
    let cport = 20_000 + (n % 40_000) as u16;
    if v6 {
        Ends {
            client: IpAddr::V6(Ipv6Addr::new(
                0xfd00,
                0,
                0,
                1,
                0,
                0,
                (n >> 16) as u16,
                n as u16,
            )),
            cport,
            server: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            sport,
        }
    } else {
        Ends {
            client: IpAddr::V4(Ipv4Addr::new(
                10,
                1 + ((n >> 16) & 0x7f) as u8,
                (n >> 8) as u8,
                n as u8,
            )),
            cport,
            server: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            sport,
        }
    }
}

/// Writes the capture to `w` and returns what it holds.
pub fn generate(w: &mut dyn Write, o: &GenOptions) -> io::Result<GenStats> {
    let mut st = GenStats::default();
    let mut r = Rng(o.seed);
    // pcap file header (microsecond timestamps), snaplen 262144, LINKTYPE_ETHERNET.
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    w.write_all(&hdr)?;
    st.bytes = 24;
    let mut active: Vec<Active> = Vec::with_capacity(o.concurrency);
    let mut ts_us: u64 = 1_704_067_200_000_000;
    let mut buf = Vec::with_capacity(2048);
    let mut ip_id: u16 = 0;
    // Bytes of every connection started so far, so the file ends close to the target size.
    let mut planned: u64 = 24;
    loop {
        while planned < o.target_bytes && active.len() < o.concurrency.max(1) {
            let n = st.connections;
            let script = build(n, &mut r);
            let v6 = r.permille(100);
            let ip = if v6 { 40 } else { 20 };
            planned += script
                .plan
                .segs
                .iter()
                .map(|s| 16 + 14 + ip + 20 + u64::from(s.len))
                .sum::<u64>();
            st.connections += 1;
            st.mqtt_packets += script.counts.packets;
            st.refused += script.counts.refused;
            let ends = ends_of(n, script.sport, v6);
            active.push(Active {
                script,
                ends,
                next: 0,
            });
        }
        if active.is_empty() {
            break;
        }
        let i = (r.next() % active.len() as u64) as usize;
        let burst = r.range(1, 4);
        let a = &mut active[i];
        for _ in 0..burst {
            let Some(seg) = a.script.plan.segs.get(a.next).copied() else {
                break;
            };
            a.next += 1;
            let s = &a.script.plan.streams[seg.dir as usize];
            let payload = &s[seg.start as usize..(seg.start + seg.len) as usize];
            buf.clear();
            ip_id = ip_id.wrapping_add(1);
            frame(&mut buf, &a.ends, &seg, payload, ip_id);
            ts_us += r.range(1, 40);
            let mut rec = [0u8; 16];
            rec[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
            rec[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
            rec[8..12].copy_from_slice(&(buf.len() as u32).to_le_bytes());
            rec[12..16].copy_from_slice(&(buf.len() as u32).to_le_bytes());
            w.write_all(&rec)?;
            w.write_all(&buf)?;
            st.bytes += 16 + buf.len() as u64;
            st.frames += 1;
        }
        if a.next >= a.script.plan.segs.len() {
            active.swap_remove(i);
        }
    }
    w.flush()?;
    Ok(st)
}

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
    use mqttscope::capture::{open_reader, FileOptions};
    use mqttscope::pipeline::Analyzer;
    use mqttscope::session::SessionConfig;
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
