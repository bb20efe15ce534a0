// Independent CUDA kernels the GEMM benchmark checks against: random fill,
// an fp32 SIMT reference GEMM with the full GemmSpec semantics, and the
// max-error reduction. Deliberately simple (no tensor cores, no cp.async,
// no shared helpers with the generator) so a bug cannot hide in both.
#pragma once

#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include <string>

namespace effc::bench {

/// Leading dims and batch strides of a spec with the defaults filled in
/// (same rules as the generator's documented defaults).
struct Layout {
  int64_t lda, ldb, ldc;
  int64_t batch, strideA, strideB, strideC;
  /// Elements to allocate per operand (covers every batch and padding).
  int64_t elemsA, elemsB, elemsC, elemsBias;
};
Layout layoutOf(const codegen::GemmSpec &s);

/// Module with
///   bench_fill(void *p, long long n, int dtype, unsigned seed): uniform
///     [-1, 1) in dtype (0 = f32, 1 = f16, 2 = bf16), a hash of the index;
///   bench_compare(const void *C, const float *R, unsigned *out): see
///     compareSource; one per spec, since C's layout is baked in.
const std::string &supportSource();
int dtypeCode(DType t);

/// `extern "C" __global__ void name(A, B, [bias], [epilogue inputs], float
/// *R)`: R[b][m][n] (packed fp32) = the spec's result before the output
/// cast, the fused epilogue's statements applied to it.
/// 16x16 threads per block, one output each.
std::string referenceSource(const codegen::GemmSpec &s, const std::string &name,
                            codegen::LaunchDims *launch);

/// `extern "C" __global__ void name(const void *C, const float *R, unsigned
/// *out)`: out[0] = max |C - R| and out[1] = max |R| as float bits (NaN or
/// inf in C where R is finite counts as +inf). Grid-stride; 256 threads.
std::string compareSource(const codegen::GemmSpec &s, const std::string &name,
                          codegen::LaunchDims *launch);

} // namespace effc::bench
