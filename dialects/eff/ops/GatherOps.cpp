//===- GatherOps.cpp - gather, gather_elements, gather_nd ------------------===//
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

static constexpr int64_t kDyn = ShapedType::kDynamic;

static Type elementTypeOf(Value v) { return cast<TensorType>(v.getType()).getElementType(); }

/// Rejects constant indices outside [-dim, dim) of a static dim; the host
/// kernel would fail at run time instead.
static LogicalResult verifyConstantIndices(Operation *op, Value indices, int64_t dim) {
  if (ShapedType::isDynamic(dim))
    return success();
  std::optional<SmallVector<int64_t>> values = getConstantInts(indices);
  if (!values)
    return success();
  for (int64_t i : *values)
    if (i < -dim || i >= dim)
      return op->emitOpError("index ")
             << i << " is out of range [" << -dim << ", " << dim << ") for a dim of size " << dim;
  return success();
}

/// gather_elements / scatter_elements (same rank, `axis` already normalized):
/// off the axis the indices address data at their own positions, so no
/// indices dim may be larger than the data's; constant indices must be in
/// range along the axis.
static LogicalResult verifyElementsIndices(Operation *op, RankedTensorType data,
                                           RankedTensorType indices, Value indicesValue,
                                           int64_t axis) {
  for (int64_t d = 0; d < data.getRank(); ++d) {
    int64_t i = indices.getDimSize(d), n = data.getDimSize(d);
    if (d != axis && !ShapedType::isDynamic(i) && !ShapedType::isDynamic(n) && i > n)
      return op->emitOpError("indices dim ")
             << d << " has size " << i << ", larger than the data's " << n;
  }
  return verifyConstantIndices(op, indicesValue, data.getDimSize(axis));
}

//===- gather --------------------------------------------------------------===//

LogicalResult GatherOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto data = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  auto indices = dyn_cast<RankedTensorType>(adaptor.getIndices().getType());
  if (data && data.getRank() == 0)
    return emitOptionalError(loc, "gather data must have rank >= 1");
  if (!data || !indices) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(loc, adaptor.getAxis(), data.getRank());
  if (failed(axis))
    return failure();
  // data.shape[:axis] + indices.shape + data.shape[axis+1:]
  SmallVector<int64_t> out(data.getShape().take_front(*axis));
  llvm::append_range(out, indices.getShape());
  llvm::append_range(out, data.getShape().drop_front(*axis + 1));
  types.push_back(tensorOf(out, elt));
  return success();
}

LogicalResult GatherOp::verify() {
  auto data = dyn_cast<RankedTensorType>(getData().getType());
  if (!data || data.getRank() == 0)
    return success();
  int64_t axis = int64_t(getAxis());
  if (axis < -data.getRank() || axis >= data.getRank())
    return success(); // reported by inference
  return verifyConstantIndices(*this, getIndices(),
                               data.getDimSize(axis < 0 ? axis + data.getRank() : axis));
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  // Picking entries of a partly known shape (Shape -> Gather) folds even when
  // other dims are dynamic.
  if (DenseIntElementsAttr known = getKnownIntsAttr(getResult()))
    return known;
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- gather_elements -----------------------------------------------------===//

LogicalResult GatherElementsOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto data = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  auto indices = dyn_cast<RankedTensorType>(adaptor.getIndices().getType());
  if (data && indices && data.getRank() != indices.getRank())
    return emitOptionalError(loc, "indices rank ", indices.getRank(), " differs from data rank ",
                             data.getRank());
  if (data && data.getRank() == 0)
    return emitOptionalError(loc, "gather_elements data must have rank >= 1");
  if (data && failed(normalizeAxis(loc, adaptor.getAxis(), data.getRank())))
    return failure();
  if (!indices) {
    types.push_back(data ? Type(tensorOf(SmallVector<int64_t>(data.getRank(), kDyn), elt))
                         : Type(UnrankedTensorType::get(elt)));
    return success();
  }
  types.push_back(tensorOf(indices.getShape(), elt));
  return success();
}

