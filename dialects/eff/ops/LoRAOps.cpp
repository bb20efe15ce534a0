//===- LoRAOps.cpp - lora_linear, lora_expand -------------------------------===//
// Result types are simple (x's rows with w's N, or acc's type); the
// verifiers do the work: the decomposition and the kernels trust K, N, R, n
// and the row grouping, so every disagreement is an error naming the dims.
#include "dialects/eff/EffOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

RankedTensorType rankedOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

/// Dim i of `t` (negative counts from the back), or dynamic when unranked.
int64_t dimOf(RankedTensorType t, int64_t i) {
  if (!t)
    return kDynamic;
  return t.getDimSize(i < 0 ? t.getRank() + i : i);
}

Type elementTypeOf(Value v) { return cast<TensorType>(v.getType()).getElementType(); }

/// One logical dim (K, N, R, n) as several operands state it: the first
/// known value wins and a later known value that differs is an error naming
/// both places ("b has N = 16 but w has N = 32").
class DimAgreement {
public:
  DimAgreement(Operation *op, StringRef dim) : op(op), dim(dim) {}

  LogicalResult add(StringRef where, int64_t value) {
    if (ShapedType::isDynamic(value))
      return success();
    if (ShapedType::isDynamic(known)) {
      known = value;
      source = where.str();
      return success();
    }
    if (value != known)
      return op->emitOpError() << where << " has " << dim << " = " << value << " but " << source
                               << " has " << dim << " = " << known;
    return success();
  }
  int64_t value() const { return known; }

private:
  Operation *op;
  StringRef dim;
  int64_t known = kDynamic;
  std::string source;
};

/// Product of all dims but the last (the rows), dynamic when one is unknown.
int64_t rowsOf(RankedTensorType t) {
  if (!t)
    return kDynamic;
  int64_t rows = 1;
  for (int64_t d : t.getShape().drop_back()) {
    if (ShapedType::isDynamic(d))
      return kDynamic;
    rows *= d;
  }
  return rows;
}

LogicalResult verifyScale(Operation *op, double scale) {
  if (!std::isfinite(scale))
    return op->emitOpError("scale must be finite, got ") << scale;
  return success();
}

LogicalResult verifySameElementType(Operation *op, ArrayRef<std::pair<StringRef, Value>> operands) {
  auto [refName, ref] = operands.front();
  for (auto [name, v] : operands.drop_front())
    if (elementTypeOf(v) != elementTypeOf(ref))
      return op->emitOpError() << name << " has element type " << elementTypeOf(v) << " but "
                               << refName << " has " << elementTypeOf(ref);
  return success();
}

/// b's rank (and a's, when given) follows from whether lora_index selects
/// among stacked adapters.
LogicalResult verifyAdapterRanks(Operation *op, bool stacked,
                                 ArrayRef<std::pair<StringRef, RankedTensorType>> adapters) {
  for (auto [name, t] : adapters) {
    if (!t)
      continue;
    StringRef layout =
        name == "a" ? (stacked ? "[n, K, R]" : "[K, R]") : (stacked ? "[n, R, N]" : "[R, N]");
    if (stacked && t.getRank() != 3)
      return op->emitOpError() << "with lora_index, " << name << " must be 3-D " << layout
                               << " (stacked adapters), got rank " << t.getRank();
    if (!stacked && t.getRank() != 2)
      return op->emitOpError() << "without lora_index, " << name << " must be 2-D " << layout
                               << " (one adapter), got rank " << t.getRank()
                               << (t.getRank() == 3 ? " (stacked adapters need lora_index)" : "");
  }
  return success();
}

/// lora_index is 1-D [batch] and splits the rows into equal groups.
LogicalResult verifyLoRAIndex(Operation *op, Value loraIndex, int64_t rows) {
  auto index = rankedOf(loraIndex);
  if (!index)
    return success();
  if (index.getRank() != 1)
    return op->emitOpError("lora_index must be 1-D [batch], got rank ") << index.getRank();
  int64_t batch = index.getDimSize(0);
  if (ShapedType::isDynamic(batch) || ShapedType::isDynamic(rows))
    return success();
  if (batch == 0 ? rows != 0 : rows % batch != 0)
    return op->emitOpError() << "the " << rows << " rows do not split into lora_index's " << batch
                             << " equal groups";
  return success();
}

} // namespace

//===- lora_linear ---------------------------------------------------------===//

