//! Deterministic generator of hostile and damaged captures (shared by tests/hostile.rs and
//! `cargo run --example hostile -- DIR`). Every capture ends (or is interleaved) with a normal
//! MQTT session whose packets must all be decoded, so damage cannot hide lost output.

#![allow(dead_code)]

/// The normal session's client id: its packets must be shown whatever else the capture holds.
pub const CLIENT_ID: &str = "survivor";
/// Topic of the normal session's PUBLISH packets.
pub const TOPIC: &str = "hostile/ok";
/// Number of PUBLISH packets the normal session sends.
pub const PUBLISHES: usize = 20;

const MAC_C: [u8; 6] = [2, 0, 0, 0, 0, 1];
const MAC_S: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// A classic pcap (Ethernet, microseconds) being written.
pub struct Pcap {
    /// The file bytes.
    pub bytes: Vec<u8>,
    /// Capture time of the next frame, in microseconds.
    pub t_us: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        Self::new()
    }
}

impl Pcap {
    /// A pcap with its global header.
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(1 << 20);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&262_144u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        Pcap {
            bytes,
            t_us: 1_700_000_000_000_000,
        }
    }

    /// Appends one frame, 100 µs after the previous one.
    pub fn frame(&mut self, data: &[u8]) {
        self.t_us += 100;
        let (s, us) = (self.t_us / 1_000_000, self.t_us % 1_000_000);
        self.bytes.extend_from_slice(&(s as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(us as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(data);
    }
}

/// Ethernet + IPv4 header (no options) around `payload`, with fragment fields.
fn ipv4(src: [u8; 4], dst: [u8; 4], id: u16, frag: u16, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + payload.len());
    f.extend_from_slice(&MAC_S);
    f.extend_from_slice(&MAC_C);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload.len()) as u16;
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src);
    h[16..20].copy_from_slice(&dst);
    let mut sum = 0u32;
    for w in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// TCP flag bits.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

/// A TCP segment (20-byte header) in IPv4 in Ethernet.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&src.1.to_be_bytes());
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.push(0x50);
    t.push(flags);
    t.extend_from_slice(&65_535u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(payload);
    ipv4(src.0, dst.0, 0, 0x4000, 6, &t)
}

/// One TCP connection being written: handshake, data both ways, FIN.
pub struct Conn {
    /// Client address and port.
    pub c: ([u8; 4], u16),
    /// Server address and port.
    pub s: ([u8; 4], u16),
    /// Next client sequence number.
    pub cseq: u32,
    /// Next server sequence number.
    pub sseq: u32,
}

impl Conn {
    /// A connection from `c` to `s` (port 1883) with fixed ISNs.
    pub fn new(c: ([u8; 4], u16)) -> Self {
        Conn {
            c,
            s: ([192, 0, 2, 1], 1883),
            cseq: 1000,
            sseq: 5000,
        }
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self, p: &mut Pcap) {
        p.frame(&tcp(self.c, self.s, self.cseq, 0, SYN, &[]));
        p.frame(&tcp(
            self.s,
            self.c,
            self.sseq,
            self.cseq + 1,
            SYN | ACK,
            &[],
        ));
        self.cseq += 1;
        self.sseq += 1;
        p.frame(&tcp(self.c, self.s, self.cseq, self.sseq, ACK, &[]));
    }

    /// Client to server bytes in segments of at most `mss`.
    pub fn c2s(&mut self, p: &mut Pcap, data: &[u8], mss: usize) {
        for chunk in data.chunks(mss.max(1)) {
            p.frame(&tcp(self.c, self.s, self.cseq, self.sseq, ACK | PSH, chunk));
            self.cseq = self.cseq.wrapping_add(chunk.len() as u32);
        }
    }

    /// Server to client bytes in one segment.
    pub fn s2c(&mut self, p: &mut Pcap, data: &[u8]) {
        p.frame(&tcp(self.s, self.c, self.sseq, self.cseq, ACK | PSH, data));
        self.sseq = self.sseq.wrapping_add(data.len() as u32);
    }

