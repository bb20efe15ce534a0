//===- FoldAttentionLayout.cpp - head transposes into eff.kv_append ------===//
//
// The new keys or values of a decoder step come out of their projection as
// [B, S, H, D] and reach the KV cache append through an eff.transpose to
// [B, H, S, D]: a kernel launch that only moves the rows once more. Where
// the append is the transpose's only reader, eff.kv_append reads the rows
// through the transpose's permutation (rows_perm) and the transpose goes.
// What is not folded says why under `remarks` (Passes.td).
//
#include "dialects/eff/EffOps.h"
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
    getOperation().walk([&](KvAppendOp append) { foldAppend(append); });
    if (!remarks)
      return;
    getOperation().walk([&](PagedKvWriteOp write) {
      if (write.getNewRows().getDefiningOp<TransposeOp>())
        write->emitRemark(
            "paged_kv_write's transposed rows stay a kernel: eff.paged_kv_write reads "
            "[B, H, S, D] rows only (no rows layout)");
    });
    getOperation().walk([&](Operation *op) {
      if (!isa<AttentionOp, AttentionCombineOp, PagedAttentionOp>(op) || !op->hasOneUse())
        return;
      if (isa<TransposeOp>(*op->getUsers().begin()))
        op->emitRemark(op->getName().getStringRef())
            << " output transpose stays a kernel: the attention kernels write [B, H, S, D] only "
               "(no "
               "output layout)";
    });
  }
};

} // namespace
