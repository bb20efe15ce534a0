#!/usr/bin/env python3
"""Issue 18's torch baselines for the effc-moe-bench layers, on the same GPU.

One Mixtral-8x7B MoE layer (E 8, top-2, H 4096, I 14336, norm_topk) and one
Qwen1.5-MoE-style layer (E 60, top-4, H 2048, I 1408, shared expert 5632 with
a sigmoid gate), bf16, the token counts of effc-moe-bench --perf. Per layer
and token count, the median of --reps CUDA-event-timed calls after warm-up:

  hf       transformers' MoE block (MixtralSparseMoeBlock /
           Qwen2MoeSparseMoeBlock) when transformers is installed
  eager    the same layer in torch eager: fp32 router, softmax, top-k, a
           loop over experts (index, gate/up, act * up, down, index_add_)
  grouped  tokens sorted by expert, torch._grouped_mm for gate/up and down
           (torch >= 2.8 on sm_90), weighted scatter-add

A column that cannot run says why on stderr and prints "-". "eager" and
"grouped" are checked against each other (max |a - b| / max |b|) so that a
wrong baseline does not pass as a fast one.

  python3 bench/moe/torch_moe.py [--tokens=1,8,64,512,4096] [--reps=20]
                                 [--only=mixtral|qwen]
"""
import argparse
import sys

import torch
import torch.nn.functional as F


def layers():
    return {
        "mixtral-8x7b": dict(H=4096, E=8, I=14336, K=2, Is=0, norm=True),
        "qwen-moe": dict(H=2048, E=60, I=1408, K=4, Is=5632, norm=False),
    }


def make_weights(cfg, dev):
    g = torch.Generator(device=dev).manual_seed(1)
    H, E, I, Is = cfg["H"], cfg["E"], cfg["I"], cfg["Is"]

    def rnd(*shape, scale):
        return (torch.randn(*shape, generator=g, device=dev) * scale).to(torch.bfloat16)

    w = dict(router=rnd(E, H, scale=H ** -0.5),
             gate_up=rnd(E, 2 * I, H, scale=H ** -0.5),
             down=rnd(E, H, I, scale=I ** -0.5))
    if Is:
        w.update(shared_gate_up=rnd(2 * Is, H, scale=H ** -0.5),
                 shared_down=rnd(H, Is, scale=Is ** -0.5),
                 shared_gate=rnd(1, H, scale=H ** -0.5))
    return w


def route(x, w, cfg):
    logits = x.float() @ w["router"].float().t()
    probs = logits.softmax(dim=-1)
    wts, idx = probs.topk(cfg["K"], dim=-1)
    if cfg["norm"]:
        wts = wts / wts.sum(dim=-1, keepdim=True)
    return wts, idx


def shared(x, w, cfg, y):
    if not cfg["Is"]:
        return y
    I = cfg["Is"]
    gu = x @ w["shared_gate_up"].t()
    h = F.silu(gu[:, :I]) * gu[:, I:]
    s = torch.sigmoid(x @ w["shared_gate"].t())
    return y + s * (h @ w["shared_down"].t())


def eager(x, w, cfg):
    wts, idx = route(x, w, cfg)
    I = cfg["I"]
    y = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
    for e in range(cfg["E"]):
        tok, slot = torch.where(idx == e)
        if tok.numel() == 0:
            continue
        xe = x[tok]
        gu = xe @ w["gate_up"][e].t()
        h = F.silu(gu[:, :I]) * gu[:, I:]
        z = (h @ w["down"][e].t()).float() * wts[tok, slot, None]
        y.index_add_(0, tok, z)
    return shared(x, w, cfg, y.to(x.dtype))


