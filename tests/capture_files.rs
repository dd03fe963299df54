//! Capture file reading: handcrafted pcap/pcapng variants, damage, keep-going, BPF filters on
//! files, the public captures cross-checked against tshark, and the pcapng writer round trip.

use std::io::{Cursor, Read};
use std::path::Path;

use mqttscope::capture::writer::{create_file, PcapngWriter};
use mqttscope::capture::{
    open_file, open_reader, CaptureError, FileOptions, FileSource, Frame, FrameSource, LinkType, Ts,
};

const PUBLIC: &str = "/work/shared/captures-public";

/// An owned copy of a frame, for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owned {
    ts: Ts,
    linktype: LinkType,
    frame_no: u64,
    orig_len: u32,
    data: Vec<u8>,
}

impl Owned {
    fn of(f: &Frame<'_>) -> Owned {
        assert_eq!(
            f.caplen as usize,
            f.data.len(),
            "caplen must equal data.len()"
        );
        Owned {
            ts: f.ts,
            linktype: f.linktype,
            frame_no: f.frame_no,
            orig_len: f.orig_len,
            data: f.data.to_vec(),
        }
    }
}

fn open_bytes(bytes: &[u8], opts: &FileOptions) -> Result<FileSource, CaptureError> {
    open_reader(Box::new(Cursor::new(bytes.to_vec())), "test", None, opts)
}

