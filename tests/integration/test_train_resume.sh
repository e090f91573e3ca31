#!/usr/bin/env bash
# tests/integration/test_train_resume.sh — the resume acceptance check:
# `lightc train` for 2 epochs, then `--resume last` to 4, must read as one
# continuous run whose metrics are bit-identical to an uninterrupted
# 4-epoch run with the same seed and thread count — in the run index
# (key, step, value), in metrics.csv, and in TensorBoard (read back with
# the tensorboard package's EventAccumulator, which drops the points the
# resumed run re-logged). Small --limit-train-batches keep it to seconds.
# Skipped (77) without the data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
py=${LC_VENV:-$build/venv}/bin/python
mkdir -p "${LC_TEST_TMP:-/tmp}" # may run before any test made it
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/train-resume-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

common=(--limit-train-batches 25 --limit-val-batches 6 --limit-test-batches 6 --log-every-n-steps 5
        --threads 2 --seed 7 --name run --loggers sqlite,tensorboard,csv --no-model-summary
        --histogram-every-n-steps 20)
"$lightc" train --root "$tmp/straight" --max-epochs 4 "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "uninterrupted run"; }
"$lightc" train --root "$tmp/resumed" --max-epochs 2 "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "first half"; }
"$lightc" train --root "$tmp/resumed" --max-epochs 4 --resume last "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "resumed half"; }

a="$tmp/straight/fashion-mnist/run" b="$tmp/resumed/fashion-mnist/run"
diff <(sort "$a/metrics.csv") <(sort "$b/metrics.csv") > "$tmp/csvdiff" || { head "$tmp/csvdiff"; fail "metrics.csv differs"; }

[ -x "$py" ] || py=python3
"$py" - "$tmp/straight" "$tmp/resumed" <<'PY'
import sqlite3, sys, glob, os
def points(root):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    runs = list(db.execute("SELECT run_id, status FROM runs"))
    assert len(runs) == 1 and runs[0][1] == "finished", runs
    return list(db.execute("SELECT key, step, value FROM metrics ORDER BY key, step"))
a, b = points(sys.argv[1]), points(sys.argv[2])
assert len(a) > 50, len(a)
assert a == b, [x for x in zip(a, b) if x[0] != x[1]][:5]
epochs = [p for p in a if p[0] == "epoch"]
# the epoch staircase: every point is its step's epoch (25 steps each; the
# test results at step 100 carry epoch 4), and each epoch end has its point
assert all(v == s // 25 for _, s, v in epochs), epochs
assert [(s, v) for _, s, v in epochs if s % 25 == 24] == [(24, 0), (49, 1), (74, 2), (99, 3)], epochs
print("index: %d points identical" % len(a))
try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    print("tensorboard not installed in the venv: TensorBoard check skipped")
    sys.exit(0)
def tb(root):
    acc = EventAccumulator(os.path.join(root, "fashion-mnist", "run"), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
ta, tb_ = tb(sys.argv[1]), tb(sys.argv[2])
assert sorted(ta) == sorted(tb_), (sorted(ta), sorted(tb_))
for tag in ta:
    sa, sb = sorted(ta[tag]), sorted(tb_[tag])
    assert sa == sb, (tag, sa[:3], sb[:3], len(sa), len(sb))
print("tensorboard: %d tags identical" % len(ta))
PY
echo ok
