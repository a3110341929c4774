#!/usr/bin/env bash
# One ingest instance fed through NATS: runs `fleetgov-nats bench` against a
# fresh nats-server on loopback and prints, for the timed rounds alone, the
# CPU seconds of nats-server and of the bench process (instance and load
# generator), heartbeats per CPU-second, and the messages and payload bytes
# nats-server counted (from its monitoring port).
#
#   bash nats/bench.sh [BINARY] [bench options...]
#
# BINARY defaults to target/release/fleetgov-nats (build it with
# `cargo build --release -p fleetgov-nats` first). Linux only (/proc).
set -euo pipefail
bin=${1:-target/release/fleetgov-nats}
shift || true
port=$((20000 + RANDOM % 20000))
store=$(mktemp -d)
out="$store/out"
nats-server -js -p "$port" -m $((port + 1)) -sd "$store/js" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$store"' EXIT
sleep 0.7
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
varz() { curl -s "localhost:$((port + 1))/varz"; }
"$bin" --url "nats://127.0.0.1:$port" bench "$@" >"$out" &
bench=$!
# Waits for a line of the bench's output; a bench that exits first failed.
await_line() {
  until grep -q "$1" "$out" 2>/dev/null; do
    if ! kill -0 $bench 2>/dev/null; then cat "$out"; wait $bench; exit 1; fi
    sleep 0.005
  done
}
await_line "timing"
s0=$(cpu $server); b0=$(cpu $bench); v0=$(varz)
await_line "heartbeats in"
s1=$(cpu $server); b1=$(cpu $bench); v1=$(varz)
wait $bench
cat "$out"
heartbeats=$(awk '/heartbeats in/ {print $1}' "$out")
python3 - "$s0" "$s1" "$b0" "$b1" "$heartbeats" "$(getconf CLK_TCK)" "$v0" "$v1" <<'PY'
import json, sys
s0, s1, b0, b1, hb, tck = (float(a) for a in sys.argv[1:7])
server, bench = (s1 - s0) / tck, (b1 - b0) / tck
print(f"timed rounds: nats-server {server:.2f} CPU-s, bench process {bench:.2f} CPU-s; "
      f"{hb / (server + bench) / 1e6:.3f} M heartbeats per CPU-second")
a, b = json.loads(sys.argv[7]), json.loads(sys.argv[8])
d = {k: b[k] - a[k] for k in ("in_msgs", "out_msgs", "in_bytes", "out_bytes")}
print(f"nats-server: {d['in_msgs']} messages in, {d['out_msgs']} out; "
      f"{d['in_bytes'] / hb:.1f} payload bytes in and {d['out_bytes'] / hb:.1f} out per heartbeat")
PY
uptime
