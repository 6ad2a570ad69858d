#!/usr/bin/env python3
"""Learned time grids against hand-made ones, measured against the exact probability-flow map.

For each data set (the 8-Gaussian ring, the 64-D mixture of 4 Gaussians on a shared 4-D
subspace, the 16-D multi-manifold mixture; all with the analytic score, vp-linear, float64),
each deterministic sampler (DDIM, DPM-Solver++(2M), UniPC bh2 order 3, DPM-Solver-fast) and NFE
5, 6, 8, 10, 15, 20, the script

  1. fits a grid with `diffuse schedule` (on the schedule's own fit noise, from --seed),
  2. runs `diffuse sample` on held-out noise (drawn here, never seen by the fit) with the
     uniform, logSNR, quadratic and Karras grids at the same NFE and with the learned grid
     (`--times grid.yaml`),
  3. measures the per-sample distance |x - x*| to the exact map x* of the same noise (rk45 at
     rtol = atol = 1e-8): RMS, median and p99, each with a 95% bootstrap interval, and the RMS
     ratio to 1000-step DDIM (uniform grid) with a paired bootstrap interval (same noise),
  4. finds per sampler and grid the first NFE of the list whose RMS is at most 1000-step DDIM's.

With --model CHECKPOINT (a trained network) the reference is the model's own rk45 map
(rtol = atol = --model-tol) and the row is labelled by --model-name.

Writes results/learned_grids/{README.md, raw.csv, summary.json} and the grids in grids/.

  /usr/bin/python3 scripts/learned_grids.py                       # the mixtures
  /usr/bin/python3 scripts/learned_grids.py --datasets lowdim --samplers unipc-bh2-3 --nfe 10
  /usr/bin/python3 scripts/learned_grids.py --model runs/fmnist/checkpoint.pt --datasets model
  /usr/bin/python3 scripts/learned_grids.py --from-raw            # README.md again from raw.csv
  /usr/bin/python3 scripts/learned_grids.py --target unipc-bh2-2@10,unipc-bh2-2@8,unipc-bh2-2@10
  /usr/bin/python3 scripts/learned_grids.py --remeasure           # target.json's grids again
  /usr/bin/python3 scripts/learned_grids.py --confirm 1 --heldout 65536   # the best target grid
                                                          # on other held-out draws as well
  /usr/bin/python3 scripts/learned_grids.py --datasets lowdim --reuse-grids --heldout 65536
                                                          # the table's grids on more draws

--target runs the 10-NFE target on the 64-D mixture (a learned grid at 10 NFE or fewer against
1000-step DDIM) with the strongest search, each cell warm-started from the table's grids and the
target cells before it, and splits each RMS into the far draws and the rest, counting the draws
that end at another mixture component than the exact map's; it writes target.json and the
README's target section. With --append the cells of target.json are kept (and measured again).
--cache DIR keeps each mixture's exact map and 1000-step DDIM run, so a later invocation on the
same draws skips them.
"""
import argparse
import concurrent.futures as futures
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = {
    "ring8": {"data": "{kind: ring8}", "dim": 2, "title": "8-Gaussian ring (D = 2)"},
    "lowdim": {"data": "{kind: lowdim, dim: 64, subspace_dim: 4, num_components: 4, "
                       "noise_floor: 1.0e-4}", "dim": 64,
               "title": "64-D mixture of 4 Gaussians on a shared 4-D subspace (noise floor 1e-4)"},
    "multimanifold": {"data": "{kind: multimanifold}", "dim": 16,
                      "title": "16-D multi-manifold mixture (3 planes x 2 Gaussians)"},
}
SAMPLERS = ["ddim", "dpm-solver++2m", "unipc-bh2-3", "dpm-solver-fast"]
NFES = [5, 6, 8, 10, 15, 20]
HAND = ["uniform", "logsnr", "quadratic", "karras"]
GRIDS = HAND + ["learned"]
STATS = {"rms": lambda e: float(np.sqrt(np.mean(e ** 2))),
         "median": lambda e: float(np.median(e)),
         "p99": lambda e: float(np.quantile(e, 0.99))}
FIELDS = ["dataset", "sampler", "nfe", "steps", "grid", "rms", "rms_lo", "rms_hi", "median",
          "median_lo", "median_hi", "p99", "p99_lo", "p99_hi", "rms_ratio", "rms_ratio_lo",
          "rms_ratio_hi", "fit_rms", "start_grid", "schedule_runs", "schedule_s", "fd"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=os.path.join(REPO, "build", "diffuse"))
    p.add_argument("--out", default=os.path.join(REPO, "results", "learned_grids"))
    p.add_argument("--datasets", default="ring8,lowdim,multimanifold")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    p.add_argument("--nfe", default=",".join(map(str, NFES)))
    p.add_argument("--heldout", type=int, default=8192, help="held-out noise draws")
    p.add_argument("--fit-samples", type=int, default=1024)
    p.add_argument("--max-runs", type=int, default=600, help="sampler runs per fit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rtol", type=float, default=1e-8, help="rk45 tolerance of the exact map")
    p.add_argument("--bootstrap", type=int, default=500)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--model", default=None, help="a trained checkpoint (dataset name 'model')")
    p.add_argument("--model-name", default="model")
    p.add_argument("--model-tol", type=float, default=1e-5)
    p.add_argument("--classifier", default=None,
                   help="with --model: a diffuse train-classifier checkpoint; adds each cell's "
                        "Frechet distance (diffuse eval, against the test images)")
    p.add_argument("--fd-config", default=os.path.join(REPO, "configs", "fashion-mnist-mlp.yaml"),
                   help="the image config diffuse eval measures FD with")
    p.add_argument("--target", default=None,
                   help="SAMPLER@NFE,...: instead of the table, the 10-NFE target on the 64-D "
                        "mixture with the strongest search (--target-* below), warm-started "
                        "from every lowdim grid in grids/ and the target grids fitted before")
    p.add_argument("--target-fit-samples", type=int, default=4096)
    p.add_argument("--target-max-runs", type=int, default=2000)
    p.add_argument("--target-restarts", type=int, default=4)
    p.add_argument("--target-shift-runs", type=int, default=0,
                   help="after the grid, sampler runs that fit its evaluation times "
                        "(diffuse schedule --shift-runs)")
    p.add_argument("--target-shift-step", type=float, default=0.02,
                   help="first step of that search (diffuse schedule --shift-step); smaller to "
                        "refine the evaluation times of a --target-start-from grid")
    p.add_argument("--target-grid-step", type=float, default=0.5,
                   help="first step of the grid search (diffuse schedule --grid-step); smaller "
                        "to refine a --target-start-from grid, e.g. under its evaluation times")
    p.add_argument("--target-start-from", default=None,
                   help="grid files (comma-separated) to start from instead of every earlier "
                        "grid, e.g. a converged grid whose evaluation times are to be fitted")
    p.add_argument("--append", action="store_true", help="keep raw.csv rows of other data sets "
                   "(with --target: keep target.json's cells and start from their grids)")
    p.add_argument("--remeasure", action="store_true", help="measure target.json's cells again "
                   "from their grids (no fitting) and rewrite the README's target section")
    p.add_argument("--confirm", default=None, help="SEED,...: measure the best target cell at "
                   "10 NFE or fewer and 1000-step DDIM again on --heldout draws of each of these "
                   "seeds as well as of --seed, and pooled over all of them (target.json's "
                   "`confirm`), so the target's verdict does not rest on the draws that chose "
                   "the cell")
    p.add_argument("--reuse-grids", action="store_true", help="measure the table's cells of "
                   "--datasets again from the grids already in grids/ (no fitting; the fit "
                   "columns stay as raw.csv has them), e.g. on more --heldout draws")
    p.add_argument("--cache", default=None, help="a folder keeping the mixtures' exact maps and "
                   "1000-step DDIM runs between invocations (the same binary assumed)")
    p.add_argument("--from-raw", action="store_true")
    return p.parse_args()


