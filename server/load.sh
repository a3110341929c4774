#!/usr/bin/env bash
# Load test of the fleet server's binary heartbeat endpoint: starts
# `fleet_server --no-simulation --ephemeral` (in memory, as the figures in
# benches/RESULTS.md were taken) on an ephemeral loopback port, runs the
# `fleet_load` client against it as a second process (bounded: 10 s or
# 50,000,000 heartbeats, whichever comes first; extra arguments go to
# fleet_load), and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/wait.sh
. scripts/wait.sh

cargo build --release --locked --example fleet_server -p fleetgov -p fleetgov-server --bin fleet_load
log="$(mktemp)"
./target/release/examples/fleet_server --no-simulation --ephemeral --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
wait_for "fleet_server to start" fleet_server_url "$log" "$server"
./target/release/fleet_load --url "$url" "$@"
