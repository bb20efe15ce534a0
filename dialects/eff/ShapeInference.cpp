//===- ShapeInference.cpp - helpers for eff result-type inference ---------===//
#include "dialects/eff/ShapeInference.h"
#include "dialects/eff/EffOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

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
  if (!values)
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

bool isUnidirectionallyBroadcastable(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t offset = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[i], t = to[offset + i];
    if (f != 1 && !ShapedType::isDynamic(f) && !ShapedType::isDynamic(t) && f != t)
      return false;
  }
  return true;
}

std::string shapeToString(ArrayRef<int64_t> shape) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      "x");
  return out;
}

//===- partially known shape values ---------------------------------------===//

std::pair<int64_t, int64_t> resolveSliceDim(int64_t dim, int64_t start, int64_t end, int64_t step) {
  // Python's slice.indices(): the reference implementation slices with numpy.
  auto clamp = [&](int64_t v) {
    if (v < 0) {
      v += dim;
      if (v < 0)
        return step < 0 ? int64_t(-1) : int64_t(0);
      return v;
    }
    if (v >= dim)
      return step < 0 ? dim - 1 : dim;
    return v;
  };
  int64_t s = clamp(start), e = clamp(end);
  int64_t range = step > 0 ? e - s : s - e;
  // |INT64_MIN| overflows; any step longer than the dim takes one element.
  int64_t absStep = step == INT64_MIN ? INT64_MAX : (step < 0 ? -step : step);
  int64_t count = range > 0 ? 1 + (range - 1) / absStep : 0;
  return {s, count};
}

/// Static length of a scalar (1) or 1-D integer tensor, or nullopt.
static std::optional<int64_t> smallIntLength(Value value) {
  auto t = dyn_cast<RankedTensorType>(value.getType());
  if (!t || t.getRank() > 1 || !t.hasStaticShape() || !isa<IntegerType>(t.getElementType()))
    return std::nullopt;
  return t.getNumElements();
}

static PartialInts allKnown(ArrayRef<int64_t> values) {
  return PartialInts(values.begin(), values.end());
}

SmallVector<int64_t> partialIntsAsDims(const PartialInts &ints) {
  return llvm::map_to_vector(
      ints, [](std::optional<int64_t> v) { return v ? *v : ShapedType::kDynamic; });
}

std::optional<PartialInts> getPartialConstantInts(Value value) {
  // Shape values hold a few entries; never expand big integer tensors here.
  constexpr int64_t kMaxShapeValueElements = 1024;
  if (auto t = dyn_cast<RankedTensorType>(value.getType());
      t && t.hasStaticShape() && t.getNumElements() > kMaxShapeValueElements)
    return std::nullopt;
  if (std::optional<SmallVector<int64_t>> ints = getConstantInts(value))
    return allKnown(*ints);
  std::optional<int64_t> length = smallIntLength(value);
  if (!length)
    return std::nullopt;
  PartialInts unknown(*length, std::nullopt);
  Operation *op = value.getDefiningOp();
  if (!op)
    return unknown;

  if (auto shape = dyn_cast<ShapeOp>(op)) {
    auto t = dyn_cast<RankedTensorType>(shape.getData().getType());
    if (!t)
      return unknown;
    int64_t rank = t.getRank();
    auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
    int64_t s = clamp(shape.getStart());
    int64_t e = shape.getEnd() ? clamp(*shape.getEnd()) : rank;
    if (e - s != *length)
      return unknown;
    PartialInts dims;
    for (int64_t d : t.getShape().slice(s, e - s))
      dims.push_back(ShapedType::isDynamic(d) ? std::nullopt : std::optional<int64_t>(d));
    return dims;
  }
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    PartialInts out;
    for (Value in : concat.getInputs()) {
      std::optional<PartialInts> part = getPartialConstantInts(in);
      if (!part)
        return unknown;
      out.append(*part);
    }
    return out.size() == size_t(*length) ? out : unknown;
  }
  // Ops that keep the elements and only change a (small) shape.
  Value same;
  if (auto o = dyn_cast<UnsqueezeOp>(op))
    same = o.getData();
  else if (auto o = dyn_cast<SqueezeOp>(op))
    same = o.getData();
  else if (auto o = dyn_cast<ReshapeOp>(op))
    same = o.getData();
  else if (auto o = dyn_cast<FlattenOp>(op))
    same = o.getInput();
  else if (auto o = dyn_cast<IdentityOp>(op))
    same = o.getX();
  else if (auto o = dyn_cast<CastOp>(op);
           o && getElementTypeOrSelf(value.getType()).getIntOrFloatBitWidth() == 64 &&
           smallIntLength(o.getInput()))
    same = o.getInput(); // int -> int64 keeps every value
  if (same) {
    std::optional<PartialInts> in = getPartialConstantInts(same);
    return in && in->size() == size_t(*length) ? *in : unknown;
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    std::optional<PartialInts> data = getPartialConstantInts(gather.getData());
    std::optional<SmallVector<int64_t>> indices = getConstantInts(gather.getIndices());
    auto dataType = dyn_cast<RankedTensorType>(gather.getData().getType());
    if (!data || !indices || !dataType || dataType.getRank() != 1 ||
        indices->size() != size_t(*length))
      return unknown;
    int64_t n = int64_t(data->size());
    PartialInts out;
    for (int64_t i : *indices) {
      if (i < -n || i >= n)
        return unknown;
      out.push_back((*data)[i < 0 ? i + n : i]);
    }
    return out;
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    std::optional<PartialInts> data = getPartialConstantInts(slice.getData());
    std::optional<SmallVector<int64_t>> starts = getConstantInts(slice.getStarts());
    std::optional<SmallVector<int64_t>> ends = getConstantInts(slice.getEnds());
    std::optional<SmallVector<int64_t>> steps =
        slice.getSteps() ? getConstantInts(slice.getSteps()) : SmallVector<int64_t>{1};
    std::optional<SmallVector<int64_t>> axes =
        slice.getAxes() ? getConstantInts(slice.getAxes()) : SmallVector<int64_t>{0};
    // A 1-D data has one axis: every parameter holds one entry.
    if (!data || !starts || !ends || !steps || !axes || starts->size() != 1 || ends->size() != 1 ||
        steps->size() != 1 || axes->size() != 1 || ((*axes)[0] != 0 && (*axes)[0] != -1) ||
        (*steps)[0] == 0)
      return unknown;
    int64_t step = (*steps)[0];
    auto [first, count] = resolveSliceDim(int64_t(data->size()), (*starts)[0], (*ends)[0], step);
    if (count != *length)
      return unknown;
    PartialInts out;
    for (int64_t i = 0; i < count; ++i)
      out.push_back((*data)[first + i * step]);
    return out;
  }
  return unknown;
}

DenseIntElementsAttr getKnownIntsAttr(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() || !isa<IntegerType>(type.getElementType()))
    return {};
  std::optional<PartialInts> ints = getPartialConstantInts(value);
  if (!ints || int64_t(ints->size()) != type.getNumElements() ||
      llvm::any_of(*ints, [](std::optional<int64_t> v) { return !v; }))
    return {};
  unsigned width = type.getElementTypeBitWidth();
  SmallVector<APInt> values;
  for (std::optional<int64_t> v : *ints)
    values.push_back(APInt(width, uint64_t(*v), /*isSigned=*/true));
  return DenseIntElementsAttr::get(type, values);
}

} // namespace mlir::eff
