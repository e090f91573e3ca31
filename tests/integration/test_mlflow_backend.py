"""tests/integration/test_mlflow_backend.py — the MLflow backend
(loggers/remote/mlflow/) against a real `mlflow server`, driven directly
through remote.h by tests/helpers/mlflow_ship.c, and read back with
MlflowClient (issue 8, "The MLflow backend").

One server per file (its start is the slow part): SQLite store, artifact
proxy, 127.0.0.1 on a free port. A small token-checking proxy in front of
it gives 401s and rewrites artifact URIs. Checks:
- params (one 7000 characters long, cut to 6000), tags, metrics with NaN,
  +Inf, -Inf and a step beyond 2^53, 2500 points over several batches and
  ship calls, a text, an artifact file and the end: every metric key,
  step, value and timestamp exactly once, params, tags (standard ones too),
  artifacts' bytes, status and end time;
- a second open with the same run uuid finds the same run, and shipping
  the same items again leaves every point once; an open with nothing to
  send leaves an ended run's status alone;
- a changed param value is LC_ERR_INVALID naming the param;
- crashed -> FAILED, killed -> KILLED;
- a file:/sqlite: URI is refused with the "not a tracking server" message;
- a refused token is LC_ERR_AUTH, and the token never shows; the right one
  through the proxy works;
- a run whose artifact root is not the proxy skips artifacts with a warning;
- a lost runs/create answer, lost log-batch answers, 500, 503, 429 and
  resets: one run, every point once.
"""
import http.client
import http.server
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

