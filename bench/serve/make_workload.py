#!/usr/bin/env python3
"""Write a request trace for effc-run --serve-bench (issue 19's serving benchmark).

    python3 bench/serve/make_workload.py --requests 256 --prompt 128 2048 --output 64 512 --rate 8 \
        --seed 0 -o trace.txt

One request per line, 'ARRIVAL_S PROMPT_LEN OUTPUT_LEN' (tools/effc-run/ServeBench.cpp's format; '#' starts a
comment), in arrival order. Prompt and output lengths are drawn uniformly from the inclusive ranges; arrivals are a
Poisson process at --rate requests per second (exponential gaps, the first request at 0), or all at 0 with
--rate inf. The same seed gives the same trace; bench/serve/hf_peer.py reads the same file. Standard library only
(CI runs it without numpy or torch).
"""
import argparse
import math
import random
import sys


def workload(requests, prompt, output, rate, seed):
    """[(arrival_s, prompt_len, output_len)] in arrival order."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for i in range(requests):
        if i > 0 and math.isfinite(rate):
            t += rng.expovariate(rate)
        out.append((t, rng.randint(*prompt), rng.randint(*output)))
    return out


def read(path):
    """The trace's requests as (arrival_s, prompt_len, output_len), in file order (bench/serve/hf_peer.py)."""
    reqs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if len(line) != 3:
                raise SystemExit(f"{path}:{n}: expected ARRIVAL_S PROMPT_LEN OUTPUT_LEN")
            reqs.append((float(line[0]), int(line[1]), int(line[2])))
    return reqs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--prompt", type=int, nargs=2, default=[128, 2048], metavar=("MIN", "MAX"))
    ap.add_argument("--output", type=int, nargs=2, default=[64, 512], metavar=("MIN", "MAX"))
    ap.add_argument("--rate", type=float, default=math.inf, help="requests/s (Poisson); inf: all at 0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    for name, (lo, hi) in (("prompt", a.prompt), ("output", a.output)):
        if not 1 <= lo <= hi:
            raise SystemExit(f"make_workload: --{name} {lo} {hi}: expected 1 <= MIN <= MAX")
    if a.requests < 1 or not a.rate > 0:
        raise SystemExit(f"make_workload: expected --requests >= 1 and --rate > 0, got {a.requests}, {a.rate}")
    reqs = workload(a.requests, a.prompt, a.output, a.rate, a.seed)
    with open(a.out, "w") as f:
        f.write(f"# ARRIVAL_S PROMPT_LEN OUTPUT_LEN: {a.requests} requests, prompts {a.prompt[0]}..{a.prompt[1]}, "
                f"outputs {a.output[0]}..{a.output[1]}, rate {a.rate} req/s, seed {a.seed}\n")
        for t, p, o in reqs:
            f.write(f"{t:.6f} {p} {o}\n")
    print(f"make_workload: {a.out}: {len(reqs)} requests, {sum(p for _, p, _ in reqs)} prompt and "
          f"{sum(o for _, _, o in reqs)} output tokens, last arrival {reqs[-1][0]:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
