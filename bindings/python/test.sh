#!/usr/bin/env bash
# Builds the Python binding into a virtualenv and checks it: the stubs against
# the compiled module (mypy stubtest), the package and tests with mypy --strict,
# then the pytest suite. Needs python3 (>= 3.11) and cargo; fetches the rest
# from PyPI. The virtualenv is kept in bindings/python/.venv (override with
# FLEETGOV_PY_VENV) so later runs only rebuild what changed.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV="${FLEETGOV_PY_VENV:-$PWD/.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian ships venv support as a separate package.
    # shellcheck source=../../scripts/apt.sh
    . ../../scripts/apt.sh
    apt_install python3-venv
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"

echo "-- installing build and test tools into $VENV"
"$PY" -m pip install -q --disable-pip-version-check --upgrade pip
"$PY" -m pip install -q --disable-pip-version-check \
  maturin numpy pyarrow polars pandas duckdb pytest pytest-timeout hypothesis mypy

echo "-- building and installing fleetgov (release)"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" develop --release --quiet

echo "-- stubtest: the .pyi stubs match the compiled module"
"$PY" -m mypy.stubtest fleetgov

echo "-- mypy --strict: the package and its tests type-check against the stubs"
"$PY" -m mypy --strict python/fleetgov tests

echo "-- pytest"
"$PY" -m pytest
