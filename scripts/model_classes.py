#!/usr/bin/env python3
"""Model classes (issue 7.8): `linear`, `two-layer` and `mlp` score networks on the
multi-manifold mixture and on Fashion-MNIST, in one table like the pretraining theory's.

For each class the script trains configs/multimanifold-<class>.yaml (3000 steps, exact scores
known) and configs/fashion-mnist-<class>.yaml (--image-steps steps, default 1500: a short run
for the 15-minute budget), then measures each checkpoint with `diffuse eval --model`:

  parameters       from the model's description
  DSM loss         on fixed held-out draws, beside the analytic oracle's (the loss's minimum)
  score error      E ||s_theta - s*||^2 / D averaged over t, as in the theory (mixture only)
  samples          --sample N with the config's sampler: sliced W2, NLL/dim and distance to
                   the nearest component subspace (mixture); Frechet distance of classifier
                   features and the class histogram's total variation from uniform (images)

The Fashion-MNIST measures need runs/classifier/classifier.pt; the script trains it
(`diffuse train-classifier`, about 100 s) when it is missing. Writes
results/model_classes/{table.md, raw.json, model_classes.png}.

  /usr/bin/python3 scripts/model_classes.py                      # ~12 min on 2 cores
  /usr/bin/python3 scripts/model_classes.py --image-steps 10000  # the configs' full image runs
"""
import argparse
import json
import os
import re
import tempfile

import diffuse_cli as cli

CLASSES = ["linear", "two-layer", "mlp"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=cli.DEFAULT_DIFFUSE)
    p.add_argument("--out", default=os.path.join(cli.ROOT, "results", "model_classes"))
    p.add_argument("--classes", default=",".join(CLASSES))
    p.add_argument("--mixture-steps", type=int, default=3000,
                   help="training steps of the multi-manifold runs (the configs' 3000)")
    p.add_argument("--image-steps", type=int, default=1500,
                   help="training steps of the Fashion-MNIST runs (configs: 4000-10000)")
    p.add_argument("--mixture-samples", type=int, default=4096)
    p.add_argument("--image-samples", type=int, default=1000)
    p.add_argument("--classifier", default=os.path.join(cli.ROOT, "runs", "classifier",
                                                        "classifier.pt"))
    p.add_argument("--threads", type=int, default=1,
                   help="LibTorch threads (1: two threads were slower on the shared 2 cores)")
    p.add_argument("--work", default=None,
                   help="folder for the runs (default: a fresh one in /tmp); a run whose "
                        "checkpoint is already there is measured, not trained again")
    return p.parse_args()


