//===- NNOps.cpp - layer_norm, rms_norm, rope, attention -------------------===//
// Result types are simple (X's shape); the verifiers do the work: passes and
// kernel emitters trust these ops, so every inconsistency is an error naming it.
#include "dialects/eff/EffOps.h"

#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::eff;

static bool knownAndDiffer(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

static Type elementTypeOf(Value v) { return cast<TensorType>(v.getType()).getElementType(); }

/// Operands whose element type must equal `ref`'s (null values are absent).
static LogicalResult verifySameElementType(Operation *op, StringRef refName, Value ref,
                                           ArrayRef<std::pair<StringRef, Value>> others) {
  for (auto [name, v] : others)
    if (v && elementTypeOf(v) != elementTypeOf(ref))
      return op->emitOpError() << name << " has element type " << elementTypeOf(v) << " but "
                               << refName << " has " << elementTypeOf(ref);
  return success();
}

//===- layer_norm / rms_norm -----------------------------------------------===//

/// stash_type is an ONNX float data type: float, float16, double, bfloat16.
static LogicalResult verifyStashType(Operation *op, int64_t stashType) {
  if (stashType != 1 && stashType != 10 && stashType != 11 && stashType != 16)
    return op->emitOpError() << "stash_type must be an ONNX float data type (1, 10, 11, 16), got "
                             << stashType;
  return success();
}

/// The normalized dims are X.shape[axis:]; each parameter broadcasts to them.
static LogicalResult verifyNormParams(Operation *op, Value x, int64_t axis,
                                      ArrayRef<std::pair<StringRef, Value>> params) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  if (!xType)
    return success();
  if (xType.getRank() == 0)
    return op->emitOpError("X must have rank >= 1");
  FailureOr<int64_t> a = normalizeAxis(op->getLoc(), axis, xType.getRank());
  if (failed(a))
    return failure();
  ArrayRef<int64_t> normalized = xType.getShape().drop_front(*a);
  for (auto [name, v] : params) {
    auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
    if (t && !isUnidirectionallyBroadcastable(t.getShape(), normalized))
      return op->emitOpError() << name << " of shape [" << shapeToString(t.getShape())
                               << "] does not broadcast to the normalized shape ["
                               << shapeToString(normalized) << "] (X.shape[" << *a << ":])";
  }
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyStashType(*this, int64_t(getStashType()))) ||
      failed(verifySameElementType(*this, "X", getX(), {{"Scale", getScale()}, {"B", getB()}})))
    return failure();
  return verifyNormParams(*this, getX(), int64_t(getAxis()),
                          {{"Scale", getScale()}, {"B", getB()}});
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult LayerNormOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

LogicalResult RMSNormOp::verify() {
  if (failed(verifyStashType(*this, int64_t(getStashType()))))
    return failure();
  return verifyNormParams(*this, getX(), int64_t(getAxis()), {{"scale", getScale()}});
}

// ONNX RMSNormalization-23: Y has X's shape and scale's element type (V).
LogicalResult RMSNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = elementTypeOf(adaptor.getScale());
  if (auto x = dyn_cast<RankedTensorType>(adaptor.getX().getType()))
    types.push_back(tensorOf(x.getShape(), elt));
  else
    types.push_back(UnrankedTensorType::get(elt));
  return success();
}

