//===- OnnxOpsetUpgrade.cpp - older opset forms and multi-op conversions ---===//
//
// eff ops follow the latest ONNX opset <= 23. Nodes of older opsets are
// rewritten here into that form (attributes that became inputs, Softmax's
// coerce-to-2D semantics before opset 13, ...), and ONNX ops that map onto
// several eff ops (Attention-23 with 3-D inputs) are expanded. Everything
// else goes through GraphImporter::emitOp unchanged.
//
#include "compiler/onnx/OnnxInternal.h"

#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeInference.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cmath>

using namespace mlir;

namespace effc::onnx_import {

void GraphImporter::attrToOperand(NamedAttrList &attrs, llvm::StringRef attr,
                                  SmallVectorImpl<Value> &inputs, unsigned index) {
  Attribute a = attrs.get(attr);
  if (!a)
    return;
  SmallVector<int64_t> v;
  if (auto ints = dyn_cast<DenseI64ArrayAttr>(a))
    v.assign(ints.asArrayRef().begin(), ints.asArrayRef().end());
  else if (auto i = dyn_cast<IntegerAttr>(a))
    v.push_back(i.getInt());
  else
    return; // left in place: the op's verifier names the bad attribute
  attrs.erase(attr);
  if (inputs.size() <= index)
    inputs.resize(index + 1);
  inputs[index] = constI64(v);
}

static int64_t getInt(const NamedAttrList &attrs, llvm::StringRef name, int64_t dflt) {
  if (auto a = dyn_cast_or_null<IntegerAttr>(attrs.get(name)))
    return a.getInt();
  return dflt;
}

static std::optional<double> getFloat(const NamedAttrList &attrs, llvm::StringRef name) {
  if (auto a = dyn_cast_or_null<FloatAttr>(attrs.get(name)))
    return a.getValueAsDouble();
  return std::nullopt;
}

LogicalResult GraphImporter::convertConstant(NamedAttrList &attrs) {
  if (attrs.getAttrs().size() != 1)
    return error() << "Constant needs exactly one value attribute, got " << attrs.getAttrs().size();
  NamedAttribute a = attrs.getAttrs().front();
  llvm::StringRef name = a.getName().strref();
  Attribute v = a.getValue();
  Value result;
  if (name == "value") {
    auto elements = dyn_cast<ElementsAttr>(v);
    if (!elements)
      return error() << "attribute 'value' must be a tensor";
    result = constant(elements);
  } else if (name == "value_float" && isa<FloatAttr>(v)) {
    result = constScalar(builder.getF32Type(), cast<FloatAttr>(v).getValueAsDouble());
  } else if (name == "value_int" && isa<IntegerAttr>(v)) {
    result = constI64({cast<IntegerAttr>(v).getInt()}, /*scalar=*/true);
  } else if (name == "value_ints" && isa<DenseI64ArrayAttr>(v)) {
    result = constI64(cast<DenseI64ArrayAttr>(v).asArrayRef());
  } else if (name == "value_floats" && isa<DenseF32ArrayAttr>(v)) {
    ArrayRef<float> f = cast<DenseF32ArrayAttr>(v).asArrayRef();
    auto type = RankedTensorType::get({int64_t(f.size())}, builder.getF32Type());
    result = constant(DenseElementsAttr::get(type, f));
  } else if (name == "value_string" || name == "value_strings") {
    return error() << "string constants are not supported";
  } else if (name == "sparse_value") {
    return error() << "sparse constants are not supported";
  } else {
    return error() << "Constant has an unexpected attribute '" << name << "'";
  }
  return bindOutputs({result});
}

/// Softmax/LogSoftmax/Hardmax before opset 13: the input is coerced to 2-D
/// at `axis` (default 1) and normalized over the flattened trailing dims.
LogicalResult GraphImporter::convertSoftmaxV1(llvm::StringRef effName, ArrayRef<Value> inputs,
                                              NamedAttrList &attrs) {
  if (inputs.size() != 1 || !inputs[0])
    return error() << "expects 1 input, got " << inputs.size();
  Value x = inputs[0];
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type)
    return error() << "needs an input of known rank (opset < 13 semantics flatten at 'axis')";
  int64_t rank = type.getRank();
  int64_t axis = getInt(attrs, "axis", 1);
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  Builder &b = builder;
  if (axis == rank - 1 || rank == 0) {
    FailureOr<Value> y = emitOp1(effName, {x}, {b.getNamedAttr("axis", b.getI64IntegerAttr(-1))});
    return failed(y) ? failure() : bindOutputs({*y});
  }
  FailureOr<Value> flat =
      emitOp1<mlir::eff::FlattenOp>({x}, {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))});
  if (failed(flat))
    return failure();
  FailureOr<Value> y = emitOp1(effName, {*flat}, {b.getNamedAttr("axis", b.getI64IntegerAttr(1))});
  if (failed(y))
    return failure();
  FailureOr<Value> shape = shapeOf(x);
  if (failed(shape))
    return failure();
  FailureOr<Value> out = emitOp1<mlir::eff::ReshapeOp>({*y, *shape});
  return failed(out) ? failure() : bindOutputs({*out});
}

