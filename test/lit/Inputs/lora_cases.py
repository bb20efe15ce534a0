"""Unmerged-LoRA test cases as eff IR, for the differential check of
eff-decompose-lora + eff-fuse-gemm-epilogue against eff.lora_linear's host
reference kernel (test/lit/passes/eff-decompose-lora-numerics.test).

  lora_cases.py make OUTDIR        writes OUTDIR/<case>.mlir, OUTDIR/<case>/<input>.npy and
                                   OUTDIR/<case>-numpy/<output>.npy (float64 numpy reference)
  lora_cases.py compare REF GOT RTOL
                                   compares two effc-run --output-dir folders: one line per
                                   output, `output NAME: max_rel_err=E PASS|FAIL`
                                   (max |got - ref| / max |ref|); exit 1 on a FAIL

Weights and adapters are constants (so the adapters' transposes fold at
compile time, as with real weights); x and lora_index are inputs. Indices
cover a valid adapter, -1 and one >= n (both mean "no adapter").
"""
import math
import os
import sys

import numpy as np

rng = np.random.default_rng(1234)


def randn(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tensor_type(shape, elt):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def elt_of(array):
    return {np.dtype(np.float32): "f32", np.dtype(np.int64): "i64"}[array.dtype]


class Case:
    def __init__(self, name):
        self.name = name
        self.args, self.body, self.results, self.inputs = [], [], [], {}
        self.count = 0

    def value(self):
        self.count += 1
        return "%v" + str(self.count)

    # Values are (SSA name, shape, float64/int64 numpy value).
    def input(self, name, array):
        self.inputs[name] = array
        self.args.append((name, tensor_type(array.shape, elt_of(array))))
        return "%" + name, array.shape, array.astype(np.float64 if array.dtype == np.float32 else np.int64)

    def constant(self, array):
        v = self.value()
        t = tensor_type(array.shape, elt_of(array))
        hexdata = array.tobytes().hex().upper()
        self.body.append(f'{v} = eff.constant {{value = dense<"0x{hexdata}"> : {t}}} : {t}')
        return v, array.shape, array.astype(np.float64)

    def op(self, text, operands, result, attrs=""):
        v = self.value()
        names = ", ".join(o[0] for o in operands)
        types = ", ".join(tensor_type(o[1], "i64" if o[2].dtype == np.int64 else "f32") for o in operands)
        attr_text = f" {{{attrs}}}" if attrs else ""
        self.body.append(f"{v} = {text} {names}{attr_text} : ({types}) -> {tensor_type(result.shape, 'f32')}")
        return v, result.shape, result

    def add(self, x, y):
        return self.op("eff.add", [x, y], x[2] + y[2])

    def gelu(self, x):
        erf = np.vectorize(math.erf)
        return self.op("eff.gelu", [x], 0.5 * x[2] * (1 + erf(x[2] / math.sqrt(2))))

    def result(self, name, value):
        self.results.append((name, value))

    def lora_linear(self, x, w, a, b, index=None, scale=1.0):
        """The numpy reference: rows split into len(index) groups; an index
        outside [0, n) adds nothing."""
        rows = x[2].reshape(-1, x[2].shape[-1])
        y = rows @ w[2]
        for r in range(rows.shape[0]):
            if index is None:
                y[r] += scale * (rows[r] @ a[2]) @ b[2]
                continue
            g = index[2][r // (rows.shape[0] // len(index[2]))]
            if 0 <= g < a[2].shape[0]:
                y[r] += scale * (rows[r] @ a[2][g]) @ b[2][g]
        result = y.reshape(tuple(x[1][:-1]) + (w[1][1],))
        operands = [x, w, a, b] + ([index] if index else [])
        return self.op("eff.lora_linear", operands, result, f"scale = {scale!r} : f64")

    def mlir(self):
        args = ", ".join(f'%{n}: {t} {{eff.name = "{n}"}}' for n, t in self.args)
        res_types = ", ".join(tensor_type(v[1], "f32") for _, v in self.results)
        res_attrs = ", ".join(f'{tensor_type(v[1], "f32")} {{eff.name = "{n}"}}' for n, v in self.results)
        lines = [f"func.func @main({args}) -> ({res_attrs}) {{"]
        lines += ["  " + line for line in self.body]
        lines.append("  return " + ", ".join(v[0] for _, v in self.results) + " : " + res_types)
        lines.append("}")
        return "\n".join(lines) + "\n"


def qkv_case():
    """Llama-style q/k/v on one 3-D x [2, 16, 128]: one shrink GEMM is
    shared; q has one adapter and a bias, k stacked adapters (R = 4) chosen
    by idx_k, v stacked adapters (R = 8) chosen by idx_v, then GELU."""
    c = Case("qkv")
    x = c.input("x", randn(2, 16, 128))
    idx_k = c.input("idx_k", np.array([2, -1], dtype=np.int64))
    idx_v = c.input("idx_v", np.array([5, 0], dtype=np.int64))
    wq, wk, wv = (c.constant(randn(128, n, scale=0.1)) for n in (128, 64, 64))
    aq, bq = c.constant(randn(128, 8, scale=0.1)), c.constant(randn(8, 128, scale=0.1))
    ak, bk = c.constant(randn(3, 128, 4, scale=0.1)), c.constant(randn(3, 4, 64, scale=0.1))
    av, bv = c.constant(randn(3, 128, 8, scale=0.1)), c.constant(randn(3, 8, 64, scale=0.1))
    bias = c.constant(randn(128))
    q = c.lora_linear(x, wq, aq, bq, scale=2.0)
    q = c.add(q, bias)
    k = c.lora_linear(x, wk, ak, bk, idx_k, scale=0.5)
    v = c.gelu(c.lora_linear(x, wv, av, bv, idx_v))
    c.result("q", q)
    c.result("k", k)
    c.result("v", v)
    return c


def gpt2_case():
    """GPT-2-style 2-D x [32, 128]: c_attn (N = 384) with one adapter plus a
    bias, and a second projection with stacked adapters over 4 groups."""
    c = Case("gpt2")
    x = c.input("x", randn(32, 128))
    idx = c.input("idx", np.array([1, -1, 0, 7], dtype=np.int64))
    w1, w2 = c.constant(randn(128, 384, scale=0.1)), c.constant(randn(128, 128, scale=0.1))
    a1, b1 = c.constant(randn(128, 16, scale=0.1)), c.constant(randn(16, 384, scale=0.1))
    a2, b2 = c.constant(randn(2, 128, 8, scale=0.1)), c.constant(randn(2, 8, 128, scale=0.1))
    bias = c.constant(randn(384))
    y1 = c.lora_linear(x, w1, a1, b1, scale=4.0)
    y1 = c.add(y1, bias)
    y2 = c.lora_linear(x, w2, a2, b2, idx, scale=0.25)
    c.result("y1", y1)
    c.result("y2", y2)
    return c


def make(out):
    os.makedirs(out, exist_ok=True)
    for case in (qkv_case(), gpt2_case()):
        with open(os.path.join(out, case.name + ".mlir"), "w") as f:
            f.write(case.mlir())
        os.makedirs(os.path.join(out, case.name), exist_ok=True)
        for name, array in case.inputs.items():
            np.save(os.path.join(out, case.name, name + ".npy"), array)
        os.makedirs(os.path.join(out, case.name + "-numpy"), exist_ok=True)
        for name, value in case.results:
            np.save(os.path.join(out, case.name + "-numpy", name + ".npy"), value[2])


def compare(ref_dir, got_dir, rtol):
    failed = False
    for file in sorted(os.listdir(ref_dir)):
        ref = np.load(os.path.join(ref_dir, file)).astype(np.float64)
        got = np.load(os.path.join(got_dir, file)).astype(np.float64)
        err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30) if ref.size else 0.0
        ok = got.shape == ref.shape and err <= rtol
        failed |= not ok
        print(f"output {file[:-4]}: max_rel_err={err:.3g} {'PASS' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    else:
        sys.exit(__doc__)
