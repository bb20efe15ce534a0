#!/usr/bin/env python3
"""effc --kv-cache with prompts of different lengths in one run (what
PastStepModel does): the shorter prompt right-padded with attention_mask 0 and
position_ids continuing from its own length, then one decode step over that
cache. Each row's logits must equal the same decoder compiled without a cache
(a symbolic seq) run on that row alone, within 1e-4 (a mask that ignored
attention_mask would let the decode step see the padding).
  test/e2e/kv_cache_padding.py DECODER_DIR BIN_DIR WORK_DIR"""
import os, re, subprocess, sys
import numpy as np
from onnx import numpy_helper, TensorProto

model_dir, bin_dir, work = sys.argv[1:4]
onnx_model = os.path.join(model_dir, "model.onnx")
effc, run = os.path.join(bin_dir, "effc"), os.path.join(bin_dir, "effc-run")


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")


def forward(artifact, inputs, tag):
    out = os.path.join(work, tag)
    os.makedirs(out, exist_ok=True)
    args = []
    for name, value in inputs.items():
        path = os.path.join(work, f"{tag}-{name}.npy")
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    sh(run, artifact, "--backend=host", *args, "--output-dir", out)
    return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}


plain, cached = os.path.join(work, "plain.effc"), os.path.join(work, "kv.effc")
sh(effc, onnx_model, "--dim", "batch=2", "--dim", "seq=1..32", "--host-only", "-o", plain)
sh(effc, onnx_model, "--kv-cache", "--dim", "batch=2", "--dim", "seq=1..32", "--dim", "past=0..63",
   "--dim", "total=1..64", "--host-only", "-o", cached)

t = TensorProto()
t.ParseFromString(open(os.path.join(model_dir, "generate_0", "input_0.pb"), "rb").read())
ids = numpy_helper.to_array(t).astype(np.int64)
a, b = ids[0, :16], ids[1, :10]
na, nb = 7, 11  # the tokens fed in the decode step
pad = 5  # a token with a nonzero embedding (some exports zero token 0's)

# References: each row alone (twice, the batch is 2), prompt + its next token.
ref_a = forward(plain, {"input_ids": np.stack([np.append(a, na)] * 2)}, "ref-a")["logits"][0]
ref_b = forward(plain, {"input_ids": np.stack([np.append(b, nb)] * 2)}, "ref-b")["logits"][0]

# Prefill: b right-padded to 16.
ids0 = np.stack([a, np.concatenate([b, np.full(6, pad)])])
mask0 = np.stack([np.ones(16, np.int64), np.concatenate([np.ones(10, np.int64), np.zeros(6, np.int64)])])
pos0 = np.stack([np.arange(16), np.concatenate([np.arange(10), np.full(6, 10)])]).astype(np.int64)
inputs = {"input_ids": ids0, "attention_mask": mask0, "position_ids": pos0}
# The cache inputs' shapes [batch, heads, past, head_dim] from the IR.
ir = subprocess.run([effc, onnx_model, "--kv-cache", "--dim", "batch=2", "--dim", "seq=1..32",
                     "--dim", "past=0..63", "--dim", "total=1..64", "--emit=mlir"],
                    capture_output=True, text=True, check=True).stdout
caches = re.findall(r'tensor<(\d+)x(\d+)x\?x(\d+)xf32> \{eff.dim_params = \[[^\]]*\], '
                    r'eff.name = "past_key_values\.(\d+)\.(key|value)"', ir)
if not caches:
    sys.exit("no past_key_values inputs in the --kv-cache IR")
for B, H, D, layer, kind in caches:
    inputs[f"past_key_values.{layer}.{kind}"] = np.zeros((int(B), int(H), 0, int(D)), np.float32)
first = forward(cached, inputs, "prefill")

# Decode: one token per row; b's padding stays masked.
inputs = {"input_ids": np.array([[na], [nb]], np.int64),
          "attention_mask": np.concatenate([mask0, np.ones((2, 1), np.int64)], axis=1),
          "position_ids": np.array([[16], [10]], np.int64)}
for _, _, _, layer, kind in caches:
    inputs[f"past_key_values.{layer}.{kind}"] = first[f"present.{layer}.{kind}"]
second = forward(cached, inputs, "decode")


def check(what, got, ref):
    err = float(np.max(np.abs(got - ref))) / float(np.max(np.abs(ref)))
    print(f"{what}: max_rel_err={err:.3g} {'PASS' if err <= 1e-4 else 'FAIL'}")
    return err <= 1e-4


ok = check("row 0 prefill (16 tokens)", first["logits"][0], ref_a[:16])
ok &= check("row 1 prefill (10 tokens + 6 pads)", first["logits"][1, :10], ref_b[:10])
ok &= check("row 0 decode", second["logits"][0, 0], ref_a[16])
ok &= check("row 1 decode over its padded cache", second["logits"][1, 0], ref_b[10])
sys.exit(0 if ok else 1)
