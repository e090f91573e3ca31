"""tests/integration/test_train_ddp.py — `lightc train --strategy ddp` on two
MPI ranks of this machine (issue 11), against the same job on one process:

* equivalence: dropout off, 2 ranks x batch 64 follow 1 process x batch 128
  (same seed): every train/loss of 100 steps within 1e-4 relative; the
  validation loss (sync_dist, reduce_fx mean) equals the single process's
  mean over the same samples, which is the mean over all samples of both
  shards;
* one run: one run in the index, one TensorBoard events file (read back with
  EventAccumulator: 100 train/loss points), params world_size/strategy and a
  host tag per rank, perf/allreduce_ms logged once per logging step;
* checkpoints only from rank 0: every checkpoint rename (strace of the job)
  comes from the pid the run records (rank 0's), and the file holds the
  ddp/ranks section with both ranks' state;
* gradient accumulation (2 micro-batches of 32 per rank) stays on the
  single process's trajectory, and the accumulating micro-batch does not
  all-reduce (no_sync: perf/allreduce_mb per step is the gradients once);
* resume: a 2-rank job of 2 epochs resumed (--resume last) to 4 logs exactly
  what an uninterrupted 4-epoch 2-rank job logs (dropout on, so each rank's
  own RNG must come back), perf/* timings aside;
* mid-epoch resume (tests/helpers/ddp_midresume): killed inside an epoch
  and resumed, the job logs what the uninterrupted one does, an on_epoch
  sync_dist metric that needs each rank's own running sums included;
* a rank that raises: with rank 1 (then rank 0) failing in training_step,
  the other rank stops within seconds naming the failed rank, and the run
  ends failed.

Skipped (77) without MPI in the build, the data set or TensorBoard.
"""
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import BUILD, SKIP, accumulator, tmpdir  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LIGHTC = os.path.join(BUILD, "lightc")
RAISE = os.path.join(BUILD, "tests", "helpers", "ddp_raise")
MIDRESUME = os.path.join(BUILD, "tests", "helpers", "ddp_midresume")
MPIEXEC = ["mpiexec", "--allow-run-as-root", "--oversubscribe", "-np", "2"]


def run(args, timeout=600, check=True, env=None):
    e = dict(os.environ if env is None else env)
    e.pop("LIGHTC_LOGGERS", None)
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode,
                                                         p.stdout[-3000:], p.stderr[-3000:]))
    return p


