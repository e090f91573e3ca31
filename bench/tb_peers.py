"""bench/tb_peers.py — the Python peers of bench/bench_tensorboard.c: the
same scalars (tags train/loss, train/acc, lr, grad_norm; steps 0..S-1;
value 1/(step+1+tag index)) written to tfevents by tensorboardX's
SummaryWriter and by TensorBoard's own tensorboard.summary.Writer (what
PyTorch's SummaryWriter is built on), timed from the first add_scalar until
close() has flushed everything. Prints "KEY VALUE" lines.

Usage: tb_peers.py --steps S --root DIR
"""
import argparse
import importlib.metadata as md
import os
import time

TAGS = ["train/loss", "train/acc", "lr", "grad_norm"]


def workload(steps):
    for s in range(steps):
        for t, tag in enumerate(TAGS):
            yield tag, 1.0 / (s + 1 + t), s


def bench_tensorboardx(steps, root):
    from tensorboardX import SummaryWriter
    w = SummaryWriter(os.path.join(root, "tensorboardx"))
    t0 = time.perf_counter()
    for tag, v, s in workload(steps):
        w.add_scalar(tag, v, s)
    w.close()
    return time.perf_counter() - t0


def bench_tb_writer(steps, root):
    from tensorboard.summary import Writer
    w = Writer(os.path.join(root, "tbwriter"))
    t0 = time.perf_counter()
    for tag, v, s in workload(steps):
        w.add_scalar(tag, v, s)
    w.close()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=25000)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    n = a.steps * len(TAGS)
    try:
        import crc32c  # noqa: F401  (tensorboardX uses the C extension when present)
        crc = "crc32c-C-extension"
    except ImportError:
        crc = "pure-Python-CRC"
    print("tensorboardx_version", md.version("tensorboardX"))
    print("tensorboardx_crc", crc)
    print("tensorboard_version", md.version("tensorboard"))
    print("tensorboardx_scalars_per_s %.0f" % (n / bench_tensorboardx(a.steps, a.root)))
    print("tbwriter_scalars_per_s %.0f" % (n / bench_tb_writer(a.steps, a.root)))


if __name__ == "__main__":
    main()
