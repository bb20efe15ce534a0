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
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"
#include "passes/Passes.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

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

  /// The constant router W [E, H] of logits = gemm(x, W^T) or matmul(x, W^T)
  /// (W^T a constant [H, E], transposed here; the transpose folds).
  static Value routerWeight(Value logits, Value x, int64_t experts) {
    if (auto mm = logits.getDefiningOp<MatMulOp>()) {
      Value wt = mm.getB();
      if (stripViews(mm.getA()) != stripViews(x) || !getConstantElements(wt) || !isStatic(wt) ||
          shapeOf(wt).size() != 2 || shapeOf(wt)[1] != experts)
        return {};
      OpBuilder b(mm);
      b.setInsertionPointAfterValue(wt);
      return b.createOrFold<TransposeOp>(mm.getLoc(), wt, b.getDenseI64ArrayAttr({1, 0}));
    }
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
        reason = "softmax after top-k over logits that are not a router gemm(x, W^T) or "
                 "matmul(x, W^T)";
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
    for (Operation *user : topk.getIndices().getUsers())
      if (auto oneHot = dyn_cast<OneHotOp>(user);
          oneHot && oneHot.getIndices() == topk.getIndices())
        return raiseLoop(topk, oneHot, k, reason);
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
    MoEOp moe = buildMoE(b, combine.getLoc(), x, routing, gateUp.weight, down.weight, experts, k,
                         activation);
    combine.getResult().replaceAllUsesWith(moe.getResult());
    return moe;
  }

  static MoEOp buildMoE(OpBuilder &b, Location loc, Value x, const Routing &routing, Value gateUp,
                        Value down, int64_t experts, int64_t k, StringRef activation) {
    NamedAttrList attrs;
    attrs.append("num_experts", b.getI64IntegerAttr(experts));
    attrs.append("top_k", b.getI64IntegerAttr(k));
    attrs.append("norm_topk", b.getI64IntegerAttr(routing.norm ? 1 : 0));
    attrs.append("routing", b.getStringAttr(routing.mode));
    attrs.append("activation", b.getStringAttr(activation));
    attrs.append("routed_scale", b.getF32FloatAttr(float(routing.scale)));
    attrs.append("operandSegmentSizes",
                 b.getDenseI32ArrayAttr({1, 1, 1, 1, routing.routeWeights ? 1 : 0, 0, 0, 0}));
    SmallVector<Value> operands{x, routing.router, gateUp, down};
    if (routing.routeWeights)
      operands.push_back(routing.routeWeights);
    return b.create<MoEOp>(loc, TypeRange{x.getType()}, operands, attrs.getAttrs());
  }

  //===------------------------------------------------------------------===//
  // The per-expert loop form
  //===------------------------------------------------------------------===//

  /// One expert's piece of the loop form.
  struct LoopExpert {
    int64_t expert = -1;
    Value tokenRow, slotRow; // bases of the token / slot coordinate rows of non_zero
    Value x;                 // [T, H] whose rows the expert reads
    Value gate, up, down;    // constant weights, [out, in]
    std::string activation;
    Value routeWeights; // the [T, k] weights its rows are scaled by
    Operation *scatter = nullptr;
  };

  /// The weight of a linear layer y = linear(in) as [out, in]: matmul(in, W^T)
  /// with W^T a constant [in, out] (transposed here; the transpose folds) or
  /// gemm(in, W, transB=1) without bias.
  static Value linearWeight(Operation *user, Value in) {
    OpBuilder b(user);
    if (auto mm = dyn_cast<MatMulOp>(user); mm && mm.getA() == in) {
      Value wt = mm.getB();
      if (!getConstantElements(wt) || !isStatic(wt) || shapeOf(wt).size() != 2)
        return {};
      b.setInsertionPointAfterValue(wt);
      return b.createOrFold<TransposeOp>(mm.getLoc(), wt, b.getDenseI64ArrayAttr({1, 0}));
    }
    if (auto gemm = dyn_cast<GemmOp>(user);
        gemm && gemm.getA() == in && !gemm.getC() && gemm.getTransA() == 0 &&
        gemm.getTransB() == 1 && gemm.getAlpha().convertToDouble() == 1.0 &&
        getConstantElements(gemm.getB()) && isStatic(gemm.getB()))
      return gemm.getB();
    return {};
  }

  /// The factors of a tree of multiplications.
  static void mulFactors(Value v, SmallVectorImpl<Value> &factors, int depth = 0) {
    if (auto mul = v.getDefiningOp<MulOp>(); mul && depth < 4) {
      mulFactors(mul->getOperand(0), factors, depth + 1);
      mulFactors(mul->getOperand(1), factors, depth + 1);
      return;
    }
    factors.push_back(v);
  }

  /// `a` = act(g): silu (g * sigmoid(g)), gelu (eff.gelu, or the erf form
  /// g * 0.5 * (1 + erf(g / sqrt 2)) that opsets before 20 export).
  static std::string activationOf(Value a, Value g) {
    if (auto gelu = a.getDefiningOp<GeluOp>())
      return gelu.getX() == g && gelu.getApproximate() == "none" ? "gelu" : "";
    SmallVector<Value> factors;
    mulFactors(a, factors);
    auto has = [&](auto pred) { return llvm::count_if(factors, pred) == 1; };
    auto isG = [&](Value f) { return f == g; };
    if (factors.size() == 2 && has(isG) && has([&](Value f) {
          auto s = f.getDefiningOp<SigmoidOp>();
          return s && s->getOperand(0) == g;
        }))
      return "silu";
    auto isHalf = [](Value f) {
      std::optional<double> c = getConstantScalar(f);
      return c && *c == 0.5;
    };
    auto isOnePlusErf = [&](Value f) {
      auto add = f.getDefiningOp<AddOp>();
      if (!add)
        return false;
      for (int i = 0; i < 2; ++i) {
        std::optional<double> one = getConstantScalar(add->getOperand(1 - i));
        auto erf = add->getOperand(i).getDefiningOp<ErfOp>();
        if (!one || *one != 1.0 || !erf)
          continue;
        Operation *scaled = erf->getOperand(0).getDefiningOp();
        if (!scaled || scaled->getNumOperands() != 2 || scaled->getOperand(0) != g)
          return false;
        std::optional<double> c = getConstantScalar(scaled->getOperand(1));
        if (!c)
          return false;
        double factor = isa<DivOp>(scaled) ? 1.0 / *c : isa<MulOp>(scaled) ? *c : 0.0;
        return std::abs(factor - M_SQRT1_2) < 1e-6;
      }
      return false;
    };
    if (factors.size() == 3 && has(isG) && has(isHalf) && has(isOnePlusErf))
      return "gelu";
    return "";
  }

  /// The token and slot coordinate rows of `nz` (non_zero of a [k, T] or
  /// [T, k] mask: `tokenAxis` is the row of token coordinates): the values
  /// exporters read them through (transpose + split + squeeze, or a gather
  /// of one row).
  static LogicalResult coordinateRows(NonZeroOp nz, int64_t tokenAxis, Value &tokens,
                                      Value &slots) {
    for (Operation *user : nz->getUsers()) {
      auto t = dyn_cast<TransposeOp>(user);
      std::optional<ArrayRef<int64_t>> perm = t ? t.getPerm() : std::nullopt;
      if (perm && *perm == ArrayRef<int64_t>{1, 0}) {
        for (Operation *u : t->getUsers())
          if (auto split = dyn_cast<SplitOp>(u); split && split->getNumResults() == 2 &&
                                                 (split.getAxis() == 1 || split.getAxis() == -1)) {
            tokens = split->getResult(size_t(tokenAxis));
            slots = split->getResult(size_t(1 - tokenAxis));
          }
      } else if (auto g = dyn_cast<GatherOp>(user); g && g.getAxis() == 0) {
        std::optional<double> row = getConstantScalar(g.getIndices());
        if (row && (*row == 0 || *row == 1))
          (int64_t(*row) == tokenAxis ? tokens : slots) = g.getResult();
      }
    }
    return success(tokens && slots);
  }

  /// True when `v` is (a view of) one of `bases` times a constant `k` (or, with
  /// k 0, the base itself).
  static bool isScaledRow(Value v, Value base, int64_t k) {
    v = stripViews(v);
    if (k == 0)
      return v == base;
    auto mul = v.getDefiningOp<MulOp>();
    if (!mul)
      return false;
    for (int i = 0; i < 2; ++i) {
      std::optional<double> c = getConstantScalar(mul->getOperand(1 - i));
      if (c && *c == double(k) && stripViews(mul->getOperand(i)) == base)
        return true;
    }
    return false;
  }

  /// A scatter of the expert's weighted rows into a zero [T, H] or into an
  /// accumulator (reduction add), at the token rows: true when `op` is one.
  static bool isExpertScatter(Operation *op, Value updates, Value tokens) {
    auto scatter = dyn_cast<ScatterElementsOp>(op);
    if (!scatter || scatter.getUpdates() != updates ||
        (scatter.getAxis() != 0 && scatter.getAxis() != -2))
      return false;
    Value idx = scatter.getIndices();
    while (true) { // through expands (the rows broadcast over hidden) and views
      idx = stripViews(idx);
      if (auto e = idx.getDefiningOp<ExpandOp>())
        idx = e.getInput();
      else
        break;
    }
    return idx == tokens;
  }

  static bool isZeros(Value v) {
    ElementsAttr c = getConstantElements(v);
    std::vector<char> bytes;
    return c && getElementsBytes(c, bytes) && llvm::all_of(bytes, [](char b) { return b == 0; });
  }

  /// One expert of the loop: from its non_zero to its scatter.
  static LogicalResult loopExpert(NonZeroOp nz, int64_t tokenAxis, int64_t tokens, int64_t k,
                                  LoopExpert &ex, std::string &reason) {
    if (failed(coordinateRows(nz, tokenAxis, ex.tokenRow, ex.slotRow))) {
      reason = "the expert's non_zero coordinates are not split into token and slot rows";
      return failure();
    }
    // The expert's input rows: gather(x, tokens) over the token axis.
    Value xe;
    for (Value v : {ex.tokenRow}) {
      SmallVector<Value> work{v};
      while (!work.empty() && !xe) {
        Value cur = work.pop_back_val();
        for (Operation *user : cur.getUsers()) {
          if (isView(user)) {
            work.push_back(user->getResult(0));
            continue;
          }
          auto g = dyn_cast<GatherOp>(user);
          if (!g || g.getIndices() != cur || !isStatic(g.getData()))
            continue;
          ArrayRef<int64_t> ds = shapeOf(g.getData());
          int64_t rank = int64_t(ds.size()), axis = int64_t(g.getAxis());
          if (axis < 0)
            axis += rank;
          if (rank < 2 || axis != rank - 2 || ds[size_t(axis)] != tokens)
            continue;
          ex.x = findViewOfShape(g.getData(), {tokens, ds.back()});
          xe = followViews(g.getResult());
        }
      }
    }
    if (!ex.x || !xe) {
      reason = "no [tokens, hidden] rows are gathered at the expert's token coordinates";
      return failure();
    }
    // The gated MLP: h = act(gate(xe)) * up(xe); o = down(h).
    SmallVector<std::pair<Operation *, Value>> projections;
    for (Operation *user : xe.getUsers())
      if (Value w = linearWeight(user, xe))
        projections.push_back({user, w});
    if (projections.size() != 2) {
      reason = llvm::formatv("the expert's rows feed {0} linear layers, not a gate and an up "
                             "projection",
                             projections.size())
                   .str();
      return failure();
    }
    Value h;
    for (int gi = 0; gi < 2 && !h; ++gi) {
      Value g = projections[size_t(gi)].first->getResult(0);
      Value u = projections[size_t(1 - gi)].first->getResult(0);
      for (Operation *user : u.getUsers()) {
        Value act = isa<MulOp>(user) ? otherOperand(user, u) : Value();
        std::string name = act ? activationOf(act, g) : "";
        if (name.empty())
          continue;
        ex.activation = name;
        ex.gate = projections[size_t(gi)].second;
        ex.up = projections[size_t(1 - gi)].second;
        h = user->getResult(0);
        break;
      }
    }
    if (!h) {
      reason = "the expert activation is not silu(gate) * up or gelu(gate) * up";
      return failure();
    }
    Operation *downOp = h.hasOneUse() ? *h.getUsers().begin() : nullptr;
    ex.down = downOp ? linearWeight(downOp, h) : Value();
    if (!ex.down) {
      reason = "act(gate) * up does not feed one down projection";
      return failure();
    }
    Value o = downOp->getResult(0);
    // The weighting: o * w[token, slot], w gathered from the flat [T * k]
    // weights at token * k + slot.
    Operation *weighting = o.hasOneUse() ? *o.getUsers().begin() : nullptr;
    Value wcol = weighting && isa<MulOp>(weighting) ? otherOperand(weighting, o) : Value();
    auto wgather = wcol ? stripViews(wcol).getDefiningOp<GatherOp>() : GatherOp();
    auto linear = wgather ? stripViews(wgather.getIndices()).getDefiningOp<AddOp>() : AddOp();
    bool indexed = false;
    for (int i = 0; linear && i < 2 && !indexed; ++i)
      indexed = isScaledRow(linear->getOperand(i), ex.slotRow, 0) &&
                isScaledRow(linear->getOperand(1 - i), ex.tokenRow, k);
    if (!indexed || wgather.getAxis() != 0) {
      reason = "the expert's output is not scaled by its routing weight w[token * k + slot]";
      return failure();
    }
    ex.routeWeights = stripViews(wgather.getData());
    // The scatter back to the token rows.
    Value rows = weighting->getResult(0);
    while (rows.hasOneUse()) {
      Operation *user = *rows.getUsers().begin();
      auto expand = dyn_cast<ExpandOp>(user);
      bool sameRows = expand && expand.getInput() == rows &&
                      shapeOf(expand.getResult()).size() == shapeOf(rows).size() &&
                      shapeOf(expand.getResult()).back() == shapeOf(rows).back();
      if (!isView(user) && !sameRows)
        break;
      rows = user->getResult(0);
    }
    for (Operation *user : rows.getUsers())
      if (isExpertScatter(user, rows, stripViews(ex.tokenRow)) ||
          isExpertScatter(user, rows, ex.tokenRow))
        ex.scatter = user;
    if (!ex.scatter) {
      reason = "the expert's weighted rows are not scattered back to their tokens (axis 0)";
      return failure();
    }
    return success();
  }

  /// The experts' scatters summed: adds, and scatter-adds into the running
  /// sum, over zeros. Collects the scatters; false on anything else.
  static bool collectSum(Value v, SmallPtrSetImpl<Operation *> &scatters, int depth = 0) {
    if (depth > 4096)
      return false;
    if (isZeros(v))
      return true;
    Operation *def = v.getDefiningOp();
    if (auto add = dyn_cast_or_null<AddOp>(def))
      return shapeOf(add->getOperand(0)) == shapeOf(add->getOperand(1)) &&
             collectSum(add->getOperand(0), scatters, depth + 1) &&
             collectSum(add->getOperand(1), scatters, depth + 1);
    if (auto scatter = dyn_cast_or_null<ScatterElementsOp>(def)) {
      scatters.insert(def);
      if (scatter.getReduction() == "add")
        return collectSum(scatter.getData(), scatters, depth + 1);
      return isZeros(scatter.getData());
    }
    return false;
  }

  /// Raises transformers' per-expert loop that `oneHot` (of the router's
  /// top-k indices) masks, or says why not.
  FailureOr<MoEOp> raiseLoop(TopKOp topk, OneHotOp oneHot, int64_t k, std::string &reason) {
    ArrayRef<int64_t> scores = shapeOf(topk.getX());
    if (scores.size() != 2) {
      reason = "top_k selects from " + shapeToString(scores) + ", not [tokens, experts] scores";
      return failure();
    }
    int64_t tokens = scores[0], experts = scores[1];
    std::optional<double> depth = getConstantScalar(oneHot.getDepth());
    std::optional<SmallVector<int64_t>> values = getConstantInts(oneHot.getValues());
    if (!depth || *depth != double(experts) || !values || *values != SmallVector<int64_t>{0, 1}) {
      reason = "the one_hot of the top-k indices is not a 0/1 mask over the experts";
      return failure();
    }
    // Dims of the mask: 0 token, 1 slot, 2 expert; exporters permute it and
    // pick one expert's [k, T] plane per loop iteration.
    int64_t axis = int64_t(oneHot.getAxis());
    if (axis < 0)
      axis += 3;
    SmallVector<int64_t> labels{0, 1};
    labels.insert(labels.begin() + axis, 2);
    struct Plane {
      NonZeroOp nz;
      int64_t expert, tokenAxis;
    };
    SmallVector<Plane> planes;
    SmallVector<std::pair<Value, SmallVector<int64_t>>> work{{oneHot.getResult(), labels}};
    SmallVector<std::pair<Value, int64_t>> expertOf; // plane value -> expert
    while (!work.empty()) {
      auto [v, dims] = work.pop_back_val();
      int64_t expert = -1;
      for (auto &[value, e] : expertOf)
        if (value == v)
          expert = e;
      for (Operation *user : v.getUsers()) {
        if (auto t = dyn_cast<TransposeOp>(user); t && t.getPerm()) {
          SmallVector<int64_t> permuted;
          ArrayRef<int64_t> perm = *t.getPerm();
          for (int64_t p : perm)
            permuted.push_back(dims[size_t(p)]);
          work.push_back({t.getResult(), permuted});
          if (expert >= 0)
            expertOf.push_back({t.getResult(), expert});
        } else if (auto g = dyn_cast<GatherOp>(user); g && g.getData() == v) {
          std::optional<double> index = getConstantScalar(g.getIndices());
          int64_t a = int64_t(g.getAxis());
          if (a < 0)
            a += int64_t(dims.size());
          if (!index || a < 0 || a >= int64_t(dims.size()) || dims[size_t(a)] != 2 ||
              shapeOf(g.getIndices()).size() != 0)
            continue;
          SmallVector<int64_t> rest(dims);
          rest.erase(rest.begin() + a);
          int64_t e = int64_t(*index) < 0 ? int64_t(*index) + experts : int64_t(*index);
          expertOf.push_back({g.getResult(), e});
          work.push_back({g.getResult(), rest});
        } else if (isa<CastOp>(user)) {
          work.push_back({user->getResult(0), dims});
          if (expert >= 0)
            expertOf.push_back({user->getResult(0), expert});
        } else if (auto nz = dyn_cast<NonZeroOp>(user); nz && expert >= 0 && dims.size() == 2) {
          planes.push_back({nz, expert, dims[0] == 0 ? 0 : 1});
        }
      }
    }
    if (planes.empty()) {
      reason = "the one_hot expert mask feeds no per-expert non_zero (not transformers' loop)";
      return failure();
    }
    SmallVector<LoopExpert> found;
    for (const Plane &plane : planes) {
      LoopExpert ex;
      ex.expert = plane.expert;
      if (failed(loopExpert(plane.nz, plane.tokenAxis, tokens, k, ex, reason))) {
        reason = llvm::formatv("expert {0}: {1}", plane.expert, reason).str();
        return failure();
      }
      found.push_back(ex);
    }
    llvm::sort(found, [](const LoopExpert &a, const LoopExpert &b) { return a.expert < b.expert; });
    for (int64_t e = 0; e < experts; ++e)
      if (int64_t(found.size()) != experts || found[size_t(e)].expert != e) {
        reason =
            llvm::formatv("the loop covers {0} expert planes, not each of the {1} experts once",
                          found.size(), experts)
                .str();
        return failure();
      }
    const LoopExpert &first = found.front();
    ArrayRef<int64_t> gw = shapeOf(first.gate), dw = shapeOf(first.down);
    int64_t inter = gw[0], hidden = gw[1];
    for (const LoopExpert &ex : found)
      if (ex.x != first.x || ex.routeWeights != first.routeWeights ||
          ex.activation != first.activation || shapeOf(ex.gate) != gw || shapeOf(ex.up) != gw ||
          shapeOf(ex.down) != dw) {
        reason = llvm::formatv("expert {0} differs from expert 0 in its input, routing weights, "
                               "activation or weight shapes",
                               ex.expert)
                     .str();
        return failure();
      }
    if (dw != ArrayRef<int64_t>{hidden, inter} ||
        shapeOf(first.x) != ArrayRef<int64_t>{tokens, hidden}) {
      reason = "the expert weights do not map [tokens, hidden] to [tokens, hidden]";
      return failure();
    }
    // The sum of the experts' scatters: climb from one to the top of the
    // adds, then check that exactly the experts' scatters (over zeros) are
    // summed there.
    Value root = first.scatter->getResult(0);
    while (root.hasOneUse()) {
      Operation *user = *root.getUsers().begin();
      auto scatter = dyn_cast<ScatterElementsOp>(user);
      if (!isa<AddOp>(user) &&
          !(scatter && scatter.getReduction() == "add" && scatter.getData() == root))
        break;
      if (shapeOf(user->getResult(0)) != shapeOf(root))
        break;
      root = user->getResult(0);
    }
    SmallPtrSet<Operation *, 16> summed;
    if (!collectSum(root, summed) || summed.size() != size_t(experts) ||
        !llvm::all_of(found, [&](const LoopExpert &ex) { return summed.contains(ex.scatter); })) {
      reason = "the experts' scatters are not summed into one [tokens, hidden] output";
      return failure();
    }
    if (shapeOf(topk.getValues()) != shapeOf(first.routeWeights)) {
      reason = "the routing weights are not [tokens, k]";
      return failure();
    }
    Routing routing;
    if (failed(readRouting(topk, first.routeWeights, first.x, experts, routing, reason)))
      return failure();

    // Stack the experts' weights: gate_up [E, 2I, H], down [E, H, I].
    OpBuilder b(root.getDefiningOp());
    Location loc = root.getLoc();
    auto shapeConst = [&](ArrayRef<int64_t> dims) {
      auto type = RankedTensorType::get({int64_t(dims.size())}, b.getI64Type());
      return b.create<ConstantOp>(loc, type, DenseIntElementsAttr::get(type, dims)).getResult();
    };
    Value guShape = shapeConst({1, 2 * inter, hidden}), dShape = shapeConst({1, hidden, inter});
    SmallVector<Value> gateUps, downs;
    for (const LoopExpert &ex : found) {
      Value gu = b.createOrFold<ConcatOp>(loc, ValueRange{ex.gate, ex.up}, b.getI64IntegerAttr(0));
      gateUps.push_back(b.createOrFold<ReshapeOp>(loc, gu, guShape, b.getI64IntegerAttr(0)));
      downs.push_back(b.createOrFold<ReshapeOp>(loc, ex.down, dShape, b.getI64IntegerAttr(0)));
    }
    Value gateUp = b.createOrFold<ConcatOp>(loc, gateUps, b.getI64IntegerAttr(0));
    Value down = b.createOrFold<ConcatOp>(loc, downs, b.getI64IntegerAttr(0));
    MoEOp moe = buildMoE(b, loc, first.x, routing, gateUp, down, experts, k, first.activation);
    root.replaceAllUsesWith(moe.getResult());
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
