"""
tests/integration/test_cli.py — the lightc CLI end to end.

Runs are made through the public hub API by tests/helpers/make_runs (sqlite
and csv sinks); every `lightc runs` verb, `lightc info` and the top level are
then checked against what was logged, reading the index back with Python's
own sqlite3 where a number has to be confirmed. Only the standard library is
used. Exit 77 (skipped) when the binaries are not built.
"""
import csv
import io
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import traceback

BUILD = os.environ.get("LC_BUILD_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
LIGHTC = os.path.join(BUILD, "lightc")
MAKE_RUNS = os.path.join(BUILD, "tests", "helpers", "make_runs")

failures = []
checks = 0


def run(*args, root=None, stdin=subprocess.DEVNULL, env=None):
    """Run lightc; returns (exit code, stdout, stderr)."""
    cmd = [LIGHTC, *args]
    if root is not None:
        cmd += ["--root", root]
    p = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, timeout=60, env=env)
    return p.returncode, p.stdout, p.stderr


def make(root, *args):
    """Create runs; returns [(run id, points)]."""
    p = subprocess.run([MAKE_RUNS, "--root", root, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"make_runs {args} failed ({p.returncode}): {p.stderr}"
    return [(line.split()[0], int(line.split()[1])) for line in p.stdout.splitlines()]


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name}: {detail}", file=sys.stderr)


def index_rows(root, sql, *params):
    db = sqlite3.connect(f"file:{os.path.join(root, 'index.db')}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def rows_of_run(root, run_id):
    """Rows mentioning the run in every table with a run_id column."""
    db = sqlite3.connect(os.path.join(root, "index.db"))
    try:
        (rid,) = db.execute("SELECT id FROM run_info WHERE run_uuid = ?", (run_id,)).fetchone() or (None,)
        total = 0 if rid is None else 1
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
            if "run_id" in cols and t != "run_info":
                total += db.execute(f'SELECT count(*) FROM "{t}" WHERE run_id IN (?, ?)', (rid, run_id)).fetchone()[0]
        return total
    finally:
        db.close()


# ---------------------------------------------------------------------------


def test_top_level(root):
    rc, out, _ = run("--version")
    check("--version", rc == 0 and out.startswith("lightc "), out)
    for args in (["--help"], ["-h"], ["runs", "--help"], ["info", "--help"], ["train", "--help"],
                 ["runs", "ls", "--help"], ["runs", "show", "-h"], ["runs", "compare", "--help"],
                 ["runs", "export", "--help"], ["runs", "rm", "--help"]):
        rc, out, err = run(*args)
        check(f"help {args}", rc == 0 and "usage: lightc" in out, f"rc={rc} err={err}")
    for args in (["--bogus"], ["bogus"], ["runs"], ["runs", "bogus"], ["runs", "ls", "--bogus"],
                 ["runs", "show", "x", "--bogus"], ["runs", "compare", "a", "b", "--bogus"],
                 ["runs", "export", "x", "--bogus"], ["runs", "rm", "x", "--bogus"], ["info", "--bogus"],
                 ["runs", "export", "x", "--format", "xml"], ["runs", "compare", "a", "--mode", "min"],
                 ["runs", "compare", "a", "b", "--mode", "best"], ["runs", "ls", "--status", "sleepy"],
                 ["runs", "ls", "--root"], ["runs", "show"]):
        rc, _, err = run(*args, root=root) if args[-1] != "--root" else run(*args)
        check(f"usage error {args}", rc == 2 and "lightc" in err, f"rc={rc} err={err}")
    rc, out, err = run("train", "--help")
    check("train --help", rc == 0 and "--max-epochs" in out, f"rc={rc} err={err}")
    rc, _, err = run("train", "--no-such-flag", root=root)
    check("train bad flag", rc == 2 and "lightc" in err, f"rc={rc} err={err}")
    rc, out, _ = run("info", root=root)
    check("info", rc == 0 and "sqlite" in out and "version" in out and "BLAS" in out and "CUDA" in out, out)


def test_missing_root(tmp):
    rc, _, err = run("runs", "ls", root=os.path.join(tmp, "nothing-here"))
    check("missing index", rc == 1 and "no run index" in err and "--root" in err, f"rc={rc} err={err}")
    check("missing index not created", not os.path.exists(os.path.join(tmp, "nothing-here")))


def test_ls(root, ids):
    rc, out, err = run("runs", "ls", "--metric", "train/loss,val/acc", root=root)
    check("ls rc", rc == 0, err)
    lines = out.splitlines()
    check("ls header", lines and lines[0].split()[:4] == ["RUN", "EXPERIMENT", "NAME", "STATUS"]
          and "train/loss" in lines[0] and "val/acc" in lines[0], out)
    for name, rid in ids.items():
        row = [l for l in lines if l.startswith(rid[:8])]
        check(f"ls shows {name}", len(row) == 1, out)
    crashed = [l for l in lines if l.startswith(ids["crashy"][:8])]
    check("ls crashed", crashed and "crashed" in crashed[0].split(), out)
    base = [l for l in lines if l.startswith(ids["baseline"][:8])][0].split()
    # the last train/loss of baseline (20 steps, lr 0.1): 1/(1+19)
    check("ls last value", f"{0.1 * 10.0 / 20:.6g}" in base and "finished" in base, base)
    check("ls step", "19" in base, base)

    # keys given as logged are matched after the hub's normalisation ("val acc%" -> "val acc_")
    rc, out, _ = run("runs", "ls", "--metric", "val acc%", "--experiment", "mnist", root=root)
    check("ls normalised metric", rc == 0 and "val acc_" in out.splitlines()[0]
          and all(l.split()[-1] == "0.5" for l in out.splitlines()[1:]), out)

    rc, out, _ = run("runs", "ls", "-q", root=root)
    got = out.split()
    check("ls -q", rc == 0 and sorted(got) == sorted(ids.values()) and all(len(x) == 32 for x in got), out)
    rc, out, _ = run("runs", "ls", "-q", "--status", "crashed", root=root)
    check("ls --status", rc == 0 and out.split() == [ids["crashy"]], out)
    rc, out, _ = run("runs", "ls", "-q", "--experiment", "mnist", root=root)
    check("ls --experiment", rc == 0 and sorted(out.split()) == sorted([ids["baseline"], ids["wide"]]), out)
    rc, out, err = run("runs", "ls", "--experiment", "nope", root=root)
    check("ls empty filter", rc == 0 and out == "" and "no runs" in err, err)
    # LIGHTC_ROOT is the default root
    env = dict(os.environ, LIGHTC_ROOT=root)
    rc, out, _ = run("runs", "ls", "-q", env=env)
    check("ls LIGHTC_ROOT", rc == 0 and len(out.split()) == len(ids), out)


def test_show(root, ids):
    rc, out, err = run("runs", "show", "mnist/baseline", root=root)
    check("show rc", rc == 0, err)
    lines = out.splitlines()
    def has_row(*cells):
        return any(l.split()[:len(cells)] == list(cells) for l in lines)
    check("show id", ids["baseline"] in out, out)
    check("show status", has_row("status", "finished"), out)
    check("show params", has_row("lr", "0.1", "float") and has_row("batch_size", "32", "int")
          and has_row("optimizer", "adam", "str") and has_row("model/hidden", "128"), out)
    check("show tags", has_row("seed", "42"), out)
    check("show key map", any("val acc%" in l and "val acc_" in l for l in lines), out)
    check("show metrics", has_row("train/loss", "20", "0", "19"), out)
    nan_row = [l for l in lines if l.split()[:1] == ["train/loss"]]
    check("show nans", nan_row and nan_row[0].split()[-1] == "1", nan_row)
    check("show inf", any(l.split()[:1] == ["train/grad_norm"] and "inf" in l.split() for l in lines), out)
    check("show counters", "counters" in out and has_row("dropped", "0") and has_row("logged"), out)
    check("show sinks", "sinks" in out and any(l.split()[:1] == ["sqlite"] for l in lines)
          and any(l.split()[:1] == ["csv"] for l in lines), out)
    # by prefix and by full id
    rc2, out2, _ = run("runs", "show", ids["baseline"][:6].upper(), root=root)
    check("show by prefix", rc2 == 0 and ids["baseline"] in out2, out2)
    rc2, out2, _ = run("runs", "show", ids["baseline"], root=root)
    check("show by id", rc2 == 0 and ids["baseline"] in out2, out2)
    rc2, out2, _ = run("runs", "show", ids["crashy"], root=root)
    check("show crashed", rc2 == 0 and any(l.split() == ["status", "crashed"] for l in out2.splitlines()), out2)


def test_compare(root, ids):
    rc, out, err = run("runs", "compare", "mnist/baseline", "mnist/wide", root=root)
    check("compare rc", rc == 0, err)
    lines = out.splitlines()
    lr = [l.split() for l in lines if l.split()[:1] == ["lr"]]
    check("compare lr differs", lr and lr[0][1:] == ["0.1", "0.01"], lr)
    check("compare optimizer differs", any(l.split() == ["optimizer", "adam", "sgd"] for l in lines), out)
    check("compare identical hidden", not any(l.split()[:1] == ["batch_size"] for l in lines)
          and "identical" in out, out)

    def best(run_id, key, fn):
        return index_rows(root, f"SELECT {fn}(value) FROM metrics WHERE run_id=? AND key=?", run_id, key)[0][0]
    # train/loss: best = min, val/acc: best = max; '*' on the better run
    i = next(k for k, l in enumerate(lines) if l.split()[:2] == ["train/loss", "final"])
    final, bestrow = lines[i].split(), lines[i + 1].split()
    check("compare loss best is min", bestrow[:2] == ["best", "(min)"], bestrow)
    b0, b1 = best(ids["baseline"], "train/loss", "min"), best(ids["wide"], "train/loss", "min")
    check("compare loss best values", f"{b0:.6g}" in bestrow and f"{b1:.6g}" in bestrow, (bestrow, b0, b1))
    star_after = bestrow[bestrow.index(f"{min(b0, b1):.6g}") + 2] if len(bestrow) > 4 else ""
    check("compare star", star_after == "*" and bestrow.count("*") == 1, bestrow)
    check("compare final", final[2] == f"{0.1 * 10 / 20:.6g}" and final[3] == "@19", final)
    i = next(k for k, l in enumerate(lines) if l.split()[:2] == ["val/acc", "final"])
    check("compare acc best is max", lines[i + 1].split()[:2] == ["best", "(max)"], lines[i + 1])
    a0 = best(ids["baseline"], "val/acc", "max")
    check("compare acc best value", f"{a0:.6g}" in lines[i + 1].split(), (lines[i + 1], a0))

    rc, out, _ = run("runs", "compare", "mnist/baseline", "mnist/wide", "--metric", "train/loss",
                     "--mode", "max", root=root)
    check("compare --mode/--metric", rc == 0 and "best (max)" in out and "val/acc" not in out, out)
    rc, _, err = run("runs", "compare", "mnist/baseline", ids["baseline"], root=root)
    check("compare same run twice", rc == 2, err)
    rc, _, err = run("runs", "compare", "mnist/baseline", "nope/nope", root=root)
    check("compare unknown", rc == 1 and "no run matches 'nope/nope'" in err, err)


def test_export(root, ids, points, tmp):
    rc, out, err = run("runs", "export", "mnist/baseline", "--format", "csv", root=root)
    check("export csv rc", rc == 0, err)
    rows = list(csv.reader(io.StringIO(out)))
    check("export csv header", rows and rows[0] == ["key", "step", "value", "wall_time"], rows[:1])
    data = rows[1:]
    check("export csv row count", len(data) == points["baseline"], (len(data), points["baseline"]))
    loss = {int(r[1]): r[2] for r in data if r[0] == "train/loss"}
    check("export csv nan", loss.get(7) == "nan", loss.get(7))
    grad = {int(r[1]): r[2] for r in data if r[0] == "train/grad_norm"}
    check("export csv inf", grad.get(9) == "inf", grad.get(9))
    exact = {int(r[1]): (float(r[2]), float(r[3])) for r in data if r[0] == "sys/exact"}
    check("export csv exact", all(exact[s] == (0.1 * s + 1.0 / 3.0, 1764410405.123 + s * 0.001) for s in range(20)),
          exact.get(3))
    check("export csv renamed key", any(r[0] == "val acc_" for r in data), data[-3:])

    rc, out, err = run("runs", "export", ids["baseline"][:10], "--format", "json", root=root)
    check("export json rc", rc == 0, err)

    def no_bare_constants(name):
        raise ValueError(f"bare {name} in JSON")
    try:
        doc = json.loads(out, parse_constant=no_bare_constants)
    except ValueError as e:
        check("export json parses", False, str(e))
        return
    check("export json run", doc["run"]["id"] == ids["baseline"] and doc["run"]["status"] == "finished", doc["run"])
    check("export json params", doc["params"].get("lr") == 0.1 and doc["params"].get("batch_size") == 32
          and doc["params"].get("optimizer") == "adam" and doc["params"].get("use_amp") is False, doc["params"])
    check("export json tags", doc["tags"].get("seed") == "42", doc["tags"])
    m = doc["metrics"]
    check("export json points", sum(len(v) for v in m.values()) == points["baseline"], {k: len(v) for k, v in m.items()})
    check("export json nan", m["train/loss"][7] [0] == 7 and m["train/loss"][7][1] == "NaN", m["train/loss"][7])
    check("export json inf", m["train/grad_norm"][9][1] == "Infinity", m["train/grad_norm"][9])
    check("export json exact", all(p[1] == 0.1 * p[0] + 1.0 / 3.0 and p[2] == 1764410405.123 + p[0] * 0.001
                                   for p in m["sys/exact"]), m["sys/exact"][:2])
    # the JSON stdlib python check the issue names
    p = subprocess.run([sys.executable, "-c", "import json,sys; json.load(sys.stdin)"], input=out, text=True)
    check("export json python check", p.returncode == 0)

    path = os.path.join(tmp, "out.csv")
    rc, out, err = run("runs", "export", "mnist/baseline", "--format", "csv", "-o", path, "--metric",
                       "train/loss", root=root)
    got = open(path).read().splitlines() if os.path.exists(path) else []
    check("export -o --metric", rc == 0 and out == "" and len(got) == 21
          and all(l.startswith("train/loss,") for l in got[1:]), (rc, err, got[:3]))
    leftovers = [f for f in os.listdir(tmp) if ".tmp" in f]
    check("export -o no temp left", not leftovers, leftovers)
    rc, _, err = run("runs", "export", "mnist/baseline", "-o", os.path.join(tmp, "no", "such", "dir.csv"), root=root)
    check("export -o unwritable", rc == 1 and "cannot write" in err, err)


def test_resolve(many_root, many_ids):
    # 17 runs: two ids must share a first hex digit (pigeonhole)
    first = {}
    for rid in many_ids:
        first.setdefault(rid[0], []).append(rid)
    digit = next(d for d, v in first.items() if len(v) > 1)
    rc, _, err = run("runs", "show", digit, root=many_root)
    check("ambiguous prefix", rc == 1 and "ambiguous" in err and all(r in err for r in first[digit]), err)
    rc, _, err = run("runs", "show", "zzzz", root=many_root)
    check("unknown run", rc == 1 and "no run matches 'zzzz'" in err and "lightc runs ls --root" in err, err)
    rc, _, err = run("runs", "export", "0" * 32, root=many_root)
    check("unknown id", rc == 1 and "no run matches" in err, err)
    rc, _, err = run("runs", "show", "many/nope", root=many_root)
    check("unknown name", rc == 1 and "no run matches 'many/nope'" in err, err)


def test_rm(root, ids, tmp):
    rid = ids["wide"]
    run_dir = os.path.join(root, "mnist", "wide")
    check("rm precondition", os.path.isdir(run_dir) and rows_of_run(root, rid) > 0)
    rc, _, err = run("runs", "rm", "mnist/wide", root=root)  # stdin is not a terminal
    check("rm needs --yes", rc == 2 and "--yes" in err and os.path.isdir(run_dir), err)
    rc, out, err = run("runs", "rm", "mnist/wide", "--yes", root=root)
    check("rm rc", rc == 0 and "removed run" in out, (rc, err))
    check("rm rows gone", rows_of_run(root, rid) == 0, rows_of_run(root, rid))
    check("rm dir gone", not os.path.exists(run_dir))
    check("rm other run kept", os.path.isdir(os.path.join(root, "mnist", "baseline")))
    rc, _, err = run("runs", "show", rid, root=root)
    check("rm then show", rc == 1 and "no run matches" in err, err)

    # a run directory swapped for a symlink to outside the root: never followed
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    open(os.path.join(outside, "precious"), "w").write("keep me")
    victim = make(root, "--experiment", "safety", "--name", "link", "--steps", "2")[0][0]
    link_dir = os.path.join(root, "safety", "link")
    shutil.rmtree(link_dir)
    os.symlink(outside, link_dir)
    rc, _, err = run("runs", "rm", victim, "--yes", root=root)
    check("rm refuses symlink", rc == 1 and "symbolic link" in err, err)
    check("rm symlink target kept", os.path.exists(os.path.join(outside, "precious")))
    check("rm symlink rows kept", rows_of_run(root, victim) > 0)

    # a directory recorded outside the root (tampered index): refused
    other = make(root, "--experiment", "safety", "--name", "escape", "--steps", "2")[0][0]
    db = sqlite3.connect(os.path.join(root, "index.db"))
    db.execute("UPDATE run_info SET dir = '../outside' WHERE run_uuid = ?", (other,))
    db.commit()
    db.close()
    rc, _, err = run("runs", "rm", other, "--yes", root=root)
    check("rm refuses outside root", rc == 1 and "outside the root" in err, err)
    check("rm outside kept", os.path.exists(os.path.join(outside, "precious")))

    # the crashed run can be removed
    rc, _, err = run("runs", "rm", ids["crashy"], "--yes", root=root)
    check("rm crashed", rc == 0 and rows_of_run(root, ids["crashy"]) == 0, err)


def test_live_run(root):
    p = subprocess.Popen([MAKE_RUNS, "--root", root, "--experiment", "live", "--name", "held", "--steps", "3",
                          "--hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        rid = p.stdout.readline().split()[0]
        rc, out, _ = run("runs", "ls", "--experiment", "live", root=root)
        check("live run is running", rc == 0 and "running" in out.split(), out)
        rc, _, err = run("runs", "rm", rid, "--yes", root=root)
        check("rm refuses running", rc == 1 and "still running" in err, err)
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    rc, out, _ = run("runs", "ls", "--experiment", "live", root=root)
    check("live run finished", p.returncode == 0 and "finished" in out.split(), out)


def main():
    if not (os.access(LIGHTC, os.X_OK) and os.access(MAKE_RUNS, os.X_OK)):
        print(f"skip: {LIGHTC} or {MAKE_RUNS} not built", file=sys.stderr)
        return 77
    base = os.environ.get("LC_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cli-", dir=base)
    try:
        root = os.path.join(tmp, "runs")
        ids, points = {}, {}
        for name, args in (("baseline", ["--experiment", "mnist", "--name", "baseline", "--lr", "0.1",
                                         "--nan-at", "7", "--inf-at", "9"]),
                           ("wide", ["--experiment", "mnist", "--name", "wide", "--lr", "0.01", "--steps", "30",
                                     "--optimizer", "sgd"])):
            ids[name], points[name] = make(root, *args)[0]
        # a process killed mid-run: its row stays 'running' until lightc sees it is dead
        p = subprocess.run([MAKE_RUNS, "--root", root, "--experiment", "other", "--name", "crashy", "--kill"],
                           capture_output=True, text=True, timeout=120)
        check("killed helper", p.returncode == -9, (p.returncode, p.stderr))
        ids["crashy"] = p.stdout.split()[0]

        many_root = os.path.join(tmp, "many")
        many_ids = [rid for rid, _ in make(many_root, "--experiment", "many", "--name", "r", "--steps", "1",
                                           "--count", "17")]

        for fn, args in ((test_top_level, (root,)), (test_missing_root, (tmp,)), (test_ls, (root, ids)),
                         (test_show, (root, ids)), (test_compare, (root, ids)),
                         (test_export, (root, ids, points, tmp)), (test_resolve, (many_root, many_ids)),
                         (test_live_run, (root,)), (test_rm, (root, ids, tmp))):
            try:
                fn(*args)
            except Exception:
                failures.append(f"{fn.__name__}: exception")
                traceback.print_exc()
    finally:
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed; files kept in {tmp}", file=sys.stderr)
        return 1
    print(f"test_cli: all {checks} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
