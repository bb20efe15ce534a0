//===- EffAttrs.td - attribute constraints of the eff dialect ----*- tablegen -*-===//
// ONNX attribute kinds as the importer converts them: INT -> I64Attr,
// FLOAT -> F32Attr, INTS -> DenseI64ArrayAttr, FLOATS -> DenseF32ArrayAttr,
// STRING -> StrAttr, TENSOR -> ElementsAttr.
#ifndef EFF_ATTRS_TD
#define EFF_ATTRS_TD

include "mlir/IR/CommonAttrConstraints.td"

class Eff_DefaultI64<string value> : DefaultValuedAttr<I64Attr, value>;
class Eff_DefaultF32<string value> : DefaultValuedAttr<F32Attr, value>;
class Eff_DefaultStr<string value> : DefaultValuedAttr<StrAttr, value>;

#endif // EFF_ATTRS_TD
