#!/usr/bin/env python3
"""Write the crafted part of the capture corpus into captures/crafted/.

Only for what no real peer on this machine sends (see captures/README.md). Deterministic: fixed
timestamps, fixed sequence numbers, no randomness, so re-running gives byte-identical files.
Python 3 standard library only. Spec references: MQTT 5.0 (OASIS, 2019) and 3.1.1 (2014)
sections noted next to the packets; pcap/pcapng per the IETF opsawg drafts; IPv4 RFC 791,
IPv6 RFC 8200, TCP RFC 9293.
"""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures", "crafted")
BASE_TS_NS = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z, fixed
STEP_NS = 1_000_000  # 1 ms between frames

# ---------------------------------------------------------------- capture file writers


class Pcap:
    """Classic pcap writer (µs or ns magic, either byte order)."""

    def __init__(self, path, linktype, nanos=False, big_endian=False, snaplen=262144):
        self.f = open(path, "wb")
        self.e = ">" if big_endian else "<"
        self.nanos = nanos
        magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
        self.f.write(struct.pack(self.e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, ts_ns, data, orig_len=None, _iface=0):
        """Write one record; orig_len defaults to the data length."""
        sec, sub = divmod(ts_ns, 10**9)
        if not self.nanos:
            sub //= 1000
        self.f.write(struct.pack(self.e + "IIII", sec, sub, len(data),
                                 orig_len if orig_len is not None else len(data)))
        self.f.write(data)

    def close(self):
        """Flush and close the file."""
        self.f.close()


def _pad4(b):
    return b + b"\x00" * (-len(b) % 4)


def pcapng_block(btype, body):
    """One pcapng block: type, total length, body (padded), total length."""
    body = _pad4(body)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


class Pcapng:
    """pcapng writer: one Section Header Block, Interface Description Blocks, EPBs."""

    def __init__(self, path, linktypes, snaplen=262144):
        self.f = open(path, "wb")
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
        self.f.write(pcapng_block(0x0A0D0D0A, shb))
        for lt in linktypes:
            # if_tsresol (option 9) = 9: nanoseconds; then opt_endofopt.
            opts = struct.pack("<HHB", 9, 1, 9) + b"\x00" * 3 + struct.pack("<HH", 0, 0)
            self.f.write(pcapng_block(1, struct.pack("<HHI", lt, 0, snaplen) + opts))

    def write(self, ts_ns, data, orig_len=None, iface=0):
        """Write one Enhanced Packet Block on interface iface."""
        body = struct.pack("<IIIII", iface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(data),
                           orig_len if orig_len is not None else len(data)) + data
        self.f.write(pcapng_block(6, body))

    def raw(self, b):
        """Append raw bytes (for deliberately broken files)."""
        self.f.write(b)

    def close(self):
        """Flush and close the file."""
        self.f.close()


# ---------------------------------------------------------------- link, IP and TCP builders


def csum(data):
    """Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    """Dotted quad to 4 bytes."""
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    """Very small IPv6 text parser (handles '::')."""
    head, _, tail = a.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def ipv4_packet(src, dst, proto, payload, ident=1, ttl=64, frag=0, mf=False, df=True,
                total_payload=None):
    """IPv4 header (RFC 791) with a correct header checksum, followed by payload."""
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, ttl, proto, 0,
                      ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6_packet(src, dst, proto, payload, ext=()):
    """IPv6 header (RFC 8200) with optional extension headers [(type, body)] before payload."""
    chain = b""
    types = [t for t, _ in ext] + [proto]
    for i, (_, body) in enumerate(ext):
        body = body + b"\x00" * (-(len(body) + 2) % 8)  # pad to 8-byte units
        chain += bytes([types[i + 1], (len(body) + 2) // 8 - 1]) + body
    first = types[0]
    return struct.pack("!IHBB16s16s", 0x60000000, len(chain) + len(payload), first, 64,
                       ip6(src), ip6(dst)) + chain + payload


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload, v6=False, window=65535):
    """TCP header (RFC 9293) with a correct checksum over the pseudo-header."""
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, window, 0, 0)
    seg = hdr + payload
    if v6:
        pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(seg), 6)
    else:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!xBH", 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MAC_C, MAC_S = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def ethernet(dst, src, ethertype, payload, vlans=()):
    """Ethernet II frame; vlans is [(tpid, vid)] outermost first (802.1Q / 802.1ad)."""
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return dst + src + tags + struct.pack("!H", ethertype) + payload


class Link:
    """Wraps IP packets into one link type and writes them with increasing timestamps."""

    def __init__(self, writer, kind="eth", iface=0, vlans=()):
        self.w = writer
        self.kind = kind
        self.iface = iface
        self.vlans = vlans

    def frame(self, ip, v6, to_server):
        """Link-layer framing of one IP packet for this link type."""
        et = 0x86DD if v6 else 0x0800
        if self.kind == "eth":
            src, dst = (MAC_C, MAC_S) if to_server else (MAC_S, MAC_C)
            return ethernet(dst, src, et, ip, self.vlans)
        if self.kind == "sll":  # LINKTYPE_LINUX_SLL (113)
            ptype = 4 if to_server else 0  # outgoing / to us
            return struct.pack("!HHH8sH", ptype, 1, 6, MAC_C + b"\x00\x00", et) + ip
        if self.kind == "sll2":  # LINKTYPE_LINUX_SLL2 (276)
            ptype = 4 if to_server else 0
            return struct.pack("!HHIHBB8s", et, 0, 2, 1, ptype, 6, MAC_C + b"\x00\x00") + ip
        if self.kind == "null":  # LINKTYPE_NULL (0): AF in host (here little-endian) order
            return struct.pack("<I", 30 if v6 else 2) + ip
        if self.kind == "loop":  # LINKTYPE_LOOP (108): AF in network order
            return struct.pack("!I", 30 if v6 else 2) + ip
        return ip  # raw: 101, 228, 229

    def emit(self, clock, ip, v6, to_server, orig_len=None):
        """Write one frame at the next timestamp."""
        data = self.frame(ip, v6, to_server)
        self.w.write(clock.tick(), data, orig_len, self.iface)


class Clock:
    """Deterministic timestamps: BASE_TS_NS plus STEP_NS per frame."""

    def __init__(self, start=BASE_TS_NS):
        self.t = start

    def tick(self, step=STEP_NS):
        """Advance and return the new time in ns."""
        self.t += step
        return self.t


class Session:
    """One TCP connection: handshake, data segments with right seq/ack, FIN; both directions."""

    def __init__(self, link, clock, cport, sport=1883, cip="192.0.2.10", sip="192.0.2.1",
                 v6=False, isn_c=1000, isn_s=5000, ext=()):
        if v6 and cip.startswith("192."):
            cip, sip = "2001:db8::10", "2001:db8::1"
        self.link, self.clock = link, clock
        self.cport, self.sport, self.cip, self.sip, self.v6 = cport, sport, cip, sip, v6
        self.seq = {True: isn_c, False: isn_s}  # next seq per direction (True: client->server)
        self.ext = ext

    def packet(self, to_server, flags, payload=b"", seq=None):
        """Build the IP packet of one segment (does not advance state)."""
        s = self.seq[to_server] if seq is None else seq
        ack = self.seq[not to_server] if flags & ACK else 0
        src, dst = (self.cip, self.sip) if to_server else (self.sip, self.cip)
        sp, dp = (self.cport, self.sport) if to_server else (self.sport, self.cport)
        seg = tcp_segment(src, dst, sp, dp, s, ack, flags, payload, self.v6)
        if self.v6:
            return ipv6_packet(src, dst, 6, seg, self.ext)
        return ipv4_packet(src, dst, 6, seg, ident=(s & 0xFFFF))

    def emit(self, to_server, flags, payload=b"", seq=None):
        """Write one segment; returns the IP packet."""
        ip = self.packet(to_server, flags, payload, seq)
        self.link.emit(self.clock, ip, self.v6, to_server)
        return ip

    def handshake(self):
        """SYN, SYN-ACK, ACK."""
        self.emit(True, SYN)
        self.seq[True] += 1
        self.emit(False, SYN | ACK)
        self.seq[False] += 1
        self.emit(True, ACK)

    def send(self, to_server, data, ack_it=True):
        """One data segment, then (optionally) a pure ACK from the peer."""
        self.emit(to_server, PSH | ACK, data)
        self.seq[to_server] += len(data)
        if ack_it:
            self.emit(not to_server, ACK)

    def c(self, data):
        """Client to server data."""
        self.send(True, data)

    def s(self, data):
        """Server to client data."""
        self.send(False, data)

    def close(self):
        """FIN from the client, FIN from the server, last ACK."""
        self.emit(True, FIN | ACK)
        self.seq[True] += 1
        self.emit(False, FIN | ACK)
        self.seq[False] += 1
        self.emit(True, ACK)


# ---------------------------------------------------------------- tiny MQTT encoder


def varint(n):
    """Variable Byte Integer (5.0 section 1.5.5)."""
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ustr(s):
    """UTF-8 string with 2-byte length (1.5.4); bytes are taken as they are."""
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def pkt(first, body):
    """Fixed header + body."""
    return bytes([first]) + varint(len(body)) + body


def props(*items):
    """Property block from encoded properties."""
    raw = b"".join(items)
    return varint(len(raw)) + raw


def p_str(pid, s):
    """A UTF-8 string property (e.g. 0x1F Reason String, 0x15 Authentication Method)."""
    return bytes([pid]) + ustr(s)


def p_bin(pid, b):
    """A binary data property (e.g. 0x16 Authentication Data)."""
    return bytes([pid]) + ustr(b)


def p_u8(pid, v):
    return bytes([pid, v])


def p_u16(pid, v):
    return bytes([pid]) + struct.pack("!H", v)


def p_u32(pid, v):
    return bytes([pid]) + struct.pack("!I", v)


def connect(cid, level=4, name="MQTT", flags=0x02, keepalive=60, v5props=None):
    """CONNECT (3.1.1 section 3.1, 5.0 section 3.1)."""
    vh = ustr(name) + bytes([level, flags]) + struct.pack("!H", keepalive)
    if level == 5:
        vh += v5props if v5props is not None else props()
    return pkt(0x10, vh + ustr(cid))


def connack(code, v5=False, session_present=0, v5props=None):
    """CONNACK (3.2): 2 bytes in 3.1.1, flags + reason code + properties in 5.0."""
    body = bytes([session_present, code])
    if v5:
        body += v5props if v5props is not None else props()
    return pkt(0x20, body)


def publish(topic, payload, qos=0, pid=1, v5=False, v5props=None, retain=False, dup=False):
    """PUBLISH (3.3)."""
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = ustr(topic) + (struct.pack("!H", pid) if qos else b"")
    if v5:
        body += v5props if v5props is not None else props()
    return pkt(first, body + payload)


def ack(first, pid, code=None, v5props=None):
    """PUBACK/PUBREC/PUBREL/PUBCOMP (3.4-3.7), any of the short forms."""
    body = struct.pack("!H", pid)
    if code is not None:
        body += bytes([code])
        if v5props is not None:
            body += v5props
    return pkt(first, body)


def subscribe(pid, filters, v5=False):
    """SUBSCRIBE (3.8) with [(filter, options)]."""
    body = struct.pack("!H", pid) + (props() if v5 else b"")
    return pkt(0x82, body + b"".join(ustr(f) + bytes([o]) for f, o in filters))


def suback(pid, codes, v5=False, v5props=None):
    """SUBACK (3.9)."""
    body = struct.pack("!H", pid) + ((v5props or props()) if v5 else b"")
    return pkt(0x90, body + bytes(codes))


def unsubscribe(pid, filters, v5=False):
    """UNSUBSCRIBE (3.10)."""
    body = struct.pack("!H", pid) + (props() if v5 else b"")
    return pkt(0xA2, body + b"".join(ustr(f) for f in filters))


def unsuback(pid, codes, v5props=None):
    """UNSUBACK (3.11), 5.0 form."""
    return pkt(0xB0, struct.pack("!H", pid) + (v5props or props()) + bytes(codes))


def disconnect(code=None, v5props=None):
    """DISCONNECT (3.14); no code: the 0-length form."""
    body = b"" if code is None else bytes([code]) + (v5props if v5props is not None else b"")
    return pkt(0xE0, body)


def auth(code=None, v5props=None):
    """AUTH (5.0 section 3.15)."""
    body = b"" if code is None else bytes([code]) + (v5props if v5props is not None else props())
    return pkt(0xF0, body)


PINGREQ, PINGRESP = b"\xc0\x00", b"\xd0\x00"
RS = lambda text: props(p_str(0x1F, text))  # noqa: E731  a Reason String property block

# ---------------------------------------------------------------- the captures


class Ports:
    """Hands out client ports so every connection in a file is its own TCP flow."""

    def __init__(self, start=40000):
        self.n = start

    def next(self):
        """The next unused client port."""
        self.n += 1
        return self.n


def path(name):
    """Output path under captures/crafted/."""
    return os.path.join(OUT, name)


def basic_session(sess, v5=False, tag="s", close=True):
    """Handshake, CONNECT, CONNACK 0, one QoS 0 PUBLISH each way, DISCONNECT, FIN."""
    sess.handshake()
    sess.c(connect(tag, 5 if v5 else 4))
    sess.s(connack(0, v5))
    sess.c(subscribe(1, [("t/#", 0)], v5))
    sess.s(suback(1, [0], v5))
    sess.c(publish("t/" + tag, b"hello " + tag.encode(), v5=v5))
    sess.s(publish("t/" + tag, b"hello " + tag.encode(), v5=v5))
    sess.c(disconnect(0 if v5 else None) if v5 else disconnect())
    if close:
        sess.close()


def eth_file(name, linktype=1):
    """A pcap file on Ethernet (or another link type) with its Link and Clock."""
    w = Pcap(path(name), linktype)
    return w, Link(w), Clock()


def adafruit():
    """3.1.1 CONNECT answered by CONNACK 0x06 then 0x07 (Adafruit IO throttle/ban codes)."""
    w, link, clock = eth_file("adafruit-connack-throttled-banned.pcap")
    ports = Ports()
    for code in (6, 7):
        s = Session(link, clock, ports.next())
        s.handshake()
        s.c(connect("io-client"))
        s.s(connack(code))
        s.close()
    w.close()


CONNACK_CODES = [0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C,
                 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F]  # 5.0 section 3.2.2.2
PUBACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]  # 3.4.2.1, 3.5.2.1
PUBREL_CODES = [0x00, 0x92]  # 3.6.2.1, 3.7.2.1
SUBACK_CODES = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2]  # 3.9.3
UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91]  # 3.11.3
# 3.14.2.1: codes a client may send, and codes a server may send.
DISCONNECT_CLIENT = [0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97,
                     0x98, 0x99]
DISCONNECT_SERVER = [0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90,
                     0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F,
                     0xA0, 0xA1, 0xA2]


def v5_codes():
    """Every MQTT 5.0 reason code legal in each packet type, from the side that may send it."""
    w, link, clock = eth_file("v5-codes-per-type.pcap")
    ports = Ports()
    for i, code in enumerate(CONNACK_CODES):
        s = Session(link, clock, ports.next())
        s.handshake()
        s.c(connect("connack-%02x" % code, 5))
        extra = RS("connack reason %02x" % code) if i % 3 == 1 else props()
        if code == 0x9C or code == 0x9D:
            extra = props(p_str(0x1C, "other.example:1883"))  # Server Reference
        s.s(connack(code, True, v5props=extra))
        if code == 0:
            s.c(disconnect(0))
        s.close()
    # QoS 1 and 2 acknowledgements, server acknowledging client PUBLISHes and the reverse.
    s = Session(link, clock, ports.next())
    s.handshake()
    s.c(connect("acks", 5))
    s.s(connack(0, True))
    pid = 0
    for to_server in (True, False):
        send_pub, send_ack = (s.c, s.s) if to_server else (s.s, s.c)
        for code in PUBACK_CODES:
            pid += 1
            send_pub(publish("acks/q1", b"q1", 1, pid, True))
            send_ack(ack(0x40, pid, code, RS("puback %02x" % code) if code == 0x87 else props()))
        for code in PUBACK_CODES:
            pid += 1
            send_pub(publish("acks/q2", b"q2", 2, pid, True))
            send_ack(ack(0x50, pid, code, RS("pubrec %02x" % code) if code == 0x91 else props()))
            if code < 0x80:
                rel_code = PUBREL_CODES[pid % 2]
                send_pub(ack(0x62, pid, rel_code, props()))
                send_ack(ack(0x70, pid, rel_code, props()))
    s.c(subscribe(100, [("f/%d" % i, i % 3) for i in range(len(SUBACK_CODES))], True))
    s.s(suback(100, SUBACK_CODES, True, RS("mixed suback")))
    s.c(unsubscribe(101, ["f/%d" % i for i in range(len(UNSUBACK_CODES))], True))
    s.s(unsuback(101, UNSUBACK_CODES))
    s.c(disconnect(0))
    s.close()
    for side, codes in ((True, DISCONNECT_CLIENT), (False, DISCONNECT_SERVER)):
        for i, code in enumerate(codes):
            s = Session(link, clock, ports.next())
            s.handshake()
            s.c(connect("disc-%s-%02x" % ("c" if side else "s", code), 5))
            s.s(connack(0, True))
            pr = RS("bye %02x" % code) if i % 4 == 2 else props()
            if code == 0x9C or code == 0x9D:
                pr = props(p_str(0x1C, "other.example:1883"))
            s.send(side, disconnect(code, pr))
            s.close()
    w.close()


def short_forms():
    """5.0 short forms: PUBACK len 2/3, PUBREC/PUBREL/PUBCOMP len 2, DISCONNECT len 0/1, AUTH 0."""
    w, link, clock = eth_file("v5-short-forms.pcap")
    s = Session(link, clock, 40001)
    s.handshake()
    s.c(connect("short", 5))
    s.s(connack(0, True))
    s.c(publish("s/a", b"1", 1, 1, True))
    s.s(ack(0x40, 1))  # len 2: Success implied (3.4.2.1)
    s.c(publish("s/a", b"2", 1, 2, True))
    s.s(ack(0x40, 2, 0x10))  # len 3: reason code, no properties (3.4.2.2.1)
    s.c(publish("s/b", b"3", 2, 3, True))
    s.s(ack(0x50, 3))
    s.c(ack(0x62, 3))
    s.s(ack(0x70, 3))
    s.c(auth())  # AUTH len 0 = 0x00 Success (3.15.2.1); legal only with auth in progress
    s.c(disconnect())  # DISCONNECT len 0 = 0x00 Normal disconnection (3.14.2.1)
    s.close()
    s = Session(link, clock, 40002)
    s.handshake()
    s.c(connect("short-will", 5))
    s.s(connack(0, True))
    s.c(disconnect(0x04))  # len 1: Disconnect with Will Message
    s.close()
    w.close()


def auth_exchange():
    """Enhanced authentication (5.0 section 4.12): CONNECT, AUTH 0x18 both ways, CONNACK, 0x19."""
    w, link, clock = eth_file("auth-exchange-v5.pcap")
    s = Session(link, clock, 40001)
    m = p_str(0x15, "SCRAM-SHA-256")
    s.handshake()
    s.c(connect("auth-client", 5, v5props=props(m, p_bin(0x16, b"n,,n=user,r=abc"))))
    s.s(auth(0x18, props(m, p_bin(0x16, b"r=abcdef,s=c2FsdA==,i=4096"))))
    s.c(auth(0x18, props(m, p_bin(0x16, b"c=biws,r=abcdef,p=cHJvb2Y="))))
    s.s(connack(0, True, v5props=props(m, p_bin(0x16, b"v=c2lnbmF0dXJl"))))
    s.c(publish("a/t", b"after auth", 0, v5=True))
    s.c(auth(0x19, props(m, p_bin(0x16, b"n,,n=user,r=xyz"))))  # re-authenticate
    s.s(auth(0x18, props(m, p_bin(0x16, b"r=xyzuvw,s=c2FsdA==,i=4096"))))
    s.c(auth(0x18, props(m, p_bin(0x16, b"c=biws,r=xyzuvw,p=cHJvb2Y="))))
    s.s(auth(0x00, props(m, p_bin(0x16, b"v=c2lnbmF0dXJl"), p_str(0x1F, "re-auth ok"))))
    s.c(disconnect(0))
    s.close()
    w.close()


def legacy_connack():
    """5.0 CONNECT answered by a 3.1.1-style 2-byte CONNACK 0x01 (5.0 section 3.1.2.2)."""
    w, link, clock = eth_file("v5-connect-legacy-connack.pcap")
    s = Session(link, clock, 40001)
    s.handshake()
    s.c(connect("new-client", 5))
    s.s(pkt(0x20, b"\x00\x01"))
    s.close()
    w.close()


def malformed():
    """One connection per malformation; each starts with a valid CONNECT/CONNACK."""
    w, link, clock = eth_file("malformed.pcap")
    ports = Ports()
    cases = [
        (4, pkt(0x36, ustr("q3") + b"\x00\x01x")),  # QoS 3 (3.3.1.2)
        (4, pkt(0x82, b"\x00\x01")),  # SUBSCRIBE without any filter (3.8.3)
        (4, pkt(0x80, b"\x00\x01" + ustr("a") + b"\x00")),  # reserved flags 0000 not 0010
        (4, b"\xc1\x00"),  # PINGREQ with flags 0001 (2.1.3)
        (4, pkt(0x30, ustr(b"\xc3\x28bad") + b"x")),  # invalid UTF-8 in topic (1.5.4)
        (4, pkt(0x30, ustr(b"a\x00b") + b"x")),  # U+0000 in a topic (1.5.4)
        (4, pkt(0x30, b"\x00\xff" + b"abc")),  # topic length 255 overruns a 5-byte packet
        (4, b"\x30\xff\xff\xff\xff\x7f" + b"x" * 8),  # 5-byte remaining length (1.5.5)
        (5, publish("p/u", b"x", v5=True, v5props=props(b"\x7f\x00"))),  # unknown property
        (5, publish("p/d", b"x", v5=True, v5props=props(p_u8(1, 0), p_u8(1, 1)))),  # twice
        (5, publish("p/n", b"x", v5=True, v5props=props(p_u32(0x11, 60)))),  # not allowed
    ]
    for level, bad in cases:
        s = Session(link, clock, ports.next())
        s.handshake()
        s.c(connect("m%d" % ports.n, level))
        s.s(connack(0, level == 5))
        s.c(bad)
        s.close()
    w.close()


def tcp_disorder():
    """Reordering, retransmission, overlap with different bytes, a hole, a split varint, wrap."""
    w, link, clock = eth_file("tcp-disorder.pcap")
    s = Session(link, clock, 40001, isn_c=2**32 - 60, isn_s=2**32 - 20)
    s.handshake()
    s.c(connect("disorder", 4))  # CONNECT is 22 bytes: crosses 2^32 on the client side
    s.s(connack(0))  # server seq wraps within a few bytes too
    big = publish("d/big", bytes(range(200)), 0)  # remaining length 207: 2-byte varint
    # Varint split: first segment ends after the first remaining-length byte.
    s.send(True, big[:2], ack_it=False)
    s.send(True, big[2:])
    # Reordered: a PUBLISH in three pieces sent 1, 3, 2.
    p = publish("d/order", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 7)
    base = s.seq[True]
    parts = [(0, 10), (20, len(p)), (10, 20)]
    for a, b in parts:
        s.emit(True, PSH | ACK, p[a:b], seq=base + a)
    s.seq[True] = base + len(p)
    s.emit(False, ACK)
    # Retransmission: the same segment twice.
    r = publish("d/retx", b"again", 0)
    s.emit(True, PSH | ACK, r)
    s.emit(True, PSH | ACK, r)
    s.seq[True] += len(r)
    s.emit(False, ACK)
    # Overlap with different bytes: second segment re-sends the last 4 bytes changed.
    o = publish("d/overlap", b"original-bytes", 0)
    base = s.seq[True]
    s.emit(True, PSH | ACK, o[:12])
    s.emit(True, PSH | ACK, b"XXXX" + o[12:], seq=base + 8)
    s.seq[True] = base + len(o)
    s.emit(False, ACK)
    # Hole: the middle 20 bytes of this PUBLISH are never captured.
    h = publish("d/hole", b"h" * 60, 0)
    base = s.seq[True]
    s.emit(True, PSH | ACK, h[:10])
    s.emit(True, PSH | ACK, h[30:], seq=base + 30)
    s.seq[True] = base + len(h)
    s.emit(False, ACK)
    s.c(publish("d/after-hole", b"resync here", 0))
    s.s(ack(0x40, 7))
    s.c(disconnect())
    s.close()
    w.close()


def linktypes():
    """The same small session over many link types."""
    specs = [("linktype-sll.pcap", 113, "sll"), ("linktype-sll2.pcap", 276, "sll2"),
             ("linktype-null.pcap", 0, "null"), ("linktype-loop.pcap", 108, "loop"),
             ("linktype-raw-ipv4.pcap", 228, "raw")]
    for name, lt, kind in specs:
        w = Pcap(path(name), lt)
        basic_session(Session(Link(w, kind), Clock(), 40001), tag=kind)
        w.close()
    w = Pcap(path("linktype-vlan-qinq.pcap"), 1)
    clock = Clock()
    basic_session(Session(Link(w, vlans=[(0x8100, 100)]), clock, 40001), tag="vlan")
    basic_session(Session(Link(w, vlans=[(0x88A8, 200), (0x8100, 300)]), clock, 40002, v6=True),
                  v5=True, tag="qinq")
    w.close()
    w = Pcap(path("linktype-raw-ipv6.pcap"), 229)
    hbh = (0, b"\x01\x00")  # Hop-by-Hop with a PadN option (RFC 8200 section 4.3)
    dst = (60, b"\x01\x02\x00\x00")  # Destination Options with PadN
    basic_session(Session(Link(w, "raw"), Clock(), 40001, v6=True, ext=(hbh, dst)), True, "v6")
    w.close()
    w = Pcap(path("linktype-raw101.pcap"), 101)
    clock = Clock()
    basic_session(Session(Link(w, "raw"), clock, 40001), tag="raw4")
    basic_session(Session(Link(w, "raw"), clock, 40002, v6=True), True, "raw6")
    w.close()


def ipv4_fragments():
    """A CONNECT + PUBLISH TCP segment cut into IPv4 fragments written out of order."""
    w, link, clock = eth_file("ipv4-fragments.pcap")
    s = Session(link, clock, 40001)
    s.handshake()
    data = connect("frag", 4) + publish("frag/t", b"F" * 100, 0)
    seg = tcp_segment(s.cip, s.sip, s.cport, s.sport, s.seq[True], s.seq[False], PSH | ACK, data)
    pieces = [(0, 48), (48, 96), (96, len(seg))]
    for a, b in (pieces[2], pieces[0], pieces[1]):
        ip = ipv4_packet(s.cip, s.sip, 6, seg[a:b], ident=0x4242, frag=a, df=False,
                         mf=b < len(seg))
        link.emit(clock, ip, False, True)
    s.seq[True] += len(data)
    s.emit(False, ACK)
    s.s(connack(0))
    s.c(disconnect())
    s.close()
    w.close()


def formats():
    """File-format variants: ns big-endian pcap, multi-IDB pcapng, truncated, absurd length."""
    w = Pcap(path("pcap-ns-bigendian.pcap"), 1, nanos=True, big_endian=True)
    basic_session(Session(Link(w), Clock(BASE_TS_NS + 123456789), 40001), tag="ns")
    w.close()
    w = Pcapng(path("multi-idb.pcapng"), [1, 228])
    clock = Clock()
    basic_session(Session(Link(w, "eth", 0), clock, 40001), tag="if0")
    basic_session(Session(Link(w, "raw", 1), clock, 40002), True, "if1")
    w.close()
    w, link, clock = eth_file("truncated-last-record.pcap")
    basic_session(Session(link, clock, 40001), tag="trunc", close=False)
    w.f.write(struct.pack("<IIII", 1_700_000_100, 0, 80, 80) + b"\x02" * 30)  # 50 bytes short
    w.close()
    w = Pcapng(path("absurd-block-length.pcapng"), [1])
    basic_session(Session(Link(w), Clock(), 40001), tag="absurd", close=False)
    w.raw(struct.pack("<II", 6, 0xFFFFFFF0) + b"\x00" * 28)
    w.close()


def tls_8883():
    """A TLS 1.2-like record stream on 8883: ClientHello, ServerHello, application data."""
    w, link, clock = eth_file("mqtt-on-port-8883-tls.pcap")
    s = Session(link, clock, 40001, sport=8883)
    s.handshake()
    hello = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + \
        b"\x00\x00"
    s.c(b"\x16\x03\x01" + struct.pack("!H", len(hello) + 4) + b"\x01" +
        struct.pack("!I", len(hello))[1:] + hello)
    sh = b"\x03\x03" + bytes(range(32, 64)) + b"\x00" + b"\x13\x01" + b"\x00" + b"\x00\x00"
    s.s(b"\x16\x03\x03" + struct.pack("!H", len(sh) + 4) + b"\x02" +
        struct.pack("!I", len(sh))[1:] + sh)
    s.c(b"\x14\x03\x03\x00\x01\x01")
    s.s(b"\x14\x03\x03\x00\x01\x01")
    for i in range(3):
        body = bytes((i * 31 + j * 7) % 256 for j in range(40 + i * 10))
        s.send(i % 2 == 0, b"\x17\x03\x03" + struct.pack("!H", len(body)) + body)
    s.close()
    w.close()


def odd_port():
    """A plain 3.1.1 session on tcp/4444 (detected by content, not by port)."""
    w, link, clock = eth_file("mqtt-odd-port.pcap")
    basic_session(Session(link, clock, 40001, sport=4444), tag="odd")
    w.close()


def mid_stream():
    """A 5.0 session picked up mid-stream: no SYN, no CONNECT; PUBACKs carry properties."""
    w, link, clock = eth_file("mid-stream.pcap")
    s = Session(link, clock, 40001, isn_c=123456, isn_s=654321)
    for pid in (41, 42, 43):
        s.c(publish("mid/t", b"m%d" % pid, 1, pid, True,
                    props(p_u8(0x01, 1), p_str(0x03, "text/plain"))))
        s.s(ack(0x40, pid, 0x10 if pid == 42 else 0x00, RS("ack %d" % pid)))
    s.c(PINGREQ)
    s.s(PINGRESP)
    s.close()
    w.close()


def main():
    """Write every crafted capture."""
    os.makedirs(OUT, exist_ok=True)
    for f in (adafruit, v5_codes, short_forms, auth_exchange, legacy_connack, malformed,
              tcp_disorder, linktypes, ipv4_fragments, formats, tls_8883, odd_port, mid_stream):
        f()
    print("wrote", len(os.listdir(OUT)), "files into", os.path.normpath(OUT))


if __name__ == "__main__":
    sys.exit(main())
