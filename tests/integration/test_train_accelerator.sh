#!/usr/bin/env bash
# tests/integration/test_train_accelerator.sh — `lightc train --accelerator`
# and `--devices` (Lightning's names): on a machine without a usable GPU,
# --accelerator cuda (and its alias gpu) exits 2 with a message saying
# which is missing — CUDA not compiled into this build, or no GPU — and
# what to do; --devices 2 with strategy single_device asks for ddp, and
# --num-nodes 2 typed on one machine names the launchers (the ddp runs
# themselves are tests/integration/test_train_ddp*.py); auto trains on the
# cpu and records the accelerator. On a machine with a GPU the error part
# is skipped (the fits are in scripts/gpu-check). Skipped (77) without the
# data set.
set -euo pipefail
build=${LC_BUILD_DIR:?}
lightc="$build/lightc"
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "skip: no $data (install dataset-fashion-mnist)"; exit 77; }
mkdir -p "${LC_TEST_TMP:-/tmp}"
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/train-accel-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$lightc" train --help > "$tmp/help"
grep -q -- '--accelerator A .*cuda' "$tmp/help" || fail "--help does not offer --accelerator cuda"
grep -q -- '--devices N' "$tmp/help" || fail "--help does not list --devices"

"$lightc" info --root "$tmp/info" > "$tmp/info.txt"
cuda_line=$(grep '^CUDA' "$tmp/info.txt")
echo "$cuda_line"

expect_error() { # want-substring args...
    local want=$1
    shift
    set +e
    "$lightc" train --root "$tmp/bad" --data "$data" "$@" > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    set -e
    [ "$rc" = 2 ] || { cat "$tmp/err"; fail "lightc train $* exited $rc, want 2"; }
    grep -q -- "$want" "$tmp/err" || { cat "$tmp/err"; fail "lightc train $*: no '$want' in the message"; }
    [ ! -e "$tmp/bad/index.db" ] || fail "lightc train $* started a run"
}

if echo "$cuda_line" | grep -q 'available: yes'; then
    echo "a GPU is usable here: the no-GPU errors are not checked"
else
    if echo "$cuda_line" | grep -q 'compiled: no'; then
        want="built without CUDA"
    else
        want="CUDA is compiled in but no GPU can be used"
    fi
    for a in cuda gpu; do
        expect_error "$want" --accelerator "$a" --max-epochs 1
        grep -q 'accelerator cpu' "$tmp/err" || fail "--accelerator $a: the message does not say to use the cpu"
    done
    echo "--accelerator cuda: $(cat "$tmp/err")"
fi
expect_error "needs strategy ddp" --devices 2 --strategy single_device
if "$lightc" info | grep -q "mpi: yes"; then
    expect_error "mpirun --hostfile" --devices 2 --num-nodes 2
else
    expect_error "needs MPI" --devices 2
fi
expect_error "use auto, ddp or single_device" --strategy fsdp
expect_error "not available in lightc" --accelerator tpu
expect_error "use auto, cpu or cuda" --accelerator quantum
expect_error "expected a whole number" --devices two

# auto: the cpu here (or the GPU when there is one); the run records it
"$lightc" train --root "$tmp/runs" --data "$data" --name auto --max-epochs 1 \
    --limit-train-batches 5 --limit-val-batches 2 --limit-test-batches 2 --loggers sqlite \
    --no-model-summary --devices 1 > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err"; fail "auto run failed"; }
grep -q '^test/acc .*samples/s [0-9]* (\(cpu\|cuda\), 32-true)' "$tmp/out" || { cat "$tmp/out"; fail "no samples/s on the summary line"; }
"$lightc" runs show fashion-mnist/auto --root "$tmp/runs" > "$tmp/show"
grep -Eq '^  accelerator +(cpu|cuda)$' "$tmp/show" || { cat "$tmp/show"; fail "the run has no accelerator tag"; }
if ! echo "$cuda_line" | grep -q 'available: yes'; then
    grep -Eq '^  accelerator +cpu$' "$tmp/show" || fail "auto did not run on the cpu here"
    ! grep -q 'device/' "$tmp/show" || fail "a cpu run logged device/* figures by default"
fi
echo "ok"
