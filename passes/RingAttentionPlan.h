//===- RingAttentionPlan.h - attention over the sequence (--devices) -------===//
#ifndef EFFC_PASSES_RINGATTENTIONPLAN_H
#define EFFC_PASSES_RINGATTENTIONPLAN_H

#include "dialects/eff/EffOps.h"

#include <string>

namespace mlir::eff {

/// eff-partition-devices' attention=ring for one eff.attention: the
/// sequence cut over `devices` (ring position d on device d), `layout`
/// "striped" (token d + i * N on device d), "contiguous", or "auto" (striped
/// when causal, for balance); on device d the q/k/v rows of its tokens
/// (eff.gather on the sequence axis, `eff.device` = d) feed one
/// eff.ring_attention. Returns "" when planned (the attention is replaced;
/// `plan` says how), else why not, with nothing changed.
std::string planRingAttention(AttentionOp attention, int64_t devices, StringRef layout,
                              std::string &plan);

} // namespace mlir::eff

#endif // EFFC_PASSES_RINGATTENTIONPLAN_H