    /// FIN both ways.
    pub fn close(&mut self, p: &mut Pcap) {
        p.frame(&tcp(self.c, self.s, self.cseq, self.sseq, FIN | ACK, &[]));
        p.frame(&tcp(
            self.s,
            self.c,
            self.sseq,
            self.cseq + 1,
            FIN | ACK,
            &[],
        ));
        self.cseq += 1;
        self.sseq += 1;
        p.frame(&tcp(self.c, self.s, self.cseq, self.sseq, ACK, &[]));
    }
}

/// Remaining-length varint (5.0 §1.5.5).
pub fn varint(mut n: u32, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![first];
    varint(body.len() as u32, &mut p);
    p.extend_from_slice(body);
    p
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A 3.1.1 CONNECT with this client id.
pub fn connect(client_id: &str) -> Vec<u8> {
    let mut b = Vec::new();
    string("MQTT", &mut b);
    b.extend_from_slice(&[4, 0x02, 0, 60]);
    string(client_id, &mut b);
    packet(0x10, &b)
}

/// A 3.1.1 CONNACK, accepted.
pub fn connack() -> Vec<u8> {
    packet(0x20, &[0, 0])
}

/// A QoS 0 PUBLISH.
pub fn publish(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    string(topic, &mut b);
    b.extend_from_slice(payload);
    packet(0x30, &b)
}

/// The normal session: CONNECT, CONNACK, `PUBLISHES` PUBLISHes, DISCONNECT, in `mss` segments.
pub fn normal_session(p: &mut Pcap, client: ([u8; 4], u16), mss: usize) {
    let mut c = Conn::new(client);
    c.handshake(p);
    c.c2s(p, &connect(CLIENT_ID), mss);
    c.s2c(p, &connack());
    let mut data = Vec::new();
    for i in 0..PUBLISHES {
        data.extend_from_slice(&publish(TOPIC, format!("message {i}").as_bytes()));
    }
    data.extend_from_slice(&[0xe0, 0]);
    c.c2s(p, &data, mss);
    c.close(p);
}

/// One well-behaved connection publishing 1 000-byte messages until the capture holds
/// `bytes`: the program's own footprint (code, libraries, every read-ahead buffer in use)
/// with nothing hostile in it.
pub fn baseline(bytes: usize) -> Vec<u8> {
    let mut p = Pcap::new();
    let mut c = Conn::new(([192, 0, 2, 20], 40_020));
    c.handshake(&mut p);
    c.c2s(&mut p, &connect(CLIENT_ID), 1460);
    c.s2c(&mut p, &connack());
    let one = publish(TOPIC, &[0x61; 1000]);
    let mut data = Vec::new();
    while data.len() < bytes {
        data.extend_from_slice(&one);
    }
    c.c2s(&mut p, &data, 1460);
    c.close(&mut p);
    p.bytes
}

/// A PUBLISH whose fixed header claims 256 MB (the largest remaining length), then 4 MiB of
/// its body; the normal session runs on another connection before and after.
pub fn huge_publish() -> Vec<u8> {
    let mut p = Pcap::new();
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    let mut c = Conn::new(([192, 0, 2, 11], 40_001));
    c.handshake(&mut p);
    c.c2s(&mut p, &connect("greedy"), 1460);
    c.s2c(&mut p, &connack());
    let mut claim = vec![0x30, 0xff, 0xff, 0xff, 0x7f];
    string("big", &mut claim);
    c.c2s(&mut p, &claim, 1460);
    let filler = vec![0x5a; 4 << 20];
    c.c2s(&mut p, &filler, 1460);
    normal_session(&mut p, ([192, 0, 2, 12], 40_002), 1460);
    p.bytes
}

/// The normal session with every byte in its own segment.
pub fn one_byte_segments() -> Vec<u8> {
    let mut p = Pcap::new();
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1);
    p.bytes
}