LogicalResult LoRALinearOp::verify() {
  if (failed(verifyScale(*this, getScale().convertToDouble())) ||
      failed(verifySameElementType(*this,
                                   {{"x", getX()}, {"w", getW()}, {"a", getA()}, {"b", getB()}})))
    return failure();
  auto x = rankedOf(getX()), w = rankedOf(getW()), a = rankedOf(getA()), b = rankedOf(getB());
  bool stacked = bool(getLoraIndex());
  if (x && x.getRank() < 1)
    return emitOpError("x must have rank >= 1 ([..., K]), got a scalar");
  if (w && w.getRank() != 2)
    return emitOpError("w must be 2-D [K, N], got rank ") << w.getRank();
  if (failed(verifyAdapterRanks(*this, stacked, {{"a", a}, {"b", b}})))
    return failure();
  // a is [K, R] or [n, K, R]; b is [R, N] or [n, R, N].
  DimAgreement k(*this, "K"), n(*this, "N"), r(*this, "R"), count(*this, "n (adapters)");
  if (failed(k.add("x", dimOf(x, -1))) || failed(k.add("w", dimOf(w, 0))) ||
      failed(k.add("a", dimOf(a, -2))) || failed(n.add("w", dimOf(w, 1))) ||
      failed(n.add("b", dimOf(b, -1))) || failed(r.add("a", dimOf(a, -1))) ||
      failed(r.add("b", dimOf(b, -2))))
    return failure();
  if (stacked && (failed(count.add("a", dimOf(a, 0))) || failed(count.add("b", dimOf(b, 0)))))
    return failure();
  return verifyLoRAIndex(*this, getLoraIndex(), rowsOf(x));
}

LogicalResult LoRALinearOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getX());
  auto x = rankedOf(adaptor.getX());
  if (!x) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  if (x.getRank() == 0)
    return emitOptionalError(loc, "x must have rank >= 1 ([..., K]), got a scalar");
  // N from w [K, N], else from b [..., N].
  auto w = rankedOf(adaptor.getW()), b = rankedOf(adaptor.getB());
  int64_t n = w && w.getRank() == 2 ? w.getDimSize(1) : kDynamic;
  if (ShapedType::isDynamic(n) && b && b.getRank() >= 2)
    n = b.getShape().back();
  SmallVector<int64_t> shape(x.getShape().drop_back());
  shape.push_back(n);
  types.push_back(tensorOf(shape, elt));
  return success();
}

OpFoldResult LoRALinearOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- lora_expand ---------------------------------------------------------===//

LogicalResult LoRAExpandOp::verify() {
  int64_t offset = int64_t(getTOffset());
  if (offset < 0)
    return emitOpError("t_offset must be >= 0, got ") << offset;
  if (failed(verifyScale(*this, getScale().convertToDouble())) ||
      failed(verifySameElementType(*this, {{"acc", getAcc()}, {"t", getT()}, {"b", getB()}})))
    return failure();
  auto acc = rankedOf(getAcc()), t = rankedOf(getT()), b = rankedOf(getB());
  bool stacked = bool(getLoraIndex());
  if (acc && acc.getRank() < 1)
    return emitOpError("acc must have rank >= 1 ([..., N]), got a scalar");
  if (t && t.getRank() < 1)
    return emitOpError("t must have rank >= 1 ([..., n * R]), got a scalar");
  if (failed(verifyAdapterRanks(*this, stacked, {{"b", b}})))
    return failure();
  // t has acc's rows: the same leading dims.
  if (acc && t) {
    if (t.getRank() != acc.getRank())
      return emitOpError("t must have acc's rank ")
             << acc.getRank() << " ([..., n * R]), got rank " << t.getRank();
    for (int64_t d = 0; d + 1 < acc.getRank(); ++d)
      if (!ShapedType::isDynamic(acc.getDimSize(d)) && !ShapedType::isDynamic(t.getDimSize(d)) &&
          acc.getDimSize(d) != t.getDimSize(d))
        return emitOpError("t of shape [")
               << shapeToString(t.getShape()) << "] does not have acc's rows: acc is ["
               << shapeToString(acc.getShape()) << "] (dim " << d << " differs)";
  }
  DimAgreement n(*this, "N");
  if (failed(n.add("acc", dimOf(acc, -1))) || failed(n.add("b", dimOf(b, -1))))
    return failure();
  // The adapters read columns [t_offset, t_offset + n * R) of t.
  int64_t r = dimOf(b, -2), count = stacked ? dimOf(b, 0) : 1, columns = dimOf(t, -1);
  if (!ShapedType::isDynamic(r) && !ShapedType::isDynamic(count) &&
      !ShapedType::isDynamic(columns) && offset + count * r > columns)
    return emitOpError("t has ") << columns << " columns but the adapters read columns [" << offset
                                 << ", " << offset + count * r
                                 << ") (t_offset + n * R with n = " << count << ", R = " << r
                                 << ")";
  return verifyLoRAIndex(*this, getLoraIndex(), rowsOf(acc ? acc : t));
}

LogicalResult LoRAExpandOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto acc = rankedOf(adaptor.getAcc());
  if (!acc) {
    types.push_back(adaptor.getAcc().getType());
    return success();
  }
  if (acc.getRank() == 0)
    return emitOptionalError(loc, "acc must have rank >= 1 ([..., N]), got a scalar");
  // A dynamic N is known from b [..., N].
  SmallVector<int64_t> shape(acc.getShape());
  auto b = rankedOf(adaptor.getB());
  if (ShapedType::isDynamic(shape.back()) && b && b.getRank() >= 2)
    shape.back() = b.getShape().back();
  types.push_back(tensorOf(shape, acc.getElementType()));
  return success();
}

OpFoldResult LoRAExpandOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
