//===- RefineShapes.cpp - re-infer result types after folding -------------===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

namespace mlir::eff {
#define GEN_PASS_DEF_REFINESHAPES
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A refinement is accepted only when it is strictly more static and
/// compatible with the current type.
bool isRefinement(Type current, Type inferred) {
  if (current == inferred || !areCompatibleTensorTypes(current, inferred))
    return false;
  auto cur = dyn_cast<TensorType>(current);
  auto inf = dyn_cast<RankedTensorType>(inferred);
  if (!cur || !inf)
    return false;
  if (!cur.hasRank())
    return true;
  return llvm::count_if(inf.getShape(), ShapedType::isDynamic) <
         llvm::count_if(cur.getShape(), ShapedType::isDynamic);
}

struct RefineShapesPass : public mlir::eff::impl::RefineShapesBase<RefineShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    func.walk([&](InferTypeOpInterface op) {
      SmallVector<Type> inferred;
      if (failed(op.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                     op->getAttrDictionary(), op->getPropertiesStorage(),
                                     op->getRegions(), inferred)))
        return;
      for (auto [result, type] : llvm::zip(op->getResults(), inferred))
        if (isRefinement(result.getType(), type))
          result.setType(type);
    });
    // Keep the signature in sync with what is returned.
    Operation *terminator = func.getBody().back().getTerminator();
    auto type = func.getFunctionType();
    func.setType(FunctionType::get(&getContext(), type.getInputs(), terminator->getOperandTypes()));
  }
};

} // namespace
