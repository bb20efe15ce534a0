//===- ConvertFloatType.cpp - compute in bf16/fp16 ------------------------===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

namespace mlir::eff {
#define GEN_PASS_DEF_CONVERTFLOATTYPE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// ONNX TensorProto data type codes of the float types involved.
constexpr int64_t kOnnxFloat = 1, kOnnxFloat16 = 10, kOnnxBFloat16 = 16;

bool isF32Tensor(Type t) {
  auto tt = dyn_cast<TensorType>(t);
  return tt && tt.getElementType().isF32();
}

struct ConvertFloatTypePass
    : public mlir::eff::impl::ConvertFloatTypeBase<ConvertFloatTypePass> {
  using ConvertFloatTypeBase::ConvertFloatTypeBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    Builder b(&getContext());
    Type target;
    int64_t targetCode;
    if (dtype == "bf16") {
      target = b.getBF16Type();
      targetCode = kOnnxBFloat16;
    } else if (dtype == "fp16") {
      target = b.getF16Type();
      targetCode = kOnnxFloat16;
    } else if (dtype == "fp32") {
      return;
    } else {
      func.emitError("eff-convert-float-type: dtype must be bf16, fp16 or fp32, got '")
          << dtype << "'";
      return signalPassFailure();
    }

    Block &entry = func.getBody().front();
    OpBuilder builder(&getContext());
    // Inputs: cast on entry, so the caller still passes fp32.
    builder.setInsertionPointToStart(&entry);
    for (BlockArgument arg : entry.getArguments()) {
      if (!isF32Tensor(arg.getType()) || arg.use_empty())
        continue;
      auto cast = builder.create<CastOp>(arg.getLoc(), arg, targetCode);
      arg.replaceAllUsesExcept(cast, cast);
    }

    // Forward walk: rewrite what names fp32 explicitly, then re-infer types.
    for (Operation &op : llvm::make_early_inc_range(entry.without_terminator())) {
      if (auto constant = dyn_cast<ConstantOp>(&op)) {
        if (!isF32Tensor(constant.getType()))
          continue;
        builder.setInsertionPointAfter(constant);
        Value converted = builder.createOrFold<CastOp>(constant.getLoc(), constant, targetCode);
        constant.getResult().replaceAllUsesExcept(converted, converted.getDefiningOp());
        continue;
      }
      if (auto castOp = dyn_cast<CastOp>(&op)) {
        if (castOp.getTo() == kOnnxFloat)
          castOp.setTo(targetCode);
      } else if (auto fill = dyn_cast<ConstantOfShapeOp>(&op)) {
        if (auto value = fill.getValueAttr(); value && value.getElementType().isF32()) {
          auto dense = cast<DenseElementsAttr>(value);
          APFloat v = *dense.getValues<APFloat>().begin();
          bool losesInfo;
          v.convert(cast<FloatType>(target).getFloatSemantics(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
          fill.setValueAttr(DenseElementsAttr::get(
              RankedTensorType::get(dense.getType().getShape(), target), v));
        }
      }
      auto infer = dyn_cast<InferTypeOpInterface>(&op);
      if (!infer)
        continue;
      SmallVector<Type> types;
      if (failed(infer.inferReturnTypes(&getContext(), op.getLoc(), op.getOperands(),
                                        op.getAttrDictionary(), op.getPropertiesStorage(),
                                        op.getRegions(), types))) {
        op.emitError("cannot re-infer result types after converting to ") << dtype;
        return signalPassFailure();
      }
      for (auto [result, type] : llvm::zip(op.getResults(), types))
        result.setType(type);
    }

    // Outputs: cast back to the declared fp32 results.
    Operation *ret = entry.getTerminator();
    builder.setInsertionPoint(ret);
    for (auto [i, type] : llvm::enumerate(func.getFunctionType().getResults())) {
      Value value = ret->getOperand(i);
      if (isF32Tensor(type) && value.getType() != type)
        ret->setOperand(i, builder.create<CastOp>(value.getLoc(), value, kOnnxFloat));
    }
  }
};

} // namespace
