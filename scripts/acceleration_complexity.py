#!/usr/bin/env python3
"""Measured iteration complexity T*(eps) of the accelerated theory samplers against eps and d.

T*(eps): the iterations N a sampler needs to reach KL <= eps, against eps (at d = --eps-dim) and
against the dimension d (at eps = --eps-d), with the fitted exponents beside the theory's.

Claim (Li, Huang, Efimov, Wei, Chi & Chen, "Accelerating convergence of score-based diffusion
models, provably", ICML 2024; Li, Zhou, Wei & Chen 2025, the K-th order sampler): the K-th order
accelerated sampler reaches TV <= eps in O~(d^(1 + 2/K) / eps^(1/K)) iterations (K = 1: DDIM).
Samplers (`diffuse sample --list-samplers`): ddim (K = 1), li-accelerated-2 (K = 2), li-kth-3,
li-kth-4 (1, 1, 5 and 10 score evaluations per iteration).

Schedules:
  ddpm-theory  the theory's discrete schedule (c0 = 2, c1 = 4) with T = N + 1 knots for N
               iterations, every knot (sampler.grid: ddpm, N steps); the last time is t = 1/T, and
               the target X_1 moves with T (1 - abar_1 = T^-2). c1 log T / T < 1 needs T >= 9,
               so N >= 8.
  vp-linear    beta in [0.1, 20], t in [t_min = 1e-3, 1], N steps uniform in logSNR
               (--vp-grid); the last time is t_min, the same for every N.

Data: scripts/lowdim_adaptation.py's latent Gaussian mixture in R^2 (4 components, --latent-seed)
lifted to R^d by an orthonormal basis (--basis-seed) with an isotropic floor of variance 0.25:
full-rank data in d dimensions (d = 2: the latent mixture itself). Exact score (model.kind:
analytic), float64, n samples per run, --seeds noise seeds per point (sample seed s, metrics
seed 1000 + s).

Divergence: KL(Y || X_delta) in nats, in all d dimensions, X_delta the data noised to the
sampler's last time (`diffuse eval --noised-to`): the d - 2 complement directions in closed form
from the samples' pooled variance, the 2 subspace coordinates by the Kozachenko-Leonenko entropy
and the exact log-density. Its floor: the same estimator on as many exact draws of X_delta.
TV <= sqrt(KL / 2) (Pinsker), so a KL exponent a in T* ~ (1/eps_KL)^a bounds the TV exponent by 2a.

Each curve (schedule, d, sampler) walks up the coarse --steps grid (N = 8, 16, 32, ...) until
its mean KL falls under --stop-factor x the smallest target it must reach (the eps list and
--eps-d at --eps-dim, which is also the d sweep's largest d; --eps-d at the other d), then
measures geometric midpoints until every target's first crossing lies between measured N at
most --refine-eps (--refine-d) apart. T*(eps) is interpolated log-log between them (first
crossing of the mean curve; la.crossing); fits are also done per seed (mean and 95% t-interval
over seeds). The eps sweep sits at d = 128, where the complement term (measured to about 1/(2n))
dominates the KL, so the targets can span 0.1 to 1.6 nats, above the subspace estimator's noise
(0.02-0.06 per run). The d sweep runs on --d-schedules (default: the theory's schedule only).
Writes --out/{table.md, raw.json, plot.png}.

  /usr/bin/python3 scripts/acceleration_complexity.py              # the committed run
  /usr/bin/python3 scripts/acceleration_complexity.py --from-raw   # table and plot again
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
import lowdim_adaptation as la  # noqa: E402  (latent_mixture, basis, write_config, crossing)

SAMPLERS = ["ddim", "li-accelerated-2", "li-kth-3", "li-kth-4"]
ORDER = {"ddim": 1, "li-accelerated-2": 2, "li-kth-2": 2, "li-kth-3": 3, "li-kth-4": 4}
SCHEDULES = ["ddpm-theory", "vp-linear"]
STEPS = "8,16,32,64,128,256,512"
VP_T_MIN = 1e-3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[1:]))
    p.add_argument("--diffuse", default=dc.DEFAULT_DIFFUSE, help="the diffuse binary")
    p.add_argument("--out", default=os.path.join(dc.ROOT, "results", "acceleration_complexity"),
                   help="output folder")
    p.add_argument("--samplers", default=",".join(SAMPLERS), help="registry names")
    p.add_argument("--schedules", default=",".join(SCHEDULES),
                   help="schedules of the eps sweep (ddpm-theory, vp-linear)")
    p.add_argument("--vp-grid", default="logsnr", help="vp-linear's time grid (logsnr, uniform)")
    p.add_argument("--steps", default=STEPS, help="coarse grid of iterations N to walk up")
    p.add_argument("--refine-eps", type=float, default=1.45,
                   help="eps sweep: refine each crossing to measured N at most this ratio apart")
    p.add_argument("--refine-d", type=float, default=1.45, help="the same for the d sweep")
    p.add_argument("--d-schedules", default="ddpm-theory,vp-linear",
                   help="schedules of the d sweep (the eps sweep at d = --eps-dim is also its "
                        "d = 128 point)")
    p.add_argument("--eps-dim", type=int, default=128, help="d of the eps sweep")
    p.add_argument("--eps", default="0.1,0.16,0.25,0.4,0.63,1,1.6",
                   help="KL targets (nats) of the eps sweep")
    p.add_argument("--dims", default="2,8,32,128", help="d of the d sweep")
    p.add_argument("--eps-d", type=float, default=0.1, help="KL target of the d sweep")
    p.add_argument("--stop-factor", type=float, default=0.8,
                   help="a curve's coarse walk stops once its mean KL < this x its smallest target")
    p.add_argument("-n", "--num-samples", type=int, default=4000, help="samples per run")
    p.add_argument("--seeds", type=int, default=3, help="noise seeds per point")
    p.add_argument("--floor", type=float, default=0.25, help="isotropic noise floor of the data")
    p.add_argument("--components", type=int, default=4, help="latent mixture components")
    p.add_argument("--latent-seed", type=int, default=1, help="seed of the latent mixture")
    p.add_argument("--basis-seed", type=int, default=2, help="seed of the lifting basis")
    p.add_argument("--resume", action="store_true",
                   help="reuse the points already in --out/raw.json (same data and n) and add "
                        "what is missing")
    p.add_argument("--from-raw", action="store_true",
                   help="rewrite table.md and plot.png from raw.json in --out (no runs)")
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# Runs


def config_for(a, work, schedule, dim, steps, latent):
    """The run config (JSON is YAML) and the sampler's last time."""
    k = min(2, dim)
    if schedule == "ddpm-theory":
        T = steps + 1
        path = os.path.join(work, "ddpm-theory-%d-%d.yaml" % (dim, T))
        if not os.path.exists(path):
            la.write_config(path, dim, k, a.floor, T, latent, a.basis_seed)
        return path, 1.0 / T, ["--set", "sampler.grid=ddpm"]
    path = os.path.join(work, "vp-linear-%d.yaml" % dim)
    if not os.path.exists(path):
        la.write_config(path, dim, k, a.floor, 10, latent, a.basis_seed)
        with open(path) as f:
            config = json.load(f)
        config["process"] = {"kind": "vp-linear", "t_min": VP_T_MIN}
        config["sampler"] = {"grid": a.vp_grid}
        with open(path, "w") as f:
            json.dump(config, f)
    return path, VP_T_MIN, ["--set", "sampler.grid=%s" % a.vp_grid]


