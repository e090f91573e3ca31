"""tests/integration/test_train_profiler.py — `lightc train --profiler
simple|advanced|trace` (issue 12), each on a short run (a few steps, a few
validation and test batches):

* simple: the report (printed and in <run dir>/fit-profile.txt, and
  test-profile.txt for the test stage) has SimpleProfiler's header
  (Action, Mean duration (s), Num calls, Total time (s), Percentage %), a
  Total row and Lightning's action names; the step count is right;
* advanced: the file also has the function table (ncalls, tottime,
  cumtime) with lightc's function rows (kernel calls, the hub's sink writes);
* trace: <run dir>/trace.json loads with Python's json; every event has the
  fields Chrome's format needs; the threads are named ("M" events, the
  trainer and the hub's dispatcher); events on one thread nest (no partial
  overlap); each training_step contains kernel events;
* the perf/ metrics reach the run index on logging steps.

Skipped (77) without the data set.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

BUILD = os.environ.get("LC_BUILD_DIR", "build")
LIGHTC = os.path.join(BUILD, "lightc")
DATA = "/usr/share/datasets/fashion-mnist"
STEPS = 12
FAILS = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILS.append(name)


def run(root, mode):
    args = [LIGHTC, "train", "--profiler", mode, "--max-steps", str(STEPS),
            "--limit-val-batches", "2", "--limit-test-batches", "2",
            "--num-sanity-val-steps", "1", "--log-every-n-steps", "4", "--threads", "1",
            "--root", root, "--name", mode, "--loggers", "sqlite,csv,tensorboard"]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    check(mode + ": exit 0", p.returncode == 0, p.stdout[-2000:])
    return p.stdout, os.path.join(root, "fashion-mnist", mode)


def table_rows(text):
    """The simple table's rows of the first report: {action: (mean, calls, total, pct)}."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("|  ") or "Action" in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5:
            continue
        if cells[0] in rows:
            break  # the next stage's table
        rows[cells[0]] = cells[1:]
    return rows


def check_simple_table(mode, text):
    check(mode + ": report title", "FIT Profiler Report" in text)
    for col in ("Action", "Mean duration (s)", "Num calls", "Total time (s)", "Percentage %"):
        check(mode + ": column " + col, col in text)
    rows = table_rows(text)
    check(mode + ": Total row", "Total" in rows and rows["Total"][3] == "100 %", rows.get("Total"))
    for action in ("run_training_epoch", "run_training_batch",
                   "[Strategy]SingleDeviceStrategy.training_step",
                   "[Strategy]SingleDeviceStrategy.backward",
                   "[Strategy]SingleDeviceStrategy.validation_step",
                   "[LightningModule]MLP.optimizer_step",
                   "[LightningModule]MLP.optimizer_zero_grad",
                   "[_TrainingEpochLoop].train_dataloader_next",
                   "[_EvaluationLoop].val_next"):
        check(mode + ": action " + action, action in rows, sorted(rows))
    if "run_training_batch" in rows:
        check(mode + ": run_training_batch calls", rows["run_training_batch"][1] == str(STEPS),
              rows["run_training_batch"])
    callbacks = [a for a in rows if a.startswith("[Callback]")]
    check(mode + ": callback actions", any(".on_train_batch_end" in a for a in callbacks), callbacks)
    for name, cells in rows.items():
        if name == "Total":
            continue
        ok = float(cells[0]) >= 0 and int(cells[1]) > 0 and float(cells[2]) >= 0
        check(mode + ": numbers of " + name, ok, cells)
        if not ok:
            break


