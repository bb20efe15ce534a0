# Small quantized models with edge cases the shared models lack, and their
# expected outputs computed here with numpy from the formats' definitions
# (../shared/notes/formats.md), independent of effc:
#   quant_cases.py OUT_DIR  writes OUT_DIR/<case>/model.onnx + test_data_set_0
# Cases: nbits4_bias_zp (MatMulNBits 4-bit, K = 80 with blocks of 32: a
# partial last block, 3 blocks so the packed zero points end in a pad
# nibble, bias), nbits8_zp (8-bit with zero points), qdq_uint4_zp
# (DequantizeLinear-21 uint4 + uint4 zero points, K = 40, blocks of 16, an
# odd code count), qdq_int8_axis (int8 per column, axis 1), bnb4_fp4 (FP4,
# N * K odd, blocks spanning rows).
import os, sys
import numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T

out = sys.argv[1]
rng = np.random.default_rng(17)
FP4 = np.array([0, 0.005208333333, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25,
                -0.0, -0.005208333333, -0.66666667, -1, -0.33333333, -0.5, -0.16666667, -0.25],
               np.float32)


def pack_low_first(codes):
    codes = np.asarray(codes, np.uint8).reshape(-1)
    if codes.size % 2:
        codes = np.append(codes, 0)
    return (codes[0::2] | (codes[1::2] << 4)).astype(np.uint8)


def save(name, node, inits, a, y, opsets):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    graph = h.make_graph(node, name, [h.make_tensor_value_info("a", T.FLOAT, list(a.shape))],
                         [h.make_tensor_value_info("y", T.FLOAT, list(y.shape))], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid(dm, v) for dm, v in opsets])
    model.ir_version = 10
    onnx.save(model, os.path.join(d, "model.onnx"))
    onnx.save_tensor(nh.from_array(a, "a"), os.path.join(d, "test_data_set_0", "input_0.pb"))
    onnx.save_tensor(nh.from_array(y.astype(np.float32), "y"),
                     os.path.join(d, "test_data_set_0", "output_0.pb"))


MS = (("", 21), ("com.microsoft", 1))
a = rng.standard_normal((3, 80)).astype(np.float32)

# MatMulNBits, 4 bits: B [N, blocks, bs / 2], zero points packed [N, ceil(blocks / 2)].
for bits in (4, 8):
    K, N, bs = 80, 6, 32
    blocks = (K + bs - 1) // bs
    q = rng.integers(0, 2**bits, (N, blocks * bs))
    zp = rng.integers(0, 2**bits, (N, blocks))
    scales = rng.uniform(0.01, 0.1, (N, blocks)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    if bits == 4:
        B = np.stack([pack_low_first(q[n]) for n in range(N)]).reshape(N, blocks, bs // 2)
        Z = np.stack([pack_low_first(zp[n]) for n in range(N)])
    else:
        B = q.astype(np.uint8).reshape(N, blocks, bs)
        Z = zp.astype(np.uint8)
    k = np.arange(K)
    W = ((q[:, :K] - zp[:, k // bs]) * scales[:, k // bs]).T  # [K, N]
    inputs = ["a", "B", "scales", "zp"] + (["", "bias"] if bits == 4 else [])
    node = h.make_node("MatMulNBits", inputs, ["y"], domain="com.microsoft", K=K, N=N,
                       bits=bits, block_size=bs)
    inits = [nh.from_array(B, "B"), nh.from_array(scales, "scales"), nh.from_array(Z, "zp")]
    y = a @ W
    if bits == 4:
        inits.append(nh.from_array(bias, "bias"))
        y = y + bias
    save("nbits4_bias_zp" if bits == 4 else "nbits8_zp", [node], inits, a, y, MS)

# DequantizeLinear-21, uint4 [K, N] with uint4 zero points, blocks of 16 along K.
K, N, bs = 40, 5, 16
blocks = (K + bs - 1) // bs
x = rng.integers(0, 16, (K, N))
zp = rng.integers(0, 16, (blocks, N))
s = rng.uniform(0.01, 0.1, (blocks, N)).astype(np.float32)
W = (x - zp[np.arange(K) // bs]) * s[np.arange(K) // bs]
xt = h.make_tensor("x", T.UINT4, [K, N], pack_low_first(x).tobytes(), raw=True)
zt = h.make_tensor("zp", T.UINT4, [blocks, N], pack_low_first(zp).tobytes(), raw=True)
dq = h.make_node("DequantizeLinear", ["x", "s", "zp"], ["w"], axis=0, block_size=bs)
mm = h.make_node("MatMul", ["a", "w"], ["y"])
a40 = a[:, :K].copy()
save("qdq_uint4_zp", [dq, mm], [xt, zt, nh.from_array(s, "s")], a40, a40 @ W, (("", 21),))

# DequantizeLinear int8 per column (axis 1) with zero points.
K, N = 80, 7
x = rng.integers(-128, 128, (K, N)).astype(np.int8)
zp = rng.integers(-20, 20, N).astype(np.int8)
s = rng.uniform(0.001, 0.01, N).astype(np.float32)
W = (x.astype(np.int32) - zp) * s
dq = h.make_node("DequantizeLinear", ["x", "s", "zp"], ["w"], axis=1)
save("qdq_int8_axis", [dq, mm], [nh.from_array(x, "x"), nh.from_array(s, "s"),
                                 nh.from_array(zp, "zp")], a, a @ W, (("", 21),))

# MatMulBnb4 FP4: the [N, K] weight flattened, blocks of 64 over the flat
# index, first code in the high nibble; N * K odd.
K, N, bs = 79, 5, 64
codes = rng.integers(0, 16, N * K)
absmax = rng.uniform(0.5, 2, (N * K + bs - 1) // bs).astype(np.float32)
flat = FP4[codes] * absmax[np.arange(N * K) // bs]
W = flat.reshape(N, K).T
padded = np.append(codes, 0) if codes.size % 2 else codes
B = ((padded[0::2] << 4) | padded[1::2]).astype(np.uint8)
node = h.make_node("MatMulBnb4", ["a", "B", "absmax"], ["y"], domain="com.microsoft", K=K, N=N,
                   block_size=bs, quant_type=0)
a79 = a[:, :K].copy()
save("bnb4_fp4", [node], [nh.from_array(B, "B"), nh.from_array(absmax, "absmax")], a79,
     a79 @ W, MS)
