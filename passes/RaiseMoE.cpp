//===- RaiseMoE.cpp - per-token expert gathers to eff.moe -----------------===//
//
// Anchored on eff.top_k (a router candidate). transformers' batched MoE form
// (also what its dynamo export of Mixtral, Qwen2/3-MoE and DeepSeek-V3
// writes) gathers each routed token's expert weights and multiplies them
// one token at a time:
//
//   idx  = view(clip?(top_k.indices))                        [N = T*k, 1]
//   gu   = view(matmul(gather_nd(W_gate_up [E, 2I, H], idx), view(x_rep)))
//   g, u = split(gu, 2, last axis);  h = act(g) * u         (silu or gelu)
//   d    = view(matmul(gather_nd(W_down [E, H, I], idx), view(h)))
//   y    = reduce_sum(view(d * view(w)), axis 1)            [T, H]
//   x_rep = view(expand(view(x [T, H]), k))                  each token k times
//
// The pass recognizes the three parts independently: the expert MLP (the
// two gathers of one index tensor), the combine (weights times expert output
// summed over the k slots) and the routing weights w, which it reads back to
// the router:
//   w = top_k.values                  -> top-k of the router's scores
//   w = softmax(top_k.values)         -> topk_softmax
//   w = gather_elements(s, indices)   -> scores routing, route_weights = s
// each optionally divided by its sum over k (norm_topk) and scaled by a
// constant (routed_scale). Scores that are softmax(gemm(x, W_router^T))
// become softmax_topk with the router weight as an operand (fp32 routing in
// the kernels); any other scores (DeepSeek-V3's biased sigmoid with group
// masking) stay ops that compute the score tensor the op selects from.
// Everything between top_k and the combine dies (canonicalize).
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"
#include "passes/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_RAISEMOE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

bool isStatic(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape();
}

bool isView(Operation *op) { return op && op->hasTrait<OpTrait::eff::View>(); }

/// The value before any chain of views (reshape, squeeze, unsqueeze, ...).
Value stripViews(Value v) {
  while (isView(v.getDefiningOp()))
    v = v.getDefiningOp()->getOperand(0);
  return v;
}

/// Through single-use views forward: the last value of the chain.
Value followViews(Value v) {
  while (v.hasOneUse() && isView(*v.getUsers().begin()))
    v = v.getUsers().begin()->getResult(0);
  return v;
}

/// The first value of shape `want` on the view chain that starts at `v`.
Value findViewOfShape(Value v, ArrayRef<int64_t> want) {
  while (true) {
    if (isStatic(v) && shapeOf(v) == want)
      return v;
    if (!isView(v.getDefiningOp()))
      return {};
    v = v.getDefiningOp()->getOperand(0);
  }
}

/// The other operand of a binary op when one of them is `v`.
Value otherOperand(Operation *op, Value v) {
  if (op->getNumOperands() != 2)
    return {};
  if (op->getOperand(0) == v)
    return op->getOperand(1);
  if (op->getOperand(1) == v)
    return op->getOperand(0);
  return {};
}

/// An expert projection: matmul(gather_nd(W [E, A, B], idx), view(v [N, B]))
/// viewed as [N, A].
struct ExpertProjection {
  GatherNDOp gather;
  Value weight; // [E, A, B] constant
  Value input;  // [N, B]
  Value output; // [N, A]
};

struct Routing {
  std::string mode = "softmax_topk";
  Value router, routeWeights;
  bool norm = false;
  double scale = 1.0;
};

struct RaiseMoEPass : public mlir::eff::impl::RaiseMoEBase<RaiseMoEPass> {
  using RaiseMoEBase::RaiseMoEBase;

