#!/usr/bin/env python3
"""Acceleration (seed talk 002, Part 3): error against NFE with the exact score,
and the fitted log-log slope of each sampler beside the order its theory gives.

Samplers (registry names of `diffuse sample --list-samplers`): ddim, ddpm, li-accelerated-2,
li-kth-2/3/4, dpm-solver-2, dpm-solver-3, dpm-solver++2m, unipc-bh2-2, unipc-bh2-3, heun, all on
one grid (logSNR by default), process vp-linear, float64, from one fixed x_T (`--noise`).

Data (--datasets):
  gaussian  N(0.5 * 1, 0.25 I) in D = 8 (the Gaussian of the order tests, in 8 dimensions); the
            exact probability-flow ODE map is closed form (vp-linear's alpha from docs/design.md),
            and rk45 at --rtol is run beside it as a check;
  lowdim    the D = 64, k = 4 mixture of scripts/quality_per_nfe.py; the exact map is rk45 at
            --rtol (its floor: the distance to rk45 at 100x looser tolerance).

Error:
  deterministic  RMS over the samples of |x - x*|, x* the exact map of the same x_T (strong error);
  ddpm           weak error: the Wasserstein-2 distance between Gaussians fitted (mean and
                 covariance) to the DDPM samples and to x* (the exact output distribution; for
                 Gaussian data both are exactly Gaussian), from the same x_T; for low-rank data
                 in the k principal coordinates of x* (the data subspace), where the covariance
                 fit is well posed with --ddpm-samples samples. Its floor (the fit's sampling
                 noise): the RMS of the same distance between DDPM runs of seeds 0, 1 and 2
                 at the largest budget <= 160 NFE, divided by sqrt(2). On the mixture it is
                 large (which component a sample ends in is random, and the mean follows).

The slope: least squares of log(error) on log(NFE) through the --fit-points largest NFE before
the error first falls below 3x the floor (the asymptotic end; the steps are the largest with
NFE <= the budget, so the NFE actually spent is used). Writes results/acceleration/{table.md,
raw.csv, summary.json, acceleration.png}.

  /usr/bin/python3 scripts/acceleration.py                         # the committed run
  /usr/bin/python3 scripts/acceleration.py --datasets gaussian --samplers ddim,heun
  /usr/bin/python3 scripts/acceleration.py --from-raw             # table and plot again
"""
import argparse
import csv
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as dc  # noqa: E402
import quality_per_nfe as q  # noqa: E402  (Diffuse runner, configs, exact-map distances, fmt)

SAMPLERS = ["ddim", "ddpm", "li-accelerated-2", "li-kth-2", "li-kth-3", "li-kth-4",
            "dpm-solver-2", "dpm-solver-3", "dpm-solver++2m", "unipc-bh2-2", "unipc-bh2-3",
            "heun"]
# The slope the sampler's theory predicts for error against NFE, and where it comes from.
THEORY = {
    "ddim": (-1, "first order (Li, Wei, Chen, Chi: TV ~ d/T)"),
    "ddpm": (-1, "weak order 1 (TV ~ d/T, Li & Yan 2024)"),
    "li-accelerated-2": (-2, "second order (Li, Huang et al. 2024)"),
    "li-kth-2": (-2, "min(quadrature order K(+1), rounds + 1) = 2"),
    "li-kth-3": (-3, "min(4, rounds + 1 = 3) = 3; Theorem 5: eps^(-1/K)"),
    "li-kth-4": (-4, "min(4, rounds + 1 = 4) = 4"),
    "dpm-solver-2": (-2, "order 2 (Lu et al. 2022)"),
    "dpm-solver-3": (-3, "order 3"),
    "dpm-solver++2m": (-2, "order 2 (Lu et al. 2022b)"),
    "unipc-bh2-1": (-2, "UniC raises p = 1 to 2 (Zhao et al. 2023)"),
    "unipc-bh2-2": (-3, "UniC raises p = 2 to 3"),
    "unipc-bh2-3": (-3, "formally 3 (the first step caps it), 4 after warm-up"),
    "heun": (-2, "order 2 (Karras et al. 2022)"),
}
GAUSSIAN_DIM, GAUSSIAN_MEAN, GAUSSIAN_VAR = 8, 0.5, 0.25
q.DATASETS.setdefault("gaussian", {
    "data": {"kind": "mixture",
             "components": "[{weight: 1.0, mean: [%s], iso: %g}]"
                           % (", ".join([str(GAUSSIAN_MEAN)] * GAUSSIAN_DIM), GAUSSIAN_VAR)},
    "dim": GAUSSIAN_DIM, "subspace": None,
    "title": "Gaussian N(0.5 * 1, 0.25 I), D = 8"})
