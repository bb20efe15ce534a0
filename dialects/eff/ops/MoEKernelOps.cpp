//===- MoEKernelOps.cpp - moe_permute, moe_expert_gemm, moe_combine ---------===//
// The stages eff-lower-moe builds trust their sizes: each shape follows from
// the others, and a disagreement is an error naming the operand.
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

RankedTensorType rankedOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

bool known(int64_t d) { return !ShapedType::isDynamic(d); }

/// `t` has rank `rank` (an unranked or absent `t` passes).
LogicalResult expectRank(Operation *op, StringRef name, StringRef layout, RankedTensorType t,
                         int64_t rank) {
  if (t && t.getRank() != rank)
    return op->emitOpError() << name << " must be " << layout << ", got rank " << t.getRank();
  return success();
}

/// Dim `d` of `t` equals `want` where both are known.
LogicalResult expectDim(Operation *op, StringRef name, RankedTensorType t, int64_t d, int64_t want,
                        StringRef what) {
  if (!t || !known(want) || !known(t.getDimSize(d)) || t.getDimSize(d) == want)
    return success();
  return op->emitOpError() << name << " dim " << d << " must be " << want << " (" << what
                           << "), got " << t.getDimSize(d);
}

int64_t mul(int64_t a, int64_t b) { return known(a) && known(b) ? a * b : kDynamic; }

} // namespace

//===- moe_permute ----------------------------------------------------------===//

LogicalResult MoEPermuteOp::verify() {
  if (int64_t(getNumExperts()) < 1)
    return emitOpError("num_experts must be >= 1, got ") << int64_t(getNumExperts());
  return expectRank(*this, "experts", "[T, k]", rankedOf(getExperts()), 2);
}

LogicalResult MoEPermuteOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto experts = dyn_cast<RankedTensorType>(adaptor.getExperts().getType());
  int64_t slots = experts && experts.getRank() == 2
                      ? mul(experts.getDimSize(0), experts.getDimSize(1))
                      : kDynamic;
  int64_t n = known(slots) ? int64_t(adaptor.getNumExperts()) + 1 + 2 * slots : kDynamic;
  types.push_back(RankedTensorType::get({n}, IntegerType::get(ctx, 32)));
  return success();
}

OpFoldResult MoEPermuteOp::fold(FoldAdaptor) { return {}; }

//===- moe_expert_gemm ------------------------------------------------------===//

namespace {

/// The output rows of an eff.moe_expert_gemm (dynamic when unknown).
int64_t expertGemmRows(StringRef rows, RankedTensorType a, RankedTensorType w,
                       RankedTensorType index) {
  if (rows == "dense")
    return a && a.getRank() == 2 ? a.getDimSize(0) : kDynamic;
  if (rows == "slots")
    return index && index.getRank() == 2 ? mul(index.getDimSize(0), index.getDimSize(1)) : kDynamic;
  // sorted: E + 1 + 2 T k entries with E = w's experts.
  if (!index || index.getRank() != 1 || !known(index.getDimSize(0)) || !w || w.getRank() != 3 ||
      !known(w.getDimSize(0)))
    return kDynamic;
  int64_t rest = index.getDimSize(0) - w.getDimSize(0) - 1;
  return rest >= 0 && rest % 2 == 0 ? rest / 2 : kDynamic;
}

} // namespace

LogicalResult MoEExpertGemmOp::verify() {
  StringRef rows = getRows();
  if (rows != "sorted" && rows != "slots" && rows != "dense")
    return emitOpError("rows must be sorted, slots or dense, got '") << rows << "'";
  if (getGated() != 0 && getGated() != 1)
    return emitOpError("gated must be 0 or 1, got ") << getGated();
  if (getActivation() != "silu" && getActivation() != "gelu")
    return emitOpError("activation must be silu or gelu, got '") << getActivation() << "'";
  if (getTopK() < 1)
    return emitOpError("top_k must be >= 1, got ") << getTopK();
  if (getA().getType().getElementType() != getW().getType().getElementType())
    return emitOpError("w must have a's element type ") << getA().getType().getElementType();
  RankedTensorType a = rankedOf(getA()), w = rankedOf(getW()), index = rankedOf(getIndex());
  if (failed(expectRank(*this, "a", "[rows, KD]", a, 2)) ||
      failed(expectRank(*this, "w", "[G, N, KD]", w, 3)))
    return failure();
  if (a && w && failed(expectDim(*this, "w", w, 2, a.getDimSize(1), "a's KD")))
    return failure();
  if (getGated() && w && known(w.getDimSize(1)) && w.getDimSize(1) % 2)
    return emitOpError("a gated w is [G, 2N, KD]: its dim 1 must be even, got ") << w.getDimSize(1);
  if (rows == "dense") {
    if (getIndex())
      return emitOpError("dense rows take no index");
    if (w && failed(expectDim(*this, "w", w, 0, 1, "one expert with dense rows")))
      return failure();
  } else {
    if (!getIndex())
      return emitOpError(rows == "sorted" ? "sorted rows need eff.moe_permute's order as index"
                                          : "slot rows need eff.moe_route's experts as index");
    Type elt = getIndex().getType().getElementType();
    if (rows == "sorted" && (!elt.isInteger(32) || (index && index.getRank() != 1)))
      return emitOpError("sorted rows need an int32 order [E + 1 + 2 T k] as index");
    if (rows == "slots" && (!elt.isInteger(64) || (index && index.getRank() != 2)))
      return emitOpError("slot rows need int64 experts [T, k] as index");
    if (rows == "slots" && failed(expectDim(*this, "index", index, 1, getTopK(), "top_k")))
      return failure();
    if (rows == "sorted" && index && w && known(index.getDimSize(0)) && known(w.getDimSize(0)) &&
        !known(expertGemmRows(rows, a, w, index)))
      return emitOpError("order has ")
             << index.getDimSize(0) << " entries, not E + 1 + 2 T k for E = " << w.getDimSize(0);
    // The down GEMM reads its own rows of a (h).
    if (!getGated() && a &&
        failed(expectDim(*this, "a", a, 0, expertGemmRows(rows, a, w, index),
                         "one row per output row")))
      return failure();
  }
  return success();
}

