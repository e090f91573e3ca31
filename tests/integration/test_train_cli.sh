#!/usr/bin/env bash
# tests/integration/test_train_cli.sh — `lightc train` end to end on
# Fashion-MNIST with small batch limits: the flags (help, bad values exit
# 2), the run it writes (index keys, status, checkpoint, metrics.csv,
# TensorBoard file, hparams.yaml), and the run-identity rules (an existing
# run needs --resume; --resume last without a checkpoint starts fresh; a
# corrupted checkpoint is refused), and a 16-mixed run with its precision
# events. Skipped (77) without the data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
py=${LC_VENV:-$build/venv}/bin/python
[ -x "$py" ] || py=python3
mkdir -p "${LC_TEST_TMP:-/tmp}" # may run before any test made it
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/train-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- help and bad values ----------------------------------------------------
"$lightc" train --help > "$tmp/help"
for flag in max-epochs max-steps log-every-n-steps limit-train-batches limit-val-batches \
            val-check-interval accumulate-grad-batches gradient-clip-val precision accelerator \
            seed root experiment name loggers resume batch-size lr optimizer hidden threads \
            histogram-every-n-steps; do
    grep -q -- "--$flag" "$tmp/help" || fail "--help does not list --$flag"
done
grep -q -- '--max-epochs N .*\[10\]' "$tmp/help" || fail "--help does not show the --max-epochs default"
grep -q 'sqlite,tensorboard,csv,console' "$tmp/help" || fail "--help does not show the --loggers default"

expect_usage() { # args... : exit status 2 and a message naming the flag
    set +e
    "$lightc" train --root "$tmp/bad" "$@" > /dev/null 2> "$tmp/err"
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "lightc train $* exited $rc, want 2"
    [ -s "$tmp/err" ] || fail "lightc train $* printed no message"
}
expect_usage --max-epochs abc
expect_usage --max-epochs 0
expect_usage --limit-train-batches 1.5
expect_usage --limit-val-batches -1
expect_usage --optimizer adagrad
expect_usage --precision fp8
grep -q '32-true, 16-mixed, bf16-mixed, 16-true, bf16-true' "$tmp/err" || fail "the precision error does not list the valid values"
expect_usage --accumulate-grad-batches 0
expect_usage --hidden 512,,x
expect_usage --resume ""
expect_usage --no-such-flag
# empty or garbage values are errors that say what to do, not silent choices
expect_usage --loggers ,
grep -q 'none' "$tmp/err" || fail "the --loggers error does not offer none"
expect_usage --loggers ""
expect_usage --loggers " , "
expect_usage --loggers sqlite,,csv
expect_usage --loggers none,csv
expect_usage --loggers sqlite,bogus
grep -q 'tensorboard' "$tmp/err" || fail "the --loggers error does not list the loggers"
expect_usage --experiment ""
expect_usage --name ""
expect_usage --root ""
expect_usage --data ""
expect_usage --hidden ""
grep -q 'hidden' "$tmp/err" || fail "the --hidden error does not name the flag"
expect_usage --hidden 512,
expect_usage --hidden 512,-3
expect_usage --lr-scheduler ""
expect_usage --early-stopping ""
expect_usage --max-time -1:00:00:00
expect_usage --max-time " 1:00:00:00"
expect_usage --max-epochs 5x
expect_usage --max-steps -2
expect_usage --batch-size 0
expect_usage --lr 1e-3junk
expect_usage --lr nan
expect_usage --seed -1
expect_usage --save-top-k -2
expect_usage --limit-train-batches 10x
expect_usage --dropout ""
expect_usage --threads ""
for v in "," " " "sqlite,,csv" "bogus"; do # LIGHTC_LOGGERS follows the same rules
    set +e
    LIGHTC_LOGGERS="$v" "$lightc" train --root "$tmp/bad" > /dev/null 2> "$tmp/err"
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "LIGHTC_LOGGERS='$v' exited $rc, want 2"
    grep -q LIGHTC_LOGGERS "$tmp/err" || fail "the error does not name LIGHTC_LOGGERS"
done
[ ! -e "$tmp/bad/index.db" ] || fail "a usage error wrote a run"
[ ! -e "$tmp/bad" ] || fail "a usage error created the root"

# --- a short run ----------------------------------------------------------------
limits=(--limit-train-batches 20 --limit-val-batches 5 --limit-test-batches 5 --log-every-n-steps 5
        --root "$tmp/runs" --loggers sqlite,tensorboard,csv)