NFES = [10, 20, 40, 80, 160, 320, 640, 1280]
FLOOR_NFE = 160  # the ddpm floor's second run: the largest budget up to this


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[1:]))
    p.add_argument("--diffuse", default=os.path.join(q.REPO, "build", "diffuse"))
    p.add_argument("--out", default=os.path.join(q.REPO, "results", "acceleration"))
    p.add_argument("--datasets", default="gaussian,lowdim")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--grid", default="logsnr", help="uniform, logsnr or quadratic")
    p.add_argument("--nfe", default=",".join(map(str, NFES)), help="NFE budgets")
    p.add_argument("-n", "--num-samples", type=int, default=1024,
                   help="samples of the deterministic runs")
    p.add_argument("--ddpm-samples", default="gaussian:32768,lowdim:8192",
                   help="samples of the ddpm runs, per data set")
    p.add_argument("--rtol", type=float, default=1e-10, help="rk45 tolerance of the reference")
    p.add_argument("--fit-points", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from-raw", action="store_true",
                   help="rewrite table.md and the plot from raw.csv and summary.json in --out")
    return p.parse_args()


# ---------------------------------------------------------------------------------------------
# Exact references and error measures


def vp_linear_alpha(t, b0=0.1, b1=20.0):
    return math.exp(-(b1 - b0) * t * t / 4.0 - b0 * t / 2.0)


def gaussian_exact_map(x_T):
    """Closed-form PF-ODE map of N(m, s^2 I) data from t = T_MAX to T_MIN: the marginal is
    N(alpha m, v I), v = alpha^2 s^2 + 1 - alpha^2, and the map is affine along it."""
    a1, a0 = vp_linear_alpha(q.T_MAX), vp_linear_alpha(q.T_MIN)
    v1 = a1 * a1 * GAUSSIAN_VAR + 1 - a1 * a1
    v0 = a0 * a0 * GAUSSIAN_VAR + 1 - a0 * a0
    return a0 * GAUSSIAN_MEAN + math.sqrt(v0 / v1) * (x_T - a1 * GAUSSIAN_MEAN)


