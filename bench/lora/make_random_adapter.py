#!/usr/bin/env python3
"""Writes a random PEFT LoRA adapter for a Llama-shaped model (numpy only).

    make_random_adapter.py OUT_DIR --rank R [--seed S] [--layers 16] [--hidden 2048]
                           [--kv-dim 512] [--targets q_proj,k_proj,v_proj,o_proj]

Same layout as PEFT's save_pretrained: adapter_config.json and
adapter_model.safetensors with base_model.model.model.layers.<i>.self_attn.<t>
.lora_A.weight [r, in] / .lora_B.weight [out, r], F32. B is non-zero (PEFT
initializes it to zero; a trained adapter is not), so the branch is live.
"""
import argparse, json, os, struct
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--rank", type=int, required=True)
ap.add_argument("--seed", type=int, default=0); ap.add_argument("--layers", type=int, default=16)
ap.add_argument("--hidden", type=int, default=2048); ap.add_argument("--kv-dim", type=int, default=512)
ap.add_argument("--targets", default="q_proj,k_proj,v_proj,o_proj")
a = ap.parse_args()
rng = np.random.default_rng(a.seed)
dims = {"q_proj": (a.hidden, a.hidden), "k_proj": (a.hidden, a.kv_dim), "v_proj": (a.hidden, a.kv_dim),
        "o_proj": (a.hidden, a.hidden)}
targets = a.targets.split(",")
tensors = {}
for layer in range(a.layers):
    for t in targets:
        fan_in, fan_out = dims[t]
        key = f"base_model.model.model.layers.{layer}.self_attn.{t}"
        tensors[key + ".lora_A.weight"] = (rng.standard_normal((a.rank, fan_in)) / np.sqrt(fan_in)).astype(np.float32)
        tensors[key + ".lora_B.weight"] = (rng.standard_normal((fan_out, a.rank)) * 0.02).astype(np.float32)
header, offset = {"__metadata__": {"format": "pt"}}, 0
for name, t in tensors.items():
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
    offset += t.nbytes
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "adapter_model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for t in tensors.values():
        f.write(t.tobytes())
with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
    json.dump({"peft_type": "LORA", "r": a.rank, "lora_alpha": 2 * a.rank, "target_modules": targets,
               "fan_in_fan_out": False, "bias": "none", "use_rslora": False, "use_dora": False,
               "lora_dropout": 0.0, "modules_to_save": None, "layers_to_transform": None,
               "rank_pattern": {}, "alpha_pattern": {}, "inference_mode": True}, f, indent=2)