class Diffuse:
    def __init__(self, binary, work):
        self.binary, self.work, self.lock, self.counter = binary, work, threading.Lock(), 0
        self.commands = []

    def fresh(self, stem):
        with self.lock:
            self.counter += 1
            return os.path.join(self.work, f"{self.counter:05d}_{stem}")

    def run(self, args, echo=False):
        """The command's JSON record. echo: show its progress lines (stderr) as they come, for
        runs of an hour; otherwise only the last line of stderr, when it fails."""
        cmd = [self.binary] + args
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, DIFFUSE_QUIET="1"))
            last = "(no stderr)"
            for line in proc.stderr:
                if line.strip():
                    last = line.strip()
                    if echo:
                        print("  " + last, flush=True)
            proc.wait()
            out.seek(0)
            stdout = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)}: exit {proc.returncode}: {last}")
        return json.loads([l for l in stdout.splitlines() if l.startswith("{")][-1])

    def sample(self, base, sampler, noise, sets, fd=None, dtype="float64"):
        """Samples from the noise file; with fd = (config, classifier), also their FD."""
        out = self.fresh(sampler) + ".npy"
        n = np.load(noise, mmap_mode="r").shape[0]
        rec = self.run(base + ["sample", "--dtype", dtype, "--sampler", sampler, "--noise",
                               noise, "-n", str(n), "--batch-size", str(n), "-o", out] + sets)
        x = np.load(out)
        if fd:
            ev = self.run(["eval", "-c", fd[0], "-s", out, "--classifier", fd[1]])
            rec["fd"] = ev["frechet_distance"]
        for f in (out, out[:-4] + ".config.yaml", out[:-4] + ".png", out[:-4] + ".metrics.jsonl"):
            if os.path.exists(f):
                os.remove(f)
        return x.reshape(x.shape[0], -1), rec


def bootstrap(e, e_ref, n_boot, seed):
    """Values, 95% intervals and the paired RMS ratio to e_ref (same resampled indices)."""
    out = {k: f(e) for k, f in STATS.items()}
    boot = {k: np.empty(n_boot) for k in STATS}
    ratio = np.empty(n_boot)
    for b in range(n_boot):
        i = np.random.default_rng([seed, b]).integers(0, len(e), len(e))
        for k, f in STATS.items():
            boot[k][b] = f(e[i])
        ratio[b] = boot["rms"][b] / STATS["rms"](e_ref[i])
    for k in STATS:
        out[k + "_lo"], out[k + "_hi"] = (float(v) for v in np.quantile(boot[k], [0.025, 0.975]))
    out["rms_ratio"] = out["rms"] / STATS["rms"](e_ref)
    lo, hi = np.quantile(ratio, [0.025, 0.975])
    out["rms_ratio_lo"], out["rms_ratio_hi"] = float(lo), float(hi)
    return out


