#!/usr/bin/env python3
"""Low-dimensional adaptation, measured in the full space (Liang, Huang & Chen 2024, Theorems 2-4;
Huang, Wei & Chen 2024): DDPM and DDIM in their original form reach a given error in O~(k)
iterations on data of intrinsic dimension k, whatever the ambient dimension D; updates with other
coefficients pay a factor that grows with D.

Data: a latent Gaussian mixture in R^k (its own seed, --latent-seed, the same for every D) lifted
to R^D by an orthonormal basis (another seed, --basis-seed), with an isotropic floor of variance
--floor (1e-10: far below 1 - abar_1 = T^-2, so the data is k-dimensional at the sampler's finest
scale). Controls: the same latent mixture with floor 0.25 (full-rank data of dimension D), and
the same low-dimensional data sampled by ddpm-beta / ddim-frozen-score, whose coefficients leave
Theorem 4's family. Sampler: process ddpm-theory with T knots (c0 = 2, c1 = 4), every knot
(sampler.grid: ddpm, T - 1 steps), exact score (model.kind: analytic), float64.

Divergence: KL(Y_1 || X_1) in all D dimensions, X_1 the data noised to the last knot t = 1/T
(`diffuse eval --noised-to`, core/metrics/noised_kl.h): the complement of the data subspace in closed
form (its law is Gaussian and isotropic), the k subspace coordinates by the Kozachenko-Leonenko
entropy and the exact log-density. Each run's floor is the same estimator on as many exact draws
of X_1. TV <= sqrt(KL / 2) (Pinsker) bounds the theorems' TV.

Writes results/lowdim_adaptation/{table.md, raw.json, plot.png}.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as dc  # noqa: E402

ADAPTIVE = ["ddpm", "ddim"]
CONTROLS = ["ddpm-beta", "ddim-frozen-score"]


def latent_mixture(k, components, seed):
    """Weights, means [M, k] and covariances [M, k, k] of the latent mixture; depends on k and the
    seed only, so every D sees the same latent data."""
    rng = np.random.default_rng(seed)
    means = 2.0 * rng.standard_normal((components, k))
    covariances = []
    for _ in range(components):
        rotation, _ = np.linalg.qr(rng.standard_normal((k, k)))
        covariances.append(0.25 * rotation @ np.diag(rng.uniform(0.25, 1.0, k)) @ rotation.T)
    return np.full(components, 1.0 / components), means, np.array(covariances)


def basis(dim, k, seed):
    q, _ = np.linalg.qr(np.random.default_rng([seed, dim, k]).standard_normal((dim, k)))
    return q


def write_config(path, dim, k, floor, T, latent, basis_seed):
    weights, means, covariances = latent
    components = [{"weight": float(w), "mean": [float(v) for v in m],
                   "full": [[float(v) for v in row] for row in c]}
                  for w, m, c in zip(weights, means, covariances)]
    config = {
        "seed": 0,
        "process": {"kind": "ddpm-theory", "num_steps": T},
        "data": {"kind": "multimanifold", "noise_floor": floor,
                 "manifolds": [{"weight": 1.0,
                                "basis": [[float(v) for v in row] for row in basis(dim, k, basis_seed)],
                                "components": components}]},
        "model": {"kind": "analytic"},
        "sampler": {"grid": "ddpm"},
    }
    with open(path, "w") as f:
        json.dump(config, f)  # JSON is YAML


def measure(a, work, dim, k, floor, T, sampler, seed, latent):
    config = os.path.join(work, "config-%d-%d-%g-%d.yaml" % (dim, k, floor, T))
    if not os.path.exists(config):
        write_config(config, dim, k, floor, T, latent, a.basis_seed)
    out = os.path.join(work, "samples.npy")
    dc.run(a.diffuse, ["sample", "-c", config, "--sampler", sampler, "--steps", T - 1,
                       "-n", a.num_samples, "--seed", seed, "--dtype", "float64", "-o", out])
    record = dc.run(a.diffuse, ["eval", "-c", config, "-s", out, "--noised-to", 1.0 / T,
                                "--set", "metrics.seed=%d" % (1000 + seed)])
    return record["noised_kl"]


def interval(values):
    """Mean and the half-width of a 95% t-interval over seeds."""
    from scipy import stats
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def slope_over_seeds(xs, curves):
    """The log-log slope fitted per seed, as mean and 95% half-width."""
    return interval([dc.fit_slope(xs, c) for c in curves])


def crossing(Ts, kls, eps):
    """The smallest T with KL <= eps, interpolated log-log between measured T; None if never;
    -T when already the first T meets it (T* <= T, not measured)."""
    for i, (T, kl) in enumerate(zip(Ts, kls)):
        if kl <= eps:
            if i == 0:
                return -float(T)
            t0, k0 = Ts[i - 1], kls[i - 1]
            f = (np.log(eps) - np.log(k0)) / (np.log(kl) - np.log(k0))
            return float(np.exp(np.log(t0) + f * (np.log(T) - np.log(t0))))
    return None


def k_floor_of(k_sweep, k, Ts):
    """Mean |KL estimate| on exact draws of X_1 over a k's runs: the level under which a
    measured KL cannot be told from zero."""
    return float(np.mean([abs(r["floor"]) for s in ADAPTIVE for T in Ts
                          for r in k_sweep[(s, k, T)]]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--diffuse", default=dc.DEFAULT_DIFFUSE)
    p.add_argument("--dims", default="4,8,16,32,64,128,256", help="ambient dimensions D")
    p.add_argument("--k", type=int, default=2, help="intrinsic dimension of the D sweep")
    p.add_argument("--T", type=int, default=10, help="knots (iterations + 1) of the D sweep")
    p.add_argument("--ks", default="1,2,4,8", help="intrinsic dimensions of the k sweep")
    p.add_argument("--k-dim", type=int, default=64, help="ambient D of the k sweep")
    p.add_argument("--Ts", default="10,20,50,100,200,400", help="knots of the k sweep")
    p.add_argument("--eps", default="0.3,0.1", help="KL targets for T*(eps) against k")
    p.add_argument("--floor", type=float, default=1e-10)
    p.add_argument("--components", type=int, default=4)
    p.add_argument("--num-samples", type=int, default=4000)
    p.add_argument("--seeds", type=int, default=4, help="noise seeds per point (intervals)")
    p.add_argument("--latent-seed", type=int, default=1)
    p.add_argument("--basis-seed", type=int, default=2)
    p.add_argument("--out", default=os.path.join(dc.ROOT, "results", "lowdim_adaptation"))
    a = p.parse_args()
    dc.check_binary(a.diffuse)
    os.makedirs(a.out, exist_ok=True)
    dims = [int(d) for d in a.dims.split(",")]
    ks = [int(k) for k in a.ks.split(",")]
    Ts = [int(t) for t in a.Ts.split(",")]
    targets = [float(e) for e in a.eps.split(",")]
    seeds = list(range(a.seeds))
    work = tempfile.mkdtemp(prefix="lowdim_adaptation.")
    started = time.time()

    # 1. KL against D at fixed T and k: adaptive samplers, controls, full-rank data.
    series = [(s, a.floor) for s in ADAPTIVE + CONTROLS] + [(s, 0.25) for s in ADAPTIVE]
    latent = latent_mixture(a.k, a.components, a.latent_seed)
    d_sweep = {}
    for sampler, floor in series:
        for dim in dims:
            runs = [measure(a, work, dim, a.k, floor, a.T, sampler, s, latent) for s in seeds]
            d_sweep[(sampler, floor, dim)] = runs
            kl = interval([r["kl"] for r in runs])
            print("D sweep: %-18s floor %-6g D = %4d: KL %.4g +- %.2g (subspace %.3g, complement "
                  "%.3g; floor %.3g)  [%.0f s]" % (
                      sampler, floor, dim, kl[0], kl[1], np.mean([r["subspace"] for r in runs]),
                      np.mean([r["complement"] for r in runs]),
                      np.mean([r["floor"] for r in runs]), time.time() - started), flush=True)

    save_raw(a, d_sweep, {}, time.time() - started)  # the D sweep survives a failed k sweep

    # 2. T*(eps) against k at fixed D, adaptive samplers.
    k_sweep = {}
    for k in ks:
        latent_k = latent_mixture(k, a.components, a.latent_seed)
        for sampler in ADAPTIVE:
            for T in Ts:
                runs = [measure(a, work, a.k_dim, k, a.floor, T, sampler, s, latent_k)
                        for s in seeds]
                k_sweep[(sampler, k, T)] = runs
                print("k sweep: %-5s k = %d T = %4d: KL %.4g (floor %.3g)  [%.0f s]" % (
                    sampler, k, T, np.mean([r["kl"] for r in runs]),
                    np.mean([r["floor"] for r in runs]), time.time() - started), flush=True)
    wall = time.time() - started
    shutil.rmtree(work, ignore_errors=True)

    report(a, save_raw(a, d_sweep, k_sweep, wall))


def save_raw(a, d_sweep, k_sweep, wall):
    raw = {"args": vars(a), "wall_s": wall,
           "d_sweep": [{"sampler": s, "floor": f, "dim": d, "runs": r}
                       for (s, f, d), r in d_sweep.items()],
           "k_sweep": [{"sampler": s, "k": k, "T": T, "runs": r}
                       for (s, k, T), r in k_sweep.items()]}
    with open(os.path.join(a.out, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    return raw


def report(a, raw):
    dims = sorted({e["dim"] for e in raw["d_sweep"]})
    series = []
    for e in raw["d_sweep"]:
        if (e["sampler"], e["floor"]) not in series:
            series.append((e["sampler"], e["floor"]))
    d_sweep = {(e["sampler"], e["floor"], e["dim"]): e["runs"] for e in raw["d_sweep"]}
    k_sweep = {(e["sampler"], e["k"], e["T"]): e["runs"] for e in raw["k_sweep"]}
    ks = sorted({e["k"] for e in raw["k_sweep"]})
    Ts = sorted({e["T"] for e in raw["k_sweep"]})
    targets = [float(e) for e in a.eps.split(",")]
    n_seeds = a.seeds

    def label(sampler, floor):
        return sampler + (" (full-rank data)" if floor >= 0.01 else "")

    # Table 1: KL against D.
    rows, slopes = [], {}
    for sampler, floor in series:
        cells = []
        for dim in dims:
            m, h = interval([r["kl"] for r in d_sweep[(sampler, floor, dim)]])
            fl = np.mean([abs(r["floor"]) for r in d_sweep[(sampler, floor, dim)]])
            cells.append(("%.3g ± %.2g" % (m, h)) + (" (≤ floor)" if m <= fl else ""))
        curves = [[d_sweep[(sampler, floor, dim)][s]["kl"] for dim in dims] for s in range(n_seeds)]
        slopes[(sampler, floor)] = slope_over_seeds(dims, curves)
        rows.append([label(sampler, floor)] + cells + ["%.2f ± %.2f" % slopes[(sampler, floor)]])
    floor_row = ["estimator floor: mean abs of the estimate on exact draws of X_1"] + [
        "%.3g" % np.mean([abs(r["floor"]) for s, f in series if f < 0.01
                          for r in d_sweep[(s, f, dim)]]) for dim in dims] + [""]
    table = ("KL(Y_1 || X_1) in all D dimensions against D: k = %d, T = %d knots (ddpm-theory), "
             "%d samples, mean ± 95%% t-interval over %d noise seeds; slope: log-log slope of KL "
             "against D, fitted per seed; (≤ floor): the mean is at or under the floor row.\n\n" % (a.k, a.T, a.num_samples, n_seeds)
             + dc.markdown_table(["sampler"] + ["D=%d" % d for d in dims] + ["slope in D"],
                                 rows + [floor_row]))

    # Table 2: T*(eps) against k.
    rows2, k_slopes = [], {}
    for sampler in ["ddpm", "ddim"]:
        for eps in targets:
            stars = []
            for k in ks:
                curve = [np.mean([r["kl"] for r in k_sweep[(sampler, k, T)]]) for T in Ts]
                stars.append(crossing(Ts, curve, eps))
            ok = [(k, t) for k, t in zip(ks, stars) if t is not None and t > 0]
            k_slopes[(sampler, eps)] = (dc.fit_slope([k for k, _ in ok], [t for _, t in ok])
                                        if len(ok) >= 2 else float("nan"))
            rows2.append([sampler, "%g" % eps] + [
                "> %d" % Ts[-1] if t is None else "≤ %d" % -t if t < 0 else "%.0f" % t
                for t in stars] + ["%.2f (%d points)" % (k_slopes[(sampler, eps)], len(ok))])
    k_floor = ["floor (mean abs)"] + [""] + ["%.3g" % k_floor_of(k_sweep, k, Ts) for k in ks] + [""]
    table += ("\n\nT*(eps): the knots needed for KL(Y_1 || X_1) <= eps in D = %d (interpolated "
              "log-log between the measured T in %s; mean KL over %d seeds; ≤: met already at the "
              "smallest T), against k; slope: of log T* against log k over the measured points "
              "(theory: 1, up to logs).\n\n" % (
                  a.k_dim, ", ".join(map(str, Ts)), n_seeds)
              + dc.markdown_table(["sampler", "eps"] + ["k=%d" % k for k in ks] + ["slope in k"],
                                  rows2 + [k_floor]))
    table += "\n\nKL against T in D = %d (mean over seeds):\n\n" % a.k_dim
    rows3 = []
    for sampler in ["ddpm", "ddim"]:
        for k in ks:
            rows3.append([sampler, k] + ["%.3g" % np.mean([r["kl"] for r in k_sweep[(sampler, k, T)]])
                                         for T in Ts])
    table += dc.markdown_table(["sampler", "k"] + ["T=%d" % T for T in Ts], rows3)
    table += "\nWall time: %.0f s.\n" % raw["wall_s"]
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(table)
    print(table)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    ax = axes[0]
    colours = {("ddpm", False): "C0", ("ddim", False): "C1", ("ddpm-beta", False): "C3",
               ("ddim-frozen-score", False): "C4", ("ddpm", True): "C2", ("ddim", True): "C5"}
    for sampler, floor in series:
        full = floor >= 0.01
        m = np.array([interval([r["kl"] for r in d_sweep[(sampler, floor, d)]]) for d in dims])
        fl = np.array([np.mean([abs(r["floor"]) for r in d_sweep[(sampler, floor, d)]])
                       for d in dims])
        c = colours[(sampler, full)]
        s, h = slopes[(sampler, floor)]
        shown = np.maximum(m[:, 0], fl)  # at or under the floor: drawn at it, hollow
        ax.errorbar(dims, shown, yerr=m[:, 1], color=c,
                    ls="--" if full else "-", marker="o", capsize=2,
                    label="%s: slope %.2f ± %.2f" % (label(sampler, floor), s, h))
        under = m[:, 0] <= fl
        ax.scatter(np.array(dims)[under], shown[under], s=80,
                   facecolors="white", edgecolors=c, zorder=3)
    floors = [np.mean([abs(r["floor"]) for s, f in series if f < 0.01
                       for r in d_sweep[(s, f, d)]]) for d in dims]
    ax.plot(dims, floors, color="grey", ls=":",
            label="estimator floor (mean |KL| on exact draws of X_1)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("ambient dimension D")
    ax.set_ylabel("KL(Y_1 || X_1) [nats], all D dimensions")
    ax.set_title("k = %d, T = %d knots; hollow: at or under the floor" % (a.k, a.T))
    ax.legend(fontsize=7)
    ax = axes[1]
    for i, k in enumerate(ks):
        fl = k_floor_of(k_sweep, k, Ts)
        for sampler, ls in [("ddpm", "-"), ("ddim", "--")]:
            curve = np.array([np.mean([r["kl"] for r in k_sweep[(sampler, k, T)]]) for T in Ts])
            shown = np.maximum(curve, fl)  # at or under the floor: drawn at it, hollow
            ax.plot(Ts, shown, ls, marker="o", color="C%d" % i, label="%s, k = %d" % (sampler, k))
            under = curve <= fl
            ax.scatter(np.array(Ts)[under], shown[under], s=80, facecolors="white",
                       edgecolors="C%d" % i, zorder=3)
        ax.axhline(fl, color="C%d" % i, ls=":", lw=0.8)
    ax.plot([], [], color="grey", ls=":", label="floor of each k (its colour; hollow: at or under)")
    for i, eps in enumerate(targets):
        ax.axhline(eps, color="black", lw=0.5, label="targets eps (T* table)" if i == 0 else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T (knots; T - 1 iterations)")
    ax.set_ylabel("KL(Y_1 || X_1) [nats]")
    ax.set_title("D = %d: error against T for k = %s" % (a.k_dim, ", ".join(map(str, ks))))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "plot.png"), dpi=110)
    print("wrote %s/table.md, raw.json and plot.png" % a.out)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--from-raw":
        with open(os.path.join(dc.ROOT, "results", "lowdim_adaptation", "raw.json")) as f:
            raw = json.load(f)
        report(argparse.Namespace(**raw["args"]), raw)
    else:
        main()