/// Attention-23 -> eff.attention. 4-D q/k/v map directly; 3-D inputs
/// [B, S, H*D] are split into heads (q_num_heads / kv_num_heads) and merged
/// back afterwards.
LogicalResult GraphImporter::convertAttention(ArrayRef<Value> inputs, NamedAttrList &attrs) {
  if (opset < 23)
    return error() << "Attention is in the default ONNX domain from opset 23 (the model imports "
                   << opset << ")";
  if (inputs.size() < 3 || !inputs[0] || !inputs[1] || !inputs[2])
    return error() << "needs Q, K and V inputs";
  if ((inputs.size() > 4 && inputs[4]) || (inputs.size() > 5 && inputs[5]))
    return error() << "past_key/past_value (KV-cache inputs) are not supported";
  if (inputs.size() > 6)
    return error() << "has " << inputs.size() << " inputs; effc supports Q, K, V and attn_mask";
  if (std::optional<double> softcap = getFloat(attrs, "softcap"); softcap && *softcap != 0)
    return error() << "softcap " << *softcap << " is not supported (only 0)";
  if (int64_t mode = getInt(attrs, "qk_matmul_output_mode", 0); mode != 0)
    return error() << "qk_matmul_output_mode " << mode << " is not supported (only 0)";
  for (NamedAttribute a : attrs) {
    llvm::StringRef n = a.getName().strref();
    if (n != "is_causal" && n != "kv_num_heads" && n != "q_num_heads" && n != "scale" &&
        n != "softcap" && n != "qk_matmul_output_mode" && n != "softmax_precision")
      return error() << "unknown attribute '" << n << "'";
  }
  Value q = inputs[0], k = inputs[1], v = inputs[2];
  Value mask = inputs.size() > 3 ? inputs[3] : Value();
  auto qType = dyn_cast<RankedTensorType>(q.getType());
  auto kType = dyn_cast<RankedTensorType>(k.getType());
  auto vType = dyn_cast<RankedTensorType>(v.getType());
  if (!qType || !kType || !vType)
    return error() << "needs Q, K and V of known rank";
  int64_t rank = qType.getRank();
  if ((rank != 3 && rank != 4) || kType.getRank() != rank || vType.getRank() != rank)
    return error() << "Q, K and V must all be 3-D or all 4-D, got ranks " << qType.getRank() << ", "
                   << kType.getRank() << ", " << vType.getRank();
  Builder &b = builder;
  if (rank == 3) {
    int64_t qHeads = getInt(attrs, "q_num_heads", 0), kvHeads = getInt(attrs, "kv_num_heads", 0);
    if (qHeads <= 0 || kvHeads <= 0)
      return error() << "3-D Q/K/V need positive q_num_heads and kv_num_heads attributes";
    // [B, S, H*D] -> [B, S, H, D] -> [B, H, S, D]
    auto split = [&](Value x, int64_t heads) -> FailureOr<Value> {
      FailureOr<Value> r = emitOp1<mlir::eff::ReshapeOp>({x, constI64({0, 0, heads, -1})});
      if (failed(r))
        return failure();
      return emitOp1<mlir::eff::TransposeOp>(
          {*r}, {b.getNamedAttr("perm", b.getDenseI64ArrayAttr({0, 2, 1, 3}))});
    };
    FailureOr<Value> q4 = split(q, qHeads), k4 = split(k, kvHeads), v4 = split(v, kvHeads);
    if (failed(q4) || failed(k4) || failed(v4))
      return failure();
    q = *q4, k = *k4, v = *v4;
  }
  auto q4Type = cast<RankedTensorType>(q.getType());
  auto k4Type = cast<RankedTensorType>(k.getType());
  SmallVector<NamedAttribute> effAttrs;
  double scale;
  if (std::optional<double> s = getFloat(attrs, "scale")) {
    scale = *s;
  } else {
    int64_t d = q4Type.getDimSize(3);
    if (ShapedType::isDynamic(d) || d <= 0)
      return error() << "the default scale 1/sqrt(head_dim) needs a known head dim";
    scale = 1.0 / std::sqrt(double(d));
  }
  int64_t kvHeads = k4Type.getDimSize(1);
  if (ShapedType::isDynamic(kvHeads))
    return error() << "needs a known number of K/V heads";
  effAttrs.push_back(b.getNamedAttr("scale", b.getF32FloatAttr(float(scale))));
  if (getInt(attrs, "is_causal", 0) != 0) {
    // ONNX aligns the causal mask upper-left (key j masked for query i when
    // j > i); eff.attention aligns it lower-right (j > i + L - S, the KV-cache
    // convention). They agree when S == L, the only case accepted when known.
    int64_t s = q4Type.getDimSize(2), l = k4Type.getDimSize(2);
    if (!ShapedType::isDynamic(s) && !ShapedType::isDynamic(l) && s != l)
      return error() << "is_causal with a query length (" << s << ") different from the key "
                     << "length (" << l << ") is not supported";
    effAttrs.push_back(b.getNamedAttr("causal", b.getUnitAttr()));
  }
  effAttrs.push_back(b.getNamedAttr("window", b.getI64IntegerAttr(0)));
  effAttrs.push_back(b.getNamedAttr("num_kv_heads", b.getI64IntegerAttr(kvHeads)));
  SmallVector<Value> operands = {q, k, v};
  if (mask)
    operands.push_back(mask);
  FailureOr<Value> y = emitOp1<mlir::eff::AttentionOp>(operands, effAttrs);
  if (failed(y))
    return failure();
  Value out = *y;
  if (rank == 3) {
    // [B, H, S, Dv] -> [B, S, H, Dv] -> [B, S, H*Dv]
    FailureOr<Value> t = emitOp1<mlir::eff::TransposeOp>(
        {out}, {b.getNamedAttr("perm", b.getDenseI64ArrayAttr({0, 2, 1, 3}))});
    if (failed(t))
      return failure();
    FailureOr<Value> r = emitOp1<mlir::eff::ReshapeOp>({*t, constI64({0, 0, -1})});
    if (failed(r))
      return failure();
    out = *r;
  }
  return bindOutputs({out});
}