def measure(a, work, schedule, dim, sampler, steps, seed, latent):
    config, t_last, extra = config_for(a, work, schedule, dim, steps, latent)
    out = os.path.join(work, "samples.npy")
    rec = dc.run_command([a.diffuse, "sample", "-c", config, "--sampler", sampler, "--steps", steps,
                          "-n", a.num_samples, "--seed", seed, "--dtype", "float64", "-o", out]
                         + extra)
    # MMD and sliced W2 are not used: 2 MMD points and 1 projection keep eval fast (the noised KL
    # does not depend on them; its floor's exact draws are other random draws).
    ev = dc.run_command([a.diffuse, "eval", "-c", config, "-s", out, "--noised-to", repr(t_last),
                         "--set", "metrics.seed=%d" % (1000 + seed),
                         "--set", "metrics.mmd_max_points=2", "--set", "metrics.num_projections=1"])
    nk = ev["noised_kl"]
    return {"kl": nk["kl"], "subspace": nk["subspace"], "complement": nk["complement"],
            "floor": nk["floor"], "ratio": nk.get("complement_variance_ratio"),
            "nfe": rec["nfe"], "t_last": t_last}


def finite(x):
    return x is not None and np.isfinite(x)


def run_curve(a, work, raw, schedule, dim, sampler, targets, ratio, latent, started):
    """Walks up the coarse --steps grid until the mean KL is under stop_factor x the smallest
    target, then refines: while the first crossing of a target lies between measured N more than
    `ratio` apart, measures their geometric midpoint."""
    key = "%s|%d|%s" % (schedule, dim, sampler)
    curve = raw["curves"].setdefault(key, {"schedule": schedule, "dim": dim, "sampler": sampler,
                                           "points": []})

    def point(steps):
        for p in curve["points"]:
            if p["steps"] == steps and len(p["runs"]) >= a.seeds:
                return p
        runs = [measure(a, work, schedule, dim, sampler, steps, s, latent) for s in range(a.seeds)]
        p = {"steps": steps, "runs": runs}
        curve["points"] = sorted([q for q in curve["points"] if q["steps"] != steps] + [p],
                                 key=lambda q: q["steps"])
        print("%-11s d = %3d %-16s N = %3d (NFE %4d): KL %s (floor %.3g)  [%.0f s]" % (
            schedule, dim, sampler, steps, runs[0]["nfe"],
            " ".join("%.3g" % r["kl"] for r in runs), np.mean([r["floor"] for r in runs]),
            time.time() - started), flush=True)
        return p

    grid = [int(s) for s in a.steps.split(",")]
    if schedule == "ddpm-theory":
        grid = [s for s in grid if s >= 8]
    for steps in grid:
        if mean_kl(point(steps)) < a.stop_factor * min(targets):
            break
    for eps in sorted(targets):
        while True:
            steps = [p["steps"] for p in curve["points"]]
            kls = [mean_kl(p) for p in curve["points"]]
            first = next((i for i, k in enumerate(kls) if k <= eps), None)
            if first is None or first == 0:
                break
            lo, hi = steps[first - 1], steps[first]
            mid = int(round(np.sqrt(lo * hi)))
            if hi / lo <= ratio or mid <= lo or mid >= hi:
                break
            point(mid)


