#!/usr/bin/env python3
"""Quality per NFE of every sampler against the analytic oracle.

For each data set (the 8-Gaussian ring, and a D = 64, k = 4 low-dimensional mixture), every
sampler of `diffuse sample --list-samplers` (rk45 is the reference, not a row), the grids
uniform-t and logSNR, and NFE budgets 5, 10, 20, 50, 100, 1000, the script runs
`diffuse sample` in float64 from one fixed x_T (`--noise`), then measures

  map     |x - x*| per sample, x* = the exact probability-flow ODE map of the same x_T (rk45 at
          rtol = atol = 1e-8), as RMS and median over the samples; deterministic samplers only
  sw2     sliced Wasserstein-2 against the true mixture (`diffuse eval`, 256 projections)
  nll     negative log-likelihood per dimension under the true mixture (`diffuse eval`)

The steps K are the largest with K * (NFE per step) <= the budget; the NFE actually spent is
recorded (a "-" cell: one step costs more than the budget). Then, on the low-dimensional mixture,
it searches each deterministic sampler on the grids uniform, logsnr, quadratic and cubic (uniform
in t^(1/3), given as sampler.times_file) for the smallest NFE whose RMS / median map distance is
at most that of 1000-step DDIM on the uniform grid (e_ref).

Writes results/quality_per_nfe/{table.md, raw.csv, summary.json, map_vs_nfe_lowdim.png};
--check N writes check.md and check.csv instead (the headline at N samples, where the few samples
that switch mixture component are counted well enough for the RMS to settle).

  /usr/bin/python3 scripts/quality_per_nfe.py                # the full table, 1024 samples
  /usr/bin/python3 scripts/quality_per_nfe.py -n 4096        # the committed table
  /usr/bin/python3 scripts/quality_per_nfe.py --check 65536  # the committed check.md
  /usr/bin/python3 scripts/quality_per_nfe.py --quick        # NFE <= 20, 512 samples: a smoke run
  /usr/bin/python3 scripts/quality_per_nfe.py --datasets lowdim --samplers ddim,unipc-bh2-3
  /usr/bin/python3 scripts/quality_per_nfe.py --from-raw     # table.md and the figure again
"""
import argparse
import concurrent.futures as futures
import csv
import json
import math
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DATASETS = {
    "ring8": {"data": {"kind": "ring8"}, "dim": 2, "subspace": None,
              "title": "8-Gaussian ring (D = 2)"},
    "lowdim": {"data": {"kind": "lowdim", "dim": 64, "subspace_dim": 4}, "dim": 64, "subspace": 4,
               "title": "low-dimensional mixture (D = 64, k = 4: 4 Gaussians in a 4-D subspace)"},
}
TABLE_GRIDS = ["uniform", "logsnr"]
HEADLINE_GRIDS = ["uniform", "logsnr", "quadratic", "cubic"]
# Grids uniform in t^p that diffuse has no name for (quadratic is its p = 1/2): given as
# sampler.times_file. vp-linear runs from t = 1 to t = 1e-3.
POWER_GRIDS = {"cubic": 1.0 / 3.0}
T_MAX, T_MIN = 1.0, 1e-3
NFES = [5, 10, 20, 50, 100, 1000]
# The finer NFE list of the headline search: every NFE up to 20, then every second up to 50.
FINE_NFES = list(range(4, 21)) + list(range(22, 51, 2))
HEADLINE_CHECKPOINTS = [10, 20, 50]  # the search's coarse pass
CRITERIA = ["map", "map_median"]  # RMS and median distance to the exact map
PLOT_GRIDS = ["uniform", "logsnr", "cubic"]
# The samplers drawn in the figure.
PLOT_SAMPLERS = ["ddim", "heun", "dpm-solver-2", "dpm-solver-3", "dpm-solver-fast",
                 "dpm-solver++2m", "dpm-solver++3m-corrected", "unipc-bh2-3", "li-accelerated-2",
                 "li-kth-3"]
