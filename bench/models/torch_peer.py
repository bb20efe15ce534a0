#!/usr/bin/env python3
"""PyTorch peers for whole-model latency: eager and torch.compile on the same
random weights effc compiled (export_hf_onnx.py builds the model from a seed).

  torch_peer.py --export-script PATH --arch gpt2 --size base --batch 1 --seq 512 --dtype bf16
prints one line: `torch eager=… ms compile=… ms` (median of CUDA-event timed runs).
"""
import argparse
import importlib.util
import statistics

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export-script", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--size", default="base")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()

    builder = load_builder(a.export_script)
    torch.manual_seed(a.seed)
    model = builder.Logits(builder.build(a.arch, a.size).eval()).cuda()
    if a.dtype == "bf16":
        model = model.to(torch.bfloat16)
    torch.backends.cuda.matmul.allow_tf32 = False  # effc fp32 is exact fp32 unless told otherwise
    vocab = builder.SIZES[a.size][5]
    ids = torch.randint(0, vocab, (a.batch, a.seq), device="cuda")
    with torch.no_grad():
        eager = time_ms(lambda: model(ids))
        compiled_ms = float("nan")
        if not a.no_compile:
            compiled = torch.compile(model)
            compiled_ms = time_ms(lambda: compiled(ids), warmup=3)
    print(f"torch eager={eager:.3f} ms compile={compiled_ms:.3f} ms")


if __name__ == "__main__":
    main()
