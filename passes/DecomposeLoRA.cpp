//===- DecomposeLoRA.cpp - lora_linear -> matmuls + lora_expand -----------===//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/I64Constant.h"
#include "passes/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_DECOMPOSELORA
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Columns of a_flat (n * R), or dynamic.
int64_t shrinkWidth(LoRALinearOp op) {
  auto a = cast<RankedTensorType>(op.getA().getType());
  if (a.getRank() == 2)
    return a.getDimSize(1);
  if (a.isDynamicDim(0) || a.isDynamicDim(2))
    return ShapedType::kDynamic;
  return a.getDimSize(0) * a.getDimSize(2);
}

struct DecomposeLoRAPass : public mlir::eff::impl::DecomposeLoRABase<DecomposeLoRAPass> {
  using DecomposeLoRABase::DecomposeLoRABase;

  /// Ops the rewrite may leave unused (the adapters' original constants and
  /// what folding a_flat made of them): erased at the end when dead, so that
  /// they do not become weights.
  llvm::SetVector<Operation *> maybeDead;

  void noteMaybeDead(Value v) {
    if (auto constant = v.getDefiningOp<ConstantOp>())
      maybeDead.insert(constant);
  }

  void runOnOperation() override {
    // The pass instance runs on every function of a module in turn: ops noted
    // in an earlier function were erased there and must not be read again.
    maybeDead.clear();
    // The ops reading each x, in program order.
    llvm::MapVector<Value, SmallVector<LoRALinearOp>> byInput;
    getOperation().walk([&](LoRALinearOp op) {
      if (isa<RankedTensorType>(op.getA().getType()))
        byInput[op.getX()].push_back(op);
      else
        op.emitWarning() << op->getName() << " with an unranked adapter is left as it is";
    });
    DominanceInfo dominance(getOperation());
    for (auto &entry : byInput) {
      SmallVector<LoRALinearOp> pending = entry.second;
      while (!pending.empty())
        decompose(takeGroup(pending, dominance));
    }
    for (Operation *op : llvm::reverse(maybeDead))
      if (op->use_empty() && isOpTriviallyDead(op))
        op->erase();
  }

  /// The first pending op plus, with share-shrink, every later one whose
  /// adapter is available at the first (so that their a_flat can be
  /// concatenated there) and whose width is static (it fixes the offsets).
  SmallVector<LoRALinearOp> takeGroup(SmallVector<LoRALinearOp> &pending,
                                      DominanceInfo &dominance) {
    LoRALinearOp first = pending.front();
    SmallVector<LoRALinearOp> group{first}, rest;
    bool staticWidths = !ShapedType::isDynamic(shrinkWidth(first));
    for (LoRALinearOp op : llvm::drop_begin(pending)) {
      bool joins = shareShrink && staticWidths && !ShapedType::isDynamic(shrinkWidth(op)) &&
                   op->getBlock() == first->getBlock() &&
                   dominance.properlyDominates(op.getA(), first);
      (joins ? group : rest).push_back(op);
    }
    pending = std::move(rest);
    return group;
  }

  /// a as [K, n * R] with adapter-major columns: column g * R + r is
  /// a[g][:, r].
  Value flattenAdapter(OpBuilder &b, Location loc, Value a) {
    noteMaybeDead(a);
    if (cast<RankedTensorType>(a.getType()).getRank() == 2)
      return a;
    Value kMajor = b.createOrFold<TransposeOp>(loc, a, b.getDenseI64ArrayAttr({1, 0, 2}));
    noteMaybeDead(kMajor);
    // [K, n, R] -> [K, n * R]: 0 copies K, -1 infers n * R.
    Value shape = i64Constant(b, loc, {0, -1});
    noteMaybeDead(shape);
    return b.createOrFold<ReshapeOp>(loc, kMajor, shape, b.getI64IntegerAttr(0));
  }

  void decompose(ArrayRef<LoRALinearOp> group) {
    LoRALinearOp first = group.front();
    OpBuilder b(first);
    SmallVector<Location> locs;
    SmallVector<Value> flats;
    for (LoRALinearOp op : group) {
      locs.push_back(op.getLoc());
      flats.push_back(flattenAdapter(b, op.getLoc(), op.getA()));
    }
    Location shrinkLoc = b.getFusedLoc(locs);
    Value aFlat = flats.front();
    if (flats.size() > 1) {
      aFlat = b.createOrFold<ConcatOp>(shrinkLoc, flats, b.getI64IntegerAttr(1));
      for (Value v : flats)
        noteMaybeDead(v);
    }
    Value t = b.create<MatMulOp>(shrinkLoc, first.getX(), aFlat);
    // Each op: its base GEMM and the expand reading its columns of t.
    int64_t offset = 0;
    for (LoRALinearOp op : group) {
      b.setInsertionPoint(op);
      Value base = b.create<MatMulOp>(op.getLoc(), op.getX(), op.getW());
      auto expand =
          b.create<LoRAExpandOp>(op.getLoc(), base, t, op.getB(), op.getLoraIndex(),
                                 op.getScaleAttr() ? op.getScaleAttr() : b.getF64FloatAttr(1.0),
                                 b.getI64IntegerAttr(offset));
      offset += group.size() > 1 ? shrinkWidth(op) : 0;
      op.getResult().replaceAllUsesWith(expand.getResult());
      op.erase();
    }
  }
};

} // namespace
