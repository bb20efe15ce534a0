//===- Registration.h - the one registration every effc tool uses -*- C++ -*-===//
#ifndef EFFC_PASSES_REGISTRATION_H
#define EFFC_PASSES_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::eff {

/// Dialects effc IR may contain: eff (folding through the host kernels:
/// registerHostKernelFolding), func, builtin.
void registerEffcDialects(DialectRegistry &registry);

/// effc's passes plus the core MLIR ones pipelines use (canonicalize, cse, ...).
void registerEffcPasses();

} // namespace mlir::eff

#endif
