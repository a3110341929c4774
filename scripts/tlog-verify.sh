#!/usr/bin/env bash
# Verifies a running fleet server's audit log with software no one on this
# project wrote: Go's golang.org/x/mod/sumdb/note and .../sumdb/tlog, and an
# attestation's DSSE envelope with github.com/secure-systems-lab/
# go-securesystemslib (the Go program in tests/tlog-verify, modules from the
# Go module proxy). Starts
# `fleet_server` (no simulated fleet, `--ephemeral`: no data directory is
# left behind) on an ephemeral loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=wait.sh
. scripts/wait.sh
if ! command -v go >/dev/null 2>&1; then
  # shellcheck source=apt.sh
  . scripts/apt.sh
  apt_install golang-go
fi

cargo build --release --locked --example fleet_server
log="$(mktemp)"
./target/release/examples/fleet_server --listen 127.0.0.1:0 --no-simulation --ephemeral >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
wait_for "fleet_server to start" fleet_server_url "$log" "$server"
echo "== Go sumdb/note + sumdb/tlog + go-securesystemslib/dsse against $url"
# GOTOOLCHAIN=auto: an older Go fetches the toolchain go.mod names.
(cd tests/tlog-verify && GOTOOLCHAIN=auto go run . -url "$url" -token demo-operator-token)
