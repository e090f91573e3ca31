"""tests/integration/cli_common.py — shared pieces of the small CLI
integration tests (test_rm_live_run.py, test_readonly_root.py,
test_export_utf8.py, test_secrets.py): locating lightc and the make_runs
helper, running them, recording checks, and a main() that makes a scratch
directory, runs the test functions and exits 0, 1 or 77 (skipped: the
binaries are not built). Standard library only.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback

SKIP = 77
BUILD = os.environ.get("LC_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
LIGHTC = os.path.join(BUILD, "lightc")
MAKE_RUNS = os.path.join(BUILD, "tests", "helpers", "make_runs")

failures = []
checks = 0


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def lightc(*args, root=None, prefix=(), raw=False):
    """Run lightc (after the command words in prefix, e.g. setpriv ...);
    returns (exit code, stdout, stderr), as bytes when raw."""
    cmd = [*prefix, LIGHTC, *args]
    if root is not None:
        cmd += ["--root", root]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, text=not raw)
    return p.returncode, p.stdout, p.stderr


def make(root, *args):
    """Create runs with make_runs; returns [(run id, points)]."""
    p = subprocess.run([MAKE_RUNS, "--root", root, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"make_runs {args} failed ({p.returncode}): {p.stderr}"
    return [(line.split()[0], int(line.split()[1])) for line in p.stdout.splitlines()]


def index(root):
    """A read-write connection to root's index (for the test's own reads)."""
    return sqlite3.connect(os.path.join(root, "index.db"))


def main(name, tests):
    """Run tests(tmp) functions in a scratch directory under LC_TEST_TMP."""
    if not (os.access(LIGHTC, os.X_OK) and os.access(MAKE_RUNS, os.X_OK)):
        print(f"skip: {LIGHTC} or {MAKE_RUNS} not built", file=sys.stderr)
        return SKIP
    base = os.environ.get("LC_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=name + "-", dir=base)
    try:
        for fn in tests:
            try:
                fn(tmp)
            except Exception:
                failures.append(f"{fn.__name__}: exception")
                traceback.print_exc()
    finally:
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed; files kept in {tmp}", file=sys.stderr)
        return 1
    print(f"{name}: all {checks} checks passed")
    return 0
