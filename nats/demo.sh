#!/usr/bin/env bash
# Two ingest instances share the demo fleet over NATS JetStream; one is
# killed (no graceful release) and the other takes its partitions over.
#
#   bash nats/demo.sh            # needs nats-server (apt-get install nats-server)
#
# Starts nats-server -js on a free loopback port with a temporary store,
# prints the merged fleet view before and after the kill, and stops
# everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v nats-server >/dev/null || { echo "nats-server is not installed: apt-get install nats-server" >&2; exit 1; }
cargo build --release -q -p fleetgov-nats
bin=target/release/fleetgov-nats

store=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$store"
}
trap cleanup EXIT

nats-server -js -a 127.0.0.1 -p "$port" -sd "$store" >"$store/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "== nats-server -js on $url"

echo "== the demo fleet's authority, published once to FLEET_AUDIT"
$bin --url "$url" authority

ttl=3000
$bin --url "$url" ingest --id ingest-a --lease-ttl-ms $ttl &
pids+=($!)
sleep 1
$bin --url "$url" ingest --id ingest-b --lease-ttl-ms $ttl &
pid_b=$!
pids+=($pid_b)
sleep 3
$bin --url "$url" load --nodes 20000 --rate 10000 --batch 500 &
pids+=($!)
sleep 6

echo; echo "== the merged view: two owners"
# Settled: both instances own clusters, all 20,000 nodes counted, and the
# totals the same a round later.
before=""
for _ in $(seq 30); do
    view=$($bin --url "$url" view)
    if grep -q ingest-a <<<"$view" && grep -q ingest-b <<<"$view" && grep -q '/ 20000 nodes' <<<"$view" &&
        [ "$(grep '^fleet:' <<<"$view")" = "$(grep '^fleet:' <<<"$before")" ]; then
        break
    fi
    before=$view
    sleep 2.5
done
before=$view
echo "$before"

echo; echo "== kill -9 ingest-b (no lease release)"
kill -9 "$pid_b"
sleep $(( ttl / 1000 * 2 + 4 ))

echo; echo "== the merged view: ingest-a owns every cluster, every node counted once"
# What the demo shows, checked: the survivor owns every cluster and the
# fleet's totals are what they were (waiting up to 60 s for traffic to settle).
settled() {
    ! grep -q ingest-b <<<"$after" && [ "$(grep '^fleet:' <<<"$before")" = "$(grep '^fleet:' <<<"$after")" ]
}
for _ in $(seq 60); do
    after=$($bin --url "$url" view)
    settled && break
    sleep 1
done
echo "$after"
echo
if ! settled; then
    echo "demo: the takeover did not settle as it should" >&2
    exit 1
fi
echo "demo: ingest-a took over; fleet totals unchanged"
