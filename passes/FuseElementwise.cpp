//===- FuseElementwise.cpp - chains of elementwise ops -> eff.fusion ------===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::eff {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

/// Ops computed independently per output element (after broadcasting), with
/// a static result shape. Also used by FuseGemmEpilogue.cpp.
bool mlir::eff::isFusibleElementwise(Operation *op) {
  static const llvm::StringSet<> names = {
      "eff.abs", "eff.cos", "eff.sin", "eff.erf", "eff.exp", "eff.log", "eff.neg", "eff.not",
      "eff.reciprocal", "eff.relu", "eff.sigmoid", "eff.sqrt", "eff.tanh", "eff.identity",
      "eff.is_nan", "eff.gelu", "eff.cast", "eff.clip", "eff.add", "eff.sub", "eff.mul",
      "eff.div", "eff.pow", "eff.max", "eff.min", "eff.equal", "eff.greater",
      "eff.greater_or_equal", "eff.less", "eff.less_or_equal", "eff.and", "eff.or", "eff.xor",
      "eff.where"};
  if (op->getNumResults() != 1 || !names.contains(op->getName().getStringRef()))
    return false;
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  return type && type.hasStaticShape();
}

namespace {

ArrayRef<int64_t> shapeOf(Operation *op) {
  return cast<RankedTensorType>(op->getResult(0).getType()).getShape();
}

struct FuseElementwisePass
    : public mlir::eff::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    Block &block = getOperation().getBody().front();
    // Groups in discovery order (root first); groupOf maps members to groups.
    std::vector<SmallVector<Operation *>> groups;
    DenseMap<Operation *, size_t> groupOf;
    for (Operation &op : llvm::reverse(block)) {
      if (!isFusibleElementwise(&op))
        continue;
      auto it = groupOf.find(&op);
      size_t g = it != groupOf.end() ? it->second : groups.size();
      if (it == groupOf.end()) {
        groups.push_back({&op});
        groupOf[&op] = g;
      }
      Operation *root = groups[g].front();
      for (Value operand : op.getOperands()) {
        Operation *producer = operand.getDefiningOp();
        if (!producer || groupOf.count(producer) || !isFusibleElementwise(producer) ||
            shapeOf(producer) != shapeOf(root) || groups[g].size() >= maxOps)
          continue;
        bool onlyInGroup = llvm::all_of(producer->getUsers(), [&](Operation *user) {
          auto u = groupOf.find(user);
          return u != groupOf.end() && u->second == g;
        });
        if (!onlyInGroup)
          continue;
        groups[g].push_back(producer);
        groupOf[producer] = g;
      }
    }
    for (SmallVector<Operation *> &group : groups)
      if (group.size() > 1)
        outline(group);
  }

  /// Replaces the group (root first) by one eff.fusion placed at the root.
  void outline(SmallVector<Operation *> &group) {
    Operation *root = group.front();
    llvm::sort(group, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    llvm::SmallPtrSet<Operation *, 16> members(group.begin(), group.end());
    llvm::SetVector<Value> inputs;
    SmallVector<Location> locs;
    for (Operation *op : group) {
      locs.push_back(op->getLoc());
      for (Value v : op->getOperands())
        if (!members.contains(v.getDefiningOp()))
          inputs.insert(v);
    }
    OpBuilder builder(root);
    IRMapping mapping;
    FusionOp fusion = createFusionShell(builder, FusedLoc::get(&getContext(), locs), root->getResultTypes(),
                                        inputs.getArrayRef(), "elementwise", mapping);
    for (Operation *op : group)
      builder.clone(*op, mapping);
    builder.create<YieldOp>(root->getLoc(), mapping.lookup(root->getResult(0)));
    root->getResult(0).replaceAllUsesWith(fusion.getResult(0));
    for (Operation *op : llvm::reverse(group))
      op->erase();
  }
};

} // namespace
