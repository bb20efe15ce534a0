//===- NNOps.cpp - layer_norm, rms_norm, rope --------------------------------===//
// Result types are simple (X's shape); the verifiers do the work: passes and
// kernel emitters trust these ops, so every inconsistency is an error naming it.
#include "dialects/eff/EffOps.h"

#include "mlir/IR/TypeUtilities.h"

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

LogicalResult LayerNormOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
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
LogicalResult RMSNormOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
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
        return emitOpError("hidden size ")
               << hidden << " is not a multiple of num_heads " << numHeads;
      headSize = hidden / numHeads;
    }
  } else if (x) {
    return emitOpError("X must be 3-D [B, S, hidden] or 4-D [B, H, S, D], got rank ")
           << x.getRank();
  }

  if (!ShapedType::isDynamic(headSize) && rotaryDim > headSize)
    return emitOpError("rotary_embedding_dim ") << rotaryDim << " exceeds head size " << headSize;
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
                           << "] does not match X's [B, S] = [" << shapeToString(batchSeq) << "]";
  }
  if (cache && !ShapedType::isDynamic(rot) && knownAndDiffer(cache.getShape().back(), rot / 2))
    return emitOpError() << cacheName << " has last dim " << cache.getShape().back()
                         << " but the rotary dim is " << rot << " (expected " << rot / 2 << ")";
  return success();
}

LogicalResult RopeOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult RopeOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
