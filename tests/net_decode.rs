//! Link/IP decode layer: handcrafted frames of every link type, fragments, and the public
//! captures cross-checked against tshark.

use mqttscope::capture::{Frame, LinkType, Ts};
use mqttscope::limits::Limits;
use mqttscope::net::{FragDrop, NetDecoder, NetOutcome, NonIp, TcpFlags};
use std::net::SocketAddr;

// ---------------------------------------------------------------------------------------------
// Frame builders (field by field; IPv4 RFC 791 3.1, IPv6 RFC 8200 3-4, TCP RFC 9293 3.1).
// ---------------------------------------------------------------------------------------------

const SRC4: [u8; 4] = [192, 168, 1, 10];
const DST4: [u8; 4] = [192, 168, 1, 20];
const SRC6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

/// A TCP header 40000 -> 1883 (data offset `words`, no options unless words > 5) + payload.
fn tcp(words: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = vec![
        0x9c,
        0x40, // source port 40000
        0x07,
        0x5b, // destination port 1883
        0x00,
        0x00,
        0x10,
        0x00, // sequence number 4096
        0x00,
        0x00,
        0x20,
        0x00, // acknowledgment number 8192
        words << 4,
        0x18, // data offset, flags PSH|ACK
        0xff,
        0xff, // window
        0x00,
        0x00,
        0x00,
        0x00, // checksum (not verified), urgent pointer
    ];
    t.resize(usize::from(words.max(5)) * 4, 0x01); // NOP options
    t.extend_from_slice(payload);
    t
}

/// An IPv4 header (no options) with `proto`, identification and flags/fragment field.
fn ipv4(proto: u8, id: u16, flags_frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut p = vec![0x45, 0x00];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags_frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]); // TTL, protocol, checksum
    p.extend_from_slice(&SRC4);
    p.extend_from_slice(&DST4);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 header with first next-header `nh` and `payload` (extension headers included).
fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[nh, 64]);
    p.extend_from_slice(&SRC6);
    p.extend_from_slice(&DST6);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 options extension header (hop-by-hop or destination options) of 8*(units+1) bytes.
fn ext(nh: u8, units: u8) -> Vec<u8> {
    let mut e = vec![nh, units];
    e.resize((usize::from(units) + 1) * 8, 0); // Pad1/PadN content is irrelevant here
    e
}

/// Ethernet II with VLAN tags (TPID, VID) in front of `ethertype`.
fn ethernet(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for &(tpid, vid) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked v1: packet type, ARPHRD_ETHER, address length 6, address, protocol.
fn sll(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked v2: protocol, reserved, interface index, ARPHRD, packet type, address.
fn sll2(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = protocol.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn frame(linktype: LinkType, data: &[u8]) -> Frame<'_> {
    Frame {
        ts: Ts::from_parts(1_700_000_000, 0),
        linktype,
        frame_no: 1,
        caplen: data.len() as u32,
        orig_len: data.len() as u32,
        data,
        owner: None,
    }
}

/// An owned view of an outcome, so tests can compare after the decoder borrow ends.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Tcp {
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        payload: Vec<u8>,
        missing: u32,
    },
    Other(String),
}

fn run(dec: &mut NetDecoder, f: &Frame<'_>) -> Out {
    match dec.decode(f) {
        NetOutcome::Tcp(s) => {
            assert_eq!(
                (s.ack, s.flags, s.frame_no),
                (8192, TcpFlags(0x18), f.frame_no)
            );
            Out::Tcp {
                src: s.src,
                dst: s.dst,
                seq: s.seq,
                payload: s.payload.to_vec(),
                missing: s.missing,
            }
        }
        other => Out::Other(other.to_string()),
    }
}

fn tcp4(payload: &[u8], missing: u32) -> Out {
    Out::Tcp {
        src: "192.168.1.10:40000".parse().unwrap(),
        dst: "192.168.1.20:1883".parse().unwrap(),
        seq: 4096,
        payload: payload.to_vec(),
        missing,
    }
}

