#!/usr/bin/env bash
# The Hopper wgmma GEMM (sm_90a; issue 16) on an H100/H200: numerics first,
# then time it against today's mma.sync kernel and cuBLAS (torch.matmul).
#   test/gpu/hopper_gemm.sh BIN_DIR     (BIN_DIR holds effc-gemm-bench, e.g. a
#                                        test/gpu/stage.sh DEST/build/bin;
#                                        python3 + torch for the cuBLAS column)
# 1. checks: every `effc-gemm-bench --wgmma --check` problem (ragged M/N/K,
#    the four transposes, every wgmma tile, fused epilogues, a batch) in its
#    own process against the fp32 SIMT reference, output NaN-poisoned first.
#    A kernel that faults or hangs (killed after $EFFC_HOPPER_TIMEOUT s) is a
#    FAIL row; the run goes on.
#    The checks run the TMA warp-specialized kernel (the bench passes tensor
#    maps); CPASYNC_CHECKS=1 also checks the cp.async wgmma kernel.
# 2. perf, bf16: 8192^3 and M in {16, 128, 512, 4096} x the Llama-3.2-1B and
#    Llama-3-8B projections (N, K): the TMA wgmma kernel as emitGemm picks it
#    for sm_90a with tensor maps (each timed kernel is checked too), the
#    cp.async wgmma kernel (the fallback without tensor maps: today's effc
#    artifacts), and cuBLAS (bench/gemm/cublas_peer.py). SWEEP=1 also times
#    every TMA tile (the table shows the best).
# Prints a table last. Logs: ${OUT:-/tmp}/hopper-gemm. Exit 1 on any FAIL,
# a crash, or a missing part (no torch: no cuBLAS column, exit 1).
set -uo pipefail
me=hopper_gemm
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/hopper_gemm.sh BIN_DIR"
bench=$1/effc-gemm-bench
need_exec "$bench"
need_cmd python3 timeout
log=${OUT:-/tmp}/hopper-gemm
rm -rf "$log"
mkdir -p "$log/perf"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader 2>/dev/null

echo "=== 1. numerics: effc-gemm-bench --wgmma --check, one process per problem"
t0=$SECONDS
gemm_bench_checks "$log" --wgmma
echo "$count problems in $((SECONDS - t0)) s; $(cat "$log"/check/*.txt | grep -m1 '^device:')"

if [[ -n ${CPASYNC_CHECKS:-} ]]; then
  mkdir -p "$log/check-cpasync"
  for ((i = 0; i < count; ++i)); do
    pool_run gemm_bench_one "$log/check-cpasync/$i.txt" --wgmma --cpasync --check --only="$i" --jobs=2
  done
  pool_wait
  echo "cp.async checks: $(cat "$log"/check-cpasync/*.txt | grep -c 'status=PASS') PASS," \
    "$(cat "$log"/check-cpasync/*.txt | grep -c 'status=FAIL') FAIL"
fi

echo "=== 2. perf (bf16): wgmma TMA, wgmma cp.async, cuBLAS"
shapes=(8192x8192x8192)
# (N, K) of the projections: q/o, k/v, gate/up, down.
llama1b=(2048x2048 512x2048 8192x2048 2048x8192)
llama8b=(4096x4096 1024x4096 14336x4096 4096x14336)
for m in 16 128 512 4096; do
  for nk in "${llama1b[@]}" "${llama8b[@]}"; do shapes+=("${m}x$nk"); done
done
sweep=--perf
[[ -n ${SWEEP:-} ]] && sweep=--sweep
t0=$SECONDS
for s in "${shapes[@]}"; do
  gemm_bench_one "$log/perf/wgmma-$s.txt" --wgmma "$sweep" --dtypes=bf16 --problems="$s"
  gemm_bench_one "$log/perf/mma-$s.txt" --wgmma --cpasync --perf --dtypes=bf16 --problems="$s"
done
echo "${#shapes[@]} shapes x 2 kernels in $((SECONDS - t0)) s"
gemm_cublas_peer "$log" "${shapes[@]}"

