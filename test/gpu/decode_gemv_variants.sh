#!/usr/bin/env bash
# The decode GEMV variants of a runtime-rows GEMM (issue 14: tcg_decode_gemv
# "v1" and tcg_decode_gemv_rows "rows", "rows16".."rows256", and "wide", the
# default: rows where the rule gives 128+ columns, else v1; the kernel a run
# of at most 16 rows takes inside the mma.sync and wgmma kernels) side by
# side with cuBLAS on one H100/H200:
#   test/gpu/decode_gemv_variants.sh BIN_DIR [SHARED_DIR]
#     BIN_DIR     holds effc-gemm-bench (a static build travels); cuBLAS is
#                 torch.matmul (bench/gemm/cublas_peer.py: python3 with torch)
#     SHARED_DIR  accepted for the scripts' common calling convention; unused
# 1. effc-gemm-bench --perf --rows=R --decode-variant=V on the Llama-3.2-1B
#    decode projections, K x N: 2048x2048 (q/o), 2048x512 (k/v), 2048x8192
#    (gate/up), 8192x2048 (down), 2048x3072 and 2048x16384 (q/k/v and
#    gate/up as eff-merge-sibling-linears merges them), 2048x128256 (lm head), GPT-2's lm head
#    768x50257 (rows not 16-byte aligned) and q/o stored [N][K] (...t, v1
#    only: the rows kernels print DECODE-NA), each kernel planned at 4096
#    rows and run for R rows; the kernel each artifact ships on sm_90a
#    (--gemm=auto: the TMA wgmma kernel, "tma") for every variant at R = 1,
#    for v1/rows/rows64 at R = 8, and the mma.sync kernel ("mma": sm_80/
#    --gemm=mma) for v1 and rows. Every timed kernel is checked against the
#    fp32 reference on its R rows, rows past R NaN-poisoned (must stay so).
# 2. cublas_peer.py on the same problems at M = R.
# Prints last one table, per shape x R x kernel x variant: us per GEMV (CUDA
# graph replays, median), GB/s of weight bytes (K * N * 2 / time), x cuBLAS
# (cuBLAS us / effc us: above 1 is faster than cuBLAS), the decode kernel the
# run took (v1:16, rows:W), the check ("*": the fastest variant of that
# shape x R x kernel) and the kernel's tile (GPT-2's lm head: no wgmma, its
# rows are not 16-byte aligned, so "tma" runs the mma.sync kernel there). Raw outputs: ${OUT:-/tmp}/decode-gemv-variants.
# Exit 1 on any failed check or crash.
set -uo pipefail
me=decode_gemv_variants
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 || $# == 2 ]] || fail_setup "usage: test/gpu/decode_gemv_variants.sh BIN_DIR [SHARED_DIR]"
need_dir "$1" "BIN_DIR"
bench=$(cd "$1" && pwd)/effc-gemm-bench
need_exec "$bench"
need_cmd python3 timeout
need_python torch
start_timed decode-gemv-variants

shapes=${DGV_SHAPES:-"2048x2048 2048x512 2048x8192 8192x2048 2048x3072 2048x16384 2048x128256 768x50257"}
problems() { # R: the effc problems (planned at 4096 rows) or, with peer, cuBLAS's at M = R
  local m=$1 list="" kn
  for kn in $shapes; do list+="${list:+,}${m}x${kn#*x}x${kn%x*}"; done
  echo "$list,${m}x2048x2048t"
}
run() { # KIND R VARIANT
  local kind=$1 r=$2 v=$3 out=$log/$1-$2-$3.txt args=()
  [[ $kind == tma ]] && args=(--wgmma)
  timeout 150 "$bench" --perf --dtypes=bf16 --rows="$r" --problems="$(problems 4096)" \
    --decode-variant="$v" --reps=9 "${args[@]}" >"$out" 2>&1
  local rc=$?
  local fails
  fails=$(grep -c '^RESULT .*status=FAIL' "$out")
  say "$kind R=$r $v: rc=$rc, $(grep -c '^RESULT .*status=PASS' "$out") PASS, $fails FAIL," \
    "$(grep -c '^DECODE-NA' "$out") n/a"
  if ((rc != 0 || fails > 0)) || grep -q "past the run's M" "$out"; then
    status=1
    grep "status=FAIL\|past the run's M\|error" "$out" | head -3
    tail -2 "$out"
  fi
}
# The variant lists (a shorter run where device time is short): DGV_TMA1,
# DGV_TMA8 (the TMA kernel at R = 1 and 8), DGV_MMA (mma.sync at R = 1 and 8;
# empty: none), DGV_SHAPES (the K x N list).
for v in ${DGV_TMA1-v1 rows rows16 rows32 rows64 rows128 rows256 wide}; do run tma 1 "$v"; done
for v in ${DGV_TMA8-v1 rows rows64 rows128 wide}; do run tma 8 "$v"; done
for r in 1 8; do for v in ${DGV_MMA-v1 rows}; do run mma "$r" "$v"; done; done

