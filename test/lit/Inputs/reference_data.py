# Random inputs for a float/int model and onnx.reference's outputs, in the
# ONNX backend-test layout: reference_data.py MODEL.onnx OUT_DIR [SEED]
# writes OUT_DIR/input_N.pb and OUT_DIR/output_N.pb.
import os, sys
import numpy as np, onnx
from onnx import numpy_helper as nh, helper as h
from onnx.reference import ReferenceEvaluator

model_path, out_dir = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
model = onnx.load(model_path)
initializers = {t.name for t in model.graph.initializer}
inputs = {}
for vi in model.graph.input:
    if vi.name in initializers:
        continue
    t = vi.type.tensor_type
    dims = [d.dim_value for d in t.shape.dim]
    if any(d <= 0 for d in dims):
        sys.exit(f"reference_data.py: input '{vi.name}' has a dynamic dim; give it a fixed shape")
    dtype = h.tensor_dtype_to_np_dtype(t.elem_type)
    if np.issubdtype(dtype, np.floating):
        inputs[vi.name] = rng.standard_normal(dims).astype(dtype)
    elif dtype == np.bool_:
        inputs[vi.name] = rng.random(dims) > 0.3
    else:
        inputs[vi.name] = rng.integers(0, 8, dims).astype(dtype)
outputs = ReferenceEvaluator(model).run(None, inputs)
os.makedirs(out_dir, exist_ok=True)
for i, (name, value) in enumerate(inputs.items()):
    with open(f"{out_dir}/input_{i}.pb", "wb") as f:
        f.write(nh.from_array(value, name).SerializeToString())
for i, (vi, value) in enumerate(zip(model.graph.output, outputs)):
    with open(f"{out_dir}/output_{i}.pb", "wb") as f:
        f.write(nh.from_array(np.asarray(value), vi.name).SerializeToString())
