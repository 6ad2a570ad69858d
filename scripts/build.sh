#!/usr/bin/env bash
# Configures and builds diffuse in Release into build/ (or $DIFFUSE_BUILD_DIR). Extra arguments go
# to CMake's configure step, e.g. -DCMAKE_PREFIX_PATH=<LibTorch with CUDA>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${DIFFUSE_BUILD_DIR:-$root/build}"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake "$build" "$@"
fi
cmake --build "$build" -j "$(nproc)"
