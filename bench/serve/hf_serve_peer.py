#!/usr/bin/env python3
"""Hugging Face generate() with static batches over a serving trace: the peer of effc-run --serve-bench (issue 19).

    python3 bench/serve/hf_serve_peer.py --arch llama --size 1b --meta DIR/meta.json --trace trace.txt --batch 16

Rebuilds bench/generate/export_withpast.py's model from its seed (the weight fingerprint must equal meta.json's,
else exit 1), bf16 on the GPU (fp32 with --device cpu, a smoke test), and serves make_workload.py's trace the way a
server without continuous batching does: the requests in arrival order in batches of --batch, each batch left-padded
to its longest prompt (attention_mask 0 on the padding) and run by one greedy generate() of the batch's longest
output (no EOS: eos_token_id=None, min_new_tokens = max_new_tokens), the next batch starting when this one has
finished and its last request has arrived. A request's tokens are the first OUTPUT_LEN of its row; it is answered
when its batch ends. Prompt ids are seeded random ids (effc-run draws its own; with random weights and no EOS the
ids do not change the work).

Time is measured per batch (one warm-up generate() first) and laid on the trace's timeline: a batch starts at
max(previous end, last arrival), so waiting for arrivals is counted without sleeping. Per request: time to first
token = batch start + the batch's prefill (a logits processor synchronizes the device at the prefill's logits, as
bench/generate/hf_peer.py) - arrival; inter-token latency = the batch's mean decode step (steps timed together, no
sync per step), one sample per token after the first; end-to-end = batch end - arrival. Throughput = the
requests' output tokens (not the padding rows' extra tokens) / the time from 0 to the last batch's end.

Prints effc-run --serve-bench's lines (serve-bench:, throughput:, time to first token ms:, inter-token latency ms:,
end-to-end latency ms:) so bench/serve/run.sh reads both the same way, and one 'PEER ...' line per batch on stderr.
"""
import argparse, json, math, os, sys, time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "generate"))
import export_withpast as ew  # noqa: E402
import hf_peer as gen_peer  # noqa: E402  (bench/generate/hf_peer.py: sync, the prefill timer)
import make_workload  # noqa: E402


def log(msg):
    print(f"hf_serve_peer: {msg}", file=sys.stderr, flush=True)


def percentile_line(name, seconds):
    """effc-run's printLatency: ms, numpy's default (linear) percentiles."""
    v = np.asarray(seconds, dtype=np.float64) * 1e3
    if v.size == 0:
        v = np.zeros(1)
    p = lambda q: float(np.percentile(v, q))
    return (f"{name} ms: mean {v.mean():.3f} p50 {p(50):.3f} p90 {p(90):.3f} p99 {p(99):.3f} max {p(100):.3f} "
            f"({len(seconds)} samples)")


def run_batch(torch, transformers, model, prompts, new, dev, timer_cls):
    """One static batch: left-padded prompts, greedy, exactly `new` tokens. (prefill s, total s, tokens)."""
    longest = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), longest, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for r, p in enumerate(prompts):
        ids[r, longest - len(p):] = torch.from_numpy(p)
        mask[r, longest - len(p):] = 1
    ids, mask = ids.to(dev), mask.to(dev)
    timer = timer_cls()
    gen_peer.sync(torch, dev)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=mask, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                             eos_token_id=None, pad_token_id=0,
                             logits_processor=transformers.LogitsProcessorList([timer]))
    gen_peer.sync(torch, dev)
    t1 = time.perf_counter()
    if out.shape[1] - longest != new or timer.calls != new:
        raise SystemExit(f"hf_serve_peer: generate() gave {out.shape[1] - longest} tokens and {timer.calls} "
                         f"logits calls, expected {new}")
    return timer.first - t0, t1 - t0, out[:, longest:].cpu().numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=["llama", "gpt2"])
    ap.add_argument("--size", required=True, choices=sorted(ew.SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--meta", help="export_withpast.py's meta.json: the fingerprint to match")
    ap.add_argument("--trace", required=True, help="make_workload.py's file")
    ap.add_argument("--batch", type=int, default=16, help="requests per static batch")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    a = ap.parse_args()
    import torch, transformers
    dev = a.device
    if dev == "cuda" and not torch.cuda.is_available():
        raise SystemExit("hf_serve_peer: no CUDA device")
    if a.batch < 1:
        raise SystemExit(f"hf_serve_peer: --batch {a.batch}: expected >= 1")
    name = f"{a.arch}-{a.size}"
    model = ew.build(a.arch, a.size, a.seed)
    if a.meta:
        with open(a.meta) as f:
            want = json.load(f)["fingerprint"]
        fp = ew.fingerprint(model)
        if any(abs(x - y) > 1e-9 * max(1.0, abs(y)) for x, y in zip(fp, want)):
            raise SystemExit(f"hf_serve_peer: the rebuilt {name} (seed {a.seed}) is not the exported one: weight "
                             f"fingerprint {fp}, meta.json {want}")
    model = model.to(device=dev, dtype=torch.bfloat16 if dev == "cuda" else torch.float32)
    model.generation_config.eos_token_id = None
    vocab = ew.shape_of(a.arch, a.size)["vocab"]
    reqs = sorted(make_workload.read(a.trace), key=lambda r: r[0])  # stable: file order among equal arrivals
    rng = np.random.default_rng(a.seed + 1)
    prompts = [rng.integers(0, min(vocab, 32000), p).astype(np.int64) for _, p, _ in reqs]
    timer_cls = gen_peer.make_timer(torch, transformers, dev)
    t = time.time()
    run_batch(torch, transformers, model, [p[:64] for p in prompts[:a.batch]], 4, dev, timer_cls)  # warm-up
    log(f"{name}: warm-up {time.time() - t:.1f} s; {len(reqs)} requests in batches of {a.batch}")

    clock = 0.0  # the trace's timeline, seconds from the first arrival
    ttft, itl, e2e = [], [], []
    useful = generated = 0
    for b0 in range(0, len(reqs), a.batch):
        batch = reqs[b0:b0 + a.batch]
        new = max(o for _, _, o in batch)
        start = max(clock, max(arr for arr, _, _ in batch))
        prefill, total, _ = run_batch(torch, transformers, model, prompts[b0:b0 + a.batch], new, dev, timer_cls)
        step = (total - prefill) / max(new - 1, 1)
        for arr, _, o in batch:
            ttft.append(start + prefill - arr)
            e2e.append(start + total - arr)
            itl += [step] * (o - 1)
            useful += o
        generated += new * len(batch)
        clock = start + total
        print(f"PEER batch={b0 // a.batch} requests={len(batch)} longest_prompt={max(p for _, p, _ in batch)} "
              f"new={new} start_s={start:.3f} prefill_ms={prefill * 1e3:.1f} step_ms={step * 1e3:.3f} "
              f"total_s={total:.3f}", file=sys.stderr, flush=True)
    print(f"serve-bench: {len(reqs)} requests, {useful} output tokens in {clock:.3f} s (HF generate, static "
          f"batches of {a.batch}, {generated} tokens generated with the padding rows)")
    print(f"throughput: {useful / clock:.2f} output tokens/s, {len(reqs) / clock:.3f} requests/s")
    print(percentile_line("time to first token", ttft))
    print(percentile_line("inter-token latency", itl))
    print(percentile_line("end-to-end latency", e2e))


if __name__ == "__main__":
    main()
