#!/usr/bin/python3
"""Few-shot fine-tuning through a shared latent subspace, on exact synthetic data.

The claims under test are those of the seed talk 'Learning Process & Sampling Complexity of
Diffusion Models' (Shuai Li, 2025), "Few-shot Fine-tuning": with a good shared latent the
target score error of the fine-tuned model is O(n_ta^{-1/2} + n_s^{-2/d}); with a bad latent it
stays >= Const however many target samples there are.

Source and target share one latent Gaussian mixture z in R^d: X_s = A_s z, X_ta = A_ta z in R^D
(`data.kind: shared-latent`, A_ta at a principal angle from A_s). The script

1. pretrains two `subspace` models on the source with `diffuse train`: a good latent (fresh
   draws every step, so n_s is effectively infinite) and a bad one (the same steps on a tiny
   source set of --overfit-size samples, i.e. overfitted), and uses the good one with its
   weights perturbed (finetune.latent_noise) as a second bad latent;
2. draws --reps target sets with `diffuse data` and fine-tunes each latent with
   `diffuse finetune --shots n` on the first n rows of each set, for n in --shots: the latent
   frozen, A learned (QR retraction);
3. records the theory's score estimation error E_t E ||grad log q_t - s||^2 / D on exact target
   draws (t uniform on [t_min, t_max]) and ||A_hat A_hat^T - A_ta A_ta^T||_F, also over the
   fine-tuning iterations, and the error each latent has with the true A_ta (init oracle, no
   steps: the floor, what an infinite target set could reach with that latent);
4. fits log-log slopes of the mean error against n_ta with 95% bootstrap intervals (the target
   sets resampled with replacement within each n, --boot draws).

Writes results/finetune/{README.md, table.md, error_vs_shots.png, convergence.png, runs.jsonl}.
    /usr/bin/python3 scripts/few_shot_finetune.py            # about 21 min on 2 shared cores
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as cli  # noqa: E402

ROOT = cli.ROOT
TALK = ("the seed talk 'Learning Process & Sampling Complexity of Diffusion Models' (Shuai Li, "
        "2025)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=cli.DEFAULT_DIFFUSE)
    p.add_argument("--out", default=os.path.join(ROOT, "results", "finetune"))
    p.add_argument("--shots", default="1,2,4,8,16,32,64,128,256")
    p.add_argument("--reps", type=int, default=5, help="target sets per n (>= 5 for the intervals)")
    p.add_argument("--boot", type=int, default=2000, help="bootstrap draws per interval")
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--components", type=int, default=4)
    p.add_argument("--angle", type=float, default=45.0, help="principal angle A_s to A_ta, deg")
    p.add_argument("--pretrain-steps", type=int, default=3000)
    p.add_argument("--overfit-size", type=int, default=8, help="source samples of the bad latent")
    p.add_argument("--steps", type=int, default=300, help="fine-tuning steps")
    p.add_argument("--optimizer", default="sgd", help="sgd | adam (adam: use --lr 0.02)")
    p.add_argument("--lr", type=float, default=2.0)
    p.add_argument("--perturb", type=float, default=0.5,
                   help="latent_noise of the perturbed latent (0: leave it out)")
    p.add_argument("--rows", type=int, default=2048, help="(t, eps) draws per step, all shots")
    p.add_argument("--eval-size", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=None,
                   help="folder for checkpoints and runs (default: a temp dir); runs already "
                        "finished there are reused, so a second call only redraws")
    return p.parse_args()


def data_yaml(a, domain):
    return ("{kind: shared-latent, dim: %d, subspace_dim: %d, num_components: %d, seed: %d, "
            "domain: %s, angle: %g}" % (a.dim, a.latent_dim, a.components, a.seed, domain,
                                        a.angle))


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class Clock:
    """Wall time of the diffuse calls, also of those a reused --work ran in an earlier call
    (each run folder keeps its own in wall.json), so the README can say what a fresh run costs."""

    def __init__(self):
        self.fresh = 0.0
        self.reused = 0.0
        self.reused_runs = 0

    def run(self, diffuse, args, folder):
        start = time.time()
        rec = cli.run(diffuse, args)
        seconds = time.time() - start
        self.fresh += seconds
        if folder:
            os.makedirs(folder, exist_ok=True)
            write(os.path.join(folder, "wall.json"), json.dumps({"wall_s": seconds}))
        return rec

    def reuse(self, folder):
        self.reused_runs += 1
        try:
            with open(os.path.join(folder, "wall.json")) as f:
                self.reused += json.load(f)["wall_s"]
        except (OSError, ValueError, KeyError):
            pass


def pretrain(a, work, name, extra, clock):
    out = os.path.join(work, name)
    config = write(os.path.join(work, name + ".yaml"), (
        "seed: %d\n"
        "process: {kind: vp-ou, t_min: 0.02, t_max: 4}\n"
        "data: %s\n"
        "model: {kind: subspace, rank: %d, latent: mlp, width: 64, depth: 2, embedding_dim: 32}\n"
        "train: {steps: %d, batch_size: 512, lr: 3.0e-3, warmup: 100, schedule: cosine,\n"
        "        log_every: 500, checkpoint_every: %d, eval_size: 4096, out: '%s'}\n"
        % (a.seed, data_yaml(a, "source"), a.latent_dim, a.pretrain_steps, a.pretrain_steps,
           out)))
    checkpoint = os.path.join(out, "checkpoint.pt")
    if os.path.exists(checkpoint):
        clock.reuse(out)
    else:
        clock.run(a.diffuse, ["train", "--config", config] + extra, out)
    ev = cli.run(a.diffuse, ["eval", "--model", checkpoint, "--num-draws", 16384])
    print("pretrained %s: source score error %.3g" % (name, ev["score_error"]), flush=True)
    return checkpoint, ev["score_error"]


def finetune(a, target_config, checkpoint, data, shots, out, settings, clock):
    steps = settings.get("finetune.steps", a.steps)
    if os.path.exists(os.path.join(out, "finetune.jsonl")):
        last = log_of(out)[-1]
        if last["step"] == steps:
            clock.reuse(out)
            return last  # finished before (--work reused)
    draws = max(4, a.rows // shots)
    args = ["finetune", "--config", target_config, "--from", checkpoint, "--data", data,
            "--shots", shots, "-o", out]
    base = {"finetune.steps": a.steps, "finetune.draws": draws, "finetune.lr": a.lr,
            "finetune.optimizer": a.optimizer, "finetune.eval_size": a.eval_size}
    base.update(settings)
    return clock.run(a.diffuse, args + cli.settings(base), out)


def log_of(folder):
    with open(os.path.join(folder, "finetune.jsonl")) as f:
        return [json.loads(line) for line in f]


# --- statistics --------------------------------------------------------------------------------

def fmt(b, digits=2):
    """value [low, high]; digits 3: three significant digits, else that many decimals."""
    f = "%.3g" if digits == 3 else "%%.%df" % digits
    return (f + " [" + f + ", " + f + "]") % tuple(b[:3])


def main():
    a = parse_args()
    cli.check_binary(a.diffuse)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    shots = [int(s) for s in a.shots.split(",")]
    if a.reps < 5:
        print("note: --reps %d < 5: the bootstrap intervals are unreliable" % a.reps)
    os.makedirs(a.out, exist_ok=True)
    work = a.work or tempfile.mkdtemp(prefix="few_shot_")
    os.makedirs(work, exist_ok=True)
    started = time.time()
    clock = Clock()

    # name -> (checkpoint, its score error on the source, fine-tuning settings)
    latents = {}
    latents["good"] = pretrain(a, work, "good", [], clock) + ({},)
    latents["overfitted"] = pretrain(a, work, "overfitted", cli.settings(
        {"train.data_size": a.overfit_size, "train.batch_size": a.overfit_size}), clock) + ({},)
    if a.perturb > 0:
        # Its source error is not measured (nan): the perturbation happens inside finetune.
        latents["perturbed"] = (latents["good"][0], float("nan"),
                                {"finetune.latent_noise": a.perturb})

    target_config = write(os.path.join(work, "target.yaml"),
                          "seed: %d\ndata: %s\nfinetune: {log_every: 10}\n"
                          % (a.seed, data_yaml(a, "target")))
    targets = []
    for r in range(a.reps):
        path = os.path.join(work, "target%d.npy" % r)
        cli.run(a.diffuse, ["data", "--config", target_config, "-n", max(shots), "-o", path,
                            "--seed", 1000 + r])
        targets.append(path)

    records, floors = [], {}
    errors = {}  # (name, n) -> score errors over the target sets
    for name, (checkpoint, source_error, extra) in latents.items():
        floor = finetune(a, target_config, checkpoint, targets[0], 1,
                         os.path.join(work, "oracle_" + name),
                         dict(extra, **{"finetune.init": "oracle", "finetune.steps": 0}), clock)
        floors[name] = floor["score_error"]
        print("%s latent with the true A_ta: score error %.3g" % (name, floors[name]))
        for n in shots:
            for r, data in enumerate(targets):
                out = os.path.join(work, "%s_n%d_r%d" % (name, n, r))
                rec = finetune(a, target_config, checkpoint, data, n, out, extra, clock)
                rec = dict(rec, latent=name, n=n, rep=r)
                # The fine-tuning trajectory: the error 100 steps before the end (stationarity).
                log = log_of(out)
                before = [l for l in log if l["step"] <= a.steps - 100]
                if before:
                    rec["score_error_100_before_end"] = before[-1].get("score_error")
                records.append(rec)
                errors.setdefault((name, n), []).append(rec["score_error"])
            e = errors[(name, n)]
            print("%s n=%d: score error %.3g (mean of %d; %.0f s)"
                  % (name, n, sum(e) / len(e), len(e), time.time() - started), flush=True)

    with open(os.path.join(a.out, "runs.jsonl"), "w") as f:
        for rec in records:
            f.write(json.dumps(rec) + "\n")
    curves = {name: log_of(os.path.join(work, "%s_n%d_r0" % (name, max(shots))))
              for name in latents}
    stats = analyse(a, shots, latents, errors, floors, records)
    seconds = time.time() - started
    rows = table_rows(shots, latents, errors, records)
    write_table(a, rows, floors, latents, stats, curves)
    plot(a, shots, errors, floors, stats, curves)
    write_readme(a, rows, floors, latents, stats, seconds, clock, work)
    with open(os.path.join(a.out, "stats.json"), "w") as f:
        json.dump({"floors": floors, "stats": stats, "seconds": seconds,
                   "diffuse_seconds": clock.fresh + clock.reused,
                   "reused_runs": clock.reused_runs}, f, indent=1)
    print("wrote %s (%.0f s); regenerate: /usr/bin/python3 scripts/few_shot_finetune.py"
          % (a.out, seconds))


def analyse(a, shots, latents, errors, floors, records):
    """Slopes, plateaus and ratios with their bootstrap intervals (tuples value, low, high,
    dropped draws)."""
    large = [n for n in shots if n >= 4 * a.latent_dim]  # the shots span the subspace
    n_max = max(shots)
    stats = {"large_from": min(large) if large else None, "n_max": n_max}

    def boot(groups, statistic, seed):
        return cli.bootstrap_means(groups, statistic, a.boot, seed)

    seed = 12345
    for name in latents:
        seed += 1
        groups = [errors[(name, n)] for n in shots]
        big = [errors[(name, n)] for n in large]
        floor = floors[name]
        s = {}
        s["slope_all"] = boot(groups, lambda m: cli.fit_slope(shots, m), seed)
        s["slope_large"] = boot(big, lambda m: cli.fit_slope(large, m), seed + 100)
        # Above the latent's own floor: the n_ta^{-1/2} term of the bound alone.
        s["excess_slope_all"] = boot(
            groups, lambda m: cli.fit_slope(shots, [v - floor for v in m])
            if min(m) > floor else float("nan"), seed + 200)
        s["excess_slope_large"] = boot(
            big, lambda m: cli.fit_slope(large, [v - floor for v in m])
            if min(m) > floor else float("nan"), seed + 300)
        s["error_n_max"] = boot([errors[(name, n_max)]], lambda m: m[0], seed + 400)
        s["over_floor_n_max"] = boot([errors[(name, n_max)]], lambda m: m[0] / floor, seed + 500)
        # Stationarity: the error's relative change over the last 100 fine-tuning steps.
        drift = [(r["score_error"] - r["score_error_100_before_end"])
                 / r["score_error_100_before_end"] for r in records
                 if r["latent"] == name and r["n"] == n_max
                 and r.get("score_error_100_before_end")]
        s["last_100_steps_change"] = boot([drift], lambda m: m[0], seed + 600) if drift else None
        stats[name] = s
    if "good" in latents:
        for name in latents:
            if name == "good":
                continue
            stats[name]["over_good_n_max"] = boot(
                [errors[(name, n_max)], errors[("good", n_max)]], lambda m: m[0] / m[1],
                seed + 700)
    return stats


def table_rows(shots, latents, errors, records):
    import numpy as np
    rows = []
    for name in latents:
        for n in shots:
            rs = [r for r in records if r["latent"] == name and r["n"] == n]
            e = np.array(errors[(name, n)])
            rows.append((name, n, float(e.mean()), float(e.std(ddof=1)) if len(e) > 1 else 0.0,
                         float(np.mean([r["basis_distance"] for r in rs])),
                         float(np.mean([r["frame_error"] for r in rs]))))
    return rows


def setting_text(a):
    return ("D = %d, d = %d, %d latent components, principal angle %g deg; vp-ou, t in "
            "[0.02, 4]; %d target sets per n (the first n rows of each); %d fine-tuning steps "
            "(%s, lr %g, cosine, QR retraction, from the source basis), %d (t, eps) draws per "
            "step. Latents: good (pretrained on fresh source draws, %d steps), overfitted (the "
            "same steps on %d source samples), perturbed (good, weights + N(0, (%g RMS)^2)). "
            "Score error: E_t E ||grad log q_t - s||^2 / D on %d exact target draws (the same "
            "draws for every run).\n"
            % (a.dim, a.latent_dim, a.components, a.angle, a.reps, a.steps, a.optimizer, a.lr,
               a.rows, a.pretrain_steps, a.overfit_size, a.perturb, a.eval_size))


def write_table(a, rows, floors, latents, stats, curves):
    header = ["latent", "n_ta", "score error (mean +- sd)", "subspace distance", "frame error"]
    body = [(name, n, "%.3g +- %.2g" % (m, s), "%.3g" % d, "%.3g" % f)
            for name, n, m, s, d, f in rows]
    text = ["# Few-shot fine-tuning on the shared-latent mixture\n", setting_text(a),
            "Subspace distance: ||A_hat A_hat^T - A_ta A_ta^T||_F (frames ignored); frame "
            "error: ||A_hat - A_ta R||_F with R = polar(A_s^T A_hat_s) the frame the latent was "
            "learned in (both means over the target sets).\n",
            cli.markdown_table(header, body), slope_table(a, floors, latents, stats)]
    for name, log in curves.items():
        points = ", ".join("%d: %.3g / %.3g" % (l["step"], l["basis_distance"], l["frame_error"])
                           for l in log[::3])
        text.append("- subspace distance / frame error over the steps, %s latent, n_ta = %d: "
                    "%s\n" % (name, stats["n_max"], points))
    write(os.path.join(a.out, "table.md"), "\n".join(text))


def slope_table(a, floors, latents, stats):
    header = ["latent", "floor (true A_ta)", "slope, all n", "slope, n >= %d" % stats["large_from"],
              "slope above floor, all n", "slope above floor, n >= %d" % stats["large_from"],
              "error at n = %d" % stats["n_max"], "error / floor at n = %d" % stats["n_max"]]
    body = []
    for name in latents:
        s = stats[name]

        def iv(key, digits=2):
            b = s[key]
            if b[1] != b[1]:  # nan: too many draws undefined (excess <= 0)
                return "%.2f [undefined: %d of %d draws <= floor]" % (b[0], b[3], a.boot)
            return fmt(b, digits)
        body.append((name, "%.3g" % floors[name], iv("slope_all"), iv("slope_large"),
                     iv("excess_slope_all"), iv("excess_slope_large"), iv("error_n_max", 3),
                     iv("over_floor_n_max")))
    return ("Log-log slopes of the mean score error against n_ta, with 95%% bootstrap intervals "
            "(%d draws; the %d target sets resampled within each n):\n\n" % (a.boot, a.reps)
            + cli.markdown_table(header, body))


def verdict(a, floors, latents, stats):
    s = stats["good"]
    ex = s["excess_slope_large"]
    lines = []
    if ex[2] == ex[2] and ex[2] <= -0.5:
        lines.append("**Good latent: agrees.** Above its own floor the error falls with slope "
                     "%s for n_ta >= %d, so -1/2 or steeper holds within the interval (the talk's "
                     "bound is an upper bound: a steeper, parametric n^-1 rate is consistent "
                     "with it)." % (fmt(ex), stats["large_from"]))
    elif ex[1] == ex[1] and ex[1] <= -0.5:
        lines.append("**Good latent: not established.** Above its floor the slope for n_ta >= "
                     "%d is %s: the interval contains -1/2 but also shallower slopes."
                     % (stats["large_from"], fmt(ex)))
    else:
        lines.append("**Good latent: disagrees.** Above its floor the slope for n_ta >= %d is "
                     "%s, shallower than -1/2 over the whole interval." % (stats["large_from"],
                                                                           fmt(ex)))
    lines.append("Its raw error (floor included) has slope %s over all n (steep: below n_ta ~ "
                 "d the shots do not span the subspace) and %s for n_ta >= %d, which flattens "
                 "toward the floor %.3g, the n_s^{-2/d} term." % (
                     fmt(s["slope_all"]), fmt(s["slope_large"]), stats["large_from"],
                     floors["good"]))
    for name in latents:
        if name == "good":
            continue
        b = stats[name]
        plateau = b["over_floor_n_max"]
        # error >= Const: above the good latent's at the largest n, and not below its own floor.
        agrees = b["over_good_n_max"][1] > 1 and plateau[1] >= 0.9
        lines.append(
            "**%s latent: %s.** For n_ta >= %d the slope is %s; at n_ta = %d its error is %s, "
            "%s times its floor %.3g (the error with the true A_ta, what infinite target data "
            "could reach) and %s times the good latent's."
            % (name.capitalize(), "agrees, error >= Const" if agrees else
               "disagrees, its error is not clearly held above the good latent's",
               stats["large_from"], fmt(b["slope_large"]), stats["n_max"],
               fmt(b["error_n_max"], 3), fmt(plateau), floors[name],
               fmt(b["over_good_n_max"], 1)))
    return lines


def write_readme(a, rows, floors, latents, stats, seconds, clock, work):
    command = "/usr/bin/python3 scripts/few_shot_finetune.py"
    args = " ".join(sys.argv[1:])
    fresh_file = os.path.join(work, "fresh_call.json")
    if clock.reused_runs:
        timing = ("This call reused %d finished runs from --work and took %.0f s; the diffuse "
                  "calls took %.0f s in all when they ran." % (clock.reused_runs, seconds,
                                                               clock.fresh + clock.reused))
        if os.path.exists(fresh_file):
            with open(fresh_file) as f:
                first = json.load(f)["seconds"]
            timing += (" The call that ran them from scratch took %.0f s (%.1f min) of wall "
                       "time on 2 shared CPU cores." % (first, first / 60))
    else:
        write(fresh_file, json.dumps({"seconds": seconds}))
        timing = "Measured wall time of this call on 2 shared CPU cores: %.0f s (%.1f min)." % (
            seconds, seconds / 60)
    if args:
        timing += (" This output came from `%s %s` (--diffuse, --work and --out only say where "
                   "the binary and the files are)." % (command, args))
    stationary = []
    for name in latents:
        c = stats[name].get("last_100_steps_change")
        if c:
            # Stopped: the whole interval within 2% of no change.
            stationary.append("%s %s (%s)" % (name, fmt(c), "stopped" if max(abs(c[1]), abs(c[2]))
                                               < 0.02 else "still moving"))
    distance = {name: [r[4] for r in rows if r[0] == name][-1] for name in latents}
    same_subspace = all(distance[n] < 1.5 * distance["good"] for n in latents)
    text = [
        "# Few-shot fine-tuning: good and bad shared latents\n",
        "**Question.** %s%s claims (\"Few-shot Fine-tuning\", \"Good Latent Secures "
        "Efficiency\", \"Bad Latent Leads to Large Estimation Error\"): if source and target "
        "share a latent, X_s = A_s z and X_ta = A_ta z, and the latent score was learned well, "
        "fine-tuning only A on n_ta target samples gives a target score error "
        "O(n_ta^{-1/2} + n_s^{-2/d}); with a bad latent the error stays >= Const however large "
        "n_ta is, and fine-tuning has spurious stationary points. Does `diffuse finetune` show "
        "this on data where the exact score is known?\n" % (TALK[0].upper(), TALK[1:]),
        "**Regenerate.**\n\n```\n%s\n```\n\n%s The script writes this README, table.md, the "
        "figures, runs.jsonl (one record per run) and stats.json.\n" % (command, timing),
        "**Setting.** " + setting_text(a),
        "## Results\n",
        "Mean score error over the target sets (sd: spread over the sets):\n",
        cli.markdown_table(["latent", "n_ta", "score error (mean +- sd)", "subspace distance"],
                           [(n, k, "%.3g +- %.2g" % (m, sd), "%.3g" % d)
                            for n, k, m, sd, d, _ in rows]),
        slope_table(a, floors, latents, stats),
        "![score error against n_ta](error_vs_shots.png)\n",
        "![subspace distance over the fine-tuning steps](convergence.png)\n",
        "## Verdict\n",
        "\n\n".join(verdict(a, floors, latents, stats)) + "\n",
        "**Spurious stationary points: not measured.** The talk's second bad-latent statement "
        "is about the gradient of the fine-tuning loss. `diffuse finetune` logs `grad_norm`, "
        "but that is the Euclidean norm of the minibatch gradient of the raw D x d matrix "
        "before the QR retraction: it carries the DSM sampling noise and the component normal "
        "to the Stiefel manifold, so it does not vanish at a stationary point and cannot show "
        "one; the Riemannian gradient of the population loss is not logged. %s%s\n"
        % (("What the logs do show: over the last 100 steps at n_ta = %d the score error "
            "changes by (relative, mean [95%% interval]) %s. " % (stats["n_max"],
                                                                 "; ".join(stationary)))
           if stationary else "",
           ("At n_ta = %d the bad latents reach the good one's subspace distance (%s), so "
            "their floor comes from the frozen latent score itself, not from a fine-tuning "
            "stuck at a wrong A: these runs show no spurious stationary point in A."
            % (stats["n_max"], ", ".join("%s %.3g" % kv for kv in distance.items())))
           if same_subspace else
           ("At n_ta = %d the subspace distances differ (%s): a bad latent may stop at a "
            "wrong A." % (stats["n_max"], ", ".join("%s %.3g" % kv for kv in distance.items())))),
        "Method notes: slopes are least-squares fits of log(mean error) on log n_ta; each "
        "bootstrap draw resamples the target sets of every n with replacement, recomputes the "
        "means and refits. The target sets are nested (n rows of each set are the first n of "
        "the same draw), so errors at different n are correlated; resampling within each n "
        "ignores that. The floors are single deterministic evaluations (the same exact target "
        "draws for every run), so they carry no resampling error. Slopes above the floor are "
        "undefined in a draw whose mean error is at or below the floor; such draws are counted "
        "and, when more than a tenth, no interval is given.\n",
    ]
    write(os.path.join(a.out, "README.md"), "\n".join(text))


def plot(a, shots, errors, floors, stats, curves):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    colours = {"good": "tab:blue", "overfitted": "tab:red", "perturbed": "tab:orange"}
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name in floors:
        c = colours.get(name)
        e = [np.array(errors[(name, n)]) for n in shots]
        means = np.array([x.mean() for x in e])
        ax.plot(shots, means, "o-", color=c,
                label="%s latent, mean of %d sets (slope n>=%d: %.2f)"
                % (name, len(e[0]), stats["large_from"], stats[name]["slope_large"][0]))
        for n, x in zip(shots, e):  # every target set, so the spread is visible
            ax.plot([n] * len(x), x, ".", color=c, alpha=0.35, ms=4)
        ax.axhline(floors[name], color=c, ls=":", lw=1.2,
                   label="%s latent with the true A_ta (floor %.2g)" % (name, floors[name]))
        excess = means - floors[name]
        keep = excess > 0
        bx.plot(np.array(shots)[keep], excess[keep], "o-", color=c,
                label="%s latent (slope n>=%d: %.2f)"
                % (name, stats["large_from"], stats[name]["excess_slope_large"][0]))
    good = [n for n in shots if n >= stats["large_from"]]
    if good:
        for axis, base in ((ax, np.mean(errors[("good", good[0])])),
                           (bx, np.mean(errors[("good", good[0])]) - floors["good"])):
            if base > 0:
                axis.plot(good, [base * (n / good[0]) ** -0.5 for n in good], "k--", lw=1,
                          label="reference n_ta^-1/2 (the talk's rate)")
    ax.set_title("Score error of the fine-tuned model")
    bx.set_title("Score error above each latent's floor (mean - floor, > 0 only)")
    for axis in (ax, bx):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("target samples n_ta (count)")
        axis.set_ylabel("E_t E ||grad log q_t - s||^2 / D (per coordinate)")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3, which="both")
    fig.suptitle("Few-shot fine-tuning of A_ta (D=%d, d=%d), %d target sets per n"
                 % (a.dim, a.latent_dim, a.reps))
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "error_vs_shots.png"), dpi=110)
    plt.close(fig)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, log in curves.items():
        steps = [l["step"] for l in log]
        ax.plot(steps, [l["basis_distance"] for l in log], color=colours.get(name),
                label="%s latent: ||AA^T - A_ta A_ta^T||_F" % name)
        ax.plot(steps, [l["frame_error"] for l in log], ls="--", color=colours.get(name),
                label="%s latent: ||A - A_ta R||_F" % name)
        bx.plot(steps, [l["score_error"] for l in log], color=colours.get(name),
                label="%s latent" % name)
        bx.axhline(floors[name], color=colours.get(name), ls=":", lw=1.2,
                   label="%s latent with the true A_ta" % name)
    ax.set_ylabel("distance to the target basis (Frobenius norm)")
    bx.set_ylabel("score error (per coordinate)")
    for axis in (ax, bx):
        axis.set_yscale("log")
        axis.set_xlabel("fine-tuning step")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3, which="both")
    fig.suptitle("Over the fine-tuning steps, target set 0, n_ta = %d" % stats["n_max"])
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "convergence.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
