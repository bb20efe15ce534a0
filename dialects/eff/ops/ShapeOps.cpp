//===- ShapeOps.cpp - reshape, expand, concat, flatten, slice, split, ... --===//
// Inference reads shape-like operands through getPartialConstantInts, so the
// shape subgraphs of dynamic-batch exports (Shape -> Gather -> Unsqueeze ->
// Concat -> Reshape) still give static dims where the values are known.
#include "dialects/eff/EffOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::eff;

static constexpr int64_t kDyn = ShapedType::kDynamic;

/// Exporters write INT32_MAX or INT64_MAX for "to the end"; no real dim is
/// that long, so such an end covers a dynamic dim too.
static constexpr int64_t kEndOfAnyDim = INT32_MAX;

static Type elementTypeOf(Value v) { return cast<TensorType>(v.getType()).getElementType(); }

/// Shape-like operands are 1-D (scalars are accepted where ONNX's reference is
/// lenient, e.g. a single axis); returns the static length or kDyn.
static FailureOr<int64_t> shapeOperandLength(std::optional<Location> loc, Value v, StringRef what) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return kDyn;
  if (t.getRank() > 1)
    return emitOptionalError(loc, what, " must be 1-D, got rank ", t.getRank());
  return t.getRank() == 0 ? 1 : t.getDimSize(0);
}

/// Product of `dims`, or kDyn when one is dynamic.
static int64_t productOf(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (ShapedType::isDynamic(d))
      return kDyn;
    p *= d;
  }
  return p;
}

/// Normalizes constant `axes` against `rank`, rejecting repeats.
static FailureOr<SmallVector<int64_t>> normalizeAxes(std::optional<Location> loc,
                                                     ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  SmallVector<bool> seen(rank, false);
  for (int64_t a : axes) {
    FailureOr<int64_t> axis = normalizeAxis(loc, a, rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return emitOptionalError(loc, "axis ", a, " is repeated");
    seen[*axis] = true;
    out.push_back(*axis);
  }
  return out;
}

/// Identity folds need a static type: a dynamic dim of equal type may still
/// be permuted or reshaped.
static bool isStaticIdentity(Value in, Value out) {
  auto t = dyn_cast<RankedTensorType>(in.getType());
  return t && t.hasStaticShape() && in.getType() == out.getType();
}

/// Constant result of a shape-value op (through getKnownIntsAttr) or of a
/// host-kernel fold, in that order: the first is cheap and also works when
/// the operands are only partially known.
static OpFoldResult foldShapeValueOrHost(Operation *op, ArrayRef<Attribute> operands) {
  if (DenseIntElementsAttr known = getKnownIntsAttr(op->getResult(0)))
    return known;
  return foldWithHostKernel(op, operands);
}

//===- reshape -------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  if (getAllowzero() != 0 && getAllowzero() != 1)
    return emitOpError("allowzero must be 0 or 1, got ") << int64_t(getAllowzero());
  return success();
}

