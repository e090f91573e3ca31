#!/usr/bin/env bash
# scripts/gpu-check-device.sh — copied into the gpu-check pack as
# run-on-device.sh; runs on the GPU machine, from any directory:
#   1. the CUDA kernel tests (a missing GPU is a failure here, not a skip)
#   2. `lightc info` (CUDA runtime, driver, GPUs)
#   3. the CUDA benchmark (cuBLAS GEMM TFLOP/s vs peak, kernel GB/s, an MLP
#      step GPU vs CPU)
#   4. a 10-epoch Fashion-MNIST fit per precision on the GPU (32-true,
#      16-mixed, bf16-mixed, bf16-true, 16-true: test/acc, samples/s, the
#      DeviceStatsMonitor figures) into fit.log, and the CPU path's samples/s
#      for comparison
# Everything inside a 4-minute budget (each step's timeout is cut from what
# is left).
# Logs go to $OUT (the device tool's result folder) or ./gpu-check-out.
set -uo pipefail
pack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
t0=$SECONDS
status=0
summary() { echo "$*" | tee -a "$out/summary.txt"; }

# --- libraries ----------------------------------------------------------------
lib=$(mktemp -d)
tar -xzf "$pack/libs.tar.gz" -C "$lib"
# cuBLAS 13 is not carried (~600 MB): take the machine's own.
cublas_dir=""
py_cublas=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null || true)
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib \
         /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib \
         /usr/lib/x86_64-linux-gnu $py_cublas; do
  if [ -e "$d/libcublas.so.13" ]; then cublas_dir=$d; break; fi