def prepare(args, diffuse, work, dataset):
    """The held-out noise, its exact map x* and 1000-step DDIM's distances to it."""
    if dataset == "model":
        base, dim, title = ["--model", args.model], None, args.model_name
        tol = args.model_tol
    else:
        spec = DATASETS[dataset]
        config = os.path.join(work, f"{dataset}.yaml")
        with open(config, "w") as f:
            f.write(f"seed: {args.seed}\nprocess: {{kind: vp-linear}}\ndata: {spec['data']}\n"
                    "model: {kind: analytic}\n")
        base, dim, title, tol = ["-c", config], spec["dim"], spec["title"], args.rtol
    name = args.model_name if dataset == "model" else dataset
    t0 = time.time()
    if dim is None:  # the model's sample shape: one draw tells it
        probe = os.path.join(work, "probe.npy")
        diffuse.run(["sample"] + base + ["-n", "1", "--sampler", "ddim", "--steps", "1",
                                         "-o", probe])
        dim = int(np.prod(np.load(probe).shape[1:]))
    noise = os.path.join(work, f"{name}_heldout.npy")
    np.save(noise, np.random.default_rng([args.seed, 7]).standard_normal((args.heldout, dim)))

    fd = (args.fd_config, args.classifier) if dataset == "model" and args.classifier else None
    dtype = "float32" if dataset == "model" else "float64"  # a network runs in its own dtype

    def sample(sampler, sets):
        return diffuse.sample([], sampler, noise, sets + base, fd, dtype)

    # The references depend only on the data set, seed, draws and tolerance (and the binary):
    # with --cache they are computed once (the exact map of 65536 draws takes 20 min).
    cached = (os.path.join(args.cache, f"{name}_seed{args.seed}_{args.heldout}_tol{tol:g}.npz")
              if args.cache and dataset != "model" else None)
    if cached and os.path.exists(cached):
        with np.load(cached) as z:
            x_star, x_loose, x_ddim = z["x_star"], z["x_loose"], z["x_ddim"]
            ref_rec, ddim_rec = {"nfe": int(z["reference_nfe"])}, {}
    else:
        tight = ["--set", f"sampler.rtol={tol}", "--set", f"sampler.atol={tol}"]
        loose = ["--set", f"sampler.rtol={tol * 100}", "--set", f"sampler.atol={tol * 100}"]
        with futures.ThreadPoolExecutor(2) as pool:
            j1 = pool.submit(sample, "rk45", tight)
            j2 = pool.submit(sample, "rk45", loose)
            (x_star, ref_rec), (x_loose, _) = j1.result(), j2.result()
        x_ddim, ddim_rec = sample("ddim", ["--set", "sampler.grid=uniform", "--steps", "1000"])
        if cached:
            os.makedirs(args.cache, exist_ok=True)
            np.savez(cached + ".tmp.npz", x_star=x_star, x_loose=x_loose, x_ddim=x_ddim,
                     reference_nfe=ref_rec["nfe"])
            os.replace(cached + ".tmp.npz", cached)
    floor = float(np.sqrt(np.mean(np.sum((x_loose - x_star) ** 2, 1))))
    e_ddim = np.linalg.norm(x_ddim - x_star, axis=1)
    info = {"title": title, "reference_nfe": ref_rec["nfe"], "reference_tol": tol,
            "floor_rms": floor, "heldout": args.heldout, "dim": dim,
            "fit_samples": args.fit_samples, "max_runs": args.max_runs,
            "ddim_1000": bootstrap(e_ddim, e_ddim, args.bootstrap, args.seed + 1)}
    if fd:
        info["fd_reference"], info["ddim_1000"]["fd"] = ref_rec["fd"], ddim_rec["fd"]
    print(f"[{name}] exact map: rk45 tol {tol:g}, {ref_rec['nfe']} NFE; tol x100 moves it by "
          f"{floor:.2e} (RMS); 1000-step DDIM RMS {info['ddim_1000']['rms']:.4g} "
          f"({time.time() - t0:.0f} s)", flush=True)
    return dict(base=base, name=name, tol=tol, dtype=dtype, t0=t0, x_star=x_star, x_ddim=x_ddim,
                e_ddim=e_ddim, info=info, sample=sample)


def run_dataset(args, diffuse, work, dataset, samplers, nfes, kept=None):
    """The table's cells of one data set; with `kept` (raw.csv rows and summary info of an
    earlier run, --reuse-grids) the grids it fitted are measured again instead of refitted."""
    ctx = prepare(args, diffuse, work, dataset)
    base, name, tol, dtype, t0 = ctx["base"], ctx["name"], ctx["tol"], ctx["dtype"], ctx["t0"]
    x_star, e_ddim, info, sample = ctx["x_star"], ctx["e_ddim"], ctx["info"], ctx["sample"]

    grids_dir = os.path.join(args.out, "grids")
    os.makedirs(grids_dir, exist_ok=True)

    def cell(key):
        sampler, nfe = key
        grid_file = os.path.join(grids_dir, f"{name}_{sampler}_{nfe}.yaml")
        if kept:
            old = {r["grid"]: r for r in kept["rows"]
                   if (r["sampler"], int(r["nfe"])) == (sampler, nfe)}
            sched = {"steps": int(old["learned"]["steps"]), "nfe": nfe,
                     "start_grid": old["learned"]["start_grid"],
                     "evaluations": old["learned"]["schedule_runs"],
                     "wall_s": old["learned"]["schedule_s"],
                     "fit": {g: {"rms": float(old[g]["fit_rms"])} for g in GRIDS}}
        else:
            sched = diffuse.run(["schedule"] + base + [
                "--dtype", dtype, "--sampler", sampler, "--nfe", str(nfe), "--seed",
                str(args.seed), "--fit-samples", str(args.fit_samples), "--heldout-samples",
                "256", "--max-runs", str(args.max_runs), "--ref-tol", str(tol), "-o", grid_file])
        rows = []
        for grid in GRIDS:
            sets = (["--times", grid_file] if grid == "learned"
                    else ["--set", f"sampler.grid={grid}", "--steps", str(sched["steps"])])
            x, rec = sample(sampler, sets)
            assert rec["nfe"] == sched["nfe"], (rec, sched)
            e = np.linalg.norm(x - x_star, axis=1)
            e[~np.isfinite(e)] = np.inf
            r = {"dataset": name, "sampler": sampler, "nfe": rec["nfe"], "steps": sched["steps"],
                 "grid": grid, "fit_rms": sched["fit"][grid]["rms"],
                 "start_grid": sched["start_grid"], "schedule_runs": sched["evaluations"],
                 "schedule_s": sched["wall_s"], "fd": rec.get("fd")}
            r.update(bootstrap(e, e_ddim, args.bootstrap, args.seed + 1))
            rows.append(r)
        return rows

    keys = [(s, n) for s in samplers for n in nfes]
    rows, done = [], 0
    with futures.ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(cell, keys):
            rows += result
            done += 1
            learned = result[-1]
            best_hand = min(result[:-1], key=lambda r: r["rms"])
            print(f"[{name}] {done}/{len(keys)} {learned['sampler']} @{learned['nfe']}: learned "
                  f"RMS {learned['rms']:.3g} (fit {learned['fit_rms']:.3g}), best hand "
                  f"{best_hand['grid']} {best_hand['rms']:.3g}; DDIM-1000 x"
                  f"{learned['rms_ratio']:.2f} ({time.time() - t0:.0f} s)", flush=True)
    info["seconds"] = time.time() - t0
    if kept:  # the fits are the earlier run's
        info.update(fit_samples=kept["info"]["fit_samples"], max_runs=kept["info"]["max_runs"],
                    seconds=kept["info"]["seconds"] + info["seconds"])
    return rows, info


FAR = 0.5  # |x - x*| above this: a far draw (component means are 1.9 to 7 apart)
COMPONENTS = 4  # the 64-D mixture's


def principal_basis(x_star, k=COMPONENTS):
    """The top-k principal directions of the exact map's outputs: the mixture's 4-D subspace
    (the spread off it is the 1e-2 noise floor)."""
    return np.linalg.svd(x_star - x_star.mean(0), full_matrices=False)[2][:k].T


