#!/usr/bin/env python3
"""The plain-PyTorch peer of `diffuse bench --peer`: the same `mlp` network with the
same weights, the same vp-linear process, the same DDIM (theory form) and singlestep
DPM-Solver-1/2/3 formulas on the same logSNR grid, and the training step of bench_train_step.py
(imported, not copied). Eager PyTorch under torch.inference_mode, as a user would write it.

diffuse starts it as `bench_peer.py SPEC.json` and talks to it in JSON lines on stdin/stdout, so
that diffuse's and the peer's timed runs can alternate (a shared machine's load then hits both
alike). Requests and replies:
  {"op": "check", "case": i}           -> the largest difference to diffuse's output for the same
                                          x_T (SPEC's cases[i]: noise and expected .npy)
  {"op": "sample", "case": i, "runs": n} -> {"seconds": [n wall times of x_T -> x_0]}
  {"op": "train", "steps": n}          -> bench_train_step.py's JSON line for n timed steps
  {"op": "quit"}
"""
import contextlib
import io
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train_step as reference  # noqa: E402  (the network, process and training step)


class VpLinear:
    """Host float64 coefficients of vp-linear in Python floats, as a user would write them and
    in core/process/process_vp.cpp's operation order (both call the C library's exp, expm1, log1p), so
    the step coefficients agree to the last bit."""

    def __init__(self, b0, b1):
        self.b0, self.b1 = b0, b1

    def log_alpha(self, t):
        return -0.25 * (self.b1 - self.b0) * t * t - 0.5 * self.b0 * t

    def alpha(self, t):
        return math.exp(self.log_alpha(t))

    def sigma(self, t):
        return math.sqrt(-math.expm1(2.0 * self.log_alpha(t)))

    def lambda_(self, t):
        la = self.log_alpha(t)
        return la - 0.5 * math.log(-math.expm1(2.0 * la))

    def t_of_lambda(self, lam):
        v = 2.0 * lam  # log alpha = log sigmoid(2 lambda) / 2, without overflow either way
        la = 0.5 * (min(v, 0.0) - math.log1p(math.exp(-abs(v))))
        return -4.0 * la / (math.sqrt(self.b0 * self.b0 - 4.0 * (self.b1 - self.b0) * la)
                            + self.b0)


def logsnr_grid(p, t_start, t_end, steps):
    """K + 1 times uniform in lambda (core/process/time_grid.cpp's logsnr_grid), endpoints exact."""
    l0, l1 = p.lambda_(t_start), p.lambda_(t_end)
    times = [p.t_of_lambda(l0 + (l1 - l0) * (k / steps)) for k in range(steps + 1)]
    times[0], times[-1] = t_start, t_end
    return times


def exp_phi(k, z):
    """phi_k(z) of exponential integrators (core/math/numerics.cpp), k = 1, 2."""
    if abs(z) < 0.5:  # the series, where the closed forms cancel
        term = 1.0 / math.factorial(k)
        total = 0.0
        for j in range(20):
            total += term
            term *= z / (j + k + 1)
        return total
    e = math.expm1(z)
    return e / z if k == 1 else (e - z) / (z * z)


def ddim_plan(p, times):
    """Li et al.'s DDIM Y_s = (Y_t + eta_t s_t(Y_t)) / sqrt(alpha_t) (samplers/ddpm.cpp):
    per step (t, 1/sqrt(alpha_t), eta_t, sigma(t))."""
    plan = []
    for t, s in zip(times[:-1], times[1:]):
        la_t, la_s = float(p.log_alpha(t)), float(p.log_alpha(s))
        alpha_step = math.exp(2.0 * (la_t - la_s))
        one_minus_alpha = -math.expm1(2.0 * (la_t - la_s))
        one_minus_abar = -math.expm1(2.0 * la_t)
        q2 = alpha_step * -math.expm1(2.0 * la_s) / one_minus_abar
        plan.append((t, 1.0 / math.sqrt(alpha_step), one_minus_alpha / (1.0 + math.sqrt(q2)),
                     p.sigma(t)))
    return plan


