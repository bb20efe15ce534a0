# Small quantized models that effc must refuse, each with one unsupported
# variant: quant_error_models.py OUT_DIR writes OUT_DIR/<case>.onnx.
import os, sys
import numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
K, N, bs = 32, 8, 32


def save(name, nodes, inits, opsets=(("", 21), ("com.microsoft", 1))):
    graph = h.make_graph(nodes, name, [h.make_tensor_value_info("a", T.FLOAT, [2, K])],
                         [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = 10
    onnx.save(model, os.path.join(out, name + ".onnx"))


b = nh.from_array(np.zeros((N, 1, bs // 2), np.uint8), "B")
s = nh.from_array(np.ones((N, 1), np.float32), "scales")
nbits = lambda **attrs: h.make_node("MatMulNBits", ["a", "B", "scales"], ["y"], name="mnb",
                                    domain="com.microsoft", **attrs)
save("prepacked", [nbits(K=K, N=N, bits=4, block_size=bs, weight_prepacked=1)], [b, s])
save("bits2", [nbits(K=K, N=N, bits=2, block_size=bs)], [b, s])
bnb = h.make_node("MatMulBnb4", ["a", "B", "absmax"], ["y"], name="bnb", domain="com.microsoft",
                  K=K, N=N, block_size=64, quant_type=2)
save("bnb_quant_type", [bnb], [nh.from_array(np.zeros(N * K // 2, np.uint8), "B"),
                               nh.from_array(np.ones(4, np.float32), "absmax")])
# An int4 weight read by something other than a MatMul.
w4 = h.make_tensor("W", T.INT4, [K, N], np.zeros(K * N // 2, np.uint8).tobytes(), raw=True)
dq = h.make_node("DequantizeLinear", ["W", "ws"], ["wf"], name="dq", axis=0, block_size=bs)
add = h.make_node("Add", ["wf", "wf"], ["y"], name="add")
save("int4_not_matmul", [dq, add], [w4, nh.from_array(np.ones((1, N), np.float32), "ws")])
# MatMulInteger outside onnxruntime's dynamic pattern.
mmi = h.make_node("MatMulInteger", ["aq", "Wq"], ["y"], name="mmi")
cast = h.make_node("Cast", ["a"], ["aq"], name="cast", to=T.UINT8)
save("matmulinteger", [cast, mmi], [nh.from_array(np.zeros((K, N), np.int8), "Wq")])
