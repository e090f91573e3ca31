"""tests/integration/test_train_epoch.py — the `epoch` metric of `lightc
train` as Lightning logs it (issue 7, defect 10): a staircase, not one point
per epoch end.

Lightning adds "epoch" (the current epoch) to every metrics dict the trainer
logs without an explicit step, so TensorBoard shows a staircase; lightc logs
it with every record it writes at a training step. After a 3-epoch run of 10
batches per epoch (steps 0..29), read back with TensorBoard's EventAccumulator
and from the run index:

* every step that has a train/, val/ or test/ metric or a learning rate has an
  `epoch` point, and its value is that step's epoch (step // 10; the test
  results after fit sit at step 30, epoch 3 as in Lightning);
* every `epoch` value is an integer, and each epoch end has its point;
* the console's progress lines (LIGHTC_CONSOLE=tty, captured) never show an
  epoch other than the one their step belongs to.

Skipped (77) without the data set or TensorBoard in the venv.
"""
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tb_common import BUILD, SKIP, accumulator, cleanup, tmpdir  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LIGHTC = os.path.join(BUILD, "lightc")
BATCHES = 10
EPOCHS = 3


def main():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        print("skip: no %s (install dataset-fashion-mnist)" % DATA)
        return SKIP
    root = tmpdir("train-epoch")
    env = dict(os.environ, LIGHTC_CONSOLE="tty")
    env.pop("LIGHTC_LOGGERS", None)
    p = subprocess.run([LIGHTC, "train", "--root", root, "--name", "stairs",
                        "--max-epochs", str(EPOCHS), "--limit-train-batches", str(BATCHES),
                        "--limit-val-batches", "2", "--limit-test-batches", "2",
                        "--log-every-n-steps", "3", "--no-checkpoint", "--no-model-summary",
                        "--loggers", "sqlite,tensorboard,console"],
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, "lightc train failed (%d):\n%s\n%s" % (p.returncode, p.stdout,
                                                                     p.stderr)

    # --- TensorBoard ------------------------------------------------------
    acc = accumulator(os.path.join(root, "fashion-mnist", "stairs"))
    tags = acc.Tags()["scalars"]
    assert "epoch" in tags, tags
    epoch_pts = {}
    for e in acc.Scalars("epoch"):
        assert float(e.value).is_integer(), ("epoch value not an integer", e.step, e.value)
        epoch_pts.setdefault(e.step, set()).add(int(e.value))
    metric_steps = set()
    for tag in tags:
        if tag.startswith(("train/", "val/", "test/", "lr-")):
            metric_steps.update(e.step for e in acc.Scalars(tag))
    assert metric_steps, tags
    for s in sorted(metric_steps):
        assert s in epoch_pts, ("TensorBoard: no epoch point at logged step", s,
                                sorted(epoch_pts))
        assert epoch_pts[s] == {s // BATCHES}, ("TensorBoard: epoch at step", s, epoch_pts[s])
    for ep in range(EPOCHS):  # each epoch end has its point
        last = (ep + 1) * BATCHES - 1
        assert epoch_pts.get(last) == {ep}, ("epoch end", ep, epoch_pts.get(last))
    # a staircase: more points than epochs, and never decreasing
    assert len(epoch_pts) > EPOCHS + 1, sorted(epoch_pts)
    seq = [min(epoch_pts[s]) for s in sorted(epoch_pts)]
    assert seq == sorted(seq), seq

    # --- the run index ----------------------------------------------------
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(root, "index.db"), uri=True)
    ep = dict(db.execute("SELECT step, value FROM metrics WHERE key = 'epoch'"))
    steps = [s for (s,) in db.execute(
        "SELECT DISTINCT step FROM metrics WHERE key <> 'epoch' AND (key LIKE 'train/%' OR "
        "key LIKE 'val/%' OR key LIKE 'test/%' OR key LIKE 'lr-%')")]
    db.close()
    assert steps
    for s in steps:
        assert s in ep, ("index: no epoch point at step", s, sorted(ep))
        assert ep[s] == s // BATCHES and float(ep[s]).is_integer(), ("index: epoch", s, ep[s])

    # --- the console ------------------------------------------------------
    lines = [ln for ln in re.split(r"[\r\n]", p.stdout) if " step " in ln and "finished:" not in ln]
    assert lines, p.stdout
    for ln in lines:
        m = re.search(r" epoch (\d+) step (\d+)", ln)
        assert m, ("console line without the epoch", ln)
        e, s = int(m.group(1)), int(m.group(2))
        assert e == s // BATCHES, ("console shows epoch %d at step %d" % (e, s), ln)

    cleanup(root)
    print("ok: %d logged steps, %d epoch points, %d console lines" %
          (len(metric_steps), len(epoch_pts), len(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
