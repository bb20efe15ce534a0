//===- ConvertFloatType.cpp - compute in bf16/fp16 ------------------------===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"

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

/// x * x as eff.pow(x, 2) or eff.mul(x, x).
bool isSquare(Operation *op) {
  if (auto mul = dyn_cast<MulOp>(op))
    return mul.getA() == mul.getB();
  auto pow = dyn_cast<PowOp>(op);
  DenseElementsAttr exponent;
  if (!pow || !matchPattern(pow.getB(), m_Constant(&exponent)) || !exponent.isSplat() ||
      !isa<FloatType>(exponent.getElementType()))
    return false;
  return exponent.getSplatValue<APFloat>().convertToDouble() == 2.0;
}

/// The value of a constant float splat.
std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// The op that is the only use of v, if any.
Operation *soleUser(Value v) { return v.hasOneUse() ? *v.getUsers().begin() : nullptr; }

/// The operand of binary op that is not v.
Value otherOperand(Operation *op, Value v) {
  return op->getOperand(0) == v ? op->getOperand(1) : op->getOperand(0);
}

/// RMSNorm as exporters decompose it (HF LlamaRMSNorm through
/// torch.onnx.export): x * reciprocal(sqrt(reduce_mean(x^2, last axis) +
/// eps)) [* weight], or x / sqrt(...), becomes eff.rms_norm (stash_type 1:
/// the statistic in fp32, one rounding of the output). Converted op by op,
/// the square, the mean, +eps, sqrt and the reciprocal would each round to
/// 16 bits and the error of the statistic scales whole rows; HF computes
/// this in fp32 (hidden_states.to(float32)) as fused RMSNorm kernels do.
/// One row kernel replaces the reduction and the elementwise kernels (seven
/// where shapes are symbolic and nothing fuses). Only where every
/// intermediate has no other use.
void raiseRMSNorms(func::FuncOp func) {
  SmallVector<ReduceMeanOp> means;
  func.walk([&](ReduceMeanOp mean) { means.push_back(mean); });
  OpBuilder b(func.getContext());
  for (ReduceMeanOp mean : means) {
    Operation *square = mean.getData().getDefiningOp();
    if (!square || !isSquare(square) || !square->getResult(0).hasOneUse())
      continue;
    Value x = square->getOperand(0);
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !xType.getElementType().isF32() || xType.getRank() == 0 ||
        ShapedType::isDynamic(xType.getShape().back()))
      continue;
    // The mean of the last axis, kept as a dim of 1.
    DenseIntElementsAttr axes;
    int64_t rank = xType.getRank();
    if (!mean.getAxes() || !matchPattern(mean.getAxes(), m_Constant(&axes)) ||
        axes.getNumElements() != 1 || int64_t(mean.getKeepdims()) != 1)
      continue;
    int64_t axis = (*axes.getValues<APInt>().begin()).getSExtValue();
    if (axis != -1 && axis != rank - 1)
      continue;
    // + eps (a scalar), sqrt, then reciprocal and * x, or x / it.
    auto add = dyn_cast_or_null<AddOp>(soleUser(mean.getResult()));
    std::optional<double> eps =
        add ? splatValue(otherOperand(add, mean.getResult())) : std::nullopt;
    if (!eps || *eps < 0 || add.getType() != mean.getType())
      continue;
    auto sqrt = dyn_cast_or_null<SqrtOp>(soleUser(add.getResult()));
    if (!sqrt)
      continue;
    SmallVector<Operation *> chain{square, mean, add, sqrt};
    Operation *next = soleUser(sqrt.getResult());
    Operation *scaled = nullptr;
    if (auto recip = dyn_cast_or_null<ReciprocalOp>(next)) {
      auto mul = dyn_cast_or_null<MulOp>(soleUser(recip.getResult()));
      if (mul && otherOperand(mul, recip.getResult()) == x) {
        chain.push_back(recip);
        scaled = mul;
      }
    } else if (auto div = dyn_cast_or_null<DivOp>(next); div && div.getA() == x) {
      scaled = div;
    }
    if (!scaled || scaled->getResult(0).getType() != x.getType())
      continue;
    chain.push_back(scaled);
    // * weight: a constant of the row's length.
    Value weight;
    if (auto mul = dyn_cast_or_null<MulOp>(soleUser(scaled->getResult(0)))) {
      Value w = otherOperand(mul, scaled->getResult(0));
      auto wType = dyn_cast<RankedTensorType>(w.getType());
      if (matchPattern(w, m_Constant()) && wType && wType.getRank() == 1 &&
          wType.getElementType().isF32() && wType.getShape()[0] == xType.getShape().back() &&
          mul.getType() == x.getType()) {
        weight = w;
        chain.push_back(mul);
      }
    }
    Operation *last = chain.back();
    b.setInsertionPoint(last);
    if (!weight) {
      auto ones = RankedTensorType::get({xType.getShape().back()}, b.getF32Type());
      weight = b.create<ConstantOp>(last->getLoc(), ones,
                                    DenseElementsAttr::get(ones, b.getF32FloatAttr(1.0f)));
    }
    auto norm = b.create<RMSNormOp>(last->getLoc(), x.getType(), x, weight, b.getI64IntegerAttr(-1),
                                    b.getF32FloatAttr(float(*eps)), b.getI64IntegerAttr(1));
    last->getResult(0).replaceAllUsesWith(norm.getResult());
    for (Operation *op : llvm::reverse(chain))
      op->erase();
  }
}

/// Rotary (and sinusoidal) position tables: eff.cos/eff.sin and every float
/// op they are computed from, back to integer positions and constants (the
/// cast of position ids, times inv_freq, the concat). They stay fp32 as in
/// HF's rotary embeddings (autocast off, .float()); only cos and sin are
/// rounded. In bf16 the positions are exact only up to 256 and an angle of
/// 30 radians only to 1/8 radian. A table that anything else feeds (an
/// activation, an input, a GEMM) is left to the target type.
void keepPositionTables(func::FuncOp func, llvm::SmallPtrSetImpl<Operation *> &keep) {
  func.walk([&](Operation *trig) {
    if (!isa<CosOp, SinOp>(trig) || !isF32Tensor(trig->getResult(0).getType()))
      return;
    llvm::SetVector<Operation *> slice;
    SmallVector<Operation *> work{trig};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!slice.insert(op))
        continue;
      for (Value v : op->getOperands()) {
        auto type = dyn_cast<TensorType>(v.getType());
        if (!type || !isa<FloatType>(type.getElementType()))
          continue; // integer positions and shapes
        Operation *def = v.getDefiningOp();
        if (def && isa<ConstantOp>(def))
          continue;
        if (!def || !isa<EffDialect>(def->getDialect()) ||
            def->hasTrait<OpTrait::eff::GemmLike>() || def->getNumRegions())
          return;
        work.push_back(def);
      }
    }
    keep.insert(slice.begin(), slice.end());
  });
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

    raiseRMSNorms(func);
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
    keepPositionTables(func, keepF32);
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
        if (castOp.getTo() == kOnnxFloat && !keepF32.contains(&op))
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
