//===- ExecutionPlan.h - eff IR -> artifact manifest --------------*- C++ -*-===//
//
// Lowers the function `main` (after the pass pipeline) into the plan every
// backend runs: buffers (weights, arena tensors, views that alias their
// input), kernels in execution order, input/output bindings, and arena
// offsets from the liveness-based planner.
//
#ifndef EFFC_COMPILER_PLAN_EXECUTIONPLAN_H
#define EFFC_COMPILER_PLAN_EXECUTIONPLAN_H

#include "effc/Artifact.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace effc {

struct ExecutionPlan {
  artifact::Manifest manifest;
  std::vector<WeightBlob> weights;
  /// The CUDA translation unit with every kernel's Kernel.source function
  /// (compiler/codegen); stored as the artifact payload at offset 0.
  std::string cudaSource;
};

/// Fails with a diagnostic at the offending op (dynamic shape, an op without a
/// kernel, an elided weight) when the module cannot be planned.
mlir::FailureOr<ExecutionPlan> buildExecutionPlan(mlir::ModuleOp module);

/// Ops that reinterpret their input's bytes with another shape (row-major
/// data is unchanged): planned as aliases, never as kernels.
bool isViewOp(mlir::Operation *op);

} // namespace effc

#endif
