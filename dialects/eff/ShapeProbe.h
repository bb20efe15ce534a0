//===- ShapeProbe.h - a function's shapes at concrete input shapes -*- C++ -*-===//
//
// What bounded symbolic dims rest on: `func` cloned with its arguments
// specialized to concrete shapes, every op's own inferReturnTypes run again
// in order and the results that fold (shape subgraphs, through the host
// kernels) replaced by their constants, so each op's shape semantics stay
// written once. compiler/plan/SymbolicShapes fits the dynamic dims over such
// probes; eff-refine-shapes' probe-dims makes static what no probe changes.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_DIALECTS_EFF_SHAPEPROBE_H
#define EFFC_DIALECTS_EFF_SHAPEPROBE_H

#include "mlir/IR/Operation.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::eff {

/// The shape of each argument and result of `func`'s body (a function-like op
/// with one block) whose type has a dynamic dim, with argument i shaped
/// `argShapes[i]` (empty: as declared). `where` names the probe in errors
/// (e.g. "seq=7, past=10"): a failed inference, or a dim that stays unknown
/// with every input dim known (data-dependent).
FailureOr<llvm::DenseMap<Value, SmallVector<int64_t>>>
probeShapes(Operation *func, ArrayRef<SmallVector<int64_t>> argShapes, StringRef where);

/// The constant each of `wanted` (values of `func`) folds to with argument i
/// shaped argShapes[i] (empty: as declared) and, where argValues[i] is set,
/// holding that constant (of that shape); null where one does not fold. Only
/// the ops `wanted` is computed from are evaluated (through the same
/// inferReturnTypes and host-kernel folds as probeShapes).
FailureOr<SmallVector<Attribute>> probeValues(Operation *func,
                                              ArrayRef<SmallVector<int64_t>> argShapes,
                                              ArrayRef<Attribute> argValues, ArrayRef<Value> wanted,
                                              StringRef where);

/// probeValues for a caller that explains a failed probe in its own words:
/// nothing is reported to the context's handlers, the first diagnostic is
/// kept in `diagnostic` (left empty when none was emitted).
FailureOr<SmallVector<Attribute>> probeValuesQuietly(Operation *func,
                                                     ArrayRef<SmallVector<int64_t>> argShapes,
                                                     ArrayRef<Attribute> argValues,
                                                     ArrayRef<Value> wanted, StringRef where,
                                                     std::string &diagnostic);

} // namespace mlir::eff

#endif
