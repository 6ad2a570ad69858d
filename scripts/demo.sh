#!/usr/bin/env bash
# The end-to-end demo (README): installs what is missing, builds in Release, samples the 8-Gaussian
# ring with the exact (analytic) score, prints metrics against the true mixture and writes a PNG
# scatter plot of the samples to runs/demo/samples.png.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
diffuse="${DIFFUSE_BUILD_DIR:-$root/build}/diffuse"
out="${DIFFUSE_DEMO_OUT:-$root/runs/demo}"
cd "$root"

echo "== sampling the 8-Gaussian ring with the analytic score (heun, 20 steps)"
"$diffuse" sample --config configs/ring8.yaml --out "$out/samples.npy"
echo "== metrics against the true mixture"
"$diffuse" eval --config configs/ring8.yaml --samples "$out/samples.npy"
echo "== wrote $out/samples.npy, $out/samples.png (scatter), $out/samples.config.yaml"
