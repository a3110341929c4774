# Sourced by the test scripts: one way to wait, with one generous deadline.
#
#   wait_for WHAT COMMAND...   runs COMMAND every 0.1 s until it succeeds
#
# Gives up after FLEETGOV_TEST_DEADLINE_S seconds (default 120, as in the Rust
# suites' fleetgov-testkit), saying what it waited for. A loaded machine makes
# a test slower, never red; only a real hang fails it.
wait_for() {
  local what=$1 limit=${FLEETGOV_TEST_DEADLINE_S:-120}
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "gave up after $limit s waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

# fleet_server_url LOG PID: sets `url` once the server started as PID has
# printed its address to LOG; fails (printing LOG) if the server died.
fleet_server_url() {
  url="$(sed -n 's/^fleetgov fleet server on \(http:[^ ]*\)$/\1/p' "$1")"
  [ -n "$url" ] && return 0
  kill -0 "$2" 2>/dev/null || { cat "$1" >&2; exit 1; }
  return 1
}
