//===- TensorCoreGemm.h - mma.sync GEMM kernel generator ---------*- C++ -*-===//
//
// Emits one specialized tensor-core GEMM kernel per problem: every size,
// stride, dtype and the epilogue are baked into the CUDA text, so NVRTC folds
// all index math and predicates that the shape makes static.
//
//   C[b][m][n] = store( act(alpha * sum_k opA(A)[b][m][k] * opB(B)[b][k][n]
//                           + beta * bias[b][m][n]) + residual[b][m][n] )
//
// Kernel ABI (effc's artifact ABI): `extern "C" __global__ void name(const
// void* A, const void* B, [const void* bias], [const void* residual],
// [epilogue params...], void* C)`, the bracketed pointers present only when
// the spec uses them.
//
// Pure C++ (no MLIR/LLVM), so it builds with -DEFFC_RUNTIME_ONLY=ON and the
// GPU-side benchmark can link it.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_TENSORCOREGEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_TENSORCOREGEMM_H

#include "compiler/codegen/KernelDesc.h"
#include "effc/DType.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace effc::codegen::tcgemm {

enum class BiasKind {
  None,
  PerColumn, // bias[n]: a Linear layer's bias
  Full,      // bias[m][n] with its own strides (ONNX Gemm's C, any broadcast)
};

enum class Activation { None, GeluErf, GeluTanh, Relu, Silu };

/// Block tile and pipeline depth. Warp tile = (bm / warpsM) x (bn / warpsN)
/// must be a multiple of 16 x 16.
struct TileConfig {
  int bm = 128, bn = 128, bk = 32;
  int warpsM = 2, warpsN = 2;
  int stages = 4;

  int threads() const { return 32 * warpsM * warpsN; }
  bool operator==(const TileConfig &o) const {
    return bm == o.bm && bn == o.bn && bk == o.bk && warpsM == o.warpsM && warpsN == o.warpsN &&
           stages == o.stages;
  }
};

/// "128x256x32_w2x4_s4".
std::string tileName(const TileConfig &t);

/// A general epilogue (fused elementwise chains): extra kernel parameters
/// appended after A, B, [bias], [residual] (before C), and the code that
/// turns the fp32 value `v` (after alpha, bias, activation, residual) at
/// output (batch, row, col) into the value stored (still fp32, cast by the
/// store). `code(v, batch, row, col)` gets C expressions (batch is a
/// long long, row and col ints) and returns statements that reassign `v`.
struct Epilogue {
  std::vector<std::string> params; // full declarations: "const void *__restrict__ in2"
  std::function<std::string(const std::string &v, const std::string &batch, const std::string &row,
                            const std::string &col)>
      code;
  explicit operator bool() const { return bool(code); }
};

/// One GEMM. Strides are in elements; a leading dimension of 0 means packed
/// (the stored row length), a batch stride of kPacked means one packed matrix
/// per batch, 0 means broadcast over the batch.
struct GemmSpec {
  static constexpr int64_t kPacked = -1;

  int64_t batch = 1, M = 0, N = 0, K = 0;
  /// A is stored [K, M] (else [M, K]); B is stored [N, K] (else [K, N]).
  bool transA = false, transB = false;
  int64_t lda = 0, ldb = 0, ldc = 0;
  int64_t batchStrideA = kPacked, batchStrideB = kPacked, batchStrideC = kPacked;

  /// A and B share one of FLOAT16, BFLOAT16 (m16n8k16) or FLOAT32 (TF32
  /// m16n8k8); C is any of the three. Accumulation is always fp32.
  DType aType = DType::BFLOAT16, bType = DType::BFLOAT16, cType = DType::BFLOAT16;
  float alpha = 1.0f;

  BiasKind bias = BiasKind::None;
  DType biasType = DType::FLOAT32;
  float beta = 1.0f;
  /// Full bias: element strides over m and n (0 broadcasts that dim) and over
  /// the batch (default 0: one bias for every batch). PerColumn uses stride 1.
  int64_t biasStrideM = 0, biasStrideN = 1, biasBatchStride = 0;

  Activation act = Activation::None;

  bool residual = false;
  DType residualType = DType::FLOAT32;
  int64_t ldResidual = 0; // 0 = N
  int64_t residualBatchStride = kPacked;

  /// Applied last when set (see Epilogue).
  Epilogue epilogue;

  /// For the tile choice only (the kernel runs on any SM count).
  int numSMs = 132;
  /// Force a tile (benchmark sweeps); bm == 0 lets chooseTile() decide.
  TileConfig tile{0, 0, 0, 0, 0, 0};
};

/// Empty when the generator handles `s`, else why not (mixed A/B dtypes,
/// unsupported dtype, non-positive sizes, leading dims shorter than a row,
/// a forced tile that breaks the warp-tile rules).
std::string unsupportedReason(const GemmSpec &s);

/// Candidate tiles for the operand dtype, in preference order (ties in
/// chooseTile go to the earlier one).
std::vector<TileConfig> candidateTiles(DType operandType);

/// The tile the generator uses for `s` (rule in TensorCoreGemm.cpp): the
/// candidate minimizing (most tiles any SM runs) x (tile area) / (tile
/// efficiency), i.e. wave quantization plus edge padding against the
/// operand reuse of larger tiles.
TileConfig chooseTile(const GemmSpec &s);

/// Device code the kernels call: device/primitives.cuh (cp.async, ldmatrix,
/// mma, conversions) and device/tensor_core_gemm.cuh (epilogue loads, stores,
/// activations), include-guarded so repeated inclusion in one translation
/// unit is harmless. Needs no CUDA headers.
const std::string &tensorCoreGemmPrelude();

/// The kernel's `EFFC_KERNEL` definition (no prelude). Fills
/// `launch` (grid, block, dynamic shared bytes: above 48 KiB the launcher
/// must raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, which effc's
/// cuda runtime does). Precondition: unsupportedReason(s) is empty (else the
/// result is "" and `launch` is untouched).
std::string emitTensorCoreGemm(const GemmSpec &s, const std::string &kernelName, LaunchDims *launch);

} // namespace effc::codegen::tcgemm

#endif
