// Split-KV attention (eff.attention_partial -> eff.attention_combine): where
// the keys are cut. The host reference kernels and the CUDA decode generator
// both cut with splitKvChunk, so their partial results agree split by split.
#ifndef EFFC_SPLITKVATTENTION_H
#define EFFC_SPLITKVATTENTION_H

#include <cstdint>

namespace effc {

/// Chunks start on multiples of this many keys: the split-KV decode kernel's
/// KV tile (FlashDecode.cpp checks that its tile divides it), so no tile of
/// the kernel straddles two splits.
constexpr int64_t kSplitKvKeyAlign = 64;

/// Keys per split: ceil(kvLen / splits) rounded up to kSplitKvKeyAlign.
/// Split s covers keys [s * chunk, min(kvLen, (s + 1) * chunk)); trailing
/// splits are empty when splits > ceil(kvLen / chunk).
inline int64_t splitKvChunk(int64_t kvLen, int64_t splits) {
  const int64_t perSplit = (kvLen + splits - 1) / splits;
  return (perSplit + kSplitKvKeyAlign - 1) / kSplitKvKeyAlign * kSplitKvKeyAlign;
}

} // namespace effc

#endif
