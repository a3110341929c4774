#!/usr/bin/env bash
# Runs the default test suite N times in a row on a fresh clone of this
# repository's HEAD and prints every failure with its test name: a flaky test
# shows up here before it turns a CI run red.
#
#   bash scripts/soak-tests.sh [N] [--all]
#
# N defaults to 5. Each round runs the Rust suites of every crate
# (`cargo test --workspace --locked --no-fail-fast`: unit, integration,
# property, stress, NATS and HTTP tests, doc tests) and the NATS takeover demo;
# with --all, each round runs the whole test command (scripts/test.sh)
# instead. The clone is built once before the first round. Exits non-zero if
# any round failed. Load the machine meanwhile (another build, a benchmark)
# to see what a busy CI runner does to the suite.
set -uo pipefail

rounds=5 all=0
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    *[!0-9]* | "") echo "usage: $0 [N] [--all]" >&2; exit 2 ;;
    *) rounds=$arg ;;
  esac
done

repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
clone="$(mktemp -d)"
trap 'rm -rf "$clone"' EXIT
git clone --quiet "$repo" "$clone" || exit 1
cd "$clone" || exit 1
echo "== fresh clone of $(git rev-parse --short HEAD); $rounds rounds"
cargo test --workspace --locked --no-run --quiet || exit 1

round() {
  if [ "$all" = 1 ]; then
    bash scripts/test.sh
  else
    cargo test --workspace --locked --no-fail-fast && bash nats/demo.sh
  fi
}

failed_rounds=0
for i in $(seq 1 "$rounds"); do
  log="$clone/round-$i.log"
  started=$SECONDS
  if round >"$log" 2>&1; then
    echo "round $i/$rounds: passed in $((SECONDS - started)) s"
  else
    failed_rounds=$((failed_rounds + 1))
    echo "round $i/$rounds: FAILED after $((SECONDS - started)) s"
    # The failing tests by name, then what each printed.
    grep -E '^test .* \.\.\. FAILED$|^---- .* stdout ----$|^error: test failed|gave up after|panicked at' "$log" | sed 's/^/    /'
    grep -q '^test .* FAILED$' "$log" || tail -n 20 "$log" | sed 's/^/    /'
  fi
done
echo "== $((rounds - failed_rounds)) of $rounds rounds passed"
[ "$failed_rounds" = 0 ]
