//===- NNOps.td - normalization, rotary embedding ------------------------------===//
// Raised ops that passes and kernels rely on; verifiers in NNOps.cpp reject
// every shape/attribute inconsistency with a message naming it.
#ifndef EFF_N_N_OPS_TD
#define EFF_N_N_OPS_TD

// The epsilon of eff.layer_norm and eff.rms_norm when a model gives none
// (ONNX's default); the importer reads it from here too.
defvar Eff_NormEpsilon = Eff_DefaultF32<"1e-5">;

def Eff_LayerNormOp : Eff_Op<"layer_norm"> {
  let cudaFamily = "Norm";
  let onnxName = "LayerNormalization";
  let summary = "LayerNormalization-17 with one result Y";
  let description = [{
    Normalizes over dims [axis, rank). Scale and B have X's element type and
    a shape that broadcasts (unidirectionally) to X.shape[axis:]. The Mean and
    InvStdDev results of ONNX are not produced (training-only).
  }];
  let arguments = (ins Eff_FloatTensor:$X, Eff_FloatTensor:$Scale,
                       Optional<Eff_FloatTensor>:$B,
                       Eff_DefaultI64<"-1">:$axis, Eff_NormEpsilon:$epsilon,
                       Eff_DefaultI64<"1">:$stash_type);
  let results = (outs Eff_FloatTensor:$Y);
  let hasVerifier = 1;
}

def Eff_RMSNormOp : Eff_Op<"rms_norm"> {
  let cudaFamily = "Norm";
  let onnxName = "RMSNormalization";
  let onnxSince = 23;
  let summary = "RMSNormalization-23: x / sqrt(mean(x^2) + epsilon) * scale";
  let description = [{
    Normalizes over dims [axis, rank); `scale` broadcasts to X.shape[axis:].
    As in ONNX, Y has X's shape and scale's element type.
  }];
  let arguments = (ins Eff_FloatTensor:$X, Eff_FloatTensor:$scale,
                       Eff_DefaultI64<"-1">:$axis, Eff_NormEpsilon:$epsilon,
                       Eff_DefaultI64<"1">:$stash_type);
  let results = (outs Eff_FloatTensor:$Y);
  let hasVerifier = 1;
}

def Eff_RopeOp : Eff_Op<"rope"> {
  let cudaFamily = "Rope";
  let onnxName = "RotaryEmbedding";
  let onnxSince = 23;
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

#endif // EFF_N_N_OPS_TD
