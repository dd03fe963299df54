#!/usr/bin/env bash
# Installs what mqttscope needs to build and test on Debian/Ubuntu, only what is missing.
# Runs as root, or through sudo when available. Non-interactive (CI has no stdin).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo: install the packages below by hand" >&2
  fi
fi
export DEBIAN_FRONTEND=noninteractive

# Debian package -> a file or command whose presence means it is installed.
need=()
check() { # $1 package, $2 test expression
  if ! eval "$2" >/dev/null 2>&1; then need+=("$1"); fi
}
check libpcap-dev      'test -e /usr/include/pcap.h || test -e /usr/include/pcap/pcap.h'
check pkg-config       'command -v pkg-config'
check gcc              'command -v cc'
check make             'command -v make'
if [ "${1:-}" = "--test" ]; then
  check mosquitto         'test -x /usr/sbin/mosquitto'
  check mosquitto-clients 'command -v mosquitto_pub'
  check tshark            'command -v tshark'
  check tcpdump           'command -v tcpdump'
  check tmux              'command -v tmux'
  check python3           'command -v python3'
fi
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  need+=(cargo rustc)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# mosquitto's package starts a broker on 1883; the tests start their own on other ports.
echo "setup: ok"