/// Every frame until the end or the first error (never more than `limit` calls).
fn drain(src: &mut FileSource) -> (Vec<Owned>, Option<CaptureError>) {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        match src.next_frame() {
            Ok(Some(f)) => out.push(Owned::of(&f)),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
    panic!("the source never ended");
}

fn read_all(bytes: &[u8]) -> (Vec<Owned>, Option<CaptureError>) {
    match open_bytes(bytes, &FileOptions::default()) {
        Ok(mut src) => drain(&mut src),
        Err(e) => (Vec::new(), Some(e)),
    }
}

/// Asserts that the bytes are a valid capture with no frames.
fn assert_empty(bytes: &[u8]) {
    let (frames, err) = read_all(bytes);
    assert!(frames.is_empty() && err.is_none(), "{frames:?} {err:?}");
}

fn damaged_offset(e: &Option<CaptureError>) -> (u64, bool) {
    match e {
        Some(CaptureError::Damaged {
            offset, resumable, ..
        }) => (*offset, *resumable),
        other => panic!("expected Damaged, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Builders. Classic pcap: 24-byte header (magic, 2.4, reserved, snaplen, link type), then per
// record 16 bytes (seconds, fraction, caplen, orig_len) and the data.

#[derive(Clone, Copy)]
struct PcapKind {
    big: bool,
    nanos: bool,
}

fn put32(v: &mut Vec<u8>, big: bool, x: u32) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}

fn put16(v: &mut Vec<u8>, big: bool, x: u16) {
    v.extend_from_slice(&if big {
        x.to_be_bytes()
    } else {
        x.to_le_bytes()
    });
}

fn pcap_file(k: PcapKind, linktype: u32, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let mut v = Vec::new();
    put32(
        &mut v,
        k.big,
        if k.nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 },
    );
    put16(&mut v, k.big, 2);
    put16(&mut v, k.big, 4);
    put32(&mut v, k.big, 0);
    put32(&mut v, k.big, 0);
    put32(&mut v, k.big, 65535);
    put32(&mut v, k.big, linktype);
    for &(secs, frac, data, orig) in records {
        put32(&mut v, k.big, secs);
        put32(&mut v, k.big, frac);
        put32(&mut v, k.big, data.len() as u32);
        put32(&mut v, k.big, orig);
        v.extend_from_slice(data);
    }
    v
}

/// A pcapng block: type, total length, body padded to 4, total length.
fn block(big: bool, btype: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut v = Vec::new();
    put32(&mut v, big, btype);
    put32(&mut v, big, total);
    v.extend_from_slice(body);
    v.resize(8 + padded, 0);
    put32(&mut v, big, total);
    v
}

fn shb(big: bool) -> Vec<u8> {
    let mut b = Vec::new();
    put32(&mut b, big, 0x1A2B_3C4D);
    put16(&mut b, big, 1);
    put16(&mut b, big, 0);
    b.extend_from_slice(&[0xFF; 8]); // section length unknown
    block(big, 0x0A0D_0D0A, &b)
}

/// An IDB with optional if_tsresol and if_tsoffset options.
fn idb(big: bool, linktype: u16, tsresol: Option<u8>, tsoffset: Option<u64>) -> Vec<u8> {
    let mut b = Vec::new();
    put16(&mut b, big, linktype);
    put16(&mut b, big, 0);
    put32(&mut b, big, 65535);
    put16(&mut b, big, 2); // if_name, to check unknown options are skipped
    put16(&mut b, big, 3);
    b.extend_from_slice(b"lo\0\0");
    if let Some(r) = tsresol {
        put16(&mut b, big, 9);
        put16(&mut b, big, 1);
        b.extend_from_slice(&[r, 0, 0, 0]);
    }
    if let Some(o) = tsoffset {
        put16(&mut b, big, 14);
        put16(&mut b, big, 8);
        b.extend_from_slice(&if big {
            o.to_be_bytes()
        } else {
            o.to_le_bytes()
        });
    }
    put32(&mut b, big, 0); // opt_endofopt
    block(big, 1, &b)
}

fn epb(big: bool, iface: u32, units: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut b = Vec::new();
    put32(&mut b, big, iface);
    put32(&mut b, big, (units >> 32) as u32);
    put32(&mut b, big, units as u32);
    put32(&mut b, big, data.len() as u32);
    put32(&mut b, big, orig);
    b.extend_from_slice(data);
    block(big, 6, &b)
}

fn spb(big: bool, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put32(&mut b, big, data.len() as u32);
    b.extend_from_slice(data);
    block(big, 3, &b)
}

fn obsolete_pb(big: bool, iface: u16, units: u64, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    put16(&mut b, big, iface);
    put16(&mut b, big, 0); // drops
    put32(&mut b, big, (units >> 32) as u32);
    put32(&mut b, big, units as u32);
    put32(&mut b, big, data.len() as u32);
    put32(&mut b, big, data.len() as u32);
    b.extend_from_slice(data);
    block(big, 2, &b)
}

/// Name Resolution and Interface Statistics blocks, which the reader must skip.
fn other_blocks(big: bool) -> Vec<u8> {
    let mut v = block(big, 4, &[0, 0, 0, 0]);
    v.extend(block(big, 5, &[0; 12]));
    v
}

/// A pcapng section with three interfaces of different link types and resolutions, every
/// packet block kind, and skipped blocks; `base` shifts the timestamps of the section.
fn pcapng_section(big: bool, base: u64) -> Vec<u8> {
    let mut v = shb(big);
    v.extend(idb(big, 1, None, None)); // Ethernet, default µs
    v.extend(idb(big, 101, Some(9), Some(100))); // raw IP, ns, +100 s
    v.extend(idb(big, 276, Some(0x80 | 20), None)); // SLL2, 2^-20 s
    v.extend(other_blocks(big));
    v.extend(epb(big, 0, base * 1_000_000 + 250, b"eth-frame", 60));
    v.extend(epb(big, 1, base * 1_000_000_000 + 7, b"raw-ip", 6));
    v.extend(epb(big, 2, (base << 20) | (1 << 19), b"sll2", 4));
    v.extend(spb(big, b"simple!"));
    v.extend(obsolete_pb(big, 1, base * 1_000_000_000 + 9, b"old"));
    v
}

fn expected_section(base: i64, first_no: u64) -> Vec<Owned> {
    let s = base * 1_000_000_000;
    let o = |i: u64, ts: i64, lt: u16, data: &[u8], orig: u32| Owned {
        ts: Ts(ts),
        linktype: LinkType(lt),
        frame_no: first_no + i,
        orig_len: orig,
        data: data.to_vec(),
    };
    vec![
        o(0, s + 250_000, 1, b"eth-frame", 60),
        o(1, s + 100_000_000_000 + 7, 101, b"raw-ip", 6),
        o(2, s + 500_000_000, 276, b"sll2", 4),
        // A Simple Packet Block has no timestamp: it gets the previous packet's.
        o(3, s + 500_000_000, 1, b"simple!", 7),
        o(4, s + 100_000_000_000 + 9, 101, b"old", 3),
    ]
}

// ---------------------------------------------------------------------------------------------
// Handcrafted formats.

#[test]
fn classic_pcap_in_all_four_variants() {
    for (big, nanos) in [(false, false), (true, false), (false, true), (true, true)] {
        let k = PcapKind { big, nanos };
        let recs: [(u32, u32, &[u8], u32); 3] = [
            (1_600_000_000, 123, b"first", 5),
            (1_600_000_001, 999_999, b"second-cut", 1500),
            (1_600_000_002, 0, b"", 0),
        ];
        let (frames, err) = read_all(&pcap_file(k, 228, &recs));
        assert!(err.is_none(), "{err:?}");
        let mult = if nanos { 1 } else { 1000 };
        assert_eq!(frames.len(), 3, "big={big} nanos={nanos}");
        for (i, (f, r)) in frames.iter().zip(recs.iter()).enumerate() {
            assert_eq!(f.frame_no, i as u64 + 1);
            assert_eq!(
                f.ts,
                Ts(i64::from(r.0) * 1_000_000_000 + i64::from(r.1) * mult)
            );
            assert_eq!(f.linktype, LinkType::IPV4);
            assert_eq!(f.data, r.2);
            assert_eq!(f.orig_len, r.3);
        }
    }
}

#[test]
fn pcapng_both_byte_orders_several_interfaces_and_sections() {
    for big in [false, true] {
        let mut file = pcapng_section(big, 1000);
        // A second section in the other byte order: interfaces start again from 0.
        file.extend(pcapng_section(!big, 2000));
        let (frames, err) = read_all(&file);
        assert!(err.is_none(), "{err:?}");
        let mut want = expected_section(1000, 1);
        want.extend(expected_section(2000, 6));
        assert_eq!(frames, want, "big={big}");
    }
}

#[test]
fn empty_header_only_and_unknown_files() {
    assert_empty(&[]);
    let header_only = pcap_file(
        PcapKind {
            big: false,
            nanos: false,
        },
        1,
        &[],
    );
    assert_empty(&header_only);
    assert_empty(&shb(true));
    let mut src = open_bytes(&[], &FileOptions::default()).unwrap();
    assert_eq!(src.format_name(), "empty");
    assert!(src.next_frame().unwrap().is_none());
    match open_bytes(b"GET / HTTP/1.1\r\n", &FileOptions::default()) {
        Err(CaptureError::UnknownFormat { magic, .. }) => assert_eq!(&magic, b"GET "),
        other => panic!("expected UnknownFormat, got {:?}", other.err()),
    }
}

#[test]
fn every_prefix_of_a_valid_file_is_safe() {
    let pcap = pcap_file(
        PcapKind {
            big: true,
            nanos: false,
        },
        1,
        &[
            (1, 1, b"abcdef", 6),
            (2, 2, b"g", 1),
            (3, 3, b"hijklmnopq", 10),
        ],
    );
    let mut ng = pcapng_section(false, 5);
    ng.extend(pcapng_section(true, 6));
    for file in [pcap, ng] {
        let (full, err) = read_all(&file);
        assert!(err.is_none());
        for len in 0..=file.len() {
            let (frames, err) = read_all(&file[..len]);
            assert!(frames.len() <= full.len());
            assert_eq!(frames[..], full[..frames.len()], "prefix {len}");
            if let Some(e) = &err {
                let (offset, _) = damaged_offset(&err);
                assert!(offset < len as u64, "prefix {len}: {e}");
            }
            if len == file.len() {
                assert_eq!(frames.len(), full.len());
            }
        }
    }
}

#[test]
fn truncated_last_record_reports_its_offset() {
    let k = PcapKind {
        big: false,
        nanos: false,
    };
    let file = pcap_file(k, 1, &[(1, 0, b"aaaa", 4), (2, 0, b"bbbbbbbb", 8)]);
    let cut = &file[..file.len() - 3];
    let (frames, err) = read_all(cut);
    assert_eq!(frames.len(), 1);
    assert_eq!(damaged_offset(&err), (24 + 16 + 4, false));
    let msg = err.unwrap().to_string();
    assert!(
        msg.contains("byte offset 44") && msg.contains("24 bytes"),
        "{msg}"
    );
}

#[test]
fn absurd_lengths_are_damage() {
    // pcap: a caplen of 100 MB.
    let k = PcapKind {
        big: false,
        nanos: true,
    };
    let mut file = pcap_file(k, 1, &[(1, 0, b"ok", 2), (2, 0, b"xx", 2)]);
    let at = 24 + 18 + 8;
    file[at..at + 4].copy_from_slice(&100_000_000u32.to_le_bytes());
    let (frames, err) = read_all(&file);
    assert_eq!(frames.len(), 1);
    assert_eq!(damaged_offset(&err), (42, true));

    // pcapng: a block length that is not a multiple of 4, one too large, one below the
    // minimum, and a trailing length different from the leading one.
    let mut ng = shb(false);
    ng.extend(idb(false, 1, None, None));
    let good = ng.len();
    ng.extend(epb(false, 0, 1, b"data", 4));
    for (patch_at, value) in [(4, 33u32), (4, 1 << 30), (4, 8), (32, 40)] {
        let mut bad = ng.clone();
        bad[good + patch_at..good + patch_at + 4].copy_from_slice(&value.to_le_bytes());
        let (frames, err) = read_all(&bad);
        assert!(frames.is_empty());
        assert_eq!(damaged_offset(&err), (good as u64, true), "length {value}");
    }
    // An EPB whose caplen (5, then 100) exceeds the 4 data bytes its block has room for.
    for caplen in [5u32, 100] {
        let mut bad = ng.clone();
        bad[good + 20..good + 24].copy_from_slice(&caplen.to_le_bytes());
        let (frames, err) = read_all(&bad);
        assert!(frames.is_empty());
        assert_eq!(damaged_offset(&err), (good as u64, true), "caplen {caplen}");
        assert!(err.unwrap().to_string().contains("room for 4"));
    }
}

#[test]
fn unknown_interface_is_damage_and_keep_going_skips_the_block() {
    let mut ng = shb(false);
    ng.extend(idb(false, 1, Some(9), None));
    ng.extend(epb(false, 0, 10, b"one", 3));
    let bad_at = ng.len() as u64;
    ng.extend(epb(false, 7, 20, b"two", 3));
    ng.extend(epb(false, 0, 30, b"three", 5));
    let (frames, err) = read_all(&ng);
    assert_eq!(frames.len(), 1);
    assert_eq!(damaged_offset(&err), (bad_at, true));
    let msg = err.unwrap().to_string();
    assert!(
        msg.contains("interface 7") && msg.contains("describes 1"),
        "{msg}"
    );

    let opts = FileOptions {
        keep_going: true,
        ..FileOptions::default()
    };
    let mut src = open_bytes(&ng, &opts).unwrap();
    let (first, err) = drain(&mut src);
    assert_eq!((first.len(), damaged_offset(&err)), (1, (bad_at, true)));
    let (rest, err) = drain(&mut src);
    assert!(err.is_none());
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0].data.as_slice(), rest[0].ts),
        (&b"three"[..], Ts(30))
    );
    assert_eq!(src.skipped_bytes(), 36);
}

