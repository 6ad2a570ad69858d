#!/usr/bin/env bash
# Prepares .gpu-deps/ for scripts/gpu_check.sh on a CUDA machine that has a pip torch but none
# of the project's other libraries and no package registry (the lent H200 machines): Debian's
# -dev packages of yaml-cpp, cxxopts, GoogleTest, nlohmann-json, libpng and zlib, unpacked with
# dpkg -x, and Fashion-MNIST's training files for the image benchmarks. Run it here (Debian 12,
# after scripts/setup.sh), then carry .gpu-deps along (it is git-ignored, about 34 MB):
#
#   scripts/gpu_deps.sh
#   DIFFUSE_DEPS=.gpu-deps FMNIST=.gpu-deps/fmnist scripts/gpu_check.sh     # on the GPU machine
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.gpu-deps
rm -rf "$dest"
mkdir -p "$dest/fmnist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libyaml-cpp-dev libyaml-cpp0.7 libcxxopts-dev libgtest-dev \
  nlohmann-json3-dev libpng-dev libpng16-16 zlib1g-dev)
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$dest"; done
cp /usr/share/datasets/fashion-mnist/train-* "$dest/fmnist/"
du -sh "$dest"
