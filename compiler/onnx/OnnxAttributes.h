//===- OnnxAttributes.h - ONNX AttributeProto -> MLIR attributes --*- C++ -*-===//
#ifndef EFFC_COMPILER_ONNX_ONNXATTRIBUTES_H
#define EFFC_COMPILER_ONNX_ONNXATTRIBUTES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/MLIRContext.h"

#include <string>

namespace onnx {
class AttributeProto;
}

namespace effc {

/// Converts one ONNX attribute the way eff ops store them: INT -> I64Attr,
/// FLOAT -> F32Attr, INTS -> DenseI64ArrayAttr, FLOATS -> DenseF32ArrayAttr,
/// STRING -> StringAttr, STRINGS -> ArrayAttr of StringAttr, TENSOR ->
/// ElementsAttr (dense literal or dense_resource blob named after the
/// attribute). Attributes with no `type` (very old writers) are typed by the
/// field that is set. Returns null and sets `error` for GRAPH(S), TENSORS,
/// SPARSE_TENSOR(S), TYPE_PROTO(S) or malformed values. `externalDir` is where
/// an external-data TENSOR attribute's file is looked up.
mlir::Attribute convertOnnxAttribute(mlir::MLIRContext &ctx, const onnx::AttributeProto &attr,
                                     const std::string &externalDir, std::string &error);

} // namespace effc

#endif
