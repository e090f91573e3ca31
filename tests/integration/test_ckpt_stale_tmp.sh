#!/usr/bin/env bash
# tests/integration/test_ckpt_stale_tmp.sh — issue 7, defect 3: the
# `<name>.ckpt.tmp-<pid>` files a killed writer leaves in a checkpoint
# directory are removed by the next run of that directory, and reported on
# stderr; a temp file whose writer may still be alive is kept. Planted in a
# run's checkpoints/ before `--resume last`:
#   - tmp of a pid that no longer exists               -> removed
#   - tmp of a live pid, written after it started      -> kept (a live writer)
#   - tmp of a live pid, written before it started     -> removed (pid reused)
#   - a file that only looks similar (notes.tmp-<pid>) -> kept
# Skipped (77) without the data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
mkdir -p "${LC_TEST_TMP:-/tmp}" # may run before any test made it
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/ckpt-stale-XXXXXX")
live=
cleanup() { [ -n "$live" ] && kill "$live" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

common=(--limit-train-batches 5 --limit-val-batches 1 --limit-test-batches 1 --max-epochs 10
        --threads 1 --name run --loggers sqlite,csv --no-model-summary)
"$lightc" train --root "$tmp" --max-steps 5 "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "first run"; }
ck="$tmp/fashion-mnist/run/checkpoints"
[ -d "$ck" ] || fail "no checkpoint directory"

dead=$(sh -c 'echo $$')          # a process that has exited
sleep 300 & live=$!              # a process that is alive during the test
sleep 0.2
head -c 1000000 /dev/zero > "$ck/epoch=3-step=20.ckpt.tmp-$dead"
head -c 1000000 /dev/zero > "$ck/epoch=4-step=25.ckpt.tmp-$live"
# written before the live process started: touch its time an hour back
head -c 1000000 /dev/zero > "$ck/epoch=6-step=35.ckpt.tmp-$live"
touch -d '1 hour ago' "$ck/epoch=6-step=35.ckpt.tmp-$live"
echo keep > "$ck/notes.tmp-$dead"

"$lightc" train --root "$tmp" --max-steps 10 --resume last "${common[@]}" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "resumed run"; }
[ ! -e "$ck/epoch=3-step=20.ckpt.tmp-$dead" ] || { cat "$tmp/log"; fail "the temp file of a dead pid was kept"; }
[ ! -e "$ck/epoch=6-step=35.ckpt.tmp-$live" ] || { cat "$tmp/log"; fail "a temp file older than its pid's process was kept"; }
[ -e "$ck/epoch=4-step=25.ckpt.tmp-$live" ] || fail "the temp file of a live writer was removed"
[ -e "$ck/notes.tmp-$dead" ] || fail "a file that is not a checkpoint temp file was removed"
grep -q "removed 2 stale checkpoint temp files" "$tmp/log" || { cat "$tmp/log"; fail "the removal is not reported on stderr"; }
ls "$ck"/*.ckpt > /dev/null || fail "the resumed run wrote no checkpoint"
echo ok
