//===- SymbolicViews.h - fold KV view copies with bounded dims --*- C++ -*-===//
//
// With bounded symbolic dims eff-raise-attention cannot prove, from the
// types alone, that a decoder's GQA repeat_kv (unsqueeze -> expand ->
// reshape) and the exporters' K^T round trip (reshape -> transpose ->
// reshape -> transpose) are pure views of its KV cache, so each step copied
// the whole cache through them (llama-withpast: 4 to 5 cache-sized kernels
// per layer and step). With every dim an expression of the bounded dims
// (SymbolicShapes) they are: this folds them after the pipeline so that
// attention reads the cache (the eff.kv_append result) itself.
//
#ifndef EFFC_COMPILER_PLAN_SYMBOLICVIEWS_H
#define EFFC_COMPILER_PLAN_SYMBOLICVIEWS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace effc {

/// For each eff.attention / eff.attention_partial of `func` (with eff.dims):
/// K read through transpose(reshape(transpose(reshape(X)))) where the middle
/// reshape keeps the last two dims and X has K's shape becomes X; then K and
/// V that are both reshape(expand(unsqueeze(kv, 2))) repeats of Hkv heads
/// (the expand keeping kv's length) become kv with num_kv_heads = Hkv. Dims
/// compare as SymbolicShapes expressions. Dead view ops are erased. Returns
/// how many folds were made (a remark on the attention for each with
/// `remarks`); fails only when the shape analysis fails (its error emitted).
mlir::FailureOr<int> foldSymbolicKvViews(mlir::func::FuncOp func, bool remarks);

} // namespace effc

#endif
