#!/usr/bin/env python3
"""Model classes of the pretraining theory, measured in its own terms: how the score estimation
error of `linear`, `two-layer` and `mlp` networks falls with the training-set size n, how many
parameters each has beside the theory's count, and how well class-conditional samples are
recognised by a classifier (the seed talk 'Learning Process & Sampling Complexity of Diffusion
Models', Shuai Li 2025, table 'Much Smaller Model w/ Sufficiently Good Performance').

Three parts (--parts), each reusing finished runs in --work:

  mixture   the 16-D multi-manifold mixture (3 random 2-D subspaces, 2 Gaussians each), where the
            exact score is known: train on a fixed set of n draws (train.data_size) for n in
            --mixture-n and on fresh draws (n = inf), --seeds training seeds each, and measure
            the theory's estimation error (1/(T - delta)) int E ||grad log q_t - s||^2 dt / D
            with `diffuse eval --model --dtype float64` (and its sigma_t^2-weighted form);
  images    Fashion-MNIST with data.per_class images of each class for --image-per-class: the
            held-out DSM loss on the 10000 test images (the same draws for every run). The loss
            of the true score is unknown for images, so the estimation part is read as each
            class's excess over its own loss on the full set, E_k(n) = L_k(n) - L_k(n_max), with
            its slope in n; at the full set also samples' Frechet distance;
  accuracy  one model per class and network class (trained on that class's 6000 images), 100
            samples each, classified by runs/classifier/classifier.pt: the share recognised as
            the class they were drawn for (the talk's 'MNIST Acc'), beside the classifier's own
            test accuracy.

Writes results/model_classes/{README.md, raw.json, error_vs_n.png}.

  /usr/bin/python3 scripts/model_classes.py --work /tmp/model-classes   # about 50 min, 2 cores
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diffuse_cli as cli  # noqa: E402

# One BLAS and OpenMP thread per process: Debian's OpenBLAS pool beside LibTorch's is several
# times slower on a busy 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

MIXTURE_CLASSES = ["linear", "two-layer", "mlp"]
EVAL_SEEDS = [0, 1, 2]  # draws of the held-out DSM loss on images
# Image classes: the configs' networks, and the talk's mixture-structured two-layer network (a
# Gaussian-mixture latent in a learned 64-D subspace, O(LDd + Ld^2) parameters).
IMAGE_CLASSES = ["linear", "two-layer", "two-layer-subspace", "mlp"]
SUBSPACE_TWO_LAYER = {"model.kind": "subspace", "model.latent": "two-layer", "model.rank": 64,
                      "model.components": 10, "model.matrix": "full", "model.hidden": 64}
THEORY = {  # the talk's estimation-error rate: slope against n, and its description
    "linear": (-0.5, "O(sqrt(dL/n) + Const)"),
    "two-layer": (-0.5, "O(sqrt(LM) sqrt(dL/n))"),
    "two-layer-subspace": (-0.5, "O(sqrt(LM) sqrt(dL/n))"),
    "mlp": (None, "O(sqrt(L) n^(-2/d))"),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=cli.DEFAULT_DIFFUSE)
    p.add_argument("--out", default=os.path.join(cli.ROOT, "results", "model_classes"))
    p.add_argument("--parts", default="mixture,images,accuracy")
    p.add_argument("--mixture-n", default="16,32,64,256,1024,4096",
                   help="training-set sizes on the mixture (plus fresh draws, n = inf)")
    p.add_argument("--seeds", default="0,1", help="training seeds per mixture run")
    p.add_argument("--mixture-steps", type=int, default=3000)
    p.add_argument("--image-per-class", default="10,60,600,6000",
                   help="Fashion-MNIST training images per class (n = 10x)")
    p.add_argument("--image-steps", type=int, default=1500)
    p.add_argument("--accuracy-steps", type=int, default=1000,
                   help="training steps of each per-class model")
    p.add_argument("--samples", type=int, default=1000, help="image samples for the FD")
    p.add_argument("--classifier", default=os.path.join(cli.ROOT, "runs", "classifier",
                                                        "classifier.pt"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None,
                   help="folder for the runs (default: a fresh one in /tmp); finished runs there "
                        "are measured again, not retrained")
    return p.parse_args()


def parameters(description):
    """'mlp (..., 8.3k parameters)' -> 8300 (the description rounds to 3 digits)."""
    match = re.search(r"([0-9.]+)([kM]?) parameters", description)
    return int(round(float(match.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[match.group(2)]))


def short(count):
    return "%.3gM" % (count / 1e6) if count >= 1e6 else "%.3gk" % (count / 1e3)


def train(args, config, out, extra):
    """Trains unless `out` holds a finished run; returns the training seconds from the log."""
    if not os.path.exists(os.path.join(out, "checkpoint.pt")):
        cli.run(args.diffuse, ["train", "-c", config, "--threads", args.threads,
                               "--set", "train.out=" + out] + cli.settings(extra))
    with open(os.path.join(out, "train.jsonl")) as f:
        log = [json.loads(line) for line in f if line.strip()]
    steps = [0] + [line["step"] for line in log]
    return sum((b - a) / line["steps_per_s"] for a, b, line in zip(steps, steps[1:], log))


def config_path(name):
    return os.path.join(cli.ROOT, "configs", name + ".yaml")


# ---- the mixture: exact estimation error against n ----

def mixture_runs(args, work):
    rows = []
    sizes = [int(n) for n in args.mixture_n.split(",")] + [0]
    for kind in MIXTURE_CLASSES:
        for n in sizes:
            for seed in ([int(s) for s in args.seeds.split(",")] if n else [0]):
                out = os.path.join(work, "mix-%s-n%d-s%d" % (kind, n, seed))
                seconds = train(args, config_path("multimanifold-" + kind), out, {
                    "train.steps": args.mixture_steps, "train.batch_size": 256,
                    "train.data_size": n, "train.eval_size": 0, "seed": seed,
                    "train.checkpoint_every": args.mixture_steps})
                e = cli.run(args.diffuse, ["eval", "--model", os.path.join(out, "checkpoint.pt"),
                                           "--dtype", "float64", "--threads", args.threads,
                                           "--num-draws", 16384])
                rows.append({"model": kind, "n": n, "seed": seed, "train_s": seconds,
                             "parameters": parameters(e["model"]),
                             "score_error": e["score_error"],
                             "score_error_stderr": e["score_error_stderr"],
                             "score_error_sigma2": e["score_error_sigma2"],
                             "score_error_sigma2_stderr": e["score_error_sigma2_stderr"]})
                print("mixture %-9s n=%-5s seed %d: score error %.3f (sigma^2: %.5f), %.0f s"
                      % (kind, n or "inf", seed, e["score_error"], e["score_error_sigma2"],
                         seconds), flush=True)
    return rows


def bootstrap_slope(rows, key, floor=0.0, draws=2000, seed=0):
    """Slope of log (error - floor) against log n over finite n, and its 95% interval from
    resampling the training seeds within each n (points at or below the floor drop out)."""
    rng = np.random.default_rng(seed)
    by_n = {}
    for r in rows:
        if r["n"]:
            by_n.setdefault(r["n"], []).append(r[key] - floor)
    ns = sorted(by_n)
    fit = cli.fit_slope([n for n in ns for _ in by_n[n]], [v for n in ns for v in by_n[n]])
    boots = []
    for _ in range(draws):
        xs, ys = [], []
        for n in ns:
            picked = rng.choice(by_n[n], size=len(by_n[n]))
            xs += [n] * len(picked)
            ys += list(picked)
        boots.append(cli.fit_slope(xs, ys))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return fit, float(lo), float(hi)


# ---- Fashion-MNIST: held-out DSM loss against n, and samples ----

def image_extra(kind, steps):
    extra = {"train.steps": steps, "train.warmup": min(500, steps // 5),
             "train.checkpoint_every": steps, "train.eval_size": 0}
    if kind == "two-layer-subspace":
        extra.update(SUBSPACE_TWO_LAYER)
    return extra


def image_config(kind):
    return config_path("fashion-mnist-" + ("linear" if kind == "two-layer-subspace" else kind))


def image_runs(args, work):
    rows = []
    sizes = [int(n) for n in args.image_per_class.split(",")]
    for kind in IMAGE_CLASSES:
        for per_class in sizes:
            out = os.path.join(work, "img-%s-pc%d" % (kind, per_class))
            extra = image_extra(kind, args.image_steps)
            extra["data.per_class"] = per_class
            seconds = train(args, image_config(kind), out, extra)
            full = per_class == max(sizes)
            held_out = ["eval", "--model", os.path.join(out, "checkpoint.pt"), "--threads",
                        args.threads, "--num-draws", 16384, "--set", "data.split=test",
                        "--set", "data.per_class=1000"]
            command = held_out + (["--sample", args.samples, "--classifier", args.classifier]
                                  if full else [])
            e = cli.run(args.diffuse, command)
            # The same draws for every run of one eval seed, so differences between runs are
            # paired; other eval seeds show how much those differences move.
            losses = [e["dsm_loss"]] + [
                cli.run(args.diffuse, held_out + ["--set", "metrics.seed=%d" % s])["dsm_loss"]
                for s in EVAL_SEEDS[1:]]
            row = {"model": kind, "n": 10 * per_class, "train_s": seconds,
                   "parameters": parameters(e["model"]), "test_dsm_loss": e["dsm_loss"],
                   "test_dsm_loss_stderr": e["dsm_loss_stderr"],
                   "test_dsm_loss_eval_seeds": losses}
            if full:
                s = e["samples"]
                hist = s["class_histogram"]
                row.update({"frechet_distance": s["frechet_distance"],
                            "class_tv": 0.5 * sum(abs(h - 0.1) for h in hist)})
            rows.append(row)
            print("images %-18s n=%-5d test DSM %.4f, %.0f s"
                  % (kind, row["n"], row["test_dsm_loss"], seconds), flush=True)
    return rows


def image_excess(rows):
    """Per class: the excess L(n) - L(n_max) for n < n_max (mean over the eval seeds, each
    difference paired on one seed's draws), and the slope of log excess in log n for each eval
    seed over the n whose excess is positive for every seed: (slope, lowest, highest)."""
    out = {}
    for kind in sorted({r["model"] for r in rows}):
        mine = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["n"])
        full = np.array(mine[-1]["test_dsm_loss_eval_seeds"])
        per_seed = {r["n"]: np.array(r["test_dsm_loss_eval_seeds"]) - full for r in mine[:-1]}
        kept = [n for n in sorted(per_seed) if per_seed[n].min() > 0]
        slopes = [cli.fit_slope(kept, [per_seed[n][i] for n in kept])
                  for i in range(len(full))] if len(kept) >= 2 else []
        out[kind] = {"excess": {n: float(v.mean()) for n, v in per_seed.items()},
                     "excess_range": {n: (float(v.min()), float(v.max()))
                                      for n, v in per_seed.items()},
                     "slope": (float(np.mean(slopes)), min(slopes), max(slopes))
                     if slopes else None, "fitted_n": kept}
    return out


def real_images_fd(args, work):
    """The Frechet distance of as many real training images: the metric's floor at this n."""
    real = os.path.join(work, "real.npy")
    cli.run(args.diffuse, ["data", "-c", config_path("fashion-mnist-mlp"), "-n", args.samples,
                           "-o", real])
    e = cli.run(args.diffuse, ["eval", "-c", config_path("fashion-mnist-mlp"), "-s", real,
                               "--classifier", args.classifier])
    return e["frechet_distance"]


# ---- accuracy of class-conditional samples ----

def accuracy_runs(args, work):
    rows = []
    for kind in IMAGE_CLASSES:
        samples, labels, seconds = [], [], 0.0
        for label in range(10):
            out = os.path.join(work, "acc-%s-c%d" % (kind, label))
            extra = image_extra(kind, args.accuracy_steps)
            extra["data.classes"] = "[%d]" % label
            seconds += train(args, image_config(kind), out, extra)
            path = os.path.join(out, "samples.npy")
            if not os.path.exists(path):
                cli.run(args.diffuse, ["sample", "--model", os.path.join(out, "checkpoint.pt"),
                                       "-n", 100, "--threads", args.threads, "--seed", label,
                                       "-o", path])
            samples.append(np.load(path).reshape(100, -1))
            labels.append(np.full(100, label, dtype=np.int64))
        both = os.path.join(work, "acc-%s.npy" % kind)
        np.save(both, np.concatenate(samples).astype(np.float32))
        np.save(both.replace(".npy", ".labels.npy"), np.concatenate(labels))
        e = cli.run(args.diffuse, ["eval", "-c", config_path("fashion-mnist-mlp"), "-s", both,
                                   "--classifier", args.classifier,
                                   "--labels", both.replace(".npy", ".labels.npy")])
        per_class = e["accuracy"]
        one = cli.run(args.diffuse, ["eval", "--model", os.path.join(work, "acc-%s-c0" % kind,
                                                                      "checkpoint.pt"),
                                     "--num-draws", 256, "--threads", args.threads])
        rows.append({"model": kind, "accuracy": per_class, "train_s": seconds,
                     "parameters": parameters(one["model"]),
                     "accuracy_se": (per_class * (1 - per_class) / 1000) ** 0.5,
                     "frechet_distance": e["frechet_distance"]})
        print("accuracy %-18s %.3f (FD %.1f), %.0f s of training"
              % (kind, per_class, e["frechet_distance"], seconds), flush=True)
    return rows


def classifier_accuracy(args, work):
    """The classifier's accuracy on the 10000 real test images with their labels."""
    real = os.path.join(work, "test-images.npy")
    if not os.path.exists(real):
        cli.run(args.diffuse, ["data", "-c", config_path("fashion-mnist-mlp"), "-n", 10000,
                               "--set", "data.split=test", "-o", real])
    e = cli.run(args.diffuse, ["eval", "-c", config_path("fashion-mnist-mlp"), "-s", real,
                               "--classifier", args.classifier,
                               "--labels", real.replace(".npy", ".labels.npy")])
    return e["accuracy"]


# ---- the report ----

def theory_parameters(kind, L, D, d, M):
    """The talk's parameter count without constants: O(LDd), O(LDd + Ld^2), O(LDd + Ld^(d+1))."""
    if kind == "linear":
        return L * D * d
    if kind in ("two-layer", "two-layer-subspace"):
        return L * D * d + L * d * d
    return L * D * d + L * float(d) ** (d + 1)


def fmt_count(x):
    return "%.2g" % x if x >= 1e7 else "%d" % x


def mixture_section(rows, args):
    text = ["## Multi-manifold mixture: exact estimation error against n", "",
            "16-D, L = 3 random 2-D subspaces (d = 2), M = 2 Gaussians each; vp-linear; "
            "%d steps of batch 256 (a set smaller than a batch fills it with whole passes) "
            "on a fixed set of n draws (`train.data_size`), or on fresh draws (n = inf); "
            "seeds %s. Estimation error: the theory's "
            "(1/(T - delta)) int E ||grad log q_t - s||^2 dt / D (`diffuse eval --model --dtype "
            "float64`, 16384 held-out (x_0, t, eps) draws; in parentheses its standard error), "
            "and the same weighted by sigma_t^2, which removes the 1/sigma_t^2 blow-up near "
            "t = delta. Slope: least squares in log-log over the finite n, 95%% interval from "
            "resampling the seeds within each n." % (args.mixture_steps, args.seeds), ""]
    table = []
    summary = {}
    for kind in MIXTURE_CLASSES:
        mine = [r for r in rows if r["model"] == kind]
        for n in sorted({r["n"] for r in mine}, key=lambda n: n or 1e18):
            at = [r for r in mine if r["n"] == n]
            e = np.mean([r["score_error"] for r in at])
            w = np.mean([r["score_error_sigma2"] for r in at])
            spread = lambda key: (np.std([r[key] for r in at], ddof=1) if len(at) > 1
                                  else at[0][key + "_stderr"])
            table.append([kind if n == mine[0]["n"] else "", "inf" if n == 0 else n,
                          "%.3g (%.2g)" % (e, spread("score_error")),
                          "%.3g (%.2g)" % (w, spread("score_error_sigma2")),
                          "%.0f" % np.mean([r["train_s"] for r in at])])
        inf = [r["score_error"] for r in mine if not r["n"]]
        summary[kind] = {"raw": bootstrap_slope(mine, "score_error"),
                         "excess": bootstrap_slope(mine, "score_error", inf[0] if inf else 0.0),
                         "floor": inf[0] if inf else float("nan")}
    text.append(cli.markdown_table(["model", "n", "estimation error (sd over seeds; n = inf: standard error)",
                                    "sigma^2-weighted", "train s"], table))
    text += ["Parameters beside the talk's counts (L = 3, D = 16, d = 2, constants dropped):", ""]
    prows = []
    for kind in MIXTURE_CLASSES:
        r = next(r for r in rows if r["model"] == kind)
        fit, lo, hi = summary[kind]["raw"]
        efit, elo, ehi = summary[kind]["excess"]
        want = THEORY[kind][0] if kind != "mlp" else -2.0 / 2
        prows.append([kind, short(r["parameters"]), fmt_count(theory_parameters(kind, 3, 16, 2, 2)),
                      "%.3g" % summary[kind]["floor"],
                      "%.2f [%.2f, %.2f]" % (fit, lo, hi), "%.2f [%.2f, %.2f]" % (efit, elo, ehi),
                      "%s: %.2f" % (THEORY[kind][1], want)])
    text.append(cli.markdown_table(["model", "parameters", "talk's count", "error at n = inf",
                                    "slope of the error in n",
                                    "slope of the error above n = inf", "talk's rate: slope"],
                                   prows))
    return text, summary


def image_section(rows, acc_rows, excess, classifier_acc, real_fd, args):
    slopes = {k: "%.2f [%.2f, %.2f] (n = %s)" % (v["slope"] + (
        ", ".join(str(n) for n in v["fitted_n"]),)) for k, v in excess.items() if v["slope"]}
    if not rows:
        text = ["## Fashion-MNIST: accuracy of class-conditional samples", "",
                "No n sweep on Fashion-MNIST in this run (`--parts images` adds it).", ""]
        return text + accuracy_table(rows, acc_rows, slopes, classifier_acc, args)
    text = ["## Fashion-MNIST: held-out DSM loss against n, samples and accuracy", "",
            "vp-linear; %d steps of batch 128 on the first n/10 training images of each class "
            "(`data.per_class`); the DSM loss on the 10000 test images (16384 draws, the same "
            "for every run; standard error in parentheses). The loss of the true score is "
            "unknown for images, so the estimation part is each class's excess over its own "
            "loss on the full set, L(n) - L(%d): the mean over %d eval seeds, each a paired "
            "difference on that seed's draws, with the lowest and highest in brackets (the "
            "estimator's floor). Its slope in n is fitted for each eval seed over the n whose "
            "excess is positive for all of them. One training seed per run. Frechet distance: "
            "%d samples (Heun, 25 steps) of the full-n run against the test images, in the "
            "classifier's features (%d real training images: %.2f, the metric's floor)."
            % (args.image_steps, max(r["n"] for r in rows), len(EVAL_SEEDS), args.samples,
               args.samples, real_fd),
            ""]
    table = []
    for kind in IMAGE_CLASSES:
        mine = sorted((r for r in rows if r["model"] == kind), key=lambda r: r["n"])
        for r in mine:
            table.append([kind if r is mine[0] else "", r["n"],
                          "%.4f (%.4f)" % (r["test_dsm_loss"], r["test_dsm_loss_stderr"]),
                          "%.4f [%.4f, %.4f]" % ((excess[kind]["excess"][r["n"]],)
                                                 + excess[kind]["excess_range"][r["n"]])
                          if r["n"] in excess[kind]["excess"] else "-",
                          "%.1f" % r["frechet_distance"] if "frechet_distance" in r else "",
                          "%.0f" % r["train_s"]])
    text.append(cli.markdown_table(["model", "n", "test DSM loss", "excess over the full set",
                                    "Frechet distance", "train s"], table))
    return text + accuracy_table(rows, acc_rows, slopes, classifier_acc, args)


def accuracy_table(rows, acc_rows, slopes, classifier_acc, args):
    text = ["Accuracy: one model per class and network (%d steps on that class's 6000 images), "
             "100 samples each (Heun, 25 steps), classified by `runs/classifier/classifier.pt`, "
             "whose own accuracy on the real test images is %.4f; the share recognised as the "
             "class drawn (binomial standard error over 1000 samples in parentheses). Talk's "
             "counts with L = 10 classes, D = 784, d = 64 (the configs' rank), constants dropped."
             % (args.accuracy_steps, classifier_acc), ""]
    arows = []
    for kind in IMAGE_CLASSES:
        full = max((r for r in rows if r["model"] == kind), key=lambda r: r["n"], default=None)
        acc = next((r for r in acc_rows if r["model"] == kind), None)
        count = full["parameters"] if full else acc.get("parameters") if acc else None
        arows.append([kind, short(count) if count else "-",
                      fmt_count(theory_parameters(kind, 10, 784, 64, 10)),
                      slopes.get(kind, "none: excess not positive at two n"),
                      "%.3f (%.3f)" % (acc["accuracy"], acc["accuracy_se"]) if acc else "-",
                      "%.1f" % acc["frechet_distance"] if acc else "-"])
    text.append(cli.markdown_table(["model", "parameters (one model)", "talk's count",
                                    "slope of the excess in n", "accuracy",
                                    "per-class models' FD"], arows))
    return text


def plot(mix_rows, img_rows, acc_rows, classifier_acc, excess, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = 1 + bool(img_rows) + bool(acc_rows)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4), squeeze=False)
    axes = list(axes[0])
    ax = axes.pop(0)
    for kind in MIXTURE_CLASSES:
        mine = [r for r in mix_rows if r["model"] == kind and r["n"]]
        ns = sorted({r["n"] for r in mine})
        means = [np.mean([r["score_error"] for r in mine if r["n"] == n]) for n in ns]
        line, = ax.plot(ns, means, "o-", label=kind)
        inf = [r["score_error"] for r in mix_rows if r["model"] == kind and not r["n"]]
        if inf:
            ax.axhline(inf[0], color=line.get_color(), ls=":", lw=1,
                       label="%s, fresh draws (n = inf)" % kind)
    if mix_rows:
        n0 = min(r["n"] for r in mix_rows if r["n"])
        e0 = np.mean([r["score_error"] for r in mix_rows if r["n"] == n0 and
                      r["model"] == "two-layer"])
        xs = np.array([n0, 16 * n0])
        ax.plot(xs, e0 * (xs / n0) ** -0.5, "k--", lw=1, label="slope -1/2 (talk)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("estimation error (time-averaged score error / D)")
    ax.set_title("multi-manifold mixture (exact score)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    if img_rows:
        ax = axes.pop(0)
        for kind in IMAGE_CLASSES:
            ns = sorted(excess[kind]["excess"])
            ax.plot(ns, [excess[kind]["excess"][n] for n in ns], "o-", label=kind)
        n0 = min(r["n"] for r in img_rows)
        e0 = max(excess[k]["excess"][n0] for k in IMAGE_CLASSES)
        xs = np.array([n0, 60 * n0])
        ax.plot(xs, e0 * (xs / n0) ** -0.5, "k--", lw=1, label="slope -1/2 (talk)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title("Fashion-MNIST: held-out DSM loss above the full-set value", fontsize=9)
        ax.legend(fontsize=7)
        ax.set_xlabel("training-set size n")
        ax.set_ylabel("L(n) - L(60000), test DSM loss")
        ax.grid(alpha=0.3, which="both")
    if acc_rows:
        ax = axes.pop(0)
        names = [r["model"] for r in acc_rows]
        ax.bar(names, [r["accuracy"] for r in acc_rows],
               yerr=[2 * r["accuracy_se"] for r in acc_rows], capsize=4,
               label="samples recognised as their class (+- 2 se)")
        ax.axhline(classifier_acc, color="k", ls="--", lw=1,
                   label="classifier on real test images (%.3f)" % classifier_acc)
        ax.set_ylim(0, 1)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_ylabel("accuracy of class-conditional samples")
        ax.set_xlabel("network class (one model per class of images)")
        ax.set_title("Fashion-MNIST", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    args = parse_args()
    cli.check_binary(args.diffuse)
    os.makedirs(args.out, exist_ok=True)
    work = args.work or tempfile.mkdtemp(prefix="model-classes-")
    parts = args.parts.split(",")
    started = time.time()
    raw_path = os.path.join(args.out, "raw.json")
    raw = {}
    if os.path.exists(raw_path):
        with open(raw_path) as f:
            raw = json.load(f)
    if "mixture" in parts:
        raw["mixture"] = mixture_runs(args, work)
    if "images" in parts or "accuracy" in parts:
        if not os.path.exists(args.classifier):
            print("training the classifier (diffuse train-classifier) ...", flush=True)
            cli.run(args.diffuse, ["train-classifier", "--threads", args.threads, "--out",
                                   args.classifier])
        raw["classifier_accuracy"] = classifier_accuracy(args, work)
    if "images" in parts:
        raw["real_images_fd"] = real_images_fd(args, work)
        raw["images"] = image_runs(args, work)
    if "accuracy" in parts:
        raw["accuracy"] = accuracy_runs(args, work)
    # Wall time per part, summed over calls (a call that reuses finished runs adds little).
    seconds = raw.setdefault("seconds", {})
    for part in parts:
        seconds[part] = seconds.get(part, 0.0) + (time.time() - started) / len(parts)
    with open(raw_path, "w") as f:
        json.dump(raw, f, indent=1)
    write_report(args, raw)


def write_report(args, raw):
    mix, img, acc = raw.get("mixture", []), raw.get("images", []), raw.get("accuracy", [])
    excess = image_excess(img) if img else {}
    text = ["# Model classes: estimation error against n, parameters and accuracy", "",
            "Regenerate: `/usr/bin/python3 scripts/model_classes.py --work /tmp/model-classes` "
            "(wall time on 2 cores: %s)." % ", ".join(
                "%s %.0f min" % (k, v / 60) for k, v in raw.get("seconds", {}).items()), ""]
    if mix:
        section, _ = mixture_section(mix, args)
        text += section
    if img or acc:
        text += image_section(img, acc, excess, raw.get("classifier_accuracy", float("nan")),
                              raw.get("real_images_fd", float("nan")), args)
    text += ["![estimation error against n on the mixture; accuracy on Fashion-MNIST]"
             "(error_vs_n.png)", ""]
    reading = os.path.join(args.out, "reading.md")
    if os.path.exists(reading):
        with open(reading) as f:
            text += [f.read()]
    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("\n".join(text))
    plot(mix, img, acc, raw.get("classifier_accuracy", float("nan")), excess,
         os.path.join(args.out, "error_vs_n.png"))
    print("wrote %s/{README.md, raw.json, error_vs_n.png}" % args.out)


if __name__ == "__main__":
    main()
