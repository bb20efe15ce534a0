//===- AttentionDesc.h - an attention kernel op as an AttentionSpec -*- C++ -*-===//
//
// eff.attention and eff.attention_partial share operands (q, k, v, mask slot)
// and attributes (scale, causal, window); both emitters read them here.
//
#ifndef EFFC_COMPILER_CODEGEN_ATTENTIONDESC_H
#define EFFC_COMPILER_CODEGEN_ATTENTIONDESC_H

#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <optional>
#include <string>

namespace effc::codegen {

/// The packed spec of `d`'s q, k, v, mask and attributes (packedAttentionSpec
/// + scale, causal, window, maskParam), or nullopt with `error` saying which
/// operand is inconsistent. Says nothing about which kernel can run it.
std::optional<AttentionSpec> attentionSpecOf(const KernelDesc &d, std::string &error);

/// With bounded symbolic dims (d.usesDims()): the run-time extents of `d`'s
/// packed q [B,Hq,S,D], k/v [B,Hkv,L,*], output [B,Hq,S,Dv] and mask (0
/// strides where it broadcasts), whose spec holds the upper bounds; nullopt
/// with `error` when heads or head dims are symbolic (not supported).
std::optional<AttentionRuntimeExtents> attentionRuntimeExtentsOf(const KernelDesc &d,
                                                                 std::string &error);

} // namespace effc::codegen

#endif
