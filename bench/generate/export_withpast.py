#!/usr/bin/env python3
"""Export a random-weight Hugging Face decoder Optimum-style, with past (issue 14 part 5).

Runs where torch + transformers + onnx are installed (the GPU machine has them):
    python3 bench/generate/export_withpast.py --arch llama --size 1b --out /tmp/gen/llama-1b
writes OUT/model.onnx (+ OUT/model.onnx.data past 2 GB) with the inputs and outputs of
../shared/decoders/llama-withpast:
    input_ids [batch, seq] int64, attention_mask [batch, total] int64, position_ids [batch, seq] int64,
    past_key_values.{i}.key/value [batch, kv_heads, past, head_dim] float
    -> logits [batch, seq, vocab], present.{i}.key/value [batch, kv_heads, past + seq, head_dim]
and OUT/meta.json (the model's sizes, a fingerprint of its weights, the bytes a decode step reads).

The model is models(arch, size, seed) below: the shapes of ../shared/tools/export_hf_onnx.py (llama 1b =
Llama-3.2-1B's layers with a 32000 vocabulary, gpt2 base = GPT-2 124M), weights drawn by torch.manual_seed(seed)
on the CPU, so hf_peer.py rebuilds the same model from the seed and checks the fingerprint instead of loading
gigabytes of weights. --check (default on) runs onnxruntime on the export, at the traced past and at past 0
(the prefill: torch.export cannot trace a dim at 0 or 1, so the export is traced at batch 3, seq 5, past 7 and
must be shape-generic), against the PyTorch module: max |diff| of logits and presents within 1e-3 x max |ref|.
Seen: gpt2 tiny exports in seconds, llama 1b in ~2 min on the GPU machine's CPU.
"""
import argparse, json, os, sys, time

import numpy as np

SIZES = {  # hidden, layers, heads, kv_heads, ffn, vocab (export_hf_onnx.py's, with a smaller tiny)
    "tiny": (64, 2, 4, 2, 128, 256),
    "base": (768, 12, 12, 12, 3072, 50257),  # GPT-2 124M
    "1b": (2048, 16, 32, 8, 8192, 32000),  # Llama-3.2-1B shapes
    # Speculative decoding's drafts (bench/serve): the vocabulary of the size they are named after, about 1/8 of
    # its parameters (llama 1b-draft: 142M of 1104M; tiny-draft: a smoke test's).
    "1b-draft": (1024, 5, 16, 4, 4096, 32000),
    "tiny-draft": (32, 1, 2, 2, 64, 256),
}
DIMS = {"batch": 3, "seq": 5, "past": 7}  # trace values: none 0 or 1, none equal to a fixed dim


def build(arch, size, seed):
    """The HF model of ARCH at SIZE with seeded random weights, eval mode, fp32, on the CPU."""
    import torch, transformers as T
    h, l, nh, kv, ffn, vocab = SIZES[size]
    torch.manual_seed(seed)
    if arch == "gpt2":
        m = T.GPT2LMHeadModel(T.GPT2Config(n_embd=h, n_layer=l, n_head=nh, n_positions=4096, vocab_size=vocab))
    elif arch == "llama":
        m = T.LlamaForCausalLM(T.LlamaConfig(hidden_size=h, num_hidden_layers=l, num_attention_heads=nh,
                                             num_key_value_heads=kv, intermediate_size=ffn, vocab_size=vocab,
                                             max_position_embeddings=8192))
    else:
        raise SystemExit(f"export_withpast: unknown arch '{arch}' (llama or gpt2)")
    return m.eval()