def main():
    a = parse_args()
    if a.from_raw:
        with open(os.path.join(a.out, "raw.json")) as f:
            raw = json.load(f)
        report(raw)
        return
    dc.check_binary(a.diffuse)
    os.makedirs(a.out, exist_ok=True)
    samplers = a.samplers.split(",")
    schedules = a.schedules.split(",")
    dims = [int(d) for d in a.dims.split(",")]
    targets = [float(e) for e in a.eps.split(",")]
    latent = la.latent_mixture(2, a.components, a.latent_seed)
    work = tempfile.mkdtemp(prefix="acceleration_complexity.")
    raw = {"args": vars(a), "curves": {}}
    started = time.time()
    if a.resume and os.path.exists(os.path.join(a.out, "raw.json")):
        with open(os.path.join(a.out, "raw.json")) as f:
            old = json.load(f)
        same = ["num_samples", "floor", "components", "latent_seed", "basis_seed", "vp_grid"]
        if any(old["args"].get(k) != getattr(a, k) for k in same):
            sys.exit("--resume: raw.json was made with other data or samples settings")
        raw["curves"] = old["curves"]
        started -= old.get("wall_s", 0.0)  # the wall time covers every run
        print("resuming: %d curves in raw.json" % len(raw["curves"]))
    try:
        # The eps sweep (d = eps_dim) on every schedule first, then the other d.
        jobs = [(schedule, a.eps_dim) for schedule in schedules]
        jobs += [(schedule, dim) for schedule in a.d_schedules.split(",")
                 for dim in sorted(dims, reverse=True) if dim != a.eps_dim]
        for schedule, dim in jobs:
            if dim == a.eps_dim:
                curve_targets, ratio = sorted(set(targets + [a.eps_d])), a.refine_eps
            else:
                curve_targets, ratio = [a.eps_d], a.refine_d
            for sampler in samplers:
                run_curve(a, work, raw, schedule, dim, sampler, curve_targets, ratio, latent,
                          started)
    finally:
        raw["wall_s"] = time.time() - started
        raw["curves"] = {k: v for k, v in raw["curves"].items()}
        with open(os.path.join(a.out, "raw.json"), "w") as f:
            json.dump(raw, f, indent=1)
        shutil.rmtree(work, ignore_errors=True)
    report(raw)


# ---------------------------------------------------------------------------------------------
# Analysis


