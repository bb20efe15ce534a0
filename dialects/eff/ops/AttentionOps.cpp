//===- AttentionOps.cpp - attention, attention_partial, attention_combine ===//
// eff.attention and eff.attention_partial take the same operands and
// attributes, checked by one verifier; passes and kernel emitters trust
// these ops, so every inconsistency is an error naming it.
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ops/AttentionOutPerm.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"

#include <array>
#include <cmath>
#include <string>

using namespace mlir;
using namespace mlir::eff;

static bool knownAndDiffer(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static Type elementTypeOf(Value v) { return cast<TensorType>(v.getType()).getElementType(); }

/// The signed value of an i64 attribute (generated getters return uint64_t),
/// `dflt` when absent.
static int64_t signedAttr(IntegerAttr attr, int64_t dflt) { return attr ? attr.getInt() : dflt; }

static int64_t dimOf(Value value, int i) {
  auto t = dyn_cast<RankedTensorType>(value.getType());
  return t ? t.getDimSize(i) : ShapedType::kDynamic;
}

//===- shared by attention and attention_partial ---------------------------===//

LogicalResult mlir::eff::permuteAttentionResult(std::optional<Location> loc,
                                                std::optional<ArrayRef<int64_t>> outPerm,
                                                SmallVector<int64_t> &logical) {
  if (!outPerm)
    return success();
  if (outPerm->size() != 4 || !isPermutationVector(*outPerm) || outPerm->back() != 3)
    return emitOptionalError(loc,
                             "out_perm must be a permutation of 0..3 with out_perm[3] = 3 (head "
                             "dim last), got [",
                             *outPerm, "]");
  SmallVector<int64_t> stored;
  for (int64_t a : *outPerm)
    stored.push_back(logical[size_t(a)]);
  logical = stored;
  return success();
}

/// q, k, v, when ranked, are 4-D [B, H, seq, head_dim].
static LogicalResult checkQkvRanks(std::optional<Location> loc, Value q, Value k, Value v) {
  for (auto [name, value] : {std::pair<StringRef, Value>{"q", q}, {"k", k}, {"v", v}}) {
    auto t = dyn_cast<RankedTensorType>(value.getType());
    if (t && t.getRank() != 4)
      return emitOptionalError(loc, name, " must be 4-D [B, H, seq, head_dim], got rank ",
                               t.getRank());
  }
  return success();
}

/// [B, Hq, S, Dv] as far as q, k, v know it (the batch may come from any).
static SmallVector<int64_t> attentionResultShape(Value q, Value k, Value v) {
  int64_t batch = dimOf(q, 0);
  for (Value other : {k, v})
    if (ShapedType::isDynamic(batch))
      batch = dimOf(other, 0);
  return {batch, dimOf(q, 1), dimOf(q, 2), dimOf(v, 3)};
}

/// ALiBi slopes and sink logits: one finite value per query head.
static LogicalResult verifyPerQueryHead(Operation *op, StringRef name, Value q,
                                        std::optional<ArrayRef<float>> values) {
  if (!values)
    return success();
  int64_t heads = dimOf(q, 1);
  if (!ShapedType::isDynamic(heads) && int64_t(values->size()) != heads)
    return op->emitOpError() << name << " has " << values->size() << " values but q has " << heads
                             << " heads";
  for (float value : *values)
    if (!std::isfinite(value))
      return op->emitOpError() << name << " must be finite, got " << value;
  return success();
}

static LogicalResult verifyAttentionOperands(Operation *op, Value q, Value k, Value v, Value mask,
                                             double scale, int64_t window, int64_t numKvHeads,
                                             double softcap,
                                             std::optional<ArrayRef<float>> alibiSlopes,
                                             std::optional<ArrayRef<float>> sinks) {
  if (!std::isfinite(softcap) || softcap < 0)
    return op->emitOpError("softcap must be >= 0 and finite (0 = none), got ") << softcap;
  if (numKvHeads <= 0)
    return op->emitOpError("num_kv_heads must be positive, got ") << numKvHeads;
  if (window < 0)
    return op->emitOpError("window must be >= 0 (0 = no window), got ") << window;
  if (!std::isfinite(scale) || scale <= 0)
    return op->emitOpError("scale must be positive and finite, got ") << scale;
  for (auto [name, other] : {std::pair<StringRef, Value>{"k", k}, {"v", v}})
    if (elementTypeOf(other) != elementTypeOf(q))
      return op->emitOpError() << name << " has element type " << elementTypeOf(other)
                               << " but q has " << elementTypeOf(q);

  // The op verifier runs before the result-type check, so ranks come first.
  if (failed(checkQkvRanks(op->getLoc(), q, k, v)))
    return failure();
  if (failed(verifyPerQueryHead(op, "alibi_slopes", q, alibiSlopes)) ||
      failed(verifyPerQueryHead(op, "sinks", q, sinks)))
    return failure();
  int64_t batch = dimOf(q, 0), hq = dimOf(q, 1), s = dimOf(q, 2), d = dimOf(q, 3);
  int64_t hkv = dimOf(k, 1), l = dimOf(k, 2);

  if (knownAndDiffer(dimOf(k, 0), batch))
    return op->emitOpError("k has batch ") << dimOf(k, 0) << " but q has " << batch;
  if (knownAndDiffer(dimOf(v, 0), batch))
    return op->emitOpError("v has batch ") << dimOf(v, 0) << " but q has " << batch;
  if (knownAndDiffer(dimOf(v, 1), hkv))
    return op->emitOpError("v has ") << dimOf(v, 1) << " heads but k has " << hkv;
  if (knownAndDiffer(dimOf(k, 3), d))
    return op->emitOpError("k has head dim ") << dimOf(k, 3) << " but q has " << d;
  if (knownAndDiffer(dimOf(v, 2), l))
    return op->emitOpError("v has kv length ") << dimOf(v, 2) << " but k has " << l;
  if (ShapedType::isDynamic(hkv))
    hkv = dimOf(v, 1);
  if (knownAndDiffer(numKvHeads, hkv))
    return op->emitOpError("num_kv_heads ")
           << numKvHeads << " does not match the " << hkv << " heads of k and v";
  if (!ShapedType::isDynamic(hq) && hq % numKvHeads)
    return op->emitOpError("num_kv_heads ")
           << numKvHeads << " does not divide " << hq << " query heads";
  if (mask) {
    if (ShapedType::isDynamic(batch))
      batch = ShapedType::isDynamic(dimOf(k, 0)) ? dimOf(v, 0) : dimOf(k, 0);
    if (ShapedType::isDynamic(l))
      l = dimOf(v, 2);
    SmallVector<int64_t> scores = {batch, hq, s, l};
    auto m = dyn_cast<RankedTensorType>(mask.getType());
    if (m && !isUnidirectionallyBroadcastable(m.getShape(), scores))
      return op->emitOpError("mask of shape [")
             << shapeToString(m.getShape()) << "] does not broadcast to [B, Hq, S, L] = ["
             << shapeToString(scores) << "]";
  }
  return success();
}

//===- attention -----------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  SmallVector<int64_t> shape = attentionResultShape(getQ(), getK(), getV());
  if (failed(permuteAttentionResult(getLoc(), getOutPerm(), shape)))
    return failure();
  return verifyAttentionOperands(*this, getQ(), getK(), getV(), getMask(),
                                 getScale().convertToDouble(), signedAttr(getWindowAttr(), 0),
                                 getNumKvHeadsAttr().getInt(), getSoftcap().convertToDouble(),
                                 getAlibiSlopes(), getSinks());
}

