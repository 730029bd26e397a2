#!/usr/bin/env python3
"""PyTorch eager baseline for `tms bench --compare pytorch`.

The same toy models as tms (Elhage et al. 2022; SPEC §2–§4), written the way the ARENA exercises write them:
all instances in one tensor, batch [batch, instance, feature], weights [instance, hidden, feature], data drawn
densely with torch.rand every step, loss Σ_instances mean_{batch, features} I·(target − x′)², torch.optim.Adam
(lr 1e-3, PyTorch defaults). Not a test or run-time dependency of tms: `tms bench --compare pytorch` runs it as a
subprocess when python3 can import torch.

Usage: python3 Benchmarks/pytorch/bench.py [--json] [--configs A,B,...] [--min-seconds S] [--steps N] [--warmup N]
                                           [--threads T] [--repeats R]
With --json prints one JSON object per configuration per line.
"""
import argparse
import json
import math
import sys
import time

try:
    import torch
except ImportError:
    print("bench.py: torch is not importable (pip install torch)", file=sys.stderr)
    sys.exit(3)


def linspace_probabilities(count, base=20.0):
    return [base ** -(0.0 if count == 1 else i / (count - 1)) for i in range(count)]


def phase_grid(side=20):
    """n=2, m=1: feature 0 importance 1, feature 1 importance r; densities × importances on log grids."""
    densities = [10 ** (-2 + 2 * i / (side - 1)) for i in range(side)]
    ratios = [10 ** (-1 + 2 * j / (side - 1)) for j in range(side)]
    probs, importance = [], []
    for p in densities:
        for r in ratios:
            probs.append([p, p])
            importance.append([1.0, r])
    return probs, importance


def configurations():
    """The standard tms bench configurations (must match Sources/TMSExperiments/Benchmark.swift)."""
    def uniform(model, n, m, ps, decay=1.0):
        imp = [decay ** i for i in range(n)]
        return dict(model=model, n=n, m=m, probability=[[p] * n for p in ps], importance=[imp] * len(ps))
    e_probs, e_imp = phase_grid()
    return {
        "A": dict(uniform("relu-output", 5, 2, linspace_probabilities(10), 0.9), title="relu-output 5→2, p = 20^-t"),
        "B": dict(uniform("relu-output", 20, 5, [1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001], 0.7), title="relu-output 20→5, 1-S sweep"),
        "C": dict(uniform("relu-output", 400, 30, [0.01] * 8), title="relu-output 400→30, p = 0.01"),
        "D": dict(uniform("abs", 100, 40, [0.03] * 8, 0.8), title="abs 100→40, p = 0.03"),
        "E": dict(model="relu-output", n=2, m=1, probability=e_probs, importance=e_imp, title="relu-output 2→1, 400-point phase grid"),
        "F": dict(uniform("relu-output", 400, 30, [1.0] * 8), title="relu-output 400→30, p = 1 (dense)"),
        # The model of tms bench's whole-process configuration T (C with tms train's default importance 0.9^i).
        "T": dict(uniform("relu-output", 400, 30, [0.01] * 8, 0.9), title="relu-output 400→30, p = 0.01, I = 0.9^i"),
    }


class ToyModel(torch.nn.Module):
    def __init__(self, model, n, m, probability, importance):
        super().__init__()
        K = len(probability)
        self.kind = model
        std = math.sqrt(2.0 / (n + m))
        self.W = torch.nn.Parameter(torch.randn(K, m, n) * std)
        self.W2 = torch.nn.Parameter(torch.randn(K, n, m) * std) if model == "abs" else None
        self.b = torch.nn.Parameter(torch.zeros(K, n))
        self.register_buffer("p", torch.tensor(probability, dtype=torch.float32))
        self.register_buffer("I", torch.tensor(importance, dtype=torch.float32))

    def batch(self, B):
        K, n = self.p.shape
        magnitude = torch.rand(B, K, n)
        if self.kind == "abs":
            magnitude = magnitude * 2 - 1
        return torch.where(torch.rand(B, K, n) <= self.p, magnitude, 0.0)

    def forward(self, x):
        h = torch.einsum("bkn,kmn->bkm", x, self.W)
        if self.kind in ("relu-hidden", "abs"):
            h = torch.relu(h)
        if self.kind == "abs":
            y = torch.einsum("bkm,knm->bkn", h, self.W2) + self.b
        else:
            y = torch.einsum("bkm,kmn->bkn", h, self.W) + self.b
        return y if self.kind == "linear" else torch.relu(y)

    def loss(self, x):
        target = x.abs() if self.kind == "abs" else x
        return (self.I * (target - self(x)) ** 2).mean(dim=(0, 2)).sum()


