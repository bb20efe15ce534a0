//===- ConstantOps.cpp - constant, constant_of_shape, shape, range ---------===//
#include "dialects/eff/EffOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::eff;

//===- constant ------------------------------------------------------------===//

LogicalResult ConstantOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getValue().getType());
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===- constant_of_shape ---------------------------------------------------===//

LogicalResult ConstantOfShapeOp::verify() {
  if (auto value = getValueAttr(); value && value.getNumElements() != 1)
    return emitOpError("value must hold exactly one element, got ") << value.getNumElements();
  return success();
}

LogicalResult ConstantOfShapeOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                  Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = Float32Type::get(ctx); // ONNX default: float 0
  if (auto value = adaptor.getValueAttr())
    elt = value.getElementType();
  auto inputType = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (inputType && inputType.getRank() != 1)
    return emitOptionalError(loc, "shape operand must be 1-D, got rank ", inputType.getRank());
  if (std::optional<SmallVector<int64_t>> dims = getConstantInts(adaptor.getInput())) {
    for (int64_t d : *dims)
      if (d < 0)
        return emitOptionalError(loc, "shape has a negative dim ", d);
    types.push_back(tensorOf(*dims, elt));
  } else if (inputType && inputType.hasStaticShape()) {
    types.push_back(
        tensorOf(SmallVector<int64_t>(inputType.getDimSize(0), ShapedType::kDynamic), elt));
  } else {
    types.push_back(UnrankedTensorType::get(elt));
  }
  return success();
}

OpFoldResult ConstantOfShapeOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- shape ---------------------------------------------------------------===//

/// ONNX Shape's [start, end) clamped to [0, rank].
static std::pair<int64_t, int64_t> shapeSlice(int64_t rank, int64_t start,
                                              std::optional<int64_t> end) {
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::min(std::max<int64_t>(v, 0), rank);
  };
  int64_t s = clamp(start), e = end ? clamp(*end) : rank;
  return {s, std::max(s, e)};
}

LogicalResult ShapeOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type i64 = IntegerType::get(ctx, 64);
  auto t = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  if (!t) {
    types.push_back(tensorOf({ShapedType::kDynamic}, i64));
    return success();
  }
  std::optional<int64_t> end;
  if (auto e = adaptor.getEndAttr())
    end = e.getInt();
  auto [s, e] = shapeSlice(t.getRank(), adaptor.getStart(), end);
  types.push_back(tensorOf({e - s}, i64));
  return success();
}

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  auto t = dyn_cast<RankedTensorType>(getData().getType());
  if (!t)
    return {};
  auto [s, e] = shapeSlice(t.getRank(), getStart(), getEnd());
  ArrayRef<int64_t> dims = t.getShape().slice(s, e - s);
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return {};
  return DenseIntElementsAttr::get(cast<ShapedType>(getType()), dims);
}

//===- range ---------------------------------------------------------------===//

LogicalResult RangeOp::verify() {
  for (Value v : getOperands())
    if (auto t = dyn_cast<RankedTensorType>(v.getType()); t && t.getNumElements() != 1)
      return emitOpError("start, limit and delta must be scalars");
  Type elt = getStart().getType().getElementType();
  if (getLimit().getType().getElementType() != elt || getDelta().getType().getElementType() != elt)
    return emitOpError("start, limit and delta must have one element type");
  return success();
}

LogicalResult RangeOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type elt = cast<TensorType>(adaptor.getStart().getType()).getElementType();
  std::optional<double> start = getConstantScalar(adaptor.getStart());
  std::optional<double> limit = getConstantScalar(adaptor.getLimit());
  std::optional<double> delta = getConstantScalar(adaptor.getDelta());
  if (!start || !limit || !delta) {
    types.push_back(tensorOf({ShapedType::kDynamic}, elt));
    return success();
  }
  if (*delta == 0)
    return emitOptionalError(loc, "delta must not be zero");
  int64_t n = std::max<int64_t>(int64_t(std::ceil((*limit - *start) / *delta)), 0);
  types.push_back(tensorOf({n}, elt));
  return success();
}

OpFoldResult RangeOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
