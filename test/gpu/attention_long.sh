#!/usr/bin/env bash
# One attention layer written the way exporters write it (MatMul -> scale ->
# Softmax -> MatMul, fp16), compiled by effc: the raise-attention pass turns it
# into eff.attention, so no N x N buffer exists. Checks numerics against torch
# at N=4096 and runs N=65536 (d=128, 8 heads) on the GPU, printing the arena
# effc planned with and without the pass.
#   test/gpu/attention_long.sh BIN_DIR     (needs python3 + numpy + onnx + torch)
set -euo pipefail
bin=$1; work=${OUT:-/tmp}/attention-long; mkdir -p "$work"
heads=8; d=128
for n in 4096 65536; do
  python3 - "$work" "$n" "$heads" "$d" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, TensorProto
work, n, h, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
shape = [1, h, n, d]
f16 = TensorProto.FLOAT16
nodes = [
    helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
    helper.make_node("MatMul", ["q", "kt"], ["s"]),
    helper.make_node("Mul", ["s", "scale"], ["ss"]),
    helper.make_node("Softmax", ["ss"], ["p"], axis=-1),
    helper.make_node("MatMul", ["p", "v"], ["o"]),
]
scale = helper.make_tensor("scale", f16, [], [d ** -0.5])
graph = helper.make_graph(nodes, "attention", [helper.make_tensor_value_info(x, f16, shape) for x in "qkv"],
                          [helper.make_tensor_value_info("o", f16, shape)], [scale])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{work}/attn{n}.onnx")
rng = np.random.default_rng(n)
for x in "qkv":
    np.save(f"{work}/{x}{n}.npy", rng.standard_normal(shape).astype(np.float16))
PY
  echo "=== N=$n: without the pass (what a naive plan would need)"
  "$bin/effc" "$work/attn$n.onnx" --raise-attention=false -o "$work/naive$n.effc" 2>&1 | tail -1
  echo "=== N=$n: with eff.attention"
  "$bin/effc" "$work/attn$n.onnx" -o "$work/attn$n.effc" --remarks 2>&1 | tail -3  # raised, not split, wrote
  "$bin/effc-run" "$work/attn$n.effc" --stats | grep -E "arena|intermediate"
  "$bin/effc-run" "$work/attn$n.effc" --backend=cuda --input "q=$work/q$n.npy" --input "k=$work/k$n.npy" \
      --input "v=$work/v$n.npy" --output-dir "$work" --bench 5 | grep bench
  mv "$work/o.npy" "$work/o$n.npy"
done
python3 - "$work" <<'PY'
import sys, numpy as np, torch
work = sys.argv[1]
n = 4096
q, k, v = (torch.from_numpy(np.load(f"{work}/{x}{n}.npy")).cuda().float() for x in "qkv")
ref = torch.nn.functional.scaled_dot_product_attention(q, k, v).cpu().numpy()
got = np.load(f"{work}/o{n}.npy").astype(np.float32)
err = np.abs(got - ref).max() / np.abs(ref).max()
big = np.load(f"{work}/o65536.npy")
print(f"N=4096 max_rel_err vs torch fp32: {err:.2e} {'PASS' if err < 2e-2 else 'FAIL'}; "
      f"N=65536 output finite: {bool(np.isfinite(big).all())}")
sys.exit(0 if err < 2e-2 and np.isfinite(big).all() else 1)
PY
