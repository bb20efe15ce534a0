#!/usr/bin/env python3
"""One decode step of Llama-style attention as an ONNX model: Attention-23
with q_len 1, grouped KV heads, bf16 q/k/v and output.

  make_decode_case.py OUT_DIR BATCH HEADS KV_HEADS KV_LEN HEAD_DIM

writes OUT_DIR/decode.onnx and OUT_DIR/{q,k,v}.pb (random, rounded to bf16
to nearest even). effc compiles it to one FlashAttention-2 kernel
(--split-kv-decode=false) or to split-KV partial + combine kernels.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

if len(sys.argv) != 7:
    sys.exit(__doc__)
out = sys.argv[1]
b, h, hkv, l, d = map(int, sys.argv[2:])
os.makedirs(out, exist_ok=True)
shapes = {"q": [b, h, 1, d], "k": [b, hkv, l, d], "v": [b, hkv, l, d]}
bf16 = TensorProto.BFLOAT16
graph = helper.make_graph([helper.make_node("Attention", ["q", "k", "v"], ["o"])], "decode",
                          [helper.make_tensor_value_info(n, bf16, s) for n, s in shapes.items()],
                          [helper.make_tensor_value_info("o", bf16, [b, h, 1, d])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]), os.path.join(out, "decode.onnx"))
rng = np.random.default_rng(0)
for name, shape in shapes.items():
    bits = rng.standard_normal(shape, np.float32).view(np.uint32)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    t = TensorProto(name=name, data_type=bf16, dims=shape, raw_data=bits.tobytes())
    with open(os.path.join(out, name + ".pb"), "wb") as f:
        f.write(t.SerializeToString())
