//===- FlashAttention.h - eff.attention CUDA kernel generators ---*- C++ -*-===//
//
// Pure C++ (no MLIR): builds CUDA C++ text for eff.attention that NVRTC
// compiles for sm_80 and sm_90 with no include path.
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
//
// Operand precision: f16/bf16 storage computes with f16/bf16 mma operands.
// f32 storage is converted to f16 on the way into shared memory (f16 has the
// same 10-bit mantissa as tf32 at twice tf32's mma rate and shares the 16-bit
// code path; the cost is f16's range: |q|,|k|,|v| must stay below 65504).
// Accumulation, softmax statistics and the output scaling are fp32 always.
//
#ifndef EFFC_COMPILER_CODEGEN_ATTENTION_FLASHATTENTION_H
#define EFFC_COMPILER_CODEGEN_ATTENTION_FLASHATTENTION_H

#include "compiler/codegen/KernelDesc.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace effc::codegen {

enum class AttentionMask { None, Bool, Additive };

/// Element strides of one operand viewed as [batch, head, seq, dim]; the last
/// dim must be contiguous. All zero means "packed row-major" (filled in by
/// resolveAttentionStrides).
struct AttentionStrides {
  int64_t batch = 0, head = 0, seq = 0;
  bool isZero() const { return batch == 0 && head == 0 && seq == 0; }
};

/// Tiles and code options of the FlashAttention-2 forward kernel.
struct FlashForwardConfig {
  /// Query rows per CTA, keys per K/V tile, warps per CTA (each owns
  /// blockM / warps rows = 1..4 16-row mma slices), K/V ring depth.
  int blockM = 128, blockN = 64, warps = 4, stages = 2;
  /// Q fragments loaded once into registers instead of from shared memory
  /// at every KV tile.
  bool qInRegisters = false;
  /// Filled by chooseFlashForwardConfig.
  int64_t sharedBytes = 0;
  int ctasPerSM = 1;
  // Code options (the defaults are the measured kernel):
  /// __launch_bounds__ minimum CTAs per SM (caps registers at
  /// 65536 / (32 * warps * minBlocksPerSM)); 0 = none.
  int minBlocksPerSM = 0;
  /// Compile out the key/query range checks the shape makes impossible
  /// (L % blockN == 0: no partial KV tile; S % blockM == 0: no partial query
  /// tile) and copy K/V tiles from one pointer per thread at immediate row
  /// offsets. Same results.
  bool staticEdges = false;
  /// Online-softmax rescale of O: 0 every tile; 1 skipped when no row max of
  /// the warp grew (the same results: alpha would be exactly 1); 2 lazy: the
  /// running max is only raised (and O rescaled) when some row of the warp
  /// grew by more than 2^8, so P stays <= 256 (fp32 accumulators; the same
  /// result up to rounding).
  int rescale = 0;
};

/// eff.attention with everything static. q [B,Hq,S,D], k [B,Hkv,L,D],
/// v [B,Hkv,L,Dv], mask broadcast to [B,Hq,S,L], o [B,Hq,S,Dv]. Query i sits
/// at key position i + (L - S) (bottom-right alignment).
struct AttentionSpec {
  int64_t B = 1, Hq = 1, Hkv = 1, S = 1, L = 1, D = 64, Dv = 64;
  /// Storage of q, k, v and o: FLOAT16, BFLOAT16 or FLOAT32.
  DType dtype = DType::BFLOAT16;
  /// Score scale (eff.attention's `scale`; the op's default is 1/sqrt(D)).
  float scale = 0.125f;
  bool causal = false;
  /// Sliding window: key j allowed iff j > pos - window; 0 = none.
  int64_t window = 0;
  AttentionMask mask = AttentionMask::None;
  /// Additive masks: FLOAT32, FLOAT16 or BFLOAT16. Bool masks are 1 byte.
  DType maskDType = DType::FLOAT32;
  /// Mask element strides over [B, Hq, S, L]; 0 on broadcast dims.
  std::array<int64_t, 4> maskStrides{{0, 0, 0, 0}};
  /// The kernel takes a mask pointer (in3) even when `mask` is None: the
  /// artifact ABI has one parameter per operand slot of the op.
  bool maskParam = false;
  AttentionStrides q, k, v, o;
  /// Target: shared-memory budget and tile choice (80 = A100, 90 = H100).
  int sm = 90;
  /// Streaming multiprocessors of the target (split-KV heuristic).
  int numSMs = 132;
  /// Forward kernel tiles/options to use instead of the heuristic's (tuning,
  /// benchmarks); emitFlashAttentionForward rejects invalid ones.
  std::optional<FlashForwardConfig> forwardConfig;
};

