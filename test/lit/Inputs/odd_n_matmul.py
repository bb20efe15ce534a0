"""odd_n_matmul.py OUT.onnx: x [2, 3, 64] times two constant weights whose
[K, N] rows are not 16-byte aligned in bf16 (N = 77, 50 odd-sized): a MatMul
of a [64, 77] initializer, and the GPT-2 LM head form MatMul(x,
Transpose(W [50, 64])), which import folds into a [64, 50] constant. Random
weights (seed 0), so a transposition that moves data wrongly changes the
outputs."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
w = numpy_helper.from_array(rng.standard_normal((64, 77)).astype(np.float32), "w")
head = numpy_helper.from_array(rng.standard_normal((50, 64)).astype(np.float32), "head")
nodes = [
    helper.make_node("MatMul", ["x", "w"], ["y"], name="proj"),
    helper.make_node("Transpose", ["head"], ["head_t"], name="head_t", perm=[1, 0]),
    helper.make_node("MatMul", ["x", "head_t"], ["logits"], name="lm_head"),
]
graph = helper.make_graph(
    nodes, "odd_n",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 77]),
     helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 3, 50])],
    [w, head])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
