#!/usr/bin/env python3
"""torch SDPA peers for effc-attention-bench: the flash and cuDNN backends on
the same problems, timed the same way (CUDA events around single calls,
3 warm-ups, median of --reps), with the max error against an fp32 reference.

Forward: bf16, 16k tokens x 2048 hidden (B = 16384/N, H = 2048/d),
d in {64, 128}, N in 512..16k, causal and not; TFLOP/s = 4*B*N^2*H*d / t
(/2 causal). The error is taken on batch 0, heads 0-1 (as effc's), against
the math backend in fp32 on the upcast inputs.
Decode: q [8, 32, 1, 128], k/v [8, 8, L, 128] (GQA 32/8, enable_gqa),
L in 1k..32k; GB/s = bytes of K+V / t, K/V rotated over >= 256 MB of copies
so that L2 does not serve them.

Prints one JSON object per line: {"label", "flash", "cudnn", "flash_err",
"cudnn_err", "unit"}; a backend that refuses a problem gives null.
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def median_ms(fn, reps, warm=3):
    for i in range(warm):
        fn(i)
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        s = torch.cuda.Event(enable_timing=True)
        e = torch.cuda.Event(enable_timing=True)
        s.record()
        fn(r + warm)
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    times.sort()
    return times[len(times) // 2]


def reference(q, k, v, causal, gqa=False):
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal,
                                              enable_gqa=gqa)


def forward(d, n, causal, reps):
    b, h = 16384 // n, 2048 // d
    g = torch.Generator(device="cuda").manual_seed(n * 7 + d + causal)
    q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
    ref = reference(q[:1, :2], k[:1, :2], v[:1, :2], causal)
    flops = 4.0 * b * n * n * h * d / (2 if causal else 1)
    row = {"label": f"fwd d{d} N{n}" + (" causal" if causal else ""), "unit": "TFLOP/s"}
    for name, backend in BACKENDS.items():
        try:
            with sdpa_kernel(backend):
                out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                torch.cuda.synchronize()
                row[name + "_err"] = (out[:1, :2].float() - ref).abs().max().item()
                ms = median_ms(lambda i: F.scaled_dot_product_attention(q, k, v, is_causal=causal), reps)
            row[name] = flops / (ms * 1e-3) / 1e12
        except Exception as e:  # the backend refuses the problem
            row[name] = None
            row[name + "_err"] = None
            print(f"# {row['label']} {name}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
    del q, k, v, ref
    torch.cuda.empty_cache()
    return row


def decode(kv_len, reps):
    b, hq, hkv, d = 8, 32, 8, 128
    g = torch.Generator(device="cuda").manual_seed(kv_len)
    kv_bytes = 2 * b * hkv * kv_len * d * 2
    copies = max(1, (256 << 20) // kv_bytes + 1)
    q = torch.randn(b, hq, 1, d, device="cuda", dtype=torch.bfloat16, generator=g)
    ks = [torch.randn(b, hkv, kv_len, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(copies)]
    vs = [torch.randn(b, hkv, kv_len, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(copies)]
    ref = reference(q, ks[0], vs[0], False, gqa=True)
    row = {"label": f"decode d{d} L{kv_len}", "unit": "GB/s"}
    for name, backend in BACKENDS.items():
        try:
            with sdpa_kernel(backend):
                out = F.scaled_dot_product_attention(q, ks[0], vs[0], enable_gqa=True)
                torch.cuda.synchronize()
                row[name + "_err"] = (out.float() - ref).abs().max().item()
                ms = median_ms(lambda i: F.scaled_dot_product_attention(q, ks[i % copies], vs[i % copies],
                                                                        enable_gqa=True), reps)
            row[name] = kv_bytes / (ms * 1e-3) / 1e9
        except Exception as e:
            row[name] = None
            row[name + "_err"] = None
            print(f"# {row['label']} {name}: {str(e).splitlines()[0][:200]}", file=sys.stderr)
    del q, ks, vs, ref
    torch.cuda.empty_cache()
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--no-decode", action="store_true")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"# torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name()}", file=sys.stderr)
    if not args.no_perf:
        for d in (64, 128):
            for causal in (False, True):
                for n in (512, 1024, 2048, 4096, 8192, 16384):
                    print(json.dumps(forward(d, n, causal, args.reps)), flush=True)
    if not args.no_decode:
        for kv_len in (1024, 2048, 4096, 8192, 16384, 32768):
            print(json.dumps(decode(kv_len, args.reps)), flush=True)


if __name__ == "__main__":
    main()
