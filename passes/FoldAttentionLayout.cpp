//===- FoldAttentionLayout.cpp - head transposes into eff.kv_append ------===//
//
// The new keys or values of a decoder step come out of their projection as
// [B, S, H, D] and reach the KV cache append through an eff.transpose to
// [B, H, S, D]: a kernel launch that only moves the rows once more. Where
// the append is the transpose's only reader, eff.kv_append reads the rows
// through the transpose's permutation (rows_perm) and the transpose goes.
// On the output side, attention's [B, H, S, D] result goes back to
// [B, S, H, D] for the output projection through another transpose: where
// the attention (eff.attention, eff.paged_attention, or
// eff.attention_combine after split-KV decode) is its only reader, the attention writes the
// permuted layout itself (out_perm) and the transpose goes. What is not folded says why under
// `remarks` (Passes.td).
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"
#include "passes/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_FOLDATTENTIONLAYOUT
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// eff.transpose's permutation (absent: the dims reversed).
SmallVector<int64_t> permOf(TransposeOp t) {
  if (std::optional<ArrayRef<int64_t>> perm = t.getPerm())
    return SmallVector<int64_t>(perm->begin(), perm->end());
  int64_t rank = cast<RankedTensorType>(t.getData().getType()).getRank();
  SmallVector<int64_t> reversed;
  for (int64_t d = rank - 1; d >= 0; --d)
    reversed.push_back(d);
  return reversed;
}

std::string text(ArrayRef<int64_t> perm) {
  std::string s;
  for (int64_t a : perm)
    s += (s.empty() ? "" : ", ") + std::to_string(a);
  return "[" + s + "]";
}

/// Why `rows` (a transpose's result) cannot fold into its reader, or "".
std::string whyNotFoldable(Value rows) {
  auto t = rows.getDefiningOp<TransposeOp>();
  if (!t)
    return "new_rows is no eff.transpose's result";
  if (!rows.hasOneUse())
    return "the transpose has other readers (it stays a kernel either way)";
  return "";
}

/// Why the transpose reading `result` (an attention-family op's only
/// result) cannot fold into the op's out_perm, or "". `composed` becomes the
/// out_perm that writes the transpose's result.
std::string whyNotFoldableOutput(Operation *op, SmallVectorImpl<int64_t> &composed) {
  Value result = op->getResult(0);
  if (result.use_empty())
    return "the result has no reader";
  if (!result.hasOneUse())
    return "the result has other readers than the transpose (it stays a kernel either way)";
  auto t = dyn_cast<TransposeOp>(*result.getUsers().begin());
  if (!t)
    return "its reader is no eff.transpose";
  // The result is transpose(logical, p0) and the reader transposes it by
  // p1, so the reader's value is transpose(logical, c), c[k] = p0[p1[k]].
  SmallVector<int64_t> p0 = {0, 1, 2, 3}, p1 = permOf(t);
  if (auto given = op->getAttrOfType<DenseI64ArrayAttr>("out_perm"))
    p0.assign(given.asArrayRef().begin(), given.asArrayRef().end());
  composed.clear();
  for (int64_t a : p1)
    composed.push_back(p0[size_t(a)]);
  if (composed[3] != 3)
    return "the transpose " + text(p1) + " moves the head dim (out_perm would be " +
           text(composed) + "; the kernels write rows of head_dim contiguous)";
  return "";
}

/// Folds the transposes that read `op`'s result (eff.attention,
/// eff.paged_attention or eff.attention_combine) into its out_perm while
/// each is its only reader.
void foldAttentionOutput(Operation *op, bool remarks) {
  int folded = 0;
  std::string why;
  SmallVector<int64_t> composed;
  while ((why = whyNotFoldableOutput(op, composed)).empty()) {
    auto t = cast<TransposeOp>(*op->getResult(0).getUsers().begin());
    bool identity = true;
    for (size_t k = 0; k < composed.size(); ++k)
      identity = identity && composed[k] == int64_t(k);
    if (identity)
      op->removeAttr("out_perm");
    else
      op->setAttr("out_perm", DenseI64ArrayAttr::get(op->getContext(), composed));
    op->getResult(0).setType(t.getType());
    t.getResult().replaceAllUsesWith(op->getResult(0));
    t.erase();
    ++folded;
  }
  if (!remarks)
    return;
  StringRef name = op->getName().getStringRef();
  if (folded == 0) { // said only where a transpose reads the output
    if (llvm::any_of(op->getResult(0).getUsers(), [](Operation *u) { return isa<TransposeOp>(u); }))
      op->emitRemark(name) << " output transpose stays a kernel: " << why;
    return;
  }
  auto perm = op->getAttrOfType<DenseI64ArrayAttr>("out_perm");
  op->emitRemark(llvm::formatv("{0} writes its output in the layout of the {1} transpose(s) that "
                               "read it (out_perm = {2}); none further: {3}",
                               name, folded, perm ? text(perm.asArrayRef()) : "none", why));
}

/// Attention ops whose kernels write [B, H, S, D] only (eff.ring_attention):
/// a transpose reading them stays a kernel, said under remarks.
void remarkUnfoldableOutput(Operation *op) {
  if (!op->hasOneUse() || !isa<TransposeOp>(*op->getUsers().begin()))
    return;
  op->emitRemark(op->getName().getStringRef())
      << " output transpose stays a kernel: its kernels write [B, H, S, D] only (no out_perm)";
}

