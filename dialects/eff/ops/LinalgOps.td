//===- LinalgOps.td - matrix products ---------------------------------------===//
// Inference and folding live in LinalgOps.cpp.
#ifndef EFF_LINALG_OPS_TD
#define EFF_LINALG_OPS_TD

def Eff_MatMulOp : Eff_Op<"matmul", [Eff_GemmLike]> {
  let cudaFamily = "Matmul";
  let summary = "numpy matmul (MatMul-13): 1-D operands promoted, batch dims broadcast";
  let description = [{
    A 1-D `a` is treated as [1, K] and a 1-D `b` as [K, 1]; the promoted dim is
    dropped from the result. Leading (batch) dims broadcast multidirectionally.

    `transB = 1`: `b` is a 2-D weight stored [N, K] (K-major) and the product
    is `a` times its transpose. ONNX MatMul never sets it; eff-k-major-weights
    stores a constant weight so where the [K, N] rows could not be read by
    TMA (sm_90a, N * element bytes not a multiple of 16).
  }];
  let arguments = (ins Eff_NumericTensor:$a, Eff_NumericTensor:$b,
                       Eff_DefaultI64<"0">:$transB);
  let results = (outs Eff_NumericTensor:$y);
}

def Eff_GemmOp : Eff_Op<"gemm", [Eff_GemmLike]> {
  let cudaFamily = "Matmul";
  let summary = "alpha * op(A) * op(B) + beta * C (Gemm-13), C broadcast to [M, N]";
  let arguments = (ins Eff_NumericTensor:$A, Eff_NumericTensor:$B,
                       Optional<Eff_NumericTensor>:$C,
                       Eff_DefaultF32<"1.0">:$alpha, Eff_DefaultF32<"1.0">:$beta,
                       Eff_DefaultI64<"0">:$transA, Eff_DefaultI64<"0">:$transB);
  let results = (outs Eff_NumericTensor:$Y);
  let hasVerifier = 1;
}

#endif // EFF_LINALG_OPS_TD
