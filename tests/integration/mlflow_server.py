"""tests/integration/mlflow_server.py — a real `mlflow server` on 127.0.0.1
for the MLflow integration tests and benchmarks, and helpers that read a run
back with MlflowClient as plain dicts.

  with MlflowServer() as srv:              # free port, SQLite store, artifact proxy
      env = dict(os.environ, **srv.env())  # MLFLOW_TRACKING_URI (+ credentials)
      ...run lightc...
      srv.restart(delay=20)                # same port, same store (outage test)
      run = read_run(srv.client(), run_id)
      assert_metrics_exactly(run, expected_points)

  with MlflowServer(auth=True) as srv:     # `--app-name basic-auth`
      srv.username, srv.password           # the admin user, made at first start

Shell tests use the CLI (state kept in DIR/server.json, so a later `stop` or
`start` in another process finds the same server, port and store):

  python mlflow_server.py start --dir DIR [--auth] [--port P]   # prints KEY=VALUE lines
  python mlflow_server.py stop  --dir DIR [--hard]
  python mlflow_server.py read  --dir DIR RUN_ID                 # read_run() as JSON

The server runs from this venv (sys.executable), with one uvicorn worker,
MLflow's job runner and telemetry off; it is its own process group, and stop()
ends the whole group. Nothing here touches anything but 127.0.0.1.
"""
import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# The tests (and the MlflowClient in this process) talk to 127.0.0.1 only:
# no telemetry, no proxy for loopback.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
for _v in ("NO_PROXY", "no_proxy"):
    _cur = os.environ.get(_v, "")
    if "127.0.0.1" not in _cur.split(","):
        os.environ[_v] = ",".join(x for x in (_cur, "127.0.0.1", "localhost") if x)

HOST = "127.0.0.1"
STATE_FILE = "server.json"
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def _group_alive(pgid):
    """Whether a process of group pgid is still running. Zombies do not
    count: a server started by one process and stopped by another (the CLI)
    leaves its leader a zombie until the starter reaps it."""
    if os.path.isdir("/proc/self"):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid, "rb") as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rindex(b")") + 2:].split()  # state ppid pgrp ...
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
        return False
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class ServerError(RuntimeError):
    """The server did not start (the message carries its log tail)."""


# ---- the server --------------------------------------------------------------

