#!/usr/bin/env bash
# Issue 18: effc's MoE expert GEMMs on sm_90a with the mma.sync kernel (the
# default tiles) and the wgmma kernel in the same runs, against the same
# cuBLAS timing, to decide moe::kMoEWgmmaByDefault
# (compiler/codegen/moe/MoEKernels.h). One GPU call on an H100/H200 (sm_90a):
#   test/gpu/moe_variants.sh BIN_DIR SHARED_DIR
#     BIN_DIR     effc-moe-bench, effc, effc-run (static builds travel)
#     SHARED_DIR  ../shared (models/mixtral-dynamo and its test data)
# cuBLAS is dlopen()ed by the bench: the loader's libcublas, else the one in
# torch's nvidia-cublas wheel (as moe_bench_s16.sh finds it).
# 1. effc-moe-bench --check --variants=default,wgmma: the small layers (bf16,
#    fp16, fp32, every routing, shared experts, decode and prefill rows) with
#    both kernels against the reference.
# 2. The compiler's path: mixtral-dynamo (bf16, input_ids 2x16 as its test
#    data: 32 tokens, sorted rows; the gate/up GEMM fits wgmma, its down (N
#    128) does not) compiled
#    --arch=sm_90a with --gemm=mma and --gemm=wgmma, the CUDA source checked
#    for moe_grouped_wgmma (wgmma) or its absence (mma), each run on CUDA
#    against the model's reference at models.txt's bf16 tolerance (2e-2).
# 3. effc-moe-bench --perf --variants=default,wgmma at TOKENS (default
#    1,8,64,512,4096) for the Mixtral-8x7B and Qwen-MoE layers, REPEATS runs
#    (default 3; separate processes, so a crash rate shows too). Each run
#    alternates cuBLAS, default and wgmma call by call (--reps each).
# Prints last, per layer and token count, medians over the runs: us of
# cuBLAS, default and wgmma, cuBLAS/default, cuBLAS/wgmma, default/wgmma
# (> 1: wgmma faster), the floor and default/floor (the decode target is
# <= 1.3 at 1-8 tokens), and the spread of the default's time (max/min over
# the runs). Raw logs: ${OUT:-/tmp}/moe-variants. Exit 1 on any failed
# check, crash or missing table.
set -uo pipefail
me=moe_variants
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/moe_variants.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd) || fail_setup "BIN_DIR not found: $1"
shared=$2
bench=$bin/effc-moe-bench
need_exec "$bench" "$bin/effc" "$bin/effc-run"
model=$shared/models/mixtral-dynamo
need_dir "$model/test_data_set_0" "mixtral-dynamo's test data"
need_cmd python3 timeout
log=${OUT:-/tmp}/moe-variants
rm -rf "$log" && mkdir -p "$log"
tokens=${TOKENS:-1,8,64,512,4096}
repeats=${REPEATS:-3}
variants=default,wgmma
start=$SECONDS
say() { echo "[$((SECONDS - start)) s] $*"; }
status=0
use_pip_cublas
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader 2>/dev/null

# crashed RC: the exit status of a process killed by a signal (the bench
# prints the phase and a backtrace on stderr first).
crashed() { (($1 > 128 && $1 != 124)); }

timeout 300 "$bench" --check --variants=$variants >"$log/check.txt" 2>&1
rc=$?
say "1. check: rc=$rc, $(grep -c ' PASS$' "$log/check.txt") PASS, $(grep -c -E ' FAIL( \(|$)' "$log/check.txt") FAIL"
grep -E ' FAIL( \(|$)' "$log/check.txt" | head -5
crashed $rc && { echo "crashed:"; grep -A12 'effc-moe-bench: SIG' "$log/check.txt"; }
((rc == 0)) || status=1

