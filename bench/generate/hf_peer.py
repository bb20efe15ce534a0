#!/usr/bin/env python3
"""Hugging Face generate() on the benchmark's model, the peer of effc-run --generate --bench (issue 14 part 5).

    python3 bench/generate/hf_peer.py --arch llama --size 1b --meta DIR/meta.json --prompts DIR/ids-b{B}.npy \
        --batches 1 8 --new 128 --out DIR/hf-llama-1b

Rebuilds export_withpast.py's model from its seed (the fingerprint must equal meta.json's, or exit 1), casts it to
bf16 on the GPU and runs greedy generate() on the prompts of each batch: 'eager' (dynamic cache) and 'compile'
(cache_implementation="static": transformers compiles the decode step with torch.compile, CUDA graphs, by itself;
the prefill stays eager). Exactly --new tokens per sequence: no EOS stops a sequence (eos_token_id=None, so no
logits processor changes a token either; min_new_tokens says the same). Per mode and batch: warm-up runs
(compile: 2, eager: 1), then --runs timed ones. Timing: a logits processor synchronizes the device when
generate() has the prefill's logits (the time to the first token ends there); the decode steps are timed together,
from there to generate()'s return with the device synchronized, over new - 1 steps (mean step; no sync per step,
which would keep generate() from running ahead of the device). compiled=1 says generate() did compile the step.
Also the floor: the HBM bandwidth of a device copy (2 x bytes / time, the best of 20), the weight bytes a decode
step reads (bf16, meta.json) and the KV cache bytes it reads (mean over the steps); and --fp32-tokens N: the
first prompt's N greedy tokens in fp32 (TF32 off), the reference effc's fp32 artifact must reproduce.

Prints one line per result ('PEER ...', 'FLOOR ...', key=value) and saves the tokens of each run as
OUT/tokens-{mode}-b{B}.npy (int64 [B, new]) and OUT/tokens-fp32.npy.
"""
import argparse, json, os, statistics, sys, time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_withpast as ew  # noqa: E402


def log(msg):
    print(f"hf_peer: {msg}", file=sys.stderr, flush=True)


