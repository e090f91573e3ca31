"""tests/integration/test_mlflow_e2e_auth.py — issue 8's acceptance, auth
and secrets, against `mlflow server --app-name basic-auth` (its own server:
mlflow_server.py's auth=True):

g. a wrong password: `lightc train --loggers ...,mlflow` says so clearly
   (401, the variables to set, never the password), loses nothing, and the
   delivery is `failed` with what to do; `lightc sync` with the right
   password delivers every point once.
h. planted secrets (the wrong and the right password, and a token in
   MLFLOW_TRACKING_TOKEN, which Basic auth wins over) never appear in any
   file under the run root (index, WAL, event files, csv, yaml,
   checkpoints) nor in any output of the test's processes.
"""
import os
import secrets
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlflow_e2e_common as c  # noqa: E402
import remote_common as rc  # noqa: E402
from mlflow_e2e_common import check, ms  # noqa: E402


def grep_tree(root, needles):
    hits = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data:
                    hits.append((p, n[:6] + "..."))
    return hits


def test_auth(tmp, srv, client):
    root = os.path.join(tmp, "runs")
    wrong = "lc-wrong-" + secrets.token_urlsafe(12)
    token = "lc-token-" + secrets.token_urlsafe(12)
    planted = [wrong, token, srv.password]
    env = c.base_env(MLFLOW_TRACKING_URI=srv.uri, MLFLOW_TRACKING_USERNAME=srv.username,
                     MLFLOW_TRACKING_PASSWORD=wrong, MLFLOW_TRACKING_TOKEN=token,
                     LIGHTC_SYNC_TIMEOUT=20)
    if os.path.exists(os.path.join(c.DATA, "train-images-idx3-ubyte.gz")):
        p = c.run([c.LIGHTC, "train", "--root", root, "--name", "auth", "--max-epochs", "1",
                   "--limit-train-batches", "10", "--limit-val-batches", "2",
                   "--limit-test-batches", "2", "--log-every-n-steps", "2",
                   "--no-model-summary", "--loggers", "sqlite,tensorboard,csv,mlflow"], env)
        exp, name, points_min = "fashion-mnist", "auth", 10
    else:  # no data set: the C API
        p = c.run([c.DRIVER, "--root", root, "--points", "2000", "--run-name", "auth"], env)
        exp, name, points_min = "lightc-bench", "auth", 2000
    err = p.stderr
    check("g: 401 said clearly", "401" in err and "MLFLOW_TRACKING_USERNAME" in err and
          "delivery failed" in err and "lightc sync" in err, err[-2000:])
    uuid = c.run_uuid(root, exp, name)
    d = c.delivery(root, uuid)
    check("g: delivery failed", d.get("state") == "failed", d)
    check("g: last_error says what to do", "401" in (d.get("last_error") or ""), d)
    pts = c.index_points(root, uuid)
    check("g: nothing lost: the points are in the index", len(pts) >= points_min, len(pts))
    p = c.lightc(["runs", "show", uuid[:8]], root, env)
    check("g: runs show failed with what to do", "failed: " in p.stdout and
          "lightc sync" in p.stdout, p.stdout[-1500:])
    p = c.lightc(["runs", "ls"], root, env)
    check("g: runs ls marks it", uuid[:8] + "*" in p.stdout, p.stdout)
    p = c.lightc(["sync"], root, env)
    check("g: sync with the wrong password still fails", p.returncode == 1 and "401" in p.stdout,
          (p.returncode, p.stdout, p.stderr))

    env["MLFLOW_TRACKING_PASSWORD"] = srv.password
    p = c.lightc(["sync"], root, env)
    check("g: sync with the right password delivers", p.returncode == 0 and
          "delivered" in p.stdout, (p.returncode, p.stdout, p.stderr))
    c.compare_run("g", root, uuid, client, run_name=name)
    p = c.lightc(["sync"], root, env)
    check("g: a second sync sends nothing", p.returncode == 0 and "nothing to sync" in p.stdout,
          (p.returncode, p.stdout, p.stderr))
    c.lightc(["runs", "show", uuid[:8]], root, env)
    c.lightc(["runs", "export", uuid[:8], "--format", "json"], root, env)

    # h: the planted secrets, everywhere
    hits = grep_tree(root, planted)
    check("h: no secret in any file under the root", not hits, hits)
    out_hits = [n[:6] for n in planted for o in c.outputs if n in o]
    check("h: no secret in any output", not out_hits, out_hits)


def main():
    if rc.not_built(c.DRIVER) or rc.not_installed("mlflow"):
        return c.SKIP
    tmp = rc.scratch("mlflow-e2e-auth-")
    t0 = time.time()
    with ms.MlflowServer(root=os.path.join(tmp, "server"), auth=True, keep=True) as srv:
        try:
            test_auth(tmp, srv, srv.client())
        except Exception:
            check("auth: no exception", False, traceback.format_exc())
    return rc.conclude("mlflow_e2e_auth", tmp, t0)


if __name__ == "__main__":
    sys.exit(main())