done
export LD_LIBRARY_PATH="$lib${cublas_dir:+:$cublas_dir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
summary "gpu-check on $(hostname): cuBLAS from ${cublas_dir:-the default library path}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/nvidia-smi.txt"
if ldd "$pack"/bin/* | grep "not found" | sort -u | tee "$out/ldd-missing.txt" | grep -q .; then
  summary "FAIL: libraries missing on this machine (see ldd-missing.txt)"
  exit 1
fi

# Each step's timeout comes out of what is left of the 4 minutes, keeping a
# reserve for the steps after it, so the whole script stays inside them.
budget=235
left_for() { # left_for <reserve for what follows> <cap>: seconds this step may take
  local left=$((budget - (SECONDS - t0) - $1))
  [ "$left" -gt "$2" ] && left=$2
  echo "$left"
}

# --- 1. CUDA kernel tests -------------------------------------------------------
if LC_CUDA_REQUIRE_GPU=1 timeout "$(left_for 180 50)" "$pack/bin/test_cuda_kernels" > "$out/tests.log" 2>&1; then
  summary "tests: kernels passed ($(grep -c '^\[       OK \]' "$out/tests.log") tests)"
else
  status=1
  summary "tests: kernels FAILED (see tests.log)"
fi
tail -n 25 "$out/tests.log"
# the trainer on the GPU (backend ops vs the CPU's, fits, a cuda -> cpu resume,
# DeviceStatsMonitor), appended to the same log
echo "== test_cuda_trainer" >> "$out/tests.log"
if LC_CUDA_REQUIRE_GPU=1 timeout "$(left_for 150 45)" "$pack/bin/test_cuda_trainer" >> "$out/tests.log" 2>&1; then
  summary "tests: trainer on cuda passed"
else
  status=1
  summary "tests: trainer on cuda FAILED (see tests.log)"
fi

# NCCL (ddp on GPUs): the device collectives over one rank per GPU; it needs
# Open MPI on this machine to start its ranks, and says so when it is absent.
if [ -x "$pack/bin/test_cuda_dist_nccl" ]; then
  echo "== test_cuda_dist_nccl" >> "$out/tests.log"
  timeout "$(left_for 140 30)" "$pack/bin/test_cuda_dist_nccl" >> "$out/tests.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    summary "tests: NCCL collectives passed"
  elif [ "$rc" = 77 ]; then
    summary "tests: NCCL collectives not run: $(grep '^skip' "$out/tests.log" | tail -n 1)"
  else
    status=1
    summary "tests: NCCL collectives FAILED (see tests.log)"
  fi
fi

# --- 2. lightc info ---------------------------------------------------------------
"$pack/bin/lightc" info --root "$(mktemp -d)" > "$out/info.txt" 2>&1 || status=1
cat "$out/info.txt"

# --- 3. benchmark -----------------------------------------------------------------
if timeout "$(left_for 110 60)" "$pack/bin/bench_cuda" --require-gpu > "$out/bench.log" 2>&1; then
  summary "bench: done"
else
  status=1
  summary "bench: FAILED (see bench.log)"
fi
cat "$out/bench.log"

# --- 4. 10-epoch Fashion-MNIST fit per precision --------------------------------
# `lightc train` defaults (MLP 784-512-256-10, ReLU, dropout 0.2, AdamW 1e-3,
# StepLR, batch 128, seed 42) on the GPU, each precision; everything in one
# fit.log (the device tool returns at most 8 files). Pass: every fit completes
# with test/acc >= 0.87 (on the CPU all five reach 0.892-0.894 with these
# defaults) and the run has its device/* figures.
data="$pack/data/fashion-mnist"
fitroot=$(mktemp -d)
tmp=$(mktemp -d) # per-fit output, appended to fit.log (only 8 files come back)
: > "$out/fit.log"
fit_value() { sed -n "s|.*$1 \([0-9.]*\).*|\1|p" | tail -n 1; }
gpu_sps=""
for p in 32-true 16-mixed bf16-mixed bf16-true 16-true; do
  lim=$(left_for 20 45)
  if [ "$lim" -lt 10 ]; then
    status=1
    summary "fit $p: not run, out of time"
    continue
  fi
  echo "== fit $p (timeout ${lim}s)" >> "$out/fit.log"
  s0=$SECONDS
  if timeout "$lim" "$pack/bin/lightc" train --accelerator cuda --precision "$p" --data "$data" \
       --max-epochs 10 --root "$fitroot" --name "$p" --loggers sqlite,tensorboard,csv \
       --no-model-summary > "$tmp/fit-$p.out" 2>&1; then
    cat "$tmp/fit-$p.out" >> "$out/fit.log"
    acc=$(fit_value 'test/acc' < "$tmp/fit-$p.out")
    sps=$(fit_value 'samples/s' < "$tmp/fit-$p.out")
    [ "$p" = 32-true ] && gpu_sps=$sps
    "$pack/bin/lightc" runs show "fashion-mnist/$p" --root "$fitroot" > "$tmp/show-$p" 2>&1
    grep -E '^  (device/|precision/|perf/|accelerator )' "$tmp/show-$p" >> "$out/fit.log"
    bar=0.87
    ok=$(awk -v a="${acc:-0}" -v b="$bar" 'BEGIN { print (a >= b) ? 1 : 0 }')
    devfig=$(grep -c 'device/step_ms\|device/memory_used_mb' "$tmp/show-$p" || true)
    if [ "$ok" = 1 ] && [ "${devfig:-0}" -gt 0 ]; then
      summary "fit $p: test/acc $acc, samples/s $sps, $((SECONDS - s0))s"
    else
      status=1
      summary "fit $p: FAILED: test/acc ${acc:-none} (bar $bar), device figures: ${devfig:-0} (see fit.log)"
    fi
  else
    cat "$tmp/fit-$p.out" >> "$out/fit.log"
    status=1
    summary "fit $p: FAILED or timed out after $((SECONDS - s0))s (see fit.log)"
  fi
done

# The CPU path of the same fit, for the comparison (100 batches: a rate, not
# a model).
lim=$(left_for 5 30)
if [ "$lim" -ge 5 ] && timeout "$lim" "$pack/bin/lightc" train --accelerator cpu --data "$data" \
     --max-epochs 1 --limit-train-batches 100 --limit-val-batches 10 --limit-test-batches 10 \
     --root "$fitroot" --name cpu --loggers sqlite --no-model-summary --no-checkpoint \
     > "$tmp/fit-cpu.out" 2>&1; then
  echo "== cpu 32-true, 100 batches" >> "$out/fit.log"
  cat "$tmp/fit-cpu.out" >> "$out/fit.log"
  cpu_sps=$(fit_value 'samples/s' < "$tmp/fit-cpu.out")
  speedup=$(awk -v g="${gpu_sps:-0}" -v c="${cpu_sps:-0}" 'BEGIN { if (c > 0) printf "%.1f", g / c; else print "?" }')
  summary "bench: lightc train samples/s, 32-true: cuda ${gpu_sps:-?} vs cpu ${cpu_sps:-?} ($(nproc) cores): x$speedup"
else
  summary "bench: cpu path not measured (out of time or failed)"
fi
rm -rf "$tmp"

elapsed=$((SECONDS - t0))
summary "elapsed: ${elapsed}s (budget 240s)"
if [ "$elapsed" -gt 240 ]; then
  summary "FAIL: over the 4-minute budget"
  status=1
fi
summary "gpu-check: $([ "$status" = 0 ] && echo PASSED || echo FAILED)"
exit "$status"