def interval(values):
    """Mean and the half-width of a 95% t-interval (nan with fewer than 2 finite values)."""
    from scipy import stats
    v = np.asarray([x for x in values if finite(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))


def mean_kl(point):
    kls = [r["kl"] for r in point["runs"]]
    return float(np.mean(kls)) if all(finite(k) for k in kls) else float("inf")


def star(steps, kls, eps):
    """T*(eps) from a curve: (value, flag); flag '<=' when the first point is already under eps
    (censored), '>' when no point is, '' otherwise. Log-log interpolation (la.crossing) between
    the last point above eps and the first at or under it; linear in KL against log N when that
    one is <= 0 (a single seed's estimate can be, under the floor)."""
    kls = [k if finite(k) else 1e300 for k in kls]
    i = next((j for j, k in enumerate(kls) if k <= eps), None)
    if i is None:
        return float(steps[-1]), ">"
    if i == 0:
        return float(steps[0]), "<="
    lo, hi = steps[i - 1], steps[i]
    if kls[i] > 0:
        return la.crossing([lo, hi], [kls[i - 1], kls[i]], eps), ""
    f = (kls[i - 1] - eps) / (kls[i - 1] - kls[i])
    return float(np.exp(np.log(lo) + f * (np.log(hi) - np.log(lo)))), ""


def fmt_star(value, flag):
    if flag == "not run":
        return "not run"
    if flag == ">":
        return "> %d" % value
    if flag == "<=":
        return "≤ %d" % value
    return "%.3g" % value


def fit(xs, values, log_corrected=False):
    """Least-squares log-log slope through the uncensored (x, value) pairs; log_corrected: of
    T / log T against x, T = N + 1 the knots of ddpm-theory, whose steps are c1 log T / T."""
    pairs = [(x, (v + 1) / np.log(v + 1) if log_corrected else v)
             for x, (v, f) in zip(xs, values) if f == ""]
    if len(pairs) < 2:
        return float("nan")
    return dc.fit_slope([x for x, _ in pairs], [v for _, v in pairs])


def d_schedules(a):
    return getattr(a, "d_schedules", "ddpm-theory").split(",")


def analyse(raw):
    a = argparse.Namespace(**raw["args"])
    curves = raw["curves"]
    samplers = [s for s in a.samplers.split(",")]
    schedules = a.schedules.split(",")
    dims = sorted(int(d) for d in a.dims.split(","))
    targets = sorted(float(e) for e in a.eps.split(","))
    out = {"a": a, "samplers": samplers, "schedules": schedules, "dims": dims, "targets": targets,
           "eps_table": {}, "d_table": {}, "nfe_cross": {}, "rate": {}}
    for schedule in schedules:
        for sampler in samplers:
            c = curves.get("%s|%d|%s" % (schedule, a.eps_dim, sampler))
            if c is None:
                continue
            steps = [p["steps"] for p in c["points"]]
            mean_curve = [mean_kl(p) for p in c["points"]]
            stars = [star(steps, mean_curve, e) for e in targets]
            inv = [1.0 / e for e in targets]
            per_seed = []
            for s in range(a.seeds):
                seed_curve = [p["runs"][s]["kl"] for p in c["points"]]
                per_seed.append(fit(inv, [star(steps, seed_curve, e) for e in targets]))
            out["eps_table"][(schedule, sampler)] = {
                "stars": stars, "exp": fit(inv, stars), "exp_seeds": interval(per_seed),
                "exp_log": fit(inv, stars, True),
                "nfe_per_step": c["points"][0]["runs"][0]["nfe"] / c["points"][0]["steps"]}
            out["rate"][(schedule, sampler)] = complement_rate(c, a)
        # The d sweep: on --d-schedules, and wherever curves at two or more d were measured.
        swept = schedule in d_schedules(a) or len(
            {d for d in dims if any("%s|%d|%s" % (schedule, d, x) in curves for x in samplers)}) > 1
        for sampler in samplers if swept else []:
            row, seeds_rows = [], [[] for _ in range(a.seeds)]
            for dim in dims:
                c = curves.get("%s|%d|%s" % (schedule, dim, sampler))
                if c is None:
                    row.append((float("nan"), "not run"))
                    for r in seeds_rows:
                        r.append((float("nan"), "not run"))
                    continue
                steps = [p["steps"] for p in c["points"]]
                row.append(star(steps, [mean_kl(p) for p in c["points"]], a.eps_d))
                for s in range(a.seeds):
                    seeds_rows[s].append(star(steps, [p["runs"][s]["kl"] for p in c["points"]],
                                              a.eps_d))
            big = [i for i, d in enumerate(dims) if d >= 8]
            out["d_table"][(schedule, sampler)] = {
                "stars": row, "exp": fit(dims, row), "exp_log": fit(dims, row, True),
                "exp_big_log": fit([dims[i] for i in big], [row[i] for i in big], True),
                "exp_seeds": interval([fit(dims, r) for r in seeds_rows]),
                "exp_big": fit([dims[i] for i in big], [row[i] for i in big]),
                "exp_big_seeds": interval([fit([dims[i] for i in big], [r[i] for i in big])
                                           for r in seeds_rows])}
        # NFE from which each sampler's KL stays under DDIM's (at the eps-sweep d).
        base = curves.get("%s|%d|ddim" % (schedule, a.eps_dim))
        for sampler in samplers:
            c = curves.get("%s|%d|%s" % (schedule, a.eps_dim, sampler))
            if sampler == "ddim" or c is None or base is None:
                continue
            out["nfe_cross"][(schedule, sampler)] = (
                nfe_crossover(base, c, a.stop_factor * min(targets)),
                nfe_crossover(base, c, 10.0 / (2 * a.num_samples), "complement"))
    return out


def complement_rate(c, a, last=3):
    """The asymptotic rate, measured where it is cleanest: the complement term of the KL (the
    d - 2 Gaussian directions, closed form from the pooled variance, error about 1/(2n)) falls as
    N^-p; p is the log-log slope over the `last` largest N whose complement is above 10/(2n),
    from the mean and per seed. KL ~ TV^2 gives TV ~ N^-p/2: T*(eps_TV) ~ eps_TV^(-2/p)."""
    noise = 10.0 / (2 * a.num_samples)
    pts = [p for p in c["points"]
           if np.mean([r["complement"] for r in p["runs"]]) > noise][-last:]
    if len(pts) < 2:
        return None
    n = [p["steps"] for p in pts]
    mean = -dc.fit_slope(n, [np.mean([r["complement"] for r in p["runs"]]) for p in pts])
    seeds = interval([-dc.fit_slope(n, [p["runs"][s]["complement"] for p in pts])
                      for s in range(a.seeds)])
    knots = [(x + 1) / np.log(x + 1) for x in n]
    log_corrected = -dc.fit_slope(knots, [np.mean([r["complement"] for r in p["runs"]])
                                          for p in pts])
    return {"N": n, "p": mean, "p_seeds": seeds, "p_log": log_corrected,
            "complement": [np.mean([r["complement"] for r in p["runs"]]) for p in pts]}


def log_interp(x, xs, ys):
    return float(np.exp(np.interp(np.log(x), np.log(xs), np.log(ys))))


def nfe_crossover(base, c, resolvable, key="kl"):
    """The smallest NFE from which the sampler's mean `key` (kl, or its complement term) stays
    under DDIM's (both interpolated log-log against NFE), over the NFE range where both are
    measured and DDIM's mean is above `resolvable` and (kl) its estimator floor: under them the
    two cannot be told apart. Returns (nfe, flag, (lo, hi))."""
    def value(p):
        v = [r[key] for r in p["runs"]]
        return min(max(float(np.mean(v)), 1e-12), 1e300) if all(finite(x) for x in v) else 1e300
    bx = [p["runs"][0]["nfe"] for p in base["points"]]
    by = [value(p) for p in base["points"]]
    floor = max(r["floor"] for p in base["points"] for r in p["runs"]) if key == "kl" else 0.0
    cx = [p["runs"][0]["nfe"] for p in c["points"]]
    cy = [value(p) for p in c["points"]]
    resolved = [x for x, y in zip(bx, by) if y > max(floor, resolvable)]
    lo, hi = max(bx[0], cx[0]), min(max(resolved) if resolved else bx[0], cx[-1])
    if hi <= lo:
        return None, "no overlap", (lo, hi)
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 400))
    better = [log_interp(x, cx, cy) < log_interp(x, bx, by) for x in grid]
    if all(better):
        return float(lo), "<=", (lo, hi)
    if not better[-1]:
        return float(hi), ">", (lo, hi)
    last_bad = max(i for i, b in enumerate(better) if not b)
    return float(grid[last_bad + 1]), "", (lo, hi)


