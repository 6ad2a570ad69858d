#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds in Release and runs the
# whole GoogleTest suite through CTest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build="${DIFFUSE_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
