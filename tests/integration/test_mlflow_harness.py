"""tests/integration/test_mlflow_harness.py — checks the MLflow test harness
(tests/integration/mlflow_server.py) against the real server, so that the
C-side MLflow tests can trust it:

- a run logged with MlflowClient (params, tags, metrics with NaN/+-Inf, a
  nested artifact, FINISHED) reads back through read_run()/assert_run(), and
  metric_problems() names missing, duplicate and unexpected points;
- stop and restart on the same port keep the store; the server is reachable
  at the same URI and accepts more logging;
- the basic-auth variant, started and stopped through the CLI as a shell test
  would: no or wrong password gives 401, the admin's and a created user's
  give 200, and MlflowClient logs and reads a run with the admin's.

Exit code 77 (ctest: skipped) when the venv has no mlflow.
"""
import math
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import mlflow  # noqa: F401
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException
except ImportError as e:  # pragma: no cover - depends on the venv
    print("skip: mlflow not importable here (%s); run scripts/setup --python" % e)
    sys.exit(77)

import mlflow_server as ms  # noqa: E402

CLI = os.path.join(HERE, "mlflow_server.py")
KEYS = ["train/loss", "val/acc", "lr-Adam"]
STEPS = 30


def value(k, s):
    return 1.0 / (s + 1) + 0.25 * k


def sent_points(ts0):
    pts = [(key, s, value(k, s), ts0 + s) for k, key in enumerate(KEYS) for s in range(STEPS)]
    pts += [("odd", 0, float("nan"), ts0), ("odd", 1, float("inf"), ts0),
            ("odd", 2, float("-inf"), ts0)]
    return pts


def canon(x):
    """x with NaN made comparable (NaN != NaN would fail dict equality)."""
    if isinstance(x, dict):
        return {k: canon(v) for k, v in x.items()}
    if isinstance(x, list):
        return [canon(v) for v in x]
    return "NaN" if isinstance(x, float) and math.isnan(x) else x


def log_run(client, experiment, name):
    """One run through MlflowClient; returns (run_id, points sent)."""
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(experiment)
    run = client.create_run(exp_id, run_name=name, tags={"lightc.run_uuid": "uuid-" + name})
    rid = run.info.run_id
    ts0 = int(time.time() * 1000)
    pts = sent_points(ts0)
    client.log_batch(rid, metrics=[Metric(k, v, t, s) for k, s, v, t in pts],
                     params=[Param("lr", "0.1"), Param("model/layers", "3")],
                     tags=[RunTag("team", "lightc")])
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "hparams.yaml")
        with open(p, "w") as f:
            f.write("lr: 0.1\n")
        client.log_artifact(rid, p, artifact_path="config/nested")
    client.set_terminated(rid, "FINISHED")
    return rid, pts


class PlainServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = ms.MlflowServer()
        cls.srv.start()
        print("plain server up in %.1f s (mlflow %s)" % (cls.srv.startup_seconds, cls.srv.version))

    @classmethod
    def tearDownClass(cls):
        root, pgid = cls.srv.root, cls.srv.pgid
        cls.srv.close()
        assert not ms._group_alive(pgid), "server processes left behind"
        assert not os.path.exists(root), "temp dir left behind"

    def test_run_round_trip_and_restart(self):
        srv = self.srv
        self.assertEqual(srv.version, mlflow.__version__)
        client = srv.client()
        rid, pts = log_run(client, "harness", "r1")
        run = ms.read_run(client, rid)
        ms.assert_run(run, status="FINISHED",
                      params={"lr": "0.1", "model/layers": 3},
                      tags={"team": "lightc", "mlflow.runName": "r1", "lightc.run_uuid": "uuid-r1"},
                      artifacts={"config/nested/hparams.yaml": 8}, metrics=pts)
        self.assertEqual(run["points"], len(pts))
        self.assertEqual(run["experiment_name"], "harness")
        self.assertTrue(run["artifact_uri"].startswith("mlflow-artifacts:/"))
        self.assertTrue(math.isnan(run["metrics"]["odd"][0]["value"]))
        self.assertEqual(run["metrics"]["odd"][1]["value"], ms.MAX_DOUBLE)
        self.assertEqual(run["metrics"]["odd"][2]["value"], -ms.MAX_DOUBLE)
        self.assertEqual(ms.find_runs(client, "harness", tag=("lightc.run_uuid", "uuid-r1")), [rid])
        self.assertEqual(ms.find_runs(client, "harness", run_name="r1"), [rid])
        self.assertEqual(ms.count_points(client, rid), len(pts))

        # The checker names what is wrong: a second row for a point (another
        # timestamp, as a careless retry makes), a point never sent, a lost one.
        k0, s0, v0, t0 = pts[0]
        client.log_batch(rid, metrics=[Metric(k0, v0, t0 + 999, s0), Metric("stray", 1.0, t0, 7)])
        bad = ms.read_run(client, rid, artifacts=False)
        self.assertIn("missing %s step %d" % (k0, s0),
                      "\n".join(ms.metric_problems(bad, pts + [(k0, s0, 42.0)])))
        text = "\n".join(ms.metric_problems(bad, pts))
        self.assertIn("duplicate %s step %d" % (k0, s0), text)
        self.assertIn("unexpected stray step 7", text)
        self.assertEqual(ms.metric_problems(bad, pts + [(k0, s0, v0), ("stray", 7, 1.0)]), [])
        with self.assertRaises(AssertionError):
            ms.assert_metrics_exactly(bad, pts)

        # Restart on the same port: same URI, same data, still writable.
        uri, port, old_pgid = srv.uri, srv.port, srv.pgid
        t = time.time()
        srv.restart(delay=1)
        print("restart (stop, 1 s, start) %.1f s" % (time.time() - t))
        self.assertEqual((srv.uri, srv.port), (uri, port))
        self.assertNotEqual(srv.pgid, old_pgid)
        self.assertFalse(ms._group_alive(old_pgid))
        client = srv.client()
        again = ms.read_run(client, rid)
        self.assertEqual(canon(again), canon(bad | {"artifacts": again["artifacts"]}))
        self.assertEqual(again["artifacts"], run["artifacts"])
        rid2, pts2 = log_run(client, "harness", "r2")
        ms.assert_run(ms.read_run(client, rid2), status="FINISHED", metrics=pts2)