SKIP = 77
BUILD = os.environ.get("LC_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SHIP = os.path.join(BUILD, "tests", "helpers", "mlflow_ship")
VENV = os.environ.get("LC_VENV") or os.path.join(BUILD, "venv")
MLFLOW = os.path.join(VENV, "bin", "mlflow")

failures = []
checks = 0


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(name)
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# loopback only: no proxy for 127.0.0.1 (libcurl and urllib), no telemetry
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
for _v in ("NO_PROXY", "no_proxy"):
    _cur = os.environ.get(_v, "")
    if "127.0.0.1" not in _cur.split(","):
        os.environ[_v] = ",".join(x for x in (_cur, "127.0.0.1", "localhost") if x)

try:  # the shared harness (tests/integration/mlflow_server.py), once it is there
    from mlflow_server import MlflowServer
except ImportError:
    MlflowServer = None


def start_server(tmp):
    if MlflowServer is not None:
        srv = MlflowServer(root=os.path.join(tmp, "server"), keep=True)
        srv.start()
        return srv, srv.uri
    port = free_port()
    log = open(os.path.join(tmp, "server.log"), "wb")
    p = subprocess.Popen([MLFLOW, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
                          "--artifacts-destination", os.path.join(tmp, "artifacts"),
                          "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 240
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"mlflow server exited {p.returncode}; see {tmp}/server.log")
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                if r.status == 200:
                    return p, uri
        except Exception:
            time.sleep(0.5)
    p.kill()
    raise RuntimeError("mlflow server did not become healthy in 240 s")


def stop_server(p):
    if MlflowServer is not None and isinstance(p, MlflowServer):
        p.close()
        return
    # the server runs workers in its own session: stop the whole group
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------
# a proxy that checks a Bearer token and can rewrite artifact URIs

class Proxy:
    def __init__(self, upstream, token, rewrite_artifacts=False, faults=None):
        # faults: {path suffix: [action, ...]} consumed one per matching
        # request: "lose" (forward, then close without answering: the server
        # applied it), "500", "503", "429" (with Retry-After: 1), "reset"
        # (close before forwarding)
        self.faults = {k: list(v) for k, v in (faults or {}).items()}
        self.hits = {}
        lock = threading.Lock()
        host, port = upstream.split("//")[1].split(":")
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                outer.auth_seen.append(self.headers.get("Authorization"))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    msg = b'{"error_code": "UNAUTHENTICATED", "message": "bad token"}'
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                path = self.path.split("?")[0]
                action = None
                with lock:
                    outer.hits[path] = outer.hits.get(path, 0) + 1
                    for suffix, acts in outer.faults.items():
                        if suffix in path and acts:
                            action = acts.pop(0)
                            break
                if action == "reset":
                    self.close_connection = True
                    return
                if action in ("500", "503", "429"):
                    msg = b'{"error_code": "INTERNAL_ERROR", "message": "injected"}'
                    self.send_response(int(action))
                    if action == "429":
                        self.send_header("Retry-After", "1")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("content-type", "content-length")}
                c.request(self.command, self.path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                if action == "lose":
                    c.close()
                    self.close_connection = True
                    return
                if rewrite_artifacts:
                    data = data.replace(b"mlflow-artifacts:/", b"s3://nowhere/")
                self.send_response(r.status)
                self.send_header("Content-Type", r.getheader("Content-Type") or "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                c.close()

            do_GET = do_POST = do_PUT = handle_any

        self.auth_seen = []
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.uri = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()


# ---------------------------------------------------------------------------

def ship(tmp, spec, env):
    path = os.path.join(tmp, f"spec-{time.monotonic_ns()}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    e = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    e.update(env)
    p = subprocess.run([SHIP, path], capture_output=True, text=True, env=e, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"mlflow_ship failed {p.returncode}: {p.stderr}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["stderr"] = p.stderr
    out["stdout"] = p.stdout
    return out


def ms(t):
    return int(math.floor(t * 1000 + 0.5))


BIG_STEP = 2**53 + 1
T0 = 1700000000.0


def full_items(tmp):
    art = os.path.join(tmp, "model.ckpt")
    with open(art, "wb") as f:
        f.write(bytes(range(256)) * 40)
    items = [
        {"kind": "param", "key": "lr", "text": "0.001"},
        {"kind": "param", "key": "model/hidden", "text": "128"},
        {"kind": "param", "key": "long", "text": "é" * 7000},
        {"kind": "tag", "key": "team", "text": "vision"},
        {"kind": "metric", "key": "odd", "value": "NaN", "step": 1, "wall_time": T0 + 0.001},
        {"kind": "metric", "key": "odd", "value": "Infinity", "step": 2, "wall_time": T0 + 0.002},
        {"kind": "metric", "key": "odd", "value": "-Infinity", "step": 3, "wall_time": T0 + 0.003},
        {"kind": "metric", "key": "odd", "value": 0.1, "step": str(BIG_STEP), "wall_time": T0 + 0.004},
    ]
    for i in range(2500):
        items.append({"kind": "metric", "key": "train/loss", "value": 1.0 / (i + 1) + 1e-17 * i,
                      "step": i, "wall_time": T0 + 10 + i * 0.001, "rec": i})
        if i % 1000 == 500:
            items.append({"kind": "tag", "key": "phase", "text": f"p{i}"})
    items += [
        {"kind": "text", "key": "notes", "text": "line one\nline two", "step": 7,
         "wall_time": T0 + 20},
        {"kind": "artifact", "key": "checkpoints/epoch=1-step=10.ckpt", "text": art},
        {"kind": "artifact", "key": "checkpoints/pruned.ckpt", "text": os.path.join(tmp, "gone")},
        {"kind": "artifact", "key": "checkpoints/pruned2.ckpt", "text": os.path.join(tmp, "gone2")},
        {"kind": "end", "status": "finished", "wall_time": T0 + 100.25},
    ]
    return items


def expected_points(items):
    pts = {}
    for it in items:
        if it["kind"] == "metric":
            v = it["value"]
            v = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
            pts.setdefault(it["key"], []).append((int(it["step"]), v, ms(it["wall_time"])))
    return pts


def same_value(a, b):
    if math.isnan(b):
        return math.isnan(a)
    if math.isinf(b):
        return abs(a) >= 1.7976931348623157e308 and (a > 0) == (b > 0)
    return a == b


def check_points(client, run_id, items, label):
    for key, want in expected_points(items).items():
        got = client.get_metric_history(run_id, key)
        got = sorted((m.step, m.value, m.timestamp) for m in got)
        want = sorted(want, key=lambda p: (p[0], p[2]))
        ok = len(got) == len(want) and all(
            g[0] == w[0] and g[2] == w[2] and same_value(g[1], w[1]) for g, w in zip(got, want))
        check(f"{label}: metric {key} exactly once", ok,
              f"{len(got)} points back, {len(want)} sent; first diff "
              f"{next(((g, w) for g, w in zip(got, want) if g != w), None)}")


def test_full(ctx):
    from mlflow import MlflowClient
    tmp, uri = ctx["tmp"], ctx["uri"]
    items = full_items(tmp)
    uuid = "a" * 32
    spec = {"run": {"run_uuid": uuid, "experiment": "lightc-it", "name": "version_0",
                    "start_time": T0, "tags": ["lightc.git.commit", "c0ffee", "lightc.argv",
                                               "/x/lightc train --max-epochs 1", "user.tag", "u"]},
            "items": items, "chunk": 700}
    out = ship(tmp, spec, {"MLFLOW_TRACKING_URI": uri})
    check("ship ok", out["open_status"] == "LC_OK" and out["ship_status"] == "LC_OK", out)
    check("all delivered", out["done"] == len(items), out)
    check("several ship calls", out["calls"] >= 4, out)
    check("the cut param is reported once", out["stderr"].count("longer than the 6000") == 1,
          out["stderr"])
    check("the first pruned checkpoint is reported", "pruned.ckpt" in out["stderr"], out["stderr"])
    check("... the next only counted", "pruned2.ckpt" not in out["stderr"] and
          "2 artifact(s) and 0 text(s)" in out["stderr"], out["stderr"])
    rid = out["remote_id"]
    client = MlflowClient(uri)
    run = client.get_run(rid)
    exp = client.get_experiment_by_name("lightc-it")
    check("experiment created", exp is not None and run.info.experiment_id == exp.experiment_id)
    check("remote url", out["remote_url"] == f"{uri}/#/experiments/{exp.experiment_id}/runs/{rid}",
          out["remote_url"])
    check("status FINISHED", run.info.status == "FINISHED", run.info.status)
    check("start time", run.info.start_time == ms(T0), run.info.start_time)
    check("end time", run.info.end_time == ms(T0 + 100.25), run.info.end_time)
    check("run name", run.info.run_name == "version_0", run.info.run_name)
    p = run.data.params
    check("params", p.get("lr") == "0.001" and p.get("model/hidden") == "128", p)
    check("long param cut to 6000 characters", p.get("long") == "é" * 6000, len(p.get("long", "")))
    t = run.data.tags
    for k, v in [("team", "vision"), ("phase", "p1500"), ("user.tag", "u"),
                 ("lightc.run_uuid", uuid), ("mlflow.runName", "version_0"),
                 ("mlflow.source.type", "LOCAL"), ("mlflow.source.name", "/x/lightc"),
                 ("mlflow.source.git.commit", "c0ffee")]:
        check(f"tag {k}", t.get(k) == v, t.get(k))
    check("tag mlflow.user", bool(t.get("mlflow.user")), t)
    check_points(client, rid, items, "first ship")
    d = client.download_artifacts(rid, "checkpoints/epoch=1-step=10.ckpt", os.path.join(tmp, "dl"))
    with open(d, "rb") as f:
        check("artifact bytes", f.read() == bytes(range(256)) * 40)
    d = client.download_artifacts(rid, "text/notes/step-7.txt", os.path.join(tmp, "dl"))
    with open(d) as f:
        check("text artifact", f.read() == "line one\nline two")
    names = [f.path for f in client.list_artifacts(rid, "checkpoints")]
    check("only the existing checkpoint", names == ["checkpoints/epoch=1-step=10.ckpt"], names)

    # the same uuid again: the same run, and the same items stay exactly once
    again = ship(tmp, spec, {"MLFLOW_TRACKING_URI": uri})
    check("reopen finds the same run", again["remote_id"] == rid, again)
    check("reship ok", again["ship_status"] == "LC_OK", again)
    spec2 = dict(spec, chunk=0)
    spec2["run"] = dict(spec["run"], remote_id=rid)
    again = ship(tmp, spec2, {"MLFLOW_TRACKING_URI": uri})
    check("continue by remote id", again["remote_id"] == rid and again["ship_status"] == "LC_OK",
          again)
    runs = client.search_runs([exp.experiment_id], f"tags.`lightc.run_uuid` = '{uuid}'")
    check("no duplicate run", len(runs) == 1, len(runs))
    idle = dict(spec2, items=[])
    again = ship(tmp, idle, {"MLFLOW_TRACKING_URI": uri})
    check("an open with nothing to send", again["open_status"] == "LC_OK", again)
    check("... leaves the ended run FINISHED", client.get_run(rid).info.status == "FINISHED")
    check_points(client, rid, items, "after reships")

    # a changed param
    bad = dict(spec, items=[{"kind": "metric", "key": "x", "value": 1, "step": 0,
                             "wall_time": T0},
                            {"kind": "param", "key": "lr", "text": "0.5"}])
    out = ship(tmp, bad, {"MLFLOW_TRACKING_URI": uri})
    check("changed param is LC_ERR_INVALID", out["ship_status"] == "LC_ERR_INVALID", out)
    check("the message names the param", "'lr'" in out["message"] and "0.5" in out["message"],
          out["message"])
    check("done is the prefix before the batch", out["done"] == 0, out)

    # crashed -> FAILED, killed -> KILLED; MLFLOW_RUN_ID continues a run
    for st, want, u in [("crashed", "FAILED", "b" * 32), ("killed", "KILLED", "c" * 32)]:
        s = {"run": {"run_uuid": u, "experiment": "lightc-it", "name": st, "start_time": T0},
             "items": [{"kind": "end", "status": st, "wall_time": T0 + 1}]}
        o = ship(tmp, s, {"MLFLOW_TRACKING_URI": uri})
        check(f"{st} shipped", o["ship_status"] == "LC_OK", o)
        check(f"{st} -> {want}", client.get_run(o["remote_id"]).info.status == want)
    s = {"run": {"run_uuid": "d" * 32, "experiment": "ignored", "name": "x", "start_time": T0},
         "items": [{"kind": "metric", "key": "resumed", "value": 2, "step": 5,
                    "wall_time": T0 + 3}]}
    o = ship(tmp, s, {"MLFLOW_TRACKING_URI": uri, "MLFLOW_RUN_ID": rid})
    check("MLFLOW_RUN_ID continues", o["remote_id"] == rid and o["ship_status"] == "LC_OK", o)
    check("resume sets RUNNING", client.get_run(rid).info.status == "RUNNING")
    s = {"run": {"run_uuid": "e" * 32, "experiment": "ignored", "name": "x", "start_time": T0},
         "items": [], "open_only": True}
    o = ship(tmp, s, {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "from-env"})
    e2 = client.get_experiment_by_name("from-env")
    check("MLFLOW_EXPERIMENT_NAME", e2 is not None and
          client.get_run(o["remote_id"]).info.experiment_id == e2.experiment_id, o)


def test_uri_schemes(ctx):
    s = {"run": {"run_uuid": "f" * 32, "experiment": "x", "name": "x", "start_time": T0},
         "items": []}
    for u in ["file:///tmp/mlruns", "sqlite:///tmp/x.db", "postgresql://u@h/db", "/tmp/mlruns"]:
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": u})
        check(f"{u} refused", o["new_status"] == "LC_ERR_INVALID" and
              "is not a tracking server: start `mlflow server`" in o["message"], o)
    o = ship(ctx["tmp"], s, {})
    check("unset URI refused", o["new_status"] == "LC_ERR_INVALID" and
          "MLFLOW_TRACKING_URI is not set" in o["message"], o)
    o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": "http://127.0.0.1:1",
                             "MLFLOW_TRACKING_INSECURE_TLS": "true",
                             "MLFLOW_TRACKING_SERVER_CERT_PATH": "/etc/ssl/certs/ca-certificates.crt"})
    check("insecure + cert refused", o["new_status"] == "LC_ERR_INVALID", o)


def test_auth(ctx):
    secret = "PLANTED-tok-3141592653"
    proxy = Proxy(ctx["uri"], "right-token")
    try:
        s = {"run": {"run_uuid": "1" * 32, "experiment": "auth", "name": "x", "start_time": T0},
             "items": [{"kind": "metric", "key": "m", "value": 1, "step": 1, "wall_time": T0}]}
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": proxy.uri, "MLFLOW_TRACKING_TOKEN": secret,
                                 "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1"})
        check("wrong token -> LC_ERR_AUTH", o["open_status"] == "LC_ERR_AUTH", o)
        check("401 message", f"mlflow: 401 Unauthorized from {proxy.uri}" in o["message"] and
              "MLFLOW_TRACKING_TOKEN" in o["message"], o["message"])
        check("the token never shows", secret not in o["stdout"] + o["stderr"], o)
        check("the token was sent", f"Bearer {secret}" in proxy.auth_seen, proxy.auth_seen[:3])
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": proxy.uri,
                                 "MLFLOW_TRACKING_USERNAME": "admin",
                                 "MLFLOW_TRACKING_PASSWORD": secret})
        check("wrong basic -> LC_ERR_AUTH", o["open_status"] == "LC_ERR_AUTH", o)
        check("the password never shows", secret not in o["stdout"] + o["stderr"], o)
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": proxy.uri})
        check("no credentials -> LC_ERR_AUTH, says what to set",
              o["open_status"] == "LC_ERR_AUTH" and "set MLFLOW_TRACKING_TOKEN" in o["message"], o)
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": proxy.uri,
                                 "MLFLOW_TRACKING_TOKEN": "right-token"})
        check("right token works", o["ship_status"] == "LC_OK" and o["done"] == 1, o)
    finally:
        proxy.close()


