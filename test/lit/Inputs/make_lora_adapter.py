#!/usr/bin/env python3
"""Writes a small PEFT LoRA adapter directory (standard library only).

    make_lora_adapter.py OUT_DIR --module KEY:IN:OUT:R [--module ...] [--config '{"k": v}'] [--dtype F32|F16]

Tensor values are exact in fp16 and easy to check by hand:
lora_A[r][k] = (r + 1) / 4 if k == r else 0 (so x.A^T picks x[r] scaled),
lora_B[o][r] = 1 if o == r else 0.5.
--config entries override the adapter_config.json defaults (r = the first
module's rank, lora_alpha = 2 * r, target_modules = the modules' last names).
"""
import argparse, json, os, struct


def half_bits(v):
    return struct.unpack("<H", struct.pack("<e", v))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--module", action="append", default=[])
    ap.add_argument("--config", default="{}")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    ap.add_argument("--raw-key", action="append", default=[],
                    help="extra tensor key to store (for error tests), shape [1]")
    a = ap.parse_args()
    modules = []
    for spec in a.module:
        key, i, o, r = spec.split(":")
        modules.append((key, int(i), int(o), int(r)))
    config = {"peft_type": "LORA", "r": modules[0][3] if modules else 8,
              "lora_alpha": 2 * (modules[0][3] if modules else 8),
              "target_modules": sorted({m[0].split(".")[-1] for m in modules}),
              "fan_in_fan_out": False, "bias": "none", "use_rslora": False, "use_dora": False,
              "lora_bias": False, "rank_pattern": {}, "alpha_pattern": {},
              "layers_to_transform": None, "layers_pattern": None, "modules_to_save": None,
              "lora_dropout": 0.0, "inference_mode": True}
    config.update(json.loads(a.config))

    tensors = []  # (name, shape, values)
    for key, i, o, r in modules:
        A = [[(rr + 1) / 4 if k == rr else 0.0 for k in range(i)] for rr in range(r)]
        B = [[1.0 if oo == rr else 0.5 for rr in range(r)] for oo in range(o)]
        tensors.append((f"base_model.model.{key}.lora_A.weight", [r, i], [v for row in A for v in row]))
        tensors.append((f"base_model.model.{key}.lora_B.weight", [o, r], [v for row in B for v in row]))
    for key in a.raw_key:
        tensors.append((key, [1], [1.0]))

    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, shape, values in tensors:
        if a.dtype == "F32":
            blob = struct.pack("<%df" % len(values), *values)
        else:
            blob = struct.pack("<%dH" % len(values), *[half_bits(v) for v in values])
        header[name] = {"dtype": a.dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "adapter_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
