//===- Gemm.h - the one place GEMM kernels are emitted -----------*- C++ -*-===//
//
// Every matmul/gemm goes through emitGemm(desc, spec): swapping in a
// tensor-core kernel (mma.sync / wgmma) means replacing Gemm.cpp only. The
// spec is fully static: problem size, transposes, batch broadcasting by
// element strides, alpha/beta and a broadcast C.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_H

#include "compiler/codegen/DTypeInfo.h"
#include "compiler/codegen/KernelDesc.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace effc::codegen {

/// Y[batch][m][n] = alpha * sum_k op(A)[m][k] * op(B)[k][n] + beta * C[m][n]
/// with row-major Y of shape [batch..., M, N]. Kernel inputs: in0 = A, in1 =
/// B, in2 = C when `hasC` (or where aInput/bInput/cInput say); out0 = Y (the
/// artifact ABI, from the KernelDesc). An `epilogue` (eff.fusion
/// "gemm_epilogue") rewrites the value before the store.
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
  /// Kernel input index of A, B and C.
  int aInput = 0, bInput = 1, cInput = 2;
  /// Fused epilogue: given the name of a variable holding alpha * A * B +
  /// beta * C in the accumulator kind (fp32, fp64 for fp64/integer
  /// operands), the linear batch index (over batchDims, row-major) and the
  /// m and n expressions, statements that reassign it to the value stored
  /// (converted to yType by the store). The code reads other kernel inputs
  /// through the untyped `in<k>` parameters.
  std::function<std::string(const std::string &v, const std::string &batch, const std::string &m,
                            const std::string &n)>
      epilogue;
};

/// The accumulator kind: fp32 for 16/32-bit floats, fp64 for fp64 and
/// integer operands (as the host kernels, which widen integers to double).
Compute accumulatorKind(const GemmSpec &spec);

/// Emits the GEMM kernel named desc.name with desc's ABI. Today: a
/// shared-memory tiled FFMA kernel (64x64x16 tiles, 4x4 per thread, fp32
/// accumulation; fp64 for fp64/integer operands), batch on grid.z.
CudaKernel emitGemm(const KernelDesc &desc, const GemmSpec &spec);

} // namespace effc::codegen

#endif
