#!/usr/bin/env bash
# Record the real-broker part of the capture corpus into captures/.
#
# Starts four mosquitto brokers on loopback (ports 18830-18833, admin listener 18838; never 1883),
# runs real clients against them (mosquitto_pub/mosquitto_sub and paho-mqtt, see
# scripts/corpus/scenarios.py) and records each scenario with tcpdump on lo into its own file.
# Each file is then checked with tshark for the packets its name promises.
# Re-runnable: configs live in a temp dir; brokers and tcpdump are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$ROOT/captures}"
HERE="$ROOT/scripts/corpus"
export AUTH_PORT=18830 DYN_PORT=18831 OPEN_PORT=18832 LIMITS_PORT=18833 ADMIN_PORT=18838
TMP="$(mktemp -d /tmp/mqttscope-corpus.XXXXXX)"
PIDS=()
FAILED=0

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

need() { command -v "$1" >/dev/null 2>&1; }

install_missing() {
    local pkgs=()
    need mosquitto || [ -x /usr/sbin/mosquitto ] || pkgs+=(mosquitto)
    need mosquitto_pub || pkgs+=(mosquitto-clients)
    need tcpdump || pkgs+=(tcpdump)
    need tshark || pkgs+=(tshark)
    if ! pick_python >/dev/null; then pkgs+=(python3-paho-mqtt); fi
    if [ ${#pkgs[@]} -gt 0 ]; then
        echo "installing: ${pkgs[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
    fi
    if ! pick_python >/dev/null; then
        python3 -m pip install --quiet paho-mqtt
    fi
}

# A python3 that can import paho (Debian's package lands in /usr/bin/python3's path).
pick_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if "$py" -c 'import paho.mqtt.client' 2>/dev/null; then echo "$py"; return 0; fi
    done
    return 1
}

MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

start_broker() { # name conf port
    "$MOSQUITTO" -c "$2" >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    wait_port "$3"
}

wait_port() { # port: wait until something listens on it
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

CAP_PID=""
start_capture() { # file port...
    local filter="" p
    for p in "${@:2}"; do filter="${filter:+$filter or }tcp port $p"; done
    rm -f "$OUT/$1"
    tcpdump -i lo -U --immediate-mode -B 16384 -n -s 0 -w "$OUT/$1" "$filter" 2>"$TMP/tcpdump.log" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    for _ in $(seq 100); do
        grep -q "listening on" "$TMP/tcpdump.log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "tcpdump did not start" >&2
    return 1
}

stop_capture() {
    sleep 0.3 # let the last FIN/ACKs be seen
    kill -INT "$CAP_PID"
    wait "$CAP_PID" 2>/dev/null || true
    grep -E "dropped by kernel" "$TMP/tcpdump.log" | grep -v "^0 " || true
}

# tshark only knows 1883 as MQTT: tell it about the brokers' ports.
DECODE=(-d tcp.port==18830,mqtt -d tcp.port==18831,mqtt -d tcp.port==18832,mqtt -d tcp.port==18833,mqtt)

# check FILE FILTER...: each display filter must match at least one packet of FILE.
check() {
    local f="$OUT/$1" flt n
    shift
    for flt in "$@"; do
        n=$(tshark "${DECODE[@]}" -r "$f" -Y "$flt" 2>/dev/null | wc -l)
        if [ "$n" -eq 0 ]; then
            echo "  CHECK FAILED: $(basename "$f"): no packet matches '$flt'" >&2
            FAILED=1
        fi
    done
}

summary() { # file: one line per MQTT packet
    tshark "${DECODE[@]}" -r "$OUT/$1" -Y mqtt -T fields -E occurrence=a -E aggregator=, \
        -e frame.number -e mqtt.msgtype -e mqtt.ver -e mqtt.conack.val -e mqtt.suback.qos \
        -e mqtt.connack.reason_code -e mqtt.puback.reason_code -e mqtt.pubrec.reason_code \
        -e mqtt.suback.reason_code -e mqtt.unsuback.reason_code -e mqtt.disconnect.reason_code 2>/dev/null | sed 's/^/    /' | head -40
}

record() { # file scenario-command...: capture while running the command
    local file="$1"
    shift
    echo "== $file"
    start_capture "$file" $AUTH_PORT $DYN_PORT $OPEN_PORT $LIMITS_PORT
    "$@"
    stop_capture
    summary "$file"
}

scenario() { (cd "$HERE" && "$PY" scenarios.py "$1"); }

install_missing
PY="$(pick_python)"
mkdir -p "$OUT"

# --- broker configurations ---------------------------------------------------------------
mosquitto_passwd -c -b "$TMP/passwd" alice alicepw >/dev/null 2>&1
mosquitto_passwd -b "$TMP/passwd" bob bobpw >/dev/null 2>&1
cat >"$TMP/acl" <<EOF
user alice
topic readwrite sensors/#
topic read public/#
topic write cmd/#
topic deny secret/#
user bob
topic read sensors/#
EOF
cat >"$TMP/auth.conf" <<EOF
per_listener_settings false
allow_anonymous false
password_file $TMP/passwd
acl_file $TMP/acl
allow_zero_length_clientid false
listener $AUTH_PORT 127.0.0.1
EOF
cat >"$TMP/open.conf" <<EOF
per_listener_settings false
allow_anonymous true
listener $OPEN_PORT 127.0.0.1
EOF
cat >"$TMP/limits.conf" <<EOF
per_listener_settings false
allow_anonymous true
retain_available false
max_keepalive 30
message_size_limit 1000
listener $LIMITS_PORT 127.0.0.1
max_packet_size 2048
max_qos 1
max_topic_alias 2
EOF
mosquitto_ctrl dynsec init "$TMP/dynsec.json" admin adminpw >/dev/null 2>&1
cat >"$TMP/dyn.conf" <<EOF
per_listener_settings false
plugin $(dpkg -L mosquitto 2>/dev/null | grep mosquitto_dynamic_security.so | head -1)
plugin_opt_config_file $TMP/dynsec.json
listener $DYN_PORT 127.0.0.1
listener $ADMIN_PORT 127.0.0.1
EOF

# mosquitto started as root drops to the "mosquitto" user: let it read (and dynsec write) here.
chmod 777 "$TMP"
chmod 666 "$TMP"/*
start_broker auth "$TMP/auth.conf" $AUTH_PORT
start_broker open "$TMP/open.conf" $OPEN_PORT
start_broker limits "$TMP/limits.conf" $LIMITS_PORT
start_broker dyn "$TMP/dyn.conf" $DYN_PORT

ctrl() { mosquitto_ctrl -h 127.0.0.1 -p $ADMIN_PORT -u admin -P adminpw dynsec "$@" >/dev/null 2>&1; }
ctrl createClient alice -p alicepw
ctrl createClient carol -p carolpw
ctrl createRole sensors
ctrl addRoleACL sensors subscribePattern 'sensors/#' allow 5
ctrl addRoleACL sensors subscribeLiteral 'public/x' allow 5
ctrl addRoleACL sensors publishClientSend 'sensors/#' allow 5
ctrl addRoleACL sensors unsubscribePattern 'secret/#' deny 5
ctrl addClientRole alice sensors
export DISABLE_CMD="mosquitto_ctrl -h 127.0.0.1 -p $ADMIN_PORT -u admin -P adminpw dynsec disableClient carol >/dev/null 2>&1"

# --- scenarios ---------------------------------------------------------------------------
record connack-refusals-v311.pcap scenario connack-refusals-v311
# tshark decodes the CONNACK after a level-6 CONNECT with the 5.0 layout, hence the "||".
check connack-refusals-v311.pcap 'mqtt.conack.val == 5' \
    'mqtt.conack.val == 1 || mqtt.connack.reason_code == 1' \
    'mqtt.conack.val == 2' 'mqtt.conack.val == 0' 'mqtt.protoname == "MQIsdp"'

record connack-refusals-v5.pcap scenario connack-refusals-v5
check connack-refusals-v5.pcap 'mqtt.connack.reason_code == 0x87' 'mqtt.connack.reason_code == 0x80' \
    'mqtt.connack.reason_code == 0x8c' 'mqtt.connack.reason_code == 0x9a' 'mqtt.connack.reason_code == 0x9b' \
    'mqtt.connack.reason_code == 0'

record suback-mixed-v5.pcap scenario suback-mixed-v5
check suback-mixed-v5.pcap 'mqtt.suback.reason_code == 0x87' 'mqtt.suback.reason_code == 1' \
    'mqtt.unsuback.reason_code == 0x11' 'mqtt.unsuback.reason_code == 0x87'

record suback-mixed-v311.pcap scenario suback-mixed-v311
check suback-mixed-v311.pcap 'mqtt.suback.qos == 0x80' 'mqtt.suback.qos == 1'

record puback-failures-v5.pcap scenario puback-failures-v5
check puback-failures-v5.pcap 'mqtt.puback.reason_code == 0x87' \
    'mqtt.puback.reason_code == 0x10' \
    'mqtt.pubrec.reason_code == 0x87' \
    'mqtt.puback.reason_code == 0x95'

# mosquitto 2.0.11 closes the old connection with a bare FIN: no DISCONNECT 0x8E is sent.
record session-takeover.pcap scenario session-takeover
check session-takeover.pcap 'mqtt.ver == 5' 'mqtt.ver == 4' 'tcp.flags.fin == 1'

record disconnect-packet-too-large-v5.pcap scenario disconnect-packet-too-large-v5
check disconnect-packet-too-large-v5.pcap 'mqtt.disconnect.reason_code == 0x95'

record topic-alias-v5.pcap scenario topic-alias-v5
check topic-alias-v5.pcap 'mqtt.property.topic_alias' \
    'mqtt.disconnect.reason_code == 0x94'

record disconnect-limits-v5.pcap scenario disconnect-limits-v5
check disconnect-limits-v5.pcap 'mqtt.disconnect.reason_code == 0x9a' \
    'mqtt.disconnect.reason_code == 0x9b' \
    'mqtt.disconnect.reason_code == 0x82' \
    'mqtt.disconnect.reason_code == 0x81' 'mqtt.property_id == 0x13'

record disconnect-admin-v5.pcap scenario disconnect-admin-v5
check disconnect-admin-v5.pcap 'mqtt.disconnect.reason_code == 0x98'

record qos-flows-v311.pcap scenario qos-flows-v311
check qos-flows-v311.pcap 'mqtt.msgtype == 5' 'mqtt.msgtype == 6' 'mqtt.msgtype == 7' \
    'mqtt.msgtype == 4' 'mqtt.retain == 1' 'mqtt.willmsg'

record qos-flows-v5.pcap scenario qos-flows-v5
check qos-flows-v5.pcap 'mqtt.msgtype == 5' 'mqtt.msgtype == 6' 'mqtt.msgtype == 7' \
    'mqtt.msgtype == 4' 'mqtt.retain == 1' 'mqtt.willmsg'

record large-payload-v5.pcap scenario large-payload-v5
check large-payload-v5.pcap 'mqtt.len > 200000'

v31_session() {
    mosquitto_sub -V 31 -h 127.0.0.1 -p $OPEN_PORT -i v31-sub -t 'v31/#' -q 2 -C 3 -W 10 \
        >/dev/null &
    local sub=$!
    sleep 0.5 # mosquitto_sub has no "subscribed" signal; give it time to get its SUBACK
    for q in 0 1 2; do
        mosquitto_pub -V 31 -h 127.0.0.1 -p $OPEN_PORT -i v31-pub -t "v31/q$q" -m "qos $q" -q $q
    done
    wait "$sub" || true
    (cd "$HERE" && "$PY" -c 'import mqttraw as r
c = r.Raw(int(__import__("os").environ["OPEN_PORT"]))
c.send(r.connect("", 3, name="MQIsdp")); print("   ", c.read_packet().hex()); c.close()')
}
record v31-session.pcap v31_session
check v31-session.pcap 'mqtt.protoname == "MQIsdp"' 'mqtt.msgtype == 7' \
    'mqtt.conack.val == 2'

keepalive_session() {
    mosquitto_sub -V 311 -h 127.0.0.1 -p $OPEN_PORT -i ka-311 -t 'ka/#' -k 5 -W 12 \
        >/dev/null || true
}
record keepalive-v311.pcap keepalive_session
check keepalive-v311.pcap 'mqtt.msgtype == 12' 'mqtt.msgtype == 13'

ls -l "$OUT"/*.pcap
if [ "$FAILED" -ne 0 ]; then
    echo "some captures do not show what their name says" >&2
    exit 1
fi
echo "all recorded captures checked"