def psd_sqrt(c):
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def gaussian_fit_w2(a, b):
    """W2 between the Gaussians fitted to samples a and b (mean and covariance)."""
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    rb = psd_sqrt(cb)
    cross = psd_sqrt(rb @ ca @ rb)
    w2 = ((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(cross)
    return float(math.sqrt(max(w2, 0.0)))


# ---------------------------------------------------------------------------------------------
# The run


def run_dataset(args, dataset, diffuse, diffuse_others, registry, samplers, budgets, work):
    spec = q.DATASETS[dataset]
    config = q.write_config(work, dataset)
    rng = np.random.default_rng(args.seed)
    noise = os.path.join(work, f"{dataset}_xT.npy")
    np.save(noise, rng.standard_normal((args.num_samples, spec["dim"])))
    ddpm_n = dict(kv.split(":") for kv in args.ddpm_samples.split(","))
    info = {}

    def reference(noise_path, rtol):
        path, rec = diffuse.sample(config, "rk45", "logsnr", None, noise_path,
                                   [f"sampler.rtol={rtol}", f"sampler.atol={rtol}"])
        x = np.load(path)
        q.remove_run(path)
        return x, rec["nfe"]

    x_rk, info["reference_nfe"] = reference(noise, args.rtol)
    if dataset == "gaussian":
        x_star = gaussian_exact_map(np.load(noise))
        info["floor"] = q.rms(x_rk, x_star)  # rk45 against the closed form
        info["floor_what"] = f"rk45 (rtol {args.rtol:g}) vs the closed form"
    else:
        x_star = x_rk
        x_loose, _ = reference(noise, args.rtol * 100)
        info["floor"] = q.rms(x_loose, x_star)
        info["floor_what"] = f"rk45 at rtol {args.rtol * 100:g} vs {args.rtol:g}"
    print(f"[{dataset}] exact map: {info['floor_what']}: {info['floor']:.2e} "
          f"(rk45 {info['reference_nfe']} NFE)", flush=True)

    # ddpm: its own, larger x_T and exact output distribution.
    ddpm_noise, ddpm_star, basis = None, None, None
    if any(registry[s]["stochastic"] for s in samplers):
        n = int(ddpm_n.get(dataset, args.num_samples))
        ddpm_noise = os.path.join(work, f"{dataset}_xT_ddpm.npy")
        np.save(ddpm_noise, np.random.default_rng(args.seed + 1).standard_normal((n, spec["dim"])))
        if dataset == "gaussian":
            ddpm_star = gaussian_exact_map(np.load(ddpm_noise))
        else:
            ddpm_star, _ = reference(ddpm_noise, args.rtol * 100)  # 1e-8: far below the noise
        basis = q.Reference(ddpm_star, spec["subspace"]).basis  # None for full-rank data
        if basis is not None:
            ddpm_star = ddpm_star @ basis
        info["ddpm_samples"] = n

    records = []
    for sampler in samplers:
        row = registry[sampler]
        t0 = time.time()
        last = None
        for target in budgets:
            k = target // row["per_step"]
            if k < 1:
                continue
            rec = {"dataset": dataset, "sampler": sampler, "stochastic": row["stochastic"],
                   "grid": args.grid, "target_nfe": target, "steps": k}
            try:
                if row["stochastic"]:
                    path, out = diffuse.sample(config, sampler, args.grid, k, ddpm_noise)
                    x = np.load(path)
                    rec["error"] = gaussian_fit_w2(x if basis is None else x @ basis, ddpm_star)
                    if target <= FLOOR_NFE:
                        last = (k, x)
                else:
                    path, out = diffuse.sample(config, sampler, args.grid, k, noise)
                    x = np.load(path)
                    rec["error"] = q.rms(x, x_star)
                rec["nfe"] = out["nfe"]
                rec["non_finite"] = int((~np.isfinite(x)).any(1).sum())
                q.remove_run(path)
            except Exception as e:  # noted in the table, never fatal
                rec["failure"] = str(e)
            records.append(rec)
        if row["stochastic"] and last is not None:  # the weak error's floor: seeds 0, 1, 2
            runs = [last[1]]
            for other in diffuse_others:
                path, _ = other.sample(config, sampler, args.grid, last[0], ddpm_noise)
                runs.append(np.load(path))
                q.remove_run(path)
            if basis is not None:
                runs = [x @ basis for x in runs]
            pairs = [gaussian_fit_w2(runs[i], runs[j])
                     for i in range(len(runs)) for j in range(i + 1, len(runs))]
            info[f"floor_{sampler}"] = math.sqrt(np.mean(np.square(pairs)) / 2)
            info[f"floor_{sampler}_nfe"] = last[0] * row["per_step"]
        print(f"[{dataset}] {sampler}: {time.time() - t0:.0f} s", flush=True)
    return records, info


def fitted_slope(records, floor, points):
    """Slope through the `points` largest NFE before the error first falls below 3 x floor
    (later points are at the floor, whatever they show)."""
    good = []
    for n, e in sorted((r["nfe"], r["error"]) for r in records
                       if r.get("error") is not None and math.isfinite(r["error"])):
        if e < 3 * floor:
            break
        good.append((n, e))
    use = good[-points:]
    if len(use) < 2:
        return float("nan"), None
    return dc.fit_slope([n for n, _ in use], [e for _, e in use]), (use[0][0], use[-1][0])


def from_raw(args):
    with open(os.path.join(args.out, "summary.json")) as f:
        summary = json.load(f)
    records = []
    with open(os.path.join(args.out, "raw.csv"), newline="") as f:
        for row in csv.DictReader(f):
            rec = {k: v for k, v in row.items() if v != ""}
            for k in ("target_nfe", "steps", "nfe", "non_finite"):
                if k in rec:
                    rec[k] = int(rec[k])
            if "error" in rec:
                rec["error"] = float(rec["error"])
            rec["stochastic"] = rec["stochastic"] == "True"
            records.append(rec)
    samplers = summary["samplers"]
    registry = {r["sampler"]: {"stochastic": r["stochastic"]} for r in records}
    args.grid, args.num_samples, args.fit_points = (summary["grid"], summary["num_samples"],
                                                    args.fit_points)
    slopes = write_table(args, records, summary["datasets"], samplers, summary["budgets"],
                         registry, summary["seconds"], summary["command"])
    plot(args, records, summary["datasets"], samplers, slopes, registry)
    print(open(os.path.join(args.out, "table.md")).read())


def main():
    args = parse_args()
    if args.from_raw:
        return from_raw(args)
    t_start = time.time()
    binary = os.path.abspath(args.diffuse)
    dc.check_binary(binary)
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="acceleration_")
    registry = {r["name"]: r for r in q.list_samplers(binary)}
    samplers = args.samplers.split(",")
    for s in samplers:
        if s not in registry or registry[s]["per_step"] is None:
            sys.exit(f"unknown or adaptive sampler {s}")
    budgets = [int(v) for v in args.nfe.split(",")]
    diffuse = q.Diffuse(binary, work, args.seed)
    diffuse_others = [q.Diffuse(binary, work, args.seed + i) for i in (1, 2)]

    records, infos = [], {}
    for dataset in args.datasets.split(","):
        recs, infos[dataset] = run_dataset(args, dataset, diffuse, diffuse_others, registry,
                                           samplers, budgets, work)
        records += recs
    seconds = time.time() - t_start
    shutil.rmtree(work, ignore_errors=True)

    with open(os.path.join(args.out, "raw.csv"), "w", newline="") as f:
        fields = ["dataset", "sampler", "stochastic", "grid", "target_nfe", "steps", "nfe",
                  "error", "non_finite", "failure"]
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    cmd = " ".join(shlex.quote(a) for a in ["/usr/bin/python3", "scripts/acceleration.py"]
                   + sys.argv[1:])
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"command": cmd, "seconds": seconds, "cpu_seconds": q.cpu_seconds(),
                   "grid": args.grid, "num_samples": args.num_samples, "budgets": budgets,
                   "samplers": samplers, "datasets": infos}, f, indent=1)
    slopes = write_table(args, records, infos, samplers, budgets, registry, seconds, cmd)
    plot(args, records, infos, samplers, slopes, registry)
    print(open(os.path.join(args.out, "table.md")).read())
    print(f"done in {seconds / 60:.1f} min ({q.cpu_seconds() / 60:.1f} min of CPU); outputs in "
          f"{args.out}\nregenerate with: {cmd}")


