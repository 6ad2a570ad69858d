#!/usr/bin/env python3
"""One-step Fashion-MNIST: the distilled consistency model against its teacher.

Given the EDM mlp teacher (configs/fashion-mnist-mlp-edm.yaml), the consistency model distilled
from it (configs/fashion-mnist-distill-edm.yaml) and the classifier of `diffuse train-classifier`,
draws N images from

  the consistency model, 1 and 2 steps      (`diffuse sample --model STUDENT --steps K`)
  the teacher, DPM-Solver-fast at each NFE  (1, 2, 10, 50 by default; at 1 NFE it is DDIM's one
                                             step, i.e. the teacher's denoiser at t_max)
  real training images                      (`diffuse data`: the Frechet distance's floor)

and measures each with `diffuse eval --classifier` (Frechet distance between the classifier's
features of the images and of the first N real test images; the class histogram's largest share).
Writes results/consistency_fmnist/{table.md, raw.json} and copies the 10x10 PNG grids of the
one-step model and of the teacher at the largest NFE there.

  /usr/bin/python3 scripts/consistency_fmnist.py
  /usr/bin/python3 scripts/consistency_fmnist.py -n 2000 --nfe 1,10
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffuse_cli import run_command as run  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=os.path.join(REPO, "build", "diffuse"))
    p.add_argument("--teacher", default="runs/fashion-mnist-mlp-edm/checkpoint.pt")
    p.add_argument("--student", default="runs/fashion-mnist-distill-edm/checkpoint.pt")
    p.add_argument("--classifier", default="runs/classifier/classifier.pt")
    p.add_argument("--out", default=os.path.join(REPO, "results", "consistency_fmnist"))
    p.add_argument("-n", "--num-samples", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--nfe", default="1,2,10,50", help="the teacher's NFE budgets")
    return p.parse_args()



def main():
    args = parse_args()
    for path in (args.diffuse, os.path.join(REPO, args.teacher), os.path.join(REPO, args.student),
                 os.path.join(REPO, args.classifier)):
        if not os.path.exists(path):
            sys.exit(f"missing {path} (see the docstring for how each is made)")
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="cm-fmnist-")
    config = os.path.join(os.path.dirname(args.teacher), "config.yaml")  # data: the idx images
    n, batch = str(args.num_samples), str(args.batch_size)
    jobs = [("consistency model, 1 step", ["sample", "--model", args.student, "--steps", "1"]),
            ("consistency model, 2 steps", ["sample", "--model", args.student, "--steps", "2"])]
    for nfe in [int(v) for v in args.nfe.split(",")]:
        jobs.append((f"teacher, DPM-Solver-fast {nfe} NFE",
                     ["sample", "--model", args.teacher, "--sampler", "dpm-solver-fast",
                      "--steps", str(nfe)]))
    rows = []
    for i, (label, command) in enumerate(jobs):
        samples = os.path.join(work, f"s{i}.npy")
        r = run([args.diffuse] + command + ["-n", n, "--batch-size", batch, "-o", samples])
        e = run([args.diffuse, "eval", "-c", config, "-s", samples, "--classifier",
                 args.classifier])
        rows.append({"label": label, "nfe": r["nfe"], "sample_s": r["wall_s"],
                     "frechet": e["frechet_distance"], "eval": e})
        print(f"{label}: NFE {r['nfe']}, Frechet {e['frechet_distance']:.2f}", flush=True)
        if i == 0:
            shutil.copy(os.path.join(work, f"s{i}.png"),
                        os.path.join(args.out, "consistency_1step.png"))
        if i == len(jobs) - 1:
            shutil.copy(os.path.join(work, f"s{i}.png"),
                        os.path.join(args.out, f"teacher_{r['nfe']}nfe.png"))
    real = os.path.join(work, "real.npy")
    run([args.diffuse, "data", "-c", config, "-n", n, "-o", real])
    e = run([args.diffuse, "eval", "-c", config, "-s", real, "--classifier", args.classifier])
    rows.append({"label": "real training images", "nfe": 0, "sample_s": 0.0,
                 "frechet": e["frechet_distance"], "eval": e})
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(rows, f, indent=1)
    lines = ["# One-step Fashion-MNIST: Frechet distance (classifier features)", "",
             f"`scripts/consistency_fmnist.py`: {args.num_samples} images each against the first "
             f"{args.num_samples} test images; features of `{args.classifier}`.", "",
             "| images | NFE | Frechet distance | sampling s |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['nfe'] or '-'} | {r['frechet']:.2f} | "
                     f"{r['sample_s']:.1f} |")
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
