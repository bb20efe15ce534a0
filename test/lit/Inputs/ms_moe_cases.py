# com.microsoft.MoE nodes (onnxruntime's fused MoE, as onnxruntime-genai writes
# it) with reference outputs from numpy (the op's semantics: softmax over
# router_probs, the k largest probabilities, renormalized with
# normalize_routing_weights, gated experts act(fc1 x) * (fc3 x) through fc2;
# weights [E, out, in]), in ONNX backend-test layout under DIR/<case>/:
#   silu_norm    [6, 8] input, 4 experts, top-2, silu, renormalized
#   gelu_3d      [2, 3, 8] input, 5 experts, top-3, gelu (erf), not renormalized
#   old_layout   as silu_norm with the weights of older releases ([E, in, out])
#   relu         activation_type relu (refused)
#   bias         with fc1_experts_bias (refused)
# Usage: ms_moe_cases.py DIR
import math, os, sys
import numpy as np, onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh

os.chdir(sys.argv[1])
rng = np.random.default_rng(3)


def erf(v):
    return np.vectorize(math.erf)(v)


def reference(x, logits, fc1, fc2, fc3, k, act, norm):
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    y = np.zeros_like(x, dtype=np.float64)
    for t in range(x.shape[0]):
        order = sorted(range(p.shape[1]), key=lambda e: (-p[t, e], e))[:k]
        w = p[t, order]
        if norm:
            w = w / w.sum()
        for e, we in zip(order, w):
            g, u = fc1[e] @ x[t], fc3[e] @ x[t]
            a = g / (1 + np.exp(-g)) if act == "silu" else 0.5 * g * (1 + erf(g / math.sqrt(2)))
            y[t] += we * (fc2[e] @ (a * u))
    return y.astype(np.float32)


def case(name, shape, E, k, act, norm, I=6, old_layout=False, bias=False):
    H = shape[-1]
    T = int(np.prod(shape[:-1]))
    x = rng.standard_normal(shape).astype(np.float32)
    logits = rng.standard_normal((T, E)).astype(np.float32)
    fc1 = (rng.standard_normal((E, I, H)) / math.sqrt(H)).astype(np.float32)
    fc3 = (rng.standard_normal((E, I, H)) / math.sqrt(H)).astype(np.float32)
    fc2 = (rng.standard_normal((E, H, I)) / math.sqrt(I)).astype(np.float32)
    stored = [w.transpose(0, 2, 1).copy() if old_layout else w for w in (fc1, fc2, fc3)]
    inits = [nh.from_array(stored[0], "fc1"), nh.from_array(stored[1], "fc2"),
             nh.from_array(stored[2], "fc3")]
    ins = ["x", "router", "fc1", "", "fc2", "", "fc3"]
    if bias:
        inits.append(nh.from_array(np.zeros((E, I), np.float32), "fc1_bias"))
        ins[3] = "fc1_bias"
    node = h.make_node("MoE", ins, ["y"], domain="com.microsoft", k=k, activation_type=act,
                       normalize_routing_weights=int(norm))
    g = h.make_graph([node], name, [h.make_tensor_value_info("x", TP.FLOAT, list(shape)),
                                    h.make_tensor_value_info("router", TP.FLOAT, [T, E])],
                     [h.make_tensor_value_info("y", TP.FLOAT, list(shape))], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17), h.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    os.makedirs(f"{name}/test_data_set_0", exist_ok=True)
    onnx.save(m, f"{name}/model.onnx")
    if act in ("silu", "gelu"):
        y = reference(x.reshape(T, H), logits, fc1, fc2, fc3, k, act, norm).reshape(shape)
    else:
        y = np.zeros(shape, np.float32)
    for i, (n, v) in enumerate([("x", x), ("router", logits)]):
        open(f"{name}/test_data_set_0/input_{i}.pb", "wb").write(nh.from_array(v, n).SerializeToString())
    open(f"{name}/test_data_set_0/output_0.pb", "wb").write(nh.from_array(y, "y").SerializeToString())


case("silu_norm", (6, 8), 4, 2, "silu", True)
case("gelu_3d", (2, 3, 8), 5, 3, "gelu", False)
case("old_layout", (6, 8), 4, 2, "silu", True, old_layout=True)
case("relu", (6, 8), 4, 2, "relu", True)
case("bias", (6, 8), 4, 2, "silu", True, bias=True)