def check_trace(path):
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    meta = [e for e in events if e["ph"] == "M"]
    spans = [e for e in events if e["ph"] == "X"]
    check("trace: has spans", len(spans) > 100, len(spans))
    names = {e["tid"]: e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    check("trace: trainer thread named", "trainer" in names.values(), names)
    check("trace: dispatcher thread named", "hub-dispatcher" in names.values(), names)
    bad = [e for e in spans
           if not all(k in e for k in ("name", "ph", "ts", "dur", "pid", "tid"))
           or not isinstance(e["ts"], (int, float)) or not isinstance(e["dur"], (int, float))
           or e["dur"] < 0]
    check("trace: every span has name/ph/ts/dur/pid/tid", not bad, bad[:3])
    check("trace: every tid is named", all(e["tid"] in names for e in spans))
    disp = [t for t, n in names.items() if n == "hub-dispatcher"]
    check("trace: hub work on the dispatcher thread",
          any(e["tid"] in disp and e["name"].startswith("[Hub]") for e in spans))
    # nesting: per thread, sorted by start (longer first), a stack of ends
    eps = 1e-3
    overlaps = []
    contains_kernel = {}
    by_tid = {}
    for e in spans:
        by_tid.setdefault(e["tid"], []).append(e)
    for tid, evs in by_tid.items():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            end = e["ts"] + e["dur"]
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - eps:
                stack.pop()
            if stack and end > stack[-1]["ts"] + stack[-1]["dur"] + eps:
                overlaps.append((stack[-1]["name"], e["name"]))
            if e["name"].startswith("backend."):
                for s in stack:
                    contains_kernel[id(s)] = True
            stack.append(e)
    check("trace: spans of a thread nest (no partial overlap)", not overlaps, overlaps[:3])
    steps = [e for e in spans if e["name"] == "[Strategy]SingleDeviceStrategy.training_step"]
    check("trace: a training_step per step", len(steps) == STEPS, len(steps))
    check("trace: every training_step contains kernel events",
          steps and all(contains_kernel.get(id(s)) for s in steps))
    back = [e for e in spans if e["name"] == "[Strategy]SingleDeviceStrategy.backward"]
    check("trace: every backward contains kernel events",
          back and all(contains_kernel.get(id(s)) for s in back))


def main():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("skip: no %s (install dataset-fashion-mnist)" % DATA)
        return 77
    base = os.environ.get("LC_TEST_TMP", tempfile.gettempdir())
    os.makedirs(base, exist_ok=True)
    root = tempfile.mkdtemp(prefix="profiler-", dir=base)

    out, d = run(root, "simple")
    check("simple: report printed", "FIT Profiler Report" in out)
    check("simple: fit-profile.txt", os.path.exists(os.path.join(d, "fit-profile.txt")))
    check("simple: test-profile.txt", os.path.exists(os.path.join(d, "test-profile.txt")))
    if os.path.exists(os.path.join(d, "fit-profile.txt")):
        text = open(os.path.join(d, "fit-profile.txt")).read()
        check_simple_table("simple", text)
        check("simple: no function table", "ncalls" not in text)
    db = sqlite3.connect(os.path.join(root, "index.db"))
    keys = {k for (k,) in db.execute(
        "SELECT DISTINCT m.key FROM metrics m JOIN runs r USING (run_id) WHERE r.name='simple'")}
    for k in ("perf/step_ms", "perf/data_ms", "perf/optimizer_ms", "perf/log_ms",
              "perf/samples_per_sec"):
        check("simple: metric " + k, k in keys, sorted(keys))
    steps = [s for (s,) in db.execute(
        "SELECT m.step FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.name='simple' AND m.key='perf/step_ms' ORDER BY m.step")]
    check("simple: perf/ on logging steps", steps == [3, 7, 11], steps)
    db.close()

    out, d = run(root, "advanced")
    path = os.path.join(d, "fit-profile.txt")
    check("advanced: fit-profile.txt", os.path.exists(path))
    if os.path.exists(path):
        text = open(path).read()
        check_simple_table("advanced", text)
        for col in ("ncalls", "tottime", "cumtime"):
            check("advanced: column " + col, col in text)
        for fn in ("backend.linear_forward()", "backend.linear_backward()", "lc_optim_step()",
                   "[Hub]sqlite.write_batch()"):
            check("advanced: function " + fn, fn in text)

    out, d = run(root, "trace")
    path = os.path.join(d, "trace.json")
    check("trace: trace.json", os.path.exists(path))
    if os.path.exists(path):
        check_trace(path)
    check("trace: fit-profile.txt", os.path.exists(os.path.join(d, "fit-profile.txt")))

    print("%d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
