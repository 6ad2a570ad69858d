#!/usr/bin/env python3
"""Sampling complexity of the forward processes, measured as the seed talk states it ("Learning
Process & Sampling Complexity of Diffusion Models", section "Sample Complexities").

Objective: with the exact score, the fewest steps K such that
    KL(p_{t_K} || q_delta) <= eps_KL^2   and   W2^2(q_0, q_delta) <= eps_W2^2,
p_{t_K} the sampler's output after K steps and q_delta the data noised to the early-stopping time
delta. The talk's bound KL(p_{t_K} || q_delta) <= D^2 m_T / sigma_T^2 + D^2 (T/delta)^(1/a) / K
gives K* = O(D^2 (T/delta)^(1/a) / eps_KL^2); with T and delta from its table the exponents of K*
in 1/eps_KL at fixed eps_W2 are VP 2, VE (SMLD) 2 + 2/a, VE (EDM) 2 + 1/a, RF 2 (a = 1 here: the
talk does not pin a down), and its ranking is RF best, then EDM and VP, VE worst.

What this script measures, for each data set, process, sampler and eps_KL:
  * T and delta per process (--horizons script, the default and what the README reports):
        process  T (m2 m_T / sigma_T^2 <= eps_KL^2)   delta (sigma_delta^2 <= eps_W2^2)
        vp-ou    log(m2 / eps_KL^2)                   -log(1 - eps_W2^2) / 2
        ve       m2 / eps_KL^2                        eps_W2^2
        edm      sqrt(m2) / eps_KL                    eps_W2
        rf       the process's t_max (1 - 1e-3)       eps_W2 / sqrt(1 + m2)
    with m2 the largest eigenvalue of the data's second-moment matrix E[x0 x0^T] (exact draws;
    the per-dimension second moment of the ring, 8.1, and of the 16-D mixture's widest direction,
    2.0: its average over all 16 dimensions, 0.22, would make VP's T negative). RF's delta is
    corrected because x_delta = (1 - delta) x0 + delta z also shrinks the data:
    W2^2 <= delta^2 (m2 + 1) per dimension (--rf-table-delta keeps delta = eps_W2).
    --horizons table uses the table's own choice with unit constants: T solving
    m_T / sigma_T^2 = eps_KL^2 (VP e^-T / (1 - e^-2T), VE 1/T, EDM 1/T^2; RF T = t_max) and
    delta = eps_W2^2 (VP, VE) or eps_W2 (EDM, RF).
  * KL(p_{t_K} || q_delta) in all D dimensions by `diffuse eval --noised-to delta` (kNN entropy in
    the mixture's shared subspace + exact log-density, closed form in the Gaussian complement),
    beside its floor: the same estimator on as many exact draws of q_delta. One `diffuse sample`
    run of seeds x n draws (--seed) is split into `seeds` independent halves of n, each measured
    with its own metrics.seed; the KL per K is their mean.
  * K*(eps_KL): the smallest K with mean KL <= eps_KL^2, interpolated log-log between measured K
    on the grid 1, 2, 4, ..., --k-max; the search starts from a guess and doubles or halves until
    both neighbours of the crossing are measured for every seed (per-seed K* give the spread).
  * W2(q_0, q_delta) per dimension: analytic, from the coupling x_delta = alpha x0 + sigma z,
    sqrt((1 - alpha)^2 m2 + sigma^2) (an upper bound, the table's quantity), and sliced W2 of n
    exact draws of q_delta against the data by `diffuse eval` beside the same on exact data draws.
  * The horizon's share: KL(N(0, sigma_T^2) || q_T) measured the same way on exact prior draws,
    which bounds the K -> infinity limit of the output's KL (data processing).
  * Exponents: the log-log slope of K* against 1/eps_KL, beside the talk's (a = 1) and beside the
    bound's own slope with the T and delta actually used, (T/delta)/eps_KL^2 (VP's log(1/eps) in T
    is not negligible at these eps).

Writes <out>/{table.md, raw.json, plot.png}; --from-raw [RAW] rewrites table.md and plot.png from a
saved raw.json without running anything. Runs one `diffuse` process at a time with one thread.
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as dc  # noqa: E402

PROCESSES = ["vp-ou", "ve", "edm", "rf"]
SAMPLERS = [("euler-maruyama", "SDE"), ("euler", "ODE")]
RF_T_MAX = 1.0 - 1e-3
# The talk's exponents of K* in 1/eps_KL at fixed eps_W2 (a = 1), and its ranking (1 = best).
SEED_EXPONENT = {"vp-ou": "2", "ve": "2 + 2/a = 4", "edm": "2 + 1/a = 3", "rf": "2"}
SEED_EXPONENT_VALUE = {"vp-ou": 2.0, "ve": 4.0, "edm": 3.0, "rf": 2.0}
SEED_RANK = {"rf": "1", "edm": "2-3", "vp-ou": "2-3", "ve": "4"}
LABEL = {"vp-ou": "VP (OU)", "ve": "VE (SMLD)", "edm": "VE (EDM)", "rf": "RF"}
COLOUR = {"vp-ou": "C0", "ve": "C3", "edm": "C2", "rf": "C1"}


def horizons(m2, eps_kl, eps_w2, rf_table_delta=False):
    """(T, delta) per process, the script's choice (see the module docstring); T None: RF's t_max."""
    rf_delta = eps_w2 if rf_table_delta else eps_w2 / math.sqrt(1 + m2)
    return {
        "vp-ou": (math.log(m2 / eps_kl ** 2), -math.log(1 - eps_w2 ** 2) / 2),
        "ve": (m2 / eps_kl ** 2, eps_w2 ** 2),
        "edm": (math.sqrt(m2) / eps_kl, eps_w2),
        "rf": (None, rf_delta),  # T: the process's own t_max (1 - 1e-3)
    }


def table_horizons(eps_kl, eps_w2):
    """The talk's table with unit constants: m_T / sigma_T^2 = eps_KL^2 solved for T."""
    e2 = eps_kl ** 2
    # VP: x / (1 - x^2) = e2 with x = e^-T  ->  x = (sqrt(1 + 4 e2^2) - 1) / (2 e2).
    x = (math.sqrt(1 + 4 * e2 * e2) - 1) / (2 * e2)
    return {"vp-ou": (-math.log(x), eps_w2 ** 2), "ve": (1 / e2, eps_w2 ** 2),
            "edm": (1 / eps_kl, eps_w2), "rf": (None, eps_w2)}


