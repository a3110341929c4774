#!/usr/bin/env bash
# Two ingest instances share the demo fleet over NATS JetStream; one is
# killed (no graceful release) and the other takes its partitions over.
#
#   bash nats/demo.sh            # needs nats-server (apt-get install nats-server)
#
# Starts nats-server -js on a loopback port of its own choosing with a temporary store,
# prints the merged fleet view before and after the kill, and stops
# everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../scripts/wait.sh
. scripts/wait.sh

command -v nats-server >/dev/null || { echo "nats-server is not installed: apt-get install nats-server" >&2; exit 1; }
cargo build --release -q -p fleetgov-nats
bin=target/release/fleetgov-nats

store=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$store"
}
trap cleanup EXIT

# `-p -1`: the server picks its port and writes it to nats-server_<pid>.ports.
nats-server -js -a 127.0.0.1 -p -1 -sd "$store" --ports_file_dir "$store" >"$store/nats.log" 2>&1 &
nats_pid=$!
pids+=($nats_pid)
nats_url() {
    url=$(sed -n 's/.*"nats":\["\([^"]*\)".*/\1/p' "$store/nats-server_$nats_pid.ports" 2>/dev/null)
    [ -n "$url" ] && (exec 3<>"/dev/tcp/127.0.0.1/${url##*:}") 2>/dev/null
}
wait_for "nats-server to serve JetStream" nats_url
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
two_owners() {
    view=$($bin --url "$url" view) || return 1
    if grep -q ingest-a <<<"$view" && grep -q ingest-b <<<"$view" && grep -q '/ 20000 nodes' <<<"$view" &&
        [ "$(grep '^fleet:' <<<"$view")" = "$(grep '^fleet:' <<<"$before")" ]; then
        return 0
    fi
    before=$view
    sleep 2.5 # a round of heartbeats later
    return 1
}
wait_for "two owners and steady totals" two_owners
before=$view
echo "$before"

echo; echo "== kill -9 ingest-b (no lease release)"
kill -9 "$pid_b"
sleep $(( ttl / 1000 * 2 + 4 ))

echo; echo "== the merged view: ingest-a owns every cluster, every node counted once"
# What the demo shows, checked: the survivor owns every cluster and the
# fleet's totals are what they were (waiting for traffic to settle).
settled() {
    after=$($bin --url "$url" view) || return 1
    ! grep -q ingest-b <<<"$after" && [ "$(grep '^fleet:' <<<"$before")" = "$(grep '^fleet:' <<<"$after")" ] && return 0
    sleep 1
    return 1
}
if ! wait_for "ingest-a to own every cluster with the totals unchanged" settled; then
    echo "$after"
    echo "demo: the takeover did not settle as it should" >&2
    exit 1
fi
echo "$after"
echo "demo: ingest-a took over; fleet totals unchanged"