#[test]
fn keep_going_resynchronises_classic_pcap() {
    let k = PcapKind {
        big: true,
        nanos: false,
    };
    let recs: Vec<(u32, u32, &[u8], u32)> = vec![
        (1_600_000_000, 1, b"first record", 12),
        (1_600_000_001, 2, b"corrupt record payload", 22),
        (1_600_000_002, 3, b"third", 5),
        (1_600_000_003, 4, b"fourth", 6),
    ];
    let mut file = pcap_file(k, 1, &recs);
    let bad_at = 24 + 16 + 12;
    file[bad_at + 8..bad_at + 12].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());

    // Without keep_going: the error, then the end.
    let mut src = open_bytes(&file, &FileOptions::default()).unwrap();
    let (frames, err) = drain(&mut src);
    assert_eq!(
        (frames.len(), damaged_offset(&err)),
        (1, (bad_at as u64, true))
    );
    assert!(src.next_frame().unwrap().is_none());

    let opts = FileOptions {
        keep_going: true,
        ..FileOptions::default()
    };
    // Once from memory, once through a 7-bytes-per-read pipe with 16-byte chunks, so that the
    // scan has to ask for more bytes while deciding.
    let tiny = FileOptions {
        buffer_size: 16,
        ..opts.clone()
    };
    let pipe = || Box::new(Pipe(Cursor::new(file.clone())));
    for mut src in [
        open_bytes(&file, &opts).unwrap(),
        open_reader(pipe(), "-", None, &tiny).unwrap(),
    ] {
        let (frames, err) = drain(&mut src);
        assert_eq!(frames.len(), 1);
        assert!(err.is_some());
        let (rest, err) = drain(&mut src);
        assert!(err.is_none(), "{err:?}");
        let data: Vec<&[u8]> = rest.iter().map(|f| f.data.as_slice()).collect();
        assert_eq!(data, vec![&b"third"[..], &b"fourth"[..]]);
        assert_eq!(rest[0].frame_no, 2);
        assert_eq!(src.skipped_bytes(), 16 + 22);
    }
}

