//===- KvCacheOps.cpp - kv_append, paged_attention(_partial), paged_kv_write ===//
// Verifier and inference of the in-place KV cache append: past and new rows
// agree on batch, heads, head dim and element type, and the cache has room
// for every row count its static shapes allow.
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

/// Checks what inference and the verifier share; `shape` becomes the
/// present's shape [B, H, P + S, D] as far as the operands know it.
static LogicalResult checkKvAppend(std::optional<Location> loc, Value past, Value rows,
                                   int64_t capacity, std::optional<ArrayRef<int64_t>> rowsPerm,
                                   std::optional<ArrayRef<int64_t>> rowsOffset,
                                   SmallVectorImpl<int64_t> &shape) {
  auto p = dyn_cast<RankedTensorType>(past.getType());
  auto stored = dyn_cast<RankedTensorType>(rows.getType());
  if (!p || !stored)
    return emitOptionalError(loc, "past and new_rows must be ranked tensors");
  if (p.getRank() != 4 || stored.getRank() != 4)
    return emitOptionalError(loc, "past and new_rows must be 4-D [B, H, seq, head_dim], got ", p,
                             " and ", stored);
  // The rows appended: new_rows itself, or transpose(new_rows, rows_perm).
  RankedTensorType n = stored;
  if (rowsPerm) {
    if (rowsPerm->size() != 4 || !isPermutationVector(*rowsPerm))
      return emitOptionalError(loc, "rows_perm must be a permutation of 0..3, got [", *rowsPerm,
                               "]");
    SmallVector<int64_t> logical;
    for (int64_t a : *rowsPerm)
      logical.push_back(stored.getDimSize(a));
    n = RankedTensorType::get(logical, stored.getElementType());
  }
  if (rowsOffset) { // a window of the rows: dims B, H and D are past's
    if (rowsOffset->size() != 4 || (*rowsOffset)[2] != 0 ||
        llvm::any_of(*rowsOffset, [](int64_t o) { return o < 0; }))
      return emitOptionalError(loc, "rows_offset must be 4 entries >= 0 with the seq entry 0");
    SmallVector<int64_t> window(n.getShape());
    for (int d : {0, 1, 3}) {
      int64_t o = (*rowsOffset)[size_t(d)], pd = p.getDimSize(d), nd = n.getDimSize(d);
      if (ShapedType::isDynamic(pd)) {
        if (o != 0)
          return emitOptionalError(loc, "rows_offset ", o, " on dim ", d,
                                   " needs past's dim static, got ", p);
        continue;
      }
      if (!ShapedType::isDynamic(nd) && o + pd > nd)
        return emitOptionalError(loc, "rows_offset ", o, " + past's ", pd, " exceeds new_rows' ",
                                 nd, " in dim ", d);
      window[size_t(d)] = pd;
    }
    n = RankedTensorType::get(window, n.getElementType());
  }
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
  if (failed(checkKvAppend(getLoc(), getPast(), getNewRows(), getCapacityAttr().getInt(),
                           getRowsPerm(), getRowsOffset(), shape)))
    return failure();
  if (getState().empty())
    return emitOpError("state must name the cache (the output it is returned as)");
  return success();
}

LogicalResult KvAppendOp::inferResultTypes(MLIRContext *ctx, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  SmallVector<int64_t> shape;
  if (failed(checkKvAppend(loc, adaptor.getPast(), adaptor.getNewRows(),
                           adaptor.getCapacityAttr().getInt(), adaptor.getRowsPerm(),
                           adaptor.getRowsOffset(), shape)))
    return failure();
  types.push_back(
      RankedTensorType::get(shape, cast<TensorType>(adaptor.getPast().getType()).getElementType()));
  return success();
}

// Never folded: the append is a write into session state.
OpFoldResult KvAppendOp::fold(FoldAdaptor) { return {}; }

//===- paged_attention -----------------------------------------------------===//