class AuthServer(unittest.TestCase):
    """Started and stopped through the CLI, as shell tests do."""

    @classmethod
    def setUpClass(cls):
        base = os.environ.get("LC_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="mlflow-auth-", dir=base)
        t = time.time()
        out = subprocess.run([sys.executable, CLI, "start", "--dir", cls.dir, "--auth"],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise AssertionError("CLI start failed:\n%s%s" % (out.stdout, out.stderr))
        print("auth server up through the CLI in %.1f s" % (time.time() - t))
        cls.env = dict(line.split("=", 1) for line in out.stdout.split())
        cls.srv = ms.MlflowServer.attach(cls.dir)

    @classmethod
    def tearDownClass(cls):
        pgid = cls.srv.pgid
        out = subprocess.run([sys.executable, CLI, "stop", "--dir", cls.dir],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert not ms._group_alive(pgid), "server processes left behind"
        import shutil
        if not os.environ.get("LC_KEEP_TMP"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def test_cli_env(self):
        srv = self.srv
        self.assertTrue(srv.running)
        self.assertEqual(self.env["MLFLOW_TRACKING_URI"], srv.uri)
        self.assertEqual(self.env["MLFLOW_TRACKING_USERNAME"], "admin")
        self.assertEqual(self.env["MLFLOW_TRACKING_PASSWORD"], srv.password)
        self.assertGreaterEqual(len(srv.password), 12)
        self.assertEqual(srv.env(), {k: self.env[k] for k in srv.env()})

    def test_basic_auth(self):
        srv = self.srv
        path = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
        self.assertEqual(srv.request("GET", path, auth=False)[0], 401)
        self.assertEqual(srv.request("GET", path, auth=("admin", "wrong-password-123"))[0], 401)
        st, body = srv.request("GET", path)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["experiment"]["experiment_id"], "0")
        self.assertEqual(srv.request("GET", "/health", auth=False)[0], 200)

        user = srv.create_user("alice", "alice-password-1234")
        self.assertEqual(srv.request("GET", path, auth=user)[0], 200)
        self.assertEqual(srv.request("GET", path, auth=("alice", "nope-nope-nope"))[0], 401)

        # MlflowClient: a wrong password is refused (no retries on 401) ...
        bad = srv.client(password="wrong-password-123")
        with self.assertRaises(MlflowException) as cm:
            bad.get_experiment_by_name("Default")
        self.assertIn("401", str(cm.exception))
        # ... the admin's logs and reads a whole run.
        client = srv.client()
        rid, pts = log_run(client, "auth-harness", "a1")
        ms.assert_run(ms.read_run(client, rid), status="FINISHED", metrics=pts,
                      params={"lr": "0.1", "model/layers": "3"})


if __name__ == "__main__":
    t0 = time.time()
    prog = unittest.main(exit=False, verbosity=2)
    print("mlflow harness tests: %.1f s" % (time.time() - t0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)