def choose(a, m2, eps_kl):
    h = (table_horizons(eps_kl, a.eps_w2) if a.horizons == "table"
         else horizons(m2, eps_kl, a.eps_w2, a.rf_table_delta))
    return {k: (RF_T_MAX if T is None else T, d) for k, (T, d) in h.items() if k in a.processes}


def process_of(kind, T):
    """(alpha, sigma) of the process at time t, for the analytic W2 and the prior."""
    return {"vp-ou": lambda t: (math.exp(-t), math.sqrt(-math.expm1(-2 * t))),
            "ve": lambda t: (1.0, math.sqrt(t)),
            "edm": lambda t: (1.0, t),
            "rf": lambda t: (1.0 - t, t)}[kind](T)


def crossing(Ks, kls, eps):
    """The smallest K with KL <= eps, interpolated log-log between measured K; None if never
    (as in scripts/lowdim_adaptation.py)."""
    for i, (K, kl) in enumerate(zip(Ks, kls)):
        if kl <= eps:
            if i == 0:
                return float(K)
            k0, l0 = Ks[i - 1], kls[i - 1]
            if not np.isfinite(l0):
                return float(K)
            f = (np.log(eps) - np.log(l0)) / (np.log(kl) - np.log(l0))
            return float(np.exp(np.log(k0) + f * (np.log(K) - np.log(k0))))
    return None


def kl_value(record):
    v = record["kl"]
    return float("inf") if v is None else float(v)


class Runner:
    """Runs diffuse for one data set, caching each (process, sampler, T, delta, K) measurement."""

    def __init__(self, a, work, data, raw, checkpoint):
        self.a, self.work, self.data = a, work, data
        self.checkpoint = checkpoint
        self.config = os.path.join(work, "%s.yaml" % data)
        n = a.seeds * a.num_samples
        with open(self.config, "w") as f:  # JSON is YAML
            json.dump({"seed": a.seed, "process": {"kind": "vp-ou"}, "data": {"kind": data},
                       "model": {"kind": "analytic"}, "sampler": {"grid": a.grid},
                       "sample": {"num_samples": n, "batch_size": n}}, f)
        self.runs = raw["runs"]  # shared with raw, so each checkpoint holds every run so far
        self.cache = {(e["process"], e["sampler"], e["T"], e["delta"], e["K"]): e
                      for e in raw["runs"] if e["data"] == data}

    def settings(self, kind, T, delta):
        return dc.settings({"process.kind": kind, "process.t_min": repr(delta),
                            "process.t_max": repr(T)})

    def eval(self, samples, kind, T, delta, noised_to, metrics_seed, cheap=True):
        """`diffuse eval` of samples under process (kind, t_min = delta, t_max = T); noised_to
        None: no noised KL (the W2 check)."""
        extra = ["--set", "metrics.mmd_max_points=16", "--set", "metrics.num_projections=8"] \
            if cheap else []
        if noised_to is not None:
            extra += ["--noised-to", repr(noised_to)]
        return dc.run_command([self.a.diffuse, "eval", "-c", self.config, "-s", samples,
                               "--set", "metrics.seed=%d" % metrics_seed]
                              + self.settings(kind, T, delta) + extra)

    def measure(self, kind, sampler, T, delta, K):
        key = (kind, sampler, T, delta, K)
        if key in self.cache:
            return self.cache[key]
        a = self.a
        out = os.path.join(self.work, "samples.npy")
        t0 = time.time()
        dc.run_command([a.diffuse, "sample", "-c", self.config, "--sampler", sampler, "--steps", K,
                        "--seed", a.seed, "--dtype", "float64", "-o", out]
                       + self.settings(kind, T, delta))
        t1 = time.time()
        x = np.load(out)
        kls = []
        for i in range(a.seeds):
            part = os.path.join(self.work, "part%d.npy" % i)
            np.save(part, x[i * a.num_samples:(i + 1) * a.num_samples])
            kls.append(self.eval(part, kind, T, delta, delta, 1000 + i)["noised_kl"])
        entry = {"data": self.data, "process": kind, "sampler": sampler, "T": T, "delta": delta,
                 "K": K, "noised_kl": kls, "sample_s": t1 - t0, "eval_s": time.time() - t1}
        self.runs.append(entry)
        self.cache[key] = entry
        self.checkpoint()
        return entry