#[test]
fn sources_can_move_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<FileSource>();
    assert_send::<mqttscope::capture::LiveSource>();
    assert_send::<PcapngWriter<Vec<u8>>>();
}

#[test]
fn keep_going_resynchronises_pcapng_after_a_broken_length() {
    let mut ng = shb(true);
    ng.extend(idb(true, 1, None, None));
    ng.extend(epb(true, 0, 1, b"alpha", 5));
    let bad_at = ng.len();
    ng.extend(epb(true, 0, 2, b"bravo-bravo", 11));
    ng.extend(epb(true, 0, 3, b"charlie", 7));
    ng.extend(shb(false));
    ng.extend(idb(false, 228, None, None));
    ng.extend(epb(false, 0, 4, b"delta", 5));
    // Break the trailing length of the "bravo" block.
    let trail = bad_at + 28 + 12;
    ng[trail..trail + 4].copy_from_slice(&[0, 0, 0, 1]);
    let opts = FileOptions {
        keep_going: true,
        ..FileOptions::default()
    };
    let mut src = open_bytes(&ng, &opts).unwrap();
    let (frames, err) = drain(&mut src);
    assert_eq!(frames.len(), 1);
    assert_eq!(damaged_offset(&err), (bad_at as u64, true));
    let (rest, err) = drain(&mut src);
    assert!(err.is_none(), "{err:?}");
    let got: Vec<(&[u8], LinkType)> = rest.iter().map(|f| (&f.data[..], f.linktype)).collect();
    assert_eq!(
        got,
        vec![
            (&b"charlie"[..], LinkType::ETHERNET),
            (&b"delta"[..], LinkType::IPV4)
        ]
    );
}

