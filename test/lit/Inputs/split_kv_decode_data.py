# Test data for decode_attention.textproto in ONNX backend-test layout.
#   split_kv_decode_data.py inputs DIR     DIR/input_{0..3}.pb: q, k, v and a
#       padding mask (keys >= 700 and every 9th key -inf: the last chunks are
#       fully masked)
#   split_kv_decode_data.py output DIR NPY DIR/output_0.pb from an effc-run
#       --output-dir result (the unsplit artifact's output becomes the
#       reference the split one is compared with)
import sys
import numpy as np
from onnx import numpy_helper as nh

mode, out = sys.argv[1], sys.argv[2]
if mode == "inputs":
    rng = np.random.default_rng(5)
    mask = np.zeros((1, 1, 1, 1024), np.float32)
    mask[..., 700:] = -np.inf
    mask[..., ::9] = -np.inf
    tensors = {"q": rng.standard_normal((1, 8, 1, 64)), "k": rng.standard_normal((1, 2, 1024, 64)),
               "v": rng.standard_normal((1, 2, 1024, 64)), "mask": mask}
    for i, (name, value) in enumerate(tensors.items()):
        with open(f"{out}/input_{i}.pb", "wb") as f:
            f.write(nh.from_array(value.astype(np.float32), name).SerializeToString())
else:
    with open(f"{out}/output_0.pb", "wb") as f:
        f.write(nh.from_array(np.load(sys.argv[3]), "o").SerializeToString())