/// LayerNormalization whose Mean / InvStdDev outputs are used: eff.layer_norm
/// has one result, so the statistics are computed beside it (in the stash
/// type, float32 by default), as the ONNX function body defines them.
LogicalResult GraphImporter::convertLayerNormWithStats(SmallVectorImpl<Value> &inputs,
                                                       NamedAttrList &attrs, bool wantMean,
                                                       bool wantInvStd) {
  Builder &b = builder;
  if (inputs.empty() || !inputs[0])
    return error() << "LayerNormalization needs an input";
  Value x = inputs[0];
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type)
    return error() << "Mean/InvStdDev outputs need an input of known rank";
  int64_t rank = type.getRank(), axis = getInt(attrs, "axis", -1);
  if (axis < -rank || axis >= rank)
    return error() << "axis " << axis << " is out of range for rank " << rank;
  if (axis < 0)
    axis += rank;
  // epsilon as eff.layer_norm has it, its default from ODS.
  NamedAttrList normAttrs(attrs.getAttrs());
  mlir::eff::LayerNormOp::populateDefaultAttrs(
      *RegisteredOperationName::lookup(mlir::eff::LayerNormOp::getOperationName(), &ctx),
      normAttrs);
  auto epsilonAttr = dyn_cast_or_null<FloatAttr>(normAttrs.get("epsilon"));
  if (!epsilonAttr)
    return error() << "LayerNormalization: epsilon must be a float";
  double epsilon = epsilonAttr.getValueAsDouble();
  int64_t stash = getInt(attrs, "stash_type", 1);
  FailureOr<SmallVector<Value>> y =
      emitOp(mlir::eff::LayerNormOp::getOperationName(), inputs, attrs.getAttrs());
  if (failed(y))
    return failure();
  Value xs = x;
  if (stash == 1 && !type.getElementType().isF32()) {
    FailureOr<Value> c =
        emitOp1<mlir::eff::CastOp>({x}, {b.getNamedAttr("to", b.getI64IntegerAttr(1))});
    if (failed(c))
      return failure();
    xs = *c;
  }
  SmallVector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i)
    axes.push_back(i);
  Value axesValue = constI64(axes);
  FailureOr<Value> mean = emitOp1<mlir::eff::ReduceMeanOp>({xs, axesValue});
  if (failed(mean))
    return failure();
  Value invStd;
  if (wantInvStd) {
    FailureOr<Value> d = emitOp1<mlir::eff::SubOp>({xs, *mean});
    FailureOr<Value> d2 = failed(d) ? d : emitOp1<mlir::eff::MulOp>({*d, *d});
    FailureOr<Value> var = failed(d2) ? d2 : emitOp1<mlir::eff::ReduceMeanOp>({*d2, axesValue});
    Type elt = cast<ShapedType>(xs.getType()).getElementType();
    FailureOr<Value> sum =
        failed(var) ? var : emitOp1<mlir::eff::AddOp>({*var, constScalar(elt, epsilon)});
    FailureOr<Value> sd = failed(sum) ? sum : emitOp1<mlir::eff::SqrtOp>({*sum});
    FailureOr<Value> inv = failed(sd) ? sd : emitOp1<mlir::eff::ReciprocalOp>({*sd});
    if (failed(inv))
      return failure();
    invStd = *inv;
  }
  (void)wantMean;
  SmallVector<Value> results = {y->front(), *mean};
  if (invStd)
    results.push_back(invStd);
  return bindOutputs(results);
}

