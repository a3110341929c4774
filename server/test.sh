#!/usr/bin/env bash
# The fleet server's browser test. On a fresh Debian machine it installs what
# it needs (Debian's chromium, playwright-core from npm; no browser download),
# builds and starts `fleet_server` (simulated fleet on, `--ephemeral`: no
# data directory is left behind) on an ephemeral loopback port, drives
# /cluster and /dashboard/observe in headless Chromium (every role's
# controls, the matrix, a node's history and proof, the audit filters, a
# rollout taken to completion and a failing one rolled back), and saves the
# screenshots docs/cluster.png, docs/node.png, docs/observe.png,
# docs/rollout.png and docs/rollout-halted.png.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=../scripts/apt.sh
. scripts/apt.sh
# shellcheck source=../scripts/wait.sh
. scripts/wait.sh
command -v chromium >/dev/null 2>&1 || apt_install chromium
(cd server/e2e && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; })

cargo build --release --locked --example fleet_server
log="$(mktemp)"
./target/release/examples/fleet_server --listen 127.0.0.1:0 --ephemeral >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
wait_for "fleet_server to start" fleet_server_url "$log" "$server"
echo "== browser test against $url"
(cd server/e2e && FLEET_URL="$url" node --test cluster.test.mjs)
