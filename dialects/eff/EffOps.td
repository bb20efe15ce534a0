//===- EffOps.td - ops of the eff dialect ------------------------*- tablegen -*-===//
#ifndef EFF_OPS_TD
#define EFF_OPS_TD

include "dialects/eff/EffDialect.td"
include "dialects/eff/EffTypes.td"
include "dialects/eff/EffAttrs.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every eff op is pure (so CSE/DCE apply), infers its result types from its
// operands and attributes (the importer relies on it; the verifier checks the
// declared types against it), and folds when its operands are constants.
// Result types are "compatible" when they agree on element type and on every
// dimension both know: a pass may refine a dynamic dim without re-inference.
class Eff_Op<string mnemonic, list<Trait> traits = []>
    : Op<Eff_Dialect, mnemonic,
         !listconcat(traits, [Pure, InferTypeOpAdaptorWithIsCompatible])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDefinition = [{
    bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange l, ::mlir::TypeRange r) {
      return ::mlir::eff::areCompatibleTensorTypes(l, r);
    }
  }];
}

include "dialects/eff/ops/ConstantOps.td"
include "dialects/eff/ops/ElementwiseOps.td"
include "dialects/eff/ops/ReductionOps.td"
include "dialects/eff/ops/ShapeOps.td"
include "dialects/eff/ops/GatherOps.td"
include "dialects/eff/ops/LinalgOps.td"
include "dialects/eff/ops/LoRAOps.td"
include "dialects/eff/ops/NNOps.td"
include "dialects/eff/ops/AttentionOps.td"
include "dialects/eff/ops/FusionOps.td"

#endif // EFF_OPS_TD
