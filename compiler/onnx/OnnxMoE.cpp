//===- OnnxMoE.cpp - com.microsoft MoE -> eff.moe --------------------------===//
//
// onnxruntime's fused mixture-of-experts op (ContribOperators.md,
// com.microsoft.MoE), the form onnxruntime-genai's builder writes:
//   MoE(input [T, H] or [B, S, H], router_probs [T, E] (logits),
//       fc1 [E, I, H], fc1_bias?, fc2 [E, H, I], fc2_bias?, fc3 [E, I, H]?,
//       fc3_bias?) {k, activation_type, normalize_routing_weights, ...}
// routes each token to the k largest softmax(router_probs) and, for the
// gated activations effc's eff.moe has, runs act(fc1 x) * (fc3 x) through
// fc2. It becomes eff.moe with scores routing over softmax(router_probs)
// (so the top-k picks and weighs by the probabilities, renormalized with
// normalize_routing_weights) and gate_up = concat(fc1, fc3). Older
// onnxruntime releases stored the weights [in, out] (fc1 [E, H, I]): read
// from the shapes when H != I. What eff.moe cannot express (biases, the
// non-gated or swiglu activations, sparse mixer) is an error naming it.
//
#include "compiler/onnx/OnnxAttributes.h"
#include "compiler/onnx/OnnxInternal.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"

using namespace mlir;

namespace effc::onnx_import {

namespace {

int64_t intOr(const NamedAttrList &attrs, StringRef name, int64_t dflt) {
  if (auto a = dyn_cast_or_null<IntegerAttr>(attrs.get(name)))
    return a.getInt();
  return dflt;
}

std::string stringOr(const NamedAttrList &attrs, StringRef name, StringRef dflt) {
  if (auto a = dyn_cast_or_null<StringAttr>(attrs.get(name)))
    return a.str();
  return dflt.str();
}

ArrayRef<int64_t> dimsOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

} // namespace

std::optional<LogicalResult> GraphImporter::importMicrosoftMoE(const onnx::NodeProto &n) {
  if (n.domain() != "com.microsoft" || n.op_type() != "MoE")
    return std::nullopt;
  NamedAttrList attrs;
  static const char *kKnown[] = {"k",
                                 "activation_type",
                                 "normalize_routing_weights",
                                 "use_sparse_mixer",
                                 "swiglu_fusion",
                                 "swiglu_limit",
                                 "activation_alpha",
                                 "activation_beta"};
  for (const onnx::AttributeProto &a : n.attribute()) {
    if (!llvm::is_contained(kKnown, a.name()))
      return LogicalResult(error() << "attribute '" << a.name() << "' of MoE is not supported");
    std::string message;
    Attribute converted = convertOnnxAttribute(ctx, a, externalDir, message);
    if (!converted)
      return LogicalResult(error() << message);
    attrs.set(a.name(), converted);
  }
  SmallVector<Value> in(8);
  for (int i = 0; i < n.input_size() && i < 8; ++i) {
    if (n.input(i).empty())
      continue;
    auto it = values.find(n.input(i));
    if (it == values.end())
      return LogicalResult(error() << "input '" << n.input(i) << "' is not defined");
    in[size_t(i)] = it->second;
  }
  if (n.input_size() > 8)
    return LogicalResult(error() << "MoE takes 8 inputs, got " << n.input_size());
  enum { X, Router, Fc1, Fc1Bias, Fc2, Fc2Bias, Fc3, Fc3Bias };
  for (int i : {X, Router, Fc1, Fc2})
    if (!in[size_t(i)])
      return LogicalResult(error() << "MoE input #" << i << " is required");
  for (auto [i, name] : {std::pair{Fc1Bias, "fc1_experts_bias"},
                         {Fc2Bias, "fc2_experts_bias"},
                         {Fc3Bias, "fc3_experts_bias"}})
    if (in[size_t(i)])
      return LogicalResult(error() << name << " is not supported (eff.moe has no expert biases)");
  if (intOr(attrs, "use_sparse_mixer", 0) != 0)
    return LogicalResult(error() << "use_sparse_mixer=1 (PhiMoE's sparse mixer routing) is not "
                                    "supported");
  std::string activation = stringOr(attrs, "activation_type", "relu");
  if ((activation != "silu" && activation != "gelu") || !in[Fc3])
    return LogicalResult(
        error() << "activation_type '" << activation << "'"
                << (in[Fc3] ? "" : " without fc3_experts_weights")
                << " is not supported: eff.moe runs gated experts act(fc1 x) * (fc3 x) with "
                   "silu or gelu (swiglu, relu, identity and ungated experts are not done)");
  for (Value v : {in[X], in[Router], in[Fc1], in[Fc2], in[Fc3]}) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return LogicalResult(error() << "MoE needs static shapes (fix the input dims with --shape "
                                      "or --dim)");
  }
  ArrayRef<int64_t> xs = dimsOf(in[X]), rs = dimsOf(in[Router]);
  if ((xs.size() != 2 && xs.size() != 3) || rs.size() != 2)
    return LogicalResult(error() << "MoE input must be [T, H] or [B, S, H] and router_probs "
                                    "[T, E]");
  int64_t H = xs.back(), T = xs.size() == 3 ? xs[0] * xs[1] : xs[0], E = rs[1];
  int64_t k = intOr(attrs, "k", 1);
  if (rs[0] != T || k < 1 || k > E)
    return LogicalResult(error() << "router_probs must be [" << T << ", E] and 1 <= k <= E, got "
                                 << eff::shapeToString(rs) << " and k " << k);
  // Weights [E, out, in]; older releases [E, in, out].
  auto expertWeight = [&](Value w, int64_t out, int64_t inDim, StringRef name) -> Value {
    ArrayRef<int64_t> s = dimsOf(w);
    if (s.size() == 3 && s[0] == E && s[2] == inDim && (out < 0 || s[1] == out))
      return w;
    if (s.size() == 3 && s[0] == E && s[1] == inDim && (out < 0 || s[2] == out)) {
      NamedAttrList perm;
      perm.set("perm", DenseI64ArrayAttr::get(&ctx, {0, 2, 1}));
      FailureOr<Value> t = emitOp1<eff::TransposeOp>({w}, perm.getAttrs());
      return succeeded(t) ? *t : Value();
    }
    error() << name << " must be [E=" << E << ", out, in=" << inDim << "] (or [E, in, out]), got "
            << eff::shapeToString(s);
    return {};
  };
  Value fc1 = expertWeight(in[Fc1], -1, H, "fc1_experts_weights");
  if (!fc1)
    return LogicalResult(failure());
  int64_t I = dimsOf(fc1)[1];
  Value fc3 = expertWeight(in[Fc3], I, H, "fc3_experts_weights");
  Value fc2 = fc3 ? expertWeight(in[Fc2], H, I, "fc2_experts_weights") : Value();
  if (!fc3 || !fc2)
    return LogicalResult(failure());