# What ptxas made of the 8192^3 wgmma kernel (nvcc's ptxas, as NVRTC's):
# HGMMA instructions expected, no local memory, no serialization warning.
if command -v nvcc >/dev/null && command -v cuobjdump >/dev/null; then
  mkdir -p "$log/sass"
  "$bench" --compile-only --wgmma --perf --dtypes=bf16 --problems=8192x8192x8192 --dump="$log/sass" >/dev/null 2>&1
  k=$log/sass/p0_wg_0.cu
  if [[ -f $k ]] && nvcc -cubin -gencode arch=compute_90a,code=sm_90a -Xptxas -v -o "$log/sass/k.cubin" "$k" \
    >"$log/sass/ptxas.txt" 2>&1; then
    cuobjdump -sass "$log/sass/k.cubin" >"$log/sass/k.sass"
    echo "=== SASS of the 8192^3 wgmma kernel: $(grep -c HGMMA "$log/sass/k.sass") HGMMA," \
      "$(grep -c HMMA "$log/sass/k.sass") HMMA, $(grep -cE 'LDL|STL' "$log/sass/k.sass") LDL/STL;" \
      "ptxas: $(grep -o 'Used [0-9]* registers' "$log/sass/ptxas.txt" | head -1)" \
      "$(grep -i 'serializ' "$log/sass/ptxas.txt" | head -1)"
  else
    echo "=== SASS: nvcc could not compile $k (see $log/sass/ptxas.txt)"
  fi
else
  echo "=== SASS: not inspected (nvcc or cuobjdump not on PATH)"
fi

PYTHONPATH=$here python3 - "$log" "$count" "$peer_ok" "${shapes[@]}" <<'PY'
import sys
from gemm_bench_results import peer_tflops, report_checks, results
log, count, peer_ok, shapes = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4:]

ok = True
print("\n=== wgmma checks (max_rel_err vs the fp32 reference)")
fails, _ = report_checks(log, count, 50, show_tile=False)
print(f"{count - fails} of {count} check problems pass")
ok &= fails == 0

peer = peer_tflops(log)
ok &= peer_ok and len(peer) == len(shapes)

names = {}
for model, nks in (("1B", ["2048x2048 q/o", "512x2048 k/v", "8192x2048 gate/up", "2048x8192 down"]),
                   ("8B", ["4096x4096 q/o", "1024x4096 k/v", "14336x4096 gate/up", "4096x14336 down"])):
    for nk in nks:
        dims, proj = nk.split()
        for m in (16, 128, 512, 4096):
            names[f"{m}x{dims}"] = f"{model} {proj}"
names["8192x8192x8192"] = "square"

print("\n=== bf16 TFLOP/s (tma: the TMA kernel emitGemm picks; best: fastest passing tile with SWEEP=1; cp.async: the fallback wgmma kernel)")
print(f"{'shape':20s} {'what':12s} {'tile':18s} {'tma':>7s} {'best':>7s} {'cp.async':>8s} {'cuBLAS':>7s} {'tma/cuB':>7s}  check")
for s in shapes:
    wg, _, why = results(f"{log}/perf/wgmma-{s}.txt", 50)
    mma, _, mwhy = results(f"{log}/perf/mma-{s}.txt", 50)
    chosen = next((r for r in wg if r.get("chosen") == "1"), None)
    passing = [r for r in wg if r["status"] == "PASS"]
    best = max((float(r["tflops"]) for r in passing), default=0.0)
    cub = peer.get(s)
    status = "PASS"
    if chosen is None:
        status = f"FAIL wgmma: {why or 'no chosen row'}"
    elif chosen["status"] != "PASS":
        status = f"FAIL wgmma err={chosen['max_rel_err']}"
    elif any(r["status"] != "PASS" for r in wg):
        status = "FAIL (a swept tile)"
    mrow = mma[0] if mma else None
    if mrow is None or mrow["status"] != "PASS":
        status += f"; cp.async {'FAIL ' + (mwhy if mrow is None else 'err=' + mrow['max_rel_err'])}"
    ok &= status == "PASS"
    t = float(chosen["tflops"]) if chosen and chosen["status"] == "PASS" else 0.0
    fmt = lambda v: f"{v:7.1f}" if v else "      -"
    ratio = f"{t / cub:7.2f}" if cub and t else "      -"
    print(f"{s:20s} {names.get(s, ''):12s} {(chosen or {}).get('tile', '-'):18s} {fmt(t)} {fmt(best)} "
          f" {fmt(float(mrow['tflops']) if mrow and mrow['status'] == 'PASS' else 0)} {fmt(cub or 0)} {ratio}  {status}")
if not peer_ok or len(peer) != len(shapes):
    print(f"cuBLAS peer: {len(peer)} of {len(shapes)} rows (see {log}/peer.err)")
print(f"hopper_gemm: {'PASS' if ok else 'FAIL'} (logs: {log})")
sys.exit(0 if ok else 1)
PY
