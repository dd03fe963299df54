//! The public captures decoded frame by frame and compared with tshark.
//!
//! A tiny pcap/pcapng reader lives here because the project's reader is written in parallel
//! and libpcap refuses pcapng files whose interfaces have different link types (plantprism).

use super::*;
use std::path::Path;

const DIR: &str = "/work/shared/captures-public";

/// One packet record of a capture file.
struct Record {
    linktype: u16,
    ts: Ts,
    orig_len: u32,
    data: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize, le: bool) -> u16 {
    let x = [b[at], b[at + 1]];
    if le {
        u16::from_le_bytes(x)
    } else {
        u16::from_be_bytes(x)
    }
}

fn u32_at(b: &[u8], at: usize, le: bool) -> u32 {
    let x = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if le {
        u32::from_le_bytes(x)
    } else {
        u32::from_be_bytes(x)
    }
}

/// Reads a whole pcap or pcapng file (sniffing the magic, not the extension).
fn read_capture(path: &Path) -> Vec<Record> {
    let b = std::fs::read(path).unwrap();
    match &b[..4] {
        [0x0a, 0x0d, 0x0d, 0x0a] => read_pcapng(&b),
        _ => read_pcap(&b),
    }
}

fn read_pcap(b: &[u8]) -> Vec<Record> {
    let (le, nanos) = match u32_at(b, 0, true) {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        m => panic!("not a pcap file: magic {m:08x}"),
    };
    let linktype = (u32_at(b, 20, le) & 0xffff) as u16;
    let mut out = Vec::new();
    let mut pos = 24;
    while pos + 16 <= b.len() {
        let secs = i64::from(u32_at(b, pos, le));
        let frac = u32_at(b, pos + 4, le);
        let incl = u32_at(b, pos + 8, le) as usize;
        let orig_len = u32_at(b, pos + 12, le);
        let data = b[pos + 16..pos + 16 + incl].to_vec();
        let nanos = if nanos { frac } else { frac * 1000 };
        out.push(Record {
            linktype,
            ts: Ts::from_parts(secs, nanos),
            orig_len,
            data,
        });
        pos += 16 + incl;
    }
    out
}

fn read_pcapng(b: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut le = true;
    // Per interface of the current section: link type and ticks per second.
    let mut ifaces: Vec<(u16, u64)> = Vec::new();
    let mut pos = 0;
    while pos + 12 <= b.len() {
        if b[pos..pos + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            le = u32_at(b, pos + 8, true) == 0x1a2b_3c4d;
            ifaces.clear();
        }
        let kind = u32_at(b, pos, le);
        let len = u32_at(b, pos + 4, le) as usize;
        let body = &b[pos + 8..pos + len - 4];
        match kind {
            1 => {
                let mut tps = 1_000_000u64;
                let mut o = 8;
                while o + 4 <= body.len() {
                    let (code, olen) = (u16_at(body, o, le), usize::from(u16_at(body, o + 2, le)));
                    if code == 0 {
                        break;
                    }
                    if code == 9 && olen >= 1 {
                        let r = body[o + 4];
                        tps = if r & 0x80 == 0 {
                            10u64.pow(u32::from(r))
                        } else {
                            1 << (r & 0x7f)
                        };
                    }
                    o += 4 + olen.div_ceil(4) * 4;
                }
                ifaces.push((u16_at(body, 0, le), tps));
            }
            2 | 6 => {
                let iface = if kind == 6 {
                    u32_at(body, 0, le) as usize
                } else {
                    usize::from(u16_at(body, 0, le))
                };
                let (linktype, tps) = ifaces[iface];
                let ticks = (u64::from(u32_at(body, 4, le)) << 32) | u64::from(u32_at(body, 8, le));
                let caplen = u32_at(body, 12, le) as usize;
                let orig_len = u32_at(body, 16, le);
                let secs = (ticks / tps) as i64;
                let nanos = ((ticks % tps) * 1_000_000_000 / tps) as u32;
                let data = body[20..20 + caplen].to_vec();
                out.push(Record {
                    linktype,
                    ts: Ts::from_parts(secs, nanos),
                    orig_len,
                    data,
                });
            }
            3 => {
                let orig_len = u32_at(body, 0, le);
                let caplen = (orig_len as usize).min(body.len() - 4);
                let data = body[4..4 + caplen].to_vec();
                out.push(Record {
                    linktype: ifaces[0].0,
                    ts: Ts(0),
                    orig_len,
                    data,
                });
            }
            _ => {}
        }
        pos += len;
    }
    out
}

