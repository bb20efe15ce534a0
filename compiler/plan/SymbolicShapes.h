//===- SymbolicShapes.h - shapes as expressions of the bounded dims -*- C++ -*-===//
//
// With `--dim past=0..255` the importer keeps `past` symbolic (`?` in the
// types) and records its bounds on `main` (eff.dims). The plan needs every
// `?` as an expression of those dims (present = 2x2x(past+3)x16) to size
// buffers at the bounds and to shape tensors per run.
//
// Probe and fit: `main` is cloned with the inputs specialized at probe values
// of the dims, every op's own inferReturnTypes runs again (folding the shape
// subgraphs through the host kernels, as the pipeline's canonicalizer does),
// and each dynamic dim is fitted as a multilinear polynomial with integer
// coefficients over the probes. So each op's shape semantics stay written
// once. The fit is checked at the dims' lower and upper bounds and a third
// point; a dim that is no such polynomial (a clamped slice, a data-dependent
// size) is an error naming the op.
//
#ifndef EFFC_COMPILER_PLAN_SYMBOLICSHAPES_H
#define EFFC_COMPILER_PLAN_SYMBOLICSHAPES_H

#include "DimExpr.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace effc {

struct SymbolicShapes {
  /// The bounded dims, from `main`'s eff.dims (sorted by name); a dim's id
  /// in every DimExpr is its index here.
  std::vector<DimBound> dims;
  /// Every value of `main`'s body whose type has a dynamic dim: one
  /// expression per dim (constants for the static ones).
  llvm::DenseMap<mlir::Value, llvm::SmallVector<DimExpr>> shapes;
};

/// Empty (no dims) when `func` has no eff.dims. Fails after emitting an
/// error when a dynamic input dim has no bounds (the caller reports unbound
/// inputs first), more than 4 dims are bounded, or a dim does not fit.
mlir::FailureOr<SymbolicShapes> analyzeSymbolicShapes(mlir::func::FuncOp func);

} // namespace effc

#endif
