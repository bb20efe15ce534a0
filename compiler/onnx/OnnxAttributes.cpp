//===- OnnxAttributes.cpp - ONNX AttributeProto -> MLIR attributes ---------===//
#include "compiler/onnx/OnnxAttributes.h"
#include "compiler/onnx/OnnxTensors.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "onnx/onnx.pb.h"

using namespace mlir;

namespace effc {

/// The type of an attribute written without `type` (IR version < 2 writers):
/// whichever field is set.
static onnx::AttributeProto::AttributeType guessType(const onnx::AttributeProto &a) {
  using A = onnx::AttributeProto;
  if (a.has_f())
    return A::FLOAT;
  if (a.has_i())
    return A::INT;
  if (a.has_s())
    return A::STRING;
  if (a.has_t())
    return A::TENSOR;
  if (a.has_g())
    return A::GRAPH;
  if (a.floats_size())
    return A::FLOATS;
  if (a.ints_size())
    return A::INTS;
  if (a.strings_size())
    return A::STRINGS;
  if (a.tensors_size())
    return A::TENSORS;
  if (a.graphs_size())
    return A::GRAPHS;
  return A::UNDEFINED;
}

Attribute convertOnnxAttribute(MLIRContext &ctx, const onnx::AttributeProto &attr,
                               const std::string &externalDir, std::string &error) {
  using A = onnx::AttributeProto;
  Builder b(&ctx);
  A::AttributeType type = attr.type();
  if (type == A::UNDEFINED)
    type = guessType(attr);
  if (!attr.ref_attr_name().empty()) {
    error = "attribute '" + attr.name() + "' refers to a function attribute ('" +
            attr.ref_attr_name() + "'); model-local functions are not supported";
    return {};
  }
  switch (type) {
  case A::INT:
    return b.getI64IntegerAttr(attr.i());
  case A::FLOAT:
    return b.getF32FloatAttr(attr.f());
  case A::STRING:
    return b.getStringAttr(attr.s());
  case A::INTS:
    return b.getDenseI64ArrayAttr(
        llvm::ArrayRef<int64_t>(attr.ints().data(), size_t(attr.ints_size())));
  case A::FLOATS:
    return b.getDenseF32ArrayAttr(
        llvm::ArrayRef<float>(attr.floats().data(), size_t(attr.floats_size())));
  case A::STRINGS: {
    llvm::SmallVector<Attribute> strings;
    for (const std::string &s : attr.strings())
      strings.push_back(b.getStringAttr(s));
    return b.getArrayAttr(strings);
  }
  case A::TENSOR: {
    std::string tensorError;
    ElementsAttr value = convertOnnxTensor(ctx, attr.t(), attr.name(), externalDir,
                                           /*cache=*/nullptr, tensorError);
    if (!value)
      error = "attribute '" + attr.name() + "': " + tensorError;
    return value;
  }
  case A::GRAPH:
  case A::GRAPHS:
    error = "attribute '" + attr.name() +
            "' is a subgraph; control flow (If/Loop/Scan) is not supported";
    return {};
  case A::UNDEFINED:
    error = "attribute '" + attr.name() + "' has no value";
    return {};
  default:
    error = "attribute '" + attr.name() + "' has type " + A::AttributeType_Name(type) +
            ", which effc does not support";
    return {};
  }
}

} // namespace effc