  NamedAttrList axis1, axisLast;
  axis1.set("axis", IntegerAttr::get(IntegerType::get(&ctx, 64), 1));
  axisLast.set("axis", IntegerAttr::get(IntegerType::get(&ctx, 64), -1));
  FailureOr<Value> gateUp = emitOp1<eff::ConcatOp>({fc1, fc3}, axis1.getAttrs());
  FailureOr<Value> probs = emitOp1<eff::SoftmaxOp>({in[Router]}, axisLast.getAttrs());
  Value x = in[X];
  if (xs.size() == 3) {
    FailureOr<Value> flat = emitOp1<eff::ReshapeOp>({x, constI64({T, H})});
    if (failed(flat))
      return LogicalResult(failure());
    x = *flat;
  }
  if (failed(gateUp) || failed(probs))
    return LogicalResult(failure());
  NamedAttrList moeAttrs;
  Type i64 = IntegerType::get(&ctx, 64);
  moeAttrs.set("num_experts", IntegerAttr::get(i64, E));
  moeAttrs.set("top_k", IntegerAttr::get(i64, k));
  moeAttrs.set("norm_topk",
               IntegerAttr::get(i64, intOr(attrs, "normalize_routing_weights", 0) != 0 ? 1 : 0));
  moeAttrs.set("routing", StringAttr::get(&ctx, "scores"));
  moeAttrs.set("activation", StringAttr::get(&ctx, activation));
  moeAttrs.set("operandSegmentSizes", DenseI32ArrayAttr::get(&ctx, {1, 1, 1, 1, 0, 0, 0, 0}));
  FailureOr<Value> y = emitOp1<eff::MoEOp>({x, *probs, *gateUp, fc2}, moeAttrs.getAttrs());
  if (failed(y))
    return LogicalResult(failure());
  Value out = *y;
  if (xs.size() == 3) {
    FailureOr<Value> shaped = emitOp1<eff::ReshapeOp>({out, constI64(xs)});
    if (failed(shaped))
      return LogicalResult(failure());
    out = *shaped;
  }
  return bindOutputs({out});
}

} // namespace effc::onnx_import
