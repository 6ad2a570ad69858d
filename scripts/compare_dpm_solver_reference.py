#!/usr/bin/env python3
"""Cross-check diffuse's DPM-Solver rows against the authors' reference implementation.

Runs `diffuse sample` and the reference `dpm_solver_pytorch.py` (LuChengTHU/dpm-solver; not part
of this repository: pass its path) on the same analytic Gaussian-mixture model, the same x_T
(saved as .npy and given to `diffuse sample --noise`), the same order, method and skip type, and
reports the largest absolute difference of the samples and both NFEs.

  python3 scripts/compare_dpm_solver_reference.py --reference /path/to/dpm_solver_pytorch.py \
      --diffuse build/diffuse [--dtype float64] [--workdir /tmp/dpm-compare]

Conventions mapped (see samplers/dpm_solver.h):
  process vp-linear  <-> NoiseScheduleVP('linear', beta 0.1..20), t from 1 to 1e-3
  process ddpm       <-> NoiseScheduleVP('discrete', betas = linspace(1e-4, 0.02, 1000)): its
                         knots t_i = (i+1)/N (0-based i) are our t = i/N (i = 1..N), log alpha
                         linear in t between knots in both; t from 1 to 1/N = 1e-3
  grid uniform|logsnr|quadratic <-> skip_type time_uniform|logSNR|time_quadratic
  dpm-solver-p, steps K  <-> algorithm 'dpmsolver', method 'singlestep_fixed', order p, steps p K
  dpm-solver++2s, K      <-> 'dpmsolver++', 'singlestep_fixed', order 2, steps 2 K
  dpm-solver-fast[-2], N <-> 'dpmsolver', 'singlestep', order 3 [2], steps N
  dpm-solver++2m/3m, K   <-> 'dpmsolver++', 'multistep', order 2/3, steps K, lower_order_final
The model is called with the continuous time t (the reference's model_fn receives t_continuous).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import torch

# Three isotropic Gaussians in 2-D: a non-linear score, so every solver term matters.
COMPONENTS = [  # (weight, mean, variance)
    (0.5, [1.5, 0.0], 0.05),
    (0.3, [-1.0, 1.0], 0.10),
    (0.2, [-0.5, -1.5], 0.02),
]

SKIPS = {"logsnr": "logSNR", "uniform": "time_uniform", "quadratic": "time_quadratic"}

# (diffuse sampler, diffuse steps, algorithm_type, method, order, reference steps)
CASES = [
    ("dpm-solver-1", 10, "dpmsolver", "singlestep_fixed", 1, 10),
    ("dpm-solver-2", 10, "dpmsolver", "singlestep_fixed", 2, 20),
    ("dpm-solver-3", 10, "dpmsolver", "singlestep_fixed", 3, 30),
    ("dpm-solver-fast", 10, "dpmsolver", "singlestep", 3, 10),
    ("dpm-solver-fast", 11, "dpmsolver", "singlestep", 3, 11),
    ("dpm-solver-fast", 12, "dpmsolver", "singlestep", 3, 12),
    ("dpm-solver-fast", 20, "dpmsolver", "singlestep", 3, 20),
    ("dpm-solver-fast-2", 9, "dpmsolver", "singlestep", 2, 9),
    ("dpm-solver++2s", 10, "dpmsolver++", "singlestep_fixed", 2, 20),
    ("dpm-solver++2m", 8, "dpmsolver++", "multistep", 2, 8),
    ("dpm-solver++2m", 20, "dpmsolver++", "multistep", 2, 20),
    ("dpm-solver++3m", 8, "dpmsolver++", "multistep", 3, 8),
    ("dpm-solver++3m", 20, "dpmsolver++", "multistep", 3, 20),
]


def load_reference(path):
    spec = importlib.util.spec_from_file_location("dpm_solver_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schedule(ref, process, dtype):
    if process == "vp-linear":
        return ref.NoiseScheduleVP("linear", continuous_beta_0=0.1, continuous_beta_1=20.0,
                                   dtype=dtype)
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    return ref.NoiseScheduleVP("discrete", betas=betas, dtype=dtype)


def mixture_eps(ns, calls):
    """eps(x, t) = -sigma_t * score of the mixture's marginal at t (exact)."""
    def model_fn(x, t):
        calls[0] += 1
        alpha = ns.marginal_alpha(t).reshape(-1, 1).to(x)
        sigma = ns.marginal_std(t).reshape(-1, 1).to(x)
        logits, scores = [], []
        for weight, mean, var in COMPONENTS:
            m = torch.tensor(mean, dtype=x.dtype)
            v = alpha ** 2 * var + sigma ** 2
            d = x - alpha * m
            logits.append(np.log(weight) - 0.5 * x.shape[1] * torch.log(v[:, 0])
                          - 0.5 * (d ** 2).sum(1) / v[:, 0])
            scores.append(-d / v)
        r = torch.softmax(torch.stack(logits, 1), 1)
        score = (r.unsqueeze(2) * torch.stack(scores, 1)).sum(1)
        return -sigma * score
    return model_fn