def sync(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def bandwidth_gbs(torch, device):
    """Memory bandwidth of a device-to-device copy of 1 GiB: 2 x bytes / time, the best of 20 (CUDA events)."""
    n = 1 << 30 if device == "cuda" else 1 << 26
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    src.fill_(1)
    for _ in range(3):
        dst.copy_(src)
    best = float("inf")
    for _ in range(20):
        if device == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            dst.copy_(src)
            b.record()
            b.synchronize()
            best = min(best, a.elapsed_time(b))
        else:
            t = time.perf_counter()
            dst.copy_(src)
            best = min(best, (time.perf_counter() - t) * 1e3)
    del src, dst
    if device == "cuda":
        torch.cuda.empty_cache()
    return 2 * n / (best * 1e-3) / 1e9


def make_timer(torch, transformers, device):
    class Timer(transformers.LogitsProcessor):
        """Counts generate()'s logits calls; at the first (the prefill's logits) synchronizes the device and
        records the time. Later calls do not synchronize: generate() may run ahead of the device between
        steps, and a sync per step would slow it down. Changes no score."""
        def __init__(self):
            self.calls = 0
            self.first = None

        def __call__(self, input_ids, scores):
            if self.calls == 0:
                sync(torch, device)
                self.first = time.perf_counter()
            self.calls += 1
            return scores

    return Timer


def run_generate(torch, transformers, model, ids, new, mode, timer_cls, device):
    timer = timer_cls()
    kw = dict(max_new_tokens=new, min_new_tokens=new, do_sample=False, eos_token_id=None, pad_token_id=0,
              attention_mask=torch.ones_like(ids), logits_processor=transformers.LogitsProcessorList([timer]))
    if mode == "compile":
        kw["cache_implementation"] = "static"
    sync(torch, device)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, **kw)
    sync(torch, device)
    t1 = time.perf_counter()
    tokens = out[:, ids.shape[1]:].cpu().numpy()
    if tokens.shape[1] != new or timer.calls != new:
        raise SystemExit(f"hf_peer: {mode}: generate() gave {tokens.shape[1]} tokens and {timer.calls} "
                         f"logits calls, expected {new}")
    ttft = (timer.first - t0) * 1e3
    step = (t1 - timer.first) * 1e3 / max(new - 1, 1)  # mean decode step: from the prefill's logits to the end
    return tokens, ttft, step, (t1 - t0) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=["llama", "gpt2"])
    ap.add_argument("--size", required=True, choices=sorted(ew.SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--meta", help="export_withpast.py's meta.json: the fingerprint to match")
    ap.add_argument("--prompts", required=True, help="int64 .npy per batch, '{B}' replaced by the batch")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--modes", nargs="+", default=["eager", "compile"], choices=["eager", "compile"])
    ap.add_argument("--fp32-tokens", type=int, default=0, help="greedy tokens of the first prompt in fp32")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: a smoke test of this script (no torch.compile, CPU copy bandwidth)")
    a = ap.parse_args()
    import torch, transformers
    dev = a.device
    if dev == "cuda" and not torch.cuda.is_available():
        raise SystemExit("hf_peer: no CUDA device")
    os.makedirs(a.out, exist_ok=True)
    name = f"{a.arch}-{a.size}"
    t = time.time()
    model = ew.build(a.arch, a.size, a.seed)
    fp = ew.fingerprint(model)
    if a.meta:
        with open(a.meta) as f:
            meta = json.load(f)
        want = meta["fingerprint"]
        if any(abs(x - y) > 1e-9 * max(1.0, abs(y)) for x, y in zip(fp, want)):
            raise SystemExit(f"hf_peer: the rebuilt {name} (seed {a.seed}) is not the exported one: weight "
                             f"fingerprint {fp}, meta.json {want}")
    shape = ew.shape_of(a.arch, a.size)
    weight_bytes = ew.weight_bytes_read(model, 2)
    log(f"{name}: rebuilt from seed {a.seed} in {time.time() - t:.0f} s, fingerprint "
        f"{'matches meta.json' if a.meta else 'unchecked'}")
    prompts = {b: torch.from_numpy(np.load(a.prompts.replace("{B}", str(b)))).to(torch.int64) for b in a.batches}
    for b, p in prompts.items():
        if p.shape[0] != b:
            raise SystemExit(f"hf_peer: {a.prompts.replace('{B}', str(b))} holds {p.shape[0]} prompts, expected {b}")
    timer_cls = make_timer(torch, transformers, dev)

    if a.fp32_tokens:  # the reference effc's fp32 artifact must reproduce
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        m32 = model.to(dev)
        ids = prompts[a.batches[0]][:1].to(dev)
        tokens, _, _, _ = run_generate(torch, transformers, m32, ids, a.fp32_tokens, "eager", timer_cls, dev)
        np.save(os.path.join(a.out, "tokens-fp32.npy"), tokens)
        log(f"{name}: fp32 reference tokens of the first prompt: {tokens[0][:16].tolist()} ...")
    model = model.to(device=dev, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = None
    bw = bandwidth_gbs(torch, dev)
    kv_per_token = 2 * shape["layers"] * shape["kv_heads"] * shape["head_dim"] * 2  # K and V, bf16
    prompt_len = prompts[a.batches[0]].shape[1]
    for b in a.batches:
        # Decode step j (1..new-1) reads the cache of prompt + j tokens (the new one's K/V included).
        kv_mean = b * kv_per_token * statistics.mean(prompt_len + j for j in range(1, a.new))
        floor_ms = (weight_bytes + kv_mean) / (bw * 1e9) * 1e3
        print(f"FLOOR model={name} batch={b} weight_bytes={weight_bytes} kv_bytes_mean={kv_mean:.0f} "
              f"bw_gbs={bw:.1f} floor_ms={floor_ms:.4f} floor_tok_s={b * 1e3 / floor_ms:.1f}", flush=True)
    for mode in a.modes:
        for b in a.batches:
            ids = prompts[b].to(dev)
            t = time.time()
            try:
                for _ in range(2 if mode == "compile" else 1):
                    run_generate(torch, transformers, model, ids, a.new, mode, timer_cls, dev)
                warm_s = time.time() - t
                ttfts, steps, totals = [], [], []
                for _ in range(a.runs):
                    tokens, ttft, step, total = run_generate(torch, transformers, model, ids, a.new, mode, timer_cls,
                                                             dev)
                    ttfts.append(ttft); steps.append(step); totals.append(total)
            except Exception as e:  # a peer that fails is a row that says so, not the end of the table
                log(f"{name} {mode} batch {b} failed: {type(e).__name__}: {str(e)[:300]}")
                print(f"PEER model={name} batch={b} mode={mode} error={type(e).__name__}", flush=True)
                continue
            np.save(os.path.join(a.out, f"tokens-{mode}-b{b}.npy"), tokens)
            mean = statistics.median(steps)  # each run's mean step; the median run
            compiled = hasattr(model, "_compiled_call") if mode == "compile" else False
            print(f"PEER model={name} batch={b} mode={mode} prompt={ids.shape[1]} new_tokens={a.new} runs={a.runs} "
                  f"ttft_ms={statistics.median(ttfts):.3f} step_ms_mean={mean:.4f} decode_tok_s={b * 1e3 / mean:.1f} "
                  f"total_ms={statistics.median(totals):.1f} warmup_s={warm_s:.1f} compiled={int(compiled)}", flush=True)
            log(f"{name} {mode} batch {b}: warm-up {warm_s:.0f} s, step {mean:.3f} ms"
                + (f", torch.compile {'used' if compiled else 'NOT used'}" if mode == "compile" else ""))


if __name__ == "__main__":
    main()