fn tcp6(payload: &[u8]) -> Out {
    Out::Tcp {
        src: "[2001:db8::1]:40000".parse().unwrap(),
        dst: "[2001:db8::2]:1883".parse().unwrap(),
        seq: 4096,
        payload: payload.to_vec(),
        missing: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Link types
// ---------------------------------------------------------------------------------------------

#[test]
fn every_link_type_reaches_the_tcp_payload() {
    let v4 = ipv4(6, 1, 0x4000, &tcp(5, b"v4 payload"));
    let v6 = ipv6(6, &tcp(5, b"v6 payload"));
    let mut cases: Vec<(LinkType, Vec<u8>, bool)> = vec![
        (LinkType::ETHERNET, ethernet(&[], 0x0800, &v4), true),
        (LinkType::ETHERNET, ethernet(&[], 0x86dd, &v6), false),
        (LinkType::LINUX_SLL, sll(0x0800, &v4), true),
        (LinkType::LINUX_SLL, sll(0x86dd, &v6), false),
        (LinkType::LINUX_SLL2, sll2(0x0800, &v4), true),
        (LinkType::LINUX_SLL2, sll2(0x86dd, &v6), false),
        (LinkType::RAW, v4.clone(), true),
        (LinkType::RAW, v6.clone(), false),
        (LinkType::IPV4, v4.clone(), true),
        (LinkType::IPV6, v6.clone(), false),
    ];
    // NULL: host byte order, either way round; every system's AF_INET6 number.
    for le in [true, false] {
        let af = |n: u32| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        cases.push((LinkType::NULL, [&af(2)[..], &v4].concat(), true));
        for inet6 in [10, 24, 28, 30] {
            cases.push((LinkType::NULL, [&af(inet6)[..], &v6].concat(), false));
        }
    }
    cases.push((
        LinkType::LOOP,
        [&2u32.to_be_bytes()[..], &v4].concat(),
        true,
    ));
    cases.push((
        LinkType::LOOP,
        [&24u32.to_be_bytes()[..], &v6].concat(),
        false,
    ));

    let mut dec = NetDecoder::new(&Limits::default());
    for (lt, data, is_v4) in &cases {
        let want = if *is_v4 {
            tcp4(b"v4 payload", 0)
        } else {
            tcp6(b"v6 payload")
        };
        assert_eq!(run(&mut dec, &frame(*lt, data)), want, "{lt}");
    }
    let st = dec.stats();
    assert_eq!(st.frames, cases.len() as u64);
    assert_eq!(st.tcp_segments, cases.len() as u64);
    assert_eq!(st.frames_of(LinkType::NULL), 10);
    assert_eq!(st.frames_of(LinkType::ETHERNET), 2);
    assert_eq!(st.frames_of(LinkType::LINUX_SLL2), 2);
    assert_eq!(st.frames_of(LinkType::LOOP), 2);
    assert_eq!(st.tcp_payload_bytes, 10 * cases.len() as u64);
}

#[test]
fn vlan_and_qinq_tags_are_skipped() {
    let v4 = ipv4(6, 1, 0, &tcp(5, b"tagged"));
    let mut dec = NetDecoder::new(&Limits::default());
    for tags in [
        vec![(0x8100, 1008)],
        vec![(0x88a8, 100), (0x8100, 200)],
        vec![(0x9100, 1), (0x9100, 2), (0x8100, 3)],
    ] {
        let f = ethernet(&tags, 0x0800, &v4);
        assert_eq!(
            run(&mut dec, &frame(LinkType::ETHERNET, &f)),
            tcp4(b"tagged", 0)
        );
    }
    // A VLAN tag carrying ARP is counted as ARP.
    let arp = ethernet(&[(0x8100, 5)], 0x0806, &[0; 28]);
    assert_eq!(
        run(&mut dec, &frame(LinkType::ETHERNET, &arp)),
        Out::Other("not IP: ARP (ethertype 0x0806)".into())
    );
    assert_eq!(dec.stats().non_ip.get(&NonIp::EtherType(0x0806)), Some(&1));
}

#[test]
fn ipv6_extension_headers_are_skipped() {
    // Hop-by-hop (16 bytes) -> destination options (8 bytes) -> TCP.
    let mut payload = ext(60, 1);
    payload.extend(ext(6, 0));
    payload.extend(tcp(5, b"after ext"));
    let pkt = ipv6(0, &payload);
    let mut dec = NetDecoder::new(&Limits::default());
    assert_eq!(
        run(&mut dec, &frame(LinkType::IPV6, &pkt)),
        tcp6(b"after ext")
    );
    // An extension header longer than the payload is malformed, not a panic.
    let mut bad = ext(6, 200);
    bad.truncate(16);
    let pkt = ipv6(0, &bad);
    let Out::Other(msg) = run(&mut dec, &frame(LinkType::IPV6, &pkt)) else {
        panic!("expected malformed");
    };
    assert_eq!(
        msg,
        "malformed: the IPv6 extension header at offset 40 is cut short: \
         it needs 1608 bytes but only 16 are available"
    );
    // An atomic fragment header (offset 0, M = 0) is skipped like any other.
    let mut atomic = vec![6, 0, 0, 0, 0, 0, 0, 9];
    atomic.extend(tcp(5, b"atomic"));
    let pkt = ipv6(44, &atomic);
    assert_eq!(run(&mut dec, &frame(LinkType::IPV6, &pkt)), tcp6(b"atomic"));
}

#[test]
fn ethernet_padding_is_ignored() {
    // A bare ACK: 40 bytes of IP in a 60-byte minimum Ethernet frame.
    let mut f = ethernet(&[], 0x0800, &ipv4(6, 1, 0, &tcp(5, b"")));
    f.resize(60, 0xee);
    let mut dec = NetDecoder::new(&Limits::default());
    assert_eq!(run(&mut dec, &frame(LinkType::ETHERNET, &f)), tcp4(b"", 0));
}

#[test]
fn snaplen_cut_payload_is_reported_missing() {
    let payload: Vec<u8> = (0..200u8).collect();
    let full = ethernet(&[], 0x0800, &ipv4(6, 1, 0, &tcp(8, &payload)));
    let mut dec = NetDecoder::new(&Limits::default());
    // Snaplen 96: 14 Ethernet + 20 IP + 32 TCP leaves 30 payload bytes, 170 missing.
    let mut f = frame(LinkType::ETHERNET, &full[..96]);
    f.orig_len = full.len() as u32;
    assert_eq!(run(&mut dec, &f), tcp4(&payload[..30], 170));
    // Snaplen inside the TCP options: the whole payload is missing.
    let mut f = frame(LinkType::ETHERNET, &full[..60]);
    f.orig_len = full.len() as u32;
    assert_eq!(run(&mut dec, &f), tcp4(b"", 200));
    // Snaplen inside the fixed TCP header: malformed (cut) with evidence.
    let mut f = frame(LinkType::ETHERNET, &full[..44]);
    f.orig_len = full.len() as u32;
    assert_eq!(
        run(&mut dec, &f),
        Out::Other(
            "malformed: the TCP header at offset 34 is cut short: \
             it needs 20 bytes but only 10 are available"
                .into()
        )
    );
    // An IP length the original frame cannot hold is a lie, not a cut.
    let f = frame(LinkType::ETHERNET, &full[..96]);
    assert_eq!(
        run(&mut dec, &f),
        Out::Other(
            "malformed: the IPv4 header at offset 14 is cut short: \
             it needs 252 bytes but only 82 are available"
                .into()
        )
    );
    let st = dec.stats();
    assert_eq!(
        (st.snaplen_cut, st.tcp_missing_bytes, st.malformed),
        (3, 370, 2)
    );
}

#[test]
fn malformed_tcp_headers() {
    let mut dec = NetDecoder::new(&Limits::default());
    // Data offset 3 (< 5).
    let mut t = tcp(5, b"x");
    t[12] = 0x30;
    let pkt = ipv4(6, 1, 0, &t);
    assert_eq!(
        run(&mut dec, &frame(LinkType::IPV4, &pkt)),
        Out::Other(
            "malformed: the TCP header at offset 20 has data offset = 3, \
             expected at least 5 (32-bit words)"
                .into()
        )
    );
    // Data offset 15 (60 bytes) beyond a 21-byte segment.
    t[12] = 0xf0;
    let pkt = ipv4(6, 1, 0, &t);
    assert!(
        matches!(run(&mut dec, &frame(LinkType::IPV4, &pkt)), Out::Other(m) if m.contains("needs 60 bytes but only 21"))
    );
    // Every prefix of a valid Ethernet frame decodes to something without panicking.
    let full = ethernet(&[(0x8100, 7)], 0x0800, &ipv4(6, 1, 0, &tcp(6, b"abc")));
    for n in 0..full.len() {
        let _ = run(&mut dec, &frame(LinkType::ETHERNET, &full[..n]));
    }
    assert_eq!(dec.stats().malformed, 2 + full.len() as u64);
}

#[test]
fn udp_arp_and_unknown_links_are_counted_not_errors() {
    let mut dec = NetDecoder::new(&Limits::default());
    let udp = ethernet(&[], 0x0800, &ipv4(17, 1, 0, &[0; 12]));
    let icmp6 = ipv6(58, &[0; 8]);
    let arp = ethernet(&[], 0x0806, &[0; 28]);
    for _ in 0..3 {
        assert_eq!(
            run(&mut dec, &frame(LinkType::ETHERNET, &udp)),
            Out::Other("IP protocol 17, not TCP".into())
        );
    }
    assert_eq!(
        run(&mut dec, &frame(LinkType::IPV6, &icmp6)),
        Out::Other("IP protocol 58, not TCP".into())
    );
    assert_eq!(
        run(&mut dec, &frame(LinkType::ETHERNET, &arp)),
        Out::Other("not IP: ARP (ethertype 0x0806)".into())
    );
    assert_eq!(
        run(&mut dec, &frame(LinkType(147), &arp)),
        Out::Other("unsupported link type LINKTYPE_147".into())
    );
    assert_eq!(
        run(&mut dec, &frame(LinkType::NULL, &[7, 0, 0, 0, 1])),
        Out::Other("not IP: address family 7".into())
    );
    let st = dec.stats();
    assert_eq!((st.non_tcp(17), st.non_tcp(58), st.malformed), (3, 1, 0));
    assert_eq!(
        st.non_tcp_protocols().collect::<Vec<_>>(),
        vec![(17, 3), (58, 1)]
    );
    assert_eq!(st.unsupported_link.get(&147), Some(&1));
    assert_eq!(st.frames_of(LinkType(147)), 1);
    assert_eq!(st.non_ip.get(&NonIp::AddressFamily(7)), Some(&1));
    assert_eq!(
        st.link_frames(),
        vec![
            (LinkType::NULL, 1),
            (LinkType::ETHERNET, 4),
            (LinkType(147), 1),
            (LinkType::IPV6, 1)
        ]
    );
}

#[path = "net_decode/captures.rs"]
mod captures;
#[test]
fn frames_built_by_etherparse_decode_identically() {
    use etherparse::{LinuxSllPacketType, PacketBuilder, TcpOptionElement, VlanId};
    let payload = b"\x30\x0b\x00\x03a/bhello"; // an MQTT PUBLISH, for flavour
    let mut dec = NetDecoder::new(&Limits::default());

    // Ethernet + QinQ + IPv4 + TCP with MSS and timestamp options.
    let b = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
        .double_vlan(VlanId::try_new(10).unwrap(), VlanId::try_new(20).unwrap())
        .ipv4(SRC4, DST4, 64)
        .tcp(40000, 1883, 4096, 512)
        .psh()
        .ack(8192)
        .options(&[
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::Timestamp(1, 2),
        ])
        .unwrap();
    let mut f = Vec::new();
    b.write(&mut f, payload).unwrap();
    assert_eq!(
        run(&mut dec, &frame(LinkType::ETHERNET, &f)),
        tcp4(payload, 0)
    );

    // Linux cooked v1 + IPv6 + TCP.
    let b = PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 6, [2, 0, 0, 0, 0, 1, 0, 0])
        .ipv6(SRC6, DST6, 64)
        .tcp(40000, 1883, 4096, 512)
        .psh()
        .ack(8192);
    let mut f = Vec::new();
    b.write(&mut f, payload).unwrap();
    assert_eq!(
        run(&mut dec, &frame(LinkType::LINUX_SLL, &f)),
        tcp6(payload)
    );
}

#[path = "net_decode/fragments.rs"]
mod fragments;
#[path = "net_decode/robust.rs"]
mod robust;
