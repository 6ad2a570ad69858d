"""Shared plumbing for the evaluation scripts: run `diffuse`, read its JSON, write tables.

Each script calls the real command-line tool, so what it measures is what users get.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIFFUSE = os.path.join(ROOT, "build", "diffuse")


def last_json(text):
    """The last line of `text` that is a JSON object (diffuse prints its record last)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON record in the output:\n" + text[-2000:])


def run(diffuse, args, quiet=True):
    """Runs `diffuse args...` and returns its JSON record; exits with its message on failure."""
    command = [diffuse] + [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (done.returncode, " ".join(command),
                                          (done.stdout + done.stderr)[-3000:]))
    if not quiet:
        print(done.stderr, end="")
    return last_json(done.stdout)


def run_command(command):
    """Runs a whole diffuse command line (a list) from the repository root with one BLAS and
    OpenMP thread, and returns its JSON record; raises RuntimeError with its stderr on failure
    (for scripts that run several commands at once or want to catch a failure)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(map(str, command)), done.returncode,
                                                    done.stderr[-2000:]))
    return last_json(done.stdout)


def settings(mapping):
    """{'process.kind': 'rf', ...} -> ['--set', 'process.kind=rf', ...]."""
    out = []
    for key, value in mapping.items():
        out += ["--set", "%s=%s" % (key, value)]
    return out


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def fit_slope(xs, ys):
    """Least-squares slope of log y against log x (points with y > 0)."""
    import numpy as np
    pairs = [(x, y) for x, y in zip(xs, ys) if y > 0]
    if len(pairs) < 2:
        return float("nan")
    lx = np.log([p[0] for p in pairs])
    ly = np.log([p[1] for p in pairs])
    return float(np.polyfit(lx, ly, 1)[0])


def bootstrap_means(groups, statistic, draws, seed):
    """The statistic of the per-group means and its 95% percentile interval, resampling each
    group (e.g. the seeds or target sets of one n) with replacement. Returns (value, low, high,
    dropped): dropped counts draws where the statistic was not finite (e.g. a non-positive
    excess); the bounds are nan when more than a tenth of the draws were."""
    import numpy as np
    groups = [np.asarray(g, float) for g in groups]
    value = statistic([g.mean() for g in groups])
    rng = np.random.default_rng(seed)
    picks = [g[rng.integers(0, len(g), size=(draws, len(g)))].mean(axis=1) for g in groups]
    stats = np.array([statistic([p[i] for p in picks]) for i in range(draws)])
    finite = stats[np.isfinite(stats)]
    if len(finite) < 0.9 * draws:  # too many undefined draws for a percentile interval
        return value, float("nan"), float("nan"), draws - len(finite)
    low, high = np.percentile(finite, [2.5, 97.5])
    return value, float(low), float(high), draws - len(finite)


def check_binary(diffuse):
    if not os.path.exists(diffuse):
        sys.exit("%s not found: build first (scripts/build.sh) or pass --diffuse PATH" % diffuse)