def search(runner, kind, sampler, T, delta, eps2, guess, k_max, log):
    """Measures K on the grid 1, 2, 4, ... until the crossing of eps2 is bracketed for the mean
    and for every seed; returns the measured K in order."""
    done = {}

    def at(K):
        if K not in done:
            e = runner.measure(kind, sampler, T, delta, K)
            done[K] = [kl_value(r) for r in e["noised_kl"]]
            log(kind, sampler, T, delta, K, done[K], e)
        return done[K]

    K = int(min(max(1, 2 ** round(math.log2(max(guess, 1)))), k_max))
    # Up until every seed is at or under eps2 (or k_max).
    while max(at(K)) > eps2 and K < k_max:
        K *= 2
    # Down from the smallest measured K until every seed is over eps2 (or K = 1).
    K = min(done)
    while min(at(K)) <= eps2 and K > 1:
        K //= 2
    return sorted(done)


def data_moments(a, runner):
    """m2 (largest eigenvalue of E[x x^T]) and the second-moment spectrum, from exact draws."""
    path = os.path.join(runner.work, "%s-data.npy" % runner.data)
    dc.run_command([a.diffuse, "data", "-c", runner.config, "-n", 100000, "--seed", 12345,
                    "--dtype", "float64", "-o", path])
    x = np.load(path)
    eig = np.linalg.eigvalsh(x.T @ x / len(x))[::-1]
    return float(eig[0]), [float(v) for v in eig], float((x ** 2).mean()), x.shape[1]


