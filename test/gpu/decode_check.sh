#!/usr/bin/env bash
# Split-KV decode on the GPU: one decode step of Llama-style attention (q_len
# 1, GQA 32/8 heads, head dim 128, a 4096-token KV cache, batch 8, bf16
# inputs and output: ONNX Attention-23) compiled with and without
# eff-split-kv-decode. Checks that the pass split the attention (remark and
# more kernels), runs both artifacts on the cuda backend and the host
# reference backend, checks the errors against the host's eff.attention and
# prints the `effc-run --bench` kernel times (with K+V bandwidth).
#   test/gpu/decode_check.sh BIN_DIR     (needs python3 + numpy + onnx)
# Logs: ${OUT:-/tmp}/decode-check. Exit 1 on any failure.
set -euo pipefail
me=decode_check
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/decode_check.sh BIN_DIR"
bin=$1
need_exec "$bin/effc" "$bin/effc-run"
need_python numpy onnx
log=${OUT:-/tmp}/decode-check; mkdir -p "$log"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT   # 64 MiB of K/V
batch=8; heads=32; kv_heads=8; kv_len=4096; d=128
python3 "$here/make_decode_case.py" "$work" "$batch" "$heads" "$kv_heads" "$kv_len" "$d"
inputs=(--input "q=$work/q.pb" --input "k=$work/k.pb" --input "v=$work/v.pb")

echo "=== compile: without the pass (one FlashAttention-2 kernel), with it (partial + combine)"
"$bin/effc" "$work/decode.onnx" --split-kv-decode=false -o "$work/whole.effc" >"$log/effc-whole.log" 2>&1
"$bin/effc" "$work/decode.onnx" --remarks -o "$work/split.effc" >"$log/effc-split.log" 2>&1
cat "$log/effc-split.log"
grep -q "split attention: num_splits=" "$log/effc-split.log" ||
  { echo "$me: FAIL: eff-split-kv-decode did not split the decode attention (remarks above)"; exit 1; }
kernels() { "$bin/effc-run" "$1" --stats | sed -n 's/^kernels: //p'; }
whole_kernels=$(kernels "$work/whole.effc"); split_kernels=$(kernels "$work/split.effc")
echo "kernels: whole $whole_kernels, split $split_kernels"
((split_kernels > whole_kernels)) ||
  { echo "$me: FAIL: the split artifact has no more kernels than the whole one"; exit 1; }

for a in whole split; do
  echo "=== $a: host reference, then cuda"
  mkdir -p "$work/host-$a" "$work/cuda-$a"
  "$bin/effc-run" "$work/$a.effc" --backend=host "${inputs[@]}" --output-dir "$work/host-$a"
  "$bin/effc-run" "$work/$a.effc" --backend=cuda "${inputs[@]}" --output-dir "$work/cuda-$a" --bench 200 \
    | tee "$log/bench-$a.txt"
done

python3 - "$work" "$log" "$batch" "$kv_heads" "$kv_len" "$d" <<'PY'
import sys, re, numpy as np
work, log, b, hkv, l, d = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
ref = np.load(f"{work}/host-whole/o.npy")  # eff.attention on the host: fp32 math, one bf16 rounding
ok = True
print("\n=== max errors vs the host's eff.attention (max_rel = max|got - ref| / max|ref|)")
for label, path, tol in [("host  split (partial+combine)", "host-split", 8e-3),
                         ("cuda  whole (FA2 forward)", "cuda-whole", 2e-2),
                         ("cuda  split (partial+combine)", "cuda-split", 2e-2)]:
    got = np.load(f"{work}/{path}/o.npy")
    err = np.abs(got.astype(np.float64) - ref)
    rel = err.max() / np.abs(ref).max()
    good = bool(np.isfinite(got).all()) and got.shape == ref.shape and rel <= tol
    ok &= good
    print(f"{label:32s} max_abs_err={err.max():.3e} max_rel_err={rel:.3e} {'PASS' if good else 'FAIL'} (tol {tol:g})")
kv_bytes = 2 * b * hkv * l * d * 2
print(f"\n=== kernel time (effc-run --bench: device median, kernels only); K+V = {kv_bytes / 2**20:.0f} MiB")
times = {}
for a in ("whole", "split"):
    m = re.search(r"device median ([0-9.]+) ms", open(f"{log}/bench-{a}.txt").read())
    if not m:
        print(f"{a}: no 'device median' line in {log}/bench-{a}.txt: FAIL")
        ok = False
        continue
    times[a] = float(m.group(1))
    print(f"{a:6s} {times[a]:8.4f} ms  {kv_bytes / (times[a] * 1e-3) / 1e9:7.1f} GB/s")
if len(times) == 2:
    print(f"split speedup: {times['whole'] / times['split']:.2f}x")
print(f"decode_check: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