for r in 1 8; do
  timeout 120 python3 "$repo/bench/gemm/cublas_peer.py" --dtypes=bf16 --reps=9 \
    --problems="$(problems "$r")" >"$log/cublas-$r.txt" 2>"$log/cublas-$r.err" ||
    { status=1; echo "cublas_peer R=$r failed:"; tail -3 "$log/cublas-$r.err"; }
done
say "cuBLAS: $(grep -c '^PEER' "$log"/cublas-*.txt | tr '\n' ' ')"

python3 - "$log" <<'EOF'
import glob, os, re, sys
log = sys.argv[1]
peer = {}  # (N, K, t, R) -> ms
for path in glob.glob(f"{log}/cublas-*.txt"):
    for line in open(path):
        m = re.match(r"PEER shape=(\d+)x(\d+)x(\d+)(t?) dtype=\S+ ms=([\d.]+)", line)
        if m:
            peer[(int(m[2]), int(m[3]), m[4], int(m[1]))] = float(m[5])
rows = []
for path in glob.glob(f"{log}/*-*-*.txt"):
    kind, r, variant = os.path.basename(path)[:-4].split("-", 2)
    for line in open(path):
        m = re.match(r"RESULT .*shape=\d+x(\d+)x(\d+)(t?)@(\d+) .* ms=([\d.]+) .*status=(\w+)", line)
        if not m:
            continue
        n, k, t, r = int(m[1]), int(m[2]), m[3], int(m[4])
        d = re.search(r"decode=(\S+)", line)
        tile = re.search(r"tile=(\S+)", line)[1]
        rows.append((n, k, t, r, kind, variant, float(m[5]), m[6], d[1] if d else "-", tile))
print("\ndecode GEMVs (effc-gemm-bench --rows=R --decode-variant=V; cuBLAS = torch.matmul at M = R,"
      " same machine): us per GEMV, GB/s of weight bytes, x cuBLAS (above 1: faster)")
print(f"{'K x N':14} {'R':>2} {'kernel':6} {'variant':8} {'decode':9} {'us':>8} {'GB/s':>6} "
      f"{'cuBLAS us':>9} {'x cuBLAS':>8} check tile")
best = {}
for n, k, t, r, kind, v, ms, st, d, tile in rows:
    key = (n, k, t, r, kind)
    if st == "PASS" and (key not in best or ms < best[key]):
        best[key] = ms
order = {"v1": 0, "rows": 1}
for n, k, t, r, kind, v, ms, st, d, tile in sorted(
        rows, key=lambda x: (x[1] * x[0], x[2], x[3], x[4], order.get(x[5], 2), x[5])):
    us = ms * 1e3
    gbs = k * n * 2 / (ms * 1e-3) / 1e9 if ms > 0 else 0
    p = peer.get((n, k, t, r))
    px = f"{p * 1e3:9.2f} {p / ms:8.2f}" if p and ms > 0 else f"{'-':>9} {'-':>8}"
    mark = "*" if best.get((n, k, t, r, kind)) == ms and st == "PASS" else ""
    print(f"{f'{k}x{n}{t}':14} {r:2} {kind:6} {v:8} {d:9} {us:8.2f} {gbs:6.0f} {px} {st + mark:5} "
          f"{tile}")
EOF
say "done (logs: $log)"
exit $status
