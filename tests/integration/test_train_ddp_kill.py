"""tests/integration/test_train_ddp_kill.py — a ddp rank killed with SIGKILL
mid-epoch (issue 11): `lightc train --strategy ddp --devices 2` runs; once a
checkpoint exists and training is inside a later epoch, rank 1 gets SIGKILL.

* the job (mpirun and rank 0) ends within 30 s, with a non-zero status and a
  message naming the dead rank, nothing left running;
* the run is marked: failed when rank 1 died (rank 0, stopped by mpirun
  with SIGTERM, finds its peer's process gone and says which rank died),
  crashed (as `lightc runs ls` reports a run whose process died) when rank 0
  died;
* `--resume last` finishes it: status finished, the epochs all there, and
  one run in the index.

Then the same with rank 0 (the run's owner) killed. Skipped (77) without MPI
in the build or the data set.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import BUILD, SKIP, tmpdir  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LIGHTC = os.path.join(BUILD, "lightc")
EPOCHS = 6


def env():
    e = dict(os.environ)
    e.pop("LIGHTC_LOGGERS", None)
    return e


def rank_pids(root_pid):
    """pid -> rank of the descendants of root_pid that are MPI ranks."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % d, "rb") as f:
                envs = f.read().split(b"\0")
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        rank = [e for e in envs if e.startswith(b"OMPI_COMM_WORLD_RANK=")]
        if rank and ppid == root_pid:
            out[int(d)] = int(rank[0].split(b"=")[1])
    return out


def status_of(root):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    rows = db.execute("SELECT name, status FROM runs").fetchall()
    db.close()
    return rows


def one(root, victim):
    common = ["--root", root, "--name", "kill", "--strategy", "ddp", "--devices", "2",
              "--limit-train-batches", "40", "--limit-val-batches", "2", "--limit-test-batches",
              "2", "--log-every-n-steps", "5", "--threads", "1", "--no-model-summary",
              "--loggers", "sqlite,csv", "--save-last"]
    p = subprocess.Popen([LIGHTC, "train", "--max-epochs", str(EPOCHS)] + common,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env())
    cdir = os.path.join(root, "fashion-mnist", "kill", "checkpoints")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and p.poll() is None:
        if os.path.exists(os.path.join(cdir, "last.ckpt")):
            break
        time.sleep(0.05)
    assert p.poll() is None, "the job ended before a checkpoint: %s" % p.stdout.read()
    time.sleep(0.3)  # inside the next epoch
    ranks = {}
    for _ in range(100):
        ranks = rank_pids(p.pid)
        if len(ranks) == 2:
            break
        time.sleep(0.05)
    assert len(ranks) == 2, ranks
    pid = [k for k, v in ranks.items() if v == victim][0]
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("the job still runs 30 s after rank %d was killed" % victim)
    took = time.monotonic() - t0
    out = out.decode(errors="replace")
    assert p.returncode != 0, out
    assert "rank %d" % victim in out, "no message naming rank %d:\n%s" % (victim, out[-3000:])
    for other in ranks:
        assert not os.path.exists("/proc/%d" % other) or \
            open("/proc/%d/stat" % other).read().split(")")[1].split()[0] == "Z", \
            "rank process %d still alive" % other
    rows = status_of(root)
    assert len(rows) == 1, rows
    listed = subprocess.run([LIGHTC, "runs", "ls", "--root", root], capture_output=True,
                            text=True, env=env()).stdout
    state = rows[0][1]
    if victim == 0:
        # the run's owner died: nobody could end it, `runs ls` finds it crashed
        assert state == "running" and "crashed" in listed, (rows, listed)
    else:
        # a peer on this host died and mpirun stopped rank 0 with SIGTERM: the
        # run failed (not killed), and rank 0 said which rank died
        assert state == "failed", (rows, listed, out[-3000:])
        assert "rank %d of 2 (pid" % victim in out and "died" in out, out[-3000:]
    shown = "crashed" if state == "running" else state
    print("rank %d SIGKILLed: job gone after %.1f s, run marked %s" % (victim, took, shown))

    r = subprocess.run([LIGHTC, "train", "--max-epochs", str(EPOCHS), "--resume", "last"] + common,
                       capture_output=True, text=True, env=env(), timeout=600)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    rows = status_of(root)
    assert rows == [("kill", "finished")], rows
    db = sqlite3.connect(os.path.join(root, "index.db"))
    epochs = db.execute("SELECT DISTINCT value FROM metrics WHERE key = 'epoch' ORDER BY "
                        "value").fetchall()
    db.close()
    assert [int(v) for (v,) in epochs][-1] == EPOCHS, epochs
    print("rank %d: --resume last finished the run" % victim)


def main():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("skip: no %s (install dataset-fashion-mnist)" % DATA)
        return SKIP
    info = subprocess.run([LIGHTC, "info"], capture_output=True, text=True).stdout
    if "mpi: yes" not in info:
        print("skip: this lightc was built without MPI")
        return SKIP
    root = tmpdir("train-ddp-kill")
    one(os.path.join(root, "r1"), 1)
    one(os.path.join(root, "r0"), 0)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
