//===- Pipeline.h - the effc pass pipeline ------------------------*- C++ -*-===//
#ifndef EFFC_COMPILER_PIPELINE_H
#define EFFC_COMPILER_PIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace effc {

struct PipelineOptions {
  bool verbose = false; // per-pass timing
};

/// The passes `effc` runs between import and code generation.
void buildPipeline(mlir::PassManager &pm, const PipelineOptions &options);

} // namespace effc

#endif