/// A reader that returns at most 7 bytes per call and has no known size, like a pipe.
struct Pipe(Cursor<Vec<u8>>);

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

#[test]
fn stdin_like_reader_with_tiny_buffer_and_large_record() {
    let big = vec![0xAB; 100_000];
    let k = PcapKind {
        big: false,
        nanos: false,
    };
    let file = pcap_file(
        k,
        1,
        &[(1, 0, b"small", 5), (2, 0, &big, 100_000), (3, 0, b"x", 1)],
    );
    let opts = FileOptions {
        buffer_size: 64,
        ..FileOptions::default()
    };
    let mut src = open_reader(Box::new(Pipe(Cursor::new(file.clone()))), "-", None, &opts).unwrap();
    assert_eq!(src.describe(), "standard input");
    assert_eq!(src.progress(), None);
    let (frames, err) = drain(&mut src);
    assert!(err.is_none());
    assert_eq!(frames, read_all(&file).0);
    assert_eq!(frames[1].data, big);
    let s = src.stats();
    assert_eq!((s.frames, s.bytes, s.filtered), (3, 100_006, 0));
}

// ---------------------------------------------------------------------------------------------
// Public captures, checked against tshark 4.0.17:
//   tshark -r FILE -T fields -e frame.number -e frame.time_epoch   (count, first, last)
//   tshark -r FILE -T fields -e frame.cap_len                      (summed)
//   tcpdump -r FILE 'tcp port 1883' | wc -l                        (BPF count)