def main(a):
    dc.check_binary(a.diffuse)
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="process_complexity.")
    started = time.time()
    args = dict(vars(a))
    for k in ["diffuse", "out"]:  # repository-relative where they lie inside it
        if os.path.abspath(args[k]).startswith(dc.ROOT + os.sep):
            args[k] = os.path.relpath(os.path.abspath(args[k]), dc.ROOT)
    raw = {"args": args, "data": {}, "runs": [], "w2": [], "prior": [], "wall_s": 0.0}
    raw_path = os.path.join(a.out, "raw.json")
    if a.resume and os.path.exists(raw_path):
        with open(raw_path) as f:
            old = json.load(f)
        if old.get("args", {}).get("horizons") != a.horizons or old["args"]["eps_w2"] != a.eps_w2:
            sys.exit("--resume: %s was made with other horizons or eps_W2" % raw_path)
        for k in ["runs", "w2", "prior"]:
            raw[k] = old[k]
        raw["wall_s"] = old.get("wall_s", 0.0)  # time already spent, added to this run's
        print("resuming from %s: %d runs" % (raw_path, len(raw["runs"])))
    wall_before = raw["wall_s"]

    def checkpoint():
        raw["wall_s"] = wall_before + time.time() - started
        raw["partial"] = True
        with open(raw_path + ".tmp", "w") as f:
            json.dump(raw, f, indent=1)
        os.replace(raw_path + ".tmp", raw_path)
    eps_list = sorted(a.eps_kl, reverse=True)  # cheapest first: its K* seeds the next guess

    def log(kind, sampler, T, delta, K, kls, e):
        print("  %-5s %-14s T=%-8.4g delta=%-8.4g K=%5d  KL %s  floor %s  [%.1f+%.1f s, %.0f s]" % (
            kind, sampler, T, delta, K, " ".join("%.4g" % v for v in kls),
            " ".join("%.3g" % r["floor"] for r in e["noised_kl"]), e["sample_s"], e["eval_s"],
            time.time() - started), flush=True)

    for data in a.data:
        runner = Runner(a, work, data, raw, checkpoint)
        m2, spectrum, m2_mean, dim = data_moments(a, runner)
        raw["data"][data] = {"m2": m2, "spectrum": spectrum, "m2_per_dim_mean": m2_mean, "dim": dim}
        print("%s: D = %d, m2 (widest direction) = %.4g, mean per dimension %.4g" % (
            data, dim, m2, m2_mean), flush=True)

        # W2(q_0, q_delta): analytic coupling bound and sliced W2 on exact draws (delta depends on
        # eps_W2 only, so one check per process).
        exact = os.path.join(work, "%s-exact.npy" % data)
        dc.run_command([a.diffuse, "data", "-c", runner.config, "-n", a.num_samples, "--seed", 777,
                        "--dtype", "float64", "-o", exact])
        x0 = np.load(exact)
        base = runner.eval(exact, "vp-ou", 1.0, 0.5, None, 2000, cheap=False)
        rng = np.random.default_rng(778)
        for kind, (T, delta) in choose(a, m2, eps_list[0]).items():
            if any(w["data"] == data and w["process"] == kind and w["delta"] == delta
                   for w in raw["w2"]):
                continue
            al, si = process_of(kind, delta)
            xd = al * x0 + si * rng.standard_normal(x0.shape)
            path = os.path.join(work, "qdelta.npy")
            np.save(path, xd)
            m = runner.eval(path, "vp-ou", 1.0, 0.5, None, 2000, cheap=False)
            raw["w2"].append({"data": data, "process": kind, "delta": delta, "alpha": al,
                              "sigma": si, "coupling_bound": math.sqrt((1 - al) ** 2 * m2 + si ** 2),
                              "sliced_w2": m["sliced_w2"], "sliced_w2_floor": base["sliced_w2"]})
            print("  W2(q0, q_delta) %-5s delta %.4g: coupling bound %.4g per dim; sliced W2 %.4g "
                  "(exact-draw floor %.4g)" % (kind, delta, raw["w2"][-1]["coupling_bound"],
                                               m["sliced_w2"], base["sliced_w2"]), flush=True)

        guesses = {}
        for eps in eps_list:
            chosen = choose(a, m2, eps)
            for kind, (T, delta) in chosen.items():
                # The horizon's share: exact prior draws against q_T.
                known = [p for p in raw["prior"] if p["data"] == data and p["process"] == kind
                         and p["T"] == T]
                if a.prior_kl and any(p["eps_kl"] == eps for p in known):
                    pass  # resumed
                elif a.prior_kl and known:  # RF: the same T for every eps_KL
                    raw["prior"].append(dict(known[0], eps_kl=eps))
                elif a.prior_kl:
                    al, si = process_of(kind, T)
                    prior_std = 1.0 if kind == "vp-ou" else si
                    z = prior_std * np.random.default_rng(int(1e6 * eps)).standard_normal(
                        (a.num_samples, dim))
                    path = os.path.join(work, "prior.npy")
                    np.save(path, z)
                    r = runner.eval(path, kind, T, delta, T, 3000)["noised_kl"]
                    raw["prior"].append({"data": data, "process": kind, "eps_kl": eps, "T": T,
                                         "kl": r["kl"], "floor": r["floor"]})
                    print("  prior %-5s eps %.3g T=%.4g: KL(N(0, sigma_T^2) || q_T) %.4g "
                          "(floor %.3g)" % (kind, eps, T, r["kl"], r["floor"]), flush=True)
                bound = (T / delta) / eps ** 2
                for sampler, _ in SAMPLERS:
                    if sampler not in a.samplers:
                        continue
                    g = guesses.get((kind, sampler))
                    guess = a.k_guess * bound if g is None else g[0] * bound / g[1]
                    Ks = search(runner, kind, sampler, T, delta, eps ** 2, guess, a.k_max, log)
                    mean = [np.mean([kl_value(r) for r in runner.cache[
                        (kind, sampler, T, delta, K)]["noised_kl"]]) for K in Ks]
                    k_star = crossing(Ks, mean, eps ** 2)
                    if k_star is not None:
                        guesses[(kind, sampler)] = (k_star, bound)
                    print("%s %-5s %-14s eps_KL %.3g: K* = %s" % (
                        data, kind, sampler, eps, "%.1f" % k_star if k_star else "> %d" % a.k_max),
                        flush=True)
        checkpoint()
    raw["wall_s"] = wall_before + time.time() - started
    raw["partial"] = False
    shutil.rmtree(work, ignore_errors=True)
    with open(raw_path, "w") as f:
        json.dump(raw, f, indent=1)
    report(raw, a.out)


# ----------------------------------------------------------------------------------------------
# Tables and plot from raw.json.

