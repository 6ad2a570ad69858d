#!/usr/bin/env bash
# The GPU half of the checks as one script for a CUDA machine with a pip install of
# torch: build diffuse against that torch's LibTorch, run the GPU tests, then the benchmarks
# against the Python peer (with and without CUDA graphs, fp32 / tf32 / bf16). Writes its log and
# the benchmarks' JSON to $OUT (default gpu-results/).
#
#   scripts/gpu_check.sh                      # everything
#   DIFFUSE_DEPS=/opt/deps scripts/gpu_check.sh   # -dev packages unpacked there (dpkg -x), for a
#                                             # machine without yaml-cpp, cxxopts, GoogleTest...
#   FMNIST=/path/to/mnist-format scripts/gpu_check.sh   # the image benchmarks' data
#   scripts/gpu_check.sh build test           # some of the stages: build, test, bench
#
# Each stage runs under its own time limit and the script goes on after a failed stage, so one
# run on a lent machine reports as much as it can.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-results}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
exec > >(tee -a "$LOG") 2>&1
stage() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
stages=" ${*:-build test bench} "
wants() { [[ "$stages" == *" $1 "* ]]; }

stage "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
PYTHON=${PYTHON:-$(command -v python3)}
"$PYTHON" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__,
"cuda", torch.version.cuda, "gpu", torch.cuda.get_device_name(0))' || true
g++ --version | head -1; cmake --version | head -1; nproc
[ -d /usr/local/cuda/bin ] && export PATH="/usr/local/cuda/bin:$PATH"
nvcc --version | tail -1 || true

BUILD=build-cuda
if wants build; then
  stage "configure"
  TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  prefix="$TORCH_PREFIX"
  extra=()
  if [ -n "${DIFFUSE_DEPS:-}" ]; then
    deps=$(realpath "$DIFFUSE_DEPS")/usr
    lib="$deps/lib/x86_64-linux-gnu"
    prefix="$deps;$TORCH_PREFIX"
    extra+=(-Dyaml-cpp_DIR="$lib/cmake/yaml-cpp" -DGTest_DIR="$lib/cmake/GTest"
            -Dcxxopts_DIR="$deps/lib/cmake/cxxopts"
            -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json"
            -DPNG_PNG_INCLUDE_DIR="$deps/include" -DPNG_LIBRARY="$lib/libpng16.so"
            -DZLIB_INCLUDE_DIR="$deps/include" -DZLIB_LIBRARY="$lib/libz.a")
  fi
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    "${extra[@]}" || { echo "configure failed"; exit 1; }

  stage "build"
  timeout 420 ninja -C "$BUILD" -k 0 diffuse diffuse_gpu_tests || { echo "build failed"; exit 1; }
  ldd "$BUILD/diffuse" | grep -E "torch|c10|yaml|png" || true
fi

if wants test; then
  stage "GPU tests"
  timeout 300 "$BUILD/diffuse_gpu_tests" || echo "GPU tests exited $?"
fi

wants bench || { stage "done"; exit 0; }
stage "benchmarks"
D="$BUILD/diffuse"
peer=(--peer --python "$PYTHON")
bench() {  # name, then bench's arguments
  local name=$1; shift
  echo "--- bench $name: $*"
  timeout 240 "$D" bench "$@" > "$OUT/bench_$name.json" || echo "bench $name exited $?"
}
bench ring8 --config configs/ring8-mlp.yaml --device cuda "${peer[@]}" \
  --samplers ddim,dpm-solver-3 --steps 20 --batch 1,1024 --repeats 10 --warmup 3 --train-steps 50
if [ -n "${FMNIST:-}" ]; then
  data=(--config configs/fashion-mnist-mlp.yaml --set data.path="$(realpath "$FMNIST")"
        --set train.eval_size=0 --device cuda --samplers ddim,dpm-solver-3 --steps 20)
  bench fmnist_fp32 "${data[@]}" "${peer[@]}" --batch 1,1024,16384 --repeats 5 --warmup 2 \
    --train-steps 30
  for precision in tf32 bf16; do
    bench "fmnist_$precision" "${data[@]}" --precision "$precision" --batch 1,16384,65536 \
      --repeats 5 --warmup 2 --train-steps 30
  done
fi
stage "done"