/// (file, frames, first ts ns, last ts ns, captured bytes, frames matching "tcp port 1883").
const PUBLIC_FILES: [(&str, u64, i64, i64, u64, u64); 12] = [
    (
        "aiengine-ipv4_mqtt.pcap",
        25,
        1396636291530923000,
        1396636291715437000,
        3920,
        25,
    ),
    (
        "arkime-mqtt_big.pcap",
        51,
        1769778000000000000,
        1769778050000000000,
        41127,
        51,
    ),
    (
        "arkime-mqtt_synthetic.pcap",
        63,
        1700000000000000000,
        1700000100400000000,
        11388,
        63,
    ),
    (
        "ndpi-coap_mqtt-2016.pcap",
        8497,
        1455907243976582000,
        1455907286855601000,
        749069,
        0,
    ),
    (
        "ndpi-coap_mqtt.pcap",
        1082,
        1333957710293035000,
        1455907286608960000,
        102603,
        0,
    ),
    (
        "ndpi-mqtt.pcap",
        9,
        1643014009283854000,
        1643014349216221000,
        1481,
        8,
    ),
    (
        "presill-mqtt.pcap",
        12,
        1494359794999270000,
        1494359805007370000,
        1026,
        0,
    ),
    (
        "presill-mqtt_start.pcap",
        48,
        1494375706244586000,
        1494375751290595000,
        3827,
        0,
    ),
    (
        "zeek-mqtt.pcap",
        19,
        1461170590509491000,
        1461170618150093000,
        1485,
        19,
    ),
    (
        "peafowl-mqtt-1.pcapng",
        19,
        1461170590509491000,
        1461170618150093000,
        1485,
        19,
    ),
    (
        "plantprism-plantcube_20230617_20230618.pcapng",
        11600,
        1687010954941769000,
        1687086755093607000,
        1088660,
        0,
    ),
    (
        "verimqtt-mqtt.pcapng",
        48,
        1570680226233779000,
        1570680241252180000,
        8402,
        34,
    ),
];

fn read_path(path: &str, opts: &FileOptions) -> (Vec<Owned>, FileSource) {
    let mut src = open_file(path, opts).unwrap_or_else(|e| panic!("{e}"));
    let (frames, err) = drain(&mut src);
    if let Some(e) = err {
        panic!("{path}: {e}");
    }
    (frames, src)
}

#[test]
fn public_captures_match_tshark() {
    for (name, count, first, last, bytes, _) in PUBLIC_FILES {
        let path = format!("{PUBLIC}/{name}");
        let (frames, src) = read_path(&path, &FileOptions::default());
        assert_eq!(frames.len() as u64, count, "{name}");
        assert_eq!(frames.first().map(|f| f.ts), Some(Ts(first)), "{name}");
        assert_eq!(frames.last().map(|f| f.ts), Some(Ts(last)), "{name}");
        assert_eq!(
            frames.iter().map(|f| f.data.len() as u64).sum::<u64>(),
            bytes
        );
        assert_eq!(src.stats().bytes, bytes, "{name}");
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(src.progress(), Some((size, size)), "{name}");
        assert!(frames
            .iter()
            .enumerate()
            .all(|(i, f)| f.frame_no == i as u64 + 1));
    }
}