def points(root, name, key):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    rows = db.execute("SELECT m.step, m.value FROM metrics m JOIN runs r USING(run_id) "
                      "WHERE r.name = ? AND m.key = ? ORDER BY m.step", (name, key)).fetchall()
    db.close()
    return rows


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def check_equivalence(root):
    common = ["--root", root, "--max-steps", "100", "--max-epochs", "1", "--dropout", "0",
              "--hidden", "64", "--log-every-n-steps", "1", "--threads", "1", "--seed", "11",
              "--limit-val-batches", "10", "--limit-test-batches", "0", "--num-sanity-val-steps",
              "0", "--val-check-interval", "50", "--no-checkpoint", "--no-model-summary",
              "--loggers", "sqlite,tensorboard,csv"]
    run([LIGHTC, "train", "--name", "single", "--batch-size", "128"] + common)
    run([LIGHTC, "train", "--name", "ddp", "--batch-size", "64", "--strategy", "ddp",
         "--devices", "2"] + common)
    a = points(root, "single", "train/loss")
    b = points(root, "ddp", "train/loss")
    assert len(a) == 100 and [s for s, _ in a] == [s for s, _ in b], (len(a), len(b))
    worst = max(rel(x, y) for (_, x), (_, y) in zip(a, b))
    assert worst < 1e-4, "train/loss differs by %g relative" % worst
    # validation at steps 49 and 99: 10 batches of 128 on one process are
    # the same 1280 samples as 10 batches of 64 on each of 2 ranks
    va = points(root, "single", "val/loss")
    vb = points(root, "ddp", "val/loss")
    assert len(va) == 2 and len(vb) == 2, (va, vb)
    for (sa, x), (sb, y) in zip(va, vb):
        assert sa == sb and rel(x, y) < 1e-4, ("val/loss (sync_dist) not the mean over both "
                                                "shards", sa, x, y)
    print("equivalence: 100 train/loss points within %.2g relative; val/loss %s vs %s"
          % (worst, [round(v, 6) for _, v in va], [round(v, 6) for _, v in vb]))

    # gradient accumulation: 2 ranks x 2 micro-batches of 32 step on the same
    # 128 samples as one batch of 128 (same weights, so the same val/loss over
    # the same 1280 validation samples: 20 batches of 32 on each rank), and
    # only the stepping micro-batch all-reduces the gradients (no_sync)
    run([LIGHTC, "train", "--name", "accum", "--batch-size", "32", "--accumulate-grad-batches",
         "2", "--strategy", "ddp", "--devices", "2"] + common + ["--val-check-interval", "100",
                                           "--limit-val-batches", "20"])
    vc = points(root, "accum", "val/loss")
    assert [s for s, _ in vc] == [s for s, _ in va], (vc, va)
    for (_, x), (_, y) in zip(va, vc):
        assert rel(x, y) < 1e-4, ("accumulated ddp job left the single trajectory", x, y)
    grads_mb = (784 * 64 + 64 + 64 * 10 + 10) * 4 / 1e6
    per_step = [v for _, v in points(root, "accum", "perf/allreduce_mb")]
    assert per_step and max(per_step) < 1.5 * grads_mb, (per_step[:5], grads_mb)
    print("accumulation: val/loss as one process; %.3f MB all-reduced per step (gradients "
          "%.3f MB: the accumulating micro-batch does not sync)" % (max(per_step), grads_mb))

    # one run, one set of files
    db = sqlite3.connect(os.path.join(root, "index.db"))
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 3  # single, ddp, accum
    runs = db.execute("SELECT run_id, status FROM runs WHERE name = 'ddp'").fetchall()
    assert len(runs) == 1 and runs[0][1] == "finished", runs
    rid = runs[0][0]
    params = dict(db.execute("SELECT key, value FROM params WHERE run_id = ?", (rid,)))
    tags = dict(db.execute("SELECT key, value FROM tags WHERE run_id = ?", (rid,)))
    assert params.get("world_size") == "2" and params.get("strategy") == "ddp", params
    assert "host.rank0" in tags and "host.rank1" in tags, tags
    ar = db.execute("SELECT step, value FROM metrics WHERE run_id = ? AND key = "
                    "'perf/allreduce_ms' ORDER BY step", (rid,)).fetchall()
    assert len(ar) == 100 and len({s for s, _ in ar}) == 100, len(ar)
    mb = db.execute("SELECT value FROM metrics WHERE run_id = ? AND key = 'perf/allreduce_mb'",
                    (rid,)).fetchall()
    assert mb and all(v > 0.2 for (v,) in mb), mb[:3]  # the gradients: 50.9 K floats
    db.close()
    rundir = os.path.join(root, "fashion-mnist", "ddp")
    events = [f for f in os.listdir(rundir) if f.startswith("events.out.tfevents")]
    assert len(events) == 1, events
    assert sorted(os.listdir(os.path.join(root, "fashion-mnist"))) == ["accum", "ddp", "single"]
    acc = accumulator(rundir)
    tb = acc.Scalars("train/loss")
    assert len(tb) == 100, len(tb)
    assert all(rel(e.value, v) < 1e-6 for e, (_, v) in zip(tb, b))
    with open(os.path.join(rundir, "metrics.csv")) as f:
        rows = [line for line in f if re.match(r"^\d", line)]
    assert rows, "metrics.csv is empty"


def check_rank0_checkpoints(root):
    os.makedirs(root, exist_ok=True)
    trace = os.path.join(root, "strace.txt")
    args = ["strace", "-f", "-qq", "-e", "trace=rename,renameat,renameat2,clone,clone3", "-o", trace,
            LIGHTC, "train", "--root", root, "--name", "ckpt", "--strategy", "ddp",
            "--devices", "2", "--max-epochs", "2", "--limit-train-batches", "10",
            "--limit-val-batches", "2", "--limit-test-batches", "0", "--hidden", "32",
            "--threads", "1", "--save-last", "--no-model-summary", "--loggers", "sqlite"]
    if subprocess.run(["strace", "-f", "-o", os.devnull, "true"]).returncode != 0:
        print("note: strace cannot trace here; checking the files only")
        args = args[args.index(LIGHTC):]
    run(args)
    db = sqlite3.connect(os.path.join(root, "index.db"))
    (pid,) = db.execute("SELECT t.value FROM tags t JOIN runs r USING(run_id) WHERE r.name = "
                        "'ckpt' AND t.key = 'lightc.pid'").fetchone()
    db.close()
    cdir = os.path.join(root, "fashion-mnist", "ckpt", "checkpoints")
    files = sorted(os.listdir(cdir))
    assert "last.ckpt" in files and len([f for f in files if f.endswith(".ckpt")]) == 2, files
    for f in files:
        with open(os.path.join(cdir, f), "rb") as fh:
            blob = fh.read()
        assert b"ddp/ranks" in blob, ("no per-rank state in", f)
    if os.path.exists(trace):
        # strace -f names threads by tid: map them to their process
        tgid, writers = {}, set()
        with open(trace) as fh:
            lines = fh.read().splitlines()
        for line in lines:
            m = re.match(r"^(\d+)\s+clone3?\((.*)\)\s+=\s+(\d+)", line)
            if m:
                parent, child = m.group(1), m.group(3)
                tgid[child] = tgid.get(parent, parent) if "CLONE_THREAD" in m.group(2) else child
        for line in lines:
            if ".ckpt" in line and "rename" in line:
                tid = line.split()[0]
                writers.add(tgid.get(tid, tid))
        assert writers == {pid}, ("checkpoints renamed into place by pids %s, rank 0 is %s"
                                  % (writers, pid))
        print("checkpoints: %d files, every rename by rank 0 (pid %s)" % (len(files), pid))