LogicalResult GatherElementsOp::verify() {
  auto data = dyn_cast<RankedTensorType>(getData().getType());
  auto indices = dyn_cast<RankedTensorType>(getIndices().getType());
  if (!data || !indices || data.getRank() != indices.getRank() || data.getRank() == 0)
    return success(); // reported by inference
  int64_t rank = data.getRank(), axis = int64_t(getAxis());
  if (axis < -rank || axis >= rank)
    return success();
  if (axis < 0)
    axis += rank;
  return verifyElementsIndices(*this, data, indices, getIndices(), axis);
}

OpFoldResult GatherElementsOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- gather_nd -----------------------------------------------------------===//

LogicalResult GatherNDOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getData());
  auto data = dyn_cast<RankedTensorType>(adaptor.getData().getType());
  auto indices = dyn_cast<RankedTensorType>(adaptor.getIndices().getType());
  int64_t b = adaptor.getBatchDims();
  if (data && data.getRank() == 0)
    return emitOptionalError(loc, "gather_nd data must have rank >= 1");
  if (indices && indices.getRank() == 0)
    return emitOptionalError(loc, "gather_nd indices must have rank >= 1");
  if (b < 0)
    return emitOptionalError(loc, "batch_dims must be >= 0, got ", b);
  if ((data && b >= data.getRank()) || (indices && b >= indices.getRank()))
    return emitOptionalError(loc, "batch_dims ", b, " must be less than the ranks of data (",
                             data ? data.getRank() : kDyn, ") and indices (",
                             indices ? indices.getRank() : kDyn, ")");
  if (!data || !indices || indices.isDynamicDim(indices.getRank() - 1)) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  int64_t r = data.getRank(), q = indices.getRank();
  int64_t m = indices.getDimSize(q - 1);
  if (m < 1 || m > r - b)
    return emitOptionalError(loc, "indices last dim ", m, " must be in [1, ", r - b,
                             "] (data rank ", r, " minus batch_dims ", b, ")");
  // indices.shape[:-1] + data.shape[b+m:]; the batch dims agree in both.
  SmallVector<int64_t> out(indices.getShape().drop_back());
  for (int64_t d = 0; d < b; ++d) {
    int64_t x = data.getDimSize(d), y = indices.getDimSize(d);
    if (!ShapedType::isDynamic(x) && !ShapedType::isDynamic(y) && x != y)
      return emitOptionalError(loc, "batch dim ", d, " is ", x, " in data but ", y, " in indices");
    if (ShapedType::isDynamic(y))
      out[d] = x;
  }
  llvm::append_range(out, data.getShape().drop_front(b + m));
  types.push_back(tensorOf(out, elt));
  return success();
}

LogicalResult GatherNDOp::verify() {
  // Inference checks ranks and batch dims; here only constant index tuples.
  auto data = dyn_cast<RankedTensorType>(getData().getType());
  auto indices = dyn_cast<RankedTensorType>(getIndices().getType());
  if (!data || !indices || indices.getRank() == 0 || indices.isDynamicDim(indices.getRank() - 1))
    return success();
  int64_t b = int64_t(getBatchDims()), m = indices.getDimSize(indices.getRank() - 1);
  if (b < 0 || m < 1 || b + m > data.getRank())
    return success();
  std::optional<SmallVector<int64_t>> values = getConstantInts(getIndices());
  if (!values)
    return success();
  for (auto [i, v] : llvm::enumerate(*values)) {
    int64_t dim = data.getDimSize(b + int64_t(i) % m);
    if (!ShapedType::isDynamic(dim) && (v < -dim || v >= dim))
      return emitOpError("index ") << v << " is out of range [" << -dim << ", " << dim
                                   << ") for data dim " << b + int64_t(i) % m;
  }
  return success();
}

