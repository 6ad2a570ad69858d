#!/usr/bin/env bash
# Fuzzes each file loader (YAML config, .npy, IDX, checkpoint; tests/fuzz/) with libFuzzer under
# AddressSanitizer and UndefinedBehaviorSanitizer for SECONDS each (default 120):
#
#   scripts/fuzz.sh [SECONDS] [LOADER ...]     # LOADER: npy idx config checkpoint (default all)
#
# Builds with clang into build-sanitize/ (or $DIFFUSE_BUILD_DIR), seeds each loader with valid
# files (configs/*.yaml, small .npy and IDX files, a 2-step checkpoint), and prints one line per
# loader. A finding (crash, sanitizer report, uncaught non-InputError exception, hang over 20 s,
# over 4 GiB) is kept under <build>/fuzz/findings/<loader>/ and makes the script exit 1; once
# fixed, copy the input to tests/data/fuzz/<loader>/ so tests/test_fuzz_regressions.cpp replays it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-120}"
shift || true
loaders=("$@")
[ ${#loaders[@]} -eq 0 ] && loaders=(npy idx config checkpoint)

"$root/scripts/setup.sh" --sanitize
build="${DIFFUSE_BUILD_DIR:-$root/build-sanitize}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DDIFFUSE_SANITIZE=ON -DDIFFUSE_FUZZ=ON
fi
cmake --build "$build" -j "$(nproc)" --target "${loaders[@]/#/fuzz_}"
export ASAN_OPTIONS="detect_leaks=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

work="$build/fuzz"
seeds() {  # seeds LOADER FOLDER: valid inputs to start from
  local folder="$2"
  mkdir -p "$folder"
  case "$1" in
    config) cp "$root"/configs/*.yaml "$folder"/ ;;
    npy | idx)
      /usr/bin/python3 - "$1" "$folder" <<'PY'
import struct, sys
import numpy as np
kind, folder = sys.argv[1], sys.argv[2]
if kind == "npy":
    for i, a in enumerate([np.zeros((3, 2), np.float32), np.arange(6.0).reshape(2, 3),
                           np.arange(4, dtype=np.int64), np.ones((2, 2, 2), np.uint8)]):
        np.save("%s/seed%d.npy" % (folder, i), a)
else:
    with open(folder + "/images", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(32)))
    with open(folder + "/labels", "wb") as f:
        f.write(struct.pack(">II", 0x801, 3) + bytes([0, 1, 2]))
PY
      ;;
    checkpoint)  # written by the regular build's binary (the file format is the same)
      [ -x "$root/build/diffuse" ] || "$root/scripts/build.sh"
      "$root/build/diffuse" train --config "$root/configs/ring8-mlp.yaml" --steps 2 \
        --set model.width=8 --set model.depth=1 --set model.embedding_dim=4 \
        --set train.eval_size=0 -o "$folder/run" >/dev/null
      mv "$folder/run/checkpoint.pt" "$folder/checkpoint.pt"
      rm -rf "$folder/run" ;;
  esac
}

status=0
for loader in "${loaders[@]}"; do
  [ -d "$work/$loader/seeds" ] || seeds "$loader" "$work/$loader/seeds"
  mkdir -p "$work/$loader/corpus" "$work/findings/$loader"
  log="$work/$loader.log"
  if "$build/fuzz_$loader" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
      -artifact_prefix="$work/findings/$loader/" "$work/$loader/corpus" "$work/$loader/seeds" \
      >"$log" 2>&1; then
    echo "fuzz $loader: clean, $(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1)s"
  else
    status=1
    echo "fuzz $loader: FINDING, see $log and $work/findings/$loader/"
  fi
done
exit $status
