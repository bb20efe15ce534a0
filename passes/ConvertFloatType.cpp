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

/// eff.moe's routing operands (router weight or scores, route_weights):
/// read in fp32 by its kernels.
bool isMoERouting(OpOperand &use) {
  auto moe = dyn_cast<MoEOp>(use.getOwner());
  return moe && (use.get() == moe.getRouter() || use.get() == moe.getRouteWeights());
}

/// Ops that compute what eff.top_k selects from (MoE router logits and their
/// softmax) or what eff.moe routes with, back to and including the matmul
/// that produces them. They stay fp32: rounding the logits to 16 bits flips
/// near-tied expert choices, which changes whole rows of the output (the
/// fp32 router of vLLM and TRT-LLM).
llvm::SmallPtrSet<Operation *, 16> selectionOps(func::FuncOp func) {
  llvm::SmallPtrSet<Operation *, 16> keep;
  auto keepChain = [&](Operation *op) {
    while (op && isa<EffDialect>(op->getDialect()) && !isa<ConstantOp>(op)) {
      keep.insert(op);
      if (op->hasTrait<OpTrait::eff::GemmLike>())
        break;
      // Follow the one tensor the value is computed from (softmax, scale,
      // views); constants and shape operands are not followed.
      Operation *next = nullptr;
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp(); def && !isa<ConstantOp>(def)) {
          next = def;
          break;
        }
      op = next;
    }
  };
  func.walk([&](TopKOp topk) {
    keep.insert(topk);
    keepChain(topk.getX().getDefiningOp());
  });
  func.walk([&](MoEOp moe) {
    for (Value routing : {moe.getRouter(), moe.getRouteWeights()})
      if (routing)
        keepChain(routing.getDefiningOp());
  });
  return keep;
}

bool isFloatTensorOf(Type t, Type elt) {
  auto tt = dyn_cast<TensorType>(t);
  return tt && tt.getElementType() == elt;
}

struct ConvertFloatTypePass : public mlir::eff::impl::ConvertFloatTypeBase<ConvertFloatTypePass> {
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

    llvm::SmallPtrSet<Operation *, 16> keepF32 = selectionOps(func);
    Type f32 = b.getF32Type();
    // Forward walk: rewrite what names fp32 explicitly, then re-infer types.
    for (Operation &op : llvm::make_early_inc_range(entry.without_terminator())) {
      if (auto constant = dyn_cast<ConstantOp>(&op)) {
        if (!isF32Tensor(constant.getType()))
          continue;
        // Weights read only by fp32 router ops keep their precision, and so
        // do eff.quant_linear's scales (a few per block; the kernels read
        // any float type, and bf16 scales would add their rounding to every
        // weight of the block).
        if (!constant->use_empty() && llvm::all_of(constant->getUses(), [&](OpOperand &use) {
              return keepF32.contains(use.getOwner()) || isa<QuantLinearOp>(use.getOwner()) ||
                     isMoERouting(use);
            }))
          continue;
        builder.setInsertionPointAfter(constant);
        Value converted = builder.createOrFold<CastOp>(constant.getLoc(), constant, targetCode);
        constant.getResult().replaceAllUsesExcept(converted, converted.getDefiningOp());
        continue;
      }
      // At the edge of the fp32 router: cast operands to the type the op
      // computes in (up inside the router, down after it); quant_linear's
      // scales stay as they are.
      if (!isa<CastOp>(op)) {
        Type want = keepF32.contains(&op) ? f32 : target;
        Type other = keepF32.contains(&op) ? target : f32;
        builder.setInsertionPoint(&op);
        for (OpOperand &operand : op.getOpOperands())
          if (isFloatTensorOf(operand.get().getType(), other) &&
              !(isa<QuantLinearOp>(op) && operand.getOperandNumber() != 0) &&
              !isMoERouting(operand))
            operand.set(builder.create<CastOp>(op.getLoc(), operand.get(),
                                               want == f32 ? kOnnxFloat : targetCode));
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
          fill.setValueAttr(
              DenseElementsAttr::get(RankedTensorType::get(dense.getType().getShape(), target), v));
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
      for (auto [result, type] : llvm::zip(op.getResults(), types)) {
        // Keep the dims an earlier refinement made static that inference
        // alone cannot see (eff-refine-shapes probe-dims: GPT-2's heads and
        // batch next to a runtime seq).
        auto before = dyn_cast<RankedTensorType>(result.getType());
        auto after = dyn_cast<RankedTensorType>(type);
        if (before && after && before.getRank() == after.getRank()) {
          SmallVector<int64_t> shape(after.getShape());
          for (auto [dim, known] : llvm::zip(shape, before.getShape()))
            if (ShapedType::isDynamic(dim))
              dim = known;
          type = RankedTensorType::get(shape, after.getElementType(), after.getEncoding());
        }
        result.setType(type);
      }
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