/// A slice producing `append`'s new_rows (one constant axis, step 1, read
/// only by the append) folds into rows_offset: the append reads a window of
/// the slice's input (the value heads of a merged q/k/v projection,
/// eff-merge-sibling-linears). Says what folded, or why not, under remarks.
void foldAppendWindow(KvAppendOp append, bool remarks) {
  auto slice = append.getNewRows().getDefiningOp<SliceOp>();
  if (!slice)
    return;
  auto why = [&]() -> std::string {
    if (!slice->hasOneUse())
      return "the slice has other readers";
    auto data = dyn_cast<RankedTensorType>(slice.getData().getType());
    auto starts = getConstantInts(slice.getStarts());
    auto ends = getConstantInts(slice.getEnds());
    auto axes = slice.getAxes() ? getConstantInts(slice.getAxes()) : std::nullopt;
    auto steps = slice.getSteps() ? getConstantInts(slice.getSteps())
                                  : std::optional<SmallVector<int64_t>>(SmallVector<int64_t>{1});
    if (!data || data.getRank() != 4 || !starts || !ends || !axes || !steps ||
        starts->size() != 1 || ends->size() != 1 || axes->size() != 1 || steps->size() != 1 ||
        (*steps)[0] != 1)
      return "the slice is not one constant axis with step 1";
    int64_t axis = (*axes)[0] < 0 ? (*axes)[0] + 4 : (*axes)[0];
    if (axis < 0 || axis > 3 || data.isDynamicDim(axis) || (*starts)[0] < 0)
      return "the slice's axis is not static or its start is negative";
    SmallVector<int64_t> perm = {0, 1, 2, 3};
    if (std::optional<ArrayRef<int64_t>> given = append.getRowsPerm())
      perm.assign(given->begin(), given->end());
    int64_t k = llvm::find(perm, axis) - perm.begin();
    auto past = cast<RankedTensorType>(append.getPast().getType());
    if (k == 2 || past.isDynamicDim(k))
      return "the slice cuts the sequence or a dim past does not fix";
    SmallVector<int64_t> offset = {0, 0, 0, 0};
    if (std::optional<ArrayRef<int64_t>> given = append.getRowsOffset())
      offset.assign(given->begin(), given->end());
    offset[size_t(k)] += (*starts)[0];
    const int64_t end = std::min((*ends)[0], data.getDimSize(axis));
    if (end - (*starts)[0] != past.getDimSize(k))
      return "the slice's extent is not past's dim " + std::to_string(k);
    append->setOperand(1, slice.getData());
    append.setRowsOffset(offset);
    return "";
  }();
  if (!why.empty()) {
    if (remarks)
      append->emitRemark("kv_append '") << append.getState() << "' reads its sliced rows "
                                        << "through a slice kernel: " << why;
    return;
  }
  slice.erase();
  if (remarks)
    append->emitRemark("kv_append '")
        << append.getState() << "' reads its rows as a window of the slice's input (rows_offset = "
        << text(*append.getRowsOffset()) << ")";
}

struct FoldAttentionLayoutPass
    : public mlir::eff::impl::FoldAttentionLayoutBase<FoldAttentionLayoutPass> {
  using FoldAttentionLayoutBase::FoldAttentionLayoutBase;

  /// Folds the transposes that make `append`'s rows, innermost last, while
  /// each has no other reader.
  void foldAppend(KvAppendOp append) {
    int folded = 0;
    std::string why;
    while ((why = whyNotFoldable(append.getNewRows())).empty()) {
      auto t = append.getNewRows().getDefiningOp<TransposeOp>();
      // The rows are transpose(new_rows, p1) with new_rows = transpose(x,
      // p0), so transpose(x, c) with c[k] = p0[p1[k]].
      SmallVector<int64_t> p0 = permOf(t), composed;
      SmallVector<int64_t> p1 = {0, 1, 2, 3};
      if (std::optional<ArrayRef<int64_t>> given = append.getRowsPerm())
        p1.assign(given->begin(), given->end());
      bool identity = true;
      for (size_t k = 0; k < p1.size(); ++k) {
        composed.push_back(p0[size_t(p1[k])]);
        identity = identity && composed.back() == int64_t(k);
      }
      append->setOperand(1, t.getData());
      if (identity)
        append.removeRowsPermAttr();
      else
        append.setRowsPerm(composed);
      t.erase();
      ++folded;
    }
    if (!remarks)
      return;
    if (folded == 0) {
      append->emitRemark("kv_append '")
          << append.getState() << "' reads new_rows as given: " << why;
      return;
    }
    std::optional<ArrayRef<int64_t>> perm = append.getRowsPerm();
    append->emitRemark(
        llvm::formatv("kv_append '{0}' reads its rows through the permutation of "
                      "{1} folded transpose(s) (rows_perm = {2}); no further fold: {3}",
                      append.getState(), folded, perm ? text(*perm) : "none", why));
  }

  void runOnOperation() override {
    getOperation().walk([&](KvAppendOp append) {
      foldAppend(append);
      foldAppendWindow(append, remarks);
    });
    // Collected first: folding erases the transposes after each op.
    SmallVector<Operation *> outputs;
    getOperation().walk([&](Operation *op) {
      if (isa<AttentionOp, PagedAttentionOp, AttentionCombineOp>(op))
        outputs.push_back(op);
      else if (remarks && isa<RingAttentionOp>(op))
        remarkUnfoldableOutput(op);
    });
    for (Operation *op : outputs)
      foldAttentionOutput(op, remarks);
    if (!remarks)
      return;
    getOperation().walk([&](PagedKvWriteOp write) {
      if (write.getNewRows().getDefiningOp<TransposeOp>())
        write->emitRemark(
            "paged_kv_write's transposed rows stay a kernel: eff.paged_kv_write reads "
            "[B, H, S, D] rows only (no rows layout)");
    });
  }
};

} // namespace
