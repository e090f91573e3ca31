"""tests/integration/remote_common.py — what the remote-backend end-to-end
tests share, MLflow (mlflow_e2e_common.py) and W&B (wandb_common.py): the
build's programs, recording checks, running lightc and a C-API driver
(bench/bench_mlflow.c, bench/bench_wandb.c as tests/helpers/*_log) with
every output kept, the run index's runs and deliveries, the step log times
of a timeline, and main()'s scaffolding (skips, a scratch directory, each
test timed, the verdict). Standard library only.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
BUILD = os.path.abspath(os.environ.get("LC_BUILD_DIR") or os.path.join(HERE, "..", "..", "build"))
LIGHTC = os.path.join(BUILD, "lightc")
DATA = "/usr/share/datasets/fashion-mnist"

failures = []
checks = 0
outputs = []  # every stdout/stderr the test saw (the secrets checks grep them)


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(name)
        print("FAIL %s: %s" % (name, str(detail)[:3000]), file=sys.stderr)
    return cond


def run(cmd, env, timeout=300, **kw):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    outputs.append(p.stdout)
    outputs.append(p.stderr)
    return p


def lightc(args, root, env, timeout=300):
    return run([LIGHTC, *args, "--root", root], env, timeout)


def run_driver(program, root, env, count_opt, count, name, extra=(), timeout=300):
    """A C-API driver: `program --root root count_opt count --run-name name
    extra...`; (exit code, its last JSON line as a dict, stderr)."""
    p = run([program, "--root", root, count_opt, str(count), "--run-name", name, *extra], env,
            timeout)
    res = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    return p.returncode, res, p.stderr


def start_driver(program, root, env, count_opt, count, name, extra=()):
    """The same driver command in the background: a Popen with stdout and
    stderr piped (text); the caller waits, reads or kills it."""
    return subprocess.Popen([program, "--root", root, count_opt, str(count), "--run-name", name,
                             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def db(root):
    c = sqlite3.connect(os.path.join(root, "index.db"), timeout=30)
    c.execute("PRAGMA busy_timeout = 30000")
    return c


def run_uuid(root, experiment, name):
    with db(root) as c:
        r = c.execute("SELECT run_id FROM runs WHERE experiment = ? AND name = ?",
                      (experiment, name)).fetchone()
    return r[0] if r else None


def delivery(root, uuid, backend):
    with db(root) as c:
        r = c.execute("SELECT state, remote_id, remote_url, last_error FROM deliveries"
                      " WHERE run_id = ? AND backend = ?", (uuid, backend)).fetchone()
    return dict(zip(("state", "remote_id", "remote_url", "last_error"), r)) if r else {}


def step_windows(path, t_stop, t_back):
    """A driver's --timeline split at the outage (before/during/after);
    prints the log call times of each."""
    win = {"before": [], "during": [], "after": []}
    with open(path) as f:
        for line in f:
            t, d = map(float, line.split())
            win["before" if t < t_stop else "during" if t < t_back else "after"].append(d)
    for k, v in win.items():
        if v:
            v.sort()
            print("   step log time %-6s n=%5d  median %7.1f us  p99 %8.1f us  max %8.1f us"
                  % (k, len(v), v[len(v) // 2] * 1e6, v[int(len(v) * 0.99)] * 1e6, v[-1] * 1e6))
    return win


def finish(name):
    if failures:
        print("%s: %d of %d check(s) failed: %s" % (name, len(failures), checks,
                                                    ", ".join(failures)), file=sys.stderr)
        return 1
    print("%s: all %d checks passed" % (name, checks))
    return 0


# --- main()'s scaffolding ----------------------------------------------------

def not_built(driver):
    """True (after saying so) when lightc or the driver is not built."""
    if os.access(LIGHTC, os.X_OK) and os.access(driver, os.X_OK):
        return False
    print("skip: lightc or %s not built" % os.path.relpath(driver, BUILD), file=sys.stderr)
    return True


def not_installed(package, *modules):
    """True (after saying so) when the Python package (or one of modules)
    cannot be imported."""
    try:
        for m in (package, *modules):
            __import__(m)
    except ImportError:
        print("skip: %s not installed in this Python (scripts/setup --python)" % package)
        return True
    return False


def scratch(prefix):
    """A new directory for the test's files, under LC_TEST_TMP if set."""
    base = os.environ.get("LC_TEST_TMP") or None
    if base:
        os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix, dir=base)


def without_data(tests, needs_data):
    """tests without needs_data (training on the data set) when the data set
    is not installed."""
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("a: skipped: no %s" % DATA)
        return [t for t in tests if t is not needs_data]
    return tests


def run_tests(tests, args, after=None):
    """Each fn(*args) of tests (only those named on the command line, if
    any), timed; an exception is a failed check. after() runs after each."""
    only = sys.argv[1:]
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        t1 = time.time()
        try:
            fn(*args)
        except Exception:
            check(fn.__name__ + ": no exception", False, traceback.format_exc())
        print("%s: %.1f s" % (fn.__name__, time.time() - t1))
        if after:
            after()


def conclude(name, tmp, t0):
    """The total time and the verdict; tmp removed when every check passed
    (unless LC_KEEP_TMP), else kept. Returns the exit code."""
    print("total %.1f s" % (time.time() - t0))
    rc = finish(name)
    if rc == 0 and not os.environ.get("LC_KEEP_TMP"):
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("files kept in " + tmp, file=sys.stderr)
    return rc
