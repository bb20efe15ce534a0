//===- ReductionOps.cpp - reduce_*, softmax, cum_sum, top_k ----------------===//
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

/// ONNX INT attributes used as booleans must be 0 or 1.
static LogicalResult verifyFlag(Operation *op, StringRef name, int64_t value) {
  if (value != 0 && value != 1)
    return op->emitOpError() << name << " must be 0 or 1, got " << value;
  return success();
}

/// Normalizes a reduction/scan axis; unlike normalizeAxis, rank 0 has none.
static FailureOr<int64_t> normalizeDimAxis(std::optional<Location> loc, int64_t axis,
                                           int64_t rank) {
  if (rank == 0)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank 0");
  return normalizeAxis(loc, axis, rank);
}

//===- reduce_max / reduce_mean / reduce_sum -------------------------------===//

/// The axes a reduction reduces over, once known: nullopt while the axes
/// operand is not a constant. An empty list means "no axes given".
static std::optional<SmallVector<int64_t>> knownReduceAxes(Value axes) {
  if (!axes)
    return SmallVector<int64_t>();
  if (std::optional<SmallVector<int64_t>> values = getConstantInts(axes))
    return values;
  // A statically empty axes tensor is as good as an absent one.
  auto t = dyn_cast<RankedTensorType>(axes.getType());
  if (t && t.getRank() == 1 && t.getDimSize(0) == 0)
    return SmallVector<int64_t>();
  return std::nullopt;
}

/// Marks the reduced dims of a rank-`rank` input, checking range and
/// duplicates. Empty `axes` (and not noop) reduces everything.
static LogicalResult markReducedDims(std::optional<Location> loc, ArrayRef<int64_t> axes,
                                     int64_t rank, SmallVectorImpl<bool> &reduced) {
  reduced.assign(rank, axes.empty());
  for (int64_t axis : axes) {
    FailureOr<int64_t> n = normalizeDimAxis(loc, axis, rank);
    if (failed(n))
      return failure();
    if (reduced[*n])
      return emitOptionalError(loc, "axis ", *n, " appears more than once in axes");
    reduced[*n] = true;
  }
  return success();
}

static LogicalResult inferReduce(std::optional<Location> loc, Value data, Value axes, bool keepdims,
                                 bool noop, SmallVectorImpl<Type> &types) {
  auto type = cast<TensorType>(data.getType());
  Type elt = type.getElementType();
  auto axesType = axes ? dyn_cast<RankedTensorType>(axes.getType()) : RankedTensorType();
  if (axesType && axesType.getRank() != 1)
    return emitOptionalError(loc, "axes must be 1-D, got rank ", axesType.getRank());

  std::optional<SmallVector<int64_t>> known = knownReduceAxes(axes);
  if (known && known->empty() && noop) {
    types.push_back(type);
    return success();
  }
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  int64_t rank = ranked.getRank();

  if (!known) {
    // Unknown axes: keepdims keeps the rank (a dim of 1 stays 1 either way);
    // otherwise the rank drops by the number of axes when that is static.
    if (keepdims) {
      SmallVector<int64_t> shape;
      for (int64_t d : ranked.getShape())
        shape.push_back(d == 1 ? 1 : ShapedType::kDynamic);
      types.push_back(tensorOf(shape, elt));
      return success();
    }
    if (axesType && !axesType.isDynamicDim(0)) {
      int64_t n = axesType.getDimSize(0);
      if (n > rank)
        return emitOptionalError(loc, "axes has ", n, " entries but the input has rank ", rank);
      types.push_back(tensorOf(SmallVector<int64_t>(rank - n, ShapedType::kDynamic), elt));
      return success();
    }
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }

  SmallVector<bool> reduced;
  if (failed(markReducedDims(loc, *known, rank, reduced)))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d])
      shape.push_back(ranked.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  types.push_back(tensorOf(shape, elt));
  return success();
}

/// A reduction that changes nothing: noop over empty axes, or keepdims over
/// dims that are all 1 already.
static bool isIdentityReduce(Value data, Value axes, bool keepdims, bool noop, Type resultType) {
  if (data.getType() != resultType)
    return false;
  std::optional<SmallVector<int64_t>> known = knownReduceAxes(axes);
  if (!known)
    return false;
  if (known->empty() && noop)
    return true;
  auto ranked = dyn_cast<RankedTensorType>(data.getType());
  if (!keepdims || !ranked)
    return false;
  SmallVector<bool> reduced;
  if (failed(markReducedDims(std::nullopt, *known, ranked.getRank(), reduced)))
    return false;
  for (int64_t d = 0; d < ranked.getRank(); ++d)
    if (reduced[d] && ranked.getDimSize(d) != 1)
      return false;
  return true;
}

