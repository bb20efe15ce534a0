# onnx.reference's output for a model's test_data_set_0 inputs, in the ONNX
# backend-test layout: quant_reference.py MODEL_DIR OUT_DIR. onnx.reference
# dequantizes exactly (DequantizeLinear-21 with int4 blocks), unlike ORT's
# accuracy-level-4 MatMulNBits fusion that made the stored reference.
import glob, os, shutil, sys
import onnx
from onnx import numpy_helper as nh
from onnx.reference import ReferenceEvaluator

model_dir, out_dir = sys.argv[1], sys.argv[2]
model = onnx.load(os.path.join(model_dir, "model.onnx"))
os.makedirs(out_dir, exist_ok=True)
feeds = {}
for path in sorted(glob.glob(os.path.join(model_dir, "test_data_set_0", "input_*.pb"))):
    t = onnx.load_tensor(path)
    feeds[t.name] = nh.to_array(t)
    shutil.copy(path, out_dir)
names = [o.name for o in model.graph.output]
for i, value in enumerate(ReferenceEvaluator(model).run(None, feeds)):
    onnx.save_tensor(nh.from_array(value, names[i]), os.path.join(out_dir, "output_%d.pb" % i))
