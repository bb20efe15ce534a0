#!/usr/bin/env bash
# The ping-pong schedule of the TMA wgmma GEMM (sm_90a; issue 16), a
# selectable variant (GemmSpec.pingpong, effc-gemm-bench --pingpong), beside
# the shipped cooperative kernel and cuBLAS on an H100/H200, in one run.
#   test/gpu/hopper_gemm_variants.sh BIN_DIR   (BIN_DIR holds effc-gemm-bench;
#                                               python3 + torch for cuBLAS)
# 1. numerics: every `effc-gemm-bench --wgmma --pingpong --check` problem
#    (ragged M/N/K, the four transposes, every wgmma tile, fused epilogues,
#    a batch; kernels ending in _pp run the ping-pong schedule, the rest
#    fall back to the cooperative one) in its own process against the fp32
#    SIMT reference, output NaN-poisoned; a fault or hang (killed after
#    $EFFC_HOPPER_TIMEOUT s) is a FAIL row. Then the ping-pong kernel over
#    runtime rows (--rows: planned at 4096, run at 1000 and 4096; rows past
#    the run's must stay poisoned).
# 2. perf, bf16: the Llama-3.2-1B prefill projections (M in {512, 1024,
#    2048, 4096} x (N, K) in {2048x2048 q/o, 512x2048 k/v, 8192x2048
#    gate/up, 2048x8192 down}) and 4096^3: per shape one process times the
#    shipped TMA kernel (chosen=1) and the ping-pong one (each checked
#    first) back to back, then cuBLAS (bench/gemm/cublas_peer.py).
#    Where ping-pong cannot apply, the row says why (PINGPONG-FALLBACK).
#    SWEEP=1 also times every candidate tile, cooperative and ping-pong
#    (the `best pp` column: the fastest passing ping-pong kernel).
# Prints the tables last. Logs: ${OUT:-/tmp}/hopper-gemm-variants. Exit 1
# on any FAIL, a crash, or a missing part (no torch: no cuBLAS column).
set -uo pipefail
me=hopper_gemm_variants
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/hopper_gemm_variants.sh BIN_DIR"
bench=$1/effc-gemm-bench
need_exec "$bench"
need_cmd python3 timeout
start_timed hopper-gemm-variants
mkdir -p "$log/perf" "$log/rows"

say "=== 1. numerics: effc-gemm-bench --wgmma --pingpong --check, one process per problem"
gemm_bench_checks "$log" --wgmma --pingpong
for r in 1000 4096; do
  gemm_bench_one "$log/rows/$r.txt" --wgmma --pingpong --perf --dtypes=bf16 --problems=4096x2048x2048 \
    --rows="$r" --reps=3
done
say "$count check problems and 2 runtime-rows runs done"

say "=== 2. perf (bf16): shipped TMA kernel, ping-pong, cuBLAS"
shapes=()
for m in 512 1024 2048 4096; do
  for nk in 2048x2048 512x2048 8192x2048 2048x8192; do shapes+=("${m}x$nk"); done
done
shapes+=(4096x4096x4096)
sweep=--perf
[[ -n ${SWEEP:-} ]] && sweep=--sweep
for s in "${shapes[@]}"; do
  gemm_bench_one "$log/perf/$s.txt" --wgmma --pingpong "$sweep" --dtypes=bf16 --problems="$s"
done
say "${#shapes[@]} shapes timed"
gemm_cublas_peer "$log" "${shapes[@]}"
say "cuBLAS done"

PYTHONPATH=$here python3 - "$log" "$count" "$peer_ok" "${shapes[@]}" <<'PY'
import sys
from gemm_bench_results import peer_tflops, report_checks, results
log, count, peer_ok, shapes = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4:]

ok = True
print("\n=== ping-pong checks (max_rel_err vs the fp32 reference)")
fails, pp = report_checks(log, count, 60, show_tile=True)
print(f"{count - fails} of {count} check problems pass; {pp} ran the ping-pong kernel")
ok &= fails == 0 and pp > 0
for r in (1000, 4096):
    rows, fb, why = results(f"{log}/rows/{r}.txt", 60)
    pprows = [x for x in rows if x["tile"].endswith("_pp")]
    good = bool(rows) and all(x["status"] == "PASS" for x in rows) and bool(pprows)
    ok &= good
    print(f"runtime rows {r} of 4096 (4096x2048x2048): {'PASS' if good else 'FAIL'} "
          + (" ".join(f"{x['tile']}={x['status']}" for x in rows) or why) + (f" fallback: {fb[0]}" if fb else ""))

peer = peer_tflops(log)
ok &= peer_ok and len(peer) == len(shapes)

names = {"2048x2048": "q/o", "512x2048": "k/v", "8192x2048": "gate/up", "2048x8192": "down"}
print("\n=== bf16 TFLOP/s: shipped = the TMA kernel emitGemm picks; pingpong = the same spec with "
      "GemmSpec.pingpong (same process, timed after it); cuBLAS = torch.matmul")
print(f"{'shape':18s} {'what':8s} {'shipped':20s} {'TFLOP/s':>7s} {'pingpong':22s} {'TFLOP/s':>7s} "
      f"{'cuBLAS':>7s} {'shp/cuB':>7s} {'pp/cuB':>7s} {'pp/shp':>7s}  {'best pp':24s} check")
fmt = lambda v: f"{v:7.1f}" if v else "      -"
rat = lambda a, b: f"{a / b:7.2f}" if a and b else "      -"
for s in shapes:
    rows, fb, why = results(f"{log}/perf/{s}.txt", 60)
    shipped = next((r for r in rows if r.get("chosen") == "1"), None)
    # The planned ping-pong kernel: the first _pp row, unless it fell back
    # (then the _pp rows are SWEEP's forced tiles).
    pingpong = None if fb else next((r for r in rows if r.get("chosen") == "0" and r["tile"].endswith("_pp")), None)
    status = "PASS"
    if shipped is None:
        status = f"FAIL: {why or 'no shipped row'}"
    elif any(r["status"] != "PASS" for r in rows):
        status = "FAIL " + " ".join(f"{r['tile']} err={r['max_rel_err']}" for r in rows if r["status"] != "PASS")
    elif pingpong is None and not fb:
        status = "FAIL: no ping-pong row and no fallback reason"
    ok &= status == "PASS"
    t = float(shipped["tflops"]) if shipped and shipped["status"] == "PASS" else 0.0
    p = float(pingpong["tflops"]) if pingpong and pingpong["status"] == "PASS" else 0.0
    best = max(((float(r["tflops"]), r["tile"]) for r in rows
                if r["tile"].endswith("_pp") and r["status"] == "PASS"), default=(0.0, "-"))
    cub = peer.get(s, 0.0)
    what = names.get(s.split("x", 1)[1], "square")
    ptile = pingpong["tile"] if pingpong else "(fallback)"
    print(f"{s:18s} {what:8s} {(shipped or {}).get('tile', '-'):20s} {fmt(t)} {ptile:22s} {fmt(p)} "
          f"{fmt(cub)} {rat(t, cub)} {rat(p, cub)} {rat(p, t)}  {best[1]:16s}{fmt(best[0])} {status}")
    for reason in fb:
        print(f"{'':18s} ping-pong fallback: {reason}")
if not peer_ok or len(peer) != len(shapes):
    print(f"cuBLAS peer: {len(peer)} of {len(shapes)} rows (see {log}/peer.err)")
print(f"hopper_gemm_variants: {'PASS' if ok else 'FAIL'} (logs: {log})")
sys.exit(0 if ok else 1)
PY
