//===- Gemm.h - the one place GEMM kernels are emitted -----------*- C++ -*-===//
//
// Every matmul/gemm goes through emitGemm(desc, spec): swapping in a
// tensor-core kernel (mma.sync / wgmma) means replacing Gemm.cpp only. The
// spec is fully static: problem size, transposes, batch broadcasting by
// element strides, alpha/beta and a broadcast C.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_H

#include "compiler/codegen/KernelDesc.h"

#include <cstdint>
#include <vector>

namespace effc::codegen {

/// Y[batch][m][n] = alpha * sum_k op(A)[m][k] * op(B)[k][n] + beta * C[m][n]
/// with row-major Y of shape [batch..., M, N]. Kernel inputs: in0 = A, in1 =
/// B, in2 = C when `hasC`; out0 = Y (the artifact ABI, from the KernelDesc).
struct GemmSpec {
  DType aType = DType::FLOAT32, bType = DType::FLOAT32, cType = DType::FLOAT32;
  DType yType = DType::FLOAT32;
  int64_t M = 0, N = 0, K = 0;
  /// A is stored [K, M] (else [M, K]); B is stored [N, K] (else [K, N]).
  bool transA = false, transB = false;
  /// Output batch dims (row-major) and, per dim, the element step of A's and
  /// B's matrix for one step of that dim (0 where the operand broadcasts).
  std::vector<int64_t> batchDims, aBatchStrides, bBatchStrides;
  double alpha = 1.0, beta = 1.0;
  bool hasC = false;
  /// Element strides of C over [M, N] (0 on broadcast dims).
  int64_t cStrideM = 0, cStrideN = 0;
};

/// Emits the GEMM kernel named desc.name with desc's ABI. Today: a
/// shared-memory tiled FFMA kernel (64x64x16 tiles, 4x4 per thread, fp32
/// accumulation; fp64 for fp64/integer operands), batch on grid.z.
CudaKernel emitGemm(const KernelDesc &desc, const GemmSpec &spec);

} // namespace effc::codegen

#endif