def analyse(raw):
    """K* per (data, process, sampler, eps): from the mean KL and per seed."""
    a = argparse.Namespace(**raw["args"])
    a.data = [d for d in a.data if d in raw["data"]]  # a partial raw.json: the data sets so far
    runs = {}
    for e in raw["runs"]:
        runs.setdefault((e["data"], e["process"], e["sampler"], e["T"], e["delta"]), []).append(e)
    out = {}
    for data in a.data:
        m2 = raw["data"][data]["m2"]
        for eps in sorted(a.eps_kl, reverse=True):
            for kind, (T, delta) in choose(a, m2, eps).items():
                for sampler in a.samplers:
                    es = sorted(runs.get((data, kind, sampler, T, delta), []), key=lambda e: e["K"])
                    if not es:
                        continue
                    Ks = [e["K"] for e in es]
                    per_seed = np.array([[kl_value(r) for r in e["noised_kl"]] for e in es])
                    mean = per_seed.mean(axis=1)
                    floors = np.array([[r["floor"] for r in e["noised_kl"]] for e in es])
                    out[(data, kind, sampler, eps)] = {
                        "T": T, "delta": delta, "Ks": Ks, "kl": mean, "per_seed": per_seed,
                        "floor": floors,
                        "k_star": crossing(Ks, mean, eps ** 2),
                        "k_star_seeds": [crossing(Ks, per_seed[:, s], eps ** 2)
                                         for s in range(per_seed.shape[1])],
                        "k_max_measured": max(Ks),
                        "bound": (T / delta) / eps ** 2,
                        "decay": decay(Ks, mean, eps ** 2)}
    return a, out


def decay(Ks, kls, eps2):
    """r in KL ~ K^-r between the two measured K around the crossing of eps2 (None if none)."""
    for i in range(1, len(Ks)):
        if kls[i] <= eps2 < kls[i - 1] and kls[i] > 0 and np.isfinite(kls[i - 1]):
            return float(-np.log(kls[i] / kls[i - 1]) / np.log(Ks[i] / Ks[i - 1]))
    return None


def slope(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and y > 0]
    if len(pts) < 2:
        return float("nan")
    return float(np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0])


def fmt_k(c, k_max):
    if c["k_star"] is None:
        return "> %d" % c["k_max_measured"]
    seeds = [s for s in c["k_star_seeds"]]
    if all(s is not None for s in seeds):
        return "%.3g [%.3g-%.3g]" % (c["k_star"], min(seeds), max(seeds))
    return "%.3g [seed > %d]" % (c["k_star"], c["k_max_measured"])


