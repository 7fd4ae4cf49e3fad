#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for ftl and builds it.
#   scripts/setup.sh            install packages (as root, or with sudo), configure, build
# Environment: FTL_BUILD_DIR (default build), FTL_JOBS (default: all cores),
#              FTL_SKIP_APT=1 to skip the package step.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${FTL_BUILD_DIR:-build}
JOBS=${FTL_JOBS:-$(nproc)}

# Every Debian package the project needs, and why (see README.md).
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools  # the compiler, lit, FileCheck
  clang-19 libclang-rt-19-dev                             # libFuzzer targets
  libre2-dev                                              # regular expressions
  libfmt-dev                                              # runtime formatting
  libgtest-dev libgmock-dev libbenchmark-dev              # tests and benchmarks
  zlib1g-dev libzstd-dev                                  # required by LLVM's CMake package
)

if [ "${FTL_SKIP_APT:-0}" != 1 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

echo "== configuring $BUILD_DIR"
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir >"$BUILD_DIR.configure.log" 2>&1 || {
  cat "$BUILD_DIR.configure.log"; exit 1; }
echo "== building with $JOBS jobs"
ninja -C "$BUILD_DIR" -j "$JOBS"
echo "== build done: $BUILD_DIR/bin/ftl"
