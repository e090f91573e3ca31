#!/usr/bin/env python3
"""bench/mlflow_train_overhead.py — what the MLflow backend costs `lightc train`.

Trains the default MLP on Fashion-MNIST with the loggers Lightning users
get by default (sqlite, tensorboard, csv) and the same plus `mlflow`: once
against a live server (--uri) and once against a dead port (an outage),
interleaved over R rounds (each round starts with another configuration),
and prints the median fit throughput (the `samples/s` lightc train reports)
with its range and the overhead of each mlflow configuration against the
run without it. Run it with --log-every-n-steps 50 (Lightning's default) and
1 (every step: the most points the backend can be asked to ship).

  bench/mlflow_train_overhead.py --lightc build/lightc --uri http://127.0.0.1:5000
      [--rounds 3] [--epochs 2] [--log-every-n-steps 50] [--threads 2] [--cpu 0]

On one machine the server's own CPU competes with training; to leave it
out, pin the server to one core and lightc to another (--cpu 0 --threads 1),
as docs/benchmarks.md shows. The CPU column is the lightc process's CPU
time (training, dispatcher, shipper): what the backend adds to it is its
cost wherever it runs.
"""
import argparse
import os
import resource
import re
import statistics
import subprocess
import sys
import tempfile


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def train(lightc, root, loggers, env, a):
    """(fit samples/s, CPU seconds of the whole lightc process)"""
    pin = ["taskset", "-c", a.cpu] if a.cpu else []
    cmd = pin + [lightc, "train", "--root", root, "--max-epochs", str(a.epochs),
           "--log-every-n-steps", str(a.log_every_n_steps), "--threads", str(a.threads),
           "--loggers", loggers, "--no-model-summary", "--no-checkpoint"]
    c0 = cpu_children()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    cpu = cpu_children() - c0
    m = re.search(r"samples/s (\d+(?:\.\d+)?)", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("mlflow_train_overhead: %s failed (%d):\n%s\n%s"
                 % (" ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return float(m.group(1)), cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lightc", required=True)
    ap.add_argument("--uri", required=True, help="a live MLflow server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--log-every-n-steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cpu", default="",
                    help="pin lightc to these CPUs (taskset -c), e.g. 0 with --threads 1 and the "
                         "server pinned elsewhere, so the server's own CPU stays out of the figure")
    a = ap.parse_args()
    base = "sqlite,tensorboard,csv"
    configs = [("off", base, None), ("on", base + ",mlflow", a.uri),
               ("outage", base + ",mlflow", "http://127.0.0.1:9")]
    res = {name: [] for name, _, _ in configs}
    cpu = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory(prefix="lc-mlflow-train.") as tmp:
        for r in range(a.rounds):
            for k in range(len(configs)):
                name, loggers, uri = configs[(r + k) % len(configs)]
                env = dict(os.environ, LIGHTC_SYNC_TIMEOUT="2",
                           MLFLOW_EXPERIMENT_NAME="lightc-train-overhead")
                env.pop("MLFLOW_TRACKING_URI", None)
                if uri:
                    env["MLFLOW_TRACKING_URI"] = uri
                root = os.path.join(tmp, "%s-%d" % (name, r))
                sps, c = train(a.lightc, root, loggers, env, a)
                res[name].append(sps)
                cpu[name].append(c)
    off = statistics.median(res["off"])
    print("lightc train, %d epochs, log every %d steps, %d threads%s, %d interleaved rounds "
          "(median [min - max]; CPU = the lightc process, all threads):"
          % (a.epochs, a.log_every_n_steps, a.threads,
             ", pinned to CPU " + a.cpu if a.cpu else "", a.rounds))
    for name, loggers, _ in configs:
        v = res[name]
        line = "  %-7s %-30s %9.0f samples/s [%.0f - %.0f]" % (
            name, loggers, statistics.median(v), min(v), max(v))
        line += "  CPU %.2f s" % statistics.median(cpu[name])
        if name != "off":
            per_round = [(o / x - 1) * 100 for o, x in zip(res["off"], v)]
            line += "  overhead %+.2f%% [%+.2f%% - %+.2f%%]" % (
                off / statistics.median(v) * 100 - 100, min(per_round), max(per_round))
            line += "  CPU %+.2f%%" % (
                (statistics.median(cpu[name]) / statistics.median(cpu["off"]) - 1) * 100)
        print(line)


if __name__ == "__main__":
    main()
