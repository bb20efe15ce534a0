//===- ShapeInference.cpp - helpers for eff result-type inference ---------===//
#include "dialects/eff/ShapeInference.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace mlir::eff {

bool areCompatibleTensorTypes(TypeRange lhs, TypeRange rhs) {
  if (lhs.size() != rhs.size())
    return false;
  for (auto [l, r] : llvm::zip(lhs, rhs)) {
    auto lt = dyn_cast<TensorType>(l), rt = dyn_cast<TensorType>(r);
    if (!lt || !rt) {
      if (l != r)
        return false;
      continue;
    }
    if (lt.getElementType() != rt.getElementType())
      return false;
    if (failed(verifyCompatibleShape(lt, rt)))
      return false;
  }
  return true;
}

FailureOr<SmallVector<int64_t>> broadcastShapes(std::optional<Location> loc,
                                                ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<int64_t> result(rank, 1);
  // Tracks dims that are unknown but may still be fixed by another operand.
  SmallVector<bool> dynamic(rank, false);
  for (ArrayRef<int64_t> s : shapes) {
    size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i];
      int64_t &r = result[offset + i];
      if (ShapedType::isDynamic(d)) {
        if (r == 1)
          dynamic[offset + i] = true;
        continue;
      }
      if (d == 1)
        continue;
      if (r == 1 || dynamic[offset + i]) {
        r = d;
        dynamic[offset + i] = false;
        continue;
      }
      if (r != d) {
        std::string a, b;
        llvm::raw_string_ostream as(a), bs(b);
        llvm::interleave(shapes.front(), as, "x");
        llvm::interleave(shapes.back(), bs, "x");
        return emitOptionalError(loc, "operand shapes are not broadcast-compatible: dim ",
                                 offset + i, " is ", r, " in one operand and ", d,
                                 " in another (shapes [", a, "] ... [", b, "])");
      }
    }
  }
  for (size_t i = 0; i < rank; ++i)
    if (dynamic[i])
      result[i] = ShapedType::kDynamic;
  return result;
}

LogicalResult inferBroadcastResult(MLIRContext *ctx, std::optional<Location> loc,
                                   ValueRange operands, bool boolResult,
                                   SmallVectorImpl<Type> &types) {
  if (operands.empty())
    return emitOptionalError(loc, "expected at least one operand");
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : operands) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t) {
      Type elt = boolResult ? IntegerType::get(ctx, 1)
                            : cast<TensorType>(operands.front().getType()).getElementType();
      types.push_back(UnrankedTensorType::get(elt));
      return success();
    }
    shapes.push_back(t.getShape());
  }
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(loc, shapes);
  if (failed(shape))
    return failure();
  Type elt = boolResult ? IntegerType::get(ctx, 1)
                        : cast<TensorType>(operands.front().getType()).getElementType();
  types.push_back(RankedTensorType::get(*shape, elt));
  return success();
}

FailureOr<int64_t> normalizeAxis(std::optional<Location> loc, int64_t axis, int64_t rank,
                                 StringRef what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return emitOptionalError(loc, what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

ElementsAttr getConstantElements(Value value) {
  Attribute attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return {};
  return dyn_cast<ElementsAttr>(attr);
}

std::optional<SmallVector<int64_t>> getConstantInts(Value value) {
  ElementsAttr attr = getConstantElements(value);
  if (!attr || !isa<IntegerType>(attr.getElementType()))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    SmallVector<int64_t> out;
    for (const APInt &v : dense.getValues<APInt>())
      out.push_back(v.getSExtValue());
    return out;
  }
  auto values = attr.tryGetValues<APInt>();
  if (failed(values))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &v : *values)
    out.push_back(v.getSExtValue());
  return out;
}

std::optional<double> getConstantScalar(Value value) {
  ElementsAttr attr = getConstantElements(value);
  if (!attr || attr.getNumElements() != 1)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType()))
    return (*dense.getValues<APFloat>().begin()).convertToDouble();
  if (isa<IntegerType>(dense.getElementType()))
    return double((*dense.getValues<APInt>().begin()).getSExtValue());
  return std::nullopt;
}

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

} // namespace mlir::eff
