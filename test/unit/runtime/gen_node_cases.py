#!/usr/bin/env python3
"""Dev helper: writes ONNX node-test style cases (model.onnx +
test_data_set_0/{input,output}_*.pb) for ops newer than Debian's
libonnx-testdata (Gelu-20, RMSNormalization-23, RotaryEmbedding-23, ...), with
expected outputs from the onnx reference implementation (the spec).

  python3 gen_node_cases.py OUT_DIR
  EFFC_EXTRA_NODE_CASES=OUT_DIR effc-runtime-tests --gtest_filter=NodeCases.*
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

rng = np.random.default_rng(0)


def case(out, name, op, inputs, attrs=None, n_out=1, opset=23):
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    real = [(n, x) for n, x in zip(names, inputs) if x is not None]
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(op, names, outs, **(attrs or {}))
    g_in = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape) for n, x in real]
    g_out = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs]
    model = helper.make_model(helper.make_graph([node], name, g_in, g_out),
                              opset_imports=[helper.make_opsetid("", opset)])
    res = ReferenceEvaluator(model).run(None, {n: x for n, x in real})
    d = os.path.join(out, "test_" + name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (_, x) in enumerate(real):
        onnx.save_tensor(numpy_helper.from_array(x), os.path.join(d, "test_data_set_0", f"input_{i}.pb"))
    for i, y in enumerate(res):
        onnx.save_tensor(numpy_helper.from_array(np.asarray(y)), os.path.join(d, "test_data_set_0", f"output_{i}.pb"))


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def main(out):
    case(out, "gelu_none", "Gelu", [f32(3, 5)])
    case(out, "gelu_tanh", "Gelu", [f32(3, 5)], {"approximate": "tanh"})
    case(out, "rms_default", "RMSNormalization", [f32(2, 3, 8), f32(8)])
    case(out, "rms_axis1", "RMSNormalization", [f32(2, 3, 4), f32(3, 4)], {"axis": 1, "epsilon": 1e-3})
    B, S, H, D = 2, 3, 2, 8
    pos = rng.integers(0, 10, size=(B, S)).astype(np.int64)
    cosc, sinc = f32(10, D // 2), f32(10, D // 2)
    case(out, "rope_4d_pos", "RotaryEmbedding", [f32(B, H, S, D), cosc, sinc, pos])
    case(out, "rope_4d_pos_interleaved", "RotaryEmbedding", [f32(B, H, S, D), cosc, sinc, pos], {"interleaved": 1})
    case(out, "rope_3d_pos", "RotaryEmbedding", [f32(B, S, H * D), cosc, sinc, pos], {"num_heads": H})
    case(out, "rope_4d_partial", "RotaryEmbedding", [f32(B, H, S, D), f32(10, 2), f32(10, 2), pos],
         {"rotary_embedding_dim": 4})
    case(out, "rope_4d_nopos", "RotaryEmbedding", [f32(B, H, S, D), f32(B, S, D // 2), f32(B, S, D // 2)])
    case(out, "softmax_23", "Softmax", [f32(2, 3, 4)], {"axis": 1})
    case(out, "reduce_max_axes_18", "ReduceMax", [f32(2, 3, 4), np.array([0, 2], np.int64)], {"keepdims": 0}, opset=18)
    case(out, "reduce_mean_axes_18", "ReduceMean", [f32(2, 3, 4), np.array([-1], np.int64)], opset=18)
    case(out, "split_num_outputs", "Split", [f32(7, 2)], {"num_outputs": 3}, n_out=3, opset=18)
    case(out, "topk_ties", "TopK", [np.array([[1, 3, 3, 2, 3]], np.float32), np.array([3], np.int64)], n_out=2)
    case(out, "matmul_batch_bcast", "MatMul", [f32(2, 1, 3, 4), f32(5, 4, 2)])
    case(out, "matmul_1d", "MatMul", [f32(4), f32(3, 4, 2)])
    case(out, "attn_like_where", "Where", [rng.random((3, 1)) > 0.5, f32(1, 4), f32(3, 4)])
    case(out, "cast_f32_to_f16", "Cast", [f32(4, 4) * 1000], {"to": TensorProto.FLOAT16})
    case(out, "cast_f32_to_bf16", "Cast", [f32(4, 4)], {"to": TensorProto.BFLOAT16})
    case(out, "gather_nd_bd1", "GatherND", [f32(2, 3, 4), rng.integers(-3, 3, size=(2, 2, 1)).astype(np.int64)],
         {"batch_dims": 1})
    case(out, "layernorm_bias", "LayerNormalization", [f32(2, 5), f32(5), f32(5)], n_out=1)


if __name__ == "__main__":
    main(sys.argv[1])
