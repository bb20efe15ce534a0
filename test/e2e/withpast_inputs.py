# Inputs of ../shared/decoders/llama-withpast for one past length, as .npy
# files effc-run --input reads: withpast_inputs.py PAST SEQ OUT_DIR [TOTAL [PAD]]
# writes OUT_DIR/<input name>.npy (batch 2; the mask all ones over TOTAL
# positions, default past + seq, except the first PAD positions of the second
# sequence (left padding, default 0); position ids past..past+seq-1; random
# tokens and past keys/values, seeded by PAST).
import os, sys
import numpy as np

past, seq, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
total = int(sys.argv[4]) if len(sys.argv) > 4 else past + seq
pad = int(sys.argv[5]) if len(sys.argv) > 5 else 0
rng = np.random.default_rng(past)
batch, layers, kv_heads, head_dim, vocab = 2, 2, 2, 16, 256
inputs = {
    "input_ids": rng.integers(0, vocab, (batch, seq)).astype(np.int64),
    "attention_mask": np.ones((batch, total), np.int64),
    "position_ids": np.tile(np.arange(past, past + seq, dtype=np.int64), (batch, 1)),
}
for layer in range(layers):
    for kind in ("key", "value"):
        inputs[f"past_key_values.{layer}.{kind}"] = rng.standard_normal(
            (batch, kv_heads, past, head_dim)).astype(np.float32)
inputs["attention_mask"][1, :pad] = 0
os.makedirs(out_dir, exist_ok=True)
for name, value in inputs.items():
    np.save(os.path.join(out_dir, name + ".npy"), value)
