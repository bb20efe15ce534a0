//===- AttentionOutPerm.h - the out_perm of attention-family results ------===//
//
// eff.attention, eff.attention_combine and eff.paged_attention may store
// their [B, Hq, S, Dv] result permuted (out_perm): one check and result shape
// for all of them (defined in AttentionOps.cpp).
#ifndef EFFC_DIALECTS_EFF_OPS_ATTENTIONOUTPERM_H
#define EFFC_DIALECTS_EFF_OPS_ATTENTIONOUTPERM_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::eff {

/// The stored result shape: `logical` [B, Hq, S, Dv] transposed by out_perm
/// (result dim k is logical dim out_perm[k]); out_perm must be a permutation
/// of 0..3 that keeps Dv last (the kernels write rows of Dv contiguous).
/// Absent out_perm: `logical` unchanged.
LogicalResult permuteAttentionResult(std::optional<Location> loc,
                                     std::optional<ArrayRef<int64_t>> outPerm,
                                     SmallVector<int64_t> &logical);

} // namespace mlir::eff

#endif // EFFC_DIALECTS_EFF_OPS_ATTENTIONOUTPERM_H
