// The out_perm rule of the attention-family kernels (eff.attention,
// attention_combine, paged_attention): the [B, Hq, S, Dv] result is stored
// transposed by out_perm (stored dim k is logical dim out_perm[k]). It must be
// a permutation of 0..3 that keeps Dv last, since every kernel writes rows of
// Dv contiguously. The CUDA codegen and the host kernels read the attribute
// through this one check; the dialect's verifier states the same rule with
// MLIR's isPermutationVector (dialects/eff/ops/AttentionOutPerm.h).
#pragma once

#include <cstdint>
#include <vector>

namespace effc::host {

inline bool isAttentionOutPerm(const std::vector<int64_t> &perm) {
  if (perm.size() != 4 || perm[3] != 3)
    return false;
  bool seen[4] = {};
  for (int64_t axis : perm) {
    if (axis < 0 || axis > 3 || seen[axis])
      return false;
    seen[axis] = true;
  }
  return true;
}

} // namespace effc::host
