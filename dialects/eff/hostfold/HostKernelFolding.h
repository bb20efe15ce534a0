//===- HostKernelFolding.h - eff constant folding through the host kernels -*- C++ -*-===//
//
// The eff dialect folds an op whose operands are constants through its
// EffConstantEvaluator interface (dialects/eff/ConstantFolding.h); this
// library implements it with the runtime's host reference kernels, so the
// dialect itself links no runtime code. Tools register it through
// mlir::eff::registerEffcDialects (passes/Registration.h).
//
#ifndef EFFC_DIALECTS_EFF_HOSTFOLD_HOSTKERNELFOLDING_H
#define EFFC_DIALECTS_EFF_HOSTFOLD_HOSTKERNELFOLDING_H

#include "host/HostKernels.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Operation.h"

namespace mlir::eff {

/// Makes every eff dialect loaded from `registry` fold through the host kernels.
void registerHostKernelFolding(DialectRegistry &registry);

/// Converts an op's attributes to the host kernels' attribute map.
effc::host::Attrs toHostAttrs(Operation *op);

} // namespace mlir::eff

#endif