/// Fills zero strides with packed row-major ones.
AttentionSpec resolveAttentionStrides(AttentionSpec spec);

/// The spec of eff.attention / eff.attention_partial over packed row-major
/// operands q [B,Hq,S,D], k [B,Hkv,L,D], v [B,Hkv,L,Dv] of `dtype`, with a
/// mask of `maskShape` (rank <= 4, broadcast to [B,Hq,S,L]; BOOL = bool
/// mask, a float dtype = additive) when maskDType is not UNDEFINED. sm = 80:
/// one effc artifact runs on sm_80 and sm_90, so its tiles fit the smaller
/// (A100) shared memory. The caller sets scale, causal, window, maskParam.
AttentionSpec packedAttentionSpec(DType dtype, const std::vector<int64_t> &q, const std::vector<int64_t> &k,
                                  const std::vector<int64_t> &v, DType maskDType = DType::UNDEFINED,
                                  const std::vector<int64_t> &maskShape = {});

/// Empty when the FA2/decode kernels can run `spec`, else why not (the
/// compiler then keeps the straightforward kernel). Requires D, Dv multiples
/// of 8 up to 256, strides multiples of 8 elements (16-byte cp.async), Hq a
/// multiple of Hkv, sizes below 2^31.
std::string flashAttentionUnsupported(const AttentionSpec &spec);

/// The tiles the forward kernel uses for `spec` (exposed for tests/benches):
/// spec.forwardConfig when set (sharedBytes and ctasPerSM recomputed), else
/// the heuristic's choice.
FlashForwardConfig chooseFlashForwardConfig(const AttentionSpec &spec);

/// Empty when `config` is a forward config the template can run for `spec`
/// (warps * 16 * slices == blockM, blockN a multiple of 16, stages >= 2,
/// accumulators within the register file, shared memory within the target's
/// per-block limit, ...), else why not.
std::string flashForwardConfigError(const AttentionSpec &spec, const FlashForwardConfig &config);

/// "m128n64w4s2" plus "-q" (Q in registers), "-bN" (minBlocksPerSM),
/// "-se" (static edges), "-r1"/"-r2" (rescale mode): a label and the syntax
/// parseFlashForwardConfig reads.
std::string flashForwardConfigName(const FlashForwardConfig &config);
/// Reads flashForwardConfigName's syntax; false (and *error) when malformed.
bool parseFlashForwardConfig(const std::string &text, FlashForwardConfig *config, std::string *error);

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
                                      LaunchDims *launch, std::string *error = nullptr);

/// True when the split-KV decode kernel fits `spec`: S <= 16 and supported.
bool flashDecodeApplicable(const AttentionSpec &spec);

/// The split count FlashAttention-2's heuristic picks for `spec` (1: the
/// grid already fills the GPU, or L is one KV tile), never leaving a split
/// empty. `spec` must be flashDecodeApplicable.
int chooseFlashDecodeSplits(const AttentionSpec &spec);

/// eff.attention_partial's kernel `name(const void* q, const void* k, const
/// void* v, [const void* mask,] void* o_partial, void* lse)`: o_partial f32
/// [splits, B, Hq, S, Dv] and lse f32 [splits, B, Hq, S] (natural log), the
/// keys cut by splitKvChunk (effc/SplitKvAttention.h) as the host kernel
/// cuts them. Fills *launch; "" when !flashDecodeApplicable(spec).
std::string emitFlashDecodePartial(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch);

/// eff.attention_combine's kernel `name(const void* o_partial, const void*
/// lse, void* o)` for that layout; reads only B, Hq, S, Dv, dtype (o's
/// storage) and o's strides of `spec`.
std::string emitFlashDecodeCombine(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch);

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
std::string emitFlashDecode(const AttentionSpec &spec, const std::string &name, FlashDecodePlan *plan);

/// Naive fp32 reference `name(const void* q, const void* k, const void* v,
/// const void* mask, float* out, int rowBegin)`: block x computes flattened
/// query row rowBegin + blockIdx.x of [B,Hq,S] into out[blockIdx.x][0..Dv)
/// with the host backend's semantics (fp32 math, expf). *launch is for all
/// rows (grid.x = B*Hq*S); launch fewer to sample.
std::string emitAttentionReference(const AttentionSpec &spec, const std::string &name,
                                   LaunchDims *launch);

/// FLOPs of the forward pass as FlashAttention benchmarks count them:
/// 4*B*Hq*S*L*D (2 GEMMs), halved when causal with S == L.
double attentionFlops(const AttentionSpec &spec);

} // namespace effc::codegen

#endif