OpFoldResult GatherNDOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- scatter_elements, scatter_nd -----------------------------------------===//

static LogicalResult verifyReduction(Operation *op, StringRef reduction) {
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return op->emitOpError("reduction must be none, add, mul, max or min, got '")
           << reduction << "'";
  return success();
}

/// Scatters return data's type; updates must hold data's element type.
static LogicalResult inferScatterResult(std::optional<Location> loc, Value data, Value updates,
                                        SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(data);
  if (elementTypeOf(updates) != elt)
    return emitOptionalError(loc, "scatter updates have element type ", elementTypeOf(updates),
                             ", data has ", elt);
  types.push_back(data.getType());
  return success();
}

LogicalResult ScatterElementsOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                                  Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferScatterResult(loc, adaptor.getData(), adaptor.getUpdates(), types);
}

LogicalResult ScatterElementsOp::verify() {
  if (failed(verifyReduction(*this, getReduction())))
    return failure();
  auto data = dyn_cast<RankedTensorType>(getData().getType());
  auto indices = dyn_cast<RankedTensorType>(getIndices().getType());
  auto updates = dyn_cast<RankedTensorType>(getUpdates().getType());
  if (indices && updates &&
      !areCompatibleTensorTypes(TypeRange{tensorOf(indices.getShape(), updates.getElementType())},
                                TypeRange{updates}))
    return emitOpError("updates have shape ")
           << shapeToString(updates.getShape()) << ", indices have "
           << shapeToString(indices.getShape());
  if (!data || !indices)
    return success();
  int64_t rank = data.getRank(), axis = int64_t(getAxis());
  if (rank == 0)
    return emitOpError("data must have rank >= 1");
  if (indices.getRank() != rank)
    return emitOpError("indices rank ") << indices.getRank() << " differs from data rank " << rank;
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  return verifyElementsIndices(*this, data, indices, getIndices(), axis);
}

OpFoldResult ScatterElementsOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

LogicalResult ScatterNDOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferScatterResult(loc, adaptor.getData(), adaptor.getUpdates(), types);
}

LogicalResult ScatterNDOp::verify() {
  if (failed(verifyReduction(*this, getReduction())))
    return failure();
  auto data = dyn_cast<RankedTensorType>(getData().getType());
  auto indices = dyn_cast<RankedTensorType>(getIndices().getType());
  auto updates = dyn_cast<RankedTensorType>(getUpdates().getType());
  if (data && data.getRank() == 0)
    return emitOpError("data must have rank >= 1");
  if (indices && indices.getRank() == 0)
    return emitOpError("indices must have rank >= 1");
  if (!data || !indices || indices.isDynamicDim(indices.getRank() - 1))
    return success();
  int64_t r = data.getRank(), q = indices.getRank(), k = indices.getDimSize(q - 1);
  if (k < 1 || k > r)
    return emitOpError("indices last dim ") << k << " must be in [1, " << r << "] (data rank)";
  // updates.shape == indices.shape[:-1] + data.shape[k:]
  SmallVector<int64_t> expected(indices.getShape().drop_back());
  llvm::append_range(expected, data.getShape().drop_front(k));
  auto dimsAgree = [](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  if (updates && (updates.getRank() != int64_t(expected.size()) ||
                  !llvm::all_of(llvm::zip(updates.getShape(), expected), [&](auto dims) {
                    return dimsAgree(std::get<0>(dims), std::get<1>(dims));
                  })))
    return emitOpError("updates have shape ")
           << shapeToString(updates.getShape()) << ", expected indices.shape[:-1] + data.shape["
           << k << ":] = " << shapeToString(expected);
  std::optional<SmallVector<int64_t>> values = getConstantInts(getIndices());
  if (!values)
    return success();
  for (auto [i, v] : llvm::enumerate(*values)) {
    int64_t dim = data.getDimSize(int64_t(i) % k);
    if (!ShapedType::isDynamic(dim) && (v < -dim || v >= dim))
      return emitOpError("index ") << v << " is out of range [" << -dim << ", " << dim
                                   << ") for data dim " << int64_t(i) % k;
  }
  return success();
}

OpFoldResult ScatterNDOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- one_hot -------------------------------------------------------------===//

LogicalResult OneHotOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getValues());
  auto indices = dyn_cast<RankedTensorType>(adaptor.getIndices().getType());
  if (!indices) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  FailureOr<int64_t> axis = normalizeAxis(loc, adaptor.getAxis(), indices.getRank() + 1);
  if (failed(axis))
    return failure();
  int64_t depth = kDyn;
  if (std::optional<double> d = getConstantScalar(adaptor.getDepth())) {
    if (*d < 1)
      return emitOptionalError(loc, "one_hot depth must be positive, got ", *d);
    depth = int64_t(*d);
  }
  SmallVector<int64_t> out(indices.getShape());
  out.insert(out.begin() + *axis, depth);
  types.push_back(tensorOf(out, elt));
  return success();
}

