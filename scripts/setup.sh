#!/usr/bin/env bash
# Installs what diffuse needs on Debian 12 (skips what is already there). Run as root or with
# sudo available. OpenBLAS matters: without it LibTorch runs on the reference BLAS (~15x slower).
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libtorch-dev libyaml-cpp-dev libcxxopts-dev libgtest-dev zlib1g-dev libpng-dev
  nlohmann-json3-dev libopenblas0-pthread
  libgloo-dev     # headers of c10d's Gloo process group (distributed training on CPU)
  dataset-fashion-mnist
  python3-numpy python3-matplotlib python3-yaml
  python3-torch   # the Python peer of `diffuse bench --peer` (the same LibTorch 1.13)
)

# `setup.sh --sanitize`: also clang and its sanitizer and libFuzzer runtimes (scripts/test.sh
# --sanitize, scripts/fuzz.sh).
if [ "${1:-}" = "--sanitize" ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 2; }
  sudo_cmd=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
