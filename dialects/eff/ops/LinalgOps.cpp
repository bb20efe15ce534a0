//===- LinalgOps.cpp - matmul, gemm ----------------------------------------===//
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

static bool knownAndDiffer(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// All operands (null = absent) share the first one's element type.
static LogicalResult checkSameElementType(std::optional<Location> loc,
                                          ArrayRef<std::pair<StringRef, Value>> operands) {
  Type elt = cast<TensorType>(operands.front().second.getType()).getElementType();
  for (auto [name, v] : operands.drop_front()) {
    if (!v)
      continue;
    Type other = cast<TensorType>(v.getType()).getElementType();
    if (other != elt)
      return emitOptionalError(loc, name, " has element type ", other, " but ",
                               operands.front().first, " has ", elt);
  }
  return success();
}

//===- matmul --------------------------------------------------------------===//

LogicalResult MatMulOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(checkSameElementType(loc, {{"a", adaptor.getA()}, {"b", adaptor.getB()}})))
    return failure();
  Type elt = cast<TensorType>(adaptor.getA().getType()).getElementType();
  auto a = dyn_cast<RankedTensorType>(adaptor.getA().getType());
  auto b = dyn_cast<RankedTensorType>(adaptor.getB().getType());
  if ((a && a.getRank() == 0) || (b && b.getRank() == 0))
    return emitOptionalError(loc, "matmul operands must be at least 1-D, got a scalar");
  if (!a || !b) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  // numpy: a 1-D a is [1, K], a 1-D b is [K, 1]; the added dim is dropped.
  // transB: b is a 2-D [N, K] (its [K, N] transpose is the operand).
  SmallVector<int64_t> as(a.getShape()), bs(b.getShape());
  const int64_t transB = int64_t(adaptor.getTransB());
  if (transB != 0 && transB != 1)
    return emitOptionalError(loc, "matmul transB must be 0 or 1, got ", transB);
  if (transB == 1) {
    if (bs.size() != 2)
      return emitOptionalError(loc, "matmul transB = 1 needs a 2-D b ([N, K]), got rank ",
                               bs.size());
    std::swap(bs[0], bs[1]);
  }
  bool aVector = as.size() == 1, bVector = bs.size() == 1;
  if (aVector)
    as.insert(as.begin(), 1);
  if (bVector)
    bs.push_back(1);
  int64_t ka = as.back(), kb = bs[bs.size() - 2];
  if (knownAndDiffer(ka, kb))
    return emitOptionalError(loc, "contraction dims differ: a has K = ", ka, " but b has K = ", kb,
                             " (shapes [", shapeToString(a.getShape()), "] and [",
                             shapeToString(b.getShape()), "])");
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(loc, {ArrayRef(as).drop_back(2), ArrayRef(bs).drop_back(2)});
  if (failed(shape))
    return failure();
  if (!aVector)
    shape->push_back(as[as.size() - 2]);
  if (!bVector)
    shape->push_back(bs.back());
  types.push_back(tensorOf(*shape, elt));
  return success();
}

OpFoldResult MatMulOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- gemm ----------------------------------------------------------------===//

LogicalResult GemmOp::verify() {
  for (auto [name, value] : {std::pair<StringRef, int64_t>{"transA", int64_t(getTransA())},
                             std::pair<StringRef, int64_t>{"transB", int64_t(getTransB())}})
    if (value != 0 && value != 1)
      return emitOpError() << name << " must be 0 or 1, got " << value;
  return success();
}

LogicalResult GemmOp::inferResultTypes(MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  if (failed(checkSameElementType(
          loc, {{"A", adaptor.getA()}, {"B", adaptor.getB()}, {"C", adaptor.getC()}})))
    return failure();
  Type elt = cast<TensorType>(adaptor.getA().getType()).getElementType();
  auto a = dyn_cast<RankedTensorType>(adaptor.getA().getType());
  auto b = dyn_cast<RankedTensorType>(adaptor.getB().getType());
  if (a && a.getRank() != 2)
    return emitOptionalError(loc, "A must be 2-D, got rank ", a.getRank());
  if (b && b.getRank() != 2)
    return emitOptionalError(loc, "B must be 2-D, got rank ", b.getRank());
  bool transA = adaptor.getTransA() != 0, transB = adaptor.getTransB() != 0;
  int64_t dyn = ShapedType::kDynamic;
  int64_t m = a ? a.getDimSize(transA ? 1 : 0) : dyn, ka = a ? a.getDimSize(transA ? 0 : 1) : dyn;
  int64_t kb = b ? b.getDimSize(transB ? 1 : 0) : dyn, n = b ? b.getDimSize(transB ? 0 : 1) : dyn;
  if (knownAndDiffer(ka, kb))
    return emitOptionalError(loc, "contraction dims differ: op(A) has K = ", ka,
                             " but op(B) has K = ", kb);
  if (Value c = adaptor.getC()) {
    if (auto ct = dyn_cast<RankedTensorType>(c.getType())) {
      if (!isUnidirectionallyBroadcastable(ct.getShape(), {m, n}))
        return emitOptionalError(loc, "C of shape [", shapeToString(ct.getShape()),
                                 "] does not broadcast to [", shapeToString({m, n}), "]");
      // C is only stretched, so a C dim other than 1 fixes M or N.
      ArrayRef<int64_t> cs = ct.getShape();
      if (cs.size() == 2 && ShapedType::isDynamic(m) && cs[0] != 1)
        m = cs[0];
      if (!cs.empty() && ShapedType::isDynamic(n) && cs.back() != 1)
        n = cs.back();
    }
  }
  types.push_back(tensorOf({m, n}, elt));
  return success();
}

OpFoldResult GemmOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
