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
//
// Each op writes its inference as `inferResultTypes`; the generated
// `inferReturnTypes` runs it on complete attributes. A typed builder given a
// null attribute leaves it out of the dictionary, and builders infer before
// Operation::create fills in defaults, so without this step inference read a
// null attribute (a SIGSEGV in eff-raise-attention). Defaults are filled in
// here, and a missing required attribute fails inference with ODS's own
// "requires attribute" message instead of being read. (No eff op has
// regions: eff.fusion is a plain Op.)
defvar Eff_OpClassDefinition = [{
  bool $cppClass::isCompatibleReturnTypes(::mlir::TypeRange l, ::mlir::TypeRange r) {
    return ::mlir::eff::areCompatibleTensorTypes(l, r);
  }
  ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *ctx,
      std::optional<::mlir::Location> loc, Adaptor adaptor,
      ::llvm::SmallVectorImpl<::mlir::Type> &types) {
    ::mlir::NamedAttrList attrs(adaptor.getAttributes());
    $cppClass::populateDefaultAttrs(::mlir::OperationName(getOperationName(), ctx), attrs);
    Adaptor complete(adaptor.getOperands(), attrs.getDictionary(ctx),
                     ::mlir::OpaqueProperties(nullptr), ::mlir::RegionRange());
    if (::mlir::failed(complete.verify(loc ? *loc : ::mlir::UnknownLoc::get(ctx))))
      return ::mlir::failure();
    return inferResultTypes(ctx, loc, complete, types);
  }
}];

// How an op runs. effc-tblgen (-gen-eff-op-list) reads these into
// runtime/src/EffOpList.inc; an op with neither runs as a kernel and
// must have a host kernel and a CUDA emitter (OpRegistryTest checks it).
//   Eff_CompileTimeOnly: never reaches a kernel (constants, terminators).
//   Eff_KernelRegion: one CUDA kernel; the host backend runs its body's ops.
def Eff_CompileTimeOnly : NativeOpTrait<"CompileTimeOnly"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}
def Eff_KernelRegion : NativeOpTrait<"KernelRegion"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}
//   Eff_Collective: joins the work of several devices (effc --devices): a
//   host kernel (the one-process reference) and no CUDA emitter; the
//   runtime runs it through runtime/src/Collectives.h.
def Eff_Collective : NativeOpTrait<"Collective"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}
// Computed independently per output element after (multidirectional)
// broadcasting: eff-fuse-elementwise and eff-fuse-gemm-epilogue fuse these.
def Eff_Elementwise : NativeOpTrait<"Elementwise"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}
// A matrix product (matmul, gemm): one tensor-core GEMM kernel that
// eff-fuse-gemm-epilogue extends with an elementwise epilogue, and whose
// accumulation eff-convert-float-type keeps in f32.
def Eff_GemmLike : NativeOpTrait<"GemmLike"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}
// The result is the operand's elements in the same order under a new shape
// (reshape, flatten, squeeze, unsqueeze, identity): a view of its bytes.
def Eff_View : NativeOpTrait<"View"> {
  let cppNamespace = "::mlir::OpTrait::eff";
}

// An attribute an older opset of the op's ONNX counterpart has where the eff
// op (the latest opset) takes an operand: below opset `before` the importer
// moves it into operand slot `operand` as an i64 constant; `required`: the
// old opset cannot do without it.
class Eff_OnnxAttrOperand<string attrName, int operandIndex, int beforeOpset,
                          bit isRequired = 0> {
  string attr = attrName;
  int operand = operandIndex;
  int before = beforeOpset;
  bit required = isRequired;
}

class Eff_Op<string mnemonic, list<Trait> traits = []>
    : Op<Eff_Dialect, mnemonic,
         !listconcat(traits, [Pure, InferTypeOpAdaptorWithIsCompatible])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The op's own result-type inference; attributes are complete here.
    static ::llvm::LogicalResult inferResultTypes(::mlir::MLIRContext *ctx,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types);
  }];
  let extraClassDefinition = Eff_OpClassDefinition;
  // The default-domain ONNX op the importer builds this op for (through
  // effc-tblgen's EffOpBuildTable.inc). Unset: the C++ class without "Op"
  // (AddOp <- Add, GatherNDOp <- GatherND); "": no ONNX op imports directly.
  string onnxName = ?;
  // The first default-domain opset that has `onnxName` (a model importing an
  // older opset fails naming it), and the attributes its older opsets had
  // where this op takes operands.
  int onnxSince = 1;
  list<Eff_OnnxAttrOperand> onnxAttrOperands = [];
  // The CUDA emitter family of an op that runs as a kernel: emit<Family> in
  // compiler/codegen/Families.h (effc-tblgen -gen-eff-cuda-families).
  string cudaFamily = "";
  // The per-element CUDA expression of an Eff_Elementwise op (required there,
  // empty elsewhere): a C++ expression making a recipe from the vocabulary of
  // compiler/codegen/ScalarOps.cpp, e.g. arith(wrapping("+")). Both the op's
  // own kernel and every eff.fusion body it joins are built from it
  // (effc-tblgen -gen-eff-scalar-ops writes EffScalarOps.inc).
  string cudaScalar = "";
}

include "dialects/eff/ops/ConstantOps.td"
include "dialects/eff/ops/ElementwiseOps.td"
include "dialects/eff/ops/ReductionOps.td"
include "dialects/eff/ops/ShapeOps.td"
include "dialects/eff/ops/GatherOps.td"
include "dialects/eff/ops/LinalgOps.td"
include "dialects/eff/ops/LoRAOps.td"
include "dialects/eff/ops/QuantOps.td"
include "dialects/eff/ops/MoEOps.td"
include "dialects/eff/ops/MoEKernelOps.td"
include "dialects/eff/ops/NNOps.td"
include "dialects/eff/ops/AttentionOps.td"
include "dialects/eff/ops/KvCacheOps.td"
include "dialects/eff/ops/FusionOps.td"
include "dialects/eff/ops/CollectiveOps.td"
include "dialects/eff/ops/ExpertExchangeOps.td"
include "dialects/eff/ops/RingAttentionOps.td"

#endif // EFF_OPS_TD