LogicalResult AttentionOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(checkQkvRanks(loc, adaptor.getQ(), adaptor.getK(), adaptor.getV())))
    return failure();
  SmallVector<int64_t> shape = attentionResultShape(adaptor.getQ(), adaptor.getK(), adaptor.getV());
  if (failed(permuteAttentionResult(loc, adaptor.getOutPerm(), shape)))
    return failure();
  types.push_back(tensorOf(shape, elementTypeOf(adaptor.getQ())));
  return success();
}

// Never fold attention: constant q/k/v are not a shape computation, and the
// op must reach the attention kernels.
OpFoldResult AttentionOp::fold(FoldAdaptor) { return {}; }

//===- attention_partial ---------------------------------------------------===//

LogicalResult AttentionPartialOp::verify() {
  int64_t splits = getNumSplitsAttr().getInt();
  if (splits < 1)
    return emitOpError("num_splits must be >= 1, got ") << splits;
  return verifyAttentionOperands(*this, getQ(), getK(), getV(), getMask(),
                                 getScale().convertToDouble(), signedAttr(getWindowAttr(), 0),
                                 getNumKvHeadsAttr().getInt(), getSoftcap().convertToDouble(),
                                 getAlibiSlopes(), getSinks());
}

LogicalResult AttentionPartialOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                   Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(checkQkvRanks(loc, adaptor.getQ(), adaptor.getK(), adaptor.getV())))
    return failure();
  int64_t splits = adaptor.getNumSplitsAttr().getInt();
  if (splits < 1)
    return emitOptionalError(loc, "num_splits must be >= 1, got ", splits);
  SmallVector<int64_t> shape = {splits};
  shape.append(attentionResultShape(adaptor.getQ(), adaptor.getK(), adaptor.getV()));
  Type f32 = Float32Type::get(ctx);
  types.push_back(tensorOf(shape, f32));
  types.push_back(tensorOf(ArrayRef<int64_t>(shape).drop_back(), f32));
  return success();
}