# ---------------------------------------------------------------------------------------------
# Outputs


def write_table(args, records, infos, samplers, budgets, registry, seconds, cmd):
    lines = ["# Acceleration: error against NFE (claim 7)", "",
             f"Generated by `{cmd}` ({seconds / 60:.1f} min). Process vp-linear, grid "
             f"`{args.grid}`, analytic score, float64, seed {args.seed}. Deterministic "
             f"samplers: RMS distance to the exact PF-ODE map of the same x_T "
             f"({args.num_samples} samples). `ddpm` (stochastic): W2 between Gaussians fitted "
             "to its samples and to the exact map's (a weak error; for low-rank data in the "
             "data subspace's k coordinates). A cell is the error at "
             "the budget in the column head (`@n`: the NFE actually spent). `slope`: least "
             f"squares of log error on log NFE through the {args.fit_points} largest NFE before "
             "the error first falls below 3x the floor (the NFE range beside it); `theory`: "
             "the order of the "
             "sampler's construction.", ""]
    slopes = {}
    for dataset, info in infos.items():
        lines += [f"## {q.DATASETS[dataset]['title']}", "",
                  f"- floor of the exact map: {info['floor_what']}: {q.fmt(info['floor'])} "
                  f"(RMS; rk45 spent {info['reference_nfe']} NFE)."]
        for s in samplers:
            if f"floor_{s}" in info:
                lines.append(f"- floor of `{s}`'s weak error ({info['ddpm_samples']} samples; "
                             "RMS over seeds 0, 1, 2 pairwise at "
                             f"{info[f'floor_{s}_nfe']} NFE, / sqrt 2): "
                             f"{q.fmt(info[f'floor_{s}'])}.")
        lines += ["", "| sampler | " + " | ".join(str(n) for n in budgets)
                  + " | slope (NFE range) | theory |",
                  "| --- |" + " ---: |" * len(budgets) + " ---: | --- |"]
        for s in samplers:
            recs = [r for r in records if r["dataset"] == dataset and r["sampler"] == s]
            by = {r["target_nfe"]: r for r in recs}
            cells = []
            for n in budgets:
                r = by.get(n)
                if r is None:
                    cells.append("-")
                elif "failure" in r:
                    cells.append("ERR")
                else:
                    c = q.fmt(r["error"])
                    if r.get("non_finite"):
                        c += f" ({r['non_finite']} NaN)"
                    if r["nfe"] != n:
                        c += f" @{r['nfe']}"
                    cells.append(c)
            floor = info.get(f"floor_{s}", info["floor"])
            slope, span = fitted_slope(recs, floor, args.fit_points)
            slopes[(dataset, s)] = (slope, span)
            theory = THEORY.get(s, (None, ""))
            lines.append(f"| {s} | " + " | ".join(cells) + " | "
                         + (f"{slope:.2f} ({span[0]}-{span[1]})" if span else "-") + " | "
                         + (f"{theory[0]}: {theory[1]}" if theory[0] is not None else "") + " |")
        lines.append("")
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("\n".join(lines))
    return slopes


