"""Client scenarios driven by record-corpus.sh against the real mosquitto brokers it starts.

Usage: scenarios.py NAME  (ports come from the environment: AUTH_PORT, DYN_PORT, OPEN_PORT,
LIMITS_PORT). Real clients are paho-mqtt; the raw client in mqttraw.py is used only for packets
that paho refuses to build (empty client id with a persistent session, unknown protocol level,
Authentication Method without an AUTH plugin, topic aliases without a topic, protocol violations).
Every scenario is bounded in time and stops by itself.
"""
import os
import socket
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

import mqttraw as raw

HOST = "127.0.0.1"
AUTH = int(os.environ.get("AUTH_PORT", "18830"))
DYN = int(os.environ.get("DYN_PORT", "18831"))
OPEN = int(os.environ.get("OPEN_PORT", "18832"))
LIMITS = int(os.environ.get("LIMITS_PORT", "18833"))
TIMEOUT = 5.0


class Client:
    """A paho client wrapped with events so a scenario can wait for each answer."""

    def __init__(self, client_id, version, port, user=None, password=None, clean=True,
                 mss=None, will=None, keepalive=60, conn_props=None):
        self.version = version
        self.port = port
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.subscribed = threading.Event()
        self.unsubscribed = threading.Event()
        self.messages = []
        self.got_message = threading.Event()
        self.connack_rc = None
        self.disconnect_rc = None
        self.granted = None
        kwargs = {"client_id": client_id, "protocol": version}
        if version != mqtt.MQTTv5:
            kwargs["clean_session"] = clean
        if hasattr(mqtt, "CallbackAPIVersion"):
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION1
        self.c = mqtt.Client(**kwargs)
        self.clean = clean
        self.keepalive = keepalive
        self.conn_props = conn_props
        if mss:
            self._limit_mss(mss)
        if user is not None:
            self.c.username_pw_set(user, password)
        if will is not None:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos, retain)
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_message = self._on_message

    def _limit_mss(self, mss):
        """Open the TCP connection with a small MSS so large packets span many segments."""
        def create(*_args, **_kwargs):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
            s.settimeout(TIMEOUT)
            s.connect((HOST, self.port))
            s.settimeout(None)
            return s
        self.c._create_socket_connection = create

    def _on_connect(self, _c, _u, _flags, rc, _props=None):
        self.connack_rc = rc
        self.connected.set()

    def _on_disconnect(self, _c, _u, rc, _props=None):
        self.disconnect_rc = rc
        self.disconnected.set()

    def _on_subscribe(self, _c, _u, _mid, granted, _props=None):
        self.granted = granted
        self.subscribed.set()

    def _on_unsubscribe(self, _c, _u, _mid, *rest):
        self.unsubscribed.set()

    def _on_message(self, _c, _u, msg):
        self.messages.append(msg)
        self.got_message.set()

    def connect(self):
        """Connect and wait for the CONNACK; return its reason code."""
        if self.version == mqtt.MQTTv5:
            self.c.connect(HOST, self.port, self.keepalive, clean_start=self.clean,
                           properties=self.conn_props)
        else:
            self.c.connect(HOST, self.port, self.keepalive)
        self.c.loop_start()
        self.connected.wait(TIMEOUT)
        return self.connack_rc

    def subscribe(self, topics):
        """Subscribe to [(filter, qos)] and wait for the SUBACK."""
        self.subscribed.clear()
        self.c.subscribe(topics)
        self.subscribed.wait(TIMEOUT)
        return self.granted

    def unsubscribe(self, topics):
        """Unsubscribe from a list of filters and wait for the UNSUBACK."""
        self.unsubscribed.clear()
        self.c.unsubscribe(topics)
        self.unsubscribed.wait(TIMEOUT)

    def publish(self, topic, payload, qos=0, retain=False, props=None):
        """Publish and wait until the QoS flow is complete (or the timeout)."""
        info = self.c.publish(topic, payload, qos, retain, properties=props)
        if qos:
            deadline = time.time() + TIMEOUT
            while not info.is_published() and time.time() < deadline and \
                    not self.disconnected.is_set():
                time.sleep(0.02)
        return info

    def wait_messages(self, n):
        """Wait until n messages arrived."""
        deadline = time.time() + TIMEOUT
        while len(self.messages) < n and time.time() < deadline:
            time.sleep(0.02)
        return self.messages

    def disconnect(self):
        """Send DISCONNECT and stop the network loop."""
        self.c.disconnect()
        self.disconnected.wait(TIMEOUT)
        self.c.loop_stop()

    def abort(self):
        """Close the socket without DISCONNECT (an abrupt close that fires the will)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def raw_exchange(port, first, *rest, wait_close=True):
    """Send a raw CONNECT, then each further packet; log what the broker answered."""
    r = raw.Raw(port)
    r.send(first)
    answers = [r.read_packet()]
    for p in rest:
        r.send(p)
        answers.append(r.read_packet(1.5))
    if wait_close:
        answers.extend(r.wait_closed(1.5))
    r.close()
    log("raw", [a.hex() if a else None for a in answers])
    return answers


def codes(granted):
    """Reason codes (paho 5.0 objects or 3.1.1 ints) as plain numbers for the log."""
    return [getattr(g, "value", g) for g in granted or []]


def log(*args):
    """Print a progress line for the recording log."""
    print("  ", *args, flush=True)


V31, V311, V5 = mqtt.MQTTv31, mqtt.MQTTv311, mqtt.MQTTv5


def connack_refusals_v311():
    """CONNACK 5 (bad password, no user), 1 (unknown level), 2 (empty id, persistent)."""
    for user, pw in (("alice", "wrong"), (None, None), ("nobody", "x")):
        log("bad credentials", Client("ok-311", V311, AUTH, user, pw).connect())
    raw_exchange(AUTH, raw.connect("ok-level6", 6, user="alice", password="alicepw"))
    raw_exchange(AUTH, raw.connect("", 4, clean=False, user="alice", password="alicepw"))
    raw_exchange(AUTH, raw.connect("", 3, name="MQIsdp", user="alice", password="alicepw"))
    c = Client("ok-311", V311, AUTH, "alice", "alicepw")
    log("good", c.connect())
    c.disconnect()


def connack_refusals_v5():
    """CONNACK 0x87, 0x80, 0x8C on the auth broker; 0x9A and 0x9B on the limits broker."""
    log("bad password", Client("ok-5", V5, AUTH, "alice", "wrong").connect())
    log("no user", Client("ok-5", V5, AUTH).connect())
    raw_exchange(AUTH, raw.connect("", 5, user="alice", password="alicepw"))
    raw_exchange(AUTH, raw.connect("ok-am", 5, user="alice", password="alicepw",
                                   v5props=b"\x15" + raw.ustr("SCRAM-SHA-256")))
    log("will retain", Client("wr", V5, LIMITS, will=("w/t", "x", 0, True)).connect())
    log("will qos2", Client("wq", V5, LIMITS, will=("w/t", "x", 2, False)).connect())
    c = Client("ok-5", V5, AUTH, "alice", "alicepw")
    log("good", c.connect())
    c.disconnect()


def suback_mixed(version):
    """SUBSCRIBE with filters the dynamic-security ACL allows and denies; UNSUBSCRIBE too."""
    c = Client("mixed", version, DYN, "alice", "alicepw")
    log("connect", c.connect())
    log("granted", codes(c.subscribe([("sensors/#", 0), ("public/x", 1), ("secret/x", 2),
                                ("sensors/t", 2)])))
    c.unsubscribe(["sensors/#", "nothing/here", "secret/x"])
    c.disconnect()


def puback_failures_v5():
    """PUBACK 0x87 (ACL), 0x10 (no subscribers), PUBREC 0x87, PUBACK 0x95 (message too big)."""
    c = Client("ok-pub", V5, AUTH, "alice", "alicepw")
    log("connect", c.connect())
    c.publish("secret/x", "denied", 1)
    c.publish("sensors/nobody", "no subscribers", 1)
    c.publish("secret/y", "denied qos2", 2)
    c.publish("sensors/ok", "qos2 stored", 2)
    c.disconnect()
    # paho 1.6 cannot parse a PUBACK with 0x95 (its reason-code table asserts), so this one is raw.
    raw_exchange(LIMITS, raw.connect("big", 5),
                 raw.packet(0x32, raw.ustr("big/t") + b"\x00\x01" + raw.props() + b"x" * 1500),
                 raw.packet(0xE0, b"\x00\x00"))


def session_takeover():
    """A second client with the same id takes the session over (5.0 and 3.1.1).

    MQTT 5.0 section 3.1.4 asks for DISCONNECT 0x8E to the old client; mosquitto 2.0.11 only
    closes its socket, which is what this capture shows.
    """
    a = Client("dup-id", V5, OPEN)
    log("first", a.connect())
    a.subscribe([("takeover/#", 1)])
    b = Client("dup-id", V5, OPEN)
    log("second", b.connect())
    a.disconnected.wait(TIMEOUT)
    log("first got", a.disconnect_rc)
    a.c.loop_stop()
    b.disconnect()
    # The same with 3.1.1: no DISCONNECT exists there, the broker just closes the old socket.
    a = Client("dup-id-311", V311, OPEN)
    a.connect()
    b = Client("dup-id-311", V311, OPEN)
    b.connect()
    a.disconnected.wait(TIMEOUT)
    a.c.loop_stop()
    b.disconnect()


def disconnect_packet_too_large_v5():
    """PUBLISH bigger than the advertised Maximum Packet Size: DISCONNECT 0x95."""
    sub = Client("watcher", V5, LIMITS)
    sub.connect()
    sub.subscribe([("big/#", 1)])
    c = Client("too-big", V5, LIMITS)
    log("connect", c.connect())
    c.publish("big/t", "y" * 3000, 0)
    c.disconnected.wait(TIMEOUT)
    log("disconnect", c.disconnect_rc)
    c.c.loop_stop()
    sub.disconnect()


def topic_alias_v5():
    """Topic aliases 1 and 2 set and reused, then alias 3 > Topic Alias Maximum 2: DISCONNECT 0x94."""
    sub = Client("alias-sub", V5, LIMITS)
    sub.connect()
    sub.subscribe([("alias/#", 1)])

    def pub(topic, alias, payload, qos=0, pid=0):
        pr = b"\x23" + alias.to_bytes(2, "big")
        body = raw.ustr(topic) + (pid.to_bytes(2, "big") if qos else b"") + raw.props(pr)
        return raw.packet(0x30 | (qos << 1), body + payload)

    raw_exchange(LIMITS, raw.connect("alias-pub", 5),
                 pub("alias/first/long/topic/name", 1, b"one"), pub("", 1, b"two"),
                 pub("alias/second", 2, b"three", 1, 7), pub("", 2, b"four", 1, 8),
                 pub("alias/first/remapped", 1, b"five"), pub("", 1, b"six"),
                 pub("", 3, b"bad alias"))
    log("received", [m.topic for m in sub.wait_messages(6)])
    sub.disconnect()


def disconnect_limits_v5():
    """Server DISCONNECTs for limits: 0x9A retain, 0x9B QoS, 0x82 unknown alias, 0x81 malformed."""
    c = Client("keepalive-cap", V5, LIMITS, keepalive=100)
    log("server keep alive", c.connect())
    c.disconnect()
    c = Client("retainer", V5, LIMITS)
    c.connect()
    c.publish("r/t", "retained", 0, retain=True)
    c.disconnected.wait(TIMEOUT)
    log("retain", c.disconnect_rc)
    c.c.loop_stop()
    c = Client("qos2", V5, LIMITS)
    c.connect()
    c.publish("q/t", "qos2", 2)
    c.disconnected.wait(TIMEOUT)
    log("qos2", c.disconnect_rc)
    c.c.loop_stop()
    raw_exchange(LIMITS, raw.connect("unknown-alias", 5),
                 raw.packet(0x30, raw.ustr("") + raw.props(b"\x23\x00\x02") + b"x"))
    raw_exchange(LIMITS, raw.connect("wildcard-pub", 5),
                 raw.packet(0x30, raw.ustr("a/+") + raw.props() + b"x"))
    raw_exchange(LIMITS, raw.connect("alias-zero", 5),
                 raw.packet(0x30, raw.ustr("a/b") + raw.props(b"\x23\x00\x00") + b"x"))
    raw_exchange(LIMITS, raw.connect("bad-filter", 5),
                 raw.packet(0x82, b"\x00\x01" + raw.props() + raw.ustr("a/#/b") + b"\x00"))


def disconnect_admin_v5():
    """A dynamic-security administrator disables the client: DISCONNECT 0x98."""
    c = Client("admin-victim", V5, DYN, "carol", "carolpw")
    log("connect", c.connect())
    os.system(os.environ.get("DISABLE_CMD", "true"))
    c.disconnected.wait(TIMEOUT)
    log("disconnect", c.disconnect_rc)
    c.c.loop_stop()


def qos_flows(version):
    """QoS 0/1/2 both directions, a retained message, a will fired by an abrupt close."""
    tag = "v5" if version == V5 else "v311"
    sub = Client(f"sub-{tag}", version, OPEN)
    sub.connect()
    log("granted", codes(sub.subscribe([(f"flow/{tag}/#", 2)])))
    pub = Client(f"pub-{tag}", version, OPEN)
    pub.connect()
    for qos in (0, 1, 2):
        pub.publish(f"flow/{tag}/q{qos}", f"qos {qos}", qos)
    sub.wait_messages(3)
    pub.publish(f"flow/{tag}/retained", "kept", 1, retain=True)
    sub.wait_messages(4)
    late = Client(f"late-{tag}", version, OPEN)
    late.connect()
    late.subscribe([(f"flow/{tag}/retained", 1)])
    late.wait_messages(1)
    log("late got", [(m.topic, m.retain) for m in late.messages])
    pub.publish(f"flow/{tag}/retained", "", 1, retain=True)  # clear it again
    late.disconnect()
    dying = Client(f"dying-{tag}", version, OPEN, will=(f"flow/{tag}/will", "gone", 1, False),
                   keepalive=10)
    dying.connect()
    time.sleep(0.2)
    dying.abort()
    sub.wait_messages(6)
    log("sub got", [m.topic for m in sub.messages])
    pub.disconnect()
    sub.disconnect()


def large_payload_v5():
    """A 200 KB PUBLISH with a 1400-byte MSS, so it spans many TCP segments both ways."""
    sub = Client("large-sub", V5, OPEN, mss=1400)
    sub.connect()
    sub.subscribe([("large/#", 1)])
    pub = Client("large-pub", V5, OPEN, mss=1400)
    pub.connect()
    payload = bytes((i * 7 + 13) % 251 for i in range(200 * 1024))
    pub.publish("large/blob", payload, 1)
    msgs = sub.wait_messages(1)
    log("received bytes", len(msgs[0].payload) if msgs else None)
    pub.disconnect()
    sub.disconnect()


SCENARIOS = {
    "connack-refusals-v311": connack_refusals_v311,
    "connack-refusals-v5": connack_refusals_v5,
    "suback-mixed-v5": lambda: suback_mixed(V5),
    "suback-mixed-v311": lambda: suback_mixed(V311),
    "puback-failures-v5": puback_failures_v5,
    "session-takeover": session_takeover,
    "disconnect-packet-too-large-v5": disconnect_packet_too_large_v5,
    "topic-alias-v5": topic_alias_v5,
    "disconnect-limits-v5": disconnect_limits_v5,
    "disconnect-admin-v5": disconnect_admin_v5,
    "qos-flows-v311": lambda: qos_flows(V311),
    "qos-flows-v5": lambda: qos_flows(V5),
    "large-payload-v5": large_payload_v5,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: scenarios.py " + "|".join(SCENARIOS))
    SCENARIOS[sys.argv[1]]()
