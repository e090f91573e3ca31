"""tests/integration/mlflow_e2e_common.py — shared pieces of the end-to-end
MLflow acceptance tests (test_mlflow_e2e.py, test_mlflow_e2e_auth.py):
the C-API driver (bench/bench_mlflow.c, built as tests/helpers/mlflow_log),
reading a run's points, params and tags from the index's views, and
comparing them with what MlflowClient reads back from the server
(mlflow_server.py). What the W&B tests share too (checks, running lightc,
the index's runs and deliveries) is remote_common.py, re-exported here.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlflow_server as ms  # noqa: E402  (no proxy for loopback, no telemetry)
import remote_common as rc  # noqa: E402
from remote_common import (BUILD, DATA, LIGHTC, SKIP, check, db, finish,  # noqa: E402,F401
                           lightc, outputs, run, run_uuid)

DRIVER = os.path.join(BUILD, "tests", "helpers", "mlflow_log")  # bench/bench_mlflow.c


def base_env(**extra):
    """The environment of a child: no MLFLOW_* or LIGHTC_* of the caller's,
    then extra (e.g. MLFLOW_TRACKING_URI)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and not k.startswith("LIGHTC_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def driver(root, env, points, name, extra=(), timeout=300):
    """bench_mlflow: N points through the hub; (exit code, result dict, stderr)."""
    return rc.run_driver(DRIVER, root, env, "--points", points, name, extra, timeout)


def driver_bg(root, env, points, name, extra=()):
    """bench_mlflow in the background (a Popen, output piped)."""
    return rc.start_driver(DRIVER, root, env, "--points", points, name, extra)


def delivery(root, uuid, backend="mlflow"):
    return rc.delivery(root, uuid, backend)


def ts_ms(wall):
    """The backend's timestamp of a wall time (Unix s): rounded to the ms."""
    return int(math.floor(wall * 1000.0 + 0.5))


def index_points(root, uuid):
    with db(root) as c:
        rows = c.execute("SELECT key, step, value, wall_time FROM metrics WHERE run_id = ?",
                         (uuid,)).fetchall()
    return [(k, s, (float("nan") if v is None else v), ts_ms(w)) for k, s, v, w in rows]


def index_kv(root, uuid, view):
    with db(root) as c:
        return dict(c.execute("SELECT key, value FROM %s WHERE run_id = ?" % view,
                              (uuid,)).fetchall())


def compare_run(label, root, uuid, client, status="FINISHED", artifacts=None,
                run_name=None):
    """The server's copy of the run equals the index: every point (key,
    step, value, timestamp) exactly once, params, tags, the standard tags,
    artifacts (relative path -> local file), status. Returns read_run()."""
    d = delivery(root, uuid)
    if not check(label + ": delivered", d.get("state") == "delivered" and d.get("remote_id"), d):
        return None
    r = ms.read_run(client, d["remote_id"])
    pts = index_points(root, uuid)
    problems = ms.metric_problems(r, pts)
    check(label + ": every point exactly once (%d in the index)" % len(pts),
          not problems and r["points"] == len(pts), problems[:20])
    params = {k: str(v) for k, v in index_kv(root, uuid, "params").items()}
    check(label + ": params", r["params"] == params,
          (sorted(set(r["params"].items()) ^ set(params.items())))[:10])
    tags = index_kv(root, uuid, "tags")
    bad = {k: (v, r["tags"].get(k)) for k, v in tags.items() if r["tags"].get(k) != str(v)}
    check(label + ": tags", not bad, bad)
    std = {"lightc.run_uuid": uuid, "mlflow.source.type": "LOCAL"}
    if run_name:
        std["mlflow.runName"] = run_name
    bad = {k: r["tags"].get(k) for k, v in std.items() if r["tags"].get(k) != v}
    check(label + ": standard tags", not bad and r["tags"].get("mlflow.source.name"), bad)
    check(label + ": status " + status, r["status"] == status and r["end_time"],
          (r["status"], r["end_time"]))
    for rel, local in (artifacts or {}).items():
        size = os.path.getsize(local)
        check(label + ": artifact " + rel, r["artifacts"].get(rel) == size,
              (rel, size, r["artifacts"]))
    return r

