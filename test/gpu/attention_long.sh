#!/usr/bin/env bash
# One attention layer written the way exporters write it (MatMul -> scale ->
# Softmax -> MatMul, fp16), compiled by effc: the raise-attention pass turns it
# into eff.attention, so no N x N buffer exists. At N=4096 and N=65536 (d=128,
# 8 heads) it checks that the pass raised the attention (remark) and that the
# planned arena is a small fraction of the one without the pass, runs the
# artifact on the GPU and checks its output against an fp32 torch reference
# (exact softmax, computed in blocks of queries).
#   test/gpu/attention_long.sh BIN_DIR     (needs python3 + numpy + onnx + torch)
# Logs: ${OUT:-/tmp}/attention-long. Exit 1 on any failure.
set -euo pipefail
me=attention_long
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: test/gpu/attention_long.sh BIN_DIR"
bin=$1
need_exec "$bin/effc" "$bin/effc-run"
need_python numpy onnx torch
log=${OUT:-/tmp}/attention-long; mkdir -p "$log"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT   # 128 MiB per tensor at N=65536
heads=8; d=128
# Arena KiB from effc's "wrote ...: arena K KiB for ..." line (effc-run --stats
# would allocate the naive plan's arena: 128 GiB at N=65536).
arena_kib() { sed -n 's/.*, arena \([0-9]*\)\.[0-9]* KiB.*/\1/p' "$1"; }
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
  "$bin/effc" "$work/attn$n.onnx" --raise-attention=false -o "$work/naive$n.effc" >"$log/effc-naive$n.log" 2>&1
  tail -1 "$log/effc-naive$n.log"
  echo "=== N=$n: with eff.attention"
  "$bin/effc" "$work/attn$n.onnx" -o "$work/attn$n.effc" --remarks >"$log/effc$n.log" 2>&1
  tail -3 "$log/effc$n.log"
  grep -q "remark: raised attention" "$log/effc$n.log" ||
    { echo "$me: FAIL: N=$n: the softmax was not raised to eff.attention (see $log/effc$n.log)"; exit 1; }
  naive=$(arena_kib "$log/effc-naive$n.log"); raised=$(arena_kib "$log/effc$n.log")
  echo "arena KiB: naive $naive, with eff.attention $raised"
  # O(N): q, k, v and o are N * heads * d * 2 bytes each; allow 8 of them.
  if [[ -z $raised || -z $naive ]] || ((raised * 1024 > 8 * n * heads * d * 2)); then
    echo "$me: FAIL: N=$n: the arena with eff.attention is not O(N)"; exit 1
  fi
  "$bin/effc-run" "$work/attn$n.effc" --backend=cuda --input "q=$work/q$n.npy" --input "k=$work/k$n.npy" \
      --input "v=$work/v$n.npy" --output-dir "$work" --bench 5 | tee "$log/bench$n.txt"
  mv "$work/o.npy" "$work/o$n.npy"
done
python3 - "$work" <<'PY'
import sys, numpy as np, torch
torch.backends.cuda.matmul.allow_tf32 = False
work, ok = sys.argv[1], True
for n in (4096, 65536):
    q, k, v = (torch.from_numpy(np.load(f"{work}/{x}{n}.npy")).cuda().float()[0] for x in "qkv")
    ref = torch.empty_like(q)
    for i in range(0, n, 2048):  # [heads, 2048, n] scores at a time
        s = torch.matmul(q[:, i:i + 2048], k.transpose(1, 2)) * q.shape[-1] ** -0.5
        ref[:, i:i + 2048] = torch.matmul(torch.softmax(s, dim=-1), v)
    ref = ref.cpu().numpy()
    got = np.load(f"{work}/o{n}.npy").astype(np.float32)[0]
    err = np.abs(got - ref).max() / np.abs(ref).max()
    good = bool(np.isfinite(got).all()) and got.shape == ref.shape and err < 2e-2
    ok &= good
    print(f"N={n} max_rel_err vs torch fp32: {err:.2e} {'PASS' if good else 'FAIL'} (tol 2e-2)")
print(f"attention_long: {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