def report(raw, out_dir):
    a, cells = analyse(raw)
    eps_list = sorted(a.eps_kl, reverse=True)
    samplers = [(s, l) for s, l in SAMPLERS if s in a.samplers]
    md = []
    md.append("Settings: exact (analytic) score, float64, %s grid, n = %d samples per seed, %d "
              "seeds (halves of one run of %d draws), eps_W2 = %g, horizons: %s%s; K on the grid "
              "1, 2, 4, ..., %d. Wall time %.0f s.\n" % (
                  a.grid, a.num_samples, a.seeds, a.seeds * a.num_samples, a.eps_w2, a.horizons,
                  " (RF delta = eps_W2 as in the table)" if a.rf_table_delta else "",
                  a.k_max, raw["wall_s"]))
    for data in a.data:
        d = raw["data"][data]
        md.append("\n## %s (D = %d)\n\nm2 = %.3g (largest eigenvalue of E[x0 x0^T]; its "
                  "per-dimension mean is %.3g).\n" % (data, d["dim"], d["m2"], d["m2_per_dim_mean"]))
        # Horizons.
        rows = []
        for kind in a.processes:
            row = [LABEL[kind]]
            for eps in eps_list:
                T, delta = choose(a, d["m2"], eps)[kind]
                pr = [p for p in raw["prior"] if p["data"] == data and p["process"] == kind
                      and p["eps_kl"] == eps]
                row.append("%.3g / %.3g / %.3g%s" % (
                    T, delta, T / delta,
                    (" / %.3g" % pr[0]["kl"]) if pr else ""))
            rows.append(row)
        md.append("\nT / delta / T/delta%s per eps_KL:\n\n" % (
            " / KL(N(0, sigma_T^2) || q_T) (the horizon's share, measured on exact prior draws)"
            if raw["prior"] else ""))
        md.append(dc.markdown_table(["process"] + ["eps_KL=%g (eps^2=%.3g)" % (e, e * e)
                                                   for e in eps_list], rows))
        w2 = [w for w in raw["w2"] if w["data"] == data]
        if w2:
            md.append("\nW2(q_0, q_delta) per dimension at eps_W2 = %g: analytic coupling bound "
                      "sqrt((1 - alpha)^2 m2 + sigma^2) and sliced W2 of %d exact draws of q_delta "
                      "against the data (the same on exact data draws: %.3g).\n\n" % (
                          a.eps_w2, a.num_samples, w2[0]["sliced_w2_floor"]))
            md.append(dc.markdown_table(
                ["process", "delta", "alpha(delta)", "sigma(delta)", "coupling bound",
                 "sliced W2"],
                [[LABEL[w["process"]], "%.4g" % w["delta"], "%.4g" % w["alpha"],
                  "%.4g" % w["sigma"], "%.4g" % w["coupling_bound"],
                  "%.3g%s" % (w["sliced_w2"], " (≤ floor)" if w["sliced_w2"] <= w["sliced_w2_floor"]
                              else "")] for w in w2]))
        floors = [f for (dd, _, _, _), c in cells.items() if dd == data for f in c["floor"].ravel()]
        md.append("\nEstimator floor (KL on exact draws of q_delta, all runs): mean %.3g, range "
                  "[%.3g, %.3g]; the smallest eps_KL^2 is %.3g.\n" % (
                      np.mean(floors), np.min(floors), np.max(floors), min(eps_list) ** 2))
        for sampler, lab in samplers:
            rows = []
            for kind in a.processes:
                row = [LABEL[kind]]
                for eps in eps_list:
                    c = cells.get((data, kind, sampler, eps))
                    row.append(fmt_k(c, a.k_max) if c else "")
                rows.append(row)
            md.append("\nK* (%s, %s): mean-KL crossing [per-seed range]\n\n" % (
                lab, sampler))
            md.append(dc.markdown_table(["process"] + ["eps_KL=%g" % e for e in eps_list], rows))

    # Exponents.
    md.append("\n## Exponents of K* in 1/eps_KL\n\nMeasured: least-squares slope of log K* against "
              "log(1/eps_KL) over the eps with a crossing (mean KL; per-seed slopes in brackets). "
              "Bound: the same slope of (T/delta)/eps_KL^2 with the T and delta used. Seed: the "
              "talk's table at fixed eps_W2, a = 1. r: the local decay of the mean KL in K between "
              "the two measured K around each crossing (largest eps_KL first); the bound's "
              "discretisation term decays like 1/K (r = 1), and K* ~ eps_KL^(-2/r) at fixed T and "
              "delta.\n\n")
    rows = []
    exps = {}
    for data in a.data:
        for sampler, lab in samplers:
            for kind in a.processes:
                cs = [(eps, cells.get((data, kind, sampler, eps))) for eps in eps_list]
                cs = [(e, c) for e, c in cs if c]
                inv = [1 / e for e, _ in cs]
                s = slope(inv, [c["k_star"] for _, c in cs])
                n_ok = sum(c["k_star"] is not None for _, c in cs)
                per = []
                for si in range(a.seeds):
                    per.append(slope(inv, [c["k_star_seeds"][si] for _, c in cs]))
                b = slope(inv, [c["bound"] for _, c in cs])
                exps[(data, sampler, kind)] = s
                rs = [c["decay"] for _, c in cs if c["decay"] is not None]
                rows.append([data, lab, LABEL[kind], "%.2f [%s] (%d eps)" % (
                    s, ", ".join("%.2f" % v for v in per), n_ok), "%.2f" % b,
                    SEED_EXPONENT[kind],
                    ", ".join("%.2g" % r for r in rs) if rs else "-"])
    md.append(dc.markdown_table(["data", "sampler", "process", "measured", "bound with T, delta used",
                                 "seed (a = 1)", "r at each crossing (KL ~ K^-r; bound: 1)"],
                                rows))

    # Ranking and constants.
    md.append("\n## Ranking (fewest steps first) and the constants\n\n"
              "Seed's ranking: RF, then VE (EDM) and VP, VE (SMLD) last. `>` marks a K* beyond "
              "the largest K measured. C: the constant of the seed's K* = C (T/delta) / eps_KL^2 "
              "(D^2 included); C1: of K* = C1 (T/delta) / eps_KL, what KL ~ ((T/delta) / K)^2 "
              "(r = 2) gives. A constant that stays put across eps_KL is the right law.\n\n")
    rows = []
    for data in a.data:
        for sampler, lab in samplers:
            for eps in eps_list:
                ks = []
                for kind in a.processes:
                    c = cells.get((data, kind, sampler, eps))
                    if c:
                        ks.append((c["k_star"] if c["k_star"] else float("inf"), kind, c))
                ks.sort(key=lambda t: t[0])
                order = " < ".join("%s %s" % (LABEL[k], "%.3g" % v if np.isfinite(v)
                                              else "> %d" % c["k_max_measured"])
                                   for v, k, c in ks)
                consts = ", ".join("%s %.2g" % (LABEL[k], v * eps ** 2 / (c["T"] / c["delta"]))
                                   for v, k, c in ks if np.isfinite(v))
                consts1 = ", ".join("%s %.2g" % (LABEL[k], v * eps / (c["T"] / c["delta"]))
                                    for v, k, c in ks if np.isfinite(v))
                rows.append([data, lab, "%g" % eps, order, consts, consts1])
    md.append(dc.markdown_table(["data", "sampler", "eps_KL", "K* (ranked)",
                                 "C = K* eps^2 / (T/delta)", "C1 = K* eps / (T/delta)"], rows))

    # KL against K.
    md.append("\n## KL(p_{t_K} || q_delta) against K (mean over seeds; \"≤ floor\": at or under "
              "the largest of its runs' floors)\n")
    for data in a.data:
        for sampler, lab in samplers:
            rows = []
            for kind in a.processes:
                for eps in eps_list:
                    c = cells.get((data, kind, sampler, eps))
                    if not c:
                        continue
                    rows.append([LABEL[kind], "%g" % eps, " ".join(
                        "K=%d: %.3g%s" % (K, kl, " (≤ floor)" if kl <= fl else "")
                        for K, kl, fl in zip(c["Ks"], c["kl"], c["floor"].max(axis=1)))])
            md.append("\n%s, %s:\n\n" % (data, lab))
            md.append(dc.markdown_table(["process", "eps_KL", "KL at K"], rows))
    text = "".join(md)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(text)
    print(text)
    plot(a, raw, cells, exps, out_dir)
    print("wrote %s/table.md and plot.png" % out_dir)


