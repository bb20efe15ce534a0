//===- Pipeline.cpp - the effc pass pipeline ------------------------------===//
#include "compiler/Pipeline.h"

#include "passes/Passes.h"

#include "mlir/Transforms/Passes.h"

namespace effc {

void buildPipeline(mlir::PassManager &pm, const PipelineOptions &options) {
  (void)options;
  // Fold what import left (shape subgraphs whose inputs became constant),
  // re-infer types that folding made static, then clean up again.
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addNestedPass<mlir::func::FuncOp>(mlir::eff::createRefineShapes());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}

} // namespace effc