def write_config(path, process, grid, sampler, steps, noise, out, n):
    lines = [
        "seed: 0",
        f"process: {{kind: {process}}}",
        "data:",
        "  kind: mixture",
        "  components:",
    ]
    for weight, mean, var in COMPONENTS:
        lines.append(f"    - {{weight: {weight}, mean: [{mean[0]}, {mean[1]}], iso: {var}}}")
    lines += [
        "model: {kind: analytic}",
        f"sampler: {{name: {sampler}, steps: {steps}, grid: {grid}}}",
        f"sample: {{num_samples: {n}, batch_size: {n}, noise: {noise}, out: {out}}}",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run_diffuse(binary, workdir, process, grid, sampler, steps, noise, n, dtype):
    tag = f"{process}_{grid}_{sampler}_{steps}".replace("+", "p")
    config = os.path.join(workdir, tag + ".yaml")
    out = os.path.join(workdir, tag + ".npy")
    write_config(config, process, grid, sampler, steps, noise, out, n)
    result = subprocess.run([binary, "sample", "--config", config, "--dtype", dtype],
                            capture_output=True, text=True, check=True)
    record = json.loads(result.stdout.strip().splitlines()[-1])
    return np.load(out).astype(np.float64), record["nfe"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True, help="path to dpm_solver_pytorch.py")
    parser.add_argument("--diffuse", default="build/diffuse", help="the diffuse binary")
    parser.add_argument("--workdir", default="/tmp/dpm-compare")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--num-samples", type=int, default=256)
    parser.add_argument("--tolerance", type=float, default=None,
                        help="largest difference allowed (default 1e-9 float64, 1e-4 float32)")
    args = parser.parse_args()
    tolerance = args.tolerance or (1e-9 if args.dtype == "float64" else 1e-4)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    torch.set_default_dtype(dtype)
    ref = load_reference(args.reference)
    os.makedirs(args.workdir, exist_ok=True)

    x_T = np.random.default_rng(0).standard_normal((args.num_samples, 2))
    noise = os.path.join(args.workdir, "x_T.npy")
    np.save(noise, x_T.astype(np.float64 if args.dtype == "float64" else np.float32))

    worst = 0.0
    print(f"{'process':10} {'grid':10} {'sampler':18} {'steps':>5} {'NFE':>4} {'ref NFE':>7}"
          f" {'max |diff|':>11} {'max |x|':>8}")
    for process in ["vp-linear", "ddpm"]:
        for grid, skip in SKIPS.items():
            for sampler, steps, algorithm, method, order, ref_steps in CASES:
                ours, nfe = run_diffuse(args.diffuse, args.workdir, process, grid, sampler, steps,
                                        noise, args.num_samples, args.dtype)
                ns = schedule(ref, process, dtype)
                calls = [0]
                solver = ref.DPM_Solver(mixture_eps(ns, calls), ns, algorithm_type=algorithm)
                x = torch.tensor(x_T, dtype=dtype)
                theirs = solver.sample(x, steps=ref_steps, t_start=1.0, t_end=1e-3, order=order,
                                       skip_type=skip, method=method, lower_order_final=True)
                diff = float(np.abs(ours - theirs.double().numpy()).max())
                worst = max(worst, diff)
                flag = "" if diff <= tolerance and nfe == calls[0] else "  <-- MISMATCH"
                print(f"{process:10} {grid:10} {sampler:18} {steps:5d} {nfe:4d} {calls[0]:7d}"
                      f" {diff:11.3e} {np.abs(ours).max():8.3f}{flag}")
    print(f"largest difference: {worst:.3e} (tolerance {tolerance:g})")
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