def component_of(x_star, k=COMPONENTS, iterations=100):
    """A function naming the mixture component a point is nearest to: k-means (Lloyd, from a
    farthest-point start) on the exact map's outputs in their top-k principal coordinates,
    where the components' means lie."""
    mean, basis = x_star.mean(0), principal_basis(x_star, k)
    z = (x_star - mean) @ basis
    centres = [z[np.argmin(np.sum(z ** 2, 1))]]
    while len(centres) < k:
        gap = np.min([np.sum((z - c) ** 2, 1) for c in centres], axis=0)
        centres.append(z[np.argmax(gap)])
    centres = np.array(centres)

    def nearest(x):
        zx = (x - mean) @ basis
        return np.argmin(np.sum((zx[:, None] - centres[None]) ** 2, -1), 1)

    for _ in range(iterations):
        label = nearest(x_star)
        centres = np.array([z[label == j].mean(0) for j in range(k)])
    return nearest


def split_far(e, x=None, x_star=None, component=None):
    """The RMS as the far draws (|x - x*| > FAR) and the rest make it up; with the samples, also
    how many draws end nearest another component than x*'s, how many of those are far and
    their part of the RMS, and the near part in the mixture's subspace (near_in) and off it
    (near_off)."""
    far = e > FAR
    out = {"far": int(far.sum()), "far_part": float(np.sqrt(np.sum(e[far] ** 2) / len(e))),
           "near_part": float(np.sqrt(np.sum(e[~far] ** 2) / len(e)))}
    if component is not None:
        changed = component(x) != component(x_star)
        inside = np.linalg.norm((x - x_star)[~far] @ principal_basis(x_star), axis=1)
        out.update(changed=int(changed.sum()), far_changed=int((changed & far).sum()),
                   changed_part=float(np.sqrt(np.sum(e[changed & far] ** 2) / len(e))),
                   near_in=float(np.sqrt(np.sum(inside ** 2) / len(e))),
                   near_off=float(np.sqrt(max(out["near_part"] ** 2 -
                                              np.sum(inside ** 2) / len(e), 0.0))))
    return out


def run_target(args, diffuse, work, before):
    """The 10-NFE target on the 64-D mixture: the strongest search the schedule command has.
    `before`: the cells of an earlier run to keep (--append); their grids are starts too, and
    they are measured again here, so every cell of target.json has the same columns."""
    ctx = prepare(args, diffuse, work, "lowdim")
    x_star = ctx["x_star"]
    component = component_of(x_star)
    grids_dir = os.path.join(args.out, "grids")
    starts = sorted(os.path.join(grids_dir, f) for f in os.listdir(grids_dir)
                    if f.startswith("lowdim_"))
    starts += [os.path.join(REPO, c["grid"]) for c in before]
    if args.target_start_from:
        starts = [os.path.abspath(f) for f in args.target_start_from.split(",")]

    def measure(cell):
        x, e, rec = cell_errors(ctx, cell)
        cell.update(nfe=rec["nfe"], **bootstrap(e, ctx["e_ddim"], args.bootstrap, args.seed + 1))
        cell.update(split_far(e, x, x_star, component))
        print(f"[target] {cell['sampler']} @{cell['nfe']}: held-out RMS {cell['rms']:.4g} "
              f"[{cell['rms_lo']:.3g}, {cell['rms_hi']:.3g}] (fit {cell['fit_rms']:.4g} on "
              f"{cell['fit_samples']} draws), {cell['far']} far draws; DDIM-1000 x"
              f"{cell['rms_ratio']:.2f} ({time.time() - ctx['t0']:.0f} s)", flush=True)
        return cell

    cells = [measure(dict(c)) for c in before]
    for spec in (args.target or "").split(","):  # a cell may repeat: it refits from all before
        if not spec:
            continue
        sampler, nfe = spec.split("@")
        grid_file = os.path.join(grids_dir, f"target{len(cells) + 1}_{sampler}_{nfe}.yaml")
        sched = diffuse.run(["schedule"] + ctx["base"] + [
            "--dtype", ctx["dtype"], "--sampler", sampler, "--nfe", nfe, "--seed",
            str(args.seed), "--fit-samples", str(args.target_fit_samples), "--heldout-samples",
            "256", "--max-runs", str(args.target_max_runs), "--restarts",
            str(args.target_restarts), "--shift-runs", str(args.target_shift_runs),
            "--shift-step", str(args.target_shift_step), "--grid-step",
            str(args.target_grid_step), "--ref-tol", str(ctx["tol"]), "--start-from",
            ",".join(starts), "-o", grid_file]
            + (["--start-grids", ""] if args.target_start_from else []), echo=True)
        starts.append(grid_file)  # the next target cell may start from this one
        cells.append(measure({
            "sampler": sampler, "fit_rms": sched["fit"]["learned"]["rms"],
            "fit_samples": args.target_fit_samples, "max_runs": args.target_max_runs,
            "restarts": args.target_restarts, "shift_runs": args.target_shift_runs,
            "shift_step": args.target_shift_step, "grid_step": args.target_grid_step,
            "times_fit_rms": sched["fit"].get("learned_times_only", {}).get("rms"),
            "schedule_runs": sched["evaluations"],
            "schedule_s": sched["wall_s"], "grid": os.path.relpath(grid_file, REPO)}))
    ddim = dict(ctx["info"]["ddim_1000"],
                **split_far(ctx["e_ddim"], ctx["x_ddim"], x_star, component))
    return {"ddim_1000": ddim, "cells": cells, "heldout": args.heldout,
            "seconds": time.time() - ctx["t0"]}


def cell_errors(ctx, cell):
    """A target cell's grid run on the held-out draws of `ctx` (prepare): the samples, their
    distances to the exact map (inf where not finite) and the sample record."""
    x, rec = ctx["sample"](cell["sampler"], ["--times", os.path.join(REPO, cell["grid"])])
    e = np.linalg.norm(x - ctx["x_star"], axis=1)
    e[~np.isfinite(e)] = np.inf
    return x, e, rec


def best_target_cell(cells):
    return min((c for c in cells if c["nfe"] <= 10), key=lambda c: c["rms"])