"$lightc" train --max-epochs 2 --name t1 "${limits[@]}" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "train failed"; }
grep -q '^test/acc ' "$tmp/out" || fail "no test/acc summary line"
grep -q 'Total params' "$tmp/out" || fail "no model summary"
run="$tmp/runs/fashion-mnist/t1"
[ -f "$run/checkpoints/epoch=1-step=40.ckpt" ] || { ls -R "$run"; fail "no checkpoint epoch=1-step=40.ckpt"; }
[ -f "$run/metrics.csv" ] || fail "no metrics.csv"
[ -f "$run/hparams.yaml" ] || fail "no hparams.yaml"
ls "$run"/events.out.tfevents.* > /dev/null || fail "no TensorBoard event file"

"$py" - "$tmp/runs/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
keys = sorted(k for (k,) in db.execute("SELECT DISTINCT key FROM metrics"))
want = ["epoch", "lr-AdamW", "test/acc", "test/loss", "train/acc", "train/loss", "val/acc", "val/loss"]
assert keys == want, keys
# train step metrics every 5 steps: steps 4, 9, ..., 39
steps = [s for (s,) in db.execute("SELECT step FROM metrics WHERE key='train/loss' ORDER BY step")]
assert steps == list(range(4, 40, 5)), steps
# "epoch" with every logged step (Lightning's staircase), value = the step's epoch
ep = list(db.execute("SELECT step, value FROM metrics WHERE key='epoch' ORDER BY step"))
assert ep == [(s, float(s // 20)) for s in [0, 4, 9, 14, 19, 20, 24, 29, 34, 39, 40]], ep
(acc,) = db.execute("SELECT value FROM metrics WHERE key='test/acc'").fetchone()
assert 0.3 < acc <= 1.0, acc
(status,) = db.execute("SELECT status FROM runs WHERE name='t1'").fetchone()
assert status == "finished", status
tags = dict(db.execute("SELECT key, value FROM tags"))
for k in ("seed", "blas", "threads"):
    assert k in tags, (k, sorted(tags))
assert tags["seed"] == "42", tags["seed"]
params = dict(db.execute("SELECT key, value FROM params"))
assert any(k.startswith("optimizer") for k in params), sorted(params)
print("index ok:", keys)
PY

# --- run identity ----------------------------------------------------------------
set +e
"$lightc" train --max-epochs 1 --name t1 "${limits[@]}" > "$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "an existing run without --resume exited $rc, want 1"
grep -q -- '--resume' "$tmp/out" || fail "the error does not mention --resume"

"$lightc" train --max-epochs 1 --name t2 --resume last "${limits[@]}" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "--resume last without a checkpoint failed"; }
grep -q 'starting the run fresh' "$tmp/out" || fail "no warning for --resume last without a checkpoint"

cp "$run/checkpoints/epoch=1-step=40.ckpt" "$tmp/torn.ckpt"
truncate -s 100000 "$tmp/torn.ckpt"
set +e
"$lightc" train --max-epochs 3 --name t1 --resume "$tmp/torn.ckpt" "${limits[@]}" > "$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "a torn checkpoint exited $rc, want 1"
grep -q 'refused' "$tmp/out" || { cat "$tmp/out"; fail "the torn checkpoint error does not say refused"; }

# --- 16-mixed (alias 16): the precision events and the run param ------------------
"$lightc" train --max-epochs 1 --name t16 --precision 16 "${limits[@]}" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "16-mixed train failed"; }
"$py" - "$tmp/runs/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(rid,) = db.execute("SELECT run_id FROM runs WHERE name='t16'").fetchone()
keys = {k for (k,) in db.execute("SELECT DISTINCT key FROM metrics WHERE run_id=?", (rid,))}
for k in ("precision/loss_scale", "precision/skipped_steps", "precision/overflows"):
    assert k in keys, (k, sorted(keys))
steps = [s for (s,) in db.execute("SELECT step FROM metrics WHERE run_id=? AND key='precision/loss_scale' ORDER BY step", (rid,))]
assert steps == [4, 9, 14, 19], steps
params = dict(db.execute("SELECT key, value FROM params WHERE run_id=?", (rid,)))
assert params.get("precision") == "16-mixed", params.get("precision")
(acc,) = db.execute("SELECT value FROM metrics WHERE run_id=? AND key='test/acc'", (rid,)).fetchone()
assert 0.3 < acc <= 1.0, acc
print("16-mixed ok")
PY

# --- fast_dev_run writes nothing ---------------------------------------------------
"$lightc" train --fast-dev-run 3 --root "$tmp/fdr" > /dev/null 2>&1 || fail "fast-dev-run failed"
[ ! -e "$tmp/fdr/index.db" ] || fail "fast-dev-run wrote a run"
echo "ok"
