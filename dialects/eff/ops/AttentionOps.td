//===- AttentionOps.td - attention and its split-KV pair ----------------------===//
// eff.attention is what eff-raise-attention (and the importer, for ONNX
// Attention-23) produce; eff-split-kv-decode rewrites decode-shaped ones into
// eff.attention_partial + eff.attention_combine. Verifiers in
// AttentionOps.cpp; host semantics in runtime/src/host/{Attention,SplitKvAttention}.cpp.
#ifndef EFF_ATTENTION_OPS_TD
#define EFF_ATTENTION_OPS_TD

def Eff_AttentionMaskTensor : TensorOf<[Eff_FloatElement, Eff_BoolElement]>;
def Eff_F32Tensor : TensorOf<[F32]>;

def Eff_AttentionOp : Eff_Op<"attention"> {
  let cudaFamily = "Attention";
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
    `softcap` = c > 0 soft-caps the scaled scores before the mask (Gemma-2):
    s = c * tanh(scale * q.k / c); 0 (the default) means none.
    `alibi_slopes` (one per query head, MPT/BLOOM ALiBi) adds
    slope_h * (j - (i + L - S)) to the scores after the soft-cap and before
    the mask (any per-row constant offset gives the same softmax).
    `sinks` (one logit per query head, gpt-oss attention sinks) joins the
    softmax denominator as one more key with no value:
    y = sum_j exp(s_j) v_j / (exp(sink_h) + sum_j exp(s_j)).
    `out_perm` (optional, a permutation of 0..3 with out_perm[3] = 3) says
    the result is stored permuted: y = transpose([B, Hq, S, Dv],
    out_perm), e.g. [0, 2, 1, 3] gives [B, S, Hq, Dv], what the output
    projection reads (eff-fold-attention-layout folds such a transpose
    reader in; the kernels write through the permuted strides). Absent:
    [B, Hq, S, Dv].

    Never folded: attention on constants is not a shape computation.
  }];
  let arguments = (ins Eff_FloatTensor:$q, Eff_FloatTensor:$k, Eff_FloatTensor:$v,
                       Optional<Eff_AttentionMaskTensor>:$mask,
                       F32Attr:$scale, UnitAttr:$causal, Eff_DefaultI64<"0">:$window,
                       I64Attr:$num_kv_heads, Eff_DefaultF32<"0.0">:$softcap,
                       OptionalAttr<DenseF32ArrayAttr>:$alibi_slopes,
                       OptionalAttr<DenseF32ArrayAttr>:$sinks,
                       OptionalAttr<DenseI64ArrayAttr>:$out_perm);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

def Eff_AttentionPartialOp : Eff_Op<"attention_partial"> {
  let cudaFamily = "AttentionPartial";
  let onnxName = "";
  let summary = "eff.attention over each of num_splits key chunks (split-KV decode, step 1)";
  let description = [{
    Operands and attributes (softcap, alibi_slopes and sinks included) as
    eff.attention, plus
    `num_splits` = P. The keys
    are cut into P chunks of ceil(L / P) keys rounded up to a multiple of 64
    (effc::splitKvChunk in host/SplitKvAttention.h; the decode kernel's KV
    tile): split s covers keys [s * chunk, min(L, (s + 1) * chunk)), and
    trailing splits may be empty. For each split, with eff.attention's
    masking:

      o_partial[s]: f32 [P, B, Hq, S, Dv], the attention output over the
                    chunk's keys alone (normalized within the chunk);
      lse[s]:       f32 [P, B, Hq, S], ln(sum over the chunk's allowed keys
                    of exp(score)) (natural log).

    A chunk without an allowed key gives o_partial = 0 and lse = -inf.
    The sinks join split 0 only (a key with logit sink_h and value 0), so
    the combine counts each once.
    eff.attention_combine turns the pair back into eff.attention's result.
    Never folded.
  }];
  let arguments = (ins Eff_FloatTensor:$q, Eff_FloatTensor:$k, Eff_FloatTensor:$v,
                       Optional<Eff_AttentionMaskTensor>:$mask,
                       F32Attr:$scale, UnitAttr:$causal, Eff_DefaultI64<"0">:$window,
                       I64Attr:$num_kv_heads, I64Attr:$num_splits,
                       Eff_DefaultF32<"0.0">:$softcap,
                       OptionalAttr<DenseF32ArrayAttr>:$alibi_slopes,
                       OptionalAttr<DenseF32ArrayAttr>:$sinks);
  let results = (outs Eff_F32Tensor:$o_partial, Eff_F32Tensor:$lse);
  let hasVerifier = 1;
}

def Eff_AttentionCombineOp : Eff_Op<"attention_combine"> {
  let cudaFamily = "AttentionCombine";
  let onnxName = "";
  let summary = "reduce eff.attention_partial's splits (split-KV decode, step 2)";
  let description = [{
    o = sum_s exp(lse_s - M) o_partial_s / sum_s exp(lse_s - M), M = max_s
    lse_s, and 0 where every lse_s is -inf. o_partial: f32 [P, B, Hq, S, Dv],
    lse: f32 [P, B, Hq, S] -> [B, Hq, S, Dv] of the ONNX data type `to`
    (1 = f32, 10 = f16, 16 = bf16: the attention's dtype). `out_perm` as
    eff.attention's: o stored as transpose([B, Hq, S, Dv], out_perm).
    Never folded.
  }];
  let arguments = (ins Eff_F32Tensor:$o_partial, Eff_F32Tensor:$lse, I64Attr:$to,
                       OptionalAttr<DenseI64ArrayAttr>:$out_perm);
  let results = (outs Eff_FloatTensor:$o);
  let hasVerifier = 1;
}

#endif // EFF_ATTENTION_OPS_TD