OpFoldResult RMSNormOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- rope ----------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  int64_t interleaved = int64_t(getInterleaved()), numHeads = int64_t(getNumHeads()),
          rotaryDim = int64_t(getRotaryEmbeddingDim());
  if (interleaved != 0 && interleaved != 1)
    return emitOpError("interleaved must be 0 or 1, got ") << interleaved;
  if (numHeads < 0)
    return emitOpError("num_heads must be >= 0, got ") << numHeads;
  if (rotaryDim < 0)
    return emitOpError("rotary_embedding_dim must be >= 0, got ") << rotaryDim;
  if (rotaryDim % 2)
    return emitOpError("rotary_embedding_dim must be even, got ") << rotaryDim;
  if (failed(verifySameElementType(*this, "X", getX(),
                                   {{"cos_cache", getCosCache()}, {"sin_cache", getSinCache()}})))
    return failure();

  // Batch, sequence and head size as X states them (dynamic when unknown).
  int64_t dyn = ShapedType::kDynamic, batch = dyn, seq = dyn, headSize = dyn;
  auto x = dyn_cast<RankedTensorType>(getX().getType());
  if (x && x.getRank() == 4) {
    batch = x.getDimSize(0);
    seq = x.getDimSize(2);
    headSize = x.getDimSize(3);
    if (numHeads != 0 && knownAndDiffer(numHeads, x.getDimSize(1)))
      return emitOpError("num_heads ") << numHeads << " does not match X's " << x.getDimSize(1)
                                       << " heads (X is [B, H, S, D])";
  } else if (x && x.getRank() == 3) {
    batch = x.getDimSize(0);
    seq = x.getDimSize(1);
    if (numHeads == 0)
      return emitOpError("a 3-D X [B, S, hidden] needs num_heads");
    int64_t hidden = x.getDimSize(2);
    if (!ShapedType::isDynamic(hidden)) {
      if (hidden % numHeads)
        return emitOpError("hidden size ") << hidden << " is not a multiple of num_heads "
                                           << numHeads;
      headSize = hidden / numHeads;
    }
  } else if (x) {
    return emitOpError("X must be 3-D [B, S, hidden] or 4-D [B, H, S, D], got rank ")
           << x.getRank();
  }

  if (!ShapedType::isDynamic(headSize) && rotaryDim > headSize)
    return emitOpError("rotary_embedding_dim ") << rotaryDim << " exceeds head size "
                                                << headSize;
  int64_t rot = rotaryDim ? rotaryDim : headSize;
  if (!ShapedType::isDynamic(rot) && rot % 2)
    return emitOpError("head size ") << rot << " must be even for a full rotation";

  auto cos = dyn_cast<RankedTensorType>(getCosCache().getType());
  auto sin = dyn_cast<RankedTensorType>(getSinCache().getType());
  if (cos && sin && failed(verifyCompatibleShape(cos, sin)))
    return emitOpError("cos_cache [") << shapeToString(cos.getShape()) << "] and sin_cache ["
                                      << shapeToString(sin.getShape()) << "] differ";
  RankedTensorType cache = cos ? cos : sin;
  StringRef cacheName = cos ? "cos_cache" : "sin_cache";
  SmallVector<int64_t> batchSeq = {batch, seq};
  if (Value pos = getPositionIds()) {
    if (cache && cache.getRank() != 2)
      return emitOpError("with position_ids, ")
             << cacheName << " must be 2-D [max_position, rotary_dim / 2], got rank "
             << cache.getRank();
    auto posType = dyn_cast<RankedTensorType>(pos.getType());
    if (posType && posType.getRank() != 2)
      return emitOpError("position_ids must be 2-D [B, S], got rank ") << posType.getRank();
    if (posType && !isUnidirectionallyBroadcastable(posType.getShape(), batchSeq))
      return emitOpError("position_ids of shape [")
             << shapeToString(posType.getShape()) << "] does not match X's [B, S] = ["
             << shapeToString(batchSeq) << "]";
  } else if (cache) {
    if (cache.getRank() != 3)
      return emitOpError("without position_ids, ")
             << cacheName << " must be 3-D [B, S, rotary_dim / 2], got rank " << cache.getRank();
    if (!isUnidirectionallyBroadcastable(cache.getShape().take_front(2), batchSeq))
      return emitOpError() << cacheName << " of shape [" << shapeToString(cache.getShape())
                           << "] does not match X's [B, S] = [" << shapeToString(batchSeq)
                           << "]";
  }
  if (cache && !ShapedType::isDynamic(rot) && knownAndDiffer(cache.getShape().back(), rot / 2))
    return emitOpError() << cacheName << " has last dim " << cache.getShape().back()
                         << " but the rotary dim is " << rot << " (expected " << rot / 2
                         << ")";
  return success();
}

LogicalResult RopeOp::inferReturnTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult RopeOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}