LogicalResult ReshapeOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  FailureOr<int64_t> length = shapeOperandLength(loc, adaptor.getShape(), "shape");
  if (failed(length))
    return failure();
  std::optional<PartialInts> target = getPartialConstantInts(adaptor.getShape());
  if (!target) {
    types.push_back(ShapedType::isDynamic(*length)
                        ? Type(UnrankedTensorType::get(elt))
                        : Type(tensorOf(SmallVector<int64_t>(*length, kDyn), elt)));
    return success();
  }
  auto dataType = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  bool allowzero = adaptor.getAllowzero() != 0;
  SmallVector<int64_t> out;
  // Positions where the target copies the input dim: they cancel out of the
  // element count even when that dim is dynamic.
  SmallVector<bool> copied;
  int64_t inferAt = -1;
  bool hasZero = false;
  for (auto [i, entry] : llvm::enumerate(*target)) {
    copied.push_back(false);
    if (!entry) {
      out.push_back(kDyn);
      continue;
    }
    int64_t v = *entry;
    if (v == 0 && !allowzero) {
      if (dataType && int64_t(i) >= dataType.getRank())
        return emitOptionalError(loc, "reshape target copies dim ", i,
                                 " (0) but the input has rank ", dataType.getRank());
      out.push_back(dataType ? dataType.getDimSize(i) : kDyn);
      copied.back() = dataType != nullptr;
    } else if (v == -1) {
      if (inferAt >= 0)
        return emitOptionalError(loc, "reshape target has 2 dims of -1");
      inferAt = int64_t(i);
      out.push_back(kDyn);
    } else if (v < 0) {
      return emitOptionalError(loc, "reshape target has invalid dim ", v);
    } else {
      hasZero |= v == 0;
      out.push_back(v);
    }
  }
  if (allowzero && hasZero && inferAt >= 0)
    return emitOptionalError(loc, "reshape target has both 0 and -1 with allowzero = 1");

  if (dataType) {
    SmallVector<int64_t> inRest, outRest;
    for (auto [i, d] : llvm::enumerate(dataType.getShape()))
      if (i >= copied.size() || !copied[i])
        inRest.push_back(d);
    for (auto [i, d] : llvm::enumerate(out))
      if (!copied[i] && int64_t(i) != inferAt)
        outRest.push_back(d);
    int64_t inCount = productOf(inRest), outCount = productOf(outRest);
    if (!ShapedType::isDynamic(inCount) && !ShapedType::isDynamic(outCount)) {
      if (inferAt >= 0) {
        if (outCount == 0 || inCount % outCount != 0)
          return emitOptionalError(loc, "cannot infer the -1 dim of the reshape target: ", inCount,
                                   " elements do not divide by ", outCount);
        out[inferAt] = inCount / outCount;
      } else if (inCount != outCount) {
        return emitOptionalError(loc, "cannot reshape ", shapeToString(dataType.getShape()),
                                 " into ", shapeToString(out), ": element counts differ");
      }
    }
  }
  types.push_back(tensorOf(out, elt));
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (isStaticIdentity(getData(), getResult()))
    return getData();
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

namespace {
/// reshape(reshape-like(x), s) -> reshape(x, s) when s copies no dim of the
/// intermediate value (no 0 entries, or allowzero): only the element order,
/// which every reshape-like op keeps, matters then.
struct ReshapeOfReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    Operation *producer = op.getData().getDefiningOp();
    if (!producer || !producer->hasTrait<OpTrait::eff::View>())
      return rewriter.notifyMatchFailure(op, "input is not reshape-like");
    std::optional<SmallVector<int64_t>> target = getConstantInts(op.getShape());
    if (!target)
      return rewriter.notifyMatchFailure(op, "target shape is not constant");
    if (op.getAllowzero() == 0 && llvm::is_contained(*target, 0))
      return rewriter.notifyMatchFailure(op, "target copies dims of the intermediate value");
    rewriter.modifyOpInPlace(op, [&] { op.getDataMutable().assign(producer->getOperand(0)); });
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &patterns, MLIRContext *ctx) {
  patterns.add<ReshapeOfReshape>(ctx);
}

//===- expand --------------------------------------------------------------===//

LogicalResult ExpandOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getInput());
  FailureOr<int64_t> length = shapeOperandLength(loc, adaptor.getShape(), "shape");
  if (failed(length))
    return failure();
  auto inputType = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  std::optional<PartialInts> target = getPartialConstantInts(adaptor.getShape());
  if (!target && !ShapedType::isDynamic(*length))
    target = PartialInts(*length, std::nullopt);
  if (!inputType || !target) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  for (std::optional<int64_t> d : *target)
    if (d && *d < 0)
      return emitOptionalError(loc, "expand shape has negative dim ", *d);
  // An unknown target dim broadcasts like a dynamic one: a known input dim
  // > 1 still fixes the result.
  SmallVector<int64_t> targetDims = partialIntsAsDims(*target);
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(loc, {inputType.getShape(), ArrayRef<int64_t>(targetDims)});
  if (failed(shape))
    return failure();
  types.push_back(tensorOf(*shape, elt));
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (isStaticIdentity(getInput(), getResult()))
    return getInput();
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

//===- concat --------------------------------------------------------------===//

