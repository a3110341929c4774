#!/usr/bin/env bash
# Runs every test of the project. Installs what it needs on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

echo "== Rust: unit, integration, property, stress and doc tests"
cargo test --workspace --locked
echo "== Rust: benches compile"
cargo bench --workspace --locked --no-run
echo "== Rust: the demo runs"
cargo run --release --locked --example demo

if [ -x bindings/python/test.sh ]; then
  echo "== Python binding"
  bindings/python/test.sh
fi
if [ -f bindings/java/pom.xml ]; then
  echo "== Java binding"
  (cd bindings/java && mvn -B -q verify)
fi
echo "== all tests passed"
