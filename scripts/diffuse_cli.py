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


def check_binary(diffuse):
    if not os.path.exists(diffuse):
        sys.exit("%s not found: build first (scripts/build.sh) or pass --diffuse PATH" % diffuse)