for gemm in mma wgmma; do
  art=$log/mixtral-$gemm.effc
  flags=(--shape input_ids=2x16 --dtype=bf16 --arch=sm_90a --gemm=$gemm)
  if ! "$bin/effc" "$model/model.onnx" "${flags[@]}" -o "$art" >"$log/effc-$gemm.txt" 2>&1 ||
    ! "$bin/effc" "$model/model.onnx" "${flags[@]}" --emit=cuda >"$log/mixtral-$gemm.cu" \
      2>>"$log/effc-$gemm.txt"; then
    say "2. mixtral-dynamo --gemm=$gemm: compile FAIL"; tail -3 "$log/effc-$gemm.txt"; status=1; continue
  fi
  n=$(grep -c 'moe_grouped_wgmma<k[0-9]*_moe_expert_gemm_cfg>' "$log/mixtral-$gemm.cu")
  if [[ $gemm == wgmma && $n == 0 ]] || [[ $gemm == mma && $n != 0 ]]; then
    say "2. mixtral-dynamo --gemm=$gemm: FAIL ($n moe_grouped_wgmma launches in its CUDA source)"
    status=1
  fi
  timeout 300 "$bin/effc-run" "$art" --backend=cuda --test-data "$model/test_data_set_0" \
    --rtol 2e-2 >"$log/run-$gemm.txt" 2>&1
  rc=$?
  say "2. mixtral-dynamo bf16 --gemm=$gemm ($n wgmma expert GEMMs): rc=$rc; $(tail -1 "$log/run-$gemm.txt")"
  ((rc == 0)) || status=1
done

for r in $(seq 1 "$repeats"); do
  timeout 420 "$bench" --perf --variants=$variants --tokens="$tokens" >"$log/perf-$r.txt" 2>&1
  rc=$?
  say "3. perf run $r: rc=$rc, $(grep -c ' PASS$' "$log/perf-$r.txt") PASS, $(grep -c -E ' FAIL( \(|$)' "$log/perf-$r.txt") FAIL"
  grep -E ' FAIL( \(|$)' "$log/perf-$r.txt" | head -3
  crashed $rc && { echo "crashed:"; grep -A12 'effc-moe-bench: SIG' "$log/perf-$r.txt"; }
  ((rc == 0)) || status=1
done
grep -h '^floor:' "$log/perf-1.txt" 2>/dev/null

PYTHONPATH=$here python3 - "$log" "$repeats" <<'EOF' || status=1
import sys
from moe_bench_results import fmt, med, perf_rows, pmed, ratio
log, repeats = sys.argv[1], int(sys.argv[2])
# (us, cub/x, x/flr) per bench variant from field 8: default, wgmma.
rows = perf_rows(log, repeats, {"cub": 3, "floor": 4, "dflt": 8, "wg": 11})
if not rows:
    print("moe_variants: no perf table in any run")
    sys.exit(1)
print(f"\n== moe_variants: medians over {repeats} runs (cuBLAS, default, wgmma timed in the same "
      "runs; ratios: the median of each run's ratio)")
print(f"{'layer':14} {'T':>5} {'runs':>4} {'cublas_us':>9} {'dflt_us':>9} {'wgmma_us':>9} "
      f"{'cub/dflt':>8} {'cub/wgmma':>9} {'dflt/wgmma':>10} {'floor_us':>8} {'dflt/flr':>8} {'spread':>6}")
for (name, t), runs in sorted(rows.items()):
    c, d, w, fl = med(runs, "cub"), med(runs, "dflt"), med(runs, "wg"), med(runs, "floor")
    ds = [x["dflt"] for x in runs if x["dflt"]]
    spread = max(ds) / min(ds) if ds else None
    print(f"{name:14} {t:5} {len(runs):4} {fmt(c):>9} {fmt(d):>9} {fmt(w):>9} "
          f"{fmt(pmed(runs, 'cub', 'dflt'), 2):>8} {fmt(pmed(runs, 'cub', 'wg'), 2):>9} "
          f"{fmt(pmed(runs, 'dflt', 'wg'), 2):>10} {fmt(fl):>8} {fmt(pmed(runs, 'dflt', 'floor'), 2):>8} "
          f"{fmt(spread, 2):>6}")
EOF
echo "moe_variants: $([ $status = 0 ] && echo 'all checks pass' || echo "FAILURES (logs in $log)")"
exit $status
