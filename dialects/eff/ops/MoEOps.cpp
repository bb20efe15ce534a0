//===- MoEOps.cpp - moe -------------------------------------------------------===//
// The kernels trust E, k, H, I and Is: every operand's shape follows from
// them, and each disagreement is an error naming the operand and its layout.
#include "dialects/eff/EffOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

RankedTensorType rankedOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]));
  return s + "]";
}

/// Fills the unknown entries of `want` from `t` (dims named in `names`) and
/// checks the known ones: `t` must be `layout` = want. A dim known on both
/// sides that differs is an error naming the operand, its layout and shape.
LogicalResult agree(Operation *op, StringRef name, StringRef layout, RankedTensorType t,
                    ArrayRef<int64_t *> want) {
  if (!t)
    return success();
  if (t.getRank() != int64_t(want.size()))
    return op->emitOpError() << name << " must be " << layout << ", got rank " << t.getRank();
  for (size_t i = 0; i < want.size(); ++i) {
    int64_t d = t.getDimSize(int64_t(i));
    if (ShapedType::isDynamic(d))
      continue;
    if (ShapedType::isDynamic(*want[i])) {
      *want[i] = d;
      continue;
    }
    if (*want[i] != d)
      return op->emitOpError() << name << " must be " << layout << ", got "
                               << shapeText(t.getShape()) << " (dim " << i << " should be "
                               << *want[i] << ")";
  }
  return success();
}

/// Attributes eff.moe and eff.moe_route share: expert count, top-k, the
/// routing rule and what it reads.
template <typename RoutingOp> LogicalResult verifyRouting(RoutingOp op) {
  int64_t experts = int64_t(op.getNumExperts()), topK = int64_t(op.getTopK());
  if (experts < 1)
    return op.emitOpError("num_experts must be >= 1, got ") << experts;
  if (topK < 1 || topK > experts)
    return op.emitOpError("top_k must be in [1, num_experts = ") << experts << "], got " << topK;
  if (op.getNormTopk() != 0 && op.getNormTopk() != 1)
    return op.emitOpError("norm_topk must be 0 or 1, got ") << op.getNormTopk();
  StringRef routing = op.getRouting();
  if (routing != "softmax_topk" && routing != "topk_softmax" && routing != "scores")
    return op.emitOpError("routing must be softmax_topk, topk_softmax or scores, got '")
           << routing << "'";
  if (op.getRouteWeights() && routing != "scores")
    return op.emitOpError("route_weights is only read with scores routing");
  return success();
}

/// The router's layout follows the routing rule: precomputed scores [T, E]
/// (with route_weights [T, E]) or a linear router [E, H].
template <typename RoutingOp>
LogicalResult agreeRouter(RoutingOp op, int64_t &T, int64_t &E, int64_t &H) {
  if (op.getRouting() == "scores")
    return failure(
        failed(agree(op, "router", "[T, E] scores with scores routing", rankedOf(op.getRouter()),
                     {&T, &E})) ||
        failed(agree(op, "route_weights", "[T, E]", rankedOf(op.getRouteWeights()), {&T, &E})));
  return agree(op, "router", "[E, H]", rankedOf(op.getRouter()), {&E, &H});
}

/// The gated expert weights of eff.moe and eff.moe_experts: gate_up
/// [G, 2I, H], down [G, H, I] over `groups` (E or G) experts, and the
/// optional shared expert (shared_gate_up [2Is, H], shared_down [H, Is],
/// shared_gate [1, H]), which comes whole or not at all.
template <typename ExpertOp>
LogicalResult agreeExpertWeights(ExpertOp op, StringRef groups, int64_t &G, int64_t &H) {
  if (bool(op.getSharedGateUp()) != bool(op.getSharedDown()))
    return op.emitOpError(
        "shared_gate_up and shared_down come together (a shared expert), got one");
  if (op.getSharedGate() && !op.getSharedGateUp())
    return op.emitOpError("shared_gate needs a shared expert (shared_gate_up, shared_down)");
  int64_t I2 = kDynamic, I = kDynamic, Is2 = kDynamic, Is = kDynamic, one = 1;
  std::string gateUp = ("[" + groups + ", 2I, H]").str(), down = ("[" + groups + ", H, I]").str();
  if (failed(agree(op, "gate_up", gateUp, rankedOf(op.getGateUp()), {&G, &I2, &H})))
    return failure();
  if (!ShapedType::isDynamic(I2)) {
    if (I2 % 2)
      return op.emitOpError("gate_up's second dim (2I) must be even, got ") << I2;
    I = I2 / 2;
  }
  if (failed(agree(op, "down", down, rankedOf(op.getDown()), {&G, &H, &I})) ||
      failed(agree(op, "shared_gate_up", "[2Is, H]", rankedOf(op.getSharedGateUp()), {&Is2, &H})))
    return failure();
  if (!ShapedType::isDynamic(Is2)) {
    if (Is2 % 2)
      return op.emitOpError("shared_gate_up's first dim (2Is) must be even, got ") << Is2;
    Is = Is2 / 2;
  }
  return failure(
      failed(agree(op, "shared_down", "[H, Is]", rankedOf(op.getSharedDown()), {&H, &Is})) ||
      failed(agree(op, "shared_gate", "[1, H]", rankedOf(op.getSharedGate()), {&one, &H})));
}

} // namespace