FIELDS = ["phase", "dataset", "sampler", "stochastic", "grid", "target_nfe", "steps", "nfe",
          "map", "map_median", "map_subspace", "map_orthogonal", "sw2", "nll", "non_finite", "sample_s",
          "error"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=os.path.join(REPO, "build", "diffuse"),
                   help="the diffuse binary (default: build/diffuse)")
    p.add_argument("--out", default=os.path.join(REPO, "results", "quality_per_nfe"))
    p.add_argument("--work", default=None, help="scratch folder (default: a fresh one in /tmp)")
    p.add_argument("--datasets", default="ring8,lowdim")
    p.add_argument("--samplers", default="all", help="comma list, or 'all' (rk45 excluded)")
    p.add_argument("--grids", default=",".join(TABLE_GRIDS))
    p.add_argument("--nfe", default=",".join(map(str, NFES)), help="NFE budgets of the table")
    p.add_argument("-n", "--num-samples", type=int, default=1024,
                   help="samples per run (the committed table: 4096)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="diffuse processes at once")
    p.add_argument("--rtol", type=float, default=1e-8, help="rk45 tolerance of the reference")
    p.add_argument("--no-headline", action="store_true", help="skip the smallest-NFE search")
    p.add_argument("--headline-grids", default=",".join(HEADLINE_GRIDS))
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="instead of the table: the headline check with N samples on the "
                        "low-dimensional mixture (1000-step DDIM and --check-samplers on "
                        "--check-grids at --check-nfe); writes check.md and check.csv")
    p.add_argument("--check-samplers", default="unipc-bh2-3")
    p.add_argument("--check-grids", default="quadratic,logsnr")
    p.add_argument("--check-nfe", default="16,20,24,28,32,40")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="bootstrap resamples for the check's intervals")
    p.add_argument("--from-raw", action="store_true",
                   help="rewrite table.md and the figure from raw.csv and summary.json in --out")
    p.add_argument("--quick", action="store_true",
                   help="NFE 5, 10, 20 (and 1000-step DDIM for e_ref), 512 samples: a smoke run")
    args = p.parse_args()
    if args.quick:
        args.nfe = "5,10,20"
        if "--num-samples" not in sys.argv and "-n" not in sys.argv:
            args.num_samples = 512
    return args


# ---------------------------------------------------------------------------------------------
# Running diffuse


class Diffuse:
    def __init__(self, binary, work, seed):
        self.binary, self.work, self.seed = binary, work, seed
        self.counter = 0
        self.lock = threading.Lock()

    def fresh(self, stem):
        with self.lock:
            self.counter += 1
            return os.path.join(self.work, f"{self.counter:05d}_{stem}")

    def run(self, args):
        proc = subprocess.run([self.binary] + args, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            raise RuntimeError(f"exit {proc.returncode}: {tail}")
        return proc.stdout

    def sample(self, config, sampler, grid, steps, noise, sets=()):
        out = self.fresh(f"{sampler}_{grid}_{steps}") + ".npy"
        args = ["sample", "-c", config, "--dtype", "float64", "--seed", str(self.seed),
                "--sampler", sampler, "--noise", noise,
                "-n", str(np.load(noise, mmap_mode="r").shape[0]), "-o", out]
        if grid in POWER_GRIDS:  # not a named grid of diffuse: the times go in a file
            times = power_grid(steps, POWER_GRIDS[grid])
            with open(out + ".times", "w") as f:
                f.write(" ".join(f"{t:.17g}" for t in times) + "\n")
            args += ["--set", f"sampler.times_file={out}.times"]
        else:
            args += ["--set", f"sampler.grid={grid}"]
            if steps is not None:
                args += ["--steps", str(steps)]
        for s in sets:
            args += ["--set", s]
        stdout = self.run(args)
        record = json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])
        return out, record

    def evaluate(self, config, samples, metrics_seed=0):
        stdout = self.run(["eval", "-c", config, "-s", samples, "--dtype", "float64",
                           "--set", "metrics.mmd_max_points=2",  # MMD is not reported here
                           "--set", f"metrics.seed={metrics_seed}"])
        return json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])


