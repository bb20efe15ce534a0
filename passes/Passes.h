//===- Passes.h - effc passes -------------------------------------*- C++ -*-===//
#ifndef EFFC_PASSES_PASSES_H
#define EFFC_PASSES_PASSES_H

#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"

namespace mlir::eff {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Ops the fusion passes may put in a kernel body: computed independently per
/// output element after broadcasting (FuseElementwise.cpp holds the list).
bool isFusibleElementwise(Operation *op);

/// Index-mapping ops an elementwise kernel may read its inputs through:
/// every output element is one input element at a computable index
/// (eff.transpose; eff.slice with constant starts/ends/axes/steps on static
/// dims; eff.concat). FuseElementwise.cpp holds the list.
bool isIndexMapping(Operation *op);

/// `func`'s values of dynamic shape at several probes of its bounded dims
/// (eff.dims: all at a low value, all at their upper bounds, then each dim
/// alone raised; RefineShapes.cpp). Two such values whose shapes agree at
/// every probe have one shape at every run. Fails when `func` has no bounded
/// dims, an input dim is unbounded, or a probe fails.
FailureOr<SmallVector<llvm::DenseMap<Value, SmallVector<int64_t>>>>
probeBoundedShapes(func::FuncOp func);

/// A new eff.fusion of `kind` at the builder's point with one body argument
/// per input: `mapping` maps each input to its argument and the builder is
/// left at the start of the (terminator-less) body, ready for the clones.
FusionOp createFusionShell(OpBuilder &builder, Location loc, TypeRange results,
                           ArrayRef<Value> inputs, FusionKind kind, IRMapping &mapping);

} // namespace mlir::eff

#endif