# ---------------------------------------------------------------------------------------------
# Report


def report(raw):
    r = analyse(raw)
    a, samplers, schedules, dims, targets = r["a"], r["samplers"], r["schedules"], r["dims"], \
        r["targets"]
    curves = raw["curves"]
    text = []
    for schedule in schedules:
        text.append("## %s\n" % schedule)
        text.append(
            "T*(eps): iterations N for mean KL(Y || X_delta) <= eps (nats) at d = %d, interpolated "
            "log-log between measured N (≤ N: already under eps at the first N; > N: not reached). "
            "Exponent: fitted slope of log T* on log(1/eps) over the uncensored eps, from the mean "
            "curve, and per seed (mean ± 95%% t-interval over %d seeds). 2x (Pinsker): the TV "
            "exponent it bounds. Theory: 1/K (in TV).\n" % (a.eps_dim, a.seeds))
        rows = []
        for sampler in samplers:
            e = r["eps_table"].get((schedule, sampler))
            if e is None:
                continue
            K = ORDER.get(sampler, 0)
            rows.append([sampler, K] + [fmt_star(*s) for s in e["stars"]]
                        + ["%.3f" % e["exp"], "%.3f ± %.3f" % e["exp_seeds"]]
                        + (["%.3f" % e["exp_log"]] if schedule == "ddpm-theory" else [])
                        + ["%.2f" % (2 * e["exp"]), "%.2f" % (1.0 / K)])
        text.append(dc.markdown_table(
            ["sampler", "K"] + ["eps=%g" % t for t in targets]
            + ["exp. of 1/eps (mean curve)", "per seed"]
            + (["of T/log T"] if schedule == "ddpm-theory" else [])
            + ["2x (TV, Pinsker)", "theory 1/K"], rows))
        if schedule == "ddpm-theory":
            text.append("\nof T/log T: the exponent of T/log T, T = N + 1 knots (this schedule's "
                        "steps are c1 log T / T, the log factor O~ hides).\n")
        rows = []
        for sampler in samplers:
            e = r["eps_table"].get((schedule, sampler))
            if e is None:
                continue
            rows.append([sampler, "%g" % e["nfe_per_step"]]
                        + [("%s" % fmt_star(v * e["nfe_per_step"], f)) for v, f in e["stars"]])
        text.append("\nThe same in NFE (score evaluations = N x NFE per iteration):\n")
        text.append(dc.markdown_table(["sampler", "NFE/iteration"]
                                      + ["eps=%g" % t for t in targets], rows))
        rows = []
        for sampler in samplers:
            e = r["d_table"].get((schedule, sampler))
            if e is None:
                continue
            K = ORDER.get(sampler, 0)
            rows.append([sampler, K] + [fmt_star(*s) for s in e["stars"]]
                        + ["%.3f (%.3f ± %.3f)" % ((e["exp"],) + e["exp_seeds"]),
                           "%.3f (%.3f ± %.3f)" % ((e["exp_big"],) + e["exp_big_seeds"])]
                        + (["%.3f" % e["exp_big_log"]] if schedule == "ddpm-theory" else [])
                        + ["%.2f" % (1 + 2.0 / K)])
        if rows:
            text.append(
                "\nT*(eps = %g) against d (iterations N). Exponent: slope of log T* on log d over "
                "the uncensored d (all, and d >= 8 only), from the mean curve and per seed (mean "
                "± 95%% t-interval). Theory: 1 + 2/K (an upper bound).\n" % a.eps_d)
            text.append(dc.markdown_table(
                ["sampler", "K"] + ["d=%d" % d for d in dims]
                + ["exp. of d, all (per seed)", "d >= 8 (per seed)"]
                + (["d >= 8, of T/log T"] if schedule == "ddpm-theory" else [])
                + ["theory 1 + 2/K"], rows))
        else:
            text.append("\n(No d sweep on this schedule: see --d-schedules.)\n")
        rows = []
        for sampler in samplers:
            e = r["rate"].get((schedule, sampler))
            if e is None:
                continue
            K = ORDER.get(sampler, 0)
            rows.append([sampler, K, ", ".join(map(str, e["N"])),
                         ", ".join("%.3g" % v for v in e["complement"]),
                         "%.2f (%.2f ± %.2f)" % ((e["p"],) + e["p_seeds"])]
                        + (["%.2f" % e["p_log"]] if schedule == "ddpm-theory" else [])
                        + ["%d" % (2 * K), "%.2f" % (2.0 / e["p"]), "%.2f" % (1.0 / K)])
        if rows:
            text.append(
                "\nThe rate where it is measured cleanest (d = %d): the complement term of the KL "
                "(the d - 2 Gaussian directions, closed form, error about 1/(2n) = %.2g) falls as "
                "N^-p; p: log-log slope over the last measured N (mean curve, and per seed). "
                "Order K gives KL ~ TV^2 ~ N^-2K, so 2/p is the TV exponent of 1/eps "
                "(theory 1/K).\n" % (a.eps_dim, 0.5 / a.num_samples))
            text.append(dc.markdown_table(
                ["sampler", "K", "N", "complement KL (nats)", "p (per seed)"]
                + (["p of T/log T"] if schedule == "ddpm-theory" else [])
                + ["2K", "2/p: TV exp.", "theory 1/K"], rows))
        text.append("\nFrom which NFE each sampler's mean KL stays under DDIM's (d = %d; "
                    "against NFE interpolated log-log, compared where both are measured and DDIM's "
                    "mean KL is above its estimator floor and %g x the smallest eps; by the "
                    "complement term alone, where DDIM's is above 10/(2n)):\n"
                    % (a.eps_dim, a.stop_factor))

        def cell(x):
            nfe, flag, (lo, hi) = x
            if flag == "no overlap":
                return "no common NFE range", ""
            return ({"": "%.0f", "<=": "≤ %.0f (everywhere compared)",
                     ">": "never (up to %.0f)"}[flag] % nfe, "%.0f-%.0f" % (lo, hi))
        rows = []
        for sampler in samplers:
            x = r["nfe_cross"].get((schedule, sampler))
            if x is None:
                continue
            rows.append([sampler, *cell(x[0]), *cell(x[1])])
        text.append(dc.markdown_table(["sampler", "beats DDIM from NFE (KL)", "NFE range compared",
                                       "(complement term)", "NFE range compared"], rows))
        text.append("\nMeasured KL (mean over seeds, nats; floor: mean estimator floor; "
                    "'≤fl': mean at or under the largest floor of its seeds):\n")
        for dim in sorted(set(dims + [a.eps_dim])):
            if not any("%s|%d|%s" % (schedule, dim, x) in curves for x in samplers):
                continue
            rows = []
            for sampler in samplers:
                c = curves.get("%s|%d|%s" % (schedule, dim, sampler))
                if c is None:
                    continue
                cells = []
                for p in c["points"]:
                    m = mean_kl(p)
                    h = interval([x["kl"] for x in p["runs"]])[1]
                    fl = max(x["floor"] for x in p["runs"])
                    cells.append("N=%d: %.3g ± %.2g%s" % (p["steps"], m, h,
                                                         " ≤fl" if m <= fl else ""))
                fl = np.mean([x["floor"] for p in c["points"] for x in p["runs"]])
                rows.append([sampler, "%.3g" % fl, "; ".join(cells)])
            text.append("\nd = %d:\n\n" % dim + dc.markdown_table(
                ["sampler", "floor", "KL per N (± 95% t-interval)"], rows))
        text.append("\n")
    text.append("Wall time of the runs: %.0f s.\n" % raw.get("wall_s", float("nan")))
    table = "\n".join(text)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(table)
    print(table)
    plot(raw, r)