def test_no_artifact_proxy(ctx):
    proxy = Proxy(ctx["uri"], "t", rewrite_artifacts=True)
    try:
        art = os.path.join(ctx["tmp"], "a.bin")
        with open(art, "wb") as f:
            f.write(b"x")
        s = {"run": {"run_uuid": "2" * 32, "experiment": "noproxy", "name": "x", "start_time": T0},
             "items": [{"kind": "artifact", "key": "a.bin", "text": art},
                       {"kind": "text", "key": "t", "text": "hi", "step": 0, "wall_time": T0},
                       {"kind": "metric", "key": "m", "value": 1, "step": 1, "wall_time": T0},
                       {"kind": "end", "status": "finished", "wall_time": T0 + 1}]}
        o = ship(ctx["tmp"], s, {"MLFLOW_TRACKING_URI": proxy.uri, "MLFLOW_TRACKING_TOKEN": "t"})
        check("artifacts skipped, run delivered", o["ship_status"] == "LC_OK" and o["done"] == 4, o)
        check("one warning naming --serve-artifacts",
              o["stderr"].count("--serve-artifacts") == 1, o["stderr"])
        check("the skips are counted", "1 artifact(s) and 1 text(s)" in o["stderr"], o["stderr"])
    finally:
        proxy.close()