#[test]
fn pcap_and_pcapng_copies_give_identical_frames() {
    let (a, _) = read_path(&format!("{PUBLIC}/zeek-mqtt.pcap"), &FileOptions::default());
    let (b, _) = read_path(
        &format!("{PUBLIC}/peafowl-mqtt-1.pcapng"),
        &FileOptions::default(),
    );
    assert_eq!(a, b);
}

#[test]
fn small_buffer_gives_the_same_frames() {
    let path = format!("{PUBLIC}/plantprism-plantcube_20230617_20230618.pcapng");
    let (a, _) = read_path(&path, &FileOptions::default());
    let small = FileOptions {
        buffer_size: 100,
        ..FileOptions::default()
    };
    let (b, _) = read_path(&path, &small);
    assert_eq!(a, b);
    assert!(a.iter().all(|f| f.linktype == LinkType::LINUX_SLL2));
}

#[test]
fn bpf_filter_on_files_matches_tcpdump() {
    let mut cases: Vec<(String, &str, u64)> = PUBLIC_FILES
        .iter()
        .map(|f| (f.0.to_string(), "tcp port 1883", f.5))
        .collect();
    // tcpdump -r ndpi-coap_mqtt-2016.pcap 'tcp port 17501' | wc -l
    cases.push(("ndpi-coap_mqtt-2016.pcap".into(), "tcp port 17501", 7695));
    // tcpdump -r presill-mqtt_start.pcap 'tcp port 1337' | wc -l
    cases.push(("presill-mqtt_start.pcap".into(), "tcp port 1337", 48));
    // libpcap cannot read this file (it mixes link types); tshark -Y 'tcp.port==8884' | wc -l
    cases.push((
        "plantprism-plantcube_20230617_20230618.pcapng".into(),
        "tcp port 8884",
        11600,
    ));
    for (name, filter, want) in cases {
        let total = PUBLIC_FILES.iter().find(|f| f.0 == name).unwrap().1;
        let opts = FileOptions {
            filter: Some(filter.to_string()),
            ..FileOptions::default()
        };
        let (frames, src) = read_path(&format!("{PUBLIC}/{name}"), &opts);
        assert_eq!(frames.len() as u64, want, "{name} with {filter}");
        assert_eq!(src.stats().filtered, total - want, "{name}");
        // Frame numbers stay those of the whole file.
        assert!(frames
            .iter()
            .all(|f| f.frame_no >= 1 && f.frame_no <= total));
    }
}

#[test]
fn invalid_filter_is_a_filter_error() {
    let opts = FileOptions {
        filter: Some("tcp prot 1883".into()),
        ..FileOptions::default()
    };
    match open_file(&format!("{PUBLIC}/zeek-mqtt.pcap"), &opts) {
        Err(CaptureError::Filter { filter, .. }) => assert_eq!(filter, "tcp prot 1883"),
        other => panic!("expected a filter error, got {:?}", other.err()),
    }
}

#[test]
fn missing_file_is_an_io_error() {
    match open_file("/nonexistent/x.pcap", &FileOptions::default()) {
        Err(CaptureError::Io { path, .. }) => assert_eq!(path, "/nonexistent/x.pcap"),
        other => panic!("expected an I/O error, got {:?}", other.err()),
    }
}

// ---------------------------------------------------------------------------------------------
// Writer.

