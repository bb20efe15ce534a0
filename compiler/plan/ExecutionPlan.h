//===- ExecutionPlan.h - eff IR -> artifact manifest --------------*- C++ -*-===//
//
// Lowers the function `main` (after the pass pipeline) into the plan every
// backend runs, in two steps. Planning walks the IR once: buffers (weights,
// arena tensors, views that alias their input), input/output bindings, arena
// offsets from the liveness-based planner, and one KernelPlan per kernel in
// execution order (its description and chosen CUDA kernel). Then the CUDA
// translation unit and the manifest's kernel entries are derived from the
// KernelPlans alone (KernelPlan.h).
//
#ifndef EFFC_COMPILER_PLAN_EXECUTIONPLAN_H
#define EFFC_COMPILER_PLAN_EXECUTIONPLAN_H

#include "compiler/plan/KernelPlan.h"
#include "runtime/src/Artifact.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace effc {

struct PlanOptions {
  /// An artifact for the host backend only: a kernel the CUDA emitters
  /// cannot generate is allowed (its manifest entry has no source) instead of
  /// being an error.
  bool hostOnly = false;
  /// Every target arch is sm_90a: GEMMs may use the Hopper wgmma kernel.
  bool sm90a = false;
  /// effc --gemm: which tensor-core GEMM kernel 16-bit GEMMs get.
  codegen::GemmKernelChoice gemm = codegen::GemmKernelChoice::Auto;
  /// effc --decode-gemv: the decode GEMV variant GEMMs prefer ("" default).
  std::string decodeGemv;
  /// effc --remarks: a remark at each op whose kernel choice says why it is
  /// not the preferred one (KernelChoice::remark).
  bool remarks = false;
  /// effc --kv-state: keep eff.kv_append's caches in session state
  /// (SessionState.h).
  bool kvState = false;
};

struct ExecutionPlan {
  /// Buffers, bindings, arena, and the kernels derived from `kernels`.
  artifact::Manifest manifest;
  std::vector<WeightBlob> weights;
  std::vector<KernelPlan> kernels;
  /// The CUDA translation unit with every kernel's Kernel.source function
  /// (compiler/codegen); stored as the artifact payload at offset 0.
  std::string cudaSource;
};

/// Fails with a diagnostic at the offending op (dynamic shape, an op without a
/// kernel, an op without a CUDA kernel unless options.hostOnly, an elided
/// weight) when the module cannot be planned.
mlir::FailureOr<ExecutionPlan> buildExecutionPlan(mlir::ModuleOp module,
                                                  const PlanOptions &options = {});

/// Ops that reinterpret their input's bytes with another shape (row-major
/// data is unchanged): planned as aliases, never as kernels.
bool isViewOp(mlir::Operation *op);

} // namespace effc

#endif
