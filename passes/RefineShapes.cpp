//===- RefineShapes.cpp - re-infer result types after folding -------------===//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeProbe.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"

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

/// Argument shapes with every bounded dim at `value(dim index)`; empty
/// when `func` has no bounded dim in its arguments.
std::vector<SmallVector<int64_t>> probeArgs(func::FuncOp func, ArrayRef<StringRef> names,
                                            ArrayRef<int64_t> values) {
  std::vector<SmallVector<int64_t>> shapes(func.getNumArguments());
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
    auto params = func.getArgAttrOfType<ArrayAttr>(i, "eff.dim_params");
    if (!type || type.hasStaticShape() || !params)
      continue;
    shapes[i].assign(type.getShape().begin(), type.getShape().end());
    for (auto [d, extent] : llvm::enumerate(shapes[i])) {
      if (!ShapedType::isDynamic(extent))
        continue;
      auto name = d < params.size() ? dyn_cast<StringAttr>(params[d]) : StringAttr();
      const auto *at = name ? llvm::find(names, name.getValue()) : names.end();
      if (at == names.end())
        return {}; // an unbounded dynamic dim: no probe
      extent = values[at - names.begin()];
    }
  }
  return shapes;
}

} // namespace

FailureOr<SmallVector<llvm::DenseMap<Value, SmallVector<int64_t>>>>
mlir::eff::probeBoundedShapes(func::FuncOp func) {
  auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
  if (!dims || dims.empty())
    return failure();
  SmallVector<StringRef> names;
  SmallVector<int64_t> low, high, max;
  for (NamedAttribute dim : dims) {
    auto bounds = dyn_cast<DenseI64ArrayAttr>(dim.getValue());
    if (!bounds || bounds.size() != 2 || bounds[0] > bounds[1])
      return failure();
    names.push_back(dim.getName().getValue());
    // Two distinct values per dim (where its bounds allow), away from the
    // broadcasting 0 and 1 where they can be.
    int64_t lo = std::min(std::max<int64_t>(bounds[0], 2) + 3 * int64_t(names.size()), bounds[1]);
    int64_t hi = std::min(lo + 3, bounds[1]);
    if (hi == lo)
      lo = std::max(bounds[0], hi - 1);
    low.push_back(lo);
    high.push_back(hi);
    max.push_back(bounds[1]);
  }
  SmallVector<SmallVector<int64_t>> points = {low, max};
  for (size_t k = 0; k < names.size(); ++k) {
    points.push_back(low);
    points.back()[k] = high[k];
  }
  // A probe that fails (inconsistent dims, data-dependent sizes) gives
  // nothing; SymbolicShapes reports such problems later with context.
  ScopedDiagnosticHandler quiet(func.getContext(), [](Diagnostic &) { return success(); });
  SmallVector<llvm::DenseMap<Value, SmallVector<int64_t>>> probes;
  for (const SmallVector<int64_t> &point : points) {
    std::vector<SmallVector<int64_t>> args = probeArgs(func, names, point);
    if (args.empty())
      return failure();
    auto shapes = probeShapes(func, args, "");
    if (failed(shapes))
      return failure();
    probes.push_back(std::move(*shapes));
  }
  return probes;
}

namespace {

/// The dynamic dims of `func`'s values that every probe gives one value.
void refineByProbing(func::FuncOp func) {
  auto probes = probeBoundedShapes(func);
  if (failed(probes))
    return;
  llvm::DenseMap<Value, SmallVector<int64_t>> agreed;
  for (auto [p, shapes] : llvm::enumerate(*probes)) {
    for (auto &[value, shape] : shapes) {
      if (p == 0) {
        agreed[value] = shape;
        continue;
      }
      auto it = agreed.find(value);
      if (it == agreed.end())
        continue;
      for (auto [a, b] : llvm::zip(it->second, shape))
        if (a != b)
          a = ShapedType::kDynamic;
    }
  }
  for (auto &[value, shape] : agreed) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || isa<BlockArgument>(value) || shape.size() != size_t(type.getRank()))
      continue;
    SmallVector<int64_t> refined(type.getShape());
    for (auto [r, s] : llvm::zip(refined, shape))
      if (ShapedType::isDynamic(r))
        r = s;
    value.setType(RankedTensorType::get(refined, type.getElementType(), type.getEncoding()));
  }
}

struct RefineShapesPass : public mlir::eff::impl::RefineShapesBase<RefineShapesPass> {
  using RefineShapesBase::RefineShapesBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (probeDims)
      refineByProbing(func);
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
