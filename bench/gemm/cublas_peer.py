#!/usr/bin/env python3
"""cuBLAS peer for effc-gemm-bench: torch.matmul on the same problems.

Timed exactly like the C++ bench (2 warm-up calls, one timed call to size a
~1 ms batch, the batch captured in a CUDA graph, the median over --reps
replays timed with CUDA events), on
uniform[-1, 1) inputs, into a preallocated output. fp32 runs with
torch.backends.cuda.matmul.allow_tf32 = False (exact fp32, no TF32), the
contract of the FFMA kernel effc ships for fp32.

Prints one line per problem:
  PEER shape=MxNxK dtype=bf16 ms=0.1234 tflops=567.8
A problem MxNxKt (effc-gemm-bench's: the weight stored [N, K]) runs
torch.matmul(a, b.t()) on b [N, K], as torch runs nn.Linear.
"""
import argparse
import sys

import torch

# (M, N, K): tokens x out-features x in-features; keep in sync with
# perfProblems() in GemmBench.cpp.
SHAPES = []
for t in (512, 4096):
    SHAPES += [(t, 2304, 768), (t, 3072, 768), (t, 768, 3072)]  # GPT-2 124M
for t in (512, 4096):
    SHAPES += [(t, 2048, 2048), (t, 8192, 2048), (t, 2048, 8192), (t, 32000, 2048)]  # Llama-1B
SHAPES.append((8192, 8192, 8192))

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def time_ms(fn, reps):
    """Median ms per call: 2 warm-up calls, one timed call sizing a ~1 ms
    batch (1..200 calls), the batch captured in a CUDA graph (no Python or
    launch gaps), `reps` timed replays. Falls back to eager batches if capture
    fails."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def timed(run, n):
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / n

    fn()
    fn()
    torch.cuda.synchronize()
    one = timed(fn, 1)
    inner = int(min(max(1.0 / max(one, 1e-4), 1.0), 200.0))

    def eager():
        for _ in range(inner):
            fn()

    run = eager
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            fn()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            eager()
        graph.replay()
        run = graph.replay
    except RuntimeError as e:  # capture unsupported: time eager batches
        print(f"# graph capture failed ({e}); eager timing", file=sys.stderr)
    times = sorted(timed(run, inner) for _ in range(reps))
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--shapes", default="", help="only shapes whose MxNxK label contains this")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--problems", default="",
                    help="MxNxK[t],... instead of the default shapes (effc-gemm-bench --problems; "
                    "t: the weight stored [N, K])")
    args = ap.parse_args()
    shapes = [(m, n, k, False) for (m, n, k) in SHAPES]
    if args.problems:
        shapes = [tuple(int(x) for x in p.rstrip("t").split("x")) + (p.endswith("t"),)
                  for p in args.problems.split(",")]
    if not torch.cuda.is_available():
        print("cublas_peer: no CUDA device", file=sys.stderr)
        return 1
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    gen = torch.Generator(device="cuda").manual_seed(0)
    for name in args.dtypes.split(","):
        dt = DTYPES[name]
        for (m, n, k, nk) in shapes:
            label = f"{m}x{n}x{k}" + ("t" if nk else "")
            if args.shapes and args.shapes not in label:
                continue
            a = torch.rand(m, k, device="cuda", dtype=torch.float32, generator=gen).mul_(2).sub_(1).to(dt)
            b = torch.rand(*((n, k) if nk else (k, n)), device="cuda", dtype=torch.float32,
                           generator=gen).mul_(2).sub_(1).to(dt)
            c = torch.empty(m, n, device="cuda", dtype=dt)
            w = b.t() if nk else b  # [K, N]: a view of the [N, K] storage for t
            ms = time_ms(lambda: torch.matmul(a, w, out=c), args.reps)
            tflops = 2.0 * m * n * k / (ms * 1e-3) / 1e12
            print(f"PEER shape={label} dtype={name} ms={ms:.4f} tflops={tflops:.1f}", flush=True)
            del a, b, c
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
