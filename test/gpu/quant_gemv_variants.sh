#!/usr/bin/env bash
# The decode GEMVs of eff.quant_linear (issue 17) side by side on one
# H100/H200 (about a minute per variant; all eleven may not fit one 10-minute
# call: run VARIANTS="default bs_lut bs_fast bs_sk bs_lut_sk bs_fast_sk"
# first, then VARIANTS="bs_sk2 bs_sk4 bs_sk8 mma vec" on the same warm
# machine; the table covers every variant whose output is in the log
# directory):
#   [VARIANTS="..."] test/gpu/quant_gemv_variants.sh BIN_DIR
#     BIN_DIR  holds effc-quant-bench (a static build travels); cuBLAS is
#              dlopen()ed as bench/quant/run.sh finds it (ldconfig, else
#              torch's nvidia-cublas wheel)
# For each variant of the emitter's chooseDecodeGemv (VARIANTS, default: all
# of them; "default" is what the compiler picks today):
# 1. effc-quant-bench --check --gemv-variant=V: every scheme at M 1, 4, 16 on
#    3 shapes (K and N tails) against the host reference, outputs
#    NaN-poisoned first; a variant that does not apply to a scheme says n/a.
# 2. effc-quant-bench --perf --rows=1,4,16 --graphs --gemv-variant=V over the
#    Llama-3.2-1B and Llama-3-8B projections: us per GEMV (each round one CUDA
#    graph: no launch gaps), achieved GB/s, the floor (packed bytes / the
#    read bandwidth the run measured) and the speedup over cuBLAS fp16 timed
#    in the same process; each timed kernel's output is checked too (first
#    and last 64 columns against the host reference).
# Prints last, per scheme x shape x M: the default's us and x cuBLAS, the
# fastest variant with its us, GB/s, floor us and x cuBLAS. Raw outputs:
# $EFFC_QGV_DIR (default /tmp/quant-gemv-variants; a variant's files are
# replaced when it runs again), copied to $OUT when set. Exit 1 on any
# FAIL/BAD check or crash in this call.
set -uo pipefail
me=quant_gemv_variants
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/quant_gemv_variants.sh BIN_DIR"
need_dir "$1" "BIN_DIR"
bench=$(cd "$1" && pwd)/effc-quant-bench
need_exec "$bench"
need_cmd python3 timeout
log=${EFFC_QGV_DIR:-/tmp/quant-gemv-variants}
mkdir -p "$log"
variants=${VARIANTS:-default bs_lut bs_fast bs_sk bs_lut_sk bs_fast_sk bs_sk2 bs_sk4 bs_sk8 mma vec}
start=$SECONDS
say() { echo "[$((SECONDS - start)) s] $*"; }
status=0
run() { BENCH=$bench timeout 300 "$repo/bench/quant/run.sh" "$@"; }
for v in $variants; do
  rm -f "$log/check-$v.txt" "$log/perf-$v.txt"
  arg=()
  [[ $v != default ]] && arg=(--gemv-variant="$v")
  run --check "${arg[@]}" >"$log/check-$v.txt" 2>&1
  rc=$?
  say "check $v: rc=$rc, $(grep -c ' PASS ' "$log/check-$v.txt") PASS," \
    "$(grep -c ' FAIL ' "$log/check-$v.txt") FAIL, $(grep -c ' n/a ' "$log/check-$v.txt") n/a"
  grep ' FAIL ' "$log/check-$v.txt" | head -3
  ((rc == 0)) || status=1
  run --perf --rows=1,4,16 --graphs "${arg[@]}" >"$log/perf-$v.txt" 2>&1
  rc=$?
  say "perf $v: rc=$rc, $(grep -c ' BAD ' "$log/perf-$v.txt") BAD output checks"
  ((rc == 0)) || { status=1; tail -3 "$log/perf-$v.txt"; }
done
grep -h '^perf:' "$log/perf-default.txt" 2>/dev/null | head -1
python3 - "$log" <<'EOF'
import glob, math, os, sys
log = sys.argv[1]
variants = sorted(os.path.basename(p)[5:-4] for p in glob.glob(f"{log}/perf-*.txt"))
schemes = ["int8", "nf4", "nbits4", "nf4-dq"]
# Perf rows: name KxN M | bf16 fp16 | (us xF floor GB/s chk) x 4 | kernels.
t = {}  # (scheme, shape, M) -> {variant: (us, xF, floor, GB/s, chk, kernel)}
for v in variants:
    path = f"{log}/perf-{v}.txt"
    if not os.path.exists(path):
        continue
    for line in open(path):
        parts = [p.split() for p in line.split("|")]
        if len(parts) != 7 or len(parts[0]) != 3 or not parts[0][2].isdigit():
            continue
        kernels = [k.strip() for k in line.split("|")[6].split(",")]
        for i, s in enumerate(schemes):
            c = parts[2 + i]
            us = float(c[0])
            if math.isnan(us):
                continue
            key = (s, parts[0][0], int(parts[0][2]))
            t.setdefault(key, {})[v] = (us, float(c[1]), float(c[2]), float(c[3]), c[4],
                                        kernels[i] if i < len(kernels) else "?")
print("\nper scheme x shape x M: default (what effc picks today) and the fastest variant "
      "(us per GEMV in a CUDA graph; xF = speedup over cuBLAS fp16, same run)")
print(f"{'scheme':7} {'shape':10} {'M':>3} | {'default us':>10} {'xF':>5} | "
      f"{'best variant':14} {'us':>7} {'GB/s':>6} {'floor':>6} {'xF':>5} chk kernel")
order = ["qo", "gate/up", "down", "qo-8b", "kv-8b", "gate/up-8b", "down-8b"]
for key in sorted(t, key=lambda k: (schemes.index(k[0]),
                                    order.index(k[1]) if k[1] in order else 99, k[2])):
    row = t[key]
    d = row.get("default")
    best = min(row, key=lambda v: (row[v][0], v != "default"))
    b = row[best]
    dtext = f"{d[0]:10.2f} {d[1]:5.2f}" if d else f"{'-':>10} {'-':>5}"
    print(f"{key[0]:7} {key[1]:10} {key[2]:3} | {dtext} | {best:14} {b[0]:7.2f} {b[3]:6.0f} "
          f"{b[2]:6.2f} {b[1]:5.2f} {b[4]:3} {b[5]}")
EOF
[[ -n ${OUT:-} ]] && cp "$log"/*.txt "$OUT"/ 2>/dev/null
say "done"
exit $status
