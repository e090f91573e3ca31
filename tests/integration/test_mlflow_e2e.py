"""tests/integration/test_mlflow_e2e.py — issue 8's acceptance against one
real `mlflow server` (tests/integration/mlflow_server.py), read back with
MlflowClient and compared with the run index (views metrics/params/tags):

a. `lightc train --loggers sqlite,tensorboard,csv,mlflow` with only
   MLFLOW_TRACKING_URI set: every point (key, step, value, timestamp) once,
   params, tags (mlflow.runName, mlflow.source.*, lightc.run_uuid),
   artifacts (checkpoint, hparams.yaml, metrics.csv, same sizes), FINISHED;
   `lightc runs show` says delivered with the remote id and URL.
b. the C API (bench/bench_mlflow.c, built as tests/helpers/mlflow_log): a
   run of a few thousand points.
c. outage: the server stops in the middle of a run and is back 20 s later
   on the same port; step times before/during/after are printed (no timing
   assertion); every point once.
d. a run that finishes while the server is down is pending (runs show, ls);
   `lightc sync` completes it; a second sync sends nothing.
e. kill -9 of the logging process while it ships (the fault proxy slows
   every log-batch), then `lightc sync`: every point in the index once.
f. 429 with Retry-After, 500, 503, dropped connections, a slow answer and
   answers lost after the server applied the request (log-batch and
   runs/create) through tests/fault_proxy.py: one run, every point once.
Auth (g, h) is test_mlflow_e2e_auth.py (its own server).
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from mlflow_e2e_common import (DRIVER, LIGHTC, SKIP, base_env, check,  # noqa: E402
                               compare_run, delivery, driver, driver_bg, lightc, ms, run_uuid)
from remote_common import (conclude, not_built, not_installed, run_tests,  # noqa: E402
                           scratch, step_windows, without_data)
from fault_proxy import FaultProxyProcess  # noqa: E402

EXP = "lightc-bench"  # bench_mlflow's default experiment


def test_train(tmp, srv, client):
    root = os.path.join(tmp, "train")
    env = base_env(MLFLOW_TRACKING_URI=srv.uri)
    p = subprocess.run([LIGHTC, "train", "--root", root, "--name", "e2e", "--max-epochs", "1",
                        "--limit-train-batches", "20", "--limit-val-batches", "5",
                        "--limit-test-batches", "5", "--log-every-n-steps", "2",
                        "--no-model-summary", "--loggers", "sqlite,tensorboard,csv,mlflow"],
                       env=env, capture_output=True, text=True, timeout=300)
    if not check("a: train exits 0", p.returncode == 0, p.stderr[-2000:]):
        return
    uuid = run_uuid(root, "fashion-mnist", "e2e")
    rdir = os.path.join(root, "fashion-mnist", "e2e")
    arts = {"hparams.yaml": os.path.join(rdir, "hparams.yaml"),
            "metrics.csv": os.path.join(rdir, "metrics.csv")}
    for f in os.listdir(os.path.join(rdir, "checkpoints")):
        arts["checkpoints/" + f] = os.path.join(rdir, "checkpoints", f)
    check("a: a checkpoint was saved", len(arts) > 2, arts)
    r = compare_run("a", root, uuid, client, artifacts=arts, run_name="e2e")
    if r:
        check("a: points logged", r["points"] > 20, r["points"])
        check("a: experiment", r["experiment_name"] == "fashion-mnist", r["experiment_name"])
    d = delivery(root, uuid)
    p = lightc(["runs", "show", uuid[:8]], root, env)
    want = "delivered: remote run %s %s/#/experiments/" % (d.get("remote_id"), srv.uri)
    check("a: runs show delivered with id and URL", p.returncode == 0 and want in p.stdout,
          p.stdout[-1500:])


def test_c_api(tmp, srv, client):
    root = os.path.join(tmp, "capi")
    env = base_env(MLFLOW_TRACKING_URI=srv.uri)
    rc, res, err = driver(root, env, 4000, "capi")
    if check("b: C API run delivered", rc == 0 and res.get("state") == "delivered", (rc, res, err)):
        compare_run("b", root, res["run_uuid"], client, run_name="capi")


def test_outage(tmp, srv, client):
    root = os.path.join(tmp, "outage")
    tl = os.path.join(tmp, "outage-timeline.txt")
    env = base_env(MLFLOW_TRACKING_URI=srv.uri, LIGHTC_SYNC_TIMEOUT=150)
    # ~4000 steps of 4 points, 10 ms apart: about 40 s
    proc = driver_bg(root, env, 16000, "outage", ("--sleep-us", "10000", "--timeline", tl))
    time.sleep(5)
    t_stop = time.time()
    srv.stop()
    time.sleep(20)
    srv.start()
    t_back = time.time()
    out, err = proc.communicate(timeout=300)
    print("c: outage %.1f s (stop at +5 s, back after 20 s + start)" % (t_back - t_stop))
    win = step_windows(tl, t_stop, t_back)
    check("c: steps logged during the outage", len(win["during"]) > 100, len(win["during"]))
    import json
    res = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    if check("c: delivered after the outage", proc.returncode == 0, (proc.returncode, out, err)):
        compare_run("c", root, res["run_uuid"], client, run_name="outage")


def test_pending_then_sync(tmp, srv, client):
    root = os.path.join(tmp, "pending")
    env = base_env(MLFLOW_TRACKING_URI=srv.uri, LIGHTC_SYNC_TIMEOUT=2)
    srv.stop()
    try:
        rc, res, err = driver(root, env, 2000, "offline")
    finally:
        srv.start()
    uuid = res.get("run_uuid")
    check("d: finished while down: pending", rc == 3 and res.get("state") == "pending",
          (rc, res, err))
    check("d: the drain says sync will finish it", "`lightc sync` will finish it" in err, err)
    p = lightc(["runs", "show", uuid[:8]], root, env)
    check("d: runs show pending", "pending: " in p.stdout, p.stdout[-800:])
    # the reason survives the shutdown that cancelled the retries
    check("d: runs show says why", "last error:" in p.stdout and
          "Couldn't connect" in p.stdout, p.stdout[-800:])
    p = lightc(["runs", "ls"], root, env)
    check("d: runs ls marks it", uuid[:8] + "*" in p.stdout, p.stdout)
    p = lightc(["sync"], root, env)
    check("d: lightc sync delivers", p.returncode == 0 and "delivered" in p.stdout,
          (p.returncode, p.stdout, p.stderr))
    compare_run("d", root, uuid, client, run_name="offline")
    p = lightc(["sync"], root, env)
    check("d: second sync sends nothing", p.returncode == 0 and "nothing to sync" in p.stdout,
          (p.returncode, p.stdout, p.stderr))
    compare_run("d (after the second sync)", root, uuid, client, run_name="offline")


def test_kill9(tmp, srv, client):
    root = os.path.join(tmp, "kill9")
    with FaultProxyProcess(upstream=srv.uri) as fp:
        fp.faults([{"match": {"path": "/api/2.0/mlflow/runs/log-batch"}, "delay": 0.4,
                    "times": -1, "forward": True}])
        env = base_env(MLFLOW_TRACKING_URI=fp.url)
        # logging lasts >= 20 s (1 ms between points), so the kill always
        # comes while the run is still logging, also on a loaded machine:
        # killed during its final drain instead, the run would rightly be
        # FINISHED
        proc = driver_bg(root, env, 20000, "kill9", ("--sleep-us", "1000"))
        deadline = time.time() + 60
        while time.time() < deadline:
            n = sum(1 for r in fp.log()["requests"] if r["path"].endswith("/runs/log-batch"))
            if n >= 3:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        check("e: killed mid-ship", n >= 3, n)
        fp.clear()
        uuid = run_uuid(root, EXP, "kill9")
        check("e: pending after kill -9", delivery(root, uuid).get("state") == "pending",
              delivery(root, uuid))
        p = lightc(["sync"], root, env)
        check("e: lightc sync after kill -9", p.returncode == 0 and "delivered" in p.stdout,
              (p.returncode, p.stdout, p.stderr))
    compare_run("e", root, uuid, client, status="FAILED", run_name="kill9")


def test_faults(tmp, srv, client):
    root = os.path.join(tmp, "faults")
    lb = {"path": "/api/2.0/mlflow/runs/log-batch"}
    with FaultProxyProcess(upstream=srv.uri) as fp:
        fp.faults([
            {"match": {"path": "/api/2.0/mlflow/runs/create"}, "lose_response": True},
            {"match": lb, "status": 429, "headers": {"Retry-After": "1"},
             "body": {"error_code": "RESOURCE_EXHAUSTED", "message": "slow down"}},
            {"match": lb, "status": 500},
            {"match": lb, "lose_response": True},
            {"match": lb, "status": 503},
            {"match": lb, "drop": "close"},
            {"match": lb, "delay": 3, "forward": True},
            {"match": lb, "drop": "reset"},
            {"match": lb, "lose_response": True},
        ])
        env = base_env(MLFLOW_TRACKING_URI=fp.url, LIGHTC_SYNC_TIMEOUT=120)
        rc, res, err = driver(root, env, 6000, "faults")
        log = fp.log()["requests"]
        acts = [r["action"] for r in log]
    check("f: every fault was used", all(any(a.startswith(w) for a in acts) for w in
                                         ("status 429", "status 500", "status 503", "drop",
                                          "lose_response")), acts)
    if check("f: delivered through the faults", rc == 0, (rc, res, err)):
        compare_run("f", root, res["run_uuid"], client, run_name="faults")
        ids = ms.find_runs(client, EXP, tag=("lightc.run_uuid", res["run_uuid"]))
        check("f: one remote run despite the lost create answer", len(ids) == 1, ids)


def main():
    if not_built(DRIVER) or not_installed("mlflow"):
        return SKIP
    tmp = scratch("mlflow-e2e-")
    t0 = time.time()
    tests = without_data([test_train, test_c_api, test_outage, test_pending_then_sync,
                          test_kill9, test_faults], test_train)
    with ms.MlflowServer(root=os.path.join(tmp, "server"), keep=True) as srv:
        run_tests(tests, (tmp, srv, srv.client()),
                  after=lambda: None if srv.running else srv.start())
    return conclude("mlflow_e2e", tmp, t0)


if __name__ == "__main__":
    sys.exit(main())