def confirm_target(args, diffuse, work, target):
    """The best target cell against 1000-step DDIM on the held-out draws of --seed and of each
    --confirm seed, and pooled over them (paired bootstrap over the pooled draws)."""
    cell = best_target_cell(target["cells"])
    seeds = [args.seed] + [int(v) for v in args.confirm.split(",")]
    sets, errors, references = [], [], []
    for seed in seeds:
        ctx = prepare(argparse.Namespace(**dict(vars(args), seed=seed)), diffuse, work, "lowdim")
        _, e, _ = cell_errors(ctx, cell)
        sets.append(dict(seed=seed, ddim_rms=STATS["rms"](ctx["e_ddim"]),
                         **bootstrap(e, ctx["e_ddim"], args.bootstrap, seed + 1),
                         **split_far(e)))
        errors.append(e)
        references.append(ctx["e_ddim"])
        print(f"[confirm] seed {seed}: {cell['sampler']} @{cell['nfe']} RMS "
              f"{sets[-1]['rms']:.4g} against DDIM-1000 {sets[-1]['ddim_rms']:.4g}, ratio "
              f"{sets[-1]['rms_ratio']:.4f} [{sets[-1]['rms_ratio_lo']:.3f}, "
              f"{sets[-1]['rms_ratio_hi']:.3f}]", flush=True)
    pooled = bootstrap(np.concatenate(errors), np.concatenate(references), args.bootstrap,
                       args.seed + 1)
    pooled["ddim_rms"] = STATS["rms"](np.concatenate(references))
    return {"grid": cell["grid"], "sampler": cell["sampler"], "nfe": cell["nfe"],
            "heldout": args.heldout, "sets": sets, "pooled": pooled}


def confirm_sentence(target):
    """The best cell on other held-out draws than those that chose it (--confirm)."""
    confirm = target.get("confirm")
    if not confirm or confirm["grid"] != best_target_cell(target["cells"])["grid"]:
        return ""
    others, p = confirm["sets"][1:], confirm["pooled"]
    if p["rms_ratio"] > 1:
        verdict = "is above DDIM-1000 on the point estimate."
    elif all(s["rms_ratio"] <= 1 for s in others):
        verdict = "stays at or below DDIM-1000 on the point estimate."
    else:
        verdict = (f"is at or below DDIM-1000 pooled, not on every set alone: a difference "
                   f"this small is below what {confirm['heldout']} draws resolve.")
    return (" On other held-out draws (" + "; ".join(
        f"seed {s['seed']}, {confirm['heldout']} draws: {s['rms']:.4g} against DDIM-1000's "
        f"{s['ddim_rms']:.4g}, ratio {s['rms_ratio']:.3f} [{s['rms_ratio_lo']:.3f}, "
        f"{s['rms_ratio_hi']:.3f}]" for s in others)
        + f") and pooled with the draws above ({confirm['heldout'] * len(confirm['sets'])} draws: "
        f"{p['rms']:.4g} against {p['ddim_rms']:.4g}, ratio {p['rms_ratio']:.3f} "
        f"[{p['rms_ratio_lo']:.3f}, {p['rms_ratio_hi']:.3f}]), the best cell's grid " + verdict
        + " (`--confirm`, among the commands above the table.)")


def fmt(v):
    if v is None or v == "":
        return "-"
    v = float(v)
    if not np.isfinite(v):
        return "inf"
    return f"{v:.2g}" if abs(v) >= 0.01 else f"{v:.1e}"


def and_list(items):
    """'a', 'a and b', 'a, b and c'."""
    return " and ".join(filter(None, [", ".join(items[:-1]), items[-1]]))


def far_counts(c):
    """Far draws (of them ending at another component) / all that end there."""
    return f"{c['far']} ({c['far_changed']}) / {c['changed']}"


def near_split(c):
    return f"{fmt(c['near_part'])} ({fmt(c['near_in'])} / {fmt(c['near_off'])})"


def shifted(c):
    """A cell whose evaluation times were fitted on its grid (diffuse schedule --shift-runs)."""
    return c.get("shift_runs", 0) > 0


def target_table(target, table_heldout):
    ref = target["ddim_1000"]
    draws = (f"the same {target['heldout']} held-out draws as the table"
             if target["heldout"] == table_heldout else
             f"{target['heldout']} held-out draws from the same stream as the table's "
             f"{table_heldout} (the first {min(target['heldout'], table_heldout or 0)} are the "
             "same draws)")
    lines = ["### The target: 10 NFE or fewer against 1000-step DDIM (64-D mixture)", "",
             "The table's fits are capped (1024 fit draws, one search). Here each cell gets "
             "a longer search (its fit draws, sampler runs and perturbed restarts are in the "
             "table) and warm starts from every 64-D grid the table fitted and the target "
             f"grids before it, of any sampler. Measured on {draws}. "
             "`far`: draws whose distance to "
             f"the exact map exceeds {FAR}; the RMS splits exactly into those and the rest "
             "(RMS^2 = far part^2 + near part^2). `changed`: draws that end nearest another "
             "mixture component than the exact map's (k-means of the exact map's outputs in "
             "their top 4 principal coordinates); `far (changed) / changed` counts both. The near "
             "part is split again into its error in the mixture's 4-D subspace (the exact map's "
             "top 4 principal directions) and off it (in / off)."
             + (" `learned + eval times`: the learned grid with the time at which the score is "
                "queried at each grid time fitted too (decoupled evaluation times, "
                "docs/learned_grids.md; `+ N shift` is that search's sampler runs)."
                if any(shifted(c) for c in target["cells"]) else ""), "",
             "```sh", target["command"], "```", "",
             "| sampler @ NFE | held-out RMS [95%] | ratio to DDIM-1000 [paired 95%] | fit RMS "
             "(draws, runs, restarts) | median | far (changed) / changed | far part "
             "| near part (in / off) |",
             "| --- | --- | --- | --- | --- | ---: | --- | --- |",
             f"| ddim @ 1000 (uniform) | {fmt(ref['rms'])} [{fmt(ref['rms_lo'])}, "
             f"{fmt(ref['rms_hi'])}] | 1 | - | {fmt(ref['median'])} | {far_counts(ref)} | "
             f"{fmt(ref['far_part'])} | {near_split(ref)} |"]
    for c in target["cells"]:
        kind, runs = "learned", f"{c['fit_samples']}, {c['max_runs']}, {c['restarts']}"
        if shifted(c):
            kind, runs = "learned + eval times", runs + f", + {c['shift_runs']} shift"
        lines.append(f"| {c['sampler']} @ {c['nfe']} ({kind}) | {fmt(c['rms'])} "
                     f"[{fmt(c['rms_lo'])}, {fmt(c['rms_hi'])}] | {c['rms_ratio']:.2f} "
                     f"[{c['rms_ratio_lo']:.2f}, {c['rms_ratio_hi']:.2f}] | {fmt(c['fit_rms'])} "
                     f"({runs}) | {fmt(c['median'])} | {far_counts(c)} | {fmt(c['far_part'])} | "
                     f"{near_split(c)} |")
    return lines


