//===- GemmSpec.h - the one description of a GEMM kernel ---------*- C++ -*-===//
//
// Every matmul/gemm kernel effc emits is described by one GemmSpec, built
// from the op (describeGemm) and handed to emitGemm (Gemm.h), which picks the
// tensor-core generator or the FFMA fallback; the GEMM benchmark builds its
// kernels through the same two calls. All sizes are static: the emitted
// kernels bake them in so NVRTC folds the index math.
//
//   Y[b][m][n] = epilogue(alpha * sum_k opA(A)[b][m][k] * opB(B)[b][k][n]
//                         + beta * bias[m][n])
//
// Pure C++ (no MLIR/LLVM): the runtime-only build links it into the
// benchmark.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_GEMMSPEC_H
#define EFFC_COMPILER_CODEGEN_GEMM_GEMMSPEC_H

#include "compiler/codegen/core/Extent.h"
#include "effc/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::codegen {

struct KernelDesc;

/// Block tile and pipeline depth of the tensor-core kernel. Warp tile =
/// (bm / warpsM) x (bn / warpsN) must be a multiple of 16 x 16.
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

/// The fused elementwise chain of an eff.fusion gemm_epilogue (its body after
/// the GEMM), rendered once by the scalar-expression code the elementwise
/// kernels use (emitEpilogueBody): statements that reassign `v` (the GEMM's
/// value in the accumulator kind) given `bz` (the linear batch index, a long
/// long), `row` and `col` (ints). They read the kernel inputs after A, B and
/// the bias through the untyped `in<k>` parameters. Empty: no epilogue.
struct GemmEpilogue {
  std::string code;
  bool empty() const { return code.empty(); }
};

struct GemmSpec {
  int64_t M = 0, N = 0, K = 0;
  /// A is stored [K, M] (else [M, K]); B is stored [N, K] (else [K, N]).
  bool transA = false, transB = false;
  /// Leading dimensions in elements; 0 = packed (the stored row length).
  /// Tensors effc plans are packed; the benchmark pads rows to reach the
  /// tensor-core kernel's aligned load path.
  int64_t lda = 0, ldb = 0, ldc = 0;
  /// Output batch dims (row-major; Y is packed over them) and, per dim, the
  /// element step of A's and B's matrix for one step of that dim (0 where
  /// the operand broadcasts).
  std::vector<int64_t> batchDims, aBatchStrides, bBatchStrides;

  /// A and B dtypes; Y the output's. Accumulation is fp32 for 16/32-bit
  /// floats, fp64 for fp64 and integer operands (accumulatorKind, Gemm.h).
  DType aType = DType::FLOAT32, bType = DType::FLOAT32, yType = DType::FLOAT32;
  double alpha = 1.0, beta = 1.0;
  /// ONNX Gemm's C: beta * bias[m][n] with element strides over m and n (0
  /// broadcasts that dim), the same for every batch.
  bool hasBias = false;
  DType biasType = DType::FLOAT32;
  int64_t biasStrideM = 0, biasStrideN = 0;

  /// The kernel's inputs (the artifact ABI: every input, then Y) and where
  /// A, B and the bias are among them.
  int numInputs = 2;
  int aInput = 0, bInput = 1, biasInput = 2;

  GemmEpilogue epilogue;

  /// Tensor-core tile choice only (the kernel runs on any SM count).
  int numSMs = 132;
  /// The artifact targets sm_90a only (--arch=sm_90a): emitGemm may pick the
  /// Hopper wgmma kernel (WgmmaGemm.h), which no other arch can compile.
  bool sm90a = false;
  /// With sm90a: the launcher builds the operands' TMA tensor maps
  /// (wgmma::tmaMaps) and passes them after the kernel's other arguments,
  /// so the warp-specialized TMA kernel may be picked. Artifacts set it
  /// unless --gemm=wgmma|mma (the plan writes the maps into the manifest,
  /// the cuda backend encodes them); effc-gemm-bench unless --cpasync.
  bool tma = false;
  /// Force the TMA kernel's split-K factor (benchmark sweeps; 1..8, clamped
  /// to the k-tiles, dropped when the reduction buffer does not fit); 0
  /// lets wgmma::splitK's rule decide.
  int splitK = 0;
  /// Ask for the TMA kernel's ping-pong schedule (the two consumer
  /// warpgroups alternate whole tiles, wgmma::usesPingpong; a selectable
  /// variant, not the default): effc-gemm-bench --pingpong. Where it cannot
  /// apply the cooperative schedule runs (wgmma::pingpongUnsupportedReason).
  bool pingpong = false;
  /// The decode path's kernel (tcgemm::chooseDecodeGemv: a variant name;
  /// empty: tcgemm::kDefaultDecodeGemv), for effc-gemm-bench
  /// --decode-variant to time each.
  std::string decodeGemv;
  /// Force a tile (benchmark sweeps); bm == 0 lets chooseTile() decide.
  TileConfig tile{0, 0, 0, 0, 0, 0};
  /// Runtime extents: this run's rows (an expression of the kernel's trailing
  /// `effc_dims` argument) while the kernel is planned at the largest M; a
  /// constant (the default) for a static GEMM.
  Extent runtimeRows;
  bool hasRuntimeRows() const { return !runtimeRows.isConstant(); }

  int64_t batch() const {
    int64_t b = 1;
    for (int64_t d : batchDims)
      b *= d;
    return b;
  }
  int64_t ldA() const { return lda > 0 ? lda : (transA ? M : K); }
  int64_t ldB() const { return ldb > 0 ? ldb : (transB ? K : N); }
  int64_t ldC() const { return ldc > 0 ? ldc : N; }
};

/// The spec of eff.matmul (numpy matmul: 1-D promotion, broadcast batch
/// dims) or eff.gemm (ONNX Gemm: transposes, alpha/beta, broadcast C) from
/// its kernel description; false with `error` naming the problem.
bool describeGemm(const KernelDesc &desc, GemmSpec &spec, std::string &error);

} // namespace effc::codegen

#endif