def dpm_solver_step(p, order, points):
    """DPM-Solver-1/2/3 (Lu et al. 2022, the 'dpmsolver' forms of samplers/dpm_solver_
    singlestep.cpp): evaluation times and, per stage, (cx, [c_j]) with u = cx x + sum c_j eps_j."""
    s, t = points[0], points[order]
    lambda_s = p.lambda_(s)
    h = p.lambda_(t) - lambda_s
    log_alpha_s = float(p.log_alpha(s))

    def decay(u):
        return math.exp(float(p.log_alpha(u)) - log_alpha_s)

    def first(u, r):
        return p.sigma(u) * r * h * exp_phi(1, r * h)

    b = first(t, 1.0)
    if order == 1:
        return points[:1], [(decay(t), [-b])]
    r1 = (p.lambda_(points[1]) - lambda_s) / h
    stage1 = (decay(points[1]), [-first(points[1], r1)])
    if order == 2:
        d = 0.5 / r1 * b
        return points[:2], [stage1, (decay(t), [-b + d, -d])]
    r2 = (p.lambda_(points[2]) - lambda_s) / h
    d2 = r2 / r1 * p.sigma(points[2]) * r2 * h * exp_phi(2, r2 * h)
    stage2 = (decay(points[2]), [-first(points[2], r2) + d2, -d2])
    d = p.sigma(t) / r2 * h * exp_phi(2, h)
    return points[:3], [stage1, stage2, (decay(t), [-b + d, 0.0, -d])]


def dpm_solver_plan(p, times, order):
    plan = []
    for s, t in zip(times[:-1], times[1:]):
        lambda_s, h = p.lambda_(s), p.lambda_(t) - p.lambda_(s)
        inner = [p.t_of_lambda(lambda_s + h * k / order) for k in range(1, order)]
        plan.append(dpm_solver_step(p, order, [s] + inner + [t]))
    return plan


