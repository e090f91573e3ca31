"""tests/integration/test_resume_after_kill.py — issue 7, defect 2: after a
SIGKILL and a resume from the checkpoint, TensorBoard holds every point of
the run index, exactly once (read back with the real EventAccumulator).

tests/helpers/resume_kill trains a tiny module (64 steps, a point of
train/loss per step) with a hub that never flushes on its own clock, and
kills itself with SIGKILL right after its first checkpoint (epoch 0, step
16) is declared written.

* A checkpoint is a promise: at that moment the events files already hold
  every train/loss point up to the checkpoint's step; after the resume,
  TensorBoard shows all 64 points once each (before the fix: 48 of 64).
* A resume repairs from the index: with the killed attempt's events
  truncated to their first record and its metrics.csv to its header (what
  a crash loses when the sinks were not flushed), the resume replays the
  points the index holds up to the checkpoint's step, reports it, and
  TensorBoard and metrics.csv again show every point once.
"""
import csv
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import BUILD, accumulator, cleanup, events_of_dir, tmpdir  # noqa: E402

HELPER = os.path.join(BUILD, "tests", "helpers", "resume_kill")
STEPS, CKPT_STEP = 64, 16  # the first checkpoint covers steps 0..15


def helper(root, mode):
    env = dict(os.environ)
    env.pop("LIGHTC_LOGGERS", None)
    return subprocess.run([HELPER, root, mode], env=env, capture_output=True, text=True,
                          timeout=300)


def index_points(root, key):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    try:
        return [s for (s,) in db.execute(
            "SELECT step FROM metrics WHERE key = ? ORDER BY step", (key,))]
    finally:
        db.close()


def index_all(root):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    try:
        return sorted(db.execute("SELECT key, step FROM metrics"))
    finally:
        db.close()


def csv_points(run_dir, key):
    with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
        return sorted(int(row["step"]) for row in csv.DictReader(f) if row.get(key))


def truncate_to_first_record(run_dir):
    for name in os.listdir(run_dir):
        if "tfevents" in name:
            path = os.path.join(run_dir, name)
            with open(path, "rb") as f:
                head = f.read(8)
            (n,) = struct.unpack("<Q", head)
            os.truncate(path, 16 + n)
    path = os.path.join(run_dir, "metrics.csv")
    with open(path, "rb") as f:
        header = f.readline()
    os.truncate(path, len(header))


class TestResumeAfterKill(unittest.TestCase):
    def setUp(self):
        if not os.access(HELPER, os.X_OK):
            self.skipTest("helper %s not built" % HELPER)
        self.root = tmpdir("resume-kill")
        self.run_dir = os.path.join(self.root, "exp", "run")

    def tearDown(self):
        cleanup(self.root)

    def kill_first(self):
        p = helper(self.root, "first")
        self.assertEqual(p.returncode, -signal.SIGKILL, p.stderr)
        ckpts = os.listdir(os.path.join(self.run_dir, "checkpoints"))
        self.assertIn("epoch=0-step=%d.ckpt" % CKPT_STEP, ckpts)

    def resume(self):
        p = helper(self.root, "resume")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def assert_tensorboard_complete(self):
        self.assertEqual(index_points(self.root, "train/loss"), list(range(STEPS)))
        acc = accumulator(self.run_dir)
        steps = sorted(e.step for e in acc.Scalars("train/loss"))
        self.assertEqual(steps, list(range(STEPS)),
                         "TensorBoard has %d of %d train/loss points" % (len(steps), STEPS))
        # every point of every key is there (the LR monitor logs lr-SGD twice
        # at an epoch's first step, once per hook, so only the set is compared)
        have = {(t, e.step) for t in acc.Tags()["scalars"] for e in acc.Scalars(t)}
        self.assertEqual(sorted(have), index_all(self.root))
        self.assertEqual(csv_points(self.run_dir, "train/loss"), list(range(STEPS)))

    def test_checkpoint_is_a_promise(self):
        self.kill_first()
        on_disk = sorted(e.step for e in events_of_dir(self.run_dir)
                         for v in e.summary.value if v.tag == "train/loss")
        self.assertEqual([s for s in on_disk if s < CKPT_STEP], list(range(CKPT_STEP)),
                         "the checkpoint was declared written before TensorBoard held its points")
        self.resume()
        self.assert_tensorboard_complete()

    def test_resume_repairs_from_the_index(self):
        self.kill_first()
        truncate_to_first_record(self.run_dir)
        err = self.resume()
        want = len([1 for k, s in index_all(self.root) if s < CKPT_STEP])
        self.assertIn("tensorboard lacked %d points" % want, err)
        self.assertIn("csv lacked %d points" % want, err)
        self.assert_tensorboard_complete()


if __name__ == "__main__":
    unittest.main()
