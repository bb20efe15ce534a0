//===- FlashAttention.h - eff.attention CUDA kernel generators ---*- C++ -*-===//
//
// Pure C++ (no MLIR): builds CUDA C++ text for eff.attention that NVRTC
// compiles for sm_80 and sm_90 with no include path.
// The spec, the tiles and every decision (which kernel, how many splits)
// are the text-free kernel model, compiler/kernelmodel/AttentionModel.h.
//
//  - emitFlashAttentionForward: FlashAttention-2 forward. One CTA per (tile of
//    BM query rows, query head, batch); each warp owns BM/warps rows (16-row
//    mma slices); K/V tiles stream through a cp.async ring in shared memory;
//    QK^T and PV are mma.sync m16n8k16 (fp32 accumulate) fed by ldmatrix
//    (.trans for V); online softmax in registers with exp2 and log2(e) folded
//    into the scale; deferred 1/l; fully masked KV tiles are never visited and
//    element masks run only on edge/diagonal/window tiles.
//  - split-KV flash-decoding for short q (<= 16 queries): a CTA handles one
//    KV chunk of one (batch, kv head) for all the kv head's query heads (GQA
//    rows packed into the mma M dimension) and writes a partial O and its
//    log-sum-exp (eff.attention_partial); a combine kernel reduces the
//    splits (eff.attention_combine). emitFlashDecode packages both, or one
//    direct kernel when splitting does not pay.
//  - emitAttentionReference: a naive fp32 kernel with the host backend's exact
//    semantics (tests and benchmarks compare against it).
//
// Every shape, stride and attribute is baked into the text as a constant: one
// kernel per (shape, attrs), which is what a static-shape artifact wants.
// Bounded symbolic dims (effc --dim NAME=MIN..MAX) pass AttentionRuntimeExtents:
// the spec then holds the upper bounds (tiles, splits, grid, shared memory are
// planned there), the kernel takes the trailing `const long long* effc_dims`
// and reads the run's batch, query and key lengths (and the strides that
// depend on them) from it; CTAs past the run's extents leave at once.
//
// Operand precision: f16/bf16 storage computes with f16/bf16 mma operands.
// f32 storage is converted to f16 on the way into shared memory (f16 has the
// same 10-bit mantissa as tf32 at twice tf32's mma rate and shares the 16-bit
// code path; the cost is f16's range: |q|,|k|,|v| must stay below 65504).
// Accumulation, softmax statistics and the output scaling are fp32 always.
//
#ifndef EFFC_COMPILER_CODEGEN_ATTENTION_FLASHATTENTION_H
#define EFFC_COMPILER_CODEGEN_ATTENTION_FLASHATTENTION_H

#include "compiler/codegen/core/KernelDesc.h"
#include "compiler/kernelmodel/AttentionModel.h"

#include <array>
#include <string>

namespace effc::codegen {

/// The run-time extents of an attention kernel whose spec holds upper bounds:
/// each an Extent over the model's dims (its text reads effc_dims). Strides
/// are {batch, head, seq} of q, k, v, o; mask strides {b, h, i, j} (0 where
/// the mask broadcasts). Heads and head dims stay static.
struct AttentionRuntimeExtents {
  Extent B, S, L;
  std::array<Extent, 3> q, k, v, o;
  std::array<Extent, 4> mask;
};

/// device/primitives.cuh and the attention templates (device/attention_*.cuh,
/// namespace effc_attn) shared by every attention kernel of a translation
/// unit: emit once, before the kernels. Needs no CUDA headers.
std::string attentionPrelude();

/// FlashAttention-2 forward kernel `name` with the artifact ABI
/// `(const void* q, const void* k, const void* v, [const void* mask,] void* o)`
/// (the mask parameter exists when spec.mask != None or spec.maskParam).
/// Fills *launch (grid, block, dynamic shared bytes: the launcher must raise
/// the function's dynamic shared-memory limit above 48 KiB). Returns "" when
/// flashAttentionUnsupported(spec) is not empty or spec.forwardConfig is
/// invalid (flashForwardConfigError), with the reason in *error when given.
std::string emitFlashAttentionForward(const AttentionSpec &spec, const std::string &name,
                                      LaunchDims *launch, std::string *error = nullptr,
                                      const AttentionRuntimeExtents *runtime = nullptr);

/// The launch emitFlashAttentionForward(spec) fills, without the text
/// (spec must be one it accepts): planning asks for it alone.
LaunchDims flashAttentionForwardLaunch(const AttentionSpec &spec,
                                       const AttentionRuntimeExtents *runtime = nullptr);

/// eff.attention_partial's kernel `name(const void* q, const void* k, const
/// void* v, [const void* mask,] void* o_partial, void* lse)`: o_partial f32
/// [splits, B, Hq, S, Dv] and lse f32 [splits, B, Hq, S] (natural log), the
/// keys cut by splitKvChunk (host/SplitKvAttention.h) as the host kernel
/// cuts them. Fills *launch; "" when !flashDecodeApplicable(spec).
std::string emitFlashDecodePartial(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch,
                                   const AttentionRuntimeExtents *runtime = nullptr);

/// eff.attention_combine's kernel `name(const void* o_partial, const void*
/// lse, void* o)` for that layout; reads only B, Hq, S, Dv, dtype (o's
/// storage) and o's strides of `spec`.
std::string emitFlashDecodeCombine(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch,
                                   const AttentionRuntimeExtents *runtime = nullptr);

/// The launches emitFlashDecodePartial / emitFlashDecodeCombine fill, without
/// the text (for specs they accept).
LaunchDims flashDecodePartialLaunch(const AttentionSpec &spec, int splits,
                                    const AttentionRuntimeExtents *runtime = nullptr);
LaunchDims flashDecodeCombineLaunch(const AttentionSpec &spec,
                                    const AttentionRuntimeExtents *runtime = nullptr);

/// Both steps for one spec with the heuristic's split count (benchmarks):
/// numSplits == 1 gives one kernel `<name>(q, k, v, [mask,] o)` writing o
/// directly; otherwise `<name>` is the partial kernel writing the two
/// workspace buffers (partialBytes, lseBytes) and `<name>_combine` reads
/// them into o. Launch them in order on one stream.
struct FlashDecodePlan {
  int numSplits = 1;
  int64_t partialBytes = 0, lseBytes = 0;
  std::string splitKernel, combineKernel; // combineKernel empty when numSplits == 1
  LaunchDims split, combine;
};
std::string emitFlashDecode(const AttentionSpec &spec, const std::string &name,
                            FlashDecodePlan *plan);

/// Naive fp32 reference `name(const void* q, const void* k, const void* v,
/// const void* mask, float* out, int rowBegin)`: block x computes flattened
/// query row rowBegin + blockIdx.x of [B,Hq,S] into out[blockIdx.x][0..Dv)
/// with the host backend's semantics (fp32 math, expf). *launch is for all
/// rows (grid.x = B*Hq*S); launch fewer to sample.
std::string emitAttentionReference(const AttentionSpec &spec, const std::string &name,
                                   LaunchDims *launch);

} // namespace effc::codegen

#endif
