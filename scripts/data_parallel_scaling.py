#!/usr/bin/env python3
"""Data-parallel scaling: training steps/s and samples/s of `diffuse train --nproc N`
against one process, with `diffuse train --bench-steps` (the median wall time of a step after 5
untimed ones, on rank 0, which waits for the others every step).

For each model and global batch the script times, interleaved over --repeats rounds:
  1 process, 1 thread         the baseline (OpenMP and OpenBLAS pinned to one thread)
  1 process, all cores        --threads = cores, OpenBLAS on all cores
  N processes                 --nproc N (each rank: cores / N threads)
  1 process, batch B/N        one rank's compute alone: the gap to the N-process step is what
                              the all-reduce and the replicated optimiser work cost
Writes results/data_parallel_scaling/{table.md, raw.json}.

  /usr/bin/python3 scripts/data_parallel_scaling.py               # ~5 min on 2 cores
"""
import argparse
import json
import os
import statistics
import subprocess

import diffuse_cli as cli

CASES = [  # (name, config, global batch, timed steps)
    ("ring8 mlp (175k parameters)", "configs/ring8-mlp.yaml", 512, 300),
    ("ring8 mlp (175k parameters)", "configs/ring8-mlp.yaml", 8192, 40),
    ("Fashion-MNIST mlp (4.3M parameters)", "configs/fashion-mnist-mlp.yaml", 128, 60),
    ("Fashion-MNIST mlp (4.3M parameters)", "configs/fashion-mnist-mlp.yaml", 512, 25),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--diffuse", default=cli.DEFAULT_DIFFUSE)
    p.add_argument("--out", default=os.path.join(cli.ROOT, "results", "data_parallel_scaling"))
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args()


def bench(diffuse, config, batch, steps, threads, nproc=1):
    """ms per step of one `train --bench-steps` run."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    command = [diffuse, "train", "--config", config, "--set", "train.batch_size=%d" % batch,
               "--threads", str(threads), "--bench-steps", str(steps)]
    if nproc > 1:
        command += ["--nproc", str(nproc)]
        for pool in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            env.pop(pool)  # the launcher gives each rank cores / N
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cli.ROOT)
    if done.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(command), done.stderr[-2000:]))
    return cli.last_json(done.stdout)["ms_per_step"]


def main():
    args = parse_args()
    cli.check_binary(args.diffuse)
    cores = os.cpu_count() or 1
    n = args.nproc
    modes = [("1 process, 1 thread", 1, 1, 1), ("1 process, %d threads" % cores, cores, 1, 1),
             ("%d processes" % n, max(1, cores // n), n, 1), ("1 process, batch B/%d" % n, 1, 1, n)]
    raw = []
    for name, config, batch, steps in CASES:
        times = {m[0]: [] for m in modes}
        for r in range(args.repeats):
            for label, threads, nproc, divide in modes:
                ms = bench(args.diffuse, config, batch // divide, steps, threads, nproc)
                times[label].append(ms)
                print("%s, batch %d, %s: %.1f ms" % (name, batch, label, ms), flush=True)
        raw.append({"model": name, "batch": batch, "ms_per_step": times})
    rows = []
    for entry in raw:
        base = statistics.median(entry["ms_per_step"]["1 process, 1 thread"])
        for label, _, nproc, divide in modes:
            ms = statistics.median(entry["ms_per_step"][label])
            rows.append([entry["model"], entry["batch"] // divide, label, "%.1f" % ms,
                         "%.0f" % (1e3 / ms), "%.0f" % (entry["batch"] // divide * 1e3 / ms),
                         "%.2f" % (base / ms) if divide == 1 else "(compute of one rank)"])
    os.makedirs(args.out, exist_ok=True)
    table = cli.markdown_table(["model", "batch", "run", "ms/step", "steps/s", "samples/s",
                                "speed-up"], rows)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(table)
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump({"cores": cores, "nproc": n, "repeats": args.repeats, "cases": raw}, f,
                  indent=1)
    print(table)


if __name__ == "__main__":
    main()