def target_verdict(target, best):
    """The target sentence and where the best cell's error comes from."""
    ref = target["ddim_1000"]
    if best["rms"] <= ref["rms"] and best["rms_ratio_hi"] > 1:
        verdict = ("**met on the point estimate** (the paired interval of the ratio still "
                   "holds 1: these draws say it matches, not that it is better)")
    elif best["rms"] <= ref["rms"]:
        verdict = "**met**"
    elif best["rms_ratio_lo"] <= 1:
        verdict = ("**not met on the point estimate, matched within its uncertainty** (the "
                   "paired interval of the ratio holds 1: these draws cannot tell the two apart)")
    else:
        verdict = "**not met**"
    fewer = best["changed_part"] < ref["changed_part"]
    how = " with fitted evaluation times" if shifted(best) else ""
    return (f"**Target** (a learned grid at 10 NFE or fewer matches 1000-step DDIM's RMS "
            f"distance to the exact map on held-out noise): {verdict}. Best at 10 NFE or "
            f"fewer: {best['sampler']} at {best['nfe']} NFE{how}, {fmt(best['rms'])} "
            f"[{fmt(best['rms_lo'])}, {fmt(best['rms_hi'])}] against {fmt(ref['rms'])} "
            f"[{fmt(ref['rms_lo'])}, {fmt(ref['rms_hi'])}], ratio {best['rms_ratio']:.2f} "
            f"(paired interval [{best['rms_ratio_lo']:.2f}, {best['rms_ratio_hi']:.2f}]). "
            f"1000-step DDIM's RMS is almost all its {ref['far']} far draws of "
            f"{target['heldout']}, "
            + ("all" if ref['far_changed'] == ref['far'] else f"{ref['far_changed']} of them")
            + " at another component "
            f"(far part {fmt(ref['far_part'])}, the rest {fmt(ref['near_part'])}). The best "
            f"learned grid's far draws that end at another component are "
            f"{best['far_changed']} and weigh {fmt(best['changed_part'])} (DDIM-1000's: "
            f"{fmt(ref['changed_part'])})"
            + ("; they alone weigh more than DDIM-1000's whole RMS. On top come "
               if best["changed_part"] > ref["rms"] else "; besides them come ")
            + f"{best['far'] - best['far_changed']} far draws at the right component and a "
            f"near part of {fmt(best['near_part'])}, "
            f"{best['near_part'] / ref['near_part']:.1f}x DDIM-1000's: {fmt(best['near_in'])} "
            f"in the mixture's subspace and {fmt(best['near_off'])} off it (DDIM-1000's off "
            f"it: {fmt(ref['near_off'])}). "
            + ("So it sends less weight to the wrong component than 1000 DDIM steps do; what "
               "keeps its RMS up is the solver's ordinary discretisation error on every "
               "draw, in the subspace." if fewer else
               "That is the solver's discretisation error at this NFE, on every draw and, "
               "where the trajectories choose a component, in where they go; a grid moves "
               "it between noise levels but cannot remove it."))


def converged_sentence(cells):
    """Repeated cells that refitted from the grids before them and found the same grid."""
    seen, converged = {}, []
    for c in cells:
        if shifted(c):
            continue
        key = (c["sampler"], c["nfe"], c["fit_samples"])
        if key in seen and seen[key] == c["rms"]:
            converged.append(f"{c['sampler']} @ {c['nfe']} ({c['fit_samples']} fit draws)")
        seen[key] = c["rms"]
    if not converged:
        return ""
    return (f" Repeated, warm-started from the grids before them, {and_list(converged)} "
            "found no better grid on their fit draws: the search had converged there.")


def fit_draws_sentences(cells):
    """A sampler and NFE fitted on more and more draws: did more draws still help?"""
    groups, out = {}, ""
    for c in cells:
        if c["nfe"] <= 10 and not shifted(c):
            groups.setdefault((c["sampler"], c["nfe"]), {})[c["fit_samples"]] = c
    for (sampler, nfe), by_draws in groups.items():
        if len(by_draws) < 2:
            continue
        n = sorted(by_draws)
        most, before = by_draws[n[-1]], by_draws[n[-2]]
        inside = most["rms_lo"] <= most["fit_rms"] <= most["rms_hi"]
        still = before["rms_lo"] <= most["rms"] <= before["rms_hi"]
        out += (f" Fitted on {', '.join(str(k) for k in n)} draws, the {sampler} @ {nfe} "
                f"grid reads {', '.join(fmt(by_draws[k]['rms']) for k in n)} held out "
                f"and {', '.join(fmt(by_draws[k]['fit_rms']) for k in n)} on its fit draws"
                + (f"; on {n[-1]} the fit RMS is inside the held-out interval: the grid "
                   "no longer fits the draws it saw" if inside else "")
                + (f"; from {n[-2]} to {n[-1]} fit draws the held-out RMS stayed inside "
                   "its interval, so the limit there is the solver, not the fit."
                   if still else "."))
    return out


def grid_record(cell):
    """The JSON record diffuse schedule wrote into a cell's grid file (its `record:` line)."""
    with open(os.path.join(REPO, cell["grid"])) as f:
        line = next(l for l in f if l.startswith("record: "))
    return json.loads(line[len("record: "):])


