//===- SymbolicViews.cpp - fold KV view copies with bounded dims ----------===//
#include "compiler/plan/SymbolicViews.h"

#include "compiler/plan/SymbolicShapes.h"
#include "dialects/eff/EffOps.h"

#include "mlir/IR/Builders.h"

namespace effc {

using namespace mlir;
using namespace mlir::eff;

namespace {

struct Folder {
  const SymbolicShapes &shapes;

  /// Every dim of `v` as an expression (nullopt: unknown).
  std::optional<SmallVector<DimExpr>> exprs(Value v) const {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return std::nullopt;
    if (auto it = shapes.shapes.find(v); it != shapes.shapes.end())
      return it->second;
    if (!t.hasStaticShape())
      return std::nullopt;
    SmallVector<DimExpr> out;
    for (int64_t d : t.getShape())
      out.push_back(DimExpr::constant(d));
    return out;
  }

  bool sameShape(Value a, Value b) const {
    auto ea = exprs(a), eb = exprs(b);
    return ea && eb && *ea == *eb;
  }

  static bool isSwapLastTwo(TransposeOp op) {
    auto t = dyn_cast<RankedTensorType>(op.getData().getType());
    if (!t || t.getRank() < 2 || !op.getPerm())
      return false;
    ArrayRef<int64_t> perm = *op.getPerm();
    const int64_t r = t.getRank();
    for (int64_t i = 0; i < r - 2; ++i)
      if (perm[i] != i)
        return false;
    return perm[r - 2] == r - 1 && perm[r - 1] == r - 2;
  }

  static Value peelReshapes(Value v) {
    while (auto reshape = v.getDefiningOp<ReshapeOp>())
      v = reshape.getData();
    return v;
  }

  /// K through the K^T round trip: X, or null.
  Value unroundTrip(Value k) const {
    auto outer = k.getDefiningOp<TransposeOp>();
    if (!outer || !isSwapLastTwo(outer))
      return {};
    auto reshape = outer.getData().getDefiningOp<ReshapeOp>();
    if (!reshape)
      return {};
    auto inner = reshape.getData().getDefiningOp<TransposeOp>();
    if (!inner || !isSwapLastTwo(inner))
      return {};
    auto et = exprs(reshape.getResult()), ey = exprs(inner.getResult());
    if (!et || !ey || et->size() < 2 || ey->size() < 2 || !(et->back() == ey->back()) ||
        !((*et)[et->size() - 2] == (*ey)[ey->size() - 2]))
      return {};
    // k = reshape(z) for z the inner transpose's input: any reshape ancestor
    // of z with k's exact shape is k.
    for (Value x = inner.getData();;) {
      if (sameShape(x, k) && x.getType() == k.getType())
        return x;
      auto r = x.getDefiningOp<ReshapeOp>();
      if (!r)
        return {};
      x = r.getData();
    }
  }

  /// kv [B, Hkv, L, D] when v = reshape(expand(unsqueeze(kv, 2))) repeats
  /// its heads n times (the expand keeps L), else null.
  Value unrepeat(Value v) const {
    auto expand = peelReshapes(v).getDefiningOp<ExpandOp>();
    if (!expand)
      return {};
    auto unsqueeze = expand.getInput().getDefiningOp<UnsqueezeOp>();
    if (!unsqueeze)
      return {};
    Value kv = unsqueeze.getData();
    auto ekv = exprs(kv), ee = exprs(expand.getOutput()), ev = exprs(v);
    if (!ekv || !ee || !ev || ekv->size() != 4 || ee->size() != 5 || ev->size() != 4)
      return {};
    const auto &K = *ekv, &E = *ee, &V = *ev;
    if (!E[1].isConstant() || !E[2].isConstant() || !V[1].isConstant())
      return {};
    const int64_t hkv = E[1].constantTerm(), n = E[2].constantTerm();
    if (!(E[0] == K[0]) || !(E[1] == K[1]) || !(E[3] == K[2]) || !(E[4] == K[3]) ||
        !(V[0] == K[0]) || V[1].constantTerm() != hkv * n || !(V[2] == K[2]) || !(V[3] == K[3]))
      return {};
    // The unsqueeze inserts exactly axis 2 (so x = [B, Hkv, 1, L, D]).
    auto x = exprs(expand.getInput());
    if (!x || x->size() != 5 || !((*x)[2] == DimExpr::constant(1)) || !((*x)[3] == K[2]) ||
        !((*x)[1] == K[1]))
      return {};
    return kv;
  }
};

} // namespace

FailureOr<int> foldSymbolicKvViews(func::FuncOp func, bool remarks) {
  int folded = 0;
  auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
  if (!dims)
    return folded;
  // An input dim without bounds is the planner's error to report (naming the
  // dim and the fixes): fold nothing then.
  for (unsigned a = 0; a < func.getNumArguments(); ++a) {
    auto t = dyn_cast<RankedTensorType>(func.getArgument(a).getType());
    auto params = func.getArgAttrOfType<ArrayAttr>(a, "eff.dim_params");
    for (int64_t d = 0; t && d < t.getRank(); ++d) {
      if (!t.isDynamicDim(d))
        continue;
      auto name =
          params && d < int64_t(params.size()) ? dyn_cast<StringAttr>(params[d]) : StringAttr();
      if (!name || !dims.get(name.getValue()))
        return folded;
    }
  }
  FailureOr<SymbolicShapes> shapes = analyzeSymbolicShapes(func);
  if (failed(shapes))
    return failure();
  Folder f{*shapes};
  SmallVector<Operation *> attentions;
  func.walk([&](Operation *op) {
    if (isa<AttentionOp, AttentionPartialOp>(op))
      attentions.push_back(op);
  });
  for (Operation *op : attentions) {
    Value k = op->getOperand(1), v = op->getOperand(2);
    if (Value x = f.unroundTrip(k)) {
      op->setOperand(1, x);
      k = x;
      ++folded;
      if (remarks)
        op->emitRemark("K^T round trip folded: attention reads K in place");
    }
    // q's heads (the type may not say; the expressions do).
    std::optional<SmallVector<DimExpr>> eq = f.exprs(op->getOperand(0));
    Value kk = f.unrepeat(k), kv = f.unrepeat(v);
    if (kk && kv && eq && eq->size() == 4 && (*eq)[1].isConstant()) {
      auto kt = cast<RankedTensorType>(kk.getType());
      auto vt = cast<RankedTensorType>(kv.getType());
      int64_t hkv = kt.getDimSize(1), hq = (*eq)[1].constantTerm();
      if (!kt.isDynamicDim(1) && vt.getDimSize(1) == hkv && hkv > 0 && hq % hkv == 0) {
        op->setOperand(1, kk);
        op->setOperand(2, kv);
        op->setAttr("num_kv_heads", Builder(op->getContext()).getI64IntegerAttr(hkv));
        ++folded;
        if (remarks)
          op->emitRemark("GQA repeat_kv folded: attention reads the ")
              << hkv << " kv heads in place (num_kv_heads=" << hkv << ")";
      }
    }
  }
  // Erase the view chains and their shape computations that nothing reads
  // any more (pure ops only).
  for (bool erased = folded > 0; erased;) {
    erased = false;
    SmallVector<Operation *> dead;
    func.walk([&](Operation *op) {
      if (op->use_empty() && isa<ReshapeOp, TransposeOp, ExpandOp, UnsqueezeOp, SqueezeOp, ShapeOp,
                                 SliceOp, ConcatOp, ConstantOp>(op))
        dead.push_back(op);
    });
    for (Operation *op : dead)
      op->erase();
    erased = !dead.empty();
  }
  return folded;
}

} // namespace effc
