//===- ElementwiseOps.cpp - elementwise ops without a generic definition ---===//
// Unary and binary ops get inference and folding from their TableGen classes;
// the ops below have their own rules.
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

#define EFF_FOLD_WITH_HOST_KERNEL(OP)                                                              \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                                     \
    return foldWithHostKernel(getOperation(), adaptor.getOperands());                              \
  }

//===- identity ------------------------------------------------------------===//

LogicalResult IdentityOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult IdentityOp::fold(FoldAdaptor) {
  return getX().getType() == getType() ? OpFoldResult(getX()) : OpFoldResult();
}

//===- is_nan --------------------------------------------------------------===//

static Type withElementType(Type type, Type elt) {
  if (auto rt = dyn_cast<RankedTensorType>(type))
    return RankedTensorType::get(rt.getShape(), elt);
  return UnrankedTensorType::get(elt);
}

LogicalResult IsNaNOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  types.push_back(withElementType(adaptor.getX().getType(), IntegerType::get(ctx, 1)));
  return success();
}
EFF_FOLD_WITH_HOST_KERNEL(IsNaNOp)

//===- gelu ----------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult GeluOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}
EFF_FOLD_WITH_HOST_KERNEL(GeluOp)

//===- cast ----------------------------------------------------------------===//

LogicalResult CastOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  int64_t to = adaptor.getTo();
  Type elt = fromDType(ctx, effc::DType(to));
  if (!elt)
    return emitOptionalError(loc, "cast to unsupported ONNX data type ", to);
  types.push_back(withElementType(adaptor.getInput().getType(), elt));
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- clip ----------------------------------------------------------------===//

LogicalResult ClipOp::verify() {
  for (Value bound : {getMin(), getMax()}) {
    if (!bound)
      continue;
    auto t = cast<TensorType>(bound.getType());
    if (t.getElementType() != getInput().getType().getElementType())
      return emitOpError("min/max must have the input's element type");
    if (t.hasRank() && t.hasStaticShape() && t.getNumElements() != 1)
      return emitOpError("min/max must be scalars");
  }
  return success();
}

LogicalResult ClipOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getInput().getType());
  return success();
}
EFF_FOLD_WITH_HOST_KERNEL(ClipOp)

//===- pow -----------------------------------------------------------------===//

LogicalResult PowOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferBroadcastResult(ctx, loc, adaptor.getOperands(), /*boolResult=*/false, types);
}
EFF_FOLD_WITH_HOST_KERNEL(PowOp)

//===- max / min -----------------------------------------------------------===//

static LogicalResult inferVariadicBroadcast(MLIRContext *ctx, std::optional<Location> loc,
                                            ValueRange inputs, SmallVectorImpl<Type> &types) {
  Type elt = cast<TensorType>(inputs.front().getType()).getElementType();
  for (Value v : inputs)
    if (cast<TensorType>(v.getType()).getElementType() != elt)
      return emitOptionalError(loc, "all operands must have one element type");
  return inferBroadcastResult(ctx, loc, inputs, /*boolResult=*/false, types);
}

LogicalResult MaxOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, getOperationName(), " needs at least one operand");
  return inferVariadicBroadcast(ctx, loc, adaptor.getInputs(), types);
}
EFF_FOLD_WITH_HOST_KERNEL(MaxOp)

LogicalResult MinOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, getOperationName(), " needs at least one operand");
  return inferVariadicBroadcast(ctx, loc, adaptor.getInputs(), types);
}
EFF_FOLD_WITH_HOST_KERNEL(MinOp)

//===- where ---------------------------------------------------------------===//

LogicalResult WhereOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = cast<TensorType>(adaptor.getX().getType()).getElementType();
  if (cast<TensorType>(adaptor.getY().getType()).getElementType() != elt)
    return emitOptionalError(loc, "x and y must have one element type");
  SmallVector<Type, 1> shapeOnly;
  if (failed(inferBroadcastResult(ctx, loc, adaptor.getOperands(), /*boolResult=*/true, shapeOnly)))
    return failure();
  types.push_back(withElementType(shapeOnly.front(), elt));
  return success();
}
EFF_FOLD_WITH_HOST_KERNEL(WhereOp)
