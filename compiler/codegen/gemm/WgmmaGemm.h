//===- WgmmaGemm.h - Hopper (sm_90a) wgmma GEMM kernel generator --*- C++ -*-===//
//
// Emits one specialized warpgroup-MMA GEMM kernel per GemmSpec for sm_90a
// artifacts: the config struct (the tcg_gemm facts plus the tile), the fused
// epilogue lambda and a wrapper calling the wgmma_gemm template
// (device/wgmma_gemm.cuh). Same kernel ABI as the mma.sync kernel
// (TensorCoreGemm.h): A, B, [bias], [epilogue inputs], C.
//
// Pure C++ (no MLIR/LLVM), like the rest of this directory.
//
#ifndef EFFC_COMPILER_CODEGEN_GEMM_WGMMAGEMM_H
#define EFFC_COMPILER_CODEGEN_GEMM_WGMMAGEMM_H

#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/codegen/gemm/GemmSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::codegen::wgmma {

/// Empty when the wgmma kernel handles `s` (ignoring s.sm90a), else why not:
/// everything the mma.sync generator rejects, operands other than bf16/fp16,
/// and A/B rows or batch strides that are not 16-byte aligned (cp.async
/// zero-fills edges 16 bytes at a time).
std::string unsupportedReason(const GemmSpec &s);

/// Candidate tiles (bm x bn, bk = 64, warpsM = bm / 16 so that threads() is
/// 128 per 64 rows, warpsN = 1, stages), in preference order.
std::vector<TileConfig> candidateTiles();

/// s.tile when it is one of candidateTiles(), else the candidate with the
/// least wave-quantized cost (the rule of tcgemm::chooseTile).
TileConfig chooseTile(const GemmSpec &s);

/// "wg128x256_s4".
std::string tileName(const TileConfig &t);

/// Device code the kernels call (primitives, tensor_core_gemm, hopper,
/// wgmma_gemm .cuh), include-guarded.
std::string wgmmaGemmPrelude();

/// Grid, block and dynamic shared bytes (above 48 KiB: the launcher raises
/// the function's limit). Precondition: unsupportedReason(s) is empty.
LaunchDims wgmmaGemmLaunch(const GemmSpec &s);

/// True when emitWgmmaGemm emits the TMA warp-specialized persistent kernel
/// (wgmma_tma_gemm of device/wgmma_gemm.cuh) for `s`: s.tma (its launcher
/// passes the tensor maps of tmaMaps) on a supported spec with K >= 1.
/// Otherwise the cp.async kernel. Both keep the epilogue and the ABI's
/// pointer arguments; the TMA kernel takes the two maps after them.
bool usesTma(const GemmSpec &s);

/// One operand's tensor map as cuTensorMapEncodeTiled takes it: 16-bit
/// elements (bf16/fp16 as the spec's A type), rank 3 (inner = contiguous
/// dim, rows, batch), 128-byte swizzle, no interleave, element strides 1,
/// zero fill out of bounds. The base address is the operand's pointer
/// argument (16-byte aligned).
struct TmaMap {
  int input = 0;                  ///< 0: A (argument 0), 1: B (argument 1)
  uint64_t dims[3] = {1, 1, 1};   ///< elements
  uint64_t strides[2] = {16, 16}; ///< bytes between rows, between batch matrices
  uint32_t box[3] = {64, 64, 1};  ///< elements per TMA load
};

/// The split-K factor of the TMA kernel (1: none; else a cluster of that
/// many CTAs per tile, reducing in distributed shared memory): 4 or 2, the
/// largest with tiles x split <= SMs / 2 and at least 16 k-tiles per split
/// (s.splitK forces it).
int splitK(const GemmSpec &s);

/// "wg128x256_s4" (cp.async) or "wg64x64_s8_tma_sk4" (TMA, split 4): the
/// kernel emitWgmmaGemm writes for `s`.
std::string kernelVariant(const GemmSpec &s);

/// The maps of a usesTma kernel, A then B, in its parameter order.
std::vector<TmaMap> tmaMaps(const GemmSpec &s);

/// The kernel's `EFFC_KERNEL` definition (no prelude); "" when unsupported.
std::string emitWgmmaGemm(const GemmSpec &s, const std::string &kernelName);

} // namespace effc::codegen::wgmma

#endif