def test_faults(ctx):
    """Lost answers, 5xx, 429 and resets: the same run, every point once."""
    from mlflow import MlflowClient
    faults = {"/runs/create": ["lose"],
              "/runs/log-batch": ["lose", "500", "429", "reset", "lose"],
              "/runs/update": ["lose"],
              "/mlflow-artifacts/artifacts/": ["lose"]}
    proxy = Proxy(ctx["uri"], "t", faults=faults)
    try:
        uuid = "3" * 32
        items = [{"kind": "param", "key": "p", "text": "1"}]
        items += [{"kind": "metric", "key": "f", "value": i * 0.5, "step": i,
                   "wall_time": T0 + i * 0.001} for i in range(2200)]
        art = os.path.join(ctx["tmp"], "f.bin")
        with open(art, "wb") as f:
            f.write(b"fault")
        items += [{"kind": "artifact", "key": "f.bin", "text": art},
                  {"kind": "end", "status": "finished", "wall_time": T0 + 9}]
        s = {"run": {"run_uuid": uuid, "experiment": "faults", "name": "f", "start_time": T0},
             "items": items, "chunk": 500}
        env = {"MLFLOW_TRACKING_URI": proxy.uri, "MLFLOW_TRACKING_TOKEN": "t"}
        o = ship(ctx["tmp"], s, env)
        if o["open_status"] != "LC_OK" or o["ship_status"] != "LC_OK":
            # a shipper calls again after an LC_ERR_IO; so does this test, once
            o = ship(ctx["tmp"], s, env)
        check("faults: delivered", o["ship_status"] == "LC_OK" and o["done"] == len(items), o)
        client = MlflowClient(ctx["uri"])
        exp = client.get_experiment_by_name("faults")
        runs = client.search_runs([exp.experiment_id], f"tags.`lightc.run_uuid` = '{uuid}'")
        check("faults: one run despite a lost create answer", len(runs) == 1, len(runs))
        check("faults: all injected", all(not v for v in proxy.faults.values()), proxy.faults)
        check_points(client, o["remote_id"], items, "faults")
        check("faults: FINISHED", client.get_run(o["remote_id"]).info.status == "FINISHED")
        names = [f.path for f in client.list_artifacts(o["remote_id"])]
        check("faults: artifact", names == ["f.bin"], names)
    finally:
        proxy.close()


def main():
    if not os.access(SHIP, os.X_OK):
        print(f"skip: {SHIP} not built", file=sys.stderr)
        return SKIP
    if not os.access(MLFLOW, os.X_OK):
        print(f"skip: no mlflow in {VENV} (pip install mlflow)", file=sys.stderr)
        return SKIP
    sys.path.insert(0, os.path.dirname(os.path.dirname(MLFLOW)))
    base = os.environ.get("LC_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mlflow-backend-", dir=base)
    server = None
    try:
        server, uri = start_server(tmp)
        ctx = {"tmp": tmp, "uri": uri}
        for fn in (test_uri_schemes, test_full, test_auth, test_no_artifact_proxy, test_faults):
            try:
                fn(ctx)
            except Exception:
                failures.append(f"{fn.__name__}: exception")
                traceback.print_exc()
    finally:
        if server:
            stop_server(server)
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed; files kept in {tmp}", file=sys.stderr)
        return 1
    print(f"test_mlflow_backend: all {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