class MlflowServer:
    """One `mlflow server` with a SQLite store and the artifact proxy.

    root: the directory for the store, the artifacts, the log and the state
      (default: a fresh temp dir under $LC_TEST_TMP or the system's, removed
      by close() unless keep=True).
    port: default a free one; kept across stop()/start(), so clients see the
      same URI after an outage.
    auth: run `--app-name basic-auth`; the admin user gets a random password
      (MLflow 3 ships none and wants >= 12 characters): srv.username/password.
    """

    def __init__(self, root=None, port=None, auth=False, workers=1,
                 startup_timeout=120.0, keep=False, extra_args=()):
        self._own_root = root is None
        if root is None:
            base = os.environ.get("LC_TEST_TMP") or None
            if base:
                os.makedirs(base, exist_ok=True)
            root = tempfile.mkdtemp(prefix="mlflow-server-", dir=base)
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.port = port or free_port()
        self.auth = auth
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.keep = keep
        self.extra_args = list(extra_args)
        self.username = "admin" if auth else None
        self.password = ("lc-" + secrets.token_urlsafe(18)) if auth else None
        self.secret_key = secrets.token_hex(16) if auth else None
        self.pgid = None
        self._proc = None
        self.starts = 0
        self.version = None
        self.startup_seconds = None

    # paths and URIs
    @property
    def uri(self):
        return "http://%s:%d" % (HOST, self.port)

    @property
    def db_path(self):
        return os.path.join(self.root, "mlflow.db")

    @property
    def artifacts_dir(self):
        return os.path.join(self.root, "artifacts")

    @property
    def log_path(self):
        return os.path.join(self.root, "server.log")

    @property
    def credentials(self):
        """(username, password) of the admin user, or None without auth."""
        return (self.username, self.password) if self.auth else None

    def env(self, username=None, password=None):
        """What a child process needs to reach this server the way MLflow's own
        client does: MLFLOW_TRACKING_URI, plus MLFLOW_TRACKING_USERNAME and
        _PASSWORD (the admin's unless given) for the auth variant."""
        e = {"MLFLOW_TRACKING_URI": self.uri}
        if self.auth:
            e["MLFLOW_TRACKING_USERNAME"] = username or self.username
            e["MLFLOW_TRACKING_PASSWORD"] = password or self.password
        return e

    # lifecycle
    def _write_auth_ini(self):
        # MLFLOW_AUTH_CONFIG_PATH points here. The password is not written: it
        # goes to the server in MLFLOW_AUTH_ADMIN_PASSWORD, and only matters at
        # the first start (then the admin user lives in the auth DB).
        path = os.path.join(self.root, "basic_auth.ini")
        with open(path, "w") as f:
            f.write("[mlflow]\n"
                    "default_permission = READ\n"
                    "database_uri = sqlite:///%s\n"
                    "admin_username = %s\n"
                    "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                    % (os.path.join(self.root, "auth.db"), self.username))
        return path

    def _server_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update({
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no huey runner, no /dev/shm dirs
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONUNBUFFERED": "1",
        })
        if self.auth:
            env["MLFLOW_AUTH_CONFIG_PATH"] = self._write_auth_ini()
            env["MLFLOW_AUTH_ADMIN_USERNAME"] = self.username
            env["MLFLOW_AUTH_ADMIN_PASSWORD"] = self.password
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = self.secret_key
        return env

    def command(self):
        mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
        if os.access(mlflow_bin, os.X_OK):
            cmd = [mlflow_bin, "server"]
        else:
            cmd = [sys.executable, "-m", "mlflow", "server"]
        cmd += ["--backend-store-uri", "sqlite:///" + self.db_path,
                "--artifacts-destination", self.artifacts_dir,
                "--serve-artifacts",
                "--host", HOST, "--port", str(self.port),
                "--workers", str(self.workers)]
        if self.auth:
            cmd += ["--app-name", "basic-auth"]
        return cmd + self.extra_args

    def start(self):
        """Start the server (same port and store as before, if restarted) and
        wait until GET /health answers 200. Raises ServerError with the log
        tail if it exits or is not ready within startup_timeout."""
        if self.running:
            return self
        deadline = time.time() + 15
        while not _port_free(self.port):  # a just-stopped server's socket, or a stranger
            if time.time() > deadline:
                raise ServerError("port %d on %s is taken; cannot start mlflow server there"
                                  % (self.port, HOST))
            time.sleep(0.2)
        log = open(self.log_path, "ab")
        log.write(("\n==== start %d: %s\n" % (self.starts + 1, " ".join(self.command()))).encode())
        log.flush()
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, env=self._server_env(),
                                      cwd=self.root, start_new_session=True)
        log.close()
        self.pgid = self._proc.pid
        self.starts += 1
        self._save_state()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self):
        t0 = time.time()
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise ServerError("mlflow server exited with status %s before it was ready;"
                                  " log tail:\n%s" % (self._proc.returncode, self.log_tail()))
            try:
                with _DIRECT.open(self.uri + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.time() - t0 > self.startup_timeout:
                raise ServerError("mlflow server on %s: /health not 200 after %.0f s; log tail:\n%s"
                                  % (self.uri, self.startup_timeout, self.log_tail()))
            time.sleep(0.25)
        self.startup_seconds = time.time() - t0
        try:
            with _DIRECT.open(self.uri + "/version", timeout=5) as r:
                self.version = r.read().decode().strip()
        except (urllib.error.URLError, OSError):
            self.version = None
        self._save_state()

    @property
    def running(self):
        return self.pgid is not None and _group_alive(self.pgid)

    def stop(self, hard=False, timeout=20.0):
        """Stop the server: SIGTERM to its process group (SIGKILL with hard=True,
        like a crash), SIGKILL after `timeout` s, then wait until no process of
        the group is left. The port and the store stay for start()."""
        if self.pgid is None:
            return
        pgid = self.pgid
        try:
            os.killpg(pgid, signal.SIGKILL if hard else signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.time() + timeout
        killed = hard
        while True:
            if self._proc is not None:
                self._proc.poll()  # reap the leader when it is our child
            if not _group_alive(pgid):
                break
            if time.time() > deadline and not killed:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                killed = True
                deadline = time.time() + timeout
            elif time.time() > deadline:
                raise ServerError("mlflow server group %d survived SIGKILL" % pgid)
            time.sleep(0.05)
        if self._proc is not None:
            self._proc.wait()
        self._proc = None
        self.pgid = None
        self._save_state()

    def restart(self, delay=0.0):
        """stop(), wait `delay` seconds, start() on the same port and store."""
        self.stop()
        if delay:
            time.sleep(delay)
        return self.start()

    def freeze(self):
        """SIGSTOP the server's processes: connections hang (a stalled server)."""
        os.killpg(self.pgid, signal.SIGSTOP)

    def thaw(self):
        os.killpg(self.pgid, signal.SIGCONT)

    def close(self):
        """stop(), and remove the temp dir this object made (unless keep)."""
        try:
            self.stop()
        finally:
            if self._own_root and not self.keep and not os.environ.get("LC_KEEP_TMP"):
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    # state for the CLI (another process may stop or restart this server)
    def _save_state(self):
        st = {"uri": self.uri, "port": self.port, "pgid": self.pgid, "auth": self.auth,
              "username": self.username, "password": self.password,
              "secret_key": self.secret_key, "workers": self.workers, "version": self.version}
        path = os.path.join(self.root, STATE_FILE)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(st, f)
        os.replace(path + ".tmp", path)

    @classmethod
    def attach(cls, root):
        """The server whose state is in root/server.json (made by the CLI or by
        another MlflowServer there); start() brings it back on the same port."""
        with open(os.path.join(root, STATE_FILE)) as f:
            st = json.load(f)
        srv = cls(root=root, port=st["port"], auth=st["auth"], workers=st.get("workers", 1))
        srv._own_root = False
        if st["auth"]:
            srv.username, srv.password, srv.secret_key = st["username"], st["password"], st["secret_key"]
        srv.pgid = st["pgid"] if st["pgid"] and _group_alive(st["pgid"]) else None
        srv.version = st.get("version")
        return srv

    # clients
    def client(self, username=None, password=None):
        """An MlflowClient for this server. MlflowClient reads credentials from
        the environment at each request, so for the auth variant this sets
        MLFLOW_TRACKING_USERNAME/_PASSWORD in os.environ (the admin's unless
        given); without auth it removes them. Process-wide: the last call wins."""
        from mlflow.tracking import MlflowClient
        if self.auth:
            os.environ["MLFLOW_TRACKING_USERNAME"] = username or self.username
            os.environ["MLFLOW_TRACKING_PASSWORD"] = password or self.password
        else:
            os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
            os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
        return MlflowClient(tracking_uri=self.uri)

    def request(self, method, path, body=None, auth=None, timeout=30):
        """A raw HTTP call (no retries): returns (status, parsed JSON or text).
        auth: (user, password) for Basic, False for none, None = the admin's
        on the auth variant."""
        import base64
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.uri + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth is None and self.auth:
            auth = self.credentials
        if auth:
            tok = base64.b64encode(("%s:%s" % auth).encode()).decode()
            req.add_header("Authorization", "Basic " + tok)
        try:
            with _DIRECT.open(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def create_user(self, username, password, admin=False):
        """Auth variant: a second user through the auth REST API (non-admin,
        READ by default). Returns (username, password)."""
        st, body = self.request("POST", "/api/2.0/mlflow/users/create",
                                {"username": username, "password": password})
        if st != 200:
            raise ServerError("users/create %s: %s %s" % (username, st, body))
        if admin:
            st, body = self.request("PATCH", "/api/2.0/mlflow/users/update-admin",
                                    {"username": username, "is_admin": True})
            if st != 200:
                raise ServerError("users/update-admin %s: %s %s" % (username, st, body))
        return username, password


# ---- reading a run back ------------------------------------------------------

MAX_DOUBLE = 1.7976931348623157e308  # what the SQL store gives back for +-Inf


def _num(v):
    return float(v)


def read_run(client, run_id, artifacts=True):
    """Everything the server holds for one run, as plain dicts:

    {"run_id", "experiment_id", "experiment_name", "name", "status",
     "start_time", "end_time" (ms or None), "artifact_uri", "lifecycle_stage",
     "params": {key: value}, "tags": {key: value} (all, mlflow.* included),
     "metrics": {key: [{"step", "value", "timestamp"}, ...]}  every row of the
                history, sorted by (step, timestamp, value),
     "latest": {key: value}  (runs/get's latest_metrics),
     "points": total rows over every key,
     "artifacts": {path: size}  recursive, directories left out}
    """
    r = client.get_run(run_id)
    info, data = r.info, r.data
    exp = client.get_experiment(info.experiment_id)
    metrics = {}
    for key in sorted(data.metrics):
        hist = client.get_metric_history(run_id, key)
        metrics[key] = sorted(({"step": m.step, "value": _num(m.value), "timestamp": m.timestamp}
                               for m in hist),
                              key=lambda p: (p["step"], p["timestamp"], _sort_val(p["value"])))
    out = {
        "run_id": info.run_id, "experiment_id": info.experiment_id,
        "experiment_name": exp.name if exp else None,
        "name": info.run_name, "status": info.status,
        "start_time": info.start_time, "end_time": info.end_time,
        "artifact_uri": info.artifact_uri, "lifecycle_stage": info.lifecycle_stage,
        "params": dict(data.params), "tags": dict(data.tags),
        "metrics": metrics, "latest": {k: _num(v) for k, v in data.metrics.items()},
        "points": sum(len(v) for v in metrics.values()),
    }
    out["artifacts"] = list_artifacts(client, run_id) if artifacts else {}
    return out


def _sort_val(v):
    return (1, 0.0) if math.isnan(v) else (0, v)


def list_artifacts(client, run_id, path=None):
    """{relative path: size} for every file under the run's artifacts."""
    files = {}
    for fi in client.list_artifacts(run_id, path):
        if fi.is_dir:
            files.update(list_artifacts(client, run_id, fi.path))
        else:
            files[fi.path] = fi.file_size
    return files


def count_points(client, run_id):
    """Metric rows stored for a run (every key's full history)."""
    r = client.get_run(run_id)
    return sum(len(client.get_metric_history(run_id, k)) for k in r.data.metrics)


def find_runs(client, experiment_name, tag=None, run_name=None):
    """Run ids in an experiment (all lifecycle stages), newest first; filtered
    by tag=(key, value) (e.g. ("lightc.run_uuid", u)) and/or run name."""
    from mlflow.entities import ViewType
    exp = client.get_experiment_by_name(experiment_name)
    if exp is None:
        return []
    filters = []
    if tag:
        filters.append("tags.`%s` = '%s'" % (tag[0], tag[1].replace("'", "\\'")))
    if run_name:
        filters.append("attributes.run_name = '%s'" % run_name.replace("'", "\\'"))
    runs = client.search_runs([exp.experiment_id], " and ".join(filters),
                              run_view_type=ViewType.ALL, max_results=50000,
                              order_by=["attributes.start_time DESC"])
    return [r.info.run_id for r in runs]


def _same_value(a, b):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a):
        a = math.copysign(MAX_DOUBLE, a)
    if math.isinf(b):
        b = math.copysign(MAX_DOUBLE, b)
    return a == b


def metric_problems(run, expected, exact_keys=True):
    """Compare a read_run() result with the points that were sent.

    expected: iterable of (key, step, value) or (key, step, value, timestamp_ms)
      (timestamp None or absent = any); NaN matches NaN, +-Inf matches the
      +-1.7976931348623157e308 the store gives back.
    Every expected point must be stored exactly once: a missing point, a
    second row for the same point (a retry that changed the timestamp), or a
    row nobody sent is a problem. exact_keys=False ignores keys not in
    expected (e.g. system metrics). Returns a list of strings (empty = OK)."""
    want = {}
    for p in expected:
        key, step, value = p[0], int(p[1]), p[2]
        ts = p[3] if len(p) > 3 else None
        want.setdefault((key, step), []).append((value, ts))
    have = {}
    for key, pts in run["metrics"].items():
        for p in pts:
            have.setdefault((key, p["step"]), []).append((p["value"], p["timestamp"]))
    problems = []
    keys = set(want) | (set(have) if exact_keys else set(k for k in have if k in want))
    for ks in sorted(keys, key=lambda k: (k[0], k[1])):
        w, h = list(want.get(ks, [])), list(have.get(ks, []))
        unmatched = []
        for val, ts in w:
            for i, (hv, hts) in enumerate(h):
                if _same_value(val, hv) and (ts is None or int(ts) == int(hts)):
                    del h[i]
                    break
            else:
                unmatched.append((val, ts))
        for val, ts in unmatched:
            problems.append("missing %s step %d value %r%s" % (
                ks[0], ks[1], val, "" if ts is None else " ts %d" % ts))
        for hv, hts in h:
            dup = any(_same_value(hv, v) for v, _ in w)
            problems.append("%s %s step %d value %r ts %d" % (
                "duplicate" if dup else "unexpected", ks[0], ks[1], hv, hts))
    return problems


def assert_metrics_exactly(run, expected, exact_keys=True, limit=20):
    """AssertionError listing (up to `limit`) problems from metric_problems()."""
    problems = metric_problems(run, expected, exact_keys)
    if problems:
        more = "" if len(problems) <= limit else "\n... and %d more" % (len(problems) - limit)
        raise AssertionError("run %s: %d metric problem(s):\n%s%s" % (
            run["run_id"], len(problems), "\n".join(problems[:limit]), more))


def assert_run(run, status=None, params=None, tags=None, artifacts=None, metrics=None):
    """One call for a C-side test: status ("FINISHED", ...; end_time then set),
    params == given dict exactly, tags ⊇ given dict, artifacts: the given paths
    (or {path: size}) all present, metrics: expected points exactly once."""
    errs = []
    if status is not None:
        if run["status"] != status:
            errs.append("status %s, want %s" % (run["status"], status))
        if status != "RUNNING" and not run["end_time"]:
            errs.append("status %s but no end_time" % run["status"])
    if params is not None and run["params"] != {k: str(v) for k, v in params.items()}:
        errs.append("params %r, want %r" % (run["params"], params))
    if tags is not None:
        for k, v in tags.items():
            if run["tags"].get(k) != str(v):
                errs.append("tag %s = %r, want %r" % (k, run["tags"].get(k), v))
    if artifacts is not None:
        for path in artifacts:
            if path not in run["artifacts"]:
                errs.append("artifact %s missing (have %s)" % (path, sorted(run["artifacts"])))
            elif isinstance(artifacts, dict) and artifacts[path] is not None \
                    and run["artifacts"][path] != artifacts[path]:
                errs.append("artifact %s size %s, want %s" % (path, run["artifacts"][path],
                                                               artifacts[path]))
    if metrics is not None:
        errs += metric_problems(run, metrics)
    if errs:
        raise AssertionError("run %s:\n%s" % (run["run_id"], "\n".join(errs[:40])))


# ---- CLI for shell tests -----------------------------------------------------

def _main(argv=None):
    ap = argparse.ArgumentParser(description="a real mlflow server on 127.0.0.1 for tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start (or restart on the same port and store) and wait for /health")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int)
    p.add_argument("--auth", action="store_true")
    p.add_argument("--timeout", type=float, default=120.0)
    p = sub.add_parser("stop", help="stop the server whose state is in DIR (its process group)")
    p.add_argument("--dir", required=True)
    p.add_argument("--hard", action="store_true", help="SIGKILL, like a crash")
    p = sub.add_parser("read", help="print read_run() for RUN_ID as JSON")
    p.add_argument("--dir", required=True)
    p.add_argument("run_id")
    a = ap.parse_args(argv)

    state = os.path.join(a.dir, STATE_FILE)
    if a.cmd == "start":
        if os.path.exists(state):
            srv = MlflowServer.attach(a.dir)
            if a.auth != srv.auth or (a.port and a.port != srv.port):
                ap.error("%s holds a server with other settings" % a.dir)
        else:
            srv = MlflowServer(root=a.dir, port=a.port, auth=a.auth)
        srv.startup_timeout = a.timeout
        try:
            srv.start()
        except ServerError as e:
            print("mlflow_server: %s" % e, file=sys.stderr)
            return 1
        for k, v in srv.env().items():
            print("%s=%s" % (k, v))
        print("LC_MLFLOW_PGID=%d" % srv.pgid)
        print("LC_MLFLOW_PORT=%d" % srv.port)
        print("LC_MLFLOW_DIR=%s" % srv.root)
        return 0
    if not os.path.exists(state):
        print("mlflow_server: no server state in %s" % a.dir, file=sys.stderr)
        return 1
    srv = MlflowServer.attach(a.dir)
    if a.cmd == "stop":
        srv.stop(hard=a.hard)
        return 0
    if a.cmd == "read":
        print(json.dumps(read_run(srv.client(), a.run_id), indent=1, sort_keys=True))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(_main())
