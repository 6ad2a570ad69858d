#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds in Release and runs the
# GoogleTest suite through CTest. Without arguments it runs every label but gpu (unit,
# integration, slow, multiprocess; see tests/labels.cmake) and CTest closes with the time and
# test count per label. Arguments go to ctest instead, e.g. `scripts/test.sh -L unit` or, on a
# CUDA machine, `scripts/test.sh -L gpu` (without a GPU those tests report as skipped).
#
# `scripts/test.sh --sanitize [ctest arguments]` builds with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-sanitize/ (or $DIFFUSE_BUILD_DIR) and runs the unit label
# there by default; any report fails the test that triggered it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" = "--sanitize" ]; then
  shift
  "$root/scripts/setup.sh" --sanitize
  export DIFFUSE_BUILD_DIR="${DIFFUSE_BUILD_DIR:-$root/build-sanitize}"
  CC=clang-14 CXX=clang++-14 "$root/scripts/build.sh" -DDIFFUSE_SANITIZE=ON -DDIFFUSE_FUZZ=ON
  # Leak checking is off: LibTorch keeps allocations alive until exit, and those reports have
  # not been sorted from ours yet.
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  [ $# -eq 0 ] && set -- -L '^unit$'
else
  "$root/scripts/setup.sh"
  "$root/scripts/build.sh"
  [ $# -eq 0 ] && set -- -LE '^gpu$'
fi
build="${DIFFUSE_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
