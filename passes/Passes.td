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

#endif // EFFC_PASSES_TD