/// What inference and the verifier share: ranks, one float element type,
/// heads, head dim and batch consistent; the result is q's shape.
static LogicalResult checkPagedAttention(std::optional<Location> loc, Value q, Value k, Value v,
                                         Value table, Value lens) {
  auto rq = dyn_cast<RankedTensorType>(q.getType());
  auto rk = dyn_cast<RankedTensorType>(k.getType());
  auto rv = dyn_cast<RankedTensorType>(v.getType());
  auto rt = dyn_cast<RankedTensorType>(table.getType());
  auto rl = dyn_cast<RankedTensorType>(lens.getType());
  if (!rq || !rk || !rv || !rt || !rl)
    return emitOptionalError(loc, "paged_attention operands must be ranked tensors");
  if (rq.getRank() != 4 || rk.getRank() != 4 || rv.getRank() != 4)
    return emitOptionalError(loc, "q must be 4-D [B, Hq, S, D] and k_cache, v_cache 4-D ",
                             "[pages, Hkv, page_size, D], got ", rq, ", ", rk, " and ", rv);
  if (rt.getRank() != 2 || rl.getRank() != 1)
    return emitOptionalError(loc, "block_table must be 2-D [B, max_pages] and seq_lens 1-D [B], ",
                             "got ", rt, " and ", rl);
  if (rk.getElementType() != rq.getElementType() || rv.getElementType() != rq.getElementType())
    return emitOptionalError(loc, "q ", rq, ", k_cache ", rk, " and v_cache ", rv,
                             " must have one element type");
  for (int d = 0; d < 4; ++d)
    if (knownAndDiffer(rk.getDimSize(d), rv.getDimSize(d)))
      return emitOptionalError(loc, "k_cache ", rk, " and v_cache ", rv, " differ in dim ", d);
  if (knownAndDiffer(rk.getDimSize(3), rq.getDimSize(3)))
    return emitOptionalError(loc, "k_cache has head dim ", rk.getDimSize(3), " but q has ",
                             rq.getDimSize(3));
  int64_t hq = rq.getDimSize(1), hkv = rk.getDimSize(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) && (hkv < 1 || hq % hkv))
    return emitOptionalError(loc, "k_cache's ", hkv, " kv heads do not divide q's ", hq, " heads");
  for (auto [name, d] : {std::pair<const char *, int64_t>{"block_table", rt.getDimSize(0)},
                         {"seq_lens", rl.getDimSize(0)}})
    if (knownAndDiffer(d, rq.getDimSize(0)))
      return emitOptionalError(loc, name, " has batch ", d, " but q has ", rq.getDimSize(0));
  return success();
}

/// The attributes both paged ops share.
static LogicalResult verifyPagedAttributes(Operation *op, double scale, int64_t causal,
                                           int64_t window) {
  if (!std::isfinite(scale) || scale <= 0)
    return op->emitOpError("scale must be positive and finite, got ") << scale;
  if (causal != 0 && causal != 1)
    return op->emitOpError("causal must be 0 or 1, got ") << causal;
  if (window < 0)
    return op->emitOpError("window must be >= 0 (0: none), got ") << window;
  if (window > 0 && causal == 0)
    return op->emitOpError("a sliding window (window = ")
           << window << ") needs causal = 1 (it counts back from each query's position)";
  return success();
}

LogicalResult PagedAttentionOp::verify() {
  if (failed(checkPagedAttention(getLoc(), getQ(), getKCache(), getVCache(), getBlockTable(),
                                 getSeqLens())))
    return failure();
  SmallVector<int64_t> shape = {0, 0, 0, 0};
  if (failed(permuteAttentionResult(getLoc(), getOutPerm(), shape)))
    return failure();
  return verifyPagedAttributes(*this, getScaleAttr().getValueAsDouble(), int64_t(getCausal()),
                               int64_t(getWindow()));
}

LogicalResult PagedAttentionOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(checkPagedAttention(loc, adaptor.getQ(), adaptor.getKCache(), adaptor.getVCache(),
                                 adaptor.getBlockTable(), adaptor.getSeqLens())))
    return failure();
  // y is q's [B, Hq, S, D] stored through out_perm.
  auto q = cast<RankedTensorType>(adaptor.getQ().getType());
  SmallVector<int64_t> shape(q.getShape());
  if (failed(permuteAttentionResult(loc, adaptor.getOutPerm(), shape)))
    return failure();
  types.push_back(RankedTensorType::get(shape, q.getElementType(), q.getEncoding()));
  return success();
}

