#!/usr/bin/env python3
"""Reference logits for the LoRA benchmark: the Llama model export_hf_onnx.py
builds (same seed, same random weights) with PEFT adapters applied in torch,
unmerged, per batch row (x W^T + scale * (x A^T) B^T, A/B of the row's adapter).

  torch_reference.py --export-script PATH [--arch llama --size 1b] JOB...
  JOB = OUT.npy:IDS.npy:ADAPTERS:INDEX
    ADAPTERS  comma-separated PEFT adapter dirs ('' = the base model)
    INDEX     int64 [batch] .npy choosing each row's adapter (-1: none), or ''
              (every row uses the first adapter)

For each job: the fp32 logits on the GPU (TF32 off), saved to OUT.npy as
float16 (halves 4 GiB files; its rounding, <= 2^-11 of max|ref|, is far below
the bf16 tolerance) unless they exceed the float16 range, then float32; and
the same model in bf16 on the same ids, whose error against them is torch's
own bf16 error. Prints per job: `REF out=OUT.npy torch_err=E`. Needs torch,
numpy, safetensors and transformers.
"""
import argparse
import copy
import importlib.util
import json
import math
import os

import numpy as np
import torch
from safetensors.torch import load_file


def load_builder(path):
    spec = importlib.util.spec_from_file_location("export_hf_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LoraLinear(torch.nn.Module):
    """base(x) + scale[a] * (x A[a]^T) B[a]^T with a = index[row]; a < 0 adds nothing."""

    def __init__(self, base, a_stack, b_stack, scales, index):
        super().__init__()
        self.base, self.index = base, index
        self.a = a_stack.to(base.weight.dtype)        # [n, r, in]
        self.b = b_stack.to(base.weight.dtype)        # [n, out, r]
        self.scales = scales.to(base.weight.dtype)    # [n]

    def forward(self, x):  # x: [batch, seq, in]
        live = (self.index >= 0).to(x.dtype)[:, None, None]
        pick = self.index.clamp(min=0)
        t = torch.einsum("bsi,bri->bsr", x, self.a[pick])
        delta = torch.einsum("bsr,bor->bso", t, self.b[pick])
        return self.base(x) + (self.scales[pick][:, None, None] * live) * delta


def read_adapter(folder):
    cfg = json.load(open(os.path.join(folder, "adapter_config.json")))
    for unsupported in ("use_dora", "rank_pattern", "alpha_pattern", "layers_to_transform"):
        if cfg.get(unsupported):
            raise SystemExit(f"torch_reference: {folder}: {unsupported} is not supported here")
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    return load_file(os.path.join(folder, "adapter_model.safetensors")), scale


def apply_adapters(inner, adapters, index):
    """Wraps every adapted nn.Linear of `inner`; returns a function that undoes it."""
    undo = []
    for name, module in list(inner.named_modules()):
        key = "base_model.model." + name
        found = [t for t, _ in adapters if key + ".lora_A.weight" in t]
        if not isinstance(module, torch.nn.Linear) or not found:
            continue
        if len(found) != len(adapters):
            raise SystemExit(f"torch_reference: {name} is adapted by some adapters only")
        device = module.weight.device
        a_stack = torch.stack([t[key + ".lora_A.weight"] for t, _ in adapters]).to(device)
        b_stack = torch.stack([t[key + ".lora_B.weight"] for t, _ in adapters]).to(device)
        scales = torch.tensor([s for _, s in adapters], device=device)
        parent_name, _, attr = name.rpartition(".")
        parent = inner.get_submodule(parent_name)
        setattr(parent, attr, LoraLinear(module, a_stack, b_stack, scales, index))
        undo.append((parent, attr, module))
    if adapters and not undo:
        raise SystemExit("torch_reference: no module of the model matches the adapters' keys")

    def restore():
        for parent, attr, module in undo:
            setattr(parent, attr, module)
    return restore


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export-script", required=True)
    ap.add_argument("--arch", default="llama")
    ap.add_argument("--size", default="1b")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("jobs", nargs="+")
    a = ap.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    builder = load_builder(a.export_script)
    torch.manual_seed(a.seed)  # as export_hf_onnx.py does before build()
    fp32 = builder.Logits(builder.build(a.arch, a.size).eval()).cuda()
    bf16 = copy.deepcopy(fp32).to(torch.bfloat16)
    cache = {}
    with torch.no_grad():
        for job in a.jobs:
            parts = job.split(":")
            if len(parts) != 4:
                raise SystemExit(f"torch_reference: bad JOB '{job}' (OUT.npy:IDS.npy:ADAPTERS:INDEX)")
            out, ids_path, adapter_dirs, index_path = parts
            ids = torch.from_numpy(np.load(ids_path)).cuda()
            adapters = [cache.setdefault(d, read_adapter(d)) for d in adapter_dirs.split(",") if d]
            index = (torch.from_numpy(np.load(index_path)).cuda() if index_path
                     else torch.zeros(ids.shape[0], dtype=torch.int64, device="cuda"))
            results = []
            for model in (fp32, bf16):
                restore = apply_adapters(model.m, adapters, index)
                results.append(model(ids).float())
                restore()
            ref, got = results
            torch_err = ((got - ref).abs().max() / ref.abs().max()).item()
            del got
            ref = ref.cpu().numpy()
            np.save(out, ref.astype(np.float16) if np.abs(ref).max() < 60000 else ref)
            print(f"REF out={out} torch_err={torch_err:.3e}", flush=True)


if __name__ == "__main__":
    main()
