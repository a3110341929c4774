#!/usr/bin/env bash
# Builds the JNI library for linux-aarch64 and puts it, stripped, into the jar's
# classes at native/linux-aarch_64/ (the os-maven-plugin's name, which
# NativeLibrary uses). Run by the Maven build after the host's library.
#
#   cross-aarch64.sh TARGET_DIR CLASSES_DIR SKIP_FILE
#
# Installs what it needs when it can: the Rust standard library for
# aarch64-unknown-linux-gnu (rustup) and Debian's cross compiler, C library and
# binutils (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross). When it cannot (not a
# linux-x86_64 host, no rustup, not root), it says so loudly, writes the reason
# to SKIP_FILE and exits 0: the jar then carries the host's library only.
set -euo pipefail
TARGET_DIR=$1 CLASSES_DIR=$2 SKIP_FILE=$3
HERE="$(cd "$(dirname "$0")" && pwd)"
TRIPLE=aarch64-unknown-linux-gnu
rm -f "$SKIP_FILE"

skip() {
  mkdir -p "$(dirname "$SKIP_FILE")"
  echo "$1" >"$SKIP_FILE"
  {
    echo "################################################################################"
    echo "WARNING: the jar will NOT carry linux-aarch64: $1"
    echo "################################################################################"
  } >&2
  exit 0
}

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || skip "cross-compiling is set up for linux-x86_64 hosts only"
if ! rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE"; then
  command -v rustup >/dev/null || skip "no rustup to install the $TRIPLE standard library"
  rustup target add "$TRIPLE" >&2 || skip "rustup could not install the $TRIPLE standard library"
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null || [ ! -d /usr/aarch64-linux-gnu/include ]; then
  # shellcheck source=../../scripts/apt.sh
  . "$HERE/../../scripts/apt.sh"
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu \
    || skip "could not install Debian's gcc-aarch64-linux-gnu and libc6-dev-arm64-cross"
fi

CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
  "${CARGO:-cargo}" build --quiet --release --target "$TRIPLE" \
  --manifest-path "$HERE/Cargo.toml" --target-dir "$TARGET_DIR"
mkdir -p "$CLASSES_DIR/native/linux-aarch_64"
aarch64-linux-gnu-strip --strip-unneeded -o "$CLASSES_DIR/native/linux-aarch_64/libfleetgov_java.so" \
  "$TARGET_DIR/$TRIPLE/release/libfleetgov_java.so"