def plot(raw, r):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    a, samplers, schedules, dims, targets = r["a"], r["samplers"], r["schedules"], r["dims"], \
        r["targets"]
    curves = raw["curves"]
    colours = {s: "C%d" % i for i, s in enumerate(samplers)}
    fig, axes = plt.subplots(len(schedules), 3, figsize=(17, 4.8 * len(schedules)), squeeze=False)
    for row, schedule in enumerate(schedules):
        # (1) KL against NFE at the eps-sweep d.
        ax = axes[row][0]
        floors = []
        for sampler in samplers:
            c = curves.get("%s|%d|%s" % (schedule, a.eps_dim, sampler))
            if c is None:
                continue
            x = np.array([p["runs"][0]["nfe"] for p in c["points"]], float)
            m = np.array([interval([q["kl"] for q in p["runs"]]) for p in c["points"]])
            fl = np.array([max(q["floor"] for q in p["runs"]) for p in c["points"]])
            floors += [q["floor"] for p in c["points"] for q in p["runs"]]
            y = np.clip(m[:, 0], 1e-4, 1e300)  # a mean KL <= 0 (possible under the floor) at 1e-4
            ax.errorbar(x, y, yerr=np.nan_to_num(m[:, 1]), color=colours[sampler], marker="o",
                        ms=4, capsize=2, label="%s (K = %d)" % (sampler, ORDER.get(sampler, 0)))
            under = m[:, 0] <= fl
            if under.any():
                ax.scatter(x[under], y[under], s=70, facecolors="white",
                           edgecolors=colours[sampler], zorder=3)
        ax.axhline(np.mean(floors), color="grey", ls=":",
                   label="estimator floor (mean; hollow: at or under)")
        for i, e in enumerate(targets):
            ax.axhline(e, color="black", lw=0.4, label="KL targets eps" if i == 0 else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("NFE (score evaluations)")
        ax.set_ylabel("KL(Y || X_delta) [nats], all d dimensions")
        ax.set_title("%s, d = %d: KL against NFE (mean, 95%% CI over %d seeds)" % (
            schedule, a.eps_dim, a.seeds), fontsize=9)
        ax.legend(fontsize=7)
        # (2) T* against 1/eps.
        ax = axes[row][1]
        inv = np.array([1.0 / e for e in targets])
        for sampler in samplers:
            e = r["eps_table"].get((schedule, sampler))
            if e is None:
                continue
            vals = np.array([v for v, _ in e["stars"]])
            ok = np.array([f == "" for _, f in e["stars"]])
            ax.plot(inv[ok], vals[ok], "o-", color=colours[sampler],
                    label="%s: exponent %.2f ± %.2f (theory, TV: %.2f)" % (
                        (sampler,) + e["exp_seeds"] + (1.0 / ORDER.get(sampler, 1),)))
            if (~ok).any():
                ax.scatter(inv[~ok], vals[~ok], marker="v", facecolors="white",
                           edgecolors=colours[sampler], s=50, zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("1 / eps  (eps: KL target, nats)")
        ax.set_ylabel("T*(eps): iterations N")
        ax.set_title("%s, d = %d: T* against 1/eps (hollow: censored, not fitted)" % (
            schedule, a.eps_dim), fontsize=9)
        ax.legend(fontsize=7)
        # (3) T* against d; on a schedule without a d sweep, the d sweep's KL curves instead.
        ax = axes[row][2]
        if not any((schedule, s) in r["d_table"] for s in samplers):
            plot_d_curves(ax, raw, a, samplers, dims, colours)
            continue
        for sampler in samplers:
            e = r["d_table"].get((schedule, sampler))
            if e is None:
                continue
            vals = np.array([v for v, _ in e["stars"]])
            ok = np.array([f == "" for _, f in e["stars"]])
            ax.plot(np.array(dims)[ok], vals[ok], "o-", color=colours[sampler],
                    label="%s: exponent %.2f ± %.2f (theory bound %.2f)" % (
                        (sampler,) + e["exp_seeds"] + (1 + 2.0 / ORDER.get(sampler, 1),)))
            if (~ok).any():
                ax.scatter(np.array(dims)[~ok], vals[~ok], marker="v", facecolors="white",
                           edgecolors=colours[sampler], s=50, zorder=3)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("T*(eps = %g nats): iterations N" % a.eps_d)
        ax.set_title("%s: T* against d at KL eps = %g" % (schedule, a.eps_d), fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "plot.png"), dpi=100)
    print("wrote %s/table.md and plot.png" % a.out)


def plot_d_curves(ax, raw, a, samplers, dims, colours):
    schedule = d_schedules(a)[0]
    markers = ["s", "^", "D", "o", "v", "p"]
    floors = []
    for sampler in samplers:
        for i, dim in enumerate(dims):
            c = raw["curves"].get("%s|%d|%s" % (schedule, dim, sampler))
            if c is None:
                continue
            x = [p["steps"] for p in c["points"]]
            y = np.clip([mean_kl(p) for p in c["points"]], 1e-4, 1e300)
            floors += [q["floor"] for p in c["points"] for q in p["runs"]]
            ax.plot(x, y, "-", marker=markers[i % len(markers)], ms=4, color=colours[sampler],
                    alpha=0.4 + 0.6 * i / max(1, len(dims) - 1),
                    label="%s, d = %d" % (sampler, dim))
            fl = np.array([max(q["floor"] for q in p["runs"]) for p in c["points"]])
            under = np.array([mean_kl(p) for p in c["points"]]) <= fl
            if under.any():
                ax.scatter(np.array(x)[under], y[under], s=60, facecolors="white",
                           edgecolors=colours[sampler], zorder=3)
    ax.axhline(np.mean(floors), color="grey", ls=":", label="estimator floor (mean)")
    ax.axhline(a.eps_d, color="black", lw=0.6, label="eps = %g" % a.eps_d)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1e3)
    ax.set_xlabel("iterations N")
    ax.set_ylabel("mean KL(Y || X_delta) [nats]")
    ax.set_title("%s, d sweep: mean KL against N (off scale: above 1e3, or <= 0 at 1e-4; hollow: "
                 "at or under the floor)" % schedule, fontsize=8)
    ax.legend(fontsize=6, ncol=2)


if __name__ == "__main__":
    main()
