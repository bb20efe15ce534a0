#!/usr/bin/env bash
# effc tensor-core GEMM on the GPU machine: correctness checks, timed GPT-2 /
# Llama-1B / 8192^3 GEMMs (with a sweep over candidate tiles), the cuBLAS
# peer (torch.matmul), SASS instruction counts of one kernel, then one table.
#
#   bench/gemm/run.sh        (from anywhere; ~1-2 minutes on an H100)
#
# env: BENCH=path to effc-gemm-bench (default build-gemm/bin/effc-gemm-bench,
#      built with -DEFFC_RUNTIME_ONLY=ON if missing: needs protobuf, which the
#      GPU machine lacks, so carry build-gemm/bin from the dev machine);
#      NO_SWEEP=1 times only the chosen tiles; OUT=dir for the logs.
# Exit 1 when any GEMM (checked or timed: each timed tile is checked too)
# fails, when a step fails or prints no result, or the cuBLAS peer fails.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
failed=0
# results FILE: prints "N pass, M fail" of its RESULT lines; status 1 on a
# FAIL or when there is no RESULT line at all.
results() {
  local pass fail
  pass=$(grep -c '^RESULT .* status=PASS' "$1"); fail=$(grep -c '^RESULT ' "$1"); fail=$((fail - pass))
  echo "$pass pass, $fail fail"
  ((pass > 0 && fail == 0))
}
out=${OUT:-$root/build-gemm/out}
mkdir -p "$out"
bench=${BENCH:-$root/build-gemm/bin/effc-gemm-bench}

if [ ! -x "$bench" ]; then
  echo "== building effc-gemm-bench ($bench is missing)"
  if ! { cmake -G Ninja -S . -B build-gemm -DEFFC_RUNTIME_ONLY=ON -DEFFC_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release &&
         ninja -C build-gemm effc-gemm-bench; } > "$out/build.log" 2>&1; then
    tail -20 "$out/build.log"
    echo "build failed: carry build/bin/effc-gemm-bench from a machine that builds effc (BENCH=path)"
    exit 1
  fi
  bench=$root/build-gemm/bin/effc-gemm-bench
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null

t0=$SECONDS
echo "== correctness (--check)"
"$bench" --check > "$out/check.txt" 2> "$out/check.err"
rc=$?; ((rc == 0)) || failed=1
summary=$(results "$out/check.txt") || failed=1
echo "exit $rc ($((SECONDS - t0)) s); $summary"
tail -3 "$out/check.err"

t0=$SECONDS
sweep=--sweep
[ -n "${NO_SWEEP:-}" ] && sweep=--perf
echo "== timed problems ($sweep)"
"$bench" $sweep > "$out/perf.txt" 2> "$out/perf.err"
rc=$?; ((rc == 0)) || failed=1
summary=$(results "$out/perf.txt") || failed=1
echo "exit $rc ($((SECONDS - t0)) s); $summary"
tail -3 "$out/perf.err"

t0=$SECONDS
echo "== cuBLAS peer (torch.matmul)"
python3 bench/gemm/cublas_peer.py > "$out/peer.txt" 2> "$out/peer.err"
rc=$?; ((rc == 0)) && grep -q '^PEER ' "$out/peer.txt" || failed=1
echo "exit $rc ($((SECONDS - t0)) s); $(grep -c '^PEER ' "$out/peer.txt") peer rows"
tail -3 "$out/peer.err"

# What ptxas made of the 8192^3 bf16 kernel (nvcc's ptxas, same as NVRTC's).
if command -v cuobjdump > /dev/null || [ -x /usr/local/cuda/bin/cuobjdump ]; then
  PATH=$PATH:/usr/local/cuda/bin
  mkdir -p "$out/src"
  "$bench" --compile-only --perf --dtypes=bf16 --shapes=8192x8192x8192 --dump="$out/src" > /dev/null 2>&1
  k=$(find "$out/src" -name 'p*_tcg_0.cu' 2> /dev/null | sort | head -1)
  if [ -n "$k" ] && nvcc -cubin -arch=sm_90 -o "$out/k.cubin" "$k" 2> /dev/null; then
    cuobjdump -sass "$out/k.cubin" > "$out/k.sass"
    echo "== SASS of $(basename "$k") (8192^3 bf16): $(grep -c HMMA "$out/k.sass") HMMA, $(grep -c LDSM "$out/k.sass") LDSM," \
      "$(grep -c LDGSTS "$out/k.sass") LDGSTS, $(grep -c BAR.SYNC "$out/k.sass") BAR.SYNC, $(grep -cE 'LDL|STL' "$out/k.sass") LDL/STL"
  fi
fi

echo
python3 bench/gemm/report.py "$out/check.txt" "$out/perf.txt" "$out/peer.txt" || failed=1
if ((failed)); then
  echo "bench_gemm: FAILED (a check, a timed GEMM's check, a step or the peer; logs: $out)"
  exit 1
fi
echo "bench_gemm: every checked and timed GEMM passed"
