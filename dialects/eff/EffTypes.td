//===- EffTypes.td - type constraints of the eff dialect ---------*- tablegen -*-===//
// eff uses builtin ranked/unranked tensors; these constraints name the element
// types ONNX transformer exports carry.
#ifndef EFF_TYPES_TD
#define EFF_TYPES_TD

include "mlir/IR/BuiltinTypes.td"
include "mlir/IR/CommonTypeConstraints.td"

def Eff_FloatElement : AnyTypeOf<[F16, BF16, F32, F64]>;
def Eff_IntElement : AnyTypeOf<[I8, I16, I32, I64, UI8, UI16, UI32, UI64]>;
def Eff_IndexElement : AnyTypeOf<[I32, I64]>;
def Eff_BoolElement : I<1>;
def Eff_AnyElement : AnyTypeOf<[Eff_FloatElement, Eff_IntElement, Eff_BoolElement]>;

def Eff_Tensor : TensorOf<[Eff_AnyElement]>;
def Eff_FloatTensor : TensorOf<[Eff_FloatElement]>;
def Eff_NumericTensor : TensorOf<[Eff_FloatElement, Eff_IntElement]>;
def Eff_BoolTensor : TensorOf<[Eff_BoolElement]>;
def Eff_IndexTensor : TensorOf<[Eff_IndexElement]>;
// Shape-like operands (axes, shapes, starts, K, split sizes): int64 per ONNX.
def Eff_I64Tensor : TensorOf<[I64]>;

#endif // EFF_TYPES_TD
