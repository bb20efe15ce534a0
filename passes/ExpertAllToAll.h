//===- ExpertAllToAll.h - MoE layers as token exchanges (--devices) -------===//
#ifndef EFFC_PASSES_EXPERTALLTOALL_H
#define EFFC_PASSES_EXPERTALLTOALL_H

#include "dialects/eff/EffOps.h"

#include <string>

namespace mlir::eff {

/// eff-partition-devices' expert-parallel=all-to-all for the groups of one
/// eff.moe_route (in expert order), summed by the add chain `chain` (its
/// last add is the layer's output): tokens sharded over `devices`, routed
/// on their device, exchanged by eff.expert_dispatch / eff.expert_combine with the
/// devices of their experts (group p on device p * devices / groups), the
/// shards joined by an eff.all_gather. Returns "" when planned (the route,
/// the groups and the chain are gone; `plan` says what each device does),
/// else why not, with nothing changed.
std::string planExpertAllToAll(MoERouteOp route, ArrayRef<MoEExpertsOp> groups,
                               ArrayRef<AddOp> chain, int64_t devices, std::string &plan);

} // namespace mlir::eff

#endif // EFFC_PASSES_EXPERTALLTOALL_H