#define EFF_REDUCE_OP(OP)                                                                          \
  LogicalResult OP::verify() {                                                                     \
    if (failed(verifyFlag(*this, "keepdims", int64_t(getKeepdims()))) ||                           \
        failed(verifyFlag(*this, "noop_with_empty_axes", int64_t(getNoopWithEmptyAxes()))))        \
      return failure();                                                                            \
    return success();                                                                              \
  }                                                                                                \
  LogicalResult OP::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,  \
                                     SmallVectorImpl<Type> &types) {                               \
    return inferReduce(loc, adaptor.getData(), adaptor.getAxes(), adaptor.getKeepdims() != 0,      \
                       adaptor.getNoopWithEmptyAxes() != 0, types);                                \
  }                                                                                                \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                                     \
    if (isIdentityReduce(getData(), getAxes(), getKeepdims() != 0, getNoopWithEmptyAxes() != 0,    \
                         getType()))                                                               \
      return getData();                                                                            \
    return foldWithHostKernel(getOperation(), adaptor.getOperands());                              \
  }

EFF_REDUCE_OP(ReduceMaxOp)
EFF_REDUCE_OP(ReduceMeanOp)
EFF_REDUCE_OP(ReduceSumOp)

//===- softmax -------------------------------------------------------------===//

LogicalResult SoftmaxOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto type = cast<TensorType>(adaptor.getInput().getType());
  if (type.hasRank() && failed(normalizeDimAxis(loc, int64_t(adaptor.getAxis()), type.getRank())))
    return failure();
  types.push_back(type);
  return success();
}

OpFoldResult SoftmaxOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- cum_sum -------------------------------------------------------------===//

LogicalResult CumSumOp::verify() {
  if (failed(verifyFlag(*this, "exclusive", int64_t(getExclusive()))) ||
      failed(verifyFlag(*this, "reverse", int64_t(getReverse()))))
    return failure();
  auto axisType = dyn_cast<RankedTensorType>(getAxis().getType());
  if (axisType &&
      (axisType.getRank() > 1 ||
       (axisType.getRank() == 1 && axisType.getDimSize(0) != 1 && !axisType.isDynamicDim(0))))
    return emitOpError("axis must be a scalar, got shape [")
           << shapeToString(axisType.getShape()) << "]";
  auto xType = dyn_cast<RankedTensorType>(getX().getType());
  std::optional<SmallVector<int64_t>> axis = getConstantInts(getAxis());
  if (xType && axis && axis->size() == 1 &&
      failed(normalizeDimAxis(getLoc(), axis->front(), xType.getRank())))
    return failure();
  return success();
}

LogicalResult CumSumOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult CumSumOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- top_k ---------------------------------------------------------------===//

LogicalResult TopKOp::verify() {
  if (failed(verifyFlag(*this, "largest", int64_t(getLargest()))) ||
      failed(verifyFlag(*this, "sorted", int64_t(getSorted()))))
    return failure();
  return success();
}

LogicalResult TopKOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto xType = cast<TensorType>(adaptor.getX().getType());
  Type elt = xType.getElementType(), i64 = IntegerType::get(ctx, 64);
  auto kType = dyn_cast<RankedTensorType>(adaptor.getK().getType());
  if (kType && (kType.getRank() > 1 || (kType.hasStaticShape() && kType.getNumElements() != 1)))
    return emitOptionalError(loc, "K must be a 1-element tensor, got shape [",
                             shapeToString(kType.getShape()), "]");
  std::optional<int64_t> k;
  if (std::optional<SmallVector<int64_t>> values = getConstantInts(adaptor.getK());
      values && values->size() == 1)
    k = values->front();
  if (k && *k < 0)
    return emitOptionalError(loc, "K must be >= 0, got ", *k);

  auto ranked = dyn_cast<RankedTensorType>(xType);
  if (!ranked) {
    types.push_back(UnrankedTensorType::get(elt));
    types.push_back(UnrankedTensorType::get(i64));
    return success();
  }
  FailureOr<int64_t> axis = normalizeDimAxis(loc, int64_t(adaptor.getAxis()), ranked.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = ranked.getDimSize(*axis);
  if (k && !ShapedType::isDynamic(dim) && *k > dim)
    return emitOptionalError(loc, "K ", *k, " exceeds dim ", *axis, " of size ", dim);
  SmallVector<int64_t> shape(ranked.getShape());
  shape[*axis] = k ? *k : ShapedType::kDynamic;
  types.push_back(tensorOf(shape, elt));
  types.push_back(tensorOf(shape, i64));
  return success();
}

LogicalResult TopKOp::fold(FoldAdaptor adaptor, SmallVectorImpl<OpFoldResult> &results) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands(), results);
}
