//===- PartitionMoE.cpp - eff.moe as independent expert groups ------------===//
//
// --moe-partitions=N: each eff.moe becomes
//
//   experts, weights = eff.moe_route(x, router[, route_weights])   (once, all E)
//   y_p = eff.moe_experts(x, experts, weights, gate_up[E_p], down[E_p])
//   y   = y_0 + ... + y_{N-1}
//
// Group p holds a contiguous range of experts (sizes differ by at most one,
// the larger ones first) and reads the slots whose expert is in its range:
// the routing (and thus which slots a group sees, with what weight) is the
// unpartitioned op's. The shared expert runs for every token, so it joins
// the last group, one of the smallest. The groups read only x and the
// routing, never each other: they are the independent kernels the CUDA
// backend puts on separate streams (`eff.stream` = p + 1 on group p). The sum differs from
// eff.moe's only in the order its fp32 terms are added.
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"
#include "passes/Passes.h"

namespace mlir::eff {
#define GEN_PASS_DEF_PARTITIONMOE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Rows [first, first + count) of `weights` along axis 0 (folds on constants).
Value expertRows(OpBuilder &b, Location loc, Value weights, int64_t first, int64_t count) {
  SmallVector<int64_t> rows;
  for (int64_t e = first; e < first + count; ++e)
    rows.push_back(e);
  auto type = RankedTensorType::get({count}, b.getI64Type());
  Value indices = b.create<ConstantOp>(loc, type, DenseIntElementsAttr::get(type, rows));
  return b.createOrFold<GatherOp>(loc, ValueRange{weights, indices}, ArrayRef<NamedAttribute>{});
}

struct PartitionMoEPass : public mlir::eff::impl::PartitionMoEBase<PartitionMoEPass> {
  using PartitionMoEBase::PartitionMoEBase;

  void partition(MoEOp moe) {
    int64_t experts = int64_t(moe.getNumExperts());
    int64_t groups = std::min<int64_t>(partitions, experts);
    OpBuilder b(moe);
    Location loc = moe.getLoc();

    NamedAttrList routeAttrs;
    routeAttrs.append("num_experts", moe.getNumExpertsAttr());
    routeAttrs.append("top_k", moe.getTopKAttr());
    for (StringRef name : {"norm_topk", "routing", "routed_scale"})
      if (Attribute a = moe->getAttr(name))
        routeAttrs.append(name, a);
    SmallVector<Value> routeOperands{moe.getX(), moe.getRouter()};
    if (moe.getRouteWeights())
      routeOperands.push_back(moe.getRouteWeights());
    auto route = b.create<MoERouteOp>(loc, routeOperands, routeAttrs.getAttrs());

    Value sum;
    int64_t first = 0;
    for (int64_t p = 0; p < groups; ++p) {
      int64_t count = experts / groups + (p < experts % groups ? 1 : 0);
      bool shared = p == groups - 1 && moe.getSharedGateUp();
      SmallVector<Value> operands{moe.getX(), route.getExperts(), route.getWeights(),
                                  expertRows(b, loc, moe.getGateUp(), first, count),
                                  expertRows(b, loc, moe.getDown(), first, count)};
      if (shared) {
        operands.push_back(moe.getSharedGateUp());
        operands.push_back(moe.getSharedDown());
        if (moe.getSharedGate())
          operands.push_back(moe.getSharedGate());
      }
      NamedAttrList attrs;
      attrs.append("first_expert", b.getI64IntegerAttr(first));
      if (Attribute a = moe->getAttr("activation"))
        attrs.append("activation", a);
      int32_t hasShared = shared ? 1 : 0, hasGate = shared && moe.getSharedGate() ? 1 : 0;
      attrs.append("operandSegmentSizes",
                   b.getDenseI32ArrayAttr({1, 1, 1, 1, 1, hasShared, hasShared, hasGate}));
      auto group =
          b.create<MoEExpertsOp>(loc, TypeRange{moe.getType()}, operands, attrs.getAttrs());
      // Independent of the other groups: the CUDA backend runs it on side
      // stream p + 1 (manifest Kernel.stream).
      group->setAttr("eff.stream", b.getI64IntegerAttr(p + 1));
      Value y = group.getResult();
      sum = sum ? b.create<AddOp>(loc, ValueRange{sum, y}, ArrayRef<NamedAttribute>{}).getResult()
                : y;
      first += count;
    }
    moe.getResult().replaceAllUsesWith(sum);
    moe->erase();
  }

  void runOnOperation() override {
    if (partitions < 1) {
      getOperation()->emitError("eff-partition-moe: partitions must be >= 1, got ")
          << int64_t(partitions);
      return signalPassFailure();
    }
    if (partitions == 1)
      return;
    SmallVector<MoEOp> layers;
    getOperation().walk([&](MoEOp op) { layers.push_back(op); });
    for (MoEOp moe : layers)
      partition(moe);
  }
};

} // namespace
