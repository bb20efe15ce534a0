//===- PagedKvMask.h - is an attention mask exactly causal + padding? -*- C++ -*-===//
//
// eff-paged-kv replaces an attention's mask by seq_lens, causal and window.
// That is right only when the mask is exactly causal + padding, possibly
// with a sliding window of W positions: key j attends query q (at position
// past + i) iff j <= q, q - j < W (W = 0: no window) and
// attention_mask[b, j] != 0. The mask is evaluated
// (dialects/eff/ShapeProbe.h probeValues: the host kernels over its own
// subgraph) at several (past, seq) points with a padded attention_mask and
// compared with that; W is the smallest q - j the mask hides that causal +
// padding shows, and must explain every point. Any other restriction (a
// bias, a pad id read from input_ids, ...) is found and named instead of
// being dropped.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_PASSES_PAGEDKVMASK_H
#define EFFC_PASSES_PAGEDKVMASK_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace mlir::eff {

/// Why `mask` (an eff.attention's mask in `func`, computed from its inputs
/// attention_mask [batch, total], input_ids, position_ids and the past's
/// shapes) is not exactly causal + padding (+ one sliding window) at every
/// probe point, or "" with `probes` = how many (past, seq) points agreed and
/// `slidingWindow` = W (key j visible to query q iff q - j < W), 0 when no
/// probe shows a window (none within the dims' bounds). The distance q - j
/// counts cache slots or token positions (real slots before q minus those
/// before j: eff-kv-cache's windows); without padding holes, as in pages,
/// they agree. `countsSlots` (if given): the window counts slots and not
/// positions, so padding between a row's tokens (the unpaged KV-cache
/// runtime's right padding) counts against it.
std::string pagedMaskProblem(func::FuncOp func, Value mask, int &probes, int64_t &slidingWindow,
                             bool *countsSlots = nullptr);

/// How many position comparisons (less/greater(-or-equal), trilu) the slice
/// computing `v` holds: a causal mask needs one, a sliding window another.
int positionComparisons(Value v);

/// A model exported with past computes its masks itself. A sliding window
/// there that counts cache slots (HF's masks over cache_position) is exact
/// for left-padded or equal-length rows, but the unpaged KV-cache runtime
/// right-pads rows of different lengths and the padding would count against
/// the window: a warning on each such eff.attention of `func` (one with past
/// inputs) says so. Masks with fewer than two comparisons are not probed.
void warnSlotCountedWindows(func::FuncOp func);

} // namespace mlir::eff

#endif // EFFC_PASSES_PAGEDKVMASK_H
