//===- AttentionDesc.h - an attention kernel op as an AttentionSpec -*- C++ -*-===//
//
// eff.attention and eff.attention_partial share operands (q, k, v, mask slot)
// and attributes (scale, causal, window); both emitters read them here.
//
#ifndef EFFC_COMPILER_CODEGEN_ATTENTIONDESC_H
#define EFFC_COMPILER_CODEGEN_ATTENTIONDESC_H

#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace effc::codegen {

/// `d`'s out_perm (eff.attention, eff.attention_combine: the output is
/// stored as transpose([B, Hq, S, Dv], out_perm)), {0, 1, 2, 3} when absent;
/// nullopt with `error` when it is no permutation keeping Dv last.
std::optional<std::array<int64_t, 4>> attentionOutPerm(const KernelDesc &d, std::string &error);

/// The [B, Hq, S, Dv] extents `stored` (the output's shape) hold under
/// `perm`: logical dim perm[k] is stored dim k.
template <class T>
std::array<T, 4> attentionLogicalShape(const std::array<int64_t, 4> &perm,
                                       const std::vector<T> &stored) {
  std::array<T, 4> logical;
  for (size_t k = 0; k < 4; ++k)
    logical[size_t(perm[k])] = stored[k];
  return logical;
}

/// The output's element strides of logical b, h and s ({batch, head, seq},
/// Dv contiguous) for `stored` under `perm`.
template <class T>
std::array<T, 3> attentionOutputStrides(const std::array<int64_t, 4> &perm,
                                        const std::vector<T> &stored) {
  std::array<T, 4> byLogical;
  T stride = T(1);
  for (size_t k = 4; k-- > 0;) {
    byLogical[size_t(perm[k])] = stride;
    stride = stride * stored[k];
  }
  return {byLogical[0], byLogical[1], byLogical[2]};
}

/// The packed spec of `d`'s q, k, v, mask and attributes (packedAttentionSpec
/// + scale, causal, window, maskParam; o's strides from out_perm), or nullopt with `error` saying
/// which operand is inconsistent. Says nothing about which kernel can run it.
std::optional<AttentionSpec> attentionSpecOf(const KernelDesc &d, std::string &error);

/// With bounded symbolic dims (d.usesDims()): the run-time extents of `d`'s
/// packed q [B,Hq,S,D], k/v [B,Hkv,L,*], output [B,Hq,S,Dv] (through
/// out_perm) and mask (0
/// strides where it broadcasts), whose spec holds the upper bounds; nullopt
/// with `error` when heads or head dims are symbolic (not supported).
std::optional<AttentionRuntimeExtents> attentionRuntimeExtentsOf(const KernelDesc &d,
                                                                 std::string &error);

} // namespace effc::codegen

#endif