def shape_of(arch, size):
    h, l, nh, kv, ffn, vocab = SIZES[size]
    if arch == "gpt2":
        kv = nh
    return {"layers": l, "kv_heads": kv, "head_dim": h // nh, "vocab": vocab, "hidden": h}


def fingerprint(model):
    """Sum over the parameters of sum(p) and sum(|p|) in float64: equal weights give equal numbers."""
    import torch
    s = a = 0.0
    with torch.no_grad():
        for p in model.parameters():
            s += float(p.double().sum())
            a += float(p.double().abs().sum())
    return [s, a]


def weight_bytes_read(model, bytes_per_elem=2):
    """Bytes of the weights one decode step reads: every parameter once (tied ones once), except the
    embedding tables that are only gathered (batch rows); a tied LM head still reads its table."""
    import torch
    gathered = set()
    for mod in model.modules():
        if isinstance(mod, torch.nn.Embedding):
            gathered.add(id(mod.weight))
    out = model.get_output_embeddings()
    head = id(out.weight) if out is not None else None
    total, seen = 0, set()
    for p in model.parameters():  # parameters() yields a tied tensor once
        if id(p) in seen:
            continue
        seen.add(id(p))
        if id(p) in gathered and id(p) != head:
            continue
        total += p.numel() * bytes_per_elem
    return total


def cache_pairs(cache, layers):
    """(key, value) per layer from a transformers Cache of any recent layout."""
    inner = getattr(cache, "self_attention_cache", None)  # EncoderDecoderCache
    if inner is not None:
        cache = inner
    pairs = []
    for i in range(layers):
        if hasattr(cache, "layers"):
            pairs.append((cache.layers[i].keys, cache.layers[i].values))
        elif hasattr(cache, "key_cache"):
            pairs.append((cache.key_cache[i], cache.value_cache[i]))
        else:
            pairs.append(tuple(cache[i])[:2])
    return pairs


def make_cache(config, past):
    import transformers as T
    try:
        cache = T.DynamicCache(config=config)
    except TypeError:
        cache = T.DynamicCache()
    for i, (k, v) in enumerate(past):
        cache.update(k, v, i)
    return cache


def wrapper(model, layers):
    import torch

    class WithPast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, position_ids, past_key_values):
            o = self.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                       past_key_values=make_cache(self.m.config, past_key_values), use_cache=True, return_dict=True)
            flat = [o.logits]
            for k, v in cache_pairs(o.past_key_values, layers):
                flat += [k, v]
            return tuple(flat)

    return WithPast().eval()


def sample_inputs(shape, batch, seq, past, seed=1):
    import torch
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, shape["vocab"], (batch, seq), generator=g)
    mask = torch.ones(batch, past + seq, dtype=torch.int64)
    pos = torch.arange(past, past + seq, dtype=torch.int64).expand(batch, seq).contiguous()
    kv = [(torch.randn(batch, shape["kv_heads"], past, shape["head_dim"], generator=g),
           torch.randn(batch, shape["kv_heads"], past, shape["head_dim"], generator=g))
          for _ in range(shape["layers"])]
    return ids, mask, pos, kv


def io_names(layers):
    ins = ["input_ids", "attention_mask", "position_ids"]
    outs = ["logits"]
    for i in range(layers):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    return ins, outs


def fix_graph(path, layers):
    """Two rewrites that change no value, then the inputs' and outputs' dims as printable dicts:
    - names the inputs' symbolic dims batch, seq, total, past as ../shared/decoders/llama-withpast does (the
      exporter may have derived one from others, e.g. attention_mask's as 'past + seq'; the graph reads shapes
      at run time, so the annotation is all that changes);
    - a MatMul whose inner dim is 1 ([..., M, 1] x [..., 1, N], Llama's RoPE angles inv_freq x position_ids
      with torch 2.11's exporter) becomes the Mul it is (one product per element, bit-identical): newer
      exporters emit the Mul (llama-withpast, torch 2.15), and effc's GEMMs take runtime extents in M only."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    known = {}
    for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        known[v.name] = [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
    for t in m.graph.initializer:
        known[t.name] = list(t.dims)
    changed = []
    for n in m.graph.node:
        a, b = (known.get(x) for x in n.input[:2]) if n.op_type == "MatMul" else (None, None)
        if a and b and len(a) >= 2 and len(b) >= 2 and a[-1] == 1 and b[-2] == 1:
            n.op_type = "Mul"
            changed.append(f"MatMul {n.name} (inner dim 1) -> Mul")
    want = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
            "position_ids": {0: "batch", 1: "seq"}}
    for i in range(layers):
        for kind in ("key", "value"):
            want[f"past_key_values.{i}.{kind}"] = {0: "batch", 2: "past"}
    for v in m.graph.input:
        for axis, name in want.get(v.name, {}).items():
            d = v.type.tensor_type.shape.dim[axis]
            if d.dim_param != name:
                changed.append(f"{v.name}[{axis}]: {d.dim_param or d.dim_value} -> {name}")
                d.Clear()
                d.dim_param = name
    if changed:  # rewrites the graph; external weights keep their references to model.onnx.data
        onnx.save_model(m, path + ".tmp")
        os.replace(path + ".tmp", path)
        print("export_withpast: rewrote " + "; ".join(changed), flush=True)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    return ({v.name: dims(v) for v in m.graph.input}, {v.name: dims(v) for v in m.graph.output})


def check_io(ins, outs, shape):
    """The names and dims effc's KV-cache mode reads (runtime/src/PastStepModel.cpp)."""
    L = shape["layers"]
    want_in, want_out = io_names(L)
    if list(ins) != want_in:
        raise SystemExit(f"export_withpast: inputs {list(ins)}, expected {want_in}")
    if list(outs) != want_out:
        raise SystemExit(f"export_withpast: outputs {list(outs)}, expected {want_out}")
    kv = ["batch", shape["kv_heads"], "past", shape["head_dim"]]
    for i in range(L):
        for kind in ("key", "value"):
            if ins[f"past_key_values.{i}.{kind}"] != kv:
                raise SystemExit(f"export_withpast: past_key_values.{i}.{kind} is {ins[f'past_key_values.{i}.{kind}']}, "
                                 f"expected {kv}")
    if outs["logits"][2] != shape["vocab"]:
        raise SystemExit(f"export_withpast: logits {outs['logits']}, expected vocab {shape['vocab']}")


