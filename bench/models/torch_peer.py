#!/usr/bin/env python3
"""PyTorch reference and peers for whole-model benchmarks, on the same random
weights effc compiled (export_hf_onnx.py builds the model from a seed).

  torch_peer.py --export-script PATH --arch gpt2 --size base [--no-compile] JOB...
  JOB = BATCH:SEQ:DTYPE:IDS.npy:REF.npy

For each job, on the input ids in IDS.npy (int64 [BATCH, SEQ]):
  - the reference: the fp32 model's logits on the GPU with TF32 off, saved to
    REF.npy (float32) unless that file exists (jobs of one shape share it);
  - for bf16, torch's own bf16 error against it (max|out - ref| / max|ref|),
    the yardstick for effc's bf16 tolerance;
  - eager and torch.compile latency in DTYPE (median of CUDA-event timed runs).
Prints one line per job:
  PEER batch=B seq=S dtype=D eager=MS compile=MS torch_err=E
(compile=nan when torch.compile is off or fails; torch_err=0 for fp32, whose
reference is this very model). Exit 1 when a reference cannot be computed.
"""
import argparse
import copy
import importlib.util
import os
import statistics
import sys

import numpy as np
import torch


def load_builder(path):
    spec = importlib.util.spec_from_file_location("export_hf_onnx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_ms(fn, warmup=5, iters=30):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def parse_job(text):
    parts = text.split(":")
    if len(parts) != 5 or parts[2] not in ("fp32", "bf16"):
        raise SystemExit(f"torch_peer: bad JOB '{text}' (BATCH:SEQ:fp32|bf16:IDS.npy:REF.npy)")
    return int(parts[0]), int(parts[1]), parts[2], parts[3], parts[4]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export-script", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", default="base")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("jobs", nargs="+")
    a = ap.parse_args()
    jobs = [parse_job(j) for j in a.jobs]

    # effc's fp32 is exact fp32: so is the reference.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    builder = load_builder(a.export_script)
    torch.manual_seed(a.seed)  # as export_hf_onnx.py does before build()
    models = {"fp32": builder.Logits(builder.build(a.arch, a.size).eval()).cuda()}
    with torch.no_grad():
        for batch, seq, dtype, ids_path, ref_path in jobs:
            ids = torch.from_numpy(np.load(ids_path)).cuda()
            if tuple(ids.shape) != (batch, seq) or ids.dtype != torch.int64:
                raise SystemExit(f"torch_peer: {ids_path}: expected int64 [{batch}, {seq}], got {ids.dtype} {list(ids.shape)}")
            if os.path.exists(ref_path):
                ref = torch.from_numpy(np.load(ref_path)).cuda()
            else:
                ref = models["fp32"](ids).float()
                np.save(ref_path, ref.cpu().numpy())
            if dtype not in models:  # the same weights, rounded
                models[dtype] = copy.deepcopy(models["fp32"]).to(torch.bfloat16)
            model = models[dtype]
            torch_err = 0.0
            if dtype != "fp32":
                out = model(ids).float()
                torch_err = ((out - ref).abs().max() / ref.abs().max()).item()
                del out
            del ref
            eager = time_ms(lambda: model(ids))
            compiled_ms = float("nan")
            if not a.no_compile:
                try:
                    torch._dynamo.reset()
                    compiled = torch.compile(model, dynamic=False)
                    compiled_ms = time_ms(lambda: compiled(ids), warmup=3)
                except Exception as e:  # a peer that cannot compile leaves its column empty
                    print(f"torch_peer: torch.compile failed for {batch}x{seq} {dtype}: {e}", file=sys.stderr)
            print(f"PEER batch={batch} seq={seq} dtype={dtype} eager={eager:.3f} compile={compiled_ms:.3f} "
                  f"torch_err={torch_err:.3e}", flush=True)


if __name__ == "__main__":
    main()
