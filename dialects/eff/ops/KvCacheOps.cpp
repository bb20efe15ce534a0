//===- KvCacheOps.cpp - eff.kv_append -----------------------------------===//
// Verifier and inference of the in-place KV cache append: past and new rows
// agree on batch, heads, head dim and element type, and the cache has room
// for every row count its static shapes allow.
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

static bool knownAndDiffer(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// Checks what inference and the verifier share; `shape` becomes the
/// present's shape [B, H, P + S, D] as far as the operands know it.
static LogicalResult checkKvAppend(std::optional<Location> loc, Value past, Value rows,
                                   int64_t capacity, SmallVectorImpl<int64_t> &shape) {
  auto p = dyn_cast<RankedTensorType>(past.getType());
  auto n = dyn_cast<RankedTensorType>(rows.getType());
  if (!p || !n)
    return emitOptionalError(loc, "past and new_rows must be ranked tensors");
  if (p.getRank() != 4 || n.getRank() != 4)
    return emitOptionalError(loc, "past and new_rows must be 4-D [B, H, seq, head_dim], got ", p,
                             " and ", n);
  if (p.getElementType() != n.getElementType())
    return emitOptionalError(loc, "past ", p, " and new_rows ", n, " must have one element type");
  for (int d : {0, 1, 3})
    if (knownAndDiffer(p.getDimSize(d), n.getDimSize(d)))
      return emitOptionalError(loc, "past ", p, " and new_rows ", n, " differ in dim ", d,
                               " (only dim 2, the sequence, may)");
  if (capacity < 1)
    return emitOptionalError(loc, "capacity must be >= 1, got ", capacity);
  shape.clear();
  for (int d = 0; d < 4; ++d) {
    int64_t a = p.getDimSize(d), b = n.getDimSize(d);
    if (d == 2)
      shape.push_back(ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? ShapedType::kDynamic
                                                                           : a + b);
    else
      shape.push_back(ShapedType::isDynamic(a) ? b : a);
  }
  if (!ShapedType::isDynamic(shape[2]) && shape[2] > capacity)
    return emitOptionalError(loc, "past and new_rows hold ", shape[2],
                             " rows, more than the cache's capacity ", capacity);
  return success();
}

LogicalResult KvAppendOp::verify() {
  SmallVector<int64_t> shape;
  if (failed(checkKvAppend(getLoc(), getPast(), getNewRows(), getCapacityAttr().getInt(), shape)))
    return failure();
  if (getState().empty())
    return emitOpError("state must name the cache (the output it is returned as)");
  return success();
}

LogicalResult KvAppendOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  SmallVector<int64_t> shape;
  if (failed(checkKvAppend(loc, adaptor.getPast(), adaptor.getNewRows(),
                           adaptor.getCapacityAttr().getInt(), shape)))
    return failure();
  types.push_back(
      RankedTensorType::get(shape, cast<TensorType>(adaptor.getPast().getType()).getElementType()));
  return success();
}

// Never folded: the append is a write into session state.
OpFoldResult KvAppendOp::fold(FoldAdaptor) { return {}; }
