//===- FuseElementwise.cpp - chains of elementwise ops -> eff.fusion ------===//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::eff {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

/// Eff_Elementwise ops (computed independently per output element after
/// broadcasting) with a ranked result (dynamic dims fuse only where the
/// probes prove shapes equal: FuseElementwisePass::sameShape). Also used by
/// FuseGemmEpilogue.cpp.
bool mlir::eff::isFusibleElementwise(Operation *op) {
  if (op->getNumResults() != 1 || !op->hasTrait<OpTrait::eff::Elementwise>())
    return false;
  // Placed ops (eff-partition-devices) stay their own kernels.
  if (op->hasAttr("eff.device"))
    return false;
  return isa<RankedTensorType>(op->getResult(0).getType());
}

bool mlir::eff::isIndexMapping(Operation *op) {
  if (op->getNumResults() != 1 || op->hasAttr("eff.device") ||
      !isa<RankedTensorType>(op->getResult(0).getType()))
    return false;
  if (isa<TransposeOp, ConcatOp>(op))
    return llvm::all_of(op->getOperandTypes(), [](Type t) { return isa<RankedTensorType>(t); });
  auto slice = dyn_cast<SliceOp>(op);
  if (!slice)
    return false;
  // Constant starts/ends/axes/steps on static dims: each output coordinate
  // is start + i * step of its input's.
  auto type = dyn_cast<RankedTensorType>(slice.getData().getType());
  auto starts = getConstantInts(slice.getStarts());
  auto ends = getConstantInts(slice.getEnds());
  if (!type || !starts || !ends || starts->size() != ends->size())
    return false;
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (slice.getAxes()) {
    auto constant = getConstantInts(slice.getAxes());
    if (!constant || constant->size() != starts->size())
      return false;
    axes.assign(constant->begin(), constant->end());
  } else {
    for (size_t a = 0; a < starts->size(); ++a)
      axes.push_back(int64_t(a));
  }
  if (slice.getSteps()) {
    auto constant = getConstantInts(slice.getSteps());
    if (!constant || constant->size() != starts->size())
      return false;
    steps.assign(constant->begin(), constant->end());
  }
  return llvm::all_of(llvm::zip(axes, steps), [&](auto pair) {
    auto [axis, step] = pair;
    int64_t a = axis < 0 ? axis + type.getRank() : axis;
    return step != 0 && a >= 0 && a < type.getRank() && !type.isDynamicDim(a);
  });
}

namespace {

ArrayRef<int64_t> shapeOf(Operation *op) {
  return cast<RankedTensorType>(op->getResult(0).getType()).getShape();
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text;
  for (int64_t dim : shape)
    text += (text.empty() ? "" : "x") + (ShapedType::isDynamic(dim) ? "?" : std::to_string(dim));
  return text.empty() ? "scalar" : text;
}

struct FuseElementwisePass : public mlir::eff::impl::FuseElementwiseBase<FuseElementwisePass> {
  using FuseElementwiseBase::FuseElementwiseBase;

