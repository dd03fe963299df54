"""Minimal raw MQTT client used by record-corpus.sh for CONNECTs the usual clients refuse to send.

Only the Python 3 standard library is used. Every packet is sent over a real TCP socket to the
real broker, so the broker's answers in the capture are genuine.
"""
import socket
import struct
import time


def varint(n):
    """Encode a Variable Byte Integer (MQTT 5.0 section 1.5.5)."""
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def ustr(s):
    """Encode a UTF-8 string with its 2-byte length prefix (section 1.5.4)."""
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">H", len(b)) + b


def packet(first_byte, body):
    """Frame a control packet: fixed header byte, remaining length, body."""
    return bytes([first_byte]) + varint(len(body)) + body


def props(raw=b""):
    """Encode an MQTT 5.0 property block from already-encoded properties."""
    return varint(len(raw)) + raw


def connect(client_id, level=4, name="MQTT", clean=True, keepalive=60, user=None,
            password=None, will=None, will_qos=0, will_retain=False, v5props=b"",
            will_props=b""):
    """Build a CONNECT packet (3.1.1 section 3.1, 5.0 section 3.1)."""
    flags = 0x02 if clean else 0
    payload = ustr(client_id)
    if will is not None:
        flags |= 0x04 | (will_qos << 3) | (0x20 if will_retain else 0)
        if level == 5:
            payload += props(will_props)
        payload += ustr(will[0]) + ustr(will[1])
    if user is not None:
        flags |= 0x80
        payload += ustr(user)
    if password is not None:
        flags |= 0x40
        payload += ustr(password)
    vh = ustr(name) + bytes([level, flags]) + struct.pack(">H", keepalive)
    if level == 5:
        vh += props(v5props)
    return packet(0x10, vh + payload)


class Raw:
    """One TCP connection to the broker that sends raw bytes and reads whole packets."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def send(self, data):
        """Send bytes as they are."""
        self.sock.sendall(data)

    def read_packet(self, timeout=3.0):
        """Return the next whole packet (bytes) or None when the peer closed or timed out."""
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            pkt = self._take()
            if pkt is not None:
                return pkt
            if time.time() > deadline:
                return None
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def _take(self):
        if len(self.buf) < 2:
            return None
        mult, n, i = 1, 0, 1
        while True:
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            n += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if len(self.buf) < i + n:
            return None
        pkt, self.buf = self.buf[: i + n], self.buf[i + n:]
        return pkt

    def wait_closed(self, timeout=3.0):
        """Read until the broker closes the connection; return the packets it sent first."""
        got = []
        while True:
            p = self.read_packet(timeout)
            if p is None:
                return got
            got.append(p)

    def close(self):
        """Close the socket (FIN)."""
        try:
            self.sock.close()
        except OSError:
            pass