def check_resume(root):
    common = ["--strategy", "ddp", "--devices", "2", "--limit-train-batches", "12",
              "--limit-val-batches", "3", "--limit-test-batches", "3", "--log-every-n-steps",
              "4", "--hidden", "32", "--threads", "1", "--seed", "5", "--name", "run",
              "--no-model-summary", "--loggers", "sqlite,csv"]
    run([LIGHTC, "train", "--root", os.path.join(root, "straight"), "--max-epochs", "4"] + common)
    run([LIGHTC, "train", "--root", os.path.join(root, "resumed"), "--max-epochs", "2"] + common)
    run([LIGHTC, "train", "--root", os.path.join(root, "resumed"), "--max-epochs", "4",
         "--resume", "last"] + common)

    def all_points(r):
        db = sqlite3.connect(os.path.join(r, "index.db"))
        runs = db.execute("SELECT status FROM runs").fetchall()
        assert runs == [("finished",)], runs
        pts = db.execute("SELECT key, step, value FROM metrics WHERE key NOT LIKE 'perf/%' "
                         "ORDER BY key, step").fetchall()
        db.close()
        return pts
    a, b = all_points(os.path.join(root, "straight")), all_points(os.path.join(root, "resumed"))
    assert len(a) > 40 and len(a) == len(b), (len(a), len(b))
    for x, y in zip(a, b):
        assert x[:2] == y[:2] and (x[2] == y[2] or rel(x[2], y[2]) < 1e-12), (x, y)
    print("resume: %d points of the resumed 2-rank job equal the uninterrupted job's" % len(a))


def check_mid_epoch_resume(root):
    """Killed inside an epoch (after a step-20+ checkpoint), resumed: the same
    points as the uninterrupted job, including an on_epoch sync_dist metric
    whose value needs each rank's own running sums from the checkpoint."""
    run(MPIEXEC + [MIDRESUME, os.path.join(root, "straight"), "straight"], timeout=300)
    p = run(MPIEXEC + [MIDRESUME, os.path.join(root, "resumed"), "first"], timeout=300,
            check=False)
    assert p.returncode != 0 and "SIGKILL" in p.stderr, (p.returncode, p.stderr[-2000:])
    run(MPIEXEC + [MIDRESUME, os.path.join(root, "resumed"), "resume"], timeout=300)

    def pts(r):
        db = sqlite3.connect(os.path.join(root, r, "index.db"))
        v = db.execute("SELECT key, step, value FROM metrics WHERE key NOT LIKE 'perf/%' "
                       "ORDER BY key, step").fetchall()
        db.close()
        return v
    a, b = pts("straight"), pts("resumed")
    assert len(a) > 100 and a == b, [(x, y) for x, y in zip(a, b) if x != y][:5] or (len(a),
                                                                                 len(b))
    assert sum(1 for k, _, _ in a if k == "rank_loss") == 3
    print("mid-epoch resume: %d points equal the uninterrupted job's (per-rank RNG and "
          "epoch sums restored)" % len(a))


def check_raise(root):
    for fail in (1, 0):
        r = os.path.join(root, "raise%d" % fail)
        t0 = time.monotonic()
        p = run(MPIEXEC + [RAISE, r, str(fail)], timeout=120, check=False)
        took = time.monotonic() - t0
        assert p.returncode != 0, "a failed rank must fail the job"
        other = 1 - fail
        m = re.search(r"ddp_raise rank %d: (.*)" % other, p.stdout)
        assert m, "rank %d said nothing:\n%s\n%s" % (other, p.stdout, p.stderr[-2000:])
        assert "rank %d" % fail in m.group(1) and "raised on purpose" in m.group(1), m.group(1)
        assert took < 60, took
        db = sqlite3.connect(os.path.join(r, "index.db"))
        st = db.execute("SELECT status FROM runs").fetchall()
        db.close()
        assert st == [("failed",)], st
        print("raise on rank %d: rank %d stopped (%.1f s for the job): %s"
              % (fail, other, took, m.group(1)))


def main():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("skip: no %s (install dataset-fashion-mnist)" % DATA)
        return SKIP
    info = run([LIGHTC, "info"], check=False).stdout
    if "mpi: yes" not in info or not os.access(RAISE, os.X_OK):
        print("skip: this lightc was built without MPI (install openmpi-bin libopenmpi-dev "
              "and rebuild)")
        return SKIP
    root = tmpdir("train-ddp")
    check_raise(root)
    check_equivalence(os.path.join(root, "eq"))
    check_rank0_checkpoints(os.path.join(root, "ck"))
    check_resume(root)
    check_mid_epoch_resume(os.path.join(root, "mid"))
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
