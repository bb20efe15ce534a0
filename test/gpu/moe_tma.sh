#!/usr/bin/env bash
# Issue 18: the TMA variant of the MoE grouped expert GEMM
# (device/moe_wgmma_tma.cuh, effc-moe-bench variant "tma") beside the
# current wgmma kernel (moe_wgmma.cuh, "wgmma", the sm_90a default), the
# cuBLAS per-expert loop and the torch peers (bench/moe/torch_moe.py: HF
# block, eager, torch._grouped_mm), all on the same GPU. One GPU call on an
# H100/H200 (sm_90a):
#   test/gpu/moe_tma.sh BIN_DIR
#     BIN_DIR  effc-moe-bench (a static build travels)
# cuBLAS is dlopen()ed by the bench (the loader's, else torch's wheel).
# 1. effc-moe-bench --check --variants=wgmma,tma: the small layers (bf16,
#    fp16, every routing, shared experts, ragged experts; sorted rows take
#    the grouped GEMMs) with both kernels against the reference.
# 2. effc-moe-bench --perf --variants=wgmma,tma at TOKENS (default 8,512,4096)
#    for the Mixtral-8x7B and Qwen-MoE layers, REPEATS runs (default 3): each
#    run alternates cuBLAS, wgmma and tma call by call and checks every
#    case's first 8 tokens against an fp32 reference (PASS/FAIL per variant).
# 3. torch_moe.py at the same token counts (skipped, said so, without torch).
# Prints last, per layer and token count, medians over the runs: us of
# cuBLAS, wgmma, tma and the best torch column, wgmma/tma (> 1: tma faster),
# cub/tma and torch/tma (the issue's target: >= 1.2 at 4096 tokens). Raw
# logs: ${OUT:-/tmp}/moe-tma. Exit 1 on any failed check, crash or missing
# table.
set -uo pipefail
me=moe_tma
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/moe_tma.sh BIN_DIR"
bin=$(cd "$1" && pwd) || fail_setup "BIN_DIR not found: $1"
bench=$bin/effc-moe-bench
need_exec "$bench"
need_cmd python3 timeout
log=${OUT:-/tmp}/moe-tma
rm -rf "$log" && mkdir -p "$log"
tokens=${TOKENS:-8,512,4096}
repeats=${REPEATS:-3}
variants=wgmma,tma
start=$SECONDS
say() { echo "[$((SECONDS - start)) s] $*"; }
status=0
use_pip_cublas
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader 2>/dev/null

# crashed RC: the exit status of a process killed by a signal (the bench
# prints the phase and a backtrace on stderr first).
crashed() { (($1 > 128 && $1 != 124)); }
# report NAME FILE RC: PASS/FAIL counts, the first failures, a crash's trace.
report() {
  say "$1: rc=$3, $(grep -c ' PASS$' "$2") PASS, $(grep -c -E ' FAIL( \(|$)' "$2") FAIL"
  grep -E ' FAIL( \(|$)' "$2" | head -5
  crashed "$3" && { echo "crashed:"; grep -A12 'effc-moe-bench: SIG' "$2"; }
  (($3 == 0)) || status=1
}

timeout 300 "$bench" --check --variants=$variants >"$log/check.txt" 2>&1
report "1. check" "$log/check.txt" $?

for r in $(seq 1 "$repeats"); do
  timeout 420 "$bench" --perf --variants=$variants --tokens="$tokens" >"$log/perf-$r.txt" 2>&1
  report "2. perf run $r" "$log/perf-$r.txt" $?
done

if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  timeout 600 python3 "$repo/bench/moe/torch_moe.py" --tokens="$tokens" --reps=10 \
    >"$log/torch.txt" 2>"$log/torch-err.txt"
  say "3. torch_moe.py: rc=$?"
  cat "$log/torch.txt"
  head -5 "$log/torch-err.txt"
else
  say "3. torch with CUDA not importable: torch peers skipped"
fi

PYTHONPATH=$here python3 - "$log" "$repeats" <<'EOF' || status=1
import sys
from moe_bench_results import fmt, med, perf_rows, pmed, ratio
log, repeats = sys.argv[1], int(sys.argv[2])
# (us, cub/x, x/flr) per bench variant from field 8: wgmma, tma.
rows = perf_rows(log, repeats, {"cub": 3, "wg": 8, "tma": 11})
if not rows:
    print("moe_tma: no perf table in any run")
    sys.exit(1)
# torch_moe.py rows: "NAME T<n> hf_us eager_us grouped_us err_grp"; best = min.
torch = {}
try:
    for l in open(f"{log}/torch.txt").read().splitlines():
        f = l.split()
        if len(f) >= 5 and f[1].startswith("T") and f[1][1:].isdigit():
            v = [float(s) for s in f[2:5] if s != "-"]
            if v:
                torch[(f[0], int(f[1][1:]))] = min(v)
except OSError:
    pass
print(f"\n== moe_tma: medians over {repeats} runs (cuBLAS, wgmma, tma timed in the same runs; "
      "torch: best of hf/eager/grouped, its own run)")
print(f"{'layer':14} {'T':>5} {'runs':>4} {'cublas_us':>9} {'wgmma_us':>9} {'tma_us':>9} "
      f"{'torch_us':>9} {'wgmma/tma':>9} {'cub/tma':>8} {'torch/tma':>9}")
for (name, t), runs in sorted(rows.items()):
    c, w, m = med(runs, "cub"), med(runs, "wg"), med(runs, "tma")
    tb = torch.get((name, t))
    print(f"{name:14} {t:5} {len(runs):4} {fmt(c):>9} {fmt(w):>9} {fmt(m):>9} {fmt(tb):>9} "
          f"{fmt(pmed(runs, 'wg', 'tma'), 2):>9} {fmt(pmed(runs, 'cub', 'tma'), 2):>8} "
          f"{fmt(ratio(tb, m), 2):>9}")
EOF
echo "moe_tma: $([ $status = 0 ] && echo 'all checks pass' || echo "FAILURES (logs in $log)")"
exit $status
