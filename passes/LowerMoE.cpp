//===- LowerMoE.cpp - eff.moe as its stage kernels ------------------------===//
//
// Each eff.moe becomes
//
//   experts, weights = eff.moe_route(x, router[, route_weights])
//   order = eff.moe_permute(experts)                  (prefill only)
//   h  = eff.moe_expert_gemm(x, gate_up, order|experts) {gated}   act(g) * u
//   z  = eff.moe_expert_gemm(h, down, order|experts)              f32 rows
//   hs = eff.moe_expert_gemm(x, shared_gate_up) {dense, gated}    (shared
//   zs = eff.moe_expert_gemm(hs, shared_down) {dense}              expert)
//   y  = eff.moe_combine(x, z, weights[, order][, zs][, shared_gate])
//
// Decode (T <= kDecodeMaxTokens tokens, compiler/kernelmodel/MoEModel.h) keeps the slots in token
// order (rows "slots": no permutation; the GEMV kernels stream each selected expert's weights
// once); prefill sorts them by expert (rows "sorted") so each expert GEMM is one grouped launch. h
// keeps x's type (as the exported model rounds it), z is f32 until the combine. An eff.moe the
// stage kernels cannot take (float64, more than 256 experts, dynamic shapes) stays whole and runs
// as the per-token kernel.
//
#include "compiler/kernelmodel/MoEModel.h"
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

namespace mlir::eff {
#define GEN_PASS_DEF_LOWERMOE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

using effc::codegen::moe::kMaxExperts;

/// w [A, B] as [1, A, B] (folds on constants).
Value oneExpert(OpBuilder &b, Location loc, Value w) {
  auto type = cast<RankedTensorType>(w.getType());
  SmallVector<int64_t> shape{1, type.getDimSize(0), type.getDimSize(1)};
  auto shapeType = RankedTensorType::get({3}, b.getI64Type());
  Value shapeValue =
      b.create<ConstantOp>(loc, shapeType, DenseIntElementsAttr::get(shapeType, shape));
  return b.createOrFold<ReshapeOp>(loc, ValueRange{w, shapeValue}, ArrayRef<NamedAttribute>{});
}

struct LowerMoEPass : public mlir::eff::impl::LowerMoEBase<LowerMoEPass> {
  using LowerMoEBase::LowerMoEBase;

  /// Why `moe` stays whole, or "" when it lowers.
  static std::string keepReason(MoEOp moe) {
    for (Value v : moe->getOperands())
      if (!cast<ShapedType>(v.getType()).hasStaticShape())
        return "dynamic shapes";
    if (!moe.getX().getType().getElementType().isF32() &&
        !moe.getX().getType().getElementType().isF16() &&
        !moe.getX().getType().getElementType().isBF16())
      return "the stage kernels take float32, float16 and bfloat16";
    if (int64_t(moe.getNumExperts()) > kMaxExperts)
      return "more than " + std::to_string(kMaxExperts) + " experts";
    return "";
  }

  void lower(MoEOp moe) {
    OpBuilder b(moe);
    Location loc = moe.getLoc();
    const int64_t T = moe.getX().getType().getDimSize(0);
    const bool sorted = effc::codegen::moe::sortsTokens(T);

    NamedAttrList routeAttrs;
    routeAttrs.append("num_experts", moe.getNumExpertsAttr());
    routeAttrs.append("top_k", moe.getTopKAttr());
    for (StringRef name : {"norm_topk", "routing", "routed_scale"})
      if (Attribute a = moe->getAttr(name))
        routeAttrs.append(name, a);
    SmallVector<Value> routeOperands{moe.getX(), moe.getRouter()};
    if (moe.getRouteWeights())
      routeOperands.push_back(moe.getRouteWeights());
    auto route = b.create<MoERouteOp>(loc, routeOperands, routeAttrs.getAttrs());

    Value index = route.getExperts(), order;
    if (sorted) {
      NamedAttrList attrs;
      attrs.append("num_experts", moe.getNumExpertsAttr());
      order = b.create<MoEPermuteOp>(loc, ValueRange{route.getExperts()}, attrs.getAttrs());
      index = order;
    }
    Attribute activation = moe->getAttr("activation");
    auto gemm = [&](Value a, Value w, Value idx, StringRef rows, bool gated) {
      NamedAttrList attrs;
      attrs.append("top_k", rows == "dense" ? b.getI64IntegerAttr(1) : moe.getTopKAttr());
      attrs.append("rows", b.getStringAttr(rows));
      attrs.append("gated", b.getI64IntegerAttr(gated ? 1 : 0));
      if (gated && activation)
        attrs.append("activation", activation);
      SmallVector<Value> operands{a, w};
      if (idx)
        operands.push_back(idx);
      return b.create<MoEExpertGemmOp>(loc, operands, attrs.getAttrs()).getResult();
    };
    StringRef rows = sorted ? "sorted" : "slots";
    Value h = gemm(moe.getX(), moe.getGateUp(), index, rows, true);
    Value z = gemm(h, moe.getDown(), index, rows, false);
    Value zs;
    if (moe.getSharedGateUp()) {
      Value hs = gemm(moe.getX(), oneExpert(b, loc, moe.getSharedGateUp()), Value(), "dense", true);
      zs = gemm(hs, oneExpert(b, loc, moe.getSharedDown()), Value(), "dense", false);
    }
    SmallVector<Value> operands{moe.getX(), z, route.getWeights()};
    if (order)
      operands.push_back(order);
    if (zs)
      operands.push_back(zs);
    if (moe.getSharedGate())
      operands.push_back(moe.getSharedGate());
    NamedAttrList attrs;
    attrs.append("num_experts", moe.getNumExpertsAttr());
    attrs.append("operandSegmentSizes", b.getDenseI32ArrayAttr({1, 1, 1, order ? 1 : 0, zs ? 1 : 0,
                                                                moe.getSharedGate() ? 1 : 0}));
    auto combine =
        b.create<MoECombineOp>(loc, TypeRange{moe.getType()}, operands, attrs.getAttrs());
    moe.getResult().replaceAllUsesWith(combine.getResult());
    moe->erase();
  }

  void runOnOperation() override {
    SmallVector<MoEOp> layers;
    getOperation().walk([&](MoEOp op) { layers.push_back(op); });
    for (MoEOp moe : layers) {
      std::string why = keepReason(moe);
      if (why.empty())
        lower(moe);
      else if (remarks)
        moe.emitRemark("eff.moe kept whole (per-token kernel): ") << why;
    }
  }
};

} // namespace
