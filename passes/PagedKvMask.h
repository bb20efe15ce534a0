//===- PagedKvMask.h - is an attention mask exactly causal + padding? -*- C++ -*-===//
//
// eff-paged-kv replaces an attention's mask by seq_lens and causal. That is
// right only when the mask is exactly causal + padding: key j attends query
// i (at position past + i) iff j <= past + i and attention_mask[b, j] != 0.
// The mask is evaluated (dialects/eff/ShapeProbe.h probeValues: the host
// kernels over its own subgraph) at several (past, seq) points with a
// padded attention_mask and compared with that; a sliding window or any
// other restriction is found and named instead of being dropped.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_PASSES_PAGEDKVMASK_H
#define EFFC_PASSES_PAGEDKVMASK_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace mlir::eff {

/// Why `mask` (an eff.attention's mask in `func`, computed from its inputs
/// attention_mask [batch, total], input_ids, position_ids and the past's
/// shapes) is not exactly causal + padding at every probe point, or "" with
/// `probes` = how many (past, seq) points agreed. A mask with a sliding
/// window of W positions says so ("a sliding window of W positions").
std::string pagedMaskProblem(func::FuncOp func, Value mask, int &probes);

} // namespace mlir::eff

#endif // EFFC_PASSES_PAGEDKVMASK_H
