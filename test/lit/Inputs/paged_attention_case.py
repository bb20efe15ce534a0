#!/usr/bin/env python3
"""Inputs and a numpy reference for eff.paged_attention (issue 19).

  paged_attention_case.py mlir PRESET             the test module (stdout)
  paged_attention_case.py mlir PRESET windowed    only the short window's outputs
                                                  (y_win, y_split_win; `check ...
                                                  windowed` reads them)
  paged_attention_case.py write PRESET DIR        the module's inputs as
                                                  input_0..4.npy (q, k_cache,
                                                  v_cache, block_table, seq_lens)
  paged_attention_case.py check PRESET OUT        OUT/output_0.npy (causal),
                                                  output_1.npy (causal = 0),
                                                  output_2.npy (split-KV:
                                                  paged_attention_partial +
                                                  attention_combine, causal),
                                                  output_3.npy (a sliding
                                                  window shorter than rows),
                                                  output_4.npy (a window longer
                                                  than the table holds: causal)
                                                  and output_5.npy (split-KV
                                                  with the short window)
                                                  against the reference

The reference is written from the op's definition, not from effc's kernels:
each row's keys and values are gathered from the pages its block table names
into contiguous [Hkv, len, D] arrays, then plain softmax attention (GQA,
queries at the last S positions). Rows: one longer than a page, one shorter
than S (its first query has no position: zeros), one ending on a page
boundary; pages shuffled; block-table entries past a row's pages are junk
(999) and must never be read. Windows (query p sees keys max(0, p - W +
1)..p): the short one leaves whole splits of the long rows outside every
query's window. PRESETs: small (host, lit) and large (decode shapes for the
GPU: head dim 128, pages of 16, 200 positions).
"""
import os
import sys

import numpy as np

PRESETS = {
    # B, Hq, Hkv, S, D, pages, page size, pages per row, seq_lens
    "small": (3, 4, 2, 3, 32, 12, 4, 4, [9, 2, 8]),
    "large": (4, 8, 2, 1, 128, 64, 16, 14, [200, 1, 17, 129]),
}


# eff.paged_attention_partial's num_splits per preset (small: 4 pages per row
# in 3 splits of 2 pages, the last empty; large: 14 pages in 4 splits of 4).
SPLITS = {"small": 3, "large": 4}

# Sliding windows per preset: (short, longer than max_pages * page_size).
# small: row 9's queries see keys 4..8 at most (split 0 partly, split 2
# empty); large: row 200's query sees keys 153..199 (splits 0-1 of 64
# positions wholly outside the window).
WINDOWS = {"small": (3, 20), "large": (48, 300)}

# The outputs: (name, causal, window, split-KV); `windowed`: only the short
# window's (a module that never needs the pages before every window).
def outputs(preset, windowed=False):
    short, long = WINDOWS[preset]
    all_ = (("y", 1, 0, False), ("y_full", 0, 0, False), ("y_split", 1, 0, True),
            ("y_win", 1, short, False), ("y_bigwin", 1, long, False),
            ("y_split_win", 1, short, True))
    return tuple(o for o in all_ if o[2] == short) if windowed else all_


def shapes(preset):
    B, HQ, HKV, S, D, NP, PS, MB, lens = PRESETS[preset]
    return dict(q=(B, HQ, S, D), k_cache=(NP, HKV, PS, D), v_cache=(NP, HKV, PS, D),
                block_table=(B, MB), seq_lens=(B,))


