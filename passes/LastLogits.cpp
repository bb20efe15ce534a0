//===- LastLogits.cpp - the LM head at one position per row ---------------===//
//
// Generation reads one logits row per sequence per run: the prefill's last
// prompt position (ragged rows end at other positions), a step's only one.
// This pass (effc --last-logits) computes only those: the function result
// `logits` = eff.matmul(hidden [batch, seq, hidden], W [hidden, vocab])
// becomes eff.matmul(gather_elements(hidden, logits_index), W) of shape
// [batch, 1, vocab], where the new input `logits_index` [batch] (int64)
// names each row's position within this run's seq. The LM head's GEMM and
// the logits buffer shrink by seq; the runtime (PastStepModel) feeds the
// positions it reads.
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/I64Constant.h"
#include "dialects/eff/IoName.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::eff {
#define GEN_PASS_DEF_LASTLOGITS
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr StringLiteral kIndexInput = "logits_index";

struct LastLogits : public eff::impl::LastLogitsBase<LastLogits> {
  using LastLogitsBase::LastLogitsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    auto ret = dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator());
    int result = -1;
    for (unsigned i = 0; ret && i < func.getNumResults(); ++i)
      if (effc::ioName(func.getResultAttrDict(i)) == "logits")
        result = int(i);
    if (result < 0) {
      func.emitError("eff-last-logits: no function result named 'logits' (the LM head's output "
                     "[batch, seq, vocab] that generation reads)");
      return signalPassFailure();
    }
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (effc::ioName(func.getArgAttrDict(i)) == kIndexInput) {
        func.emitError("eff-last-logits: the function already has an input named 'logits_index'");
        return signalPassFailure();
      }
    Value logits = ret.getOperand(unsigned(result));
    auto head = logits.getDefiningOp<MatMulOp>();
    auto xType = head ? dyn_cast<RankedTensorType>(head.getA().getType()) : RankedTensorType();
    auto wType = head ? dyn_cast<RankedTensorType>(head.getB().getType()) : RankedTensorType();
    if (!head || !xType || xType.getRank() != 3 || !wType || wType.getRank() != 2 ||
        !wType.hasStaticShape() || xType.isDynamicDim(2)) {
      Operation *def = logits.getDefiningOp();
      func.emitError() << "eff-last-logits: 'logits' is "
                       << (def ? "'" + def->getName().getStringRef().str() + "'"
                               : std::string("a function input"))
                       << ", not eff.matmul(hidden [batch, seq, hidden], weight [hidden, vocab]) "
                          "with a static hidden size and weight";
      return signalPassFailure();
    }
    const int64_t batch = xType.getDimSize(0), hidden = xType.getDimSize(2);

    // The new input, after the others, with batch named as input_ids names it.
    OpBuilder b(func.getContext());
    Attribute batchName = b.getStringAttr("");
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (effc::ioName(func.getArgAttrDict(i)) == "input_ids")
        if (auto params = func.getArgAttrOfType<ArrayAttr>(i, "eff.dim_params");
            params && !params.empty())
          batchName = params[0];
    unsigned at = func.getNumArguments();
    SmallVector<NamedAttribute> attrs = {b.getNamedAttr("eff.name", b.getStringAttr(kIndexInput))};
    if (ShapedType::isDynamic(batch))
      attrs.push_back(b.getNamedAttr("eff.dim_params", b.getArrayAttr({batchName})));
    (void)func.insertArgument(at, RankedTensorType::get({batch}, b.getI64Type()),
                              b.getDictionaryAttr(attrs), func.getLoc());
    Value index = func.getArgument(at);

    // hidden[b, logits_index[b], :] as [batch, 1, hidden], then the head.
    Location loc = head.getLoc();
    b.setInsertionPoint(head);
    Value rows = b.create<ReshapeOp>(loc, index, i64Constant(b, loc, {-1, 1, 1}));
    rows = b.create<ExpandOp>(loc, rows, i64Constant(b, loc, {1, 1, hidden}));
    Value picked = b.create<GatherElementsOp>(loc, head.getA(), rows, b.getI64IntegerAttr(1));
    Value last = b.create<MatMulOp>(loc, picked, head.getB());
    ret->setOperand(unsigned(result), last);
    SmallVector<Type> results(func.getResultTypes());
    results[size_t(result)] = last.getType();
    func.setType(b.getFunctionType(func.getArgumentTypes(), results));
    if (head->use_empty())
      head->erase();
    if (remarks)
      emitRemark(loc) << "eff-last-logits: 'logits' computed at input 'logits_index' only: "
                      << last.getType() << " (the LM head over 1 row of each sequence's "
                      << (xType.isDynamicDim(1) ? std::string("runtime")
                                                : std::to_string(xType.getDimSize(1)))
                      << " positions)";
  }
};

} // namespace
