//===- LoRAOps.td - unmerged LoRA adapters ----------------------------------===//
// Verifiers and inference live in LoRAOps.cpp; the reference semantics in
// runtime/src/host/LoRA.cpp. eff-decompose-lora lowers lora_linear to two
// matmuls and a lora_expand, which eff-fuse-gemm-epilogue folds into the
// base GEMM's epilogue.
#ifndef EFF_LORA_OPS_TD
#define EFF_LORA_OPS_TD

def Eff_LoRALinearOp : Eff_Op<"lora_linear"> {
  let cudaFamily = "LoRA";
  let onnxName = "";
  let summary = "x w + scale * LoRA(x): a linear layer with unmerged LoRA adapters";
  let description = [{
    x: [..., K], w: [K, N] -> y: [..., N]. Rows are x's leading dims
    flattened row-major.

    Single adapter: a [K, R], b [R, N], no `lora_index`;
    y[row] = x[row] w + scale * (x[row] a) b.

    Stacked adapters (several adapters served in one batch): a [n, K, R],
    b [n, R, N] and `lora_index` (int64 or int32) of shape [batch]. The rows
    split into `batch` equal consecutive groups (rows % batch == 0); group g
    uses adapter lora_index[g]. An index outside [0, n) (-1 by convention)
    means "no adapter": those rows get x w only. Out-of-range indices are
    never read from a or b.

    `scale` is PEFT's lora_alpha / r (or alpha / sqrt(r) for rsLoRA).
    Accumulation is fp32 and the result is rounded once, on store.
  }];
  let arguments = (ins Eff_FloatTensor:$x, Eff_FloatTensor:$w, Eff_FloatTensor:$a,
                       Eff_FloatTensor:$b, Optional<Eff_IndexTensor>:$lora_index,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

def Eff_LoRAExpandOp : Eff_Op<"lora_expand"> {
  let cudaFamily = "LoRA";
  let onnxName = "";
  let summary = "acc + scale * t_g b_g: the expand half of LoRA, added to a GEMM result";
  let description = [{
    acc: [..., N], t: [..., C] with acc's leading dims, b: [R, N] (single
    adapter) or [n, R, N] (stacked, with `lora_index` [batch] as in
    eff.lora_linear). Per row (leading dims flattened) with adapter g:

      y[row][col] = acc[row][col]
                    + scale * sum_r t[row][t_offset + g * R + r] * b[g][r][col]

    and y = acc for rows whose index is outside [0, n). t is the shrink
    product x a_flat with a_flat = [K, n * R] (adapter-major columns), so C >=
    t_offset + n * R. `t_offset` lets several lora_expand ops read slices of
    one shared t: projections of the same x (q/k/v) compute one shrink
    matmul over their concatenated a_flat, and each expand starts at its own
    column offset instead of materializing a slice. Accumulation is fp32;
    the result is rounded once, on store.
  }];
  let arguments = (ins Eff_FloatTensor:$acc, Eff_FloatTensor:$t, Eff_FloatTensor:$b,
                       Optional<Eff_IndexTensor>:$lora_index,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale,
                       Eff_DefaultI64<"0">:$t_offset);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

#endif // EFF_LORA_OPS_TD
