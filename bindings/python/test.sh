#!/usr/bin/env bash
# Builds the Python package as users get it and checks it there:
#   1. a release wheel (abi3, CPython >= 3.11) and an sdist, built with maturin
#      in a build virtualenv (this step needs cargo);
#   2. a fresh virtualenv with no Rust toolchain on its PATH, where the wheel
#      and the test tools are installed from the wheel file and PyPI;
#   3. there: the metadata `pip show` reports, the stubs against the compiled
#      module (mypy stubtest), mypy --strict over the package and the tests,
#      the pytest suite and the package's doctests.
# Needs python3 (>= 3.11) and cargo. The build virtualenv is kept in
# bindings/python/.venv (override with FLEETGOV_PY_VENV) so later runs only
# rebuild what changed; the test virtualenv (target/python-wheel-test) is
# made anew each run.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$PWD"

PYTHON="${PYTHON:-python3}"
VENV="${FLEETGOV_PY_VENV:-$HERE/.venv}"
TARGET="$(cd ../.. && pwd)/target"
TEST_VENV="${FLEETGOV_PY_TEST_VENV:-$TARGET/python-wheel-test}"
DIST="$TARGET/python-dist"

make_venv() {
  if ! "$PYTHON" -m venv --clear "$1" 2>/dev/null; then
    # Debian ships venv support as a separate package.
    # shellcheck source=../../scripts/apt.sh
    . ../../scripts/apt.sh
    apt_install python3-venv
    rm -rf "$1"
    "$PYTHON" -m venv "$1"
  fi
}

[ -x "$VENV/bin/python" ] || make_venv "$VENV"
PY="$VENV/bin/python"
echo "-- installing the build tool into $VENV"
"$PY" -m pip install -q --disable-pip-version-check --upgrade pip maturin

echo "-- building the wheel and the sdist (release)"
rm -rf "$DIST"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" build --release --quiet --out "$DIST" -i "$PY"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" "$VENV/bin/maturin" sdist --out "$DIST"
WHEEL=$(ls "$DIST"/fleetgov-*-abi3-*.whl)
SDIST=$(ls "$DIST"/fleetgov-*.tar.gz)
# The sdist holds what a source build needs (the core crate, the binding,
# the Python package) and no virtualenv or build output.
tar tzf "$SDIST" >"$DIST/sdist-files.txt"
for f in core/src/lib.rs bindings/python/src/lib.rs python/fleetgov/_native.pyi python/fleetgov/types.py Cargo.lock; do
  grep -q "^fleetgov-[^/]*/$f\$" "$DIST/sdist-files.txt" || { echo "the sdist lacks $f" >&2; exit 1; }
done
if grep -E '/(\.venv[^/]*|target)/' "$DIST/sdist-files.txt" | head -3 | grep .; then
  echo "the sdist holds a virtualenv or build output" >&2
  exit 1
fi

# The PATH of the test environment: this one without any directory that
# holds cargo or rustc.
NO_RUST_PATH=""
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -n "$d" ] && [ ! -x "$d/cargo" ] && [ ! -x "$d/rustc" ]; then
    NO_RUST_PATH="${NO_RUST_PATH:+$NO_RUST_PATH:}$d"
  fi
done
in_test_env() {
  env -u CARGO_HOME -u RUSTUP_HOME -u VIRTUAL_ENV PATH="$TEST_VENV/bin:$NO_RUST_PATH" "$@"
}

echo "-- a fresh virtualenv without Rust, with the wheel and the test tools"
make_venv "$TEST_VENV"
TPY="$TEST_VENV/bin/python"
if in_test_env sh -c 'command -v cargo || command -v rustc'; then
  echo "a Rust toolchain is still on the test PATH" >&2
  exit 1
fi
in_test_env "$TPY" -m pip install -q --disable-pip-version-check --upgrade pip
in_test_env "$TPY" -m pip install -q --disable-pip-version-check --only-binary fleetgov "$WHEEL[test]"

echo "-- the installed package and its metadata"
in_test_env "$TPY" - "$HERE" <<'EOF'
import importlib.metadata as md
import pathlib
import sys

import fleetgov

source = pathlib.Path(sys.argv[1]).resolve() / "python"
location = pathlib.Path(fleetgov.__file__).resolve()
assert source not in location.parents, f"fleetgov imported from the source tree: {location}"
meta = md.metadata("fleetgov")
for field in ("Name", "Version", "Summary", "License-Expression", "Author", "Requires-Python", "Project-URL"):
    assert meta.get(field), f"the wheel's metadata lacks {field}"
assert meta["Version"] == fleetgov.__version__
print(f"fleetgov {fleetgov.__version__} from {location.parent}")
EOF
in_test_env "$TPY" -m pip show fleetgov

echo "-- stubtest: the .pyi stubs match the compiled module"
(cd "$TEST_VENV" && in_test_env "$TPY" -m mypy.stubtest fleetgov --allowlist "$HERE/stubtest-allowlist.txt")

echo "-- mypy --strict: the package and its tests type-check against the stubs"
in_test_env "$TPY" -m mypy --strict python/fleetgov tests

echo "-- pytest: the suite, then the package's doctests, against the installed wheel"
in_test_env "$TPY" -m pytest -p no:cacheprovider tests
(cd "$TEST_VENV" && in_test_env "$TPY" -m pytest -p no:cacheprovider -c "$HERE/pyproject.toml" \
  --rootdir "$TEST_VENV" --doctest-modules --pyargs fleetgov)