LogicalResult ConcatOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "concat needs at least one operand");
  Type elt = elementTypeOf(inputs.front());
  std::optional<SmallVector<int64_t>> shape;
  for (auto [i, v] : llvm::enumerate(inputs)) {
    if (elementTypeOf(v) != elt)
      return emitOptionalError(loc, "concat operand ", i, " has element type ", elementTypeOf(v),
                               ", expected ", elt);
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      continue;
    if (t.getRank() == 0)
      return emitOptionalError(loc, "concat operand ", i, " is a scalar; operands need rank >= 1");
    if (!shape) {
      shape = SmallVector<int64_t>(t.getShape());
      continue;
    }
    if (t.getRank() != int64_t(shape->size()))
      return emitOptionalError(loc, "concat operand ", i, " has rank ", t.getRank(), ", expected ",
                               shape->size());
  }
  if (!shape) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  int64_t rank = int64_t(shape->size());
  FailureOr<int64_t> axis = normalizeAxis(loc, adaptor.getAxis(), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> out(rank, kDyn);
  int64_t axisSum = 0;
  for (auto [i, v] : llvm::enumerate(inputs)) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t) {
      axisSum = kDyn;
      continue;
    }
    for (int64_t d = 0; d < rank; ++d) {
      int64_t size = t.getDimSize(d);
      if (d == *axis) {
        axisSum =
            ShapedType::isDynamic(size) || ShapedType::isDynamic(axisSum) ? kDyn : axisSum + size;
        continue;
      }
      if (ShapedType::isDynamic(size))
        continue;
      if (!ShapedType::isDynamic(out[d]) && out[d] != size)
        return emitOptionalError(loc, "concat operand ", i, " has size ", size, " in dim ", d,
                                 ", expected ", out[d]);
      out[d] = size;
    }
  }
  out[*axis] = axisSum;
  types.push_back(tensorOf(out, elt));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

//===- flatten -------------------------------------------------------------===//

LogicalResult FlattenOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getInput());
  auto t = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!t) {
    types.push_back(tensorOf({kDyn, kDyn}, elt));
    return success();
  }
  int64_t rank = t.getRank(), axis = adaptor.getAxis();
  // Unlike most axes, flatten's may equal the rank (result [N, 1]).
  if (axis < -rank || axis > rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range [", -rank, ", ", rank,
                             "] for rank ", rank);
  if (axis < 0)
    axis += rank;
  types.push_back(tensorOf(
      {productOf(t.getShape().take_front(axis)), productOf(t.getShape().drop_front(axis))}, elt));
  return success();
}