  /// Gathers of 3-D constant expert weights indexed by `indices` (through
  /// views and clips).
  static SmallVector<GatherNDOp> expertGathers(Value indices) {
    SmallVector<GatherNDOp> found;
    SmallVector<Value> work{indices};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (isView(user) || (isa<ClipOp>(user) && use.getOperandNumber() == 0)) {
          work.push_back(user->getResult(0));
        } else if (auto g = dyn_cast<GatherNDOp>(user);
                   g && use.getOperandNumber() == 1 && g.getBatchDims() == 0 &&
                   getConstantElements(g.getData()) && isStatic(g.getData()) &&
                   shapeOf(g.getData()).size() == 3 && isStatic(g.getIndices()) &&
                   shapeOf(g.getIndices()).back() == 1) {
          found.push_back(g);
        }
      }
    }
    return found;
  }

  static LogicalResult projection(GatherNDOp g, ExpertProjection &p, std::string &reason) {
    p.gather = g;
    p.weight = g.getData();
    ArrayRef<int64_t> w = shapeOf(p.weight);
    auto mm = g->hasOneUse() ? dyn_cast<MatMulOp>(*g->getUsers().begin()) : MatMulOp();
    if (!mm || mm.getA() != g.getResult()) {
      reason = "an expert weight gather is not the left operand of one matmul";
      return failure();
    }
    int64_t n = shapeOf(g.getIndices())[0];
    p.input = findViewOfShape(mm.getB(), {n, w[2]});
    p.output = followViews(mm.getResult());
    if (!p.input || !isStatic(p.output) || shapeOf(p.output) != ArrayRef<int64_t>{n, w[1]}) {
      reason = "an expert matmul does not multiply one [tokens, in] row per gathered weight";
      return failure();
    }
    return success();
  }

  /// h = act(g) * u over the halves of split(gu): the activation's name.
  static std::string gatedActivation(SplitOp split, Value &h) {
    Value g = split.getResult(0), u = split.getResult(1);
    for (Operation *user : u.getUsers()) {
      if (!isa<MulOp>(user))
        continue;
      Value act = otherOperand(user, u);
      Operation *def = act ? act.getDefiningOp() : nullptr;
      if (auto gelu = dyn_cast_or_null<GeluOp>(def);
          gelu && gelu.getX() == g && gelu.getApproximate() == "none") {
        h = user->getResult(0);
        return "gelu";
      }
      if (def && isa<MulOp>(def)) {
        Value sig = otherOperand(def, g);
        auto sigmoid = sig ? sig.getDefiningOp<SigmoidOp>() : SigmoidOp();
        if (sigmoid && sigmoid->getOperand(0) == g) {
          h = user->getResult(0);
          return "silu";
        }
      }
    }
    return "";
  }

  /// x [T, H] in the router's gemm(x, W^T) with W a constant [E, H].
  static Value routerWeight(Value logits, Value x, int64_t experts) {
    auto gemm = logits.getDefiningOp<GemmOp>();
    if (!gemm || gemm.getC() || gemm.getTransA() != 0 || gemm.getTransB() != 1 ||
        gemm.getAlpha().convertToDouble() != 1.0 || stripViews(gemm.getA()) != stripViews(x) ||
        !getConstantElements(gemm.getB()) || shapeOf(gemm.getB())[0] != experts)
      return {};
    return gemm.getB();
  }

  static LogicalResult readRouting(TopKOp topk, Value w, Value x, int64_t experts, Routing &r,
                                   std::string &reason) {
    w = stripViews(w);
    // * routed_scale (a constant scalar on either side).
    if (auto mul = w.getDefiningOp<MulOp>()) {
      for (int i = 0; i < 2; ++i)
        if (std::optional<double> c = getConstantScalar(mul->getOperand(1 - i))) {
          r.scale = *c;
          w = stripViews(mul->getOperand(i));
          break;
        }
    }
    // / sum over the k slots (norm_topk).
    if (auto div = w.getDefiningOp<DivOp>()) {
      auto sum = div.getB().getDefiningOp<ReduceSumOp>();
      if (sum && sum->getOperand(0) == div.getA()) {
        r.norm = true;
        w = stripViews(div.getA());
      }
    }
    Value scores = topk.getX();
    if (shapeOf(scores).size() != 2 || shapeOf(scores)[1] != experts) {
      reason = llvm::formatv("top_k selects from {0}, not from [tokens, {1} experts] scores",
                             shapeToString(shapeOf(scores)), experts)
                   .str();
      return failure();
    }
    if (w == topk.getValues()) {
      auto softmax = scores.getDefiningOp<SoftmaxOp>();
      Value router = softmax && (softmax.getAxis() == -1 || softmax.getAxis() == 1)
                         ? routerWeight(softmax.getInput(), x, experts)
                         : Value();
      r.mode = router ? "softmax_topk" : "scores";
      r.router = router ? router : scores;
      return success();
    }
    if (auto softmax = w.getDefiningOp<SoftmaxOp>();
        softmax && softmax.getInput() == topk.getValues()) {
      r.mode = "topk_softmax";
      r.norm = false; // the softmax already sums to 1
      r.router = routerWeight(scores, x, experts);
      if (!r.router) {
        reason = "softmax after top-k over logits that are not a router gemm(x, W^T)";
        return failure();
      }
      return success();
    }
    if (auto gather = w.getDefiningOp<GatherElementsOp>();
        gather && stripViews(gather.getIndices()) == topk.getIndices() &&
        (gather.getAxis() == 1 || gather.getAxis() == -1) &&
        shapeOf(gather.getData()) == shapeOf(scores)) {
      r.mode = "scores";
      r.router = scores;
      r.routeWeights = gather.getData();
      return success();
    }
    reason = "the routing weights are not the top-k values, their softmax, or a gather of "
             "scores at the chosen experts";
    return failure();
  }

  /// Raises the MoE layer that `topk` routes, or says why not.
  FailureOr<MoEOp> raise(TopKOp topk, std::string &reason) {
    std::optional<SmallVector<int64_t>> kValues = getConstantInts(topk.getK());
    if (!isStatic(topk.getX()) || !kValues || kValues->size() != 1) {
      reason = "dynamic shape or non-constant k";
      return failure();
    }
    int64_t rank = int64_t(shapeOf(topk.getX()).size());
    if ((topk.getAxis() != -1 && topk.getAxis() != rank - 1) || topk.getLargest() != 1) {
      reason = "not a largest-k selection over the last axis";
      return failure();
    }
    int64_t k = (*kValues)[0];
    SmallVector<GatherNDOp> gathers = expertGathers(topk.getIndices());
    if (gathers.empty()) {
      reason = "its indices gather no expert weights (not a router)";
      return failure();
    }
    if (gathers.size() != 2) {
      reason = llvm::formatv("its indices gather {0} expert weights; a fused gate_up [E, 2I, H] "
                             "and a down [E, H, I] are supported (separate gate and up weights "
                             "are not yet)",
                             gathers.size())
                   .str();
      return failure();
    }
    ExpertProjection first, second;
    if (failed(projection(gathers[0], first, reason)) ||
        failed(projection(gathers[1], second, reason)))
      return failure();
    // The gate_up projection is the one split into halves.
    auto splitOf = [](const ExpertProjection &p) {
      auto split =
          p.output.hasOneUse() ? dyn_cast<SplitOp>(*p.output.getUsers().begin()) : SplitOp();
      return split && split->getNumResults() == 2 ? split : SplitOp();
    };
    if (!splitOf(first))
      std::swap(first, second);
    SplitOp split = splitOf(first);
    if (!split) {
      reason = "no expert projection is split into gate and up halves";
      return failure();
    }
    const ExpertProjection &gateUp = first, &down = second;
    int64_t lastAxis = int64_t(shapeOf(gateUp.output).size()) - 1;
    if ((split.getAxis() != -1 && split.getAxis() != lastAxis) ||
        shapeOf(split.getResult(0)) != shapeOf(split.getResult(1))) {
      reason = "the gate_up projection is not split into two equal halves of its last axis";
      return failure();
    }
    Value h;
    std::string activation = gatedActivation(split, h);
    if (activation.empty()) {
      reason = "the expert activation is not silu(gate) * up or gelu(gate) * up";
      return failure();
    }
    if (stripViews(down.input) != stripViews(h)) {
      reason = "the down projection does not read act(gate) * up";
      return failure();
    }
    ArrayRef<int64_t> gu = shapeOf(gateUp.weight), dw = shapeOf(down.weight);
    int64_t experts = gu[0], hidden = gu[2], inter = gu[1] / 2, n = shapeOf(gateUp.output)[0];
    if (dw != ArrayRef<int64_t>{experts, hidden, inter} || n % k) {
      reason = llvm::formatv("down weight {0} does not match gate_up {1}", shapeToString(dw),
                             shapeToString(gu))
                   .str();
      return failure();
    }
    int64_t tokens = n / k;
    // The combine: reduce_sum over the k slots of (expert output * weight).
    Operation *weighting = down.output.hasOneUse() ? *down.output.getUsers().begin() : nullptr;
    Value wcol =
        weighting && isa<MulOp>(weighting) ? otherOperand(weighting, down.output) : Value();
    Value summed = wcol ? followViews(weighting->getResult(0)) : Value();
    auto combine = summed && summed.hasOneUse() ? dyn_cast<ReduceSumOp>(*summed.getUsers().begin())
                                                : ReduceSumOp();
    std::optional<SmallVector<int64_t>> axes =
        combine ? getConstantInts(combine->getOperand(1)) : std::nullopt;
    if (!combine || shapeOf(summed) != ArrayRef<int64_t>{tokens, k, hidden} || !axes ||
        axes->size() != 1 || ((*axes)[0] != 1 && (*axes)[0] != -2) || combine.getKeepdims() != 0) {
      reason = "the expert outputs are not weighted and summed over the k slots "
               "(reduce_sum over axis 1 of [tokens, k, hidden])";
      return failure();
    }
    // x: the token rows each repeated k times.
    auto expand = stripViews(gateUp.input).getDefiningOp<ExpandOp>();
    Value x = expand ? findViewOfShape(expand.getInput(), {tokens, hidden}) : Value();
    if (!x) {
      reason = "the expert input is not the [tokens, hidden] rows repeated k times";
      return failure();
    }
    Routing routing;
    if (failed(readRouting(topk, wcol, x, experts, routing, reason)))
      return failure();

    OpBuilder b(combine);
    NamedAttrList attrs;
    attrs.append("num_experts", b.getI64IntegerAttr(experts));
    attrs.append("top_k", b.getI64IntegerAttr(k));
    attrs.append("norm_topk", b.getI64IntegerAttr(routing.norm ? 1 : 0));
    attrs.append("routing", b.getStringAttr(routing.mode));
    attrs.append("activation", b.getStringAttr(activation));
    attrs.append("routed_scale", b.getF32FloatAttr(float(routing.scale)));
    attrs.append("operandSegmentSizes",
                 b.getDenseI32ArrayAttr({1, 1, 1, 1, routing.routeWeights ? 1 : 0, 0, 0, 0}));
    SmallVector<Value> operands{x, routing.router, gateUp.weight, down.weight};
    if (routing.routeWeights)
      operands.push_back(routing.routeWeights);
    auto moe =
        b.create<MoEOp>(combine.getLoc(), TypeRange{x.getType()}, operands, attrs.getAttrs());
    combine.getResult().replaceAllUsesWith(moe.getResult());
    return moe;
  }

  void runOnOperation() override {
    SmallVector<TopKOp> candidates;
    getOperation().walk([&](TopKOp op) { candidates.push_back(op); });
    for (TopKOp topk : candidates) {
      std::string reason;
      FailureOr<MoEOp> moe = raise(topk, reason);
      if (!remarks)
        continue;
      if (failed(moe)) {
        topk->emitRemark("router not raised to eff.moe: ") << reason;
        continue;
      }
      topk->emitRemark(llvm::formatv(
          "router raised to eff.moe: {0} experts, top_k={1}, routing={2}, norm_topk={3}, "
          "activation={4}, routed_scale={5}{6}",
          moe->getNumExperts(), moe->getTopK(), moe->getRouting(), moe->getNormTopk(),
          moe->getActivation(), moe->getRoutedScale().convertToDouble(),
          moe->getRouting() == "scores" ? " (the scores are computed outside the op)" : ""));
    }
  }
};

} // namespace
