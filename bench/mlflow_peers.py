"""bench/mlflow_peers.py — metrics/s delivered to one local `mlflow server`
(SQLite store, started by tests/integration/mlflow_server.py), measured in one
run, contenders interleaved, R repetitions, median [min-max]:

  log_batch   MlflowClient.log_batch with 1000-metric batches (Metric objects
              built before the clock starts)
  lightning   the pattern Lightning's MLFlowLogger uses: per logging step one
              synchronous log_batch holding that step's metrics (4 keys), Metric
              objects and one ms timestamp made in the call
  log_metric  MlflowClient.log_metric per point (one request each)
  bare        http.client on one keep-alive connection posting pre-encoded
              compact-JSON 1000-metric runs/log-batch bodies: the server's own
              ingestion limit
  lightc      --lightc-cmd (bench/bench_mlflow): run with MLFLOW_TRACKING_URI,
              MLFLOW_EXPERIMENT_NAME, LC_BENCH_POINTS, LC_BENCH_RUN_NAME in its
              environment ({uri} {points} {experiment} {run_name} in the command
              are replaced too), in a fresh working directory; it prints a JSON
              line {"points": N, "seconds": S[, "run_id": ID]}, S covering every
              point acknowledged by the server. Skipped, with a message, when
              not given or not present.

Every contender logs into a fresh run; afterwards its points are read back
(every key's history) and counted, so a contender that loses points shows it.
The same stream for all: keys train/loss, train/acc, lr, grad_norm, steps
0.., value 1/(step+1+key index), timestamp base+step ms.

Usage: mlflow_peers.py [--repeat R] [--points N] [--lightning-steps S]
                       [--metric-points M] [--lightc-cmd CMD] [--uri URI]
"""
import argparse
import http.client
import json
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import mlflow_server as ms  # noqa: E402  (sets telemetry off, no proxy for loopback)

KEYS = ["train/loss", "train/acc", "lr", "grad_norm"]
BATCH = 1000
EXPERIMENT = "lightc-bench"


def stream(n, ts0):
    """n points: (key, value, timestamp_ms, step), 4 keys per step."""
    for i in range(n):
        k, s = i % len(KEYS), i // len(KEYS)
        yield KEYS[k], 1.0 / (s + 1 + k), ts0 + s, s


# ---- contenders --------------------------------------------------------------
# Each takes (ctx, run_id, n) and returns the seconds it took to deliver n points.

def c_log_batch(ctx, rid, n):
    from mlflow.entities import Metric
    pts = [Metric(k, v, t, s) for k, v, t, s in stream(n, ctx.ts0)]
    chunks = [pts[i:i + BATCH] for i in range(0, n, BATCH)]
    client = ctx.client
    t0 = time.perf_counter()
    for c in chunks:
        client.log_batch(rid, metrics=c)
    return time.perf_counter() - t0


_LIGHTNING_KEY = re.compile(r"[^a-zA-Z0-9_/. -]+")


def c_lightning(ctx, rid, n):
    # MLFlowLogger.log_metrics(metrics, step): sanitise keys, one timestamp,
    # Metric objects, one synchronous log_batch per call.
    from mlflow.entities import Metric
    steps = n // len(KEYS)
    per_step = [{k: 1.0 / (s + 1 + i) for i, k in enumerate(KEYS)} for s in range(steps)]
    client = ctx.client
    t0 = time.perf_counter()
    for step, metrics in enumerate(per_step):
        ts = int(time.time() * 1000)
        batch = [Metric(key=_LIGHTNING_KEY.sub("", k), value=v, timestamp=ts, step=step or 0)
                 for k, v in metrics.items()]
        client.log_batch(run_id=rid, metrics=batch, synchronous=True)
    return time.perf_counter() - t0


def c_log_metric(ctx, rid, n):
    pts = list(stream(n, ctx.ts0))
    client = ctx.client
    t0 = time.perf_counter()
    for k, v, t, s in pts:
        client.log_metric(rid, k, v, timestamp=t, step=s)
    return time.perf_counter() - t0


