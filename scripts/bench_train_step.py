#!/usr/bin/env python3
"""One DSM training step of diffuse's `mlp` model in Python PyTorch, for comparison with
`diffuse train --bench-steps N`. Same network (residual MLP, sinusoidal noise-level
embedding, LayerNorm, SiLU, zero-initialised output, skip
with a learned noise-dependent gain), same preconditioning (eps, c_in, c_noise of
models/preconditioning.h), same process (vp-linear), loss, Adam, gradient clipping and EMA update,
same batch. Prints one JSON line with ms_per_step (wall) and cpu_ms_per_step (process CPU
time, all threads: the steadier figure on a busy machine).

  scripts/bench_train_step.py --width 128 --depth 3 --batch 512 --threads 1
  build/diffuse train --config configs/ring8-mlp.yaml --bench-steps 300 --threads 1
  scripts/bench_train_step.py --data images --width 512 --depth 4 --batch 128 --layer-norm 1
  build/diffuse train --config configs/fashion-mnist-mlp.yaml --bench-steps 50 --threads 1
Both honour OPENBLAS_NUM_THREADS; set it to 1 for both (see README "Threads").
"""
import argparse
import json
import math
import time

import torch
from torch import nn

B0, B1, T_MIN, T_MAX = 0.1, 20.0, 1e-3, 1.0  # vp-linear (docs/design.md)


def vp_linear(t):
    """alpha, sigma of the continuous VP process at float64 times t."""
    log_alpha = -(B1 - B0) * t * t / 4 - B0 * t / 2
    return log_alpha.exp(), torch.sqrt(-torch.expm1(2 * log_alpha))


class NoiseEmbedding(nn.Module):
    def __init__(self, dim, out):
        super().__init__()
        self.register_buffer("frequencies",
                             (0.25 * 256.0 ** torch.linspace(0, 1, dim // 2, dtype=torch.float64))
                             .float())
        self.fc1, self.fc2 = nn.Linear(dim, out), nn.Linear(out, out)

    def forward(self, c_noise):
        phase = c_noise.reshape(-1, 1) * self.frequencies
        features = torch.cat([phase.cos(), phase.sin()], 1)
        return nn.functional.silu(self.fc2(nn.functional.silu(self.fc1(features))))


class Block(nn.Module):
    def __init__(self, width, layer_norm):
        super().__init__()
        self.norm = nn.LayerNorm(width) if layer_norm else nn.Identity()
        self.fc1, self.project, self.fc2 = (nn.Linear(width, width) for _ in range(3))

    def forward(self, h, e):
        return h + self.fc2(nn.functional.silu(self.fc1(self.norm(h)) + self.project(e)))


class Mlp(nn.Module):
    def __init__(self, dim, width, depth, layer_norm=True, embedding_dim=64):
        super().__init__()
        self.input = nn.Linear(dim, width)
        self.embed = NoiseEmbedding(embedding_dim, width)
        self.blocks = nn.ModuleList(Block(width, layer_norm) for _ in range(depth))
        self.norm = nn.LayerNorm(width) if layer_norm else nn.Identity()
        self.output = nn.Linear(width, dim)
        self.skip_gain = nn.Linear(width, 1)
        for layer in (self.output, self.skip_gain):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x_in, c_noise):
        e = self.embed(c_noise)
        h = self.input(x_in)
        for block in self.blocks:
            h = block(h, e)
        return self.output(nn.functional.silu(self.norm(h))) + self.skip_gain(e) * x_in


def coefficients(t):
    alpha, sigma = vp_linear(t)
    return alpha.float().unsqueeze(1), sigma.float().unsqueeze(1)


def eps_model(net, x, t, sigma_data):
    alpha, sigma = coefficients(t)
    c_in = 1 / (sigma * sigma + sigma_data ** 2 * alpha * alpha).sqrt()
    c_noise = ((sigma / alpha).log() * 0.25).clamp(-5, 5).reshape(-1)
    return net(c_in * x, c_noise)  # c_out = 1 for eps


def ring8(n, generator):
    device = generator.device
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64, device=device) / 8
    means = 4 * torch.stack([angles.cos(), angles.sin()], 1)
    k = torch.multinomial(torch.full((8,), 1 / 8, dtype=torch.float64, device=device), n, True,
                          generator=generator)
    return means[k] + 0.3 * torch.randn(n, 2, dtype=torch.float64, generator=generator,
                                        device=device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["ring8", "images"], default="ring8")
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--layer-norm", type=int, choices=[0, 1], default=1,
                        help="model.layer_norm (default 1, as the configs)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (everything on it)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    generator = torch.Generator(device=device).manual_seed(0)
    dim = 2 if args.data == "ring8" else 784
    images = (torch.rand(60000, 784, generator=generator, device=device) * 2 - 1
              if args.data == "images" else None)
    sigma_data = 2.84 if args.data == "ring8" else 0.5
    net = Mlp(dim, args.width, args.depth, bool(args.layer_norm)).to(device)
    ema = Mlp(dim, args.width, args.depth, bool(args.layer_norm)).to(device)
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)

    def step(n):
        if images is None:
            x0 = ring8(args.batch, generator).float()
        else:
            x0 = images.index_select(0, torch.randint(60000, (args.batch,), generator=generator,
                                                      device=device))
        t = T_MIN + (T_MAX - T_MIN) * torch.rand(args.batch, dtype=torch.float64,
                                                 generator=generator, device=device)
        eps = torch.randn(x0.shape, generator=generator, device=device)
        alpha, sigma = coefficients(t)
        x_t = alpha * x0 + sigma * eps
        optimizer.zero_grad()
        loss = (eps_model(net, x_t, t, sigma_data) - eps).square().mean(1).mean()
        loss.backward()
        loss.item()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        decay = min(0.999, (1 + n) / (10 + n))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters()):
                p_ema.mul_(decay).add_(p, alpha=1 - decay)

    for n in range(5):
        step(n)
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(args.steps):
        step(5 + n)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - start) / args.steps
    cpu_seconds = (time.process_time() - cpu) / args.steps
    print(json.dumps({"command": "bench_train_step.py", "torch": torch.__version__,
                      "data": args.data, "width": args.width, "depth": args.depth,
                      "layer_norm": bool(args.layer_norm),
                      "batch_size": args.batch, "threads": args.threads, "device": args.device,
                      "ms_per_step": seconds * 1e3, "cpu_ms_per_step": cpu_seconds * 1e3,
                      "steps_per_s": 1 / seconds}))


if __name__ == "__main__":
    main()