  void runOnOperation() override {
    Block &block = getOperation().getBody().front();
    probes.clear();
    if (llvm::any_of(block, [](Operation &op) {
          auto type = op.getNumResults() == 1
                          ? dyn_cast<RankedTensorType>(op.getResult(0).getType())
                          : RankedTensorType();
          return type && !type.hasStaticShape() && isFusibleElementwise(&op);
        }))
      if (auto probed = probeBoundedShapes(getOperation()); succeeded(probed))
        probes = std::move(*probed);
    // Groups in discovery order (root first); groupOf maps members to groups.
    groups.clear();
    DenseMap<Operation *, size_t> groupOf;
    for (Operation &op : llvm::reverse(block)) {
      // Index-mapping ops join as producers only, never start a group.
      if (!isFusibleElementwise(&op) && !(isIndexMapping(&op) && groupOf.count(&op)))
        continue;
      auto it = groupOf.find(&op);
      size_t g = it != groupOf.end() ? it->second : groups.size();
      if (it == groupOf.end()) {
        groups.push_back({&op});
        groupOf[&op] = g;
      }
      // An elementwise op reads each operand at its own index, so an operand
      // computed in the kernel must have its shape (no recomputation per
      // broadcast element); an index-mapping op reads its data operands at
      // mapped indices (a slice's starts/ends/axes/steps are constants).
      bool mapping = isIndexMapping(&op);
      auto dataOperands =
          mapping && isa<SliceOp>(op) ? op.getOperands().take_front(1) : op.getOperands();
      for (Value operand : dataOperands) {
        Operation *producer = operand.getDefiningOp();
        if (!producer || groupOf.count(producer) ||
            !(isFusibleElementwise(producer) || isIndexMapping(producer)) ||
            (!mapping && !sameShape(producer, &op)) || groups[g].size() >= maxOps)
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
    if (remarks) { // in program order: groups were found bottom-up
      for (SmallVector<Operation *> &group : llvm::reverse(groups)) {
        if (group.size() == 1)
          remarkWhyAlone(group.front(), groupOf);
        else
          remarkIndexMaps(group);
      }
      for (Operation &op : block)
        if (isIndexMapping(&op) && !groupOf.count(&op))
          remarkMappingAlone(&op, groupOf);
    }
    for (SmallVector<Operation *> &group : groups)
      if (group.size() > 1)
        outline(group);
  }

  /// Explains why `op` stayed a kernel of its own: what stopped it from
  /// joining its consumer's group, and from absorbing a producer. Silent
  /// for the sole consumer of a GEMM: eff-fuse-gemm-epilogue decides there
  /// (and remarks on the GEMM when it does not fuse).
  void remarkWhyAlone(Operation *op, const DenseMap<Operation *, size_t> &groupOf) {
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp();
          producer &&
          (producer->hasTrait<OpTrait::eff::GemmLike>() || isa<LoRAExpandOp>(producer)) &&
          operand.hasOneUse())
        return;
    SmallVector<std::string> reasons;
    // Toward its consumers.
    llvm::SmallSetVector<Operation *, 4> users(op->user_begin(), op->user_end());
    if (users.size() > 1) {
      reasons.push_back("its result is read by " + std::to_string(users.size()) +
                        " ops that are not in one kernel");
    } else if (users.size() == 1) {
      Operation *user = users.front();
      if (isa<func::ReturnOp>(user)) {
        // A returned value may still end a group: the producer side says why not.
      } else if (!groupOf.count(user) || !(isFusibleElementwise(user) || isIndexMapping(user))) {
        reasons.push_back("its only user '" + user->getName().getStringRef().str() + "' is not " +
                          (isIndexMapping(user) ? "in a fused kernel" : "elementwise"));
      } else if (isFusibleElementwise(user) && !sameShape(op, user)) {
        reasons.push_back("its shape " + shapeString(shapeOf(op)) +
                          " differs from its consumer's " + shapeString(shapeOf(user)) +
                          unequalWhy(op, user, " (a broadcast operand)"));
      } else {
        reasons.push_back("its consumer's kernel already holds max-ops=" + std::to_string(maxOps) +
                          " ops");
      }
    }
    // Toward its producers.
    bool elementwiseProducer = false;
    for (Value operand : op->getOperands()) {
      Operation *producer = operand.getDefiningOp();
      if (!producer || !(isFusibleElementwise(producer) || isIndexMapping(producer)))
        continue;
      elementwiseProducer = true;
      std::string name = "'" + producer->getName().getStringRef().str() + "'";
      if (!sameShape(producer, op))
        reasons.push_back("its producer " + name + " has another shape" +
                          unequalWhy(producer, op, " (broadcast)"));
      else if (!operand.hasOneUse())
        reasons.push_back("its producer " + name + " has other users");
      else
        reasons.push_back("its producer " + name + " is in another kernel");
      break;
    }
    if (!elementwiseProducer)
      reasons.push_back("no elementwise or index-mapping op produces its operands");
    op->emitRemark("not fused: ") << llvm::join(reasons, "; ");
  }

  /// For a group that reads inputs through index maps: which ops it holds.
  void remarkIndexMaps(ArrayRef<Operation *> group) {
    SmallVector<Operation *> ordered(group);
    llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    SmallVector<std::string> names;
    for (Operation *op : ordered)
      if (isIndexMapping(op))
        names.push_back("'" + op->getName().getStringRef().str() + "'");
    if (names.empty())
      return;
    group.front()->emitRemark("fused ")
        << group.size() << " ops into one kernel that reads its inputs through " << names.size()
        << " index-mapping ops (" << llvm::join(names, ", ") << ")";
  }

  /// Why an index-mapping op that feeds an elementwise op stayed a kernel
  /// (or a view) of its own.
  void remarkMappingAlone(Operation *op, const DenseMap<Operation *, size_t> &groupOf) {
    llvm::SmallSetVector<Operation *, 4> users(op->user_begin(), op->user_end());
    bool feedsFused = llvm::any_of(users, [&](Operation *user) { return groupOf.count(user); });
    if (!feedsFused)
      return;
    std::string why;
    if (llvm::any_of(users, [&](Operation *user) { return !groupOf.count(user); }))
      why = "its result is also read outside the consumer's kernel (a producer with other "
            "users is kept, not recomputed)";
    else if (users.size() > 1 && llvm::any_of(users, [&](Operation *user) {
               return groupOf.lookup(user) != groupOf.lookup(users.front());
             }))
      why = "its result is read by " + std::to_string(users.size()) +
            " ops that are not in one kernel";
    else
      for (Operation *user : users) {
        if (groups[groupOf.lookup(user)].size() >= maxOps)
          why = "its consumer's kernel already holds max-ops=" + std::to_string(maxOps) + " ops";
        else if (isFusibleElementwise(user) && !sameShape(op, user))
          why = "its shape " + shapeString(shapeOf(op)) + " differs from its consumer's " +
                shapeString(shapeOf(user)) + unequalWhy(op, user, " (a broadcast operand)");
      }
    if (why.empty())
      why = "its consumer is in another kernel";
    op->emitRemark("not fused: ") << why;
  }

  /// Whether `a` and `b` (elementwise ops) have one result shape at every
  /// run: equal static shapes, or equal static dims with the dynamic ones
  /// equal at every probe of the bounded dims.
  bool sameShape(Operation *a, Operation *b) const {
    ArrayRef<int64_t> x = shapeOf(a), y = shapeOf(b);
    if (x != y)
      return false;
    if (llvm::none_of(x, ShapedType::isDynamic))
      return true;
    if (probes.empty())
      return false;
    Value va = a->getResult(0), vb = b->getResult(0);
    return llvm::all_of(probes, [&](const llvm::DenseMap<Value, SmallVector<int64_t>> &probe) {
      auto ia = probe.find(va), ib = probe.find(vb);
      return ia != probe.end() && ib != probe.end() && ia->second == ib->second;
    });
  }

  /// Why sameShape(a, b) failed, for remarks.
  std::string unequalWhy(Operation *a, Operation *b, StringRef broadcast) const {
    if (shapeOf(a) != shapeOf(b))
      return broadcast.str();
    if (probes.empty())
      return " (dynamic dims that no probe of bounded dims (eff.dims) relates)";
    return " (dynamic dims that differ at a probe of the bounded dims)";
  }

  /// The shapes of the function's dynamic values at each probe of its
  /// bounded dims (probeBoundedShapes); empty when there is none.
  SmallVector<llvm::DenseMap<Value, SmallVector<int64_t>>> probes;

  /// Groups in discovery order (root first) of the function being fused.
  std::vector<SmallVector<Operation *>> groups;

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
    FusionOp fusion =
        createFusionShell(builder, FusedLoc::get(&getContext(), locs), root->getResultTypes(),
                          inputs.getArrayRef(), FusionKind::Elementwise, mapping);
    for (Operation *op : group)
      builder.clone(*op, mapping);
    builder.create<YieldOp>(root->getLoc(), mapping.lookup(root->getResult(0)));
    root->getResult(0).replaceAllUsesWith(fusion.getResult(0));
    for (Operation *op : llvm::reverse(group))
      op->erase();
  }
};

} // namespace