LogicalResult AttentionPartialOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return failure(); // as eff.attention: never folded
}

//===- attention_combine ---------------------------------------------------===//

/// The ONNX data types an attention result may have: f32, f16, bf16.
static Type combineResultElement(MLIRContext *ctx, int64_t to) {
  if (to != int64_t(effc::DType::FLOAT32) && to != int64_t(effc::DType::FLOAT16) &&
      to != int64_t(effc::DType::BFLOAT16))
    return {};
  return fromDType(ctx, effc::DType(to));
}

static LogicalResult checkCombineRanks(std::optional<Location> loc, Value partial, Value lse) {
  auto p = dyn_cast<RankedTensorType>(partial.getType());
  auto l = dyn_cast<RankedTensorType>(lse.getType());
  if (p && p.getRank() != 5)
    return emitOptionalError(loc, "o_partial must be 5-D [splits, B, Hq, S, Dv], got rank ",
                             p.getRank());
  if (l && l.getRank() != 4)
    return emitOptionalError(loc, "lse must be 4-D [splits, B, Hq, S], got rank ", l.getRank());
  return success();
}

LogicalResult AttentionCombineOp::verify() {
  int64_t to = getToAttr().getInt();
  if (!combineResultElement(getContext(), to))
    return emitOpError("to must be 1 (f32), 10 (f16) or 16 (bf16), got ") << to;
  if (failed(checkCombineRanks(getLoc(), getOPartial(), getLse())))
    return failure();
  SmallVector<int64_t> shape = {0, 0, 0, 0};
  if (failed(permuteAttentionResult(getLoc(), getOutPerm(), shape)))
    return failure();
  for (int i = 0; i < 4; ++i)
    if (knownAndDiffer(dimOf(getOPartial(), i), dimOf(getLse(), i)))
      return emitOpError("lse dim ")
             << i << " is " << dimOf(getLse(), i) << " but o_partial's is "
             << dimOf(getOPartial(), i) << " (lse is o_partial's shape without Dv)";
  return success();
}

LogicalResult AttentionCombineOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                   Adaptor adaptor, SmallVectorImpl<Type> &types) {
  int64_t to = adaptor.getToAttr().getInt();
  Type elt = combineResultElement(ctx, to);
  if (!elt)
    return emitOptionalError(loc, "to must be 1 (f32), 10 (f16) or 16 (bf16), got ", to);
  if (failed(checkCombineRanks(loc, adaptor.getOPartial(), adaptor.getLse())))
    return failure();
  Value partial = adaptor.getOPartial(), lse = adaptor.getLse();
  SmallVector<int64_t> shape;
  for (int i = 1; i < 4; ++i) // [B, Hq, S] from whichever knows it
    shape.push_back(ShapedType::isDynamic(dimOf(partial, i)) ? dimOf(lse, i) : dimOf(partial, i));
  shape.push_back(dimOf(partial, 4));
  if (failed(permuteAttentionResult(loc, adaptor.getOutPerm(), shape)))
    return failure();
  types.push_back(tensorOf(shape, elt));
  return success();
}

OpFoldResult AttentionCombineOp::fold(FoldAdaptor) { return {}; }