LogicalResult OneHotOp::verify() {
  auto depth = dyn_cast<RankedTensorType>(getDepth().getType());
  if (depth && depth.hasStaticShape() && depth.getNumElements() != 1)
    return emitOpError("depth must hold one element, got shape ")
           << shapeToString(depth.getShape());
  auto values = dyn_cast<RankedTensorType>(getValues().getType());
  if (values && values.hasStaticShape() && values.getNumElements() != 2)
    return emitOpError("values must be [off, on], got shape ") << shapeToString(values.getShape());
  return success();
}

OpFoldResult OneHotOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- non_zero ------------------------------------------------------------===//

/// Which elements of a dense constant are nonzero (nullopt for other attrs).
static std::optional<SmallVector<bool>> nonZeroMask(ElementsAttr attr) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  SmallVector<bool> mask;
  if (isa<FloatType>(dense.getElementType()))
    for (const APFloat &v : dense.getValues<APFloat>())
      mask.push_back(!v.isZero());
  else if (isa<IntegerType>(dense.getElementType()))
    for (const APInt &v : dense.getValues<APInt>())
      mask.push_back(!v.isZero());
  else
    return std::nullopt;
  return mask;
}

LogicalResult NonZeroOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type i64 = IntegerType::get(ctx, 64);
  auto x = dyn_cast<RankedTensorType>(adaptor.getX().getType());
  if (!x) {
    types.push_back(UnrankedTensorType::get(i64));
    return success();
  }
  int64_t count = kDyn;
  if (ElementsAttr c = getConstantElements(adaptor.getX()))
    if (std::optional<SmallVector<bool>> mask = nonZeroMask(c))
      count = llvm::count(*mask, true);
  types.push_back(tensorOf({std::max<int64_t>(x.getRank(), 1), count}, i64));
  return success();
}

OpFoldResult NonZeroOp::fold(FoldAdaptor adaptor) {
  auto x = dyn_cast_or_null<ElementsAttr>(adaptor.getX());
  auto type = dyn_cast<RankedTensorType>(getType());
  if (!x || !type || !type.hasStaticShape())
    return {};
  ArrayRef<int64_t> shape = x.getShapedType().getShape();
  std::optional<SmallVector<bool>> mask = nonZeroMask(x);
  if (!mask)
    return {};
  int64_t rank = std::max<int64_t>(int64_t(shape.size()), 1), count = type.getDimSize(1);
  SmallVector<int64_t> coords(size_t(rank * count));
  int64_t column = 0;
  for (auto [flat, nonzero] : llvm::enumerate(*mask)) {
    if (!nonzero)
      continue;
    int64_t rest = int64_t(flat);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      coords[size_t(d * count + column)] = rest % shape[size_t(d)];
      rest /= shape[size_t(d)];
    }
    ++column; // a scalar's one coordinate stays 0
  }
  return DenseIntElementsAttr::get(type, coords);
}