def plot(args, records, infos, samplers, slopes, registry):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    datasets = list(infos)
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.4 * len(datasets), 5.4), squeeze=False)
    colours = plt.get_cmap("tab20")
    for ax, dataset in zip(axes[0], datasets):
        for i, s in enumerate(samplers):
            pts = sorted((r["nfe"], r["error"]) for r in records
                         if r["dataset"] == dataset and r["sampler"] == s
                         and r.get("error") is not None and math.isfinite(r["error"]))
            if not pts:
                continue
            slope = slopes.get((dataset, s), (float("nan"), None))[0]
            ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, lw=1.2,
                      ls="--" if registry[s]["stochastic"] else "-", color=colours(i),
                      label=f"{s} ({slope:.1f} / {THEORY.get(s, ('?',))[0]})")
        info = infos[dataset]
        ax.axhline(info["floor"], color="k", ls=":", lw=1)
        for i, s in enumerate(samplers):
            if f"floor_{s}" in info:  # a stochastic sampler's own floor
                ax.axhline(info[f"floor_{s}"], color=colours(i), ls=":", lw=1)
        ax.set_ylim(max(info["floor"] / 10, 1e-12), 1e3)
        ax.set_xlabel("NFE")
        ax.set_ylabel("RMS distance to the exact map (ddpm: fitted-Gaussian W2)")
        ax.set_title(q.DATASETS[dataset]["title"] + f", grid {args.grid}", fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=6.5, loc="lower left", title="sampler (slope / theory)",
                  title_fontsize=7)
    fig.suptitle("Error against NFE, exact score, vp-linear, float64", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "acceleration.png"), dpi=100)


if __name__ == "__main__":
    main()
