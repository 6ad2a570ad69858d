#!/usr/bin/env python3
"""TorchScript both ways, checked against plain PyTorch (Debian's python3-torch).

In: a small convolutional U-Net is trained briefly on Fashion-MNIST with the DSM loss (eps
prediction, vp-linear), scripted with torch.jit.script, and sampled from the same noise on the
same 20-step grid both by `diffuse sample` (model.kind: torchscript, model.shape [1, 28, 28]) and
by a plain Python loop of the samplers' formulas: DDIM (Song et al. 2021, eq. 12 with eta = 0)
and DPM-Solver++(2M) (Lu et al. 2022b, Algorithm 2). float64 must agree to 1e-10, float32 to
float32 rounding (1e-4 relative to the samples' size).

Out: a tiny diffuse mlp is trained on the ring (`diffuse train`), exported (`diffuse export`),
loaded with torch.jit.load and stepped once in Python; `diffuse sample --model` takes the same
step from the same points. The step is affine in the prediction with O(1) coefficients, so their
agreement to 1e-12 (float64) is the prediction's.

  python3 scripts/torchscript_roundtrip.py --diffuse build/diffuse            # the full check
  python3 scripts/torchscript_roundtrip.py --diffuse build/diffuse --quick    # CTest (seconds)
  ... --bench  # also times the Python loop at batch 1 and 256 (DDIM, 20 steps; one thread)

Exit codes: 0 every check holds, 1 one failed, 77 python3-torch or the data set is missing.
Prints one JSON line with every measured number.
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as error:  # CTest reports a skip (SKIP_RETURN_CODE 77)
    print(f"SKIP: {error}; install python3-torch and python3-numpy", file=sys.stderr)
    sys.exit(77)

B0, B1 = 0.1, 20.0  # vp-linear's default rates


def log_alpha(t):
    return -0.25 * (B1 - B0) * t * t - 0.5 * B0 * t


def alpha(t):
    return math.exp(log_alpha(t))


def sigma(t):
    return math.sqrt(-math.expm1(2.0 * log_alpha(t)))


def lam(t):
    return math.log(alpha(t) / sigma(t))


class Embedding(torch.nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, 5.0, 16)))
        self.fc = torch.nn.Linear(32, width)

    def forward(self, t):
        phase = t.reshape(-1, 1) * self.freqs
        return F.silu(self.fc(torch.cat([phase.cos(), phase.sin()], 1)))


class Block(torch.nn.Module):
    def __init__(self, cin: int, cout: int, width: int):
        super().__init__()
        self.c1 = torch.nn.Conv2d(cin, cout, 3, padding=1)
        self.c2 = torch.nn.Conv2d(cout, cout, 3, padding=1)
        self.emb = torch.nn.Linear(width, cout)
        self.skip = torch.nn.Conv2d(cin, cout, 1)

    def forward(self, x, e):
        h = F.silu(self.c1(x)) + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.c2(F.silu(h))


class UNet(torch.nn.Module):
    """28 -> 14 -> 7 and back, skips concatenated: forward(x [B, 1, 28, 28], t [B]) -> eps."""

    def __init__(self, c: int = 16, width: int = 64):
        super().__init__()
        self.embed = Embedding(width)
        self.down1 = Block(1, c, width)
        self.down2 = Block(c, 2 * c, width)
        self.mid = Block(2 * c, 2 * c, width)
        self.up2 = Block(4 * c, c, width)
        self.up1 = Block(2 * c, c, width)
        self.out = torch.nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x, t):
        e = self.embed(t)
        h1 = self.down1(x, e)                      # 28
        h2 = self.down2(F.avg_pool2d(h1, 2), e)    # 14
        h = self.mid(F.avg_pool2d(h2, 2), e)       # 7
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0), h2], 1), e)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), h1], 1), e)
        return self.out(h)


def fashion_mnist(path, n):
    with gzip.open(os.path.join(path, "train-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    images = raw.reshape(-1, 1, 28, 28)[:n].astype(np.float32)
    return torch.from_numpy(images / 127.5 - 1.0)


def train(data, steps, batch, seed):
    torch.manual_seed(seed)
    net = UNet()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for step in range(steps):
        x0 = data[torch.randint(0, data.shape[0], (batch,))]
        t = 1e-3 + (1.0 - 1e-3) * torch.rand(batch)
        la = log_alpha(t)
        a, s = la.exp()[:, None, None, None], (-torch.expm1(2 * la)).sqrt()[:, None, None, None]
        eps = torch.randn_like(x0)
        loss = ((net(a * x0 + s * eps, t) - eps) ** 2).mean()  # DSM, eps prediction
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, float(loss)


def eps_of(model, x, t):
    return model(x, torch.full((x.shape[0],), t, dtype=x.dtype))


def ddim(model, x, times):
    """Song et al. 2021, eq. 12, eta = 0: x_s = alpha_s x0 + sigma_s eps."""
    for t, s in zip(times[:-1], times[1:]):
        eps = eps_of(model, x, t)
        x0 = (x - sigma(t) * eps) / alpha(t)
        x = alpha(s) * x0 + sigma(s) * eps
    return x


def dpmpp_2m(model, x, times):
    """Lu et al. 2022b, Algorithm 2 (20 steps: no lower-order final step)."""
    previous = None
    for i, (t, s) in enumerate(zip(times[:-1], times[1:])):
        x0 = (x - sigma(t) * eps_of(model, x, t)) / alpha(t)
        h = lam(s) - lam(t)
        a = -math.expm1(-h)
        if previous is None:
            d = x0
        else:
            r = (lam(t) - lam(times[i - 1])) / h
            d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * previous
        x = (sigma(s) / sigma(t)) * x + alpha(s) * a * d
        previous = x0
    return x


def run(diffuse, *args):
    result = subprocess.run([diffuse, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"diffuse {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_config(path, extra):
    with open(path, "w") as f:
        f.write("seed: 0\nprocess: {kind: vp-linear}\n" + extra)


def max_diff(a, b):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def check_in(args, work, report):
    """A Python U-Net sampled by diffuse and by the Python loop."""
    data = fashion_mnist(args.data, 2000 if args.quick else 60000)
    started = time.time()
    net, loss = train(data, args.train_steps, 32 if args.quick else 128, seed=0)
    report["train_steps"], report["train_loss"] = args.train_steps, loss
    report["train_s"] = round(time.time() - started, 2)
    net.eval()
    module_path = os.path.join(work, "unet.ts")
    torch.jit.script(net).save(module_path)
    n, steps = (4 if args.quick else 64), 20
    # 20 steps uniform in lambda from t = 1 to t = 1e-3, given to diffuse as sampler.times_file.
    l0, l1 = lam(1.0), lam(1e-3)
    times = [1.0]
    for k in range(1, steps):
        target = l0 + (l1 - l0) * k / steps  # invert lambda(t) by bisection in float64
        lo, hi = 1e-3, 1.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if lam(mid) > target else (lo, mid)
        times.append(0.5 * (lo + hi))
    times.append(1e-3)
    times_file = os.path.join(work, "times.txt")
    with open(times_file, "w") as f:
        f.write(" ".join(repr(t) for t in times))
    noise = torch.randn(n, 784, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    noise_file = os.path.join(work, "noise.npy")
    np.save(noise_file, noise.numpy())
    config = os.path.join(work, "unet.yaml")
    write_config(config, f"data: {{kind: idx, path: {args.data}}}\n"
                 f"model: {{kind: torchscript, path: {module_path}, prediction: eps, "
                 f"shape: [1, 28, 28]}}\n")
    loaded = torch.jit.load(module_path)
    for dtype, name, tolerance in [(torch.float64, "float64", 1e-10),
                                   (torch.float32, "float32", None)]:
        model = loaded.to(dtype)
        for sampler, loop in [("ddim", ddim), ("dpm-solver++2m", dpmpp_2m)]:
            out = os.path.join(work, f"{sampler}-{name}.npy")
            record = run(args.diffuse, "sample", "--config", config, "--sampler", sampler,
                         "--set", f"sampler.times_file={times_file}", "--noise", noise_file,
                         "-n", str(n), "--set", f"dtype={name}", "-o", out)
            with torch.inference_mode():
                x = loop(model, noise.to(dtype).reshape(n, 1, 28, 28), times)
            ours = np.load(out)
            diff = max_diff(ours, x.reshape(n, 784).numpy())
            size = float(np.abs(ours).max())
            # float32: each of 20 steps rounds differently in the two programs (different
            # operation orders); 1e-4 of the samples' size is a few hundred float32 ulps.
            bound = tolerance if tolerance is not None else 1e-4 * max(1.0, size)
            report[f"in_{sampler}_{name}_max_diff"] = diff
            report[f"in_{sampler}_{name}_wall_s"] = record["wall_s"]
            report.setdefault("failures", [])
            if not diff <= bound:
                report["failures"].append(f"in {sampler} {name}: {diff:.3g} > {bound:.3g}")
    if args.bench:
        torch.set_num_threads(1)
        model = loaded.to(torch.float32)
        for batch in (1, 256):
            x = torch.randn(batch, 1, 28, 28)
            with torch.inference_mode():
                ddim(model, x, times)  # warm-up (the profiling executor's first runs)
                runs, started = 0, time.perf_counter()
                while runs < 3 or time.perf_counter() - started < 2.0:
                    ddim(model, x, times)
                    runs += 1
            seconds = (time.perf_counter() - started) / runs
            report[f"python_loop_ddim20_batch{batch}_samples_per_s"] = batch / seconds
        report["unet_module"] = module_path


def check_out(args, work, report):
    """A diffuse mlp exported and run by Python."""
    config = os.path.join(work, "ring.yaml")
    write_config(config, "data: {kind: ring8}\n"
                 "model: {kind: mlp, width: 32, depth: 2, embedding_dim: 16}\n"
                 f"train: {{steps: 20, batch_size: 64, warmup: 5, log_every: 10, "
                 f"checkpoint_every: 20, eval_size: 128, out: {work}/ring}}\n")
    run(args.diffuse, "train", "--config", config)
    checkpoint, module_path = f"{work}/ring/checkpoint.pt", f"{work}/ring.ts"
    record = run(args.diffuse, "export", "--model", checkpoint, "--out", module_path)
    module = torch.jit.load(module_path).double()
    report["out_attributes"] = {k: getattr(module, k) for k in
                                ("prediction", "kind", "shape", "num_classes", "sigma_data")}
    if module.prediction != record["prediction"] or list(module.shape) != [2]:
        report["failures"].append("out: attributes " + json.dumps(report["out_attributes"]))
    t, s = 0.55, 0.35  # one DDIM step t -> s, affine in the prediction
    points = torch.randn(256, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    noise_file = os.path.join(work, "points.npy")
    np.save(noise_file, points.numpy())
    out, times_file = os.path.join(work, "step.npy"), os.path.join(work, "step-times.txt")
    with open(times_file, "w") as f:
        f.write(f"{t!r} {s!r}")
    run(args.diffuse, "sample", "--model", checkpoint, "--sampler", "ddim", "--set",
        f"sampler.times_file={times_file}", "--noise", noise_file, "-n", "256", "--set",
        "dtype=float64", "-o", out)
    with torch.inference_mode():
        stepped = ddim(module, points, [t, s])
        prediction = eps_of(module, points, t)
    diff = max_diff(np.load(out), stepped.numpy())
    report["out_step_float64_max_diff"] = diff
    report["out_prediction_rms"] = float(prediction.pow(2).mean().sqrt())
    if not diff <= 1e-12:
        report["failures"].append(f"out: {diff:.3g} > 1e-12")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diffuse", default="build/diffuse")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--quick", action="store_true", help="a few seconds (CTest)")
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--only", choices=["in", "out"], default=None)
    parser.add_argument("--work", default=None, help="keep files here (default: a temp dir)")
    args = parser.parse_args()
    if args.train_steps is None:
        args.train_steps = 20 if args.quick else 1500
    if args.only != "out" and not os.path.exists(
            os.path.join(args.data, "train-images-idx3-ubyte.gz")):
        print(f"SKIP: no Fashion-MNIST at {args.data} (dataset-fashion-mnist)", file=sys.stderr)
        sys.exit(77)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    report = {"failures": []}
    with tempfile.TemporaryDirectory() as temp:
        work = args.work or temp
        os.makedirs(work, exist_ok=True)
        if args.only != "out":
            check_in(args, work, report)
        if args.only != "in":
            check_out(args, work, report)
    print(json.dumps(report))
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