def c_bare(ctx, rid, n):
    pts = list(stream(n, ctx.ts0))
    bodies = []
    for i in range(0, n, BATCH):
        body = {"run_id": rid, "metrics": [{"key": k, "value": v, "timestamp": t, "step": s}
                                           for k, v, t, s in pts[i:i + BATCH]]}
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    u = urllib.parse.urlsplit(ctx.uri)
    hdrs = {"Content-Type": "application/json", "Accept": "application/json"}
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    # Connected before the clock starts, with TCP_NODELAY as urllib3 (under
    # MlflowClient) and libcurl set it: http.client sends the headers and the
    # body in two writes, and Nagle + delayed ACK would stall the second.
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.perf_counter()
    for b in bodies:
        conn.request("POST", "/api/2.0/mlflow/runs/log-batch", body=b, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("bare: HTTP %d %s" % (r.status, data[:200]))
    dt = time.perf_counter() - t0
    conn.close()
    return dt


class Skip(Exception):
    pass


def lightc_available(cmd):
    if not cmd:
        return "no --lightc-cmd given (bench/run_mlflow_bench passes build/bench/bench_mlflow when built)"
    exe = shlex.split(cmd)[0]
    if os.sep in exe:
        return None if os.access(exe, os.X_OK) else "%s not built" % exe
    return None if shutil.which(exe) else "%s not found" % exe


def run_lightc(ctx, n, run_name):
    """Returns (seconds, run_id or None); raises Skip with the reason."""
    subst = {"uri": ctx.uri, "points": str(n), "experiment": EXPERIMENT, "run_name": run_name}
    cmd = ctx.lightc_cmd
    for k, v in subst.items():
        cmd = cmd.replace("{%s}" % k, shlex.quote(v))
    env = dict(os.environ, MLFLOW_TRACKING_URI=ctx.uri, MLFLOW_EXPERIMENT_NAME=EXPERIMENT,
               LC_BENCH_POINTS=str(n), LC_BENCH_RUN_NAME=run_name)
    env.update(ctx.srv_env)
    with tempfile.TemporaryDirectory(prefix="lightc-mlflow-bench-") as cwd:
        p = subprocess.run(cmd, shell=True, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=1800)
    if p.returncode != 0:
        raise Skip("exit %d: %s" % (p.returncode, (p.stderr or p.stdout).strip()[-500:]))
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                r = json.loads(line)
                pts, secs = int(r["points"]), float(r["seconds"])
            except (ValueError, KeyError, TypeError):
                continue
            if pts != n:
                raise Skip("reported %d points, asked for %d" % (pts, n))
            return secs, r.get("run_id")
    raise Skip("no {\"points\": N, \"seconds\": S} line in its output")


# ---- driver ------------------------------------------------------------------

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--points", type=int, default=20000,
                    help="points for log_batch, bare and lightc (default 20000)")
    ap.add_argument("--lightning-steps", type=int, default=500,
                    help="logging steps for the Lightning pattern, 4 metrics each (default 500)")
    ap.add_argument("--metric-points", type=int, default=200,
                    help="points for log_metric (~40/s; default 200)")
    ap.add_argument("--lightc-cmd", default=os.environ.get("LC_BENCH_MLFLOW_CMD"))
    ap.add_argument("--lightc-points", type=int, help="default --points")
    ap.add_argument("--uri", help="use this running server instead of starting one")
    a = ap.parse_args()

    ctx = Ctx()
    ctx.lightc_cmd = a.lightc_cmd
    srv = None
    if a.uri:
        ctx.uri, ctx.srv_env = a.uri.rstrip("/"), {}
        os.environ["MLFLOW_TRACKING_URI"] = ctx.uri
        from mlflow.tracking import MlflowClient
        ctx.client = MlflowClient(ctx.uri)
    else:
        srv = ms.MlflowServer()
        srv.start()
        print("mlflow server %s on %s up in %.1f s (SQLite store, 1 worker)"
              % (srv.version, srv.uri, srv.startup_seconds), file=sys.stderr)
        ctx.uri, ctx.srv_env, ctx.client = srv.uri, srv.env(), srv.client()
    try:
        return bench(a, ctx)
    finally:
        if srv:
            srv.close()