def cpu_seconds():
    """(busy CPU seconds of the whole system, CPU seconds of this process); the first is None off Linux."""
    own = time.process_time()
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:9]]
        # user nice system idle iowait irq softirq steal, in USER_HZ ticks (100 per second)
        busy = (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / 100
    except (OSError, ValueError, IndexError):
        busy = None
    return busy, own


def run(name, config, steps, warmup, batch_size, min_seconds, repeats=1):
    model = ToyModel(config["model"], config["n"], config["m"], config["probability"], config["importance"])
    optimizer = torch.optim.Adam([p for p in model.parameters()], lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(model.batch(batch_size))
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(warmup):
        step()
    # `repeats` timed windows one after another, each of at least `steps` steps and min_seconds / repeats
    # seconds; the fastest is reported (as tms reports its fastest run), every window's rate is kept.
    K = len(config["probability"])
    windows = []
    for _ in range(repeats):
        start = time.perf_counter()
        busy0, own0 = cpu_seconds()
        done = 0
        while done < steps or time.perf_counter() - start < min_seconds / repeats:
            loss = step()
            done += 1
        loss = float(loss.detach())
        elapsed = time.perf_counter() - start
        busy1, own1 = cpu_seconds()
        other = None if busy0 is None or busy1 is None else max(0.0, ((busy1 - busy0) - (own1 - own0)) / elapsed)
        windows.append(dict(steps=done, seconds=elapsed, rate=K * done / elapsed, other=other))
    best = max(windows, key=lambda w: w["rate"])
    others = [w["other"] for w in windows if w["other"] is not None]
    return dict(configuration=name, title=config["title"], model=config["model"], feature_count=config["n"],
                hidden_count=config["m"], instance_count=K, batch_size=batch_size, steps=best["steps"],
                warmup_steps=warmup, threads=torch.get_num_threads(), seconds=best["seconds"],
                instance_steps_per_second=best["rate"], every_window_instance_steps_per_second=[w["rate"] for w in windows],
                final_loss=loss, other_processes_cores=max(others) if others else None, torch_version=torch.__version__)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration per line")
    parser.add_argument("--configs", default="A,B,C,D,E,F", help="comma list of configuration names")
    parser.add_argument("--steps", type=int, default=5, help="minimum timed steps per configuration")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="minimum timed seconds per configuration")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed windows per configuration (min-seconds split among them); the fastest is reported")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.repeats < 1:
        print(f"bench.py: --repeats {args.repeats} is invalid; it must be a positive integer", file=sys.stderr)
        sys.exit(2)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    all_configs = configurations()
    for name in args.configs.split(","):
        name = name.strip()
        if name not in all_configs:
            print(f"bench.py: unknown configuration {name!r}; choose from {','.join(all_configs)}", file=sys.stderr)
            sys.exit(2)
        row = run(name, all_configs[name], args.steps, args.warmup, args.batch_size, args.min_seconds, args.repeats)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            other = row["other_processes_cores"]
            print(f"{name}  {row['title']:<42} {row['instance_steps_per_second']:>12.0f} instance-steps/s "
                  f"({row['threads']} threads; other processes {'-' if other is None else f'{other:.2f}'} cores)", flush=True)


if __name__ == "__main__":
    main()