/// `n` SYNs from distinct clients that never complete, then the normal session.
pub fn half_open(n: u32) -> Vec<u8> {
    let mut p = Pcap::new();
    for i in 0..n {
        let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let port = 1024 + (i % 60_000) as u16;
        p.frame(&tcp((ip, port), ([192, 0, 2, 1], 1883), i, 0, SYN, &[]));
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// A session whose client sequence numbers jump forward mid-stream (by 100 MB, then back,
/// then by 2^31); the normal session follows on another connection.
pub fn seq_jumps() -> Vec<u8> {
    let mut p = Pcap::new();
    let mut c = Conn::new(([192, 0, 2, 11], 40_001));
    c.handshake(&mut p);
    c.c2s(&mut p, &connect("jumper"), 1460);
    c.s2c(&mut p, &connack());
    for jump in [
        100_000_000u32,
        0u32.wrapping_sub(100_000_000),
        1 << 31,
        12_345,
    ] {
        c.cseq = c.cseq.wrapping_add(jump);
        let data: Vec<u8> = (0..20)
            .flat_map(|i| publish("jump", format!("after jump {i}").as_bytes()))
            .collect();
        c.c2s(&mut p, &data, 700);
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// `n` first fragments (more-fragments set, 1480 bytes each) of datagrams that never complete,
/// then the normal session.
pub fn fragment_flood(n: u32) -> Vec<u8> {
    let mut p = Pcap::new();
    let body = vec![0xa5; 1480];
    for i in 0..n {
        let src = [10, 1, (i >> 16) as u8, (i >> 8) as u8];
        p.frame(&ipv4(src, [192, 0, 2, 1], i as u16, 0x2000, 6, &body));
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// One client stream with `holes` holes (100 bytes sent, 100 bytes missing, repeated), then
/// the normal session.
pub fn many_holes(holes: u32) -> Vec<u8> {
    let mut p = Pcap::new();
    let mut c = Conn::new(([192, 0, 2, 11], 40_001));
    c.handshake(&mut p);
    c.c2s(&mut p, &connect("holey"), 1460);
    c.s2c(&mut p, &connack());
    let chunk = [0x42u8; 100];
    for _ in 0..holes {
        c.cseq = c.cseq.wrapping_add(100);
        c.c2s(&mut p, &chunk, 1460);
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// `conns` connections each sending `bytes` beyond a 1-byte hole (all held out of order until
/// the end), then the normal session: without a global budget all of it would be buffered.
pub fn out_of_order_flood(conns: u32, bytes: usize) -> Vec<u8> {
    let mut p = Pcap::new();
    let data = vec![0u8; bytes];
    for i in 0..conns {
        let mut c = Conn::new(([10, 2, (i >> 8) as u8, i as u8], 30_000));
        c.handshake(&mut p);
        c.c2s(&mut p, &connect(&format!("ooo{i}")), 1460);
        c.cseq = c.cseq.wrapping_add(1);
        c.c2s(&mut p, &data, 1460);
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// `conns` connections each sending the first `sent` bytes of a packet of `claimed` bytes
/// with first header byte `first_byte` (under the packet cap, so the framer buffers it, or
/// for a PUBLISH its head only), then the normal session.
pub fn framer_tails(conns: u32, first_byte: u8, claimed: u32, sent: usize) -> Vec<u8> {
    let mut p = Pcap::new();
    for i in 0..conns {
        let mut c = Conn::new(([10, 3, (i >> 8) as u8, i as u8], 30_000));
        c.handshake(&mut p);
        c.c2s(&mut p, &connect(&format!("tail{i}")), 1460);
        c.s2c(&mut p, &connack());
        let mut head = vec![first_byte];
        varint(claimed, &mut head);
        string("tail", &mut head);
        head.resize(sent, 0x44);
        c.c2s(&mut p, &head, 1460);
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// `conns` short connections, each with its own client id of `id_len` bytes (CONNECT,
/// CONNACK, FIN), then the normal session: totals and labels must not keep them all whole.
pub fn many_client_ids(conns: u32, id_len: usize) -> Vec<u8> {
    let mut p = Pcap::new();
    for i in 0..conns {
        let mut c = Conn::new((
            [10, 4, (i >> 8) as u8, i as u8],
            20_000 + (i % 40_000) as u16,
        ));
        c.handshake(&mut p);
        let mut id = format!("client-{i}-");
        id.extend(std::iter::repeat_n('x', id_len.saturating_sub(id.len())));
        c.c2s(&mut p, &connect(&id), 1460);
        c.s2c(&mut p, &connack());
        c.close(&mut p);
    }
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    p.bytes
}

/// The normal session as a pcapng, with an Enhanced Packet Block claiming ~4 GiB after the
/// CONNACK; the rest of the session follows in valid blocks (for --keep-going). Returns the
/// file and the byte offset of the absurd block.
pub fn pcapng_absurd_block() -> (Vec<u8>, u64) {
    let mut frames = Pcap::new();
    normal_session(&mut frames, ([192, 0, 2, 10], 40_000), 1460);
    let recs = split_records(&frames.bytes);
    let mut f = Vec::new();
    let block = |f: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        f.extend_from_slice(&kind.to_le_bytes());
        f.extend_from_slice(&len.to_le_bytes());
        f.extend_from_slice(body);
        f.resize(f.len() + (4 - body.len() % 4) % 4, 0);
        f.extend_from_slice(&len.to_le_bytes());
    };
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut f, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut f, 1, &idb);
    let mut absurd_at = 0;
    for (i, (t_us, data)) in recs.iter().enumerate() {
        if i == 5 {
            absurd_at = f.len() as u64;
            f.extend_from_slice(&6u32.to_le_bytes());
            f.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
            f.extend_from_slice(&[0xee; 40]);
        }
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((t_us >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*t_us as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut f, 6, &epb);
    }
    (f, absurd_at)
}

/// The normal session as a pcap whose last record is cut in the middle. Returns the file and
/// the byte offset of the cut record.
pub fn pcap_cut_last_record() -> (Vec<u8>, u64) {
    let mut p = Pcap::new();
    normal_session(&mut p, ([192, 0, 2, 10], 40_000), 1460);
    let mut last = Conn::new(([192, 0, 2, 13], 40_003));
    let before = p.bytes.len();
    last.handshake(&mut p);
    // Cut the SYN-ACK..ACK records: keep the SYN and half of the next record header.
    let syn_len = 16 + 54;
    p.bytes.truncate(before + syn_len + 16 + 20);
    (p.bytes, (before + syn_len) as u64)
}

/// (timestamp µs, frame bytes) of every record of a pcap written by `Pcap`.
pub fn split_records(pcap: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let u = |o: usize| u32::from_le_bytes([pcap[o], pcap[o + 1], pcap[o + 2], pcap[o + 3]]);
        let (s, us, len) = (u(at), u(at + 4), u(at + 8) as usize);
        let Some(data) = pcap.get(at + 16..at + 16 + len) else {
            break;
        };
        out.push((u64::from(s) * 1_000_000 + u64::from(us), data.to_vec()));
        at += 16 + len;
    }
    out
}

/// Every hostile capture by file name (the sizes tests/hostile.rs uses).
pub fn all() -> Vec<(String, Vec<u8>)> {
    vec![
        ("huge-publish.pcap".into(), huge_publish()),
        ("one-byte-segments.pcap".into(), one_byte_segments()),
        ("half-open-100k.pcap".into(), half_open(100_000)),
        ("seq-jumps.pcap".into(), seq_jumps()),
        ("fragment-flood.pcap".into(), fragment_flood(20_000)),
        ("holes-10k.pcap".into(), many_holes(10_000)),
        (
            "out-of-order-flood.pcap".into(),
            out_of_order_flood(300, 120_000),
        ),
        // SUBSCRIBE packets have to be held whole to be decoded...
        (
            "framer-tails.pcap".into(),
            framer_tails(300, 0x82, 200_000, 100_000),
        ),
        // ... a PUBLISH payload is passed over when no output shows it.
        (
            "publish-tails.pcap".into(),
            framer_tails(300, 0x30, 200_000, 100_000),
        ),
        ("many-client-ids.pcap".into(), many_client_ids(12_000, 2000)),
        ("baseline.pcap".into(), baseline(8 << 20)),
        ("absurd-block.pcapng".into(), pcapng_absurd_block().0),
        ("cut-last-record.pcap".into(), pcap_cut_last_record().0),
    ]
}