def grouped(x, w, cfg):
    wts, idx = route(x, w, cfg)
    T, K, I = x.shape[0], cfg["K"], cfg["I"]
    flat = idx.reshape(-1)
    order = torch.argsort(flat, stable=True)
    counts = torch.bincount(flat, minlength=cfg["E"])
    offs = torch.cumsum(counts, 0).to(torch.int32)
    tok = order // K
    xs = x[tok]
    gu = torch._grouped_mm(xs, w["gate_up"].transpose(-2, -1), offs=offs)
    h = F.silu(gu[:, :I]) * gu[:, I:]
    z = torch._grouped_mm(h, w["down"].transpose(-2, -1), offs=offs)
    z = z.float() * wts.reshape(-1)[order, None]
    y = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
    y.index_add_(0, tok, z)
    return shared(x, w, cfg, y.to(x.dtype))


def hf_block(name, cfg, w, dev):
    """transformers' block (its own random weights: timed only), or None (reason on stderr)."""
    try:
        if name.startswith("mixtral"):
            from transformers import MixtralConfig
            from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock as B
            c = MixtralConfig(hidden_size=cfg["H"], intermediate_size=cfg["I"],
                              num_local_experts=cfg["E"], num_experts_per_tok=cfg["K"])
        else:
            from transformers import Qwen2MoeConfig
            from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeSparseMoeBlock as B
            c = Qwen2MoeConfig(hidden_size=cfg["H"], moe_intermediate_size=cfg["I"],
                               shared_expert_intermediate_size=cfg["Is"],
                               num_experts=cfg["E"], num_experts_per_tok=cfg["K"],
                               norm_topk_prob=cfg["norm"])
        with torch.device(dev):
            block = B(c).to(torch.bfloat16).eval()
    except Exception as ex:  # noqa: BLE001 - any import/constructor failure
        print(f"torch_moe: hf {name}: {type(ex).__name__}: {ex}", file=sys.stderr)
        return None
    return block


def timed(fn, reps):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", default="1,8,64,512,4096")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("torch_moe: no CUDA device", file=sys.stderr)
        return 1
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name()} torch {torch.__version__}")
    tokens = [int(t) for t in a.tokens.split(",")]
    print(f"{'layer (bf16)':26s} {'hf_us':>9s} {'eager_us':>9s} {'grouped_us':>10s} {'err_grp':>8s}")
    bad = False
    for name, cfg in layers().items():
        if a.only and a.only not in name:
            continue
        w = make_weights(cfg, dev)
        block = hf_block(name, cfg, w, dev)
        grouped_ok = hasattr(torch, "_grouped_mm")
        if not grouped_ok:
            print("torch_moe: torch._grouped_mm not in this torch", file=sys.stderr)
        for T in tokens:
            x = torch.randn(T, cfg["H"], device=dev).to(torch.bfloat16)
            with torch.no_grad():
                col = {}
                if block is not None:
                    try:
                        xb = x.view(1, T, cfg["H"])
                        col["hf"] = timed(lambda: block(xb), a.reps)
                    except Exception as ex:  # noqa: BLE001
                        print(f"torch_moe: hf {name} T{T}: {type(ex).__name__}: {ex}",
                              file=sys.stderr)
                ref = eager(x, w, cfg)
                col["eager"] = timed(lambda: eager(x, w, cfg), a.reps)
                err = "-"
                if grouped_ok:
                    try:
                        got = grouped(x, w, cfg)
                        e = ((got.float() - ref.float()).abs().max() /
                             ref.float().abs().max().clamp_min(1e-30)).item()
                        err = f"{e:.1e}"
                        if e > 2e-2:
                            bad = True
                            print(f"torch_moe: grouped {name} T{T} differs from eager: {e:.2e}",
                                  file=sys.stderr)
                        col["grouped"] = timed(lambda: grouped(x, w, cfg), a.reps)
                    except Exception as ex:  # noqa: BLE001
                        print(f"torch_moe: grouped {name} T{T}: {type(ex).__name__}: {ex}",
                              file=sys.stderr)

            def us(k):
                return f"{col[k]:.1f}" if k in col else "-"
            print(f"{name + ' T' + str(T):26s} {us('hf'):>9s} {us('eager'):>9s} "
                  f"{us('grouped'):>10s} {err:>8s}", flush=True)
        del w, block
        torch.cuda.empty_cache()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
