#!/usr/bin/env python3
"""Small single-op ONNX models that exercise every CUDA kernel family and the
shape/attribute corners of each (block-per-row reductions, GQA/causal/masked
attention, batch-broadcast matmul, fp16, ...).

  gen_op_cases.py OUT_DIR

writes OUT_DIR/<case>/model.onnx and test_data_set_0/input_*.pb. Reference
outputs come from effc's host backend (check_ops.sh), the spec every
generated kernel must match.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
F32, F16, I64, BOOL = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.BOOL
NP = {F32: np.float32, F16: np.float16, I64: np.int64, BOOL: np.bool_}


def rand(shape, t=F32):
    if t == I64:
        return rng.integers(-5, 5, size=shape).astype(np.int64)
    if t == BOOL:
        return rng.random(shape) > 0.3
    return rng.standard_normal(shape).astype(NP[t])


def case(out, name, op, inputs, outputs, attrs=None, consts=None, opset=23):
    """inputs: list of (name, array) graph inputs; consts: (name, array)
    initializers; outputs: list of (name, elem_type, shape)."""
    consts = consts or []
    node = helper.make_node(op, [n for n, _ in inputs] + [n for n, _ in consts if not n.startswith("_")],
                            [n for n, _, _ in outputs], **(attrs or {}))
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        [numpy_helper.from_array(a, n) for n, a in consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(inputs):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())


def node_with_optional(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def main(out):
    # Norms: warp-per-row, block-per-row, multi-dim rows with broadcast scale, fp16.
    for name, shape, axis, t in [("ln_warp", [4, 37, 100], -1, F32), ("ln_block", [2, 3, 2048], -1, F32),
                                 ("ln_axis1", [2, 3, 5, 7], 1, F32), ("ln_fp16", [3, 9, 256], -1, F16)]:
        inner = shape[axis:]
        case(out, name, "LayerNormalization", [("x", rand(shape, t))], [("y", t, shape)],
             {"axis": axis, "epsilon": 1e-5},
             [("scale", rand(inner, t)), ("bias", rand([inner[-1]], t))])
    for name, shape in [("rms_warp", [2, 7, 64]), ("rms_block", [1, 3, 4096])]:
        case(out, name, "RMSNormalization", [("x", rand(shape))], [("y", F32, shape)], {"epsilon": 1e-6},
             [("scale", rand([shape[-1]]))])
    # Softmax / reductions.
    for name, shape, axis in [("softmax_last", [3, 5, 77], -1), ("softmax_axis1", [3, 33, 4], 1),
                              ("softmax_long", [2, 3000], -1), ("softmax_medium_few", [4, 700], -1)]:
        case(out, name, "Softmax", [("x", rand(shape))], [("y", F32, shape)], {"axis": axis})
    for name, op, shape, axes, keep, t in [
            ("rsum_02", "ReduceSum", [3, 4, 5], [0, 2], 1, F32), ("rmean_last", "ReduceMean", [6, 300], [-1], 0, F32),
            ("rmax_long", "ReduceMax", [2, 5000], [1], 1, F32), ("rsum_all", "ReduceSum", [7, 9], None, 0, F32),
            ("rmax_int", "ReduceMax", [4, 6], [0], 1, I64), ("rmean_mid", "ReduceMean", [2, 50, 3], [1], 1, F32)]:
        x = rand(shape, t)
        kept = [1 if (axes is None or d in [a % len(shape) for a in axes]) else s for d, s in enumerate(shape)]
        oshape = kept if keep else [s for d, s in enumerate(shape) if not (axes is None or d in [a % len(shape) for a in axes])]
        consts = [("axes", np.array(axes, np.int64))] if axes is not None else []
        case(out, name, op, [("x", x)], [("y", t, oshape)], {"keepdims": keep}, consts, opset=18)
    # cum_sum / top_k.
    for name, shape, axis, ex, rev in [("cumsum_0", [5, 6], 0, 0, 0), ("cumsum_ex_rev", [3, 40], 1, 1, 1)]:
        case(out, name, "CumSum", [("x", rand(shape))], [("y", F32, shape)], {"exclusive": ex, "reverse": rev},
             [("axis", np.array(axis, np.int64))])
    case(out, "topk_last", "TopK", [("x", rand([4, 10]))], [("v", F32, [4, 3]), ("i", I64, [4, 3])], {},
         [("k", np.array([3], np.int64))])
    xt = rand([6, 5]).copy(); xt[1, :] = xt[0, :]  # ties
    case(out, "topk_axis0_smallest", "TopK", [("x", xt)], [("v", F32, [2, 5]), ("i", I64, [2, 5])],
         {"axis": 0, "largest": 0}, [("k", np.array([2], np.int64))])
    # Matmul / gemm.
    for name, a, b, o in [("mm_bcast", [2, 1, 33, 70], [3, 70, 65], [2, 3, 33, 65]), ("mm_vec_left", [70], [70, 65], [65]),
                          ("mm_vec_right", [5, 70], [70], [5]), ("mm_big", [2, 128, 256], [256, 192], [2, 128, 192]),
                          ("mm_fp16", [4, 40, 64], [64, 72], [4, 40, 72])]:
        t = F16 if "fp16" in name else F32
        case(out, name, "MatMul", [("a", rand(a, t)), ("b", rand(b, t))], [("y", t, o)])
    case(out, "gemm_tt_bias", "Gemm", [("a", rand([70, 33])), ("b", rand([65, 70]))], [("y", F32, [33, 65])],
         {"transA": 1, "transB": 1, "alpha": 0.5, "beta": 2.0}, [("c", rand([65]))])
    # Attention (opset 23): MHA, GQA + causal, masks, q shorter than kv, big head dim.
    def attn(name, B, Hq, Hkv, S, L, D, Dv, attrs=None, mask=None):
        ins = [("q", rand([B, Hq, S, D])), ("k", rand([B, Hkv, L, D])), ("v", rand([B, Hkv, L, Dv]))]
        if mask is not None:
            ins.append(("mask", mask))
        case(out, name, "Attention", ins, [("y", F32, [B, Hq, S, Dv])], attrs or {})
    attn("attn_mha", 2, 4, 4, 10, 10, 16, 16)
    attn("attn_gqa_causal", 2, 8, 2, 40, 40, 32, 32, {"is_causal": 1})
    attn("attn_decode", 1, 4, 2, 3, 70, 64, 64)  # ONNX is_causal needs S == L
    attn("attn_float_mask", 2, 2, 2, 9, 45, 16, 24, {}, rand([2, 1, 9, 45]))
    attn("attn_bool_mask", 1, 2, 1, 5, 33, 8, 8, {}, rand([5, 33], BOOL) | np.eye(5, 33, dtype=bool))
    attn("attn_d128", 1, 2, 2, 17, 50, 128, 128, {"scale": 0.1})
    # Rope (opset 23).
    def rope(name, xshape, cache, pos, attrs):
        ins = [("x", rand(xshape)), ("cos", rand(cache)), ("sin", rand(cache))]
        if pos is not None:
            ins.append(("pos", pos))
        case(out, name, "RotaryEmbedding", ins, [("y", F32, xshape)], attrs)
    rope("rope_4d_pos", [2, 3, 5, 16], [20, 8], rng.integers(0, 20, size=[2, 5]).astype(np.int64), {})
    rope("rope_3d_interleaved", [2, 5, 48], [2, 5, 8], None, {"num_heads": 3, "interleaved": 1})
    rope("rope_partial", [1, 2, 4, 32], [10, 6], np.array([[0, 3, 6, 9]], np.int64), {"rotary_embedding_dim": 12})
    # Elementwise / data movement corners.
    case(out, "gelu_tanh", "Gelu", [("x", rand([3, 50]))], [("y", F32, [3, 50])], {"approximate": "tanh"}, opset=20)
    case(out, "gelu_erf", "Gelu", [("x", rand([3, 50]))], [("y", F32, [3, 50])], {}, opset=20)
    case(out, "where_bcast", "Where", [("c", rand([4, 1, 6], BOOL)), ("a", rand([5, 1])), ("b", rand([6]))],
         [("y", F32, [4, 5, 6])])
    case(out, "add_bcast_fp16", "Add", [("a", rand([3, 1, 7], F16)), ("b", rand([4, 1], F16))], [("y", F16, [3, 4, 7])])
    case(out, "expand", "Expand", [("x", rand([3, 1]))], [("y", F32, [2, 3, 4])], {},
         [("shape", np.array([2, 1, 4], np.int64))])
    case(out, "slice_neg_step", "Slice", [("x", rand([5, 8, 6]))], [("y", F32, [5, 3, 2])], {},
         [("starts", np.array([-1, 1], np.int64)), ("ends", np.array([1, -100], np.int64)),
          ("axes", np.array([1, 2], np.int64)), ("steps", np.array([-2, -1], np.int64))], opset=13)
    case(out, "gather_axis1", "Gather", [("x", rand([3, 7, 4]))], [("y", F32, [3, 2, 2, 4])], {"axis": 1},
         [("idx", np.array([[0, -1], [3, -7]], np.int64))], opset=13)
    case(out, "split_uneven", "Split", [("x", rand([2, 7, 3]))], [("a", F32, [2, 3, 3]), ("b", F32, [2, 3, 3]), ("c", F32, [2, 1, 3])],
         {"axis": 1, "num_outputs": 3}, opset=18)
    case(out, "concat3", "Concat", [("a", rand([2, 1, 3])), ("b", rand([2, 4, 3])), ("c", rand([2, 2, 3]))],
         [("y", F32, [2, 7, 3])], {"axis": 1})
    case(out, "transpose_0213", "Transpose", [("x", rand([2, 5, 3, 8]))], [("y", F32, [2, 3, 5, 8])], {"perm": [0, 2, 1, 3]})
    case(out, "trilu_k", "Trilu", [("x", rand([2, 5, 6]))], [("y", F32, [2, 5, 6])], {"upper": 0},
         [("k", np.array(1, np.int64))], opset=14)
    case(out, "cast_f32_f16", "Cast", [("x", (rand([4, 64]) * 1000).astype(np.float32))], [("y", F16, [4, 64])], {"to": F16})
    case(out, "cast_f32_i64", "Cast", [("x", rand([4, 16]) * 10)], [("y", I64, [4, 16])], {"to": I64})


if __name__ == "__main__":
    main(sys.argv[1])
