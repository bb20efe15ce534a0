//===- TensorCoreGemm.h - mma.sync GEMM kernel generator ---------*- C++ -*-===//
//
// Emits one specialized tensor-core GEMM kernel per GemmSpec (GemmSpec.h): a
// config struct baking every size, stride and dtype in, the epilogue lambda
// and a wrapper calling the tcg_gemm template (device/tensor_core_gemm.cuh),
// so NVRTC folds all index math and predicates that the shape makes static.
//
// Kernel ABI (effc's artifact ABI): `extern "C" __global__ void name(const
// void* A, const void* B, [const void* bias], [const void* in<k>...], void*
// C)`: A, B and the bias are kernel inputs 0, 1, 2; the inputs after them
// are the fused epilogue's.
//
// Pure C++ (no MLIR/LLVM), so it builds with -DEFFC_RUNTIME_ONLY=ON and the
// GPU-side benchmark can link it.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_TENSORCOREGEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_TENSORCOREGEMM_H

#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/codegen/gemm/GemmSpec.h"
#include "effc/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::codegen {
class CudaWriter;
}

namespace effc::codegen::tcgemm {

/// "128x256x32_w2x4_s4".
std::string tileName(const TileConfig &t);

/// The batch dims of a spec as one loop over `count` matrices, A and B
/// advancing by strideA / strideB elements per step.
struct BatchLoop {
  int64_t count = 1, strideA = 0, strideB = 0;
};
/// False when the batch dims do not coalesce into one such loop.
bool coalesceBatch(const GemmSpec &s, BatchLoop &loop);

/// Empty when the generator handles `s`, else why not (mixed A/B dtypes,
/// unsupported dtype, non-positive sizes, leading dims shorter than a row,
/// batch dims that do not coalesce, a forced tile that breaks the warp-tile
/// rules).
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
/// mma, conversions) and device/tensor_core_gemm.cuh (epilogue loads and
/// stores), include-guarded so repeated inclusion in one translation
/// unit is harmless. Needs no CUDA headers.
const std::string &tensorCoreGemmPrelude();

/// `auto epilogue = [&](T v, long long bz, int row, int col) -> T {...}`
/// with T = `valueType`: the fused epilogue, defined once at the top of a
/// GEMM kernel (this one and the FFMA fallback) and called per element.
void emitEpilogueLambda(CudaWriter &w, const GemmEpilogue &e, const std::string &valueType);

/// The decode path of a GEMM over runtime rows (one batch, A not
/// transposed, 16-bit operands) planned at more than kDecodeRows rows: a run of at most
/// decodeRows(s) rows takes tcg_decode_gemv (device/tensor_core_gemm.cuh)
/// inside the same kernel, its columns spread over every CTA of the launch,
/// instead of the tile walk planned at the bound (a few tile-rows' CTAs each
/// walking all of K). The one rule the mma.sync and wgmma kernels follow
/// (their launches, their text, --remarks); 0: no decode path.
constexpr int kDecodeRows = 16;
int decodeRows(const GemmSpec &s);
/// The CTAs the decode path wants: one per item of its kernel
/// (chooseDecodeGemv: 16 columns for v1, `cols` for rows), at most 4 per SM.
int64_t decodeCtas(const GemmSpec &s);
/// The decode path's kernel: tcg_decode_gemv (16 columns an item, one k row
/// a thread) or tcg_decode_gemv_rows (`cols` columns an item, B's rows read
/// in whole 16-byte chunks along N; B [K][N] only).
struct DecodeGemv {
  bool rows = false;
  int cols = 16;
};
/// The decode kernel where s.decodeGemv is empty: the one name to change
/// when test/gpu/decode_gemv_variants.sh finds a faster one.
constexpr const char *kDefaultDecodeGemv = "wide";
/// The variant names chooseDecodeGemv knows: v1 (tcg_decode_gemv), rows
/// (tcg_decode_gemv_rows, cols by rule: the widest of 256..16 whose items
/// fill >= 90% of their waves over s.numSMs, else the fullest), rows16 ..
/// rows256 (cols forced), wide (rows where the rule gives 128 or 256
/// columns, else v1). One table in TensorCoreGemm.cpp holds them.
const std::vector<std::string> &decodeGemvVariants();
/// The decode kernel of `s` (decodeRows(s) > 0): variant s.decodeGemv,
/// else kDefaultDecodeGemv. The default falls back to v1 where rows does
/// not apply (B [N][K]: v1's loads run along k already); a named variant
/// that does not apply is an error saying why (tcgemm::unsupportedReason
/// reports it). Shared memory: the cross-warp sums take 256 B (v1) or
/// cols * 4 B (rows, at most 1 KiB) a warp of the kernel's dynamic shared
/// memory (its ring, far larger in every tile of both kernels).
bool chooseDecodeGemv(const GemmSpec &s, DecodeGemv &out, std::string &error);
/// The kernel wrapper's decode branch (decodeRows(s) > 0): `rows` (an int
/// expression, the run's rows) at most decodeRows(s) runs the decode kernel
/// chooseDecodeGemv picks over config `cfg` with epilogue `epi` and returns.
void emitDecodeBranch(CudaWriter &w, const GemmSpec &s, const std::string &cfg,
                      const std::string &epi, const std::string &rows);
/// The run's rows as a kernel int: min(planned M, max(0, s.runtimeRows)).
std::string runRowsExpr(const GemmSpec &s);

/// The kernel's launch (grid, block, dynamic shared bytes: above 48 KiB the
/// launcher must raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, which
/// effc's cuda runtime does), without writing its text. Precondition:
/// unsupportedReason(s) is empty.
LaunchDims tensorCoreGemmLaunch(const GemmSpec &s);

/// The kernel's `EFFC_KERNEL` definition (no prelude), launched with
/// tensorCoreGemmLaunch(s). Precondition: unsupportedReason(s) is empty (else
/// the result is "").
std::string emitTensorCoreGemm(const GemmSpec &s, const std::string &kernelName);

} // namespace effc::codegen::tcgemm

#endif
