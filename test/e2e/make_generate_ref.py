#!/usr/bin/env python3
"""A decoder of ../shared/zoo made ready for effc-run --generate --test-data
(it has no generate_0 and its one output is not named 'logits', which
KV-cache mode reads):
  OUT_DIR/model.onnx       the model with its only output renamed 'logits'
                           (nothing else changes)
  OUT_DIR/generate_0/      input_0.pb: the prompt (test_data_set_0's
                           input_ids), output_0.pb: N greedy tokens per row,
                           output_1.pb: each step's logits [batch, N, vocab]
The tokens come from the model compiled WITHOUT a cache (recompute mode:
every step runs the whole window through eff.attention with the model's own
mask, the path the zoo e2e tests check against the ONNX reference outputs);
the step logits are that compile's logits over prompt + tokens (position
P - 1 + i predicts token i), whose argmax must be the tokens.
  test/e2e/make_generate_ref.py MODEL_DIR BIN_DIR N OUT_DIR"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model_dir, bin_dir, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
effc, run = os.path.join(bin_dir, "effc"), os.path.join(bin_dir, "effc-run")
gen, tmp = os.path.join(out, "generate_0"), os.path.join(out, "tmp")
os.makedirs(gen, exist_ok=True)
os.makedirs(os.path.join(tmp, "full"), exist_ok=True)


def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


m = onnx.load(os.path.join(model_dir, "model.onnx"))
if len(m.graph.output) != 1:
    sys.exit("expected one output, got %s" % [o.name for o in m.graph.output])
old = m.graph.output[0].name
for node in m.graph.node:
    node.output[:] = ["logits" if o == old else o for o in node.output]
m.graph.output[0].name = "logits"
model = os.path.join(out, "model.onnx")
onnx.save(m, model)

prompt_pb = os.path.join(model_dir, "test_data_set_0", "input_0.pb")
prompt = numpy_helper.to_array(onnx.load_tensor(prompt_pb))
B, P = prompt.shape
window = os.path.join(tmp, "recompute.effc")
sh(effc, model, "--host-only", "--dim", "batch=%d" % B, "--dim", "seq=%d" % (P + n), "-o", window)
text = sh(run, window, "--backend=host", "--generate", str(n), "--input", "input_ids=" + prompt_pb)
rows = [list(map(int, g.group(2).split()))
        for g in re.finditer(r"^sequence (\d+): ([0-9 ]+)$", text, re.M)]
tokens = np.array(rows, dtype=np.int64)
if tokens.shape != (B, n):
    sys.exit("expected %d sequences of %d tokens, got:\n%s" % (B, n, text))
np.save(os.path.join(tmp, "ids.npy"), np.concatenate([prompt, tokens], axis=1))
sh(run, window, "--backend=host", "--input", "input_ids=" + os.path.join(tmp, "ids.npy"),
   "--output-dir", os.path.join(tmp, "full"))
logits = np.load(os.path.join(tmp, "full", "logits.npy"))[:, P - 1:P - 1 + n, :]
if not np.array_equal(logits.argmax(-1), tokens):
    sys.exit("the full forward's argmax differs from the generated tokens")
for name, array, tensor in (("input_0", prompt, "input_ids"), ("output_0", tokens, "tokens"),
                            ("output_1", logits, "logits")):
    with open(os.path.join(gen, name + ".pb"), "wb") as f:
        f.write(numpy_helper.from_array(array, tensor).SerializeToString())
shutil.rmtree(tmp)
print("%s: model.onnx (output '%s' -> 'logits'), generate_0: %d x %d tokens, logits %s"
      % (out, old, B, n, "x".join(map(str, logits.shape))))