def plot(a, raw, cells, exps, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.patches  # noqa: F401
    import matplotlib.ticker  # noqa: F401
    from matplotlib.lines import Line2D
    eps_list = sorted(a.eps_kl, reverse=True)
    samplers = [(s, l) for s, l in SAMPLERS if s in a.samplers]
    cols = [(d, s, l) for d in a.data for s, l in samplers]
    fig, axes = plt.subplots(2, len(cols), figsize=(4.8 * len(cols), 11.0), squeeze=False)
    styles = ["-", "--", "-.", ":", (0, (5, 1)), (0, (1, 1))]
    for j, (data, sampler, lab) in enumerate(cols):
        ax = axes[0][j]
        for kind in a.processes:
            inv, ks, cens = [], [], []
            for eps in eps_list:
                c = cells.get((data, kind, sampler, eps))
                if not c:
                    continue
                if c["k_star"] is None:
                    cens.append((1 / eps, c["k_max_measured"]))
                else:
                    inv.append(1 / eps)
                    ks.append(c["k_star"])
                    lo = min(s for s in c["k_star_seeds"] if s) if any(c["k_star_seeds"]) else None
                    hi = max(s for s in c["k_star_seeds"] if s) if any(c["k_star_seeds"]) else None
                    if lo and hi:
                        ax.plot([1 / eps] * 2, [lo, hi], color=COLOUR[kind], lw=3, alpha=0.35)
            ax.plot(inv, ks, "o-", color=COLOUR[kind],
                    label="%s: slope %.2f (seed %s)" % (LABEL[kind], exps[(data, sampler, kind)],
                                                        SEED_EXPONENT[kind].split("= ")[-1]))
            if cens:
                ax.scatter([c[0] for c in cens], [c[1] for c in cens], marker="^", s=60,
                           facecolors="white", edgecolors=COLOUR[kind], zorder=3,
                           label="%s: K* > largest K measured (drawn there)" % LABEL[kind])
            if ks:  # the seed's slope through the largest-eps point
                x = np.array([inv[0], 1 / min(eps_list)])
                ax.plot(x, ks[0] * (x / inv[0]) ** SEED_EXPONENT_VALUE[kind], color=COLOUR[kind],
                        ls=":", lw=1)
        ax.plot([], [], color="grey", ls=":", label="seed's slope (a = 1) from the first point")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([1 / e for e in eps_list])
        ax.set_xticklabels(["%.3g" % (1 / e) for e in eps_list])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("1 / eps_KL  [1/sqrt(nats)]")
        ax.set_ylabel("K*  [steps] for KL(p_{t_K} || q_delta) <= eps_KL^2")
        ax.set_title("%s, %s (%s); bars: seed range" % (data, lab, sampler), fontsize=9)
        ax.legend(fontsize=6.5)

        ax = axes[1][j]
        floors = []
        for kind in a.processes:
            for i, eps in enumerate(eps_list):
                c = cells.get((data, kind, sampler, eps))
                if not c:
                    continue
                floors += list(c["floor"].ravel())
                kl = np.array(c["kl"], dtype=float)
                fl = c["floor"].max(axis=1)
                pos = np.isfinite(kl) & (kl > 0)
                ax.plot(np.array(c["Ks"])[pos], kl[pos], color=COLOUR[kind], ls=styles[i],
                        marker=".", label="%s, eps_KL = %g" % (LABEL[kind], eps))
                under = pos & (kl <= np.abs(fl))
                ax.scatter(np.array(c["Ks"])[under], kl[under], s=50, facecolors="white",
                           edgecolors=COLOUR[kind], zorder=3)
                nonpos = np.isfinite(kl) & (kl <= 0)
                if nonpos.any():
                    ax.scatter(np.array(c["Ks"])[nonpos], [1e-3] * int(nonpos.sum()), marker="v",
                               color=COLOUR[kind], zorder=3)
        for i, eps in enumerate(eps_list):
            ax.axhline(eps ** 2, color="black", lw=0.6, ls=styles[i])
        ax.axhspan(7e-4, max(np.abs(floors)), color="grey", alpha=0.25, lw=0)
        if j == 0:
            handles, labels = ax.get_legend_handles_labels()
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom=7e-4)
        ax.set_xlabel("steps K")
        ax.set_ylabel("KL(p_{t_K} || q_delta)  [nats], all D dims")
        ax.set_title("%s, %s: KL against K (mean over seeds)" % (data, lab), fontsize=9)
    handles += [Line2D([], [], color="black", lw=0.6, ls="-"),
                    matplotlib.patches.Patch(color="grey", alpha=0.25),
                    Line2D([], [], marker="o", ls="", markerfacecolor="white",
                           markeredgecolor="black"),
                    Line2D([], [], marker="v", ls="", color="black")]
    labels += ["eps_KL^2 (thin black, line style = eps_KL)",
               "shaded: under the estimator floor, max |KL| on exact draws of q_delta",
               "hollow: KL at or under the floor", "KL estimate <= 0 (drawn at 1e-3)"]
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7.5,
               title="bottom row: every curve (colour = process, line style = eps_KL)",
               title_fontsize=8)
    fig.suptitle("Steps to KL <= eps_KL^2 with the exact score (uniform grid, eps_W2 = %g, "
                 "horizons: %s)" % (a.eps_w2, a.horizons), fontsize=10)
    fig.tight_layout(rect=[0, 0.11, 1, 0.97])
    fig.savefig(os.path.join(out_dir, "plot.png"), dpi=90)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--diffuse", default=dc.DEFAULT_DIFFUSE)
    p.add_argument("--data", default="ring8,multimanifold",
                   help="data.kind list (exact score, noised_kl must decompose)")
    p.add_argument("--processes", default=",".join(PROCESSES))
    p.add_argument("--samplers", default="euler-maruyama,euler",
                   help="euler-maruyama: reverse SDE; euler: probability-flow ODE")
    p.add_argument("--eps-kl", default="1,0.75,0.55,0.4",
                   help="KL targets eps_KL (KL <= eps_KL^2 nats); keep eps_KL^2 well above the floor")
    p.add_argument("--eps-w2", type=float, default=0.2, help="W2 target per dimension")
    p.add_argument("--horizons", choices=["script", "table"], default="script",
                   help="T and delta: the script's (data constant m2, RF delta corrected) or the "
                        "talk's table with unit constants")
    p.add_argument("--rf-table-delta", action="store_true",
                   help="script horizons but RF delta = eps_W2 as in the table")
    p.add_argument("--num-samples", type=int, default=4000, help="n per seed")
    p.add_argument("--seeds", type=int, default=2, help="independent halves of one sample run")
    p.add_argument("--seed", type=int, default=0, help="the sample run's seed")
    p.add_argument("--grid", default="uniform", help="time grid (the theory's analysis: uniform)")
    p.add_argument("--k-max", type=int, default=2048, help="largest K measured")
    p.add_argument("--k-guess", type=float, default=0.1,
                   help="first search guess: K = k_guess x (T/delta)/eps_KL^2")
    p.add_argument("--no-prior-kl", dest="prior_kl", action="store_false",
                   help="skip measuring KL(N(0, sigma_T^2) || q_T)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the measurements in <out>/raw.json (saved after each one)")
    p.add_argument("--out", default=os.path.join(dc.ROOT, "results", "process_complexity"))
    p.add_argument("--from-raw", nargs="?", const="", default=None, metavar="RAW",
                   help="rewrite table.md and plot.png from RAW (default <out>/raw.json); runs "
                        "nothing")
    a = p.parse_args(argv)
    if a.from_raw is not None:
        return a
    a.data = a.data.split(",")
    a.processes = a.processes.split(",")
    a.samplers = a.samplers.split(",")
    a.eps_kl = [float(e) for e in a.eps_kl.split(",")]
    return a


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    if args.from_raw is not None:
        raw_path = args.from_raw or os.path.join(args.out, "raw.json")
        with open(raw_path) as f:
            saved = json.load(f)
        report(saved, args.out)
    else:
        main(args)
        print("regenerate: /usr/bin/python3 scripts/process_complexity.py %s"
              % " ".join(sys.argv[1:]))
