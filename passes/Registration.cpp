//===- Registration.cpp - the one registration every effc tool uses -------===//
#include "passes/Registration.h"

#include "dialects/eff/EffDialect.h"
#include "dialects/eff/hostfold/HostKernelFolding.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::eff {

void registerEffcDialects(DialectRegistry &registry) {
  registry.insert<EffDialect, func::FuncDialect>();
  registerHostKernelFolding(registry);
}

void registerEffcPasses() {
  registerEffPasses();
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
}

} // namespace mlir::eff