class Peer:
    def __init__(self, spec):
        self.spec = spec
        torch.set_num_threads(spec["threads"])
        self.device = torch.device(spec.get("device", "cpu"))
        self.noise = {}  # case index -> x_T on the device (loaded once, untimed)
        m, pr = spec["model"], spec["process"]
        if (pr["b0"], pr["b1"]) != (reference.B0, reference.B1):
            raise SystemExit("bench_peer.py: bench_train_step.py's vp-linear is beta %g..%g"
                             % (reference.B0, reference.B1))
        self.process = VpLinear(pr["b0"], pr["b1"])
        self.t_range = (pr["t_max"], pr["t_min"])
        self.evaluations = 0
        self.module = None
        if "torchscript" in m:  # a user's module: loaded and called as it is, x in its shape
            self.module = torch.jit.load(m["torchscript"], map_location=self.device).eval()
            self.shape = list(m["shape"])
            return
        self.sigma_data = m["sigma_data"]
        self.net = reference.Mlp(m["dim"], m["width"], m["depth"], m["layer_norm"],
                                 m["embedding_dim"])
        weights = {name: torch.from_numpy(np.load(os.path.join(spec["weights"], name + ".npy")))
                   for name in self.net.state_dict()}
        self.net.load_state_dict(weights, strict=True)
        self.net.to(self.device).eval()
        self.evaluations = 0

    def eps(self, x, t):
        # One time for the whole batch: the scalings are host floats (diffuse's shared-time path
        # computes them in the same order) and the network gets one noise level per row.
        self.evaluations += 1
        if self.module is not None:
            t_batch = torch.full((x.shape[0],), t, dtype=x.dtype, device=x.device)
            return self.module(x.reshape([x.shape[0]] + self.shape), t_batch).reshape(x.shape)
        alpha, sigma, sd = self.process.alpha(t), self.process.sigma(t), self.sigma_data
        c_in = 1.0 / math.sqrt(sigma * sigma + (sd * sd) * alpha * alpha)
        c_noise = min(max(math.log(sigma / alpha) * 0.25, -5.0), 5.0)
        noise_level = torch.full((x.shape[0],), c_noise, dtype=x.dtype, device=x.device)
        return self.net(x * c_in, noise_level)  # c_out = 1 for eps

    def sample(self, case, x):
        # The plan (grid and coefficients) is part of the timed run, as it is in diffuse's.
        p = self.process
        times = logsnr_grid(p, *self.t_range, case["steps"])
        if case["sampler"] == "ddim":
            for t, inv_sqrt_alpha, eta, sigma in ddim_plan(p, times):
                y = x + eta * (self.eps(x, t) / -sigma)
                x = inv_sqrt_alpha * y
            return x, times
        order = int(case["sampler"][-1])  # dpm-solver-1, -2, -3
        for points, stages in dpm_solver_plan(p, times, order):
            model = []
            for k, u in enumerate(points):
                inp = x if k == 0 else combine(x, stages[k - 1], model)
                model.append(self.eps(inp, u))
            x = combine(x, stages[-1], model)
        return x, times

    def x_T(self, case):
        if case["noise"] not in self.noise:
            self.noise[case["noise"]] = torch.from_numpy(np.load(case["noise"])).to(self.device)
        return self.noise[case["noise"]]

    def run(self, case):
        """x_T (already on the device) -> x_0 on the CPU, as diffuse's timed run."""
        x_T = self.x_T(case)
        with torch.inference_mode():
            x, times = self.sample(case, x_T)
            return x.cpu(), times

    def check(self, case):
        self.evaluations = 0
        out, times = self.run(case)
        expected = torch.from_numpy(np.load(case["expected"]))
        diff = float((out - expected).abs().max())
        scale = float(expected.abs().max())
        # float32 rounding: a few units of eps per evaluation, relative to the samples' size.
        tolerance = case["tolerance"] * max(1.0, scale)
        return {"max_abs_diff": diff, "max_abs": scale, "tolerance": tolerance,
                "match": diff <= tolerance, "nfe": self.evaluations,
                "grid_max_diff": max(abs(a - b) for a, b in zip(times, case["times"]))}

    def time_sample(self, case, runs):
        self.x_T(case)
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            self.run(case)
            seconds.append(time.perf_counter() - start)
        return {"seconds": seconds}

    def time_train(self, steps):
        t = self.spec["train"]
        sys.argv = ["bench_train_step.py", "--data", t["data"], "--width", str(t["width"]),
                    "--depth", str(t["depth"]), "--batch", str(t["batch"]), "--steps", str(steps),
                    "--threads", str(self.spec["threads"]), "--lr", str(t["lr"]),
                    "--layer-norm", str(int(t["layer_norm"])), "--device", str(self.device)]
        printed = io.StringIO()  # its JSON line, kept off our protocol channel
        with contextlib.redirect_stdout(printed):
            reference.main()
        return json.loads(printed.getvalue().strip().splitlines()[-1])


def combine(x, stage, model):
    cx, c = stage
    out = x * cx
    for c_j, m_j in zip(c, model):
        if c_j != 0.0:
            out.add_(m_j, alpha=c_j)
    return out


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: bench_peer.py SPEC.json (started by `diffuse bench --peer`)")
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    peer = Peer(spec)
    print(json.dumps({"ready": True, "torch": torch.__version__,
                      "python": sys.version.split()[0], "threads": torch.get_num_threads()}),
          flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            return
        if op == "check":
            reply = peer.check(spec["cases"][request["case"]])
        elif op == "sample":
            reply = peer.time_sample(spec["cases"][request["case"]], request["runs"])
        elif op == "train":
            reply = peer.time_train(request["steps"])
        else:
            reply = {"error": "unknown op '%s'" % op}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