def ort_check(path, module, shape, past_lengths):
    """onnxruntime (CPU) against the PyTorch module at each past length (0 is the prefill)."""
    import onnxruntime as ort, torch
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names, _ = io_names(shape["layers"])
    worst = 0.0
    for past in past_lengths:
        ids, mask, pos, kv = sample_inputs(shape, 2, 4, past, seed=past + 11)
        with torch.no_grad():
            ref = [t.numpy() for t in module(ids, mask, pos, kv)]
        feeds = [ids.numpy(), mask.numpy(), pos.numpy()] + [t.numpy() for pair in kv for t in pair]
        got = sess.run(None, dict(zip(names, feeds)))
        for r, g in zip(ref, got):
            if r.shape != g.shape:
                raise SystemExit(f"export_withpast: onnxruntime at past {past}: shape {g.shape}, torch {r.shape}")
            err = float(np.abs(r - g).max() / max(np.abs(r).max(), 1e-30)) if r.size else 0.0
            worst = max(worst, err)
        if worst > 1e-3:
            raise SystemExit(f"export_withpast: onnxruntime at past {past} differs from torch: {worst:.3g} of max|ref|")
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", required=True, choices=["llama", "gpt2"])
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-check", dest="check", action="store_false", help="skip the onnxruntime check")
    a = ap.parse_args()
    import torch
    t0 = time.time()
    shape = shape_of(a.arch, a.size)
    model = build(a.arch, a.size, a.seed)
    module = wrapper(model, shape["layers"])
    ids, mask, pos, kv = sample_inputs(shape, DIMS["batch"], DIMS["seq"], DIMS["past"])
    ins, outs = io_names(shape["layers"])
    kv_dims = {0: "batch", 2: "past"}
    dynamic = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "total"},
               "position_ids": {0: "batch", 1: "seq"},
               "past_key_values": [(dict(kv_dims), dict(kv_dims)) for _ in range(shape["layers"])]}
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "model.onnx")
    with torch.no_grad():
        prog = torch.onnx.export(module, (ids, mask, pos, kv), dynamo=True, input_names=ins, output_names=outs,
                                 dynamic_shapes=dynamic)
    prog.save(path)  # weights go to model.onnx.data by themselves past 2 GB
    t_export = time.time() - t0
    in_dims, out_dims = fix_graph(path, shape["layers"])
    check_io(in_dims, out_dims, shape)
    err = ort_check(path, module, shape, [0, DIMS["past"]]) if a.check else None
    meta = dict(arch=a.arch, size=a.size, seed=a.seed, **shape,
                params=sum(p.numel() for p in model.parameters()),
                fingerprint=fingerprint(model), weight_bytes_read_bf16=weight_bytes_read(model, 2),
                onnx_inputs=in_dims, onnx_outputs=out_dims, ort_max_rel_err=err,
                versions={"torch": torch.__version__, "transformers": __import__("transformers").__version__})
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"export_withpast: {a.arch}-{a.size} seed {a.seed}: {meta['params'] / 1e6:.1f}M params, "
          f"{shape['layers']} layers, kv {shape['kv_heads']}x{shape['head_dim']}, vocab {shape['vocab']}; "
          f"logits {out_dims['logits']}, present.0.key {out_dims['present.0.key']}; "
          f"onnxruntime check (past 0 and {DIMS['past']}): "
          f"{'max rel err %.2g' % err if err is not None else 'skipped'}; "
          f"export {t_export:.0f} s, total {time.time() - t0:.0f} s -> {a.out}", flush=True)


if __name__ == "__main__":
    main()