def bench(a, ctx):
    import mlflow
    client = ctx.client
    exp = client.get_experiment_by_name(EXPERIMENT)
    exp_id = exp.experiment_id if exp else client.create_experiment(EXPERIMENT)
    sizes = {"log_batch": a.points, "lightning": a.lightning_steps * len(KEYS),
             "log_metric": a.metric_points, "bare": a.points,
             "lightc": a.lightc_points or a.points}
    funcs = {"log_batch": c_log_batch, "lightning": c_lightning,
             "log_metric": c_log_metric, "bare": c_bare}
    names = ["bare", "log_batch", "lightning", "log_metric"]
    why_not = lightc_available(a.lightc_cmd)
    if why_not:
        print("lightc: skipped: %s" % why_not, file=sys.stderr)
    else:
        names.append("lightc")

    # Warm-up (not timed): the client's session, the server's first writes.
    rid = client.create_run(exp_id, run_name="warmup").info.run_id
    ctx.ts0 = int(time.time() * 1000)
    c_log_batch(ctx, rid, 2 * BATCH)
    c_bare(ctx, rid, BATCH)

    rates = {n: [] for n in names}
    lost = {n: [] for n in names}
    for rep in range(a.repeat):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            n = sizes[name]
            ctx.ts0 = int(time.time() * 1000)
            run_name = "%s-%d" % (name, rep)
            if name == "lightc":
                try:
                    secs, rid = run_lightc(ctx, n, run_name)
                except Skip as e:
                    print("lightc: skipped: %s" % e, file=sys.stderr)
                    names.remove("lightc")
                    del rates["lightc"], lost["lightc"]
                    continue
                if rid is None:
                    ids = ms.find_runs(client, EXPERIMENT, run_name=run_name)
                    rid = ids[0] if len(ids) == 1 else None
            else:
                rid = client.create_run(exp_id, run_name=run_name).info.run_id
                secs = funcs[name](ctx, rid, n)
                client.set_terminated(rid, "FINISHED")
            got = ms.count_points(client, rid) if rid else -1
            lost[name].append(n - got if got >= 0 else None)
            rates[name].append(n / secs)
            print("rep %d %-10s %7d points %8.2f s %10.0f points/s  read back %s"
                  % (rep + 1, name, n, secs, n / secs, got if got >= 0 else "?"),
                  file=sys.stderr)

    med = {n: statistics.median(v) for n, v in rates.items() if v}
    print()
    print("MLflow %s, `mlflow server` on 127.0.0.1 (SQLite store, 1 uvicorn worker); "
          "points/s delivered, median [min-max] of %d interleaved runs; every run read back."
          % (mlflow.__version__, a.repeat))
    print()
    print("| contender | points per run | points/s median [min-max] | vs bare client | vs log_batch | delivered |")
    print("|---|---:|---:|---:|---:|---|")
    label = {"log_batch": "MlflowClient.log_batch, 1000-metric batches",
             "lightning": "Lightning MLFlowLogger pattern (log_batch per step, %d metrics)" % len(KEYS),
             "log_metric": "MlflowClient.log_metric per point",
             "bare": "bare keep-alive HTTP client, pre-encoded 1000-metric bodies",
             "lightc": "lightc (%s)" % a.lightc_cmd}
    for name in ["lightc", "bare", "log_batch", "lightning", "log_metric"]:
        if name not in med:
            continue
        v = rates[name]
        ls = lost[name]
        if any(x is None for x in ls):
            dl = "not verified (run not found)"
        elif any(ls):
            dl = "LOST %s" % ",".join(str(x) for x in ls)
        else:
            dl = "all"
        print("| %s | %s | %s [%s-%s] | %.2fx | %.2fx | %s |" % (
            label[name], format(sizes[name], ","), format(round(med[name]), ","),
            format(round(min(v)), ","), format(round(max(v)), ","),
            med[name] / med["bare"], med[name] / med["log_batch"], dl))
    if "lightc" not in med:
        print("\n(lightc: skipped, see above)")
    bad = any(x is None or x for ls in lost.values() for x in ls)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
