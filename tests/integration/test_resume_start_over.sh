#!/usr/bin/env bash
# tests/integration/test_resume_start_over.sh — issue 7, defect 1:
# `lightc train --resume last` for a run whose only checkpoint is unusable
# starts the run over, clean. A 30-step attempt is made, its checkpoint
# corrupted, then `--resume last --max-steps 20` runs: the run must read
# exactly like a fresh 20-step run with the same seed — in the index (no
# point of the earlier attempt, e.g. nothing at step >= 20), in
# metrics.csv (no duplicate rows) and in TensorBoard (one events file, each
# train/loss point once, read with EventAccumulator) — and the replacement
# is reported on stderr and in the run's counters ("discarded").
# Skipped (77) without the data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
py=${LC_VENV:-$build/venv}/bin/python
[ -x "$py" ] || py=python3
mkdir -p "${LC_TEST_TMP:-/tmp}" # may run before any test made it
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/resume-start-over-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

common=(--limit-train-batches 10 --limit-val-batches 2 --limit-test-batches 2 --log-every-n-steps 1
        --max-epochs 10 --threads 1 --seed 3 --name run --loggers sqlite,tensorboard,csv
        --no-model-summary)
"$lightc" train --root "$tmp/fresh" --max-steps 20 "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "fresh run"; }
"$lightc" train --root "$tmp/over" --max-steps 30 "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "first attempt"; }
run="$tmp/over/fashion-mnist/run"
ckpts=("$run"/checkpoints/*.ckpt)
[ -f "${ckpts[0]}" ] || fail "the first attempt wrote no checkpoint"
for c in "${ckpts[@]}"; do truncate -s 100 "$c"; done # torn: refused, so no usable checkpoint
sleep 1 # a new events file name (its seconds) must differ from the old one's
"$lightc" train --root "$tmp/over" --max-steps 20 --resume last "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "--resume last with an unusable checkpoint"; }
grep -q 'starting the run over' "$tmp/log" || { cat "$tmp/log"; fail "no warning that the run starts over"; }
grep -Eq 'started over: [1-9][0-9]* points' "$tmp/log" || { cat "$tmp/log"; fail "the replaced points are not reported on stderr"; }

a="$tmp/fresh/fashion-mnist/run" b="$run"
diff <(sort "$a/metrics.csv") <(sort "$b/metrics.csv") > "$tmp/csvdiff" || { head "$tmp/csvdiff"; fail "metrics.csv differs from a fresh run's"; }
[ "$(sort "$b/metrics.csv" | uniq -d | wc -l)" = 0 ] || fail "metrics.csv has duplicate rows"

"$py" - "$tmp/fresh" "$tmp/over" <<'PY'
import os, sqlite3, sys
def index(root):
    db = sqlite3.connect(os.path.join(root, "index.db"))
    runs = list(db.execute("SELECT run_id, status FROM runs"))
    assert len(runs) == 1 and runs[0][1] == "finished", runs
    pts = list(db.execute("SELECT key, step, value FROM metrics ORDER BY key, step"))
    counters = dict(db.execute("SELECT name, value FROM counter"))
    return pts, counters
(a, _), (b, cb) = index(sys.argv[1]), index(sys.argv[2])
assert a == b, ("index differs from a fresh run's", sorted(set(b) - set(a))[:5], sorted(set(a) - set(b))[:5])
assert max(s for k, s, v in b if k == "train/loss") == 19, "points of the earlier attempt are left"
assert cb.get("discarded", 0) > 0, ("the replacement is not counted", cb)
print("index: %d points, as a fresh run; %d points of the earlier attempt discarded" % (len(b), cb["discarded"]))
try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    print("tensorboard not installed in the venv: TensorBoard check skipped")
    sys.exit(0)
d = os.path.join(sys.argv[2], "fashion-mnist", "run")
files = [f for f in os.listdir(d) if "tfevents" in f]
assert len(files) == 1, ("the earlier attempt's events files are left", files)
acc = EventAccumulator(d, size_guidance={"scalars": 0})
acc.Reload()
steps = [e.step for e in acc.Scalars("train/loss")]
assert steps == list(range(20)), steps
want = {(k, s) for k, s, v in b}
have = [(t, e.step) for t in acc.Tags()["scalars"] for e in acc.Scalars(t)]
assert sorted(have) == sorted(want), (sorted(set(have) ^ want)[:5], len(have), len(want))
print("tensorboard: one events file, every point once")
PY
echo ok
