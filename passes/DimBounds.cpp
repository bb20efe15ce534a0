//===- DimBounds.cpp - upper bounds of bounded symbolic dims --------------===//
#include "passes/DimBounds.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::eff {

std::optional<int64_t> dimUpperBound(func::FuncOp func, StringRef name) {
  auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
  auto bounds = dims ? dyn_cast_or_null<DenseI64ArrayAttr>(dims.get(name)) : DenseI64ArrayAttr();
  if (!bounds || bounds.size() != 2)
    return std::nullopt;
  return bounds[1];
}

std::optional<int64_t> argDimMax(func::FuncOp func, unsigned arg, unsigned d) {
  auto type = dyn_cast<RankedTensorType>(func.getArgument(arg).getType());
  if (!type || d >= type.getRank())
    return std::nullopt;
  if (!type.isDynamicDim(d))
    return type.getDimSize(d);
  auto params = func.getArgAttrOfType<ArrayAttr>(arg, "eff.dim_params");
  auto name = params && d < params.size() ? dyn_cast<StringAttr>(params[d]) : StringAttr();
  return name ? dimUpperBound(func, name.getValue()) : std::nullopt;
}

} // namespace mlir::eff
