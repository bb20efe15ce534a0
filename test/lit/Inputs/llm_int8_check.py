# effc --quantize=llm-int8 against LLM.int8() written here in numpy, from
# the paper's description (Dettmers et al. 2022, "vector-wise quantization"
# and "mixed-precision decomposition"), not from effc's code:
#
#   llm_int8_check.py write DIR       a one-MatMul ONNX model DIR/model.onnx
#                                     (x [ROWS, K] times a constant W [K, N])
#                                     and its input DIR/x.pb: x has a few
#                                     outlier features (columns) at +-9 and +-7
#   llm_int8_check.py check DIR Y.npy THRESHOLD
#                                     compares effc's y with the numpy
#                                     algorithm at THRESHOLD, and shows the
#                                     check can fail: the same y must differ
#                                     from weight-only int8 and from LLM.int8
#                                     without its outlier split
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

ROWS, K, N = 5, 96, 40
OUTLIER_COLUMNS = (3, 17, 60)


def data():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((ROWS, K)).astype(np.float32)
    x[1, OUTLIER_COLUMNS[0]] = 9.0
    x[4, OUTLIER_COLUMNS[1]] = -7.0
    x[:, OUTLIER_COLUMNS[2]] = 6.5
    x[2] = 0.0  # a row whose values are all zero
    w = (rng.standard_normal((K, N)) * 0.2).astype(np.float32)
    return x, w


def quantize_weight(w):
    """Per output channel (column of W [K, N]) absmax int8, symmetric."""
    sw = np.abs(w).max(axis=0) / np.float32(127)
    sw = np.where(sw > 0, sw, np.float32(1)).astype(np.float32)
    cw = np.clip(np.round(w / sw), -127, 127).astype(np.int32)
    return cw, sw


def llm_int8(x, w, threshold):
    cw, sw = quantize_weight(w)
    outliers = (np.abs(x) >= threshold).any(axis=0)  # feature dims, over all rows
    regular = np.where(outliers[None, :], np.float32(0), x)
    sx = (np.abs(regular).max(axis=1) / np.float32(127)).astype(np.float32)  # per row
    safe = np.where(sx > 0, sx, np.float32(1))[:, None]
    cx = np.where(sx[:, None] > 0, np.clip(np.round(regular / safe), -127, 127), 0).astype(np.int32)
    int_part = (cx @ cw).astype(np.float32) * (sx[:, None] * sw[None, :])
    outlier_part = x[:, outliers].astype(np.float64) @ (cw[outliers, :] * sw[None, :]).astype(np.float64)
    return int_part.astype(np.float64) + outlier_part, int(outliers.sum())


def main():
    mode, d = sys.argv[1], sys.argv[2]
    x, w = data()
    if mode == "write":
        os.makedirs(d, exist_ok=True)
        node = h.make_node("MatMul", ["x", "W"], ["y"], name="proj")
        graph = h.make_graph([node], "llm_int8", [h.make_tensor_value_info("x", T.FLOAT, [ROWS, K])],
                             [h.make_tensor_value_info("y", T.FLOAT, [ROWS, N])],
                             [nh.from_array(w, "W")])
        onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]),
                  os.path.join(d, "model.onnx"))
        with open(os.path.join(d, "x.pb"), "wb") as f:
            f.write(nh.from_array(x, "x").SerializeToString())
        return
    y = np.load(sys.argv[3]).astype(np.float64)
    threshold = float(sys.argv[4])
    want, count = llm_int8(x, w, threshold)
    scale = np.abs(want).max()
    err = np.abs(y - want).max() / scale
    cw, sw = quantize_weight(w)
    weight_only = x.astype(np.float64) @ (cw * sw).astype(np.float64)
    no_split, _ = llm_int8(x, w, np.inf)
    far_int8 = np.abs(y - weight_only).max() / scale
    far_nosplit = np.abs(y - no_split).max() / scale
    ok = err <= 1e-5 and far_int8 > 1e-4 and (count == 0 or far_nosplit > 1e-4)
    print(f"llm-int8 threshold {threshold:g}: {count} outlier columns; max error vs numpy "
          f"{err:.3g} (<= 1e-5); vs weight-only int8 {far_int8:.3g}, vs no outlier split "
          f"{far_nosplit:.3g} (> 1e-4): {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
