//===- AttentionModel.h - attention kernels' tiles and decisions, no CUDA -*- C++ -*-===//
//
// What the attention kernel generators (compiler/codegen/attention) decide,
// as plain C++ with no CUDA text: the spec of an eff.attention, whether the
// FlashAttention-2 / split-KV decode kernels run it, their tiles, shared
// memory and occupancy, and the split-KV heuristic. The generators emit
// from these decisions; eff-split-kv-decode (passes/) asks the same ones
// without linking the generators.
//
#ifndef EFFC_COMPILER_KERNELMODEL_ATTENTIONMODEL_H
#define EFFC_COMPILER_KERNELMODEL_ATTENTIONMODEL_H

#include "effc/DType.h"

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
  /// Logit soft-capping (eff.attention's `softcap`): scores c * tanh(s / c)
  /// before the mask; 0 = none.
  float softcap = 0;
  /// ALiBi (eff.attention's `alibi_slopes`): slope_h * (j - pos) added to the
  /// scores of query head h after the soft-cap; empty = none, else Hq slopes.
  std::vector<float> alibiSlopes;
  /// Attention sinks (eff.attention's `sinks`): one logit per query head in
  /// the softmax denominator; empty = none, else Hq logits.
  std::vector<float> sinks;
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
AttentionSpec packedAttentionSpec(DType dtype, const std::vector<int64_t> &q,
                                  const std::vector<int64_t> &k, const std::vector<int64_t> &v,
                                  DType maskDType = DType::UNDEFINED,
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
bool parseFlashForwardConfig(const std::string &text, FlashForwardConfig *config,
                             std::string *error);

/// True when the split-KV decode kernel fits `spec`: S <= 16 and supported.
bool flashDecodeApplicable(const AttentionSpec &spec);

/// The split count FlashAttention-2's heuristic picks for `spec` (1: the
/// grid already fills the GPU, or L is one KV tile), never leaving a split
/// empty. `spec` must be flashDecodeApplicable.
int chooseFlashDecodeSplits(const AttentionSpec &spec);

/// Tiles of the split-KV decode kernel for `spec` (strides resolved): warps,
/// K/V ring depth, 16-row mma slices per CTA and row blocks per kv head, KV
/// tile, shared memory and CTAs per SM.
struct FlashDecodeTiles {
  int warps = 4, stages = 3, rowSlices = 1, rowBlocks = 1, blockN = 64;
  int64_t sharedBytes = 0;
  int ctasPerSM = 1;
};
FlashDecodeTiles chooseFlashDecodeTiles(const AttentionSpec &spec);

/// FLOPs of the forward pass as FlashAttention benchmarks count them:
/// 4*B*Hq*S*L*D (2 GEMMs), halved when causal with S == L.
double attentionFlops(const AttentionSpec &spec);

/// v rounded up to a multiple of m.
int64_t roundUpTo(int64_t v, int64_t m);

} // namespace effc::codegen

#endif