fn write_all(frames: &[Owned]) -> Vec<u8> {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    for f in frames {
        let frame = Frame {
            ts: f.ts,
            linktype: f.linktype,
            frame_no: f.frame_no,
            caplen: f.data.len() as u32,
            orig_len: f.orig_len,
            data: &f.data,
            owner: None,
        };
        w.write_frame(&frame).unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn writer_round_trip_handcrafted_and_public() {
    let mut frames = expected_section(1000, 1);
    frames.extend(expected_section(2000, 6));
    let (back, err) = read_all(&write_all(&frames));
    assert!(err.is_none());
    assert_eq!(back, frames);
    for name in [
        "plantprism-plantcube_20230617_20230618.pcapng",
        "verimqtt-mqtt.pcapng",
    ] {
        let (frames, _) = read_path(&format!("{PUBLIC}/{name}"), &FileOptions::default());
        let (back, err) = read_all(&write_all(&frames));
        assert!(err.is_none());
        assert_eq!(back, frames, "{name}");
    }
}

#[test]
fn written_file_is_accepted_by_tshark() {
    let (frames, _) = read_path(&format!("{PUBLIC}/ndpi-mqtt.pcap"), &FileOptions::default());
    let dir = std::env::temp_dir().join(format!("mqttscope-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("written.pcapng");
    let out_s = out.to_str().unwrap();
    let mut w = create_file(out_s).unwrap();
    for f in &frames {
        let frame = Frame {
            ts: f.ts,
            linktype: f.linktype,
            frame_no: f.frame_no,
            caplen: f.data.len() as u32,
            orig_len: f.orig_len,
            data: &f.data,
            owner: None,
        };
        w.write_frame(&frame).unwrap();
    }
    drop(w.finish().unwrap());
    let (back, _) = read_path(out_s, &FileOptions::default());
    assert_eq!(back, frames);

    if which("tshark").is_none() {
        eprintln!("tshark is not installed: the tshark acceptance check is skipped");
    } else {
        let o = std::process::Command::new("tshark")
            .args([
                "-r",
                out_s,
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), frames.len());
        let first = format!("1643014009.283854000\t{}", frames[0].orig_len);
        assert_eq!(lines[0], first);
        assert!(lines[frames.len() - 1].starts_with("1643014349.216221000\t"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.exists())
}

// ---------------------------------------------------------------------------------------------
// Random damage: no panic, every error inside the file, and the reader always ends.

mod random_damage {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut v = pcapng_section(false, 7);
        v.extend(pcapng_section(true, 8));
        v.extend(pcap_file(
            PcapKind {
                big: false,
                nanos: true,
            },
            1,
            &[(1, 2, b"tail", 4)],
        ));
        v
    }

    proptest! {
        #[test]
        fn damaged_files_never_panic(
            flips in proptest::collection::vec((0usize..2000, any::<u8>()), 1..8),
            cut in 0usize..2000,
            pcap_first in any::<bool>(),
        ) {
            let mut file = if pcap_first {
                let recs: [(u32, u32, &[u8], u32); 3] =
                    [(5, 1, b"abc", 3), (6, 2, b"defgh", 5), (7, 3, b"ij", 2)];
                let mut f = pcap_file(PcapKind { big: true, nanos: false }, 1, &recs);
                f.extend(sample());
                f
            } else {
                sample()
            };
            for (at, byte) in flips {
                let n = file.len();
                file[at % n] ^= byte;
            }
            file.truncate(cut.max(1).min(file.len()));
            let opts = FileOptions { keep_going: true, buffer_size: 32, ..FileOptions::default() };
            let Ok(mut src) = open_bytes(&file, &opts) else { return Ok(()) };
            let mut calls = 0;
            loop {
                calls += 1;
                prop_assert!(calls < 10_000, "the reader does not end");
                match src.next_frame() {
                    Ok(Some(f)) => prop_assert_eq!(f.caplen as usize, f.data.len()),
                    Ok(None) => break,
                    Err(CaptureError::Damaged { offset, .. }) => {
                        prop_assert!(offset < file.len() as u64)
                    }
                    Err(e) => prop_assert!(false, "unexpected error {}", e),
                }
            }
        }
    }
}
