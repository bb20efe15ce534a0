//===- EffDialect.td - the eff dialect ---------------------------*- tablegen -*-===//
#ifndef EFF_DIALECT_TD
#define EFF_DIALECT_TD

include "mlir/IR/OpBase.td"

def Eff_Dialect : Dialect {
  let name = "eff";
  let cppNamespace = "::mlir::eff";
  let summary = "effc's graph-level dialect for transformer inference";
  let description = [{
    Tensor-semantics ops. Primitive ops follow the ONNX operator of the latest
    opset <= 23 with the same name (inputs in ONNX order, shape-like operands
    such as axes/shape/starts as int64 tensors, ONNX attribute names and
    defaults); the importer upgrades older opset forms. Raised ops
    (eff.attention, eff.layer_norm, eff.rms_norm, eff.rope, eff.gelu, ...) carry
    the semantics that passes and kernels need.
  }];
  // Attributes live in the attribute dictionary: the ONNX importer builds ops
  // generically (OperationState + InferTypeOpInterface) from ONNX attributes.
  let usePropertiesForAttributes = 0;
  let hasConstantMaterializer = 1;
}

#endif // EFF_DIALECT_TD
