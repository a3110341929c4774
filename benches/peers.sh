#!/usr/bin/env bash
# Runs the peer comparison harness (the `peers` binary) against a private
# Redis 7 and a private PostgreSQL 15.
#
#   benches/peers.sh --quick          # under 3 minutes on 2 cores, once built
#   benches/peers.sh                  # the full run: 20,000,000 heartbeats
#   benches/peers.sh --only naive,redis --heartbeats 1000000
#
# Every argument is passed to the harness (see `peers --help`). On Debian it
# installs redis-server and postgresql-15 with apt-get when they are missing
# (as root). Both servers run from a fresh temporary directory, listen on
# 127.0.0.1 only, on free ports, and are stopped and deleted on exit, however
# the script ends. The last line printed is the harness's JSON object.
set -euo pipefail

cd "$(dirname "$0")/.."

PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "peers.sh: $*" >&2; }
# shellcheck source=../scripts/apt.sh
. scripts/apt.sh

install_missing() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# A TCP port on 127.0.0.1 that nothing answers on.
free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    log "no free port found"
    return 1
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

WORK=""
REDIS_PID=""
PG_STARTED=""

cleanup() {
    set +e
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
    fi
    if [ -n "$PG_STARTED" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1
    fi
    [ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_missing
command -v cargo >/dev/null 2>&1 || { log "cargo is not installed (the toolchain is pinned in rust-toolchain.toml)"; exit 1; }

log "building the harness"
cargo build --release --quiet -p fleetgov-bench --bin peers

WORK="$(mktemp -d -t fleetgov-peers.XXXXXX)"
chmod 755 "$WORK"

REDIS_PORT="$(free_port)"
mkdir -p "$WORK/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes --dir "$WORK/redis" \
    --save '' --appendonly no --daemonize no --logfile "$WORK/redis/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG \
    || { log "redis-server did not start:"; cat "$WORK/redis/redis.log" >&2; exit 1; }
log "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT"

PG_PORT="$(free_port)"
mkdir -p "$WORK/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$WORK/pg"
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pg -c shared_buffers=512MB \
        -c max_wal_size=4GB -c checkpoint_timeout=30min -c synchronous_commit=off" \
    start >/dev/null || { log "PostgreSQL did not start:"; cat "$WORK/pg/postgres.log" >&2; exit 1; }
PG_STARTED=1
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

cargo run --release --quiet -p fleetgov-bench --bin peers -- --redis "redis://127.0.0.1:$REDIS_PORT/" \
    --postgres "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres" "$@"