//===- attention -----------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  int64_t numKvHeads = getNumKvHeadsAttr().getInt(), window = getWindowAttr()
                                                                  ? getWindowAttr().getInt()
                                                                  : 0;
  double scale = getScale().convertToDouble();
  if (numKvHeads <= 0)
    return emitOpError("num_kv_heads must be positive, got ") << numKvHeads;
  if (window < 0)
    return emitOpError("window must be >= 0 (0 = no window), got ") << window;
  if (!std::isfinite(scale) || scale <= 0)
    return emitOpError("scale must be positive and finite, got ") << scale;
  if (failed(verifySameElementType(*this, "q", getQ(), {{"k", getK()}, {"v", getV()}})))
    return failure();

  // The op verifier runs before the result-type check, so ranks come first.
  auto q = dyn_cast<RankedTensorType>(getQ().getType());
  auto k = dyn_cast<RankedTensorType>(getK().getType());
  auto v = dyn_cast<RankedTensorType>(getV().getType());
  for (auto [name, t] : {std::pair<StringRef, RankedTensorType>{"q", q}, {"k", k}, {"v", v}})
    if (t && t.getRank() != 4)
      return emitOpError() << name << " must be 4-D [B, H, seq, head_dim], got rank "
                           << t.getRank();
  int64_t dyn = ShapedType::kDynamic;
  auto dim = [&](RankedTensorType t, int i) { return t ? t.getDimSize(i) : dyn; };
  int64_t batch = dim(q, 0), hq = dim(q, 1), s = dim(q, 2), d = dim(q, 3);
  int64_t hkv = dim(k, 1), l = dim(k, 2);

  if (knownAndDiffer(dim(k, 0), batch))
    return emitOpError("k has batch ") << dim(k, 0) << " but q has " << batch;
  if (knownAndDiffer(dim(v, 0), batch))
    return emitOpError("v has batch ") << dim(v, 0) << " but q has " << batch;
  if (knownAndDiffer(dim(v, 1), hkv))
    return emitOpError("v has ") << dim(v, 1) << " heads but k has " << hkv;
  if (knownAndDiffer(dim(k, 3), d))
    return emitOpError("k has head dim ") << dim(k, 3) << " but q has " << d;
  if (knownAndDiffer(dim(v, 2), l))
    return emitOpError("v has kv length ") << dim(v, 2) << " but k has " << l;
  if (ShapedType::isDynamic(hkv))
    hkv = dim(v, 1);
  if (knownAndDiffer(numKvHeads, hkv))
    return emitOpError("num_kv_heads ") << numKvHeads << " does not match the " << hkv
                                        << " heads of k and v";
  if (!ShapedType::isDynamic(hq) && hq % numKvHeads)
    return emitOpError("num_kv_heads ") << numKvHeads << " does not divide " << hq
                                        << " query heads";
  if (Value mask = getMask()) {
    if (ShapedType::isDynamic(batch))
      batch = ShapedType::isDynamic(dim(k, 0)) ? dim(v, 0) : dim(k, 0);
    if (ShapedType::isDynamic(l))
      l = dim(v, 2);
    SmallVector<int64_t> scores = {batch, hq, s, l};
    auto m = dyn_cast<RankedTensorType>(mask.getType());
    if (m && !isUnidirectionallyBroadcastable(m.getShape(), scores))
      return emitOpError("mask of shape [")
             << shapeToString(m.getShape()) << "] does not broadcast to [B, Hq, S, L] = ["
             << shapeToString(scores) << "]";
  }
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  for (auto [name, value] : {std::pair<StringRef, Value>{"q", adaptor.getQ()},
                             std::pair<StringRef, Value>{"k", adaptor.getK()},
                             std::pair<StringRef, Value>{"v", adaptor.getV()}}) {
    auto t = dyn_cast<RankedTensorType>(value.getType());
    if (t && t.getRank() != 4)
      return emitOptionalError(loc, name, " must be 4-D [B, H, seq, head_dim], got rank ",
                               t.getRank());
  }
  int64_t dyn = ShapedType::kDynamic;
  auto dim = [&](Value value, int i) {
    auto t = dyn_cast<RankedTensorType>(value.getType());
    return t ? t.getDimSize(i) : dyn;
  };
  // The batch may be known from any of q, k, v.
  int64_t batch = dim(adaptor.getQ(), 0);
  for (Value other : {adaptor.getK(), adaptor.getV()})
    if (ShapedType::isDynamic(batch))
      batch = dim(other, 0);
  types.push_back(tensorOf({batch, dim(adaptor.getQ(), 1), dim(adaptor.getQ(), 2),
                            dim(adaptor.getV(), 3)},
                           elementTypeOf(adaptor.getQ())));
  return success();
}

// Never fold attention: constant q/k/v are not a shape computation, and the
// op must reach the attention kernels.
OpFoldResult AttentionOp::fold(FoldAdaptor) { return {}; }