OpFoldResult FlattenOp::fold(FoldAdaptor adaptor) {
  if (isStaticIdentity(getInput(), getResult()))
    return getInput();
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- slice ---------------------------------------------------------------===//

namespace {
/// A slice resolved against a ranked data shape: per data dim, the result
/// size (kDyn when unknown) and whether the dim is provably kept whole.
struct ResolvedSlice {
  SmallVector<int64_t> sizes;
  SmallVector<bool> whole;
};
} // namespace

static FailureOr<ResolvedSlice> resolveSlice(std::optional<Location> loc, ArrayRef<int64_t> shape,
                                             Value starts, Value ends, Value axes, Value steps) {
  int64_t rank = int64_t(shape.size());
  ResolvedSlice r{SmallVector<int64_t>(shape), SmallVector<bool>(rank, true)};
  auto allUnknown = [&] {
    r.sizes.assign(rank, kDyn);
    r.whole.assign(rank, false);
    return r;
  };
  // Lengths of the parameter lists must agree.
  int64_t n = kDyn;
  for (auto [v, what] : {std::pair<Value, StringRef>{starts, "starts"},
                         {ends, "ends"},
                         {axes, "axes"},
                         {steps, "steps"}}) {
    if (!v)
      continue;
    FailureOr<int64_t> len = shapeOperandLength(loc, v, what);
    if (failed(len))
      return failure();
    if (ShapedType::isDynamic(*len))
      continue;
    if (!ShapedType::isDynamic(n) && *len != n)
      return emitOptionalError(loc, what, " has ", *len, " entries, but starts/ends have ", n);
    n = *len;
  }
  std::optional<SmallVector<int64_t>> axisValues;
  if (axes) {
    axisValues = getConstantInts(axes);
  } else if (!ShapedType::isDynamic(n)) {
    axisValues = SmallVector<int64_t>();
    for (int64_t i = 0; i < n; ++i)
      axisValues->push_back(i);
  }
  if (!axisValues)
    return allUnknown(); // any dim may be sliced
  FailureOr<SmallVector<int64_t>> normAxes = normalizeAxes(loc, *axisValues, rank);
  if (failed(normAxes))
    return failure();
  std::optional<SmallVector<int64_t>> s = getConstantInts(starts), e = getConstantInts(ends);
  std::optional<SmallVector<int64_t>> st =
      steps ? getConstantInts(steps) : SmallVector<int64_t>(normAxes->size(), 1);
  if (st)
    for (int64_t step : *st)
      if (step == 0)
        return emitOptionalError(loc, "slice step must not be 0");
  for (auto [i, axis] : llvm::enumerate(*normAxes)) {
    int64_t dim = shape[axis];
    if (!s || !e || !st) {
      r.sizes[axis] = kDyn;
      r.whole[axis] = false;
      continue;
    }
    int64_t start = (*s)[i], end = (*e)[i], step = (*st)[i];
    if (ShapedType::isDynamic(dim)) {
      r.sizes[axis] = kDyn;
      r.whole[axis] = start == 0 && step == 1 && end >= kEndOfAnyDim;
      continue;
    }
    auto [first, count] = resolveSliceDim(dim, start, end, step);
    r.sizes[axis] = count;
    // A whole dim read forward starts at 0 with step 1 (or has <= 1 element).
    r.whole[axis] = count == dim && (dim <= 1 || (first == 0 && step == 1));
  }
  return r;
}

LogicalResult SliceOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto t = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  if (!t) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  if (t.getRank() == 0)
    return emitOptionalError(loc, "slice data must have rank >= 1");
  FailureOr<ResolvedSlice> r =
      resolveSlice(loc, t.getShape(), adaptor.getStarts(), adaptor.getEnds(), adaptor.getAxes(),
                   adaptor.getSteps());
  if (failed(r))
    return failure();
  types.push_back(tensorOf(r->sizes, elt));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto t = dyn_cast<RankedTensorType>(getData().getType());
  if (t && getData().getType() == getType()) {
    FailureOr<ResolvedSlice> r =
        resolveSlice(std::nullopt, t.getShape(), getStarts(), getEnds(), getAxes(), getSteps());
    if (succeeded(r) && llvm::all_of(r->whole, [](bool w) { return w; }))
      return getData();
  }
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

//===- split ---------------------------------------------------------------===//

LogicalResult SplitOp::verify() {
  if (int64_t(getNumOutputs()) != int64_t(getNumResults()))
    return emitOpError("num_outputs is ")
           << int64_t(getNumOutputs()) << " but the op has " << getNumResults() << " results";
  return success();
}

LogicalResult SplitOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getInput());
  int64_t n = adaptor.getNumOutputs();
  if (n < 1)
    return emitOptionalError(loc, "num_outputs must be >= 1, got ", n);
  auto t = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!t) {
    types.append(n, UnrankedTensorType::get(elt));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(loc, adaptor.getAxis(), t.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = t.getDimSize(*axis);
  SmallVector<int64_t> sizes(n, kDyn);
  if (Value split = adaptor.getSplit()) {
    FailureOr<int64_t> len = shapeOperandLength(loc, split, "split");
    if (failed(len))
      return failure();
    if (!ShapedType::isDynamic(*len) && *len != n)
      return emitOptionalError(loc, "split has ", *len, " sizes but num_outputs is ", n);
    if (std::optional<SmallVector<int64_t>> values = getConstantInts(split)) {
      int64_t sum = 0;
      for (int64_t v : *values) {
        if (v < 0)
          return emitOptionalError(loc, "split has negative size ", v);
        sum += v;
      }
      if (!ShapedType::isDynamic(dim) && sum != dim)
        return emitOptionalError(loc, "split sizes sum to ", sum, " but dim ", *axis, " has size ",
                                 dim);
      sizes.assign(values->begin(), values->end());
    }
  } else if (!ShapedType::isDynamic(dim)) {
    // Split-18: ceil(dim / n) each, the last one smaller.
    int64_t chunk = (dim + n - 1) / n, last = dim - chunk * (n - 1);
    if (last < 0)
      return emitOptionalError(loc, "cannot split dim ", *axis, " of size ", dim, " into ", n,
                               " outputs");
    sizes.assign(n, chunk);
    sizes.back() = last;
  }
  for (int64_t size : sizes) {
    SmallVector<int64_t> shape(t.getShape());
    shape[*axis] = size;
    types.push_back(tensorOf(shape, elt));
  }
  return success();
}

LogicalResult SplitOp::fold(FoldAdaptor adaptor, SmallVectorImpl<OpFoldResult> &results) {
  if (getNumResults() == 1 && isStaticIdentity(getInput(), getResult(0))) {
    results.push_back(getInput());
    return success();
  }
  return foldWithHostKernel(getOperation(), adaptor.getOperands(), results);
}

//===- squeeze -------------------------------------------------------------===//

LogicalResult SqueezeOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto t = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  Value axes = adaptor.getAxes();
  std::optional<SmallVector<int64_t>> axisValues;
  int64_t numAxes = kDyn;
  if (axes) {
    FailureOr<int64_t> len = shapeOperandLength(loc, axes, "axes");
    if (failed(len))
      return failure();
    numAxes = *len;
    axisValues = getConstantInts(axes);
  }
  if (!t) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  SmallVector<int64_t> out;
  if (!axes) {
    // Every size-1 dim goes; a dynamic dim might be 1, so the rank is unknown.
    if (!t.hasStaticShape()) {
      types.push_back(UnrankedTensorType::get(elt));
      return success();
    }
    for (int64_t d : t.getShape())
      if (d != 1)
        out.push_back(d);
  } else if (axisValues) {
    FailureOr<SmallVector<int64_t>> norm = normalizeAxes(loc, *axisValues, t.getRank());
    if (failed(norm))
      return failure();
    for (int64_t a : *norm)
      if (int64_t d = t.getDimSize(a); !ShapedType::isDynamic(d) && d != 1)
        return emitOptionalError(loc, "cannot squeeze dim ", a, " of size ", d);
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (!llvm::is_contained(*norm, d))
        out.push_back(t.getDimSize(d));
  } else if (!ShapedType::isDynamic(numAxes) && numAxes <= t.getRank()) {
    out.assign(t.getRank() - numAxes, kDyn);
  } else {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  types.push_back(tensorOf(out, elt));
  return success();
}

OpFoldResult SqueezeOp::fold(FoldAdaptor adaptor) {
  if (isStaticIdentity(getData(), getResult()))
    return getData();
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

//===- unsqueeze -----------------------------------------------------------===//

LogicalResult UnsqueezeOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  FailureOr<int64_t> numAxes = shapeOperandLength(loc, adaptor.getAxes(), "axes");
  if (failed(numAxes))
    return failure();
  auto t = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  if (!t || ShapedType::isDynamic(*numAxes)) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  int64_t outRank = t.getRank() + *numAxes;
  std::optional<SmallVector<int64_t>> axisValues = getConstantInts(adaptor.getAxes());
  if (!axisValues) {
    types.push_back(tensorOf(SmallVector<int64_t>(outRank, kDyn), elt));
    return success();
  }
  // Axes index the result.
  FailureOr<SmallVector<int64_t>> norm = normalizeAxes(loc, *axisValues, outRank);
  if (failed(norm))
    return failure();
  SmallVector<int64_t> out;
  ArrayRef<int64_t> in = t.getShape();
  for (int64_t d = 0; d < outRank; ++d) {
    if (llvm::is_contained(*norm, d)) {
      out.push_back(1);
    } else {
      out.push_back(in.front());
      in = in.drop_front();
    }
  }
  types.push_back(tensorOf(out, elt));
  return success();
}

OpFoldResult UnsqueezeOp::fold(FoldAdaptor adaptor) {
  if (isStaticIdentity(getData(), getResult()))
    return getData();
  return foldShapeValueOrHost(getOperation(), adaptor.getOperands());
}

//===- transpose -----------------------------------------------------------===//

/// perm, or the reversal of `rank` dims when absent.
static SmallVector<int64_t> permOrReverse(std::optional<ArrayRef<int64_t>> perm, int64_t rank) {
  if (perm)
    return SmallVector<int64_t>(*perm);
  SmallVector<int64_t> reversed;
  for (int64_t d = rank - 1; d >= 0; --d)
    reversed.push_back(d);
  return reversed;
}

static bool isPermutation(ArrayRef<int64_t> perm) {
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

LogicalResult TransposeOp::verify() {
  if (std::optional<ArrayRef<int64_t>> perm = getPerm(); perm && !isPermutation(*perm))
    return emitOpError("perm [") << shapeToString(*perm) << "] is not a permutation";
  return success();
}

LogicalResult TransposeOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto t = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  std::optional<ArrayRef<int64_t>> perm = adaptor.getPerm();
  if (!t) {
    types.push_back(perm ? Type(tensorOf(SmallVector<int64_t>(perm->size(), kDyn), elt))
                         : Type(UnrankedTensorType::get(elt)));
    return success();
  }
  if (perm && int64_t(perm->size()) != t.getRank())
    return emitOptionalError(loc, "perm has ", perm->size(), " entries but the input has rank ",
                             t.getRank());
  SmallVector<int64_t> p = permOrReverse(perm, t.getRank());
  if (!isPermutation(p))
    return emitOptionalError(loc, "perm is not a permutation");
  SmallVector<int64_t> out;
  for (int64_t d : p)
    out.push_back(t.getDimSize(d));
  types.push_back(tensorOf(out, elt));
  return success();
}

static bool isIdentityPerm(ArrayRef<int64_t> perm) {
  return llvm::equal(perm, llvm::seq<int64_t>(0, int64_t(perm.size())));
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  auto t = dyn_cast<RankedTensorType>(getData().getType());
  if (!t)
    return foldWithHostKernel(getOperation(), adaptor.getOperands());
  SmallVector<int64_t> perm = permOrReverse(getPerm(), t.getRank());
  // transpose(transpose(x, inner), perm) == transpose(x, inner[perm[i]]):
  // fold in place onto x.
  if (auto inner = getData().getDefiningOp<TransposeOp>()) {
    if (auto innerType = dyn_cast<RankedTensorType>(inner.getData().getType())) {
      SmallVector<int64_t> innerPerm = permOrReverse(inner.getPerm(), innerType.getRank());
      SmallVector<int64_t> composed;
      for (int64_t p : perm)
        composed.push_back(innerPerm[p]);
      getDataMutable().assign(inner.getData());
      setPermAttr(DenseI64ArrayAttr::get(getContext(), composed));
      if (!isIdentityPerm(composed) || getData().getType() != getType())
        return getResult();
      return getData();
    }
  }
  if (isIdentityPerm(perm) && getData().getType() == getType())
    return getData();
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- trilu ---------------------------------------------------------------===//

LogicalResult TriluOp::verify() {
  if (getUpper() != 0 && getUpper() != 1)
    return emitOpError("upper must be 0 or 1, got ") << int64_t(getUpper());
  if (Value k = getK())
    if (auto t = dyn_cast<RankedTensorType>(k.getType()); t && t.getNumElements() != 1)
      return emitOpError("k must be a scalar, got ") << t;
  return success();
}

LogicalResult TriluOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  if (auto t = dyn_cast<RankedTensorType>(adaptor.getInput().getType()); t && t.getRank() < 2)
    return emitOptionalError(loc, "trilu input must have rank >= 2, got ", t.getRank());
  types.push_back(adaptor.getInput().getType());
  return success();
}

OpFoldResult TriluOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- tile ----------------------------------------------------------------===//

LogicalResult TileOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getInput());
  FailureOr<int64_t> length = shapeOperandLength(loc, adaptor.getRepeats(), "repeats");
  if (failed(length))
    return failure();
  auto inputType = dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  if (!inputType) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  int64_t rank = inputType.getRank();
  if (!ShapedType::isDynamic(*length) && *length != rank)
    return emitOptionalError(loc, "tile repeats has ", *length, " entries, expected ", rank,
                             " (the input rank)");
  std::optional<PartialInts> repeats = getPartialConstantInts(adaptor.getRepeats());
  SmallVector<int64_t> shape(rank, kDyn);
  for (int64_t d = 0; d < rank; ++d) {
    std::optional<int64_t> r =
        repeats && int64_t(repeats->size()) == rank ? (*repeats)[d] : std::nullopt;
    if (r && *r < 0)
      return emitOptionalError(loc, "tile repeats has negative entry ", *r, " for dim ", d);
    int64_t in = inputType.getDimSize(d);
    if (r && (*r == 0 || !ShapedType::isDynamic(in)))
      shape[d] = *r == 0 ? 0 : in * *r;
  }
  types.push_back(tensorOf(shape, elt));
  return success();
}

OpFoldResult TileOp::fold(FoldAdaptor adaptor) {
  if (std::optional<SmallVector<int64_t>> repeats = getConstantInts(getRepeats()))
    if (llvm::all_of(*repeats, [](int64_t r) { return r == 1; }) &&
        getInput().getType() == getResult().getType())
      return getInput();
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
