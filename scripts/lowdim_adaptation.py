#!/usr/bin/env python3
"""Low-dimensional adaptation (issue 7, claim 6; seed talk 002, Part 2): DDPM and DDIM with the
exact score on data that lies on a k-dimensional subspace of R^D. The theory (Li & Yan 2024;
Huang, Wei, Chen 2024) bounds the error by about k/T for DDPM and sqrt(k)/T-type rates for
DDIM-type samplers, up to logs, with the `ddpm-theory` schedule: in k, not in the ambient D.

Measured here, for D in --dims at fixed k and T = the number of discrete steps (the full chain,
process.num_steps = T):
  - KL: the 1-nearest-neighbour KL estimate (Wang, Kulkarni, Verdu 2009) between the samples'
    coordinates in the data subspace and exact draws' (k dimensions, so it is well posed);
  - W2: the sliced Wasserstein distance in those coordinates;
  - off: the RMS distance of the samples to the subspace, divided by sqrt(D - k) (the noise the
    chain leaves per off-subspace dimension; the data's own floor is data.noise_floor).
The subspace comes from the PCA of exact draws (`diffuse data`). Both the usual linear beta
schedule (`ddpm`) and the theory's (`ddpm-theory`) are run. Writes results/lowdim_adaptation/.
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as dc  # noqa: E402


def knn_kl(p, q):
    """1-NN estimate of KL(P || Q) from samples p [n, d], q [m, d] (Wang, Kulkarni, Verdu)."""
    n, d = p.shape
    m = q.shape[0]

    def nearest(a, b, same):
        out = np.empty(len(a))
        for s in range(0, len(a), 1024):
            block = ((a[s:s + 1024, None, :] - b[None, :, :]) ** 2).sum(-1)
            if same:
                idx = np.arange(s, min(s + 1024, len(a)))
                block[np.arange(len(idx)), idx] = np.inf
            out[s:s + 1024] = np.sqrt(block.min(1))
        return out

    rho = nearest(p, p, True)
    nu = nearest(p, q, False)
    return float(d * np.mean(np.log(nu / rho)) + np.log(m / (n - 1.0)))


def sliced_w2(a, b, projections=128, seed=0):
    rng = np.random.default_rng(seed)
    n = min(len(a), len(b))
    dirs = rng.standard_normal((a.shape[1], projections))
    dirs /= np.linalg.norm(dirs, axis=0)
    pa = np.sort(a[:n] @ dirs, axis=0)
    pb = np.sort(b[:n] @ dirs, axis=0)
    return float(np.sqrt(np.mean((pa - pb) ** 2)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--diffuse", default=dc.DEFAULT_DIFFUSE)
    p.add_argument("--dims", default="8,64,512", help="ambient dimensions D (784 also runs)")
    p.add_argument("--k", type=int, default=4, help="subspace dimension")
    p.add_argument("--T", default="10,20,50,100,200,500", help="chain lengths")
    p.add_argument("--num-samples", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(dc.ROOT, "results", "lowdim_adaptation"))
    a = p.parse_args()
    dc.check_binary(a.diffuse)
    os.makedirs(a.out, exist_ok=True)
    dims = [int(d) for d in a.dims.split(",")]
    chains = [int(t) for t in a.T.split(",")]
    n = a.num_samples

    results, rows, floors = {}, [], {}
    work = tempfile.mkdtemp(prefix="lowdim_adaptation.")  # samples, configs, metrics.jsonl
    for dim in dims:
        data = {"data.kind": "lowdim", "data.dim": dim, "data.subspace_dim": a.k,
                "model.kind": "analytic", "sample.num_samples": n, "sample.batch_size": n}
        base = ["-c", os.path.join(dc.ROOT, "configs", "ring8.yaml"), "--seed", a.seed]
        exact_path = os.path.join(work, "exact-%d.npy" % dim)
        dc.run(a.diffuse, ["data"] + base + dc.settings(data) +
               ["-n", 4 * n, "--dtype", "float64", "-o", exact_path])
        exact = np.load(exact_path)
        # The subspace: the top-k principal directions (the lowdim subspace passes through 0).
        _, _, vt = np.linalg.svd(exact, full_matrices=False)
        basis = vt[:a.k].T  # [D, k]
        reference = exact[n:] @ basis
        floor = knn_kl(exact[:n] @ basis, reference)
        floors[dim] = floor
        print("D = %d: KL between two exact samples (the estimator's floor) %.3f" % (dim, floor))
        for schedule in ["ddpm", "ddpm-theory"]:
            for sampler in ["ddpm", "ddim"]:
                curve = []
                for T in chains:
                    out = os.path.join(work, "samples.npy")
                    run = dict(data)
                    run.update({"process.kind": schedule, "process.num_steps": T,
                                "sampler.grid": "ddpm"})
                    dc.run(a.diffuse, ["sample"] + base + dc.settings(run) +
                           ["--sampler", sampler, "--steps", T - 1, "--dtype", "float64",
                            "-o", out])
                    x = np.load(out)
                    x = x[np.isfinite(x).all(1)]
                    coords = x @ basis
                    off = np.linalg.norm(x - coords @ basis.T, axis=1)
                    kl = knn_kl(coords, reference)
                    w2 = sliced_w2(coords, reference)
                    off_rms = float(np.sqrt(np.mean(off ** 2) / max(dim - a.k, 1)))
                    curve.append((T, kl, w2, off_rms))
                    print("D=%4d %-11s %-4s T=%5d  KL %.3f  W2 %.3f  off %.4f"
                          % (dim, schedule, sampler, T, kl, w2, off_rms), flush=True)
                results[(dim, schedule, sampler)] = curve
                # Points above twice the estimator's floor, so the fit is of the sampler's error.
                above = [c for c in curve if c[1] > 2 * max(floor, 0.005)]
                slope = dc.fit_slope([c[0] for c in above], [c[1] for c in above])
                rows.append([dim, schedule, sampler] +
                            ["%.3f / %.3f" % (c[1], c[2]) for c in curve] + ["%.2f" % slope])

    header = ["D", "schedule", "sampler"] + ["T=%d" % t for t in chains] + ["KL slope"]
    table = ("KL / sliced W2 in the k = %d subspace coordinates against exact draws (%d samples, "
             "exact score, float64). KL slope: log-log slope of KL in T over the points above twice "
             "the estimator's floor (%s).\n\n" % (a.k, n, ", ".join(
                 "D = %d: %.3f" % (d, f) for d, f in floors.items()))) + dc.markdown_table(header, rows)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(table)
    print(table)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    styles = {"ddpm": "-", "ddpm-theory": "--"}
    for ax, sampler in zip(axes, ["ddpm", "ddim"]):
        for i, dim in enumerate(dims):
            for schedule in ["ddpm", "ddpm-theory"]:
                curve = results[(dim, schedule, sampler)]
                ax.loglog([c[0] for c in curve], [max(c[1], 1e-3) for c in curve],
                          styles[schedule], marker="o", color="C%d" % i,
                          label="D=%d, %s" % (dim, schedule))
        ax.set_title("%s, k = %d" % (sampler.upper(), a.k))
        ax.set_xlabel("T (steps of the chain)")
    axes[0].set_ylabel("kNN KL in the subspace coordinates")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "plot.png"), dpi=110)
    shutil.rmtree(work, ignore_errors=True)
    print("wrote %s/table.md and plot.png\nregenerate: scripts/lowdim_adaptation.py %s"
          % (a.out, " ".join(sys.argv[1:])))


if __name__ == "__main__":
    main()