LogicalResult MoEExpertGemmOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = dyn_cast<RankedTensorType>(adaptor.getA().getType());
  auto w = dyn_cast<RankedTensorType>(adaptor.getW().getType());
  auto index =
      adaptor.getIndex() ? dyn_cast<RankedTensorType>(adaptor.getIndex().getType()) : nullptr;
  bool gated = adaptor.getGated() != 0;
  int64_t n = w && w.getRank() == 3 ? w.getDimSize(1) : kDynamic;
  if (gated && known(n))
    n /= 2;
  int64_t rows = expertGemmRows(adaptor.getRows(), a, w, index);
  Type elt = gated ? cast<TensorType>(adaptor.getA().getType()).getElementType()
                   : Type(Float32Type::get(ctx));
  types.push_back(RankedTensorType::get({rows, n}, elt));
  return success();
}

OpFoldResult MoEExpertGemmOp::fold(FoldAdaptor) { return {}; }

//===- moe_combine ----------------------------------------------------------===//

LogicalResult MoECombineOp::verify() {
  int64_t E = int64_t(getNumExperts());
  if (E < 1)
    return emitOpError("num_experts must be >= 1, got ") << E;
  RankedTensorType x = rankedOf(getX()), z = rankedOf(getZ()), w = rankedOf(getWeights()),
                   order = rankedOf(getOrder()), zs = rankedOf(getSharedZ()),
                   gate = rankedOf(getSharedGate());
  if (failed(expectRank(*this, "x", "[T, H]", x, 2)) ||
      failed(expectRank(*this, "z", "[T k, H]", z, 2)) ||
      failed(expectRank(*this, "weights", "[T, k]", w, 2)) ||
      failed(expectRank(*this, "order", "[E + 1 + 2 T k]", order, 1)) ||
      failed(expectRank(*this, "shared_z", "[T, H]", zs, 2)) ||
      failed(expectRank(*this, "shared_gate", "[1, H]", gate, 2)))
    return failure();
  if (getSharedGate() && !getSharedZ())
    return emitOpError("shared_gate needs shared_z (the shared expert)");
  if (getSharedGate() &&
      getSharedGate().getType().getElementType() != getX().getType().getElementType())
    return emitOpError("shared_gate must have x's element type");
  int64_t T = x ? x.getDimSize(0) : kDynamic, H = x ? x.getDimSize(1) : kDynamic;
  int64_t k = w ? w.getDimSize(1) : kDynamic;
  int64_t slots = mul(T, k);
  if (failed(expectDim(*this, "weights", w, 0, T, "x's T")) ||
      failed(expectDim(*this, "z", z, 0, slots, "T k")) ||
      failed(expectDim(*this, "z", z, 1, H, "x's H")) ||
      failed(expectDim(*this, "order", order, 0, known(slots) ? E + 1 + 2 * slots : kDynamic,
                       "E + 1 + 2 T k")) ||
      failed(expectDim(*this, "shared_z", zs, 0, T, "x's T")) ||
      failed(expectDim(*this, "shared_z", zs, 1, H, "x's H")) ||
      failed(expectDim(*this, "shared_gate", gate, 0, 1, "one row")) ||
      failed(expectDim(*this, "shared_gate", gate, 1, H, "x's H")))
    return failure();
  return success();
}

LogicalResult MoECombineOp::inferResultTypes(MLIRContext *, std::optional<Location>,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult MoECombineOp::fold(FoldAdaptor) { return {}; }