LogicalResult GraphImporter::convertNode(SmallVectorImpl<Value> &inputs, NamedAttrList &attrs) {
  llvm::StringRef op = node->op_type();
  Builder &b = builder;
  auto inputElementType = [&]() -> Type {
    if (inputs.empty() || !inputs[0])
      return {};
    return cast<ShapedType>(inputs[0].getType()).getElementType();
  };

  if (op == "Constant")
    return convertConstant(attrs);
  if (op == "Softmax" && opset < 13)
    return convertSoftmaxV1(mlir::eff::SoftmaxOp::getOperationName(), inputs, attrs);
  if (op == "Attention")
    return convertAttention(inputs, attrs);
  // The ONNX op's opset history is in its eff op's ODS (onnxSince,
  // onnxAttrOperands), through the build table.
  const OpShape *effOp = lookupOnnxOp(op);
  if (effOp && opset < effOp->onnxSince)
    return error() << op << " is in the default ONNX domain only from opset " << effOp->onnxSince
                   << " (the model imports " << opset << ")";
  if (op == "Dropout") {
    // Inference: the identity on the data; the mask output must be unused.
    if (inputs.size() > 2 && inputs[2]) {
      std::optional<double> training = mlir::eff::getConstantScalar(inputs[2]);
      if (!training || *training != 0)
        return error() << "training_mode must be a constant false";
    }
    if (inputs.empty() || !inputs[0])
      return error() << "Dropout needs a data input";
    FailureOr<Value> y = emitOp1<mlir::eff::IdentityOp>({inputs[0]});
    if (failed(y))
      return failure();
    // The mask of an inference-mode Dropout is all true.
    if (node->output_size() > 1 && !node->output(1).empty() &&
        consumedNames.contains(node->output(1))) {
      FailureOr<Value> shape = shapeOf(inputs[0]);
      if (failed(shape))
        return failure();
      auto one = DenseElementsAttr::get(RankedTensorType::get({1}, b.getI1Type()), true);
      FailureOr<Value> mask =
          emitOp1<mlir::eff::ConstantOfShapeOp>({*shape}, {b.getNamedAttr("value", one)});
      if (failed(mask))
        return failure();
      return bindOutputs({*y, *mask});
    }
    return bindOutputs({*y});
  }

  if (op == "LayerNormalization") {
    auto used = [&](int i) {
      return node->output_size() > i && !node->output(i).empty() &&
             consumedNames.contains(node->output(i));
    };
    if (used(1) || used(2))
      return convertLayerNormWithStats(inputs, attrs, used(1), used(2));
  }

  // Attributes that became inputs (ODS onnxAttrOperands).
  if (effOp) {
    llvm::SmallVector<const OnnxAttrOperand *> moved = attrOperandsAt(*effOp, opset);
    for (const OnnxAttrOperand *m : moved)
      if (m->required && !attrs.get(m->attr))
        return error() << op << " before opset " << m->before << " needs attribute '" << m->attr
                       << "'";
    for (const OnnxAttrOperand *m : moved)
      attrToOperand(attrs, m->attr, inputs, m->operand);
  }
  // Clip-6's float bounds become scalar constants of the input's type.
  if (op == "Clip" && opset < 11) {
    Type elt = inputElementType();
    if (!elt)
      return error() << "Clip needs an input";
    std::optional<double> lo = getFloat(attrs, "min"), hi = getFloat(attrs, "max");
    attrs.erase("min");
    attrs.erase("max");
    inputs.resize(3);
    if (lo)
      inputs[1] = constScalar(elt, *lo);
    if (hi)
      inputs[2] = constScalar(elt, *hi);
  }

  if (op == "Split") {
    int64_t outputs = node->output_size();
    if (outputs < 1)
      return error() << "Split needs at least one output";
    if (Attribute n = attrs.get("num_outputs")) {
      auto i = dyn_cast<IntegerAttr>(n);
      if (!i || i.getInt() != outputs)
        return error() << "num_outputs " << (i ? i.getInt() : -1) << " does not match the "
                       << outputs << " outputs of the node";
    }
    attrs.set("num_outputs", b.getI64IntegerAttr(outputs));
  }

  if (!effOp)
    return error() << "unsupported op: " << op << " (domain '" << node->domain() << "', opset "
                   << opset << ") has no eff counterpart";
  FailureOr<SmallVector<Value>> results = emitOp(effOp->name, inputs, attrs.getAttrs());
  if (failed(results))
    return failure();
  return bindOutputs(*results);
}

} // namespace effc::onnx_import