def list_samplers(binary):
    """Rows of --list-samplers: name, order, stochastic, NFE per step (None: adaptive)."""
    out = subprocess.run([binary, "sample", "--list-samplers"], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        tok = line.split()
        if len(tok) < 4:
            continue
        if tok[1] in ("yes", "no"):  # a long name runs into the order column: "name3"
            tok = [tok[0][:-1], tok[0][-1]] + tok[1:]
        name, order, stochastic, nfe20 = tok[0], int(tok[1]), tok[2] == "yes", tok[3]
        per_step = None if nfe20 == "adaptive" else int(nfe20) // 20
        rows.append({"name": name, "order": order, "stochastic": stochastic,
                     "per_step": per_step, "processes": tok[4]})
    return rows


def write_config(work, dataset):
    spec = DATASETS[dataset]
    path = os.path.join(work, f"{dataset}.yaml")
    data = ", ".join(f"{k}: {v}" for k, v in spec["data"].items())
    with open(path, "w") as f:
        f.write("seed: 0\nprocess: {kind: vp-linear}\n"
                f"data: {{{data}}}\nmodel: {{kind: analytic}}\n"
                "sample: {num_samples: 4096, batch_size: 4096}\n")
    return path


# ---------------------------------------------------------------------------------------------
# Measures


def power_grid(steps, p):
    """K + 1 times from T_MAX to T_MIN, uniform in t^p (p = 1/2: DDIM's quadratic)."""
    u = np.linspace(T_MAX ** p, T_MIN ** p, steps + 1)
    times = u ** (1.0 / p)
    times[0], times[-1] = T_MAX, T_MIN  # exact ends: the process checks its range
    return times


def cpu_seconds():
    """CPU time of this script and the diffuse processes it ran (load-independent)."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def remove_run(path):
    """A finished run's samples and what diffuse wrote beside them."""
    stem = path[:-len(".npy")]
    for name in (path, stem + ".config.yaml", stem + ".png", path + ".times"):
        if os.path.exists(name):
            os.remove(name)


def rms(a, b):
    return float(np.sqrt(((a - b) ** 2).sum(1).mean()))


class Reference:
    """The exact map x* of the noise and, for low-rank data, its principal subspace."""

    def __init__(self, x_star, subspace):
        self.x_star = x_star
        self.basis = None
        if subspace:
            centred = x_star - x_star.mean(0)
            self.basis = np.linalg.svd(centred, full_matrices=False)[2][:subspace].T  # [D, k]

    def distances(self, x):
        d = {"map": rms(x, self.x_star),
             "map_median": float(np.median(np.linalg.norm(x - self.x_star, axis=1)))}
        if self.basis is not None:
            diff = x - self.x_star
            par = diff @ self.basis
            d["map_subspace"] = float(np.sqrt((par ** 2).sum(1).mean()))
            d["map_orthogonal"] = float(np.sqrt(max(d["map"] ** 2 - d["map_subspace"] ** 2, 0)))
        return d


def steps_for(per_step, sampler, target):
    """Largest K with K * per_step <= target; None when one step is over the budget."""
    k = target // per_step
    return k if k >= 1 else None


# ---------------------------------------------------------------------------------------------
# The run


def main():
    args = parse_args()
    if args.check:
        return check(args)
    if args.from_raw:
        return from_raw(args)
    t_start = time.time()
    binary = os.path.abspath(args.diffuse)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no diffuse binary at {binary} (build it, or pass --diffuse)")
    os.makedirs(args.out, exist_ok=True)
    work = args.work or tempfile.mkdtemp(prefix="quality_per_nfe_")
    os.makedirs(work, exist_ok=True)
    diffuse = Diffuse(binary, work, args.seed)

    registry = list_samplers(binary)
    rows_by_name = {r["name"]: r for r in registry}
    if args.samplers == "all":
        samplers = [r["name"] for r in registry if r["per_step"] is not None]
    else:
        samplers = args.samplers.split(",")
        for s in samplers:
            if s not in rows_by_name:
                sys.exit(f"unknown sampler {s}")
    if "ddim" not in samplers:
        samplers = ["ddim"] + samplers  # e_ref needs it
    datasets = args.datasets.split(",")
    grids = args.grids.split(",")
    budgets = [int(v) for v in args.nfe.split(",")]

    records, summary = [], {"num_samples": args.num_samples, "seed": args.seed,
                            "rtol": args.rtol, "datasets": {}}
    print(f"diffuse: {binary}\nscratch: {work}\n{len(samplers)} samplers, datasets {datasets}, "
          f"grids {grids}, NFE {budgets}, {args.num_samples} samples, {args.jobs} jobs",
          flush=True)

    for dataset in datasets:
        spec = DATASETS[dataset]
        config = write_config(work, dataset)
        rng = np.random.default_rng(args.seed)
        noise = os.path.join(work, f"{dataset}_xT.npy")
        np.save(noise, rng.standard_normal((args.num_samples, spec["dim"])))  # prior std 1 (VP)

        # The exact map: rk45 at rtol = atol = args.rtol, and at 100x looser as a check.
        t0 = time.time()
        tight = [f"sampler.rtol={args.rtol}", f"sampler.atol={args.rtol}"]
        loose = [f"sampler.rtol={args.rtol * 100}", f"sampler.atol={args.rtol * 100}"]
        with futures.ThreadPoolExecutor(2) as pool:
            job_t = pool.submit(diffuse.sample, config, "rk45", "logsnr", None, noise, tight)
            job_l = pool.submit(diffuse.sample, config, "rk45", "logsnr", None, noise, loose)
            (ref_path, ref_rec), (loose_path, loose_rec) = job_t.result(), job_l.result()
        x_star = np.load(ref_path)
        ref = Reference(x_star, spec["subspace"])
        floor = [diffuse.evaluate(config, ref_path, s) for s in (0, 1, 2)]
        info = {
            "reference_nfe": ref_rec["nfe"], "reference_loose_nfe": loose_rec["nfe"],
            "reference_loose_distance": rms(np.load(loose_path), x_star),
            "reference_sw2": [f["sliced_w2"] for f in floor],
            "reference_nll": floor[0]["nll_per_dim"],
            "reference_seconds": time.time() - t0,
        }
        summary["datasets"][dataset] = info
        print(f"[{dataset}] rk45 reference: {ref_rec['nfe']} NFE (rtol {args.rtol}); rtol x100 "
              f"differs by {info['reference_loose_distance']:.2e}; sliced W2 of the exact map vs "
              f"three true-mixture draws: "
              + ", ".join(f"{v:.4f}" for v in info["reference_sw2"])
              + f"; NLL/dim {info['reference_nll']:.4f}", flush=True)

        # The table's runs: (sampler, grid, K), each once, the longest first.
        tasks = {}
        for sampler in samplers:
            row = rows_by_name[sampler]
            for grid in grids:
                for target in budgets:
                    k = steps_for(row["per_step"], sampler, target)
                    if k is None:
                        records.append({"phase": "table", "dataset": dataset, "sampler": sampler,
                                        "stochastic": row["stochastic"], "grid": grid,
                                        "target_nfe": target, "error": "over budget"})
                        continue
                    tasks.setdefault((sampler, grid, k), []).append(target)
        if "uniform" not in grids or 1000 not in budgets:
            tasks.setdefault(("ddim", "uniform", 1000), []).append(1000)  # e_ref

        def run_one(key, measure=True):
            sampler, grid, k = key
            row = rows_by_name[sampler]
            rec = {"dataset": dataset, "sampler": sampler, "stochastic": row["stochastic"],
                   "grid": grid, "steps": k}
            try:
                path, out = diffuse.sample(config, sampler, grid, k, noise)
                rec["nfe"] = out["nfe"]
                rec["sample_s"] = out["wall_s"]
                x = np.load(path)
                rec["non_finite"] = int((~np.isfinite(x)).any(1).sum())
                rec.update(ref.distances(x))
                if measure:
                    ev = diffuse.evaluate(config, path)
                    rec["sw2"], rec["nll"] = ev["sliced_w2"], ev["nll_per_dim"]
                remove_run(path)
            except Exception as e:  # recorded in the table, never fatal
                rec["error"] = str(e)
            return rec

        t0 = time.time()
        order = sorted(tasks, key=lambda key: -key[2] * rows_by_name[key[0]]["per_step"])
        done = 0
        with futures.ThreadPoolExecutor(args.jobs) as pool:
            jobs = {pool.submit(run_one, key): key for key in order}
            for job in futures.as_completed(jobs):
                key = jobs[job]
                rec = job.result()
                for target in tasks[key]:
                    records.append(dict(rec, phase="table", target_nfe=target))
                done += 1
                if done % 20 == 0 or done == len(order):
                    print(f"[{dataset}] {done}/{len(order)} runs, {time.time() - t0:.0f} s",
                          flush=True)

        info["table_seconds"] = time.time() - t0
        if dataset != "lowdim" or args.no_headline:
            continue

        # e_ref and the headline search (map distances only, no eval).
        ddim_1000 = {r["grid"]: r for r in records
                     if r["dataset"] == dataset and r["sampler"] == "ddim"
                     and r.get("steps") == 1000 and "map" in r}
        e_ref = {c: ddim_1000["uniform"][c] for c in CRITERIA}
        info["e_ref"] = e_ref
        info["ddim_1000"] = {g: {c: r[c] for c in CRITERIA} for g, r in ddim_1000.items()}
        print(f"[{dataset}] e_ref (1000-step DDIM, uniform grid): RMS {e_ref['map']:.4g}, "
              f"median {e_ref['map_median']:.4g}", flush=True)
        known = {}  # (sampler, grid, K) -> record
        for r in records:
            if r["dataset"] == dataset and "map" in r:
                known[(r["sampler"], r["grid"], r["steps"])] = r

        def measured(key):
            if key not in known:
                rec = run_one(key, measure=False)
                rec["phase"] = "headline"
                records.append(rec)
                known[key] = rec
            return known[key]

        def meets(rec, crit):
            return rec.get(crit, math.inf) <= e_ref[crit]

        def search(sampler, grid):
            """Per criterion, the record of the smallest K (of the fine list) that meets it."""
            per = rows_by_name[sampler]["per_step"]
            ks = sorted({n // per for n in FINE_NFES if n // per >= 1})
            coarse = sorted({n // per for n in HEADLINE_CHECKPOINTS if n // per >= 1})
            found = {}
            for crit in CRITERIA:
                lo, found[crit] = 0, None
                for kc in coarse:  # the first coarse K that meets e_ref brackets the answer
                    if meets(measured((sampler, grid, kc)), crit):
                        inside = [k for k in ks if lo < k < kc]
                        while inside:  # bisection below it (assumes the error falls with K)
                            mid = inside[len(inside) // 2]
                            if meets(measured((sampler, grid, mid)), crit):
                                kc, inside = mid, [k for k in inside if k < mid]
                            else:
                                inside = [k for k in inside if k > mid]
                        found[crit] = measured((sampler, grid, kc))
                        break
                    lo = kc
            return found

        t0 = time.time()
        headline = {}
        det = [s for s in samplers if not rows_by_name[s]["stochastic"]]
        pairs = [(s, g) for s in det for g in args.headline_grids.split(",")]
        with futures.ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda sg: search(*sg), pairs))
        for (s, g), found in zip(pairs, results):
            entry = {"sampler": s, "grid": g}
            for crit in CRITERIA:
                r = found[crit]
                best = min((v for (ss, gg, _), v in known.items() if ss == s and gg == g
                            and v.get("nfe", 10 ** 9) <= 20 and crit in v),
                           key=lambda v: v[crit], default=None)
                entry[crit] = {"match_nfe": r["nfe"] if r else None,
                               "match_value": r[crit] if r else None,
                               "best_within_20": best[crit] if best else None,
                               "best_nfe_within_20": best["nfe"] if best else None}
            headline[f"{s}|{g}"] = entry
        info["headline"] = headline
        # The figure's extra grid: the plotted samplers at the table's budgets up to 100.
        extra = [(s, g, k) for s in PLOT_SAMPLERS if s in samplers
                 for g in PLOT_GRIDS if g not in grids
                 for k in sorted({n // rows_by_name[s]["per_step"] for n in budgets
                                  if 1 <= n // rows_by_name[s]["per_step"] and n <= 100})]
        with futures.ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(measured, extra))
        info["headline_seconds"] = time.time() - t0
        print(f"[{dataset}] headline search: {time.time() - t0:.0f} s", flush=True)

    summary["seconds"] = time.time() - t_start
    summary["cpu_seconds"] = cpu_seconds()
    write_outputs(args, records, summary, samplers, rows_by_name, grids, budgets)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    cmd = " ".join(shlex.quote(a) for a in ["/usr/bin/python3", "scripts/quality_per_nfe.py"]
                   + sys.argv[1:])
    print(f"done in {summary['seconds'] / 60:.1f} min ({summary['cpu_seconds'] / 60:.1f} min "
          f"of CPU); outputs in {args.out}\n"
          f"regenerate with: {cmd}")


# ---------------------------------------------------------------------------------------------
# The headline check: more samples, so that the few samples that switch component count


SWITCH = 0.5  # |x - x*| above this: the sample ended near another component (they move 1.5-2)


def check(args):
    t_start = time.time()
    binary = os.path.abspath(args.diffuse)
    os.makedirs(args.out, exist_ok=True)
    work = args.work or tempfile.mkdtemp(prefix="quality_per_nfe_check_")
    os.makedirs(work, exist_ok=True)
    diffuse = Diffuse(binary, work, args.seed)
    per_step = {r["name"]: r["per_step"] for r in list_samplers(binary)}
    config = write_config(work, "lowdim")
    noise = os.path.join(work, "lowdim_xT.npy")
    rng = np.random.default_rng(args.seed)
    np.save(noise, rng.standard_normal((args.check, DATASETS["lowdim"]["dim"])))
    tight = [f"sampler.rtol={args.rtol}", f"sampler.atol={args.rtol}"]
    print(f"headline check: {args.check} samples; exact map (rk45) and 1000-step DDIM", flush=True)
    with futures.ThreadPoolExecutor(2) as pool:
        job_ref = pool.submit(diffuse.sample, config, "rk45", "logsnr", None, noise, tight)
        job_ddim = pool.submit(diffuse.sample, config, "ddim", "uniform", 1000, noise)
        (ref_path, ref_rec), (ddim_path, _) = job_ref.result(), job_ddim.result()
    x_star = np.load(ref_path)

    def distances(path):
        e = np.linalg.norm(np.load(path) - x_star, axis=1)
        remove_run(path)
        return e

    e_ddim = distances(ddim_path)

    def stats(e):
        # Resample b draws the same indices for every row (its own seeded stream): the rows come
        # from the same x_T, so a row's ratio to DDIM's statistic is a paired comparison.
        values = {name: f(e) for name, f in STATISTICS.items()}
        boot = {name: np.empty(args.bootstrap) for name in STATISTICS}
        for b in range(args.bootstrap):
            i = np.random.default_rng([args.seed + 1, b]).integers(0, len(e), len(e))
            for name, f in STATISTICS.items():
                boot[name][b] = f(e[i])
        return values, boot

    ddim_values, ddim_boot = stats(e_ddim)

    def row(e, sampler, grid, nfe):
        values, boot = stats(e)
        r = dict(sampler=sampler, grid=grid, nfe=nfe, switches=int((e > SWITCH).sum()))
        for name in STATISTICS:
            lo, hi = np.quantile(boot[name], [0.025, 0.975])
            ratio = boot[name] / ddim_boot[name]
            rlo, rhi = np.quantile(ratio, [0.025, 0.975])
            r.update({name: values[name], name + "_lo": lo, name + "_hi": hi,
                      name + "_ratio": values[name] / ddim_values[name],
                      name + "_ratio_lo": rlo, name + "_ratio_hi": rhi})
        return r

    ref = row(e_ddim, "ddim", "uniform", 1000)
    rows = [ref]

    def one(key):
        sampler, grid, nfe = key
        path, rec = diffuse.sample(config, sampler, grid, nfe // per_step[sampler], noise)
        return row(distances(path), sampler, grid, rec["nfe"])

    keys = [(s, g, n) for s in args.check_samplers.split(",") for g in args.check_grids.split(",")
            for n in map(int, args.check_nfe.split(",")) if n // per_step[s] >= 1]
    with futures.ThreadPoolExecutor(args.jobs) as pool:
        rows += list(pool.map(one, keys))
    seconds = time.time() - t_start
    with open(os.path.join(args.out, "check.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    write_check(args, rows, ref_rec["nfe"], seconds)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    cmd = " ".join(shlex.quote(a) for a in ["/usr/bin/python3", "scripts/quality_per_nfe.py"]
                   + sys.argv[1:])
    print(f"done in {seconds / 60:.1f} min ({cpu_seconds() / 60:.1f} min of CPU)\n"
          f"regenerate with: {cmd}")


# Statistics of the per-sample distance |x - x*| that the headline is judged on.
STATISTICS = {
    "mean": lambda e: float(e.mean()),
    "median": lambda e: float(np.median(e)),
    "p99": lambda e: float(np.quantile(e, 0.99)),
    "rms": lambda e: float(np.sqrt((e ** 2).mean())),
}


def verdict(r):
    """'better' when every paired ratio's 95% interval lies below 1, 'matches' when none lies
    above 1, else the statistics that are worse."""
    worse = [n for n in STATISTICS if r[n + "_ratio_lo"] > 1]
    if worse:
        return "worse: " + ", ".join(worse)
    return "better" if all(r[n + "_ratio_hi"] < 1 for n in STATISTICS) else "matches"


def write_check(args, rows, ref_nfe, seconds):
    ref = rows[0]
    lines = ["# Headline check", "",
             f"Low-dimensional mixture (D = 64, k = 4), {args.check} samples (seed {args.seed}), "
             f"float64; x* = rk45 at rtol = atol = {args.rtol:g} ({ref_nfe} NFE). Each cell: the "
             f"statistic of the per-sample distance |x - x*| [its 95% bootstrap interval, "
             f"{args.bootstrap} resamples] and, below DDIM's row, its ratio to 1000-step DDIM's "
             f"(paired bootstrap interval: the same x_T). `switches`: samples more than {SWITCH} "
             f"from x* (they end near another component). Verdict: `better` when every ratio's "
             f"interval lies below 1, `matches` when none lies above 1. {seconds / 60:.0f} min.",
             "", "| sampler | grid | NFE | mean | median | p99 | RMS | switches | verdict |",
             "| --- | --- | ---: | --- | --- | --- | --- | ---: | --- |"]
    for r in rows:
        cells = []
        for n in STATISTICS:
            c = f"{fmt(r[n])} [{fmt(r[n + '_lo'])}, {fmt(r[n + '_hi'])}]"
            if r is not ref:
                c += f"<br>x{r[n + '_ratio']:.2f} [{r[n + '_ratio_lo']:.2f}, {r[n + '_ratio_hi']:.2f}]"
            cells.append(c)
        lines.append(f"| {r['sampler']} | {r['grid']} | {r['nfe']} | " + " | ".join(cells)
                     + f" | {r['switches']} | {'' if r is ref else verdict(r)} |")
    with open(os.path.join(args.out, "check.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot_check(args, rows)


def plot_check(args, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ref = rows[0]
    fig, axes = plt.subplots(1, len(STATISTICS), figsize=(4.2 * len(STATISTICS), 4))
    for ax, name in zip(axes, STATISTICS):
        curves = sorted({(r["sampler"], r["grid"]) for r in rows[1:]})
        for i, (sampler, grid) in enumerate(curves):
            rs = sorted([r for r in rows[1:] if (r["sampler"], r["grid"]) == (sampler, grid)],
                        key=lambda r: r["nfe"])
            x = [r["nfe"] for r in rs]
            y = np.array([r[name] for r in rs])
            err = np.array([[r[name] - r[name + "_lo"] for r in rs],
                            [r[name + "_hi"] - r[name] for r in rs]])
            ax.errorbar(x, y, yerr=err, marker="o", capsize=2, color=f"C{i}",
                        label=f"{sampler}, {grid} grid")
        ax.axhspan(ref[name + "_lo"], ref[name + "_hi"], color="grey", alpha=0.3)
        ax.axhline(ref[name], color="black", lw=1, label="ddim, 1000 NFE (band: 95% interval)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("NFE (score evaluations)")
        ax.set_ylabel(f"{name} of |x - x*| (distance to the exact ODE map)")
        ax.set_title(name)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "check.png"), dpi=110)


# ---------------------------------------------------------------------------------------------
# Outputs


def fmt(v, digits=3):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1e-2 and abs(v) < 1e3:
        return f"{v:.{digits}g}" if abs(v) < 100 else f"{v:.0f}"
    return f"{v:.{max(digits - 1, 1)}e}".replace("e-0", "e-").replace("e+0", "e")


def cell(rec, key):
    if rec is None or rec.get("error") == "over budget":
        return "-"
    if rec.get("error"):
        return "ERR"
    v = rec.get(key)
    if key == "nll" and v is not None and abs(v) < 1e3:
        text = f"{v:.3f}"
    else:
        text = fmt(v)
    if rec.get("non_finite"):
        text += f" ({rec['non_finite']} NaN)"
    if rec.get("nfe") is not None and rec["nfe"] != rec["target_nfe"]:
        text += f" @{rec['nfe']}"
    return text


def slope(table, dataset, sampler, grid, lo, hi, key):
    """Observed order: -d log(error) / d log(NFE) between the budgets lo and hi."""
    a, b = table.get((dataset, sampler, grid, lo)), table.get((dataset, sampler, grid, hi))
    if not a or not b or not a.get(key) or not b.get(key) or a["nfe"] == b["nfe"]:
        return "-"
    return f"{-math.log(b[key] / a[key]) / math.log(b['nfe'] / a['nfe']):.1f}"


def from_raw(args):
    """table.md and the figure again, from a finished run's raw.csv and summary.json."""
    with open(os.path.join(args.out, "summary.json")) as f:
        summary = json.load(f)
    records = []
    with open(os.path.join(args.out, "raw.csv"), newline="") as f:
        for row in csv.DictReader(f):
            rec = {}
            for k, v in row.items():
                if v == "":
                    continue
                if k in ("target_nfe", "steps", "nfe", "non_finite"):
                    v = int(v)
                elif k == "stochastic":
                    v = v == "True"
                elif k not in ("phase", "dataset", "sampler", "grid", "error"):
                    v = float(v)
                rec[k] = v
            records.append(rec)
    rows_by_name = {r["name"]: r for r in list_samplers(os.path.abspath(args.diffuse))}
    in_table = {r["sampler"] for r in records if r["phase"] == "table"}
    samplers = [name for name in rows_by_name if name in in_table]  # the registry's order
    grids = [g for g in args.grids.split(",") if any(r["grid"] == g for r in records)]
    budgets = sorted({r["target_nfe"] for r in records if r["phase"] == "table"})
    write_outputs(args, records, summary, samplers, rows_by_name, grids, budgets, raw=False)
    print(f"rewrote {args.out}/table.md and the figure from raw.csv")


def write_outputs(args, records, summary, samplers, rows_by_name, grids, budgets, raw=True):
    if raw:
        with open(os.path.join(args.out, "raw.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            w.writeheader()
            for r in records:
                w.writerow(r)
        with open(os.path.join(args.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)

    table = {(r["dataset"], r["sampler"], r["grid"], r["target_nfe"]): r
             for r in records if r["phase"] == "table"}
    lines = ["# Quality per NFE", "",
             f"Generated by `scripts/quality_per_nfe.py` ({summary['num_samples']} samples, "
             f"seed {summary['seed']}, float64, process vp-linear, analytic score; "
             f"{summary['seconds'] / 60:.0f} min). A cell is the figure at the budget in the "
             "column head; `@n`: the NFE actually spent when the steps do not divide the "
             "budget; `-`: one step costs more than the budget. Distance to the exact map: "
             "|x - x*| per sample, x* the exact probability-flow ODE map of the same x_T (rk45, "
             f"rtol = atol = {summary['rtol']:g}), as RMS and as median over the samples; "
             "deterministic samplers only. Sliced W2: to the true mixture (256 projections). "
             "NLL: per dimension under the true mixture. `order`: the observed order, "
             "-d log(median) / d log(NFE) between the two budgets named.", ""]
    for dataset, info in summary["datasets"].items():
        lines += [f"## {DATASETS[dataset]['title']}", "",
                  f"- exact map (rk45): {info['reference_nfe']} NFE; at 100x looser tolerance "
                  f"it moves by {fmt(info['reference_loose_distance'])} (RMS).",
                  "- sliced-W2 noise floor (the exact map's samples vs three independent "
                  "true-mixture draws): "
                  + ", ".join(fmt(v) for v in info["reference_sw2"])
                  + f"; the exact map's NLL/dim: {info['reference_nll']:.3f}."]
        if "e_ref" in info:
            d = info["ddim_1000"]
            lines.append("- e_ref, 1000-step DDIM on the uniform grid: RMS "
                         f"{fmt(info['e_ref']['map'])}, median {fmt(info['e_ref']['map_median'])}"
                         + (f" (on logsnr: RMS {fmt(d['logsnr']['map'])}, median "
                            f"{fmt(d['logsnr']['map_median'])})" if "logsnr" in d else "") + ".")
        lines.append("")
        order_cols = [(g, 20, 100) for g in grids if 20 in budgets and 100 in budgets]
        for key, name in [("map", "RMS distance to the exact map"),
                          ("map_median", "median distance to the exact map"),
                          ("sw2", "sliced W2"), ("nll", "NLL per dimension")]:
            extra = order_cols if key == "map_median" else []
            lines += [f"### {name}", "",
                      "| sampler | " + " | ".join(f"{g} {n}" for g in grids for n in budgets)
                      + "".join(f" | order {g} {a}-{b}" for g, a, b in extra) + " |",
                      "| --- |" + " ---: |" * (len(grids) * len(budgets) + len(extra))]
            for s in samplers:
                if key.startswith("map") and rows_by_name[s]["stochastic"]:
                    continue
                cells = [cell(table.get((dataset, s, g, n)), key) for g in grids for n in budgets]
                cells += [slope(table, dataset, s, g, a, b, key) for g, a, b in extra]
                lines.append(f"| {s} | " + " | ".join(cells) + " |")
            lines.append("")
        if "headline" in info:
            lines += headline_lines(info)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("\n".join(lines))
    plot(args, records, summary, rows_by_name, budgets)


def headline_lines(info):
    grids = [g for g in HEADLINE_GRIDS if any(v["grid"] == g for v in info["headline"].values())]
    e = info["e_ref"]
    lines = ["### Smallest NFE that matches 1000-step DDIM's distance to the exact map", "",
             f"e_ref: RMS {fmt(e['map'])}, median {fmt(e['map_median'])} (1000-step DDIM, "
             "uniform grid). A cell: the smallest NFE whose RMS / median distance is at most "
             "e_ref's. Searched: a coarse pass at 10, 20, 50 NFE, then bisection over NFE 4..20 "
             "by one and 22..50 by two below the first coarse match. `>50`: not reached "
             "(the best figure within 20 NFE beside it). `cubic`: uniform in t^(1/3), "
             "given as `sampler.times_file`.", "",
             "| sampler | " + " | ".join(grids) + " |", "| --- |" + " ---: |" * len(grids)]
    names = []
    for v in info["headline"].values():
        if v["sampler"] not in names:
            names.append(v["sampler"])

    def one(m):
        if m["match_nfe"] is not None:
            return f"**{m['match_nfe']}**" if m["match_nfe"] <= 20 else str(m["match_nfe"])
        best = m["best_within_20"]
        return ">50" + (f" ({fmt(best)} @{m['best_nfe_within_20']})" if best is not None else "")

    for s in names:
        cells = []
        for g in grids:
            v = info["headline"].get(f"{s}|{g}")
            cells.append("" if v is None else " / ".join(one(v[c]) for c in CRITERIA))
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines + [""]


def plot(args, records, summary, rows_by_name, budgets):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    info = summary["datasets"].get("lowdim")
    if info is None:
        return
    grids = [g for g in PLOT_GRIDS
             if any(r["grid"] == g and r["dataset"] == "lowdim" for r in records)]
    fig, axes = plt.subplots(2, len(grids), figsize=(4.6 * len(grids), 8.0), sharey="row",
                             squeeze=False)
    colours = plt.get_cmap("tab10")
    for row, (crit, label) in enumerate([("map", "RMS distance to the exact map"),
                                         ("map_median", "median distance to the exact map")]):
        for ax, grid in zip(axes[row], grids):
            for i, s in enumerate(PLOT_SAMPLERS):
                if s not in rows_by_name:
                    continue
                # one point per NFE budget of the table (the search's points in between are left
                # out: single switched samples make the RMS curve jump there)
                steps = {b // rows_by_name[s]["per_step"] for b in budgets}
                keep = {r["nfe"]: r[crit] for r in records
                        if r["dataset"] == "lowdim" and r["sampler"] == s and r["grid"] == grid
                        and r.get(crit) is not None and r.get("nfe") and r.get("steps") in steps}
                xs = sorted(keep)
                if xs:
                    ax.loglog(xs, [keep[n] for n in xs], marker="o", ms=2.5, lw=1.1,
                              color=colours(i), label=s)
            if "e_ref" in info:
                ax.axhline(info["e_ref"][crit], color="k", ls="--", lw=1)
                ax.text(3.2, info["e_ref"][crit] * 1.2, "1000-step DDIM (uniform)", fontsize=7)
            ax.axvline(20, color="grey", ls=":", lw=1)
            ax.set_ylim(1e-5, 30)
            ax.set_title(f"grid: {grid}" + (" (uniform in t^(1/3))" if grid == "cubic" else ""),
                         fontsize=9)
            ax.set_xlabel("NFE")
            ax.grid(True, which="both", alpha=0.25)
        axes[row][0].set_ylabel(label)
    axes[0][-1].legend(fontsize=6.5, loc="lower left")
    fig.suptitle("Low-dimensional mixture (D = 64, k = 4), vp-linear, analytic score, float64",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "map_vs_nfe_lowdim.png"), dpi=100)


if __name__ == "__main__":
    main()
