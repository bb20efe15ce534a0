//===- NNOps.td - normalization, rotary embedding, attention -----------------===//
// Raised ops that passes and kernels rely on; verifiers in NNOps.cpp reject
// every shape/attribute inconsistency with a message naming it.
#ifndef EFF_N_N_OPS_TD
#define EFF_N_N_OPS_TD

def Eff_LayerNormOp : Eff_Op<"layer_norm"> {
  let summary = "LayerNormalization-17 with one result Y";
  let description = [{
    Normalizes over dims [axis, rank). Scale and B have X's element type and
    a shape that broadcasts (unidirectionally) to X.shape[axis:]. The Mean and
    InvStdDev results of ONNX are not produced (training-only).
  }];
  let arguments = (ins Eff_FloatTensor:$X, Eff_FloatTensor:$Scale,
                       Optional<Eff_FloatTensor>:$B,
                       Eff_DefaultI64<"-1">:$axis, Eff_DefaultF32<"1e-5">:$epsilon,
                       Eff_DefaultI64<"1">:$stash_type);
  let results = (outs Eff_FloatTensor:$Y);
  let hasVerifier = 1;
}

def Eff_RMSNormOp : Eff_Op<"rms_norm"> {
  let summary = "RMSNormalization-23: x / sqrt(mean(x^2) + epsilon) * scale";
  let description = [{
    Normalizes over dims [axis, rank); `scale` broadcasts to X.shape[axis:].
    As in ONNX, Y has X's shape and scale's element type.
  }];
  let arguments = (ins Eff_FloatTensor:$X, Eff_FloatTensor:$scale,
                       Eff_DefaultI64<"-1">:$axis, Eff_DefaultF32<"1e-5">:$epsilon,
                       Eff_DefaultI64<"1">:$stash_type);
  let results = (outs Eff_FloatTensor:$Y);
  let hasVerifier = 1;
}

def Eff_RopeOp : Eff_Op<"rope"> {
  let summary = "RotaryEmbedding-23";
  let description = [{
    X is [B, H, S, D] or [B, S, H*D] (then `num_heads` is required). With
    `position_ids` ([B, S]) the caches are [max_pos, rot/2] tables indexed by
    position; without, they are [B, S, rot/2]. rot = rotary_embedding_dim, or
    D when 0. `interleaved` rotates pairs (x0, x1) instead of halves.
  }];
  let arguments = (ins Eff_FloatTensor:$X, Eff_FloatTensor:$cos_cache,
                       Eff_FloatTensor:$sin_cache, Optional<Eff_I64Tensor>:$position_ids,
                       Eff_DefaultI64<"0">:$interleaved, Eff_DefaultI64<"0">:$num_heads,
                       Eff_DefaultI64<"0">:$rotary_embedding_dim);
  let results = (outs Eff_FloatTensor:$Y);
  let hasVerifier = 1;
}

def Eff_AttentionMaskTensor : TensorOf<[Eff_FloatElement, Eff_BoolElement]>;

def Eff_AttentionOp : Eff_Op<"attention"> {
  let summary = "scaled dot-product attention with GQA, causal and sliding-window masking";
  let description = [{
    y = softmax(scale * q k^T + mask) v, per batch and query head, where query
    head h reads kv head h / (Hq / num_kv_heads) (GQA; MQA when
    num_kv_heads = 1).

    q: [B, Hq, S, D], k: [B, Hkv, L, D], v: [B, Hkv, L, Dv] -> [B, Hq, S, Dv].
    The optional mask broadcasts to [B, Hq, S, L]: i1 (true = attend) or a
    float added to the scores. `causal` masks key j for query i when
    j > i + (L - S) (queries are the last S positions, as when decoding with a
    KV cache); `window` > 0 also masks keys with j < i + (L - S) - window + 1.

    Never folded: attention on constants is not a shape computation.
  }];
  let arguments = (ins Eff_FloatTensor:$q, Eff_FloatTensor:$k, Eff_FloatTensor:$v,
                       Optional<Eff_AttentionMaskTensor>:$mask,
                       F32Attr:$scale, UnitAttr:$causal, Eff_DefaultI64<"0">:$window,
                       I64Attr:$num_kv_heads);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

#endif // EFF_N_N_OPS_TD