LogicalResult MoEOp::verify() {
  if (failed(verifyRouting(*this)))
    return failure();
  StringRef activation = getActivation();
  if (activation != "silu" && activation != "gelu")
    return emitOpError("activation must be silu or gelu, got '") << activation << "'";
  if (!std::isfinite(getRoutedScale().convertToDouble()))
    return emitOpError("routed_scale must be finite");
  if (getRouting() == "topk_softmax" && getNormTopk() != 0)
    return emitOpError("norm_topk does nothing with topk_softmax routing (the weights already "
                       "sum to 1): leave it 0");

  Type elt = getX().getType().getElementType();
  for (Value v : getOperands())
    if (cast<TensorType>(v.getType()).getElementType() != elt && v != getRouter() &&
        v != getRouteWeights())
      return emitOpError("every operand but router and route_weights must have x's element "
                         "type ")
             << elt;

  int64_t T = kDynamic, H = kDynamic, E = int64_t(getNumExperts());
  return failure(failed(agree(*this, "x", "[T, H]", rankedOf(getX()), {&T, &H})) ||
                 failed(agreeRouter(*this, T, E, H)) ||
                 failed(agreeExpertWeights(*this, "E", E, H)));
}

LogicalResult MoEOp::inferResultTypes(MLIRContext *, std::optional<Location>, Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

// Never folded: a MoE layer on constants is not a shape computation.
OpFoldResult MoEOp::fold(FoldAdaptor) { return {}; }

//===- moe_route -----------------------------------------------------------===//

LogicalResult MoERouteOp::verify() {
  if (failed(verifyRouting(*this)))
    return failure();
  int64_t T = kDynamic, H = kDynamic, E = int64_t(getNumExperts()), k = int64_t(getTopK());
  return failure(failed(agree(*this, "x", "[T, H]", rankedOf(getX()), {&T, &H})) ||
                 failed(agreeRouter(*this, T, E, H)) ||
                 failed(agree(*this, "experts", "[T, k]", rankedOf(getExperts()), {&T, &k})) ||
                 failed(agree(*this, "weights", "[T, k]", rankedOf(getWeights()), {&T, &k})));
}

LogicalResult MoERouteOp::inferResultTypes(MLIRContext *ctx, std::optional<Location>,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = dyn_cast<RankedTensorType>(adaptor.getX().getType());
  SmallVector<int64_t> shape{x && x.getRank() == 2 ? x.getDimSize(0) : kDynamic,
                             int64_t(adaptor.getTopK())};
  types.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  types.push_back(RankedTensorType::get(shape, Float32Type::get(ctx)));
  return success();
}

LogicalResult MoERouteOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) { return failure(); }

//===- moe_experts ---------------------------------------------------------===//

LogicalResult MoEExpertsOp::verify() {
  if (getActivation() != "silu" && getActivation() != "gelu")
    return emitOpError("activation must be silu or gelu, got '") << getActivation() << "'";
  if (int64_t(getFirstExpert()) < 0)
    return emitOpError("first_expert must be >= 0, got ") << int64_t(getFirstExpert());
  Type elt = getX().getType().getElementType();
  for (Value v : {getGateUp(), getDown(), getSharedGateUp(), getSharedDown(), getSharedGate()})
    if (v && cast<TensorType>(v.getType()).getElementType() != elt)
      return emitOpError("the expert weights must have x's element type ") << elt;
  int64_t T = kDynamic, H = kDynamic, k = kDynamic, G = kDynamic;
  return failure(failed(agree(*this, "x", "[T, H]", rankedOf(getX()), {&T, &H})) ||
                 failed(agree(*this, "experts", "[T, k]", rankedOf(getExperts()), {&T, &k})) ||
                 failed(agree(*this, "weights", "[T, k]", rankedOf(getWeights()), {&T, &k})) ||
                 failed(agreeExpertWeights(*this, "G", G, H)));
}

LogicalResult MoEExpertsOp::inferResultTypes(MLIRContext *, std::optional<Location>,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  types.push_back(adaptor.getX().getType());
  return success();
}

OpFoldResult MoEExpertsOp::fold(FoldAdaptor) { return {}; }
