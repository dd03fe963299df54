#!/usr/bin/env bash
# Builds mqttscope in release mode and opens it on a bundled capture.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet
exec ./target/release/mqttscope "${@:-captures/connack-refusals-v5.pcap}"
