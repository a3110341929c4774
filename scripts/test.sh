#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs on a fresh Debian machine.
# FLEETGOV_SLOW=1 adds the slow tier (long crash loop, model checking).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

# The NATS tests start their own JetStream servers on 127.0.0.1.
# shellcheck source=apt.sh
. scripts/apt.sh
command -v nats-server >/dev/null 2>&1 || apt_install nats-server

echo "== Rust: unit, integration, property, stress and doc tests"
cargo test --workspace --locked
echo "== Rust: benches compile"
cargo bench --workspace --locked --no-run
echo "== Rust: the examples run (each asserts its outcome)"
cargo run --release --locked --example demo
cargo run --release --locked --example agent_e2e
cargo run --release --locked --example audit_proof

echo "== Audit log: checkpoint, tiles, proofs checked with Go's sumdb/note and sumdb/tlog; an attestation with go-securesystemslib/dsse"
bash scripts/tlog-verify.sh

echo "== NATS: two ingest instances, one killed, the other takes over (nats/demo.sh)"
bash nats/demo.sh

echo "== Fleet server: the dashboard in headless Chromium (writes docs/cluster.png)"
bash server/test.sh

if [ "${FLEETGOV_SLOW:-0}" = 1 ]; then
  echo "== Slow tier: 200 crash kills of an appending child, 200 of an engine on a data directory, 200 of an engine compacting its journal, 200 of the fleet server, the loom models (agent, slot, counters, journal, the feed's wake-up)"
  FLEETGOV_SLOW=1 cargo test --release --locked --test audit_crash --test data_dir --test retention
  FLEETGOV_SLOW=1 cargo test --release --locked -p fleetgov-server --test crash
  echo "== Slow tier: NATS chaos (40 rounds of cuts, pauses, kills and restarts of three instances) and the three-server cluster losing its audit leader and an instance under a long load"
  FLEETGOV_SLOW=1 cargo test --release --locked -p fleetgov-nats --test fencing --test three_servers
  echo "== Slow tier: a count-bounded mutation run of every fuzz target (fuzz/README.md)"
  FLEETGOV_SLOW=1 cargo test --release --locked -p fleetgov-fuzz --test slow
  RUSTFLAGS="--cfg fleetgov_loom" CARGO_TARGET_DIR=target/loom cargo test --release --locked --test agent_loom
  RUSTFLAGS="--cfg fleetgov_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
    cargo test --release --locked -p fleetgov --lib -- loom_model
  echo "== Slow tier: Miri over the unit tests of the unsafe modules (nightly toolchain)"
  rustup toolchain install nightly --profile minimal --component miri --component rust-src
  CARGO_TARGET_DIR=target/miri cargo +nightly miri test --locked -p fleetgov --lib -- \
    huge_pages chunked record batch slot --skip audit
fi

if [ -x bindings/python/test.sh ]; then
  echo "== Python binding"
  bindings/python/test.sh
fi
if [ -f bindings/java/pom.xml ]; then
  echo "== Java binding"
  (cd bindings/java && mvn -B -ntp verify)
fi
echo "== all tests passed"
