"""bench/trainer_torch.py — the PyTorch (CPU) twin of bench_trainer's model,
for bench/run_trainer_bench: the same MLP (784-512-256-10, ReLU, dropout
0.2), AdamW (PyTorch defaults), batch 128, the same Fashion-MNIST train
split (the first 55000 samples, normalised with the split's mean/std) and
thread count. A plain training loop (no Lightning): samples/s, median of
--reps runs, after one warm-up pass of 30 batches.

usage: trainer_torch.py [--threads N] [--epochs E] [--reps R] [--limit-batches N]
                        [--data DIR] [--json PATH]
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    _, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert dtype == 0x08, "only unsigned-byte IDX files"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def train_split(data):
    """The first 55,000 Fashion-MNIST training samples (lightc's train split),
    flattened and normalised with the split's mean/std: (X float32, Y int64)
    tensors, shared by every PyTorch peer in bench/."""
    x = read_idx(os.path.join(data, "train-images-idx3-ubyte.gz"))[:55000]
    y = read_idx(os.path.join(data, "train-labels-idx1-ubyte.gz"))[:55000]
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    x = (x - x.mean()) / x.std()
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


def peer_args():
    """The options bench/run_trainer_bench gives every single-process peer."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--limit-batches", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--json")
    return ap.parse_args()


def main():
    a = peer_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)

    X, Y = train_split(a.data)
    bs, n = 128, len(X)

    def run(epochs, limit):
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(256, 10))
        opt = torch.optim.AdamW(model.parameters())
        loss_fn = nn.CrossEntropyLoss()
        samples = 0
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n)
            for i, start in enumerate(range(0, n, bs)):
                if limit and i >= limit:
                    break
                idx = perm[start:start + bs]
                xb, yb = X[idx], Y[idx]
                loss = loss_fn(model(xb), yb)
                opt.zero_grad(set_to_none=False)
                loss.backward()
                opt.step()
                samples += len(idx)
        return time.perf_counter() - t0, samples

    run(1, 30)
    times = []
    for r in range(a.reps):
        t, samples = run(a.epochs, a.limit_batches)
        times.append(t)
        print(f"rep {r}: torch {t:.3f} s", flush=True)
    sps = samples / statistics.median(times)
    print(f"PyTorch {torch.__version__} CPU, {a.threads} thread(s): {sps:.0f} samples/s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch_version": torch.__version__, "threads": a.threads,
                       "torch_sps": sps}, f)


if __name__ == "__main__":
    main()
