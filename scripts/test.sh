#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite: format, lints, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
# Dependency policy (deny.toml): licences, bans and sources work offline. The advisories check
# needs the RustSec database from GitHub, which these machines cannot reach (see README).
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install --locked cargo-deny@0.20.2
fi
cargo deny --locked check licenses bans sources
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