def eval_times_sentences(cells):
    """What fitting the evaluation times bought over the same grid at its own times, and what
    each continued search (--start-from a grid with eval_times) bought over the one before."""
    out, before = "", {}
    for c in cells:
        key = (c["sampler"], c["nfe"], c["fit_samples"])
        if not shifted(c):
            before[key] = c
            continue
        b, start = before.get(key), grid_record(c).get("shift_start_fit_rms")
        before[key] = c
        if b is None:
            continue
        if shifted(b) and c["max_runs"] > 1 and start is not None:
            again = b["max_runs"] > 1  # b was a round of this alternation already
            out += ((" A second round of that alternation, the grid" if again else
                     " Alternated from those evaluation times, the grid")
                    + f" searched again under "
                    f"them ({c['schedule_runs'] - c['shift_runs']} runs, first step "
                    f"{c.get('grid_step', 0.5):g}; fit RMS {b['fit_rms']:.4g} to {start:.4g}) "
                    f"and then the evaluation times on the new grid ({c['shift_runs']} runs, "
                    f"first step {c['shift_step']:g}; to {c['fit_rms']:.4g}), it reads "
                    f"{c['rms']:.4g} held out (ratio {c['rms_ratio']:.3f}, paired interval "
                    f"[{c['rms_ratio_lo']:.3f}, {c['rms_ratio_hi']:.3f}]); near part "
                    f"{c['near_part']:.4g}, far draws {c['far']} ({c['far_changed']} at "
                    "another component).")
            continue
        if shifted(b) and start is not None and start < c["times_fit_rms"]:
            out += (f" Continued from those evaluation times ({c['shift_runs']} more runs, "
                    f"first step {c['shift_step']:g}), it goes to {c['rms']:.4g} held out "
                    f"(ratio {c['rms_ratio']:.3f}, paired interval [{c['rms_ratio_lo']:.3f}, "
                    f"{c['rms_ratio_hi']:.3f}]) and from {start:.4g} to {c['fit_rms']:.4g} on "
                    f"its fit draws; near part {c['near_part']:.4g}, far draws {c['far']} "
                    f"({c['far_changed']} at another component).")
            continue
        out += (f" With its evaluation times fitted as well ({c['shift_runs']} more sampler "
                f"runs on the same {c['fit_samples']} fit draws), the {c['sampler']} @ "
                f"{c['nfe']} grid goes from {b['rms']:.4g} to {c['rms']:.4g} held out "
                f"(ratio {b['rms_ratio']:.3f} to {c['rms_ratio']:.3f}) and from "
                f"{(c.get('times_fit_rms') or b['fit_rms']):.4g} to {c['fit_rms']:.4g} on its "
                f"fit draws; its near part from {b['near_part']:.4g} to "
                f"{c['near_part']:.4g}, its far draws from {b['far']} to {c['far']} (of them at "
                f"another component: {b['far_changed']} to {c['far_changed']}).")
    return out


def matching_sentence(cells, ref):
    matching = sorted(c["nfe"] for c in cells if c["rms"] <= ref["rms"])
    if matching:
        return (f" The smallest NFE among these cells whose held-out RMS is at most "
                f"DDIM-1000's: {matching[0]}.")
    close = min(cells, key=lambda c: c["rms_ratio"])
    return (f" No cell here matches DDIM-1000; the closest is {close['sampler']} at "
            f"{close['nfe']} NFE, ratio {close['rms_ratio']:.2f} (paired interval "
            f"[{close['rms_ratio_lo']:.2f}, {close['rms_ratio_hi']:.2f}]).")


def target_section(target, table_heldout):
    cells = target["cells"]
    best = best_target_cell(cells)
    return target_table(target, table_heldout) + [
        "", target_verdict(target, best) + confirm_sentence(target) + converged_sentence(cells)
        + fit_draws_sentences(cells) + eval_times_sentences(cells)
        + matching_sentence(cells, target["ddim_1000"]),
        "", f"The target cells took {target['seconds'] / 60:.0f} min.", ""]


def write_readme(args, rows, summary, command, target):
    by = {}
    for r in rows:
        by[(r["dataset"], r["sampler"], int(r["nfe"]), r["grid"])] = r
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    lines = ["## Learned time grids", "",
             "Each sampler's grid fitted by `diffuse schedule` (docs/learned_grids.md) against "
             "the uniform, logSNR, quadratic and Karras grids at the same NFE. Distances are to "
             "the exact probability-flow map of the same noise (rk45, rtol = atol = "
             f"{args.rtol:g}, the analytic score; for a trained model its own rk45 map), "
             "measured on held-out noise draws the fit never saw (the fit draws come from "
             "`diffuse schedule --seed`, the held-out ones from the script's own generator). "
             "Cells: RMS [95% bootstrap interval] · median · p99 of the per-sample distance; "
             "`fit` is the learned grid's RMS on its own fit draws. Last column: the first NFE "
             "of the list whose held-out RMS is at most 1000-step DDIM's.", "", "```sh",
             command, "```", ""]
    for d in datasets:
        info = summary["datasets"][d]
        ref = info["ddim_1000"]
        lines += [f"### {info['title']}", "",
                  f"{info['heldout']} held-out draws; fits on {info.get('fit_samples', '?')} "
                  f"draws, at most {info.get('max_runs', '?')} sampler runs each. "
                  f"Exact map: rk45 at tol {info['reference_tol']:g} ({info['reference_nfe']} "
                  f"NFE); the estimator's floor (RMS change at 100x looser tolerance): "
                  f"{fmt(info['floor_rms'])}. **1000-step DDIM** (uniform grid): RMS "
                  f"{fmt(ref['rms'])} [{fmt(ref['rms_lo'])}, {fmt(ref['rms_hi'])}] · median "
                  f"{fmt(ref['median'])} · p99 {fmt(ref['p99'])}"
                  + (f" · FD {ref['fd']:.2f} (the model's own exact map: FD "
                     f"{info['fd_reference']:.2f})" if "fd" in ref else "") + ".", ""]
        if "fd_reference" in info:
            lines += [f"A trained network (`--model`, the commands above): distances are to "
                            "its own rk45 map, the grids are fitted against that map, and FD is "
                            f"measured over {info['heldout']} samples against as many test "
                            "images in the features of `diffuse train-classifier`'s network.",
                            ""]
        samplers = list(dict.fromkeys(r["sampler"] for r in rows if r["dataset"] == d))
        nfes = sorted({int(r["nfe"]) for r in rows if r["dataset"] == d})
        lines += ["| sampler | grid | " + " | ".join(f"NFE {n}" for n in nfes)
                  + " | first NFE matching DDIM-1000 RMS |",
                  "| --- | --- | " + " | ".join("---" for _ in nfes) + " | ---: |"]
        for s in samplers:
            for g in GRIDS:
                cells, first = [], None
                for n in nfes:
                    r = by.get((d, s, n, g))
                    if r is None:
                        cells.append("-")
                        continue
                    c = (f"{fmt(r['rms'])} [{fmt(r['rms_lo'])}, {fmt(r['rms_hi'])}] · "
                         f"{fmt(r['median'])} · {fmt(r['p99'])}")
                    if r.get("fd") not in (None, ""):
                        c += f" · FD {float(r['fd']):.1f}"
                    if g == "learned":
                        c = f"**{c}** (fit {fmt(r['fit_rms'])})"
                    cells.append(c)
                    if first is None and float(r["rms"]) <= float(ref["rms"]):
                        first = n
                first_text = str(first) if first else f">{nfes[-1]}"
                lines.append(f"| {s} | {g} | " + " | ".join(cells) + f" | {first_text} |")
        lines.append("")
    if target:
        lowdim = summary["datasets"].get("lowdim", {})
        lines += target_section(target, lowdim.get("heldout"))
    lines += [f"Run time: {summary['seconds'] / 60:.1f} min of wall time summed over the runs "
              "above (partly concurrent, on a shared 2-core machine); per data set in "
              "summary.json, each fit's sampler runs and seconds in raw.csv."]
    return "\n".join(lines) + "\n"