/// What decoding a whole capture gave.
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    frames: u64,
    tcp_frames: u64,
    tcp_len: u64,
}

fn decode_file(name: &str) -> (Summary, NetDecoder) {
    let records = read_capture(&Path::new(DIR).join(name));
    let mut dec = NetDecoder::new(&Limits::default());
    let mut s = Summary {
        frames: 0,
        tcp_frames: 0,
        tcp_len: 0,
    };
    for (i, r) in records.iter().enumerate() {
        let f = Frame {
            ts: r.ts,
            linktype: LinkType(r.linktype),
            frame_no: i as u64 + 1,
            caplen: r.data.len() as u32,
            orig_len: r.orig_len,
            data: &r.data,
            owner: None,
        };
        s.frames += 1;
        if let NetOutcome::Tcp(seg) = dec.decode(&f) {
            s.tcp_frames += 1;
            s.tcp_len += seg.payload.len() as u64 + u64::from(seg.missing);
        }
    }
    (s, dec)
}

/// Per file: frames, `tshark -r FILE -Y tcp | wc -l`, and the sum of tshark's `tcp.len`
/// (`tshark -r FILE -Y tcp -T fields -e tcp.len`), taken once with TShark 4.0.17.
const TSHARK: [(&str, u64, u64, u64); 12] = [
    ("aiengine-ipv4_mqtt.pcap", 25, 25, 2509),
    ("arkime-mqtt_big.pcap", 51, 51, 38373),
    ("arkime-mqtt_synthetic.pcap", 63, 63, 8868),
    ("ndpi-coap_mqtt-2016.pcap", 8497, 7695, 246667),
    ("ndpi-coap_mqtt.pcap", 1082, 261, 5791),
    ("ndpi-mqtt.pcap", 9, 9, 875),
    ("peafowl-mqtt-1.pcapng", 19, 19, 231),
    (
        "plantprism-plantcube_20230617_20230618.pcapng",
        11600,
        11600,
        253444,
    ),
    ("presill-mqtt.pcap", 12, 12, 354),
    ("presill-mqtt_start.pcap", 48, 48, 1115),
    ("verimqtt-mqtt.pcapng", 48, 34, 154),
    ("zeek-mqtt.pcap", 19, 19, 231),
];

#[test]
fn tcp_frames_and_bytes_match_tshark() {
    for (name, frames, tcp_frames, tcp_len) in TSHARK {
        let (got, dec) = decode_file(name);
        assert_eq!(
            got,
            Summary {
                frames,
                tcp_frames,
                tcp_len
            },
            "{name}: {:?}",
            dec.stats()
        );
        assert_eq!(dec.stats().malformed, 0, "{name}");
        assert_eq!(dec.stats().frames, frames, "{name}");
    }
}

#[test]
fn non_tcp_traffic_is_counted_as_tshark_sees_it() {
    // tshark: 819 udp (CoAP over IPv6, Dropbox LAN sync over IPv4) and 2 arp frames.
    let (_, dec) = decode_file("ndpi-coap_mqtt.pcap");
    let st = dec.stats();
    assert_eq!(st.non_tcp(17), 819);
    assert_eq!(st.non_ip.get(&NonIp::EtherType(0x0806)), Some(&2));
    // tshark: 14 udp frames (mDNS over IPv4 and IPv6) on a NULL loopback capture.
    let (_, dec) = decode_file("verimqtt-mqtt.pcapng");
    assert_eq!(dec.stats().non_tcp(17), 14);
    assert_eq!(dec.stats().frames_of(LinkType::NULL), 48);
    // plantprism: Ethernet and Linux cooked v2 interfaces merged in one file.
    let (_, dec) = decode_file("plantprism-plantcube_20230617_20230618.pcapng");
    let links = dec.stats().link_frames();
    assert_eq!(links.iter().map(|l| l.1).sum::<u64>(), 11600);
    assert!(
        links.iter().any(|l| l.0 == LinkType::LINUX_SLL2 && l.1 > 0),
        "{links:?}"
    );
    // ndpi-mqtt: one frame sits behind an 802.1Q tag (VLAN 1008).
    let (s, _) = decode_file("ndpi-mqtt.pcap");
    assert_eq!(s.tcp_frames, 9);
}
