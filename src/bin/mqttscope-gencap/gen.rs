//! The capture writer: schedules many generated connections and writes their frames as pcap.

use crate::script::{build, Rng, Script};
use crate::tcp::{frame, Ends};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
