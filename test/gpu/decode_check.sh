#!/usr/bin/env bash
# Split-KV decode on the GPU: one decode step of Llama-style attention (q_len
# 1, GQA 32/8 heads, head dim 128, a 4096-token KV cache, batch 8, bf16
# inputs and output: ONNX Attention-23) compiled with and without
# eff-split-kv-decode. Runs both artifacts on the cuda backend and the host
# reference backend, prints max errors against the host's eff.attention and
# the `effc-run --bench` kernel times (with K+V bandwidth).
#   test/gpu/decode_check.sh BIN_DIR     (needs python3 + numpy + onnx)
set -euo pipefail
bin=$1; work=${OUT:-/tmp}/decode-check; mkdir -p "$work"
batch=8; heads=32; kv_heads=8; kv_len=4096; d=128
python3 - "$work" "$batch" "$heads" "$kv_heads" "$kv_len" "$d" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto
work, b, h, hkv, l, d = sys.argv[1], *map(int, sys.argv[2:])
shapes = {"q": [b, h, 1, d], "k": [b, hkv, l, d], "v": [b, hkv, l, d]}
bf16 = TensorProto.BFLOAT16
graph = helper.make_graph([helper.make_node("Attention", ["q", "k", "v"], ["o"])], "decode",
                          [helper.make_tensor_value_info(n, bf16, s) for n, s in shapes.items()],
                          [helper.make_tensor_value_info("o", bf16, [b, h, 1, d])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), f"{work}/decode.onnx")
rng = np.random.default_rng(0)
for name, shape in shapes.items():
    bits = rng.standard_normal(shape, np.float32).view(np.uint32)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    t = TensorProto(name=name, data_type=bf16, dims=shape, raw_data=bits.tobytes())
    open(f"{work}/{name}.pb", "wb").write(t.SerializeToString())
PY
inputs=(--input "q=$work/q.pb" --input "k=$work/k.pb" --input "v=$work/v.pb")

echo "=== compile: without the pass (one FlashAttention-2 kernel), with it (partial + combine)"
"$bin/effc" "$work/decode.onnx" --split-kv-decode=false -o "$work/whole.effc" 2>&1 | tail -1
"$bin/effc" "$work/decode.onnx" --remarks -o "$work/split.effc" 2>&1 | tail -2
for a in whole split; do
  echo "=== $a: host reference, then cuda"
  mkdir -p "$work/host-$a" "$work/cuda-$a"
  "$bin/effc-run" "$work/$a.effc" --backend=host "${inputs[@]}" --output-dir "$work/host-$a"
  "$bin/effc-run" "$work/$a.effc" --backend=cuda "${inputs[@]}" --output-dir "$work/cuda-$a" --bench 200 \
    | tee "$work/bench-$a.txt"
done

python3 - "$work" "$batch" "$kv_heads" "$kv_len" "$d" <<'PY'
import sys, re, numpy as np
work, b, hkv, l, d = sys.argv[1], *map(int, sys.argv[2:])
ref = np.load(f"{work}/host-whole/o.npy")  # eff.attention on the host: fp32 math, one bf16 rounding
ok = True
print("\n=== max errors vs the host's eff.attention (max_rel = max|got - ref| / max|ref|)")
for label, path, tol in [("host  split (partial+combine)", "host-split", 8e-3),
                         ("cuda  whole (FA2 forward)", "cuda-whole", 2e-2),
                         ("cuda  split (partial+combine)", "cuda-split", 2e-2)]:
    got = np.load(f"{work}/{path}/o.npy")
    err = np.abs(got.astype(np.float64) - ref)
    rel = err.max() / np.abs(ref).max()
    good = bool(np.isfinite(got).all()) and rel <= tol
    ok &= good
    print(f"{label:32s} max_abs_err={err.max():.3e} max_rel_err={rel:.3e} {'PASS' if good else 'FAIL'} (tol {tol:g})")
kv_bytes = 2 * b * hkv * l * d * 2
print(f"\n=== kernel time (effc-run --bench: device median, kernels only); K+V = {kv_bytes / 2**20:.0f} MiB")
times = {}
for a in ("whole", "split"):
    m = re.search(r"device median ([0-9.]+) ms", open(f"{work}/bench-{a}.txt").read())
    times[a] = float(m.group(1)) if m else float("nan")
    print(f"{a:6s} {times[a]:8.4f} ms  {kv_bytes / (times[a] * 1e-3) / 1e9:7.1f} GB/s")
print(f"split speedup: {times['whole'] / times['split']:.2f}x")
sys.exit(0 if ok else 1)
PY