def mlir(preset, windowed=False):
    s = shapes(preset)
    t = {n: "tensor<%sx%s>" % ("x".join(map(str, v)), "i32" if n == "block_table" else
                                 "i64" if n == "seq_lens" else "f32") for n, v in s.items()}
    D = s["q"][3]
    args = ", ".join("%%%s: %s" % (n, t[n]) for n in s)
    types = ", ".join(t[n] for n in s)
    ops = ""
    scale = float(1 / np.sqrt(D))
    P = SPLITS[preset]
    part = "tensor<%dx%sxf32>" % (P, "x".join(map(str, s["q"])))
    lse = "tensor<%dx%sxf32>" % (P, "x".join(map(str, s["q"][:3])))
    names = []
    for name, causal, window, split in outputs(preset, windowed):
        attrs = "scale = %r : f32" % scale
        attrs += "" if causal else ", causal = 0 : i64"
        attrs += ", window = %d : i64" % window if window else ""
        names.append(name)
        if not split:
            ops += ("  %%%s = eff.paged_attention %%q, %%k_cache, %%v_cache, %%block_table, "
                    "%%seq_lens {%s} : (%s) -> %s\n" % (name, attrs, types, t["q"]))
            continue
        # Split-KV: eff.paged_attention_partial + eff.attention_combine.
        ops += ("  %%o_%s, %%lse_%s = eff.paged_attention_partial %%q, %%k_cache, %%v_cache, "
                "%%block_table, %%seq_lens {%s, num_splits = %d : i64} : (%s) -> (%s, %s)\n"
                % (name, name, attrs, P, types, part, lse))
        ops += ("  %%%s = eff.attention_combine %%o_%s, %%lse_%s {to = 1 : i64} : (%s, %s) -> %s\n"
                % (name, name, name, part, lse, t["q"]))
    results = ", ".join([t["q"]] * len(names))
    return ("func.func @main(%s) -> (%s) {\n%s  return %s : %s\n}\n"
            % (args, results, ops, ", ".join("%" + n for n in names), results))


def inputs(preset):
    B, HQ, HKV, S, D, NP, PS, MB, lens = PRESETS[preset]
    rng = np.random.default_rng(19)
    q = rng.standard_normal((B, HQ, S, D)).astype(np.float32)
    k = rng.standard_normal((NP, HKV, PS, D)).astype(np.float32)
    v = rng.standard_normal((NP, HKV, PS, D)).astype(np.float32)
    table = np.full((B, MB), 999, dtype=np.int32)
    free = list(rng.permutation(NP))
    for b, n in enumerate(lens):
        for i in range(-(-n // PS)):
            table[b, i] = free.pop()
    return dict(q=q, k_cache=k, v_cache=v, block_table=table,
                seq_lens=np.array(lens, dtype=np.int64))


def reference(preset, causal, window=0):
    B, HQ, HKV, S, D, NP, PS, MB, lens = PRESETS[preset]
    x = inputs(preset)
    y = np.zeros((B, HQ, S, D), dtype=np.float64)
    for b, n in enumerate(lens):
        pages = x["block_table"][b, :-(-n // PS)]
        K = x["k_cache"][pages].transpose(1, 0, 2, 3).reshape(HKV, -1, D)[:, :n].astype(np.float64)
        V = x["v_cache"][pages].transpose(1, 0, 2, 3).reshape(HKV, -1, D)[:, :n].astype(np.float64)
        for h in range(HQ):
            for s in range(S):
                pos = n - S + s
                if pos < 0:
                    continue
                seen = pos + 1 if causal else n
                first = max(0, pos - window + 1) if window else 0
                kh = h // (HQ // HKV)
                sc = K[kh, first:seen] @ x["q"][b, h, s].astype(np.float64) / np.sqrt(D)
                p = np.exp(sc - sc.max())
                y[b, h, s] = (p / p.sum()) @ V[kh, first:seen]
    return y


def main():
    cmd, preset = sys.argv[1], sys.argv[2]
    windowed = sys.argv[-1] == "windowed"
    if cmd == "mlir":
        sys.stdout.write(mlir(preset, windowed))
    elif cmd == "write":
        os.makedirs(sys.argv[3], exist_ok=True)
        for i, a in enumerate(inputs(preset).values()):
            np.save(os.path.join(sys.argv[3], "input_%d.npy" % i), a)
    elif cmd == "check":
        out, ok = sys.argv[3], True
        for k, (name, causal, window, _) in enumerate(outputs(preset, windowed)):
            got = np.load(os.path.join(out, "output_%d.npy" % k)).astype(np.float64)
            ref = reference(preset, causal, window)
            err = np.abs(got - ref).max() / np.abs(ref).max()
            zeros = PRESETS[preset][8][1] < PRESETS[preset][3] and np.all(got[1, :, 0] == 0)
            good = err < 1e-5 and (zeros or PRESETS[preset][8][1] >= PRESETS[preset][3])
            ok &= bool(good)
            print("%s %s (causal %d, window %d): max err / max |ref| = %.2e, padded query zero: "
                  "%s: %s" % (preset, name, causal, window, err, zeros, "PASS" if good else "FAIL"))
        sys.exit(0 if ok else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
