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
/// The TMA kernel over runtime rows: grid (clusters at the planned M, split,
/// 1), x following the run's row tiles (a LaunchDims::runtimeGrid rule)
/// where the planned M has more than one.
LaunchDims wgmmaGemmLaunch(const GemmSpec &s);

/// True when emitWgmmaGemm emits the TMA warp-specialized persistent kernel
/// (wgmma_tma_gemm of device/wgmma_gemm.cuh) for `s`: s.tma (its launcher
/// passes the tensor maps of tmaMaps) and tmaUnsupportedReason(s) empty.
/// Otherwise the cp.async kernel. Both keep the epilogue and the ABI's
/// pointer arguments; the TMA kernel takes the two maps after them.
bool usesTma(const GemmSpec &s);

/// Empty when the TMA kernel takes `s` (ignoring s.tma), else why not
/// (what effc --remarks says of an sm_90a GEMM left on the cp.async kernel).
/// Runtime rows (s.runtimeRows, one batch) are taken: the kernel reads the
/// run's M from effc_dims, walks and stores only its rows.
std::string tmaUnsupportedReason(const GemmSpec &s);

/// The split-K factor of the TMA kernel (1: none; else a cluster of that
/// many CTAs per tile, reducing in distributed shared memory): 4 or 2, the
/// largest with tiles x split <= SMs / 2 and at least 16 k-tiles per split
/// (s.splitK forces it). Runtime rows: the tiles of the planned M (s.M).
int splitK(const GemmSpec &s);

/// The TMA kernel's tile: chooseTile's, its ring shortened to fit the
/// split-K reduction buffer. Precondition: usesTma(s).
TileConfig tmaTile(const GemmSpec &s);

/// Empty when the TMA kernel runs `s` with the ping-pong schedule (s.pingpong
/// asked for it), else why it keeps the cooperative one: not the TMA
/// kernel, a forced tile above 128 x 128 (one warpgroup holds the whole
/// tile: at most 128 accumulators per thread), or a split-K (forced, or the
/// rule's at the ping-pong tile). Unforced, the tile is chooseTile's, with
/// 128 x 256 replaced by 128 x 128 (6 stages), CUTLASS's ping-pong tile.
std::string pingpongUnsupportedReason(const GemmSpec &s);

/// s.pingpong and pingpongUnsupportedReason(s) empty: wgmma_tma_gemm with
/// C::PINGPONG (device/wgmma_gemm.cuh), 2 consumer warpgroups whatever BM.
bool usesPingpong(const GemmSpec &s);

/// "wg128x256_s4" (cp.async) or "wg64x64_s8_tma_sk4" (TMA, split 4) or
/// "wg128x128_s6_tma_pp" (TMA, ping-pong): the kernel emitWgmmaGemm writes
/// for `s`.
std::string kernelVariant(const GemmSpec &s);

/// The tensor maps of a usesTma kernel, A then B, in its parameter order:
/// 16-bit elements (the spec's A type), rank 3 (inner = the contiguous dim,
/// rows, batch), box 64 elements x the tile's rows (64 for an MN-major
/// operand, one box per 64-element block), 128-byte swizzle, no interleave,
/// element strides 1, L2 promotion 256 B, zero fill out of bounds. The
/// address is the operand's pointer argument (A: 0, B: 1), 16-byte aligned.
/// With runtime rows A's map covers the planned rows s.M (its buffer's
/// size): one encoding serves every run.
std::vector<TensorMapDesc> tmaMaps(const GemmSpec &s);

/// The kernel's `EFFC_KERNEL` definition (no prelude); "" when unsupported.
std::string emitWgmmaGemm(const GemmSpec &s, const std::string &kernelName);

} // namespace effc::codegen::wgmma

#endif
