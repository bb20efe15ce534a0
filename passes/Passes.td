//===- Passes.td - effc passes ------------------------------------*- tablegen -*-===//
// Every effc pass is declared here with its options; effc-opt registers them
// all (tools/Registration.cpp) and each has a lit test under test/lit/passes/.
#ifndef EFFC_PASSES_TD
#define EFFC_PASSES_TD

include "mlir/Pass/PassBase.td"

def RefineShapes : Pass<"eff-refine-shapes", "func::FuncOp"> {
  let summary = "Re-infer eff result types after folding made operands constant";
  let description = [{
    Inference at import time sees only what is constant then. After
    canonicalization folds shape subgraphs, re-running every op's type
    inference can turn dynamic dims static. Refined results update their uses;
    the function signature is updated when a returned value gets refined.
  }];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def ConvertFloatType : Pass<"eff-convert-float-type", "func::FuncOp"> {
  let summary = "Compute in bf16 or fp16: convert weights and float tensors, keep the interface fp32";
  let description = [{
    Float32 weights become constants of the target type (converted once, at
    compile time); float32 inputs are cast on entry and outputs cast back on
    return, so callers still exchange fp32. Every op's result type is then
    re-inferred from its operands, which moves the whole float computation to
    the target type. Kernels accumulate in fp32 and round when they store.
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"",
           "Target float type: bf16 | fp16 | fp32 (fp32 leaves the function as it is)">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

#endif // EFFC_PASSES_TD