def fail(message):
    """Bad input: say what is wrong and what was expected, exit 2 before anything is written."""
    print(f"learned_grids.py: {message}", file=sys.stderr)
    sys.exit(2)


def replace_file(path, write):
    """write(f) into a temporary name beside path, then rename: a run cut short leaves the old
    file whole."""
    with open(path + ".tmp", "w", newline="") as f:
        write(f)
    os.replace(path + ".tmp", path)


def write_target(args, target):
    """target.json, and the README again with its target section (the table from raw.csv)."""
    replace_file(os.path.join(args.out, "target.json"), lambda f: json.dump(target, f, indent=1))
    with open(os.path.join(args.out, "raw.csv")) as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(args.out, "summary.json")) as f:
        summary = json.load(f)
    replace_file(os.path.join(args.out, "README.md"), lambda f: f.write(
        write_readme(args, rows, summary, summary["command"], target)))


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    raw_path = os.path.join(args.out, "raw.csv")
    summary_path = os.path.join(args.out, "summary.json")
    target_path = os.path.join(args.out, "target.json")
    readme_path = os.path.join(args.out, "README.md")
    target = None
    if os.path.exists(target_path):
        with open(target_path) as f:
            target = json.load(f)
    command = "/usr/bin/python3 scripts/learned_grids.py " + shlex.join(sys.argv[1:])
    if args.from_raw:
        with open(raw_path) as f:
            rows = list(csv.DictReader(f))
        with open(summary_path) as f:
            summary = json.load(f)
        replace_file(readme_path, lambda f: f.write(
            write_readme(args, rows, summary, summary.get("command", command), target)))
        return
    binary = os.path.abspath(args.diffuse)
    if not os.access(binary, os.X_OK):
        fail(f"no diffuse binary at {binary} (build it, or pass --diffuse)")
    work = tempfile.mkdtemp(prefix="learned_grids_")
    diffuse = Diffuse(binary, work)
    t0 = time.time()
    if args.confirm:
        seeds = args.confirm.split(",")
        if not all(v.isdigit() for v in seeds) or len({args.seed, *map(int, seeds)}) != \
                len(seeds) + 1:
            fail(f"--confirm {args.confirm!r}: expected seeds other than --seed "
                 f"({args.seed}) and each other, e.g. 1 or 1,2")
        if not target or not target["cells"]:
            fail(f"--confirm: {target_path} has no target cells; run --target first")
        target["confirm"] = confirm_target(args, diffuse, work, target)
        target["command"] = (target["command"] + "\n" + command).strip()
        write_target(args, target)
        print(f"wrote {target_path} ({(time.time() - t0) / 60:.1f} min)")
        return
    if args.target or args.remeasure:  # its own file, so a table run beside it cannot drop it
        before = target if (args.append or args.remeasure) and target else {
            "cells": [], "seconds": 0.0, "command": ""}
        for c in before["cells"]:  # target.json kept these once for all its cells
            for key in ("fit_samples", "max_runs", "restarts"):
                c.setdefault(key, before.get(key))
        target = run_target(args, diffuse, work, before["cells"])
        target["seconds"] += before["seconds"]
        target["command"] = (before["command"] + "\n" + command).strip()
        if before.get("confirm", {}).get("heldout") == args.heldout:  # still the best cell's?
            target["confirm"] = before["confirm"]  # confirm_sentence checks
        write_target(args, target)
        print(f"wrote {target_path} ({(time.time() - t0) / 60:.1f} min)")
        return
    rows, summary = [], {"datasets": {}, "command": command}
    if (args.append or args.reuse_grids) and os.path.exists(raw_path):
        with open(raw_path) as f:
            rows = list(csv.DictReader(f))
        with open(summary_path) as f:
            summary = json.load(f)
        summary["command"] = summary.get("command", "") + "\n" + command
    datasets = args.datasets.split(",")
    names = [args.model_name if d == "model" else d for d in datasets]
    if args.reuse_grids:  # every cell asked for must have been fitted before
        have = {(r["dataset"], r["sampler"], int(r["nfe"]), r["grid"]) for r in rows}
        missing = [f"{n} {s} @{k}" for n in names for s in args.samplers.split(",")
                   for k in map(int, args.nfe.split(","))
                   if n not in summary["datasets"] or
                   any((n, s, k, g) not in have for g in GRIDS)]
        if missing:
            fail(f"--reuse-grids: {raw_path} has no fitted cells for {', '.join(missing[:5])}"
                 f"{' ...' if len(missing) > 5 else ''}; fit them first (without --reuse-grids)")
    kept = {n: {"rows": [r for r in rows if r["dataset"] == n], "info": summary["datasets"][n]}
            for n in names} if args.reuse_grids else {}
    rows = [r for r in rows if r["dataset"] not in names]
    for d in datasets:
        new, info = run_dataset(args, diffuse, work, d, args.samplers.split(","),
                                [int(v) for v in args.nfe.split(",")],
                                kept.get(args.model_name if d == "model" else d))
        rows += new
        summary["datasets"][args.model_name if d == "model" else d] = info
    summary["seconds"] = summary.get("seconds", 0) + time.time() - t0

    def write_rows(f):
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)

    replace_file(raw_path, write_rows)
    replace_file(summary_path, lambda f: json.dump(summary, f, indent=1))
    replace_file(readme_path, lambda f: f.write(
        write_readme(args, rows, summary, summary["command"], target)))
    print(f"wrote {args.out} ({(time.time() - t0) / 60:.1f} min)")


if __name__ == "__main__":
    main()