// Never folded: attention reads the cache the run holds.
OpFoldResult PagedAttentionOp::fold(FoldAdaptor) { return {}; }

//===- paged_attention_partial ---------------------------------------------===//

LogicalResult PagedAttentionPartialOp::verify() {
  int64_t splits = getNumSplitsAttr().getInt();
  if (splits < 1)
    return emitOpError("num_splits must be >= 1, got ") << splits;
  if (failed(checkPagedAttention(getLoc(), getQ(), getKCache(), getVCache(), getBlockTable(),
                                 getSeqLens())))
    return failure();
  return verifyPagedAttributes(*this, getScaleAttr().getValueAsDouble(), int64_t(getCausal()),
                               int64_t(getWindow()));
}

LogicalResult PagedAttentionPartialOp::inferResultTypes(MLIRContext *ctx,
                                                        std::optional<Location> loc,
                                                        Adaptor adaptor,
                                                        SmallVectorImpl<Type> &types) {
  if (failed(checkPagedAttention(loc, adaptor.getQ(), adaptor.getKCache(), adaptor.getVCache(),
                                 adaptor.getBlockTable(), adaptor.getSeqLens())))
    return failure();
  int64_t splits = adaptor.getNumSplitsAttr().getInt();
  if (splits < 1)
    return emitOptionalError(loc, "num_splits must be >= 1, got ", splits);
  SmallVector<int64_t> shape = {splits};
  auto q = cast<RankedTensorType>(adaptor.getQ().getType()).getShape();
  shape.append(q.begin(), q.end());
  Type f32 = Float32Type::get(ctx);
  types.push_back(RankedTensorType::get(shape, f32));
  types.push_back(RankedTensorType::get(ArrayRef<int64_t>(shape).drop_back(), f32));
  return success();
}

LogicalResult PagedAttentionPartialOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return failure();
}

//===- paged_kv_write ------------------------------------------------------===//

/// What inference and the verifier share: cache [NP, H, PS, D], new_rows
/// [B, H, S, D] of its element type and heads/head dim, slot_mapping [B, S].
static LogicalResult checkPagedKvWrite(std::optional<Location> loc, Value cache, Value rows,
                                       Value mapping) {
  auto rc = dyn_cast<RankedTensorType>(cache.getType());
  auto rn = dyn_cast<RankedTensorType>(rows.getType());
  auto rm = dyn_cast<RankedTensorType>(mapping.getType());
  if (!rc || !rn || !rm)
    return emitOptionalError(loc, "paged_kv_write operands must be ranked tensors");
  if (rc.getRank() != 4 || rn.getRank() != 4 || rm.getRank() != 2)
    return emitOptionalError(loc, "cache must be 4-D [pages, H, page_size, D], new_rows 4-D ",
                             "[B, H, S, D] and slot_mapping 2-D [B, S], got ", rc, ", ", rn,
                             " and ", rm);
  if (rc.getElementType() != rn.getElementType())
    return emitOptionalError(loc, "cache ", rc, " and new_rows ", rn,
                             " must have one element type");
  for (int d : {1, 3})
    if (knownAndDiffer(rc.getDimSize(d), rn.getDimSize(d)))
      return emitOptionalError(loc, "cache ", rc, " and new_rows ", rn, " differ in dim ", d,
                               d == 1 ? " (heads)" : " (head dim)");
  if (knownAndDiffer(rm.getDimSize(0), rn.getDimSize(0)) ||
      knownAndDiffer(rm.getDimSize(1), rn.getDimSize(2)))
    return emitOptionalError(loc, "slot_mapping ", rm, " must be [B, S] of new_rows ", rn);
  return success();
}

LogicalResult PagedKvWriteOp::verify() {
  return checkPagedKvWrite(getLoc(), getCache(), getNewRows(), getSlotMapping());
}

LogicalResult PagedKvWriteOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(checkPagedKvWrite(loc, adaptor.getCache(), adaptor.getNewRows(),
                               adaptor.getSlotMapping())))
    return failure();
  types.push_back(adaptor.getCache().getType());
  return success();
}

// Never folded: the write is into the session's page pool.
OpFoldResult PagedKvWriteOp::fold(FoldAdaptor) { return {}; }