def parameters(description):
    """'mlp (..., 8.3k parameters)' -> 8300 (the description rounds to 3 digits)."""
    match = re.search(r"([0-9.]+)([kM]?) parameters", description)
    if not match:
        return None
    return int(round(float(match.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[match.group(2)]))


def short(count):
    return "%.3gM" % (count / 1e6) if count >= 1e6 else "%.3gk" % (count / 1e3)


def train(args, config, out, extra):
    """Trains unless `out` holds a finished run; returns the training seconds (from the log)."""
    if not os.path.exists(os.path.join(out, "checkpoint.pt")):
        cli.run(args.diffuse, ["train", "-c", config, "--threads", args.threads,
                               "--set", "train.out=" + out] + cli.settings(extra))
    with open(os.path.join(out, "train.jsonl")) as f:
        log = [json.loads(line) for line in f if line.strip()]
    steps = [0] + [line["step"] for line in log]
    return sum((b - a) / line["steps_per_s"] for a, b, line in zip(steps, steps[1:], log))


def mixture_row(args, work, kind):
    out = os.path.join(work, "multimanifold-" + kind)
    seconds = train(args, os.path.join(cli.ROOT, "configs", "multimanifold-%s.yaml" % kind), out,
                    {"train.steps": args.mixture_steps,
                     "train.warmup": min(200, args.mixture_steps // 5),
                     "train.checkpoint_every": args.mixture_steps})
    e = cli.run(args.diffuse, ["eval", "--model", os.path.join(out, "checkpoint.pt"),
                               "--dtype", "float64", "--threads", args.threads,
                               "--sample", args.mixture_samples])
    s = e["samples"]
    return {"data": "multimanifold", "model": kind, "parameters": parameters(e["model"]),
            "train_s": seconds, "dsm_loss": e["dsm_loss"], "oracle_dsm_loss": e["oracle_dsm_loss"],
            "score_error": e["score_error"], "score_error_stderr": e["score_error_stderr"],
            "score_error_sigma2": e["score_error_sigma2"],
            "score_error_sigma2_stderr": e["score_error_sigma2_stderr"],
            "sliced_w2": s["sliced_w2"], "nll_per_dim": s["nll_per_dim"],
            "subspace_distance": s.get("subspace_distance"), "nfe": s["nfe"]}


def image_row(args, work, kind):
    out = os.path.join(work, "fashion-mnist-" + kind)
    config = os.path.join(cli.ROOT, "configs", "fashion-mnist-%s.yaml" % kind)
    steps = args.image_steps
    seconds = train(args, config, out, {"train.steps": steps,
                                        "train.warmup": min(500, steps // 5),
                                        "train.checkpoint_every": steps})
    e = cli.run(args.diffuse, ["eval", "--model", os.path.join(out, "checkpoint.pt"),
                               "--threads", args.threads, "--num-draws", 8192,
                               "--sample", args.image_samples, "--classifier", args.classifier])
    s = e["samples"]
    histogram = s["class_histogram"]
    tv = 0.5 * sum(abs(h - 1.0 / len(histogram)) for h in histogram)
    return {"data": "fashion-mnist", "model": kind, "parameters": parameters(e["model"]),
            "train_s": seconds, "train_steps": steps, "dsm_loss": e["dsm_loss"],
            "frechet_distance": s["frechet_distance"], "class_tv": tv, "nfe": s["nfe"]}


def write_table(rows, real_fd, args, path):
    mix = [r for r in rows if r["data"] == "multimanifold"]
    img = [r for r in rows if r["data"] == "fashion-mnist"]
    text = ["# Model classes: linear, two-layer, mlp", "",
            "`scripts/model_classes.py`; regenerate with "
            "`/usr/bin/python3 scripts/model_classes.py --mixture-steps %d --image-steps %d`."
            % (args.mixture_steps, args.image_steps), "",
            "## Multi-manifold mixture (3 random 2-D subspaces of R^16, 2 Gaussians each; "
            "vp-linear, %d steps)" % args.mixture_steps, "",
            "Score error: E_t E ||s_theta - s*||^2 / D on held-out draws (float64), and the same "
            "weighted by sigma_t^2 (eps units, finite as t -> 0); DSM gap: the model's DSM loss "
            "minus the oracle's on the same draws. Samples: %d, Heun 10 steps."
            % args.mixture_samples, ""]
    text.append(cli.markdown_table(
        ["model", "parameters", "DSM loss", "DSM gap", "score error", "sigma^2 x score error",
         "sliced W2", "NLL / dim",
         "subspace distance", "train s (log)"],
        [[r["model"], short(r["parameters"]), "%.4f" % r["dsm_loss"],
          "%.4f" % (r["dsm_loss"] - r["oracle_dsm_loss"]),
          "%.3g (%.2g)" % (r["score_error"], r["score_error_stderr"]),
          "%.3g (%.2g)" % (r["score_error_sigma2"], r["score_error_sigma2_stderr"]),
          "%.3f" % r["sliced_w2"],
          "%.3f" % r["nll_per_dim"],
          "%.3f" % r["subspace_distance"] if r["subspace_distance"] is not None else "-",
          "%.0f" % r["train_s"]] for r in mix]))
    if img:
        text += ["## Fashion-MNIST (vp-linear, %d steps; %d samples, Heun 25 steps)"
                 % (args.image_steps, args.image_samples), "",
                 "Frechet distance of the classifier's features against the test images (%d real "
                 "training images: %.2f, the metric's floor at this sample size); class TV: total "
                 "variation of the predicted class histogram from uniform."
                 % (args.image_samples, real_fd), ""]
        text.append(cli.markdown_table(
            ["model", "parameters", "DSM loss", "Frechet distance", "class TV", "train s (log)"],
            [[r["model"], short(r["parameters"]), "%.4f" % r["dsm_loss"],
              "%.1f" % r["frechet_distance"], "%.3f" % r["class_tv"], "%.0f" % r["train_s"]]
             for r in img]))
    with open(path, "w") as f:
        f.write("\n".join(text))


def real_images_fd(args, work):
    """The Frechet distance of as many real training images: the metric's floor at this n."""
    config = os.path.join(cli.ROOT, "configs", "fashion-mnist-mlp.yaml")
    real = os.path.join(work, "real.npy")
    cli.run(args.diffuse, ["data", "-c", config, "-n", args.image_samples, "-o", real])
    e = cli.run(args.diffuse, ["eval", "-c", config, "-s", real, "--classifier", args.classifier])
    return e["frechet_distance"]


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    panels = [("multimanifold", "score_error_sigma2",
               "sigma^2-weighted score error (multi-manifold)"),
              ("fashion-mnist", "frechet_distance", "Frechet distance (Fashion-MNIST)")]
    for ax, (data, key, title) in zip(axes, panels):
        chosen = [r for r in rows if r["data"] == data]
        for r in chosen:
            ax.scatter(r["parameters"], r[key], s=40)
            ax.annotate(r["model"], (r["parameters"], r[key]), textcoords="offset points",
                        xytext=(5, 5), fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parameters")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    args = parse_args()
    cli.check_binary(args.diffuse)
    os.makedirs(args.out, exist_ok=True)
    work = args.work or tempfile.mkdtemp(prefix="model-classes-")
    classes = args.classes.split(",")
    rows = []
    for kind in classes:
        rows.append(mixture_row(args, work, kind))
        print("multimanifold %s: score error %.3f" % (kind, rows[-1]["score_error"]), flush=True)
    if not os.path.exists(args.classifier):
        print("training the classifier (diffuse train-classifier) ...", flush=True)
        cli.run(args.diffuse, ["train-classifier", "--threads", args.threads, "--out",
                               args.classifier])
    real_fd = real_images_fd(args, work)
    for kind in classes:
        rows.append(image_row(args, work, kind))
        print("fashion-mnist %s: FD %.1f" % (kind, rows[-1]["frechet_distance"]), flush=True)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump({"rows": rows, "real_images_fd": real_fd}, f, indent=1)
    write_table(rows, real_fd, args, os.path.join(args.out, "table.md"))
    plot(rows, os.path.join(args.out, "model_classes.png"))
    print("wrote %s/{table.md, raw.json, model_classes.png}" % args.out)
    print("regenerate: /usr/bin/python3 scripts/model_classes.py --image-steps %d"
          % args.image_steps)


if __name__ == "__main__":
    main()
