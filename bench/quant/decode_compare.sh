#!/usr/bin/env bash
# Decode kernels of eff.quant_linear side by side on one card, in one call:
# effc-quant-bench --check (and --check --decode=mma), then --perf --rows=1,4,16 three times (--decode=vec:
# gemv_vec, the kernel before the tensor-core GEMVs; --decode=mma:
# quant_linear_gemv_mma; default: what the emitter picks, gemv_mma_bs where it
# fits), each without and with --graphs, and the prefill rows (M 128, 2048)
# once; prints one table: us per GEMM per scheme, cuBLAS fp16 and the floor
# (packed bytes / measured read bandwidth), and the default's speedup over
# cuBLAS fp16, on the Llama-3.2-1B and Llama-3-8B shapes. Raw outputs stay in
# $OUT (or /tmp/effc-quant-compare). Every decode GEMV variant: test/gpu/quant_gemv_variants.sh.
#
#   bench/quant/decode_compare.sh            (BENCH=path as run.sh)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/effc-quant-compare}
mkdir -p "$out"
run() { "$root/bench/quant/run.sh" "$@"; }
run --check >"$out/check.txt" 2>&1
echo "check: rc=$? $(grep -c PASS "$out/check.txt") PASS, $(grep -c FAIL "$out/check.txt") FAIL"
grep FAIL "$out/check.txt" | head -5
run --check --decode=mma >"$out/check-mma.txt" 2>&1
echo "check --decode=mma: rc=$? $(grep -c PASS "$out/check-mma.txt") PASS, $(grep -c FAIL "$out/check-mma.txt") FAIL"
for g in "" --graphs; do
  for d in vec mma bs; do
    dec=()
    [ "$d" != bs ] && dec=(--decode=$d)
    run --perf --rows=1,4,16 "${dec[@]}" $g >"$out/perf-$d${g:+-graphs}.txt" 2>&1 ||
      echo "perf $d $g: rc=$?"
  done
done
run --perf --rows=128,2048 >"$out/perf-prefill.txt" 2>&1 || echo "perf prefill: rc=$?"
head -1 "$out/check.txt"
grep -h '^perf:' "$out/perf-bs.txt" | head -1
# Perf rows: name KxN M | bf16 fp16 | (us xF floor GB/s chk) x 4 schemes | kernels.
python3 - "$out" <<'EOF'
import os, sys
out = sys.argv[1]
schemes = ["int8", "nf4", "nbits4", "nf4-dq"]
def rows(path):
    r = {}
    if not os.path.exists(path):
        return r
    for line in open(path):
        parts = [p.split() for p in line.split("|")]
        if len(parts) != 7 or len(parts[0]) != 3 or not parts[0][2].isdigit():
            continue
        key = (parts[0][0], int(parts[0][2]))
        r[key] = {"fp16": float(parts[1][1]), "kernels": parts[6]}
        for i, s in enumerate(schemes):
            r[key][s] = (float(parts[2 + i][0]), float(parts[2 + i][2]))
    return r
shapes = ["qo", "gate/up", "down", "qo-8b", "kv-8b", "gate/up-8b", "down-8b"]
order = lambda k: (shapes.index(k[0]) if k[0] in shapes else len(shapes), k[1])
print("us per GEMM; each scheme: vec/mma/bs = --decode=vec / --decode=mma / default, "
      "(xF: fp16 cuBLAS / default), floor us")
print(f"{'shape':10} {'M':>4} {'graph':>5} {'fp16':>6} | " +
      " | ".join(f"{s + ' vec/mma/bs (xF) floor':34}" for s in schemes))
for g in ["", "-graphs"]:
    t = {d: rows(f"{out}/perf-{d}{g}.txt") for d in ["vec", "mma", "bs"]}
    for key in sorted(t["bs"], key=order):
        fp16 = t["bs"][key]["fp16"]
        cells = []
        for s in schemes:
            v = [t[d].get(key, {}).get(s, (float("nan"),) * 2)[0] for d in ["vec", "mma", "bs"]]
            cells.append(f"{v[0]:.2f}/{v[1]:.2f}/{v[2]:.2f} ({fp16 / v[2]:.2f}x) "
                         f"{t['bs'][key][s][1]:.2f}".ljust(34))
        print(f"{key[0]:10} {key[1]:4} {'yes' if g else 'no':>5} {fp16:6.2f} | " + " | ".join(cells))
    if t["bs"]:
        print("  kernels (default):",
              "; ".join(sorted({" ".join(r["kernels"]) for r in t["bs"].values()})))
p = rows(f"{out}/perf-prefill.txt")
for key in sorted(p, key=order):
    fp16 = p[key]["fp16"]
    print(f"{key[0]:10} {key[1]:4} {'no':>5} {fp16:6.2f} | " +
          " | ".join(f"{p[key][s][0]:.2f} ({fp16 / p[key][s][0]:.2f}x) {p[key][s][1]:.2f}".ljust(34)
                     for s in schemes))
EOF
