#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds in Release and runs the
# GoogleTest suite through CTest. Without arguments it runs every label but gpu (unit,
# integration, slow, multiprocess; see tests/labels.cmake) and CTest closes with the time and
# test count per label. Arguments go to ctest instead, e.g. `scripts/test.sh -L unit` or, on a
# CUDA machine, `scripts/test.sh -L gpu` (without a GPU those tests report as skipped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build="${DIFFUSE_BUILD_DIR:-$root/build}"
cd "$build"
if [ $# -eq 0 ]; then
  set -- -LE '^gpu$'
fi
ctest --output-on-failure -j "$(nproc)" "$@"
